/* log.c - structured log lines to stderr, as text or one JSON object a line.
 * Each line is formatted into one buffer and written with one write(2), so
 * concurrent threads never interleave and no lock is needed. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_min_level = WF_LOG_INFO;
static atomic_int log_json;

/* Longer lines are cut; the cut is marked so nobody mistakes it for the end. */
#define LOG_LINE_MAX 8192

void wf_log_setup(enum wf_log_level min_level, int json)
{
    atomic_store(&log_min_level, (int)min_level);
    atomic_store(&log_json, json != 0);
}

int wf_log_level_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcasecmp(s, "debug") == 0) return WF_LOG_DEBUG;
    if (strcasecmp(s, "info") == 0) return WF_LOG_INFO;
    if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0) return WF_LOG_WARN;
    if (strcasecmp(s, "error") == 0) return WF_LOG_ERROR;
    return -1;
}

static const char *level_name(enum wf_log_level level)
{
    switch (level) {
    case WF_LOG_DEBUG: return "DEBUG";
    case WF_LOG_INFO: return "INFO";
    case WF_LOG_WARN: return "WARN";
    default: return "ERROR";
    }
}

/* A line under construction: appends never overflow, they set `cut`. */
struct line {
    char buf[LOG_LINE_MAX];
    size_t len;
    size_t safe_len; /* JSON: length after the last complete field */
    int cut;
};

static void put_mem(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof l->buf - 32 - l->len; /* reserved for the cut marker */
    if (l->cut)
        return;
    if (n > room) {
        /* plain text may be cut anywhere; callers pass escapes whole */
        n = n <= 6 ? 0 : room;
        l->cut = 1;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void put_str(struct line *l, const char *s)
{
    put_mem(l, s, strlen(s));
}

/* Appends into the reserved tail: only for the few closing bytes. */
static void put_closing(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n + 2 <= sizeof l->buf) {
        memcpy(l->buf + l->len, s, n);
        l->len += n;
    }
}

/* JSON string body (no quotes); control characters escaped. An escape is
 * written whole or not at all, so a cut never leaves half of one. */
static void put_json_escaped(struct line *l, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p && !l->cut; p++) {
        char esc[8];
        switch (*p) {
        case '"': put_mem(l, "\\\"", 2); break;
        case '\\': put_mem(l, "\\\\", 2); break;
        case '\n': put_mem(l, "\\n", 2); break;
        case '\r': put_mem(l, "\\r", 2); break;
        case '\t': put_mem(l, "\\t", 2); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                put_mem(l, esc, 6);
            } else {
                put_mem(l, (const char *)p, 1);
            }
        }
    }
}

/* Text values are quoted when they hold spaces, quotes or '=' so that the
 * line stays machine-splittable; newlines never break a line. */
static void put_text_value(struct line *l, const char *s)
{
    int quote = (*s == '\0');
    for (const char *p = s; *p && !quote; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            quote = 1;
    if (!quote) {
        put_str(l, s);
        return;
    }
    put_mem(l, "\"", 1);
    put_json_escaped(l, s);
    put_mem(l, "\"", 1);
}

static void put_timestamp(struct line *l)
{
    struct timespec ts;
    struct tm tm;
    char buf[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03ldZ", ts.tv_nsec / 1000000);
    put_str(l, buf);
}

static void emit(struct line *l)
{
    l->buf[l->len++] = '\n';
    const char *p = l->buf;
    size_t left = l->len;
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        left -= (size_t)w;
    }
}

static void begin(struct line *l, enum wf_log_level level, const char *msg)
{
    l->len = 0;
    l->cut = 0;
    if (atomic_load(&log_json)) {
        put_str(l, "{\"ts\":\"");
        put_timestamp(l);
        put_str(l, "\",\"level\":\"");
        put_str(l, level_name(level));
        put_str(l, "\",\"msg\":\"");
        put_json_escaped(l, msg);
        put_closing(l, "\"");
        l->safe_len = l->len;
    } else {
        put_timestamp(l);
        put_str(l, " ");
        put_str(l, level_name(level));
        put_str(l, " ");
        for (const char *p = msg; *p; p++)
            put_mem(l, (*p == '\n' || *p == '\r') ? " " : p, 1);
    }
}

static void add_field(struct line *l, const char *key, const char *value)
{
    if (atomic_load(&log_json)) {
        put_str(l, ",\"");
        put_json_escaped(l, key);
        put_str(l, "\":\"");
        put_json_escaped(l, value ? value : "");
        put_str(l, "\"");
        if (!l->cut)
            l->safe_len = l->len;
    } else {
        put_str(l, " ");
        put_str(l, key);
        put_str(l, "=");
        put_text_value(l, value ? value : "");
    }
}

/* Close the line; a cut line says so and, in JSON, still parses (the
 * fields that did not fit entirely are dropped). */
static void finish(struct line *l)
{
    const char *tail;
    if (atomic_load(&log_json)) {
        if (l->cut)
            l->len = l->safe_len;
        tail = l->cut ? ",\"cut\":true}" : "}";
    } else {
        tail = l->cut ? " ...[cut]" : "";
    }
    size_t n = strlen(tail);
    (void)n;
    put_closing(l, tail);
    emit(l);
}

void wf_log(enum wf_log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&log_min_level))
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct line l;
    begin(&l, level, msg);
    finish(&l);
}

void wf_log_kv(enum wf_log_level level, const char *msg, ...)
{
    if ((int)level < atomic_load(&log_min_level))
        return;
    struct line l;
    begin(&l, level, msg);
    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        const char *value = va_arg(ap, const char *);
        add_field(&l, key, value);
    }
    va_end(ap);
    finish(&l);
}
