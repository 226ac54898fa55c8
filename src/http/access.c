/* access.c - request admission: the Host check, the browser-origin policy,
 * the trailing-slash redirect and the API token (the policy is written out
 * in access.h). Runs in a request's first callback, before any endpoint
 * and before a byte of a body is read. */
#include "http/access.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"
#include "http/validate.h"

/* ---- the rules (pure) ------------------------------------------------------- */

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
    if (v6)
        return 0; /* brackets around something that is not an address */
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

/* ---- applying them ------------------------------------------------------------ */

static const char *header(struct wf_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

/* Methods that change something (a browser sends them cross-origin as a
 * form or with fetch); PUT and PATCH are 405 here, refused all the same. */
static int state_changing(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "DELETE") == 0 ||
           strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0;
}

/* A growing string for the Location header; stays failed on no memory. */
struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Percent-encode what is not safe in a URL; `keep` are the extra bytes
 * left as they are (Starlette quotes the path keeping ":/%#?=@[]!$&'()*+,;"). */
static void buf_put_encoded(struct buf *b, const char *s, size_t n, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c) != NULL || (c != 0 && strchr(keep, c) != NULL)) {
            buf_put(b, (const char *)&s[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_put(b, e, 3);
        }
    }
}

struct location {
    struct buf b;
    int args;
};

static enum MHD_Result add_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct location *loc = cls;
    buf_put(&loc->b, loc->args++ == 0 ? "?" : "&", 1);
    buf_put_encoded(&loc->b, key, strlen(key), "");
    if (value != NULL) {
        buf_put(&loc->b, "=", 1);
        buf_put_encoded(&loc->b, value, strlen(value), "");
    }
    return MHD_YES;
}

/* 307 to the path without its trailing slashes, the query kept, as
 * FastAPI (Starlette's redirect_slashes) answers: an absolute Location
 * built from Host, an empty body. The path arrives decoded, so it is
 * encoded again (keeping what Starlette keeps, less '?' and '#', which
 * would change its meaning). */
static enum MHD_Result redirect_slash(struct wf_req *rq, size_t keep)
{
    struct location loc = {0};
    const char *host = header(rq, MHD_HTTP_HEADER_HOST);
    if (host != NULL && *host != '\0') {
        buf_put(&loc.b, "http://", 7);
        buf_put(&loc.b, host, strlen(host));
    }
    buf_put_encoded(&loc.b, rq->url, keep, ":/%=@[]!$&'()*+,;");
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, add_query_arg, &loc);
    if (loc.b.failed || loc.b.p == NULL) {
        free(loc.b.p);
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc.b.p);
    free(loc.b.p);
    return wf_reply_response(rq, 307, resp);
}

int wf_access_admit(struct wf_req *rq, enum MHD_Result *ret)
{
    const wf_config *cfg = rq->srv->cfg;
    const char *host = header(rq, MHD_HTTP_HEADER_HOST);
    if (!wf_access_host_ok(host, cfg->host, cfg->allowed_hosts)) {
        *ret = wf_reply_error(rq, 403, "Host '%.200s' is not allowed: this server answers to IP "
                                       "addresses, localhost and the names in ALLOWED_HOSTS",
                              host);
        return 0;
    }
    if (state_changing(rq->method) && !wf_access_cors_any(cfg->cors_origins)) {
        const char *origin = header(rq, MHD_HTTP_HEADER_ORIGIN);
        const char *site = header(rq, "Sec-Fetch-Site");
        int refuse = origin != NULL ? !wf_access_origin_ok(origin, host, cfg->cors_origins)
                                    : site != NULL && strcasecmp(site, "cross-site") == 0;
        if (refuse) {
            *ret = wf_reply_error(rq, 403, "Origin '%.200s' may not change anything on this "
                                           "server: add it to CORS_ORIGINS (or set CORS_ORIGINS=* "
                                           "to allow every origin)",
                                  origin ? origin : "(a cross-site page)");
            return 0;
        }
    }
    size_t keep = wf_route_slash_redirect(rq->url);
    if (keep > 0 && rq->method_bit != WF_METHOD_OPTIONS) {
        *ret = redirect_slash(rq, keep);
        return 0;
    }
    const char *token = cfg->api_token;
    if (rq->route.needs_auth && rq->method_bit != WF_METHOD_OPTIONS && token != NULL &&
        *token != '\0') {
        const char *auth = header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!wf_auth_ok(auth, token)) {
            *ret = wf_reply_error(rq, 401, auth ? "Invalid API token"
                                                : "Missing API token: send 'Authorization: "
                                                  "Bearer <token>'");
            return 0;
        }
    }
    return 1;
}

void wf_access_add_cors(struct wf_req *rq, struct MHD_Response *resp)
{
    const char *cors = rq->srv->cfg->cors_origins;
    if (wf_access_cors_any(cors)) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
        return;
    }
    const char *origin = header(rq, MHD_HTTP_HEADER_ORIGIN);
    if (origin != NULL && wf_access_origin_ok(origin, header(rq, MHD_HTTP_HEADER_HOST), cors))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    /* One Vary header: the list answer already varies by Accept-Encoding. */
    const char *vary = MHD_get_response_header(resp, MHD_HTTP_HEADER_VARY);
    if (vary == NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
    } else if (strcasestr(vary, "Origin") == NULL) {
        char both[128];
        snprintf(both, sizeof both, "%s, Origin", vary);
        MHD_del_response_header(resp, MHD_HTTP_HEADER_VARY, vary);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, both);
    }
}

enum MHD_Result wf_access_preflight(struct wf_req *rq)
{
    static const char ok[] = "OK";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof ok - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
    if (resp != NULL) {
        unsigned methods = rq->route.allowed;
        size_t keep = methods == 0 ? wf_route_slash_redirect(rq->url) : 0;
        if (keep > 0 && keep < 4096) {
            /* a pre-flight for the path with a trailing slash: the methods
             * of the path it redirects to, where the request will go */
            char path[4096];
            wf_route r;
            memcpy(path, rq->url, keep);
            path[keep] = '\0';
            wf_route_match(WF_METHOD_OPTIONS, path, &r);
            methods = r.allowed;
        }
        const char *allow = wf_route_allow(methods);
        const char *asked = header(rq, "Access-Control-Request-Headers");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, allow);
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                asked != NULL && *asked != '\0'
                                    ? asked
                                    : "Authorization, Content-Type, Accept");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
    }
    return wf_reply_response(rq, 200, resp);
}
