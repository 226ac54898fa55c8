/* test_wasi_calls.c - argument checking of every WASI function against a
 * fake guest memory: bad pointers, lengths, descriptors and flags are WASI
 * errnos, never a crash; streams, descriptors and poll behave. */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/wf_error.h"
#include "wasi_fixture.h"

static int setup(void **state) { *state = fixture_new(NULL); return 0; }
static int teardown(void **state) { fixture_free(*state); return 0; }

static void test_mem_accessor_bounds(void **state)
{
    struct fixture *f = *state;
    assert_non_null(wf_wasi_mem(f->h, 0, FAKE_SIZE));
    assert_non_null(wf_wasi_mem(f->h, FAKE_SIZE, 0));
    assert_null(wf_wasi_mem(f->h, FAKE_SIZE, 1));
    assert_null(wf_wasi_mem(f->h, FAKE_SIZE - 1, 2));
    assert_null(wf_wasi_mem(f->h, 1, UINT64_MAX));
    assert_null(wf_wasi_mem(f->h, UINT32_MAX, 1));
    assert_null(wf_wasi_mem_aligned(f->h, 2, 8, 8));
    /* the accessor reads the size afresh: after a grow the new pages count */
    f->mem.size = FAKE_SIZE - 65536;
    assert_null(wf_wasi_mem(f->h, FAKE_SIZE - 10, 1));
    f->mem.size = FAKE_SIZE;
    assert_non_null(wf_wasi_mem(f->h, FAKE_SIZE - 10, 1));
}

static void test_args_and_environ(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(wf_wasi_args_sizes_get(f->h, G_OUT, G_OUT + 4), 0);
    assert_int_equal(get_u32(f, G_OUT), 2);
    assert_int_equal(get_u32(f, G_OUT + 4), 10);
    assert_int_equal(wf_wasi_args_get(f->h, G_OUT, G_BUF), 0);
    assert_int_equal(get_u32(f, G_OUT), G_BUF);
    assert_int_equal(get_u32(f, G_OUT + 4), G_BUF + 5);
    assert_string_equal((char *)f->mem.data + G_BUF + 5, "arg1");
    assert_int_equal(wf_wasi_args_get(f->h, G_OUT, FAKE_SIZE - 5), WASI_EFAULT);
    assert_int_equal(wf_wasi_args_get(f->h, FAKE_SIZE - 4, G_BUF), WASI_EFAULT);
    assert_int_equal(wf_wasi_args_sizes_get(f->h, G_OUT + 1, G_OUT + 4), WASI_EFAULT);
    assert_int_equal(wf_wasi_environ_sizes_get(f->h, G_OUT, G_OUT + 4), 0);
    assert_int_equal(get_u32(f, G_OUT), 2);
    assert_int_equal(wf_wasi_environ_get(f->h, G_OUT, G_BUF), 0);
    assert_string_equal((char *)f->mem.data + G_BUF, "A=1");
    assert_int_equal(wf_wasi_environ_get(f->h, UINT32_MAX - 2, G_BUF), WASI_EFAULT);
}

static void test_clocks_and_random(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(wf_wasi_clock_time_get(f->h, WASI_CLOCK_MONOTONIC, 0, G_OUT), 0);
    uint64_t t1 = get_u64(f, G_OUT);
    assert_int_equal(wf_wasi_clock_time_get(f->h, WASI_CLOCK_MONOTONIC, 0, G_OUT), 0);
    assert_true(get_u64(f, G_OUT) >= t1);
    assert_int_equal(wf_wasi_clock_time_get(f->h, 99, 0, G_OUT), WASI_EINVAL);
    assert_int_equal(wf_wasi_clock_time_get(f->h, 0, 0, G_OUT + 4), WASI_EFAULT);
    assert_int_equal(wf_wasi_clock_res_get(f->h, WASI_CLOCK_REALTIME, G_OUT), 0);
    assert_true(get_u64(f, G_OUT) > 0);
    assert_int_equal(wf_wasi_clock_res_get(f->h, 4, G_OUT), WASI_EINVAL);
    memset(f->mem.data + G_BUF, 0, 64);
    assert_int_equal(wf_wasi_random_get(f->h, G_BUF, 64), 0);
    uint8_t zero[64] = {0};
    assert_memory_not_equal(f->mem.data + G_BUF, zero, 64);
    assert_int_equal(wf_wasi_random_get(f->h, FAKE_SIZE - 10, 11), WASI_EFAULT);
    assert_int_equal(wf_wasi_random_get(f->h, FAKE_SIZE, 0), 0);
    assert_int_equal(wf_wasi_sched_yield(f->h), 0);
    assert_int_equal(wf_wasi_proc_raise(f->h, 9), WASI_ENOTSUP);
}

static void test_iovec_checks(void **state)
{
    struct fixture *f = *state;
    /* huge counts */
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 100000, G_OUT), WASI_EINVAL);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, UINT32_MAX, G_OUT), WASI_EINVAL);
    /* the array itself runs off the end */
    assert_int_equal(wf_wasi_fd_write(f->h, 1, FAKE_SIZE - 8, 2, G_OUT), WASI_EFAULT);
    /* a buffer that wraps around 4 GiB */
    set_iov(f, G_IOV, 0, UINT32_MAX - 1, 16);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, G_OUT), WASI_EFAULT);
    /* a buffer exactly at the end is fine, one byte more is not */
    set_iov(f, G_IOV, 0, FAKE_SIZE - 4, 4);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, G_OUT), 0);
    set_iov(f, G_IOV, 0, FAKE_SIZE - 4, 5);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, G_OUT), WASI_EFAULT);
    /* misaligned array and result */
    set_iov(f, G_IOV, 0, G_BUF, 1);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV + 1, 1, G_OUT), WASI_EFAULT);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, G_OUT + 2), WASI_EFAULT);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, FAKE_SIZE), WASI_EFAULT);
    /* zero iovecs write nothing */
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 0, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 0);
}

static int flood_calls, flood_fd;
static void on_flood(void *ctx, int fd)
{
    (void)ctx;
    flood_calls++;
    flood_fd = fd;
}

static void test_output_capture_and_cap(void **state)
{
    (void)state;
    struct wf_wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.stdout_cap = 10;
    cfg.on_flood = on_flood;
    struct fixture *f = fixture_new(&cfg);
    memcpy(f->mem.data + G_BUF, "0123456789abcdef", 16);
    set_iov(f, G_IOV, 0, G_BUF, 6);
    set_iov(f, G_IOV, 1, G_BUF + 6, 10);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 2, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 16);   /* the guest is told all went */
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 2, G_OUT), 0);
    size_t len;
    int flooded;
    const char *out = wf_wasi_host_output(f->h, 1, &len, &flooded);
    assert_true(flooded);
    assert_int_equal(flood_calls, 1);
    assert_int_equal(flood_fd, 1);
    assert_int_equal(len, 10 + strlen(WF_WASI_TRUNCATION_MARKER));
    assert_memory_equal(out, "0123456789", 10);
    assert_memory_equal(out + 10, WF_WASI_TRUNCATION_MARKER, strlen(WF_WASI_TRUNCATION_MARKER));
    out = wf_wasi_host_output(f->h, 2, &len, &flooded);
    assert_int_equal(len, 0);
    assert_false(flooded);
    /* stdin is empty and read-only; stdout is not readable or seekable */
    set_iov(f, G_IOV, 0, G_BUF, 4);
    assert_int_equal(wf_wasi_fd_read(f->h, 0, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 0);
    assert_int_equal(wf_wasi_fd_write(f->h, 0, G_IOV, 1, G_OUT), WASI_ENOTCAPABLE);
    assert_int_equal(wf_wasi_fd_read(f->h, 1, G_IOV, 1, G_OUT), WASI_ENOTCAPABLE);
    assert_int_equal(wf_wasi_fd_seek(f->h, 1, 0, WASI_WHENCE_SET, G_OUT), WASI_ESPIPE);
    assert_int_equal(wf_wasi_fd_pwrite(f->h, 1, G_IOV, 1, 0, G_OUT), WASI_ESPIPE);
    fixture_free(f);
}

/* A run's stdin set while the guest lives (the zygote's stdin hook): read
 * whole, in pieces, then end of file; replaced again from its start. */
static void test_stdin_set_from_memory(void **state)
{
    (void)state;
    struct wf_wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    struct fixture *f = fixture_new(&cfg);
    assert_int_equal(wf_wasi_host_set_stdin(f->h, "via stdin\n", 10), 0);
    set_iov(f, G_IOV, 0, G_BUF, 4);
    set_iov(f, G_IOV, 1, G_BUF + 4, 100);
    assert_int_equal(wf_wasi_fd_read(f->h, 0, G_IOV, 2, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 10);
    assert_memory_equal(f->mem.data + G_BUF, "via stdin\n", 10);
    assert_int_equal(wf_wasi_fd_read(f->h, 0, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 0);                   /* end of file */
    assert_int_equal(wf_wasi_fd_write(f->h, 0, G_IOV, 1, G_OUT), WASI_ENOTCAPABLE);
    assert_int_equal(wf_wasi_host_set_stdin(f->h, "ab", 2), 0);
    assert_int_equal(wf_wasi_fd_read(f->h, 0, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 2);
    assert_memory_equal(f->mem.data + G_BUF, "ab", 2);
    assert_int_equal(wf_wasi_host_set_stdin(f->h, NULL, 0), 0);
    assert_int_equal(wf_wasi_fd_read(f->h, 0, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 0);
    fixture_free(f);

    /* a host whose stdin is a host fd keeps it */
    memset(&cfg, 0, sizeof(cfg));
    cfg.stdin_from_fd = 1;
    cfg.stdin_fd = 0;
    f = fixture_new(&cfg);
    assert_int_equal(wf_wasi_host_set_stdin(f->h, "x", 1), WF_EINVAL);
    fixture_free(f);
}

static void test_bad_descriptors(void **state)
{
    struct fixture *f = *state;
    uint32_t bad[] = { 7, 1023, 1024, 65536, UINT32_MAX };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t fd = bad[i];
        assert_int_equal(wf_wasi_fd_close(f->h, fd), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_write(f->h, fd, G_IOV, 0, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_fdstat_get(f->h, fd, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_prestat_get(f->h, fd, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_seek(f->h, fd, 0, 0, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_renumber(f->h, fd, 1), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_renumber(f->h, 1, fd), WASI_EBADF);
        assert_int_equal(wf_wasi_path_open(f->h, fd, 0, G_PATH, 1, 0, 0, 0, 0, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_sock_accept(f->h, fd, 0, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_readdir(f->h, fd, G_BUF, 10, 0, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_filestat_get(f->h, fd, G_OUT), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_advise(f->h, fd, 0, 0, 0), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_allocate(f->h, fd, 0, 0), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_sync(f->h, fd), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_datasync(f->h, fd), WASI_EBADF);
        assert_int_equal(wf_wasi_fd_tell(f->h, fd, G_OUT), WASI_EBADF);
    }
    assert_int_equal(wf_wasi_sock_recv(f->h, 1, G_IOV, 0, 0, G_OUT, G_OUT + 4), WASI_ENOTSOCK);
    assert_int_equal(wf_wasi_sock_send(f->h, 1, G_IOV, 0, 0, G_OUT), WASI_ENOTSOCK);
    assert_int_equal(wf_wasi_sock_shutdown(f->h, 3, 0), WASI_ENOTSOCK);
}

static void test_renumber_and_close(void **state)
{
    struct fixture *f = *state;
    uint32_t fd = 0;
    /* renumber onto itself: nothing happens, the fd still works */
    assert_int_equal(wf_wasi_fd_renumber(f->h, 1, 1), 0);
    set_iov(f, G_IOV, 0, G_BUF, 0);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, G_OUT), 0);
    /* onto a closed number: refused, both unchanged */
    assert_int_equal(wf_wasi_fd_renumber(f->h, 1, 9), WASI_EBADF);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, G_OUT), 0);
    /* a file onto stdout: stdout's number now names the file */
    assert_int_equal(open_root(f, "tmp/f", WASI_O_CREAT, R_RW, &fd), 0);
    assert_int_equal(wf_wasi_fd_renumber(f->h, fd, 1), 0);
    assert_int_equal(wf_wasi_fd_close(f->h, fd), WASI_EBADF);
    memcpy(f->mem.data + G_BUF, "xyz", 3);
    set_iov(f, G_IOV, 0, G_BUF, 3);
    assert_int_equal(wf_wasi_fd_write(f->h, 1, G_IOV, 1, G_OUT), 0);
    assert_int_equal(wf_wasi_fd_filestat_get(f->h, 1, G_OUT), 0);
    assert_int_equal(get_u64(f, G_OUT + 32), 3);
    /* closing stdio, the preopen and everything else leaves a usable host */
    for (uint32_t i = 0; i < 8; i++)
        wf_wasi_fd_close(f->h, i);
    assert_int_equal(wf_wasi_fd_write(f->h, 2, G_IOV, 1, G_OUT), WASI_EBADF);
    assert_int_equal(open_root(f, "tmp", 0, R_READ, NULL), WASI_EBADF);
    /* renumbering a preopen moves its prestat */
    struct fixture *g = fixture_new(NULL);
    assert_int_equal(wf_wasi_fd_renumber(g->h, 3, 0), 0);
    assert_int_equal(wf_wasi_fd_prestat_get(g->h, 0, G_OUT), 0);
    assert_int_equal(wf_wasi_fd_prestat_get(g->h, 3, G_OUT), WASI_EBADF);
    fixture_free(g);
}

static void test_prestat(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(wf_wasi_fd_prestat_get(f->h, 3, G_OUT), 0);
    assert_int_equal(f->mem.data[G_OUT], 0);
    assert_int_equal(get_u32(f, G_OUT + 4), 1);
    assert_int_equal(wf_wasi_fd_prestat_dir_name(f->h, 3, G_BUF, 1), 0);
    assert_int_equal(f->mem.data[G_BUF], '/');
    assert_int_equal(wf_wasi_fd_prestat_dir_name(f->h, 3, G_BUF, 0), WASI_ENAMETOOLONG);
    assert_int_equal(wf_wasi_fd_prestat_dir_name(f->h, 3, FAKE_SIZE, 1), WASI_EFAULT);
    assert_int_equal(wf_wasi_fd_prestat_get(f->h, 4, G_OUT), WASI_EBADF);
    assert_int_equal(wf_wasi_fd_prestat_get(f->h, 1, G_OUT), WASI_EBADF);
    assert_int_equal(wf_wasi_fd_prestat_get(f->h, 3, G_OUT + 1), WASI_EFAULT);
}

static void test_seek_tell(void **state)
{
    struct fixture *f = *state;
    uint32_t fd = 0;
    assert_int_equal(open_root(f, "usr/lib/python3.11/os.py", 0, R_READ, &fd), 0);
    assert_int_equal(wf_wasi_fd_seek(f->h, fd, 4, WASI_WHENCE_SET, G_OUT), 0);
    assert_int_equal(get_u64(f, G_OUT), 4);
    assert_int_equal(wf_wasi_fd_seek(f->h, fd, (uint64_t)-2, WASI_WHENCE_END, G_OUT), 0);
    assert_int_equal(get_u64(f, G_OUT), 9);
    assert_int_equal(wf_wasi_fd_seek(f->h, fd, (uint64_t)-100, WASI_WHENCE_CUR, G_OUT), WASI_EINVAL);
    assert_int_equal(wf_wasi_fd_seek(f->h, fd, INT64_MAX, WASI_WHENCE_CUR, G_OUT), WASI_EINVAL);
    assert_int_equal(wf_wasi_fd_seek(f->h, fd, 0, 3, G_OUT), WASI_EINVAL);
    assert_int_equal(wf_wasi_fd_tell(f->h, fd, G_OUT), 0);
    assert_int_equal(get_u64(f, G_OUT), 9);
    assert_int_equal(wf_wasi_fd_tell(f->h, fd, G_OUT + 4), WASI_EFAULT);
    assert_int_equal(wf_wasi_fd_advise(f->h, fd, 0, 10, 9), WASI_EINVAL);
    assert_int_equal(wf_wasi_fd_filestat_set_times(f->h, fd, 0, 0, WASI_FST_ATIM | WASI_FST_ATIM_NOW),
                     WASI_ENOTCAPABLE);
    assert_int_equal(wf_wasi_fd_fdstat_set_flags(f->h, fd, 0x100), WASI_EINVAL);
}

static void test_poll_oneoff(void **state)
{
    struct fixture *f = *state;
    uint8_t *s = f->mem.data + G_BUF;
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF, G_BUF + 1024, 0, G_OUT), WASI_EINVAL);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF, G_BUF + 1024, 100000, G_OUT), WASI_EINVAL);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, FAKE_SIZE - 48, G_BUF + 1024, 2, G_OUT), WASI_EFAULT);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF + 4, G_BUF + 1024, 1, G_OUT), WASI_EFAULT);
    /* a 1 ms relative sleep */
    memset(s, 0, 96);
    wf_put_u64(s, 42);
    s[8] = WASI_EVENT_CLOCK;
    wf_put_u32(s + 16, WASI_CLOCK_MONOTONIC);
    wf_put_u64(s + 24, 1000000);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF, G_BUF + 1024, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 1);
    assert_int_equal(get_u64(f, G_BUF + 1024), 42);
    assert_int_equal(wf_get_u16(f->mem.data + G_BUF + 1024 + 8), 0);
    /* a bad fd next to a long clock: the fd's error comes back at once */
    wf_put_u64(s + 24, 60ull * 1000000000ull);
    wf_put_u64(s + 48, 7);
    s[56] = WASI_EVENT_FD_READ;
    wf_put_u32(s + 64, 77);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF, G_BUF + 1024, 2, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 1);
    assert_int_equal(get_u64(f, G_BUF + 1024), 7);
    assert_int_equal(wf_get_u16(f->mem.data + G_BUF + 1024 + 8), WASI_EBADF);
    /* an unknown clock and an unknown event type */
    wf_put_u32(s + 16, 17);
    s[56] = 9;
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF, G_BUF + 1024, 2, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 2);
    /* stdout is always writable */
    memset(s, 0, 48);
    s[8] = WASI_EVENT_FD_WRITE;
    wf_put_u32(s + 16, 1);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF, G_BUF + 1024, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 1);
}

static void test_bridge_fd(void **state)
{
    (void)state;
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    struct wf_wasi_extra_fd bridge = { .guest_fd = 10, .host_fd = sp[0], .name = "bridge",
                                       .readable = 1, .writable = 1, .owned = 1 };
    struct wf_wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.extra_fds = &bridge;
    cfg.n_extra_fds = 1;
    struct fixture *f = fixture_new(&cfg);
    memcpy(f->mem.data + G_BUF, "ping", 4);
    set_iov(f, G_IOV, 0, G_BUF, 4);
    assert_int_equal(wf_wasi_fd_write(f->h, 10, G_IOV, 1, G_OUT), 0);
    char buf[8] = {0};
    assert_int_equal(read(sp[1], buf, sizeof(buf)), 4);
    assert_string_equal(buf, "ping");
    /* poll: not readable yet, then readable once the host writes */
    uint8_t *s = f->mem.data + G_BUF + 512;
    memset(s, 0, 96);
    s[8] = WASI_EVENT_FD_READ;
    wf_put_u32(s + 16, 10);
    s[48 + 8] = WASI_EVENT_CLOCK;
    wf_put_u32(s + 48 + 16, WASI_CLOCK_MONOTONIC);
    wf_put_u64(s + 48 + 24, 1000000);
    wf_put_u64(s + 48, 5);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF + 512, G_BUF + 1024, 2, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 1);
    assert_int_equal(get_u64(f, G_BUF + 1024), 5);
    assert_int_equal(write(sp[1], "pong", 4), 4);
    assert_int_equal(wf_wasi_poll_oneoff(f->h, G_BUF + 512, G_BUF + 1024, 2, G_OUT), 0);
    assert_int_equal(f->mem.data[G_BUF + 1024 + 10], WASI_EVENT_FD_READ);
    set_iov(f, G_IOV, 0, G_BUF, 8);
    assert_int_equal(wf_wasi_fd_read(f->h, 10, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 4);
    assert_memory_equal(f->mem.data + G_BUF, "pong", 4);
    /* the bridge has no path, no seek, and the guest closing it frees only
     * the number */
    assert_int_equal(wf_wasi_fd_seek(f->h, 10, 0, 0, G_OUT), WASI_ESPIPE);
    assert_int_equal(wf_wasi_sock_send(f->h, 10, G_IOV, 1, 0, G_OUT), WASI_ENOTSUP);
    assert_int_equal(wf_wasi_fd_close(f->h, 10), 0);
    assert_int_equal(wf_wasi_fd_write(f->h, 10, G_IOV, 1, G_OUT), WASI_EBADF);
    assert_int_equal(fcntl(sp[0], F_GETFD) >= 0, 1);
    fixture_free(f);
    assert_int_equal(fcntl(sp[0], F_GETFD), -1);   /* owned: closed by destroy */
    close(sp[1]);
}

static void test_extra_fd_must_follow_preopens(void **state)
{
    (void)state;
    struct wf_wasi_extra_fd bad = { .guest_fd = 3, .host_fd = 0, .readable = 1 };
    struct wf_wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.extra_fds = &bad;
    cfg.n_extra_fds = 1;
    struct wf_wasi_host *h = NULL;
    char err[200];
    assert_int_not_equal(wf_wasi_host_create(&cfg, &h, err, sizeof(err)), 0);
    assert_null(h);
    bad.guest_fd = WF_WASI_MAX_FDS;
    assert_int_not_equal(wf_wasi_host_create(&cfg, &h, err, sizeof(err)), 0);
}

static int hook_calls;
static int hook_read(void *ctx, void *buf, size_t len, size_t *n)
{
    (void)ctx;
    hook_calls++;
    const char *msg = "request";
    *n = len < 7 ? len : 7;
    memcpy(buf, msg, *n);
    return 0;
}

static void test_hook_fd(void **state)
{
    (void)state;
    struct wf_wasi_hook_fd hook = { .guest_fd = 9, .name = "control", .read = hook_read };
    struct wf_wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.hook_fds = &hook;
    cfg.n_hook_fds = 1;
    struct fixture *f = fixture_new(&cfg);
    set_iov(f, G_IOV, 0, G_BUF, 100);
    assert_int_equal(wf_wasi_fd_read(f->h, 9, G_IOV, 1, G_OUT), 0);
    assert_int_equal(get_u32(f, G_OUT), 7);
    assert_int_equal(hook_calls, 1);
    assert_int_equal(wf_wasi_fd_write(f->h, 9, G_IOV, 1, G_OUT), WASI_EBADF);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mem_accessor_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_args_and_environ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clocks_and_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iovec_checks, setup, teardown),
        cmocka_unit_test(test_output_capture_and_cap),
        cmocka_unit_test(test_stdin_set_from_memory),
        cmocka_unit_test_setup_teardown(test_bad_descriptors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renumber_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prestat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seek_tell, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poll_oneoff, setup, teardown),
        cmocka_unit_test(test_bridge_fd),
        cmocka_unit_test(test_extra_fd_must_follow_preopens),
        cmocka_unit_test(test_hook_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
