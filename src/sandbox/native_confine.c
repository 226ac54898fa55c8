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
        /* A zygote's runs share its PID, IPC and network namespaces and a
         * user: nothing may reach another process (signals, pidfds, its
         * memory or scheduling) or shared IPC objects. */
        "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal",
        "process_madvise", "migrate_pages", "move_pages", "ioprio_set",
        "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl",
        "semget", "semop", "semtimedop", "semctl", "mq_open", "mq_unlink",
        "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
        /* socketpair stays (asyncio needs it), but such a socket may not
         * take a name: abstract Unix names are shared in a network
         * namespace, and would let runs find each other. */
        "bind", "listen",
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
    /* Calls that may name another process: only the caller itself (0). */
    static const char *const self_only[] = {
        "prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam",
        "sched_setattr", NULL};
    for (const char *const *n = self_only; *n && rc == 0; n++) {
        int nr = seccomp_syscall_resolve_name(*n);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 1, SCMP_A0(SCMP_CMP_NE, 0));
    }
    /* setpriority(which, who, prio): PRIO_PROCESS of 0 only (PRIO_USER
     * would reach every process of the user). */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setpriority), 1,
                              SCMP_A0(SCMP_CMP_NE, PRIO_PROCESS));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setpriority), 1,
                              SCMP_A1(SCMP_CMP_NE, 0));
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
