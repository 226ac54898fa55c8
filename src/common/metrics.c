/* metrics.c - process-wide counters for GET /metrics, rendered in the
 * Prometheus text exposition format (version 0.0.4). */
#include "common/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

/* Run outcomes are a fixed set (SPEC §3); anything else counts as "other". */
static const char *const run_outcomes[] = {
    "ok", "plugin_error", "timeout", "sandbox_violation", "runtime_error",
    "memory_limit", "cancelled", "other",
};
#define N_OUTCOMES (sizeof run_outcomes / sizeof run_outcomes[0])

/* Histogram upper bounds in milliseconds (rendered in seconds). */
static const int64_t duration_bounds_ms[] = {
    10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000,
};
#define N_BOUNDS (sizeof duration_bounds_ms / sizeof duration_bounds_ms[0])

static atomic_uint_fast64_t runs_by_outcome[N_OUTCOMES];
static atomic_uint_fast64_t duration_buckets[N_BOUNDS + 1]; /* last: +Inf */
static atomic_uint_fast64_t duration_sum_ms;
static atomic_uint_fast64_t duration_count;

/* HTTP statuses 100..599 by exact code. */
static atomic_uint_fast64_t http_by_status[600];

/* AI calls: model names come from plugins, so only the models the
 * operator allows get a row of their own (wf_metrics_set_models); every
 * other name counts under model="other" (the last row). Rows are made at
 * start-up from the allowlist, or with ALLOWED_MODELS=* on a model's first
 * successful call, up to AI_MODELS_MAX. */
#define AI_MODELS_MAX 64
static const char *const ai_outcomes[] = { "ok", "refused", "error", "timeout" };
#define N_AI_OUTCOMES (sizeof ai_outcomes / sizeof ai_outcomes[0])
struct ai_row {
    char model[128];
    uint64_t count[N_AI_OUTCOMES + 1]; /* last: any other outcome */
};
static struct ai_row ai_rows[AI_MODELS_MAX + 1]; /* last: "other" */
static size_t ai_rows_n;
static int ai_every; /* ALLOWED_MODELS=*: rows made by successful calls */
static pthread_mutex_t ai_lock = PTHREAD_MUTEX_INITIALIZER;

/* A name that may be a label value: fits a row, valid UTF-8, and no
 * control character but the newline (which label_escape writes as \n;
 * the exposition format would carry the others raw). */
static int label_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof ai_rows[0].model || !wf_utf8_valid(name, n) ||
        strcmp(name, "other") == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
            return 0;
    return 1;
}

void wf_metrics_run_finished(const char *outcome, int64_t duration_ms)
{
    size_t i;
    for (i = 0; i < N_OUTCOMES - 1; i++)
        if (outcome != NULL && strcmp(outcome, run_outcomes[i]) == 0)
            break;
    atomic_fetch_add(&runs_by_outcome[i], 1);

    if (duration_ms < 0)
        duration_ms = 0;
    size_t b;
    for (b = 0; b < N_BOUNDS; b++)
        if (duration_ms <= duration_bounds_ms[b])
            break;
    atomic_fetch_add(&duration_buckets[b], 1); /* cumulated when rendered */
    atomic_fetch_add(&duration_sum_ms, (uint_fast64_t)duration_ms);
    atomic_fetch_add(&duration_count, 1);
}

int wf_metrics_set_models(char *const *names, size_t n, int every)
{
    pthread_mutex_lock(&ai_lock);
    memset(ai_rows, 0, sizeof ai_rows);
    ai_rows_n = 0;
    ai_every = every != 0;
    for (size_t i = 0; i < n && ai_rows_n < AI_MODELS_MAX; i++) {
        if (!label_ok(names[i]))
            continue;
        snprintf(ai_rows[ai_rows_n].model, sizeof ai_rows[0].model, "%s", names[i]);
        ai_rows_n++;
    }
    pthread_mutex_unlock(&ai_lock);
    return 0;
}

void wf_metrics_ai_call(const char *model, const char *outcome)
{
    if (model == NULL)
        model = "";
    size_t o;
    for (o = 0; o < N_AI_OUTCOMES; o++)
        if (outcome != NULL && strcmp(outcome, ai_outcomes[o]) == 0)
            break;
    pthread_mutex_lock(&ai_lock);
    size_t r;
    for (r = 0; r < ai_rows_n; r++)
        if (strcmp(ai_rows[r].model, model) == 0)
            break;
    if (r == ai_rows_n) {
        /* Unknown name: a row only for a model Ollama just answered for,
         * and only when every model is allowed. */
        if (ai_every && o == 0 && ai_rows_n < AI_MODELS_MAX && label_ok(model)) {
            snprintf(ai_rows[r].model, sizeof ai_rows[r].model, "%s", model);
            ai_rows_n++;
        } else {
            r = AI_MODELS_MAX;
        }
    }
    ai_rows[r].count[o]++;
    pthread_mutex_unlock(&ai_lock);
}

void wf_metrics_http_request(int status)
{
    if (status < 100 || status > 599)
        status = 599;
    atomic_fetch_add_explicit(&http_by_status[status], 1, memory_order_relaxed);
}

/* A growing output buffer; on allocation failure it stays failed. */
struct out {
    char *buf;
    size_t len, cap;
    int failed;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *nb = realloc(o->buf, cap);
        if (nb == NULL) {
            o->failed = 1;
            return;
        }
        o->buf = nb;
        o->cap = cap;
    }
}

/* Label values escaped as the exposition format asks: \\, \" and \n. */
static void label_escape(const char *in, char *out, size_t outlen)
{
    size_t j = 0;
    for (const char *p = in; *p && j + 3 < outlen; p++) {
        if (*p == '\\' || *p == '"') {
            out[j++] = '\\';
            out[j++] = *p;
        } else if (*p == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else {
            out[j++] = *p;
        }
    }
    out[j] = '\0';
}

char *wf_metrics_render(int queued, int running, double sandbox_start_ms)
{
    struct out o = { .cap = 8192 };
    o.buf = malloc(o.cap);
    if (o.buf == NULL)
        return NULL;
    o.buf[0] = '\0';

    outf(&o, "# HELP wasmforge_runs_total Finished plugin runs by outcome.\n"
             "# TYPE wasmforge_runs_total counter\n");
    for (size_t i = 0; i < N_OUTCOMES; i++)
        outf(&o, "wasmforge_runs_total{outcome=\"%s\"} %llu\n", run_outcomes[i],
             (unsigned long long)atomic_load(&runs_by_outcome[i]));

    outf(&o, "# HELP wasmforge_run_duration_seconds Wall time of finished runs.\n"
             "# TYPE wasmforge_run_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t b = 0; b < N_BOUNDS; b++) {
        cum += atomic_load(&duration_buckets[b]);
        outf(&o, "wasmforge_run_duration_seconds_bucket{le=\"%g\"} %llu\n",
             (double)duration_bounds_ms[b] / 1000.0, (unsigned long long)cum);
    }
    cum += atomic_load(&duration_buckets[N_BOUNDS]);
    outf(&o, "wasmforge_run_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    outf(&o, "wasmforge_run_duration_seconds_sum %.3f\n",
         (double)atomic_load(&duration_sum_ms) / 1000.0);
    outf(&o, "wasmforge_run_duration_seconds_count %llu\n",
         (unsigned long long)atomic_load(&duration_count));

    outf(&o, "# HELP wasmforge_ai_calls_total AI calls made by plugins, by model and outcome.\n"
             "# TYPE wasmforge_ai_calls_total counter\n");
    pthread_mutex_lock(&ai_lock);
    for (size_t r = 0; r <= AI_MODELS_MAX; r++) {
        if (r >= ai_rows_n && r != AI_MODELS_MAX)
            continue;
        char model[260];
        label_escape(r == AI_MODELS_MAX ? "other" : ai_rows[r].model, model, sizeof model);
        for (size_t k = 0; k <= N_AI_OUTCOMES; k++) {
            if (ai_rows[r].count[k] == 0)
                continue;
            outf(&o, "wasmforge_ai_calls_total{model=\"%s\",outcome=\"%s\"} %llu\n", model,
                 k < N_AI_OUTCOMES ? ai_outcomes[k] : "other",
                 (unsigned long long)ai_rows[r].count[k]);
        }
    }
    pthread_mutex_unlock(&ai_lock);

    outf(&o, "# HELP wasmforge_runs_queued Runs waiting for a sandbox.\n"
             "# TYPE wasmforge_runs_queued gauge\nwasmforge_runs_queued %d\n", queued);
    outf(&o, "# HELP wasmforge_runs_running Runs executing now.\n"
             "# TYPE wasmforge_runs_running gauge\nwasmforge_runs_running %d\n", running);
    outf(&o, "# HELP wasmforge_sandbox_start_seconds Last measured sandbox start time.\n"
             "# TYPE wasmforge_sandbox_start_seconds gauge\n"
             "wasmforge_sandbox_start_seconds %.6f\n", sandbox_start_ms / 1000.0);

    outf(&o, "# HELP wasmforge_http_requests_total HTTP requests answered, by status.\n"
             "# TYPE wasmforge_http_requests_total counter\n");
    for (int s = 100; s < 600; s++) {
        uint64_t n = atomic_load_explicit(&http_by_status[s], memory_order_relaxed);
        if (n != 0)
            outf(&o, "wasmforge_http_requests_total{status=\"%d\"} %llu\n", s,
                 (unsigned long long)n);
    }

    if (o.failed) {
        free(o.buf);
        return NULL;
    }
    return o.buf;
}
