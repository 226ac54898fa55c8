/* zygote.c - forks one confined child per run from an initialised CPython
 * blocked in a WASI read; the zygote reaps the children and reports them.
 *
 * The zygote never runs plugin code. Everything between fork and the
 * child's return into Python is set-up that must finish before the plugin
 * gets control; its failures are reported to the zygote through a pipe
 * (EOF: all went well) and become a failed spawn, not a failed run. */
#include "engine/zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/zygote_proto.h"
#include "wasi/wasi_internal.h"

#define NOBODY 65534
#define REPORT_FD 103 /* the child's set-up report pipe, closed last */
#define MAX_KIDS 8192

struct kid {
    pid_t pid;
    int status_fd;
};

static struct {
    struct wf_wasi_host *host;
    int control_fd;
    int is_child;
    int sigfd;
    unsigned long vmdata_kb; /* the zygote's data size when it was ready */
    struct sock_fprog filter; /* the children's seccomp program */
    struct kid kids[MAX_KIDS];
    size_t nkids;
} z = {.control_fd = -1, .sigfd = -1};

void wf_zygote_init(struct wf_wasi_host *host, int control_fd)
{
    z.host = host;
    z.control_fd = control_fd;
}

int wf_zygote_is_child(void)
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

void wf_zygote_fail(int control_fd, const char *msg)
{
    send_reply(control_fd, 0, 0, -1, msg);
}

static unsigned long vmdata_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    unsigned long kb = 0;
    char line[256];
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %lu kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- in the child ---- */

static void child_report(const char *what)
{
    char buf[240];
    int n = snprintf(buf, sizeof buf, "%s: %s", what, strerror(errno));
    if (n > 0 && write(REPORT_FD, buf, (size_t)n) < 0)
        _exit(126);
    _exit(126);
}

static void set_limit(int res, rlim_t soft, rlim_t hard, const char *what)
{
    struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
    if (setrlimit(res, &rl) < 0)
        child_report(what);
}

/* A run's end: its descriptors close first, so the server has the whole
 * result at once, not after the kernel has unmapped the process. */
static void child_exit(struct wf_wasi_host *h, uint32_t code)
{
    (void)h;
    close(WF_ZYGOTE_HOSTFD_STDOUT);
    close(WF_ZYGOTE_HOSTFD_STDERR);
    close(WF_ZYGOTE_HOSTFD_BRIDGE);
    _exit((int)(code & 0xff));
}

/* Everything a child does before it returns into Python. fds: bridge,
 * stdout, stderr (the status pipe stays with the zygote). */
static void child_setup(const struct wf_zygote_req *req, const int *fds, int report_fd,
                        pid_t zygote)
{
    sigset_t none;
    sigemptyset(&none);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* The run's descriptors at fixed numbers, and nothing else: 0 and 1 are
     * /dev/null already (the engine made them so), stderr joins them. */
    if (dup2(report_fd, REPORT_FD) < 0)
        _exit(126);
    if (dup2(fds[0], WF_ZYGOTE_HOSTFD_BRIDGE) < 0 || dup2(fds[1], WF_ZYGOTE_HOSTFD_STDOUT) < 0 ||
        dup2(fds[2], WF_ZYGOTE_HOSTFD_STDERR) < 0 || dup2(0, 2) < 0)
        child_report("dup2");
    if (syscall(SYS_close_range, 3u, (unsigned)WF_ZYGOTE_HOSTFD_BRIDGE - 1, 0u) < 0 ||
        syscall(SYS_close_range, (unsigned)REPORT_FD + 1, ~0u, 0u) < 0)
        child_report("close_range");

    /* The guest's share of this run: the control hook is gone, the memory
     * cap and /tmp are the run's, the output counters start at zero. */
    struct wf_wasi_host *h = z.host;
    memset(&h->fds[WF_ZYGOTE_GUESTFD_CONTROL], 0, sizeof h->fds[0]);
    h->fds[WF_ZYGOTE_GUESTFD_CONTROL].host_fd = -1;
    uint64_t pages = (uint64_t)req->memory_mb * 16;
    if (h->mem) {
        if (pages < h->mem->pages)
            pages = h->mem->pages;
        if (pages < h->mem->max_pages)
            h->mem->max_pages = pages;
    }
    h->vfs.max_bytes = (uint64_t)(req->tmp_mb ? req->tmp_mb : 16) << 20;
    h->out.passed = h->err.passed = 0;
    h->out.flooded = h->err.flooded = 0;
    h->on_exit = child_exit;

    /* Host memory beyond the guest's: what the zygote had, the cap, and
     * room for the host's own buffers (/tmp, output). */
    rlim_t data = ((rlim_t)z.vmdata_kb << 10) + ((rlim_t)req->memory_mb << 20) +
                  ((rlim_t)(req->tmp_mb ? req->tmp_mb : 16) << 20) + ((rlim_t)64 << 20);
    set_limit(RLIMIT_DATA, data, data, "RLIMIT_DATA");
    if (req->cpu_s)
        set_limit(RLIMIT_CPU, req->cpu_s, req->cpu_s + 1, "RLIMIT_CPU");
    set_limit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
    set_limit(RLIMIT_FSIZE, 0, 0, "RLIMIT_FSIZE");
    set_limit(RLIMIT_NOFILE, REPORT_FD + 1, REPORT_FD + 1, "RLIMIT_NOFILE");
    set_limit(RLIMIT_MEMLOCK, 0, 0, "RLIMIT_MEMLOCK");

    if (geteuid() == 0) {
        if (setgroups(0, NULL) < 0)
            child_report("setgroups");
        if (setresgid(NOBODY, NOBODY, NOBODY) < 0)
            child_report("setresgid");
        if (setresuid(NOBODY, NOBODY, NOBODY) < 0)
            child_report("setresuid");
    }
    /* After the credentials change, which clears it: a run does not
     * outlive its zygote (whose status pipe is the only word of its end). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        child_report("PR_SET_PDEATHSIG");
    if (getppid() != zygote)
        _exit(126);
    set_limit(RLIMIT_NPROC, 0, 0, "RLIMIT_NPROC");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_report("PR_SET_NO_NEW_PRIVS");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        child_report("PR_SET_DUMPABLE");
    if (wf_zygote_seccomp_load(&z.filter) < 0)
        child_report("seccomp");
    close(REPORT_FD);
}

/* ---- in the zygote ---- */

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

/* One request: returns 1 in the child (set up, ready for Python), 0 in
 * the zygote. */
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

    int rp[2];
    if (pipe2(rp, O_CLOEXEC) < 0) {
        close_fds(fds, nfds);
        send_reply(z.control_fd, 0, 0, -1, "pipe failed");
        return 0;
    }
    pid_t zygote = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        z.is_child = 1;
        close(rp[0]);
        child_setup(&req, fds, rp[1], zygote);
        return 1;
    }
    close(rp[1]);
    close_fds(fds, 3);
    if (pid < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "fork failed: %s", strerror(errno));
        close(fds[3]);
        close(rp[0]);
        send_reply(z.control_fd, 0, 0, -1, msg);
        return 0;
    }
    z.kids[z.nkids++] = (struct kid){.pid = pid, .status_fd = fds[3]};

    /* EOF: the child is confined and back in Python. Text: what failed. */
    char why[200];
    ssize_t r;
    do
        r = read(rp[0], why, sizeof why - 1);
    while (r < 0 && errno == EINTR);
    close(rp[0]);
    if (r != 0) {
        why[r > 0 ? r : 0] = '\0';
        kill(pid, SIGKILL);
        char msg[244];
        snprintf(msg, sizeof msg, "setting up the run failed: %s", r > 0 ? why : "no report");
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

/* Blocks serving requests; returns only in a child. */
static void serve(void)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    z.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (z.sigfd < 0) {
        wf_zygote_fail(z.control_fd, "signalfd failed");
        _exit(1);
    }
    char err[200];
    if (wf_zygote_seccomp_build(&z.filter, err, sizeof err) < 0) {
        wf_zygote_fail(z.control_fd, err);
        _exit(1);
    }
    z.vmdata_kb = vmdata_kb();
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

int wf_zygote_hook_read(void *ctx, void *buf, size_t len, size_t *nread)
{
    (void)ctx;
    if (z.is_child)
        return WASI_EBADF;
    serve();
    /* In a run's child, confined: hand Python its go. */
    static const char go[] = "run\n";
    size_t n = len < sizeof go - 1 ? len : sizeof go - 1;
    memcpy(buf, go, n);
    *nread = n;
    return 0;
}
