/* run_state.c - the run's life as a state machine (the diagram is in
 * run.h): the table of allowed moves and the one function that moves. */
#include "runs/run.h"

#include <assert.h>

#define BIT(s) (1u << (s))

/* allowed[from]: the states a run in `from` may move to. */
static const unsigned allowed[WF_RUN_STATES] = {
    [WF_RUN_QUEUED] = BIT(WF_RUN_STARTING) | BIT(WF_RUN_DROPPED),
    [WF_RUN_STARTING] = BIT(WF_RUN_RUNNING) | BIT(WF_RUN_START_FAILED),
    [WF_RUN_RUNNING] = BIT(WF_RUN_REPORTED) | BIT(WF_RUN_ENDING) | BIT(WF_RUN_EXITED),
    [WF_RUN_REPORTED] = BIT(WF_RUN_ENDING) | BIT(WF_RUN_EXITED) | BIT(WF_RUN_LEAVING),
    [WF_RUN_ENDING] = BIT(WF_RUN_EXITED),
    [WF_RUN_EXITED] = BIT(WF_RUN_HELD) | BIT(WF_RUN_OVER),
    [WF_RUN_DROPPED] = BIT(WF_RUN_OVER),
    [WF_RUN_START_FAILED] = BIT(WF_RUN_OVER),
    [WF_RUN_LEAVING] = BIT(WF_RUN_HELD) | BIT(WF_RUN_OVER),
    [WF_RUN_HELD] = BIT(WF_RUN_OVER),
    [WF_RUN_OVER] = 0,
};

static const char *const names[WF_RUN_STATES] = {
    [WF_RUN_QUEUED] = "queued",
    [WF_RUN_STARTING] = "starting",
    [WF_RUN_RUNNING] = "running",
    [WF_RUN_REPORTED] = "reported",
    [WF_RUN_ENDING] = "ending",
    [WF_RUN_EXITED] = "exited",
    [WF_RUN_DROPPED] = "dropped",
    [WF_RUN_START_FAILED] = "start_failed",
    [WF_RUN_LEAVING] = "leaving",
    [WF_RUN_HELD] = "held",
    [WF_RUN_OVER] = "over",
};

static int valid(enum wf_run_state s)
{
    return (unsigned)s < WF_RUN_STATES;
}

int wf_run_move_legal(enum wf_run_state from, enum wf_run_state to)
{
    return valid(from) && valid(to) && (allowed[from] & BIT(to)) != 0;
}

void wf_run_move(wf_run *r, enum wf_run_state to)
{
    assert(r != NULL);
    assert(wf_run_move_legal(r->state, to));
    /* Every change of a run's state passes here, on the loop thread: the
     * place for the run's live events when they come. */
    /* Atomic: wf_runs_peek reads it from other threads (under live_mu,
     * which this thread does not take for a move). */
    __atomic_store_n(&r->state, to, __ATOMIC_RELEASE);
}

const char *wf_run_state_name(enum wf_run_state s)
{
    return valid(s) ? names[s] : "?";
}
