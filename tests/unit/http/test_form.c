/* test_form.c - request body parsers: Content-Type classification,
 * multipart/form-data, urlencoded and JSON, including malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/wf_error.h"
#include "http/form.h"

static void test_content_types(void **state)
{
    (void)state;
    enum wf_body_kind k;
    char b[WF_BOUNDARY_MAX + 1];
    assert_int_equal(wf_body_kind_parse(NULL, &k, b, sizeof b), 0);
    assert_int_equal(k, WF_BODY_NONE);
    assert_int_equal(wf_body_kind_parse("application/json; charset=utf-8", &k, b, sizeof b), 0);
    assert_int_equal(k, WF_BODY_JSON);
    assert_int_equal(wf_body_kind_parse("Application/X-WWW-Form-Urlencoded", &k, b, sizeof b), 0);
    assert_int_equal(k, WF_BODY_URLENCODED);
    assert_int_equal(wf_body_kind_parse("text/plain", &k, b, sizeof b), 0);
    assert_int_equal(k, WF_BODY_OTHER);
    assert_int_equal(wf_body_kind_parse("application/jsonx", &k, b, sizeof b), 0);
    assert_int_equal(k, WF_BODY_OTHER);
    assert_int_equal(wf_body_kind_parse("multipart/form-data; boundary=----abc123", &k, b, sizeof b), 0);
    assert_int_equal(k, WF_BODY_MULTIPART);
    assert_string_equal(b, "----abc123");
    assert_int_equal(wf_body_kind_parse("multipart/form-data; charset=x; boundary=\"q b\"", &k, b, sizeof b), 0);
    assert_string_equal(b, "q b");
    assert_int_equal(wf_body_kind_parse("multipart/form-data", &k, b, sizeof b), WF_EINVAL);
    assert_int_equal(wf_body_kind_parse("multipart/form-data; boundary=", &k, b, sizeof b), WF_EINVAL);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 80);
    assert_int_equal(wf_body_kind_parse(longb, &k, b, sizeof b), WF_EINVAL);
}

static const char mp[] =
    "preamble\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"hello.py\"\r\n"
    "Content-Type: text/x-python\r\n"
    "\r\n"
    "print('hi')\r\n--not the boundary\r\n"
    "\r\n--XyZ\r\n"
    "content-disposition: form-data; name=description\r\n"
    "\r\n"
    "Says \"hi\"\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"empty\"\r\n"
    "\r\n"
    "\r\n"
    "--XyZ--\r\n"
    "epilogue";

static void test_multipart(void **state)
{
    (void)state;
    wf_form f;
    char err[256];
    assert_int_equal(wf_form_parse_multipart("XyZ", mp, sizeof mp - 1, &f, err, sizeof err), 0);
    assert_int_equal(f.n, 3);
    const wf_form_field *file = wf_form_get(&f, "file");
    assert_non_null(file);
    assert_string_equal(file->filename, "hello.py");
    assert_string_equal(file->value, "print('hi')\r\n--not the boundary\r\n");
    assert_int_equal(file->value_len, strlen(file->value));
    const wf_form_field *d = wf_form_get(&f, "description");
    assert_non_null(d);
    assert_null(d->filename);
    assert_string_equal(d->value, "Says \"hi\"");
    assert_int_equal(wf_form_get(&f, "empty")->value_len, 0);
    assert_null(wf_form_get(&f, "missing"));
    wf_form_free(&f);
}

static void test_multipart_binary_and_nul(void **state)
{
    (void)state;
    const char body[] = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\na\0b\xff\r\n--b--";
    wf_form f;
    assert_int_equal(wf_form_parse_multipart("b", body, sizeof body - 1, &f, NULL, 0), 0);
    assert_int_equal(f.fields[0].value_len, 4);
    assert_memory_equal(f.fields[0].value, "a\0b\xff", 4);
    wf_form_free(&f);
}

static void expect_bad_multipart(const char *boundary, const char *body)
{
    wf_form f;
    char err[256] = "";
    assert_int_equal(wf_form_parse_multipart(boundary, body, strlen(body), &f, err, sizeof err), WF_EINVAL);
    assert_true(err[0] != '\0');
    assert_int_equal(f.n, 0);
    assert_null(f.fields);
}

static void test_multipart_malformed(void **state)
{
    (void)state;
    expect_bad_multipart("b", "");
    expect_bad_multipart("b", "no boundary at all");
    expect_bad_multipart("b", "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nvalue never closed");
    expect_bad_multipart("b", "--b\r\nContent-Disposition: form-data; name=\"x\"\r\nheaders never end");
    expect_bad_multipart("b", "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nv\r\n--b--");
    expect_bad_multipart("b", "--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--");
    expect_bad_multipart("b", "--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\nv\r\n--b--");
    expect_bad_multipart("b", "--b\r\nX-No-Colon\r\n\r\nv\r\n--b--");
    expect_bad_multipart("b", "--bjunk");
    /* the same field twice */
    expect_bad_multipart("b", "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n"
                              "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n2\r\n--b--");
}

static void test_multipart_empty_and_many(void **state)
{
    (void)state;
    wf_form f;
    assert_int_equal(wf_form_parse_multipart("b", "--b--\r\n", 7, &f, NULL, 0), 0);
    assert_int_equal(f.n, 0);
    char body[20000] = "";
    for (int i = 0; i < WF_FORM_MAX_FIELDS + 1; i++) {
        char part[100];
        snprintf(part, sizeof part, "--b\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
        strcat(body, part);
    }
    strcat(body, "--b--");
    char err[256];
    assert_int_equal(wf_form_parse_multipart("b", body, strlen(body), &f, err, sizeof err), WF_EINVAL);
    assert_non_null(strstr(err, "too many"));
}

static void test_urlencoded(void **state)
{
    (void)state;
    wf_form f;
    char err[256];
    const char *b = "plugin_name=hello&input_data=a+b%20c%26d%3D&&flag";
    assert_int_equal(wf_form_parse_urlencoded(b, strlen(b), &f, err, sizeof err), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(wf_form_get(&f, "plugin_name")->value, "hello");
    assert_string_equal(wf_form_get(&f, "input_data")->value, "a b c&d=");
    assert_string_equal(wf_form_get(&f, "flag")->value, "");
    wf_form_free(&f);

    assert_int_equal(wf_form_parse_urlencoded("x=%zz", 5, &f, err, sizeof err), WF_EINVAL);
    assert_int_equal(wf_form_parse_urlencoded("x=%4", 4, &f, err, sizeof err), WF_EINVAL);
    assert_int_equal(wf_form_parse_urlencoded("=v", 2, &f, err, sizeof err), WF_EINVAL);
    assert_int_equal(wf_form_parse_urlencoded("a%00b=v", 7, &f, err, sizeof err), WF_EINVAL);
    assert_int_equal(wf_form_parse_urlencoded("x=1&x=2", 7, &f, err, sizeof err), WF_EINVAL);
    assert_int_equal(wf_form_parse_urlencoded("", 0, &f, err, sizeof err), 0);
    assert_int_equal(f.n, 0);
    /* a NUL inside a value is kept with its length */
    assert_int_equal(wf_form_parse_urlencoded("v=a%00b", 7, &f, err, sizeof err), 0);
    assert_int_equal(f.fields[0].value_len, 3);
    wf_form_free(&f);
}

static void test_json(void **state)
{
    (void)state;
    wf_form f;
    char err[256];
    const char *b = "{\"plugin_name\":\"hello\",\"input_data\":{\"a\":[1,2]},\"n\":null,\"k\":3}";
    assert_int_equal(wf_form_parse_json(b, strlen(b), &f, err, sizeof err), 0);
    assert_string_equal(wf_form_get(&f, "plugin_name")->value, "hello");
    assert_false(wf_form_get(&f, "plugin_name")->not_string);
    assert_string_equal(wf_form_get(&f, "input_data")->value, "{\"a\":[1,2]}");
    assert_true(wf_form_get(&f, "input_data")->not_string);
    assert_null(wf_form_get(&f, "n"));
    assert_string_equal(wf_form_get(&f, "k")->value, "3");
    wf_form_free(&f);

    assert_int_equal(wf_form_parse_json("[1]", 3, &f, err, sizeof err), WF_EINVAL);
    assert_non_null(strstr(err, "object"));
    assert_int_equal(wf_form_parse_json("{", 1, &f, err, sizeof err), WF_EINVAL);
    assert_non_null(strstr(err, "not valid JSON"));
    assert_int_equal(wf_form_parse_json("{\"a\":1,\"a\":2}", 13, &f, err, sizeof err), WF_EINVAL);
    assert_int_equal(wf_form_parse_json("", 0, &f, err, sizeof err), WF_EINVAL);
    assert_int_equal(wf_form_parse_json("{\"a\":\"\\u0000\"}", 14, &f, err, sizeof err), WF_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_multipart_binary_and_nul),
        cmocka_unit_test(test_multipart_malformed),
        cmocka_unit_test(test_multipart_empty_and_many),
        cmocka_unit_test(test_urlencoded),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
