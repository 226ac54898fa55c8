/* io.c - whole reads, writes and random fills on a descriptor, retried
 * after signals and short transfers (the contract is in io.h). */
#include "common/io.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/wf_error.h"

int wf_io_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return WF_EIO;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int wf_io_read_full(int fd, void *buf, size_t len, size_t *got)
{
    uint8_t *p = buf;
    size_t done = 0;
    int rc = 0;
    while (done < len) {
        ssize_t r = read(fd, p + done, len - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = WF_EIO;
            break;
        }
        if (r == 0)
            break;   /* the end of input */
        done += (size_t)r;
    }
    *got = done;
    return rc;
}

int wf_io_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = getrandom(p, len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return WF_EIO;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}
