/* supervisor.c - the runs supervisor: a bounded queue, MAX_CONCURRENT_RUNS
 * sandboxes at once, one event loop thread for all of them.
 *
 * The loop (epoll) watches every running sandbox's stdout, stderr, bridge
 * and pidfd and every deadline; blocking work (starting a sandbox, AI
 * calls, recording a finished run) goes to a thread pool and comes back as
 * an event. A waiting run costs no thread: only its descriptors.
 *
 * A run's moves: wf_runs_submit queues it; dispatch() starts it
 * (spawn_job); on_started() registers it; handle_msg() serves its AI
 * calls; kill_run() ends it early (timeout, violation, flood, shutdown);
 * on_exit() reaps it; finish() turns it into a result and hands it to
 * finish_job(), which records it and calls the caller back. */
#include "runs/runs.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/utf8.h"
#include "common/wf_error.h"
#include "runs/bridge.h"
#include "runs/policy.h"
#include "runs/pool.h"
#include "runs/run.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

enum { W_WAKE, W_OUT, W_ERR, W_BRIDGE, W_PID };

/* Modules a plugin may not import even where they exist (the native
 * sandbox): ways around the interpreter's own safety. */
static const char *const import_guard[] = {
    "ctypes", "_ctypes", "multiprocessing", "_multiprocessing", "_posixshmem",
    "_xxsubinterpreters", "_testcapi", "_testinternalcapi", "_testbuffer", NULL};

#define CHECK_TIMEOUT_MS 10000
#define TMP_MB 16
#define MAX_FILES 64

typedef struct wf_event {
    struct wf_event *next;
    int type;                 /* EV_STARTED | EV_REPLY */
    wf_run *run;
    int ai_ok;                /* a successful call_ai */
    unsigned char *reply;     /* encoded frame */
    size_t reply_len;
} wf_event;

enum { EV_STARTED = 1, EV_REPLY };

struct wf_runs {
    const wf_config *cfg;
    wf_store *store;
    wf_ollama *ollama;
    wf_sandbox *sb;
    char sb_detail[512];
    char *sdk;                /* SDK_PATH's contents, or NULL: built in */
    size_t max_frame;
    wf_pool *pool;
    double start_ms;
    wf_code_table *codes;     /* one copy of each plugin version's code */
    wf_run_wanted_fn wanted;  /* may drop a run whose caller left */

    pthread_mutex_t mu;       /* guards the fields below */
    pthread_cond_t changed;   /* queued/running/unfinished went down */
    wf_run *q_head, *q_tail;
    int queued;
    int running;              /* started and not yet finished */
    int unfinished;           /* accepted, callback not yet returned */
    int stopping;             /* no new submissions */
    int cut_short;            /* kill what runs, fail what waits */
    int quit;                 /* the loop ends once idle */
    wf_event *ev_head, *ev_tail;

    /* the loop thread's own */
    int epfd, wakefd;
    wf_watch w_wake;
    wf_run *active;
    pthread_t loop;
    int loop_started;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(wf_runs *rs)
{
    uint64_t one = 1;
    ssize_t n = write(rs->wakefd, &one, sizeof one);
    (void)n;
}

static void post_event(wf_runs *rs, wf_event *ev)
{
    pthread_mutex_lock(&rs->mu);
    if (rs->ev_tail)
        rs->ev_tail->next = ev;
    else
        rs->ev_head = ev;
    rs->ev_tail = ev;
    pthread_mutex_unlock(&rs->mu);
    wake(rs);
}

static wf_sandbox_limits run_limits(const wf_config *cfg)
{
    wf_sandbox_limits lim = {
        .memory_mb = cfg->max_memory_mb,
        .cpu_s = cfg->max_execution_time + 1,
        .tmp_mb = TMP_MB,
        .max_files = MAX_FILES,
    };
    return lim;
}

/* ---- replies to the runner ---- */

static int encode_reply(json_t *o, unsigned char **out, size_t *n)
{
    int rc = o ? wf_bridge_encode(o, out, n) : WF_ENOMEM;
    json_decref(o);
    return rc;
}

static int reply_error(const char *cls, const char *msg, unsigned char **out, size_t *n)
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

static void queue_tx(wf_runs *rs, wf_run *r, unsigned char *bytes, size_t n)
{
    if (r->proc.bridge_fd < 0 || r->kill_reason != WF_KILL_NONE) {
        free(bytes);
        return;
    }
    free(r->tx);
    r->tx = bytes;
    r->tx_len = n;
    r->tx_off = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = &r->w_bridge};
    epoll_ctl(rs->epfd, EPOLL_CTL_MOD, r->proc.bridge_fd, &ev);
}

/* ---- pool jobs ---- */

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
                   * and with it the run's slot (see remove_active) */
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
    int64_t left = j->deadline_ms - now_ms();
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
            ev->ai_ok = 1;
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
                         rs->cfg->max_execution_time);
            } else {
                outcome = "error";
                if (rc == 0 || err[0] == '\0')
                    snprintf(err, sizeof err, "AI service error: %s", wf_strerror(rc));
            }
            scrub_address(err, wf_ollama_base_url(rs->ollama));
            reply_error(cls, err, &ev->reply, &ev->reply_len);
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
            reply_error(WF_AI_ERR_UNAVAIL, st.error[0] ? st.error : "AI service unavailable",
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
    post_event(rs, ev);
    free(j);
}

typedef struct start_job {
    wf_runs *rs;
    wf_run *run;
    wf_event *ev; /* allocated by the loop, so the answer cannot fail */
} start_job;

static void start_job_fn(void *arg)
{
    start_job *j = arg;
    wf_runs *rs = j->rs;
    wf_run *r = j->run;
    wf_event *ev = j->ev;
    free(j);
    wf_sandbox_limits lim = run_limits(rs->cfg);
    wf_store_timestamp_now(r->started_at);
    r->t_start_ms = now_ms();
    r->deadline_ms = r->t_start_ms + (int64_t)rs->cfg->max_execution_time * 1000;
    int rc = wf_sandbox_spawn(rs->sb, &lim, &r->proc, r->spawn_err, sizeof r->spawn_err);
    r->spawned = rc == 0;
    if (rc < 0)
        wf_log_error("run %s: the sandbox could not start: %s", r->run_id, r->spawn_err);
    ev->type = EV_STARTED;
    ev->run = r;
    post_event(rs, ev);
}

typedef struct finish_job {
    wf_runs *rs;
    wf_run *run;
    wf_run_outcome out;
} finish_job;

static void finish_job_fn(void *arg)
{
    finish_job *j = arg;
    wf_runs *rs = j->rs;
    wf_run *r = j->run;
    wf_run_result *res = &j->out.res;
    int rc_sync;
    wf_metrics_run_finished(j->out.metric, res->duration_ms);
    if (rs->store != NULL) {
        wf_run_record rec = {
            .run_id = (char *)res->run_id,
            .plugin = (char *)res->plugin,
            .version = res->version,
            .success = res->success,
            .output = (char *)res->output,
            .stdout_text = (char *)res->stdout_text,
            .error = (char *)res->error,
            .error_type = (char *)res->error_type,
            .result_json = (char *)res->result_json,
            .logs = (char *)res->logs,
            .input_data = j->out.input_kept,
            .ai_calls = res->ai_calls,
            .duration_ms = res->duration_ms,
            .started_at = (char *)res->started_at,
        };
        /* Kept before the caller hears of the run (an answered run_id is
         * always found): committed and visible, synced after the answer
         * (the disk's sync was 0.3 ms of a trivial run's 2.9 ms); or, while
         * the database does not take it, journaled (durably) and replayed
         * later. Kept nowhere, the answer carries no run_id and says so. */
        int journaled = 0;
        int rc = wf_store_run_keep(rs->store, &rec, &journaled);
        if (rc < 0) {
            res->record_error = rc == WF_ENOSPC
                ? "The run could not be recorded: the disk is full. It is not in the run history."
                : "The run could not be recorded: the database is unavailable. It is not in the run history.";
            res->run_id = NULL;
        }
    }
    wf_log_info("run %s plugin=%s outcome=%s duration_ms=%lld ai_calls=%d", r->run_id,
                res->plugin, j->out.metric, (long long)res->duration_ms, res->ai_calls);
    if (r->done)
        r->done(r->ctx, res);
    if (rs->store != NULL && (rc_sync = wf_store_sync(rs->store)) < 0)
        wf_log_error("run %s: syncing the store failed: %s", r->run_id, wf_strerror(rc_sync));
    wf_run_outcome_clear(&j->out);
    free(j);
    wf_run_unref(r);
    pthread_mutex_lock(&rs->mu);
    rs->unfinished--;
    pthread_cond_broadcast(&rs->changed);
    pthread_mutex_unlock(&rs->mu);
}

/* ---- the loop ---- */

static void unwatch(wf_runs *rs, int *fd)
{
    if (*fd >= 0) {
        epoll_ctl(rs->epfd, EPOLL_CTL_DEL, *fd, NULL);
        close(*fd);
        *fd = -1;
    }
}

static void kill_run(wf_runs *rs, wf_run *r, enum wf_kill_reason why, const char *detail)
{
    if (r->kill_reason != WF_KILL_NONE || !r->spawned)
        return;
    r->kill_reason = why;
    if (detail) {
        free(r->violation);
        r->violation = strdup(detail);
    }
    if (why == WF_KILL_VIOLATION)
        wf_log_warn("run %s: sandbox violation: %s", r->run_id, detail ? detail : "");
    /* Nothing more is read from the bridge of a run being ended. */
    unwatch(rs, &r->proc.bridge_fd);
    wf_sandbox_kill(rs->sb, &r->proc);
}

static void finish(wf_runs *rs, wf_run *r)
{
    r->finished = 1;
    finish_job *j = calloc(1, sizeof *j);
    if (j == NULL || wf_run_outcome_make(r, rs->cfg, &j->out) < 0) {
        /* Out of memory: the caller still gets its one callback. */
        wf_log_error("run %s: out of memory while finishing it", r->run_id);
        free(j);
        /* Nothing was recorded: no run_id (see wf_run_result). */
        wf_run_result res = {.plugin = r->plugin, .version = r->version,
                             .output = "", .stdout_text = "", .logs = "",
                             .error = "out of memory",
                             .error_type = "runtime_error", .started_at = r->started_at,
                             .record_error = "The run could not be recorded: out of memory"};
        if (r->done)
            r->done(r->ctx, &res);
        wf_run_unref(r);
        pthread_mutex_lock(&rs->mu);
        rs->unfinished--;
        pthread_cond_broadcast(&rs->changed);
        pthread_mutex_unlock(&rs->mu);
        return;
    }
    j->out.res.duration_ms = r->t_start_ms ? now_ms() - r->t_start_ms : 0;
    j->rs = rs;
    j->run = r; /* the loop's reference passes to the job */
    if (wf_pool_submit(rs->pool, finish_job_fn, j) < 0)
        finish_job_fn(j);
}

static void release_slot(wf_runs *rs)
{
    pthread_mutex_lock(&rs->mu);
    rs->running--;
    pthread_cond_broadcast(&rs->changed);
    pthread_mutex_unlock(&rs->mu);
}

static void remove_active(wf_runs *rs, wf_run *r)
{
    for (wf_run **pp = &rs->active; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->next = NULL;
    /* A run that ended with its AI call still out (killed, or a runner
     * that sent the request and left) keeps its slot until the answer is
     * back (take_events). Otherwise every such run would leave a pool
     * thread blocked in the call for up to its deadline, with nothing to
     * bound how many: enough of them and new runs' start jobs wait behind
     * them in the pool. Kept, the slot bounds them as it bounds runs. */
    if (r->ai_pending) {
        r->slot_held = 1;
        return;
    }
    release_slot(rs);
}

static void keep_output(wf_runs *rs, wf_run *r, wf_outbuf *b, const char *data, size_t n)
{
    size_t cap = rs->cfg->max_output_bytes;
    if (b->len < cap) {
        size_t take = n < cap - b->len ? n : cap - b->len;
        /* Grow with the output, not to the cap at once: most runs print
         * little. */
        char *nd = b->data == NULL ? malloc(take < 4096 ? 4096 : take)
                                   : realloc(b->data, b->len + take);
        if (nd != NULL) {
            b->data = nd;
            memcpy(b->data + b->len, data, take);
            b->len += take;
        } else {
            /* Out of memory: what was kept goes (not leaked); the total
             * still counts. */
            free(b->data);
            b->data = NULL;
            b->len = 0;
        }
    }
    b->total += n;
    /* Past the cap the bytes are only counted; a plugin that keeps going
     * long after is stopped rather than left to burn the CPU. */
    if (b->total > cap * 4 + 65536)
        kill_run(rs, r, WF_KILL_FLOOD, NULL);
}

/* Read what a stdout/stderr pipe holds; `all` reads to EOF (after exit). */
static void read_output(wf_runs *rs, wf_run *r, int *fd, wf_outbuf *b, int all)
{
    char buf[65536];
    for (int i = 0; all || i < 8; i++) {
        if (*fd < 0)
            return;
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            keep_output(rs, r, b, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        unwatch(rs, fd); /* EOF or error */
        return;
    }
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
    if (reply_error(WF_AI_ERR_GENERIC, "the host is out of memory", &bytes, &n) == 0)
        queue_tx(rs, r, bytes, n);
}

static void handle_msg(wf_runs *rs, wf_run *r, json_t *frame)
{
    wf_bridge_msg m;
    char err[256];
    if (wf_bridge_msg_parse(frame, &m, err, sizeof err) < 0) {
        kill_run(rs, r, WF_KILL_VIOLATION, err);
        return;
    }
    if (r->done_seen) {
        kill_run(rs, r, WF_KILL_VIOLATION, "a bridge message after the run's end");
        return;
    }
    switch (m.op) {
    case WF_OP_CALL_AI:
    case WF_OP_LIST_MODELS: {
        if (r->ai_pending || r->tx != NULL) {
            kill_run(rs, r, WF_KILL_VIOLATION, "a second bridge request before the answer "
                                               "to the first");
            return;
        }
        if (m.op == WF_OP_CALL_AI) {
            wf_ai_verdict v;
            wf_ai_policy_check(rs->cfg, r->ai_calls, &m, &v);
            /* Failed calls do not count towards the limit (the original's
             * rule), so the requests a run can cause are capped apart. */
            int cap = 2 * rs->cfg->max_ai_calls + 1;
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
                    queue_tx(rs, r, bytes, n);
                return;
            }
            m.options = v.options;
            r->ai_requests++;
            start_ai_job(rs, r, &m);
            json_decref(v.options);
            return;
        }
        start_ai_job(rs, r, &m);
        return;
    }
    case WF_OP_DONE:
        r->done_seen = 1;
        r->done_status = strdup(m.status);
        r->done_error = m.error ? strdup(m.error) : NULL;
        r->result_json = m.result_json ? strdup(m.result_json) : NULL;
        if (r->done_status == NULL)
            kill_run(rs, r, WF_KILL_VIOLATION, "out of memory");
        return;
    default:
        kill_run(rs, r, WF_KILL_VIOLATION, "a bridge message a run does not send");
        return;
    }
}

static void read_bridge(wf_runs *rs, wf_run *r, int all)
{
    unsigned char buf[65536];
    char err[256];
    for (int i = 0; all || i < 8; i++) {
        if (r->proc.bridge_fd < 0)
            return;
        ssize_t n = recv(r->proc.bridge_fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            unwatch(rs, &r->proc.bridge_fd);
            return;
        }
        int rc = wf_bridge_rx_feed(&r->rx, buf, (size_t)n, err, sizeof err);
        json_t *msg;
        while (rc == 0 && (rc = wf_bridge_rx_next(&r->rx, &msg, err, sizeof err)) == 1) {
            handle_msg(rs, r, msg);
            json_decref(msg);
            if (r->kill_reason != WF_KILL_NONE)
                return;
            rc = 0;
        }
        if (rc < 0) {
            kill_run(rs, r, WF_KILL_VIOLATION, err);
            return;
        }
    }
}

static void write_bridge(wf_runs *rs, wf_run *r)
{
    while (r->tx != NULL && r->proc.bridge_fd >= 0) {
        ssize_t n = send(r->proc.bridge_fd, r->tx + r->tx_off, r->tx_len - r->tx_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            /* The runner is gone; its exit will be seen on the pidfd. */
            free(r->tx);
            r->tx = NULL;
            unwatch(rs, &r->proc.bridge_fd);
            return;
        }
        r->tx_off += (size_t)n;
        if (r->tx_off == r->tx_len) {
            free(r->tx);
            r->tx = NULL;
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->w_bridge};
            epoll_ctl(rs->epfd, EPOLL_CTL_MOD, r->proc.bridge_fd, &ev);
        }
    }
}

/* A runner that has sent its last frame and whose descriptors have all
 * ended has nothing more to say: its output is complete and its outcome
 * cannot change. The engine closes them as the process starts to exit, so
 * answering here saves waiting for the kernel to take the process apart.
 * The process is killed (it is leaving anyway; a native plugin that closed
 * its descriptors itself is not let run on) and reaped when it is gone; its
 * slot counts until then. */
static void finish_early(wf_runs *rs, wf_run *r)
{
    if (r->finished || !r->done_seen || r->kill_reason != WF_KILL_NONE ||
        r->proc.out_fd >= 0 || r->proc.err_fd >= 0 || r->proc.bridge_fd >= 0)
        return;
    wf_sandbox_kill(rs->sb, &r->proc);
    r->reap_pending = 1;
    wf_run_ref(r); /* the loop's, until the reap; finish() passes on the other */
    finish(rs, r);
}

static void on_exit_run(wf_runs *rs, wf_run *r)
{
    if (r->reap_pending) {
        r->reap_pending = 0;
        epoll_ctl(rs->epfd, EPOLL_CTL_DEL, r->proc.pidfd, NULL);
        wf_sandbox_reap(rs->sb, &r->proc, &r->exit);
        remove_active(rs, r);
        wf_run_unref(r);
        return;
    }
    /* Everything in the sandbox is gone, so the pipes end: read them out. */
    read_output(rs, r, &r->proc.out_fd, &r->out, 1);
    read_output(rs, r, &r->proc.err_fd, &r->logs, 1);
    if (r->kill_reason == WF_KILL_NONE)
        read_bridge(rs, r, 1);
    unwatch(rs, &r->proc.out_fd);
    unwatch(rs, &r->proc.err_fd);
    unwatch(rs, &r->proc.bridge_fd);
    epoll_ctl(rs->epfd, EPOLL_CTL_DEL, r->proc.pidfd, NULL);
    wf_sandbox_reap(rs->sb, &r->proc, &r->exit);
    remove_active(rs, r);
    finish(rs, r);
}

static int watch(wf_runs *rs, int fd, wf_watch *w, wf_run *r, int kind, uint32_t events)
{
    w->run = r;
    w->kind = kind;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(rs->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static char *run_request(wf_runs *rs, const wf_run *r, size_t *len)
{
    json_t *guard = json_array();
    for (const char *const *g = import_guard; *g; g++)
        json_array_append_new(guard, json_string(*g));
    /* A run forked by a zygote has the built-in SDK executed already (see
     * sandbox.h): its 4 kB of source would only be parsed for nothing. A
     * replacement (SDK_PATH) always travels. */
    const char *sdk = rs->sdk ? rs->sdk
                    : r->proc.sdk_preloaded ? NULL : wf_sdk_platform_sdk_py;
    char *code = wf_utf8_sanitize(r->code, r->code_len, r->code_len, NULL);
    char *input = wf_utf8_sanitize(r->input ? r->input : "", r->input_len, r->input_len, NULL);
    json_t *o = NULL;
    if (code && input)
        o = json_pack("{s:s,s:s,s:s,s:o,s:I}", "op", "run", "code", code, "input", input,
                      "guard", guard, "max_frame", (json_int_t)rs->max_frame);
    else
        json_decref(guard);
    if (o != NULL && sdk != NULL && json_object_set_new(o, "sdk", json_string(sdk)) != 0) {
        json_decref(o);
        o = NULL;
    }
    free(code);
    free(input);
    unsigned char *bytes = NULL;
    if (o == NULL || wf_bridge_encode(o, &bytes, len) < 0)
        bytes = NULL;
    json_decref(o);
    return (char *)bytes;
}

static void on_started(wf_runs *rs, wf_run *r)
{
    if (!r->spawned) {
        release_slot(rs);
        finish(rs, r);
        return;
    }
    r->next = rs->active;
    rs->active = r;
    size_t len = 0;
    char *req = run_request(rs, r, &len);
    if (req == NULL ||
        watch(rs, r->proc.out_fd, &r->w_out, r, W_OUT, EPOLLIN) < 0 ||
        watch(rs, r->proc.err_fd, &r->w_err, r, W_ERR, EPOLLIN) < 0 ||
        watch(rs, r->proc.bridge_fd, &r->w_bridge, r, W_BRIDGE, EPOLLIN) < 0 ||
        watch(rs, r->proc.pidfd, &r->w_pid, r, W_PID, EPOLLIN) < 0) {
        free(req);
        snprintf(r->spawn_err, sizeof r->spawn_err, "registering the run failed");
        wf_log_error("run %s: registering it with the event loop failed", r->run_id);
        wf_sandbox_kill(rs->sb, &r->proc);
        on_exit_run(rs, r); /* reaping a killed process does not wait long */
        return;
    }
    queue_tx(rs, r, (unsigned char *)req, len);
    /* Under the lock: wf_runs_drain sets it from another thread. */
    pthread_mutex_lock(&rs->mu);
    int cut = rs->cut_short;
    pthread_mutex_unlock(&rs->mu);
    if (cut)
        kill_run(rs, r, WF_KILL_SHUTDOWN, NULL);
}

static void dispatch(wf_runs *rs)
{
    for (;;) {
        pthread_mutex_lock(&rs->mu);
        wf_run *r = NULL;
        if (rs->q_head && (rs->cut_short || rs->running < rs->cfg->max_concurrent_runs)) {
            r = rs->q_head;
            rs->q_head = r->next;
            if (rs->q_head == NULL)
                rs->q_tail = NULL;
            rs->queued--;
            if (!rs->cut_short)
                rs->running++;
            pthread_cond_broadcast(&rs->changed);
        }
        int cut = rs->cut_short;
        pthread_mutex_unlock(&rs->mu);
        if (r == NULL)
            return;
        r->next = NULL;
        int abandoned = !cut && rs->wanted != NULL && r->ctx != NULL && !rs->wanted(r->ctx);
        if (abandoned)
            release_slot(rs); /* taken above, never used */
        if (cut || abandoned) {
            /* Never started: recorded as cut short, or as dropped. */
            r->kill_reason = cut ? WF_KILL_SHUTDOWN : WF_KILL_ABANDONED;
            wf_store_timestamp_now(r->started_at);
            finish(rs, r);
            continue;
        }
        start_job *j = calloc(1, sizeof *j);
        wf_event *ev = calloc(1, sizeof *ev);
        if (j == NULL || ev == NULL || (j->rs = rs, j->run = r, j->ev = ev,
                                        wf_pool_submit(rs->pool, start_job_fn, j) < 0)) {
            free(j);
            free(ev);
            snprintf(r->spawn_err, sizeof r->spawn_err, "out of memory");
            on_started(rs, r);
        }
    }
}

static void take_events(wf_runs *rs)
{
    pthread_mutex_lock(&rs->mu);
    wf_event *ev = rs->ev_head;
    rs->ev_head = rs->ev_tail = NULL;
    pthread_mutex_unlock(&rs->mu);
    while (ev) {
        wf_event *next = ev->next;
        wf_run *r = ev->run;
        if (ev->type == EV_STARTED) {
            on_started(rs, r);
        } else {
            r->ai_pending = 0;
            if (r->slot_held) {
                r->slot_held = 0;
                release_slot(rs);
            }
            if (!r->finished && ev->reply) {
                if (ev->ai_ok)
                    r->ai_calls++;
                queue_tx(rs, r, ev->reply, ev->reply_len);
                ev->reply = NULL;
            }
            free(ev->reply);
            wf_run_unref(r);
        }
        free(ev);
        ev = next;
    }
}

static int next_timeout(wf_runs *rs)
{
    int64_t now = now_ms(), best = -1;
    for (wf_run *r = rs->active; r; r = r->next) {
        if (r->kill_reason != WF_KILL_NONE || r->finished)
            continue;
        int64_t left = r->deadline_ms - now;
        if (left < 0)
            left = 0;
        if (best < 0 || left < best)
            best = left;
    }
    return best < 0 ? -1 : (int)(best > 60000 ? 60000 : best);
}

static void check_deadlines(wf_runs *rs)
{
    int64_t now = now_ms();
    int cut;
    pthread_mutex_lock(&rs->mu);
    cut = rs->cut_short;
    pthread_mutex_unlock(&rs->mu);
    for (wf_run *r = rs->active; r; r = r->next) {
        if (r->finished)
            continue; /* answered; its process is on its way out */
        if (cut)
            kill_run(rs, r, WF_KILL_SHUTDOWN, NULL);
        else if (now >= r->deadline_ms)
            kill_run(rs, r, WF_KILL_TIMEOUT, NULL);
    }
}

static void *loop_main(void *arg)
{
    wf_runs *rs = arg;
    struct epoll_event evs[128];
    int kinds[128];
    for (;;) {
        int n = epoll_wait(rs->epfd, evs, 128, next_timeout(rs));
        for (int i = 0; i < n; i++) {
            wf_watch *w = evs[i].data.ptr;
            /* Kept apart from the watch: a run's exit may free it and its
             * watches while later events of the batch still point there. */
            kinds[i] = w->kind;
            if (w->kind == W_WAKE) {
                uint64_t v;
                ssize_t k = read(rs->wakefd, &v, sizeof v);
                (void)k;
                continue;
            }
        }
        /* Events first so that runs started meanwhile are registered. */
        take_events(rs);
        /* Exits last: finishing a run may free it, and other events of this
         * batch can point into it. A run has one exit watch, so the exit
         * pass touches each run once and reads no other watch's memory. */
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < n; i++) {
                if (kinds[i] == W_WAKE || (kinds[i] == W_PID) != (pass == 1))
                    continue;
                wf_watch *w = evs[i].data.ptr;
                wf_run *r = w->run;
                if (r->finished && !(kinds[i] == W_PID && r->reap_pending))
                    continue;
                switch (kinds[i]) {
                case W_OUT:
                    read_output(rs, r, &r->proc.out_fd, &r->out, 0);
                    break;
                case W_ERR:
                    read_output(rs, r, &r->proc.err_fd, &r->logs, 0);
                    break;
                case W_BRIDGE:
                    if (evs[i].events & EPOLLOUT)
                        write_bridge(rs, r);
                    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                        read_bridge(rs, r, 0);
                    break;
                case W_PID:
                    on_exit_run(rs, r);
                    break;
                }
                if (pass == 0)
                    finish_early(rs, r);
            }
        }
        check_deadlines(rs);
        dispatch(rs);
        pthread_mutex_lock(&rs->mu);
        int done = rs->quit && rs->active == NULL && rs->q_head == NULL && rs->running == 0;
        pthread_mutex_unlock(&rs->mu);
        if (done)
            break;
    }
    return NULL;
}

/* ---- the public interface ---- */

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rbe");
    if (f == NULL) {
        wf_errorf(err, errlen, "SDK_PATH: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *nb = cap < (16u << 20) ? realloc(buf, cap * 2 + 1) : NULL;
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                wf_errorf(err, errlen, "SDK_PATH: %s is too large", path);
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int wf_runs_new(const wf_config *cfg, wf_store *store, wf_ollama *ollama, wf_runs **out,
                char *err, size_t errlen)
{
    *out = NULL;
    wf_runs *rs = calloc(1, sizeof *rs);
    if (rs == NULL)
        return WF_ENOMEM;
    rs->cfg = cfg;
    rs->store = store;
    rs->ollama = ollama;
    rs->epfd = rs->wakefd = -1;
    pthread_mutex_init(&rs->mu, NULL);
    pthread_cond_init(&rs->changed, NULL);
    /* Room for a done message carrying a capped result and traceback. */
    rs->max_frame = cfg->max_output_bytes * 2 + (1u << 20);
    int rc;
    if ((rs->codes = wf_code_table_new()) == NULL) {
        rc = WF_ENOMEM;
        goto fail;
    }
    if (cfg->sdk_path && (rs->sdk = read_file(cfg->sdk_path, err, errlen)) == NULL) {
        rc = WF_EINVAL;
        goto fail;
    }
    int threads = cfg->max_concurrent_runs + 8;
    if ((rc = wf_pool_new(threads, &rs->pool)) < 0)
        goto fail;
    rs->epfd = epoll_create1(EPOLL_CLOEXEC);
    rs->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    rs->w_wake.kind = W_WAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &rs->w_wake};
    if (rs->epfd < 0 || rs->wakefd < 0 ||
        epoll_ctl(rs->epfd, EPOLL_CTL_ADD, rs->wakefd, &ev) < 0) {
        wf_errorf(err, errlen, "creating the runs event loop failed: %s", strerror(errno));
        rc = WF_EIO;
        goto fail;
    }

    /* A sandbox that cannot run is not fatal: the server still serves
     * everything else and answers runs with 503, saying why. */
    char why[400] = "";
    if (wf_sandbox_new(cfg, &rs->sb, why, sizeof why) < 0) {
        rs->sb = NULL;
        snprintf(rs->sb_detail, sizeof rs->sb_detail, "unavailable: %s", why);
        wf_log_error("sandbox %s", rs->sb_detail);
    } else {
        snprintf(rs->sb_detail, sizeof rs->sb_detail, "%s", wf_sandbox_describe(rs->sb));
        int line, col;
        char msg[256];
        int64_t t0 = now_ms();
        rc = wf_runs_check_syntax(rs, "pass\n", 5, &line, &col, msg, sizeof msg);
        rs->start_ms = (double)(now_ms() - t0);
        if (rc < 0) {
            wf_log_error("sandbox self-test failed: %s", msg);
            snprintf(rs->sb_detail, sizeof rs->sb_detail, "unavailable: self-test failed: %s",
                     msg);
            wf_sandbox_free(rs->sb);
            rs->sb = NULL;
        }
    }
    if (pthread_create(&rs->loop, NULL, loop_main, rs) != 0) {
        wf_errorf(err, errlen, "starting the runs event loop failed");
        rc = WF_EIO;
        goto fail;
    }
    rs->loop_started = 1;
    *out = rs;
    return 0;
fail:
    wf_runs_free(rs);
    return rc;
}

void wf_runs_drain(wf_runs *rs, int grace_s)
{
    if (rs == NULL)
        return;
    pthread_mutex_lock(&rs->mu);
    rs->stopping = 1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += grace_s > 0 ? grace_s : 0;
    while (rs->unfinished > 0 &&
           pthread_cond_timedwait(&rs->changed, &rs->mu, &until) != ETIMEDOUT)
        ;
    if (rs->unfinished > 0 && rs->loop_started) {
        wf_log_warn("shutting down: cutting short %d runs (%d queued, %d running)",
                    rs->unfinished, rs->queued, rs->running);
        rs->cut_short = 1;
        pthread_mutex_unlock(&rs->mu);
        wake(rs);
        pthread_mutex_lock(&rs->mu);
        /* Killed runs end at once; their callbacks follow. */
        while (rs->unfinished > 0)
            pthread_cond_wait(&rs->changed, &rs->mu);
    }
    pthread_mutex_unlock(&rs->mu);
    /* Every run is answered. AI calls still out belong to runs that are
     * over (cut short, or gone without waiting for the answer) and would
     * hold the exit until Ollama answers or the run's deadline passes. */
    wf_ollama_cancel_all(rs->ollama);
}

void wf_runs_free(wf_runs *rs)
{
    if (rs == NULL)
        return;
    wf_runs_drain(rs, 0);
    pthread_mutex_lock(&rs->mu);
    rs->quit = 1;
    pthread_mutex_unlock(&rs->mu);
    if (rs->loop_started) {
        wake(rs);
        pthread_join(rs->loop, NULL);
    }
    /* AI calls still out (their runs are over): wait for them; they end by
     * their runs' deadlines at the latest. */
    wf_pool_free(rs->pool);
    rs->pool = NULL;
    take_events(rs);
    if (rs->epfd >= 0)
        close(rs->epfd);
    if (rs->wakefd >= 0)
        close(rs->wakefd);
    wf_sandbox_free(rs->sb);
    wf_code_table_free(rs->codes);
    free(rs->sdk);
    pthread_mutex_destroy(&rs->mu);
    pthread_cond_destroy(&rs->changed);
    free(rs);
}

int wf_runs_submit(wf_runs *rs, const wf_plugin *plugin, const char *input, size_t input_len,
                   wf_run_done_fn done, void *ctx)
{
    if (rs->sb == NULL)
        return WF_EUNAVAIL;
    wf_run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return WF_ENOMEM;
    r->refs = 1;
    r->proc.pidfd = r->proc.bridge_fd = r->proc.out_fd = r->proc.err_fd = -1;
    r->plugin = strdup(plugin->name ? plugin->name : "");
    r->version = plugin->version;
    r->code_len = plugin->code ? strlen(plugin->code) : 0;
    r->code_ref = wf_code_acquire(rs->codes, r->plugin ? r->plugin : "", r->version,
                                  plugin->code ? plugin->code : "", r->code_len);
    r->code = r->code_ref ? r->code_ref->data : NULL;
    r->input = malloc(input_len + 1);
    if (r->plugin == NULL || r->code == NULL || r->input == NULL) {
        wf_run_free(r);
        return WF_ENOMEM;
    }
    if (input_len)
        memcpy(r->input, input, input_len);
    r->input[input_len] = '\0';
    r->input_len = input_len;
    r->done = done;
    r->ctx = ctx;
    r->t_submit_ms = now_ms();
    wf_store_uuid4(r->run_id);
    wf_bridge_rx_init(&r->rx, rs->max_frame);

    pthread_mutex_lock(&rs->mu);
    int rc = 0;
    if (rs->stopping)
        rc = WF_EUNAVAIL;
    else if (rs->queued >= rs->cfg->max_queued_runs)
        rc = WF_EFULL;
    if (rc == 0) {
        if (rs->q_tail)
            rs->q_tail->next = r;
        else
            rs->q_head = r;
        rs->q_tail = r;
        rs->queued++;
        rs->unfinished++;
    }
    pthread_mutex_unlock(&rs->mu);
    if (rc < 0) {
        wf_run_free(r);
        return rc;
    }
    wake(rs);
    return 0;
}

void wf_runs_set_wanted(wf_runs *rs, wf_run_wanted_fn wanted)
{
    rs->wanted = wanted;
}

int wf_runs_check_syntax(wf_runs *rs, const char *code, size_t len, int *line, int *col,
                         char *msg, size_t msglen)
{
    *line = *col = 0;
    if (rs->sb == NULL) {
        wf_errorf(msg, msglen, "the sandbox is unavailable");
        return WF_EUNAVAIL;
    }
    wf_sandbox_limits lim = run_limits(rs->cfg);
    lim.cpu_s = CHECK_TIMEOUT_MS / 1000;
    wf_sandbox_proc p;
    char err[256];
    int rc = wf_sandbox_spawn(rs->sb, &lim, &p, err, sizeof err);
    if (rc < 0) {
        wf_errorf(msg, msglen, "the sandbox could not start: %s", err);
        return WF_EUNAVAIL;
    }
    char *clean = wf_utf8_sanitize(code, len, len, NULL);
    json_t *req = clean ? json_pack("{s:s,s:s,s:I}", "op", "check", "code", clean, "max_frame",
                                    (json_int_t)65536)
                        : NULL;
    free(clean);
    unsigned char *tx = NULL;
    size_t tx_len = 0, tx_off = 0;
    if (req == NULL || wf_bridge_encode(req, &tx, &tx_len) < 0) {
        json_decref(req);
        wf_sandbox_kill(rs->sb, &p);
        wf_sandbox_exit st;
        wf_sandbox_reap(rs->sb, &p, &st);
        return WF_ENOMEM;
    }
    json_decref(req);

    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 65536);
    rc = WF_EUNAVAIL;
    wf_errorf(msg, msglen, "the sandbox gave no answer");
    int64_t deadline = now_ms() + CHECK_TIMEOUT_MS;
    int answered = 0;
    while (!answered) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            wf_errorf(msg, msglen, "the syntax check timed out");
            break;
        }
        struct pollfd pf = {.fd = p.bridge_fd,
                            .events = (short)(POLLIN | (tx_off < tx_len ? POLLOUT : 0))};
        int n = poll(&pf, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        if ((pf.revents & POLLOUT) && tx_off < tx_len) {
            ssize_t w = send(p.bridge_fd, tx + tx_off, tx_len - tx_off,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                tx_off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                break;
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            unsigned char buf[4096];
            ssize_t k = recv(p.bridge_fd, buf, sizeof buf, MSG_DONTWAIT);
            if (k < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (k <= 0)
                break;
            json_t *m = NULL;
            char perr[256];
            int fr = wf_bridge_rx_feed(&rx, buf, (size_t)k, perr, sizeof perr);
            if (fr == 0)
                fr = wf_bridge_rx_next(&rx, &m, perr, sizeof perr);
            if (fr < 0) {
                wf_errorf(msg, msglen, "the sandbox broke the protocol: %s", perr);
                break;
            }
            if (fr == 1) {
                wf_bridge_msg bm;
                if (wf_bridge_msg_parse(m, &bm, perr, sizeof perr) == 0 &&
                    bm.op == WF_OP_CHECKED) {
                    answered = 1;
                    if (bm.ok) {
                        rc = 0;
                        if (msglen)
                            msg[0] = '\0';
                    } else {
                        rc = WF_EINVAL;
                        *line = bm.line;
                        *col = bm.col;
                        wf_errorf(msg, msglen, "%s", bm.message);
                    }
                } else {
                    wf_errorf(msg, msglen, "the sandbox answered out of protocol");
                    answered = 1;
                }
                json_decref(m);
            }
        }
    }
    free(tx);
    wf_bridge_rx_clear(&rx);
    wf_sandbox_kill(rs->sb, &p);
    wf_sandbox_exit st;
    wf_sandbox_reap(rs->sb, &p, &st);
    return rc;
}

const char *wf_runs_sandbox_name(const wf_runs *rs)
{
    return rs->cfg->sandbox == WF_SANDBOX_NATIVE ? "native" : "wasm";
}

void wf_runs_get_stats(wf_runs *rs, wf_runs_stats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&rs->mu);
    out->queued = rs->queued;
    out->running = rs->running;
    pthread_mutex_unlock(&rs->mu);
    out->capacity = rs->cfg->max_concurrent_runs;
    out->sandbox_start_ms = rs->start_ms;
    out->sandbox_ok = rs->sb != NULL;
    out->sandbox_detail = rs->sb_detail;
}
