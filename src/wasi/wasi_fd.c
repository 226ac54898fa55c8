/* wasi_fd.c - the descriptor table and the fd_* functions: streams
 * (stdio, the bridge, hooks), files and directories of the synthetic tree,
 * and files of a mapped host folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/io.h"
#include "wasi/wasi_internal.h"

#define WF_IOV_MAX 1024

int wf_wasi_fd_get(struct wf_wasi_host *h, uint32_t fd, uint64_t need,
                   struct wf_wasi_fd **out)
{
    if (fd >= WF_WASI_MAX_FDS || h->fds[fd].kind == WF_FD_FREE)
        return WASI_EBADF;
    if ((~h->fds[fd].rights & need) != 0)
        return WASI_ENOTCAPABLE;
    *out = &h->fds[fd];
    return 0;
}

int wf_wasi_errno_from_host(int e)
{
    switch (e) {
    case 0: return 0;
    case E2BIG: return WASI_E2BIG;
    case EACCES: return WASI_EACCES;
    case EAGAIN: return WASI_EAGAIN;
    case EBADF: return WASI_EBADF;
    case EBUSY: return WASI_EBUSY;
    case EEXIST: return WASI_EEXIST;
    case EFAULT: return WASI_EFAULT;
    case EFBIG: return WASI_EFBIG;
    case EINTR: return WASI_EINTR;
    case EINVAL: return WASI_EINVAL;
    case EIO: return WASI_EIO;
    case EISDIR: return WASI_EISDIR;
    case ELOOP: return WASI_ELOOP;
    case EMFILE: return WASI_EMFILE;
    case EMLINK: return WASI_EMLINK;
    case ENAMETOOLONG: return WASI_ENAMETOOLONG;
    case ENFILE: return WASI_ENFILE;
    case ENOENT: return WASI_ENOENT;
    case ENOMEM: return WASI_ENOMEM;
    case ENOSPC: return WASI_ENOSPC;
    case ENOSYS: return WASI_ENOSYS;
    case ENOTDIR: return WASI_ENOTDIR;
    case ENOTEMPTY: return WASI_ENOTEMPTY;
    case ENOTSUP: return WASI_ENOTSUP;
    case ENXIO: return WASI_ENXIO;
    case EPERM: return WASI_EPERM;
    case EPIPE: return WASI_EPIPE;
    case ECONNRESET: return WASI_ECONNRESET;
    case EROFS: return WASI_EROFS;
    case ESPIPE: return WASI_ESPIPE;
    case EXDEV: return WASI_EXDEV;
    case EOVERFLOW: return WASI_EOVERFLOW;
    case EDQUOT: return WASI_EDQUOT;
    default: return WASI_EIO;
    }
}

/* Copies and checks the guest's iovec array: every buffer must lie inside
 * guest memory. The total is clamped so a result fits in a u32. */
static int iovs_load(struct wf_wasi_host *h, uint32_t iovs, uint32_t n,
                     struct iovec *out, size_t *count)
{
    if (n > WF_IOV_MAX)
        return WASI_EINVAL;
    const uint8_t *raw = wf_wasi_mem_aligned(h, iovs, (uint64_t)n * WASI_IOVEC_SIZE, 4);
    if (!raw)
        return WASI_EFAULT;
    uint64_t total = 0;
    size_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t base = wf_get_u32(raw + i * WASI_IOVEC_SIZE);
        uint32_t len = wf_get_u32(raw + i * WASI_IOVEC_SIZE + 4);
        uint8_t *p = wf_wasi_mem(h, base, len);
        if (!p)
            return WASI_EFAULT;
        if (total + len > INT32_MAX)
            len = (uint32_t)(INT32_MAX - total);
        total += len;
        out[k].iov_base = p;
        out[k].iov_len = len;
        k++;
    }
    *count = k;
    return 0;
}

static int put_result_u32(struct wf_wasi_host *h, uint32_t ptr, uint32_t v)
{
    uint8_t *p = wf_wasi_mem_aligned(h, ptr, 4, 4);
    if (!p)
        return WASI_EFAULT;
    wf_put_u32(p, v);
    return 0;
}

static int put_result_u64(struct wf_wasi_host *h, uint32_t ptr, uint64_t v)
{
    uint8_t *p = wf_wasi_mem_aligned(h, ptr, 8, 8);
    if (!p)
        return WASI_EFAULT;
    wf_put_u64(p, v);
    return 0;
}

/* ------------------------------------------------------------- streams */

static int stream_emit(struct wf_wasi_stream *s, const void *p, size_t n)
{
    if (s->host_fd >= 0)
        return wf_io_write_all(s->host_fd, p, n) ? wf_wasi_errno_from_host(errno) : 0;
    if (s->len + n > s->bufcap) {
        size_t ncap = s->bufcap ? s->bufcap : 4096;
        while (ncap < s->len + n)
            ncap *= 2;
        char *b = realloc(s->buf, ncap);
        if (!b)
            return WASI_ENOMEM;
        s->buf = b;
        s->bufcap = ncap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

/* Passes at most the stream's cap; past it the guest's writes succeed but go
 * nowhere, and the marker is written once so readers see the cut. */
static int stream_write(struct wf_wasi_stream *s, const void *p, size_t n)
{
    size_t room = s->cap > s->passed ? s->cap - s->passed : 0;
    size_t take = n < room ? n : room;
    if (take) {
        int rc = stream_emit(s, p, take);
        if (rc)
            return rc;
        s->passed += take;
    }
    if (take < n && !s->flooded) {
        s->flooded = 1;
        stream_emit(s, WF_WASI_TRUNCATION_MARKER, strlen(WF_WASI_TRUNCATION_MARKER));
        if (s->on_flood)
            s->on_flood(s->flood_ctx, s->fd);
    }
    return 0;
}

/* ------------------------------------------------------- read and write */

/* One readv/writev (preadv/pwritev when positional) on a host descriptor,
 * retried after a signal: a short transfer is the guest's to see. */
static int host_rw(int fd, struct iovec *iov, size_t n, uint64_t off, int positional,
                   int writing, size_t *done)
{
    ssize_t r;
    do {
        if (writing)
            r = positional ? pwritev(fd, iov, (int)n, (off_t)off) : writev(fd, iov, (int)n);
        else
            r = positional ? preadv(fd, iov, (int)n, (off_t)off) : readv(fd, iov, (int)n);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return wf_wasi_errno_from_host(errno);
    *done = (size_t)r;
    return 0;
}

static int do_read(struct wf_wasi_host *h, struct wf_wasi_fd *f,
                   struct iovec *iov, size_t n, uint64_t *off_io, int positional,
                   size_t *done)
{
    size_t total = 0;
    switch (f->kind) {
    case WF_FD_VFS: {
        if (f->node->type == WF_VFS_DIR)
            return WASI_EISDIR;
        uint64_t off = *off_io;
        for (size_t i = 0; i < n; i++) {
            size_t got = wf_vfs_read(f->node, off, iov[i].iov_base, iov[i].iov_len);
            off += got;
            total += got;
            if (got < iov[i].iov_len)
                break;
        }
        *off_io = off;
        break;
    }
    case WF_FD_STDIN:
        if (f->host_fd < 0) {
            for (size_t i = 0; i < n && h->stdin_pos < h->stdin_len; i++) {
                size_t take = h->stdin_len - h->stdin_pos;
                if (take > iov[i].iov_len)
                    take = iov[i].iov_len;
                memcpy(iov[i].iov_base, h->stdin_data + h->stdin_pos, take);
                h->stdin_pos += take;
                total += take;
            }
            break;
        }
        __attribute__((fallthrough));   /* a host fd */
    case WF_FD_HOST:
    case WF_FD_HOSTFILE:
        return host_rw(f->host_fd, iov, n, *off_io, positional, 0, done);
    case WF_FD_HOOK: {
        for (size_t i = 0; i < n; i++) {
            if (!iov[i].iov_len)
                continue;
            if (!f->hook->read)
                return WASI_EBADF;
            size_t got = 0;
            int rc = f->hook->read(f->hook->ctx, iov[i].iov_base, iov[i].iov_len, &got);
            if (rc)
                return rc;
            total = got > iov[i].iov_len ? iov[i].iov_len : got;
            break;   /* one call per read, like a socket */
        }
        break;
    }
    case WF_FD_HOSTDIR:
        return WASI_EISDIR;
    default:
        return WASI_EBADF;
    }
    *done = total;
    return 0;
}

static int do_write(struct wf_wasi_host *h, struct wf_wasi_fd *f,
                    struct iovec *iov, size_t n, uint64_t *off_io, int positional,
                    size_t *done)
{
    size_t total = 0;
    int rc = 0;
    switch (f->kind) {
    case WF_FD_OUTPUT:
        for (size_t i = 0; i < n && !rc; i++) {
            rc = stream_write(f->stream, iov[i].iov_base, iov[i].iov_len);
            if (!rc)
                total += iov[i].iov_len;
        }
        if (rc && total == 0)
            return rc;
        break;
    case WF_FD_VFS: {
        if (f->node->type == WF_VFS_DIR)
            return WASI_EISDIR;
        uint64_t off = (!positional && (f->fdflags & WASI_FDFLAG_APPEND)) ? f->node->size : *off_io;
        for (size_t i = 0; i < n; i++) {
            rc = wf_vfs_write(&h->vfs, f->node, off, iov[i].iov_base, iov[i].iov_len);
            if (rc) {
                if (total == 0)
                    return rc;
                break;
            }
            off += iov[i].iov_len;
            total += iov[i].iov_len;
        }
        *off_io = off;
        break;
    }
    case WF_FD_HOST:
    case WF_FD_HOSTFILE:
        return host_rw(f->host_fd, iov, n, *off_io, positional, 1, done);
    case WF_FD_HOOK:
        for (size_t i = 0; i < n; i++) {
            if (!iov[i].iov_len)
                continue;
            if (!f->hook->write)
                return WASI_EBADF;
            size_t put = 0;
            rc = f->hook->write(f->hook->ctx, iov[i].iov_base, iov[i].iov_len, &put);
            if (rc)
                return total ? 0 : rc;
            total += put > iov[i].iov_len ? iov[i].iov_len : put;
            if (put < iov[i].iov_len)
                break;
        }
        break;
    case WF_FD_STDIN:
        return WASI_EBADF;
    case WF_FD_HOSTDIR:
        return WASI_EISDIR;
    default:
        return WASI_EBADF;
    }
    *done = total;
    return 0;
}

static int is_stream(const struct wf_wasi_fd *f)
{
    return f->kind == WF_FD_STDIN || f->kind == WF_FD_OUTPUT ||
           f->kind == WF_FD_HOST || f->kind == WF_FD_HOOK;
}

static int rw_common(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs,
                     uint32_t n, uint64_t off, int positional, int writing,
                     uint32_t out)
{
    struct wf_wasi_fd *f;
    uint64_t need = writing ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ;
    int rc = wf_wasi_fd_get(h, fd, 0, &f);
    if (rc)
        return rc;
    if (positional) {
        if (is_stream(f))
            return WASI_ESPIPE;
        need |= WASI_RIGHT_FD_SEEK;
        if (off > INT64_MAX)
            return WASI_EINVAL;
    }
    if ((~f->rights & need) != 0)
        return WASI_ENOTCAPABLE;
    if (!wf_wasi_mem_aligned(h, out, 4, 4))
        return WASI_EFAULT;
    struct iovec iov[WF_IOV_MAX];
    size_t cnt = 0, done = 0;
    if ((rc = iovs_load(h, iovs, n, iov, &cnt)))
        return rc;
    uint64_t o = positional ? off : f->offset;
    rc = writing ? do_write(h, f, iov, cnt, &o, positional, &done)
                 : do_read(h, f, iov, cnt, &o, positional, &done);
    if (rc)
        return rc;
    if (!positional && (f->kind == WF_FD_VFS))
        f->offset = o;
    if (!positional && f->kind == WF_FD_HOSTFILE)
        f->offset = 0;   /* the host keeps the position */
    return put_result_u32(h, out, (uint32_t)done);
}

int wf_wasi_fd_read(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out)
{
    return rw_common(h, fd, iovs, n, 0, 0, 0, out);
}

int wf_wasi_fd_write(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out)
{
    return rw_common(h, fd, iovs, n, 0, 0, 1, out);
}

int wf_wasi_fd_pread(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out)
{
    return rw_common(h, fd, iovs, n, off, 1, 0, out);
}

int wf_wasi_fd_pwrite(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out)
{
    return rw_common(h, fd, iovs, n, off, 1, 1, out);
}

/* ------------------------------------------------------ position, state */

int wf_wasi_fd_seek(struct wf_wasi_host *h, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, 0, &f);
    if (rc)
        return rc;
    if (is_stream(f))
        return WASI_ESPIPE;
    uint64_t need = (off == 0 && whence == WASI_WHENCE_CUR) ? WASI_RIGHT_FD_TELL
                                                            : WASI_RIGHT_FD_SEEK;
    if ((~f->rights & need) != 0)
        return WASI_ENOTCAPABLE;
    if (whence > WASI_WHENCE_END)
        return WASI_EINVAL;
    if (!wf_wasi_mem_aligned(h, out, 8, 8))
        return WASI_EFAULT;
    int64_t delta = (int64_t)off;
    uint64_t pos;
    if (f->kind == WF_FD_HOSTFILE) {
        static const int wh[] = { SEEK_SET, SEEK_CUR, SEEK_END };
        off_t r = lseek(f->host_fd, (off_t)delta, wh[whence]);
        if (r < 0)
            return wf_wasi_errno_from_host(errno);
        pos = (uint64_t)r;
    } else if (f->kind == WF_FD_VFS && f->node->type == WF_VFS_FILE) {
        int64_t base = whence == WASI_WHENCE_SET ? 0
                     : whence == WASI_WHENCE_CUR ? (int64_t)f->offset
                                                 : (int64_t)f->node->size;
        int64_t np;
        if (__builtin_add_overflow(base, delta, &np) || np < 0)
            return WASI_EINVAL;
        f->offset = pos = (uint64_t)np;
    } else {
        return WASI_EBADF;   /* directories */
    }
    return put_result_u64(h, out, pos);
}

int wf_wasi_fd_tell(struct wf_wasi_host *h, uint32_t fd, uint32_t out)
{
    return wf_wasi_fd_seek(h, fd, 0, WASI_WHENCE_CUR, out);
}

static void fd_release(struct wf_wasi_host *h, struct wf_wasi_fd *f)
{
    if (f->kind == WF_FD_VFS)
        wf_vfs_unref(&h->vfs, f->node);
    if (f->kind == WF_FD_HOSTDIR || f->kind == WF_FD_HOSTFILE)
        close(f->host_fd);
    /* Streams, the bridge and hooks belong to the host config: the guest
     * closing them only frees the number. */
    memset(f, 0, sizeof(*f));
    f->host_fd = -1;
}

void wf_wasi_fd_release_all(struct wf_wasi_host *h)
{
    for (uint32_t i = 0; i < WF_WASI_MAX_FDS; i++)
        if (h->fds[i].kind != WF_FD_FREE)
            fd_release(h, &h->fds[i]);
}

int wf_wasi_fd_close(struct wf_wasi_host *h, uint32_t fd)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, 0, &f);
    if (rc)
        return rc;
    fd_release(h, f);
    return 0;
}

int wf_wasi_fd_renumber(struct wf_wasi_host *h, uint32_t from, uint32_t to)
{
    struct wf_wasi_fd *f, *t;
    int rc;
    if ((rc = wf_wasi_fd_get(h, from, 0, &f)) || (rc = wf_wasi_fd_get(h, to, 0, &t)))
        return rc;
    if (from == to)
        return 0;
    fd_release(h, t);
    *t = *f;
    memset(f, 0, sizeof(*f));
    f->host_fd = -1;
    return 0;
}

int wf_wasi_fd_datasync(struct wf_wasi_host *h, uint32_t fd)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_DATASYNC, &f);
    if (rc)
        return rc;
    if (f->kind == WF_FD_HOSTFILE && fdatasync(f->host_fd) < 0)
        return wf_wasi_errno_from_host(errno);
    return 0;
}

int wf_wasi_fd_sync(struct wf_wasi_host *h, uint32_t fd)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_SYNC, &f);
    if (rc)
        return rc;
    if ((f->kind == WF_FD_HOSTFILE) && fsync(f->host_fd) < 0)
        return wf_wasi_errno_from_host(errno);
    return 0;
}

int wf_wasi_fd_advise(struct wf_wasi_host *h, uint32_t fd, uint64_t off, uint64_t len, uint32_t advice)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_ADVISE, &f);
    if (rc)
        return rc;
    if (advice > WASI_ADVICE_MAX || off > INT64_MAX || len > INT64_MAX)
        return WASI_EINVAL;
    if (is_stream(f))
        return WASI_ESPIPE;
    return 0;   /* advice only; nothing to do in memory */
}

int wf_wasi_fd_allocate(struct wf_wasi_host *h, uint32_t fd, uint64_t off, uint64_t len)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_ALLOCATE, &f);
    if (rc)
        return rc;
    if (off > INT64_MAX || len > INT64_MAX - off)
        return WASI_EFBIG;
    if (f->kind == WF_FD_HOSTFILE) {
        int e = posix_fallocate(f->host_fd, (off_t)off, (off_t)len);
        return wf_wasi_errno_from_host(e);
    }
    if (f->kind != WF_FD_VFS || f->node->type != WF_VFS_FILE)
        return WASI_EBADF;
    if (off + len > f->node->size)
        return wf_vfs_truncate(&h->vfs, f->node, off + len);
    return 0;
}

static uint8_t host_filetype(mode_t m)
{
    if (S_ISREG(m)) return WASI_FILETYPE_REGULAR_FILE;
    if (S_ISDIR(m)) return WASI_FILETYPE_DIRECTORY;
    if (S_ISLNK(m)) return WASI_FILETYPE_SYMBOLIC_LINK;
    if (S_ISCHR(m)) return WASI_FILETYPE_CHARACTER_DEVICE;
    if (S_ISBLK(m)) return WASI_FILETYPE_BLOCK_DEVICE;
    if (S_ISSOCK(m)) return WASI_FILETYPE_SOCKET_STREAM;
    return WASI_FILETYPE_UNKNOWN;
}

uint8_t wf_wasi_vfs_filetype(const struct wf_vfs_node *n)
{
    switch (n->type) {
    case WF_VFS_DIR: return WASI_FILETYPE_DIRECTORY;
    case WF_VFS_FILE: return WASI_FILETYPE_REGULAR_FILE;
    case WF_VFS_SYMLINK: return WASI_FILETYPE_SYMBOLIC_LINK;
    default: return WASI_FILETYPE_UNKNOWN;
    }
}

void wf_wasi_put_filestat_vfs(uint8_t *p, const struct wf_vfs_node *n)
{
    memset(p, 0, WASI_FILESTAT_SIZE);
    wf_put_u64(p + 0, n->readonly ? 1 : 2);
    wf_put_u64(p + 8, n->ino);
    p[16] = wf_wasi_vfs_filetype(n);
    wf_put_u64(p + 24, n->type == WF_VFS_DIR ? 2 : (n->nlink ? n->nlink : 1));
    wf_put_u64(p + 32, n->type == WF_VFS_DIR ? 4096 : n->size);
    wf_put_u64(p + 40, n->atim);
    wf_put_u64(p + 48, n->mtim);
    wf_put_u64(p + 56, n->ctim);
}

void wf_wasi_put_filestat_host(uint8_t *p, const struct stat *st)
{
    memset(p, 0, WASI_FILESTAT_SIZE);
    wf_put_u64(p + 0, (uint64_t)st->st_dev);
    wf_put_u64(p + 8, (uint64_t)st->st_ino);
    p[16] = host_filetype(st->st_mode);
    wf_put_u64(p + 24, (uint64_t)st->st_nlink);
    wf_put_u64(p + 32, (uint64_t)st->st_size);
    wf_put_u64(p + 40, (uint64_t)st->st_atim.tv_sec * 1000000000ull + (uint64_t)st->st_atim.tv_nsec);
    wf_put_u64(p + 48, (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec);
    wf_put_u64(p + 56, (uint64_t)st->st_ctim.tv_sec * 1000000000ull + (uint64_t)st->st_ctim.tv_nsec);
}

int wf_wasi_fd_fdstat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t out)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, 0, &f);
    if (rc)
        return rc;
    uint8_t *p = wf_wasi_mem_aligned(h, out, WASI_FDSTAT_SIZE, 8);
    if (!p)
        return WASI_EFAULT;
    memset(p, 0, WASI_FDSTAT_SIZE);
    p[0] = f->filetype;
    wf_put_u16(p + 2, f->fdflags);
    wf_put_u64(p + 8, f->rights);
    wf_put_u64(p + 16, f->inheriting);
    return 0;
}

int wf_wasi_fd_fdstat_set_flags(struct wf_wasi_host *h, uint32_t fd, uint32_t flags)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &f);
    if (rc)
        return rc;
    if (flags & ~(uint32_t)WASI_FDFLAGS_ALL)
        return WASI_EINVAL;
    if (f->kind == WF_FD_HOST || f->kind == WF_FD_HOSTFILE) {
        int fl = fcntl(f->host_fd, F_GETFL);
        if (fl < 0)
            return wf_wasi_errno_from_host(errno);
        fl = (flags & WASI_FDFLAG_NONBLOCK) ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
        if (f->kind == WF_FD_HOSTFILE)
            fl = (flags & WASI_FDFLAG_APPEND) ? (fl | O_APPEND) : (fl & ~O_APPEND);
        if (fcntl(f->host_fd, F_SETFL, fl) < 0)
            return wf_wasi_errno_from_host(errno);
    }
    f->fdflags = (uint16_t)flags;
    return 0;
}

int wf_wasi_fd_fdstat_set_rights(struct wf_wasi_host *h, uint32_t fd, uint64_t base, uint64_t inh)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, 0, &f);
    if (rc)
        return rc;
    if ((base & ~f->rights) || (inh & ~f->inheriting))
        return WASI_ENOTCAPABLE;   /* rights only ever shrink */
    f->rights = base;
    f->inheriting = inh;
    return 0;
}

int wf_wasi_fd_filestat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t out)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_FILESTAT_GET, &f);
    if (rc)
        return rc;
    uint8_t *p = wf_wasi_mem_aligned(h, out, WASI_FILESTAT_SIZE, 8);
    if (!p)
        return WASI_EFAULT;
    if (f->kind == WF_FD_VFS) {
        wf_wasi_put_filestat_vfs(p, f->node);
    } else if (f->kind == WF_FD_HOSTFILE || f->kind == WF_FD_HOSTDIR) {
        struct stat st;
        if (fstat(f->host_fd, &st) < 0)
            return wf_wasi_errno_from_host(errno);
        wf_wasi_put_filestat_host(p, &st);
    } else {
        memset(p, 0, WASI_FILESTAT_SIZE);
        p[16] = f->filetype;
        wf_put_u64(p + 24, 1);
    }
    return 0;
}

int wf_wasi_fd_filestat_set_size(struct wf_wasi_host *h, uint32_t fd, uint64_t size)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_FILESTAT_SET_SIZE, &f);
    if (rc)
        return rc;
    if (size > INT64_MAX)
        return WASI_EFBIG;
    if (f->kind == WF_FD_HOSTFILE)
        return ftruncate(f->host_fd, (off_t)size) < 0 ? wf_wasi_errno_from_host(errno) : 0;
    if (f->kind != WF_FD_VFS)
        return WASI_EINVAL;
    if (f->node->type == WF_VFS_DIR)
        return WASI_EISDIR;
    return wf_vfs_truncate(&h->vfs, f->node, size);
}

/* fst_flags has only known bits, and no time is both given and "now". */
static int fst_valid(uint32_t fst)
{
    return !(fst & ~(uint32_t)0xf) &&
           !((fst & WASI_FST_ATIM) && (fst & WASI_FST_ATIM_NOW)) &&
           !((fst & WASI_FST_MTIM) && (fst & WASI_FST_MTIM_NOW));
}

/* Applies fst_flags to a node's times; shared with path_filestat_set_times. */
int wf_wasi_set_times_vfs(struct wf_vfs_node *n, uint64_t atim, uint64_t mtim, uint32_t fst)
{
    if (!fst_valid(fst))
        return WASI_EINVAL;
    if (n->readonly)
        return WASI_EROFS;
    uint64_t now = wf_vfs_now();
    if (fst & WASI_FST_ATIM) n->atim = atim;
    if (fst & WASI_FST_ATIM_NOW) n->atim = now;
    if (fst & WASI_FST_MTIM) n->mtim = mtim;
    if (fst & WASI_FST_MTIM_NOW) n->mtim = now;
    n->ctim = now;
    return 0;
}

int wf_wasi_host_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
    if (!fst_valid(fst))
        return WASI_EINVAL;
    ts[0].tv_sec = (time_t)(atim / 1000000000ull);
    ts[0].tv_nsec = (long)(atim % 1000000000ull);
    ts[1].tv_sec = (time_t)(mtim / 1000000000ull);
    ts[1].tv_nsec = (long)(mtim % 1000000000ull);
    if (!(fst & (WASI_FST_ATIM | WASI_FST_ATIM_NOW))) ts[0].tv_nsec = UTIME_OMIT;
    if (fst & WASI_FST_ATIM_NOW) ts[0].tv_nsec = UTIME_NOW;
    if (!(fst & (WASI_FST_MTIM | WASI_FST_MTIM_NOW))) ts[1].tv_nsec = UTIME_OMIT;
    if (fst & WASI_FST_MTIM_NOW) ts[1].tv_nsec = UTIME_NOW;
    return 0;
}

int wf_wasi_fd_filestat_set_times(struct wf_wasi_host *h, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t fst)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_FILESTAT_SET_TIMES, &f);
    if (rc)
        return rc;
    if (f->kind == WF_FD_VFS)
        return wf_wasi_set_times_vfs(f->node, atim, mtim, fst);
    if (f->kind == WF_FD_HOSTFILE || f->kind == WF_FD_HOSTDIR) {
        struct timespec ts[2];
        if ((rc = wf_wasi_host_times(atim, mtim, fst, ts)))
            return rc;
        return futimens(f->host_fd, ts) < 0 ? wf_wasi_errno_from_host(errno) : 0;
    }
    return WASI_EINVAL;
}

/* A descriptor the host preopened (only those have a prestat). */
static int preopen_get(struct wf_wasi_host *h, uint32_t fd, struct wf_wasi_fd **out)
{
    int rc = wf_wasi_fd_get(h, fd, 0, out);
    if (rc)
        return rc;
    return (*out)->preopen ? 0 : WASI_EBADF;
}

int wf_wasi_fd_prestat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t out)
{
    struct wf_wasi_fd *f;
    int rc = preopen_get(h, fd, &f);
    if (rc)
        return rc;
    uint8_t *p = wf_wasi_mem_aligned(h, out, WASI_PRESTAT_SIZE, 4);
    if (!p)
        return WASI_EFAULT;
    memset(p, 0, WASI_PRESTAT_SIZE);
    p[0] = WASI_PREOPEN_DIR;
    wf_put_u32(p + 4, (uint32_t)strlen(f->preopen));
    return 0;
}

int wf_wasi_fd_prestat_dir_name(struct wf_wasi_host *h, uint32_t fd, uint32_t buf, uint32_t len)
{
    struct wf_wasi_fd *f;
    int rc = preopen_get(h, fd, &f);
    if (rc)
        return rc;
    size_t n = strlen(f->preopen);
    if (len < n)
        return WASI_ENAMETOOLONG;
    uint8_t *p = wf_wasi_mem(h, buf, n);
    if (!p)
        return WASI_EFAULT;
    memcpy(p, f->preopen, n);
    return 0;
}

/* Directory entries: cookie 0 is ".", 1 is "..", 2 + i is entry i. */
int wf_wasi_readdir_host(struct wf_wasi_host *h, struct wf_wasi_fd *f, uint8_t *p,
                         uint32_t len, uint64_t cookie, uint32_t *used);

int wf_wasi_fd_readdir(struct wf_wasi_host *h, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t out)
{
    struct wf_wasi_fd *f;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_FD_READDIR, &f);
    if (rc)
        return rc;
    uint8_t *p = wf_wasi_mem(h, buf, len);
    if (!p || !wf_wasi_mem_aligned(h, out, 4, 4))
        return WASI_EFAULT;
    uint32_t used = 0;
    if (f->kind == WF_FD_HOSTDIR) {
        if ((rc = wf_wasi_readdir_host(h, f, p, len, cookie, &used)))
            return rc;
        return put_result_u32(h, out, used);
    }
    if (f->kind != WF_FD_VFS || f->node->type != WF_VFS_DIR)
        return WASI_ENOTDIR;
    const struct wf_vfs_node *d = f->node;
    for (uint64_t c = cookie; c < (uint64_t)d->nents + 2 && used < len; c++) {
        const char *name;
        uint32_t namelen;
        const struct wf_vfs_node *n;
        if (c == 0) { name = "."; namelen = 1; n = d; }
        else if (c == 1) { name = ".."; namelen = 2; n = d->parent ? d->parent : d; }
        else { name = d->ents[c - 2].name; namelen = d->ents[c - 2].namelen; n = d->ents[c - 2].node; }
        uint8_t ent[WASI_DIRENT_SIZE];
        memset(ent, 0, sizeof(ent));
        wf_put_u64(ent, c + 1);
        wf_put_u64(ent + 8, n->ino);
        wf_put_u32(ent + 16, namelen);
        ent[20] = wf_wasi_vfs_filetype(n);
        /* Entries that do not fit are cut: the guest sees a full buffer and
         * asks again with a larger one. */
        uint32_t take = len - used < WASI_DIRENT_SIZE ? len - used : WASI_DIRENT_SIZE;
        memcpy(p + used, ent, take);
        used += take;
        take = len - used < namelen ? len - used : namelen;
        memcpy(p + used, name, take);
        used += take;
    }
    return put_result_u32(h, out, used);
}
