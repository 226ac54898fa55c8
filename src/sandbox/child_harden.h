/* child_harden.h - the hardening steps every run's child takes last, before
 * the plugin gets control: the same in all three places a run is made (the
 * native sandbox's python3 per run, the native zygote's children, the
 * WebAssembly engine zygote's children).
 *
 * Only system calls (no allocation, no locks): callers are children of a
 * multithreaded server sharing its memory (vfork) or forks of a zygote. A
 * failing step ends the child through wf_zyserve_child_fail(report_fd). */
#ifndef WF_SANDBOX_CHILD_HARDEN_H
#define WF_SANDBOX_CHILD_HARDEN_H

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

/* The run users: one uid (and gid) per concurrent run, from a range reserved
 * for them, so that the kernel's own permission checks (signals, ptrace,
 * /proc, SIGIO owners) separate runs even if a filter had a hole.
 * Used when the server (and so the zygote) runs as root; without root there
 * is a single id to map into a user namespace, see docs/security.md. */
#define WF_RUN_UID_COUNT 16384 /* above MAX_CONCURRENT_RUNS' maximum */
#define WF_RUN_UID_DEFAULT_BASE 1500000000u

typedef struct wf_child_hardening {
    int report_fd;            /* where a failed step is said */
    rlim_t as_bytes;          /* RLIMIT_AS; 0: left as it is */
    rlim_t data_bytes;        /* RLIMIT_DATA; 0: left as it is */
    rlim_t fsize_bytes;       /* RLIMIT_FSIZE (0 is a limit: no file growth) */
    int cpu_s;                /* RLIMIT_CPU soft (hard one more); 0: none */
    int max_files;            /* RLIMIT_NOFILE */
    uid_t run_uid;            /* root: become this uid and gid (no groups) */
    int become_run_uid;       /* 1: we are root and change user */
    int drop_caps;            /* 1: root of our own user namespace: keep no
                                 capability, now or across an exec */
    pid_t parent;             /* the zygote: PDEATHSIG is set only now, so a
                                 parent gone before means _exit; 0: no check */
    int will_exec;            /* 1: an exec follows (see child_harden.c on
                                 "dumpable") */
    const struct sock_fprog *seccomp; /* installed last */
} wf_child_hardening;

/* rlimits, the run's user, no capabilities, no processes (RLIMIT_NPROC 0),
 * death with the parent, no new privileges, not dumpable, seccomp; in that
 * order. Returns only when every step succeeded. */
void wf_child_harden(const wf_child_hardening *h);

/* The run uid for slot (0 <= slot < WF_RUN_UID_COUNT) above base. */
static inline uid_t wf_run_uid(unsigned base, int slot)
{
    return (uid_t)(base + (unsigned)slot);
}

#endif
