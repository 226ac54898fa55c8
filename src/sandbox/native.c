/* native.c - the native fallback sandbox (USE_WASMEDGE=false): the host's
 * python3 running sdk/runner.py in a confined child.
 *
 * Two modes. By default one long-lived python3 (the native zygote), started
 * once in new namespaces on the read-only view, initialises Python and
 * forks each run (src/native_zygote/, zygote_client.c); each child confines
 * itself further. When the zygote cannot start, one fresh python3 per run
 * in namespaces of its own, as before. Processes are made with clone
 * (new namespaces and a pidfd in one call), signals blocked around it,
 * set-up failures reported through a close-on-exec pipe (as libuv's spawn
 * does). The confinement plan is in native_confine.c, the child's side in
 * native_child.c. */
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

#include "common/io.h"
#include "common/log.h"
#include "common/wf_error.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_fd.h"
#include "sandbox/zygote_client.h"
#include "sandbox/zygote_serve.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define NATIVE_PYTHON "/usr/bin/python3"
/* The zygote's Python module (mk/nzyg.mk), beside the server's binary, and
 * where the zygote sees it. */
#define ZYGOTE_MODULE "wf-native-zygote.so"
#define ZYGOTE_MODULE_VIEW "/usr/lib/wasmforge/_wf_zygote.so"
#define ZYGOTE_START_TIMEOUT_MS 30000
#define ZYGOTE_AS_EXTRA_MB 512 /* the zygote's address space beyond a run's cap */

/* The zygote's Python (wf_engine_zygote_py): src/engine/zygote.py, embedded
 * by mk/embed.mk; sandbox.h includes its declaration. */

typedef struct native {
    wf_sandbox base;
    const wf_config *cfg;
    char exe[PATH_MAX];
    char *argv[12];
    unsigned char *code;    /* the runner compiled once (marshal), framed */
    size_t code_len;
    wf_native_plan plan;
    /* zygote mode */
    int zygote;             /* 1: runs are forked by the zygote */
    wf_native_plan zplan;   /* plan + the module; its seccomp is plan's */
    wf_zyclient zc;
    char *zfilter_hex;      /* the runs' seccomp program, for the zygote */
    char *zargv[20];
    char desc[768];
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
static long clone_child(const wf_native_plan *pl, const wf_native_spawn *sp, int *pidfd)
{
#if WF_NATIVE_COPY_MM
    struct wf_clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = pl->ns_flags | CLONE_PIDFD;
    ca.pidfd = (uint64_t)(uintptr_t)pidfd;
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0)
        wf_native_child(pl, sp);
    return pid;
#else
    enum { STACK = 256 * 1024 };
    char *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -1;
    child_args a = {pl, sp};
    int pid = clone(child_entry, stack + STACK,
                    (int)pl->ns_flags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &a,
                    pidfd);
    int saved = errno;
    munmap(stack, STACK);
    errno = saved;
    return pid;
#endif
}

/* Starts a confined child under plan pl (sp's descriptors, argv, limits)
 * and waits until it has exec'd. 0 with *pid and *pidfd, or WF_E* with err
 * (the child reaped). */
static int clone_start(const wf_native_plan *pl, wf_native_spawn *sp, pid_t *pidp, int *pidfdp,
                       char *err, size_t errlen)
{
    int rp[2] = {-1, -1};
    int pidfd = -1;
    if (pipe2(rp, O_CLOEXEC) < 0) {
        wf_errorf(err, errlen, "creating the sandbox's channels failed: %s", strerror(errno));
        return errno == EMFILE || errno == ENFILE ? WF_EFULL : WF_EIO;
    }
    sp->report_fd = rp[1];
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = clone_child(pl, sp, &pidfd);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    wf_sandbox_fd_close(&rp[1]);
    if (pid < 0) {
        wf_sandbox_fd_close(&rp[0]);
        wf_errorf(err, errlen, "starting the sandbox process failed: %s", strerror(saved));
        return saved == EAGAIN || saved == ENOMEM ? WF_EFULL : WF_EIO;
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
        if (n > 0) {
            char text[200];
            wf_zyserve_report_text(rep, (size_t)n, text, sizeof text);
            wf_errorf(err, errlen, "sandbox set-up failed at %s", text);
        } else {
            wf_errorf(err, errlen, "reading the sandbox's set-up report failed: %s",
                      strerror(errno));
        }
        siginfo_t si;
        while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
            ;
        wf_sandbox_fd_close(&pidfd);
        return WF_EIO;
    }
    *pidp = (pid_t)pid;
    *pidfdp = pidfd;
    return 0;
}

static int spawn_argv(native *nb, char *const *argv, const wf_sandbox_limits *lim,
                      wf_sandbox_proc *out, char *err, size_t errlen)
{
    wf_sandbox_chan ch;
    int pidfd = -1;
    pid_t pid = 0;
    memset(out, 0, sizeof *out);
    out->pidfd = out->bridge_fd = out->out_fd = out->err_fd = -1;
    int uid_slot = wf_sandbox_uid_take();
    if (uid_slot == 0) {
        wf_errorf(err, errlen, "every run uid is in use");
        return WF_EFULL;
    }
    int rc = wf_sandbox_chan_open(&ch, err, errlen);
    if (rc < 0) {
        wf_sandbox_uid_put(uid_slot);
        return rc;
    }
    wf_native_spawn sp = {
        .memory_mb = lim->memory_mb, .cpu_s = lim->cpu_s, .max_files = lim->max_files,
        .tmp_mb = lim->tmp_mb, .bridge_fd = ch.bridge[1], .out_fd = ch.out[1],
        .err_fd = ch.err[1], .argv = argv, .run_uid = wf_sandbox_uid_of(uid_slot),
    };
    snprintf(sp.tmp_opts, sizeof sp.tmp_opts, "size=%dm,nr_inodes=4096,mode=1777", lim->tmp_mb);
    rc = clone_start(&nb->plan, &sp, &pid, &pidfd, err, errlen);
    wf_sandbox_chan_close_child(&ch);
    if (rc == 0) {
        rc = wf_sandbox_chan_hand_over(&ch, pid, pidfd, out, err, errlen);
        if (rc < 0) {
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
            siginfo_t si;
            while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
                ;
            wf_sandbox_fd_close(&pidfd);
        }
    }
    wf_sandbox_chan_close(&ch);
    if (rc == 0)
        out->uid_slot = uid_slot;
    else
        wf_sandbox_uid_put(uid_slot);
    return rc;
}

/* The zygote's process (wf_zyclient_start_fn): python3 in new namespaces
 * on the view plus the module, the control socket at descriptor 3,
 * /dev/null on 0 and 1, the server's stderr on 2 (its start-up errors go
 * to the log). */
static int zygote_start(void *ctx, int child_ctl, pid_t *pid, int *pidfd, char *err,
                        size_t errlen)
{
    native *nb = ctx;
    int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int errfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    int rc = WF_EIO;
    if (nul < 0 || errfd < 0) {
        wf_errorf(err, errlen, "preparing the zygote's descriptors failed: %s", strerror(errno));
    } else {
        wf_native_spawn sp = {
            .memory_mb = nb->cfg->max_memory_mb + ZYGOTE_AS_EXTRA_MB, .tmp_mb = 1,
            .bridge_fd = child_ctl, .out_fd = nul, .err_fd = errfd, .zygote = 1,
            .argv = nb->zargv,
        };
        snprintf(sp.tmp_opts, sizeof sp.tmp_opts, "size=64k,nr_inodes=16,mode=0755");
        rc = clone_start(&nb->zplan, &sp, pid, pidfd, err, errlen);
    }
    if (nul >= 0)
        close(nul);
    if (errfd >= 0)
        close(errfd);
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
    int sent = wf_io_write_all(in[1], wf_sdk_runner_py, wf_sdk_runner_py_len) == 0;
    close(in[1]);
    in[1] = -1;
    size_t cap = 1 << 20, len = 4, got = 0;
    unsigned char *buf = malloc(cap);
    if (buf)
        (void)wf_io_read_full(outp[0], buf + len, cap - len, &got);
    len += got;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (buf && len > 4 && len < cap && sent && WIFEXITED(st) &&
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
    if (nb->zygote) {
        int rc = wf_zyclient_spawn(&nb->zc, lim, out, err, errlen);
        if (rc != WF_EUNAVAIL)
            return rc;
        /* No zygote can be had now: this run starts python itself. */
        wf_log_warn("native sandbox: %s; starting this run without the zygote", err);
    }
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
    if (p->engine) {
        wf_zyclient_kill(p);
        return;
    }
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
    if (p->engine)
        return wf_zyclient_reap(p, st);
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
    wf_sandbox_uid_put(p->uid_slot);
    p->uid_slot = 0;
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
    if (nb->zygote)
        wf_zyclient_destroy(&nb->zc);
    free(nb->zfilter_hex);
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

/* A probe's end: its run must exit 0 within 10 s (started: 0 kills it
 * at once). */
static int probe_end(native *nb, wf_sandbox_proc *p, int started, const char *what, char *err,
                     size_t errlen)
{
    struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
    if (!started || poll(&pfd, 1, 10000) <= 0)
        native_kill(&nb->base, p);
    wf_sandbox_exit st;
    native_reap(&nb->base, p, &st);
    if (!st.exited || st.code != 0) {
        wf_errorf(err, errlen, "%s (%s %d)", what, st.exited ? "exit status" : "signal",
                  st.exited ? st.code : st.signal);
        return WF_EIO;
    }
    return 0;
}

/* Start python under the current plan and check that it runs. */
static int probe(native *nb, char *err, size_t errlen)
{
    char *argv[] = {nb->exe, "-I", "-S", "-c", "import os, json", NULL};
    wf_sandbox_limits lim = {.memory_mb = 256, .cpu_s = 10, .tmp_mb = 1, .max_files = 64};
    wf_sandbox_proc p;
    int rc = spawn_argv(nb, argv, &lim, &p, err, errlen);
    if (rc < 0)
        return rc;
    return probe_end(nb, &p, 1, "python in the sandbox did not start", err, errlen);
}

/* One run through the zygote that checks "pass": the zygote's children
 * can be set up on this kernel, and Python runs in them. */
static int zygote_probe(native *nb, char *err, size_t errlen)
{
    wf_sandbox_limits lim = {.memory_mb = nb->cfg->max_memory_mb, .cpu_s = 10, .tmp_mb = 1,
                             .max_files = 64};
    wf_sandbox_proc p;
    int rc = wf_zyclient_spawn(&nb->zc, &lim, &p, err, errlen);
    if (rc < 0)
        return rc;
    static const char req[] = "{\"op\":\"check\",\"code\":\"pass\"}";
    unsigned char frame[4 + sizeof req];
    uint32_t n = sizeof req - 1;
    for (int i = 0; i < 4; i++)
        frame[i] = (unsigned char)(n >> (8 * i));
    memcpy(frame + 4, req, n);
    ssize_t w = send(p.bridge_fd, frame, 4 + n, MSG_NOSIGNAL | MSG_DONTWAIT);
    return probe_end(nb, &p, w == (ssize_t)(4 + n), "a run forked by the zygote failed", err,
                     errlen);
}

/* Zygote mode, when the module is there and a zygote starts and forks a
 * working run. 0, or WF_E* with why (then runs start python themselves). */
static int zygote_setup(native *nb, char *why, size_t whylen)
{
    char dir[PATH_MAX], so[PATH_MAX + 64];
    int rc = wf_sandbox_engine_dir(ZYGOTE_MODULE, dir, sizeof dir, why, whylen);
    if (rc < 0)
        return rc;
    snprintf(so, sizeof so, "%s/%s", dir, ZYGOTE_MODULE);
    if (access(so, R_OK) < 0) {
        wf_errorf(why, whylen, "its module %s is missing (`make` builds it)", so);
        return WF_EUNAVAIL;
    }
    memcpy(&nb->zplan, &nb->plan, sizeof nb->zplan);
    nb->zplan.seccomp.filter = NULL; /* the zygote has none; its runs load plan's */
    nb->zplan.seccomp.len = 0;
    if (wf_native_plan_add_ro(&nb->zplan, so, ZYGOTE_MODULE_VIEW) < 0) {
        wf_errorf(why, whylen, "the zygote's view cannot take its module");
        return WF_EINTERNAL;
    }
    /* The runs' seccomp program, compiled here once, as hex for the zygote. */
    size_t nbytes = (size_t)nb->plan.seccomp.len * sizeof *nb->plan.seccomp.filter;
    nb->zfilter_hex = malloc(2 * nbytes + 1);
    if (nb->zfilter_hex == NULL)
        return WF_ENOMEM;
    const unsigned char *f = (const unsigned char *)nb->plan.seccomp.filter;
    for (size_t i = 0; i < nbytes; i++)
        snprintf(nb->zfilter_hex + 2 * i, 3, "%02x", f[i]);
    nb->zfilter_hex[2 * nbytes] = '\0';
    const char *sdk = wf_sandbox_zygote_sdk(nb->cfg);
    char *const zargv[] = {
        nb->exe, "-I", "-S", "-B", "-X", "utf8", "-u", "-c", (char *)wf_engine_zygote_py,
        (char *)wf_sdk_runner_py, sdk ? (char *)sdk : "",
        "native", nb->zfilter_hex, nb->plan.drop_to_nobody ? "1" : "0",
        nb->plan.ns_flags & CLONE_NEWUSER ? "1" : "0", NULL};
    memcpy(nb->zargv, zargv, sizeof zargv);
    wf_zyclient_init(&nb->zc, "native", "the native zygote", zygote_start, nb,
                     ZYGOTE_START_TIMEOUT_MS, sdk != NULL);
    nb->zygote = 1;
    rc = wf_zyclient_ensure(&nb->zc, why, whylen);
    if (rc == 0)
        rc = zygote_probe(nb, why, whylen);
    if (rc < 0) {
        wf_zyclient_destroy(&nb->zc);
        nb->zygote = 0;
    }
    return rc;
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
    const char *who = !nb->plan.drop_to_nobody ? ""
                      : wf_sandbox_uid_usable() ? "a uid of its own per run, "
                                                : "runs as nobody (RUN_UID_BASE's range is not "
                                                  "mapped here), ";
    char zwhy[256] = "no mount and PID namespaces";
    if ((nb->plan.ns_flags & (CLONE_NEWNS | CLONE_NEWPID)) == (CLONE_NEWNS | CLONE_NEWPID) &&
        zygote_setup(nb, zwhy, sizeof zwhy) == 0) {
        snprintf(nb->desc, sizeof nb->desc,
                 "native, zygote: one python3 started once in %snamespaces (mount, pid, net, "
                 "ipc, uts, cgroup) on a read-only view of python's files only, no network, "
                 "forks each run; per run: own mount namespace with a private /tmp, own "
                 "descriptors, rlimits, %sno new privileges, not dumpable, seccomp "
                 "allow-list (no processes, sockets, signals, IPC, locks, executable memory, "
                 "namespaces, mounts), import guard; runs share the zygote's pid, ipc and net "
                 "namespaces and string-hash secret",
                 nb->plan.ns_flags & CLONE_NEWUSER ? "user, " : "",
                 nb->plan.drop_to_nobody ? who : "no capabilities, ");
    } else if (nb->plan.ns_flags) {
        wf_log_warn("native sandbox: no zygote (%s): each run starts python3 itself", zwhy);
        snprintf(nb->desc, sizeof nb->desc,
                 "native, one python3 per run (no zygote: %s): %s%snamespaces (mount, pid, "
                 "net, ipc, uts, cgroup), read-only view of python's files only, private "
                 "/tmp, no network, seccomp allow-list, rlimits, import guard",
                 zwhy, who, nb->plan.ns_flags & CLONE_NEWUSER ? "user, " : "");
    } else {
        snprintf(nb->desc, sizeof nb->desc,
                 "native, WEAK: no namespaces available (%s); the plugin sees the host's "
                 "file system; seccomp allow-list, rlimits, %sand the import guard only",
                 why, who);
        wf_log_warn("native sandbox: %s", nb->desc);
    }
    wf_log_info("sandbox: %s", nb->desc);
    *out = &nb->base;
    return 0;
}
