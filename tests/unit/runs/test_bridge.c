/* test_bridge.c - the bridge frame codec: framing, strictness, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/wf_error.h"
#include "runs/bridge.h"

static void put_frame(wf_bridge_rx *rx, const char *json, int expect)
{
    size_t n = strlen(json);
    unsigned char hdr[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 24)};
    char err[256];
    assert_int_equal(wf_bridge_rx_feed(rx, hdr, 4, err, sizeof err), 0);
    assert_int_equal(wf_bridge_rx_feed(rx, json, n, err, sizeof err), 0);
    json_t *m = NULL;
    assert_int_equal(wf_bridge_rx_next(rx, &m, err, sizeof err), expect);
    if (expect == 1)
        assert_non_null(m);
    else
        assert_null(m);
    json_decref(m);
}

static void test_roundtrip(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:s}", "op", "call_ai", "prompt", "h\xc3\xa9llo");
    unsigned char *b;
    size_t n;
    assert_int_equal(wf_bridge_encode(o, &b, &n), 0);
    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 1024);
    char err[256];
    json_t *m = NULL;
    /* one byte at a time: partial frames wait for more */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(wf_bridge_rx_feed(&rx, b + i, 1, err, sizeof err), 0);
        int rc = wf_bridge_rx_next(&rx, &m, err, sizeof err);
        assert_int_equal(rc, i + 1 == n ? 1 : 0);
    }
    assert_true(json_equal(o, m));
    assert_int_equal(rx.len, 0);
    json_decref(m);
    json_decref(o);
    free(b);
    wf_bridge_rx_clear(&rx);
}

static void test_two_frames_in_one_read(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s}", "op", "list_models");
    unsigned char *b;
    size_t n;
    assert_int_equal(wf_bridge_encode(o, &b, &n), 0);
    unsigned char two[256];
    memcpy(two, b, n);
    memcpy(two + n, b, n);
    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 1024);
    char err[256];
    assert_int_equal(wf_bridge_rx_feed(&rx, two, 2 * n, err, sizeof err), 0);
    json_t *m;
    assert_int_equal(wf_bridge_rx_next(&rx, &m, err, sizeof err), 1);
    json_decref(m);
    assert_int_equal(wf_bridge_rx_next(&rx, &m, err, sizeof err), 1);
    json_decref(m);
    assert_int_equal(wf_bridge_rx_next(&rx, &m, err, sizeof err), 0);
    free(b);
    json_decref(o);
    wf_bridge_rx_clear(&rx);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"not json", "[1,2]", "\"str\"", "{\"op\":1,\"op\":2}", "{} x",
                         "{\"a\":\"\xff\"}", "{\"a\":", NULL};
    for (const char **p = bad; *p; p++) {
        wf_bridge_rx rx;
        wf_bridge_rx_init(&rx, 1024);
        put_frame(&rx, *p, WF_EPROTO);
        wf_bridge_rx_clear(&rx);
    }
    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 1024);
    put_frame(&rx, "{\"op\":\"x\"}", 1);
    wf_bridge_rx_clear(&rx);
}

static void test_empty_and_oversized(void **state)
{
    (void)state;
    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 16);
    char err[256];
    unsigned char zero[4] = {0, 0, 0, 0};
    assert_int_equal(wf_bridge_rx_feed(&rx, zero, 4, err, sizeof err), 0);
    json_t *m;
    assert_int_equal(wf_bridge_rx_next(&rx, &m, err, sizeof err), WF_EPROTO);
    wf_bridge_rx_clear(&rx);

    /* The announced length is refused before the payload is buffered. */
    wf_bridge_rx_init(&rx, 16);
    unsigned char big[4] = {0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(wf_bridge_rx_feed(&rx, big, 2, err, sizeof err), 0);
    assert_int_equal(wf_bridge_rx_feed(&rx, big + 2, 2, err, sizeof err), WF_ETOOBIG);
    assert_non_null(strstr(err, "limit"));
    wf_bridge_rx_clear(&rx);

    wf_bridge_rx_init(&rx, 16);
    unsigned char seventeen[4] = {17, 0, 0, 0};
    assert_int_equal(wf_bridge_rx_feed(&rx, seventeen, 4, err, sizeof err), WF_ETOOBIG);
    wf_bridge_rx_clear(&rx);
}

static void test_flooding_peer(void **state)
{
    (void)state;
    /* A peer that sends far more than a frame and the next is refused. */
    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 64);
    char err[256];
    unsigned char chunk[64];
    memset(chunk, ' ', sizeof chunk);
    chunk[0] = 10;
    chunk[1] = chunk[2] = chunk[3] = 0;
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++)
        rc = wf_bridge_rx_feed(&rx, chunk, sizeof chunk, err, sizeof err);
    assert_int_equal(rc, WF_EPROTO);
    wf_bridge_rx_clear(&rx);
}

static void test_nul_in_string_allowed(void **state)
{
    (void)state;
    wf_bridge_rx rx;
    wf_bridge_rx_init(&rx, 1024);
    put_frame(&rx, "{\"prompt\":\"a\\u0000b\"}", 1);
    wf_bridge_rx_clear(&rx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_two_frames_in_one_read),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_empty_and_oversized),
        cmocka_unit_test(test_flooding_peer),
        cmocka_unit_test(test_nul_in_string_allowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
