/* runs.h - plugin runs: the supervisor the HTTP layer calls.
 *
 * A run's life as a caller sees it (the state machine itself, with the
 * function that makes each move, is in runs/run.h):
 *   queued --(a slot is free)--> starting --(sandbox up)--> running
 *     |                             |                         |
 *     | its client left (wanted),   | the sandbox could       | it reported, exited,
 *     | or shutting down: dropped   | not start               | or was killed
 *     v                             v                         v
 *   answered, once: the callback with ok | plugin_error | timeout | memory_limit
 *     | sandbox_violation | runtime_error | cancelled, after the run is recorded
 * (wf_runs_cancel ends a queued or running run: cancelled.)
 * A run may be answered before its sandbox process is reaped; its slot
 * counts until then (and until an AI call it left behind is answered).
 * A full queue refuses the submission (WF_EFULL -> HTTP 429). The caller
 * never blocks: the result arrives through a callback, so an HTTP
 * connection can be suspended while a run waits on AI answers. Every
 * finished run is recorded in the store (when one is given). */
#ifndef WF_RUNS_H
#define WF_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "ollama/ollama.h"
#include "store/store.h"

typedef struct wf_runs wf_runs;

/* The run result of SPEC §3. Strings owned by the runs module; valid only
 * during the callback (copy what you keep). */
typedef struct wf_run_result {
    const char *run_id;
    const char *plugin;
    int version;
    int success;
    const char *output;      /* stdout shaped as the original shaped it
                              * (wf_run_output_shape in runs/run.h) */
    const char *stdout_text; /* stdout as written (capped, with a marker) */
    const char *error;       /* NULL when none */
    const char *error_type;  /* NULL or one of the SPEC's error types */
    const char *result_json; /* NULL when the plugin sent no JSON value */
    const char *logs;
    int ai_calls;
    int64_t duration_ms;
    const char *started_at;
    const char *input_data;  /* a recorded run's input (the history); NULL
                              * in a fresh result, which has no such field */
    /* The limits it ran under (effective values), for a run given its own
     * (POST /api/runs "limits"); has_limits 0 otherwise. */
    int has_limits;
    int lim_timeout_s, lim_memory_mb, lim_max_ai_calls;
    long long lim_max_output_bytes;
    /* NULL when the run is in the store (or there is no store). Otherwise
     * why its record could not be kept anywhere: run_id is then NULL, for
     * a run_id is a promise that GET /api/runs/{id} finds the run. */
    const char *record_error;
} wf_run_result;

/* The run result as the JSON object of SPEC §3 (a new reference; NULL on
 * allocation failure): the one builder of that shape, for the HTTP answer,
 * the run history and `wasmforge run`. Text that is not valid UTF-8 gets
 * U+FFFD for each bad byte; absent text (error, error_type, run_id, plugin,
 * started_at) is null, absent output, stdout and logs are "". input_data is a
 * field only when set. */
json_t *wf_run_result_json(const wf_run_result *res);

/* Called exactly once per accepted submission, from a runs thread. */
typedef void (*wf_run_done_fn)(void *ctx, const wf_run_result *res);

/* store may be NULL (the `wasmforge run` command records nothing). */
int wf_runs_new(const wf_config *cfg, wf_store *store, wf_ollama *ollama,
                wf_runs **out, char *err, size_t errlen);

/* Shutdown, step 1: stop accepting (later submissions get WF_EUNAVAIL),
 * wait up to grace_s seconds for queued and running runs, cut the rest
 * short (recorded as such; their callbacks are still called), then cancel
 * the AI calls still out (wf_ollama_cancel_all: the Ollama client serves
 * no one after this). Safe to call while other threads still call
 * wf_runs_submit. */
void wf_runs_drain(wf_runs *runs, int grace_s);

/* Shutdown, step 2: free everything (after wf_runs_drain, once no thread
 * can call into the module any more). */
void wf_runs_free(wf_runs *runs);

/* A run id's room (UUID text and its NUL). */
#define WF_RUN_ID_SIZE 40

/* A run's own limits (POST /api/runs "limits"): each lowers the server's
 * (0 = the server's own); never above it (the caller checks:
 * wf_run_limits_check). */
typedef struct wf_run_limits {
    int timeout_s;           /* MAX_EXECUTION_TIME */
    int memory_mb;           /* MAX_MEMORY_MB */
    int max_ai_calls;        /* MAX_AI_CALLS_PER_EXECUTION */
    long long max_output_bytes; /* MAX_OUTPUT_BYTES */
} wf_run_limits;

/* Check limits against the server's: 0, or WF_EINVAL with why (naming the
 * key and the server's maximum) in err. */
int wf_run_limits_check(const wf_config *cfg, const wf_run_limits *lim, char *err,
                        size_t errlen);

/* The limits a run runs under (the server's, lowered by lim) as JSON
 * {"timeout_s", "memory_mb", "max_ai_calls", "max_output_bytes"}. */
json_t *wf_run_limits_json(const wf_config *cfg, const wf_run_limits *lim);

/* Submit a run of `plugin` (name, version and code are read; copied) with
 * input, under limits (NULL: the server's). 0 = accepted (done will be called), WF_EFULL = queue full,
 * WF_EUNAVAIL = the sandbox cannot run. done may be NULL (a run nobody
 * waits for: it is recorded, and found by its id). When run_id is given,
 * the accepted run's id is copied there: from then on wf_runs_peek finds
 * the run until it is in the store (the registry of live runs forgets a
 * run only once its record is kept), so the id is never unknown. */
int wf_runs_submit(wf_runs *runs, const wf_plugin *plugin,
                   const char *input, size_t input_len,
                   const wf_run_limits *limits, wf_run_done_fn done, void *ctx,
                   char run_id[WF_RUN_ID_SIZE]);

/* A live run as other threads may see it: a copy, made under the
 * registry's lock (never a pointer into the run). */
typedef struct wf_run_view {
    char run_id[WF_RUN_ID_SIZE];
    const char *state;       /* "queued" or "running" (static) */
    char *plugin;
    int version;
    char started_at[32];     /* "" while queued or starting */
    char *stdout_text;       /* what the plugin wrote so far (capped as the
                              * result caps it; valid UTF-8) */
    char *logs;              /* its stderr so far, the same way */
    int ai_calls;
    int cancel_requested;    /* a cancel was accepted: it ends as cancelled */
    wf_run_limits limits;    /* the run's own (0: the server's) */
    int has_limits;
} wf_run_view;

/* Copy the live run `run_id` into *out (free with wf_run_view_clear): 0;
 * WF_ENOTFOUND when no such run is live (never submitted, or over and in
 * the store); WF_ENOMEM. */
int wf_runs_peek(wf_runs *runs, const char *run_id, wf_run_view *out);
void wf_run_view_clear(wf_run_view *v);
/* The view as JSON (a new reference; NULL when out of memory); the
 * limits the run runs under when it was given its own. */
json_t *wf_run_view_json(const wf_config *cfg, const wf_run_view *v);

/* Cancel the live run `run_id`: a queued one never starts, a running one
 * (either sandbox) is killed, an AI call in flight is not waited for; it is
 * recorded with error_type "cancelled" and its done callback is called as
 * for any run. 0 = accepted (*out, when given, is the run's view; a second
 * cancel is accepted too); WF_ENOTFOUND = not live (unknown, or recorded);
 * WF_ECONFLICT = its end came first (its outcome is fixed: it is recorded
 * as that end made it); WF_ENOMEM. Any thread; never blocks. */
int wf_runs_cancel(wf_runs *runs, const char *run_id, wf_run_view *out);

/* Asked with a run's ctx just before a queued run starts: 0 when its
 * caller no longer wants it (an HTTP client that disconnected while the run
 * waited). Such a run is not started: it is recorded as a runtime_error
 * "Run dropped: its client disconnected before it started" and its done
 * callback is called as for any run. Called from the runs module's loop
 * thread; must not block. */
typedef int (*wf_run_wanted_fn)(void *ctx);
/* Set once, before the first submission. */
void wf_runs_set_wanted(wf_runs *runs, wf_run_wanted_fn wanted);

/* Compile `code` in the sandbox without running it. 0 = compiles;
 * WF_EINVAL = syntax error, *line / *col (1-based) and msg set;
 * WF_EUNAVAIL = the sandbox cannot run. Blocks (briefly). */
int wf_runs_check_syntax(wf_runs *runs, const char *code, size_t len,
                         int *line, int *col, char *msg, size_t msglen);

/* "wasm" or "native". */
const char *wf_runs_sandbox_name(const wf_runs *runs);

/* For /health and /metrics. */
typedef struct wf_runs_stats {
    int queued;
    int running;
    int capacity;            /* MAX_CONCURRENT_RUNS */
    double sandbox_start_ms; /* last measured sandbox start time */
    int sandbox_ok;          /* 1 when the sandbox can run plugins */
    const char *sandbox_detail; /* the confinement in effect, or why the
                                 * sandbox cannot run; static for the
                                 * life of the wf_runs */
} wf_runs_stats;
void wf_runs_get_stats(wf_runs *runs, wf_runs_stats *out);

#endif
