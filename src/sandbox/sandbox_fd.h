/* sandbox_fd.h - descriptor helpers shared by the sandbox engines (native.c,
 * wasm.c): close-and-forget, a run's host ends, non-blocking host ends. */
#ifndef WF_SANDBOX_FD_H
#define WF_SANDBOX_FD_H

#include <fcntl.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

/* Closes *fd when open and marks it closed (-1), so it is never closed twice. */
static inline void wf_sandbox_fd_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Closes the host's ends of a reaped run: its pidfd, bridge and output
 * pipes (each marked closed). */
static inline void wf_sandbox_proc_close_fds(wf_sandbox_proc *p)
{
    wf_sandbox_fd_close(&p->pidfd);
    wf_sandbox_fd_close(&p->bridge_fd);
    wf_sandbox_fd_close(&p->out_fd);
    wf_sandbox_fd_close(&p->err_fd);
}

/* 0, or -1 with errno. */
static inline int wf_sandbox_fd_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A run's channels (sandbox.c): the bridge (a stream socketpair) and the
 * stdout and stderr pipes; [0] is the host's end, [1] the sandbox's. All
 * close-on-exec. */
typedef struct wf_sandbox_chan {
    int bridge[2], out[2], err[2];
} wf_sandbox_chan;

/* 0, or WF_EFULL (out of descriptors) / WF_EIO with err; nothing left open. */
int wf_sandbox_chan_open(wf_sandbox_chan *c, char *err, size_t errlen);
/* Closes the sandbox's ends (once the sandbox has its copies). */
void wf_sandbox_chan_close_child(wf_sandbox_chan *c);
/* The host's ends, non-blocking, into out (pid, pidfd too), which then owns
 * them. WF_EIO with err when they cannot be made non-blocking (nothing
 * moved). */
int wf_sandbox_chan_hand_over(wf_sandbox_chan *c, pid_t pid, int pidfd, wf_sandbox_proc *out,
                              char *err, size_t errlen);
/* Closes whatever is still open. */
void wf_sandbox_chan_close(wf_sandbox_chan *c);

#endif
