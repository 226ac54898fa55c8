/* native_confine.c - the native sandbox's confinement plan: the read-only
 * view of what Python needs and the seccomp filter.
 *
 * This file is the parent's side: the plan (paths, filter), computed before
 * clone so that the child only makes system calls (native_child.c). */
#include "sandbox/native.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/wf_error.h"

/* ---- the plan (parent side) ---- */

static int add_op(wf_native_plan *pl, enum wf_mount_kind kind, const char *src,
                  const char *dst)
{
    if (pl->nops >= WF_NATIVE_MAX_OPS)
        return WF_EINTERNAL;
    wf_mount_op *op = &pl->ops[pl->nops];
    op->kind = kind;
    if (snprintf(op->src, sizeof op->src, "%s", src ? src : "") >= (int)sizeof op->src ||
        snprintf(op->dst, sizeof op->dst, "%s%s", pl->root, dst) >= (int)sizeof op->dst)
        return WF_EINVAL;
    pl->nops++;
    return 0;
}

/* Directories leading to `path` (inside the new root), each once. */
static int add_parents(wf_native_plan *pl, const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return WF_EINVAL;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        char full[PATH_MAX];
        snprintf(full, sizeof full, "%s%s", pl->root, buf);
        int seen = 0;
        for (int i = 0; i < pl->nops; i++)
            if (pl->ops[i].kind == WF_MNT_DIR && strcmp(pl->ops[i].dst, full) == 0)
                seen = 1;
        if (!seen && add_op(pl, WF_MNT_DIR, NULL, buf) < 0)
            return WF_EINTERNAL;
        *p = '/';
    }
    return 0;
}

/* Bind the host path src at dst inside. */
static int add_bind_at(wf_native_plan *pl, const char *src, const char *dst,
                       enum wf_mount_kind kind)
{
    struct stat st;
    if (stat(src, &st) < 0)
        return WF_ENOTFOUND;
    int rc = add_parents(pl, dst);
    if (rc == 0)
        rc = add_op(pl, S_ISDIR(st.st_mode) ? WF_MNT_DIR : WF_MNT_FILE, NULL, dst);
    if (rc == 0)
        rc = add_op(pl, kind, src, dst);
    return rc;
}

/* Bind the host path at the same place inside. */
static int add_bind(wf_native_plan *pl, const char *path, enum wf_mount_kind kind)
{
    return add_bind_at(pl, path, path, kind);
}

int wf_native_plan_add_ro(wf_native_plan *pl, const char *src, const char *dst)
{
    return add_bind_at(pl, src, dst, WF_MNT_BIND_RO);
}

/* The system calls a run may make: what CPython needs to start (the path
 * without a zygote execs python3 under this filter), import, compute, use
 * its private /tmp, threads and asyncio, and nothing that reaches another
 * process, names a socket or makes code. Each line says why it is needed;
 * a name this architecture lacks is skipped. */
static const char *const allowed[] = {
    /* the exec of python3 and the dynamic loader's start (the exec path) */
    "execve", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
    /* reading the view, importing, the private /tmp (its own files only:
     * everything else is a read-only mount) */
    "read", "pread64", "readv", "preadv", "preadv2", "write", "pwrite64", "writev",
    "pwritev", "pwritev2", "open", "openat", "close", "close_range", "lseek",
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs",
    "access", "faccessat", "faccessat2", "readlink", "readlinkat", "getdents64",
    "getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat",
    "rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
    "chmod", "fchmod", "fchmodat", "truncate", "ftruncate", "fsync", "fdatasync",
    "utimensat", "fallocate", "fadvise64", "umask", "sendfile", "copy_file_range",
    "dup", "dup2", "dup3", "pipe", "pipe2",
    /* memory (mmap and mprotect have their own rules below) */
    "brk", "munmap", "mremap", "madvise", "msync",
    /* waiting: select/poll/epoll for asyncio and the bridge */
    "select", "pselect6", "poll", "ppoll", "epoll_create", "epoll_create1",
    "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    /* the socketpair asyncio wakes itself with, and the bridge (no names:
     * socket, bind, connect, sendmsg and an address on sendto are refused,
     * so no socket can reach another run's, abstract names included) */
    "recvfrom", "recvmsg", "shutdown", "getsockopt", "setsockopt", "getsockname",
    "getpeername",
    /* time, randomness, sleeping */
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday",
    "time", "getrandom", "sched_yield",
    /* threads: futexes, and signals to and from itself */
    "futex", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending",
    "rt_sigsuspend", "rt_sigtimedwait", "sigaltstack", "restart_syscall",
    "setitimer", "getitimer", "alarm", "pause",
    /* questions about itself */
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
    "getresuid", "getresgid", "getgroups", "getpgrp", "getrusage", "times",
    "uname", "sysinfo", "getcpu",
    "exit", "exit_group",
    NULL};

/* Adds one rule; a name this architecture lacks is no error. */
static int rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned n,
                const struct scmp_arg_cmp *cmp)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
        return 0;
    return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

static int add_argument_rules(scmp_filter_ctx ctx)
{
    const uint32_t ok = SCMP_ACT_ALLOW;
    int rc = 0;
    /* Memory that can execute only from a file (the loader, extension
     * modules: every file but /tmp's, which is noexec, is a read-only
     * mount), and never writable and executable at once; mprotect never
     * adds PROT_EXEC. Without this a plugin that gets at raw calls (ctypes)
     * could write machine code and run it. pkey_mprotect and memfd_create
     * are not allowed at all. */
    struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
    struct scmp_arg_cmp exec_ro[2] = {
        SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC),
        SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0)};
    if (rc == 0)
        rc = rule(ctx, ok, "mmap", 1, &noexec);
    if (rc == 0)
        rc = rule(ctx, ok, "mmap", 2, exec_ro);
    if (rc == 0)
        rc = rule(ctx, ok, "mprotect", 1, &noexec);

    /* fcntl: descriptor flags, status flags without O_ASYNC, duplicates.
     * Not F_SETOWN(_EX), F_SETSIG, F_SETLEASE, F_NOTIFY (each makes the
     * kernel signal a process the caller names) nor the record locks
     * (a lock on a file every run can open is a channel between runs). */
    static const int fcntl_cmds[] = {F_GETFD, F_SETFD, F_GETFL, F_DUPFD, F_DUPFD_CLOEXEC,
                                     F_GETPIPE_SZ, F_SETPIPE_SZ, F_GET_SEALS};
    for (size_t i = 0; rc == 0 && i < sizeof fcntl_cmds / sizeof *fcntl_cmds; i++) {
        struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fcntl_cmds[i]);
        rc = rule(ctx, ok, "fcntl", 1, &c);
    }
    struct scmp_arg_cmp setfl[2] = {SCMP_A1(SCMP_CMP_EQ, F_SETFL),
                                    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, 0)};
    if (rc == 0)
        rc = rule(ctx, ok, "fcntl", 2, setfl);

    /* ioctl: what CPython asks of its descriptors (blocking mode and
     * close-on-exec by ioctl, "is it a terminal", bytes waiting). Not
     * FIOASYNC, FIOSETOWN, SIOCSPGRP (signal delivery to a named process)
     * nor TIOCSTI and the like. (A catch-all "not a terminal" rule would
     * override these in libseccomp: the rest get EPERM.) */
    static const unsigned long ioctls[] = {FIONBIO, FIOCLEX, FIONCLEX, FIONREAD, TCGETS,
                                           TIOCGWINSZ};
    for (size_t i = 0; rc == 0 && i < sizeof ioctls / sizeof *ioctls; i++) {
        struct scmp_arg_cmp c = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)ioctls[i]);
        rc = rule(ctx, ok, "ioctl", 1, &c);
    }

    /* clone: threads only (CLONE_THREAD, no namespace flags); a new
     * process is refused (and RLIMIT_NPROC is 0 besides). clone3 hides
     * its flags in memory a filter cannot read: ENOSYS makes glibc fall
     * back to clone. */
    struct scmp_arg_cmp thread = SCMP_A0(
        SCMP_CMP_MASKED_EQ,
        CLONE_THREAD | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
            CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_PIDFD | CLONE_PARENT,
        CLONE_THREAD);
    if (rc == 0)
        rc = rule(ctx, ok, "clone", 1, &thread);
    if (rc == 0)
        rc = rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);

    /* Sockets: only socketpair(AF_UNIX) (asyncio, the SDK), and sendto
     * without an address. A fresh socket() answers EACCES, as the
     * original's tests expect of "no network". */
    struct scmp_arg_cmp unix_pair = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
    if (rc == 0)
        rc = rule(ctx, ok, "socketpair", 1, &unix_pair);
    struct scmp_arg_cmp no_addr = SCMP_A4(SCMP_CMP_EQ, 0);
    if (rc == 0)
        rc = rule(ctx, ok, "sendto", 1, &no_addr);
    if (rc == 0)
        rc = rule(ctx, SCMP_ACT_ERRNO(EACCES), "socket", 0, NULL);

    /* Calls that name a process: only the caller itself (0). glibc's
     * getrlimit/setrlimit are prlimit64(0, ...). */
    /* Extended attributes: "not supported" (shutil.copy2 and the like
     * then go on without them), never set. */
    static const char *const xattrs[] = {"getxattr", "lgetxattr", "fgetxattr", "listxattr",
                                         "llistxattr", "flistxattr", "setxattr", "lsetxattr",
                                         "fsetxattr", "removexattr", "lremovexattr",
                                         "fremovexattr", NULL};
    for (const char *const *n = xattrs; rc == 0 && *n; n++)
        rc = rule(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), *n, 0, NULL);

    static const char *const self_only[] = {"prlimit64", "sched_getaffinity",
                                            "sched_getparam", "sched_getscheduler", "getpgid",
                                            "getsid", "getpriority", NULL};
    struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ, 0);
    for (const char *const *n = self_only; rc == 0 && *n; n++)
        rc = rule(ctx, ok, *n, 1, &self);
    /* os.nice(): setpriority(PRIO_PROCESS, 0, n) only (PRIO_USER would
     * reach every process of the user). */
    struct scmp_arg_cmp prio_self[2] = {SCMP_A0(SCMP_CMP_EQ, PRIO_PROCESS),
                                        SCMP_A1(SCMP_CMP_EQ, 0)};
    if (rc == 0)
        rc = rule(ctx, ok, "setpriority", 2, prio_self);
    return rc;
}

static int build_seccomp(wf_native_plan *pl, char *err, size_t errlen)
{
    /* An allow-list. Everything else fails with EPERM rather than killing
     * the run: a refused call has no effect either way, and EPERM keeps
     * the plugin's error an ordinary Python exception (PermissionError,
     * with its traceback), which is what the original's security tests
     * expect of subprocess, sockets and the like. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (ctx == NULL) {
        wf_errorf(err, errlen, "seccomp_init failed");
        return WF_EIO;
    }
    int rc = 0;
    for (const char *const *n = allowed; *n && rc == 0; n++)
        rc = rule(ctx, SCMP_ACT_ALLOW, *n, 0, NULL);
    if (rc == 0)
        rc = add_argument_rules(ctx);
    int fd = -1;
    if (rc == 0) {
        fd = memfd_create("wf-seccomp", MFD_CLOEXEC);
        rc = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    }
    seccomp_release(ctx);
    if (rc < 0) {
        if (fd >= 0)
            close(fd);
        wf_errorf(err, errlen, "building the seccomp filter failed: %s", strerror(-rc));
        return WF_EIO;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    struct sock_filter *f = size > 0 ? malloc((size_t)size) : NULL;
    if (f == NULL || pread(fd, f, (size_t)size, 0) != size) {
        free(f);
        close(fd);
        wf_errorf(err, errlen, "reading the seccomp filter back failed");
        return WF_EIO;
    }
    close(fd);
    pl->seccomp.filter = f;
    pl->seccomp.len = (unsigned short)((size_t)size / sizeof *f);
    return 0;
}

/* Where the view is assembled: "/tmp", or "/mnt" when this binary lies
 * under /tmp and /mnt is a directory it does not lie under. */
static const char *native_root_for_self(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return "/tmp";
    self[n] = '\0';
    struct stat st;
    if (strncmp(self, "/tmp/", 5) == 0 && strncmp(self, "/mnt/", 5) != 0 &&
        stat("/mnt", &st) == 0 && S_ISDIR(st.st_mode))
        return "/mnt";
    return "/tmp";
}

int wf_native_plan_init(wf_native_plan *pl, const char *exe, char *err, size_t errlen)
{
    memset(pl, 0, sizeof *pl);
    pl->exe = exe;
    pl->outer_uid = geteuid();
    pl->outer_gid = getegid();
    snprintf(pl->uid_map, sizeof pl->uid_map, "0 %u 1", (unsigned)pl->outer_uid);
    snprintf(pl->gid_map, sizeof pl->gid_map, "0 %u 1", (unsigned)pl->outer_gid);
    /* The new root is assembled on a tmpfs mounted over /tmp inside the
     * child's own mount namespace: the host's /tmp is never touched. When
     * our own build lives under /tmp (a clone in a temporary folder), that
     * tmpfs would hide the files the view binds from it (the zygote's
     * module), so /mnt serves as the mount point instead. */
    pl->root = native_root_for_self();

    /* <prefix>/bin/pythonX.Y -> <prefix>/lib/pythonX.Y */
    char prefix[PATH_MAX], stdlib[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", exe);
    char *slash = strrchr(prefix, '/');
    const char *base = slash ? slash + 1 : exe;
    if (slash)
        *slash = '\0';
    slash = strrchr(prefix, '/');
    if (slash == NULL) {
        wf_errorf(err, errlen, "python path %s is not absolute", exe);
        return WF_EINVAL;
    }
    *slash = '\0';
    if (snprintf(stdlib, sizeof stdlib, "%s/lib/%s", prefix, base) >= (int)sizeof stdlib)
        return WF_EINVAL;
    if (add_bind(pl, exe, WF_MNT_BIND_RO) < 0 || add_bind(pl, stdlib, WF_MNT_BIND_RO) < 0) {
        wf_errorf(err, errlen, "python at %s has no standard library at %s", exe, stdlib);
        return WF_ENOTFOUND;
    }
    /* Shared libraries: the multiarch folders and lib64. */
    char libdir[PATH_MAX];
    if (snprintf(libdir, sizeof libdir, "%s/lib", prefix) >= (int)sizeof libdir)
        return WF_EINVAL;
    DIR *d = opendir(libdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strstr(e->d_name, "-linux-gnu") == NULL)
                continue;
            char p[PATH_MAX];
            if (snprintf(p, sizeof p, "%s/%s", libdir, e->d_name) < (int)sizeof p)
                add_bind(pl, p, WF_MNT_BIND_RO);
        }
        closedir(d);
    }
    char lib64[PATH_MAX];
    if (snprintf(lib64, sizeof lib64, "%s/lib64", prefix) < (int)sizeof lib64)
        add_bind(pl, lib64, WF_MNT_BIND_RO);
    /* Top-level links of a merged-/usr system (/lib -> usr/lib ...). */
    static const char *const top[] = {"/bin", "/lib", "/lib64", NULL};
    for (const char *const *t = top; *t; t++) {
        char target[PATH_MAX];
        ssize_t n = readlink(*t, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            add_op(pl, WF_MNT_SYMLINK, target, *t);
        } else if (strcmp(*t, "/bin") != 0) {
            add_bind(pl, *t, WF_MNT_BIND_RO);
        }
    }
    static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom", NULL};
    for (const char *const *dv = devs; *dv; dv++)
        add_bind(pl, *dv, WF_MNT_BIND_DEV);
    if (add_op(pl, WF_MNT_DIR, NULL, "/tmp") < 0 || add_op(pl, WF_MNT_TMP, NULL, "/tmp") < 0) {
        wf_errorf(err, errlen, "the sandbox's file system plan is too large");
        return WF_EINTERNAL;
    }
    return build_seccomp(pl, err, errlen);
}

void wf_native_plan_free(wf_native_plan *pl)
{
    free(pl->seccomp.filter);
    pl->seccomp.filter = NULL;
}
