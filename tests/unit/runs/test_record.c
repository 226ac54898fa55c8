/* test_record.c - the run's `output` shaped from its stdout as the original
 * shaped it (wf_run_output_shape, runs/run.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runs/run.h"

static void expect_shape(const char *in, const char *want)
{
    char *got = wf_run_output_shape(in);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* The examples and the edges of the rule. */
static void test_lines(void **state)
{
    (void)state;
    expect_shape("hello world\n", "hello world");
    expect_shape("  indented\n\ntrailing   \n\tTab\n", "indented\ntrailing\nTab");
    expect_shape("", "");
    expect_shape("\n\n  \n\t\n", "");
    expect_shape("no newline", "no newline");
    expect_shape("a\r\nb\rc\n", "a\nb\nc");          /* universal newlines */
    expect_shape("\r\n\r\n x \r\n", "x");
    expect_shape("a  b\n", "a  b");                  /* inside a line: kept */
    expect_shape("\v\fx\x1c\x1f \n", "x");           /* \v \f \x1c-\x1f are spaces */
    expect_shape("\x01" "x\x7f\n", "\x01" "x\x7f");        /* other controls are not */
    expect_shape("\xc2\xa0" "caf\xc3\xa9" "\xe3\x80\x80\n", "caf\xc3\xa9"); /* U+00A0, U+3000 */
    expect_shape("\xe2\x80\x8b" "x\xef\xbb\xbf\n", "\xe2\x80\x8b" "x\xef\xbb\xbf"); /* U+200B, FEFF are not */
    expect_shape("\xf0\x9f\x98\x80\n", "\xf0\x9f\x98\x80");
}

static size_t utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Every code point: stripped at both ends exactly when Python's
 * str.isspace() says it is whitespace (Python 3.11:
 * [c for c in range(0x110000) if chr(c).isspace()]). */
static void test_python_whitespace(void **state)
{
    (void)state;
    static const uint32_t py_space[] = {
        0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009,
        0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
    };
    for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        int space = 0;
        for (size_t i = 0; i < sizeof py_space / sizeof py_space[0]; i++)
            space |= py_space[i] == cp;
        char in[16], c[4];
        size_t n = utf8_put(cp, c), o = 0;
        memcpy(in + o, c, n);
        o += n;
        in[o++] = 'x';
        memcpy(in + o, c, n);
        o += n;
        in[o] = '\0';
        char *got = wf_run_output_shape(in);
        assert_non_null(got);
        if (space) {
            assert_string_equal(got, "x");
        } else if (cp == '\n' || cp == '\r') {
            assert_string_equal(got, "x");
        } else {
            assert_string_equal(got, in);
        }
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_python_whitespace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
