/* run_end.c - a run's end (run.h): killed early (-> ENDING), reaped
 * (-> EXITED), answered early (-> LEAVING), off the loop with or without
 * its slot (-> HELD or OVER); its result made, recorded and handed to its
 * caller by a pool job. */
#include "runs/run.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/wf_error.h"
#include "runs/supervisor_internal.h"
#include "store/store.h"

/* A run's callback has returned: wf_runs_drain may be waiting for it. */
static void callback_returned(wf_runs *rs)
{
    pthread_mutex_lock(&rs->mu);
    rs->unfinished--;
    pthread_cond_broadcast(&rs->changed);
    pthread_mutex_unlock(&rs->mu);
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
        char *limits = NULL;
        if (res->has_limits) {
            json_t *lj = json_pack("{s:i, s:i, s:i, s:I}", "timeout_s", res->lim_timeout_s,
                                   "memory_mb", res->lim_memory_mb, "max_ai_calls",
                                   res->lim_max_ai_calls, "max_output_bytes",
                                   (json_int_t)res->lim_max_output_bytes);
            limits = lj ? json_dumps(lj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            json_decref(lj);
        }
        rec.limits_json = limits;
        int journaled = 0;
        int rc = wf_store_run_keep(rs->store, &rec, &journaled);
        free(limits);
        if (rc < 0) {
            res->record_error = rc == WF_ENOSPC
                ? "The run could not be recorded: the disk is full. It is not in the run history."
                : "The run could not be recorded: the database is unavailable. It is not in the run history.";
            res->run_id = NULL;
        }
    }
    /* Found in the store (or nowhere) from now on. */
    wf_runs_forget(rs, r);
    wf_log_info("run %s plugin=%s outcome=%s duration_ms=%lld ai_calls=%d", r->run_id,
                res->plugin, j->out.metric, (long long)res->duration_ms, res->ai_calls);
    if (r->done)
        r->done(r->ctx, res);
    if (rs->store != NULL && (rc_sync = wf_store_sync(rs->store)) < 0)
        wf_log_error("run %s: syncing the store failed: %s", r->run_id, wf_strerror(rc_sync));
    wf_run_outcome_clear(&j->out);
    free(j);
    wf_run_unref(r);
    callback_returned(rs);
}

void wf_run_kill(wf_runs *rs, wf_run *r, enum wf_kill_reason why, const char *detail)
{
    if (!wf_run_live(r))
        return;
    wf_run_move(r, WF_RUN_ENDING);
    r->kill_reason = why;
    if (detail) {
        free(r->violation);
        r->violation = strdup(detail);
    }
    if (why == WF_KILL_VIOLATION)
        wf_log_warn("run %s: sandbox violation: %s", r->run_id, detail ? detail : "");
    /* Nothing more is read from the bridge of a run being ended. */
    wf_runs_unwatch(rs, &r->proc.bridge_fd);
    wf_sandbox_kill(rs->sb, &r->proc);
}

void wf_run_finish(wf_runs *rs, wf_run *r, enum wf_run_state then)
{
    /* The outcome is fixed here: a cancel that came first makes it
     * cancelled, one that comes later is refused (wf_runs_cancel). */
    pthread_mutex_lock(&rs->live_mu);
    r->outcome_fixed = 1;
    if (r->cancelled)
        r->kill_reason = WF_KILL_CANCELLED;
    pthread_mutex_unlock(&rs->live_mu);
    finish_job *j = calloc(1, sizeof *j);
    if (j == NULL || wf_run_outcome_make(r, r->cfg, &j->out) < 0) {
        /* Out of memory: the caller still gets its one callback. */
        wf_log_error("run %s: out of memory while finishing it", r->run_id);
        free(j);
        /* Nothing was recorded: no run_id (see wf_run_result). */
        wf_run_result res = {.plugin = r->plugin, .version = r->version,
                             .output = "", .stdout_text = "", .logs = "",
                             .error = "out of memory",
                             .error_type = "runtime_error", .started_at = r->started_at,
                             .record_error = "The run could not be recorded: out of memory"};
        wf_run_move(r, then);
        wf_runs_forget(rs, r);
        if (r->done)
            r->done(r->ctx, &res);
        wf_run_unref(r);
        callback_returned(rs);
        return;
    }
    /* The result is made (from the state it was made in: START_FAILED
     * says so); after the move, the job may free the run at any time. */
    wf_run_move(r, then);
    j->out.res.duration_ms = r->t_start_ms ? wf_runs_now_ms() - r->t_start_ms : 0;
    j->rs = rs;
    j->run = r; /* the loop's reference passes to the job */
    if (wf_pool_submit(rs->pool, finish_job_fn, j) < 0)
        finish_job_fn(j);
}

/* Off the loop's list, reaped: the slot goes back, unless an AI job still
 * holds the run (HELD, until its answer is back: wf_run_ai_replied).
 * Otherwise every such run would leave a pool thread blocked in the call
 * for up to its deadline, with nothing to bound how many: enough of them
 * and new runs' start jobs wait behind them in the pool. Kept, the slot
 * bounds them as it bounds runs. Returns the state to move to. */
static enum wf_run_state leave_loop(wf_runs *rs, wf_run *r)
{
    for (wf_run **pp = &rs->active; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->next = NULL;
    if (r->ai_pending)
        return WF_RUN_HELD;
    wf_runs_release_slot(rs);
    return WF_RUN_OVER;
}

/* A runner that has sent its last frame and whose descriptors have all
 * ended has nothing more to say: its output is complete and its outcome
 * cannot change. The engine closes them as the process starts to exit, so
 * answering here saves waiting for the kernel to take the process apart.
 * The process is killed (it is leaving anyway; a native plugin that closed
 * its descriptors itself is not let run on) and reaped when it is gone; its
 * slot counts until then. */
void wf_run_finish_early(wf_runs *rs, wf_run *r)
{
    if (r->state != WF_RUN_REPORTED || r->proc.out_fd >= 0 || r->proc.err_fd >= 0 ||
        r->proc.bridge_fd >= 0)
        return;
    wf_sandbox_kill(rs->sb, &r->proc);
    wf_run_ref(r); /* the loop's, until the reap; wf_run_finish passes on the other */
    wf_run_finish(rs, r, WF_RUN_LEAVING);
}

void wf_run_on_exit(wf_runs *rs, wf_run *r)
{
    if (r->state == WF_RUN_LEAVING) {
        epoll_ctl(rs->epfd, EPOLL_CTL_DEL, r->proc.pidfd, NULL);
        wf_sandbox_reap(rs->sb, &r->proc, &r->exit);
        wf_run_move(r, leave_loop(rs, r));
        wf_run_unref(r);
        return;
    }
    /* Everything in the sandbox is gone, so the pipes end: read them out. */
    wf_run_read_output(rs, r, &r->proc.out_fd, &r->out, 1);
    wf_run_read_output(rs, r, &r->proc.err_fd, &r->logs, 1);
    if (wf_run_live(r))
        wf_run_read_bridge(rs, r, 1);
    wf_runs_unwatch(rs, &r->proc.out_fd);
    wf_runs_unwatch(rs, &r->proc.err_fd);
    wf_runs_unwatch(rs, &r->proc.bridge_fd);
    epoll_ctl(rs->epfd, EPOLL_CTL_DEL, r->proc.pidfd, NULL);
    wf_sandbox_reap(rs->sb, &r->proc, &r->exit);
    wf_run_move(r, WF_RUN_EXITED);
    wf_run_finish(rs, r, leave_loop(rs, r));
}
