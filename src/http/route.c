/* route.c - the API's routing table. Paths are few and fixed, so matching
 * is a handful of string comparisons, no allocation. */
#include "http/route.h"

#include <string.h>

unsigned wf_method_parse(const char *m)
{
    if (strcmp(m, "GET") == 0) return WF_METHOD_GET;
    if (strcmp(m, "HEAD") == 0) return WF_METHOD_HEAD;
    if (strcmp(m, "POST") == 0) return WF_METHOD_POST;
    if (strcmp(m, "DELETE") == 0) return WF_METHOD_DELETE;
    if (strcmp(m, "OPTIONS") == 0) return WF_METHOD_OPTIONS;
    return WF_METHOD_OTHER;
}

#define GETS (WF_METHOD_GET | WF_METHOD_HEAD)

/* One segment after `prefix`, without '/', non-empty: its length, else 0. */
static size_t segment_after(const char *path, const char *prefix, const char **seg)
{
    size_t plen = strlen(prefix);
    if (strncmp(path, prefix, plen) != 0)
        return 0;
    *seg = path + plen;
    return strcspn(*seg, "/");
}

/* A static file: "/", "/assets/<anything>", "/apidocs/<anything>" (what
 * /docs and /redoc load), or one segment with a dot ("/favicon.ico",
 * "/index.html"); anything else under / is not ours. */
static int is_static_path(const char *path)
{
    if (strcmp(path, "/") == 0 || strncmp(path, "/assets/", 8) == 0 ||
        strncmp(path, "/apidocs/", 9) == 0)
        return 1;
    return strchr(path + 1, '/') == NULL && strchr(path + 1, '.') != NULL;
}

void wf_route_match(unsigned method, const char *path, wf_route *r)
{
    memset(r, 0, sizeof *r);
    const char *seg = NULL;
    size_t n;

    /* Fixed paths first; DELETE /api/plugins/{name} also matches
     * /api/plugins/list etc. (a plugin may be called "list"), as the
     * original's router did. */
    struct fixed { const char *path; enum wf_route_id id; unsigned methods; };
    static const struct fixed fixed[] = {
        { "/health", WF_ROUTE_HEALTH, GETS },
        { "/health/ollama", WF_ROUTE_HEALTH_OLLAMA, GETS },
        { "/api/models/list", WF_ROUTE_MODELS_LIST, GETS },
        { "/api/plugins/list", WF_ROUTE_PLUGINS_LIST, GETS },
        { "/api/plugins/upload", WF_ROUTE_PLUGIN_UPLOAD, WF_METHOD_POST },
        { "/api/plugins/run", WF_ROUTE_PLUGIN_RUN, WF_METHOD_POST },
        { "/api/runs", WF_ROUTE_RUNS_LIST, GETS },
        { "/api/runs", WF_ROUTE_RUN_SUBMIT, WF_METHOD_POST },
        { "/metrics", WF_ROUTE_METRICS, GETS },
        { "/openapi.json", WF_ROUTE_OPENAPI, GETS },
        { "/docs", WF_ROUTE_DOCS, GETS },
        { "/redoc", WF_ROUTE_REDOC, GETS },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        /* A path may have an entry per method (/api/runs). */
        if (strcmp(path, fixed[i].path) == 0) {
            r->allowed |= fixed[i].methods;
            if (method & fixed[i].methods)
                r->id = fixed[i].id;
        }
    }

    /* /api/plugins/{name} and /api/plugins/{name}/code */
    n = segment_after(path, "/api/plugins/", &seg);
    if (n > 0) {
        if (seg[n] == '\0') {
            r->allowed |= WF_METHOD_DELETE;
            if (method == WF_METHOD_DELETE) {
                r->id = WF_ROUTE_PLUGIN_DELETE;
                r->param = seg;
                r->param_len = n;
            }
        } else if (strcmp(seg + n, "/code") == 0) {
            r->allowed |= GETS;
            if (method & GETS) {
                r->id = WF_ROUTE_PLUGIN_CODE;
                r->param = seg;
                r->param_len = n;
            }
        }
    }

    /* /api/runs/{run_id} and /api/runs/{run_id}/cancel */
    n = segment_after(path, "/api/runs/", &seg);
    if (n > 0 && seg[n] == '\0') {
        r->allowed |= GETS;
        if (method & GETS) {
            r->id = WF_ROUTE_RUN_GET;
            r->param = seg;
            r->param_len = n;
        }
    } else if (n > 0 && strcmp(seg + n, "/cancel") == 0) {
        r->allowed |= WF_METHOD_POST;
        if (method == WF_METHOD_POST) {
            r->id = WF_ROUTE_RUN_CANCEL;
            r->param = seg;
            r->param_len = n;
        }
    }

    if (r->allowed == 0 && strncmp(path, "/api/", 5) != 0 && is_static_path(path)) {
        r->allowed = GETS;
        if (method & GETS)
            r->id = WF_ROUTE_STATIC;
    }

    if (r->allowed != 0)
        r->allowed |= WF_METHOD_OPTIONS;
    /* Public: what a load balancer, a browser loading the interface and
     * someone reading the API's description need; everything else (plugin
     * code, run inputs and outputs, the Ollama address, metrics) needs the
     * token. Listed as the exceptions, so a new endpoint is guarded. */
    r->needs_auth = r->id != WF_ROUTE_NONE && r->id != WF_ROUTE_HEALTH &&
                    r->id != WF_ROUTE_OPENAPI && r->id != WF_ROUTE_DOCS &&
                    r->id != WF_ROUTE_REDOC && r->id != WF_ROUTE_STATIC;
    r->has_body = r->id == WF_ROUTE_PLUGIN_UPLOAD || r->id == WF_ROUTE_PLUGIN_RUN ||
                  r->id == WF_ROUTE_RUN_SUBMIT;
}

size_t wf_route_slash_redirect(const char *path)
{
    size_t n = strlen(path);
    if (n < 2 || path[n - 1] != '/')
        return 0;
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n == 0 || n > 4096)
        return 0;
    char buf[4097];
    memcpy(buf, path, n);
    buf[n] = '\0';
    wf_route r;
    wf_route_match(WF_METHOD_GET, buf, &r);
    return r.allowed != 0 ? n : 0;
}

const char *wf_route_allow(unsigned a)
{
    /* The combinations the table above can produce. */
    a &= ~(unsigned)WF_METHOD_OPTIONS;
    if (a == GETS) return "GET, HEAD, OPTIONS";
    if (a == WF_METHOD_POST) return "POST, OPTIONS";
    if (a == WF_METHOD_DELETE) return "DELETE, OPTIONS";
    if (a == (GETS | WF_METHOD_DELETE)) return "GET, HEAD, DELETE, OPTIONS";
    if (a == (WF_METHOD_POST | WF_METHOD_DELETE)) return "POST, DELETE, OPTIONS";
    if (a == (GETS | WF_METHOD_POST)) return "GET, HEAD, POST, OPTIONS";
    return "OPTIONS";
}
