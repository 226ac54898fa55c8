/* wasi_run_main.c - main of the executables wasi-run builds: one wasm module
 * (linked in through wasi_module_glue.c) run on the WASI host.
 *
 * usage: run [--dir HOST::GUEST[:ro]] [--env K=V] [--stdin FILE]
 *            [--image TAR] [--tmp-bytes N] [--tmp-inodes N] [--max-pages N]
 *            [--stdout-cap N] [--no-vfs] -- [argv0 args...]
 * Exit status: the guest's; 125 with a message on stderr when it trapped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasi/vfs.h"
#include "wasi/wasi_host.h"

#define MAX_OPTS 64

static void usage(void)
{
    fprintf(stderr, "usage: run [--dir HOST::GUEST[:ro]] [--env K=V] [--stdin FILE] "
                    "[--image TAR] [--tmp-bytes N] [--tmp-inodes N] [--max-pages N] "
                    "[--stdout-cap N] [--no-vfs] -- argv0 [args...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct wf_wasi_config cfg;
    struct wf_wasi_host_dir dirs[MAX_OPTS];
    const char *env[MAX_OPTS];
    struct wf_vfs_image *img = NULL;
    char err[512] = "";
    int i;

    memset(&cfg, 0, sizeof(cfg));
    cfg.env = env;
    cfg.host_dirs = dirs;
    cfg.stdin_from_fd = 1;
    cfg.stdin_fd = 0;
    cfg.stdout_to_fd = cfg.stderr_to_fd = 1;
    cfg.stdout_fd = 1;
    cfg.stderr_fd = 2;
    cfg.stdout_cap = cfg.stderr_cap = (size_t)1 << 40;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--no-vfs")) {
            cfg.no_vfs = 1;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--dir")) {
            if (cfg.n_host_dirs == MAX_OPTS)
                usage();
            char *copy = strdup(v);
            char *sep = copy ? strstr(copy, "::") : NULL;
            if (!sep)
                usage();
            *sep = '\0';
            struct wf_wasi_host_dir *d = &dirs[cfg.n_host_dirs++];
            d->host_path = copy;
            d->guest_path = sep + 2;
            size_t gl = strlen(d->guest_path);
            d->readonly = gl > 3 && !strcmp(d->guest_path + gl - 3, ":ro");
            if (d->readonly)
                sep[2 + gl - 3] = '\0';
        } else if (!strcmp(a, "--env")) {
            if (cfg.envc == MAX_OPTS || !strchr(v, '='))
                usage();
            env[cfg.envc++] = v;
        } else if (!strcmp(a, "--stdin")) {
            int fd = open(v, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                fprintf(stderr, "wasi-run: %s: %s\n", v, strerror(errno));
                exit(2);   /* as usage(): the options parsed so far are the process's to free */
            }
            cfg.stdin_fd = fd;
        } else if (!strcmp(a, "--image")) {
            if (wf_vfs_image_load_tar(v, &img, err, sizeof(err))) {
                fprintf(stderr, "wasi-run: %s\n", err);
                exit(2);
            }
            cfg.image = img;
        } else if (!strcmp(a, "--tmp-bytes")) {
            cfg.tmp_max_bytes = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--tmp-inodes")) {
            cfg.tmp_max_inodes = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--max-pages")) {
            cfg.max_memory_pages = (uint32_t)strtoul(v, NULL, 10);
        } else if (!strcmp(a, "--stdout-cap")) {
            cfg.stdout_cap = strtoull(v, NULL, 10);
        } else {
            usage();
        }
    }
    if (i >= argc)
        usage();
    cfg.argv = (const char *const *)&argv[i];
    cfg.argc = (size_t)(argc - i);

    struct wf_wasi_host *h;
    if (wf_wasi_host_create(&cfg, &h, err, sizeof(err))) {
        fprintf(stderr, "wasi-run: %s\n", err);
        return 2;
    }
    struct wf_wasi_result res;
    int rc = wf_wasi_host_run(h, &wf_wasi_module_mod, &res, err, sizeof(err));
    wf_wasi_host_destroy(h);
    wf_vfs_image_free(img);
    for (size_t k = 0; k < cfg.n_host_dirs; k++)
        free((char *)dirs[k].host_path);
    if (rc) {
        fprintf(stderr, "wasi-run: %s\n", err);
        return 2;
    }
    if (res.outcome == WF_WASI_TRAPPED) {
        fprintf(stderr, "wasi-run: trap: %s%s\n", res.trap_msg,
                res.memory_exhausted ? " (memory at its cap)" : "");
        return 125;
    }
    return res.exit_code;
}
