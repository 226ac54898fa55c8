/* access_rules.c - the admission rules of access.h as pure functions of
 * header values and settings (no I/O, no allocation), so that they are
 * unit-tested and fuzzed on their own, apart from libmicrohttpd. */
#include "http/access.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "http/validate.h"

/* Split "name[:port]" or "[v6][:port]" into the name (brackets kept off),
 * case as given. 0 on success; -1 when it is not of that form. */
static int split_host(const char *h, size_t len, const char **name, size_t *nlen, int *v6)
{
    *v6 = 0;
    if (len > 0 && h[0] == '[') {
        const char *close = memchr(h, ']', len);
        if (close == NULL)
            return -1;
        size_t used = (size_t)(close - h) + 1;
        *name = h + 1;
        *nlen = used - 2;
        *v6 = 1;
        h += used;
        len -= used;
    } else {
        const char *colon = memchr(h, ':', len);
        *name = h;
        *nlen = colon ? (size_t)(colon - h) : len;
        h += *nlen;
        len -= *nlen;
    }
    if (len == 0)
        return 0;
    if (h[0] != ':' || len == 1 || len > 6)
        return -1;
    for (size_t i = 1; i < len; i++)
        if (h[i] < '0' || h[i] > '9')
            return -1;
    return 0;
}

/* Is the name (no port) an IP literal? v6 names came in brackets. */
static int is_ip_literal(const char *name, size_t n, int v6)
{
    char buf[64];
    unsigned char addr[16];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return inet_pton(v6 ? AF_INET6 : AF_INET, buf, addr) == 1;
}

/* A DNS name's characters only (letters, digits, '-', '_', '.'): a Host or
 * an Origin with anything else names no host the server could be. */
static int hostname_chars(const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static int name_eq(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && strncasecmp(a, b, an) == 0;
}

/* Does `name` end with the label suffix `sfx` (".localhost")? */
static int name_under(const char *name, size_t n, const char *sfx)
{
    size_t sn = strlen(sfx);
    return n > sn && strncasecmp(name + n - sn, sfx, sn) == 0;
}

/* Does a comma list of host names (blanks around items ignored, a
 * trailing dot and a :port on an item too) hold `name`? */
static int list_has_host(const char *list, const char *name, size_t n)
{
    if (list == NULL)
        return 0;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        const char *e = end;
        while (e > p && e[-1] == ' ')
            e--;
        size_t len = (size_t)(e - p);
        const char *colon = memchr(p, ':', len);
        if (colon != NULL && p[0] != '[')
            len = (size_t)(colon - p);
        if (len > 0 && p[len - 1] == '.')
            len--;
        if (len == 1 && p[0] == '*')
            return 1;
        if (len > 1 && p[0] == '.' &&
            (name_eq(name, n, p + 1, len - 1) ||
             (n > len && strncasecmp(name + n - len, p, len) == 0)))
            return 1;
        if (len > 0 && name_eq(name, n, p, len))
            return 1;
        p = end;
    }
    return 0;
}

int wf_access_host_ok(const char *host, const char *listen_host, const char *allowed_hosts)
{
    if (host == NULL || *host == '\0')
        return 1;
    const char *name;
    size_t n;
    int v6;
    if (split_host(host, strlen(host), &name, &n, &v6) != 0 || n == 0)
        return 0;
    if (is_ip_literal(name, n, v6))
        return 1;
    if (v6 || !hostname_chars(name, n))
        return 0; /* brackets around something that is not an address, or not a name */
    if (name[n - 1] == '.')
        n--; /* "localhost." is localhost */
    if (name_eq(name, n, "localhost", 9) || name_under(name, n, ".localhost"))
        return 1;
    if (listen_host != NULL && name_eq(name, n, listen_host, strlen(listen_host)))
        return 1;
    return list_has_host(allowed_hosts, name, n);
}

int wf_access_cors_any(const char *cors_origins)
{
    if (cors_origins == NULL || *cors_origins == '\0')
        return 0;
    /* An origin no list can name: only a "*" item lets it through. */
    const char *allow = wf_cors_allow_origin(cors_origins, "\x01");
    return allow != NULL && strcmp(allow, "*") == 0;
}

/* A loopback origin: http(s)://localhost, *.localhost, 127.0.0.0/8 or
 * [::1], any port. `auth` is the origin after "scheme://". */
static int loopback_authority(const char *auth)
{
    const char *name;
    size_t n;
    int v6;
    if (split_host(auth, strlen(auth), &name, &n, &v6) != 0 || n == 0)
        return 0;
    if (v6)
        return name_eq(name, n, "::1", 3);
    if (!hostname_chars(name, n))
        return 0;
    if (name_eq(name, n, "localhost", 9) || name_under(name, n, ".localhost"))
        return 1;
    char buf[16];
    struct in_addr a;
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, name, n);
    buf[n] = '\0';
    return inet_pton(AF_INET, buf, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int wf_access_origin_ok(const char *origin, const char *host, const char *cors_origins)
{
    if (origin == NULL || *origin == '\0')
        return 0;
    if (cors_origins != NULL && *cors_origins != '\0' &&
        wf_cors_allow_origin(cors_origins, origin) != NULL)
        return 1;
    const char *auth = NULL;
    if (strncasecmp(origin, "http://", 7) == 0)
        auth = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        auth = origin + 8;
    if (auth == NULL || *auth == '\0' || strpbrk(auth, "/?#@ ") != NULL)
        return 0; /* "null", other schemes, anything with a path */
    if (host != NULL && *host != '\0' && strcasecmp(auth, host) == 0)
        return 1; /* the server's own origin (the web interface) */
    return loopback_authority(auth);
}

