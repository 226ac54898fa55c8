/* zygote_client.c - the server's side of a zygote: start it, ask it for
 * runs, take their statuses; start it again when it has died.
 *
 * Shared by the WebAssembly and the native sandbox; how a zygote process is
 * started is the engine's callback, everything after is here. */
#include "sandbox/zygote_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"
#include "sandbox/sandbox_fd.h"
#include "sandbox/zygote_proto.h"

#define SPAWN_TIMEOUT_MS 10000
#define STATUS_TIMEOUT_MS 5000

/* engine-private part of a run */
typedef struct zy_proc {
    int status_fd;
} zy_proc;

/* poll one descriptor for `events`, retrying on EINTR; 1 ready, 0 timeout. */
static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int left = timeout_ms;
        if (timeout_ms >= 0) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
            left = spent >= timeout_ms ? 0 : timeout_ms - (int)spent;
        }
        int r = poll(&p, 1, left);
        if (r >= 0)
            return r;
        if (errno != EINTR)
            return -1;
    }
}

/* One reply from the zygote, with a pidfd when it carries one. */
static int recv_reply(int ctl, int timeout_ms, struct wf_zygote_reply *rep, int *pidfd)
{
    *pidfd = -1;
    if (wait_fd(ctl, POLLIN, timeout_ms) <= 0)
        return WF_ETIMEOUT;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = rep, .iov_len = sizeof *rep};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(pidfd, CMSG_DATA(c), sizeof(int));
    if (n != (ssize_t)sizeof *rep || rep->magic != WF_ZYGOTE_MAGIC) {
        /* The end of the stream, or a reset: the zygote closed its end with
         * our request unread (it died at that moment). Either way it is
         * gone, and the caller may start another. */
        int gone = n == 0 || (n < 0 && errno == ECONNRESET);
        wf_sandbox_fd_close(pidfd);
        return gone ? WF_EUNAVAIL : WF_EPROTO;
    }
    rep->msg[sizeof rep->msg - 1] = '\0';
    return 0;
}

/* Ends the zygote we have (if any): closing the control socket makes it
 * kill its runs and exit; SIGKILL if it does not. */
static void zygote_stop(wf_zyclient *sb)
{
    wf_sandbox_fd_close(&sb->ctl);
    if (sb->zpidfd >= 0) {
        if (wait_fd(sb->zpidfd, POLLIN, 2000) <= 0)
            syscall(SYS_pidfd_send_signal, sb->zpidfd, SIGKILL, NULL, 0);
        siginfo_t si;
        while (waitid(P_PIDFD, (id_t)sb->zpidfd, &si, WEXITED) < 0 && errno == EINTR)
            ;
        wf_sandbox_fd_close(&sb->zpidfd);
    }
    sb->zpid = 0;
}

static int zygote_start(wf_zyclient *sb, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        wf_errorf(err, errlen, "socketpair: %s", strerror(errno));
        return WF_EIO;
    }
    pid_t pid = 0;
    int pidfd = -1;
    int rc = sb->start(sb->ctx, sv[1], &pid, &pidfd, err, errlen);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return rc;
    }
    sb->ctl = sv[0];
    sb->zpid = pid;
    sb->zpidfd = pidfd;
    struct wf_zygote_reply rep;
    int fd;
    rc = recv_reply(sb->ctl, sb->start_timeout_ms, &rep, &fd);
    wf_sandbox_fd_close(&fd);
    if (rc == 0 && rep.ok)
        return 0;
    if (rc == 0)
        wf_errorf(err, errlen, "%s did not start: %s", sb->what, rep.msg);
    else if (rc == WF_ETIMEOUT)
        wf_errorf(err, errlen, "%s did not start within %d s", sb->what,
                  sb->start_timeout_ms / 1000);
    else
        wf_errorf(err, errlen, "%s exited while starting (see the log above)",
                  sb->what);
    syscall(SYS_pidfd_send_signal, sb->zpidfd, SIGKILL, NULL, 0);
    zygote_stop(sb);
    return WF_EUNAVAIL;
}

/* The zygote is there and alive, or started again. Called with mu held. */
static int zygote_ensure(wf_zyclient *sb, char *err, size_t errlen)
{
    if (sb->ctl >= 0 && wait_fd(sb->zpidfd, POLLIN, 0) == 0)
        return 0;
    if (sb->ctl >= 0) {
        wf_log_error("%s sandbox: the zygote (pid %d) died; starting it again", sb->name,
                     (int)sb->zpid);
        zygote_stop(sb);
    }
    int rc = zygote_start(sb, err, errlen);
    if (rc == 0) {
        sb->starts++;
        wf_log_info("%s sandbox: zygote started (pid %d)", sb->name, (int)sb->zpid);
    }
    return rc;
}

void wf_zyclient_init(wf_zyclient *zc, const char *name, const char *what,
                      wf_zyclient_start_fn start, void *ctx, int start_timeout_ms,
                      int sdk_preloaded)
{
    memset(zc, 0, sizeof *zc);
    zc->name = name;
    zc->what = what;
    zc->start = start;
    zc->ctx = ctx;
    zc->start_timeout_ms = start_timeout_ms;
    zc->sdk_preloaded = sdk_preloaded;
    zc->ctl = zc->zpidfd = -1;
    pthread_mutex_init(&zc->mu, NULL);
}

int wf_zyclient_ensure(wf_zyclient *zc, char *err, size_t errlen)
{
    pthread_mutex_lock(&zc->mu);
    int rc = zygote_ensure(zc, err, errlen);
    pthread_mutex_unlock(&zc->mu);
    return rc;
}

void wf_zyclient_destroy(wf_zyclient *zc)
{
    zygote_stop(zc);
    pthread_mutex_destroy(&zc->mu);
}

/* Sends one run request; 0 with *pid and *pidfd, or WF_EUNAVAIL when the
 * zygote is gone (the caller may start it again), another code otherwise. */
static int request_run(wf_zyclient *sb, const wf_sandbox_limits *lim, int uid_slot,
                       int fds[WF_ZYGOTE_NFDS], pid_t *pid, int *pidfd, char *err, size_t errlen)
{
    struct wf_zygote_req req = {
        .magic = WF_ZYGOTE_MAGIC,
        .run_uid = (uint32_t)wf_sandbox_uid_of(uid_slot),
        .memory_mb = (uint32_t)(lim->memory_mb > 0 ? lim->memory_mb : 256),
        .cpu_s = (uint32_t)(lim->cpu_s > 0 ? lim->cpu_s : 0),
        .tmp_mb = (uint32_t)(lim->tmp_mb > 0 ? lim->tmp_mb : 16),
    };
    union {
        char buf[CMSG_SPACE(sizeof(int) * WF_ZYGOTE_NFDS)];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {.iov_base = &req, .iov_len = sizeof req};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * WF_ZYGOTE_NFDS);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * WF_ZYGOTE_NFDS);
    ssize_t n;
    do
        n = sendmsg(sb->ctl, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        wf_errorf(err, errlen, "the zygote is gone: %s", strerror(errno));
        return errno == EPIPE || errno == ECONNRESET ? WF_EUNAVAIL : WF_EIO;
    }
    struct wf_zygote_reply rep;
    int rc = recv_reply(sb->ctl, SPAWN_TIMEOUT_MS, &rep, pidfd);
    if (rc == WF_EUNAVAIL) {
        wf_errorf(err, errlen, "the zygote is gone");
        return rc;
    }
    if (rc < 0) {
        /* A zygote that does not answer is of no use: start another. */
        wf_errorf(err, errlen, "the zygote did not answer");
        zygote_stop(sb);
        return WF_EIO;
    }
    if (!rep.ok || *pidfd < 0) {
        wf_sandbox_fd_close(pidfd);
        wf_errorf(err, errlen, "%s", rep.ok ? "the zygote sent no pidfd" : rep.msg);
        return WF_EIO;
    }
    *pid = rep.pid;
    return 0;
}

int wf_zyclient_spawn(wf_zyclient *sb, const wf_sandbox_limits *lim, wf_sandbox_proc *out,
                      char *err, size_t errlen)
{
    wf_sandbox_chan ch;
    int st[2] = {-1, -1};
    int pidfd = -1;
    pid_t pid = 0;
    memset(out, 0, sizeof *out);
    out->pidfd = out->bridge_fd = out->out_fd = out->err_fd = -1;
    int uid_slot = wf_sandbox_uid_take();
    if (uid_slot == 0) {
        wf_errorf(err, errlen, "every run uid is in use");
        return WF_EFULL;
    }
    zy_proc *wp = calloc(1, sizeof *wp);
    if (wp == NULL) {
        wf_sandbox_uid_put(uid_slot);
        return WF_ENOMEM;
    }
    int rc = wf_sandbox_chan_open(&ch, err, errlen);
    if (rc < 0) {
        wf_sandbox_uid_put(uid_slot);
        free(wp);
        return rc;
    }
    if (pipe2(st, O_CLOEXEC) < 0) {
        wf_errorf(err, errlen, "creating the sandbox's channels failed: %s", strerror(errno));
        rc = errno == EMFILE || errno == ENFILE ? WF_EFULL : WF_EIO;
        goto out;
    }
    int fds[WF_ZYGOTE_NFDS] = {ch.bridge[1], ch.out[1], ch.err[1], st[1]};
    pthread_mutex_lock(&sb->mu);
    rc = zygote_ensure(sb, err, errlen);
    if (rc == 0) {
        rc = request_run(sb, lim, uid_slot, fds, &pid, &pidfd, err, errlen);
        if (rc == WF_EUNAVAIL) {
            /* It died since we last looked: once more with a new one. */
            zygote_stop(sb);
            rc = zygote_ensure(sb, err, errlen);
            if (rc == 0)
                rc = request_run(sb, lim, uid_slot, fds, &pid, &pidfd, err, errlen);
        }
    }
    pthread_mutex_unlock(&sb->mu);
    wf_sandbox_chan_close_child(&ch);
    wf_sandbox_fd_close(&st[1]);
    if (rc == 0) {
        rc = wf_sandbox_chan_hand_over(&ch, pid, pidfd, out, err, errlen);
        if (rc < 0)
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    }
    if (rc == 0) {
        wp->status_fd = st[0];
        out->engine = wp;
        out->sdk_preloaded = sb->sdk_preloaded;
        out->uid_slot = uid_slot;
        return 0;
    }
out:
    wf_sandbox_uid_put(uid_slot);
    wf_sandbox_fd_close(&pidfd);
    wf_sandbox_fd_close(&st[0]);
    wf_sandbox_fd_close(&st[1]);
    wf_sandbox_chan_close(&ch);
    free(wp);
    return rc;
}

void wf_zyclient_kill(wf_sandbox_proc *p)
{
    if (p->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
}

int wf_zyclient_reap(wf_sandbox_proc *p, wf_sandbox_exit *st)
{
    memset(st, 0, sizeof *st);
    zy_proc *wp = p->engine;
    int rc = 0;
    if (p->pidfd >= 0)
        wait_fd(p->pidfd, POLLIN, -1);
    struct wf_zygote_status zs;
    memset(&zs, 0, sizeof zs);
    ssize_t n = -1;
    if (wp && wp->status_fd >= 0 && wait_fd(wp->status_fd, POLLIN, STATUS_TIMEOUT_MS) > 0) {
        do
            n = read(wp->status_fd, &zs, sizeof zs);
        while (n < 0 && errno == EINTR);
    }
    if (n == (ssize_t)sizeof zs && zs.magic == WF_ZYGOTE_MAGIC) {
        st->exited = zs.exited;
        st->code = zs.code;
        st->signal = zs.signal;
    } else {
        /* No word from the zygote: it died, and took the run with it. The
         * sandbox failed, not the plugin (the run is a runtime_error). */
        st->signal = SIGKILL;
        st->sandbox_lost = 1;
        rc = WF_EIO;
    }
    if (wp) {
        wf_sandbox_fd_close(&wp->status_fd);
        free(wp);
        p->engine = NULL;
    }
    /* Its uid is free again only now: the run and all it made are gone. */
    wf_sandbox_uid_put(p->uid_slot);
    p->uid_slot = 0;
    wf_sandbox_proc_close_fds(p);
    return rc;
}
