/* metrics.h - process-wide counters exported at GET /metrics (Prometheus
 * text format). Lock-free or mutex-protected; callable from any thread. */
#ifndef WF_METRICS_H
#define WF_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* outcome: "ok" or an error_type. */
void wf_metrics_run_finished(const char *outcome, int64_t duration_ms);
/* outcome: "ok", "refused", "error", "timeout". */
void wf_metrics_ai_call(const char *model, const char *outcome);
void wf_metrics_http_request(int status);

/* Render everything (plus the gauges given) into a malloc'd string. */
char *wf_metrics_render(int queued, int running, double sandbox_start_ms);

#endif
