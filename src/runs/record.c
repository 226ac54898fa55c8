/* record.c - turns a finished run into its result (SPEC §3): the outcome,
 * the capped output and logs, the JSON shape, and the stored record. */
#include "runs/run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/utf8.h"
#include "common/wf_error.h"
#include "runs/policy.h"

/* Input kept in run history, at most. */
#define WF_RUN_INPUT_KEPT (64 * 1024)

void wf_run_free(wf_run *r)
{
    if (r == NULL)
        return;
    free(r->plugin);
    wf_code_release(r->code_ref);
    free(r->input);
    free(r->out.data);
    free(r->logs.data);
    wf_bridge_rx_clear(&r->rx);
    free(r->tx);
    free(r->done_status);
    free(r->done_error);
    free(r->result_json);
    free(r->violation);
    free(r);
}

/* Capped text, valid UTF-8, with a marker where it was cut. */
static char *capped(const wf_outbuf *b, size_t cap, const char *what)
{
    int cut = 0;
    char *s = wf_utf8_sanitize(b->data ? b->data : "", b->len, cap, &cut);
    if (s == NULL || (!cut && b->total <= b->len))
        return s;
    char marker[128];
    int n = snprintf(marker, sizeof marker, "\n[%s truncated: %zu bytes written, limit %zu]\n",
                     what, b->total, cap);
    size_t l = strlen(s);
    char *t = realloc(s, l + (size_t)n + 1);
    if (t == NULL) {
        free(s);
        return NULL;
    }
    memcpy(t + l, marker, (size_t)n + 1);
    return t;
}

/* Length of the whitespace character at s (Python's str.isspace(): every
 * character str.strip() removes), or 0. s is valid UTF-8. */
static size_t space_len(const unsigned char *s)
{
    unsigned c = s[0];
    if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20))
        return 1;
    if (c == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
        return 2;                                   /* U+0085, U+00A0 */
    if (c == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
        return 3;                                   /* U+1680 */
    if (c == 0xe2 && s[1] == 0x80 && (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 ||
                                      s[2] == 0xaf))
        return 3;                                   /* U+2000-200A, 2028, 2029, 202F */
    if (c == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
        return 3;                                   /* U+205F */
    if (c == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
        return 3;                                   /* U+3000 */
    return 0;
}

/* The last whitespace character ending at s + end (after start), or 0. */
static size_t space_len_before(const char *s, size_t start, size_t end)
{
    for (size_t k = 1; k <= 3 && k <= end - start; k++) {
        const unsigned char *p = (const unsigned char *)s + end - k;
        if ((*p & 0xc0) != 0x80)    /* the character's first byte */
            return space_len(p) == k ? k : 0;
    }
    return 0;
}

char *wf_run_output_shape(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i <= n;) {
        /* One line: up to \n, \r\n or \r (universal newlines). */
        size_t end = i;
        while (end < n && s[end] != '\n' && s[end] != '\r')
            end++;
        size_t next = end < n && s[end] == '\r' && end + 1 < n && s[end + 1] == '\n' ? end + 2
                                                                                    : end + 1;
        size_t a = i, b = end, k;
        while (a < b && (k = space_len((const unsigned char *)s + a)) > 0 && a + k <= b)
            a += k;
        while (b > a && (k = space_len_before(s, a, b)) > 0)
            b -= k;
        if (b > a) {
            if (o > 0)
                out[o++] = '\n';
            memcpy(out + o, s + a, b - a);
            o += b - a;
        }
        i = next;
    }
    out[o] = '\0';
    return out;
}

static int logs_mention_memory(const wf_outbuf *b)
{
    return b->data && b->len && (memmem(b->data, b->len, "MemoryError", 11) ||
                                 memmem(b->data, b->len, "Cannot allocate memory", 22) ||
                                 memmem(b->data, b->len, "out of memory", 13));
}

int wf_run_outcome_make(const wf_run *r, const wf_config *cfg, wf_run_outcome *o)
{
    memset(o, 0, sizeof *o);
    char msg[512] = "";
    const char *type = NULL;
    const char *err_text = NULL;

    switch (r->kill_reason) {
    case WF_KILL_TIMEOUT:
        type = "timeout";
        snprintf(msg, sizeof msg, "Plugin exceeded %ds limit", cfg->max_execution_time);
        break;
    case WF_KILL_VIOLATION:
        type = "sandbox_violation";
        snprintf(msg, sizeof msg, "Sandbox violation: %s",
                 r->violation ? r->violation : "the plugin broke the bridge protocol");
        break;
    case WF_KILL_FLOOD:
        type = "plugin_error";
        snprintf(msg, sizeof msg, "Plugin kept writing past the output limit of %zu bytes "
                 "and was stopped", cfg->max_output_bytes);
        break;
    case WF_KILL_SHUTDOWN:
        type = "runtime_error";
        snprintf(msg, sizeof msg, "Run cut short: the server was shutting down");
        break;
    case WF_KILL_ABANDONED:
        type = "runtime_error";
        snprintf(msg, sizeof msg, "Run dropped: its client disconnected before it started");
        break;
    case WF_KILL_CANCELLED:
        type = "cancelled";
        snprintf(msg, sizeof msg, "Run cancelled");
        break;
    case WF_KILL_NONE:
        if (r->state == WF_RUN_START_FAILED) {
            type = "runtime_error";
            snprintf(msg, sizeof msg, "The sandbox could not start: %s", r->spawn_err);
        } else if (r->done_status != NULL) { /* it reported (REPORTED) */
            if (strcmp(r->done_status, "ok") == 0) {
                type = NULL;
            } else if (strcmp(r->done_status, "memory_limit") == 0) {
                type = "memory_limit";
                snprintf(msg, sizeof msg, "Plugin exceeded the memory limit of %d MB",
                         cfg->max_memory_mb);
                err_text = r->done_error;
            } else {
                type = "plugin_error";
                err_text = r->done_error;
                if (err_text == NULL)
                    snprintf(msg, sizeof msg, "Plugin failed");
            }
        } else if (r->exit.sandbox_lost) {
            type = "runtime_error";
            snprintf(msg, sizeof msg, "The sandbox failed during the run (its zygote process "
                     "died); the plugin is not at fault: run it again");
            wf_log_error("run %s: the sandbox failed: its zygote died during the run",
                         r->run_id);
        } else if (!r->exit.exited) {
            int sig = r->exit.signal;
            if (sig == SIGXCPU) {
                type = "timeout";
                snprintf(msg, sizeof msg, "Plugin exceeded its CPU time limit");
            } else if (sig == SIGSYS) {
                type = "sandbox_violation";
                snprintf(msg, sizeof msg, "Sandbox violation: a forbidden system call");
            } else if (logs_mention_memory(&r->logs)) {
                type = "memory_limit";
                snprintf(msg, sizeof msg, "Plugin exceeded the memory limit of %d MB",
                         cfg->max_memory_mb);
            } else {
                type = "plugin_error";
                snprintf(msg, sizeof msg, "The plugin's process was killed by signal %d (%s)",
                         sig, strsignal(sig));
            }
        } else if (r->exit.code != 0) {
            if (logs_mention_memory(&r->logs)) {
                type = "memory_limit";
                snprintf(msg, sizeof msg, "Plugin exceeded the memory limit of %d MB",
                         cfg->max_memory_mb);
            } else {
                type = "plugin_error";
                snprintf(msg, sizeof msg, "Plugin exited with status %d", r->exit.code);
            }
        }
        break;
    }

    o->stdout_text = capped(&r->out, cfg->max_output_bytes, "output");
    o->output = o->stdout_text ? wf_run_output_shape(o->stdout_text) : NULL;
    o->logs = capped(&r->logs, cfg->max_output_bytes, "logs");
    if (type != NULL) {
        const char *src = err_text ? err_text : msg;
        o->error = wf_utf8_sanitize(src, strlen(src), cfg->max_output_bytes, NULL);
    }
    int cut = 0;
    o->input_kept = wf_utf8_sanitize(r->input ? r->input : "", r->input_len,
                                     WF_RUN_INPUT_KEPT, &cut);
    if (o->stdout_text == NULL || o->output == NULL || o->logs == NULL || o->input_kept == NULL ||
        (type != NULL && o->error == NULL)) {
        wf_run_outcome_clear(o);
        return WF_ENOMEM;
    }
    o->res.run_id = r->run_id;
    o->res.plugin = r->plugin;
    o->res.version = r->version;
    o->res.success = type == NULL;
    o->res.output = o->output;
    o->res.stdout_text = o->stdout_text;
    o->res.error = o->error;
    o->res.error_type = type;
    o->res.result_json = r->result_json;
    o->res.logs = o->logs;
    o->res.ai_calls = r->ai_calls;
    o->res.started_at = r->started_at;
    if (r->has_limits) {
        o->res.has_limits = 1;
        o->res.lim_timeout_s = cfg->max_execution_time;
        o->res.lim_memory_mb = cfg->max_memory_mb;
        o->res.lim_max_ai_calls = cfg->max_ai_calls;
        o->res.lim_max_output_bytes = (long long)cfg->max_output_bytes;
    }
    o->metric = type ? type : "ok";
    return 0;
}

void wf_run_outcome_clear(wf_run_outcome *o)
{
    free(o->stdout_text);
    free(o->output);
    free(o->logs);
    free(o->error);
    free(o->input_kept);
    memset(o, 0, sizeof *o);
}

/* Text as a JSON string: valid UTF-8 as it is, anything else with U+FFFD
 * for each bad byte (jansson refuses invalid UTF-8, and a JSON answer must
 * never carry it); NULL text is null. NULL only when out of memory. */
static json_t *json_text(const char *s)
{
    if (s == NULL)
        return json_null();
    size_t n = strlen(s);
    if (wf_utf8_valid(s, n))
        return json_stringn(s, n);
    char *t = wf_utf8_sanitize(s, n, n, NULL);
    json_t *j = t ? json_string(t) : NULL;
    free(t);
    return j;
}

/* The `result` field: the JSON text the plugin's last send_output kept,
 * parsed; null when there is none or it is not JSON. */
static json_t *json_result(const char *result_json)
{
    json_t *v = result_json ? json_loads(result_json, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

json_t *wf_run_result_json(const wf_run_result *r)
{
    json_t *j = json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:i, s:I, s:o}",
                     "success", r->success,
                     "output", json_text(r->output ? r->output : ""),
                     "error", json_text(r->error),
                     "error_type", json_text(r->error_type),
                     "result", json_result(r->result_json),
                     "stdout", json_text(r->stdout_text ? r->stdout_text : ""),
                     "logs", json_text(r->logs ? r->logs : ""),
                     "run_id", json_text(r->run_id),
                     "plugin", json_text(r->plugin),
                     "version", r->version,
                     "ai_calls", r->ai_calls,
                     "duration_ms", (json_int_t)r->duration_ms,
                     "started_at", json_text(r->started_at));
    if (j != NULL && r->input_data != NULL &&
        json_object_set_new(j, "input_data", json_text(r->input_data)) != 0) {
        json_decref(j);
        return NULL;
    }
    if (j != NULL && r->has_limits &&
        json_object_set_new(j, "limits", json_pack("{s:i, s:i, s:i, s:I}",
                                                   "timeout_s", r->lim_timeout_s,
                                                   "memory_mb", r->lim_memory_mb,
                                                   "max_ai_calls", r->lim_max_ai_calls,
                                                   "max_output_bytes",
                                                   (json_int_t)r->lim_max_output_bytes)) != 0) {
        json_decref(j);
        return NULL;
    }
    /* Only for a run that could not be recorded (run_id is null then). */
    if (j != NULL && r->record_error != NULL &&
        (json_object_set_new(j, "recorded", json_false()) != 0 ||
         json_object_set_new(j, "record_error", json_text(r->record_error)) != 0)) {
        json_decref(j);
        return NULL;
    }
    return j;
}
