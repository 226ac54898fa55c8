/* store.c - the store's public functions: checks every argument once, fills
 * defaults, then hands over to the back end the configuration names. */
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/plugin_name.h"
#include "common/log.h"
#include "common/utf8.h"
#include "common/wf_error.h"
#include "store/journal.h"
#include "store/store_util.h"

/* A plugin name by the one rule (common/plugin_name.h). */
static int name_ok(const char *name)
{
    return name != NULL && wf_plugin_name_valid(name, strlen(name), NULL);
}
/* How long the answer path of a run retries a record the database did not
 * take before it journals it, and its first pause (doubled each time). */
#define KEEP_RETRY_MS 1000
#define KEEP_FIRST_PAUSE_MS 50
/* The replayer's pauses between tries while the database refuses. */
#define REPLAY_FIRST_MS 200
#define REPLAY_MAX_MS 5000

/* The run journal and the thread that replays it into the database. */
struct wf_store_keep {
    wf_journal *j;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;   /* guards stop and kick */
    pthread_cond_t cv;
    int stop;
    int kick;             /* a record was journaled: start replaying soon */
};

static int run_put(wf_store *st, const wf_run_record *rec, int durable);
static void keep_start(wf_store *st, const wf_config *cfg);
static void keep_stop(wf_store *st);

int wf_store_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen)
{
    if (out == NULL)
        return WF_EINVAL;
    *out = NULL;
    if (cfg == NULL) {
        wf_errorf(err, errlen, "store: no configuration");
        return WF_EINVAL;
    }
    int rc;
    switch (cfg->db_kind) {
    case WF_DB_SQLITE:
        rc = wf_store_sqlite_open(cfg, out, err, errlen);
        break;
    case WF_DB_POSTGRES:
        rc = wf_store_pg_open(cfg, out, err, errlen);
        break;
    default:
        wf_errorf(err, errlen, "store: unknown database kind %d", (int)cfg->db_kind);
        return WF_EINVAL;
    }
    if (rc == 0)
        keep_start(*out, cfg);
    return rc;
}

void wf_store_close(wf_store *st)
{
    if (st == NULL)
        return;
    keep_stop(st);
    st->ops->close(st);
}

/* Every write's result: a full disk is remembered for /health until a
 * write succeeds again. */
static int note_write(wf_store *st, int rc)
{
    if (rc == WF_ENOSPC)
        atomic_store(&st->disk_full, 1);
    else if (rc == 0 && atomic_load_explicit(&st->disk_full, memory_order_relaxed))
        atomic_store(&st->disk_full, 0);
    return rc;
}

const char *wf_store_kind(const wf_store *st)
{
    return st->ops->kind;
}

int wf_store_ping(wf_store *st)
{
    return st->ops->ping(st);
}

static int text_ok(const char *s)
{
    return s != NULL && wf_utf8_valid(s, strlen(s));
}

static int dup_into(char **dst, const char *src)
{
    *dst = strdup(src);
    return *dst ? 0 : WF_ENOMEM;
}

int wf_store_plugin_put(wf_store *st, const wf_plugin *in, wf_plugin *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (in == NULL || !name_ok(in->name) || !text_ok(in->code))
        return WF_EINVAL;
    wf_store_plugin_in w = {
        .name = in->name,
        .code = in->code,
        .description = in->description ? in->description : "",
        .input_type = in->input_type ? in->input_type : "text",
        .input_hint = in->input_hint ? in->input_hint : "",
        .calls = in->calls < 1 ? 1 : in->calls,
    };
    if (!text_ok(w.description) || !text_ok(w.input_hint) ||
        strlen(w.description) > WF_PLUGIN_TEXT_MAX || strlen(w.input_hint) > WF_PLUGIN_TEXT_MAX)
        return WF_EINVAL;
    if (!text_ok(w.input_type) ||
        wf_utf8_chars(w.input_type, strlen(w.input_type)) > WF_PLUGIN_INPUT_TYPE_MAX)
        return WF_EINVAL;
    size_t len = strlen(w.code);
    w.size_bytes = (int64_t)len;
    wf_store_sha256_hex(w.code, len, w.sha256);
    wf_store_timestamp_now(w.now);

    int version = 0;
    char created_at[WF_STORE_TS_LEN] = "";
    int rc = note_write(st, st->ops->plugin_put(st, &w, &version, created_at));
    if (rc != 0 || out == NULL)
        return rc;

    out->version = version;
    out->calls = w.calls;
    out->size_bytes = w.size_bytes;
    rc = dup_into(&out->name, w.name);
    if (!rc) rc = dup_into(&out->code, w.code);
    if (!rc) rc = dup_into(&out->description, w.description);
    if (!rc) rc = dup_into(&out->input_type, w.input_type);
    if (!rc) rc = dup_into(&out->input_hint, w.input_hint);
    if (!rc) rc = dup_into(&out->sha256, w.sha256);
    if (!rc) rc = dup_into(&out->created_at, created_at);
    if (!rc) rc = dup_into(&out->updated_at, w.now);
    /* The version is stored; only the copy for the caller failed. */
    if (rc)
        wf_plugin_clear(out);
    return rc;
}

int wf_store_plugin_get(wf_store *st, const char *name, wf_plugin *out)
{
    memset(out, 0, sizeof *out);
    if (!name_ok(name))
        return WF_ENOTFOUND;
    return st->ops->plugin_get(st, name, out);
}

int wf_store_plugin_delete(wf_store *st, const char *name)
{
    if (!name_ok(name))
        return WF_ENOTFOUND;
    return note_write(st, st->ops->plugin_delete(st, name));
}

int wf_store_plugin_list(wf_store *st, int limit, int offset, wf_plugin **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (offset < 0)
        return WF_EINVAL;
    if (limit == 0)
        return 0;
    return st->ops->plugin_list(st, limit < 0 ? -1 : limit, offset, out, n);
}

int wf_store_plugins_revision(wf_store *st, int64_t *rev)
{
    return st->ops->plugins_revision(st, rev);
}

/* Replaces *field with a UTF-8-clean copy when it is not valid UTF-8; the
 * copy is remembered in *owned for freeing. */
static int clean_text(char **field, char **owned)
{
    size_t len = *field ? strlen(*field) : 0;
    if (*field == NULL || wf_utf8_valid(*field, len))
        return 0;
    *owned = wf_utf8_sanitize(*field, len, len, NULL);
    if (*owned == NULL)
        return WF_ENOMEM;
    *field = *owned;
    return 0;
}

/* The text fields of a run record that record_ready repairs. */
#define WF_RECORD_TEXTS 6

/* A checked record as it is written (to the database or the journal):
 * NULL texts as "", no start time as now, text that is not UTF-8 made so.
 * *w borrows from rec, now and owned[] (which the caller frees). */
static int record_ready(const wf_run_record *rec, wf_run_record *w, char now[WF_STORE_TS_LEN],
                        char *owned[WF_RECORD_TEXTS])
{
    *w = *rec;
    w->success = rec->success != 0;
    if (w->output == NULL)
        w->output = "";
    if (w->stdout_text == NULL)
        w->stdout_text = "";
    if (w->logs == NULL)
        w->logs = "";
    if (w->input_data == NULL)
        w->input_data = "";
    if (w->started_at == NULL || w->started_at[0] == '\0') {
        wf_store_timestamp_now(now);
        w->started_at = now;
    }
    char **fields[WF_RECORD_TEXTS] = {&w->output, &w->stdout_text, &w->error, &w->result_json,
                                      &w->logs, &w->input_data};
    int rc = 0;
    for (int i = 0; i < WF_RECORD_TEXTS && rc == 0; i++)
        rc = clean_text(fields[i], &owned[i]);
    return rc;
}

static int run_put(wf_store *st, const wf_run_record *rec, int durable)
{
    if (rec == NULL || !wf_store_uuid_valid(rec->run_id) || !name_ok(rec->plugin) ||
        rec->ai_calls < 0 || rec->duration_ms < 0 || rec->version < 0)
        return WF_EINVAL;
    /* "" as NULL: a run that never started still gets recorded */
    int started = rec->started_at != NULL && rec->started_at[0] != '\0';
    if (started && !wf_store_timestamp_valid(rec->started_at))
        return WF_EINVAL;
    static const char *const types[] = {"plugin_error", "timeout", "sandbox_violation",
                                        "runtime_error", "memory_limit", "cancelled"};
    if (rec->error_type != NULL) {
        size_t i = 0;
        while (i < sizeof types / sizeof types[0] && strcmp(types[i], rec->error_type) != 0)
            i++;
        if (i == sizeof types / sizeof types[0])
            return WF_EINVAL;
    }

    char now[WF_STORE_TS_LEN];
    wf_run_record w;
    char *owned[WF_RECORD_TEXTS] = {0};
    int rc = record_ready(rec, &w, now, owned);
    if (rc == 0)
        rc = note_write(st, st->ops->run_put(st, &w, durable));
    for (int i = 0; i < WF_RECORD_TEXTS; i++)
        free(owned[i]);
    return rc;
}

int wf_store_run_put(wf_store *st, const wf_run_record *rec)
{
    return run_put(st, rec, 1);
}

int wf_store_run_put_nosync(wf_store *st, const wf_run_record *rec)
{
    return run_put(st, rec, 0);
}

int wf_store_sync(wf_store *st)
{
    return st->ops->sync ? st->ops->sync(st) : 0;
}

int wf_store_run_get(wf_store *st, const char *run_id, wf_run_record *out)
{
    memset(out, 0, sizeof *out);
    if (!wf_store_uuid_valid(run_id))
        return WF_ENOTFOUND;
    /* The journal first: a record there may not be in the database yet. */
    int rc = wf_store_run_get_journaled(st, run_id, out);
    if (rc != WF_ENOTFOUND)
        return rc;
    rc = st->ops->run_get(st, run_id, out);
    /* Replayed (and forgotten by the journal) between the two looks? */
    if (rc == WF_ENOTFOUND)
        rc = st->ops->run_get(st, run_id, out);
    return rc;
}

static int run_from_json(const char *text, wf_run_record *out);

/* Newest first, as the database orders runs (timestamps of one fixed
 * width compare as text). */
static int by_started_desc(const void *a, const void *b)
{
    const wf_run_record *x = a, *y = b;
    return strcmp(y->started_at ? y->started_at : "", x->started_at ? x->started_at : "");
}

/* Adds the journaled runs (of `plugin` when not NULL) that the page from
 * the database lacks, keeping it newest first and at most `limit` long.
 * Out of memory: the page stays as the database gave it. */
static void merge_journaled(wf_store *st, const char *plugin, int limit, wf_run_record **out,
                            size_t *n)
{
    char **texts = NULL;
    size_t nt = 0;
    if (wf_journal_texts(st->keep->j, &texts, &nt) != 0 || nt == 0)
        return;
    wf_run_record *all = realloc(*out, (*n + nt) * sizeof *all);
    if (all != NULL) {
        *out = all;
        for (size_t i = 0; i < nt; i++) {
            wf_run_record r;
            if (run_from_json(texts[i], &r) != 0)
                continue;
            int dup = plugin != NULL && strcmp(r.plugin, plugin) != 0;
            for (size_t k = 0; !dup && k < *n; k++)
                dup = strcmp(all[k].run_id, r.run_id) == 0;
            if (dup)
                wf_run_record_clear(&r);
            else
                all[(*n)++] = r;
        }
        qsort(all, *n, sizeof *all, by_started_desc);
        while (*n > (size_t)limit)
            wf_run_record_clear(&all[--*n]);
    }
    for (size_t i = 0; i < nt; i++)
        free(texts[i]);
    free(texts);
}

int wf_store_run_list(wf_store *st, const char *plugin, int limit, int offset,
                      wf_run_record **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (limit < 1 || offset < 0)
        return WF_EINVAL;
    if (plugin != NULL && !name_ok(plugin))
        return 0;  /* no run can name it */
    int rc = st->ops->run_list(st, plugin, limit, offset, out, n);
    /* The first page shows journaled runs too: the history has every run
     * that was answered, replayed or not. */
    if (rc == 0 && offset == 0 && st->keep != NULL && wf_journal_pending(st->keep->j) > 0)
        merge_journaled(st, plugin, limit, out, n);
    return rc;
}

/* ---- the run journal --------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A run record as the journal keeps it: JSON with every field. */
static char *run_to_json(const wf_run_record *r)
{
    json_t *j = json_pack("{s:s, s:s, s:i, s:b, s:s, s:s, s:s?, s:s?, s:s?, s:s, s:s, s:i, s:I, "
                          "s:s, s:s?}",
                          "run_id", r->run_id, "plugin", r->plugin, "version", r->version,
                          "success", r->success, "output", r->output ? r->output : "",
                          "stdout", r->stdout_text ? r->stdout_text : "",
                          "error", r->error, "error_type", r->error_type,
                          "result_json", r->result_json, "logs", r->logs ? r->logs : "",
                          "input_data", r->input_data ? r->input_data : "",
                          "ai_calls", r->ai_calls, "duration_ms", (json_int_t)r->duration_ms,
                          "started_at", r->started_at ? r->started_at : "",
                          "limits", r->limits_json);
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return t;
}

static int dup_field(json_t *o, const char *key, char **dst)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return WF_EINTERNAL;
    *dst = strdup(json_string_value(v));
    return *dst ? 0 : WF_ENOMEM;
}

static int run_from_json(const char *text, wf_run_record *out)
{
    memset(out, 0, sizeof *out);
    json_t *o = json_loads(text, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return WF_EINTERNAL;
    }
    static const char *const keys[] = {"run_id", "plugin", "output", "stdout", "error",
                                       "error_type", "result_json", "logs", "input_data",
                                       "started_at", "limits"};
    char **dsts[] = {&out->run_id, &out->plugin, &out->output, &out->stdout_text, &out->error,
                     &out->error_type, &out->result_json, &out->logs, &out->input_data,
                     &out->started_at, &out->limits_json};
    int rc = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && rc == 0; i++)
        rc = dup_field(o, keys[i], dsts[i]);
    out->version = (int)json_integer_value(json_object_get(o, "version"));
    out->success = json_is_true(json_object_get(o, "success"));
    out->ai_calls = (int)json_integer_value(json_object_get(o, "ai_calls"));
    out->duration_ms = (int64_t)json_integer_value(json_object_get(o, "duration_ms"));
    json_decref(o);
    if (rc == 0 && (out->run_id == NULL || out->plugin == NULL))
        rc = WF_EINTERNAL;
    if (rc != 0)
        wf_run_record_clear(out);
    return rc;
}

int wf_store_run_get_journaled(wf_store *st, const char *run_id, wf_run_record *out)
{
    memset(out, 0, sizeof *out);
    if (st->keep == NULL || !wf_store_uuid_valid(run_id))
        return WF_ENOTFOUND;
    char *text = NULL;
    int rc = wf_journal_get(st->keep->j, run_id, &text);
    if (rc == 0)
        rc = run_from_json(text, out);
    free(text);
    return rc;
}

/* The replayer's put: one journaled record into the database, durably. */
static int replay_one(void *ctx, const char *key, const char *text)
{
    wf_store *st = ctx;
    wf_run_record rec;
    int rc = run_from_json(text, &rec);
    if (rc == 0) {
        rc = run_put(st, &rec, 1);
        wf_run_record_clear(&rec);
    }
    if (rc == WF_ECONFLICT)
        return 0; /* in the database already (an earlier replay, or the first try) */
    if (rc == WF_EINVAL || rc == WF_EINTERNAL) {
        /* No database will ever take it; keeping it would hold every later
         * record's replay. */
        wf_log_error("store: run %s in the journal cannot be stored (%s); dropped", key,
                     wf_strerror(rc));
        return 0;
    }
    return rc;
}

static void *keep_main(void *arg)
{
    wf_store *st = arg;
    struct wf_store_keep *k = st->keep;
    int pause = 0; /* replay at once on start */
    pthread_mutex_lock(&k->mu);
    for (;;) {
        if (pause > 0 && !k->stop && !k->kick) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += pause / 1000;
            until.tv_nsec += (long)(pause % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&k->cv, &k->mu, &until);
        }
        if (k->stop)
            break;
        int kicked = k->kick;
        k->kick = 0;
        pthread_mutex_unlock(&k->mu);
        size_t before = wf_journal_pending(k->j);
        size_t left = before ? wf_journal_replay(k->j, replay_one, st) : 0;
        if (before > 0 && left == 0)
            wf_log_info("store: %zu journaled run record(s) are in the database now", before);
        /* Nothing waiting: sleep until a record is journaled. Refused:
         * back off, but not past REPLAY_MAX_MS. */
        if (left == 0)
            pause = 60000;
        else if (kicked || pause >= 60000 || pause == 0)
            pause = REPLAY_FIRST_MS;
        else
            pause = pause * 2 > REPLAY_MAX_MS ? REPLAY_MAX_MS : pause * 2;
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

static void keep_start(wf_store *st, const wf_config *cfg)
{
    if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0')
        return;
    char *path = NULL;
    if (asprintf(&path, "%s/run-journal", cfg->data_dir) < 0)
        return;
    mkdir(cfg->data_dir, 0700); /* absent with PostgreSQL; errors show at open */
    struct wf_store_keep *k = calloc(1, sizeof *k);
    char err[512] = "";
    int rc = k ? wf_journal_open(path, &k->j, err, sizeof err) : WF_ENOMEM;
    free(path);
    if (rc != 0) {
        /* Without a journal, runs the database cannot take are answered
         * without a run_id (wf_store_run_keep fails). */
        wf_log_warn("store: no run journal: %s", err[0] ? err : wf_strerror(rc));
        free(k);
        return;
    }
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    st->keep = k;
    size_t n = wf_journal_pending(k->j);
    if (n > 0)
        wf_log_info("store: %zu run record(s) in the journal; replaying them", n);
    k->started = pthread_create(&k->thread, NULL, keep_main, st) == 0;
}

static void keep_stop(wf_store *st)
{
    struct wf_store_keep *k = st->keep;
    if (k == NULL)
        return;
    if (k->started) {
        pthread_mutex_lock(&k->mu);
        k->stop = 1;
        pthread_cond_signal(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->thread, NULL);
    }
    size_t left = wf_journal_pending(k->j);
    if (left > 0)
        wf_log_warn("store: %zu run record(s) stay in the journal; they are replayed at the "
                    "next start", left);
    wf_journal_close(k->j);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k);
    st->keep = NULL;
}

/* Errors worth another try, then the journal: the database may take the
 * record later. Anything else is about the record itself. */
static int keep_retryable(int rc)
{
    return rc == WF_EUNAVAIL || rc == WF_ETIMEOUT || rc == WF_EIO || rc == WF_ENOSPC ||
           rc == WF_EINTERNAL || rc == WF_ENOMEM;
}

int wf_store_run_keep(wf_store *st, const wf_run_record *rec, int *journaled)
{
    *journaled = 0;
    int64_t t0 = mono_ms();
    int pause = KEEP_FIRST_PAUSE_MS;
    int rc;
    for (;;) {
        rc = wf_store_run_put_nosync(st, rec);
        if (rc == 0 || rc == WF_ECONFLICT)
            return 0; /* ECONFLICT: an earlier try of ours got in */
        if (!keep_retryable(rc))
            return rc;
        /* A full disk does not empty itself in a second: journal at once. */
        if (rc == WF_ENOSPC || mono_ms() - t0 + pause > KEEP_RETRY_MS)
            break;
        sleep_ms(pause);
        pause *= 2;
    }
    if (st->keep == NULL) {
        wf_log_error("run %s: the store did not take it (%s) and there is no journal",
                     rec->run_id, wf_strerror(rc));
        return WF_EUNAVAIL;
    }
    /* The record as the store would have written it: defaults filled in
     * and text made valid UTF-8, so that the replay cannot refuse it. */
    wf_run_record w;
    char now[WF_STORE_TS_LEN];
    char *owned[WF_RECORD_TEXTS] = {0};
    int jrc = record_ready(rec, &w, now, owned);
    char *text = jrc == 0 ? run_to_json(&w) : NULL;
    jrc = text ? wf_journal_append(st->keep->j, rec->run_id, text) : WF_ENOMEM;
    free(text);
    for (int i = 0; i < WF_RECORD_TEXTS; i++)
        free(owned[i]);
    if (jrc != 0) {
        wf_log_error("run %s: the store did not take it (%s) and neither did the journal (%s)",
                     rec->run_id, wf_strerror(rc), wf_strerror(jrc));
        return jrc;
    }
    *journaled = 1;
    wf_log_warn("run %s: the store did not take it (%s); journaled, to be replayed",
                rec->run_id, wf_strerror(rc));
    pthread_mutex_lock(&st->keep->mu);
    st->keep->kick = 1;
    pthread_cond_signal(&st->keep->cv);
    pthread_mutex_unlock(&st->keep->mu);
    return 0;
}

void wf_store_health_get(wf_store *st, wf_store_health *out)
{
    memset(out, 0, sizeof *out);
    out->disk_full = atomic_load(&st->disk_full);
    out->journal_on = st->keep != NULL;
    if (st->keep)
        out->journal_pending = wf_journal_pending(st->keep->j);
}
int wf_store_runs_prune(wf_store *st, int days, int64_t max_rows, int64_t *deleted)
{
    int64_t total = 0, n = 0;
    int rc = 0;
    if (days > 0) {
        char before[WF_STORE_TS_LEN];
        time_t t = time(NULL) - (time_t)days * 86400;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(before, sizeof before, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
        do {
            rc = st->ops->runs_prune(st, before, 0, &n);
            total += rc == 0 ? n : 0;
        } while (rc == 0 && n >= WF_STORE_PRUNE_BATCH);
    }
    if (rc == 0 && max_rows > 0) {
        do {
            rc = st->ops->runs_prune(st, NULL, max_rows, &n);
            total += rc == 0 ? n : 0;
        } while (rc == 0 && n >= WF_STORE_PRUNE_BATCH);
    }
    if (deleted != NULL)
        *deleted = total;
    return rc;
}
