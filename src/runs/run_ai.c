/* run_ai.c - a run's AI calls (call_ai, list_models): the policy's
 * verdict, the pool job that asks Ollama, and its answer back on the loop,
 * which also ends a HELD run's hold on its slot (run.h). */
#include "runs/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "common/utf8.h"
#include "common/wf_error.h"
#include "runs/bridge.h"
#include "runs/policy.h"
#include "runs/supervisor_internal.h"

static int encode_reply(json_t *o, unsigned char **out, size_t *n)
{
    int rc = o ? wf_bridge_encode(o, out, n) : WF_ENOMEM;
    json_decref(o);
    return rc;
}

int wf_run_reply_error(const char *cls, const char *msg, unsigned char **out, size_t *n)
{
    return encode_reply(json_pack("{s:b,s:s,s:s}", "ok", 0, "error", cls, "message", msg),
                        out, n);
}

/* A refusal: the message the plugin sees (the original's text) and, for
 * its logs and the typed error, why. */
static int reply_refusal(const wf_ai_verdict *v, unsigned char **out, size_t *n)
{
    return encode_reply(json_pack("{s:b,s:s,s:s,s:s}", "ok", 0, "error", v->cls, "message",
                                  v->message, "detail", v->detail),
                        out, n);
}

/* Plugins never learn where Ollama is: drop its address from error texts
 * (" at http://host:port" or the bare URL). */
static void scrub_address(char *msg, const char *base_url)
{
    if (base_url == NULL || base_url[0] == '\0')
        return;
    size_t bl = strlen(base_url);
    char *p;
    while ((p = strstr(msg, base_url)) != NULL) {
        char *from = p;
        if (p - msg >= 4 && strncmp(p - 4, " at ", 4) == 0)
            from = p - 4;
        memmove(from, p + bl, strlen(p + bl) + 1);
    }
}

typedef struct ai_job {
    wf_runs *rs;
    wf_run *run;
    wf_event *ev; /* allocated by the loop: the answer always comes back,
                   * and with it a HELD run's slot */
    int op;
    char *model, *prompt, *system;
    json_t *options;
    int64_t deadline_ms;
} ai_job;

static void ai_job_fn(void *arg)
{
    ai_job *j = arg;
    wf_runs *rs = j->rs;
    wf_event *ev = j->ev;
    char err[512] = "";
    int64_t left = j->deadline_ms - wf_runs_now_ms();
    int rc;
    if (j->op == WF_OP_CALL_AI) {
        char *answer = NULL;
        if (left <= 0)
            rc = WF_ETIMEOUT;
        else
            rc = wf_ollama_generate(rs->ollama, j->model, j->prompt, j->system, j->options,
                                    (int)(left > 0x7fffffff ? 0x7fffffff : left), &answer,
                                    err, sizeof err);
        const char *outcome = "ok";
        if (rc == 0 && answer != NULL) {
            /* Ollama's answer may hold anything; only valid UTF-8 goes on. */
            char *clean = wf_utf8_sanitize(answer, strlen(answer), (size_t)-1 / 4, NULL);
            ev->ok = 1;
            encode_reply(json_pack("{s:b,s:s}", "ok", 1, "result", clean ? clean : ""),
                         &ev->reply, &ev->reply_len);
            free(clean);
            free(answer);
        } else {
            free(answer);
            const char *cls = WF_AI_ERR_UNAVAIL;
            if (rc == WF_ETIMEOUT) {
                cls = WF_AI_ERR_TIMEOUT;
                outcome = "timeout";
                snprintf(err, sizeof err, "AI call timed out (the run's %ds limit)",
                         j->run->cfg->max_execution_time);
            } else {
                outcome = "error";
                if (rc == 0 || err[0] == '\0')
                    snprintf(err, sizeof err, "AI service error: %s", wf_strerror(rc));
            }
            scrub_address(err, wf_ollama_base_url(rs->ollama));
            wf_run_reply_error(cls, err, &ev->reply, &ev->reply_len);
        }
        wf_metrics_ai_call(j->model, outcome);
    } else {
        /* From the state the server keeps (ollama.h): this run's request
         * causes at most the one look that state may need. */
        wf_ollama_state st;
        wf_ollama_state_get(rs->ollama, (int)(left < 3000 ? (left > 0 ? left : 0) : 3000), &st);
        if (st.connected) {
            json_t *names = json_array();
            size_t i;
            json_t *m;
            json_array_foreach(st.models, i, m) {
                const char *name = json_string_value(json_object_get(m, "name"));
                if (name && wf_config_model_allowed(rs->cfg, name))
                    json_array_append_new(names, json_string(name));
            }
            encode_reply(json_pack("{s:b,s:o}", "ok", 1, "result", names), &ev->reply,
                         &ev->reply_len);
        } else {
            scrub_address(st.error, wf_ollama_base_url(rs->ollama));
            wf_run_reply_error(WF_AI_ERR_UNAVAIL, st.error[0] ? st.error : "AI service unavailable",
                        &ev->reply, &ev->reply_len);
        }
        wf_ollama_state_clear(&st);
    }
    free(j->model);
    free(j->prompt);
    free(j->system);
    json_decref(j->options);
    /* The event comes back even without a reply (encoding it ran out of
     * memory; the runner then waits to its deadline): it carries the run's
     * reference and, when the run has ended, frees its slot. */
    ev->type = EV_REPLY;
    ev->run = j->run; /* the job's reference passes to the event */
    wf_runs_post_event(rs, ev);
    free(j);
}

static void start_ai_job(wf_runs *rs, wf_run *r, const wf_bridge_msg *m)
{
    ai_job *j = calloc(1, sizeof *j);
    if (j == NULL || (j->ev = calloc(1, sizeof *j->ev)) == NULL)
        goto oom;
    j->rs = rs;
    j->run = r;
    j->op = m->op;
    j->deadline_ms = r->deadline_ms;
    if (m->op == WF_OP_CALL_AI) {
        j->model = strdup(m->model);
        j->prompt = strdup(m->prompt);
        j->system = m->system ? strdup(m->system) : NULL;
        j->options = m->options ? json_incref(m->options) : NULL;
        if (!j->model || !j->prompt || (m->system && !j->system))
            goto oom;
    }
    wf_run_ref(r);
    r->ai_pending = 1;
    if (wf_pool_submit(rs->pool, ai_job_fn, j) < 0) {
        r->ai_pending = 0;
        wf_run_unref(r);
        goto oom;
    }
    return;
oom:
    if (j) {
        free(j->ev);
        free(j->model);
        free(j->prompt);
        free(j->system);
        json_decref(j->options);
        free(j);
    }
    unsigned char *bytes;
    size_t n;
    if (wf_run_reply_error(WF_AI_ERR_GENERIC, "the host is out of memory", &bytes, &n) == 0)
        wf_run_queue_tx(rs, r, bytes, n);
}

void wf_run_ai_request(wf_runs *rs, wf_run *r, const wf_bridge_msg *msg)
{
    wf_bridge_msg m = *msg;
    if (m.op == WF_OP_CALL_AI) {
        wf_ai_verdict v;
        wf_ai_policy_check(r->cfg, r->ai_calls, &m, &v);
        /* Failed calls do not count towards the limit (the original's
         * rule), so the requests a run can cause are capped apart. */
        int cap = 2 * r->cfg->max_ai_calls + 1;
        if (v.cls == NULL && r->ai_requests >= cap) {
            v.cls = WF_AI_ERR_LIMIT;
            snprintf(v.message, sizeof v.message, "AI call limit reached");
            snprintf(v.detail, sizeof v.detail, "this run sent %d requests to the AI "
                     "service, failed ones included: the most a run may send is %d "
                     "(2 x MAX_AI_CALLS_PER_EXECUTION + 1)", r->ai_requests, cap);
        }
        if (v.cls != NULL) {
            json_decref(v.options);
            wf_metrics_ai_call(m.model, "refused");
            unsigned char *bytes;
            size_t n;
            if (reply_refusal(&v, &bytes, &n) == 0)
                wf_run_queue_tx(rs, r, bytes, n);
            return;
        }
        m.options = v.options;
        r->ai_requests++;
        start_ai_job(rs, r, &m);
        json_decref(v.options);
        return;
    }
    start_ai_job(rs, r, &m);
}

void wf_run_ai_replied(wf_runs *rs, wf_event *ev)
{
    wf_run *r = ev->run;
    r->ai_pending = 0;
    if (r->state == WF_RUN_HELD) {
        wf_runs_release_slot(rs);
        wf_run_move(r, WF_RUN_OVER);
    }
    if (!wf_run_answered(r) && ev->reply) {
        if (ev->ok)
            __atomic_add_fetch(&r->ai_calls, 1, __ATOMIC_RELAXED); /* wf_runs_peek */
        wf_run_queue_tx(rs, r, ev->reply, ev->reply_len);
        ev->reply = NULL;
    }
    free(ev->reply);
    free(ev);
    wf_run_unref(r); /* the job's */
}
