/* sandbox.h - the sandbox engines: start the plugin runner (sdk/runner.py)
 * confined, and hand its descriptors to the supervisor.
 *
 * An engine is a vtable (wf_sandbox_ops) behind a wf_sandbox handle. Two
 * implementations: "native" (native.c: the host's python3 in namespaces,
 * seccomp and rlimits) and "wasm" (CPython compiled to WebAssembly on our
 * WASI host). Both run the same runner and SDK and speak the same bridge:
 * the runner reads its request as the first bridge frame, which the caller
 * writes (see runs/bridge.h and sdk/runner.py for the protocol).
 *
 * The built-in SDK: a run forked by a zygote that executed it once (both
 * engines' zygotes, unless SDK_PATH replaces it) has it already; any other
 * process (the native sandbox's python3 per run, also when it takes over
 * mid-life from a zygote that cannot be had) needs its source in the
 * request. Each spawn says which in wf_sandbox_proc.sdk_preloaded, and the
 * request carries the SDK's source exactly when it is 0.
 *
 * A process's life: spawn -> (caller polls its fds; pidfd readable when it
 * has exited) -> reap. kill may be called any number of times before reap.
 * Every descriptor is O_CLOEXEC and, on the host side, O_NONBLOCK; reap
 * closes them all.
 *
 * Thread-safety: spawn, kill and reap may be called from any thread, for
 * different processes at once. */
#ifndef WF_SANDBOX_H
#define WF_SANDBOX_H

#include <assert.h>
#include <stddef.h>
#include <sys/types.h>

#include "embedded.h"
#include "config/config.h"

typedef struct wf_sandbox wf_sandbox;

typedef struct wf_sandbox_limits {
    int memory_mb;  /* memory the plugin may use */
    int cpu_s;      /* CPU seconds (the wall deadline is the caller's) */
    int tmp_mb;     /* size of the private /tmp */
    int max_files;  /* open descriptors */
} wf_sandbox_limits;

typedef struct wf_sandbox_proc {
    pid_t pid;
    int pidfd;      /* readable once the process has exited */
    int bridge_fd;  /* host end of the bridge (a stream socket) */
    int out_fd;     /* the runner's stdout */
    int err_fd;     /* the runner's stderr */
    int sdk_preloaded; /* 1: the built-in SDK is executed already in this
                        * process; its request leaves "sdk" out */
    void *engine;   /* engine-private */
    int uid_slot;   /* 1 + its run-uid slot (wf_sandbox_uid_take); 0: none */
} wf_sandbox_proc;

typedef struct wf_sandbox_exit {
    int exited;     /* 1: exit code in code; 0: killed by signal */
    int code;
    int signal;
    int sandbox_lost; /* 1: the engine lost the run (its zygote died under
                       * it): how it ended says nothing about the plugin */
} wf_sandbox_exit;

typedef struct wf_sandbox_ops {
    const char *name; /* "native" | "wasm" */
    int (*spawn)(wf_sandbox *sb, const wf_sandbox_limits *lim,
                 wf_sandbox_proc *out, char *err, size_t errlen);
    /* Kill the whole sandbox (every process in it). Idempotent. */
    void (*kill)(wf_sandbox *sb, wf_sandbox_proc *p);
    /* Collect the exit status of a process whose pidfd is readable (or
     * wait for it) and close its descriptors. */
    int (*reap)(wf_sandbox *sb, wf_sandbox_proc *p, wf_sandbox_exit *st);
    /* The confinement in effect, in words, for logs and /health. */
    const char *(*describe)(const wf_sandbox *sb);
    void (*free)(wf_sandbox *sb);
} wf_sandbox_ops;

struct wf_sandbox {
    const wf_sandbox_ops *ops;
};

/* The engine the configuration selects (cfg->sandbox); cfg is borrowed and
 * must outlive the engine. WF_EUNAVAIL with err when it cannot run. */
int wf_sandbox_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen);

/* The engines; wf_sandbox_new picks one. */
int wf_sandbox_native_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen);
int wf_sandbox_wasm_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen);

/* Preconditions are assert()s, on in every build (the Makefile never sets
 * NDEBUG): a caller's mistake stops the process where it happened. */
static inline int wf_sandbox_spawn(wf_sandbox *sb, const wf_sandbox_limits *lim,
                                   wf_sandbox_proc *out, char *err, size_t errlen)
{
    assert(sb && sb->ops && lim && out);
    return sb->ops->spawn(sb, lim, out, err, errlen);
}
static inline void wf_sandbox_kill(wf_sandbox *sb, wf_sandbox_proc *p)
{
    assert(sb && p);
    sb->ops->kill(sb, p);
}
static inline int wf_sandbox_reap(wf_sandbox *sb, wf_sandbox_proc *p, wf_sandbox_exit *st)
{
    assert(sb && p && st);
    return sb->ops->reap(sb, p, st);
}
static inline const char *wf_sandbox_describe(const wf_sandbox *sb)
{
    assert(sb);
    return sb->ops->describe(sb);
}
static inline void wf_sandbox_free(wf_sandbox *sb)
{
    if (sb)
        sb->ops->free(sb);
}

/* The run users (sandbox/child_harden.h): each process a spawn makes
 * takes a slot of the reserved uid range, from cfg->run_uid_base up, and
 * its reap gives it back, so no two live runs share a uid. Set by
 * wf_sandbox_new; `usable` 0 (the range is not mapped in the server's
 * user namespace) makes every run use nobody instead, and the engines
 * say so. Thread-safe. */
void wf_sandbox_uid_init(unsigned base);
int wf_sandbox_uid_usable(void);
/* A free slot as 1 + slot (for wf_sandbox_proc.uid_slot), or 0 when all
 * are taken. */
int wf_sandbox_uid_take(void);
void wf_sandbox_uid_put(int uid_slot);
/* The uid a slot's run becomes: nobody when the range is not usable. */
uid_t wf_sandbox_uid_of(int uid_slot);

/* The folder of the engines' files: WF_ENGINE_DIR when set, else the
 * server binary's own folder when `probe` is there (build/), else
 * ../lib/wasmforge beside it (installed). 0 or WF_EUNAVAIL with err. */
int wf_sandbox_engine_dir(const char *probe, char *dir, size_t dirlen, char *err, size_t errlen);

/* The runner and the SDK (wf_sdk_runner_py, wf_sdk_platform_sdk_py and
 * their _len), embedded at build time from sdk/ by mk/embed.mk and
 * declared in its generated header; NUL-terminated. */

/* The SDK source a zygote executes once, before it forks runs: the
 * built-in one, or NULL when SDK_PATH replaces it (a replacement travels
 * in every request). */
static inline const char *wf_sandbox_zygote_sdk(const wf_config *cfg)
{
    return cfg->sdk_path ? NULL : wf_sdk_platform_sdk_py;
}

#endif
