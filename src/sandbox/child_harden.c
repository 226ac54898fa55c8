/* child_harden.c - the hardening steps of every run's child (see the
 * header): one list, so that the three places a run is made cannot drift.
 *
 * Raw system calls for the user change: glibc's wrappers broadcast it to
 * every thread they know of, and a vfork'd copy of a multithreaded server
 * has only one, so they would wait for ever. In a fork of a single-threaded
 * zygote the raw call is exactly what the wrapper would do. */
#include "sandbox/child_harden.h"

#include <linux/capability.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/zygote_serve.h"

static void set_limit(const wf_child_hardening *h, int res, rlim_t soft, rlim_t hard,
                      const char *what)
{
    struct rlimit rl = {soft, hard};
    if (setrlimit(res, &rl) < 0)
        wf_zyserve_child_fail(h->report_fd, what);
}

static void drop_caps(const wf_child_hardening *h)
{
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
              SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED) < 0)
        wf_zyserve_child_fail(h->report_fd, "setting securebits");
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capset, &hdr, data) < 0)
        wf_zyserve_child_fail(h->report_fd, "dropping capabilities");
}

void wf_child_harden(const wf_child_hardening *h)
{
    int fd = h->report_fd;
    if (h->as_bytes)
        set_limit(h, RLIMIT_AS, h->as_bytes, h->as_bytes, "RLIMIT_AS");
    if (h->data_bytes)
        set_limit(h, RLIMIT_DATA, h->data_bytes, h->data_bytes, "RLIMIT_DATA");
    if (h->cpu_s > 0)
        set_limit(h, RLIMIT_CPU, (rlim_t)h->cpu_s, (rlim_t)h->cpu_s + 1, "RLIMIT_CPU");
    set_limit(h, RLIMIT_FSIZE, h->fsize_bytes, h->fsize_bytes, "RLIMIT_FSIZE");
    set_limit(h, RLIMIT_NOFILE, (rlim_t)h->max_files, (rlim_t)h->max_files, "RLIMIT_NOFILE");
    set_limit(h, RLIMIT_CORE, 0, 0, "RLIMIT_CORE");
    set_limit(h, RLIMIT_MEMLOCK, 0, 0, "RLIMIT_MEMLOCK");
    set_limit(h, RLIMIT_MSGQUEUE, 0, 0, "RLIMIT_MSGQUEUE");

    if (h->become_run_uid) {
        if (syscall(SYS_setgroups, 0, NULL) < 0)
            wf_zyserve_child_fail(fd, "setgroups");
        if (syscall(SYS_setresgid, h->run_uid, h->run_uid, h->run_uid) < 0)
            wf_zyserve_child_fail(fd, "setresgid");
        if (syscall(SYS_setresuid, h->run_uid, h->run_uid, h->run_uid) < 0)
            wf_zyserve_child_fail(fd, "setresuid");
    } else if (h->drop_caps) {
        drop_caps(h);
    }
    /* After the change of user, which resets it; and NPROC only now, so
     * that an exec itself is not refused. */
    set_limit(h, RLIMIT_NPROC, 0, 0, "RLIMIT_NPROC");
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
        wf_zyserve_child_fail(fd, "PR_SET_PDEATHSIG");
    if (h->parent > 0 && getppid() != h->parent)
        _exit(126);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        wf_zyserve_child_fail(fd, "PR_SET_NO_NEW_PRIVS");
    /* Not dumpable: no process of the same user may ptrace this one or
     * open its /proc files. "Dumpable" belongs to the memory, not the
     * task: a child that still shares the server's memory (vfork, before
     * its exec) would make the server itself non-dumpable, after which its
     * /proc/self files belong to root and an unprivileged server can no
     * longer write its children's uid_map ("setgroups: Permission
     * denied"). The exec sets it anew from the credentials anyway, so
     * only children without an exec clear it. */
    if (!h->will_exec && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        wf_zyserve_child_fail(fd, "PR_SET_DUMPABLE");
    if (h->seccomp && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, h->seccomp) < 0)
        wf_zyserve_child_fail(fd, "installing the seccomp filter");
}
