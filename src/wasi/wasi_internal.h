/* wasi_internal.h - the host's state shared by its files: the descriptor
 * table, the output streams and the one checked accessor for guest memory.
 *
 * Not a public header: the sandbox runner uses wasi_host.h only. Unit tests
 * include it to call the WASI functions directly on a fake memory. */
#ifndef WF_WASI_INTERNAL_H
#define WF_WASI_INTERNAL_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "wasi/vfs.h"
#include "wasi/wasi_abi.h"
#include "wasi/wasi_host.h"
#include "wasi/wasi_path.h"
#include "wasm-rt.h"

enum wf_fd_kind {
    WF_FD_FREE = 0,
    WF_FD_STDIN,      /* bytes from the config, or a host fd */
    WF_FD_OUTPUT,     /* stdout / stderr: capped capture or host fd */
    WF_FD_VFS,        /* a node of the synthetic tree (file or directory) */
    WF_FD_HOST,       /* an extra host descriptor (the bridge) */
    WF_FD_HOOK,       /* served by embedder callbacks */
    WF_FD_HOSTDIR,    /* a directory of a mapped host folder */
    WF_FD_HOSTFILE,   /* a file of a mapped host folder */
};

struct wf_wasi_stream {
    int host_fd;          /* >= 0: pass through (capped); else capture */
    char *buf;
    size_t len, bufcap;
    size_t cap;           /* bytes allowed through */
    size_t passed;
    int flooded;
    int fd;                       /* 1 or 2, for on_flood */
    void (*on_flood)(void *ctx, int fd);
    void *flood_ctx;
};

struct wf_wasi_fd {
    uint8_t kind;         /* enum wf_fd_kind */
    uint8_t filetype;     /* WASI_FILETYPE_* */
    uint16_t fdflags;
    uint64_t rights, inheriting;
    uint64_t offset;
    struct wf_vfs_node *node;      /* WF_FD_VFS */
    int host_fd;                   /* HOST, HOSTDIR, HOSTFILE, STDIN */
    int host_readonly;             /* HOSTDIR/HOSTFILE from a read-only map */
    struct wf_wasi_stream *stream; /* OUTPUT */
    const struct wf_wasi_hook_fd *hook;
    const char *preopen;           /* preopened directory name, else NULL */
    uint32_t depth;                /* directories: levels below the preopen */
};

struct wf_wasi_host;

/* The import object passed to the generated module (wasm2c 1.0.32 names it
 * after the module: struct Z_wasi_snapshot_preview1_instance_t). */
struct Z_wasi_snapshot_preview1_instance_t {
    struct wf_wasi_host *host;
};

struct wf_wasi_host {
    struct Z_wasi_snapshot_preview1_instance_t imports;
    wasm_rt_memory_t *mem;         /* the guest's memory; re-read each access */

    char *argbuf, *envbuf;         /* NUL-separated strings */
    size_t argbuf_len, envbuf_len;
    uint32_t argc, envc;

    struct wf_vfs vfs;
    int have_vfs;
    struct wf_wasi_stream out, err;
    const uint8_t *stdin_data;
    size_t stdin_len, stdin_pos;
    uint8_t *stdin_copy;

    struct wf_wasi_fd fds[WF_WASI_MAX_FDS];

    struct wf_wasi_extra_fd *extra;
    size_t n_extra;
    struct wf_wasi_hook_fd *hooks;
    size_t n_hooks;
    char **names;                  /* copies of preopen / hook names */
    size_t n_names;

    uint32_t max_pages;
    int ran;
    int exit_code;
    jmp_buf *exit_jmp;             /* where proc_exit unwinds to */
    /* Called by proc_exit before it unwinds, with the guest's code; it may
     * end the process itself (a forked run has nothing to tear down). */
    void (*on_exit)(struct wf_wasi_host *h, uint32_t code);
};

/* The one accessor for guest memory: a host pointer to [off, off + len) or
 * NULL when any byte of it lies outside the current memory. Reads the base
 * and size afresh every time, so a memory.grow can never leave a stale base
 * behind. */
static inline uint8_t *wf_wasi_mem(const struct wf_wasi_host *h, uint64_t off,
                                   uint64_t len)
{
    const wasm_rt_memory_t *m = h->mem;
    if (!m)
        return NULL;
    uint64_t size = m->size;
    if (off > size || len > size - off)
        return NULL;
    return m->data + off;
}

/* Same, for a structure that must be aligned as the ABI says. */
static inline uint8_t *wf_wasi_mem_aligned(const struct wf_wasi_host *h,
                                           uint64_t off, uint64_t len,
                                           uint32_t align)
{
    if (off & (align - 1))
        return NULL;
    return wf_wasi_mem(h, off, len);
}

static inline void wf_put_u16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void wf_put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wf_put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t wf_get_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t wf_get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t wf_get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* The descriptor lookup: range, presence and rights in one place. Returns 0
 * and *out, or WASI_EBADF / WASI_ENOTCAPABLE. */
int wf_wasi_fd_get(struct wf_wasi_host *h, uint32_t fd, uint64_t need,
                   struct wf_wasi_fd **out);

/* Host state set-up without a module (unit tests give a fake memory). */
int wf_wasi_host_setup_memory(struct wf_wasi_host *h, wasm_rt_memory_t *mem);

/* Mapped host folders (wasi_fs.c). */
int wf_wasi_hostdir_open_preopen(const char *host_path, int *fd, char *err,
                                 size_t errlen);
extern const struct wf_path_ops wf_hostdir_path_ops;
int wf_wasi_errno_from_host(int e);

/* The WASI functions, callable directly (tests, fuzzers). Each returns a
 * WASI errno; wf_wasi_proc_exit does not return. */
int wf_wasi_args_get(struct wf_wasi_host *h, uint32_t argv, uint32_t buf);
int wf_wasi_args_sizes_get(struct wf_wasi_host *h, uint32_t argc_ptr, uint32_t size_ptr);
int wf_wasi_environ_get(struct wf_wasi_host *h, uint32_t env, uint32_t buf);
int wf_wasi_environ_sizes_get(struct wf_wasi_host *h, uint32_t count_ptr, uint32_t size_ptr);
int wf_wasi_clock_res_get(struct wf_wasi_host *h, uint32_t id, uint32_t out);
int wf_wasi_clock_time_get(struct wf_wasi_host *h, uint32_t id, uint64_t precision, uint32_t out);
int wf_wasi_fd_advise(struct wf_wasi_host *h, uint32_t fd, uint64_t off, uint64_t len, uint32_t advice);
int wf_wasi_fd_allocate(struct wf_wasi_host *h, uint32_t fd, uint64_t off, uint64_t len);
int wf_wasi_fd_close(struct wf_wasi_host *h, uint32_t fd);
int wf_wasi_fd_datasync(struct wf_wasi_host *h, uint32_t fd);
int wf_wasi_fd_fdstat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t out);
int wf_wasi_fd_fdstat_set_flags(struct wf_wasi_host *h, uint32_t fd, uint32_t flags);
int wf_wasi_fd_fdstat_set_rights(struct wf_wasi_host *h, uint32_t fd, uint64_t base, uint64_t inh);
int wf_wasi_fd_filestat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t out);
int wf_wasi_fd_filestat_set_size(struct wf_wasi_host *h, uint32_t fd, uint64_t size);
int wf_wasi_fd_filestat_set_times(struct wf_wasi_host *h, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t fst);
int wf_wasi_fd_pread(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out);
int wf_wasi_fd_prestat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t out);
int wf_wasi_fd_prestat_dir_name(struct wf_wasi_host *h, uint32_t fd, uint32_t buf, uint32_t len);
int wf_wasi_fd_pwrite(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out);
int wf_wasi_fd_read(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out);
int wf_wasi_fd_readdir(struct wf_wasi_host *h, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t out);
int wf_wasi_fd_renumber(struct wf_wasi_host *h, uint32_t from, uint32_t to);
int wf_wasi_fd_seek(struct wf_wasi_host *h, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out);
int wf_wasi_fd_sync(struct wf_wasi_host *h, uint32_t fd);
int wf_wasi_fd_tell(struct wf_wasi_host *h, uint32_t fd, uint32_t out);
int wf_wasi_fd_write(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out);
int wf_wasi_path_create_directory(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len);
int wf_wasi_path_filestat_get(struct wf_wasi_host *h, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint32_t out);
int wf_wasi_path_filestat_set_times(struct wf_wasi_host *h, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint64_t atim, uint64_t mtim, uint32_t fst);
int wf_wasi_path_link(struct wf_wasi_host *h, uint32_t ofd, uint32_t oflags, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen);
int wf_wasi_path_open(struct wf_wasi_host *h, uint32_t fd, uint32_t dirflags, uint32_t path, uint32_t len, uint32_t oflags, uint64_t base, uint64_t inh, uint32_t fdflags, uint32_t out);
int wf_wasi_path_readlink(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len, uint32_t buf, uint32_t buflen, uint32_t out);
int wf_wasi_path_remove_directory(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len);
int wf_wasi_path_rename(struct wf_wasi_host *h, uint32_t fd, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen);
int wf_wasi_path_symlink(struct wf_wasi_host *h, uint32_t opath, uint32_t olen, uint32_t fd, uint32_t npath, uint32_t nlen);
int wf_wasi_path_unlink_file(struct wf_wasi_host *h, uint32_t fd, uint32_t path, uint32_t len);
int wf_wasi_poll_oneoff(struct wf_wasi_host *h, uint32_t in, uint32_t out, uint32_t n, uint32_t nout);
int wf_wasi_proc_raise(struct wf_wasi_host *h, uint32_t sig);
int wf_wasi_sched_yield(struct wf_wasi_host *h);
int wf_wasi_random_get(struct wf_wasi_host *h, uint32_t buf, uint32_t len);
int wf_wasi_sock_accept(struct wf_wasi_host *h, uint32_t fd, uint32_t flags, uint32_t out);
int wf_wasi_sock_recv(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out, uint32_t oflags);
int wf_wasi_sock_send(struct wf_wasi_host *h, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out);
int wf_wasi_sock_shutdown(struct wf_wasi_host *h, uint32_t fd, uint32_t how);
void wf_wasi_proc_exit(struct wf_wasi_host *h, uint32_t code) __attribute__((noreturn));

/* Between the host's own files. */

/* wasi_host.c: called at the entry and exit of every WASI import
 * (wasi_imports.c): refuses to run host code without stack to spare and
 * marks the host as running, so a fault in host code is never taken for a
 * guest trap. */
void wf_wasi_enter(void);
void wf_wasi_leave(void);

/* wasi_fd.c: closes every descriptor of the table (wf_wasi_host_destroy). */
void wf_wasi_fd_release_all(struct wf_wasi_host *h);
/* wasi_fd.c, also used by the path functions (wasi_fs.c): a node's WASI
 * file type; a filestat (64 bytes at p) from a node or a host stat; the
 * fst_flags of a set-times call applied to a node (a WASI errno), or turned
 * into the two timespecs of utimensat (a WASI errno). */
uint8_t wf_wasi_vfs_filetype(const struct wf_vfs_node *n);
void wf_wasi_put_filestat_vfs(uint8_t *p, const struct wf_vfs_node *n);
void wf_wasi_put_filestat_host(uint8_t *p, const struct stat *st);
int wf_wasi_set_times_vfs(struct wf_vfs_node *n, uint64_t atim, uint64_t mtim, uint32_t fst);
int wf_wasi_host_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);

#endif
