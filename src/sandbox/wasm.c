/* wasm.c - the WebAssembly sandbox (USE_WASMEDGE=true, the default): runs
 * are forked by the engine's zygote (build/wf-engine, src/engine/).
 *
 * The server starts one zygote, talks to it over a SOCK_SEQPACKET control
 * socket (sandbox/zygote_proto.h), and starts it again when it has died.
 * A run's child is not the server's child: its pidfd comes from the zygote,
 * and so does its exit status, through a per-run status pipe. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_fd.h"
#include "sandbox/zygote_proto.h"

extern char **environ;

#define START_TIMEOUT_MS 60000 /* a cold start pages in a 10 MB binary */
#define SPAWN_TIMEOUT_MS 10000
#define STATUS_TIMEOUT_MS 5000

typedef struct wasm_sb {
    wf_sandbox base;
    const wf_config *cfg;
    char engine[PATH_MAX];
    char image[PATH_MAX];
    char out_cap[32];
    pthread_mutex_t mu; /* the control socket and the zygote's identity */
    int ctl;            /* -1: no zygote */
    pid_t zpid;
    int zpidfd;
    unsigned starts;
    char desc[512];
} wasm_sb;

/* engine-private part of a run */
typedef struct wasm_proc {
    int status_fd;
} wasm_proc;

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
        wf_sandbox_fd_close(pidfd);
        return n == 0 ? WF_EUNAVAIL : WF_EPROTO;
    }
    rep->msg[sizeof rep->msg - 1] = '\0';
    return 0;
}

/* Ends the zygote we have (if any): closing the control socket makes it
 * kill its runs and exit; SIGKILL if it does not. */
static void zygote_stop(wasm_sb *sb)
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

static int zygote_start(wasm_sb *sb, char *err, size_t errlen)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        wf_errorf(err, errlen, "socketpair: %s", strerror(errno));
        return WF_EIO;
    }
    const char *sdk = sb->cfg->sdk_path ? NULL : wf_sdk_platform_sdk_py;
    char *const argv[] = {sb->engine, "--image", sb->image, "--out-cap", sb->out_cap,
                          (char *)wf_sdk_runner_py, (char *)sdk, NULL};
    /* Nothing of the server's environment (DB_PASSWORD, API_TOKEN, ...) may
     * be in the zygote's memory, which every run shares: only the
     * sanitizers' own settings pass. */
    char *envp[8];
    size_t ne = 0;
    static const char *const keep[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        size_t kl = strlen(keep[i]);
        for (char **e = environ; *e && ne + 1 < sizeof envp / sizeof envp[0]; e++)
            if (strncmp(*e, keep[i], kl) == 0 && (*e)[kl] == '=')
                envp[ne++] = *e;
    }
    envp[ne] = NULL;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        sigset_t none;
        sigemptyset(&none);
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (sv[1] == WF_ZYGOTE_CONTROL_FD) {
            if (fcntl(sv[1], F_SETFD, 0) < 0)
                _exit(127);
        } else if (dup2(sv[1], WF_ZYGOTE_CONTROL_FD) < 0) {
            _exit(127);
        }
        syscall(SYS_close_range, (unsigned)WF_ZYGOTE_CONTROL_FD + 1, ~0u, 0u);
        execve(sb->engine, argv, envp);
        _exit(127);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        wf_errorf(err, errlen, "starting the engine failed: %s", strerror(saved));
        return WF_EIO;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(sv[0]);
        wf_errorf(err, errlen, "pidfd_open: %s", strerror(errno));
        return WF_EIO;
    }
    sb->ctl = sv[0];
    sb->zpid = pid;
    sb->zpidfd = pidfd;
    struct wf_zygote_reply rep;
    int fd;
    int rc = recv_reply(sb->ctl, START_TIMEOUT_MS, &rep, &fd);
    wf_sandbox_fd_close(&fd);
    if (rc == 0 && rep.ok)
        return 0;
    if (rc == 0)
        wf_errorf(err, errlen, "the engine did not start: %s", rep.msg);
    else if (rc == WF_ETIMEOUT)
        wf_errorf(err, errlen, "the engine did not start within %d s", START_TIMEOUT_MS / 1000);
    else
        wf_errorf(err, errlen, "the engine exited while starting (see the log above)");
    syscall(SYS_pidfd_send_signal, sb->zpidfd, SIGKILL, NULL, 0);
    zygote_stop(sb);
    return WF_EUNAVAIL;
}

/* The zygote is there and alive, or started again. Called with mu held. */
static int zygote_ensure(wasm_sb *sb, char *err, size_t errlen)
{
    if (sb->ctl >= 0 && wait_fd(sb->zpidfd, POLLIN, 0) == 0)
        return 0;
    if (sb->ctl >= 0) {
        wf_log_error("wasm sandbox: the zygote (pid %d) died; starting it again", (int)sb->zpid);
        zygote_stop(sb);
    }
    int rc = zygote_start(sb, err, errlen);
    if (rc == 0) {
        sb->starts++;
        wf_log_info("wasm sandbox: zygote started (pid %d)", (int)sb->zpid);
    }
    return rc;
}

/* Sends one run request; 0 with *pid and *pidfd, or WF_EUNAVAIL when the
 * zygote is gone (the caller may start it again), another code otherwise. */
static int request_run(wasm_sb *sb, const wf_sandbox_limits *lim, int fds[WF_ZYGOTE_NFDS],
                       pid_t *pid, int *pidfd, char *err, size_t errlen)
{
    struct wf_zygote_req req = {
        .magic = WF_ZYGOTE_MAGIC,
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

static int wasm_spawn(wf_sandbox *base, const wf_sandbox_limits *lim, wf_sandbox_proc *out,
                      char *err, size_t errlen)
{
    wasm_sb *sb = (wasm_sb *)base;
    int sv[2] = {-1, -1}, op[2] = {-1, -1}, ep[2] = {-1, -1}, st[2] = {-1, -1};
    int pidfd = -1;
    pid_t pid = 0;
    int rc;
    memset(out, 0, sizeof *out);
    out->pidfd = out->bridge_fd = out->out_fd = out->err_fd = -1;
    wasm_proc *wp = calloc(1, sizeof *wp);
    if (wp == NULL)
        return WF_ENOMEM;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0) {
        wf_errorf(err, errlen, "creating the sandbox's channels failed: %s", strerror(errno));
        rc = errno == EMFILE || errno == ENFILE ? WF_EFULL : WF_EIO;
        goto fail;
    }
    int fds[WF_ZYGOTE_NFDS] = {sv[1], op[1], ep[1], st[1]};
    pthread_mutex_lock(&sb->mu);
    rc = zygote_ensure(sb, err, errlen);
    if (rc == 0) {
        rc = request_run(sb, lim, fds, &pid, &pidfd, err, errlen);
        if (rc == WF_EUNAVAIL) {
            /* It died since we last looked: once more with a new one. */
            zygote_stop(sb);
            rc = zygote_ensure(sb, err, errlen);
            if (rc == 0)
                rc = request_run(sb, lim, fds, &pid, &pidfd, err, errlen);
        }
    }
    pthread_mutex_unlock(&sb->mu);
    wf_sandbox_fd_close(&sv[1]);
    wf_sandbox_fd_close(&op[1]);
    wf_sandbox_fd_close(&ep[1]);
    wf_sandbox_fd_close(&st[1]);
    if (rc < 0)
        goto fail;
    if (wf_sandbox_fd_nonblock(sv[0]) < 0 || wf_sandbox_fd_nonblock(op[0]) < 0 ||
        wf_sandbox_fd_nonblock(ep[0]) < 0) {
        wf_errorf(err, errlen, "fcntl failed: %s", strerror(errno));
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
        rc = WF_EIO;
        goto fail;
    }
    wp->status_fd = st[0];
    out->pid = pid;
    out->pidfd = pidfd;
    out->bridge_fd = sv[0];
    out->out_fd = op[0];
    out->err_fd = ep[0];
    out->engine = wp;
    return 0;

fail:
    wf_sandbox_fd_close(&pidfd);
    wf_sandbox_fd_close(&sv[0]);
    wf_sandbox_fd_close(&sv[1]);
    wf_sandbox_fd_close(&op[0]);
    wf_sandbox_fd_close(&op[1]);
    wf_sandbox_fd_close(&ep[0]);
    wf_sandbox_fd_close(&ep[1]);
    wf_sandbox_fd_close(&st[0]);
    wf_sandbox_fd_close(&st[1]);
    free(wp);
    return rc;
}

static void wasm_kill(wf_sandbox *sb, wf_sandbox_proc *p)
{
    (void)sb;
    if (p->pidfd >= 0)
        syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
}

static int wasm_reap(wf_sandbox *sb, wf_sandbox_proc *p, wf_sandbox_exit *st)
{
    (void)sb;
    memset(st, 0, sizeof *st);
    wasm_proc *wp = p->engine;
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
        /* No word from the zygote: it died, and took the run with it. */
        st->signal = SIGKILL;
        rc = WF_EIO;
    }
    if (wp) {
        wf_sandbox_fd_close(&wp->status_fd);
        free(wp);
        p->engine = NULL;
    }
    wf_sandbox_proc_close_fds(p);
    return rc;
}

static const char *wasm_describe(const wf_sandbox *sb)
{
    return ((const wasm_sb *)sb)->desc;
}

static void wasm_free(wf_sandbox *base)
{
    wasm_sb *sb = (wasm_sb *)base;
    zygote_stop(sb);
    pthread_mutex_destroy(&sb->mu);
    free(sb);
}

static const wf_sandbox_ops wasm_ops = {
    .name = "wasm",
    .spawn = wasm_spawn,
    .kill = wasm_kill,
    .reap = wasm_reap,
    .describe = wasm_describe,
    .free = wasm_free,
};

/* Runs `wf-engine-for PATH DIR` (beside the server) for WASM_PYTHON_PATH /
 * WASM_PYTHON_DIR and puts the folder it prints in dir; on failure, its last
 * line (what is wrong) in err. The first use compiles: minutes. */
static int engine_for(const char *tool, const wf_config *cfg, char *dir, size_t dirlen,
                      char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        wf_errorf(err, errlen, "pipe: %s", strerror(errno));
        return WF_EIO;
    }
    char *const argv[] = {(char *)tool,
                          cfg->wasm_python_path ? cfg->wasm_python_path : "-",
                          cfg->wasm_python_dir ? cfg->wasm_python_dir : "-", NULL};
    wf_log_info("wasm sandbox: preparing the engine for WASM_PYTHON_PATH=%s WASM_PYTHON_DIR=%s",
                argv[1], argv[2]);
    pid_t pid = fork();
    if (pid == 0) {
        if (dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
            _exit(127);
        execv(tool, argv);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        wf_errorf(err, errlen, "fork: %s", strerror(errno));
        return WF_EIO;
    }
    /* Keep the output's last two lines: the folder, or what went wrong. */
    char buf[4096], last[PATH_MAX] = "", line[PATH_MAX];
    size_t ll = 0;
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                line[ll] = '\0';
                if (ll)
                    snprintf(last, sizeof last, "%s", line);
                ll = 0;
            } else if (ll + 1 < sizeof line) {
                line[ll++] = buf[i];
            }
        }
    }
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && access(tool, X_OK) < 0)
            wf_errorf(err, errlen, "%s is missing: build it with `make wasm-engine`", tool);
        else
            wf_errorf(err, errlen, "%s", last[0] ? last : "preparing the engine failed");
        return WF_EUNAVAIL;
    }
    snprintf(dir, dirlen, "%s", last);
    return 0;
}

/* The engine and its library image sit beside the server's binary
 * (build/wf-engine, build/engine/stdlib.tar) or, installed, in
 * ../lib/wasmforge/ next to it (/usr/local/lib/wasmforge/wf-engine and
 * engine/stdlib.tar); WF_ENGINE_DIR overrides, and WASM_PYTHON_PATH /
 * WASM_PYTHON_DIR select another build of Python. */
static int find_engine(wasm_sb *sb, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    const char *env = getenv("WF_ENGINE_DIR");
    if (env && *env) {
        snprintf(dir, sizeof dir, "%s", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        if (n <= 0) {
            wf_errorf(err, errlen, "cannot find the server's own binary: %s", strerror(errno));
            return WF_EUNAVAIL;
        }
        dir[n] = '\0';
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        char installed[PATH_MAX + 32];
        snprintf(installed, sizeof installed, "%s/wf-engine", dir);
        if (access(installed, X_OK) < 0) {
            snprintf(installed, sizeof installed, "%s/../lib/wasmforge", dir);
            char real[PATH_MAX];
            if (realpath(installed, real) != NULL)
                snprintf(dir, sizeof dir, "%s", real);
        }
    }
    if (sb->cfg->wasm_python_path || sb->cfg->wasm_python_dir) {
        char tool[PATH_MAX + 16];
        snprintf(tool, sizeof tool, "%s/wf-engine-for", dir);
        int rc = engine_for(tool, sb->cfg, dir, sizeof dir, err, errlen);
        if (rc < 0)
            return rc;
    }
    int a = snprintf(sb->engine, sizeof sb->engine, "%s/wf-engine", dir);
    int b = snprintf(sb->image, sizeof sb->image, "%s/engine/stdlib.tar", dir);
    if (a < 0 || (size_t)a >= sizeof sb->engine || b < 0 || (size_t)b >= sizeof sb->image) {
        wf_errorf(err, errlen, "the engine's folder name is too long");
        return WF_EUNAVAIL;
    }
    if (access(sb->engine, X_OK) < 0 || access(sb->image, R_OK) < 0) {
        wf_errorf(err, errlen,
                  "the WebAssembly engine is not built (%s or %s is missing): build it with "
                  "`make wasm-engine` (`make run` does), or set USE_WASMEDGE=false to use the "
                  "native fallback sandbox",
                  access(sb->engine, X_OK) < 0 ? sb->engine : "", sb->image);
        return WF_EUNAVAIL;
    }
    return 0;
}

int wf_sandbox_wasm_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen)
{
    *out = NULL;
    wasm_sb *sb = calloc(1, sizeof *sb);
    if (sb == NULL)
        return WF_ENOMEM;
    sb->base.ops = &wasm_ops;
    sb->cfg = cfg;
    sb->ctl = sb->zpidfd = -1;
    pthread_mutex_init(&sb->mu, NULL);
    /* The host caps each stream a little above the point where the
     * supervisor stops a flooding run, so both sandboxes end such a run the
     * same way (and the host's marker is never seen). */
    snprintf(sb->out_cap, sizeof sb->out_cap, "%zu",
             cfg->max_output_bytes * 4 + ((size_t)1 << 18));
    int rc = find_engine(sb, err, errlen);
    if (rc == 0) {
        pthread_mutex_lock(&sb->mu);
        rc = zygote_ensure(sb, err, errlen);
        pthread_mutex_unlock(&sb->mu);
    }
    if (rc < 0) {
        wasm_free(&sb->base);
        return WF_EUNAVAIL;
    }
    snprintf(sb->desc, sizeof sb->desc,
             "wasm: CPython 3.11 compiled to WebAssembly (wasm2c) on the WasmForge WASI host "
             "(synthetic read-only file system, private /tmp, no network, no processes); "
             "one fork of an initialised zygote per run: own descriptors only, rlimits, "
             "%sno new privileges, seccomp allow-list",
             geteuid() == 0 ? "runs as nobody, " : "");
    wf_log_info("sandbox: %s", sb->desc);
    *out = &sb->base;
    return 0;
}
