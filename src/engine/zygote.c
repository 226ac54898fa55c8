/* zygote.c - the WebAssembly engine's zygote: an initialised CPython blocked
 * in a WASI read serves fork requests (sandbox/zygote_serve.c's loop).
 *
 * What is the engine's own is the child's set-up (child_setup): the host's
 * descriptors, the guest's share of the run (memory cap, /tmp, output
 * counters), rlimits, the user, seccomp. Failures of a step are reported to
 * the zygote and become a failed spawn, not a failed run. */
#include "engine/zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/child_harden.h"
#include "sandbox/zygote_proto.h"
#include "sandbox/zygote_serve.h"
#include "wasi/wasi_internal.h"

#define NOBODY 65534
#define REPORT_FD 103 /* the child's set-up report pipe, closed last */
static struct {
    struct wf_wasi_host *host;
    int control_fd;
    int stdin_given;         /* a run's stdin is set (children inherit 0) */
    unsigned long vmdata_kb; /* the zygote's data size when it was ready */
    struct sock_fprog filter; /* the children's seccomp program */
} z = {.control_fd = -1};

void wf_zygote_init(struct wf_wasi_host *host, int control_fd)
{
    z.host = host;
    z.control_fd = control_fd;
}

int wf_zygote_is_child(void)
{
    return wf_zyserve_is_child();
}

void wf_zygote_fail(int control_fd, const char *msg)
{
    wf_zyserve_fail(control_fd, msg);
}

static unsigned long vmdata_kb(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    unsigned long kb = 0;
    char line[256];
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmData: %lu kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- in the child ---- */

static void child_report(const char *what)
{
    wf_zyserve_child_fail(REPORT_FD, what);
}

/* A run's end: its descriptors close first, so the server has the whole
 * result at once, not after the kernel has unmapped the process. */
static void child_exit(struct wf_wasi_host *h, uint32_t code)
{
    (void)h;
    close(WF_ZYGOTE_HOSTFD_STDOUT);
    close(WF_ZYGOTE_HOSTFD_STDERR);
    close(WF_ZYGOTE_HOSTFD_BRIDGE);
    _exit((int)(code & 0xff));
}

/* Everything a child does before it returns into Python. fds: bridge,
 * stdout, stderr (the status pipe stays with the zygote). */
static void child_setup(void *ctx, const struct wf_zygote_req *req, const int *fds,
                        int report_fd, pid_t zygote)
{
    (void)ctx;
    /* The run's descriptors at fixed numbers, and nothing else: 0 and 1 are
     * /dev/null already (the engine made them so), stderr joins them. */
    if (dup2(report_fd, REPORT_FD) < 0)
        _exit(126);
    if (dup2(fds[0], WF_ZYGOTE_HOSTFD_BRIDGE) < 0 || dup2(fds[1], WF_ZYGOTE_HOSTFD_STDOUT) < 0 ||
        dup2(fds[2], WF_ZYGOTE_HOSTFD_STDERR) < 0 || dup2(0, 2) < 0)
        child_report("dup2");
    if (syscall(SYS_close_range, 3u, (unsigned)WF_ZYGOTE_HOSTFD_BRIDGE - 1, 0u) < 0 ||
        syscall(SYS_close_range, (unsigned)REPORT_FD + 1, ~0u, 0u) < 0)
        child_report("close_range");

    /* The guest's share of this run: the control hook is gone, the memory
     * cap and /tmp are the run's, the output counters start at zero. */
    struct wf_wasi_host *h = z.host;
    memset(&h->fds[WF_ZYGOTE_GUESTFD_CONTROL], 0, sizeof h->fds[0]);
    h->fds[WF_ZYGOTE_GUESTFD_CONTROL].host_fd = -1;
    uint64_t pages = (uint64_t)req->memory_mb * 16;
    if (h->mem) {
        if (pages < h->mem->pages)
            pages = h->mem->pages;
        if (pages < h->mem->max_pages)
            h->mem->max_pages = pages;
    }
    h->vfs.max_bytes = (uint64_t)(req->tmp_mb ? req->tmp_mb : 16) << 20;
    h->out.passed = h->err.passed = 0;
    h->out.flooded = h->err.flooded = 0;
    h->on_exit = child_exit;

    /* Host memory beyond the guest's: what the zygote had, the cap, and
     * room for the host's own buffers (/tmp, output). No file growth: the
     * guest's files are in memory. */
    wf_child_hardening hd = {
        .report_fd = REPORT_FD,
        .data_bytes = ((rlim_t)z.vmdata_kb << 10) + ((rlim_t)req->memory_mb << 20) +
                      ((rlim_t)(req->tmp_mb ? req->tmp_mb : 16) << 20) + ((rlim_t)64 << 20),
        .fsize_bytes = 0,
        .cpu_s = (int)req->cpu_s,
        .max_files = REPORT_FD + 1,
        .run_uid = req->run_uid ? (uid_t)req->run_uid : NOBODY,
        .become_run_uid = geteuid() == 0,
        .parent = zygote,
        .seccomp = &z.filter,
    };
    wf_child_harden(&hd);
    close(REPORT_FD);
}

/* ---- in the zygote ---- */

/* Blocks serving requests; returns only in a child. */
static void serve(void)
{
    char err[200];
    if (wf_zygote_seccomp_build(&z.filter, err, sizeof err) < 0) {
        wf_zygote_fail(z.control_fd, err);
        _exit(1);
    }
    z.vmdata_kb = vmdata_kb();
    wf_zyserve_run(z.control_fd, 0, child_setup, NULL);
}

int wf_zygote_stdin_write(void *ctx, const void *buf, size_t len, size_t *nwritten)
{
    (void)ctx;
    if (!wf_zyserve_is_child() || z.stdin_given)
        return WASI_EBADF;
    if (len > WF_ZYGOTE_STDIN_MAX)
        return WASI_EFBIG;
    if (wf_wasi_host_set_stdin(z.host, buf, len) != 0)
        return WASI_ENOMEM;
    z.stdin_given = 1;
    *nwritten = len;
    return 0;
}

int wf_zygote_hook_read(void *ctx, void *buf, size_t len, size_t *nread)
{
    (void)ctx;
    if (wf_zyserve_is_child())
        return WASI_EBADF;
    serve();
    /* In a run's child, confined: hand Python its go. */
    static const char go[] = "run\n";
    size_t n = len < sizeof go - 1 ? len : sizeof go - 1;
    memcpy(buf, go, n);
    *nread = n;
    return 0;
}
