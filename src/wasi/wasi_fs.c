/* wasi_fs.c - the path_* functions: every path goes through wf_path_resolve
 * against the directory descriptor it was given, then acts on the synthetic
 * tree or, for a mapped host folder, on the directory handle found. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

/* A resolved guest path: the directory descriptor it started from, the back
 * end, and where it led. */
struct at {
    struct wf_wasi_fd *fd;
    const struct wf_path_ops *ops;
    struct wf_path_result r;
    int host;          /* a mapped host folder */
};

static int resolve_at(struct wf_wasi_host *h, uint32_t fd, uint64_t need,
                      uint32_t path, uint32_t len, int follow, struct at *a)
{
    int rc = wf_wasi_fd_get(h, fd, need, &a->fd);
    if (rc)
        return rc;
    uintptr_t start;
    if (a->fd->kind == WF_FD_VFS && a->fd->node->type == WF_VFS_DIR) {
        a->ops = &wf_vfs_path_ops;
        a->host = 0;
        start = (uintptr_t)a->fd->node;
    } else if (a->fd->kind == WF_FD_HOSTDIR) {
        a->ops = &wf_hostdir_path_ops;
        a->host = 1;
        start = (uintptr_t)a->fd->host_fd;
    } else {
        return WASI_ENOTDIR;
    }
    const char *p = (const char *)wf_wasi_mem(h, path, len);
    if (!p)
        return WASI_EFAULT;
    return wf_path_resolve(a->ops, NULL, start, p, len, follow, &a->r);
}

static void at_done(struct at *a)
{
    wf_path_release(a->ops, NULL, &a->r);
}

/* resolve_at for a path that must exist: WASI_ENOENT, with nothing left
 * held, when it does not. */
static int resolve_existing_at(struct wf_wasi_host *h, uint32_t fd, uint64_t need,
                               uint32_t path, uint32_t len, int follow, struct at *a)
{
    int rc = resolve_at(h, fd, need, path, len, follow, a);
    if (rc)
        return rc;
    if (!a->r.exists) {
        at_done(a);
        return WASI_ENOENT;
    }
    return 0;
}

static struct wf_vfs_node *at_node(const struct at *a)
{
    struct wf_vfs_node *dir = (struct wf_vfs_node *)a->r.dir;
    if (a->r.namelen == 0)
        return dir;
    return a->r.exists ? wf_vfs_lookup(dir, a->r.name, a->r.namelen) : NULL;
}

static int host_dirfd(const struct at *a)
{
    return (int)a->r.dir;
}

static const char *host_name(const struct at *a)
{
    return a->r.namelen ? a->r.name : ".";
}

static int host_err(void)
{
    return wf_wasi_errno_from_host(errno);
}

static int alloc_fd(struct wf_wasi_host *h, uint32_t *out)
{
    for (uint32_t i = 0; i < WF_WASI_MAX_FDS; i++)
        if (h->fds[i].kind == WF_FD_FREE) {
            *out = i;
            return 0;
        }
    return WASI_EMFILE;
}

/* ------------------------------------------------------------ path_open */

int wf_wasi_path_open(struct wf_wasi_host *h, uint32_t fd, uint32_t dirflags,
                      uint32_t path, uint32_t len, uint32_t oflags,
                      uint64_t base, uint64_t inh, uint32_t fdflags, uint32_t out)
{
    struct wf_wasi_fd *d;
    int rc = wf_wasi_fd_get(h, fd, WASI_RIGHT_PATH_OPEN, &d);
    if (rc)
        return rc;
    if ((oflags & ~(uint32_t)WASI_O_ALL) || (fdflags & ~(uint32_t)WASI_FDFLAGS_ALL) ||
        (dirflags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW))
        return WASI_EINVAL;
    /* A descriptor can only hand out rights it may pass on. */
    if ((base & ~d->inheriting) || (inh & ~d->inheriting))
        return WASI_ENOTCAPABLE;
    uint64_t need = WASI_RIGHT_PATH_OPEN;
    if (oflags & WASI_O_CREAT)
        need |= WASI_RIGHT_PATH_CREATE_FILE;
    if (oflags & WASI_O_TRUNC)
        need |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
    if ((~d->rights & need) != 0)
        return WASI_ENOTCAPABLE;
    if (!wf_wasi_mem_aligned(h, out, 4, 4))
        return WASI_EFAULT;
    uint32_t newfd;
    if ((rc = alloc_fd(h, &newfd)))
        return rc;

    int excl = (oflags & WASI_O_CREAT) && (oflags & WASI_O_EXCL);
    int follow = (dirflags & WASI_LOOKUP_SYMLINK_FOLLOW) && !excl;
    struct at a;
    if ((rc = resolve_at(h, fd, 0, path, len, follow, &a)))
        return rc;
    const uint64_t wants_write = WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE |
                                 WASI_RIGHT_FD_FILESTAT_SET_SIZE;
    struct wf_wasi_fd nf;
    memset(&nf, 0, sizeof(nf));
    nf.host_fd = -1;
    nf.fdflags = (uint16_t)fdflags;

    if (!a.host) {
        struct wf_vfs_node *n = at_node(&a);
        if (!a.r.exists) {
            if (!(oflags & WASI_O_CREAT)) { rc = WASI_ENOENT; goto out; }
            if ((oflags & WASI_O_DIRECTORY) || a.r.trailing_slash) { rc = WASI_EISDIR; goto out; }
            rc = wf_vfs_create(&h->vfs, (struct wf_vfs_node *)a.r.dir, a.r.name,
                               a.r.namelen, WF_VFS_FILE, NULL, 0, &n);
            if (rc)
                goto out;
        } else {
            if (excl) { rc = WASI_EEXIST; goto out; }
            if (n->type == WF_VFS_SYMLINK) { rc = WASI_ELOOP; goto out; }
            if ((oflags & WASI_O_DIRECTORY) && n->type != WF_VFS_DIR) { rc = WASI_ENOTDIR; goto out; }
            if (n->type == WF_VFS_DIR && ((base & wants_write) || (oflags & WASI_O_TRUNC))) {
                rc = WASI_EISDIR;
                goto out;
            }
            if (n->readonly && ((base & wants_write) || (oflags & WASI_O_TRUNC))) {
                rc = WASI_EROFS;
                goto out;
            }
            if ((oflags & WASI_O_TRUNC) && (rc = wf_vfs_truncate(&h->vfs, n, 0)))
                goto out;
        }
        nf.kind = WF_FD_VFS;
        nf.node = n;
        nf.filetype = wf_wasi_vfs_filetype(n);
        uint64_t mask = n->type == WF_VFS_DIR ? WASI_RIGHTS_DIR : WASI_RIGHTS_FILE;
        if (n->readonly)
            mask &= ~WASI_RIGHTS_WRITE;
        nf.rights = base & mask;
        nf.inheriting = inh;
        nf.depth = d->depth + a.r.depth + (a.r.namelen ? 1 : 0);
        wf_vfs_ref(n);
    } else {
        if (d->host_readonly && ((base & wants_write) || (oflags & (WASI_O_TRUNC | WASI_O_CREAT)))) {
            rc = WASI_EROFS;
            goto out;
        }
        int fl = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
        int rd = (base & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR)) != 0;
        int wr = (base & wants_write) != 0;
        if (a.r.exists && a.r.kind == WF_VFS_DIR)
            fl |= O_RDONLY | O_DIRECTORY;
        else
            fl |= wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
        if (oflags & WASI_O_CREAT) fl |= O_CREAT;
        if (excl) fl |= O_EXCL;
        if (oflags & WASI_O_TRUNC) fl |= O_TRUNC;
        if (oflags & WASI_O_DIRECTORY) fl |= O_DIRECTORY;
        if (fdflags & WASI_FDFLAG_APPEND) fl |= O_APPEND;
        if (a.r.exists && a.r.kind == WF_VFS_DIR && wr) { rc = WASI_EISDIR; goto out; }
        int hfd = openat(host_dirfd(&a), host_name(&a), fl, 0666);
        if (hfd < 0) { rc = host_err(); goto out; }
        struct stat st;
        if (fstat(hfd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
            close(hfd);
            rc = WASI_EACCES;   /* devices, fifos, sockets stay out */
            goto out;
        }
        if (!(fdflags & WASI_FDFLAG_NONBLOCK))
            fcntl(hfd, F_SETFL, fcntl(hfd, F_GETFL) & ~O_NONBLOCK);
        int isdir = S_ISDIR(st.st_mode);
        nf.kind = isdir ? WF_FD_HOSTDIR : WF_FD_HOSTFILE;
        nf.host_fd = hfd;
        nf.host_readonly = d->host_readonly;
        nf.filetype = isdir ? WASI_FILETYPE_DIRECTORY : WASI_FILETYPE_REGULAR_FILE;
        uint64_t mask = isdir ? WASI_RIGHTS_DIR : WASI_RIGHTS_FILE;
        if (d->host_readonly)
            mask &= ~WASI_RIGHTS_WRITE;
        if (!isdir && !rd)
            mask &= ~WASI_RIGHT_FD_READ;
        if (!isdir && !wr)
            mask &= ~WASI_RIGHT_FD_WRITE;
        nf.rights = base & mask;
        nf.inheriting = inh;
        nf.depth = d->depth + a.r.depth + (a.r.namelen ? 1 : 0);
    }
    h->fds[newfd] = nf;
    uint8_t *p = wf_wasi_mem_aligned(h, out, 4, 4);
    wf_put_u32(p, newfd);
    rc = 0;
out:
    at_done(&a);
    return rc;
}

/* ------------------------------------------------------ other path ops */

int wf_wasi_path_create_directory(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len)
{
    struct at a;
    int rc = resolve_at(h, fd, WASI_RIGHT_PATH_CREATE_DIRECTORY, path, len, 0, &a);
    if (rc)
        return rc;
    if (a.r.exists || a.r.namelen == 0)
        rc = WASI_EEXIST;
    else if (a.host)
        rc = a.fd->host_readonly ? WASI_EROFS
           : mkdirat(host_dirfd(&a), a.r.name, 0777) < 0 ? host_err() : 0;
    else {
        struct wf_vfs_node *n;
        rc = wf_vfs_create(&h->vfs, (struct wf_vfs_node *)a.r.dir, a.r.name,
                           a.r.namelen, WF_VFS_DIR, NULL, 0, &n);
    }
    at_done(&a);
    return rc;
}

int wf_wasi_path_filestat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint32_t out)
{
    if (flags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW)
        return WASI_EINVAL;
    uint8_t *p = wf_wasi_mem_aligned(h, out, WASI_FILESTAT_SIZE, 8);
    if (!p)
        return WASI_EFAULT;
    struct at a;
    int rc = resolve_existing_at(h, fd, WASI_RIGHT_PATH_FILESTAT_GET, path, len,
                                 flags & WASI_LOOKUP_SYMLINK_FOLLOW, &a);
    if (rc)
        return rc;
    if (a.host) {
        struct stat st;
        if (fstatat(host_dirfd(&a), a.r.namelen ? a.r.name : "", &st,
                    AT_SYMLINK_NOFOLLOW | (a.r.namelen ? 0 : AT_EMPTY_PATH)) < 0)
            rc = host_err();
        else
            wf_wasi_put_filestat_host(wf_wasi_mem(h, out, WASI_FILESTAT_SIZE), &st);
    } else {
        wf_wasi_put_filestat_vfs(wf_wasi_mem(h, out, WASI_FILESTAT_SIZE), at_node(&a));
    }
    at_done(&a);
    return rc;
}

int wf_wasi_path_filestat_set_times(struct wf_wasi_host *h, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint64_t atim, uint64_t mtim, uint32_t fst)
{
    if (flags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW)
        return WASI_EINVAL;
    struct at a;
    int rc = resolve_existing_at(h, fd, WASI_RIGHT_PATH_FILESTAT_SET_TIMES, path, len,
                                 flags & WASI_LOOKUP_SYMLINK_FOLLOW, &a);
    if (rc)
        return rc;
    if (a.host) {
        struct timespec ts[2];
        if (!(rc = wf_wasi_host_times(atim, mtim, fst, ts)))
            rc = a.fd->host_readonly ? WASI_EROFS
               : utimensat(host_dirfd(&a), host_name(&a), ts, AT_SYMLINK_NOFOLLOW) < 0 ? host_err() : 0;
    } else {
        rc = wf_wasi_set_times_vfs(at_node(&a), atim, mtim, fst);
    }
    at_done(&a);
    return rc;
}

int wf_wasi_path_link(struct wf_wasi_host *h, uint32_t ofd, uint32_t oflags, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen)
{
    if (oflags & ~(uint32_t)WASI_LOOKUP_SYMLINK_FOLLOW)
        return WASI_EINVAL;
    struct at a, b;
    int rc = resolve_at(h, ofd, WASI_RIGHT_PATH_LINK_SOURCE, opath, olen,
                        oflags & WASI_LOOKUP_SYMLINK_FOLLOW, &a);
    if (rc)
        return rc;
    if ((rc = resolve_at(h, nfd, WASI_RIGHT_PATH_LINK_TARGET, npath, nlen, 0, &b))) {
        at_done(&a);
        return rc;
    }
    if (!a.r.exists)
        rc = WASI_ENOENT;
    else if (b.r.exists || b.r.namelen == 0)
        rc = WASI_EEXIST;
    else if (a.r.namelen == 0 || a.r.kind == WF_VFS_DIR)
        rc = WASI_EPERM;
    else if (a.host != b.host)
        rc = WASI_EXDEV;
    else if (a.host)
        rc = b.fd->host_readonly ? WASI_EROFS
           : linkat(host_dirfd(&a), a.r.name, host_dirfd(&b), b.r.name, 0) < 0 ? host_err() : 0;
    else
        rc = wf_vfs_link(&h->vfs, at_node(&a), (struct wf_vfs_node *)b.r.dir,
                         b.r.name, b.r.namelen);
    at_done(&b);
    at_done(&a);
    return rc;
}

int wf_wasi_path_readlink(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len, uint32_t buf, uint32_t buflen, uint32_t out)
{
    uint8_t *dst = wf_wasi_mem(h, buf, buflen);
    if (!dst || !wf_wasi_mem_aligned(h, out, 4, 4))
        return WASI_EFAULT;
    struct at a;
    int rc = resolve_existing_at(h, fd, WASI_RIGHT_PATH_READLINK, path, len, 0, &a);
    if (rc)
        return rc;
    size_t n = 0;
    if (a.r.kind != WF_VFS_SYMLINK || a.r.namelen == 0) {
        rc = WASI_EINVAL;
    } else if (a.host) {
        char tmp[WF_VFS_PATH_MAX + 1];
        ssize_t r = readlinkat(host_dirfd(&a), a.r.name, tmp, sizeof(tmp));
        if (r < 0) {
            rc = host_err();
        } else {
            n = (size_t)r < buflen ? (size_t)r : buflen;
            memcpy(dst, tmp, n);
        }
    } else {
        const struct wf_vfs_node *l = at_node(&a);
        n = l->size < buflen ? (size_t)l->size : buflen;
        memcpy(dst, l->data, n);
    }
    at_done(&a);
    if (rc)
        return rc;
    wf_put_u32(wf_wasi_mem(h, out, 4), (uint32_t)n);
    return 0;
}

static int remove_common(struct wf_wasi_host *h, uint32_t fd, uint32_t path,
                         uint32_t len, int want_dir)
{
    struct at a;
    int rc = resolve_at(h, fd, want_dir ? WASI_RIGHT_PATH_REMOVE_DIRECTORY
                                        : WASI_RIGHT_PATH_UNLINK_FILE,
                        path, len, 0, &a);
    if (rc)
        return rc;
    if (a.r.namelen == 0)
        rc = want_dir ? WASI_EBUSY : WASI_EISDIR;
    else if (!a.r.exists)
        rc = WASI_ENOENT;
    else if (!want_dir && a.r.trailing_slash)
        rc = a.r.kind == WF_VFS_DIR ? WASI_EISDIR : WASI_ENOTDIR;
    else if (a.host)
        rc = a.fd->host_readonly ? WASI_EROFS
           : unlinkat(host_dirfd(&a), a.r.name, want_dir ? AT_REMOVEDIR : 0) < 0 ? host_err() : 0;
    else
        rc = wf_vfs_remove(&h->vfs, (struct wf_vfs_node *)a.r.dir, a.r.name,
                           a.r.namelen, want_dir);
    if (rc == WASI_EISDIR && !want_dir && a.host)
        rc = WASI_EISDIR;
    at_done(&a);
    return rc;
}

int wf_wasi_path_remove_directory(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len)
{
    return remove_common(h, fd, path, len, 1);
}

int wf_wasi_path_unlink_file(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len)
{
    return remove_common(h, fd, path, len, 0);
}

int wf_wasi_path_rename(struct wf_wasi_host *h, uint32_t fd, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen)
{
    struct at a, b;
    int rc = resolve_at(h, fd, WASI_RIGHT_PATH_RENAME_SOURCE, opath, olen, 0, &a);
    if (rc)
        return rc;
    if ((rc = resolve_at(h, nfd, WASI_RIGHT_PATH_RENAME_TARGET, npath, nlen, 0, &b))) {
        at_done(&a);
        return rc;
    }
    if (a.r.namelen == 0 || b.r.namelen == 0)
        rc = WASI_EBUSY;
    else if (!a.r.exists)
        rc = WASI_ENOENT;
    else if (b.r.trailing_slash && a.r.kind != WF_VFS_DIR)
        rc = WASI_ENOTDIR;
    else if (a.host != b.host)
        rc = WASI_EXDEV;
    else if (a.host)
        rc = (a.fd->host_readonly || b.fd->host_readonly) ? WASI_EROFS
           : renameat(host_dirfd(&a), a.r.name, host_dirfd(&b), b.r.name) < 0 ? host_err() : 0;
    else
        rc = wf_vfs_rename(&h->vfs, (struct wf_vfs_node *)a.r.dir, a.r.name, a.r.namelen,
                           (struct wf_vfs_node *)b.r.dir, b.r.name, b.r.namelen);
    at_done(&b);
    at_done(&a);
    return rc;
}

/* A symlink target must be relative and must not climb above the
 * preopened directory from where the link sits (`depth` levels below it). */
static int target_confined(const char *t, size_t n, uint32_t depth)
{
    if (n == 0)
        return WASI_ENOENT;
    if (t[0] == '/')
        return WASI_ENOTCAPABLE;
    if (memchr(t, '\0', n))
        return WASI_EINVAL;
    int64_t level = depth;
    size_t i = 0;
    while (i < n) {
        size_t s = i;
        while (i < n && t[i] != '/')
            i++;
        size_t l = i - s;
        if (l == 2 && t[s] == '.' && t[s + 1] == '.') {
            if (--level < 0)
                return WASI_ENOTCAPABLE;
        } else if (l > 0 && !(l == 1 && t[s] == '.')) {
            level++;
        }
        i++;
    }
    return 0;
}

int wf_wasi_path_symlink(struct wf_wasi_host *h, uint32_t opath, uint32_t olen, uint32_t fd, uint32_t npath, uint32_t nlen)
{
    const char *target = (const char *)wf_wasi_mem(h, opath, olen);
    if (!target)
        return WASI_EFAULT;
    if (olen > WF_VFS_PATH_MAX)
        return WASI_ENAMETOOLONG;
    struct at a;
    int rc = resolve_at(h, fd, WASI_RIGHT_PATH_SYMLINK, npath, nlen, 0, &a);
    if (rc)
        return rc;
    if (a.r.exists || a.r.namelen == 0)
        rc = WASI_EEXIST;
    else if ((rc = target_confined(target, olen, a.fd->depth + a.r.depth)))
        ;
    else if (a.host) {
        char t[WF_VFS_PATH_MAX + 1];
        memcpy(t, target, olen);
        t[olen] = '\0';
        rc = a.fd->host_readonly ? WASI_EROFS
           : symlinkat(t, host_dirfd(&a), a.r.name) < 0 ? host_err() : 0;
    } else {
        struct wf_vfs_node *n;
        rc = wf_vfs_create(&h->vfs, (struct wf_vfs_node *)a.r.dir, a.r.name,
                           a.r.namelen, WF_VFS_SYMLINK, target, olen, &n);
    }
    at_done(&a);
    return rc;
}

/* ------------------------------------------------- mapped host folders */

static int name_copy(const char *name, size_t len, char out[WF_VFS_NAME_MAX + 1])
{
    if (len > WF_VFS_NAME_MAX)
        return WASI_ENAMETOOLONG;
    memcpy(out, name, len);
    out[len] = '\0';
    return 0;
}

static int hd_kind(void *ctx, uintptr_t dir, const char *name, size_t len)
{
    (void)ctx;
    char n[WF_VFS_NAME_MAX + 1];
    if (name_copy(name, len, n))
        return -WASI_ENAMETOOLONG;
    struct stat st;
    if (fstatat((int)dir, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -wf_wasi_errno_from_host(errno);
    if (S_ISDIR(st.st_mode)) return WF_VFS_DIR;
    if (S_ISREG(st.st_mode)) return WF_VFS_FILE;
    if (S_ISLNK(st.st_mode)) return WF_VFS_SYMLINK;
    return 0;
}

static int hd_open_dir(void *ctx, uintptr_t dir, const char *name, size_t len,
                       uintptr_t *out)
{
    (void)ctx;
    char n[WF_VFS_NAME_MAX + 1];
    if (name_copy(name, len, n))
        return WASI_ENAMETOOLONG;
    int fd = openat((int)dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return wf_wasi_errno_from_host(errno);
    *out = (uintptr_t)fd;
    return 0;
}

static int hd_readlink(void *ctx, uintptr_t dir, const char *name, size_t len,
                       char *buf, size_t cap, size_t *outlen)
{
    (void)ctx;
    char n[WF_VFS_NAME_MAX + 1];
    if (name_copy(name, len, n))
        return WASI_ENAMETOOLONG;
    ssize_t r = readlinkat((int)dir, n, buf, cap);
    if (r < 0)
        return wf_wasi_errno_from_host(errno);
    if ((size_t)r >= cap)
        return WASI_ENAMETOOLONG;
    *outlen = (size_t)r;
    return 0;
}

static void hd_release(void *ctx, uintptr_t h)
{
    (void)ctx;
    close((int)h);
}

const struct wf_path_ops wf_hostdir_path_ops = {
    .kind = hd_kind,
    .open_dir = hd_open_dir,
    .readlink = hd_readlink,
    .release = hd_release,
};

int wf_wasi_hostdir_open_preopen(const char *host_path, int *fd, char *err,
                                 size_t errlen)
{
    int d = open(host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: %s", host_path, strerror(errno));
        if (err && errlen)
            snprintf(err, errlen, "%s", msg);
        return -1;
    }
    *fd = d;
    return 0;
}

/* Host directories list through a fresh handle each call; the cookie is the
 * index of the next entry, so it survives between calls. */
int wf_wasi_readdir_host(struct wf_wasi_host *h, struct wf_wasi_fd *f, uint8_t *p,
                         uint32_t len, uint64_t cookie, uint32_t *used_out);
int wf_wasi_readdir_host(struct wf_wasi_host *h, struct wf_wasi_fd *f, uint8_t *p,
                         uint32_t len, uint64_t cookie, uint32_t *used_out)
{
    (void)h;
    int dfd = openat(f->host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return wf_wasi_errno_from_host(errno);
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        close(dfd);
        return WASI_ENOMEM;
    }
    uint64_t idx = 0;
    uint32_t used = 0;
    struct dirent *e;
    while (used < len && (e = readdir(dir)) != NULL) {
        if (idx++ < cookie)
            continue;
        uint32_t namelen = (uint32_t)strlen(e->d_name);
        uint8_t ent[WASI_DIRENT_SIZE];
        memset(ent, 0, sizeof(ent));
        wf_put_u64(ent, idx);
        wf_put_u64(ent + 8, e->d_ino);
        wf_put_u32(ent + 16, namelen);
        ent[20] = e->d_type == DT_DIR ? WASI_FILETYPE_DIRECTORY
                : e->d_type == DT_REG ? WASI_FILETYPE_REGULAR_FILE
                : e->d_type == DT_LNK ? WASI_FILETYPE_SYMBOLIC_LINK
                                      : WASI_FILETYPE_UNKNOWN;
        uint32_t take = len - used < WASI_DIRENT_SIZE ? len - used : WASI_DIRENT_SIZE;
        memcpy(p + used, ent, take);
        used += take;
        take = len - used < namelen ? len - used : namelen;
        memcpy(p + used, e->d_name, take);
        used += take;
    }
    closedir(dir);
    *used_out = used;
    return 0;
}
