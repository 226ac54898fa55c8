/* validate.c - the input rules of the HTTP API, written as small pure
 * functions over {pointer, length} so they never read past their input. */
#include "http/validate.h"

#include "store/store_util.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t wf_url_unescape(char *s)
{
    char *out = s;
    for (const char *in = s; *in != '\0'; in++) {
        int hi = in[0] == '%' ? hex_value(in[1]) : -1;
        int lo = hi >= 0 ? hex_value(in[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *out++ = (char)(hi * 16 + lo);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

int wf_run_id_valid(const char *s, size_t len)
{
    char buf[40];
    if (len == 0 || len >= sizeof buf)
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return strlen(buf) == len && wf_store_uuid_valid(buf);
}

int wf_has_nul(const char *s, size_t len)
{
    return len > 0 && memchr(s, '\0', len) != NULL;
}

int wf_parse_int(const char *s, long min, long max, long *out)
{
    if (s == NULL)
        return -1;
    if (*s == '+')
        s++;
    if (*s == '\0')
        return -1;
    long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        int d = *s - '0';
        if (v > (LONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int wf_count_ai_calls(const char *code, size_t len)
{
    static const char needle[] = "call_ai(";
    const size_t nlen = sizeof needle - 1;
    int n = 0;
    const char *p = code;
    size_t left = len;
    while (left >= nlen) {
        const char *hit = memmem(p, left, needle, nlen);
        if (hit == NULL)
            break;
        if (n < INT_MAX)
            n++;
        left -= (size_t)(hit - p) + nlen;
        p = hit + nlen;
    }
    return n > 0 ? n : 1;
}

int wf_auth_ok(const char *authorization, const char *token)
{
    if (authorization == NULL || token == NULL)
        return 0;
    /* The scheme is case-insensitive (RFC 7235); one space, then the token. */
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *given = authorization + 7;
    size_t glen = strlen(given);
    size_t wlen = strlen(token);
    /* Touch every byte of the expected token whatever the input, so the
     * time taken says nothing about how much of it matched. */
    unsigned diff = (unsigned)(glen ^ wlen);
    for (size_t i = 0; i < wlen; i++) {
        unsigned char g = i < glen ? (unsigned char)given[i] : 0;
        diff |= (unsigned)(g ^ (unsigned char)token[i]);
    }
    return diff == 0 && wlen > 0;
}

const char *wf_cors_allow_origin(const char *cfg, const char *origin)
{
    if (cfg == NULL || *cfg == '\0' || strcmp(cfg, "*") == 0)
        return "*";
    if (origin == NULL || *origin == '\0')
        return NULL;
    size_t olen = strlen(origin);
    const char *p = cfg;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '/'))
            e--; /* "http://x:3000/" names the same origin */
        if ((size_t)(e - p) == 1 && *p == '*')
            return "*";
        if ((size_t)(e - p) == olen && strncasecmp(p, origin, olen) == 0)
            return origin;
        p = end;
    }
    return NULL;
}

/* Is the q-value at s (after "q=") zero: "0", "0.", "0.0", "0.00", "0.000"? */
static int qvalue_zero(const char *s)
{
    if (*s != '0')
        return 0;
    s++;
    if (*s == '.') {
        s++;
        s += strspn(s, "0");
    }
    return *s == '\0' || *s == ',' || *s == ' ' || *s == ';';
}

int wf_accepts_gzip(const char *ae)
{
    if (ae == NULL)
        return 0;
    const char *p = ae;
    while (*p) {
        /* one coding: token [; q=value] */
        while (*p == ' ' || *p == ',')
            p++;
        const char *tok = p;
        p += strcspn(p, " ;,");
        size_t tlen = (size_t)(p - tok);
        int zero = 0;
        while (*p == ' ')
            p++;
        while (*p == ';') {
            p++;
            while (*p == ' ')
                p++;
            if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
                zero = qvalue_zero(p + 2);
            p += strcspn(p, ";,");
        }
        if (tlen == 4 && strncasecmp(tok, "gzip", 4) == 0)
            return !zero;
    }
    return 0;
}
