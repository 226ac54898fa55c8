/* access.c - request admission: the Host check, the browser-origin policy,
 * the trailing-slash redirect and the API token (the policy is written out
 * in access.h; the rules themselves are in access_rules.c). Runs in a
 * request's first callback, before any endpoint and before a byte of a
 * body is read. */
#include "http/access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"
#include "http/validate.h"

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
