/* api_runs.c - POST /api/plugins/run (the connection waits suspended while
 * the run executes), POST /api/runs (submit; wait or not), a live run's
 * view, its cancel, and the run history. */
#include "http/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wf_error.h"
#include "http/json_shapes.h"
#include "http/validate.h"

#define RUNS_LIMIT_DEFAULT 50
#define RUNS_LIMIT_MAX 1000

/* From a runs thread, exactly once per accepted submission. */
static void run_done(void *ctx, const wf_run_result *res)
{
    struct wf_call *c = ctx;
    json_t *j = wf_run_result_json(res);
    char *t = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    wf_call_complete(c, t ? 200 : 500, t, "Internal error: out of memory");
}

static int parse_body(struct wf_call *c, wf_form *form, char *err, size_t errlen)
{
    /* No body at all is no fields (422 "field required"), whatever the
     * type says, as FastAPI reads it. */
    if (c->len == 0) {
        memset(form, 0, sizeof *form);
        return 0;
    }
    switch (c->kind) {
    case WF_BODY_URLENCODED:
        return wf_form_parse_urlencoded(c->body, c->len, form, err, errlen);
    case WF_BODY_MULTIPART:
        return wf_form_parse_multipart(c->boundary, c->body ? c->body : "", c->len, form, err, errlen);
    case WF_BODY_JSON:
        return wf_form_parse_json(c->body ? c->body : "", c->len, form, err, errlen);
    default:
        memset(form, 0, sizeof *form);
        if (c->len > 0) {
            snprintf(err, errlen, "unsupported body");
            return WF_EINVAL;
        }
        return 0;
    }
}

/* The error answer {"detail": ...} of a run request, on a worker. */
static void run_fail(struct wf_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void run_fail(struct wf_call *c, int status, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    wf_call_complete(c, status, NULL, detail);
}

/* 202 with the queued run (its id set into `queued`) and its Location. */
static void answer_accepted(struct wf_call *c, json_t *queued, const char *id)
{
    char loc[96];
    snprintf(loc, sizeof loc, "/api/runs/%s", id);
    char *t = json_object_set_new(queued, "run_id", json_string(id)) == 0
        ? json_dumps(queued, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    struct MHD_Response *resp = t ? MHD_create_response_from_buffer(strlen(t), t,
                                                                    MHD_RESPMEM_MUST_FREE)
                                  : NULL;
    if (resp == NULL) {
        free(t);
        /* The run goes on: its id is lost to this client only. */
        wf_call_complete(c, 500, NULL, "Internal error: out of memory");
        return;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
    wf_call_complete_response(c, 202, resp);
}

/* On a worker, once the body is checked: the plugin from the store (which
 * may stall up to DB_TIMEOUT_MS: never on the HTTP thread) and the
 * submission. 0 = accepted (run_id and *version set; done will be called,
 * when given: c may then be freed at any time); otherwise c is completed
 * with the error (404, 429, 503...) and must not be touched. */
static int submit_plugin(struct wf_call *c, const char *name, size_t name_len, const char *input,
                         size_t input_len, const wf_run_limits *limits, wf_run_done_fn done,
                         void *ctx, char run_id[WF_RUN_ID_SIZE])
{
    struct wf_http *srv = c->rq.srv;
    wf_plugin plugin = { 0 };
    if (!wf_plugin_name_valid(name, name_len, NULL)) {
        run_fail(c, 404, "Plugin '%.100s' not found", name);
        return WF_ENOTFOUND;
    }
    if (atomic_load(&srv->quiescing)) {
        run_fail(c, 503, "The server is shutting down; try again shortly");
        return WF_EUNAVAIL;
    }
    int rc = wf_http_db_gate(srv);
    if (rc == 0)
        rc = wf_http_db_note(srv, wf_store_plugin_get(srv->store, name, &plugin));
    if (rc == WF_ENOTFOUND) {
        run_fail(c, 404, "Plugin '%s' not found", name);
        return rc;
    }
    if (rc != 0) {
        run_fail(c, wf_status_for(rc), "%s", wf_detail_for(rc));
        return rc;
    }
    /* The answer a run that nobody waits for gets at once (202). */
    json_t *queued = done == NULL
        ? json_pack("{s:s, s:s, s:s, s:i}", "run_id", "", "state", "queued", "plugin", name,
                    "version", plugin.version)
        : NULL;
    json_t *lim = limits != NULL && queued != NULL ? wf_run_limits_json(srv->cfg, limits) : NULL;
    if (done == NULL && (queued == NULL || (limits != NULL &&
                                            json_object_set_new(queued, "limits", lim) != 0)))
        rc = WF_ENOMEM;
    char id[WF_RUN_ID_SIZE];
    if (rc == 0)
        rc = wf_runs_submit(srv->runs, &plugin, input, input_len, limits, done, ctx, id);
    wf_plugin_clear(&plugin);
    if (rc == WF_EFULL)
        wf_call_complete(c, 429, NULL, "Too many runs waiting; try again shortly");
    else if (rc == WF_EUNAVAIL && atomic_load(&srv->quiescing))
        /* Shutdown began after the check above: the runs module refuses
         * for that reason, not for the sandbox. */
        wf_call_complete(c, 503, NULL, "The server is shutting down; try again shortly");
    else if (rc == WF_EUNAVAIL)
        wf_call_complete(c, 503, NULL, "The sandbox is unavailable; the plugin cannot run now");
    else if (rc != 0)
        wf_call_complete(c, 500, NULL, wf_strerror(rc));
    else if (queued != NULL)
        answer_accepted(c, queued, id);
    if (rc == 0 && run_id != NULL)
        memcpy(run_id, id, WF_RUN_ID_SIZE);
    json_decref(queued);
    return rc;
}

/* On a worker: run_work's body is a form (or JSON read as one), the
 * original's contract. */
static void run_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    char err[512];
    wf_form form = { 0 };
    int rc = parse_body(c, &form, err, sizeof err);
    /* The form holds copies: the body is not needed while the run waits. */
    free(c->body);
    c->body = NULL;
    if (rc != 0) {
        run_fail(c, rc == WF_ENOMEM ? 500 : 400, "Malformed request body: %s", err);
        goto out;
    }
    const wf_form_field *pn = wf_form_get(&form, "plugin_name");
    const wf_form_field *in = wf_form_get(&form, "input_data");
    if (pn == NULL || pn->value_len == 0) {
        json_t *missing = wf_json_missing_field("plugin_name");
        char *t = missing ? json_dumps(missing, JSON_COMPACT) : NULL;
        json_decref(missing);
        wf_call_complete(c, t ? 422 : 500, t, "Internal error: out of memory");
        goto out;
    }
    if (pn->not_string) {
        run_fail(c, 422, "Field 'plugin_name' must be a string");
        goto out;
    }
    if (in != NULL && in->value_len > srv->cfg->max_input_bytes) {
        run_fail(c, 413, "input_data too large: %zu bytes, at most %zu are accepted",
                 in->value_len, srv->cfg->max_input_bytes);
        goto out;
    }
    if (in != NULL && !wf_utf8_valid(in->value, in->value_len)) {
        run_fail(c, 400, "input_data must be UTF-8 text");
        goto out;
    }
    submit_plugin(c, pn->value, pn->value_len, in ? in->value : "", in ? in->value_len : 0, NULL,
                  run_done, c, NULL);
out:
    wf_form_free(&form);
}

enum MHD_Result wf_api_run(struct wf_call *c)
{
    return wf_call_offload(c, run_work);
}

/* On a worker: the page of summaries, as JSON. */
static void runs_list_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    wf_run_record *list = NULL;
    size_t n = 0;
    int rc = wf_http_db_gate(srv);
    if (rc == 0)
        rc = wf_http_db_note(srv, wf_store_run_list(srv->store, c->arg, (int)c->q_limit,
                                                    (int)c->q_offset, &list, &n));
    if (rc != 0) {
        wf_call_complete(c, wf_status_for(rc) == 404 ? 500 : wf_status_for(rc), NULL,
                         wf_detail_for(rc));
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *item = wf_json_run_summary(&list[i]);
        if (item == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    wf_run_records_free(list, n);
    char *t = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(arr);
    wf_call_complete(c, t ? 200 : 500, t, "Internal error: out of memory");
}

/* The query is read here, on the HTTP thread (the connection is not
 * touched once it is suspended); the store is read on a worker. */
enum MHD_Result wf_api_runs_list(struct wf_call *c)
{
    struct wf_req *rq = &c->rq;
    const char *plugin = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "plugin");
    const char *ls = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *os = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "offset");
    long limit = RUNS_LIMIT_DEFAULT, offset = 0;
    if (plugin != NULL && *plugin == '\0')
        plugin = NULL;
    if (plugin != NULL && !wf_plugin_name_valid(plugin, strlen(plugin), NULL))
        return wf_reply_error(rq, 422, "plugin must be a plugin name");
    if (ls != NULL && wf_parse_int(ls, 1, RUNS_LIMIT_MAX, &limit) != 0)
        return wf_reply_error(rq, 422, "limit must be an integer from 1 to %d", RUNS_LIMIT_MAX);
    if (os != NULL && wf_parse_int(os, 0, INT_MAX, &offset) != 0)
        return wf_reply_error(rq, 422, "offset must be an integer from 0 to %d", INT_MAX);
    if (wf_http_db_gate(rq->srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    if (plugin != NULL && (c->arg = strdup(plugin)) == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    c->q_limit = limit;
    c->q_offset = offset;
    return wf_call_offload(c, runs_list_work);
}

/* The {run_id} path parameter, cut to fit (an over-long one is not a run
 * id anyway): 0, or -1 when it is not a run id. */
static int run_id_param(const struct wf_req *rq, char id[80])
{
    size_t n = rq->route.param_len < 79 ? rq->route.param_len : 79;
    memcpy(id, rq->route.param, n);
    id[n] = '\0';
    return wf_run_id_valid(rq->route.param, rq->route.param_len) ? 0 : -1;
}

/* A live run's view (200), or the error of wf_runs_peek / wf_runs_cancel. */
static enum MHD_Result reply_view(struct wf_req *rq, int status, wf_run_view *v)
{
    json_t *j = wf_run_view_json(rq->srv->cfg, v);
    wf_run_view_clear(v);
    if (j == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    return wf_reply_json(rq, status, j);
}

/* On a worker: the run from the database. */
static void run_get_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    wf_run_record r = { 0 };
    int rc = wf_http_db_note(srv, wf_store_run_get(srv->store, c->arg, &r));
    if (rc != 0) {
        char detail[128];
        if (rc == WF_ENOTFOUND)
            snprintf(detail, sizeof detail, "Run '%s' not found", c->arg);
        wf_call_complete(c, wf_status_for(rc), NULL,
                         rc == WF_ENOTFOUND ? detail : wf_detail_for(rc));
        return;
    }
    json_t *j = wf_json_run_record(&r);
    wf_run_record_clear(&r);
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    wf_call_complete(c, t ? 200 : 500, t, "Internal error: out of memory");
}

enum MHD_Result wf_api_run_get(struct wf_call *c)
{
    struct wf_req *rq = &c->rq;
    char id[80];
    if (run_id_param(rq, id) != 0)
        return wf_reply_error(rq, 404, "Run '%s' not found", id);
    /* A run not over yet: what it has done so far. It leaves the registry
     * only once its record is kept, so one of the two finds it. */
    wf_run_view v;
    int live = rq->srv->runs ? wf_runs_peek(rq->srv->runs, id, &v) : WF_ENOTFOUND;
    if (live == 0)
        return reply_view(rq, 200, &v);
    if (live != WF_ENOTFOUND)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    wf_run_record r = { 0 };
    /* A run answered while the database was away is in the journal: found
     * there without the database (an answered run_id is always found). */
    if (wf_store_run_get_journaled(rq->srv->store, id, &r) == 0) {
        json_t *j = wf_json_run_record(&r);
        wf_run_record_clear(&r);
        return wf_reply_json(rq, 200, j);
    }
    if (wf_http_db_gate(rq->srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    /* The database is asked on a worker: a stalled one never holds the
     * HTTP thread. */
    if ((c->arg = strdup(id)) == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    return wf_call_offload(c, run_get_work);
}

/* "limits": an object of the four keys, each an integer from 1 to the
 * server's own limit. Sets err (naming the key) when it is not. */
static void parse_limits(const wf_config *cfg, json_t *lim, wf_run_limits *out, char *err,
                         size_t errlen)
{
    if (!json_is_object(lim)) {
        snprintf(err, errlen, "Field 'limits' must be an object: {\"timeout_s\", "
                 "\"memory_mb\", \"max_ai_calls\", \"max_output_bytes\"}");
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(lim, key, v) {
        long long *ll = NULL;
        int *i = NULL;
        if (strcmp(key, "timeout_s") == 0)
            i = &out->timeout_s;
        else if (strcmp(key, "memory_mb") == 0)
            i = &out->memory_mb;
        else if (strcmp(key, "max_ai_calls") == 0)
            i = &out->max_ai_calls;
        else if (strcmp(key, "max_output_bytes") == 0)
            ll = &out->max_output_bytes;
        else {
            snprintf(err, errlen, "limits.%.64s is not a limit: give timeout_s, memory_mb, "
                     "max_ai_calls or max_output_bytes", key);
            return;
        }
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
        if (n < 1) {
            snprintf(err, errlen, "limits.%s must be an integer of at least 1", key);
            return;
        }
        if (n > INT_MAX)
            n = INT_MAX; /* over every limit: refused below, naming the maximum */
        if (i != NULL)
            *i = (int)n;
        else
            *ll = (long long)n;
    }
    wf_run_limits_check(cfg, out, err, errlen);
}

/* POST /api/runs on a worker: the JSON body {"plugin", "input", "wait"},
 * then the submission. With "wait": true the call waits for the result
 * (run_done, as POST /api/plugins/run); else it is answered 202 at once. */
static void submit_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    json_error_t je;
    json_t *root = json_loadb(c->body ? c->body : "", c->len, JSON_REJECT_DUPLICATES, &je);
    free(c->body);
    c->body = NULL;
    if (root == NULL) {
        run_fail(c, 422, "Malformed JSON body: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        return;
    }
    json_t *plugin = json_object_get(root, "plugin");
    json_t *input = json_object_get(root, "input");
    json_t *wait = json_object_get(root, "wait");
    /* Parts of the run service this server does not have yet: refused
     * rather than ignored, so that nobody believes it was done. */
    static const char *const unsupported[] = {"callback_url"};
    wf_run_limits limits = { 0 };
    char lim_err[256] = "";
    json_t *lim = json_object_get(root, "limits");
    int has_limits = lim != NULL && !json_is_null(lim);
    if (has_limits)
        parse_limits(srv->cfg, lim, &limits, lim_err, sizeof lim_err);
    const char *bad = NULL;
    for (size_t i = 0; bad == NULL && i < sizeof unsupported / sizeof unsupported[0]; i++)
        if (json_is_object(root) && json_object_get(root, unsupported[i]) != NULL)
            bad = unsupported[i];
    if (!json_is_object(root))
        run_fail(c, 422, "The body must be a JSON object");
    else if (plugin == NULL || json_is_null(plugin) ||
             (json_is_string(plugin) && json_string_length(plugin) == 0)) {
        json_t *missing = wf_json_missing_field("plugin");
        char *t = missing ? json_dumps(missing, JSON_COMPACT) : NULL;
        json_decref(missing);
        wf_call_complete(c, t ? 422 : 500, t, "Internal error: out of memory");
    } else if (!json_is_string(plugin))
        run_fail(c, 422, "Field 'plugin' must be a string");
    else if (input != NULL && !json_is_null(input) && !json_is_string(input))
        run_fail(c, 422, "Field 'input' must be a string");
    else if (wait != NULL && !json_is_null(wait) && !json_is_boolean(wait))
        run_fail(c, 422, "Field 'wait' must be true or false");
    else if (bad != NULL)
        run_fail(c, 422, "Field '%s' is not supported by this server", bad);
    else if (lim_err[0] != '\0')
        run_fail(c, 422, "%s", lim_err);
    else if (json_is_string(input) && json_string_length(input) > srv->cfg->max_input_bytes)
        run_fail(c, 413, "input too large: %zu bytes, at most %zu are accepted",
                 json_string_length(input), srv->cfg->max_input_bytes);
    else {
        int waits = json_is_true(wait);
        const char *in = json_is_string(input) ? json_string_value(input) : "";
        size_t in_len = json_is_string(input) ? json_string_length(input) : 0;
        submit_plugin(c, json_string_value(plugin), json_string_length(plugin), in, in_len,
                      has_limits ? &limits : NULL, waits ? run_done : NULL, waits ? c : NULL,
                      NULL);
    }
    json_decref(root);
}

enum MHD_Result wf_api_run_submit(struct wf_call *c)
{
    return wf_call_offload(c, submit_work);
}

/* On a worker: the run is not live; is it recorded (it is over: 409)? */
static void cancel_over_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    wf_run_record r = { 0 };
    int rc = wf_http_db_note(srv, wf_store_run_get(srv->store, c->arg, &r));
    if (rc == 0)
        run_fail(c, 409, "Run '%s' is already over (%s): it cannot be cancelled", c->arg,
                 r.error_type ? r.error_type : "ok");
    else if (rc == WF_ENOTFOUND)
        run_fail(c, 404, "Run '%s' not found", c->arg);
    else
        wf_call_complete(c, wf_status_for(rc), NULL, wf_detail_for(rc));
    wf_run_record_clear(&r);
}

enum MHD_Result wf_api_run_cancel(struct wf_call *c)
{
    struct wf_req *rq = &c->rq;
    char id[80];
    if (run_id_param(rq, id) != 0)
        return wf_reply_error(rq, 404, "Run '%s' not found", id);
    wf_run_view v;
    int rc = rq->srv->runs ? wf_runs_cancel(rq->srv->runs, id, &v) : WF_ENOTFOUND;
    if (rc == 0)
        return reply_view(rq, 202, &v);
    if (rc == WF_ECONFLICT)
        return wf_reply_error(rq, 409, "Run '%s' is already over: it ended before the cancel "
                              "came, and is recorded as it ended", id);
    if (rc != WF_ENOTFOUND)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    wf_run_record r = { 0 };
    if (wf_store_run_get_journaled(rq->srv->store, id, &r) == 0) {
        wf_reply_error(rq, 409, "Run '%s' is already over (%s): it cannot be cancelled", id,
                       r.error_type ? r.error_type : "ok");
        wf_run_record_clear(&r);
        return MHD_YES;
    }
    if (wf_http_db_gate(rq->srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    if ((c->arg = strdup(id)) == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    return wf_call_offload(c, cancel_over_work);
}
