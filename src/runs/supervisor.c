/* supervisor.c - the runs supervisor: a bounded queue, MAX_CONCURRENT_RUNS
 * sandboxes at once, one event loop thread for all of them.
 *
 * The loop (epoll) watches every running sandbox's stdout, stderr, bridge
 * and pidfd and every deadline; blocking work (starting a sandbox, AI
 * calls, recording a finished run) goes to a thread pool and comes back as
 * an event. A waiting run costs no thread: only its descriptors.
 *
 * This file is the public interface (runs.h), the queue and the loop; a
 * run's moves through its life (run.h) are made in the files
 * supervisor_internal.h lists, called from here. */
#include "runs/runs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"
#include "runs/bridge.h"
#include "runs/pool.h"
#include "runs/run.h"
#include "runs/supervisor_internal.h"
#include "sandbox/sandbox.h"
#include "store/store.h"

#define TMP_MB 16
#define MAX_FILES 64

static void wake(wf_runs *rs)
{
    uint64_t one = 1;
    ssize_t n = write(rs->wakefd, &one, sizeof one);
    (void)n;
}

void wf_runs_post_event(wf_runs *rs, wf_event *ev)
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

wf_sandbox_limits wf_runs_limits(const wf_config *cfg)
{
    wf_sandbox_limits lim = {
        .memory_mb = cfg->max_memory_mb,
        .cpu_s = cfg->max_execution_time + 1,
        .tmp_mb = TMP_MB,
        .max_files = MAX_FILES,
    };
    return lim;
}

/* ---- the loop ---- */

int wf_runs_watch(wf_runs *rs, int fd, wf_watch *w, wf_run *r, int kind, uint32_t events)
{
    w->run = r;
    w->kind = kind;
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(rs->epfd, EPOLL_CTL_ADD, fd, &ev);
}

void wf_runs_unwatch(wf_runs *rs, int *fd)
{
    if (*fd >= 0) {
        epoll_ctl(rs->epfd, EPOLL_CTL_DEL, *fd, NULL);
        close(*fd);
        *fd = -1;
    }
}

void wf_runs_release_slot(wf_runs *rs)
{
    pthread_mutex_lock(&rs->mu);
    rs->running--;
    pthread_cond_broadcast(&rs->changed);
    pthread_mutex_unlock(&rs->mu);
}

int wf_runs_cutting_short(wf_runs *rs)
{
    /* Under the lock: wf_runs_drain sets it from another thread. */
    pthread_mutex_lock(&rs->mu);
    int cut = rs->cut_short;
    pthread_mutex_unlock(&rs->mu);
    return cut;
}

/* QUEUED runs leave the queue while slots are free: STARTING, or DROPPED
 * (never started) when their client has gone or the server is cutting
 * every run short. */
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
            wf_runs_release_slot(rs); /* taken above, never used */
        if (cut || abandoned) {
            /* Never started: recorded as cut short, or as dropped. */
            r->kill_reason = cut ? WF_KILL_SHUTDOWN : WF_KILL_ABANDONED;
            wf_store_timestamp_now(r->started_at);
            wf_run_move(r, WF_RUN_DROPPED);
            wf_run_finish(rs, r, WF_RUN_OVER);
            continue;
        }
        wf_run_move(r, WF_RUN_STARTING);
        wf_run_start(rs, r);
    }
}

/* A cancel accepted by wf_runs_cancel (EV_CANCEL): a QUEUED run leaves the
 * queue as DROPPED, a live one is killed (ENDING), a STARTING one is
 * killed once it runs (wf_run_on_started); a run past those is ending
 * anyway, and its outcome is cancelled all the same (run->cancelled). */
static void on_cancel(wf_runs *rs, wf_run *r)
{
    r->cancel_seen = 1;
    if (r->state == WF_RUN_QUEUED) {
        /* Only this thread takes runs off the queue: a QUEUED run is on it. */
        pthread_mutex_lock(&rs->mu);
        wf_run *prev = NULL;
        for (wf_run *q = rs->q_head; q; prev = q, q = q->next) {
            if (q != r)
                continue;
            if (prev)
                prev->next = r->next;
            else
                rs->q_head = r->next;
            if (rs->q_tail == r)
                rs->q_tail = prev;
            rs->queued--;
            pthread_cond_broadcast(&rs->changed);
            break;
        }
        pthread_mutex_unlock(&rs->mu);
        r->next = NULL;
        r->kill_reason = WF_KILL_CANCELLED;
        wf_store_timestamp_now(r->started_at);
        wf_run_move(r, WF_RUN_DROPPED);
        wf_run_finish(rs, r, WF_RUN_OVER);
    } else if (wf_run_live(r)) {
        wf_run_kill(rs, r, WF_KILL_CANCELLED, NULL);
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
        if (ev->type == EV_STARTED) {
            wf_run_on_started(rs, ev->run, ev->ok);
            free(ev);
        } else if (ev->type == EV_CANCEL) {
            wf_run *r = ev->run;
            free(ev);
            on_cancel(rs, r);
            wf_run_unref(r); /* the event's */
        } else {
            wf_run_ai_replied(rs, ev);
        }
        ev = next;
    }
}

static int next_timeout(wf_runs *rs)
{
    int64_t now = wf_runs_now_ms(), best = -1;
    for (wf_run *r = rs->active; r; r = r->next) {
        if (!wf_run_live(r))
            continue; /* ending, or answered */
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
    int64_t now = wf_runs_now_ms();
    int cut = wf_runs_cutting_short(rs);
    for (wf_run *r = rs->active; r; r = r->next) {
        if (!wf_run_live(r))
            continue; /* ending already, or answered and on its way out */
        if (cut)
            wf_run_kill(rs, r, WF_KILL_SHUTDOWN, NULL);
        else if (now >= r->deadline_ms)
            wf_run_kill(rs, r, WF_KILL_TIMEOUT, NULL);
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
                /* Answered early (LEAVING): only its exit matters now. */
                if (r->state == WF_RUN_LEAVING && kinds[i] != W_PID)
                    continue;
                switch (kinds[i]) {
                case W_OUT:
                    wf_run_read_output(rs, r, &r->proc.out_fd, &r->out, 0);
                    break;
                case W_ERR:
                    wf_run_read_output(rs, r, &r->proc.err_fd, &r->logs, 0);
                    break;
                case W_BRIDGE:
                    if (evs[i].events & EPOLLOUT)
                        wf_run_write_bridge(rs, r);
                    if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                        wf_run_read_bridge(rs, r, 0);
                    break;
                case W_PID:
                    wf_run_on_exit(rs, r);
                    break;
                }
                if (pass == 0)
                    wf_run_finish_early(rs, r);
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
    pthread_mutex_init(&rs->live_mu, NULL);
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
        int64_t t0 = wf_runs_now_ms();
        rc = wf_runs_check_syntax(rs, "pass\n", 5, &line, &col, msg, sizeof msg);
        rs->start_ms = (double)(wf_runs_now_ms() - t0);
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
    pthread_mutex_destroy(&rs->live_mu);
    pthread_cond_destroy(&rs->changed);
    free(rs);
}

int wf_runs_submit(wf_runs *rs, const wf_plugin *plugin, const char *input, size_t input_len,
                   const wf_run_limits *limits, wf_run_done_fn done, void *ctx,
                   char run_id[WF_RUN_ID_SIZE])
{
    if (rs->sb == NULL)
        return WF_EUNAVAIL;
    wf_run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return WF_ENOMEM;
    r->refs = 1;          /* the loop's */
    /* calloc made it QUEUED (0): queued below, or freed unseen. */
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
    r->cfg = rs->cfg;
    if (limits != NULL) {
        r->own_cfg = *rs->cfg;
        if (limits->timeout_s > 0)
            r->own_cfg.max_execution_time = limits->timeout_s;
        if (limits->memory_mb > 0)
            r->own_cfg.max_memory_mb = limits->memory_mb;
        if (limits->max_ai_calls > 0)
            r->own_cfg.max_ai_calls = limits->max_ai_calls;
        if (limits->max_output_bytes > 0)
            r->own_cfg.max_output_bytes = (size_t)limits->max_output_bytes;
        r->cfg = &r->own_cfg;
        r->limits = *limits;
        r->has_limits = 1;
    }
    r->done = done;
    r->ctx = ctx;
    r->t_submit_ms = wf_runs_now_ms();
    wf_store_uuid4(r->run_id);
    wf_bridge_rx_init(&r->rx, rs->max_frame);

    /* Registered with the queueing, under both locks: a run is never queued
     * (and so never finished, which forgets it) before it is registered. */
    pthread_mutex_lock(&rs->live_mu);
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
    char id[WF_RUN_ID_SIZE];
    if (rc == 0) {
        wf_runs_register_locked(rs, r);
        memcpy(id, r->run_id, sizeof id); /* r may be over once unlocked */
    }
    pthread_mutex_unlock(&rs->live_mu);
    if (rc < 0) {
        wf_run_free(r);
        return rc;
    }
    if (run_id != NULL)
        memcpy(run_id, id, WF_RUN_ID_SIZE);
    wf_log_debug("run %s queued: plugin=%s version=%d", id, plugin->name ? plugin->name : "",
                 plugin->version);
    wake(rs);
    return 0;
}

void wf_runs_set_wanted(wf_runs *rs, wf_run_wanted_fn wanted)
{
    rs->wanted = wanted;
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
