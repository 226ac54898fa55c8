/* zygote_serve.c - the fork/reap loop both zygotes run: requests in on the
 * control socket, one confined child per run, statuses out on status pipes.
 *
 * The zygote never runs plugin code. Everything between fork and the
 * child's return is set-up that must finish before the plugin gets control;
 * its failures come back through a pipe (EOF: all went well) and become a
 * failed spawn, not a failed run. */
#include "sandbox/zygote_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_KIDS 8192

struct kid {
    pid_t pid;
    int status_fd;
};

static struct {
    int control_fd;
    int is_child;
    int sigfd;
    int wait_setup;  /* 0: reply at once; set-up failures go to the run's stderr */
    wf_zyserve_setup_fn setup;
    void *ctx;
    struct kid kids[MAX_KIDS];
    size_t nkids;
} z = {.control_fd = -1, .sigfd = -1};

int wf_zyserve_is_child(void)
{
    return z.is_child;
}

static ssize_t send_reply(int fd, int ok, pid_t pid, int pidfd, const char *msg)
{
    struct wf_zygote_reply rep;
    memset(&rep, 0, sizeof rep);
    rep.magic = WF_ZYGOTE_MAGIC;
    rep.ok = ok;
    rep.pid = (int32_t)pid;
    if (msg)
        snprintf(rep.msg, sizeof rep.msg, "%s", msg);
    struct iovec iov = {.iov_base = &rep, .iov_len = sizeof rep};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (pidfd >= 0) {
        memset(&u, 0, sizeof u);
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &pidfd, sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
}

void wf_zyserve_fail(int control_fd, const char *msg)
{
    send_reply(control_fd, 0, 0, -1, msg);
}

_Noreturn void wf_zyserve_child_fail(int report_fd, const char *what)
{
    int e = errno;
    if (!z.wait_setup && z.is_child) {
        /* The spawn has succeeded already: say it on the run's stderr. */
        char text[256];
        int n = snprintf(text, sizeof text, "sandbox set-up failed at %s: %s\n", what,
                         strerror(e));
        if (n > 0 && write(report_fd, text, (size_t)n) < 0)
            _exit(126);
        _exit(126);
    }
    char buf[128];
    size_t n = strlen(what);
    if (n > sizeof buf - 1 - sizeof e)
        n = sizeof buf - 1 - sizeof e;
    memcpy(buf, what, n);
    buf[n] = '\0';
    memcpy(buf + n + 1, &e, sizeof e);
    ssize_t w = write(report_fd, buf, n + 1 + sizeof e);
    (void)w;
    _exit(126);
}

void wf_zyserve_report_text(const char *buf, size_t n, char *out, size_t outlen)
{
    size_t len = strnlen(buf, n);
    int e = 0;
    if (len + 1 + sizeof e <= n) {
        memcpy(&e, buf + len + 1, sizeof e);
        snprintf(out, outlen, "%.*s: %s", (int)len, buf, strerror(e));
    } else {
        snprintf(out, outlen, "%.*s", (int)len, buf);
    }
}

static void kid_done(pid_t pid, int status)
{
    for (size_t i = 0; i < z.nkids; i++) {
        if (z.kids[i].pid != pid)
            continue;
        struct wf_zygote_status st = {.magic = WF_ZYGOTE_MAGIC};
        if (WIFEXITED(status)) {
            st.exited = 1;
            st.code = WEXITSTATUS(status);
        } else {
            st.signal = WTERMSIG(status);
        }
        /* A pipe holds far more than one record: this never blocks. */
        if (write(z.kids[i].status_fd, &st, sizeof st) < 0) {
            /* the server gave up on this run; nothing to tell */
        }
        close(z.kids[i].status_fd);
        z.kids[i] = z.kids[--z.nkids];
        return;
    }
}

static void reap_all(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        kid_done(pid, status);
}

static void shut_down(void)
{
    for (size_t i = 0; i < z.nkids; i++)
        kill(z.kids[i].pid, SIGKILL);
    _exit(0);
}

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* One request: returns 1 in the child (set up), 0 in the zygote. */
static int serve_one(void)
{
    struct wf_zygote_req req;
    int fds[WF_ZYGOTE_NFDS] = {-1, -1, -1, -1};
    int nfds = 0;
    union {
        char buf[CMSG_SPACE(sizeof(int) * WF_ZYGOTE_NFDS)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = &req, .iov_len = sizeof req};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof u.buf};
    ssize_t n;
    do
        n = recvmsg(z.control_fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno != EAGAIN))
        shut_down(); /* the server is gone or closed us: so are the runs */
    if (n < 0)
        return 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (nfds < WF_ZYGOTE_NFDS)
                fds[nfds++] = fd;
            else
                close(fd);
        }
    }
    if (n != (ssize_t)sizeof req || req.magic != WF_ZYGOTE_MAGIC || nfds != WF_ZYGOTE_NFDS ||
        (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        close_fds(fds, nfds);
        send_reply(z.control_fd, 0, 0, -1, "malformed request");
        return 0;
    }
    if (z.nkids == MAX_KIDS) {
        close_fds(fds, nfds);
        send_reply(z.control_fd, 0, 0, -1, "too many runs at once");
        return 0;
    }

    int rp[2] = {-1, -1};
    if (!z.wait_setup) {
        /* The child reports a failed step on its stderr (a copy, which its
         * set-up closes like a report pipe). */
        rp[1] = fcntl(fds[2], F_DUPFD_CLOEXEC, 3);
    } else if (pipe2(rp, O_CLOEXEC) < 0) {
        rp[1] = -1;
    }
    if (rp[1] < 0) {
        close_fds(fds, nfds);
        send_reply(z.control_fd, 0, 0, -1, "pipe failed");
        return 0;
    }
    pid_t zygote = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        z.is_child = 1;
        if (rp[0] >= 0)
            close(rp[0]);
        close(fds[3]);
        sigset_t none;
        sigemptyset(&none);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        z.setup(z.ctx, &req, fds, rp[1], zygote);
        return 1;
    }
    close(rp[1]);
    close_fds(fds, 3);
    if (pid < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "fork failed: %s", strerror(errno));
        close(fds[3]);
        if (rp[0] >= 0)
            close(rp[0]);
        send_reply(z.control_fd, 0, 0, -1, msg);
        return 0;
    }
    z.kids[z.nkids++] = (struct kid){.pid = pid, .status_fd = fds[3]};

    /* EOF: the child is confined and back with its caller. Else: what failed. */
    char why[200];
    ssize_t r = 0;
    while (rp[0] >= 0 && (r = read(rp[0], why, sizeof why - 1)) < 0 && errno == EINTR)
        ;
    if (rp[0] >= 0)
        close(rp[0]);
    if (r != 0) {
        char text[200] = "no report";
        if (r > 0)
            wf_zyserve_report_text(why, (size_t)r, text, sizeof text);
        kill(pid, SIGKILL);
        char msg[244];
        snprintf(msg, sizeof msg, "setting up the run failed: %s", text);
        send_reply(z.control_fd, 0, 0, -1, msg);
        return 0;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        send_reply(z.control_fd, 0, 0, -1, "pidfd_open failed");
        return 0;
    }
    send_reply(z.control_fd, 1, pid, pidfd, NULL);
    close(pidfd);
    return 0;
}

void wf_zyserve_run(int control_fd, int wait_setup, wf_zyserve_setup_fn setup, void *ctx)
{
    z.control_fd = control_fd;
    z.wait_setup = wait_setup;
    z.setup = setup;
    z.ctx = ctx;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    z.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (z.sigfd < 0) {
        wf_zyserve_fail(z.control_fd, "signalfd failed");
        _exit(1);
    }
    if (send_reply(z.control_fd, 1, 0, -1, "ready") < 0)
        _exit(1);
    for (;;) {
        struct pollfd p[2] = {{.fd = z.control_fd, .events = POLLIN},
                              {.fd = z.sigfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            shut_down();
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            while (read(z.sigfd, &si, sizeof si) > 0)
                ;
            reap_all();
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (serve_one())
                return;
        }
    }
}
