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

/* Shutdown, step 1: stop accepting connections; requests on open
 * connections are still served, except new runs (503, "shutting down");
 * suspended run requests are resumed as their runs finish. Shutdown order
 * (main): wf_http_quiesce, wf_runs_drain, wf_http_stop, wf_runs_free. */
void wf_http_quiesce(wf_http *srv);

/* Shutdown, step 2: finish in-flight responses, close everything, free. */
void wf_http_stop(wf_http *srv);

#endif
