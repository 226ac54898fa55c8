/* api_misc.c - health, Ollama status, the models list, metrics and the
 * API's own description. */
#include "http/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "common/wf_error.h"
#include "http/json_shapes.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- GET /health ----------------------------------------------------------- */

/* The answer is built per request from what is known without asking the
 * database: its state as last seen (and how long ago), the store's own
 * flags (a full disk, journaled runs), and whether the server is draining.
 * /health never waits on the database: a stalled one must not stall the
 * load balancer's probe. What never changes is made once (setup), so an
 * answer is one snprintf. */
static char *health_text(struct wf_http *srv, int *status, size_t *len)
{
    wf_store_health sh = {0};
    if (srv->store)
        wf_store_health_get(srv->store, &sh);
    int db_ok = srv->store != NULL && atomic_load(&srv->db_ok);
    int64_t seen = atomic_load(&srv->db_seen_ms);
    int64_t ago = seen > 0 ? mono_ms() - seen : -1;
    int draining = atomic_load(&srv->quiescing);
    const char *word = draining ? "draining" : db_ok && !sh.disk_full ? "ok" : "degraded";
    *status = strcmp(word, "ok") == 0 ? 200 : 503;
    char *t = NULL;
    int n = asprintf(&t,
                     "{\"status\":\"%s\",%s\"database_ok\":%s,\"database_checked_ms_ago\":%lld,"
                     "\"database_disk_full\":%s,\"runs_journaled\":%zu,%s",
                     word, srv->health_fixed ? srv->health_fixed : "", db_ok ? "true" : "false",
                     (long long)ago, sh.disk_full ? "true" : "false", sh.journal_pending,
                     srv->health_tail ? srv->health_tail : "}");
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return t;
}

/* The members of o as JSON text without the braces, followed by `end`. */
static char *json_members(json_t *o, const char *end)
{
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (t == NULL)
        return NULL;
    size_t n = strlen(t);
    char *out = NULL;
    /* "{...}": drop both braces, keep what is between */
    if (n < 2 || asprintf(&out, "%.*s%s", (int)(n - 2), t + 1, end) < 0)
        out = NULL;
    free(t);
    return out;
}

void wf_api_health_setup(struct wf_http *srv)
{
    int wasm = srv->cfg->sandbox == WF_SANDBOX_WASM;
    /* The sandbox's confinement is fixed once the runs module started: say
     * which it is (and when it is weak or unavailable). */
    wf_runs_stats st = {0};
    if (srv->runs)
        wf_runs_get_stats(srv->runs, &st);
    srv->health_fixed = json_members(
        json_pack("{s:b, s:s, s:s, s:s}", "wasmedge", wasm, "sandbox", wasm ? "wasm" : "native",
                  "version", WF_VERSION, "database",
                  srv->store ? wf_store_kind(srv->store) : "none"),
        ",");
    srv->health_tail = json_members(
        json_pack("{s:b, s:s}", "sandbox_ok", st.sandbox_ok, "sandbox_detail",
                  st.sandbox_detail ? st.sandbox_detail : ""),
        "}");
    wf_api_health_refresh(srv);
}

void wf_api_health_refresh(struct wf_http *srv)
{
    /* One check at a time: with the database stalled a check takes up to
     * DB_TIMEOUT_MS, and the workers have other work. */
    if (atomic_exchange(&srv->db_check_running, 1))
        return;
    int ok = srv->store != NULL && wf_store_ping(srv->store) == 0;
    atomic_store(&srv->db_ok, ok);
    atomic_store(&srv->db_seen_ms, mono_ms());
    atomic_store(&srv->db_check_running, 0);
}

int wf_http_db_note(struct wf_http *srv, int rc)
{
    /* A full disk is not a database that is down: reads still work, and
     * other requests must not be refused for it. */
    int up = rc != WF_EUNAVAIL && rc != WF_ETIMEOUT;
    /* Read first: on the hot path the state rarely changes, and a store to
     * a shared line on every request would make the cores fight over it. */
    if (atomic_load_explicit(&srv->db_ok, memory_order_relaxed) != up) {
        atomic_store(&srv->db_ok, up);
        atomic_store(&srv->db_seen_ms, mono_ms());
    }
    return rc;
}

/* Ask for a database check unless one was asked for within the second. */
static void db_check_soon(struct wf_http *srv)
{
    int_fast64_t now = mono_ms();
    int_fast64_t last = atomic_load(&srv->db_checked_ms);
    if (now - last >= 1000 && atomic_compare_exchange_strong(&srv->db_checked_ms, &last, now))
        wf_http_want_db_check(srv);
}

int wf_http_db_gate(struct wf_http *srv)
{
    if (atomic_load_explicit(&srv->db_ok, memory_order_relaxed))
        return 0;
    db_check_soon(srv);
    return WF_EUNAVAIL;
}

enum MHD_Result wf_api_health(struct wf_req *rq)
{
    struct wf_http *srv = rq->srv;
    /* The database is checked at most once a second, by a worker: /health
     * never waits on it, and a flood of checks cannot become a flood of
     * database round trips. */
    db_check_soon(srv);
    int status = 200;
    size_t len = 0;
    char *t = health_text(srv, &status, &len);
    if (t == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    return wf_reply(rq, status, "application/json", t, len, MHD_RESPMEM_MUST_FREE);
}

/* ---- GET /health/ollama ------------------------------------------------------ */

/* The base URL without any user:password@ part (never echo secrets). */
static void url_without_credentials(const char *url, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at != NULL && (slash == NULL || at < slash))
        snprintf(out, outlen, "%.*s%s", (int)(host - url), url, at + 1);
    else
        snprintf(out, outlen, "%s", url);
}

static char *dump_free(json_t *j)
{
    char *t = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    return t;
}

/* Both answers come from Ollama's last known state (ollama.h): a request
 * never waits on Ollama, so a hung Ollama cannot tie up the server's
 * threads however many ask. Only a request that comes before the first
 * look at Ollama has finished (just after start) waits for it, on a
 * worker, at most OLLAMA_FIRST_WAIT_MS. */
#define OLLAMA_FIRST_WAIT_MS 3000

static char *ollama_health_text(struct wf_http *srv, const wf_ollama_state *st)
{
    char url[512];
    url_without_credentials(wf_ollama_base_url(srv->ollama), url, sizeof url);
    json_t *out;
    if (st->connected) {
        json_t *names = json_array();
        size_t i;
        json_t *m;
        json_array_foreach(st->models, i, m) {
            json_t *n = json_object_get(m, "name");
            if (json_is_string(n))
                json_array_append(names, n);
        }
        out = json_pack("{s:s, s:s, s:o, s:s}", "status", "connected", "url", url, "models", names,
                        "version", st->version ? st->version : "");
    } else {
        out = json_pack("{s:s, s:s, s:s}", "status", "disconnected", "url", url, "error",
                        st->error);
    }
    return dump_free(out);
}

static char *models_text(struct wf_http *srv, const wf_ollama_state *st)
{
    /* Ollama down: every allowed model is listed unavailable. */
    return dump_free(wf_json_models_list(srv->cfg, st->connected ? st->models : NULL));
}

typedef char *(*state_answer_fn)(struct wf_http *srv, const wf_ollama_state *st);

static void answer_from_state(struct wf_call *c, int wait_ms, state_answer_fn fn)
{
    wf_ollama_state st;
    wf_ollama_state_get(c->rq.srv->ollama, wait_ms, &st);
    char *t = fn(c->rq.srv, &st);
    wf_ollama_state_clear(&st);
    wf_call_complete(c, t ? 200 : 500, t, "Internal error: out of memory");
}

static void ollama_health_work(struct wf_call *c)
{
    answer_from_state(c, OLLAMA_FIRST_WAIT_MS, ollama_health_text);
}

static void models_work(struct wf_call *c)
{
    answer_from_state(c, OLLAMA_FIRST_WAIT_MS, models_text);
}

/* Answer at once from the known state, or (before the first look) on a
 * worker that waits for it. */
static enum MHD_Result answer_state(struct wf_call *c, state_answer_fn fn, wf_work_fn work)
{
    wf_ollama_state st;
    wf_ollama_state_get(c->rq.srv->ollama, 0, &st);
    if (!st.known) {
        wf_ollama_state_clear(&st);
        return wf_call_offload(c, work);
    }
    char *t = fn(c->rq.srv, &st);
    wf_ollama_state_clear(&st);
    if (t == NULL)
        return wf_reply_error(&c->rq, 500, "Internal error: out of memory");
    return wf_reply(&c->rq, 200, "application/json", t, strlen(t), MHD_RESPMEM_MUST_FREE);
}

enum MHD_Result wf_api_health_ollama(struct wf_call *c)
{
    return answer_state(c, ollama_health_text, ollama_health_work);
}

/* ---- GET /api/models/list ---------------------------------------------------- */

enum MHD_Result wf_api_models_list(struct wf_call *c)
{
    return answer_state(c, models_text, models_work);
}

/* ---- GET /metrics, /openapi.json, /docs ---------------------------------------- */

/* The database's and the server's state after `head`, as /health reports
 * it (never asking the database). A new string, or NULL. */
static char *metrics_store_lines(struct wf_http *srv, const char *head)
{
    wf_store_health sh = {0};
    if (srv->store)
        wf_store_health_get(srv->store, &sh);
    int64_t seen = atomic_load(&srv->db_seen_ms);
    double age = seen > 0 ? (double)(mono_ms() - seen) / 1000.0 : -1.0;
    char *out = NULL;
    if (asprintf(&out,
                 "%s"
                 "# HELP wasmforge_database_up The database as last seen (1 up, 0 down).\n"
                 "# TYPE wasmforge_database_up gauge\nwasmforge_database_up %d\n"
                 "# HELP wasmforge_database_checked_age_seconds Time since the database's "
                 "state was last seen.\n"
                 "# TYPE wasmforge_database_checked_age_seconds gauge\n"
                 "wasmforge_database_checked_age_seconds %.3f\n"
                 "# HELP wasmforge_database_disk_full The last write failed for want of disk "
                 "space.\n"
                 "# TYPE wasmforge_database_disk_full gauge\nwasmforge_database_disk_full %d\n"
                 "# HELP wasmforge_runs_journaled Run records in the local journal, waiting for "
                 "the database.\n"
                 "# TYPE wasmforge_runs_journaled gauge\nwasmforge_runs_journaled %zu\n"
                 "# HELP wasmforge_draining The server is shutting down.\n"
                 "# TYPE wasmforge_draining gauge\nwasmforge_draining %d\n",
                 head, srv->store != NULL && atomic_load(&srv->db_ok), age, sh.disk_full,
                 sh.journal_pending, atomic_load(&srv->quiescing)) < 0)
        return NULL;
    return out;
}

enum MHD_Result wf_api_metrics(struct wf_req *rq)
{
    wf_runs_stats st = { 0 };
    if (rq->srv->runs != NULL)
        wf_runs_get_stats(rq->srv->runs, &st);
    char *t = wf_metrics_render(st.queued, st.running, st.sandbox_start_ms);
    char *all = t ? metrics_store_lines(rq->srv, t) : NULL;
    free(t);
    if (all == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    return wf_reply(rq, 200, "text/plain; version=0.0.4; charset=utf-8", all, strlen(all),
                    MHD_RESPMEM_MUST_FREE);
}

enum MHD_Result wf_api_openapi(struct wf_req *rq)
{
    return wf_reply(rq, 200, "application/json", wf_openapi_json, wf_openapi_json_len,
                    MHD_RESPMEM_PERSISTENT);
}

/* A page of ours that renders /openapi.json with scripts we serve from
 * apidocs/. Its policy allows only our own origin: no CDN, no inline
 * script (ReDoc's search runs in a worker it starts from a blob: URL;
 * Swagger UI and ReDoc set inline styles; ReDoc shows data: images). */
static enum MHD_Result api_doc_page(struct wf_req *rq, const char *html, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)html,
                                                                MHD_RESPMEM_PERSISTENT);
    if (resp != NULL) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; script-src 'self'; worker-src 'self' blob:; "
                                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                "font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                                "base-uri 'none'; frame-ancestors 'self'");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    }
    return wf_reply_response(rq, 200, resp);
}

enum MHD_Result wf_api_docs(struct wf_req *rq)
{
    return api_doc_page(rq, wf_docs_html, wf_docs_html_len);
}

enum MHD_Result wf_api_redoc(struct wf_req *rq)
{
    return api_doc_page(rq, wf_redoc_html, wf_redoc_html_len);
}
