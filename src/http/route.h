/* route.h - maps a method and a path to one of the API's endpoints.
 *
 * Pure functions (no I/O) so that routing is tested without a socket. */
#ifndef WF_HTTP_ROUTE_H
#define WF_HTTP_ROUTE_H

#include <stddef.h>

enum wf_route_id {
    WF_ROUTE_NONE = 0,       /* no endpoint has this path: 404 */
    WF_ROUTE_HEALTH,
    WF_ROUTE_HEALTH_OLLAMA,
    WF_ROUTE_MODELS_LIST,
    WF_ROUTE_PLUGINS_LIST,
    WF_ROUTE_PLUGIN_CODE,    /* GET /api/plugins/{name}/code */
    WF_ROUTE_PLUGIN_UPLOAD,
    WF_ROUTE_PLUGIN_DELETE,  /* DELETE /api/plugins/{name} */
    WF_ROUTE_PLUGIN_RUN,
    WF_ROUTE_RUNS_LIST,
    WF_ROUTE_RUN_GET,        /* GET /api/runs/{run_id} */
    WF_ROUTE_RUN_SUBMIT,     /* POST /api/runs */
    WF_ROUTE_RUN_CANCEL,     /* POST /api/runs/{run_id}/cancel */
    WF_ROUTE_METRICS,
    WF_ROUTE_OPENAPI,
    WF_ROUTE_DOCS,
    WF_ROUTE_REDOC,
    WF_ROUTE_STATIC,         /* "/", "/assets/..", "/<file>.<ext>" */
};

/* Methods as bits, so a path's accepted methods form a set (Allow). */
enum wf_method {
    WF_METHOD_GET = 1,
    WF_METHOD_HEAD = 2,
    WF_METHOD_POST = 4,
    WF_METHOD_DELETE = 8,
    WF_METHOD_OPTIONS = 16,
    WF_METHOD_OTHER = 32,
};

typedef struct wf_route {
    enum wf_route_id id;  /* the endpoint for this method; NONE when the path
                             is unknown or the method is not accepted */
    unsigned allowed;     /* methods the path accepts (0 = unknown path) */
    const char *param;    /* {name} / {run_id}: a slice of the path */
    size_t param_len;
    int needs_auth;       /* every endpoint but /health, /openapi.json, the
                             documentation and the web interface's files
                             (when API_TOKEN is set) */
    int has_body;         /* the endpoint reads a request body */
} wf_route;

unsigned wf_method_parse(const char *method);

/* Match `path` (decoded, without the query) for `method`. Outcomes:
 * allowed == 0 -> 404; id == NONE && allowed != 0 -> 405 (or OPTIONS). */
void wf_route_match(unsigned method, const char *path, wf_route *out);

/* A path with a trailing slash whose form without it (every trailing
 * slash dropped, as Starlette's redirect_slashes does) is a known path:
 * the length of that form; 0 when there is nothing to redirect to. */
size_t wf_route_slash_redirect(const char *path);

/* "GET, HEAD, OPTIONS" for a method set; a static string. */
const char *wf_route_allow(unsigned allowed);

#endif
