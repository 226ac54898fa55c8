/* native_child.c - the native sandbox's child side: namespaces, the
 * read-only view, descriptors, rlimits, privileges and seccomp.
 *
 * Boring on purpose: every step is checked, every failure ends the child
 * with a report to the parent naming the step. Only system calls (the
 * child of a multithreaded server may run on a borrowed stack). Compiled
 * into the server and into the native zygote's Python module, whose
 * children use the per-run steps without an exec. */
#include "sandbox/native.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/child_harden.h"
#include "sandbox/zygote_serve.h"

_Noreturn static void fail(const wf_native_spawn *sp, const char *step)
{
    wf_zyserve_child_fail(sp->report_fd, step);
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

static void mount_tmp(const wf_native_spawn *sp, const char *dst)
{
    if (mount("wf-tmp", dst, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, sp->tmp_opts) < 0)
        fail(sp, "mounting /tmp");
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
            mount_tmp(sp, op->dst);
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

void wf_native_child_tmp(const wf_native_spawn *sp)
{
    if (unshare(CLONE_NEWNS) < 0)
        fail(sp, "unshare(CLONE_NEWNS)");
    mount_tmp(sp, "/tmp");
    if (chdir("/tmp") < 0)
        fail(sp, "chdir /tmp");
}

int wf_native_child_fds(const wf_native_spawn *sp, int keep_report)
{
    /* Move ours above 10 first so that dup2 cannot clobber one of them. */
    int b = fcntl(sp->bridge_fd, F_DUPFD_CLOEXEC, 10);
    int o = fcntl(sp->out_fd, F_DUPFD_CLOEXEC, 10);
    int e = fcntl(sp->err_fd, F_DUPFD_CLOEXEC, 10);
    int r = keep_report ? fcntl(sp->report_fd, F_DUPFD_CLOEXEC, 10) : sp->report_fd;
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (b < 0 || o < 0 || e < 0 || r < 0 || nul < 0)
        fail(sp, "preparing descriptors");
    if (dup2(nul, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup2(b, 3) < 0)
        fail(sp, "dup2");
    if (!keep_report) {
        /* exec closes the rest (the report pipe too: EOF for the parent) */
        if (syscall(SYS_close_range, 4U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) < 0)
            fail(sp, "close_range");
        return r;
    }
    if (dup2(r, WF_NATIVE_REPORT_FD) < 0)
        fail(sp, "dup2");
    if (syscall(SYS_close_range, (unsigned)WF_NATIVE_REPORT_FD + 1, ~0U, 0U) < 0)
        fail(sp, "close_range");
    return WF_NATIVE_REPORT_FD;
}

void wf_native_child_confine(const wf_native_plan *pl, const wf_native_spawn *sp,
                             pid_t parent, int will_exec)
{
    wf_child_hardening h = {
        .report_fd = sp->report_fd,
        .as_bytes = (rlim_t)sp->memory_mb << 20,
        .fsize_bytes = (rlim_t)sp->tmp_mb << 20,
        .cpu_s = sp->cpu_s,
        .max_files = sp->max_files,
        .run_uid = sp->run_uid,
        .become_run_uid = pl->drop_to_nobody,
        .drop_caps = (pl->ns_flags & CLONE_NEWUSER) != 0,
        .parent = parent,
        .will_exec = will_exec,
        .seccomp = &pl->seccomp,
    };
    wf_child_harden(&h);
}

/* The zygote itself: its own address-space cap, no core files, and it
 * dies with the server. It keeps its privileges (each run's set-up needs
 * them) and has no seccomp filter: it runs only our code. */
static void confine_zygote(const wf_native_spawn *sp)
{
    rlim_t mem = (rlim_t)sp->memory_mb << 20;
    set_limit(sp, RLIMIT_AS, mem, mem, "RLIMIT_AS");
    set_limit(sp, RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
    set_limit(sp, RLIMIT_MEMLOCK, 0, 0, "RLIMIT_MEMLOCK");
    set_limit(sp, RLIMIT_MSGQUEUE, 0, 0, "RLIMIT_MSGQUEUE");
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        fail(sp, "PR_SET_PDEATHSIG");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(sp, "PR_SET_NO_NEW_PRIVS");
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
    /* The server's umask (077: its data are its own) would make the view's
     * folders 0700, which a run's own uid cannot enter. The child has its
     * own (no CLONE_FS), so this is not the server's. */
    umask(022);

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

    /* Descriptors: 0 /dev/null, 1 stdout, 2 stderr, 3 the bridge (the
     * zygote's control socket), nothing else across exec. */
    wf_native_child_fds(sp, 0);
    if (sp->zygote)
        confine_zygote(sp);
    else
        wf_native_child_confine(pl, sp, 0, 1);

    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char *const envp[] = {NULL};
    execve(pl->exe, sp->argv, envp);
    fail(sp, "execve");
}
