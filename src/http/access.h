/* access.h - who may ask what of the server, decided before any endpoint
 * runs: the Host check (against DNS rebinding), the browser-origin policy
 * (which origins get CORS headers, which may change anything), the API
 * token, and the redirect of a path with a trailing slash.
 *
 * The policy (README "Security policy", docs/http.md):
 *   1. Host must be an IP literal, `localhost` (or a name under
 *      `.localhost`), the configured HOST, or in ALLOWED_HOSTS; else 403.
 *   2. A state-changing request (POST, PUT, PATCH, DELETE) whose Origin is
 *      present and not allowed is refused with 403 naming CORS_ORIGINS.
 *      Allowed origins: the server's own (http://<Host>), every loopback
 *      origin (localhost, 127.0.0.0/8, [::1], any port), those listed in
 *      CORS_ORIGINS; CORS_ORIGINS=* allows every origin.
 *   3. A path with a trailing slash that names a route without it: 307.
 *   4. With API_TOKEN set, every route but /health, /openapi.json, the
 *      documentation pages (/docs, /redoc) and the web interface's files needs
 *      `Authorization: Bearer <token>` (pre-flights never do); else 401.
 * Answers carry Access-Control-Allow-Origin only for allowed origins.
 *
 * The wf_access_*_ok functions are pure (no I/O, no allocation) so each
 * rule is unit-tested on its own; wf_access_admit applies them to a
 * request. */
#ifndef WF_HTTP_ACCESS_H
#define WF_HTTP_ACCESS_H

#include <microhttpd.h>

struct wf_req;

/* Is `host` (a Host header value: a name or an IP literal, with an
 * optional :port) one the server answers to? See rule 1. `listen_host` is
 * the HOST setting, `allowed_hosts` ALLOWED_HOSTS (comma list of names;
 * `.example.com` = that domain and every name under it; `*` = any; may be
 * NULL). A missing or empty Host (HTTP/1.0) is accepted: browsers always
 * send one. 1 = yes. */
int wf_access_host_ok(const char *host, const char *listen_host, const char *allowed_hosts);

/* Is `origin` (an Origin header value) allowed for a request that came
 * with `host` (its Host header, already accepted)? See rule 2.
 * `cors_origins` is CORS_ORIGINS (NULL or empty: none listed). 1 = yes. */
int wf_access_origin_ok(const char *origin, const char *host, const char *cors_origins);

/* Does CORS_ORIGINS allow every origin ("*" in the list)? */
int wf_access_cors_any(const char *cors_origins);

/* Apply rules 1 to 4 to a request whose headers are in (its first
 * callback). Returns 1 when it may go on; 0 when it has been answered,
 * with *ret set to what the access handler must return. */
int wf_access_admit(struct wf_req *rq, enum MHD_Result *ret);

/* Add the CORS headers an answer to rq carries (Access-Control-Allow-
 * Origin for an allowed origin, Vary: Origin unless every origin is). */
void wf_access_add_cors(struct wf_req *rq, struct MHD_Response *resp);

/* Answer an OPTIONS pre-flight for rq's route: the path's methods, the
 * requested headers allowed (as FastAPI's CORSMiddleware with
 * allow_headers=["*"] echoes them), 200 "OK" as FastAPI answers it. */
enum MHD_Result wf_access_preflight(struct wf_req *rq);

#endif
