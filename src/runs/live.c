/* live.c - the registry of live runs by id (supervisor_internal.h): what
 * GET /api/runs/{id} shows of a run that is not over yet, and the cancel;
 * and a run's own limits (POST /api/runs "limits").
 *
 * A run enters at submission (wf_runs_submit, before its id is handed
 * out) and leaves once its record is kept (the finish job), so an id is
 * found here or in the store, with no moment between. Other threads get
 * copies made under live_mu, never pointers into a run. */
#include "runs/run.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "common/utf8.h"
#include "common/wf_error.h"
#include "runs/supervisor_internal.h"

static unsigned bucket_of(const char *id)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % WF_LIVE_BUCKETS;
}

/* Under live_mu. */
void wf_runs_register_locked(wf_runs *rs, wf_run *r)
{
    unsigned b = bucket_of(r->run_id);
    r->live_next = rs->live[b];
    rs->live[b] = r;
}

void wf_runs_forget(wf_runs *rs, wf_run *r)
{
    pthread_mutex_lock(&rs->live_mu);
    for (wf_run **pp = &rs->live[bucket_of(r->run_id)]; *pp; pp = &(*pp)->live_next)
        if (*pp == r) {
            *pp = r->live_next;
            break;
        }
    r->live_next = NULL;
    pthread_mutex_unlock(&rs->live_mu);
}

/* Under live_mu. */
static wf_run *find_locked(wf_runs *rs, const char *id)
{
    for (wf_run *r = rs->live[bucket_of(id)]; r; r = r->live_next)
        if (strcmp(r->run_id, id) == 0)
            return r;
    return NULL;
}

static char *copy_buf(const wf_outbuf *b)
{
    char *s = malloc(b->len + 1);
    if (s != NULL) {
        if (b->len)
            memcpy(s, b->data, b->len);
        s[b->len] = '\0';
    }
    return s;
}

/* Under live_mu: the raw copy (bytes as written; made valid UTF-8 after
 * the lock, by view_finish). */
static int view_copy_locked(const wf_run *r, wf_run_view *v, size_t *out_len, size_t *log_len)
{
    memset(v, 0, sizeof *v);
    memcpy(v->run_id, r->run_id, sizeof v->run_id);
    enum wf_run_state st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
    v->state = st == WF_RUN_QUEUED ? "queued" : "running";
    /* Written by the start job while STARTING; set for good after. */
    if (st != WF_RUN_QUEUED && st != WF_RUN_STARTING)
        memcpy(v->started_at, r->started_at, sizeof v->started_at);
    v->version = r->version;
    v->ai_calls = __atomic_load_n(&r->ai_calls, __ATOMIC_RELAXED);
    v->cancel_requested = r->cancelled;
    v->limits = r->limits;
    v->has_limits = r->has_limits;
    v->plugin = strdup(r->plugin ? r->plugin : "");
    v->stdout_text = copy_buf(&r->out);
    v->logs = copy_buf(&r->logs);
    *out_len = r->out.len;
    *log_len = r->logs.len;
    return v->plugin && v->stdout_text && v->logs ? 0 : WF_ENOMEM;
}

/* Output cut mid-character by the cap or by the moment of the copy gets
 * U+FFFD there: a view is always valid UTF-8. */
static int sanitize(char **s, size_t len)
{
    if (wf_utf8_valid(*s, len))
        return 0;
    char *t = wf_utf8_sanitize(*s, len, len, NULL);
    if (t == NULL)
        return WF_ENOMEM;
    free(*s);
    *s = t;
    return 0;
}

static int view_finish(wf_run_view *v, int rc, size_t out_len, size_t log_len)
{
    if (rc == 0)
        rc = sanitize(&v->stdout_text, out_len);
    if (rc == 0)
        rc = sanitize(&v->logs, log_len);
    if (rc < 0)
        wf_run_view_clear(v);
    return rc;
}

int wf_runs_peek(wf_runs *rs, const char *run_id, wf_run_view *out)
{
    memset(out, 0, sizeof *out);
    size_t ol = 0, ll = 0;
    pthread_mutex_lock(&rs->live_mu);
    wf_run *r = find_locked(rs, run_id);
    int rc = r ? view_copy_locked(r, out, &ol, &ll) : WF_ENOTFOUND;
    pthread_mutex_unlock(&rs->live_mu);
    if (rc == WF_ENOTFOUND)
        return rc;
    return view_finish(out, rc, ol, ll);
}

int wf_runs_cancel(wf_runs *rs, const char *run_id, wf_run_view *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    /* Allocated first: once the run is marked, the loop must hear of it. */
    wf_event *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        return WF_ENOMEM;
    size_t ol = 0, ll = 0;
    int vrc = 0, post = 0;
    pthread_mutex_lock(&rs->live_mu);
    wf_run *r = find_locked(rs, run_id);
    int rc = r == NULL ? WF_ENOTFOUND : r->outcome_fixed ? WF_ECONFLICT : 0;
    if (rc == 0 && !r->cancelled) {
        r->cancelled = 1;
        wf_run_ref(r); /* the event's */
        post = 1;
    }
    if (rc == 0 && out)
        vrc = view_copy_locked(r, out, &ol, &ll);
    pthread_mutex_unlock(&rs->live_mu);
    if (post) {
        ev->type = EV_CANCEL;
        ev->run = r;
        wf_runs_post_event(rs, ev);
    } else {
        free(ev);
    }
    if (rc == 0 && out)
        return view_finish(out, vrc, ol, ll) < 0 ? WF_ENOMEM : 0;
    return rc;
}

void wf_run_view_clear(wf_run_view *v)
{
    free(v->plugin);
    free(v->stdout_text);
    free(v->logs);
    memset(v, 0, sizeof *v);
}

json_t *wf_run_view_json(const wf_config *cfg, const wf_run_view *v)
{
    json_t *j = json_pack("{s:s, s:s, s:s?, s:i, s:s?, s:s, s:s, s:i}",
                          "run_id", v->run_id,
                          "state", v->state ? v->state : "queued",
                          "plugin", v->plugin,
                          "version", v->version,
                          "started_at", v->started_at[0] ? v->started_at : NULL,
                          "stdout", v->stdout_text ? v->stdout_text : "",
                          "logs", v->logs ? v->logs : "",
                          "ai_calls", v->ai_calls);
    if (j != NULL && v->cancel_requested &&
        json_object_set_new(j, "cancel_requested", json_true()) != 0) {
        json_decref(j);
        return NULL;
    }
    json_t *lim = v->has_limits ? wf_run_limits_json(cfg, &v->limits) : NULL;
    if (j != NULL && v->has_limits && (lim == NULL || json_object_set_new(j, "limits", lim) != 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* ---- a run's own limits ---- */

int wf_run_limits_check(const wf_config *cfg, const wf_run_limits *lim, char *err, size_t errlen)
{
    struct { const char *key; long long value, max; } k[] = {
        {"timeout_s", lim->timeout_s, cfg->max_execution_time},
        {"memory_mb", lim->memory_mb, cfg->max_memory_mb},
        {"max_ai_calls", lim->max_ai_calls, cfg->max_ai_calls},
        {"max_output_bytes", lim->max_output_bytes, (long long)cfg->max_output_bytes},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (k[i].value < 0 || k[i].value > k[i].max) {
            snprintf(err, errlen, "limits.%s must be an integer from 1 to %lld (the server's "
                     "maximum); it may lower the server's limit, never raise it",
                     k[i].key, k[i].max);
            return WF_EINVAL;
        }
    }
    return 0;
}

json_t *wf_run_limits_json(const wf_config *cfg, const wf_run_limits *lim)
{
    return json_pack("{s:i, s:i, s:i, s:I}",
                     "timeout_s", lim->timeout_s > 0 ? lim->timeout_s : cfg->max_execution_time,
                     "memory_mb", lim->memory_mb > 0 ? lim->memory_mb : cfg->max_memory_mb,
                     "max_ai_calls", lim->max_ai_calls > 0 ? lim->max_ai_calls
                                                           : cfg->max_ai_calls,
                     "max_output_bytes", (json_int_t)(lim->max_output_bytes > 0
                                                      ? lim->max_output_bytes
                                                      : (long long)cfg->max_output_bytes));
}
