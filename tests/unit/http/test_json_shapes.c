/* test_json_shapes.c - the answer shapes: exact field sets of the original
 * plus ours, nulls, the parsed `result`, and the models list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/json_shapes.h"

/* The object's keys, sorted and comma-joined. */
static void keys_of(json_t *o, char *out, size_t outlen)
{
    const char *k[64];
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) k[n++] = key;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(k[j], k[i]) < 0) {
                const char *t = k[i];
                k[i] = k[j];
                k[j] = t;
            }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", outlen - strlen(out) - 1);
        strncat(out, k[i], outlen - strlen(out) - 1);
    }
}

static wf_plugin sample_plugin(void)
{
    wf_plugin p = {
        .name = "hello", .code = "print(1)\n", .description = "d", .input_type = "json",
        .input_hint = "h", .calls = 2, .version = 3, .size_bytes = 9, .sha256 = "ab",
        .created_at = "2026-11-25T13:01:55.123Z", .updated_at = "2026-11-25T13:02:55.123Z",
    };
    return p;
}

static void test_plugin_shapes(void **state)
{
    (void)state;
    char keys[512];
    wf_plugin p = sample_plugin();
    json_t *j = wf_json_plugin_summary(&p);
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "calls,created_at,description,input_hint,input_type,name,sha256,size_bytes,updated_at,version");
    assert_int_equal(json_integer_value(json_object_get(j, "calls")), 2);
    json_decref(j);

    j = wf_json_plugin_code(&p);
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "calls,code,created_at,description,input_hint,input_type,name,sha256,size_bytes,updated_at,version");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "print(1)\n");
    json_decref(j);

    j = wf_json_plugin_uploaded(&p);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "uploaded");
    assert_string_equal(json_string_value(json_object_get(j, "input_type")), "json");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 3);
    json_decref(j);

    wf_plugin two[2] = { sample_plugin(), sample_plugin() };
    two[1].name = "other";
    two[1].description = NULL; /* absent text is "" */
    j = wf_json_plugin_list(two, 2);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "description")), "");
    assert_null(json_object_get(json_array_get(j, 0), "code"));
    json_decref(j);
}

static void test_run_shapes(void **state)
{
    (void)state;
    char keys[512];
    wf_run_result r = {
        .run_id = "id1", .plugin = "hello", .version = 1, .success = 1, .output = "hi\n",
        .error = NULL, .error_type = NULL, .result_json = "{\"x\":[1,2]}", .logs = "",
        .ai_calls = 2, .duration_ms = 15, .started_at = "2026-11-25T13:01:55.123Z",
    };
    json_t *j = wf_run_result_json(&r);
    keys_of(j, keys, sizeof keys);
    assert_string_equal(keys, "ai_calls,duration_ms,error,error_type,logs,output,plugin,result,run_id,started_at,stdout,success,version");
    assert_true(json_is_true(json_object_get(j, "success")));
    assert_true(json_is_null(json_object_get(j, "error")));
    assert_true(json_is_null(json_object_get(j, "error_type")));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(json_object_get(j, "result"), "x"), 1)), 2);
    json_decref(j);

    r.success = 0;
    r.error = "Plugin exceeded 120s limit";
    r.error_type = "timeout";
    r.result_json = "not json";
    r.output = "\xff bad utf-8"; /* plugin output is not trusted to be UTF-8 */
    j = wf_run_result_json(&r);
    assert_true(json_is_false(json_object_get(j, "success")));
    assert_string_equal(json_string_value(json_object_get(j, "error_type")), "timeout");
    assert_true(json_is_null(json_object_get(j, "result")));
    /* each bad byte becomes U+FFFD: the answer stays valid JSON */
    assert_string_equal(json_string_value(json_object_get(j, "output")), "\xef\xbf\xbd bad utf-8");
    assert_null(json_object_get(j, "input_data"));
    char *dumped = json_dumps(j, JSON_COMPACT);
    assert_non_null(dumped);
    free(dumped);
    json_decref(j);

    /* a run without an id (the CLI's, before this was one builder) says
     * null, as the HTTP answer always did */
    r.run_id = NULL;
    j = wf_run_result_json(&r);
    assert_true(json_is_null(json_object_get(j, "run_id")));
    json_decref(j);

    wf_run_record rec = { .run_id = "id2", .plugin = "p", .success = 1, .output = "o",
                          .input_data = "in \xfe", .result_json = "42" };
    j = wf_json_run_record(&rec);
    assert_string_equal(json_string_value(json_object_get(j, "input_data")), "in \xef\xbf\xbd");
    assert_int_equal(json_integer_value(json_object_get(j, "result")), 42);
    assert_string_equal(json_string_value(json_object_get(j, "logs")), "");
    json_decref(j);

    /* the history list's entry: the summary fields only, nothing large */
    wf_run_record sum = { .run_id = "id3", .plugin = "p", .version = 4, .success = 0,
                          .error_type = "timeout", .ai_calls = 3, .duration_ms = 1234,
                          .started_at = "2026-01-01T00:00:00.000Z", .output = "o" };
    j = wf_json_run_summary(&sum);
    char *t = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert_string_equal(t, "{\"run_id\":\"id3\",\"plugin\":\"p\",\"version\":4,\"success\":false,"
                           "\"error_type\":\"timeout\",\"ai_calls\":3,\"duration_ms\":1234,"
                           "\"started_at\":\"2026-01-01T00:00:00.000Z\"}");
    free(t);
    json_decref(j);
}

static void test_error_shape(void **state)
{
    (void)state;
    json_t *j = wf_json_error("Plugin 'x' not found");
    char *t = json_dumps(j, JSON_COMPACT);
    assert_string_equal(t, "{\"detail\":\"Plugin 'x' not found\"}");
    free(t);
    json_decref(j);
    j = wf_json_error("bad \xff byte");
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "bad ? byte");
    json_decref(j);
}

static void test_models(void **state)
{
    (void)state;
    json_t *tags = json_loads(
        "[{\"name\":\"mistral:latest\",\"size\":4100000000,"
        "\"details\":{\"family\":\"llama\",\"parameter_size\":\"7.2B\",\"quantization_level\":\"Q4_0\"}},"
        "{\"name\":\"nomic-embed-text:latest\",\"size\":270000000,\"details\":{}}]", 0, NULL);
    assert_non_null(tags);
    char *allowed[] = { "qwen2.5:1.5b", "mistral:latest", "phi3:mini", NULL };
    wf_config cfg = { .allowed_models = allowed, .allowed_models_n = 3 };
    json_t *l = wf_json_models_list(&cfg, tags);
    assert_int_equal(json_array_size(l), 3);
    json_t *q = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(q, "name")), "qwen2.5:1.5b");
    assert_string_equal(json_string_value(json_object_get(q, "type")), "text");
    assert_string_equal(json_string_value(json_object_get(q, "description")),
                        "Multilingual text processing");
    assert_true(json_is_false(json_object_get(q, "available")));
    assert_true(json_is_true(json_object_get(q, "allowed")));
    assert_true(json_is_null(json_object_get(q, "family")));
    json_t *m = json_array_get(l, 1);
    assert_true(json_is_true(json_object_get(m, "available")));
    assert_string_equal(json_string_value(json_object_get(m, "family")), "llama");
    assert_string_equal(json_string_value(json_object_get(m, "parameter_size")), "7.2B");
    assert_string_equal(json_string_value(json_object_get(m, "quantization")), "Q4_0");
    assert_int_equal(json_integer_value(json_object_get(m, "size_bytes")), 4100000000LL);
    /* the original's table: mistral is its code model */
    assert_string_equal(json_string_value(json_object_get(m, "type")), "code");
    assert_string_equal(json_string_value(json_object_get(m, "description")),
                        "Code review, bug detection, generation");
    json_t *o = json_array_get(l, 2);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "text");
    assert_string_equal(json_string_value(json_object_get(o, "description")), "phi3:mini model");
    json_decref(l);

    /* ALLOWED_MODELS=*: every Ollama model, in Ollama's order */
    wf_config all = { .allowed_models_all = 1 };
    l = wf_json_models_list(&all, tags);
    assert_int_equal(json_array_size(l), 2);
    json_t *e = json_array_get(l, 1);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "text");
    assert_string_equal(json_string_value(json_object_get(e, "description")),
                        "nomic-embed-text:latest model");
    json_decref(l);

    /* Ollama down */
    l = wf_json_models_list(&cfg, NULL);
    assert_int_equal(json_array_size(l), 3);
    assert_true(json_is_false(json_object_get(json_array_get(l, 1), "available")));
    json_decref(l);
    l = wf_json_models_list(&all, NULL);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    json_decref(tags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_shapes),
        cmocka_unit_test(test_run_shapes),
        cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
