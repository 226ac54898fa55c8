/* run_start.c - a run's start (QUEUED -> STARTING -> RUNNING or
 * START_FAILED, run.h): its sandbox spawned by a pool job, its descriptors
 * watched by the loop, the run request sent to the runner. */
#include "runs/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "common/utf8.h"
#include "embedded.h"
#include "runs/bridge.h"
#include "runs/supervisor_internal.h"
#include "store/store.h"

/* Modules a plugin may not import even where they exist (the native
 * sandbox): ways around the interpreter's own safety. */
static const char *const import_guard[] = {
    "ctypes", "_ctypes", "multiprocessing", "_multiprocessing", "_posixshmem",
    "_xxsubinterpreters", "_testcapi", "_testinternalcapi", "_testbuffer", NULL};

typedef struct start_job {
    wf_runs *rs;
    wf_run *run;
    wf_event *ev; /* allocated by the loop, so the answer cannot fail */
} start_job;

/* The pool job: the run is STARTING, so nothing else touches it. */
static void start_job_fn(void *arg)
{
    start_job *j = arg;
    wf_runs *rs = j->rs;
    wf_run *r = j->run;
    wf_event *ev = j->ev;
    free(j);
    wf_sandbox_limits lim = wf_runs_limits(r->cfg);
    wf_store_timestamp_now(r->started_at);
    r->t_start_ms = wf_runs_now_ms();
    r->deadline_ms = r->t_start_ms + (int64_t)r->cfg->max_execution_time * 1000;
    int rc = wf_sandbox_spawn(rs->sb, &lim, &r->proc, r->spawn_err, sizeof r->spawn_err);
    if (rc < 0)
        wf_log_error("run %s: the sandbox could not start: %s", r->run_id, r->spawn_err);
    ev->type = EV_STARTED;
    ev->run = r;
    ev->ok = rc == 0;
    wf_runs_post_event(rs, ev);
}

void wf_run_start(wf_runs *rs, wf_run *r)
{
    start_job *j = calloc(1, sizeof *j);
    wf_event *ev = calloc(1, sizeof *ev);
    if (j == NULL || ev == NULL || (j->rs = rs, j->run = r, j->ev = ev,
                                    wf_pool_submit(rs->pool, start_job_fn, j) < 0)) {
        free(j);
        free(ev);
        snprintf(r->spawn_err, sizeof r->spawn_err, "out of memory");
        wf_run_on_started(rs, r, 0);
    }
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

void wf_run_on_started(wf_runs *rs, wf_run *r, int spawned)
{
    if (!spawned) {
        wf_runs_release_slot(rs);
        wf_run_move(r, WF_RUN_START_FAILED);
        wf_run_finish(rs, r, WF_RUN_OVER);
        return;
    }
    wf_run_move(r, WF_RUN_RUNNING);
    r->next = rs->active;
    rs->active = r;
    size_t len = 0;
    char *req = run_request(rs, r, &len);
    if (req == NULL ||
        wf_runs_watch(rs, r->proc.out_fd, &r->w_out, r, W_OUT, EPOLLIN) < 0 ||
        wf_runs_watch(rs, r->proc.err_fd, &r->w_err, r, W_ERR, EPOLLIN) < 0 ||
        wf_runs_watch(rs, r->proc.bridge_fd, &r->w_bridge, r, W_BRIDGE, EPOLLIN) < 0 ||
        wf_runs_watch(rs, r->proc.pidfd, &r->w_pid, r, W_PID, EPOLLIN) < 0) {
        free(req);
        wf_log_error("run %s: registering it with the event loop failed", r->run_id);
        wf_sandbox_kill(rs->sb, &r->proc);
        wf_run_on_exit(rs, r); /* reaping a killed process does not wait long */
        return;
    }
    wf_run_queue_tx(rs, r, (unsigned char *)req, len);
    if (wf_runs_cutting_short(rs))
        wf_run_kill(rs, r, WF_KILL_SHUTDOWN, NULL);
    else if (r->cancel_seen) /* cancelled while its sandbox started */
        wf_run_kill(rs, r, WF_KILL_CANCELLED, NULL);
}
