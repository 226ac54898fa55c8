/* journal.c - the local journal of records waiting for the database (see
 * journal.h for the file format and the promises). */
#include "store/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"

#define HEAD_MAGIC "WFJRNL01"
#define HEAD_LEN 16
#define REC_MAGIC 0x314e524au /* "JRN1" little-endian */
#define REC_HDR_LEN 24
/* Space taken ahead of need, so records still fit once the disk is full. */
#define PREALLOC_BYTES (4u << 20)
/* One record may be this large (a run's output and logs are capped). */
#define REC_MAX (256u << 20)

typedef struct jentry {
    char *key;
    char *text;
    int done;  /* replayed; forgotten at the next compaction */
} jentry;

struct wf_journal {
    int fd;
    pthread_mutex_t mu;       /* guards everything below */
    pthread_mutex_t replay_mu;/* one replay at a time */
    uint64_t epoch;
    off_t end;                /* where the next record goes */
    off_t allocated;          /* bytes of the file reserved on the disk */
    jentry **e;
    size_t n, cap;
};

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* CRC-32 (the zlib polynomial): tells a whole record from a torn one. */
static uint32_t crc32_of(const void *data, size_t len)
{
    pthread_once(&crc_once, crc_table_init);
    const unsigned char *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static void put_u32(unsigned char *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *b)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static uint64_t get_u64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

/* pwrite all of it, or -1 with errno. */
static int write_at(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
        off += w;
    }
    return 0;
}

static int read_at(int fd, void *buf, size_t len, off_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        len -= (size_t)r;
        off += r;
    }
    return 0;
}

static int errno_code(int e)
{
    return e == ENOSPC || e == EDQUOT ? WF_ENOSPC : e == ENOMEM ? WF_ENOMEM : WF_EIO;
}

/* Reserves the file's blocks up to `upto` bytes (posix_fallocate, which
 * also extends the file with zeros). */
static int reserve(wf_journal *j, off_t upto)
{
    if (upto <= j->allocated)
        return 0;
    int e = posix_fallocate(j->fd, 0, upto);
    if (e != 0)
        return errno_code(e);
    j->allocated = upto;
    return 0;
}

static int write_head(wf_journal *j)
{
    unsigned char h[HEAD_LEN];
    memcpy(h, HEAD_MAGIC, 8);
    put_u64(h + 8, j->epoch);
    if (write_at(j->fd, h, sizeof h, 0) < 0 || fdatasync(j->fd) < 0)
        return errno_code(errno);
    return 0;
}

static int add_entry(wf_journal *j, char *key, char *text)
{
    jentry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return WF_ENOMEM;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        jentry **ne = realloc(j->e, cap * sizeof *ne);
        if (ne == NULL) {
            free(e);
            return WF_ENOMEM;
        }
        j->e = ne;
        j->cap = cap;
    }
    e->key = key;
    e->text = text;
    j->e[j->n++] = e;
    return 0;
}

static void free_entry(jentry *e)
{
    free(e->key);
    free(e->text);
    free(e);
}

/* Reads the records of the current epoch from the head on. */
static int load(wf_journal *j)
{
    off_t off = HEAD_LEN;
    unsigned char h[REC_HDR_LEN];
    while (off + REC_HDR_LEN <= j->allocated && read_at(j->fd, h, sizeof h, off) == 0) {
        uint32_t len = get_u32(h + 4), crc = get_u32(h + 16), klen = get_u32(h + 20);
        if (get_u32(h) != REC_MAGIC || get_u64(h + 8) != j->epoch || len > REC_MAX ||
            klen == 0 || klen > len || off + REC_HDR_LEN + (off_t)len > j->allocated)
            break;
        char *buf = malloc((size_t)len + 1);
        if (buf == NULL)
            return WF_ENOMEM;
        if (read_at(j->fd, buf, len, off + REC_HDR_LEN) < 0 || crc32_of(buf, len) != crc) {
            free(buf);
            break;
        }
        buf[len] = '\0';
        char *key = strndup(buf, klen);
        char *text = strdup(buf + klen);
        free(buf);
        if (key == NULL || text == NULL || add_entry(j, key, text) != 0) {
            free(key);
            free(text);
            return WF_ENOMEM;
        }
        off += REC_HDR_LEN + (off_t)len;
    }
    j->end = off;
    return 0;
}

int wf_journal_open(const char *path, wf_journal **out, char *err, size_t errlen)
{
    *out = NULL;
    wf_journal *j = calloc(1, sizeof *j);
    if (j == NULL)
        return WF_ENOMEM;
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->replay_mu, NULL);
    int rc = 0;
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0) {
        wf_errorf(err, errlen, "cannot open the run journal %s: %s", path, strerror(errno));
        rc = WF_EIO;
        goto fail;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
        wf_errorf(err, errlen, "the run journal %s is in use by another process", path);
        rc = errno == EWOULDBLOCK ? WF_EUNAVAIL : WF_EIO;
        goto fail;
    }
    struct stat sb;
    if (fstat(j->fd, &sb) < 0) {
        wf_errorf(err, errlen, "cannot read the run journal %s: %s", path, strerror(errno));
        rc = WF_EIO;
        goto fail;
    }
    j->allocated = sb.st_size;
    unsigned char h[HEAD_LEN];
    if (sb.st_size >= HEAD_LEN && read_at(j->fd, h, sizeof h, 0) == 0 &&
        memcmp(h, HEAD_MAGIC, 8) == 0) {
        j->epoch = get_u64(h + 8);
        if ((rc = load(j)) != 0)
            goto fail;
    } else {
        /* New (or not ours: it is started over). */
        j->epoch = 1;
        j->end = HEAD_LEN;
        if (reserve(j, HEAD_LEN) != 0 || write_head(j) != 0) {
            wf_errorf(err, errlen, "cannot write the run journal %s: %s", path, strerror(errno));
            rc = WF_EIO;
            goto fail;
        }
    }
    /* Room ahead; without it the journal still works while the disk has
     * space. */
    if (reserve(j, j->end + PREALLOC_BYTES) != 0)
        wf_log_warn("store: cannot reserve %u bytes for the run journal %s",
                    PREALLOC_BYTES, path);
    *out = j;
    return 0;
fail:
    wf_journal_close(j);
    return rc;
}

void wf_journal_close(wf_journal *j)
{
    if (j == NULL)
        return;
    if (j->fd >= 0)
        close(j->fd);
    for (size_t i = 0; i < j->n; i++)
        free_entry(j->e[i]);
    free(j->e);
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->replay_mu);
    free(j);
}

int wf_journal_append(wf_journal *j, const char *key, const char *text)
{
    size_t klen = strlen(key), tlen = strlen(text);
    if (klen == 0 || klen + tlen > REC_MAX)
        return WF_EINVAL;
    uint32_t len = (uint32_t)(klen + tlen);
    unsigned char *buf = malloc(REC_HDR_LEN + (size_t)len);
    char *k = strdup(key), *t = strdup(text);
    int rc = buf && k && t ? 0 : WF_ENOMEM;
    if (rc == 0) {
        memcpy(buf + REC_HDR_LEN, key, klen);
        memcpy(buf + REC_HDR_LEN + klen, text, tlen);
        put_u32(buf, REC_MAGIC);
        put_u32(buf + 4, len);
        put_u32(buf + 16, crc32_of(buf + REC_HDR_LEN, len));
        put_u32(buf + 20, (uint32_t)klen);
    }
    pthread_mutex_lock(&j->mu);
    if (rc == 0) {
        put_u64(buf + 8, j->epoch);
        off_t need = j->end + REC_HDR_LEN + (off_t)len;
        /* Reserve ahead whenever the reserve runs low, so that a full disk
         * later still leaves room. */
        if (need > j->allocated && (rc = reserve(j, need + PREALLOC_BYTES)) != 0)
            rc = reserve(j, need);
    }
    if (rc == 0 && (write_at(j->fd, buf, REC_HDR_LEN + (size_t)len, j->end) < 0 ||
                    fdatasync(j->fd) < 0))
        rc = errno_code(errno);
    if (rc == 0 && (rc = add_entry(j, k, t)) == 0) {
        k = t = NULL;
        j->end += REC_HDR_LEN + (off_t)len;
    }
    /* A record written but not added (out of memory) is harmless: the next
     * append overwrites it, or a restart replays it. */
    pthread_mutex_unlock(&j->mu);
    free(buf);
    free(k);
    free(t);
    return rc;
}

int wf_journal_get(wf_journal *j, const char *key, char **text)
{
    *text = NULL;
    int rc = WF_ENOTFOUND;
    pthread_mutex_lock(&j->mu);
    for (size_t i = j->n; i-- > 0;) {
        if (!j->e[i]->done && strcmp(j->e[i]->key, key) == 0) {
            *text = strdup(j->e[i]->text);
            rc = *text ? 0 : WF_ENOMEM;
            break;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

int wf_journal_texts(wf_journal *j, char ***texts, size_t *n)
{
    *texts = NULL;
    *n = 0;
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    char **out = j->n ? calloc(j->n, sizeof *out) : NULL;
    if (j->n && out == NULL)
        rc = WF_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < j->n; i++) {
        if (j->e[i]->done)
            continue;
        if ((out[k] = strdup(j->e[i]->text)) == NULL)
            rc = WF_ENOMEM;
        else
            k++;
    }
    pthread_mutex_unlock(&j->mu);
    if (rc != 0) {
        for (size_t i = 0; i < k; i++)
            free(out[i]);
        free(out);
        return rc;
    }
    *texts = out;
    *n = k;
    return 0;
}

size_t wf_journal_pending(wf_journal *j)
{
    size_t left = 0;
    pthread_mutex_lock(&j->mu);
    for (size_t i = 0; i < j->n; i++)
        left += !j->e[i]->done;
    pthread_mutex_unlock(&j->mu);
    return left;
}

size_t wf_journal_replay(wf_journal *j, wf_journal_put_fn put, void *ctx)
{
    pthread_mutex_lock(&j->replay_mu);
    /* Entries are only ever freed here, so the ones seen now stay valid
     * while put() runs without the lock (appends may add more meanwhile). */
    pthread_mutex_lock(&j->mu);
    size_t n = j->n;
    jentry **snap = n ? malloc(n * sizeof *snap) : NULL;
    if (snap)
        memcpy(snap, j->e, n * sizeof *snap);
    pthread_mutex_unlock(&j->mu);
    if (n > 0 && snap == NULL) {
        pthread_mutex_unlock(&j->replay_mu);
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        if (snap[i]->done)
            continue;
        if (put(ctx, snap[i]->key, snap[i]->text) != 0)
            break; /* the database is still away: try again later */
        pthread_mutex_lock(&j->mu);
        snap[i]->done = 1;
        pthread_mutex_unlock(&j->mu);
    }
    free(snap);

    pthread_mutex_lock(&j->mu);
    size_t left = 0, keep = 0;
    for (size_t i = 0; i < j->n; i++) {
        if (j->e[i]->done) {
            free_entry(j->e[i]);
        } else {
            j->e[keep++] = j->e[i];
            left++;
        }
    }
    j->n = keep;
    if (left == 0 && j->end > HEAD_LEN) {
        /* Everything is in the database: a new epoch empties the file
         * (its blocks stay reserved). */
        j->epoch++;
        if (write_head(j) == 0)
            j->end = HEAD_LEN;
        else
            j->epoch--; /* the old records stay readable; replayed again, harmlessly */
    }
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_unlock(&j->replay_mu);
    return left;
}
