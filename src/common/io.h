/* io.h - blocking reads and writes on a descriptor that finish the job:
 * retried after a signal (EINTR) and after a short transfer.
 *
 * Errors follow wf_error.h: 0 or WF_EIO, and on WF_EIO errno still says
 * what the system call reported (callers that map errno, such as the WASI
 * host, need it). A write or random fill that moves 0 bytes where more
 * was asked for is an error with errno EIO, so no loop here can spin (a
 * read of 0 bytes is the end of input). Nothing is allocated;
 * the descriptor and buffers stay the caller's. Safe from any thread. */
#ifndef WF_IO_H
#define WF_IO_H

#include <stddef.h>

/* Writes all len bytes of buf to fd. On failure an unknown prefix of buf
 * may have been written. */
int wf_io_write_all(int fd, const void *buf, size_t len);

/* Reads from fd into buf until len bytes are in or fd reaches its end.
 * *got (always set) is the number of bytes read, on failure too: the data
 * read before the failure stays in buf. Returns 0 at the end of input or
 * with buf full. */
int wf_io_read_full(int fd, void *buf, size_t len, size_t *got);

/* Fills buf with len bytes from the kernel's random source (getrandom(2),
 * blocking until the pool is initialised). */
int wf_io_random(void *buf, size_t len);

#endif
