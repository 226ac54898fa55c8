/* suite.c - WASI checks run inside the sandbox: one subcommand per group,
 * each line "ok NAME" or "FAIL NAME: ...", exit status = number of failures.
 * Raw imports are declared here so that hostile arguments (bad pointers,
 * huge counts) reach the host exactly as given. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#define RAW(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))
RAW(fd_write) int32_t raw_fd_write(int32_t fd, int32_t iovs, int32_t n, int32_t out);
RAW(fd_read) int32_t raw_fd_read(int32_t fd, int32_t iovs, int32_t n, int32_t out);
RAW(fd_renumber) int32_t raw_fd_renumber(int32_t from, int32_t to);
RAW(fd_close) int32_t raw_fd_close(int32_t fd);
RAW(path_open) int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t len,
                                     int32_t oflags, int64_t base, int64_t inh, int32_t fdflags,
                                     int32_t out);
RAW(path_symlink) int32_t raw_path_symlink(int32_t old, int32_t olen, int32_t fd, int32_t path, int32_t len);
RAW(random_get) int32_t raw_random_get(int32_t buf, int32_t len);
RAW(poll_oneoff) int32_t raw_poll_oneoff(int32_t in, int32_t out, int32_t n, int32_t nout);
RAW(sock_accept) int32_t raw_sock_accept(int32_t fd, int32_t flags, int32_t out);
RAW(sock_shutdown) int32_t raw_sock_shutdown(int32_t fd, int32_t how);
RAW(proc_raise) int32_t raw_proc_raise(int32_t sig);
RAW(args_get) int32_t raw_args_get(int32_t argv, int32_t buf);
RAW(clock_time_get) int32_t raw_clock_time_get(int32_t id, int64_t precision, int32_t out);

static int failures;

static void check(const char *name, long got, long want)
{
    if (got == want) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: got %ld want %ld\n", name, got, want);
        failures++;
    }
}

static uint32_t mem_end(void)
{
    return (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
}

static int32_t open_raw(int32_t dirfd, const char *path, int32_t lookup, int32_t oflags, int64_t rights)
{
    int32_t fd;
    return raw_path_open(dirfd, lookup, (int32_t)(uintptr_t)path, (int32_t)strlen(path), oflags,
                         rights, rights, 0, (int32_t)(uintptr_t)&fd);
}

static int errno_of(int r) { return r < 0 ? errno : 0; }

#define RD (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET)
#define WR (__WASI_RIGHTS_FD_WRITE | RD)

static void group_escape(void)
{
    /* the preopen "/" is fd 3 */
    check("dotdot", open_raw(3, "..", 1, 0, RD), __WASI_ERRNO_NOTCAPABLE);
    check("dotdot_chain", open_raw(3, "tmp/../../../../etc/passwd", 1, 0, RD), __WASI_ERRNO_NOTCAPABLE);
    check("absolute", open_raw(3, "/etc/passwd", 1, 0, RD), __WASI_ERRNO_NOTCAPABLE);
    check("libc_etc_passwd", errno_of(open("/etc/passwd", O_RDONLY)), ENOENT);
    check("symlink_abs_target", errno_of(symlink("/etc", "/tmp/abs")), ENOTCAPABLE);
    const char *out = "../../../etc";
    const char *where = "tmp/out";
    check("symlink_leading_out",
          raw_path_symlink((int32_t)(uintptr_t)out, (int32_t)strlen(out), 3,
                           (int32_t)(uintptr_t)where, (int32_t)strlen(where)),
          __WASI_ERRNO_NOTCAPABLE);
    check("symlink_inside", symlink("../usr", "/tmp/in"), 0);
    check("trailing_slash_symlink", errno_of(open("/tmp/in/", O_RDONLY | O_DIRECTORY)), 0);
    check("symlink_loop_setup", symlink("b", "/tmp/a") + symlink("a", "/tmp/b"), 0);
    check("symlink_loop", errno_of(open("/tmp/a", O_RDONLY)), ELOOP);
    check("symlink_loop_slash", errno_of(open("/tmp/a/", O_RDONLY)), ELOOP);
    check("ro_write", errno_of(open("/usr/lib/hello.txt", O_WRONLY)), EROFS);
    check("ro_create", errno_of(open("/usr/new.txt", O_WRONLY | O_CREAT, 0644)), EROFS);
    check("ro_trunc", errno_of(open("/usr/lib/hello.txt", O_RDONLY | O_TRUNC)), EROFS);
    check("ro_unlink", errno_of(unlink("/usr/lib/hello.txt")), EROFS);
    check("ro_mkdir", errno_of(mkdir("/usr/x", 0755)), EROFS);
    check("ro_root_create", errno_of(open("/newfile", O_WRONLY | O_CREAT, 0644)), EROFS);
    check("ro_rename_out", errno_of(rename("/usr/lib/hello.txt", "/tmp/h")), EROFS);
}

static void group_fs(void)
{
    DIR *d = opendir("/");
    int seen_tmp = 0, seen_usr = 0, others = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!strcmp(e->d_name, "tmp")) seen_tmp++;
        else if (!strcmp(e->d_name, "usr")) seen_usr++;
        else others++;
    }
    if (d) closedir(d);
    check("listdir_root", seen_tmp * 100 + seen_usr * 10 + others, 110);
    FILE *f = fopen("/usr/lib/hello.txt", "r");
    char buf[64] = {0};
    check("read_image", f && fgets(buf, sizeof(buf), f) && !strcmp(buf, "hello image\n"), 1);
    if (f) fclose(f);
    int fd = open("/tmp/x.txt", O_RDWR | O_CREAT | O_EXCL, 0644);
    check("create_tmp", fd >= 0, 1);
    check("write_tmp", write(fd, "abcdef", 6), 6);
    check("seek_tmp", lseek(fd, 2, SEEK_SET), 2);
    check("read_tmp", read(fd, buf, 10), 4);
    check("pread_tmp", pread(fd, buf, 3, 1) == 3 && !memcmp(buf, "bcd", 3), 1);
    struct stat st;
    check("fstat_tmp", fstat(fd, &st) == 0 && st.st_size == 6 && S_ISREG(st.st_mode), 1);
    check("ftruncate_tmp", ftruncate(fd, 2) == 0 && fstat(fd, &st) == 0 && st.st_size == 2, 1);
    check("excl_again", errno_of(open("/tmp/x.txt", O_RDWR | O_CREAT | O_EXCL, 0644)), EEXIST);
    check("mkdir_tmp", mkdir("/tmp/d", 0755), 0);
    check("rename_tmp", rename("/tmp/x.txt", "/tmp/d/y.txt"), 0);
    check("stat_renamed", stat("/tmp/d/y.txt", &st) == 0 && st.st_size == 2, 1);
    check("rmdir_nonempty", errno_of(rmdir("/tmp/d")), ENOTEMPTY);
    check("unlink", unlink("/tmp/d/y.txt"), 0);
    check("read_after_unlink", pread(fd, buf, 2, 0), 2);
    close(fd);
    check("rmdir", rmdir("/tmp/d"), 0);
    check("link", (open("/tmp/l1", O_CREAT | O_WRONLY, 0644) >= 0) && link("/tmp/l1", "/tmp/l2") == 0, 1);
    check("link_nlink", stat("/tmp/l2", &st) == 0 && st.st_nlink == 2, 1);
    check("readlink", symlink("l1", "/tmp/s") == 0 && readlink("/tmp/s", buf, sizeof(buf)) == 2, 1);
    check("enoent", errno_of(open("/tmp/nope", O_RDONLY)), ENOENT);
    check("enotdir", errno_of(open("/tmp/l1/x", O_RDONLY)), ENOTDIR);
    check("utimens", utimensat(AT_FDCWD, "/tmp/l1", NULL, 0), 0);
}

static void group_fds(void)
{
    check("renumber_self", raw_fd_renumber(1, 1), 0);
    printf("ok still_writing_after_renumber_self\n");
    fflush(stdout);
    check("renumber_onto_closed", raw_fd_renumber(1, 200), __WASI_ERRNO_BADF);
    check("renumber_from_closed", raw_fd_renumber(200, 1), __WASI_ERRNO_BADF);
    check("renumber_huge", raw_fd_renumber(1, -1), __WASI_ERRNO_BADF);
    int fd = open("/tmp/r", O_RDWR | O_CREAT, 0644);
    check("renumber_file_onto_stderr", raw_fd_renumber(fd, 2), 0);
    check("write_via_stderr_number", (int)write(2, "zz", 2), 2);
    struct stat st;
    check("file_got_it", stat("/tmp/r", &st) == 0 && st.st_size == 2, 1);
    check("close_stdin", raw_fd_close(0), 0);
    check("close_again", raw_fd_close(0), __WASI_ERRNO_BADF);
    check("close_preopen_last", raw_fd_close(3), 0);
    check("open_after_preopen_closed", open_raw(3, "tmp", 0, 0, RD), __WASI_ERRNO_BADF);
}

static void group_iov(void)
{
    static uint32_t iov[4];
    int32_t n;
    uint32_t end = mem_end();
    iov[0] = (uint32_t)(uintptr_t)"x";
    iov[1] = 1;
    check("iov_huge_count", raw_fd_write(1, (int32_t)(uintptr_t)iov, 1 << 30, (int32_t)(uintptr_t)&n), __WASI_ERRNO_INVAL);
    check("iov_count_max", raw_fd_write(1, (int32_t)(uintptr_t)iov, -1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_INVAL);
    check("iov_array_at_end", raw_fd_write(1, (int32_t)(end - 4), 1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_FAULT);
    iov[0] = end - 1;
    iov[1] = 2;
    check("iov_buf_past_end", raw_fd_write(1, (int32_t)(uintptr_t)iov, 1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_FAULT);
    iov[0] = 0xfffffff0u;
    iov[1] = 0x20;
    check("iov_buf_wraps", raw_fd_write(1, (int32_t)(uintptr_t)iov, 1, (int32_t)(uintptr_t)&n), __WASI_ERRNO_FAULT);
    iov[0] = (uint32_t)(uintptr_t)"";
    iov[1] = 0;
    check("result_ptr_at_end", raw_fd_write(1, (int32_t)(uintptr_t)iov, 1, (int32_t)(end - 2)), __WASI_ERRNO_FAULT);
    check("result_ptr_misaligned", raw_fd_write(1, (int32_t)(uintptr_t)iov, 1, (int32_t)((uintptr_t)&n + 1)), __WASI_ERRNO_FAULT);
    check("read_into_past_end", (iov[0] = end - 1, iov[1] = 4096,
          raw_fd_read(0, (int32_t)(uintptr_t)iov, 1, (int32_t)(uintptr_t)&n)), __WASI_ERRNO_FAULT);
    check("random_past_end", raw_random_get((int32_t)(end - 8), 16), __WASI_ERRNO_FAULT);
    check("random_to_end", raw_random_get((int32_t)(end - 8), 8), 0);
    check("args_get_bad", raw_args_get(-4, 0), __WASI_ERRNO_FAULT);
    check("clock_bad_ptr", raw_clock_time_get(1, 0, (int32_t)end), __WASI_ERRNO_FAULT);
    check("path_past_end", raw_path_open(3, 0, (int32_t)(end - 2), 10, 0, RD, RD, 0, (int32_t)(uintptr_t)&n),
          __WASI_ERRNO_FAULT);
    check("poll_zero", raw_poll_oneoff((int32_t)(uintptr_t)iov, (int32_t)(uintptr_t)iov, 0, (int32_t)(uintptr_t)&n),
          __WASI_ERRNO_INVAL);
}

static void group_misc(int argc, char **argv)
{
    check("argc", argc, 3);
    check("argv2", !strcmp(argv[2], "second arg"), 1);
    const char *v = getenv("WF_TEST");
    check("env", v && !strcmp(v, "yes=1"), 1);
    check("env_absent", getenv("HOME") == NULL, 1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    struct timespec req = { 0, 20 * 1000000 };
    check("nanosleep", nanosleep(&req, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    check("slept_enough", ms >= 20, 1);
    check("realtime_sane", time(NULL) > 1700000000, 1);
    unsigned char r1[16] = {0}, r2[16] = {0};
    check("random", raw_random_get((int32_t)(uintptr_t)r1, 16) + raw_random_get((int32_t)(uintptr_t)r2, 16), 0);
    check("random_differs", memcmp(r1, r2, 16) != 0, 1);
    int32_t nfd;
    check("sock_accept", raw_sock_accept(3, 0, (int32_t)(uintptr_t)&nfd), __WASI_ERRNO_NOTSOCK);
    check("sock_shutdown_badf", raw_sock_shutdown(99, 0), __WASI_ERRNO_BADF);
    check("proc_raise", raw_proc_raise(9), __WASI_ERRNO_NOTSUP);
    check("sched_yield", sched_yield(), 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *g = argc > 1 ? argv[1] : "";
    if (!strcmp(g, "escape")) group_escape();
    else if (!strcmp(g, "fs")) group_fs();
    else if (!strcmp(g, "fds")) group_fds();
    else if (!strcmp(g, "iov")) group_iov();
    else if (!strcmp(g, "misc")) group_misc(argc, argv);
    else if (!strcmp(g, "oob")) {
        volatile uint32_t where = 0xfffffff0u;
        *(volatile int *)(uintptr_t)where = 1;
        puts("not trapped");
    } else if (!strcmp(g, "recurse")) {
        /* no tail call: each frame keeps a buffer alive */
        extern int deep(int);
        printf("%d\n", deep(0));
    } else if (!strcmp(g, "memory")) {
        long n = 0;
        volatile char *p;
        while ((p = malloc(1 << 20)) != NULL) {
            p[0] = 1;   /* used, so the allocation stays */
            n++;
        }
        printf("allocated %ld MiB\n", n);
    } else if (!strcmp(g, "flood")) {
        static char line[1024];
        memset(line, 'x', sizeof(line) - 1);
        for (int i = 0; i < 10000; i++) puts(line);
        fprintf(stderr, "flood done\n");
    } else if (!strcmp(g, "cat")) {
        char buf[4096];
        ssize_t n;
        while ((n = read(0, buf, sizeof(buf))) > 0) fwrite(buf, 1, (size_t)n, stdout);
    } else if (!strcmp(g, "exit")) {
        exit(argc > 2 ? atoi(argv[2]) : 0);
    } else if (!strcmp(g, "hostdir")) {
        const char *root = argc > 2 ? argv[2] : "/data";
        char p[256];
        snprintf(p, sizeof(p), "%s/inside.txt", root);
        FILE *f = fopen(p, "r");
        char buf[64] = {0};
        check("hostdir_read", f && fgets(buf, sizeof(buf), f) && !strcmp(buf, "inside\n"), 1);
        if (f) fclose(f);
        snprintf(p, sizeof(p), "%s/evil/passwd", root);
        check("hostdir_symlink_out", errno_of(open(p, O_RDONLY)), ENOTCAPABLE);
        snprintf(p, sizeof(p), "%s/evil/", root);
        check("hostdir_symlink_out_slash", errno_of(open(p, O_RDONLY)), ENOTCAPABLE);
        snprintf(p, sizeof(p), "%s/../../etc/passwd", root);
        check("hostdir_dotdot", errno_of(open(p, O_RDONLY)), ENOTCAPABLE);
        snprintf(p, sizeof(p), "%s/sub/../../x", root);
        int r = open(p, O_RDONLY);
        check("hostdir_dotdot_inside", r < 0 && (errno == ENOTCAPABLE || errno == ENOENT), 1);
        snprintf(p, sizeof(p), "%s/link_out", root);
        check("hostdir_symlink_create_abs", errno_of(symlink("/etc/passwd", p)), ENOTCAPABLE);
        check("hostdir_symlink_create_up", errno_of(symlink("../../etc/passwd", p)), ENOTCAPABLE);
        snprintf(p, sizeof(p), "%s/new.txt", root);
        int fd = open(p, O_WRONLY | O_CREAT, 0644);
        if (argc > 3 && !strcmp(argv[3], "ro")) {
            check("hostdir_ro_create", fd < 0, 1);
        } else {
            check("hostdir_create", fd >= 0 && write(fd, "new\n", 4) == 4, 1);
        }
    } else {
        fprintf(stderr, "unknown group '%s'\n", g);
        return 100;
    }
    return failures;
}

volatile int deep_limit = -1;   /* never reached; keeps the recursion well-defined */

int deep(int n)
{
    volatile char pad[4096];
    if (n == deep_limit)
        return 0;
    pad[n % 4096] = (char)n;
    return deep(n + 1) + pad[(n * 7) % 4096];
}
