/* wasi_misc.c - arguments, environment, clocks, randomness, poll_oneoff,
 * process and socket calls. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/io.h"
#include "wasi/wasi_internal.h"

/* argv-style arrays: `count` pointers at ptrs, the strings at buf. */
static int strings_get(struct wf_wasi_host *h, const char *strs, size_t len,
                       uint32_t count, uint32_t ptrs, uint32_t buf)
{
    uint8_t *pp = wf_wasi_mem_aligned(h, ptrs, (uint64_t)count * 4, 4);
    uint8_t *bp = wf_wasi_mem(h, buf, len);
    if (!pp || !bp)
        return WASI_EFAULT;
    memcpy(bp, strs, len);
    size_t off = 0;
    for (uint32_t i = 0; i < count; i++) {
        wf_put_u32(pp + 4 * i, buf + (uint32_t)off);
        off += strlen(strs + off) + 1;
    }
    return 0;
}

static int sizes_get(struct wf_wasi_host *h, uint32_t count, size_t len,
                     uint32_t count_ptr, uint32_t size_ptr)
{
    uint8_t *a = wf_wasi_mem_aligned(h, count_ptr, 4, 4);
    uint8_t *b = wf_wasi_mem_aligned(h, size_ptr, 4, 4);
    if (!a || !b)
        return WASI_EFAULT;
    wf_put_u32(a, count);
    wf_put_u32(b, (uint32_t)len);
    return 0;
}

int wf_wasi_args_get(struct wf_wasi_host *h, uint32_t argv, uint32_t buf)
{
    return strings_get(h, h->argbuf, h->argbuf_len, h->argc, argv, buf);
}

int wf_wasi_args_sizes_get(struct wf_wasi_host *h, uint32_t argc_ptr, uint32_t size_ptr)
{
    return sizes_get(h, h->argc, h->argbuf_len, argc_ptr, size_ptr);
}

int wf_wasi_environ_get(struct wf_wasi_host *h, uint32_t env, uint32_t buf)
{
    return strings_get(h, h->envbuf, h->envbuf_len, h->envc, env, buf);
}

int wf_wasi_environ_sizes_get(struct wf_wasi_host *h, uint32_t count_ptr, uint32_t size_ptr)
{
    return sizes_get(h, h->envc, h->envbuf_len, count_ptr, size_ptr);
}

static int host_clock(uint32_t id, clockid_t *out)
{
    switch (id) {
    case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return 0;
    case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return 0;
    case WASI_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID; return 0;
    case WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return 0;
    default: return WASI_EINVAL;
    }
}

static uint64_t ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* clock_res_get and clock_time_get differ only in the call they make. */
static int clock_query(struct wf_wasi_host *h, uint32_t id, uint32_t out,
                       int (*query)(clockid_t, struct timespec *))
{
    clockid_t c;
    struct timespec ts;
    if (host_clock(id, &c))
        return WASI_EINVAL;
    uint8_t *p = wf_wasi_mem_aligned(h, out, 8, 8);
    if (!p)
        return WASI_EFAULT;
    if (query(c, &ts) < 0)
        return WASI_EINVAL;
    wf_put_u64(p, ts_ns(&ts));
    return 0;
}

int wf_wasi_clock_res_get(struct wf_wasi_host *h, uint32_t id, uint32_t out)
{
    return clock_query(h, id, out, clock_getres);
}

int wf_wasi_clock_time_get(struct wf_wasi_host *h, uint32_t id, uint64_t precision, uint32_t out)
{
    (void)precision;   /* we always answer with the best we have */
    return clock_query(h, id, out, clock_gettime);
}

int wf_wasi_random_get(struct wf_wasi_host *h, uint32_t buf, uint32_t len)
{
    uint8_t *p = wf_wasi_mem(h, buf, len);
    if (!p)
        return WASI_EFAULT;
    return wf_io_random(p, len) != 0 ? WASI_EIO : 0;
}

void wf_wasi_proc_exit(struct wf_wasi_host *h, uint32_t code)
{
    h->exit_code = (int)code;
    if (h->on_exit)
        h->on_exit(h, code);
    if (h->exit_jmp)
        longjmp(*h->exit_jmp, 1);
    /* No run to unwind to (a direct call from a test): end the process the
     * way the guest asked. */
    exit((int)(code & 0xff));
}

int wf_wasi_proc_raise(struct wf_wasi_host *h, uint32_t sig)
{
    (void)h;
    (void)sig;
    return WASI_ENOTSUP;
}

int wf_wasi_sched_yield(struct wf_wasi_host *h)
{
    (void)h;
    sched_yield();
    return 0;
}

static int sock_common(struct wf_wasi_host *h, uint32_t fd)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, 0, &f);
    if (rc)
        return rc;
    return f->kind == WF_FD_HOST ? WASI_ENOTSUP : WASI_ENOTSOCK;
}

int wf_wasi_sock_accept(struct wf_wasi_host *h, uint32_t fd, uint32_t flags, uint32_t out)
{
    (void)flags;
    (void)out;
    int rc = sock_common(h, fd);
    return rc == WASI_ENOTSUP ? WASI_ENOTCAPABLE : rc;
}

int wf_wasi_sock_recv(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out, uint32_t oflags)
{
    (void)iovs; (void)n; (void)flags; (void)out; (void)oflags;
    return sock_common(h, fd);
}

int wf_wasi_sock_send(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out)
{
    (void)iovs; (void)n; (void)flags; (void)out;
    return sock_common(h, fd);
}

int wf_wasi_sock_shutdown(struct wf_wasi_host *h, uint32_t fd, uint32_t how)
{
    (void)how;
    return sock_common(h, fd);
}

/* ----------------------------------------------------------- poll_oneoff */

#define WF_POLL_MAX 1024

struct sub {
    uint64_t userdata;
    uint8_t type;
    uint16_t error;
    int ready;
    int pfd;          /* index in the pollfd array, -1 if none */
    uint64_t nbytes;
    uint16_t flags;
    uint64_t deadline;   /* monotonic ns, clocks only */
};

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_ns(&ts);
}

int wf_wasi_poll_oneoff(struct wf_wasi_host *h, uint32_t in, uint32_t out, uint32_t n, uint32_t nout)
{
    if (n == 0 || n > WF_POLL_MAX)
        return WASI_EINVAL;
    const uint8_t *ip = wf_wasi_mem_aligned(h, in, (uint64_t)n * WASI_SUBSCRIPTION_SIZE, 8);
    if (!ip || !wf_wasi_mem_aligned(h, out, (uint64_t)n * WASI_EVENT_SIZE, 8) ||
        !wf_wasi_mem_aligned(h, nout, 4, 4))
        return WASI_EFAULT;
    struct sub *subs = calloc(n, sizeof(*subs));
    struct pollfd *pfds = calloc(n, sizeof(*pfds));
    if (!subs || !pfds) {
        free(subs);
        free(pfds);
        return WASI_ENOMEM;
    }
    uint32_t npfd = 0, immediate = 0;
    int have_clock = 0;
    uint64_t now = mono_now(), earliest = UINT64_MAX;

    /* Copy and decode every subscription before acting on any. */
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = ip + (size_t)i * WASI_SUBSCRIPTION_SIZE;
        struct sub *u = &subs[i];
        u->userdata = wf_get_u64(s);
        u->type = s[8];
        u->pfd = -1;
        if (u->type == WASI_EVENT_CLOCK) {
            uint32_t id = wf_get_u32(s + 16);
            uint64_t timeout = wf_get_u64(s + 24);
            uint16_t fl = wf_get_u16(s + 40);
            clockid_t c;
            if (host_clock(id, &c) || (fl & ~WASI_SUBCLOCK_ABSTIME)) {
                u->error = WASI_EINVAL;
                u->ready = 1;
                immediate++;
                continue;
            }
            uint64_t rel = timeout;
            if (fl & WASI_SUBCLOCK_ABSTIME) {
                struct timespec ts;
                clock_gettime(c, &ts);
                uint64_t t = ts_ns(&ts);
                rel = timeout > t ? timeout - t : 0;
            }
            u->deadline = rel > UINT64_MAX - now ? UINT64_MAX : now + rel;
            if (u->deadline < earliest)
                earliest = u->deadline;
            have_clock = 1;
        } else if (u->type == WASI_EVENT_FD_READ || u->type == WASI_EVENT_FD_WRITE) {
            struct wf_wasi_fd *f;
            int rc = wf_wasi_fd_get(h, wf_get_u32(s + 16), WASI_RIGHT_POLL_FD_READWRITE, &f);
            if (rc) {
                u->error = (uint16_t)rc;
                u->ready = 1;
                immediate++;
                continue;
            }
            int reading = u->type == WASI_EVENT_FD_READ;
            if (f->kind == WF_FD_HOST || f->kind == WF_FD_HOSTFILE ||
                (f->kind == WF_FD_STDIN && f->host_fd >= 0)) {
                pfds[npfd].fd = f->host_fd;
                pfds[npfd].events = reading ? POLLIN : POLLOUT;
                u->pfd = (int)npfd++;
            } else {
                /* In-memory files and captured streams never block. */
                u->ready = 1;
                immediate++;
                if (reading && f->kind == WF_FD_VFS && f->node->type == WF_VFS_FILE)
                    u->nbytes = f->node->size > f->offset ? f->node->size - f->offset : 0;
                if (reading && f->kind == WF_FD_STDIN)
                    u->nbytes = h->stdin_len - h->stdin_pos;
            }
        } else {
            u->error = WASI_EINVAL;
            u->ready = 1;
            immediate++;
        }
    }

    for (;;) {
        struct timespec tmo, *tp = NULL;
        if (immediate) {
            tmo.tv_sec = 0;
            tmo.tv_nsec = 0;
            tp = &tmo;
        } else if (have_clock) {
            uint64_t t = mono_now();
            uint64_t d = earliest > t ? earliest - t : 0;
            tmo.tv_sec = (time_t)(d / 1000000000ull);
            tmo.tv_nsec = (long)(d % 1000000000ull);
            tp = &tmo;
        }
        int r = ppoll(npfd ? pfds : NULL, npfd, tp, NULL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(subs);
            free(pfds);
            return WASI_EIO;
        }
        break;
    }
    uint64_t t = mono_now();
    uint32_t nev = 0;
    uint8_t *op = wf_wasi_mem(h, out, (uint64_t)n * WASI_EVENT_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        struct sub *u = &subs[i];
        if (u->type == WASI_EVENT_CLOCK && !u->error && !u->ready)
            u->ready = t >= u->deadline;
        if (u->pfd >= 0) {
            short re = pfds[u->pfd].revents;
            if (re & POLLNVAL) {
                u->error = WASI_EBADF;
                u->ready = 1;
            } else if (re) {
                u->ready = 1;
                if (re & (POLLHUP | POLLERR))
                    u->flags |= WASI_EVENTRW_HANGUP;
            }
        }
        if (!u->ready)
            continue;
        uint8_t *e = op + (size_t)nev * WASI_EVENT_SIZE;
        memset(e, 0, WASI_EVENT_SIZE);
        wf_put_u64(e, u->userdata);
        wf_put_u16(e + 8, u->error);
        e[10] = u->type;
        if (u->type != WASI_EVENT_CLOCK) {
            wf_put_u64(e + 16, u->nbytes);
            wf_put_u16(e + 24, u->flags);
        }
        nev++;
    }
    free(subs);
    free(pfds);
    wf_put_u32(wf_wasi_mem(h, nout, 4), nev);
    return 0;
}
