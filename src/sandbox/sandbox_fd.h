/* sandbox_fd.h - descriptor helpers shared by the sandbox engines (native.c,
 * wasm.c): close-and-forget, and non-blocking host ends. */
#ifndef WF_SANDBOX_FD_H
#define WF_SANDBOX_FD_H

#include <fcntl.h>
#include <unistd.h>

/* Closes *fd when open and marks it closed (-1), so it is never closed twice. */
static inline void wf_sandbox_fd_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* 0, or -1 with errno. */
static inline int wf_sandbox_fd_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

#endif
