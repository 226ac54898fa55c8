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

#endif
