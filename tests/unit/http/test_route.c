/* test_route.c - the routing table: every endpoint, 404 vs 405, the Allow
 * sets, path parameters, static paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "http/route.h"

static wf_route match(const char *method, const char *path)
{
    wf_route r;
    wf_route_match(wf_method_parse(method), path, &r);
    return r;
}

static void test_fixed_endpoints(void **state)
{
    (void)state;
    assert_int_equal(match("GET", "/health").id, WF_ROUTE_HEALTH);
    assert_int_equal(match("HEAD", "/health").id, WF_ROUTE_HEALTH);
    assert_int_equal(match("GET", "/health/ollama").id, WF_ROUTE_HEALTH_OLLAMA);
    assert_int_equal(match("GET", "/api/models/list").id, WF_ROUTE_MODELS_LIST);
    assert_int_equal(match("GET", "/api/plugins/list").id, WF_ROUTE_PLUGINS_LIST);
    assert_int_equal(match("POST", "/api/plugins/upload").id, WF_ROUTE_PLUGIN_UPLOAD);
    assert_int_equal(match("POST", "/api/plugins/run").id, WF_ROUTE_PLUGIN_RUN);
    assert_int_equal(match("GET", "/api/runs").id, WF_ROUTE_RUNS_LIST);
    assert_int_equal(match("GET", "/metrics").id, WF_ROUTE_METRICS);
    assert_int_equal(match("GET", "/openapi.json").id, WF_ROUTE_OPENAPI);
    assert_int_equal(match("GET", "/docs").id, WF_ROUTE_DOCS);
}

static void test_params(void **state)
{
    (void)state;
    wf_route r = match("GET", "/api/plugins/hello_1/code");
    assert_int_equal(r.id, WF_ROUTE_PLUGIN_CODE);
    assert_int_equal(r.param_len, 7);
    assert_memory_equal(r.param, "hello_1", 7);
    r = match("DELETE", "/api/plugins/hello");
    assert_int_equal(r.id, WF_ROUTE_PLUGIN_DELETE);
    assert_int_equal(r.param_len, 5);
    assert_true(r.needs_auth);
    assert_false(r.has_body);
    r = match("GET", "/api/runs/1b4e28ba-2fa1-11d2-883f-0016d3cca427");
    assert_int_equal(r.id, WF_ROUTE_RUN_GET);
    assert_int_equal(r.param_len, 36);
    r = match("POST", "/api/runs/1b4e28ba-2fa1-11d2-883f-0016d3cca427/cancel");
    assert_int_equal(r.id, WF_ROUTE_RUN_CANCEL);
    assert_int_equal(r.param_len, 36);
    assert_true(r.needs_auth);
    assert_false(r.has_body);
    assert_string_equal(wf_route_allow(r.allowed), "POST, OPTIONS");
    r = match("GET", "/api/runs/1b4e28ba-2fa1-11d2-883f-0016d3cca427/cancel");
    assert_int_equal(r.id, WF_ROUTE_NONE);
    r = match("POST", "/api/runs");
    assert_int_equal(r.id, WF_ROUTE_RUN_SUBMIT);
    assert_true(r.needs_auth);
    assert_true(r.has_body);
    assert_string_equal(wf_route_allow(r.allowed), "GET, HEAD, POST, OPTIONS");
    assert_int_equal(match("GET", "/api/runs").id, WF_ROUTE_RUNS_LIST);
    /* a plugin may be called "list": DELETE reaches it */
    r = match("DELETE", "/api/plugins/list");
    assert_int_equal(r.id, WF_ROUTE_PLUGIN_DELETE);
    assert_string_equal(wf_route_allow(r.allowed), "GET, HEAD, DELETE, OPTIONS");
}

static void test_not_found_and_not_allowed(void **state)
{
    (void)state;
    wf_route r = match("GET", "/nope/deeper");
    assert_int_equal(r.id, WF_ROUTE_NONE);
    assert_int_equal(r.allowed, 0);
    r = match("GET", "/api/nothing");
    assert_int_equal(r.allowed, 0);
    r = match("GET", "/api/plugins//code");
    assert_int_equal(r.allowed, 0);
    r = match("GET", "/api/plugins/a/b/code");
    assert_int_equal(r.allowed, 0);
    r = match("GET", "/health/");
    assert_int_equal(r.allowed, 0);

    r = match("POST", "/health");
    assert_int_equal(r.id, WF_ROUTE_NONE);
    assert_string_equal(wf_route_allow(r.allowed), "GET, HEAD, OPTIONS");
    r = match("GET", "/api/plugins/run");
    assert_int_equal(r.id, WF_ROUTE_NONE);
    assert_string_equal(wf_route_allow(r.allowed), "POST, DELETE, OPTIONS");
    r = match("PATCH", "/api/plugins/upload");
    assert_int_equal(r.id, WF_ROUTE_NONE);
    assert_true(r.allowed & WF_METHOD_POST);
    r = match("OPTIONS", "/api/plugins/run");
    assert_int_equal(r.id, WF_ROUTE_NONE);
    assert_true(r.allowed & WF_METHOD_OPTIONS);
}

static void test_body_and_auth_flags(void **state)
{
    (void)state;
    assert_true(match("POST", "/api/plugins/upload").has_body);
    assert_true(match("POST", "/api/plugins/upload").needs_auth);
    assert_true(match("POST", "/api/plugins/run").has_body);
    assert_false(match("GET", "/health").has_body);
    /* the token guards everything but what is public on purpose */
    static const char *guarded[][2] = {
        {"GET", "/api/plugins/list"}, {"GET", "/api/plugins/x/code"}, {"DELETE", "/api/plugins/x"},
        {"GET", "/api/runs"}, {"GET", "/api/runs/0b0e5f4e-6c8d-4a8e-9d7f-1f2e3d4c5b6a"},
        {"GET", "/api/models/list"}, {"GET", "/health/ollama"}, {"GET", "/metrics"},
        {"POST", "/api/plugins/run"}, {"HEAD", "/api/plugins/list"},
    };
    for (size_t i = 0; i < sizeof guarded / sizeof guarded[0]; i++)
        if (!match(guarded[i][0], guarded[i][1]).needs_auth)
            fail_msg("%s %s should need the token", guarded[i][0], guarded[i][1]);
    static const char *open_[][2] = {
        {"GET", "/health"}, {"HEAD", "/health"}, {"GET", "/openapi.json"}, {"GET", "/docs"}, {"GET", "/redoc"},
        {"GET", "/"}, {"GET", "/assets/index-abc.js"}, {"GET", "/nothing/here"},
        {"OPTIONS", "/api/plugins/upload"},
    };
    for (size_t i = 0; i < sizeof open_ / sizeof open_[0]; i++)
        if (match(open_[i][0], open_[i][1]).needs_auth)
            fail_msg("%s %s should be public", open_[i][0], open_[i][1]);
}

static void test_slash_redirect(void **state)
{
    (void)state;
    assert_int_equal(wf_route_slash_redirect("/api/plugins/list/"), strlen("/api/plugins/list"));
    assert_int_equal(wf_route_slash_redirect("/api/plugins/list///"), strlen("/api/plugins/list"));
    assert_int_equal(wf_route_slash_redirect("/health/"), strlen("/health"));
    assert_int_equal(wf_route_slash_redirect("/api/plugins/x/code/"), strlen("/api/plugins/x/code"));
    assert_int_equal(wf_route_slash_redirect("/api/plugins/upload/"), strlen("/api/plugins/upload"));
    assert_int_equal(wf_route_slash_redirect("/"), 0);
    assert_int_equal(wf_route_slash_redirect("//"), 0);
    assert_int_equal(wf_route_slash_redirect("/health"), 0);
    assert_int_equal(wf_route_slash_redirect("/nothing/"), 0);
    assert_int_equal(wf_route_slash_redirect("/api/"), 0);
}

static void test_static(void **state)
{
    (void)state;
    assert_int_equal(match("GET", "/").id, WF_ROUTE_STATIC);
    assert_int_equal(match("GET", "/assets/index-abc.js").id, WF_ROUTE_STATIC);
    assert_int_equal(match("GET", "/favicon.ico").id, WF_ROUTE_STATIC);
    assert_int_equal(match("POST", "/").id, WF_ROUTE_NONE);
    assert_int_equal(match("GET", "/api/x.js").allowed, 0);
    assert_int_equal(match("GET", "/builder").allowed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_endpoints),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_not_found_and_not_allowed),
        cmocka_unit_test(test_body_and_auth_flags),
        cmocka_unit_test(test_slash_redirect),
        cmocka_unit_test(test_static),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
