/* metrics.h - process-wide counters exported at GET /metrics (Prometheus
 * text format). Lock-free or mutex-protected; callable from any thread. */
#ifndef WF_METRICS_H
#define WF_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* outcome: "ok" or an error_type. */
void wf_metrics_run_finished(const char *outcome, int64_t duration_ms);
/* The models that get a label of their own in wasmforge_ai_calls_total:
 * the n names of ALLOWED_MODELS (copied), or, with every != 0
 * (ALLOWED_MODELS=*), each model once a call to it succeeded (Ollama has
 * it), up to a bound. Every other name a plugin sends counts as
 * model="other", so made-up names can neither fill the table nor reach the
 * output. Call once at start-up, before runs; without it, every model is
 * "other". Returns 0, or WF_ENOMEM. */
int wf_metrics_set_models(char *const *names, size_t n, int every);

/* outcome: "ok", "refused", "error", "timeout". */
void wf_metrics_ai_call(const char *model, const char *outcome);
void wf_metrics_http_request(int status);

/* Render everything (plus the gauges given) into a malloc'd string. */
char *wf_metrics_render(int queued, int running, double sandbox_start_ms);

#endif
