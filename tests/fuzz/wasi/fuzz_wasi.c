/* fuzz_wasi.c - libFuzzer target for the WASI host: guest path resolution
 * and the decoding of every WASI function's arguments. The input is the
 * guest memory's first bytes plus a script of calls with arbitrary
 * arguments; any crash, leak or sanitizer report is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasi/vfs.h"
#include "wasi/wasi_internal.h"

#define PAGES 2
#define SIZE (PAGES * 65536u)

static struct wf_vfs_image *image;

static size_t tar_add(uint8_t *buf, size_t off, const char *name, char type,
                      const char *data, const char *link)
{
    uint8_t *h = buf + off;
    size_t len = (type == '0' && data) ? strlen(data) : 0;
    memset(h, 0, 512);
    memcpy(h, name, strlen(name));
    memcpy(h + 124, "00000000000", 11);
    for (int i = 10, v = (int)len; i >= 0 && v; i--, v >>= 3)
        h[124 + i] = (uint8_t)('0' + (v & 7));
    h[156] = (uint8_t)type;
    if (link)
        memcpy(h + 157, link, strlen(link));
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    for (int i = 5; i >= 0; i--, sum >>= 3)
        h[148 + i] = (uint8_t)('0' + (sum & 7));
    h[154] = '\0';
    off += 512;
    if (len) {
        memcpy(buf + off, data, len);
        off += (len + 511) & ~(size_t)511;
    }
    return off;
}

static void make_image(void)
{
    static uint8_t buf[512 * 32];
    size_t off = 0;
    off = tar_add(buf, off, "usr/lib/a/", '5', NULL, NULL);
    off = tar_add(buf, off, "usr/lib/a/f.py", '0', "x = 1\n", NULL);
    off = tar_add(buf, off, "usr/lib/up", '2', NULL, "../..");
    off = tar_add(buf, off, "usr/lib/out", '2', NULL, "../../../x");
    off = tar_add(buf, off, "usr/lib/loop", '2', NULL, "loop");
    off = tar_add(buf, off, "usr/lib/abs", '2', NULL, "/usr");
    off += 1024;
    char err[128];
    if (wf_vfs_image_from_buffer(buf, off, &image, err, sizeof(err)))
        abort();
}

static uint32_t take32(const uint8_t **p, size_t *n)
{
    uint32_t v = 0;
    size_t k = *n < 4 ? *n : 4;
    memcpy(&v, *p, k);
    *p += k;
    *n -= k;
    /* bias towards small numbers so calls hit real descriptors and buffers */
    switch (v >> 30) {
    case 0: return v & 0xff;
    case 1: return v & (SIZE - 1);
    case 2: return SIZE - (v & 0xff);
    default: return v;
    }
}

static uint64_t take64(const uint8_t **p, size_t *n)
{
    uint64_t lo = take32(p, n);
    return lo | ((uint64_t)take32(p, n) << 32 & (lo & 1 ? ~0ull : 0));
}

/* poll_oneoff must not sleep: clamp clock subscriptions to 1 us. */
static void tame_poll(uint8_t *mem, uint32_t in, uint32_t nsubs)
{
    if (nsubs > 64 || in > SIZE || (uint64_t)nsubs * 48 > SIZE - in)
        return;
    for (uint32_t i = 0; i < nsubs; i++) {
        uint8_t *s = mem + in + i * 48;
        if (s[8] == WASI_EVENT_CLOCK) {
            uint64_t t = 1000;
            memcpy(s + 24, &t, 8);
            s[40] = 0;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!image)
        make_image();
    struct wf_wasi_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    static const char *argv[] = { "fuzz" };
    cfg.argv = argv;
    cfg.argc = 1;
    cfg.image = image;
    cfg.tmp_max_bytes = 1 << 16;
    cfg.tmp_max_inodes = 32;
    cfg.stdout_cap = 4096;
    struct wf_wasi_host *h;
    char err[128];
    if (wf_wasi_host_create(&cfg, &h, err, sizeof(err)))
        abort();
    wasm_rt_memory_t mem = { 0 };
    mem.data = calloc(1, SIZE);
    mem.size = SIZE;
    mem.pages = mem.max_pages = PAGES;
    wf_wasi_host_setup_memory(h, &mem);

    /* The first half of the input seeds guest memory at 0 and at 1024
     * (paths and structures); the rest is the script. */
    size_t seed = size / 2 > 4096 ? 4096 : size / 2;
    memcpy(mem.data, data, seed);
    memcpy(mem.data + 1024, data, seed);
    const uint8_t *p = data + seed;
    size_t n = size - seed;

    for (int steps = 0; n >= 1 && steps < 64; steps++) {
        uint8_t op = *p++;
        n--;
        uint32_t a = take32(&p, &n), b = take32(&p, &n), c = take32(&p, &n);
        uint32_t d = take32(&p, &n), e = take32(&p, &n), f = take32(&p, &n);
        uint64_t x = take64(&p, &n), y = take64(&p, &n);
        int rc = 0;
        switch (op % 44) {
        case 0: rc = wf_wasi_args_get(h, a, b); break;
        case 1: rc = wf_wasi_args_sizes_get(h, a, b); break;
        case 2: rc = wf_wasi_environ_get(h, a, b); break;
        case 3: rc = wf_wasi_environ_sizes_get(h, a, b); break;
        case 4: rc = wf_wasi_clock_res_get(h, a, b); break;
        case 5: rc = wf_wasi_clock_time_get(h, a, x, b); break;
        case 6: rc = wf_wasi_fd_advise(h, a, x, y, b); break;
        case 7: rc = wf_wasi_fd_allocate(h, a, x & 0xffff, y & 0xffff); break;
        case 8: rc = wf_wasi_fd_close(h, a); break;
        case 9: rc = wf_wasi_fd_datasync(h, a); break;
        case 10: rc = wf_wasi_fd_fdstat_get(h, a, b); break;
        case 11: rc = wf_wasi_fd_fdstat_set_flags(h, a, b); break;
        case 12: rc = wf_wasi_fd_fdstat_set_rights(h, a, x, y); break;
        case 13: rc = wf_wasi_fd_filestat_get(h, a, b); break;
        case 14: rc = wf_wasi_fd_filestat_set_size(h, a, x); break;
        case 15: rc = wf_wasi_fd_filestat_set_times(h, a, x, y, b); break;
        case 16: rc = wf_wasi_fd_pread(h, a, b, c, x, d); break;
        case 17: rc = wf_wasi_fd_prestat_get(h, a, b); break;
        case 18: rc = wf_wasi_fd_prestat_dir_name(h, a, b, c); break;
        case 19: rc = wf_wasi_fd_pwrite(h, a, b, c, x, d); break;
        case 20: rc = wf_wasi_fd_read(h, a, b, c, d); break;
        case 21: rc = wf_wasi_fd_readdir(h, a, b, c, x, d); break;
        case 22: rc = wf_wasi_fd_renumber(h, a, b); break;
        case 23: rc = wf_wasi_fd_seek(h, a, x, b, c); break;
        case 24: rc = wf_wasi_fd_sync(h, a); break;
        case 25: rc = wf_wasi_fd_tell(h, a, b); break;
        case 26: rc = wf_wasi_fd_write(h, a, b, c, d); break;
        case 27: rc = wf_wasi_path_create_directory(h, a, b, c); break;
        case 28: rc = wf_wasi_path_filestat_get(h, a, b, c, d, e); break;
        case 29: rc = wf_wasi_path_filestat_set_times(h, a, b, c, d, x, y, e); break;
        case 30: rc = wf_wasi_path_link(h, a, b, c, d, e, f, c); break;
        case 31: rc = wf_wasi_path_open(h, a, b, c, d, e, x, y, f, a); break;
        case 32: rc = wf_wasi_path_readlink(h, a, b, c, d, e, f); break;
        case 33: rc = wf_wasi_path_remove_directory(h, a, b, c); break;
        case 34: rc = wf_wasi_path_rename(h, a, b, c, d, e, f); break;
        case 35: rc = wf_wasi_path_symlink(h, a, b, c, d, e); break;
        case 36: rc = wf_wasi_path_unlink_file(h, a, b, c); break;
        case 37: tame_poll(mem.data, a, c); rc = (c <= 64) ? wf_wasi_poll_oneoff(h, a, b, c, d) : 0; break;
        case 38: rc = wf_wasi_random_get(h, a, b & 0xffff); break;
        case 39: rc = wf_wasi_sock_accept(h, a, b, c); break;
        case 40: rc = wf_wasi_sock_recv(h, a, b, c, d, e, f); break;
        case 41: rc = wf_wasi_sock_send(h, a, b, c, d, e); break;
        case 42: rc = wf_wasi_sock_shutdown(h, a, b); break;
        case 43: {
            /* the resolver alone, on a path from the input */
            struct wf_path_result r;
            uint32_t len = b % 512;
            if ((uint64_t)a + len <= SIZE)
                rc = wf_path_resolve(&wf_vfs_path_ops, NULL, (uintptr_t)h->vfs.root,
                                     (const char *)mem.data + a, len, c & 1, &r);
            if (rc == 0 && r.exists && r.namelen &&
                !wf_vfs_lookup((struct wf_vfs_node *)r.dir, r.name, r.namelen))
                abort();   /* claimed to exist but does not */
            break;
        }
        }
        if (rc < 0 || rc > WASI_ENOTCAPABLE)
            abort();   /* every result is a WASI errno */
    }
    wf_wasi_host_destroy(h);
    free(mem.data);
    return 0;
}
