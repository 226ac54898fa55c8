/* sandbox.c - picks the sandbox engine the configuration asks for, and
 * finds the files the engines keep beside the server's binary. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <sys/socket.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/wf_error.h"
#include "sandbox/child_harden.h"
#include "sandbox/sandbox_fd.h"

#define NOBODY 65534

static struct {
    pthread_mutex_t mu;
    unsigned base;
    int usable;
    int next;                              /* round robin: a freed uid is */
    unsigned char used[WF_RUN_UID_COUNT];  /* taken again last */
} uids = {.mu = PTHREAD_MUTEX_INITIALIZER, .base = WF_RUN_UID_DEFAULT_BASE};

/* Whether ids [base, base + n) are all mapped in our user namespace (the
 * initial namespace maps everything). */
static int range_mapped(const char *map, unsigned base, unsigned n)
{
    FILE *f = fopen(map, "re");
    if (f == NULL)
        return 0;
    unsigned long inside, outside, count;
    int ok = 0;
    while (!ok && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
        ok = inside <= base && (unsigned long)base + n <= inside + count;
    fclose(f);
    return ok;
}

void wf_sandbox_uid_init(unsigned base)
{
    pthread_mutex_lock(&uids.mu);
    uids.base = base;
    uids.usable = range_mapped("/proc/self/uid_map", base, WF_RUN_UID_COUNT) &&
                  range_mapped("/proc/self/gid_map", base, WF_RUN_UID_COUNT);
    pthread_mutex_unlock(&uids.mu);
}

int wf_sandbox_uid_usable(void)
{
    pthread_mutex_lock(&uids.mu);
    int u = uids.usable;
    pthread_mutex_unlock(&uids.mu);
    return u;
}

int wf_sandbox_uid_take(void)
{
    int got = 0;
    pthread_mutex_lock(&uids.mu);
    for (int i = 0; i < WF_RUN_UID_COUNT && !got; i++) {
        int s = (uids.next + i) % WF_RUN_UID_COUNT;
        if (!uids.used[s]) {
            uids.used[s] = 1;
            uids.next = (s + 1) % WF_RUN_UID_COUNT;
            got = s + 1;
        }
    }
    pthread_mutex_unlock(&uids.mu);
    return got;
}

void wf_sandbox_uid_put(int uid_slot)
{
    if (uid_slot <= 0 || uid_slot > WF_RUN_UID_COUNT)
        return;
    pthread_mutex_lock(&uids.mu);
    uids.used[uid_slot - 1] = 0;
    pthread_mutex_unlock(&uids.mu);
}

uid_t wf_sandbox_uid_of(int uid_slot)
{
    pthread_mutex_lock(&uids.mu);
    uid_t u = uids.usable && uid_slot > 0 ? wf_run_uid(uids.base, uid_slot - 1) : NOBODY;
    pthread_mutex_unlock(&uids.mu);
    return u;
}

int wf_sandbox_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen)
{
    *out = NULL;
    wf_sandbox_uid_init(cfg->run_uid_base);
    if (cfg->sandbox == WF_SANDBOX_NATIVE)
        return wf_sandbox_native_new(cfg, out, err, errlen);
    return wf_sandbox_wasm_new(cfg, out, err, errlen);
}

int wf_sandbox_engine_dir(const char *probe, char *dir, size_t dirlen, char *err, size_t errlen)
{
    const char *env = getenv("WF_ENGINE_DIR");
    if (env && *env) {
        snprintf(dir, dirlen, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        wf_errorf(err, errlen, "cannot find the server's own binary: %s", strerror(errno));
        return WF_EUNAVAIL;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(dir, dirlen, "%s", self);
    char beside[PATH_MAX + 64];
    snprintf(beside, sizeof beside, "%s/%s", self, probe);
    if (access(beside, F_OK) < 0) {
        snprintf(beside, sizeof beside, "%s/../lib/wasmforge", self);
        char real[PATH_MAX];
        if (realpath(beside, real) != NULL)
            snprintf(dir, dirlen, "%s", real);
    }
    return 0;
}

int wf_sandbox_chan_open(wf_sandbox_chan *c, char *err, size_t errlen)
{
    c->bridge[0] = c->bridge[1] = c->out[0] = c->out[1] = c->err[0] = c->err[1] = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, c->bridge) < 0 ||
        pipe2(c->out, O_CLOEXEC) < 0 || pipe2(c->err, O_CLOEXEC) < 0) {
        int e = errno;
        wf_errorf(err, errlen, "creating the sandbox's channels failed: %s", strerror(e));
        wf_sandbox_chan_close(c);
        return e == EMFILE || e == ENFILE ? WF_EFULL : WF_EIO;
    }
    return 0;
}

void wf_sandbox_chan_close_child(wf_sandbox_chan *c)
{
    wf_sandbox_fd_close(&c->bridge[1]);
    wf_sandbox_fd_close(&c->out[1]);
    wf_sandbox_fd_close(&c->err[1]);
}

int wf_sandbox_chan_hand_over(wf_sandbox_chan *c, pid_t pid, int pidfd, wf_sandbox_proc *out,
                              char *err, size_t errlen)
{
    if (wf_sandbox_fd_nonblock(c->bridge[0]) < 0 || wf_sandbox_fd_nonblock(c->out[0]) < 0 ||
        wf_sandbox_fd_nonblock(c->err[0]) < 0) {
        wf_errorf(err, errlen, "fcntl failed: %s", strerror(errno));
        return WF_EIO;
    }
    out->pid = pid;
    out->pidfd = pidfd;
    out->bridge_fd = c->bridge[0];
    out->out_fd = c->out[0];
    out->err_fd = c->err[0];
    c->bridge[0] = c->out[0] = c->err[0] = -1;
    return 0;
}

void wf_sandbox_chan_close(wf_sandbox_chan *c)
{
    wf_sandbox_chan_close_child(c);
    wf_sandbox_fd_close(&c->bridge[0]);
    wf_sandbox_fd_close(&c->out[0]);
    wf_sandbox_fd_close(&c->err[0]);
}
