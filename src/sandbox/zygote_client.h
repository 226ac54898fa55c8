/* zygote_client.h - the server's side of a zygote (sandbox/zygote_proto.h),
 * shared by the sandbox engines that fork runs from one: the WebAssembly one
 * (wasm.c) and the native one (native.c).
 *
 * A wf_zyclient owns the control socket and the zygote's identity; the
 * engine says how a zygote process is started (start callback). Spawns
 * start it on first use and again after it died. A run's child is not the
 * server's child: its pidfd comes from the zygote, and so does its exit
 * status, through a per-run status pipe kept in wf_sandbox_proc.engine
 * (which wf_zyclient_reap frees).
 *
 * Thread-safety: spawn, kill and reap from any thread at once (the control
 * socket is used under the client's mutex). */
#ifndef WF_ZYGOTE_CLIENT_H
#define WF_ZYGOTE_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/* Starts a zygote process with `child_ctl` (the zygote's end of the control
 * socket, close-on-exec) as its descriptor WF_ZYGOTE_CONTROL_FD. 0 with
 * *pid and *pidfd (the caller's then), or WF_E* with err. The caller closes
 * child_ctl afterwards. */
typedef int (*wf_zyclient_start_fn)(void *ctx, int child_ctl, pid_t *pid, int *pidfd,
                                    char *err, size_t errlen);

typedef struct wf_zyclient {
    const char *name;          /* for the log: "wasm", "native" */
    const char *what;          /* for errors: "the engine", ... */
    wf_zyclient_start_fn start;
    void *ctx;
    int start_timeout_ms;      /* until the zygote says it is ready */
    int sdk_preloaded;         /* its zygote executes the built-in SDK: every
                                * run it forks has it (sandbox.h) */
    pthread_mutex_t mu;        /* the control socket and the zygote's identity */
    int ctl;                   /* -1: no zygote */
    pid_t zpid;
    int zpidfd;
    unsigned starts;
} wf_zyclient;

/* sdk_preloaded: whether the zygotes `start` starts execute the built-in
 * SDK (wf_sandbox_zygote_sdk not NULL); the client's spawns say so in
 * wf_sandbox_proc.sdk_preloaded. */
void wf_zyclient_init(wf_zyclient *zc, const char *name, const char *what,
                      wf_zyclient_start_fn start, void *ctx, int start_timeout_ms,
                      int sdk_preloaded);

/* The zygote is there and alive, or started now. 0 or WF_EUNAVAIL with err. */
int wf_zyclient_ensure(wf_zyclient *zc, char *err, size_t errlen);

/* One run forked by the zygote (started or restarted as needed); out as
 * sandbox.h says. WF_EUNAVAIL when no zygote can be had, WF_EFULL when out
 * of descriptors, WF_EIO otherwise. */
int wf_zyclient_spawn(wf_zyclient *zc, const wf_sandbox_limits *lim, wf_sandbox_proc *out,
                      char *err, size_t errlen);

/* SIGKILL to the run by its pidfd. */
void wf_zyclient_kill(wf_sandbox_proc *p);

/* Waits for the run's end and takes its status from the zygote; closes
 * every descriptor of p and frees p->engine. WF_EIO (and signal SIGKILL)
 * when the zygote died without a word. */
int wf_zyclient_reap(wf_sandbox_proc *p, wf_sandbox_exit *st);

/* Ends the zygote (closing the control socket makes it kill its runs and
 * exit; SIGKILL if it does not) and frees the client's resources. */
void wf_zyclient_destroy(wf_zyclient *zc);

#endif
