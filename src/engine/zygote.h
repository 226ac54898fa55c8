/* zygote.h - the WebAssembly engine's zygote: the host side of the control
 * descriptor the zygote's Python blocks on (see sandbox/zygote_proto.h).
 *
 * The engine creates one WASI host with wf_zygote_hook_read() as the read
 * hook of guest fd WF_ZYGOTE_GUESTFD_CONTROL and runs Python. The first read on that
 * descriptor never returns in the zygote: it announces readiness, then
 * serves fork requests until the control socket closes (and then exits).
 * Each child returns from the read, confined (descriptors, rlimits, no new
 * privileges, an unprivileged user, seccomp), and its Python runs the plugin.
 *
 * One zygote per process; the state is process-global, as wasm2c's is. */
#ifndef WF_ZYGOTE_H
#define WF_ZYGOTE_H

#include <stddef.h>
#include <stdint.h>

struct wf_wasi_host;

/* Call before wf_wasi_host_run: the host whose memory cap and /tmp size the
 * children set, and the control socket. */
void wf_zygote_init(struct wf_wasi_host *host, int control_fd);

/* The hook's read callback (ctx unused). Returns a WASI errno. */
int wf_zygote_hook_read(void *ctx, void *buf, size_t len, size_t *nread);

/* The stdin hook's write callback (ctx unused): in a run's child, the first
 * write becomes the guest's stdin, whole (the host serves fd 0 from memory,
 * so no pipe can fill up); any other write is WASI_EBADF, and one larger
 * than WF_ZYGOTE_STDIN_MAX is WASI_EFBIG. Returns a WASI errno. */
#define WF_ZYGOTE_STDIN_MAX ((size_t)64 << 20)
int wf_zygote_stdin_write(void *ctx, const void *buf, size_t len, size_t *nwritten);

/* 1 in a run's child (after the fork), 0 in the zygote. */
int wf_zygote_is_child(void);

/* Tells the server that start-up failed (before the zygote was ready). */
void wf_zygote_fail(int control_fd, const char *msg);

/* Confinement of a child, in confine.c: the seccomp allow-list for the WASI
 * host's own system calls, compiled once in the zygote (0, or -1 with err
 * filled; prog->filter is malloc'd and kept for the zygote's life) and
 * loaded by each child (0, or -1 with errno). */
struct sock_fprog;
int wf_zygote_seccomp_build(struct sock_fprog *prog, char *err, size_t errlen);
int wf_zygote_seccomp_load(const struct sock_fprog *prog);

#endif
