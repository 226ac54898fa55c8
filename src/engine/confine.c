/* confine.c - the seccomp allow-list of a run's child: the system calls the
 * WASI host makes on the guest's behalf, on the run's own descriptors only.
 *
 * Anything else kills the process (SIGSYS: a sandbox_violation). No call
 * here opens a file, a socket or a process, and no memory may become
 * executable: the guest's code is all compiled in before the fork. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/zygote.h"
#include "sandbox/zygote_proto.h"

#define REPORT_FD 103

/* The rules, into ctx. 0 or a negative errno. */
static int add_rules(scmp_filter_ctx ctx)
{
    int rc = 0;
#define ALLOW(name) \
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 0)
#define ALLOW_FD(name, fd) \
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), 1, \
                                       SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)(fd)))
#define REFUSE(name, e) \
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(e), SCMP_SYS(name), 0)

    /* The bridge reads and writes; the output streams write; stderr (which
     * is /dev/null) takes the C library's last words. */
    ALLOW_FD(read, WF_ZYGOTE_HOSTFD_BRIDGE);
    ALLOW_FD(readv, WF_ZYGOTE_HOSTFD_BRIDGE);
    ALLOW_FD(write, WF_ZYGOTE_HOSTFD_BRIDGE);
    ALLOW_FD(write, WF_ZYGOTE_HOSTFD_STDOUT);
    ALLOW_FD(write, WF_ZYGOTE_HOSTFD_STDERR);
    ALLOW_FD(write, REPORT_FD);
    ALLOW_FD(write, 2);
    ALLOW_FD(writev, WF_ZYGOTE_HOSTFD_BRIDGE);
    ALLOW_FD(writev, WF_ZYGOTE_HOSTFD_STDOUT);
    ALLOW_FD(writev, WF_ZYGOTE_HOSTFD_STDERR);
    ALLOW_FD(writev, 2);
    ALLOW(close);
    ALLOW(ppoll);
    ALLOW(poll);
    /* The bridge's blocking mode only: not F_SETOWN(_EX), F_SETSIG, leases
     * or O_ASYNC, each of which makes the kernel signal a process the
     * caller names (the same list as the native sandbox's, which the
     * guest could not reach anyway: it makes no system calls itself). */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2,
                              SCMP_A0(SCMP_CMP_EQ, WF_ZYGOTE_HOSTFD_BRIDGE),
                              SCMP_A1(SCMP_CMP_EQ, F_GETFL));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 3,
                              SCMP_A0(SCMP_CMP_EQ, WF_ZYGOTE_HOSTFD_BRIDGE),
                              SCMP_A1(SCMP_CMP_EQ, F_SETFL),
                              SCMP_A2(SCMP_CMP_MASKED_EQ, O_ASYNC, 0));

    /* Memory: malloc and the guest's growth, never executable. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    ALLOW(munmap);
    ALLOW(mremap);
    ALLOW(brk);
    ALLOW(madvise);

    /* Time, randomness, sleeping, yielding. */
    ALLOW(clock_gettime);
    ALLOW(clock_getres);
    ALLOW(clock_nanosleep);
    ALLOW(nanosleep);
    ALLOW(gettimeofday);
    ALLOW(getrandom);
    ALLOW(sched_yield);

    /* Signals the fault handler and the C library use on themselves. */
    ALLOW(rt_sigreturn);
    ALLOW(rt_sigprocmask);
    ALLOW(rt_sigaction);
    ALLOW(sigaltstack);
    ALLOW(restart_syscall);
    ALLOW(futex);
    ALLOW(getpid);
    ALLOW(gettid);
    /* Not tgkill: abort() then ends the process by this filter instead,
     * and no run can signal another (they share a user). */
    ALLOW(exit);
    ALLOW(exit_group);

    /* Harmless questions get an error instead of a kill. */
    REFUSE(fstat, EACCES);
    REFUSE(newfstatat, EACCES);
    REFUSE(statx, EACCES);
    REFUSE(lseek, ESPIPE);
    REFUSE(ioctl, ENOTTY);
#undef ALLOW
#undef ALLOW_FD
#undef REFUSE
    return rc;
}

/* Compiles the filter once, in the zygote: every child loads the same BPF
 * program (wf_zygote_seccomp_load) instead of compiling its own. */
int wf_zygote_seccomp_build(struct sock_fprog *prog, char *err, size_t errlen)
{
    memset(prog, 0, sizeof *prog);
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed");
        return -1;
    }
    int rc = add_rules(ctx);
    int fd = -1;
    struct sock_filter *code = NULL;
    if (rc == 0) {
        fd = memfd_create("wf-seccomp", MFD_CLOEXEC);
        rc = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    }
    struct stat st;
    if (rc == 0 && fstat(fd, &st) < 0)
        rc = -errno;
    if (rc == 0 && (st.st_size <= 0 || st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
                    st.st_size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS))
        rc = -EINVAL;
    if (rc == 0 && (code = malloc((size_t)st.st_size)) == NULL)
        rc = -ENOMEM;
    if (rc == 0 && pread(fd, code, (size_t)st.st_size, 0) != st.st_size)
        rc = -EIO;
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    if (rc != 0) {   /* libseccomp's errors are negative; any other value is a failure too */
        free(code);
        snprintf(err, errlen, "building the seccomp filter failed: %s", strerror(rc < 0 ? -rc : rc));
        return -1;
    }
    prog->filter = code;
    prog->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
    return 0;
}

/* In a child, after PR_SET_NO_NEW_PRIVS. 0 or -1 with errno. */
int wf_zygote_seccomp_load(const struct sock_fprog *prog)
{
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0);
}
