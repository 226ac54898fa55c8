/* run.h - one run as the supervisor holds it, shared by supervisor.c and
 * record.c. Internal to the runs module.
 *
 * Ownership: every string is owned by the run and freed by wf_run_free.
 * Threads: once started, a run is touched by the event loop thread only;
 * pool jobs get copies or hand their results back to the loop. */
#ifndef WF_RUNS_RUN_H
#define WF_RUNS_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "runs/bridge.h"
#include "runs/code_share.h"
#include "runs/runs.h"
#include "sandbox/sandbox.h"

/* Why the supervisor ended a run before the plugin did. */
enum wf_kill_reason {
    WF_KILL_NONE = 0,
    WF_KILL_TIMEOUT,
    WF_KILL_VIOLATION,
    WF_KILL_FLOOD,
    WF_KILL_SHUTDOWN,
    WF_KILL_ABANDONED,       /* never started: its client had gone */
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
    wf_run_done_fn done;
    void *ctx;

    int64_t t_submit_ms, t_start_ms, deadline_ms; /* monotonic */
    wf_sandbox_proc proc;
    int spawned;
    char spawn_err[256];
    wf_watch w_out, w_err, w_bridge, w_pid;

    wf_outbuf out, logs;
    wf_bridge_rx rx;
    unsigned char *tx;       /* bytes waiting to go to the runner */
    size_t tx_len, tx_off;

    int ai_pending;          /* an AI job holds this run */
    int slot_held;           /* ended, but its slot is kept until the AI
                              * job's answer is back (supervisor.c) */
    int ai_calls;            /* successful calls */
    int ai_requests;         /* calls sent to Ollama, failed ones too */
    int done_seen;
    char *done_status;
    char *done_error;
    char *result_json;
    enum wf_kill_reason kill_reason;
    char *violation;
    int finished;            /* result delivered; free when no job holds it */
    int reap_pending;        /* finished before its process was reaped */
    wf_sandbox_exit exit;
};

void wf_run_free(wf_run *r);

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
