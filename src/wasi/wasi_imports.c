/* wasi_imports.c - the wasi_snapshot_preview1 imports as the generated
 * module calls them: each checks the stack, marks the host as running and
 * forwards to the wf_wasi_* function of the same name. */
#include "wasi/wasi_internal.h"

void wf_wasi_enter(void);
void wf_wasi_leave(void);

#define IMPORT(name) Z_wasi_snapshot_preview1Z_##name
typedef struct Z_wasi_snapshot_preview1_instance_t imports_t;

uint32_t IMPORT(args_get)(imports_t *ctx, uint32_t argv, uint32_t buf);
uint32_t IMPORT(args_get)(imports_t *ctx, uint32_t argv, uint32_t buf)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_args_get(ctx->host, argv, buf);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(args_sizes_get)(imports_t *ctx, uint32_t argc_ptr, uint32_t size_ptr);
uint32_t IMPORT(args_sizes_get)(imports_t *ctx, uint32_t argc_ptr, uint32_t size_ptr)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_args_sizes_get(ctx->host, argc_ptr, size_ptr);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(environ_get)(imports_t *ctx, uint32_t env, uint32_t buf);
uint32_t IMPORT(environ_get)(imports_t *ctx, uint32_t env, uint32_t buf)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_environ_get(ctx->host, env, buf);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(environ_sizes_get)(imports_t *ctx, uint32_t count_ptr, uint32_t size_ptr);
uint32_t IMPORT(environ_sizes_get)(imports_t *ctx, uint32_t count_ptr, uint32_t size_ptr)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_environ_sizes_get(ctx->host, count_ptr, size_ptr);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(clock_res_get)(imports_t *ctx, uint32_t id, uint32_t out);
uint32_t IMPORT(clock_res_get)(imports_t *ctx, uint32_t id, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_clock_res_get(ctx->host, id, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(clock_time_get)(imports_t *ctx, uint32_t id, uint64_t precision, uint32_t out);
uint32_t IMPORT(clock_time_get)(imports_t *ctx, uint32_t id, uint64_t precision, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_clock_time_get(ctx->host, id, precision, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_advise)(imports_t *ctx, uint32_t fd, uint64_t off, uint64_t len, uint32_t advice);
uint32_t IMPORT(fd_advise)(imports_t *ctx, uint32_t fd, uint64_t off, uint64_t len, uint32_t advice)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_advise(ctx->host, fd, off, len, advice);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_allocate)(imports_t *ctx, uint32_t fd, uint64_t off, uint64_t len);
uint32_t IMPORT(fd_allocate)(imports_t *ctx, uint32_t fd, uint64_t off, uint64_t len)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_allocate(ctx->host, fd, off, len);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_close)(imports_t *ctx, uint32_t fd);
uint32_t IMPORT(fd_close)(imports_t *ctx, uint32_t fd)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_close(ctx->host, fd);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_datasync)(imports_t *ctx, uint32_t fd);
uint32_t IMPORT(fd_datasync)(imports_t *ctx, uint32_t fd)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_datasync(ctx->host, fd);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_fdstat_get)(imports_t *ctx, uint32_t fd, uint32_t out);
uint32_t IMPORT(fd_fdstat_get)(imports_t *ctx, uint32_t fd, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_fdstat_get(ctx->host, fd, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_fdstat_set_flags)(imports_t *ctx, uint32_t fd, uint32_t flags);
uint32_t IMPORT(fd_fdstat_set_flags)(imports_t *ctx, uint32_t fd, uint32_t flags)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_fdstat_set_flags(ctx->host, fd, flags);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_fdstat_set_rights)(imports_t *ctx, uint32_t fd, uint64_t base, uint64_t inh);
uint32_t IMPORT(fd_fdstat_set_rights)(imports_t *ctx, uint32_t fd, uint64_t base, uint64_t inh)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_fdstat_set_rights(ctx->host, fd, base, inh);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_filestat_get)(imports_t *ctx, uint32_t fd, uint32_t out);
uint32_t IMPORT(fd_filestat_get)(imports_t *ctx, uint32_t fd, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_filestat_get(ctx->host, fd, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_filestat_set_size)(imports_t *ctx, uint32_t fd, uint64_t size);
uint32_t IMPORT(fd_filestat_set_size)(imports_t *ctx, uint32_t fd, uint64_t size)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_filestat_set_size(ctx->host, fd, size);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_filestat_set_times)(imports_t *ctx, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t fst);
uint32_t IMPORT(fd_filestat_set_times)(imports_t *ctx, uint32_t fd, uint64_t atim, uint64_t mtim, uint32_t fst)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_filestat_set_times(ctx->host, fd, atim, mtim, fst);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_pread)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out);
uint32_t IMPORT(fd_pread)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_pread(ctx->host, fd, iovs, n, off, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_prestat_get)(imports_t *ctx, uint32_t fd, uint32_t out);
uint32_t IMPORT(fd_prestat_get)(imports_t *ctx, uint32_t fd, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_prestat_get(ctx->host, fd, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_prestat_dir_name)(imports_t *ctx, uint32_t fd, uint32_t buf, uint32_t len);
uint32_t IMPORT(fd_prestat_dir_name)(imports_t *ctx, uint32_t fd, uint32_t buf, uint32_t len)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_prestat_dir_name(ctx->host, fd, buf, len);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_pwrite)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out);
uint32_t IMPORT(fd_pwrite)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_pwrite(ctx->host, fd, iovs, n, off, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_read)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out);
uint32_t IMPORT(fd_read)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_read(ctx->host, fd, iovs, n, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_readdir)(imports_t *ctx, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t out);
uint32_t IMPORT(fd_readdir)(imports_t *ctx, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_readdir(ctx->host, fd, buf, len, cookie, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_renumber)(imports_t *ctx, uint32_t from, uint32_t to);
uint32_t IMPORT(fd_renumber)(imports_t *ctx, uint32_t from, uint32_t to)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_renumber(ctx->host, from, to);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_seek)(imports_t *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out);
uint32_t IMPORT(fd_seek)(imports_t *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_seek(ctx->host, fd, off, whence, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_sync)(imports_t *ctx, uint32_t fd);
uint32_t IMPORT(fd_sync)(imports_t *ctx, uint32_t fd)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_sync(ctx->host, fd);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_tell)(imports_t *ctx, uint32_t fd, uint32_t out);
uint32_t IMPORT(fd_tell)(imports_t *ctx, uint32_t fd, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_tell(ctx->host, fd, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(fd_write)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out);
uint32_t IMPORT(fd_write)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_fd_write(ctx->host, fd, iovs, n, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_create_directory)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len);
uint32_t IMPORT(path_create_directory)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_create_directory(ctx->host, fd, path, len);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_filestat_get)(imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint32_t out);
uint32_t IMPORT(path_filestat_get)(imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_filestat_get(ctx->host, fd, flags, path, len, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_filestat_set_times)(imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint64_t atim, uint64_t mtim, uint32_t fst);
uint32_t IMPORT(path_filestat_set_times)(imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t path, uint32_t len, uint64_t atim, uint64_t mtim, uint32_t fst)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_filestat_set_times(ctx->host, fd, flags, path, len, atim, mtim, fst);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_link)(imports_t *ctx, uint32_t ofd, uint32_t oflags, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen);
uint32_t IMPORT(path_link)(imports_t *ctx, uint32_t ofd, uint32_t oflags, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_link(ctx->host, ofd, oflags, opath, olen, nfd, npath, nlen);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_open)(imports_t *ctx, uint32_t fd, uint32_t dirflags, uint32_t path, uint32_t len, uint32_t oflags, uint64_t base, uint64_t inh, uint32_t fdflags, uint32_t out);
uint32_t IMPORT(path_open)(imports_t *ctx, uint32_t fd, uint32_t dirflags, uint32_t path, uint32_t len, uint32_t oflags, uint64_t base, uint64_t inh, uint32_t fdflags, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_open(ctx->host, fd, dirflags, path, len, oflags, base, inh, fdflags, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_readlink)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len, uint32_t buf, uint32_t buflen, uint32_t out);
uint32_t IMPORT(path_readlink)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len, uint32_t buf, uint32_t buflen, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_readlink(ctx->host, fd, path, len, buf, buflen, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_remove_directory)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len);
uint32_t IMPORT(path_remove_directory)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_remove_directory(ctx->host, fd, path, len);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_rename)(imports_t *ctx, uint32_t fd, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen);
uint32_t IMPORT(path_rename)(imports_t *ctx, uint32_t fd, uint32_t opath, uint32_t olen, uint32_t nfd, uint32_t npath, uint32_t nlen)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_rename(ctx->host, fd, opath, olen, nfd, npath, nlen);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_symlink)(imports_t *ctx, uint32_t opath, uint32_t olen, uint32_t fd, uint32_t npath, uint32_t nlen);
uint32_t IMPORT(path_symlink)(imports_t *ctx, uint32_t opath, uint32_t olen, uint32_t fd, uint32_t npath, uint32_t nlen)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_symlink(ctx->host, opath, olen, fd, npath, nlen);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(path_unlink_file)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len);
uint32_t IMPORT(path_unlink_file)(imports_t *ctx, uint32_t fd, uint32_t path, uint32_t len)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_path_unlink_file(ctx->host, fd, path, len);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(poll_oneoff)(imports_t *ctx, uint32_t in, uint32_t out, uint32_t n, uint32_t nout);
uint32_t IMPORT(poll_oneoff)(imports_t *ctx, uint32_t in, uint32_t out, uint32_t n, uint32_t nout)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_poll_oneoff(ctx->host, in, out, n, nout);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(proc_raise)(imports_t *ctx, uint32_t sig);
uint32_t IMPORT(proc_raise)(imports_t *ctx, uint32_t sig)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_proc_raise(ctx->host, sig);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(sched_yield)(imports_t *ctx);
uint32_t IMPORT(sched_yield)(imports_t *ctx)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_sched_yield(ctx->host);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(random_get)(imports_t *ctx, uint32_t buf, uint32_t len);
uint32_t IMPORT(random_get)(imports_t *ctx, uint32_t buf, uint32_t len)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_random_get(ctx->host, buf, len);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(sock_accept)(imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t out);
uint32_t IMPORT(sock_accept)(imports_t *ctx, uint32_t fd, uint32_t flags, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_sock_accept(ctx->host, fd, flags, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(sock_recv)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out, uint32_t oflags);
uint32_t IMPORT(sock_recv)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out, uint32_t oflags)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_sock_recv(ctx->host, fd, iovs, n, flags, out, oflags);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(sock_send)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out);
uint32_t IMPORT(sock_send)(imports_t *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t flags, uint32_t out)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_sock_send(ctx->host, fd, iovs, n, flags, out);
    wf_wasi_leave();
    return r;
}

uint32_t IMPORT(sock_shutdown)(imports_t *ctx, uint32_t fd, uint32_t how);
uint32_t IMPORT(sock_shutdown)(imports_t *ctx, uint32_t fd, uint32_t how)
{
    wf_wasi_enter();
    uint32_t r = (uint32_t)wf_wasi_sock_shutdown(ctx->host, fd, how);
    wf_wasi_leave();
    return r;
}

void IMPORT(proc_exit)(imports_t *ctx, uint32_t code);
void IMPORT(proc_exit)(imports_t *ctx, uint32_t code)
{
    wf_wasi_enter();
    wf_wasi_leave();
    wf_wasi_proc_exit(ctx->host, code);
}
