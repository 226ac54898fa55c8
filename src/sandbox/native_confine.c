/* native_confine.c - the native sandbox's confinement: the read-only view
 * of what Python needs, namespaces, rlimits, privileges and seccomp.
 *
 * Boring on purpose: every step is checked, every failure ends the child
 * with a report to the parent naming the step. The plan (paths, filter) is
 * computed before clone so that the child only makes system calls. */
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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* Bind the host path at the same place inside, read-only. */
static int add_bind(wf_native_plan *pl, const char *path, enum wf_mount_kind kind)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return WF_ENOTFOUND;
    int rc = add_parents(pl, path);
    if (rc == 0)
        rc = add_op(pl, S_ISDIR(st.st_mode) ? WF_MNT_DIR : WF_MNT_FILE, NULL, path);
    if (rc == 0)
        rc = add_op(pl, kind, path, path);
    return rc;
}

static int build_seccomp(wf_native_plan *pl, char *err, size_t errlen)
{
    /* A deny list: Python needs a wide range of ordinary calls; what a
     * plugin must not do is create processes or sockets, reach other
     * processes, or touch kernel facilities with a history of bugs. */
    static const char *const eperm[] = {
        "fork", "vfork", "clone", "execveat", "ptrace", "process_vm_readv",
        "process_vm_writev", "kcmp", "pidfd_open", "pidfd_getfd", "kill",
        "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
        "fsopen", "fsmount", "fsconfig", "fspick", "move_mount", "open_tree",
        "mount_setattr", "keyctl", "add_key", "request_key", "bpf",
        "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
        "io_uring_register", "kexec_load", "kexec_file_load", "init_module",
        "finit_module", "delete_module", "reboot", "swapon", "swapoff",
        "syslog", "acct", "quotactl", "open_by_handle_at",
        "name_to_handle_at", "iopl", "ioperm", "memfd_create", "memfd_secret",
        "sethostname", "setdomainname", "settimeofday", "clock_settime",
        "clock_adjtime", "adjtimex", "vhangup", "personality", "mknod",
        "mknodat", "lookup_dcookie", "fanotify_init", "landlock_create_ruleset",
        NULL};
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL) {
        wf_errorf(err, errlen, "seccomp_init failed");
        return WF_EIO;
    }
    int rc = 0;
    for (const char *const *n = eperm; *n && rc == 0; n++) {
        int nr = seccomp_syscall_resolve_name(*n);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
    }
    /* glibc falls back to clone when clone3 is missing; clone is refused. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
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

int wf_native_plan_init(wf_native_plan *pl, const char *exe, char *err, size_t errlen)
{
    memset(pl, 0, sizeof *pl);
    pl->exe = exe;
    pl->outer_uid = geteuid();
    pl->outer_gid = getegid();
    snprintf(pl->uid_map, sizeof pl->uid_map, "0 %u 1", (unsigned)pl->outer_uid);
    snprintf(pl->gid_map, sizeof pl->gid_map, "0 %u 1", (unsigned)pl->outer_gid);
    /* The new root is assembled on a tmpfs mounted over /tmp inside the
     * child's own mount namespace: the host's /tmp is never touched. */
    pl->root = "/tmp";

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

/* ---- the child ---- */

_Noreturn static void fail(const wf_native_spawn *sp, const char *step)
{
    int e = errno;
    char buf[128];
    size_t n = strlen(step);
    if (n > 100)
        n = 100;
    memcpy(buf, step, n);
    buf[n] = '\0';
    memcpy(buf + n + 1, &e, sizeof e);
    ssize_t w = write(sp->report_fd, buf, n + 1 + sizeof e);
    (void)w;
    _exit(127);
}

static void write_file(const wf_native_spawn *sp, const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        fail(sp, path);
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n)
        fail(sp, path);
    close(fd);
}

static void set_limit(const wf_native_spawn *sp, int res, rlim_t soft, rlim_t hard,
                      const char *what)
{
    struct rlimit rl = {soft, hard};
    if (setrlimit(res, &rl) < 0)
        fail(sp, what);
}

static void make_view(const wf_native_plan *pl, const wf_native_spawn *sp)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(sp, "making mounts private");
    if (mount("wf-sandbox", pl->root, "tmpfs", MS_NOSUID | MS_NODEV,
              "size=64k,nr_inodes=128,mode=0755") < 0)
        fail(sp, "mounting the sandbox root");
    for (int i = 0; i < pl->nops; i++) {
        const wf_mount_op *op = &pl->ops[i];
        switch (op->kind) {
        case WF_MNT_DIR:
            if (mkdir(op->dst, 0755) < 0 && errno != EEXIST)
                fail(sp, op->dst);
            break;
        case WF_MNT_FILE: {
            int fd = open(op->dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
            if (fd < 0)
                fail(sp, op->dst);
            close(fd);
            break;
        }
        case WF_MNT_SYMLINK:
            if (symlink(op->src, op->dst) < 0)
                fail(sp, op->dst);
            break;
        case WF_MNT_BIND_RO:
        case WF_MNT_BIND_DEV: {
            unsigned long fl = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID;
            if (op->kind == WF_MNT_BIND_RO)
                fl |= MS_NODEV;
            else
                fl &= ~(unsigned long)MS_RDONLY;
            if (mount(op->src, op->dst, NULL, MS_BIND | MS_REC, NULL) < 0)
                fail(sp, op->src);
            if (mount(NULL, op->dst, NULL, fl, NULL) < 0)
                fail(sp, op->dst);
            break;
        }
        case WF_MNT_TMP:
            if (mount("wf-tmp", op->dst, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      sp->tmp_opts) < 0)
                fail(sp, "mounting /tmp");
            break;
        }
    }
    if (mount(NULL, pl->root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV,
              NULL) < 0)
        fail(sp, "making the sandbox root read-only");
    if (chdir(pl->root) < 0)
        fail(sp, "entering the sandbox root");
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        fail(sp, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0)
        fail(sp, "detaching the host's file system");
    if (chdir("/tmp") < 0)
        fail(sp, "chdir /tmp");
}

static void drop_caps(const wf_native_spawn *sp)
{
    /* Root inside our own user namespace: keep no capability across exec. */
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
              SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED) < 0)
        fail(sp, "setting securebits");
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail(sp, "dropping capabilities");
}

_Noreturn void wf_native_child(const wf_native_plan *pl, const wf_native_spawn *sp)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL);
    if (setsid() < 0)
        fail(sp, "setsid");

    if (pl->ns_flags & CLONE_NEWUSER) {
        write_file(sp, "/proc/self/setgroups", "deny");
        write_file(sp, "/proc/self/uid_map", pl->uid_map);
        write_file(sp, "/proc/self/gid_map", pl->gid_map);
    }
    if (pl->ns_flags & CLONE_NEWNS)
        make_view(pl, sp);
    else if (chdir("/") < 0)
        fail(sp, "chdir /");
    if ((pl->ns_flags & CLONE_NEWUTS) && sethostname("sandbox", 7) < 0)
        fail(sp, "sethostname");

    /* Descriptors: 0 /dev/null, 1 stdout, 2 stderr, 3 the bridge, nothing
     * else across exec. Move ours above 10 first so dup2 cannot clobber. */
    int b = fcntl(sp->bridge_fd, F_DUPFD_CLOEXEC, 10);
    int o = fcntl(sp->out_fd, F_DUPFD_CLOEXEC, 10);
    int e = fcntl(sp->err_fd, F_DUPFD_CLOEXEC, 10);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (b < 0 || o < 0 || e < 0 || nul < 0)
        fail(sp, "preparing descriptors");
    if (dup2(nul, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(b, 3) < 0)
        fail(sp, "dup2");
    if (syscall(SYS_close_range, 4U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0)
        fail(sp, "close_range");

    rlim_t mem = (rlim_t)sp->memory_mb << 20;
    set_limit(sp, RLIMIT_AS, mem, mem, "RLIMIT_AS");
    set_limit(sp, RLIMIT_CPU, (rlim_t)sp->cpu_s, (rlim_t)sp->cpu_s + 1, "RLIMIT_CPU");
    set_limit(sp, RLIMIT_FSIZE, (rlim_t)sp->tmp_mb << 20, (rlim_t)sp->tmp_mb << 20,
              "RLIMIT_FSIZE");
    set_limit(sp, RLIMIT_NOFILE, (rlim_t)sp->max_files, (rlim_t)sp->max_files, "RLIMIT_NOFILE");
    set_limit(sp, RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
    set_limit(sp, RLIMIT_MEMLOCK, 0, 0, "RLIMIT_MEMLOCK");
    set_limit(sp, RLIMIT_MSGQUEUE, 0, 0, "RLIMIT_MSGQUEUE");

    if (pl->drop_to_nobody) {
        /* Raw system calls: glibc's wrappers broadcast the change to every
         * thread it knows of, and this copy of a multithreaded server has
         * only one, so they would wait for ever. */
        if (syscall(SYS_setgroups, 0, NULL) < 0)
            fail(sp, "setgroups");
        if (syscall(SYS_setresgid, WF_NATIVE_UID, WF_NATIVE_UID, WF_NATIVE_UID) < 0)
            fail(sp, "setresgid");
        if (syscall(SYS_setresuid, WF_NATIVE_UID, WF_NATIVE_UID, WF_NATIVE_UID) < 0)
            fail(sp, "setresuid");
    } else if (pl->ns_flags & CLONE_NEWUSER) {
        drop_caps(sp);
    }
    /* After the change of user, which resets it; and NPROC only now, so
     * that the exec itself is not refused. */
    set_limit(sp, RLIMIT_NPROC, 0, 0, "RLIMIT_NPROC");
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        fail(sp, "PR_SET_PDEATHSIG");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(sp, "PR_SET_NO_NEW_PRIVS");
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &pl->seccomp) < 0)
        fail(sp, "installing the seccomp filter");

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char *const envp[] = {NULL};
    execve(pl->exe, sp->argv, envp);
    fail(sp, "execve");
}

void wf_native_report_text(const char *buf, size_t n, char *err, size_t errlen)
{
    size_t len = strnlen(buf, n);
    int e = 0;
    if (len + 1 + sizeof e <= n)
        memcpy(&e, buf + len + 1, sizeof e);
    wf_errorf(err, errlen, "sandbox set-up failed at %.*s: %s", (int)len, buf, strerror(e));
}
