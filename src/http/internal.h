/* internal.h - what the HTTP layer's files share: the server, the two
 * kinds of request context, and the functions that send answers.
 *
 * A request without a body is answered within its first callback from a
 * context on the stack (no allocation on hot paths). A request with a body,
 * or one whose work may block (Ollama, the sandbox), gets a heap `wf_call`
 * kept in MHD's per-request pointer; blocking work runs on the server's
 * worker threads or in the runs module while the connection is suspended,
 * and the call is completed with wf_call_complete, which resumes it. */
#ifndef WF_HTTP_INTERNAL_H
#define WF_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "embedded.h"
#include "http/form.h"
#include "http/route.h"
#include "http/server.h"

struct wf_call;
typedef void (*wf_work_fn)(struct wf_call *c);

/* A GET /api/plugins/list answer, shared by the cache and the responses
 * that send it (reference counted; freed by the last one). */
struct wf_blob {
    atomic_int refs;
    char *gz;     /* the same bytes gzip-compressed, or NULL */
    size_t gz_len;
    size_t len;
    char *data;   /* owned */
    atomic_size_t *live; /* the server's count of bytes in blobs */
};

#define WF_LIST_CACHE_SLOTS 16
/* What the cached list answers may hold in all (plain and gzip bytes). */
#define WF_LIST_CACHE_BYTES (8u * 1024 * 1024)
/* What list answers may hold in all, cached or being sent: past it, a page
 * that is not cached is refused with 503 until answers have gone out. */
#define WF_LIST_LIVE_BYTES (16u * 1024 * 1024)
/* Calls waiting for a worker. A connection has at most one call in flight,
 * so with the default HTTP_MAX_CONNECTIONS (4096) every open connection fits
 * and a burst of run submissions reaches the runs queue (MAX_QUEUED_RUNS,
 * 429 when full) instead of a 503 here; 64 KiB of pointers. */
#define WF_WORK_QUEUE 8192

struct wf_http {
    const wf_config *cfg;
    wf_store *store;
    wf_ollama *ollama;
    wf_runs *runs;
    struct MHD_Daemon *daemon;
    int port;
    atomic_int quiescing;
    /* The listen socket MHD_quiesce_daemon hands back: closed only after
     * MHD_stop_daemon, since pool threads may still touch it until then
     * (closing it earlier makes their epoll_ctl fail, and MHD aborts). */
    int quiesced_fd;

    /* /health: what never changes, made once (JSON members, each ending
     * with a comma; the tail closes the object). The database check is
     * refreshed at most once a second, off the request path.
     * db_checked_ms: when a check was last asked for; db_seen_ms: when the
     * database's state was last learnt. */
    char *health_fixed, *health_tail;
    atomic_int_fast64_t db_checked_ms;
    atomic_int_fast64_t db_seen_ms;
    atomic_int db_check_running;
    atomic_int db_ok;
    int db_check_wanted;   /* under mu: a worker pings the store */

    /* GET /api/plugins/list answers by (limit, offset), valid for one
     * store revision. */
    pthread_mutex_t cache_mu;
    struct {
        int used;
        long limit, offset;
        int64_t rev;
        struct wf_blob *blob;
        unsigned last_use;
    } cache[WF_LIST_CACHE_SLOTS];
    unsigned cache_tick;
    size_t cache_bytes;           /* under cache_mu: held by the slots */
    atomic_size_t list_live_bytes; /* held by every list answer alive */
    /* One list answer is built at a time (on a worker): concurrent
     * requests for one page wait and then find it in the cache, and the
     * memory that building takes is spent once, not once per request. */
    pthread_mutex_t list_build_mu;

    /* Worker threads for blocking handlers, and the calls in flight. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *workers;
    int nworkers;
    int stopping;
    struct wf_call *queue[WF_WORK_QUEUE];
    size_t q_head, q_len;
    struct wf_call *inflight; /* calls whose answer is being prepared */
    int inflight_n;
    int calls_alive;          /* wf_call structs not yet freed */

    /* Static UI */
    char *web_dir; /* NULL when the folder is missing */
    int web_fd;
};

/* One request as seen by handlers. */
struct wf_req {
    struct wf_http *srv;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    unsigned method_bit;
    wf_route route;
    struct timespec t0;
};

/* A request that outlives one callback (body or blocking work). */
struct wf_call {
    struct wf_req rq;
    /* body */
    char *body;
    size_t len, cap, limit;
    enum wf_body_kind kind;
    char boundary[WF_BOUNDARY_MAX + 1];
    int body_done;
    int too_big;       /* over the limit: the rest is read and dropped */
    size_t discarded;
    int started;       /* the handler ran (its answer may be pending) */
    /* async: guarded by mu */
    pthread_mutex_t mu;
    int refs;          /* MHD's + one per pending completion */
    int pending;       /* work started, not completed */
    int done;          /* answer ready */
    int suspended;     /* MHD_suspend_connection called, not resumed */
    int conn_gone;     /* MHD closed the request */
    int replied;       /* the answer was queued */
    int status;
    char *answer;      /* JSON body when answer_json, else the error detail */
    int answer_json;           /* answer is a JSON body even for an error status */
    const char *allow; /* extra Allow header with the answer, or NULL */
    wf_work_fn work;
    struct wf_call *next_inflight, *prev_inflight;
    struct MHD_Response *resp; /* a prepared answer (headers and all), or NULL */
    int fd;            /* the client's socket (read-only use: see call_wanted) */
    /* handler scratch (freed with the call) */
    char *arg;         /* a copied path parameter or similar */
    long q_limit, q_offset; /* a list's page, read on the HTTP thread */
    int q_gzip;        /* the client accepts gzip */
};

/* ---- answers (server.c) ------------------------------------------------ */
/* Every answer goes through wf_reply; every error through wf_reply_error
 * (the one place an error page is built). `mode` as MHD_create_response_
 * from_buffer. Return what the access handler must return. */
enum MHD_Result wf_reply(struct wf_req *rq, int status, const char *ctype, const void *body,
                         size_t len, enum MHD_ResponseMemoryMode mode);
enum MHD_Result wf_reply_response(struct wf_req *rq, int status, struct MHD_Response *resp);
enum MHD_Result wf_reply_json(struct wf_req *rq, int status, json_t *j); /* steals j */
/* Queue a response built once, with all its headers (CORS included), and
 * kept by the caller. */
enum MHD_Result wf_reply_shared(struct wf_req *rq, int status, struct MHD_Response *resp);
enum MHD_Result wf_reply_error(struct wf_req *rq, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The status and detail for a store/runs error code. */
int wf_status_for(int rc);
/* 422 for a required body field that is missing or empty, in FastAPI's
 * shape (wf_json_missing_field); other errors keep {"detail": "text"}. */
enum MHD_Result wf_reply_missing(struct wf_req *rq, const char *field);
const char *wf_detail_for(int rc);

/* ---- async (server.c) -------------------------------------------------- */
/* Run c->work on a worker thread; the connection is suspended until
 * wf_call_complete. Returns what the handler must return. */
enum MHD_Result wf_call_offload(struct wf_call *c, wf_work_fn work);
/* Mark work as started elsewhere (the runs module) before it can finish:
 * adds a reference released by wf_call_complete. */
void wf_call_begin(struct wf_call *c);
/* After wf_call_begin: suspend unless the answer is already there. */
enum MHD_Result wf_call_wait(struct wf_call *c);
/* Give the call its answer (json_body, taken over, when given: for any
 * status, e.g. a 422 in FastAPI's shape; else, for status >= 400,
 * {"detail": detail}, copied) and resume the connection. Any thread. */
void wf_call_complete(struct wf_call *c, int status, char *json_body, const char *detail);
/* The same with a prepared response (taken over; sent with the CORS
 * headers added), for answers with headers of their own. */
void wf_call_complete_response(struct wf_call *c, int status, struct MHD_Response *resp);

/* Every store call's result passes through here: the database's state
 * for /health follows what requests see (WF_EUNAVAIL = down, success =
 * up) without waiting for the next periodic check. Returns rc. */
int wf_http_db_note(struct wf_http *srv, int rc);
/* Before a store call: 0 to go ahead; WF_EUNAVAIL while the database is
 * known to be down (a worker re-checks it at most once a second and opens
 * the gate again), so that requests fail fast instead of each waiting
 * for a connection timeout on an HTTP thread. */
int wf_http_db_gate(struct wf_http *srv);

/* Ask a worker to ping the store (for /health). */
void wf_http_want_db_check(struct wf_http *srv);

/* ---- handlers ------------------------------------------------------------ */
enum MHD_Result wf_api_health(struct wf_req *rq);
void wf_api_health_setup(struct wf_http *srv);
void wf_api_health_refresh(struct wf_http *srv); /* worker: ping the store */
enum MHD_Result wf_api_health_ollama(struct wf_call *c);
enum MHD_Result wf_api_models_list(struct wf_call *c);
enum MHD_Result wf_api_metrics(struct wf_req *rq);
enum MHD_Result wf_api_openapi(struct wf_req *rq);
enum MHD_Result wf_api_docs(struct wf_req *rq);  /* Swagger UI */
enum MHD_Result wf_api_redoc(struct wf_req *rq); /* ReDoc */

enum MHD_Result wf_api_plugins_list(struct wf_call *c);
enum MHD_Result wf_api_plugin_code(struct wf_call *c);
enum MHD_Result wf_api_plugin_delete(struct wf_call *c);
enum MHD_Result wf_api_plugin_upload(struct wf_call *c);
void wf_api_list_cache_free(struct wf_http *srv);

enum MHD_Result wf_api_run(struct wf_call *c);
enum MHD_Result wf_api_runs_list(struct wf_call *c);
enum MHD_Result wf_api_run_get(struct wf_call *c);
enum MHD_Result wf_api_run_submit(struct wf_call *c);
enum MHD_Result wf_api_run_cancel(struct wf_call *c);

int wf_static_setup(struct wf_http *srv);
void wf_static_free(struct wf_http *srv);
enum MHD_Result wf_static_serve(struct wf_req *rq);

/* The OpenAPI document and the pages that render it: wf_openapi_json,
 * wf_docs_html, wf_redoc_html, embedded by mk/embed.mk and declared in its
 * generated header. */

#endif
