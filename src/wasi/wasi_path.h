/* wasi_path.h - resolution of guest paths relative to a directory
 * capability, the same algorithm for the synthetic tree and for a mapped host
 * folder.
 *
 * The rules (capability semantics, as in WAMR's libc-wasi): the path is
 * relative to the start directory and can never leave it. A stack of
 * directory handles is kept from the start; ".." pops it and fails with
 * ENOTCAPABLE at the bottom; absolute paths and absolute symlink targets fail
 * with ENOTCAPABLE; symlinks are expanded here, at most WF_PATH_MAX_HOPS
 * times (ELOOP), never by the back end. Back ends only look up one name in
 * one directory without following anything. Errors are positive WASI
 * errnos. */
#ifndef WF_WASI_PATH_H
#define WF_WASI_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "wasi/vfs.h"

#define WF_PATH_MAX_HOPS 32
#define WF_PATH_MAX_DEPTH 256

/* The back end. Handles are opaque (a node pointer, a host dirfd).
 * `kind` answers WF_VFS_DIR / WF_VFS_FILE / WF_VFS_SYMLINK, 0 for any other
 * existing object, or a negative WASI errno (-WASI_ENOENT when absent). */
struct wf_path_ops {
    int (*kind)(void *ctx, uintptr_t dir, const char *name, size_t len);
    int (*open_dir)(void *ctx, uintptr_t dir, const char *name, size_t len,
                    uintptr_t *out);
    int (*readlink)(void *ctx, uintptr_t dir, const char *name, size_t len,
                    char *buf, size_t cap, size_t *outlen);
    void (*release)(void *ctx, uintptr_t h);   /* may be NULL */
};

struct wf_path_result {
    uintptr_t dir;       /* directory holding `name` */
    int dir_owned;       /* dir must be released (it is not the start) */
    char name[WF_VFS_NAME_MAX + 1];
    size_t namelen;      /* 0: the path names `dir` itself ("." and the like) */
    int kind;            /* kind of name as above; 0 with exists == 0 */
    int exists;
    int trailing_slash;  /* the path ended in '/' (the object must be a dir) */
    uint32_t depth;      /* levels of `dir` below the start directory */
};

/* follow: expand a symlink in the last component too. A trailing slash
 * always expands it (and then checks the result like any other path). */
int wf_path_resolve(const struct wf_path_ops *ops, void *ctx, uintptr_t start,
                    const char *path, size_t len, int follow,
                    struct wf_path_result *res);
void wf_path_release(const struct wf_path_ops *ops, void *ctx,
                     struct wf_path_result *res);

/* The synthetic tree's back end (handles are struct wf_vfs_node *). */
extern const struct wf_path_ops wf_vfs_path_ops;

#endif
