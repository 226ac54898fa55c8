/* test_log_metrics.c - log line formats (text and JSON, level filter, cuts)
 * and the Prometheus rendering of the metrics counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"

/* Runs fn with stderr redirected to a temporary file; returns its text. */
static char *capture(void (*fn)(void))
{
    char path[] = "/tmp/wf-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    wf_log_flush();
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fd, buf, (size_t)n, 0), n);
    close(fd);
    return buf;
}

static void emit_text(void)
{
    wf_log_setup(WF_LOG_INFO, 0);
    wf_log_debug("hidden %d", 1);
    wf_log_kv(WF_LOG_INFO, "request", "method", "GET", "path", "/a b", (const char *)NULL);
    wf_log_warn("two\nlines");
}

static void test_text_lines(void **state)
{
    (void)state;
    char *out = capture(emit_text);
    assert_null(strstr(out, "hidden"));
    /* 2026-11-25T13:01:55.123Z INFO request method=GET path="/a b" */
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
    assert_non_null(strstr(out, "Z INFO request method=GET path=\"/a b\"\n"));
    assert_non_null(strstr(out, "WARN two\\nlines\n"));
    free(out);
}

static void emit_json(void)
{
    wf_log_setup(WF_LOG_DEBUG, 1);
    wf_log_kv(WF_LOG_INFO, "request", "status", "200", "path", "/\"q\"", (const char *)NULL);
    char big[20000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    wf_log_kv(WF_LOG_ERROR, "big", "a", "1", "b", big, (const char *)NULL);
    wf_log_setup(WF_LOG_INFO, 0);
}

static void test_json_lines(void **state)
{
    (void)state;
    char *out = capture(emit_json);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        assert_non_null(j);
        assert_non_null(json_object_get(j, "ts"));
        if (lines == 0) {
            assert_string_equal(json_string_value(json_object_get(j, "level")), "INFO");
            assert_string_equal(json_string_value(json_object_get(j, "path")), "/\"q\"");
        } else {
            assert_string_equal(json_string_value(json_object_get(j, "a")), "1");
            assert_true(json_is_true(json_object_get(j, "cut")));
        }
        json_decref(j);
        lines++;
    }
    assert_int_equal(lines, 2);
    free(out);
}

/* Strings a client or a plugin chose: ESC, CSI (C1), BEL, DEL, CR, NUL's
 * neighbours and invalid UTF-8, in a message, a key and a value. */
#define HOSTILE "a\x1b[2J\x1b]0;pwn\x07" "b\xc2\x9b" "31mc\x7f\r\nd\xff\xfe" "e\xc3\xa9"

static void emit_hostile(void)
{
    wf_log_setup(WF_LOG_INFO, 0);
    wf_log_info("plugin %s ended", HOSTILE);
    wf_log_kv(WF_LOG_INFO, "request", "path", HOSTILE, "k\x1b" "x", "plain", (const char *)NULL);
    wf_log_setup(WF_LOG_INFO, 1);
    wf_log_info("plugin %s ended", HOSTILE);
    wf_log_kv(WF_LOG_INFO, "request", "path", HOSTILE, (const char *)NULL);
    wf_log_setup(WF_LOG_INFO, 0);
}

static void test_control_characters_escaped(void **state)
{
    (void)state;
    char *out = capture(emit_hostile);
    size_t n = strlen(out);
    int newlines = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '\n') {
            newlines++;
            continue;
        }
        if (c < 0x20 || c == 0x7f || c == 0xff || c == 0xfe)
            fail_msg("raw control byte 0x%02x at %zu: %s", c, i, out);
        if (c == 0xc2 && i + 1 < n && (unsigned char)out[i + 1] < 0xa0)
            fail_msg("raw C1 control at %zu: %s", i, out);
    }
    assert_int_equal(newlines, 4); /* one per line: nothing broke a line */
    assert_non_null(strstr(out, "plugin a\\u001b[2J\\u001b]0;pwn\\u0007b\\u009b31mc\\u007f\\r\\nd"
                                "\\xff\\xfee\xc3\xa9 ended\n"));
    assert_non_null(strstr(out, " k\\u001bx=plain"));
    /* the JSON lines parse, and give back the text with U+FFFD for bad bytes */
    char *save = NULL;
    int json_lines = 0;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] != '{')
            continue;
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        if (j == NULL)
            fail_msg("not JSON: %s (%s)", line, e.text);
        json_lines++;
        json_decref(j);
    }
    assert_int_equal(json_lines, 2);
    free(out);
}

static void test_level_parse(void **state)
{
    (void)state;
    assert_int_equal(wf_log_level_parse("WARNING"), WF_LOG_WARN);
    assert_int_equal(wf_log_level_parse("debug"), WF_LOG_DEBUG);
    assert_int_equal(wf_log_level_parse("loud"), -1);
}

static void test_metrics_render(void **state)
{
    (void)state;
    /* the operator's allowlist: names with quotes, backslashes and a
     * newline get rows, escaped; a control byte keeps a name out */
    char *allowed[] = {"mistral:latest", "bad\"na\\me\nx", "esc\x1bname", "gemma2:2b"};
    assert_int_equal(wf_metrics_set_models(allowed, 4, 0), 0);
    wf_metrics_run_finished("ok", 40);
    wf_metrics_run_finished("timeout", 200000);
    wf_metrics_ai_call("mistral:latest", "ok");
    wf_metrics_ai_call("bad\"na\\me\nx", "refused");
    wf_metrics_ai_call("esc\x1bname", "refused");
    /* made-up names from plugins: all "other", however many */
    char made_up[64];
    for (int i = 0; i < 200; i++) {
        snprintf(made_up, sizeof made_up, "fake-%d\r\x1b[31m\"", i);
        wf_metrics_ai_call(made_up, i % 2 ? "refused" : "error");
    }
    /* a real model is still counted as itself after them */
    wf_metrics_ai_call("gemma2:2b", "ok");
    wf_metrics_http_request(200);
    wf_metrics_http_request(404);
    char *t = wf_metrics_render(3, 1, 12.5);
    assert_non_null(t);
    assert_non_null(strstr(t, "wasmforge_runs_total{outcome=\"ok\"} 1\n"));
    assert_non_null(strstr(t, "wasmforge_runs_total{outcome=\"timeout\"} 1\n"));
    assert_non_null(strstr(t, "wasmforge_run_duration_seconds_bucket{le=\"0.05\"} 1\n"));
    assert_non_null(strstr(t, "wasmforge_run_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(t, "wasmforge_run_duration_seconds_count 2\n"));
    assert_non_null(strstr(t, "wasmforge_ai_calls_total{model=\"mistral:latest\",outcome=\"ok\"} 1\n"));
    assert_non_null(strstr(t, "model=\"bad\\\"na\\\\me\\nx\",outcome=\"refused\"} 1\n"));
    assert_non_null(strstr(t, "wasmforge_ai_calls_total{model=\"gemma2:2b\",outcome=\"ok\"} 1\n"));
    assert_non_null(strstr(t, "wasmforge_ai_calls_total{model=\"other\",outcome=\"refused\"} 101\n"));
    assert_non_null(strstr(t, "wasmforge_ai_calls_total{model=\"other\",outcome=\"error\"} 100\n"));
    assert_null(strstr(t, "fake-"));
    for (const char *c = t; *c; c++)
        if ((*c < 0x20 && *c != '\n') || *c == 0x7f)
            fail_msg("raw control byte 0x%02x in the metrics", (unsigned char)*c);
    assert_non_null(strstr(t, "wasmforge_runs_queued 3\n"));
    assert_non_null(strstr(t, "wasmforge_sandbox_start_seconds 0.012500\n"));
    assert_non_null(strstr(t, "wasmforge_http_requests_total{status=\"404\"} 1\n"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_json_lines),
        cmocka_unit_test(test_control_characters_escaped),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_metrics_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
