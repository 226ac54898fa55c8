/* native.c - the native fallback sandbox (USE_WASMEDGE=false): the host's
 * python3 running sdk/runner.py in a confined child, one process per run.
 *
 * Children are made with clone3 (new namespaces and a pidfd in one call),
 * signals blocked around it, set-up failures reported through a
 * close-on-exec pipe (as libuv's spawn does). What the child does to
 * confine itself is in native_confine.c. */
#include "sandbox/native.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_fd.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define NATIVE_PYTHON "/usr/bin/python3"

typedef struct native {
    wf_sandbox base;
    const wf_config *cfg;
    char exe[PATH_MAX];
    char *argv[12];
    unsigned char *code;    /* the runner compiled once (marshal), framed */
    size_t code_len;
    wf_native_plan plan;
    char desc[512];
} native;

/* The kernel's struct clone_args, spelled out to keep <linux/sched.h>
 * (which clashes with <sched.h>) out. */
struct wf_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

#ifndef WF_NATIVE_COPY_MM
#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps shadow state per stack; a child running on a borrowed stack
 * in our memory would leave it wrong. Sanitizer builds copy the memory. */
#define WF_NATIVE_COPY_MM 1
#else
#define WF_NATIVE_COPY_MM 0
#endif
#endif

#if !WF_NATIVE_COPY_MM
typedef struct child_args {
    const wf_native_plan *plan;
    const wf_native_spawn *sp;
} child_args;

static int child_entry(void *arg)
{
    child_args *a = arg;
    wf_native_child(a->plan, a->sp);
}
#endif

/* Start the child. By default it shares our memory until it execs
 * (CLONE_VM | CLONE_VFORK, as posix_spawn does): copying the page tables of
 * a server with hundreds of threads, many times a second, would hold its
 * memory map lock and stall every other thread. The child only makes
 * system calls on its own stack before exec, and we wait meanwhile. */
static long clone_child(native *nb, const wf_native_spawn *sp, int *pidfd)
{
#if WF_NATIVE_COPY_MM
    struct wf_clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = nb->plan.ns_flags | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)pidfd;
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        wf_native_child(&nb->plan, sp);
    return pid;
#else
    enum { STACK = 256 * 1024 };
    char *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -1;
    child_args a = {&nb->plan, sp};
    int pid = clone(child_entry, stack + STACK,
                    (int)nb->plan.ns_flags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a,
                    pidfd);
    int saved = errno;
    munmap(stack, STACK);
    errno = saved;
    return pid;
#endif
}

static int spawn_argv(native *nb, char *const *argv, const wf_sandbox_limits *lim,
                      wf_sandbox_proc *out, char *err, size_t errlen)
{
    int sv[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1}, rp[2] = {-1, -1};
    int pidfd = -1;
    int rc = WF_EIO;
    memset(out, 0, sizeof *out);
    out->pidfd = out->bridge_fd = out->out_fd = out->err_fd = -1;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0 || pipe2(rp, O_CLOEXEC) < 0) {
        wf_errorf(err, errlen, "creating the sandbox's channels failed: %s", strerror(errno));
        goto fail;
    }
    wf_native_spawn sp = {
        .memory_mb = lim->memory_mb, .cpu_s = lim->cpu_s, .max_files = lim->max_files,
        .tmp_mb = lim->tmp_mb, .bridge_fd = sv[1], .out_fd = op[1], .err_fd = ep[1],
        .report_fd = rp[1], .argv = argv,
    };
    snprintf(sp.tmp_opts, sizeof sp.tmp_opts, "size=%dm,nr_inodes=4096,mode=1777", lim->tmp_mb);

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = clone_child(nb, &sp, &pidfd);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    wf_sandbox_fd_close(&sv[1]);
    wf_sandbox_fd_close(&op[1]);
    wf_sandbox_fd_close(&ep[1]);
    wf_sandbox_fd_close(&rp[1]);
    if (pid < 0) {
        wf_errorf(err, errlen, "starting the sandbox process failed: %s", strerror(saved));
        rc = saved == EAGAIN || saved == ENOMEM ? WF_EFULL : WF_EIO;
        goto fail;
    }

    /* EOF on the report pipe: the exec happened. Anything else is the
     * child telling us which step failed. */
    char rep[128];
    ssize_t n;
    do
        n = read(rp[0], rep, sizeof rep);
    while (n < 0 && errno == EINTR);
    wf_sandbox_fd_close(&rp[0]);
    if (n != 0) {
        if (n > 0)
            wf_native_report_text(rep, (size_t)n, err, errlen);
        else
            wf_errorf(err, errlen, "reading the sandbox's set-up report failed: %s",
                      strerror(errno));
        siginfo_t si;
        while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
            ;
        goto fail;
    }
    if (wf_sandbox_fd_nonblock(sv[0]) < 0 || wf_sandbox_fd_nonblock(op[0]) < 0 ||
        wf_sandbox_fd_nonblock(ep[0]) < 0) {
        wf_errorf(err, errlen, "fcntl failed: %s", strerror(errno));
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        siginfo_t si;
        while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
            ;
        goto fail;
    }
    out->pid = (pid_t)pid;
    out->pidfd = pidfd;
    out->bridge_fd = sv[0];
    out->out_fd = op[0];
    out->err_fd = ep[0];
    return 0;

fail:
    wf_sandbox_fd_close(&pidfd);
    wf_sandbox_fd_close(&sv[0]);
    wf_sandbox_fd_close(&sv[1]);
    wf_sandbox_fd_close(&op[0]);
    wf_sandbox_fd_close(&op[1]);
    wf_sandbox_fd_close(&ep[0]);
    wf_sandbox_fd_close(&ep[1]);
    wf_sandbox_fd_close(&rp[0]);
    wf_sandbox_fd_close(&rp[1]);
    return rc;
}

static void native_kill(wf_sandbox *sb, wf_sandbox_proc *p);
static int native_reap(wf_sandbox *sb, wf_sandbox_proc *p, wf_sandbox_exit *st);

/* The runner's own bytecode, sent as the first bridge frame; the -c
 * argument only reads and executes it. Compiling the runner's source on
 * every start cost more CPU than all the rest of the runner. */
static const char runner_boot[] =
    "import marshal, os\n"
    "def _wf_read(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(3, n - len(b))\n"
    "        if not c:\n"
    "            raise SystemExit(3)\n"
    "        b += c\n"
    "    return b\n"
    "exec(marshal.loads(_wf_read(int.from_bytes(_wf_read(4), 'little'))))\n";

/* Compile the runner with the host's python, outside any sandbox (it is
 * our own code), as marshal data. Best effort: without it, each run
 * compiles the source itself. */
static void precompile_runner(native *nb)
{
    static const char prog[] =
        "import marshal, sys\n"
        "sys.stdout.buffer.write(marshal.dumps(compile(sys.stdin.read(), '<string>', 'exec')))\n";
    char *const argv[] = {nb->exe, "-I", "-S", "-B", "-c", (char *)prog, NULL};
    char *const envp[] = {NULL};
    int in[2] = {-1, -1}, outp[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0)
        goto out;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    pid_t pid;
    int rc = posix_spawn(&pid, nb->exe, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(outp[1]);
    in[0] = outp[1] = -1;
    if (rc != 0)
        goto out;
    /* The source (a few KiB) fits the pipe: write all, then read. */
    size_t off = 0;
    while (off < wf_sdk_runner_py_len) {
        ssize_t w = write(in[1], wf_sdk_runner_py + off, wf_sdk_runner_py_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(in[1]);
    in[1] = -1;
    size_t cap = 1 << 20, len = 4;
    unsigned char *buf = malloc(cap);
    while (buf && len < cap) {
        ssize_t r = read(outp[0], buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (buf && len > 4 && len < cap && off == wf_sdk_runner_py_len && WIFEXITED(st) &&
        WEXITSTATUS(st) == 0) {
        size_t n = len - 4;
        buf[0] = (unsigned char)(n & 0xff);
        buf[1] = (unsigned char)((n >> 8) & 0xff);
        buf[2] = (unsigned char)((n >> 16) & 0xff);
        buf[3] = (unsigned char)((n >> 24) & 0xff);
        nb->code = buf;
        nb->code_len = len;
        buf = NULL;
    }
    free(buf);
out:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (outp[i] >= 0)
            close(outp[i]);
    }
}

static int native_spawn(wf_sandbox *sb, const wf_sandbox_limits *lim, wf_sandbox_proc *out,
                        char *err, size_t errlen)
{
    native *nb = (native *)sb;
    int rc = spawn_argv(nb, nb->argv, lim, out, err, errlen);
    if (rc < 0 || nb->code == NULL)
        return rc;
    /* A fresh socket's buffer takes the runner's code at once; wait a
     * little if it does not, rather than fail. */
    size_t off = 0;
    while (off < nb->code_len) {
        ssize_t w = send(out->bridge_fd, nb->code + off, nb->code_len - off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
            struct pollfd pf = {.fd = out->bridge_fd, .events = POLLOUT};
            if (poll(&pf, 1, 1000) > 0)
                continue;
        }
        wf_errorf(err, errlen, "handing the runner to the sandbox failed");
        wf_sandbox_exit st;
        native_kill(&nb->base, out);
        native_reap(&nb->base, out, &st);
        return WF_EIO;
    }
    return 0;
}

static void native_kill(wf_sandbox *sb, wf_sandbox_proc *p)
{
    native *nb = (native *)sb;
    if (p->pidfd < 0)
        return;
    /* With a PID namespace the runner is its init: killing it kills every
     * process inside. Without one, its process group (it called setsid). */
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
    if (!(nb->plan.ns_flags & CLONE_NEWPID) && p->pid > 0)
        kill(-p->pid, SIGKILL);
}

static int native_reap(wf_sandbox *sb, wf_sandbox_proc *p, wf_sandbox_exit *st)
{
    (void)sb;
    memset(st, 0, sizeof *st);
    int rc = 0;
    if (p->pidfd >= 0) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int r;
        while ((r = waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED)) < 0 && errno == EINTR)
            ;
        if (r < 0) {
            rc = WF_EIO;
        } else if (si.si_code == CLD_EXITED) {
            st->exited = 1;
            st->code = si.si_status;
        } else {
            st->signal = si.si_status;
        }
    }
    wf_sandbox_proc_close_fds(p);
    return rc;
}

static const char *native_describe(const wf_sandbox *sb)
{
    return ((const native *)sb)->desc;
}

static void native_free(wf_sandbox *sb)
{
    native *nb = (native *)sb;
    free(nb->code);
    wf_native_plan_free(&nb->plan);
    free(nb);
}

static const wf_sandbox_ops native_ops = {
    .name = "native",
    .spawn = native_spawn,
    .kill = native_kill,
    .reap = native_reap,
    .describe = native_describe,
    .free = native_free,
};

/* Start python under the current plan and check that it runs. */
static int probe(native *nb, char *err, size_t errlen)
{
    char *argv[] = {nb->exe, "-I", "-S", "-c", "import os, json", NULL};
    wf_sandbox_limits lim = {.memory_mb = 256, .cpu_s = 10, .tmp_mb = 1, .max_files = 64};
    wf_sandbox_proc p;
    int rc = spawn_argv(nb, argv, &lim, &p, err, errlen);
    if (rc < 0)
        return rc;
    struct pollfd pfd = {.fd = p.pidfd, .events = POLLIN};
    if (poll(&pfd, 1, 10000) <= 0)
        native_kill(&nb->base, &p);
    wf_sandbox_exit st;
    native_reap(&nb->base, &p, &st);
    if (!st.exited || st.code != 0) {
        wf_errorf(err, errlen, "python in the sandbox did not start (%s %d)",
                  st.exited ? "exit status" : "signal", st.exited ? st.code : st.signal);
        return WF_EIO;
    }
    return 0;
}

int wf_sandbox_native_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen)
{
    *out = NULL;
    native *nb = calloc(1, sizeof *nb);
    if (nb == NULL)
        return WF_ENOMEM;
    nb->base.ops = &native_ops;
    nb->cfg = cfg;
    if (realpath(NATIVE_PYTHON, nb->exe) == NULL) {
        wf_errorf(err, errlen, "the native sandbox needs %s: %s", NATIVE_PYTHON, strerror(errno));
        free(nb);
        return WF_EUNAVAIL;
    }
    int rc = wf_native_plan_init(&nb->plan, nb->exe, err, errlen);
    if (rc < 0) {
        wf_native_plan_free(&nb->plan);
        free(nb);
        return WF_EUNAVAIL;
    }
    static char fdarg[] = "3";
    precompile_runner(nb);
    if (nb->code == NULL)
        wf_log_warn("native sandbox: could not precompile the runner; each run compiles it");
    char *const argv[] = {nb->exe, "-I", "-S", "-B", "-X", "utf8", "-u", "-c",
                          nb->code ? (char *)runner_boot : (char *)wf_sdk_runner_py, fdarg, NULL};
    memcpy(nb->argv, argv, sizeof argv);

    /* The strongest confinement this kernel lets us have, tried in order. */
    unsigned long ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                       CLONE_NEWUTS | CLONE_NEWCGROUP;
    int root = geteuid() == 0;
    unsigned long tries[3];
    int ntries = 0;
    tries[ntries++] = root ? ns : ns | CLONE_NEWUSER;
    if (root)
        tries[ntries++] = ns | CLONE_NEWUSER;
    tries[ntries++] = 0;
    char why[256] = "";
    for (int i = 0; i < ntries; i++) {
        nb->plan.ns_flags = tries[i];
        nb->plan.drop_to_nobody = root && !(tries[i] & CLONE_NEWUSER);
        rc = probe(nb, why, sizeof why);
        if (rc == 0)
            break;
        wf_log_warn("native sandbox: confinement with namespaces 0x%lx failed: %s",
                    tries[i], why);
    }
    if (rc < 0) {
        wf_errorf(err, errlen, "the native sandbox cannot start python: %s", why);
        native_free(&nb->base);
        return WF_EUNAVAIL;
    }
    if (nb->plan.ns_flags) {
        snprintf(nb->desc, sizeof nb->desc,
                 "native: %s%snamespaces (mount, pid, net, ipc, uts, cgroup), read-only view "
                 "of python's files only, private /tmp, no network, seccomp, rlimits, "
                 "import guard",
                 nb->plan.ns_flags & CLONE_NEWUSER ? "user, " : "",
                 nb->plan.drop_to_nobody ? "runs as nobody, " : "");
    } else {
        snprintf(nb->desc, sizeof nb->desc,
                 "native, WEAK: no namespaces available (%s); the plugin sees the host's "
                 "file system; seccomp (no processes, no sockets), rlimits%s and the "
                 "import guard only",
                 why, root ? ", runs as nobody" : "");
        wf_log_warn("native sandbox: %s", nb->desc);
    }
    wf_log_info("sandbox: %s", nb->desc);
    *out = &nb->base;
    return 0;
}
