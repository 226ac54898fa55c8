/* log.c - structured log lines to stderr, as text or one JSON object a line.
 * Lines are formatted whole, then appended to a shared buffer that a
 * background thread writes out every few milliseconds (one write(2) for
 * many lines: a busy server logs every request). WARN and ERROR lines, and
 * lines from a process without the flusher (a forked child), are written
 * at once, after whatever is buffered, so order is kept and nothing that
 * matters waits on a timer. */
#include "common/log.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/io.h"
#include "common/utf8.h"

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

/* How a string is escaped: inside a JSON string or a quoted text value
 * (quotes and backslashes escaped too, invalid UTF-8 as U+FFFD), or as a
 * text line's bare message (only what a terminal would act on). */
enum esc_mode { ESC_QUOTED, ESC_BARE };

/* A C1 control (U+0080..U+009F, encoded C2 80..C2 9F): terminals take
 * U+009B as CSI, so they are as dangerous as ESC. */
static int is_c1(const unsigned char *p, size_t n)
{
    return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

/* Write s with every control character (C0, DEL, C1) escaped, so that no
 * string a client or a plugin chose (a path, a plugin name, an error
 * message) puts a raw escape sequence or a line break into the log, in
 * either format. Bytes that are not valid UTF-8 become U+FFFD when quoted
 * (the line must stay JSON) and \xNN in a bare message. An escape is
 * written whole or not at all, so a cut never leaves half of one. */
static void put_escaped(struct line *l, const char *s, enum esc_mode mode)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (left > 0 && !l->cut) {
        char esc[8];
        size_t n = *p < 0x80 ? 1 : wf_utf8_char_len((const char *)p, left);
        if (n == 0) {
            n = 1;
            if (mode == ESC_QUOTED) {
                put_mem(l, "\\ufffd", 6);
            } else {
                snprintf(esc, sizeof esc, "\\x%02x", *p);
                put_mem(l, esc, 4);
            }
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            put_mem(l, *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : "\\t", 2);
        } else if (*p < 0x20 || *p == 0x7f || is_c1(p, n)) {
            snprintf(esc, sizeof esc, "\\u%04x", n == 2 ? p[1] : *p);
            put_mem(l, esc, 6);
        } else if (mode == ESC_QUOTED && (*p == '"' || *p == '\\')) {
            put_mem(l, *p == '"' ? "\\\"" : "\\\\", 2);
        } else {
            put_mem(l, (const char *)p, n);
        }
        p += n;
        left -= n;
    }
}

/* Text values are quoted when they hold spaces, quotes, '=' or anything
 * that is not plain printable ASCII, so that the line stays
 * machine-splittable and every control character is escaped. */
static void put_text_value(struct line *l, const char *s)
{
    int quote = (*s == '\0');
    for (const unsigned char *p = (const unsigned char *)s; *p && !quote; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || *p < 0x20 || *p >= 0x7f)
            quote = 1;
    if (!quote) {
        put_str(l, s);
        return;
    }
    put_mem(l, "\"", 1);
    put_escaped(l, s, ESC_QUOTED);
    put_mem(l, "\"", 1);
}

static void put_timestamp(struct line *l)
{
    /* The date and time to the second change once a second: format them
     * once per thread and second. */
    static __thread time_t cached_sec = -1;
    static __thread char cached[32];
    static __thread size_t cached_len;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        cached_len = strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = ts.tv_sec;
    }
    char ms[8];
    int ms_v = (int)(ts.tv_nsec / 1000000);
    ms[0] = '.';
    ms[1] = (char)('0' + ms_v / 100);
    ms[2] = (char)('0' + ms_v / 10 % 10);
    ms[3] = (char)('0' + ms_v % 10);
    ms[4] = 'Z';
    put_mem(l, cached, cached_len);
    put_mem(l, ms, 5);
}

/* The shared buffer and its flusher. */
#define FLUSH_EVERY_NS (20 * 1000 * 1000)
static pthread_mutex_t buf_mu = PTHREAD_MUTEX_INITIALIZER;
static char out_buf[64 * 1024];
static size_t out_len;
static int flusher_running;
static pthread_t flusher_thread;
static pid_t flusher_pid; /* the process whose thread it is (not a fork) */
static pthread_once_t flusher_once = PTHREAD_ONCE_INIT;

static void flush_locked(void)
{
    (void)wf_io_write_all(STDERR_FILENO, out_buf, out_len);
    out_len = 0;
}

static void *flusher_main(void *arg)
{
    (void)arg;
    const struct timespec tick = { 0, FLUSH_EVERY_NS };
    for (;;) {
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&buf_mu);
        if (!flusher_running) {
            pthread_mutex_unlock(&buf_mu);
            return NULL;
        }
        flush_locked();
        pthread_mutex_unlock(&buf_mu);
    }
}

void wf_log_flush(void)
{
    pthread_mutex_lock(&buf_mu);
    flush_locked();
    pthread_mutex_unlock(&buf_mu);
}

/* At exit: write what is left and end the flusher, so that nothing of
 * it is left behind (leak checkers count a running thread's stack). */
static void stop_flusher(void)
{
    pthread_mutex_lock(&buf_mu);
    flush_locked();
    int join = flusher_running && flusher_pid == getpid() &&
               !pthread_equal(pthread_self(), flusher_thread);
    flusher_running = 0;
    pthread_mutex_unlock(&buf_mu);
    if (join)
        pthread_join(flusher_thread, NULL);
}

/* A forked child has no flusher thread: it writes its lines itself, and
 * leaves what the parent had buffered to the parent. */
static void after_fork_child(void)
{
    pthread_mutex_init(&buf_mu, NULL);
    out_len = 0;
    flusher_running = 0;
}

static void start_flusher(void)
{
    pthread_atfork(NULL, NULL, after_fork_child);
    atexit(stop_flusher);
    /* Signals belong to the threads that wait for them, never this one. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_mutex_lock(&buf_mu);
    flusher_running = pthread_create(&flusher_thread, NULL, flusher_main, NULL) == 0;
    flusher_pid = getpid();
    pthread_mutex_unlock(&buf_mu);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void emit(struct line *l, enum wf_log_level level)
{
    l->buf[l->len++] = '\n';
    if (level < WF_LOG_WARN)
        pthread_once(&flusher_once, start_flusher);
    pthread_mutex_lock(&buf_mu);
    if (level >= WF_LOG_WARN || !flusher_running) {
        flush_locked();
        (void)wf_io_write_all(STDERR_FILENO, l->buf, l->len);
    } else {
        if (l->len > sizeof out_buf - out_len)
            flush_locked();
        memcpy(out_buf + out_len, l->buf, l->len);
        out_len += l->len;
    }
    pthread_mutex_unlock(&buf_mu);
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
        put_escaped(l, msg, ESC_QUOTED);
        put_closing(l, "\"");
        l->safe_len = l->len;
    } else {
        put_timestamp(l);
        put_str(l, " ");
        put_str(l, level_name(level));
        put_str(l, " ");
        put_escaped(l, msg, ESC_BARE);
    }
}

static void add_field(struct line *l, const char *key, const char *value)
{
    if (atomic_load(&log_json)) {
        put_str(l, ",\"");
        put_escaped(l, key, ESC_QUOTED);
        put_str(l, "\":\"");
        put_escaped(l, value ? value : "", ESC_QUOTED);
        put_str(l, "\"");
        if (!l->cut)
            l->safe_len = l->len;
    } else {
        put_str(l, " ");
        put_escaped(l, key, ESC_BARE);
        put_str(l, "=");
        put_text_value(l, value ? value : "");
    }
}

/* Close the line; a cut line says so and, in JSON, still parses (the
 * fields that did not fit entirely are dropped). */
static void finish(struct line *l, enum wf_log_level level)
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
    emit(l, level);
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
    finish(&l, level);
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
    finish(&l, level);
}
