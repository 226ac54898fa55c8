/* engine_main.c - main of build/wf-engine, the WebAssembly sandbox engine:
 * CPython (wasm2c, linked in) on the WASI host, run as a forking zygote.
 *
 * usage: wf-engine --image STDLIB.tar [--out-cap N] RUNNER_SOURCE [SDK_SOURCE]
 * Started by the server (sandbox/wasm.c) with the control socket at
 * WF_ZYGOTE_CONTROL_FD; see sandbox/zygote_proto.h for the protocol. The
 * zygote's own output goes to stderr (the server's log); a run's child
 * exits with the guest's exit status, or 125 after a trap. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/zygote.h"
#include "embedded.h"
#include "sandbox/zygote_proto.h"
#include "wasi/vfs.h"
#include "wasi/wasi_host.h"

static void die(const char *fmt, const char *arg)
{
    char msg[240];
    snprintf(msg, sizeof msg, fmt, arg);
    fprintf(stderr, "wf-engine: %s\n", msg);
    wf_zygote_fail(WF_ZYGOTE_CONTROL_FD, msg);
    exit(2);
}

/* Reserve the run descriptors' numbers so nothing else lands there, and
 * give stdin/stdout something harmless. */
static void setup_fds(void)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        die("/dev/null: %s", strerror(errno));
    if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, WF_ZYGOTE_HOSTFD_BRIDGE) < 0 ||
        dup2(null, WF_ZYGOTE_HOSTFD_STDOUT) < 0 || dup2(2, WF_ZYGOTE_HOSTFD_STDERR) < 0)
        die("dup2: %s", strerror(errno));
    if (null > 2)
        close(null);
}

int main(int argc, char **argv)
{
    const char *image_path = NULL;
    size_t out_cap = (size_t)64 << 20;
    int i;
    for (i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "--image"))
            image_path = argv[++i];
        else if (!strcmp(argv[i], "--out-cap"))
            out_cap = (size_t)strtoull(argv[++i], NULL, 10);
        else
            break;
    }
    int npos = argc - i;
    if (npos < 1 || npos > 2 || !image_path) {
        fprintf(stderr, "usage: wf-engine --image STDLIB.tar [--out-cap N] RUNNER_SOURCE [SDK_SOURCE]\n");
        wf_zygote_fail(WF_ZYGOTE_CONTROL_FD, "bad engine arguments");
        return 2;
    }
    int type = 0;
    socklen_t tl = sizeof type;
    if (getsockopt(WF_ZYGOTE_CONTROL_FD, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
        type != SOCK_SEQPACKET) {
        fprintf(stderr, "wf-engine: descriptor %d must be the control socket (SOCK_SEQPACKET)\n",
                WF_ZYGOTE_CONTROL_FD);
        return 2;
    }
    /* The server's death ends the zygote (and so every run); signals for
     * the server's terminal are the server's to handle. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setsid();
    signal(SIGPIPE, SIG_IGN);
    setup_fds();

    char err[512] = "";
    struct wf_vfs_image *img = NULL;
    if (wf_vfs_image_load_tar(image_path, &img, err, sizeof err))
        die("loading the standard library failed: %s", err);

    const char *pyargv[] = {"python", "-I", "-S", "-B", "-X", "utf8", "-u",
                            "-c", wf_engine_zygote_py, argv[i], npos > 1 ? argv[i + 1] : NULL};
    struct wf_wasi_extra_fd bridge = {
        .guest_fd = WF_ZYGOTE_GUESTFD_BRIDGE, .host_fd = WF_ZYGOTE_HOSTFD_BRIDGE,
        .name = "bridge", .readable = 1, .writable = 1,
    };
    struct wf_wasi_hook_fd hooks[] = {
        {.guest_fd = WF_ZYGOTE_GUESTFD_CONTROL, .name = "control", .read = wf_zygote_hook_read},
        {.guest_fd = WF_ZYGOTE_GUESTFD_STDIN, .name = "stdin", .write = wf_zygote_stdin_write},
    };
    struct wf_wasi_config cfg = {
        .argv = pyargv, .argc = sizeof pyargv / sizeof pyargv[0] - (npos > 1 ? 0 : 1),
        .image = img,
        .stdout_to_fd = 1, .stdout_fd = WF_ZYGOTE_HOSTFD_STDOUT, .stdout_cap = out_cap,
        .stderr_to_fd = 1, .stderr_fd = WF_ZYGOTE_HOSTFD_STDERR, .stderr_cap = out_cap,
        .extra_fds = &bridge, .n_extra_fds = 1,
        .hook_fds = hooks, .n_hook_fds = sizeof hooks / sizeof hooks[0],
    };
    struct wf_wasi_host *h;
    if (wf_wasi_host_create(&cfg, &h, err, sizeof err))
        die("creating the WASI host failed: %s", err);
    wf_zygote_init(h, WF_ZYGOTE_CONTROL_FD);

    struct wf_wasi_result res;
    int rc = wf_wasi_host_run(h, &wf_wasi_module_mod, &res, err, sizeof err);
    if (!wf_zygote_is_child()) {
        /* Python ended before it reached the control read. */
        if (rc)
            die("the engine could not run Python: %s", err);
        if (res.outcome == WF_WASI_TRAPPED)
            die("Python trapped while starting: %s", res.trap_msg);
        char msg[64];
        snprintf(msg, sizeof msg, "%d", res.exit_code);
        die("Python exited with status %s before it was ready (see the log)", msg);
    }
    /* A run's child: its plugin has finished one way or another. */
    if (rc)
        _exit(125);
    if (res.outcome == WF_WASI_TRAPPED) {
        char msg[256];
        int n = snprintf(msg, sizeof msg, "%s%s\n",
                         res.memory_exhausted
                             ? "MemoryError: out of memory (the plugin reached its memory limit); "
                             : "",
                         res.trap_msg);
        if (n > 0 && write(WF_ZYGOTE_HOSTFD_STDERR, msg, (size_t)n) < 0)
            _exit(125);
        _exit(res.memory_exhausted ? 137 : 125);
    }
    _exit(res.exit_code);
}
