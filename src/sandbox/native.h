/* native.h - internals shared by the native sandbox's files: the plan a
 * child follows to confine itself, computed in the parent beforehand.
 *
 * Everything the child needs between clone and execve is prepared here,
 * so that the child makes system calls only (no allocation, no locks: the
 * server is multithreaded). */
#ifndef WF_SANDBOX_NATIVE_H
#define WF_SANDBOX_NATIVE_H

#include <limits.h>
#include <linux/filter.h>
#include <sys/types.h>

enum wf_mount_kind {
    WF_MNT_DIR,       /* mkdir dst */
    WF_MNT_FILE,      /* create empty file dst (a bind target) */
    WF_MNT_BIND_RO,   /* bind src on dst, read-only, nosuid, nodev */
    WF_MNT_BIND_DEV,  /* bind a device node src on dst, read-write */
    WF_MNT_SYMLINK,   /* symlink src -> dst */
    WF_MNT_TMP,       /* the writable /tmp (size from the spawn) */
};

typedef struct wf_mount_op {
    enum wf_mount_kind kind;
    char src[PATH_MAX];
    char dst[PATH_MAX];
} wf_mount_op;

#define WF_NATIVE_MAX_OPS 32

typedef struct wf_native_plan {
    unsigned long ns_flags;        /* CLONE_NEW* in effect (0: none) */
    int drop_to_nobody;            /* started as root without a user ns: each
                                      run changes to its own run uid */
    uid_t outer_uid;               /* for the user namespace's maps */
    gid_t outer_gid;
    char uid_map[32], gid_map[32]; /* "0 <outer id> 1" */
    const char *root;              /* where the new root is assembled */
    wf_mount_op ops[WF_NATIVE_MAX_OPS];
    int nops;
    struct sock_fprog seccomp;     /* filter installed just before exec */
    const char *exe;
} wf_native_plan;

/* Per-spawn values, formatted by the parent. */
typedef struct wf_native_spawn {
    char tmp_opts[64];             /* tmpfs options of /tmp */
    int memory_mb, cpu_s, max_files, tmp_mb;
    uid_t run_uid;                 /* the run's user (drop_to_nobody) */
    int bridge_fd, out_fd, err_fd, report_fd;
    int zygote;                    /* 1: the native zygote, not a run (see
                                      native_child.c's confine_zygote) */
    char *const *argv;
} wf_native_spawn;

/* Where a zygote's child keeps its report pipe during its set-up. */
#define WF_NATIVE_REPORT_FD 4

/* Build the mount plan for `exe` (the host's python) and the seccomp
 * filter. 0 or WF_E* with err. */
int wf_native_plan_init(wf_native_plan *pl, const char *exe, char *err, size_t errlen);
void wf_native_plan_free(wf_native_plan *pl);

/* One more read-only file or folder in the view: host path src at dst.
 * 0, WF_ENOTFOUND or WF_EINTERNAL (plan full). */
int wf_native_plan_add_ro(wf_native_plan *pl, const char *src, const char *dst);

/* The child's side (native_child.c): confine, then exec the runner (or
 * the zygote). Never returns; on a failure reports the step on report_fd
 * (wf_zyserve_child_fail, read back with wf_zyserve_report_text). */
_Noreturn void wf_native_child(const wf_native_plan *pl, const wf_native_spawn *sp);

/* The steps a zygote's child takes without an exec, in this order:
 * its own mount namespace with a private /tmp (and its working directory
 * there); descriptors 0-3 as for a run, the report pipe moved to
 * WF_NATIVE_REPORT_FD (returned) and everything else closed (keep_report
 * 0: the exec path, everything beyond 3 close-on-exec); then the hardening
 * every run takes (sandbox/child_harden.h) with the plan's filter; parent:
 * the zygote (0: none), will_exec: an exec follows. */
void wf_native_child_tmp(const wf_native_spawn *sp);
int wf_native_child_fds(const wf_native_spawn *sp, int keep_report);
void wf_native_child_confine(const wf_native_plan *pl, const wf_native_spawn *sp,
                             pid_t parent, int will_exec);

#endif
