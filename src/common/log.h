/* log.h - structured logging to stderr, as text or one JSON object a line.
 *
 * Thread-safe. Secrets must never be passed in: callers log names and
 * outcomes, never credentials, tokens or URLs with passwords. */
#ifndef WF_LOG_H
#define WF_LOG_H

enum wf_log_level { WF_LOG_DEBUG, WF_LOG_INFO, WF_LOG_WARN, WF_LOG_ERROR };

/* Set once at start-up, before threads start. json != 0 selects JSON lines. */
void wf_log_setup(enum wf_log_level min_level, int json);

/* Parse "debug"/"info"/"warn"/"warning"/"error"; -1 when unknown. */
int wf_log_level_parse(const char *s);

/* A free-form message. */
void wf_log(enum wf_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A message with extra key/value string fields (alternating keys and
 * values, ended by (const char *)NULL: a bare NULL may be an int in a
 * variadic call), e.g. one line per HTTP request. */
void wf_log_kv(enum wf_log_level level, const char *msg, ...);

/* Write out lines still buffered (INFO and DEBUG lines are written in
 * batches a few milliseconds later; exit() flushes too). */
void wf_log_flush(void);

#define wf_log_debug(...) wf_log(WF_LOG_DEBUG, __VA_ARGS__)
#define wf_log_info(...)  wf_log(WF_LOG_INFO, __VA_ARGS__)
#define wf_log_warn(...)  wf_log(WF_LOG_WARN, __VA_ARGS__)
#define wf_log_error(...) wf_log(WF_LOG_ERROR, __VA_ARGS__)

#endif
