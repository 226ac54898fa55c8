/* vfs.c - the synthetic file system: read-only image from a ustar archive,
 * writable /tmp in memory with byte and inode quotas. */
#include "wasi/vfs.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/wf_error.h"
#include "wasi/wasi_abi.h"

uint64_t wf_vfs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct wf_vfs_node *node_new(enum wf_vfs_type type, int readonly,
                                    uint64_t ino, uint64_t t)
{
    struct wf_vfs_node *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->type = (uint8_t)type;
    n->readonly = (uint8_t)readonly;
    n->ino = ino;
    n->atim = n->mtim = n->ctim = t;
    return n;
}

/* Frees a node and, for directories, every entry whose last link it held.
 * Only for nodes nobody references any more. */
static void node_free_tree(struct wf_vfs_node *n)
{
    if (n->type == WF_VFS_DIR) {
        for (uint32_t i = 0; i < n->nents; i++) {
            struct wf_vfs_node *c = n->ents[i].node;
            free(n->ents[i].name);
            if (--c->nlink == 0 && c->refs == 0)
                node_free_tree(c);
        }
        free(n->ents);
    }
    if (n->owns_data)
        free(n->data);
    free(n);
}

struct wf_vfs_node *wf_vfs_lookup(const struct wf_vfs_node *dir,
                                  const char *name, size_t len)
{
    if (dir->type != WF_VFS_DIR)
        return NULL;
    for (uint32_t i = 0; i < dir->nents; i++)
        if (dir->ents[i].namelen == len && memcmp(dir->ents[i].name, name, len) == 0)
            return dir->ents[i].node;
    return NULL;
}

static int dir_reserve(struct wf_vfs_node *dir)
{
    if (dir->nents < dir->capents)
        return 0;
    uint32_t ncap = dir->capents ? dir->capents * 2 : 8;
    struct wf_vfs_dirent *e = realloc(dir->ents, ncap * sizeof(*e));
    if (!e)
        return WASI_ENOMEM;
    dir->ents = e;
    dir->capents = ncap;
    return 0;
}

static int dir_add(struct wf_vfs_node *dir, const char *name, size_t len,
                   struct wf_vfs_node *node)
{
    if (dir_reserve(dir))
        return WASI_ENOMEM;
    char *copy = malloc(len + 1);
    if (!copy)
        return WASI_ENOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    dir->ents[dir->nents].name = copy;
    dir->ents[dir->nents].namelen = (uint32_t)len;
    dir->ents[dir->nents].node = node;
    dir->nents++;
    node->nlink++;
    if (node->type == WF_VFS_DIR)
        node->parent = dir;
    return 0;
}

/* Takes entry i out of dir without touching the node's link count. */
static void dir_take(struct wf_vfs_node *dir, uint32_t i)
{
    free(dir->ents[i].name);
    memmove(&dir->ents[i], &dir->ents[i + 1],
            (dir->nents - i - 1) * sizeof(dir->ents[0]));
    dir->nents--;
}

static int dir_index(const struct wf_vfs_node *dir, const char *name, size_t len)
{
    for (uint32_t i = 0; i < dir->nents; i++)
        if (dir->ents[i].namelen == len && memcmp(dir->ents[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

/* ---------------------------------------------------------------- image */

static uint64_t tar_number(const unsigned char *p, size_t n, int *bad)
{
    uint64_t v = 0;
    if (n && (p[0] & 0x80)) {           /* GNU base-256 */
        for (size_t i = 1; i < n; i++) {
            if (v >> 56) { *bad = 1; return 0; }
            v = (v << 8) | p[i];
        }
        return v;
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\0'))
        i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        if (v >> 60) { *bad = 1; return 0; }
        v = v * 8 + (uint64_t)(p[i] - '0');
    }
    return v;
}

/* Walks (creating directories) to the parent of a normalised archive path.
 * Returns the parent and sets *last and *lastlen to the final component. */
static int image_walk(struct wf_vfs_image *img, const char *path, size_t plen,
                      struct wf_vfs_node **parent, const char **last,
                      size_t *lastlen, uint64_t mtime)
{
    struct wf_vfs_node *dir = img->top;
    const char *p = path, *end = path + plen;
    *last = NULL;
    *lastlen = 0;
    while (p < end) {
        while (p < end && *p == '/')
            p++;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        size_t len = (size_t)(p - s);
        if (len == 0 || (len == 1 && s[0] == '.'))
            continue;
        if ((len == 2 && s[0] == '.' && s[1] == '.') || len > WF_VFS_NAME_MAX ||
            memchr(s, '\0', len))
            return WASI_EINVAL;
        const char *q = p;
        while (q < end && *q == '/')
            q++;
        if (q == end) {
            *parent = dir;
            *last = s;
            *lastlen = len;
            return 0;
        }
        struct wf_vfs_node *c = wf_vfs_lookup(dir, s, len);
        if (!c) {
            c = node_new(WF_VFS_DIR, 1, ++img->nodes, mtime);
            if (!c)
                return WASI_ENOMEM;
            if (dir_add(dir, s, len, c)) {
                free(c);
                return WASI_ENOMEM;
            }
        } else if (c->type != WF_VFS_DIR) {
            return WASI_ENOTDIR;
        }
        dir = c;
    }
    *parent = dir;   /* the path named the top itself */
    return 0;
}

/* Reads one pax record set; sets path/linkpath/size overrides. */
static void pax_parse(const char *d, size_t n, const char **path, size_t *plen,
                      const char **link, size_t *llen, uint64_t *size, int *has_size)
{
    size_t i = 0;
    while (i < n) {
        size_t reclen = 0, j = i;
        while (j < n && d[j] >= '0' && d[j] <= '9' && reclen < n)
            reclen = reclen * 10 + (size_t)(d[j++] - '0');
        if (j >= n || d[j] != ' ' || reclen == 0 || reclen > n - i)
            return;
        /* the record ends with a newline at rend */
        const char *kv = d + j + 1, *rend = d + i + reclen - 1;
        const char *eq = memchr(kv, '=', (size_t)(rend - kv));
        if (eq && rend >= eq) {
            size_t klen = (size_t)(eq - kv), vlen = (size_t)(rend - eq - 1);
            if (klen == 4 && !memcmp(kv, "path", 4)) { *path = eq + 1; *plen = vlen; }
            else if (klen == 8 && !memcmp(kv, "linkpath", 8)) { *link = eq + 1; *llen = vlen; }
            else if (klen == 4 && !memcmp(kv, "size", 4)) {
                uint64_t v = 0;
                for (size_t k = 0; k < vlen && eq[1 + k] >= '0' && eq[1 + k] <= '9'; k++)
                    v = v * 10 + (uint64_t)(eq[1 + k] - '0');
                *size = v;
                *has_size = 1;
            }
        }
        i += reclen;
    }
}

static size_t field_len(const char *p, size_t max)
{
    const char *z = memchr(p, '\0', max);
    return z ? (size_t)(z - p) : max;
}

/* fd >= 0: the archive is also mapped from fd, and headers are read with
 * pread. Touching each header through the mapping would fault in (and at exit
 * unmap) most of the file's pages, since headers are spread over all of it;
 * this way a file's pages are only touched when the guest reads that file. */
static int image_parse(struct wf_vfs_image *img, int fd, char *err, size_t errlen)
{
    const unsigned char *a = img->archive;
    size_t n = img->archive_len, off = 0;
    unsigned char hbuf[512];
    char namebuf[256 + 156];
    const char *xpath = NULL, *xlink = NULL;
    size_t xplen = 0, xllen = 0;
    uint64_t xsize = 0;
    int has_xsize = 0;

    while (off + 512 <= n) {
        const unsigned char *h = a + off;
        if (fd >= 0) {
            if (pread(fd, hbuf, 512, (off_t)off) != 512) {
                wf_errorf(err, errlen, "archive: cannot read the header at offset %zu", off);
                return WASI_EINVAL;
            }
            h = hbuf;
        }
        int zero = 1;
        for (int i = 0; i < 512 && zero; i++)
            zero = h[i] == 0;
        if (zero)
            return 0;
        unsigned sum = 0, want;
        int bad = 0;
        /* The checksum field counts as spaces; a plain sum over the block vectorises. */
        for (int i = 0; i < 512; i++)
            sum += h[i];
        for (int i = 148; i < 156; i++)
            sum += (unsigned)' ' - h[i];
        want = (unsigned)tar_number(h + 148, 8, &bad);
        if (bad || sum != want) {
            wf_errorf(err, errlen, "archive: bad header checksum at offset %zu", off);
            return WASI_EINVAL;
        }
        uint64_t size = tar_number(h + 124, 12, &bad);
        uint64_t mtime = tar_number(h + 136, 12, &bad) * 1000000000ull;
        char type = (char)h[156];
        if (has_xsize)
            size = xsize;
        if (bad || size > n - off - 512) {
            wf_errorf(err, errlen, "archive: entry at offset %zu runs past the end", off);
            return WASI_EINVAL;
        }
        const char *data = (const char *)a + off + 512;
        off += 512 + ((size + 511) & ~(uint64_t)511);
        if (off > n)
            off = n;

        if (type == 'x') {
            pax_parse(data, size, &xpath, &xplen, &xlink, &xllen, &xsize, &has_xsize);
            continue;
        }
        if (type == 'g')
            continue;
        if (type == 'L') { xpath = data; xplen = field_len(data, size); continue; }
        if (type == 'K') { xlink = data; xllen = field_len(data, size); continue; }

        const char *path = xpath, *link = xlink;
        size_t plen = xplen, llen = xllen;
        if (!path) {
            size_t nl = field_len((const char *)h, 100), pl = 0;
            if (!memcmp(h + 257, "ustar", 5))
                pl = field_len((const char *)h + 345, 155);
            if (pl) {
                memcpy(namebuf, h + 345, pl);
                namebuf[pl] = '/';
                memcpy(namebuf + pl + 1, h, nl);
                plen = pl + 1 + nl;
            } else {
                memcpy(namebuf, h, nl);
                plen = nl;
            }
            path = namebuf;
        }
        if (!link) {
            llen = field_len((const char *)h + 157, 100);
            link = data - 512 + 157;   /* the header in the archive, not hbuf */
        }
        xpath = xlink = NULL;
        xplen = xllen = 0;
        has_xsize = 0;

        if (plen > WF_VFS_PATH_MAX || (plen && path[0] == '/')) {
            wf_errorf(err, errlen, "archive: refused entry name '%.*s'", (int)(plen > 200 ? 200 : plen), path);
            return WASI_EINVAL;
        }
        struct wf_vfs_node *dir;
        const char *last;
        size_t lastlen;
        int rc = image_walk(img, path, plen, &dir, &last, &lastlen, mtime);
        if (rc) {
            wf_errorf(err, errlen, "archive: refused entry '%.*s'", (int)(plen > 200 ? 200 : plen), path);
            return rc;
        }
        if (!last)
            continue;   /* "./" itself */
        struct wf_vfs_node *old = wf_vfs_lookup(dir, last, lastlen);
        struct wf_vfs_node *nn = NULL;
        switch (type) {
        case '5':
            if (old && old->type == WF_VFS_DIR) {
                old->mtim = old->ctim = old->atim = mtime;
                continue;
            }
            nn = node_new(WF_VFS_DIR, 1, 0, mtime);
            break;
        case '2':
            nn = node_new(WF_VFS_SYMLINK, 1, 0, mtime);
            if (nn) {
                nn->data = (uint8_t *)link;
                nn->size = llen;
            }
            break;
        case '1': {
            struct wf_vfs_node *t = NULL, *tdir;
            const char *tl;
            size_t tll;
            if (image_walk(img, link, llen, &tdir, &tl, &tll, mtime) == 0 && tl)
                t = wf_vfs_lookup(tdir, tl, tll);
            if (!t || t->type != WF_VFS_FILE || old)
                continue;   /* dangling or duplicate hard link: skip */
            if (dir_add(dir, last, lastlen, t))
                return WASI_ENOMEM;
            continue;
        }
        case '0': case '\0': case '7':
            nn = node_new(WF_VFS_FILE, 1, 0, mtime);
            if (nn) {
                nn->data = (uint8_t *)data;
                nn->size = size;
            }
            break;
        default:
            continue;   /* devices, fifos: not part of an image */
        }
        if (!nn)
            return WASI_ENOMEM;
        nn->ino = ++img->nodes;
        if (old) {
            /* A later entry replaces an earlier one of the same name. */
            if (old->type == WF_VFS_DIR && old->nents) {
                free(nn);
                continue;
            }
            int i = dir_index(dir, last, lastlen);
            dir->ents[i].node = nn;
            nn->nlink = 1;
            if (nn->type == WF_VFS_DIR)
                nn->parent = dir;
            if (--old->nlink == 0)
                node_free_tree(old);
        } else if (dir_add(dir, last, lastlen, nn)) {
            free(nn);
            return WASI_ENOMEM;
        }
    }
    return 0;
}

static int image_new(void *archive, size_t len, int mapped, int fd,
                     struct wf_vfs_image **out, char *err, size_t errlen)
{
    struct wf_vfs_image *img = calloc(1, sizeof(*img));
    if (!img) {
        if (mapped) munmap(archive, len); else free(archive);
        wf_errorf(err, errlen, "out of memory");
        return WASI_ENOMEM;
    }
    img->archive = archive;
    img->archive_len = len;
    img->archive_mapped = mapped;
    img->top = node_new(WF_VFS_DIR, 1, ++img->nodes, wf_vfs_now());
    if (!img->top) {
        wf_vfs_image_free(img);
        wf_errorf(err, errlen, "out of memory");
        return WASI_ENOMEM;
    }
    img->top->nlink = 1;
    int rc = image_parse(img, fd, err, errlen);
    if (rc) {
        if (rc == WASI_ENOMEM)
            wf_errorf(err, errlen, "out of memory loading the archive");
        wf_vfs_image_free(img);
        return rc == WASI_ENOMEM ? WASI_ENOMEM : WASI_EINVAL;
    }
    *out = img;
    return 0;
}

int wf_vfs_image_load_tar(const char *path, struct wf_vfs_image **out,
                          char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        wf_errorf(err, errlen, "open %s: %s", path, strerror(errno));
        return WASI_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        wf_errorf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return WASI_EINVAL;
    }
    if (st.st_size == 0) {
        close(fd);
        return wf_vfs_image_from_buffer("", 0, out, err, errlen);
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        wf_errorf(err, errlen, "mmap %s: %s", path, strerror(errno));
        close(fd);
        return WASI_EIO;
    }
    int rc = image_new(m, (size_t)st.st_size, 1, fd, out, err, errlen);
    close(fd);
    return rc;
}

int wf_vfs_image_from_buffer(const void *buf, size_t len,
                             struct wf_vfs_image **out, char *err, size_t errlen)
{
    void *copy = malloc(len ? len : 1);
    if (!copy) {
        wf_errorf(err, errlen, "out of memory");
        return WASI_ENOMEM;
    }
    if (len)
        memcpy(copy, buf, len);
    return image_new(copy, len, 0, -1, out, err, errlen);
}

void wf_vfs_image_free(struct wf_vfs_image *img)
{
    if (!img)
        return;
    if (img->top)
        node_free_tree(img->top);
    if (img->archive_mapped)
        munmap(img->archive, img->archive_len);
    else
        free(img->archive);
    free(img);
}

/* ------------------------------------------------------------- run tree */

int wf_vfs_init(struct wf_vfs *vfs, const struct wf_vfs_image *img,
                uint64_t max_bytes, uint32_t max_inodes)
{
    memset(vfs, 0, sizeof(*vfs));
    vfs->max_bytes = max_bytes;
    vfs->max_inodes = max_inodes;
    vfs->next_ino = (img ? img->nodes : 0) + 1;
    uint64_t t = wf_vfs_now();
    vfs->root = node_new(WF_VFS_DIR, 1, vfs->next_ino++, t);
    vfs->tmp = node_new(WF_VFS_DIR, 0, vfs->next_ino++, t);
    if (!vfs->root || !vfs->tmp)
        goto nomem;
    vfs->root->nlink = 1;
    if (dir_add(vfs->root, "tmp", 3, vfs->tmp))
        goto nomem;
    vfs->tmp->parent = NULL;
    if (img) {
        for (uint32_t i = 0; i < img->top->nents; i++) {
            const struct wf_vfs_dirent *e = &img->top->ents[i];
            if (e->namelen == 3 && !memcmp(e->name, "tmp", 3))
                continue;
            /* Share the image's node without counting a link on it: image
             * nodes are immutable and outlive every run. */
            if (dir_reserve(vfs->root))
                goto nomem;
            char *name = strdup(e->name);
            if (!name)
                goto nomem;
            vfs->root->ents[vfs->root->nents++] =
                (struct wf_vfs_dirent){ name, e->namelen, e->node };
        }
    }
    vfs->used_inodes = 1;
    return 0;
nomem:
    free(vfs->tmp);
    vfs->tmp = NULL;
    wf_vfs_destroy(vfs);
    return WASI_ENOMEM;
}

static void tmp_free_tree(struct wf_vfs *vfs, struct wf_vfs_node *n);

/* Drops a link or ref; frees the node when neither remains. */
static void node_release(struct wf_vfs *vfs, struct wf_vfs_node *n)
{
    if (n->nlink == 0 && n->refs == 0)
        tmp_free_tree(vfs, n);
}

static void tmp_free_tree(struct wf_vfs *vfs, struct wf_vfs_node *n)
{
    if (n->type == WF_VFS_DIR) {
        for (uint32_t i = 0; i < n->nents; i++) {
            struct wf_vfs_node *c = n->ents[i].node;
            free(n->ents[i].name);
            c->nlink--;
            if (c->type == WF_VFS_DIR)
                c->parent = NULL;
            node_release(vfs, c);
        }
        free(n->ents);
    }
    if (n->owns_data) {
        vfs->used_bytes -= n->cap;
        free(n->data);
    }
    vfs->used_inodes--;
    free(n);
}

void wf_vfs_destroy(struct wf_vfs *vfs)
{
    if (vfs->root) {
        for (uint32_t i = 0; i < vfs->root->nents; i++)
            free(vfs->root->ents[i].name);
        free(vfs->root->ents);
        free(vfs->root);
    }
    if (vfs->tmp) {
        /* Open descriptors are closed before this; free what /tmp holds. */
        vfs->tmp->nlink = 0;
        vfs->tmp->refs = 0;
        tmp_free_tree(vfs, vfs->tmp);
    }
    vfs->root = vfs->tmp = NULL;
}

void wf_vfs_ref(struct wf_vfs_node *n)
{
    if (!n->readonly)
        n->refs++;
}

void wf_vfs_unref(struct wf_vfs *vfs, struct wf_vfs_node *n)
{
    if (n->readonly)
        return;
    assert(n->refs > 0);   /* one unref per ref: an extra one is a double close */
    n->refs--;
    if (n != vfs->tmp)
        node_release(vfs, n);
}

static int dir_writable(const struct wf_vfs_node *dir)
{
    if (dir->type != WF_VFS_DIR)
        return WASI_ENOTDIR;
    if (dir->readonly)
        return WASI_EROFS;
    return 0;
}

/* A directory that was removed (while a descriptor kept it) takes no new
 * entries. */
static int dir_alive(const struct wf_vfs *vfs, const struct wf_vfs_node *dir)
{
    return dir == vfs->tmp || dir->nlink > 0;
}

static int check_name(const char *name, size_t len)
{
    if (len == 0)
        return WASI_ENOENT;
    if (len > WF_VFS_NAME_MAX)
        return WASI_ENAMETOOLONG;
    if (memchr(name, '/', len) || memchr(name, '\0', len))
        return WASI_EINVAL;
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return WASI_EEXIST;
    return 0;
}

int wf_vfs_create(struct wf_vfs *vfs, struct wf_vfs_node *dir,
                  const char *name, size_t len, enum wf_vfs_type type,
                  const char *target, size_t tlen, struct wf_vfs_node **out)
{
    int rc = dir_writable(dir);
    if (rc)
        return rc;
    if ((rc = check_name(name, len)))
        return rc;
    if (!dir_alive(vfs, dir))
        return WASI_ENOENT;
    if (wf_vfs_lookup(dir, name, len))
        return WASI_EEXIST;
    if (vfs->used_inodes >= vfs->max_inodes)
        return WASI_ENOSPC;
    if (type == WF_VFS_SYMLINK && (tlen > WF_VFS_PATH_MAX ||
                                   tlen > vfs->max_bytes - vfs->used_bytes))
        return tlen > WF_VFS_PATH_MAX ? WASI_ENAMETOOLONG : WASI_ENOSPC;
    uint64_t t = wf_vfs_now();
    struct wf_vfs_node *n = node_new(type, 0, vfs->next_ino++, t);
    if (!n)
        return WASI_ENOMEM;
    if (type == WF_VFS_SYMLINK) {
        n->data = malloc(tlen ? tlen : 1);
        if (!n->data) {
            free(n);
            return WASI_ENOMEM;
        }
        memcpy(n->data, target, tlen);
        n->size = n->cap = tlen;
        n->owns_data = 1;
    }
    if (dir_add(dir, name, len, n)) {
        free(n->data);
        free(n);
        return WASI_ENOMEM;
    }
    vfs->used_inodes++;
    vfs->used_bytes += n->cap;
    dir->mtim = dir->ctim = t;
    *out = n;
    return 0;
}

int wf_vfs_remove(struct wf_vfs *vfs, struct wf_vfs_node *dir,
                  const char *name, size_t len, int want_dir)
{
    int rc = dir_writable(dir);
    if (rc)
        return rc;
    if (len == 1 && name[0] == '.')
        return WASI_EINVAL;
    if (len == 2 && name[0] == '.' && name[1] == '.')
        return WASI_ENOTEMPTY;
    int i = dir_index(dir, name, len);
    if (i < 0)
        return WASI_ENOENT;
    struct wf_vfs_node *n = dir->ents[i].node;
    if (want_dir) {
        if (n->type != WF_VFS_DIR)
            return WASI_ENOTDIR;
        if (n->nents)
            return WASI_ENOTEMPTY;
    } else if (n->type == WF_VFS_DIR) {
        return WASI_EISDIR;
    }
    dir_take(dir, (uint32_t)i);
    n->nlink--;
    if (n->type == WF_VFS_DIR)
        n->parent = NULL;
    dir->mtim = dir->ctim = wf_vfs_now();
    node_release(vfs, n);
    return 0;
}

/* Is d the same as, or below, a? (directories only) */
static int is_within(const struct wf_vfs_node *d, const struct wf_vfs_node *a)
{
    for (; d; d = d->parent)
        if (d == a)
            return 1;
    return 0;
}

int wf_vfs_rename(struct wf_vfs *vfs, struct wf_vfs_node *odir,
                  const char *oname, size_t olen, struct wf_vfs_node *ndir,
                  const char *nname, size_t nlen)
{
    int rc;
    if ((rc = dir_writable(odir)) || (rc = dir_writable(ndir)))
        return rc;
    if ((rc = check_name(oname, olen)))
        return rc == WASI_EEXIST ? WASI_EINVAL : rc;
    if ((rc = check_name(nname, nlen)))
        return rc == WASI_EEXIST ? WASI_EINVAL : rc;
    int oi = dir_index(odir, oname, olen);
    if (oi < 0)
        return WASI_ENOENT;
    if (!dir_alive(vfs, ndir))
        return WASI_ENOENT;
    struct wf_vfs_node *src = odir->ents[oi].node;
    int ni = dir_index(ndir, nname, nlen);
    struct wf_vfs_node *dst = ni >= 0 ? ndir->ents[ni].node : NULL;
    if (dst == src)
        return 0;
    if (src->type == WF_VFS_DIR) {
        if (is_within(ndir, src))
            return WASI_EINVAL;
        if (dst && dst->type != WF_VFS_DIR)
            return WASI_ENOTDIR;
        if (dst && dst->nents)
            return WASI_ENOTEMPTY;
    } else if (dst && dst->type == WF_VFS_DIR) {
        return WASI_EISDIR;
    }
    char *copy = malloc(nlen + 1);
    if (!copy || dir_reserve(ndir)) {
        free(copy);
        return WASI_ENOMEM;
    }
    memcpy(copy, nname, nlen);
    copy[nlen] = '\0';
    uint64_t t = wf_vfs_now();
    if (dst) {
        free(ndir->ents[ni].name);
        ndir->ents[ni].name = copy;
        ndir->ents[ni].node = src;
        dst->nlink--;
        if (dst->type == WF_VFS_DIR)
            dst->parent = NULL;
        node_release(vfs, dst);
        oi = dir_index(odir, oname, olen);  /* same dir: index unchanged */
        dir_take(odir, (uint32_t)oi);
    } else {
        dir_take(odir, (uint32_t)oi);
        ndir->ents[ndir->nents++] = (struct wf_vfs_dirent){ copy, (uint32_t)nlen, src };
    }
    if (src->type == WF_VFS_DIR)
        src->parent = ndir;
    odir->mtim = odir->ctim = ndir->mtim = ndir->ctim = src->ctim = t;
    /* copy is owned by ndir's entry now (both branches above store it). */
    // cppcheck-suppress memleak
    return 0;
}

int wf_vfs_link(struct wf_vfs *vfs, struct wf_vfs_node *node,
                struct wf_vfs_node *ndir, const char *nname, size_t nlen)
{
    int rc;
    if ((rc = dir_writable(ndir)) || (rc = check_name(nname, nlen)))
        return rc;
    if (node->type == WF_VFS_DIR)
        return WASI_EPERM;
    if (node->readonly)
        return WASI_EXDEV;   /* image nodes cannot gain /tmp names */
    if (!dir_alive(vfs, ndir))
        return WASI_ENOENT;
    if (node->nlink == 0)
        return WASI_ENOENT;
    if (wf_vfs_lookup(ndir, nname, nlen))
        return WASI_EEXIST;
    if (node->nlink >= 65000)
        return WASI_EMLINK;
    if (dir_add(ndir, nname, nlen, node))
        return WASI_ENOMEM;
    node->ctim = ndir->mtim = ndir->ctim = wf_vfs_now();
    return 0;
}

size_t wf_vfs_read(const struct wf_vfs_node *f, uint64_t off, void *buf,
                   size_t len)
{
    if (off >= f->size)
        return 0;
    uint64_t avail = f->size - off;
    size_t n = len < avail ? len : (size_t)avail;
    memcpy(buf, f->data + off, n);
    return n;
}

/* Makes room for `size` bytes, charging the quota for the capacity. */
static int file_reserve(struct wf_vfs *vfs, struct wf_vfs_node *f, uint64_t size)
{
    if (size <= f->cap)
        return 0;
    uint64_t room = vfs->max_bytes - vfs->used_bytes + f->cap;
    if (size > room)
        return WASI_ENOSPC;
    uint64_t ncap = f->cap * 2;
    if (ncap < size)
        ncap = size;
    if (ncap < 256)
        ncap = 256;
    if (ncap > room)
        ncap = size;
    if (ncap > SIZE_MAX)
        return WASI_EFBIG;
    uint8_t *d = realloc(f->data, (size_t)ncap);
    if (!d)
        return WASI_ENOMEM;
    vfs->used_bytes += ncap - f->cap;
    f->data = d;
    f->cap = ncap;
    f->owns_data = 1;
    return 0;
}

int wf_vfs_write(struct wf_vfs *vfs, struct wf_vfs_node *f, uint64_t off,
                 const void *buf, size_t len)
{
    if (f->type != WF_VFS_FILE)
        return WASI_EINVAL;
    if (f->readonly)
        return WASI_EROFS;
    if (off > INT64_MAX || len > INT64_MAX - off)
        return WASI_EFBIG;
    uint64_t end = off + len;
    int rc = file_reserve(vfs, f, end);
    if (rc)
        return rc;
    if (off > f->size)
        memset(f->data + f->size, 0, (size_t)(off - f->size));
    if (len)
        memcpy(f->data + off, buf, len);
    if (end > f->size)
        f->size = end;
    f->mtim = f->ctim = wf_vfs_now();
    return 0;
}

int wf_vfs_truncate(struct wf_vfs *vfs, struct wf_vfs_node *f, uint64_t size)
{
    if (f->type != WF_VFS_FILE)
        return WASI_EINVAL;
    if (f->readonly)
        return WASI_EROFS;
    if (size > INT64_MAX)
        return WASI_EFBIG;
    int rc = file_reserve(vfs, f, size);
    if (rc)
        return rc;
    if (size > f->size)
        memset(f->data + f->size, 0, (size_t)(size - f->size));
    f->size = size;
    f->mtim = f->ctim = wf_vfs_now();
    return 0;
}
