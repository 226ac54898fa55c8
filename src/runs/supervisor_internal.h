/* supervisor_internal.h - what the supervisor's files share, and nothing
 * outside them includes. The supervisor is one object (struct wf_runs) cut
 * along a run's life (run.h) into files with one job each:
 *
 *   supervisor.c    the public interface (runs.h), the queue, the event
 *                   loop thread and its events, the slots
 *   run_start.c     QUEUED -> STARTING -> RUNNING: spawning a sandbox in a
 *                   pool job, the run request, watching its descriptors
 *   run_io.c        RUNNING -> REPORTED: its stdout, stderr and bridge, the
 *                   messages the runner sends
 *   run_ai.c        its AI calls: the policy, the pool jobs, their answers
 *                   (and HELD -> OVER)
 *   run_end.c       -> ENDING -> EXITED / LEAVING -> HELD / OVER: killing,
 *                   reaping, the result, recording it, the callback
 *   live.c          the registry of live runs by id: wf_runs_peek and
 *                   wf_runs_cancel (the cancel's moves are on the loop:
 *                   supervisor.c, run_start.c)
 *   check_syntax.c  wf_runs_check_syntax: a sandbox of its own, with a
 *                   small synchronous bridge client (no loop, no run)
 *
 * They share the struct rather than each hiding its part behind accessors:
 * every file works on the loop thread with the same run and the same
 * descriptors, and the locking rule below is one rule for all of them. */
#ifndef WF_RUNS_SUPERVISOR_INTERNAL_H
#define WF_RUNS_SUPERVISOR_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runs/policy.h"
#include "runs/pool.h"
#include "runs/run.h"
#include "runs/runs.h"
#include "sandbox/sandbox.h"

/* What an epoll registration is (wf_watch.kind). */
enum { W_WAKE, W_OUT, W_ERR, W_BRIDGE, W_PID };

/* A pool job's answer to the loop. Allocated by the loop before the job is
 * submitted, so that the answer itself cannot fail. */
typedef struct wf_event {
    struct wf_event *next;
    int type;                 /* EV_STARTED | EV_REPLY */
    wf_run *run;
    int ok;                   /* EV_STARTED: the sandbox started;
                               * EV_REPLY: a successful call_ai */
    unsigned char *reply;     /* EV_REPLY: the encoded frame, or NULL */
    size_t reply_len;
} wf_event;

enum { EV_STARTED = 1, EV_REPLY, EV_CANCEL };

/* Buckets of the registry of live runs (by run id). */
#define WF_LIVE_BUCKETS 256

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
    int running;              /* slots taken: from STARTING to the reap
                               * (or to HELD's end) */
    int unfinished;           /* accepted, callback not yet returned */
    int stopping;             /* no new submissions */
    int cut_short;            /* kill what runs, fail what waits */
    int quit;                 /* the loop ends once idle */
    wf_event *ev_head, *ev_tail;

    /* The registry of live runs by id, from submission until the run's
     * record is kept (wf_runs_peek, wf_runs_cancel), and what other
     * threads read of a run: its out and logs buffers (written under it),
     * its cancelled and outcome_fixed flags. Taken before mu when both
     * are held (submission), never after. */
    pthread_mutex_t live_mu;
    wf_run *live[WF_LIVE_BUCKETS];

    /* the loop thread's own */
    int epfd, wakefd;
    wf_watch w_wake;
    wf_run *active;           /* RUNNING, REPORTED, ENDING, LEAVING */
    pthread_t loop;
    int loop_started;
};

static inline int64_t wf_runs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- supervisor.c: the loop ---- */

/* Hand a pool job's event to the loop (any thread). */
void wf_runs_post_event(wf_runs *rs, wf_event *ev);
/* Watch fd for the loop as r's `kind` (W_OUT...): 0, or -1 (errno). */
int wf_runs_watch(wf_runs *rs, int fd, wf_watch *w, wf_run *r, int kind, uint32_t events);
/* Stop watching *fd, close it, set it to -1 (nothing when already -1). */
void wf_runs_unwatch(wf_runs *rs, int *fd);
/* A slot is free again (any state's end that held one). */
void wf_runs_release_slot(wf_runs *rs);
/* 1 once wf_runs_drain cuts the remaining runs short (takes the lock). */
int wf_runs_cutting_short(wf_runs *rs);
/* ---- live.c: the registry of live runs ---- */

/* Enter r in the registry (under live_mu). */
void wf_runs_register_locked(wf_runs *rs, wf_run *r);
/* Forget r in the registry of live runs (its record is kept, or it never
 * will be). Any thread. */
void wf_runs_forget(wf_runs *rs, wf_run *r);
/* A run's sandbox limits: MAX_MEMORY_MB, the wall limit + 1 s of CPU. */
wf_sandbox_limits wf_runs_limits(const wf_config *cfg);

/* ---- run_start.c ---- */

/* STARTING: r holds a slot; spawn its sandbox in a pool job. */
void wf_run_start(wf_runs *rs, wf_run *r);
/* The start job's answer (EV_STARTED): RUNNING, or START_FAILED. */
void wf_run_on_started(wf_runs *rs, wf_run *r, int spawned);

/* ---- run_io.c ---- */

/* Read what r's stdout or stderr pipe (*fd) holds into b; `all` reads to
 * the end (after the exit). */
void wf_run_read_output(wf_runs *rs, wf_run *r, int *fd, wf_outbuf *b, int all);
/* Read and handle the runner's frames; `all` reads to the end. */
void wf_run_read_bridge(wf_runs *rs, wf_run *r, int all);
/* Send what waits for the runner (r->tx) as far as the socket takes it. */
void wf_run_write_bridge(wf_runs *rs, wf_run *r);
/* Queue one frame for the runner (takes `bytes`); dropped once the run is
 * no longer live or its bridge is closed. */
void wf_run_queue_tx(wf_runs *rs, wf_run *r, unsigned char *bytes, size_t n);

/* ---- run_ai.c ---- */

/* The runner asked for call_ai or list_models (m): refused by the policy,
 * or sent to Ollama by a pool job (whose answer comes as EV_REPLY). */
void wf_run_ai_request(wf_runs *rs, wf_run *r, const wf_bridge_msg *m);
/* An AI job's answer is back (EV_REPLY; frees ev). */
void wf_run_ai_replied(wf_runs *rs, wf_event *ev);
/* An error reply for the runner (encoded into *out): 0 or WF_ENOMEM. */
int wf_run_reply_error(const char *cls, const char *msg, unsigned char **out, size_t *n);

/* ---- run_end.c ---- */

/* End a live run early (-> ENDING; detail: a violation's text, or NULL).
 * Nothing for a run already ending or answered. */
void wf_run_kill(wf_runs *rs, wf_run *r, enum wf_kill_reason why, const char *detail);
/* REPORTED and every descriptor closed: answer now (-> LEAVING). */
void wf_run_finish_early(wf_runs *rs, wf_run *r);
/* r's pidfd fired: reap it (-> EXITED and answered, or LEAVING's end). */
void wf_run_on_exit(wf_runs *rs, wf_run *r);
/* Answer r from DROPPED, START_FAILED or EXITED (-> `then`: OVER, or HELD)
 * or from REPORTED (-> LEAVING): make its result and hand it, with the
 * loop's reference, to the finish job (record, callback). */
void wf_run_finish(wf_runs *rs, wf_run *r, enum wf_run_state then);

#endif
