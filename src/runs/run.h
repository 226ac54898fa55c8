/* run.h - one run as the supervisor holds it: its data and its life, a
 * state machine. Shared by the supervisor's files (supervisor_internal.h)
 * and record.c. Internal to the runs module.
 *
 * A run's life. Every move goes through wf_run_move (run_state.c), which
 * assert()s it against the table of allowed moves (wf_run_move_legal).
 * Each arrow names the function that makes the move (supervisor.c,
 * run_start.c, run_io.c, run_ai.c, run_end.c).
 *
 *                            wf_runs_submit
 *                                  |
 *                                  v
 *      DROPPED <-------------- QUEUED
 *   (dispatch: client gone,        |  dispatch: a slot is free
 *    or shutting down)             v
 *         |  START_FAILED <---- STARTING
 *         |  (wf_run_on_started:   |  wf_run_on_started: spawned, watched
 *         |   spawn failed)        v
 *         |       |             RUNNING -------------------+
 *         |       |                |  handle_msg: done     |  wf_run_kill
 *         |       |                v                       v  (timeout, violation,
 *         |       |             REPORTED --wf_run_kill--> ENDING  flood, shutdown)
 *         |       |              |     |                   |
 *         |       |              |     | wf_run_on_exit    | wf_run_on_exit
 *         |       |              |     v (RUNNING too)     | (reaped)
 *         |       | finish_early |   EXITED <--------------+
 *         |       | (answered)   |     |
 *         |       |              v     | wf_run_finish (answered)
 *         |       |           LEAVING  |
 *         |       |              |     |
 *         |       | wf_run_on_exit     |
 *         |       |   (reaped)   v     v
 *         |       |         an AI job still out? --yes--> HELD
 *         |       |                    | no                 | wf_run_ai_replied:
 *         v       v                    v                    | its answer is back
 *         +-------+--------------->  OVER <-----------------+
 *           wf_run_finish (answered)
 *
 *   QUEUED        in the queue; holds no slot (MAX_CONCURRENT_RUNS).
 *   STARTING      holds a slot; a pool job spawns its sandbox.
 *   RUNNING       its sandbox runs; the loop watches its stdout, stderr,
 *                 bridge, pidfd and deadline, and serves its AI calls.
 *   REPORTED      the runner sent its done message (done_status...): any
 *                 later bridge message is a violation; the run waits for its
 *                 descriptors to close or its process to exit.
 *   ENDING        the supervisor killed it (kill_reason says why); its
 *                 outcome's type is fixed; it waits for the process to exit.
 *   EXITED        its process is reaped and off the loop's list; its result
 *                 is being made (a step inside wf_run_on_exit).
 *   DROPPED       never started: its client had gone (WF_KILL_ABANDONED) or
 *                 the server was shutting down (WF_KILL_SHUTDOWN).
 *   START_FAILED  its sandbox could not start (spawn_err says why).
 *   LEAVING       answered early (the runner reported and closed every
 *                 descriptor): its process is killed and the loop waits to
 *                 reap it; its slot counts until then.
 *   HELD          answered and reaped, but an AI job still holds it: its
 *                 slot is kept until the job's answer is back, so the
 *                 pool threads blocked in AI calls stay bounded by slots.
 *   OVER          the loop is done with it; freed when the last reference
 *                 (the finish job's, an AI job's) goes.
 * "Answered" means the result went to the finish job (record, callback):
 * from DROPPED, START_FAILED, EXITED (then HELD or OVER) or on entering
 * LEAVING. Every run is answered exactly once.
 *
 * Cancel (wf_runs_cancel) ends a QUEUED run as DROPPED (WF_KILL_CANCELLED)
 * and a RUNNING or REPORTED one through ENDING; a STARTING one is killed
 * as soon as it is RUNNING; an AI call in flight leaves the run HELD, as
 * any run's. The outcome is "cancelled" when the cancel took the runs'
 * live_mu before wf_run_finish fixed the outcome (run->cancelled), and
 * whatever the run's own end made it otherwise (the cancel is then a 409).
 * What the next features build on: live events are wf_run_move's calls (each
 * move is one event: the hook belongs there); a queue shared by servers
 * hands out QUEUED runs, and STARTING is the move by which one server
 * claims a run.
 *
 * Ownership: every string is owned by the run and freed by wf_run_free.
 * Threads: once queued, a run's state is moved by the event loop thread
 * only; pool jobs get copies or hand their results back to the loop (the
 * start job fills proc, spawn_err and the times while the run is STARTING;
 * the finish job reads the outcome made before it). */
#ifndef WF_RUNS_RUN_H
#define WF_RUNS_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "runs/bridge.h"
#include "runs/code_share.h"
#include "runs/runs.h"
#include "sandbox/sandbox.h"

/* Where a run is in its life (the diagram above). */
enum wf_run_state {
    WF_RUN_QUEUED = 0,
    WF_RUN_STARTING,
    WF_RUN_RUNNING,
    WF_RUN_REPORTED,
    WF_RUN_ENDING,
    WF_RUN_EXITED,
    WF_RUN_DROPPED,
    WF_RUN_START_FAILED,
    WF_RUN_LEAVING,
    WF_RUN_HELD,
    WF_RUN_OVER,
    WF_RUN_STATES             /* how many */
};

/* Why the supervisor ended a run before the plugin did (ENDING), or why it
 * never started (DROPPED). */
enum wf_kill_reason {
    WF_KILL_NONE = 0,
    WF_KILL_TIMEOUT,
    WF_KILL_VIOLATION,
    WF_KILL_FLOOD,
    WF_KILL_SHUTDOWN,
    WF_KILL_ABANDONED,       /* never started: its client had gone */
    WF_KILL_CANCELLED,       /* wf_runs_cancel: DROPPED while queued, else
                              * through ENDING */
};

typedef struct wf_outbuf {
    char *data;
    size_t len;    /* bytes kept (<= cap) */
    size_t total;  /* bytes the plugin wrote */
} wf_outbuf;

typedef struct wf_run wf_run;

/* An epoll registration: which run and which of its descriptors. */
typedef struct wf_watch {
    wf_run *run;
    int kind;
} wf_watch;

struct wf_run {
    wf_run *next;            /* queue or active list */
    wf_run *live_next;       /* the registry's bucket (wf_runs.live) */
    int refs;                /* the loop's, plus one per pool job holding it */
    char run_id[40];
    char started_at[32];
    char *plugin;
    int version;
    const char *code;        /* code_ref's bytes: shared by the runs of one
                              * plugin version */
    size_t code_len;
    wf_code *code_ref;
    char *input;
    size_t input_len;
    /* The configuration the run runs under: the server's, or own_cfg (a
     * copy with the run's own lower limits; its strings are the server's,
     * which outlive every run). */
    const wf_config *cfg;
    wf_config own_cfg;
    wf_run_limits limits;     /* as given (0: the server's) */
    int has_limits;
    wf_run_done_fn done;
    void *ctx;

    int64_t t_submit_ms, t_start_ms, deadline_ms; /* monotonic */
    enum wf_run_state state; /* moved by wf_run_move only */
    wf_sandbox_proc proc;
    char spawn_err[256];
    wf_watch w_out, w_err, w_bridge, w_pid;

    wf_outbuf out, logs;
    wf_bridge_rx rx;
    unsigned char *tx;       /* bytes waiting to go to the runner */
    size_t tx_len, tx_off;

    int ai_pending;          /* an AI job holds this run: not a state of its
                              * own, for it runs beside RUNNING and
                              * REPORTED (and ENDING, LEAVING); once the
                              * run is answered and reaped it is HELD */
    int ai_calls;            /* successful calls */
    int ai_requests;         /* calls sent to Ollama, failed ones too */
    char *done_status;       /* the done message's (REPORTED): NULL until
                              * one came */
    char *done_error;
    char *result_json;
    enum wf_kill_reason kill_reason;
    /* Cancel (wf_runs_cancel) against the run's end, under the runs'
     * live_mu: whichever takes the lock first decides the outcome. */
    int cancelled;           /* asked before the outcome was fixed: the run
                              * is recorded as cancelled */
    int outcome_fixed;       /* wf_run_finish is making the result: too late
                              * to cancel */
    int cancel_seen;         /* the loop's: the cancel event came (a STARTING
                              * run is killed once it runs) */
    char *violation;
    wf_sandbox_exit exit;
};

void wf_run_free(wf_run *r);

/* 1 when the table allows a run in state `from` to move to `to`. */
int wf_run_move_legal(enum wf_run_state from, enum wf_run_state to);

/* Move r to `to`: the one function that changes r->state. A move the table
 * does not allow is a bug in the supervisor: assert()ed (on in every
 * build). The event loop thread only. */
void wf_run_move(wf_run *r, enum wf_run_state to);

/* The state's name in lower case ("queued", ...); "?" for no state. */
const char *wf_run_state_name(enum wf_run_state s);

/* 1 once the run's result went to the finish job (LEAVING, HELD, OVER). */
static inline int wf_run_answered(const wf_run *r)
{
    return r->state == WF_RUN_LEAVING || r->state == WF_RUN_HELD || r->state == WF_RUN_OVER;
}

/* 1 while the plugin may still act: its sandbox runs and nothing ended it
 * (RUNNING, REPORTED). Only such a run can be killed or time out. */
static inline int wf_run_live(const wf_run *r)
{
    return r->state == WF_RUN_RUNNING || r->state == WF_RUN_REPORTED;
}

static inline void wf_run_ref(wf_run *r) { __atomic_add_fetch(&r->refs, 1, __ATOMIC_SEQ_CST); }
static inline void wf_run_unref(wf_run *r)
{
    if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_SEQ_CST) == 0)
        wf_run_free(r);
}

/* Fill a run result from a finished run (strings point into the run and
 * into `scratch` buffers allocated here: free with wf_run_result_release). */
typedef struct wf_run_outcome {
    wf_run_result res;
    char *stdout_text, *output, *logs, *error;
    char *input_kept;
    const char *metric;      /* "ok" or the error type */
} wf_run_outcome;

int wf_run_outcome_make(const wf_run *r, const wf_config *cfg, wf_run_outcome *o);

void wf_run_outcome_clear(wf_run_outcome *o);

/* The run's `output` made from its stdout s (valid UTF-8) as the original
 * made it: every line (ended by \n, \r\n or \r) stripped of the
 * characters Python's str.strip() removes (str.isspace(): ASCII \t \n \v
 * \f \r, \x1c-\x1f and space, and the Unicode ones: U+0085, U+00A0,
 * U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000), blank
 * lines dropped, the rest joined by \n (no newline at the end). Malloc'd;
 * NULL when out of memory. */
char *wf_run_output_shape(const char *s);

#endif
