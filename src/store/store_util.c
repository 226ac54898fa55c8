/* store_util.c - logic both store back ends share: SHA-256, timestamps,
 * UUIDs, input checks, records built from rows, and freeing records. */
#include "store/store_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/io.h"
#include "common/wf_error.h"

/* ---- SHA-256 (FIPS 180-4) ------------------------------------------------ */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* One 64-byte block into the running state h. */
static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
                      sha256_k[i] + w[i];
        uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void wf_store_sha256_bytes(const void *data, size_t len, uint8_t digest[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64)
        sha256_block(h, p);

    /* The tail: the rest, a 1 bit, zeros, the length in bits (big endian);
     * one block, or two when the length does not fit behind the rest. */
    uint8_t tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tlen = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha256_block(h, tail);
    if (tlen == 128)
        sha256_block(h, tail + 64);

    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h[i];
    }
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void wf_store_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t d[32];
    wf_store_sha256_bytes(data, len, d);
    hex_encode(d, sizeof d, out);
}

/* ---- UUIDs and timestamps ------------------------------------------------ */

void wf_store_uuid4(char out[37])
{
    uint8_t b[16];
    /* getrandom cannot fail on Linux >= 3.17 for 16 bytes once the pool
     * is initialised; an id that is not random would be a silent bug. */
    if (wf_io_random(b, sizeof b) != 0)
        abort();
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);  /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
    char hex[33];
    hex_encode(b, sizeof b, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void wf_store_timestamp_now(char out[25])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    /* The year is clamped so the text keeps its fixed width (and order). */
    int year = tm.tm_year + 1900;
    if (year > 9999)
        year = 9999;
    char buf[96];  /* roomy for any int: the compiler cannot see the ranges */
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
    memcpy(out, buf, WF_STORE_TS_LEN - 1);
    out[WF_STORE_TS_LEN - 1] = '\0';
}

/* ---- input checks -------------------------------------------------------- */

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int wf_store_uuid_valid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return 0;
    }
    return 1;
}

/* Exactly "YYYY-MM-DDTHH:MM:SS.mmmZ" naming a real instant: both back ends
 * must accept the same values (PostgreSQL would reject February 30th). */
int wf_store_timestamp_valid(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (s == NULL || strlen(s) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return 0;
    }
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    struct tm want = tm;
    time_t t = timegm(&tm);
    struct tm back;
    if (gmtime_r(&t, &back) == NULL)
        return 0;
    return back.tm_year == want.tm_year && back.tm_mon == want.tm_mon &&
           back.tm_mday == want.tm_mday && back.tm_hour == want.tm_hour &&
           back.tm_min == want.tm_min && back.tm_sec == want.tm_sec;
}

/* ---- rows to records ----------------------------------------------------- */

int wf_store_parse_i64(const char *s, int64_t *v)
{
    if (s == NULL || *s == '\0')
        return WF_EINTERNAL;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return WF_EINTERNAL;
    *v = x;
    return 0;
}

static int parse_int(const char *s, int *v)
{
    int64_t x;
    if (wf_store_parse_i64(s, &x) != 0 || x < INT32_MIN || x > INT32_MAX)
        return WF_EINTERNAL;
    *v = (int)x;
    return 0;
}

/* Copies a column: NULL stays NULL unless `required`, which makes it an
 * error (a NOT NULL column came back NULL: the schema is not ours). */
static int copy_col(const char *s, int required, char **dst)
{
    if (s == NULL) {
        *dst = NULL;
        return required ? WF_EINTERNAL : 0;
    }
    *dst = strdup(s);
    return *dst ? 0 : WF_ENOMEM;
}

int wf_store_plugin_from_row(wf_store_col_fn get, void *row, int with_code, wf_plugin *out)
{
    memset(out, 0, sizeof *out);
    int64_t size = 0;
    int rc = copy_col(get(row, 0), 1, &out->name);
    if (!rc) rc = parse_int(get(row, 1), &out->version);
    if (!rc) rc = copy_col(get(row, 2), 1, &out->created_at);
    if (!rc) rc = copy_col(get(row, 3), 1, &out->updated_at);
    if (!rc) rc = copy_col(get(row, 4), 1, &out->description);
    if (!rc) rc = copy_col(get(row, 5), 1, &out->input_type);
    if (!rc) rc = copy_col(get(row, 6), 1, &out->input_hint);
    if (!rc) rc = parse_int(get(row, 7), &out->calls);
    if (!rc) rc = copy_col(get(row, 8), 1, &out->sha256);
    if (!rc) rc = wf_store_parse_i64(get(row, 9), &size);
    if (!rc && with_code) rc = copy_col(get(row, 10), 1, &out->code);
    out->size_bytes = size;
    if (rc)
        wf_plugin_clear(out);
    return rc;
}

int wf_store_run_from_row(wf_store_col_fn get, void *row, wf_run_record *out)
{
    memset(out, 0, sizeof *out);
    const char *success = get(row, 3);
    int rc = copy_col(get(row, 0), 1, &out->run_id);
    if (!rc) rc = copy_col(get(row, 1), 1, &out->plugin);
    if (!rc) rc = parse_int(get(row, 2), &out->version);
    if (!rc) rc = success ? 0 : WF_EINTERNAL;
    /* SQLite keeps 0/1, PostgreSQL's boolean reads "t"/"f". */
    if (!rc) out->success = success[0] == '1' || success[0] == 't';
    if (!rc) rc = copy_col(get(row, 4), 1, &out->output);
    if (!rc) rc = copy_col(get(row, 5), 0, &out->error);
    if (!rc) rc = copy_col(get(row, 6), 0, &out->error_type);
    if (!rc) rc = copy_col(get(row, 7), 0, &out->result_json);
    if (!rc) rc = copy_col(get(row, 8), 1, &out->logs);
    if (!rc) rc = copy_col(get(row, 9), 1, &out->input_data);
    if (!rc) rc = parse_int(get(row, 10), &out->ai_calls);
    if (!rc) rc = wf_store_parse_i64(get(row, 11), &out->duration_ms);
    if (!rc) rc = copy_col(get(row, 12), 1, &out->started_at);
    if (!rc) rc = copy_col(get(row, 13), 1, &out->stdout_text);
    if (!rc) rc = copy_col(get(row, 14), 0, &out->limits_json);
    if (rc)
        wf_run_record_clear(out);
    return rc;
}

void *wf_store_array_push(void **arr, size_t *n, size_t *cap, size_t elem)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void *p = realloc(*arr, ncap * elem);
        if (p == NULL)
            return NULL;
        *arr = p;
        *cap = ncap;
    }
    void *slot = (char *)*arr + *n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

/* ---- freeing records ----------------------------------------------------- */

void wf_plugin_clear(wf_plugin *p)
{
    if (p == NULL)
        return;
    free(p->name);
    free(p->code);
    free(p->description);
    free(p->input_type);
    free(p->input_hint);
    free(p->sha256);
    free(p->created_at);
    free(p->updated_at);
    memset(p, 0, sizeof *p);
}

void wf_plugins_free(wf_plugin *list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++)
        wf_plugin_clear(&list[i]);
    free(list);
}

void wf_run_record_clear(wf_run_record *r)
{
    if (r == NULL)
        return;
    free(r->run_id);
    free(r->plugin);
    free(r->output);
    free(r->stdout_text);
    free(r->limits_json);
    free(r->error);
    free(r->error_type);
    free(r->result_json);
    free(r->logs);
    free(r->input_data);
    free(r->started_at);
    memset(r, 0, sizeof *r);
}

void wf_run_records_free(wf_run_record *list, size_t n)
{
    for (size_t i = 0; list != NULL && i < n; i++)
        wf_run_record_clear(&list[i]);
    free(list);
}
