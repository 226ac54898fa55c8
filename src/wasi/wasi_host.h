/* wasi_host.h - the WASI preview1 host of WasmForge: the only way out of a
 * sandboxed wasm module, and so the place where the security policy lives.
 *
 * Life of a host (one per process: wasm2c's runtime has global state):
 *
 *   wf_vfs_image_load_tar()     once, before any fork: the read-only tree
 *   wf_wasi_host_create()       per run: fd table, /tmp, argv, env, caps
 *   wf_wasi_host_run()          instantiates the module, runs _start,
 *                               fills a wf_wasi_result (exit code or trap)
 *   wf_wasi_host_output()       the captured stdout / stderr
 *   wf_wasi_host_destroy()      frees everything the host allocated
 *
 * Ownership: the config's strings and arrays are copied by create (the caller
 * may free them afterwards), except the image, which the caller owns and must
 * keep alive until destroy. Host fds in extra_fds are owned by the host when
 * `owned` is set (closed at destroy), borrowed otherwise. Errors: 0 or a
 * negative WF_E* code, details in the caller's err buffer. */
#ifndef WF_WASI_HOST_H
#define WF_WASI_HOST_H

#include <stddef.h>
#include <stdint.h>

struct wf_vfs_image;    /* see vfs.h: a read-only tree, shareable after fork */
struct wf_wasi_host;

/* A host descriptor handed to the guest under a fixed guest fd number
 * (for example the bridge socketpair). fd_read/fd_write/poll_oneoff work on it;
 * it has no path and cannot be reached by path_open. */
struct wf_wasi_extra_fd {
    uint32_t guest_fd;  /* unique, below WF_WASI_MAX_FDS, and above the
                           preopens (3 .. 3 + n_host_dirs): wasi-libc scans
                           preopens from fd 3 up to the first that is not */
    int host_fd;
    const char *name;   /* for diagnostics only */
    int readable, writable;
    int owned;          /* close host_fd in wf_wasi_host_destroy */
};

/* A descriptor served by host callbacks instead of a host fd: the hook
 * through which a zygote can block in a WASI call and fork. Callbacks return
 * 0 or a positive WASI errno; they run inside the guest's call and may do
 * anything the process may do (including fork). */
struct wf_wasi_hook_fd {
    uint32_t guest_fd;
    const char *name;
    void *ctx;
    int (*read)(void *ctx, void *buf, size_t len, size_t *nread);
    int (*write)(void *ctx, const void *buf, size_t len, size_t *nwritten);
};

/* A real host folder mapped into the guest (wasi-run --dir only; the server
 * never uses it). Confined with a stack of directory descriptors. */
struct wf_wasi_host_dir {
    const char *host_path;
    const char *guest_path;   /* the preopen's name, e.g. "/data" */
    int readonly;
};

#define WF_WASI_MAX_FDS 1024

struct wf_wasi_config {
    const char *const *argv;    /* argv[0] is the program name */
    size_t argc;
    const char *const *env;     /* "KEY=VALUE" strings */
    size_t envc;

    const struct wf_vfs_image *image;  /* NULL: only /tmp exists */
    int no_vfs;                        /* no synthetic tree, no "/" preopen */
    uint64_t tmp_max_bytes;            /* 0: 16 MiB */
    uint32_t tmp_max_inodes;           /* 0: 1024 */

    /* stdin: the host fd stdin_fd when stdin_from_fd is set, else the bytes
     * below (NULL: empty). */
    int stdin_from_fd, stdin_fd;
    const void *stdin_data;
    size_t stdin_len;
    /* stdout/stderr: written to the host fd when *_to_fd is set, else
     * captured in a buffer. Either way at most *_cap bytes (0: 1 MiB) pass;
     * then a marker line is written once and the stream's `flooded` flag is
     * set (the guest's writes keep succeeding and go nowhere). */
    int stdout_to_fd, stdout_fd, stderr_to_fd, stderr_fd;
    size_t stdout_cap, stderr_cap;
    /* Called once per stream (fd 1 or 2) when it reaches its cap, from
     * inside the guest's fd_write: the runner can tell its supervisor at
     * once (to kill a flooder) instead of waiting for the run to end. */
    void (*on_flood)(void *ctx, int fd);
    void *flood_ctx;

    const struct wf_wasi_extra_fd *extra_fds;
    size_t n_extra_fds;
    const struct wf_wasi_hook_fd *hook_fds;
    size_t n_hook_fds;
    const struct wf_wasi_host_dir *host_dirs;
    size_t n_host_dirs;

    /* Cap of the guest's linear memory in 64 KiB pages (0: 16384 = 1 GiB).
     * memory.grow beyond it fails, as if the module had declared it. */
    uint32_t max_memory_pages;
};

/* Marker written once when an output stream reaches its cap. */
#define WF_WASI_TRUNCATION_MARKER "\n[output truncated]\n"

enum wf_wasi_outcome {
    WF_WASI_EXITED = 0,   /* _start returned (code 0) or proc_exit(code) */
    WF_WASI_TRAPPED = 1,  /* a wasm trap: see trap / trap_msg */
};

/* Trap codes beyond wasm2c's own wasm_rt_trap_t values. */
#define WF_WASI_TRAP_HOST_STACK 100  /* a host call had no stack left */

struct wf_wasi_result {
    enum wf_wasi_outcome outcome;
    int exit_code;          /* valid when EXITED */
    int trap;               /* wasm_rt_trap_t or WF_WASI_TRAP_*; when TRAPPED */
    const char *trap_msg;   /* static text */
    int memory_exhausted;   /* the memory ended at its cap (a grow past it
                               was likely refused) */
};

/* The module-specific part, provided by wasi_module_glue.c compiled against
 * the module's generated header (module name "mod"). */
struct wf_wasi_module {
    size_t instance_size;
    void (*init_module)(void);
    void (*instantiate)(void *instance, void *imports);
    void *(*memory)(void *instance);   /* wasm_rt_memory_t *, NULL if none */
    void (*start)(void *instance);
    void (*free_instance)(void *instance);
};
/* The module of a binary that links wasi_module_glue.c (wf-engine, wasi-run's
 * executables): defined there, declared once here. */
extern const struct wf_wasi_module wf_wasi_module_mod;

int wf_wasi_host_create(const struct wf_wasi_config *cfg,
                        struct wf_wasi_host **out, char *err, size_t errlen);
void wf_wasi_host_destroy(struct wf_wasi_host *h);

/* Replaces what the guest's stdin (fd 0) holds with a copy of the len bytes
 * at data, read from the start, then end of file; only for a host whose
 * stdin is bytes, not a host fd (WF_EINVAL). 0, or WF_ENOMEM. The guest may
 * be running: the zygote's runs get their input this way. */
int wf_wasi_host_set_stdin(struct wf_wasi_host *h, const void *data, size_t len);

/* Instantiates and runs the module's _start. Returns 0 when the guest ran
 * (whatever its outcome, in *res), a negative WF_E* code when it could not be
 * started (memory over the cap, no memory export, already run). */
int wf_wasi_host_run(struct wf_wasi_host *h, const struct wf_wasi_module *mod,
                     struct wf_wasi_result *res, char *err, size_t errlen);

/* Captured output of fd 1 or 2 (empty when it went to a host fd). The
 * pointer stays valid until destroy. *flooded: the cap was reached. */
const char *wf_wasi_host_output(const struct wf_wasi_host *h, int fd,
                                size_t *len, int *flooded);

/* Installs the fault handler that turns faults inside the guest memory
 * reservation (and guest stack exhaustion) into traps and leaves every other
 * fault fatal. wf_wasi_host_run calls it; exposed for tests. */
int wf_wasi_signals_install(char *err, size_t errlen);

#endif
