/* test_io.c - whole writes and reads across a pipe (short transfers, the end
 * of input, a reader that went away) and the random fill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "common/wf_error.h"

/* Several pipe buffers' worth, so writes come back short and loop. */
#define BIG (1u << 20)

struct drain {
    int fd;
    uint8_t *buf;
    size_t got;
    int rc;
};

static void *drain_main(void *arg)
{
    struct drain *d = arg;
    d->rc = wf_io_read_full(d->fd, d->buf, BIG + 100, &d->got);
    return NULL;
}

static void write_all_then_read_to_end(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    uint8_t *src = malloc(BIG);
    struct drain d = {.fd = p[0], .buf = malloc(BIG + 100), .got = 0, .rc = -1};
    assert_non_null(src);
    assert_non_null(d.buf);
    for (size_t i = 0; i < BIG; i++)
        src[i] = (uint8_t)(i * 7 + i / 251);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, drain_main, &d), 0);
    assert_int_equal(wf_io_write_all(p[1], src, BIG), 0);
    close(p[1]);
    pthread_join(t, NULL);
    /* the end of input before the buffer is full is a success */
    assert_int_equal(d.rc, 0);
    assert_int_equal(d.got, BIG);
    assert_memory_equal(d.buf, src, BIG);
    close(p[0]);
    free(src);
    free(d.buf);
}

static void read_full_stops_when_full(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(wf_io_write_all(p[1], "abcdef", 6), 0);
    char buf[4];
    size_t got = 99;
    assert_int_equal(wf_io_read_full(p[0], buf, sizeof buf, &got), 0);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "abcd", 4);
    close(p[1]);
    assert_int_equal(wf_io_read_full(p[0], buf, sizeof buf, &got), 0);
    assert_int_equal(got, 2);
    assert_memory_equal(buf, "ef", 2);
    close(p[0]);
}

static void errors_keep_errno(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    errno = 0;
    assert_int_equal(wf_io_write_all(p[1], "x", 1), WF_EIO);
    assert_int_equal(errno, EPIPE);
    close(p[1]);

    char buf[8];
    size_t got = 99;
    errno = 0;
    assert_int_equal(wf_io_read_full(-1, buf, sizeof buf, &got), WF_EIO);
    assert_int_equal(errno, EBADF);
    assert_int_equal(got, 0);
}

static void random_fills_the_buffer(void **state)
{
    (void)state;
    /* 4096 bytes all left zero by a working fill: a chance of 2^-32768 */
    uint8_t *b = calloc(1, 4096);
    assert_non_null(b);
    assert_int_equal(wf_io_random(b, 4096), 0);
    size_t zero = 0;
    for (size_t i = 0; i < 4096; i++)
        zero += b[i] == 0;
    assert_true(zero < 4096 / 16);   /* about 16 expected */
    assert_int_equal(wf_io_random(b, 0), 0);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_all_then_read_to_end),
        cmocka_unit_test(read_full_stops_when_full),
        cmocka_unit_test(errors_keep_errno),
        cmocka_unit_test(random_fills_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
