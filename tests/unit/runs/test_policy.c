/* test_policy.c - bridge message shapes and the AI call rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "common/wf_error.h"
#include "runs/policy.h"

static int parse(const char *json, wf_bridge_msg *m, json_t **keep)
{
    json_error_t je;
    *keep = json_loads(json, JSON_ALLOW_NUL, &je);
    assert_non_null(*keep);
    char err[256];
    return wf_bridge_msg_parse(*keep, m, err, sizeof err);
}

static void test_shapes(void **state)
{
    (void)state;
    struct { const char *json; int rc; } cases[] = {
        {"{\"op\":\"call_ai\",\"model\":\"m\",\"prompt\":\"p\",\"system\":null,\"options\":null}", 0},
        {"{\"op\":\"call_ai\",\"model\":\"m\",\"prompt\":\"p\",\"options\":{\"temperature\":0}}", 0},
        {"{\"op\":\"call_ai\",\"model\":1,\"prompt\":\"p\"}", WF_EPROTO},
        {"{\"op\":\"call_ai\",\"prompt\":\"p\"}", WF_EPROTO},
        {"{\"op\":\"call_ai\",\"model\":\"m\",\"prompt\":\"p\",\"options\":[1]}", WF_EPROTO},
        {"{\"op\":\"call_ai\",\"model\":\"m\",\"prompt\":\"p\",\"url\":\"http://x\"}", WF_EPROTO},
        {"{\"op\":\"list_models\"}", 0},
        {"{\"op\":\"list_models\",\"x\":1}", WF_EPROTO},
        {"{\"op\":\"done\",\"status\":\"ok\",\"error\":null}", 0},
        {"{\"op\":\"done\",\"status\":\"ok\",\"result_json\":\"{\\\"a\\\":1}\"}", 0},
        {"{\"op\":\"done\",\"status\":\"ok\",\"result_json\":\"{bad\"}", WF_EPROTO},
        {"{\"op\":\"done\",\"status\":\"great\"}", WF_EPROTO},
        {"{\"op\":\"checked\",\"ok\":false,\"line\":3,\"col\":4,\"message\":\"m\"}", 0},
        {"{\"op\":\"checked\",\"ok\":false,\"line\":-3,\"col\":4,\"message\":\"m\"}", WF_EPROTO},
        {"{\"op\":\"shell\"}", WF_EPROTO},
        {"{\"nop\":1}", WF_EPROTO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wf_bridge_msg m;
        json_t *keep;
        int rc = parse(cases[i].json, &m, &keep);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): got %d", i, cases[i].json, rc);
        json_decref(keep);
    }
}

static char *allowed[] = {"mistral:latest", NULL};

static wf_config policy_cfg(void)
{
    return (wf_config){.max_ai_calls = 2, .max_prompt_length = 5, .allowed_models = allowed,
                       .allowed_models_n = 1, .max_num_predict = 100, .max_num_ctx = 1000};
}

/* The verdict on one call_ai frame: its class (NULL = go ahead). */
static const char *check(const wf_config *cfg, int calls, const char *json, wf_ai_verdict *v)
{
    wf_bridge_msg m;
    json_t *keep;
    assert_int_equal(parse(json, &m, &keep), 0);
    const char *cls = wf_ai_policy_check(cfg, calls, &m, v);
    json_decref(keep);
    return cls;
}

static void test_order_of_checks(void **state)
{
    (void)state;
    wf_config p = policy_cfg();
    wf_ai_verdict v;
    const char *ok = "{\"op\":\"call_ai\",\"model\":\"mistral:latest\",\"prompt\":\"hi\"}";
    assert_null(check(&p, 0, ok, &v));
    assert_null(check(&p, 1, ok, &v));
    assert_string_equal(check(&p, 2, ok, &v), WF_AI_ERR_LIMIT);
    assert_string_equal(v.message, "AI call limit reached");

    /* Not allowed and too long: the allowlist is checked first. */
    const char *both = "{\"op\":\"call_ai\",\"model\":\"mistral\",\"prompt\":\"toolong\"}";
    assert_string_equal(check(&p, 0, both, &v), WF_AI_ERR_NOT_ALLOWED);
    assert_string_equal(v.message, "Model 'mistral' not allowed");
    /* ... and the call limit before that. */
    assert_string_equal(check(&p, 2, both, &v), WF_AI_ERR_LIMIT);

    /* The original's text exactly; the figures go to the detail. */
    assert_string_equal(check(&p, 0, "{\"op\":\"call_ai\",\"model\":\"mistral:latest\","
                                     "\"prompt\":\"toolong\"}", &v), WF_AI_ERR_TOO_LONG);
    assert_string_equal(v.message, "Prompt too long");
    assert_non_null(strstr(v.detail, "7 characters"));

    /* Characters, not bytes: five 2-byte characters fit. */
    assert_null(check(&p, 0, "{\"op\":\"call_ai\",\"model\":\"mistral:latest\","
                             "\"prompt\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", &v));

    assert_string_equal(check(&p, 0, "{\"op\":\"call_ai\",\"model\":\"\",\"prompt\":\"x\"}", &v),
                        WF_AI_ERR_GENERIC);
    assert_string_equal(v.message, "Missing model or prompt");
    assert_string_equal(check(&p, 0, "{\"op\":\"call_ai\",\"model\":\"m\",\"prompt\":\"\"}", &v),
                        WF_AI_ERR_GENERIC);
    assert_string_equal(v.message, "Missing model or prompt");

    /* A NUL cannot smuggle a different model name past the allowlist. */
    assert_string_equal(check(&p, 0, "{\"op\":\"call_ai\",\"model\":\"mistral:latest\\u0000x\","
                                     "\"prompt\":\"x\"}", &v), WF_AI_ERR_NOT_ALLOWED);
}

static void test_system_text_counts(void **state)
{
    (void)state;
    wf_config p = policy_cfg();
    wf_ai_verdict v;
    /* 2 + 3 characters fit the limit of 5; 2 + 4 do not */
    assert_null(check(&p, 0, "{\"op\":\"call_ai\",\"model\":\"mistral:latest\",\"prompt\":\"hi\","
                             "\"system\":\"abc\"}", &v));
    assert_string_equal(check(&p, 0, "{\"op\":\"call_ai\",\"model\":\"mistral:latest\","
                                     "\"prompt\":\"hi\",\"system\":\"abcd\"}", &v),
                        WF_AI_ERR_TOO_LONG);
    assert_string_equal(v.message, "Prompt too long");
    assert_non_null(strstr(v.detail, "system"));
}

static void test_options(void **state)
{
    (void)state;
    wf_config p = policy_cfg();
    p.max_prompt_length = 100;
    wf_ai_verdict v;
#define CALL(opts) "{\"op\":\"call_ai\",\"model\":\"mistral:latest\",\"prompt\":\"hi\"," \
                   "\"options\":" opts "}"
    /* known options with sensible values go on, rebuilt */
    assert_null(check(&p, 0, CALL("{\"temperature\":0.2,\"top_k\":40,\"seed\":7,"
                                  "\"stop\":[\"\\n\\n\",\"END\"],\"penalize_newline\":true}"), &v));
    assert_non_null(v.options);
    assert_true(json_number_value(json_object_get(v.options, "temperature")) == 0.2);
    assert_int_equal(json_integer_value(json_object_get(v.options, "top_k")), 40);
    assert_int_equal(json_array_size(json_object_get(v.options, "stop")), 2);
    json_decref(v.options);
    /* num_predict and num_ctx: capped, -1 ("no end") lowered to the cap */
    assert_null(check(&p, 0, CALL("{\"num_predict\":-1,\"num_ctx\":1000000}"), &v));
    assert_int_equal(json_integer_value(json_object_get(v.options, "num_predict")), 100);
    assert_int_equal(json_integer_value(json_object_get(v.options, "num_ctx")), 1000);
    json_decref(v.options);
    assert_null(check(&p, 0, CALL("{\"num_predict\":50}"), &v));
    assert_int_equal(json_integer_value(json_object_get(v.options, "num_predict")), 50);
    json_decref(v.options);
    /* an empty object sends nothing */
    assert_null(check(&p, 0, CALL("{}"), &v));
    assert_null(v.options);

    /* everything else is refused, naming the option */
    struct { const char *opts, *message; } bad[] = {
        {"{\"num_gpu\":99}", "Option 'num_gpu' not allowed"},
        {"{\"temperature\":{\"x\":1}}", "Invalid value for option 'temperature'"},
        {"{\"temperature\":\"hot\"}", "Invalid value for option 'temperature'"},
        {"{\"temperature\":100}", "Invalid value for option 'temperature'"},
        {"{\"top_k\":1.5}", "Invalid value for option 'top_k'"},
        {"{\"top_k\":true}", "Invalid value for option 'top_k'"},
        {"{\"num_predict\":0}", "Invalid value for option 'num_predict'"},
        {"{\"num_predict\":-3}", "Invalid value for option 'num_predict'"},
        {"{\"num_ctx\":0}", "Invalid value for option 'num_ctx'"},
        {"{\"stop\":[1]}", "Invalid value for option 'stop'"},
        {"{\"stop\":\"\"}", "Invalid value for option 'stop'"},
        {"{\"penalize_newline\":1}", "Invalid value for option 'penalize_newline'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[256];
        snprintf(json, sizeof json, CALL("%s"), bad[i].opts);
        const char *cls = check(&p, 0, json, &v);
        if (cls == NULL || strcmp(cls, WF_AI_ERR_OPTIONS) != 0 ||
            strcmp(v.message, bad[i].message) != 0)
            fail_msg("options %s: got %s '%s'", bad[i].opts, cls ? cls : "(allowed)", v.message);
        assert_null(v.options);
        assert_true(v.detail[0] != '\0');
    }
#undef CALL
}

static void test_allowlist_is_config(void **state)
{
    (void)state;
    wf_config p = policy_cfg();
    assert_true(wf_config_model_allowed(&p, "mistral:latest"));
    assert_false(wf_config_model_allowed(&p, "anything:1b"));
    wf_config all = {.allowed_models_all = 1};
    assert_true(wf_config_model_allowed(&all, "anything:1b"));
    wf_config none = {0};
    assert_false(wf_config_model_allowed(&none, "anything:1b"));
}

static void test_utf8_sanitize(void **state)
{
    (void)state;
    int cut;
    char *s = wf_utf8_sanitize("ab\xff" "c", 4, 100, &cut);
    assert_string_equal(s, "ab\xef\xbf\xbd" "c");
    assert_false(cut);
    free(s);
    /* cut at a character boundary, never inside one */
    s = wf_utf8_sanitize("a\xc3\xa9", 3, 2, &cut);
    assert_string_equal(s, "a");
    assert_true(cut);
    free(s);
    s = wf_utf8_sanitize("a\0b", 3, 10, &cut);
    assert_string_equal(s, "a\xef\xbf\xbd" "b");
    free(s);
    /* surrogates and overlong forms are not UTF-8 */
    s = wf_utf8_sanitize("\xed\xa0\x80\xc0\xaf", 5, 10, &cut);
    assert_null(strchr(s, '\xed'));
    free(s);
    assert_int_equal(wf_utf8_chars("\xc3\xa9x", 3), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_order_of_checks),
        cmocka_unit_test(test_system_text_counts),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_allowlist_is_config),
        cmocka_unit_test(test_utf8_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
