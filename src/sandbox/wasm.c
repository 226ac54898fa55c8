/* wasm.c - the WebAssembly sandbox (USE_WASMEDGE=true, the default): runs
 * are forked by the engine's zygote (build/wf-engine, src/engine/).
 *
 * The server starts one zygote and talks to it over a SOCK_SEQPACKET control
 * socket (sandbox/zygote_proto.h) through the client it shares with the
 * native sandbox (zygote_client.c); what is the engine's own is how the
 * zygote's process is found and started. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
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
#include "sandbox/zygote_client.h"
#include "sandbox/zygote_proto.h"

extern char **environ;

#define START_TIMEOUT_MS 60000 /* a cold start pages in a 10 MB binary */

typedef struct wasm_sb {
    wf_sandbox base;
    const wf_config *cfg;
    char engine[PATH_MAX];
    char image[PATH_MAX];
    char out_cap[32];
    wf_zyclient zc;
    int as_root;
    char desc[640];
} wasm_sb;

/* 1 when the running zygote's network and IPC namespaces are not ours. */
static int own_namespaces(pid_t zpid)
{
    static const char *const kinds[] = {"net", "ipc"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char mine[64], theirs[64], path[64];
        snprintf(path, sizeof path, "/proc/self/ns/%s", kinds[i]);
        ssize_t a = readlink(path, mine, sizeof mine - 1);
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)zpid, kinds[i]);
        ssize_t b = readlink(path, theirs, sizeof theirs - 1);
        if (a <= 0 || b <= 0 || a != b || memcmp(mine, theirs, (size_t)a) == 0)
            return 0;
    }
    return 1;
}

/* The zygote's process: the engine, exec'd with the control socket at
 * WF_ZYGOTE_CONTROL_FD (wf_zyclient_start_fn). */
static int engine_start(void *ctx, int child_ctl, pid_t *zpid, int *zpidfd, char *err,
                        size_t errlen)
{
    wasm_sb *sb = ctx;
    const char *sdk = wf_sandbox_zygote_sdk(sb->cfg);
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
    /* fork() with the child's pidfd from the same call: nothing can reap
     * the pid before we hold it, and no pidfd_open (which valgrind 3.19
     * does not know, so the server could not be checked under it). */
    int pidfd = -1;
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, NULL, &pidfd, NULL, 0);
    if (pid == 0) {
        /* Only async-signal-safe calls until exec. */
        sigset_t none;
        sigemptyset(&none);
        for (int s = 1; s < NSIG; s++)
            if (s != SIGKILL && s != SIGSTOP)
                signal(s, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (child_ctl == WF_ZYGOTE_CONTROL_FD) {
            if (fcntl(child_ctl, F_SETFD, 0) < 0)
                _exit(127);
        } else if (dup2(child_ctl, WF_ZYGOTE_CONTROL_FD) < 0) {
            _exit(127);
        }
        syscall(SYS_close_range, (unsigned)WF_ZYGOTE_CONTROL_FD + 1, ~0u, 0u);
        /* A layer under the runs' seccomp filter (which already refuses
         * sockets and IPC): the zygote and every run it forks live in a
         * network namespace without interfaces and IPC and UTS namespaces
         * of their own, where the kernel lets us (root); see own_namespaces. */
        if (sb->as_root)
            syscall(SYS_unshare, CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS);
        execve(sb->engine, argv, envp);
        _exit(127);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        wf_errorf(err, errlen, "starting the engine failed: %s", strerror(saved));
        return WF_EIO;
    }
    *zpid = pid;
    *zpidfd = pidfd;
    return 0;
}

static int wasm_spawn(wf_sandbox *base, const wf_sandbox_limits *lim, wf_sandbox_proc *out,
                      char *err, size_t errlen)
{
    return wf_zyclient_spawn(&((wasm_sb *)base)->zc, lim, out, err, errlen);
}

static void wasm_kill(wf_sandbox *sb, wf_sandbox_proc *p)
{
    (void)sb;
    wf_zyclient_kill(p);
}

static int wasm_reap(wf_sandbox *sb, wf_sandbox_proc *p, wf_sandbox_exit *st)
{
    (void)sb;
    return wf_zyclient_reap(p, st);
}

static const char *wasm_describe(const wf_sandbox *sb)
{
    return ((const wasm_sb *)sb)->desc;
}

static void wasm_free(wf_sandbox *base)
{
    wasm_sb *sb = (wasm_sb *)base;
    wf_zyclient_destroy(&sb->zc);
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
    int rc = wf_sandbox_engine_dir("wf-engine", dir, sizeof dir, err, errlen);
    if (rc < 0)
        return rc;
    if (sb->cfg->wasm_python_path || sb->cfg->wasm_python_dir) {
        char tool[PATH_MAX + 16];
        snprintf(tool, sizeof tool, "%s/wf-engine-for", dir);
        rc = engine_for(tool, sb->cfg, dir, sizeof dir, err, errlen);
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
    sb->as_root = geteuid() == 0;
    wf_zyclient_init(&sb->zc, "wasm", "the engine", engine_start, sb, START_TIMEOUT_MS,
                     wf_sandbox_zygote_sdk(cfg) != NULL);
    /* The host caps each stream a little above the point where the
     * supervisor stops a flooding run, so both sandboxes end such a run the
     * same way (and the host's marker is never seen). */
    snprintf(sb->out_cap, sizeof sb->out_cap, "%zu",
             cfg->max_output_bytes * 4 + ((size_t)1 << 18));
    int rc = find_engine(sb, err, errlen);
    if (rc == 0)
        rc = wf_zyclient_ensure(&sb->zc, err, errlen);
    if (rc < 0) {
        wasm_free(&sb->base);
        return WF_EUNAVAIL;
    }
    int ns = own_namespaces(sb->zc.zpid);
    if (sb->as_root && !ns)
        wf_log_warn("wasm sandbox: the kernel refused the zygote network and IPC namespaces of "
                    "its own; it shares the server's (the runs' seccomp filter still refuses "
                    "sockets and IPC)");
    snprintf(sb->desc, sizeof sb->desc,
             "wasm: CPython 3.11 compiled to WebAssembly (wasm2c) on the WasmForge WASI host "
             "(synthetic read-only file system, private /tmp, no network, no processes); "
             "one fork of an initialised zygote per run%s: own descriptors only, rlimits, "
             "%sno new privileges, seccomp allow-list",
             ns ? " (the zygote in network, IPC and UTS namespaces of its own, no network "
                  "interfaces)"
                : "",
             !sb->as_root               ? ""
             : wf_sandbox_uid_usable() ? "a uid of its own per run, "
                                       : "runs as nobody (RUN_UID_BASE's range is not mapped "
                                         "here), ");
    wf_log_info("sandbox: %s", sb->desc);
    *out = &sb->base;
    return 0;
}
