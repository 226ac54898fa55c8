/* wasi_path.c - guest path resolution confined to a directory capability;
 * the one place where "..", symlinks and absolute paths are interpreted. */
#include "wasi/wasi_path.h"

#include <string.h>

#include "wasi/wasi_abi.h"

/* The path still to walk lives in buf[pos, end). Symlink expansion rewrites
 * it as target + "/" + rest in the other half of a double buffer. */
struct walk {
    char buf[2][WF_VFS_PATH_MAX + 2];
    int cur;
    size_t pos, end;
};

static int splice(struct walk *w, const char *target, size_t tlen,
                  const char *rest, size_t rlen)
{
    if (tlen == 0)
        return WASI_ENOENT;
    if (target[0] == '/')
        return WASI_ENOTCAPABLE;
    if (memchr(target, '\0', tlen))
        return WASI_EINVAL;
    size_t need = tlen + (rlen ? 1 + rlen : 0);
    if (need > WF_VFS_PATH_MAX)
        return WASI_ENAMETOOLONG;
    char *dst = w->buf[!w->cur];
    memcpy(dst, target, tlen);
    if (rlen) {
        dst[tlen] = '/';
        memmove(dst + tlen + 1, rest, rlen);
    }
    w->cur = !w->cur;
    w->pos = 0;
    w->end = need;
    return 0;
}

int wf_path_resolve(const struct wf_path_ops *ops, void *ctx, uintptr_t start,
                    const char *path, size_t len, int follow,
                    struct wf_path_result *res)
{
    static __thread struct walk w;   /* 8 KiB: keep it off small stacks */
    uintptr_t stack[WF_PATH_MAX_DEPTH];
    size_t depth = 1;
    int hops = 0, rc = 0;

    memset(res, 0, sizeof(*res));
    if (len == 0)
        return WASI_ENOENT;
    if (len > WF_VFS_PATH_MAX)
        return WASI_ENAMETOOLONG;
    if (memchr(path, '\0', len))
        return WASI_EINVAL;
    if (path[0] == '/')
        return WASI_ENOTCAPABLE;
    w.cur = 0;
    memcpy(w.buf[0], path, len);
    w.pos = 0;
    w.end = len;
    stack[0] = start;

    for (;;) {
        const char *b = w.buf[w.cur];
        int had_slash = 0;
        while (w.pos < w.end && b[w.pos] == '/') {
            w.pos++;
            had_slash = 1;
        }
        if (w.pos == w.end) {
            /* The path named the directory on top ("a/.", "a/..", "."). */
            res->namelen = 0;
            res->kind = WF_VFS_DIR;
            res->exists = 1;
            res->trailing_slash = had_slash;
            break;
        }
        size_t s = w.pos;
        while (w.pos < w.end && b[w.pos] != '/')
            w.pos++;
        const char *c = b + s;
        size_t clen = w.pos - s;
        size_t q = w.pos;
        while (q < w.end && b[q] == '/')
            q++;
        int last = q == w.end;
        int trailing = last && q > w.pos;
        uintptr_t top = stack[depth - 1];

        if (clen == 1 && c[0] == '.')
            continue;
        if (clen == 2 && c[0] == '.' && c[1] == '.') {
            if (depth == 1) {
                rc = WASI_ENOTCAPABLE;
                goto fail;
            }
            if (ops->release)
                ops->release(ctx, stack[depth - 1]);
            depth--;
            continue;
        }
        if (clen > WF_VFS_NAME_MAX) {
            rc = WASI_ENAMETOOLONG;
            goto fail;
        }
        int k = ops->kind(ctx, top, c, clen);
        if (k == WF_VFS_SYMLINK && (!last || follow || trailing)) {
            char target[WF_VFS_PATH_MAX + 1];
            size_t tlen = 0;
            if (++hops > WF_PATH_MAX_HOPS) {
                rc = WASI_ELOOP;
                goto fail;
            }
            rc = ops->readlink(ctx, top, c, clen, target, sizeof(target), &tlen);
            if (rc)
                goto fail;
            /* A trailing slash stays: the link's target must be a directory. */
            size_t rpos = last ? (trailing ? q - 1 : q) : w.pos + 1;
            rc = splice(&w, target, tlen, b + rpos, w.end - rpos);
            if (rc)
                goto fail;
            continue;
        }
        if (last) {
            if (k < 0 && k != -WASI_ENOENT) {
                rc = -k;
                goto fail;
            }
            memcpy(res->name, c, clen);
            res->name[clen] = '\0';
            res->namelen = clen;
            res->exists = k >= 0;
            res->kind = k >= 0 ? k : 0;
            res->trailing_slash = trailing;
            if (trailing && res->exists && k != WF_VFS_DIR) {
                rc = WASI_ENOTDIR;
                goto fail;
            }
            break;
        }
        if (k < 0) {
            rc = -k;
            goto fail;
        }
        if (k != WF_VFS_DIR) {
            rc = WASI_ENOTDIR;
            goto fail;
        }
        if (depth == WF_PATH_MAX_DEPTH) {
            rc = WASI_ENAMETOOLONG;
            goto fail;
        }
        uintptr_t child;
        rc = ops->open_dir(ctx, top, c, clen, &child);
        if (rc)
            goto fail;
        stack[depth++] = child;
    }
    /* Keep the top; release everything between it and the start. */
    for (size_t i = 1; i + 1 < depth; i++)
        if (ops->release)
            ops->release(ctx, stack[i]);
    res->dir = stack[depth - 1];
    res->dir_owned = depth > 1;
    res->depth = (uint32_t)(depth - 1);
    return 0;
fail:
    for (size_t i = 1; i < depth; i++)
        if (ops->release)
            ops->release(ctx, stack[i]);
    memset(res, 0, sizeof(*res));
    return rc;
}

void wf_path_release(const struct wf_path_ops *ops, void *ctx,
                     struct wf_path_result *res)
{
    if (res->dir_owned && ops->release)
        ops->release(ctx, res->dir);
    res->dir_owned = 0;
}

/* ------------------------------------------------ synthetic tree back end */

static int vfs_kind(void *ctx, uintptr_t dir, const char *name, size_t len)
{
    (void)ctx;
    const struct wf_vfs_node *d = (const struct wf_vfs_node *)dir;
    if (d->type != WF_VFS_DIR)
        return -WASI_ENOTDIR;
    const struct wf_vfs_node *n = wf_vfs_lookup(d, name, len);
    return n ? n->type : -WASI_ENOENT;
}

static int vfs_open_dir(void *ctx, uintptr_t dir, const char *name, size_t len,
                        uintptr_t *out)
{
    (void)ctx;
    struct wf_vfs_node *n = wf_vfs_lookup((const struct wf_vfs_node *)dir, name, len);
    if (!n)
        return WASI_ENOENT;
    if (n->type != WF_VFS_DIR)
        return WASI_ENOTDIR;
    *out = (uintptr_t)n;
    return 0;
}

static int vfs_readlink(void *ctx, uintptr_t dir, const char *name, size_t len,
                        char *buf, size_t cap, size_t *outlen)
{
    (void)ctx;
    const struct wf_vfs_node *n = wf_vfs_lookup((const struct wf_vfs_node *)dir, name, len);
    if (!n)
        return WASI_ENOENT;
    if (n->type != WF_VFS_SYMLINK)
        return WASI_EINVAL;
    if (n->size > cap)
        return WASI_ENAMETOOLONG;
    memcpy(buf, n->data, (size_t)n->size);
    *outlen = (size_t)n->size;
    return 0;
}

const struct wf_path_ops wf_vfs_path_ops = {
    .kind = vfs_kind,
    .open_dir = vfs_open_dir,
    .readlink = vfs_readlink,
    .release = NULL,
};
