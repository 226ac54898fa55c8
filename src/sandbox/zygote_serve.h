/* zygote_serve.h - the zygote's side of the control protocol
 * (sandbox/zygote_proto.h), shared by both zygotes: the WebAssembly engine's
 * (src/engine/zygote.c) and the native one (src/native_zygote/wf_zygote_mod.c).
 *
 * wf_zyserve_run announces readiness on the control socket and then serves
 * fork requests: each child runs the zygote's own set-up callback (the only
 * part that differs between the two) and returns from wf_zyserve_run; the
 * zygote reaps its children and writes each one's status to its run's status
 * pipe. When the control socket closes the zygote kills its runs and exits.
 *
 * Not used by the server itself: libwf.a carries it for the unit tests. One
 * zygote per process: the state is process-global. Single-threaded callers
 * only (the zygote forks). */
#ifndef WF_ZYGOTE_SERVE_H
#define WF_ZYGOTE_SERVE_H

#include <sys/types.h>

#include "sandbox/zygote_proto.h"

/* A child's set-up, in the child just after the fork. fds: the run's bridge,
 * stdout and stderr (the status pipe stays with the zygote; each is
 * close-on-exec). A failing step calls wf_zyserve_child_fail(report_fd, ...),
 * which ends the child and fails the spawn; returning means success, after
 * which the callback must have closed report_fd. zygote: the zygote's pid. */
typedef void (*wf_zyserve_setup_fn)(void *ctx, const struct wf_zygote_req *req,
                                    const int fds[3], int report_fd, pid_t zygote);

/* Says "ready" on control_fd, then serves until the control socket closes
 * (never returns then: _exit(0) after killing the runs). Returns only in a
 * run's child, after setup. Failures before ready are reported on control_fd
 * and end the process (_exit(1)).
 *
 * wait_setup 1: the zygote answers a request once the child's set-up has
 * finished, and a failed step fails the spawn. 0: it answers right after
 * the fork, so that children set themselves up while it forks the next
 * (the plugin still gets control only after the set-up); report_fd is then
 * a copy of the run's stderr, a failed step is said there as text and the
 * run ends with status 126. */
void wf_zyserve_run(int control_fd, int wait_setup, wf_zyserve_setup_fn setup, void *ctx);

/* 1 in a run's child (after the fork), 0 in the zygote. */
int wf_zyserve_is_child(void);

/* Tells the server that start-up failed (before the zygote was ready). */
void wf_zyserve_fail(int control_fd, const char *msg);

/* In a child: reports "what" and errno to the zygote on report_fd, which
 * fails the spawn with that text (or, wait_setup 0, as text on the run's
 * stderr), and exits 126. Async-signal-safe with wait_setup 1 and outside
 * a zygote. */
_Noreturn void wf_zyserve_child_fail(int report_fd, const char *what);

/* A report as written by wf_zyserve_child_fail ("what\0" and the errno's
 * bytes; a plain text is taken as it is) into a message for a person. */
void wf_zyserve_report_text(const char *buf, size_t n, char *out, size_t outlen);

#endif
