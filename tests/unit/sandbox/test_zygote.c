/* test_zygote.c - the zygote protocol's two shared halves (zygote_client.c,
 * zygote_serve.c) against each other, and the native runs' seccomp filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/seccomp.h>
#include <unistd.h>

#include "common/wf_error.h"
#include "sandbox/native.h"
#include "sandbox/zygote_client.h"
#include "sandbox/zygote_serve.h"

/* ---- a toy zygote: its runs write "hello <memory_mb>" to stdout, then
 * read one byte from the bridge and exit with it as the status ---- */

static int toy_bridge = -1, toy_out = -1;
static int toy_wait = 1; /* the zygote's wait_setup */

static void toy_setup(void *ctx, const struct wf_zygote_req *req, const int fds[3],
                      int report_fd, pid_t zygote)
{
    (void)ctx;
    (void)zygote;
    if (req->tmp_mb == 99) {
        errno = EPERM;
        wf_zyserve_child_fail(report_fd, "toy step");
    }
    toy_bridge = fds[0];
    toy_out = fds[1];
    close(report_fd);
    close(fds[2]);
}

static int toy_start(void *ctx, int child_ctl, pid_t *pid, int *pidfd, char *err, size_t errlen)
{
    (void)ctx;
    pid_t p = fork();
    if (p < 0) {
        wf_errorf(err, errlen, "fork: %s", strerror(errno));
        return WF_EIO;
    }
    if (p == 0) {
        /* Only the control socket (at 3), as a real zygote has; and gone
         * with the test. */
        if (dup2(child_ctl, 3) < 0 || syscall(SYS_close_range, 4u, ~0u, 0u) < 0 ||
            prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
            _exit(99);
        child_ctl = 3;
        wf_zyserve_run(child_ctl, toy_wait, toy_setup, NULL);
        /* a run */
        close(child_ctl);
        char msg[64];
        int n = snprintf(msg, sizeof msg, "hello %d", wf_zyserve_is_child());
        if (write(toy_out, msg, (size_t)n) < 0)
            _exit(100);
        unsigned char code = 0;
        if (read(toy_bridge, &code, 1) != 1)
            _exit(101);
        _exit(code);
    }
    *pid = p;
    *pidfd = (int)syscall(SYS_pidfd_open, p, 0);
    return *pidfd < 0 ? WF_EIO : 0;
}

/* A zygote that says it is ready, then dies at its first request without
 * reading it (as one killed at that moment would); the next start is a
 * working toy zygote. */
static int lame_starts;

static int lame_then_toy_start(void *ctx, int child_ctl, pid_t *pid, int *pidfd, char *err,
                               size_t errlen)
{
    if (lame_starts == 0)
        return toy_start(ctx, child_ctl, pid, pidfd, err, errlen);
    lame_starts--;
    pid_t p = fork();
    if (p < 0) {
        wf_errorf(err, errlen, "fork: %s", strerror(errno));
        return WF_EIO;
    }
    if (p == 0) {
        struct wf_zygote_reply ready = {.magic = WF_ZYGOTE_MAGIC, .ok = 1};
        if (send(child_ctl, &ready, sizeof ready, 0) != (ssize_t)sizeof ready)
            _exit(99);
        struct pollfd pf = {.fd = child_ctl, .events = POLLIN};
        if (poll(&pf, 1, 5000) != 1)
            _exit(98);
        _exit(0);
    }
    *pid = p;
    *pidfd = (int)syscall(SYS_pidfd_open, p, 0);
    return *pidfd < 0 ? WF_EIO : 0;
}

static const wf_sandbox_limits lim = {.memory_mb = 64, .cpu_s = 5, .tmp_mb = 1,
                                      .max_files = 64};

static void read_all(int fd, char *buf, size_t cap)
{
    size_t off = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(poll(&p, 1, 5000) == 1);
        ssize_t n = read(fd, buf + off, cap - 1 - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    buf[off] = '\0';
}

/* A run: its output, the status it exits with, everything closed after. */
static void run_one(wf_zyclient *zc, unsigned char code)
{
    char err[256] = "";
    wf_sandbox_proc p;
    assert_int_equal(wf_zyclient_spawn(zc, &lim, &p, err, sizeof err), 0);
    assert_true(p.pid > 0 && p.pidfd >= 0 && p.engine != NULL);
    assert_int_equal(write(p.bridge_fd, &code, 1), 1);
    char out[64];
    read_all(p.out_fd, out, sizeof out);
    assert_string_equal(out, "hello 1");
    wf_sandbox_exit st;
    assert_int_equal(wf_zyclient_reap(&p, &st), 0);
    assert_int_equal(st.exited, 1);
    assert_int_equal(st.code, code);
    assert_int_equal(p.pidfd, -1);
    assert_null(p.engine);
}

static void test_runs_and_statuses(void **state)
{
    (void)state;
    wf_zyclient zc;
    char err[256] = "";
    wf_zyclient_init(&zc, "toy", "the toy zygote", toy_start, NULL, 5000, 1);
    assert_int_equal(wf_zyclient_ensure(&zc, err, sizeof err), 0);

    run_one(&zc, 7);

    /* killed by its pidfd; the run says its zygote has the SDK, as init said */
    wf_sandbox_proc p;
    wf_sandbox_exit st;
    assert_int_equal(wf_zyclient_spawn(&zc, &lim, &p, err, sizeof err), 0);
    assert_int_equal(p.sdk_preloaded, 1);
    wf_zyclient_kill(&p);
    assert_int_equal(wf_zyclient_reap(&p, &st), 0);
    assert_int_equal(st.exited, 0);
    assert_int_equal(st.signal, SIGKILL);

    /* a failed set-up step is a failed spawn that says which and why */
    wf_sandbox_limits bad = lim;
    bad.tmp_mb = 99;
    assert_int_equal(wf_zyclient_spawn(&zc, &bad, &p, err, sizeof err), WF_EIO);
    assert_non_null(strstr(err, "toy step"));
    assert_non_null(strstr(err, strerror(EPERM)));
    assert_int_equal(p.pidfd, -1);

    wf_zyclient_destroy(&zc);
}

static void test_no_wait_for_setup(void **state)
{
    (void)state;
    wf_zyclient zc;
    char err[256] = "";
    toy_wait = 0;
    wf_zyclient_init(&zc, "toy", "the toy zygote", toy_start, NULL, 5000, 0);

    run_one(&zc, 5);
    wf_sandbox_proc p;
    wf_sandbox_exit st;
    char out[256];

    /* a failed step: the spawn succeeded already, the run says why on its
     * stderr and ends with 126 */
    wf_sandbox_limits bad = lim;
    bad.tmp_mb = 99;
    assert_int_equal(wf_zyclient_spawn(&zc, &bad, &p, err, sizeof err), 0);
    assert_int_equal(p.sdk_preloaded, 0);
    read_all(p.err_fd, out, sizeof out);
    assert_non_null(strstr(out, "sandbox set-up failed at toy step"));
    assert_non_null(strstr(out, strerror(EPERM)));
    assert_int_equal(wf_zyclient_reap(&p, &st), 0);
    assert_int_equal(st.exited, 1);
    assert_int_equal(st.code, 126);
    wf_zyclient_destroy(&zc);
    toy_wait = 1;
}

static void test_zygote_death(void **state)
{
    (void)state;
    wf_zyclient zc;
    char err[256] = "";
    wf_zyclient_init(&zc, "toy", "the toy zygote", toy_start, NULL, 5000, 0);
    wf_sandbox_proc p;
    assert_int_equal(wf_zyclient_spawn(&zc, &lim, &p, err, sizeof err), 0);
    pid_t first = zc.zpid;

    /* The zygote dies with a run in flight: that run ends without a word
     * from it (reported as killed), and the next spawn starts another. */
    assert_int_equal(kill(first, SIGKILL), 0);
    struct pollfd zp = {.fd = zc.zpidfd, .events = POLLIN};
    assert_int_equal(poll(&zp, 1, 5000), 1);
    unsigned char code = 0;
    assert_int_equal(write(p.bridge_fd, &code, 1), 1);
    wf_sandbox_exit st;
    assert_int_equal(wf_zyclient_reap(&p, &st), WF_EIO);
    assert_int_equal(st.signal, SIGKILL);

    assert_int_equal(wf_zyclient_spawn(&zc, &lim, &p, err, sizeof err), 0);
    assert_true(zc.zpid != first);
    assert_int_equal(zc.starts, 2);
    code = 3;
    assert_int_equal(write(p.bridge_fd, &code, 1), 1);
    assert_int_equal(wf_zyclient_reap(&p, &st), 0);
    assert_int_equal(st.code, 3);

    /* Closing the control socket ends the zygote. */
    pid_t z = zc.zpid;
    wf_zyclient_destroy(&zc);
    assert_int_equal(kill(z, 0), -1);
}

/* A zygote that dies with our request unread in its socket: the spawn
 * takes that as the zygote gone, not as a protocol error, and is served
 * by a new one. */
static void test_zygote_dies_at_the_request(void **state)
{
    (void)state;
    wf_zyclient zc;
    char err[256] = "";
    lame_starts = 1;
    wf_zyclient_init(&zc, "toy", "the toy zygote", lame_then_toy_start, NULL, 5000, 0);
    assert_int_equal(wf_zyclient_ensure(&zc, err, sizeof err), 0);
    run_one(&zc, 4);
    assert_int_equal(zc.starts, 2);
    wf_zyclient_destroy(&zc);
}

/* ---- the native runs' seccomp filter ---- */

struct check {
    const char *what;
    long (*call)(void);
    int want_errno; /* 0: must succeed */
};

static long c_kill(void) { return syscall(SYS_kill, getppid(), 0); }
static long c_tkill(void) { return syscall(SYS_tkill, getppid(), 0); }
static long c_tgkill(void) { return syscall(SYS_tgkill, getppid(), getppid(), 0); }
static long c_sigqueue(void)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = SI_QUEUE;
    return syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &si);
}
static long c_pidfd_open(void) { return syscall(SYS_pidfd_open, getppid(), 0); }
static long c_pidfd_signal(void) { return syscall(SYS_pidfd_send_signal, 0, 0, NULL, 0); }
static long c_ptrace(void) { return syscall(SYS_ptrace, PTRACE_ATTACH, getppid(), 0, 0); }
static long c_vm_read(void)
{
    char a[8], b[8];
    struct iovec l = {a, sizeof a}, r = {b, sizeof b};
    return syscall(SYS_process_vm_readv, getppid(), &l, 1, &r, 1, 0);
}
static long c_kcmp(void) { return syscall(SYS_kcmp, getpid(), getppid(), 0, 0, 0); }
static long c_shmget(void) { return syscall(SYS_shmget, IPC_PRIVATE, 4096, 0600); }
static long c_shmat(void) { return syscall(SYS_shmat, 0, NULL, 0); }
static long c_msgget(void) { return syscall(SYS_msgget, IPC_PRIVATE, 0600); }
static long c_semget(void) { return syscall(SYS_semget, IPC_PRIVATE, 1, 0600); }
static long c_mq_open(void) { return syscall(SYS_mq_open, "wf-test", O_CREAT | O_RDWR, 0600, NULL); }
static long c_prlimit_other(void)
{
    struct rlimit rl;
    return syscall(SYS_prlimit64, getppid(), RLIMIT_NOFILE, NULL, &rl);
}
static long c_prlimit_self(void)
{
    struct rlimit rl;
    return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl);
}
static long c_prio_user(void) { return syscall(SYS_setpriority, PRIO_USER, 0, 10); }
static long c_prio_other(void) { return syscall(SYS_setpriority, PRIO_PROCESS, getppid(), 10); }
static long c_prio_self(void) { return syscall(SYS_setpriority, PRIO_PROCESS, 0, 1); }
static long c_affinity_other(void)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(0, &s);
    return syscall(SYS_sched_setaffinity, getppid(), sizeof s, &s);
}
static long c_socket(void) { return syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0); }
static long c_bind_abstract(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, "\0wf-test", 8);
    long r = syscall(SYS_bind, sv[0], &a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 8));
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    errno = e;
    return r;
}
static long c_unshare(void) { return syscall(SYS_unshare, CLONE_NEWNS); }
static long c_fork(void) { return syscall(SYS_fork); }
static long c_mount(void) { return syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL); }

/* Signal routes through descriptors, timers; code; names (issue 11). */
/* One call on a fresh pipe's read end: fcntl(cmd, arg) or ioctl(cmd, &iarg). */
static long pipe_call(long nr, unsigned long cmd, long arg)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    long r = syscall(nr, p[0], cmd, arg);
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    return r;
}
static long on_pipe(int cmd, long arg) { return pipe_call(SYS_fcntl, (unsigned long)cmd, arg); }
static long c_setown(void) { return on_pipe(F_SETOWN, getppid()); }
static long c_setown_pgrp(void) { return on_pipe(F_SETOWN, -getpgrp()); }
static long c_setown_ex(void)
{
    struct f_owner_ex o = {F_OWNER_PID, getppid()};
    return on_pipe(F_SETOWN_EX, (long)&o);
}
static long c_setsig(void) { return on_pipe(F_SETSIG, SIGKILL); }
static long c_setfl_async(void) { return on_pipe(F_SETFL, O_ASYNC | O_NONBLOCK); }
static long c_setfl_nonblock(void) { return on_pipe(F_SETFL, O_NONBLOCK); }
static long c_getfl(void) { return on_pipe(F_GETFL, 0); }
static long c_setlease(void) { return on_pipe(F_SETLEASE, F_RDLCK); }
static long c_getlk(void)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    return on_pipe(F_GETLK, (long)&fl);
}
static long ioctl_pipe(unsigned long req, int arg) { return pipe_call(SYS_ioctl, req, (long)&arg); }
static long c_fiosetown(void) { return ioctl_pipe(FIOSETOWN, getppid()); }
static long c_siocspgrp(void) { return ioctl_pipe(SIOCSPGRP, getppid()); }
static long c_fioasync(void) { return ioctl_pipe(FIOASYNC, 1); }
static long c_fionbio(void) { return ioctl_pipe(FIONBIO, 1); }
static long c_timer_create(void)
{
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGKILL;
    ev._sigev_un._tid = getppid();
    int id;
    return syscall(SYS_timer_create, CLOCK_REALTIME, &ev, &id);
}
static long c_flock(void)
{
    int fd = open("/dev/null", O_RDONLY);
    long r = syscall(SYS_flock, fd, LOCK_EX | LOCK_NB);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}
static long mm(int prot, int flags, int fd)
{
    void *p = (void *)syscall(SYS_mmap, NULL, 4096, prot, flags, fd, 0);
    if (p == MAP_FAILED)
        return -1;
    munmap(p, 4096);
    return 0;
}
static long c_mmap_rw(void) { return mm(PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1); }
static long c_mmap_anon_x(void) { return mm(PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1); }
static long mm_file(int prot)
{
    int fd = open("/usr/bin/python3", O_RDONLY);
    long r = mm(prot, MAP_PRIVATE, fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}
static long c_mmap_file_x(void) { return mm_file(PROT_READ | PROT_EXEC); }
static long c_mmap_file_wx(void) { return mm_file(PROT_READ | PROT_WRITE | PROT_EXEC); }
static long c_mprotect_x(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    long r = syscall(SYS_mprotect, p, 4096, PROT_READ | PROT_EXEC);
    int e = errno;
    munmap(p, 4096);
    errno = e;
    return r;
}
static long c_memfd(void) { return syscall(SYS_memfd_create, "x", 0); }
static long c_clone_process(void) { return syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0); }
static long c_clone3(void) { return syscall(SYS_clone3, NULL, 0); }
static long on_dgram(int what)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
        return -1;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, "\0wf-test", 8);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 8);
    struct iovec iov = {"x", 1};
    struct msghdr mh = {.msg_name = &a, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
    long r = what == 0   ? syscall(SYS_connect, sv[0], &a, len)
             : what == 1 ? syscall(SYS_sendto, sv[0], "x", 1, 0, &a, len)
             : what == 2 ? syscall(SYS_sendmsg, sv[0], &mh, 0)
                         : syscall(SYS_sendto, sv[0], "x", 1, 0, NULL, 0);
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    errno = e;
    return r < 0 ? r : 0;
}
static long c_connect(void) { return on_dgram(0); }
static long c_sendto_addr(void) { return on_dgram(1); }
static long c_sendmsg(void) { return on_dgram(2); }
static long c_send(void) { return on_dgram(3); }

static const struct check checks[] = {
    {"kill another", c_kill, EPERM},
    {"tkill", c_tkill, EPERM},
    {"tgkill", c_tgkill, EPERM},
    {"rt_sigqueueinfo", c_sigqueue, EPERM},
    {"pidfd_open", c_pidfd_open, EPERM},
    {"pidfd_send_signal", c_pidfd_signal, EPERM},
    {"ptrace", c_ptrace, EPERM},
    {"process_vm_readv", c_vm_read, EPERM},
    {"kcmp", c_kcmp, EPERM},
    {"shmget", c_shmget, EPERM},
    {"shmat", c_shmat, EPERM},
    {"msgget", c_msgget, EPERM},
    {"semget", c_semget, EPERM},
    {"mq_open", c_mq_open, EPERM},
    {"prlimit64 of another", c_prlimit_other, EPERM},
    {"prlimit64 of itself", c_prlimit_self, 0},
    {"setpriority PRIO_USER", c_prio_user, EPERM},
    {"setpriority of another", c_prio_other, EPERM},
    {"setpriority of itself", c_prio_self, 0},
    {"sched_setaffinity of another", c_affinity_other, EPERM},
    {"socket", c_socket, EACCES},
    {"bind of a socketpair's socket", c_bind_abstract, EPERM},
    {"unshare", c_unshare, EPERM},
    {"fork", c_fork, EPERM},
    {"mount", c_mount, EPERM},
    {"F_SETOWN", c_setown, EPERM},
    {"F_SETOWN to a process group", c_setown_pgrp, EPERM},
    {"F_SETOWN_EX", c_setown_ex, EPERM},
    {"F_SETSIG", c_setsig, EPERM},
    {"F_SETFL with O_ASYNC", c_setfl_async, EPERM},
    {"F_SETFL O_NONBLOCK", c_setfl_nonblock, 0},
    {"F_GETFL", c_getfl, 0},
    {"F_SETLEASE", c_setlease, EPERM},
    {"F_GETLK", c_getlk, EPERM},
    {"ioctl FIOSETOWN", c_fiosetown, EPERM},
    {"ioctl SIOCSPGRP", c_siocspgrp, EPERM},
    {"ioctl FIOASYNC", c_fioasync, EPERM},
    {"ioctl FIONBIO", c_fionbio, 0},
    {"timer_create", c_timer_create, EPERM},
    {"flock", c_flock, EPERM},
    {"mmap read-write", c_mmap_rw, 0},
    {"mmap anonymous executable", c_mmap_anon_x, EPERM},
    {"mmap a file executable", c_mmap_file_x, 0},
    {"mmap a file writable and executable", c_mmap_file_wx, EPERM},
    {"mprotect to executable", c_mprotect_x, EPERM},
    {"memfd_create", c_memfd, EPERM},
    {"clone of a process", c_clone_process, EPERM},
    {"clone3", c_clone3, ENOSYS},
    {"connect", c_connect, EPERM},
    {"sendto an address", c_sendto_addr, EPERM},
    {"sendmsg", c_sendmsg, EPERM},
    {"send on a socketpair", c_send, 0},
};
#define NCHECKS (sizeof checks / sizeof checks[0])

static void test_native_filter(void **state)
{
    (void)state;
    static wf_native_plan pl; /* large: not on the stack */
    char exe[PATH_MAX], err[256] = "";
    assert_non_null(realpath("/usr/bin/python3", exe));
    assert_int_equal(wf_native_plan_init(&pl, exe, err, sizeof err), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &pl.seccomp) < 0)
            _exit(2);
        int res[NCHECKS];
        for (size_t i = 0; i < NCHECKS; i++) {
            errno = 0;
            long r = checks[i].call();
            res[i] = r < 0 ? errno : 0;
        }
        _exit(write(fds[1], res, sizeof res) == (ssize_t)sizeof res ? 0 : 3);
    }
    close(fds[1]);
    int res[NCHECKS];
    size_t off = 0;
    ssize_t n;
    while (off < sizeof res && (n = read(fds[0], (char *)res + off, sizeof res - off)) > 0)
        off += (size_t)n;
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(off, sizeof res);
    int bad = 0;
    for (size_t i = 0; i < NCHECKS; i++) {
        if (res[i] != checks[i].want_errno) {
            fprintf(stderr, "# %s: errno %d, want %d\n", checks[i].what, res[i],
                    checks[i].want_errno);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    wf_native_plan_free(&pl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_and_statuses),
        cmocka_unit_test(test_no_wait_for_setup),
        cmocka_unit_test(test_zygote_death),
        cmocka_unit_test(test_zygote_dies_at_the_request),
        cmocka_unit_test(test_native_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
