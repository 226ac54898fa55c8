/* server.h - the HTTP API server (libmicrohttpd).
 *
 * Routing, JSON errors {"detail": ...}, CORS, API_TOKEN auth, multipart and
 * form parsing, the static web UI, /metrics, /openapi.json and /docs. Runs
 * its own threads; wf_http_start returns once it listens. */
#ifndef WF_HTTP_SERVER_H
#define WF_HTTP_SERVER_H

#include <stddef.h>

#include "config/config.h"
#include "ollama/ollama.h"
#include "runs/runs.h"
#include "store/store.h"

typedef struct wf_http wf_http;

/* Everything the handlers use; borrowed, must outlive the server. */
typedef struct wf_http_deps {
    const wf_config *cfg;
    wf_store *store;
    wf_ollama *ollama;
    wf_runs *runs;
} wf_http_deps;

/* Listen on cfg->host:cfg->port (port 0 = any free port) and serve. */
int wf_http_start(const wf_http_deps *deps, wf_http **out, char *err, size_t errlen);

/* The port actually bound (useful with port 0). */
int wf_http_port(const wf_http *srv);

/* Stop accepting connections, let in-flight requests finish (suspended
 * run requests are answered by the runs module's drain), then free. */
void wf_http_stop(wf_http *srv);

#endif
