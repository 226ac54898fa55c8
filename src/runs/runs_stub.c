/* runs_stub.c - placeholder supervisor until the sandboxes exist: refuses
 * runs (WF_EUNAVAIL -> 503) and accepts any code at upload. */
#include "runs/runs.h"

#include <stdlib.h>

#include "common/wf_error.h"

struct wf_runs {
    int unused;
};

int wf_runs_new(const wf_config *cfg, wf_store *store, wf_ollama *ollama,
                wf_runs **out, char *err, size_t errlen)
{
    (void)cfg; (void)store; (void)ollama; (void)err; (void)errlen;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : WF_ENOMEM;
}

void wf_runs_drain(wf_runs *runs, int grace_s)
{
    (void)runs;
    (void)grace_s;
}

void wf_runs_free(wf_runs *runs)
{
    free(runs);
}

int wf_runs_submit(wf_runs *runs, const wf_plugin *plugin, const char *input,
                   size_t input_len, wf_run_done_fn done, void *ctx)
{
    (void)runs; (void)plugin; (void)input; (void)input_len; (void)done; (void)ctx;
    return WF_EUNAVAIL;
}

int wf_runs_check_syntax(wf_runs *runs, const char *code, size_t len,
                         int *line, int *col, char *msg, size_t msglen)
{
    (void)runs; (void)code; (void)len; (void)line; (void)col; (void)msg; (void)msglen;
    return 0;
}

const char *wf_runs_sandbox_name(const wf_runs *runs)
{
    (void)runs;
    return "native";
}

void wf_runs_get_stats(wf_runs *runs, wf_runs_stats *out)
{
    (void)runs;
    *out = (wf_runs_stats){0};
}
