/* api_runs.c - POST /api/plugins/run (the connection waits suspended while
 * the run executes) and the run history. */
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

/* On a worker: the body, the plugin from the store (which may stall up to
 * DB_TIMEOUT_MS: never on the HTTP thread) and the submission. Once the
 * runs module accepted the run, run_done completes the call, which may
 * then be freed at any time: c is not touched after that. */
static void run_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    char err[512];
    wf_form form = { 0 };
    wf_plugin plugin = { 0 };
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
    if (!wf_plugin_name_valid(pn->value, pn->value_len, NULL)) {
        run_fail(c, 404, "Plugin '%.100s' not found", pn->value);
        goto out;
    }
    if (atomic_load(&srv->quiescing)) {
        run_fail(c, 503, "The server is shutting down; try again shortly");
        goto out;
    }
    rc = wf_http_db_gate(srv);
    if (rc == 0)
        rc = wf_http_db_note(srv, wf_store_plugin_get(srv->store, pn->value, &plugin));
    if (rc == WF_ENOTFOUND) {
        run_fail(c, 404, "Plugin '%s' not found", pn->value);
        goto out;
    }
    if (rc != 0) {
        run_fail(c, wf_status_for(rc), "%s", wf_detail_for(rc));
        goto out;
    }

    rc = wf_runs_submit(srv->runs, &plugin, in ? in->value : "", in ? in->value_len : 0, run_done, c);
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
out:
    wf_plugin_clear(&plugin);
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
    size_t n = rq->route.param_len < sizeof id - 1 ? rq->route.param_len : sizeof id - 1;
    memcpy(id, rq->route.param, n);
    id[n] = '\0';
    if (!wf_run_id_valid(rq->route.param, rq->route.param_len))
        return wf_reply_error(rq, 404, "Run '%s' not found", id);
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
