/* wasi_imports.c - the wasi_snapshot_preview1 imports as the generated
 * module calls them: each checks the stack, marks the host as running and
 * forwards to the wf_wasi_* function of the same name. */
#include "wasi/wasi_internal.h"

#define IMPORT(name) Z_wasi_snapshot_preview1Z_##name
typedef struct Z_wasi_snapshot_preview1_instance_t imports_t;

/* One import: SYM (written IMPORT(name), the form scripts/wasm/engine-for.sh
 * looks for) takes PARAMS and calls FN with ARGS. The wrappers only bracket
 * the call; every check of a guest pointer or length is in FN. The
 * signatures are checked against wasm2c's declarations by mk/engine.mk. */
#define FORWARD(SYM, FN, PARAMS, ARGS) \
    uint32_t SYM PARAMS; \
    uint32_t SYM PARAMS \
    { \
        wf_wasi_enter(); \
        uint32_t r = (uint32_t)FN ARGS; \
        wf_wasi_leave(); \
        return r; \
    }

FORWARD(IMPORT(args_get), wf_wasi_args_get, (imports_t *ctx, uint32_t argv, uint32_t buf), (ctx->host, argv, buf))
FORWARD(IMPORT(args_sizes_get), wf_wasi_args_sizes_get, (imports_t *ctx, uint32_t argc_ptr, uint32_t size_ptr), (ctx->host, argc_ptr, size_ptr))
FORWARD(IMPORT(environ_get), wf_wasi_environ_get, (imports_t *ctx, uint32_t env, uint32_t buf), (ctx->host, env, buf))
FORWARD(IMPORT(environ_sizes_get), wf_wasi_environ_sizes_get, (imports_t *ctx, uint32_t count_ptr, uint32_t size_ptr), (ctx->host, count_ptr, size_ptr))
FORWARD(IMPORT(clock_res_get), wf_wasi_clock_res_get, (imports_t *ctx, uint32_t id, uint32_t out), (ctx->host, id, out))
FORWARD(IMPORT(clock_time_get), wf_wasi_clock_time_get, (imports_t *ctx, uint32_t id, uint64_t precision, uint32_t out), (ctx->host, id, precision, out))
FORWARD(IMPORT(fd_advise), wf_wasi_fd_advise, (imports_t *ctx, uint32_t fd, uint64_t off, uint64_t len, uint32_t advice), (ctx->host, fd, off, len, advice))
FORWARD(IMPORT(fd_allocate), wf_wasi_fd_allocate, (imports_t *ctx, uint32_t fd, uint64_t off, uint64_t len), (ctx->host, fd, off, len))
FORWARD(IMPORT(fd_close), wf_wasi_fd_close, (imports_t *ctx, uint32_t fd), (ctx->host, fd))
FORWARD(IMPORT(fd_datasync), wf_wasi_fd_datasync, (imports_t *ctx, uint32_t fd), (ctx->host, fd))
FORWARD(IMPORT(fd_fdstat_get), wf_wasi_fd_fdstat_get, (imports_t *ctx, uint32_t fd, uint32_t out), (ctx->host, fd, out))
FORWARD(IMPORT(fd_fdstat_set_flags), wf_wasi_fd_fdstat_set_flags, (imports_t *ctx, uint32_t fd, uint32_t flags), (ctx->host, fd, flags))
FORWARD(IMPORT(fd_fdstat_set_rights), wf_wasi_fd_fdstat_set_rights, (imports_t *ctx, uint32_t fd, uint64_t base, uint64_t inh), (ctx->host, fd, base, inh))
FORWARD(IMPORT(fd_filestat_get), wf_wasi_fd_filestat_get, (imports_t *ctx, uint32_t fd, uint32_t out), (ctx->host, fd, out))
FORWARD(IMPORT(fd_filestat_set_size), wf_wasi_fd_filestat_set_size, (imports_t *ctx, uint32_t fd, uint64_t size), (ctx->host, fd, size))
FORWARD(IMPORT(fd_filestat_set_times), wf_wasi_fd_filestat_set_times, (imports_t *ctx, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t fst), (ctx->host, fd, atim, mtim, fst))
FORWARD(IMPORT(fd_pread), wf_wasi_fd_pread, (imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out), (ctx->host, fd, iovs, n, off, out))
FORWARD(IMPORT(fd_prestat_get), wf_wasi_fd_prestat_get, (imports_t *ctx, uint32_t fd, uint32_t out), (ctx->host, fd, out))
FORWARD(IMPORT(fd_prestat_dir_name), wf_wasi_fd_prestat_dir_name, (imports_t *ctx, uint32_t fd, uint32_t buf, uint32_t len), (ctx->host, fd, buf, len))
FORWARD(IMPORT(fd_pwrite), wf_wasi_fd_pwrite, (imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out), (ctx->host, fd, iovs, n, off, out))
FORWARD(IMPORT(fd_read), wf_wasi_fd_read, (imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out), (ctx->host, fd, iovs, n, out))
FORWARD(IMPORT(fd_readdir), wf_wasi_fd_readdir, (imports_t *ctx, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t out), (ctx->host, fd, buf, len, cookie, out))
FORWARD(IMPORT(fd_renumber), wf_wasi_fd_renumber, (imports_t *ctx, uint32_t from, uint32_t to), (ctx->host, from, to))
FORWARD(IMPORT(fd_seek), wf_wasi_fd_seek, (imports_t *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out), (ctx->host, fd, off, whence, out))
FORWARD(IMPORT(fd_sync), wf_wasi_fd_sync, (imports_t *ctx, uint32_t fd), (ctx->host, fd))
FORWARD(IMPORT(fd_tell), wf_wasi_fd_tell, (imports_t *ctx, uint32_t fd, uint32_t out), (ctx->host, fd, out))
FORWARD(IMPORT(fd_write), wf_wasi_fd_write, (imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out), (ctx->host, fd, iovs, n, out))
FORWARD(IMPORT(path_create_directory), wf_wasi_path_create_directory, (imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len), (ctx->host, fd, path, len))
FORWARD(IMPORT(path_filestat_get), wf_wasi_path_filestat_get, (imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint32_t out), (ctx->host, fd, flags, path, len, out))
FORWARD(IMPORT(path_filestat_set_times), wf_wasi_path_filestat_set_times, (imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint64_t atim, uint64_t mtim, uint32_t fst), (ctx->host, fd, flags, path, len, atim, mtim, fst))
FORWARD(IMPORT(path_link), wf_wasi_path_link, (imports_t *ctx, uint32_t ofd, uint32_t oflags, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen), (ctx->host, ofd, oflags, opath, olen, nfd, npath, nlen))
FORWARD(IMPORT(path_open), wf_wasi_path_open, (imports_t *ctx, uint32_t fd, uint32_t dirflags, uint32_t path, uint32_t len, uint32_t oflags, uint64_t base, uint64_t inh, uint32_t fdflags, uint32_t out), (ctx->host, fd, dirflags, path, len, oflags, base, inh, fdflags, out))
FORWARD(IMPORT(path_readlink), wf_wasi_path_readlink, (imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len, uint32_t buf, uint32_t buflen, uint32_t out), (ctx->host, fd, path, len, buf, buflen, out))
FORWARD(IMPORT(path_remove_directory), wf_wasi_path_remove_directory, (imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len), (ctx->host, fd, path, len))
FORWARD(IMPORT(path_rename), wf_wasi_path_rename, (imports_t *ctx, uint32_t fd, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen), (ctx->host, fd, opath, olen, nfd, npath, nlen))
FORWARD(IMPORT(path_symlink), wf_wasi_path_symlink, (imports_t *ctx, uint32_t opath, uint32_t olen, uint32_t fd, uint32_t npath, uint32_t nlen), (ctx->host, opath, olen, fd, npath, nlen))
FORWARD(IMPORT(path_unlink_file), wf_wasi_path_unlink_file, (imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len), (ctx->host, fd, path, len))
FORWARD(IMPORT(poll_oneoff), wf_wasi_poll_oneoff, (imports_t *ctx, uint32_t in, uint32_t out, uint32_t n, uint32_t nout), (ctx->host, in, out, n, nout))
FORWARD(IMPORT(proc_raise), wf_wasi_proc_raise, (imports_t *ctx, uint32_t sig), (ctx->host, sig))
FORWARD(IMPORT(sched_yield), wf_wasi_sched_yield, (imports_t *ctx), (ctx->host))
FORWARD(IMPORT(random_get), wf_wasi_random_get, (imports_t *ctx, uint32_t buf, uint32_t len), (ctx->host, buf, len))
FORWARD(IMPORT(sock_accept), wf_wasi_sock_accept, (imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t out), (ctx->host, fd, flags, out))
FORWARD(IMPORT(sock_recv), wf_wasi_sock_recv, (imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out, uint32_t oflags), (ctx->host, fd, iovs, n, flags, out, oflags))
FORWARD(IMPORT(sock_send), wf_wasi_sock_send, (imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out), (ctx->host, fd, iovs, n, flags, out))
FORWARD(IMPORT(sock_shutdown), wf_wasi_sock_shutdown, (imports_t *ctx, uint32_t fd, uint32_t how), (ctx->host, fd, how))
/* The one import that does not return: leave the host before it unwinds. */
void IMPORT(proc_exit)(imports_t *ctx, uint32_t code);
void IMPORT(proc_exit)(imports_t *ctx, uint32_t code)
{
    wf_wasi_enter();
    wf_wasi_leave();
    wf_wasi_proc_exit(ctx->host, code);
}
