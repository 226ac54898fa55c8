/* test_validate.c - plugin names, UTF-8, query integers, the AI call count,
 * bearer tokens and CORS origin decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "http/validate.h"

static int name_ok(const char *s)
{
    return wf_plugin_name_valid(s, strlen(s), NULL);
}

static void test_names(void **state)
{
    (void)state;
    /* Whatever the original accepts (the file name less .py) ... */
    assert_true(name_ok("hello"));
    assert_true(name_ok("a"));
    assert_true(name_ok("_private"));
    assert_true(name_ok("-leading"));
    assert_true(name_ok("a.b"));
    assert_true(name_ok("..."));
    assert_true(name_ok("my plugin"));
    assert_true(name_ok("caf\xc3\xa9"));
    assert_true(name_ok("100% ?#&+"));
    char max[2 * 128 + 1]; /* 128 two-byte characters */
    for (int i = 0; i < 128; i++)
        memcpy(max + 2 * i, "\xc3\xa9", 2);
    max[256] = '\0';
    assert_true(name_ok(max));
    char over[130];
    memset(over, 'a', 129);
    over[129] = '\0';
    /* ... less what no URL reaches or what is dangerous. */
    assert_false(name_ok(over));
    assert_false(name_ok(""));
    assert_false(name_ok("."));
    assert_false(name_ok(".."));
    assert_false(name_ok("../x"));
    assert_false(name_ok("a/b"));
    assert_false(name_ok("a\\b"));
    assert_false(name_ok("tab\there"));
    assert_false(name_ok("esc\x1b[31m"));
    assert_false(name_ok("del\x7f"));
    assert_false(name_ok("c1\xc2\x85"));      /* U+0085, a C1 control */
    assert_true(name_ok("nbsp\xc2\xa0"));     /* U+00A0 is not one */
    assert_false(name_ok("bad\xff"));         /* not UTF-8 */
    assert_false(wf_plugin_name_valid("ab\0c", 4, NULL));
    const char *why = NULL;
    assert_false(wf_plugin_name_valid("../etc/passwd", 13, &why));
    assert_non_null(why);
    assert_non_null(strstr(why, "no paths"));
    assert_false(wf_plugin_name_valid(over, 129, &why));
    assert_non_null(strstr(why, "128"));
    assert_true(wf_plugin_name_valid("ok", 2, &why));
    assert_null(why);
}

static void test_url_unescape(void **state)
{
    (void)state;
    char a[] = "/api/plugins/my%20pl%C3%BCgin/code";
    assert_int_equal(wf_url_unescape(a), strlen("/api/plugins/my pl\xc3\xbcgin/code"));
    assert_string_equal(a, "/api/plugins/my pl\xc3\xbcgin/code");
    char b[] = "x%00y%2f%zz%4";
    wf_url_unescape(b);
    assert_string_equal(b, "x%00y/%zz%4");
    char c[] = "a+b%2B";
    wf_url_unescape(c);
    assert_string_equal(c, "a+b+");
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(wf_utf8_valid("plain", 5));
    assert_true(wf_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
    assert_false(wf_utf8_valid("\xc3", 1));            /* truncated */
    assert_false(wf_utf8_valid("\xc0\xaf", 2));        /* overlong */
    assert_false(wf_utf8_valid("\xe0\x80\xaf", 3));    /* overlong */
    assert_false(wf_utf8_valid("\xed\xa0\x80", 3));    /* surrogate */
    assert_false(wf_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(wf_utf8_valid("\xff", 1));
    assert_false(wf_utf8_valid("\x80", 1));
    assert_true(wf_utf8_valid("", 0));
    assert_true(wf_has_nul("a\0b", 3));
    assert_false(wf_has_nul("abc", 3));
}

static void test_ints(void **state)
{
    (void)state;
    long v = -1;
    assert_int_equal(wf_parse_int("10", 1, 100, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(wf_parse_int("+5", 0, 100, &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(wf_parse_int("0", 1, 100, &v), -1);
    assert_int_equal(wf_parse_int("101", 1, 100, &v), -1);
    assert_int_equal(wf_parse_int("-1", 0, 100, &v), -1);
    assert_int_equal(wf_parse_int("1e3", 0, 10000, &v), -1);
    assert_int_equal(wf_parse_int("", 0, 100, &v), -1);
    assert_int_equal(wf_parse_int(" 1", 0, 100, &v), -1);
    assert_int_equal(wf_parse_int("99999999999999999999999", 0, 100, &v), -1);
    assert_int_equal(wf_parse_int(NULL, 0, 100, &v), -1);
}

static void test_calls(void **state)
{
    (void)state;
    const char *none = "print('hi')";
    assert_int_equal(wf_count_ai_calls(none, strlen(none)), 1);
    const char *two = "a = call_ai('m', 'p')\nb = call_ai('m', a)\n";
    assert_int_equal(wf_count_ai_calls(two, strlen(two)), 2);
    const char *spaced = "call_ai ('m')"; /* the original counted the exact text */
    assert_int_equal(wf_count_ai_calls(spaced, strlen(spaced)), 1);
    assert_int_equal(wf_count_ai_calls("call_ai(call_ai(", 16), 2);
    assert_int_equal(wf_count_ai_calls("call_ai(", 7), 1); /* length bounds the search */
}

static void test_auth(void **state)
{
    (void)state;
    assert_true(wf_auth_ok("Bearer s3cret", "s3cret"));
    assert_true(wf_auth_ok("bearer s3cret", "s3cret"));
    assert_false(wf_auth_ok("Bearer s3cre", "s3cret"));
    assert_false(wf_auth_ok("Bearer s3cretX", "s3cret"));
    assert_false(wf_auth_ok("Bearer ", "s3cret"));
    assert_false(wf_auth_ok("Basic s3cret", "s3cret"));
    assert_false(wf_auth_ok("s3cret", "s3cret"));
    assert_false(wf_auth_ok(NULL, "s3cret"));
    assert_false(wf_auth_ok("Bearer ", ""));
}

static void test_cors(void **state)
{
    (void)state;
    assert_string_equal(wf_cors_allow_origin("*", "http://a.example"), "*");
    assert_string_equal(wf_cors_allow_origin(NULL, NULL), "*");
    assert_string_equal(wf_cors_allow_origin("", "http://x"), "*");
    const char *list = "http://localhost:5173, https://app.example.com/";
    assert_string_equal(wf_cors_allow_origin(list, "http://localhost:5173"), "http://localhost:5173");
    assert_string_equal(wf_cors_allow_origin(list, "https://app.example.com"), "https://app.example.com");
    assert_null(wf_cors_allow_origin(list, "https://evil.example"));
    assert_null(wf_cors_allow_origin(list, "http://localhost:517"));
    assert_null(wf_cors_allow_origin(list, NULL));
}

static void test_run_ids(void **state)
{
    (void)state;
    assert_true(wf_run_id_valid("1b4e28ba-2fa1-11d2-883f-0016d3cca427", 36));
    assert_false(wf_run_id_valid("", 0));
    assert_false(wf_run_id_valid("1b4e28ba-2fa1-11d2-883f-0016d3cca427x", 37));
    assert_false(wf_run_id_valid("../x", 4));
    assert_false(wf_run_id_valid("a b", 3));
}

static void test_accept_encoding(void **state)
{
    (void)state;
    assert_true(wf_accepts_gzip("gzip"));
    assert_true(wf_accepts_gzip("gzip, deflate, br"));
    assert_true(wf_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(wf_accepts_gzip("deflate,gzip"));
    assert_false(wf_accepts_gzip(NULL));
    assert_false(wf_accepts_gzip(""));
    assert_false(wf_accepts_gzip("identity"));
    assert_false(wf_accepts_gzip("*"));
    assert_false(wf_accepts_gzip("gzip;q=0"));
    assert_false(wf_accepts_gzip("gzip; q=0.000, br"));
    assert_false(wf_accepts_gzip("x-gzip"));
    assert_false(wf_accepts_gzip("gzipx"));
    assert_true(wf_accepts_gzip("gzip;q=0.01"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_url_unescape),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_run_ids),
        cmocka_unit_test(test_accept_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
