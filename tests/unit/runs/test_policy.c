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

static void test_order_of_checks(void **state)
{
    (void)state;
    char *allowed[] = {"mistral:latest", NULL};
    wf_ai_policy p = {.max_calls = 2, .max_prompt_chars = 5, .allowed = allowed, .allowed_n = 1};
    char msg[256];
    wf_bridge_msg m;
    json_t *keep;
    assert_int_equal(parse("{\"op\":\"call_ai\",\"model\":\"mistral:latest\",\"prompt\":\"hi\"}",
                           &m, &keep), 0);
    assert_null(wf_ai_policy_check(&p, 0, &m, msg, sizeof msg));
    assert_null(wf_ai_policy_check(&p, 1, &m, msg, sizeof msg));
    assert_string_equal(wf_ai_policy_check(&p, 2, &m, msg, sizeof msg), WF_AI_ERR_LIMIT);
    assert_string_equal(msg, "AI call limit reached");
    json_decref(keep);

    /* Not allowed and too long: the allowlist is checked first. */
    assert_int_equal(parse("{\"op\":\"call_ai\",\"model\":\"mistral\",\"prompt\":\"toolong\"}",
                           &m, &keep), 0);
    assert_string_equal(wf_ai_policy_check(&p, 0, &m, msg, sizeof msg), WF_AI_ERR_NOT_ALLOWED);
    assert_string_equal(msg, "Model 'mistral' not allowed");
    /* ... and the call limit before that. */
    assert_string_equal(wf_ai_policy_check(&p, 2, &m, msg, sizeof msg), WF_AI_ERR_LIMIT);
    json_decref(keep);

    assert_int_equal(parse("{\"op\":\"call_ai\",\"model\":\"mistral:latest\",\"prompt\":\"toolong\"}",
                           &m, &keep), 0);
    assert_string_equal(wf_ai_policy_check(&p, 0, &m, msg, sizeof msg), WF_AI_ERR_TOO_LONG);
    assert_non_null(strstr(msg, "Prompt too long"));
    json_decref(keep);

    /* Characters, not bytes: five 2-byte characters fit. */
    assert_int_equal(parse("{\"op\":\"call_ai\",\"model\":\"mistral:latest\","
                           "\"prompt\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", &m, &keep), 0);
    assert_null(wf_ai_policy_check(&p, 0, &m, msg, sizeof msg));
    json_decref(keep);

    assert_int_equal(parse("{\"op\":\"call_ai\",\"model\":\"\",\"prompt\":\"x\"}", &m, &keep), 0);
    assert_string_equal(wf_ai_policy_check(&p, 0, &m, msg, sizeof msg), WF_AI_ERR_GENERIC);
    json_decref(keep);

    /* A NUL cannot smuggle a different model name past the allowlist. */
    assert_int_equal(parse("{\"op\":\"call_ai\",\"model\":\"mistral:latest\\u0000x\","
                           "\"prompt\":\"x\"}", &m, &keep), 0);
    assert_string_equal(wf_ai_policy_check(&p, 0, &m, msg, sizeof msg), WF_AI_ERR_NOT_ALLOWED);
    json_decref(keep);
}

static void test_empty_allowlist_allows_all(void **state)
{
    (void)state;
    wf_ai_policy p = {.max_calls = 1, .max_prompt_chars = 100};
    assert_true(wf_ai_model_allowed(&p, "anything:1b"));
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
        cmocka_unit_test(test_empty_allowlist_allows_all),
        cmocka_unit_test(test_utf8_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
