/* wasi_fixture.h - a host on a fake guest memory for the WASI unit tests,
 * and a tiny ustar writer to build images in memory. */
#ifndef WF_TEST_WASI_FIXTURE_H
#define WF_TEST_WASI_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "wasi/vfs.h"
#include "wasi/wasi_internal.h"

#define FAKE_PAGES 4
#define FAKE_SIZE (FAKE_PAGES * 65536u)

/* Appends one ustar entry (type '0' file, '5' dir, '2' symlink). */
static inline size_t tar_add(uint8_t *buf, size_t off, const char *name, char type,
                             const char *data, const char *link)
{
    uint8_t *h = buf + off;
    size_t len = (type == '0' && data) ? strlen(data) : 0;
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 124, 12, "%011o", (unsigned)len);
    snprintf((char *)h + 136, 12, "%011o", 1700000000);
    h[156] = (uint8_t)type;
    if (link)
        snprintf((char *)h + 157, 100, "%s", link);
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    off += 512;
    if (len) {
        memcpy(buf + off, data, len);
        off += (len + 511) & ~(size_t)511;
    }
    return off;
}

/* The standard test image: /usr/lib/python3.11/{os.py, sub/}, a symlink
 * usr/lib/link -> python3.11, usr/lib/esc -> ../../../etc. */
static inline struct wf_vfs_image *fixture_image(void)
{
    static uint8_t buf[512 * 32];
    size_t off = 0;
    memset(buf, 0, sizeof(buf));
    off = tar_add(buf, off, "usr/", '5', NULL, NULL);
    off = tar_add(buf, off, "usr/lib/", '5', NULL, NULL);
    off = tar_add(buf, off, "usr/lib/python3.11/", '5', NULL, NULL);
    off = tar_add(buf, off, "usr/lib/python3.11/os.py", '0', "import sys\n", NULL);
    off = tar_add(buf, off, "usr/lib/python3.11/sub/", '5', NULL, NULL);
    off = tar_add(buf, off, "usr/lib/link", '2', NULL, "python3.11");
    off = tar_add(buf, off, "usr/lib/esc", '2', NULL, "../../../etc");
    off += 1024;
    struct wf_vfs_image *img = NULL;
    char err[200];
    assert_int_equal(wf_vfs_image_from_buffer(buf, off, &img, err, sizeof(err)), 0);
    return img;
}

struct fixture {
    struct wf_vfs_image *img;
    struct wf_wasi_host *h;
    wasm_rt_memory_t mem;
};

static inline struct fixture *fixture_new(const struct wf_wasi_config *extra)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->img = fixture_image();
    static const char *argv[] = { "prog", "arg1" };
    static const char *env[] = { "A=1", "HOME=/tmp" };
    struct wf_wasi_config cfg;
    if (extra)
        cfg = *extra;
    else
        memset(&cfg, 0, sizeof(cfg));
    if (!cfg.argv) {
        cfg.argv = argv;
        cfg.argc = 2;
        cfg.env = env;
        cfg.envc = 2;
    }
    cfg.image = f->img;
    char err[200];
    assert_int_equal(wf_wasi_host_create(&cfg, &f->h, err, sizeof(err)), 0);
    f->mem.data = calloc(1, FAKE_SIZE);
    f->mem.size = FAKE_SIZE;
    f->mem.pages = FAKE_PAGES;
    f->mem.max_pages = FAKE_PAGES;
    wf_wasi_host_setup_memory(f->h, &f->mem);
    return f;
}

static inline void fixture_free(struct fixture *f)
{
    wf_wasi_host_destroy(f->h);
    wf_vfs_image_free(f->img);
    free(f->mem.data);
    free(f);
}

/* Guest memory layout used by the tests. */
#define G_PATH 1024u      /* path strings */
#define G_OUT 2048u       /* 8-aligned result slots */
#define G_IOV 3072u       /* iovec arrays */
#define G_BUF 8192u       /* data buffers */

static inline uint32_t put_str(struct fixture *f, uint32_t at, const char *s)
{
    size_t n = strlen(s);
    memcpy(f->mem.data + at, s, n);
    return (uint32_t)n;
}

static inline uint32_t get_u32(struct fixture *f, uint32_t at)
{
    uint32_t v;
    memcpy(&v, f->mem.data + at, 4);
    return v;
}

static inline uint64_t get_u64(struct fixture *f, uint32_t at)
{
    uint64_t v;
    memcpy(&v, f->mem.data + at, 8);
    return v;
}

static inline void set_iov(struct fixture *f, uint32_t at, uint32_t i, uint32_t base, uint32_t len)
{
    memcpy(f->mem.data + at + i * 8, &base, 4);
    memcpy(f->mem.data + at + i * 8 + 4, &len, 4);
}

/* path_open on the root preopen (fd 3); returns the errno, *fd on success. */
static inline int open_at(struct fixture *f, uint32_t dirfd, const char *path,
                          uint32_t oflags, uint64_t rights, uint32_t lookup,
                          uint32_t *fd)
{
    uint32_t n = put_str(f, G_PATH, path);
    int rc = wf_wasi_path_open(f->h, dirfd, lookup, G_PATH, n, oflags, rights,
                               WASI_RIGHTS_DIR | WASI_RIGHTS_FILE, 0, G_OUT);
    if (rc == 0 && fd)
        *fd = get_u32(f, G_OUT);
    return rc;
}

static inline int open_root(struct fixture *f, const char *path, uint32_t oflags,
                            uint64_t rights, uint32_t *fd)
{
    return open_at(f, 3, path, oflags, rights, WASI_LOOKUP_SYMLINK_FOLLOW, fd);
}

#define R_READ (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL | \
                WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_READDIR | WASI_RIGHTS_DIR)
#define R_RW (R_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FILESTAT_SET_SIZE)

#endif
