/* wasi_host.c - a host's life: configuration, descriptor table set-up,
 * running the module's _start, and the fault handler that tells guest
 * traps from host crashes. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/wf_error.h"
#include "wasi/wasi_internal.h"
#include "wasm-rt-impl.h"

#if !WASM_RT_SKIP_SIGNAL_RECOVERY
#error "build the wasm2c runtime with WASM_RT_SKIP_SIGNAL_RECOVERY=1: the host installs its own fault handler"
#endif
#if !WASM_RT_USE_STACK_DEPTH_COUNT
#error "build the wasm2c runtime with WASM_RT_USE_STACK_DEPTH_COUNT=1 so modules may use either stack check"
#endif

#define GUEST_RESERVATION 0x200000000ull   /* wasm2c reserves 8 GiB a memory */
#define HOST_STACK_HEADROOM (256u * 1024)  /* a host call needs this much */
#define STACK_GUARD_BELOW (1024u * 1024)   /* the kernel's gap under a stack */

/* Fault classification state. One guest per process (wasm2c's runtime is
 * global too), so these are process globals, written before the guest runs. */
static const wasm_rt_memory_t *volatile g_guest_mem;
static uintptr_t g_stack_lo;             /* lowest address of our stack */
static volatile sig_atomic_t g_in_host;  /* inside a WASI call */
static volatile sig_atomic_t g_in_guest; /* between run start and end */

static void on_fault(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    uintptr_t a = (uintptr_t)si->si_addr;
    if (g_in_guest && !g_in_host) {
        const wasm_rt_memory_t *m = g_guest_mem;
        if (m && a >= (uintptr_t)m->data && a - (uintptr_t)m->data < GUEST_RESERVATION)
            wasm_rt_trap(WASM_RT_TRAP_OOB);
        if (g_stack_lo && a < g_stack_lo + 65536 && a + STACK_GUARD_BELOW >= g_stack_lo)
            wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    }
    /* Anything else is a bug in the host: die of it, visibly, with the
     * default action (the faulting instruction runs again without us). */
    signal(sig, SIG_DFL);
}

int wf_wasi_signals_install(char *err, size_t errlen)
{
    static char *altstack;
    static const size_t altsize = 64 * 1024;
    if (!altstack) {
        altstack = malloc(altsize);
        if (!altstack) {
            wf_errorf(err, errlen, "out of memory for the signal stack");
            return WF_ENOMEM;
        }
    }
    stack_t ss = { .ss_sp = altstack, .ss_flags = 0, .ss_size = altsize };
    if (sigaltstack(&ss, NULL) < 0) {
        wf_errorf(err, errlen, "sigaltstack: %s", strerror(errno));
        return WF_EIO;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGBUS, &sa, NULL) < 0) {
        wf_errorf(err, errlen, "sigaction: %s", strerror(errno));
        return WF_EIO;
    }
    pthread_attr_t at;
    void *lo;
    size_t sz;
    if (pthread_getattr_np(pthread_self(), &at) == 0) {
        if (pthread_attr_getstack(&at, &lo, &sz) == 0)
            g_stack_lo = (uintptr_t)lo;
        pthread_attr_destroy(&at);
    }
    return 0;
}

/* Called at the entry of every WASI import: refuses to run host code without
 * stack to spare (so a host function never overflows mid-way) and marks the
 * host as running, so a fault from here on is never taken for a trap. */
void wf_wasi_enter(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (g_stack_lo && sp < g_stack_lo + HOST_STACK_HEADROOM)
        wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    g_in_host = 1;
}

void wf_wasi_leave(void)
{
    g_in_host = 0;
}

/* ------------------------------------------------------------- create */

static int join_strings(const char *const *v, size_t n, char **buf, size_t *len,
                        uint32_t *count)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]) + 1;
        if (l > UINT32_MAX - total)
            return WF_ETOOBIG;
        total += l;
    }
    *buf = malloc(total ? total : 1);
    if (!*buf)
        return WF_ENOMEM;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]) + 1;
        memcpy(*buf + off, v[i], l);
        off += l;
    }
    *len = total;
    *count = (uint32_t)n;
    return 0;
}

static const char *keep_name(struct wf_wasi_host *h, const char *s)
{
    char **v = realloc(h->names, (h->n_names + 1) * sizeof(*v));
    if (!v)
        return NULL;
    h->names = v;
    char *c = strdup(s ? s : "");
    if (!c)
        return NULL;
    h->names[h->n_names++] = c;
    return c;
}

static uint8_t filetype_of_host_fd(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return WASI_FILETYPE_UNKNOWN;
    if (S_ISCHR(st.st_mode)) return WASI_FILETYPE_CHARACTER_DEVICE;
    if (S_ISSOCK(st.st_mode)) return WASI_FILETYPE_SOCKET_STREAM;
    if (S_ISREG(st.st_mode)) return WASI_FILETYPE_REGULAR_FILE;
    return WASI_FILETYPE_UNKNOWN;
}

int wf_wasi_host_create(const struct wf_wasi_config *cfg,
                        struct wf_wasi_host **out, char *err, size_t errlen)
{
    struct wf_wasi_host *h = calloc(1, sizeof(*h));
    if (!h) {
        wf_errorf(err, errlen, "out of memory");
        return WF_ENOMEM;
    }
    h->imports.host = h;
    for (uint32_t i = 0; i < WF_WASI_MAX_FDS; i++)
        h->fds[i].host_fd = -1;
    h->out.host_fd = h->err.host_fd = -1;
    int rc;
    if ((rc = join_strings(cfg->argv, cfg->argc, &h->argbuf, &h->argbuf_len, &h->argc)) ||
        (rc = join_strings(cfg->env, cfg->envc, &h->envbuf, &h->envbuf_len, &h->envc))) {
        wf_errorf(err, errlen, "arguments or environment too large");
        goto fail;
    }
    h->max_pages = cfg->max_memory_pages ? cfg->max_memory_pages : 16384;
    if (h->max_pages > 65536)
        h->max_pages = 65536;

    /* stdio */
    if (cfg->stdin_from_fd) {
        h->fds[0] = (struct wf_wasi_fd){ .kind = WF_FD_STDIN, .host_fd = cfg->stdin_fd,
                                         .filetype = filetype_of_host_fd(cfg->stdin_fd) };
    } else {
        if (cfg->stdin_len) {
            h->stdin_copy = malloc(cfg->stdin_len);
            if (!h->stdin_copy) {
                rc = WF_ENOMEM;
                wf_errorf(err, errlen, "out of memory");
                goto fail;
            }
            memcpy(h->stdin_copy, cfg->stdin_data, cfg->stdin_len);
        }
        h->stdin_data = h->stdin_copy;
        h->stdin_len = cfg->stdin_len;
        h->fds[0] = (struct wf_wasi_fd){ .kind = WF_FD_STDIN, .host_fd = -1,
                                         .filetype = WASI_FILETYPE_UNKNOWN };
    }
    h->fds[0].rights = WASI_RIGHTS_STREAM & ~WASI_RIGHT_FD_WRITE;
    h->out.cap = cfg->stdout_cap ? cfg->stdout_cap : (1u << 20);
    h->err.cap = cfg->stderr_cap ? cfg->stderr_cap : (1u << 20);
    if (cfg->stdout_to_fd)
        h->out.host_fd = cfg->stdout_fd;
    if (cfg->stderr_to_fd)
        h->err.host_fd = cfg->stderr_fd;
    for (int i = 1; i <= 2; i++) {
        struct wf_wasi_stream *s = i == 1 ? &h->out : &h->err;
        s->fd = i;
        s->on_flood = cfg->on_flood;
        s->flood_ctx = cfg->flood_ctx;
        h->fds[i] = (struct wf_wasi_fd){
            .kind = WF_FD_OUTPUT, .host_fd = -1, .stream = s,
            .rights = WASI_RIGHTS_STREAM & ~WASI_RIGHT_FD_READ,
            .filetype = s->host_fd >= 0 ? filetype_of_host_fd(s->host_fd)
                                        : WASI_FILETYPE_UNKNOWN };
    }

    /* Preopens: "/" (the synthetic tree), then mapped host folders. */
    uint32_t next = 3;
    if (!cfg->no_vfs) {
        if (wf_vfs_init(&h->vfs, cfg->image,
                        cfg->tmp_max_bytes ? cfg->tmp_max_bytes : (16u << 20),
                        cfg->tmp_max_inodes ? cfg->tmp_max_inodes : 1024)) {
            rc = WF_ENOMEM;
            wf_errorf(err, errlen, "out of memory");
            goto fail;
        }
        h->have_vfs = 1;
        h->fds[next++] = (struct wf_wasi_fd){
            .kind = WF_FD_VFS, .node = h->vfs.root, .host_fd = -1,
            .filetype = WASI_FILETYPE_DIRECTORY, .preopen = "/",
            .rights = WASI_RIGHTS_DIR, .inheriting = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE };
    }
    for (size_t i = 0; i < cfg->n_host_dirs; i++) {
        const struct wf_wasi_host_dir *d = &cfg->host_dirs[i];
        int dfd;
        if (wf_wasi_hostdir_open_preopen(d->host_path, &dfd, err, errlen)) {
            rc = WF_EINVAL;
            goto fail;
        }
        const char *name = keep_name(h, d->guest_path);
        if (!name) {
            close(dfd);
            rc = WF_ENOMEM;
            wf_errorf(err, errlen, "out of memory");
            goto fail;
        }
        uint64_t r = WASI_RIGHTS_DIR, inh = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
        if (d->readonly) {
            r &= ~WASI_RIGHTS_WRITE;
            inh &= ~WASI_RIGHTS_WRITE;
        }
        h->fds[next++] = (struct wf_wasi_fd){
            .kind = WF_FD_HOSTDIR, .host_fd = dfd, .host_readonly = d->readonly,
            .filetype = WASI_FILETYPE_DIRECTORY, .preopen = name,
            .rights = r, .inheriting = inh };
    }

    for (size_t i = 0; i < cfg->n_extra_fds + cfg->n_hook_fds; i++) {
        int is_hook = i >= cfg->n_extra_fds;
        uint32_t g = is_hook ? cfg->hook_fds[i - cfg->n_extra_fds].guest_fd
                             : cfg->extra_fds[i].guest_fd;
        if (g <= next - 1 || g >= WF_WASI_MAX_FDS || h->fds[g].kind != WF_FD_FREE) {
            wf_errorf(err, errlen, "guest fd %u for an extra descriptor is taken or out of range "
                      "(preopens use 3..%u)", g, next - 1);
            rc = WF_EINVAL;
            goto fail;
        }
        if (!is_hook) {
            const struct wf_wasi_extra_fd *e = &cfg->extra_fds[i];
            uint64_t r = WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET |
                         WASI_RIGHT_POLL_FD_READWRITE;
            if (e->readable) r |= WASI_RIGHT_FD_READ;
            if (e->writable) r |= WASI_RIGHT_FD_WRITE;
            h->fds[g] = (struct wf_wasi_fd){ .kind = WF_FD_HOST, .host_fd = e->host_fd,
                                             .filetype = filetype_of_host_fd(e->host_fd),
                                             .rights = r };
        } else {
            h->fds[g] = (struct wf_wasi_fd){ .kind = WF_FD_HOOK, .host_fd = -1,
                                             .hook = &cfg->hook_fds[i - cfg->n_extra_fds],
                                             .filetype = WASI_FILETYPE_SOCKET_STREAM,
                                             .rights = WASI_RIGHTS_STREAM };
        }
    }
    /* Keep what we must close or call later. */
    if (cfg->n_extra_fds) {
        h->extra = calloc(cfg->n_extra_fds, sizeof(*h->extra));
        if (!h->extra) {
            rc = WF_ENOMEM;
            wf_errorf(err, errlen, "out of memory");
            goto fail;
        }
        memcpy(h->extra, cfg->extra_fds, cfg->n_extra_fds * sizeof(*h->extra));
        h->n_extra = cfg->n_extra_fds;
    }
    if (cfg->n_hook_fds) {
        h->hooks = calloc(cfg->n_hook_fds, sizeof(*h->hooks));
        if (!h->hooks) {
            rc = WF_ENOMEM;
            wf_errorf(err, errlen, "out of memory");
            goto fail;
        }
        memcpy(h->hooks, cfg->hook_fds, cfg->n_hook_fds * sizeof(*h->hooks));
        h->n_hooks = cfg->n_hook_fds;
        for (size_t i = 0; i < h->n_hooks; i++)
            h->fds[h->hooks[i].guest_fd].hook = &h->hooks[i];
    }
    *out = h;
    return 0;
fail:
    wf_wasi_host_destroy(h);
    return rc ? rc : WF_EINVAL;
}

int wf_wasi_host_set_stdin(struct wf_wasi_host *h, const void *data, size_t len)
{
    if (h->fds[0].kind != WF_FD_STDIN || h->fds[0].host_fd >= 0)
        return WF_EINVAL;
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return WF_ENOMEM;
    if (len)
        memcpy(copy, data, len);
    free(h->stdin_copy);
    h->stdin_copy = copy;
    h->stdin_data = copy;
    h->stdin_len = len;
    h->stdin_pos = 0;
    return 0;
}

void wf_wasi_host_destroy(struct wf_wasi_host *h)
{
    if (!h)
        return;
    wf_wasi_fd_release_all(h);
    if (h->have_vfs)
        wf_vfs_destroy(&h->vfs);
    for (size_t i = 0; i < h->n_extra; i++)
        if (h->extra[i].owned && h->extra[i].host_fd >= 0)
            close(h->extra[i].host_fd);
    for (size_t i = 0; i < h->n_names; i++)
        free(h->names[i]);
    free(h->names);
    free(h->extra);
    free(h->hooks);
    free(h->argbuf);
    free(h->envbuf);
    free(h->stdin_copy);
    free(h->out.buf);
    free(h->err.buf);
    free(h);
}

const char *wf_wasi_host_output(const struct wf_wasi_host *h, int fd,
                                size_t *len, int *flooded)
{
    const struct wf_wasi_stream *s = fd == 2 ? &h->err : &h->out;
    if (len)
        *len = s->len;
    if (flooded)
        *flooded = s->flooded;
    return s->buf ? s->buf : "";
}

int wf_wasi_host_setup_memory(struct wf_wasi_host *h, wasm_rt_memory_t *mem)
{
    h->mem = mem;
    return 0;
}

/* ---------------------------------------------------------------- run */

/* Runs one entry point with both ways out caught: proc_exit unwinds to
 * exit_jmp, a trap to wasm2c's jump buffer. Kept small because locals do not
 * survive a longjmp. */
static void call_guarded(struct wf_wasi_host *h, void (*fn)(void *), void *inst,
                         struct wf_wasi_result *res)
{
    jmp_buf ej;
    /* Valid only while this frame lives: every way out below clears it. */
    // cppcheck-suppress autoVariables
    h->exit_jmp = &ej;
    if (setjmp(ej)) {
        h->exit_jmp = NULL;
        res->outcome = WF_WASI_EXITED;
        res->exit_code = h->exit_code;
        wasm_rt_call_stack_depth = 0;
        g_in_host = 0;
        return;
    }
    wasm_rt_trap_t t = (wasm_rt_trap_t)wasm_rt_impl_try();
    if (t != WASM_RT_TRAP_NONE) {
        h->exit_jmp = NULL;
        res->outcome = WF_WASI_TRAPPED;
        res->trap = (int)t;
        res->trap_msg = wasm_rt_strerror(t);
        wasm_rt_call_stack_depth = 0;
        g_in_host = 0;
        return;
    }
    fn(inst);
    h->exit_jmp = NULL;
    res->outcome = WF_WASI_EXITED;
    res->exit_code = 0;
}

static const struct wf_wasi_module *g_mod;
static struct wf_wasi_host *g_host;

static void do_instantiate(void *inst)
{
    g_mod->instantiate(inst, &g_host->imports);
}

static void do_start(void *inst)
{
    g_mod->start(inst);
}

int wf_wasi_host_run(struct wf_wasi_host *h, const struct wf_wasi_module *mod,
                     struct wf_wasi_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    if (h->ran) {
        wf_errorf(err, errlen, "a host runs one module once");
        return WF_EINVAL;
    }
    h->ran = 1;
    int rc = wf_wasi_signals_install(err, errlen);
    if (rc)
        return rc;
    wasm_rt_init();
    mod->init_module();
    void *inst = calloc(1, mod->instance_size);
    if (!inst) {
        wf_errorf(err, errlen, "out of memory");
        return WF_ENOMEM;
    }
    g_mod = mod;
    g_host = h;
    g_in_guest = 1;
    call_guarded(h, do_instantiate, inst, res);
    wasm_rt_memory_t *mem = mod->memory(inst);
    if (res->outcome == WF_WASI_TRAPPED) {
        rc = 0;   /* a trap while instantiating is the guest's outcome */
        goto out;
    }
    if (!mem) {
        wf_errorf(err, errlen, "the module exports no memory");
        rc = WF_EINVAL;
        goto out;
    }
    if (mem->pages > h->max_pages) {
        wf_errorf(err, errlen, "the module needs %u pages of memory, the cap is %u",
                  mem->pages, h->max_pages);
        rc = WF_ETOOBIG;
        goto out;
    }
    /* The cap: wasm_rt_grow_memory refuses to pass max_pages, and the guest
     * sees memory.grow fail (-1), which its allocator reports as no memory. */
    if (mem->max_pages > h->max_pages)
        mem->max_pages = h->max_pages;
    h->mem = mem;
    g_guest_mem = mem;
    call_guarded(h, do_start, inst, res);
    res->memory_exhausted = mem->pages == mem->max_pages;
    rc = 0;
out:
    g_in_guest = 0;
    g_guest_mem = NULL;
    h->mem = NULL;
    h->exit_jmp = NULL;
    mod->free_instance(inst);
    free(inst);
    wasm_rt_free();
    return rc;
}
