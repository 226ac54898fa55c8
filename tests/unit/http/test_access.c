/* test_access.c - the admission rules of http/access.h: which Host names
 * the server answers to (DNS rebinding), which browser origins are
 * allowed, and CORS_ORIGINS=*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/access.h"

static void test_hosts(void **state)
{
    (void)state;
    static const char *ok[] = {
        "127.0.0.1", "127.0.0.1:8000", "10.1.2.3:80", "[::1]", "[::1]:8000", "[fe80::1]:1",
        "localhost", "LOCALHOST:8000", "localhost.", "app.localhost:5173", "", NULL,
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!wf_access_host_ok(ok[i], "127.0.0.1", NULL))
            fail_msg("Host '%s' should be answered", ok[i] ? ok[i] : "(none)");
    static const char *bad[] = {
        "evil.example", "evil.example:8000", "127.0.0.1.nip.io", "localhost.evil.example",
        "2130706433", "0x7f.1", "[evil]", "[::1", "127.0.0.1:80:80", "127.0.0.1:", "a:b",
        "127.0.0.1:1234567", "xlocalhost", ":8000", "/api/x.localhost", "a b.localhost",
        "evil%2ecom.localhost", "a\\b.localhost",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (wf_access_host_ok(bad[i], "127.0.0.1", NULL))
            fail_msg("Host '%s' should be refused", bad[i]);
}

static void test_allowed_hosts(void **state)
{
    (void)state;
    const char *list = " wasmforge.lan , .corp.example,api.example:8443 ";
    assert_true(wf_access_host_ok("wasmforge.lan", "127.0.0.1", list));
    assert_true(wf_access_host_ok("WASMFORGE.LAN:8000", "127.0.0.1", list));
    assert_true(wf_access_host_ok("corp.example", "127.0.0.1", list));
    assert_true(wf_access_host_ok("a.b.corp.example:1", "127.0.0.1", list));
    assert_true(wf_access_host_ok("api.example", "127.0.0.1", list));
    assert_false(wf_access_host_ok("xcorp.example", "127.0.0.1", list));
    assert_false(wf_access_host_ok("wasmforge.lan.evil", "127.0.0.1", list));
    assert_false(wf_access_host_ok("evil.example", "127.0.0.1", list));
    /* the HOST setting's own name, and "*" */
    assert_true(wf_access_host_ok("box.lan:8000", "box.lan", NULL));
    assert_true(wf_access_host_ok("anything.example", "127.0.0.1", "*"));
}

static void test_origins(void **state)
{
    (void)state;
    const char *host = "127.0.0.1:8000";
    static const char *ok[] = {
        "http://127.0.0.1:8000", "http://localhost:5173", "http://127.0.0.1:3000",
        "http://127.1.2.3", "http://[::1]:8080", "https://localhost", "http://app.localhost:1",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!wf_access_origin_ok(ok[i], host, NULL))
            fail_msg("Origin '%s' should be allowed", ok[i]);
    static const char *bad[] = {
        "http://evil.example", "null", "", "file://", "http://127.0.0.1.evil.example",
        "http://localhost.evil.example", "http://[::2]:80", "ftp://localhost", "http://",
        "http://evil.example/127.0.0.1:8000", "http://user@localhost", "http://10.0.0.1:8000",
        "http://127.0.0.1:8000/", "http://a%2fb.localhost", "http://a\\b.localhost",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (wf_access_origin_ok(bad[i], host, NULL))
            fail_msg("Origin '%s' should not be allowed", bad[i]);
    assert_false(wf_access_origin_ok(NULL, host, NULL));
    /* the server's own origin, whatever its name (Host was checked first) */
    assert_true(wf_access_origin_ok("http://box.lan:8000", "box.lan:8000", NULL));
    assert_false(wf_access_origin_ok("http://box.lan:8001", "box.lan:8000", NULL));
    /* CORS_ORIGINS adds origins; "*" allows every one */
    assert_true(wf_access_origin_ok("http://app.example", host, "http://x.example, http://app.example/"));
    assert_false(wf_access_origin_ok("http://evil.example", host, "http://app.example"));
    assert_true(wf_access_origin_ok("http://evil.example", host, "*"));
    assert_true(wf_access_cors_any("*"));
    assert_true(wf_access_cors_any("http://a.example, *"));
    assert_false(wf_access_cors_any("http://a.example"));
    assert_false(wf_access_cors_any(NULL));
    assert_false(wf_access_cors_any(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts),
        cmocka_unit_test(test_allowed_hosts),
        cmocka_unit_test(test_origins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
