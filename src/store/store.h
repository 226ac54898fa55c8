/* store.h - the plugin and run store: one interface, two back ends.
 *
 * SQLite (WAL; the embedded default) and PostgreSQL (libpq). The schema is
 * created and migrated by wf_store_open, versioned in a `schema_version`
 * table. Every write is one transaction. All functions are thread-safe
 * (HTTP worker threads and run workers call them concurrently); the back
 * ends keep a connection per thread or a pool.
 *
 * Errors: WF_ENOTFOUND (no such plugin/run), WF_EUNAVAIL (database
 * unreachable: the caller answers 503; the store reconnects by itself on a
 * later call), WF_ETIMEOUT (the database took longer than DB_TIMEOUT_MS:
 * the call was given up, its connection dropped), WF_ENOSPC (the database
 * is up but its disk is full: writes fail, reads work), WF_EINVAL,
 * WF_ENOMEM.
 *
 * Run records the database cannot take (down, stalled, disk full) are kept
 * in a local journal, DATA_DIR/run-journal (journal.h), and replayed into
 * the database by a thread of the store as soon as it takes them again;
 * until then wf_store_run_get finds them there (wf_store_run_keep).
 *
 * Ownership: records filled by the store are owned by the caller and freed
 * with wf_plugin_clear / wf_plugins_free / wf_run_record_clear /
 * wf_run_records_free. Input records are borrowed. */
#ifndef WF_STORE_H
#define WF_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

typedef struct wf_store wf_store;

/* A plugin as stored (its current version). Timestamps are ISO 8601 UTC
 * strings with milliseconds, e.g. "2026-11-25T13:01:55.123Z". */
typedef struct wf_plugin {
    char *name;
    char *code;          /* NULL in lists */
    char *description;   /* "" when none */
    char *input_type;    /* "text", "json", "file" or any other short text */
    char *input_hint;    /* "" when none */
    int calls;           /* number of `call_ai(` in the code, at least 1 */
    int version;         /* 1, 2, ... bumped by every upload of the same name */
    int64_t size_bytes;  /* length of code in bytes */
    char *sha256;        /* hex digest of code */
    char *created_at;    /* first upload of this name */
    char *updated_at;    /* this version's upload */
} wf_plugin;

/* A run record: a run result plus its input (SPEC §3 "Run result"). */
typedef struct wf_run_record {
    char *run_id;        /* UUID v4 text */
    char *plugin;
    int version;
    int success;
    char *output;        /* stdout shaped as the original shaped it (runs/run.h),
                            already capped */
    char *stdout_text;   /* stdout as written, already capped ("" when NULL;
                            column `stdout`) */
    char *error;         /* NULL when none */
    char *error_type;    /* NULL, "plugin_error", "timeout", "sandbox_violation", "runtime_error", "memory_limit", "cancelled" */
    char *result_json;   /* JSON text of the last send_output value, or NULL */
    char *logs;          /* stderr, already capped */
    char *input_data;    /* capped input */
    int ai_calls;
    int64_t duration_ms;
    char *started_at;
    char *limits_json;   /* the run's own limits as JSON text (ours: POST
                            /api/runs "limits"), or NULL */
} wf_run_record;

/* Open (and create or migrate) the store the configuration names. On error
 * err says what failed in words for a person, without secrets. */
int wf_store_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen);
/* Frees the store and its connections; only once every call returned. */
void wf_store_close(wf_store *st);

/* "sqlite" or "postgresql". */
const char *wf_store_kind(const wf_store *st);

/* A cheap round trip: 0 when the database answers, WF_EUNAVAIL otherwise. */
int wf_store_ping(wf_store *st);

/* Store a new version of a plugin: name, code, description, input_type,
 * input_hint and calls are read from `in`; version, sha256, size and
 * timestamps are computed. The whole record as stored is returned in `out`
 * (may be NULL). Same name again = new version, earlier ones kept.
 * WF_EINVAL: a name wf_plugin_name_valid refuses, no code,
 * text that is not UTF-8, an input_type longer than
 * WF_PLUGIN_INPUT_TYPE_MAX characters, a description or input_hint
 * longer than WF_PLUGIN_TEXT_MAX bytes
 * (NULL description, input_hint, input_type mean "", "", "text"; calls
 * below 1 is stored as 1). */
int wf_store_plugin_put(wf_store *st, const wf_plugin *in, wf_plugin *out);
/* input_type is any text the client chose (the original stored "image"),
 * up to this many characters. */
#define WF_PLUGIN_INPUT_TYPE_MAX 32
/* description and input_hint, each, in bytes: the list returns them for
 * every plugin, so they are bounded (64 KiB is plenty for a person). */
#define WF_PLUGIN_TEXT_MAX 65536

/* The current version of a plugin, with code. WF_ENOTFOUND when absent
 * (also for a name that could never have been stored). */
int wf_store_plugin_get(wf_store *st, const char *name, wf_plugin *out);

/* Delete a plugin and all its versions (run records stay). WF_ENOTFOUND. */
int wf_store_plugin_delete(wf_store *st, const char *name);

/* Current versions, newest (updated_at) first, without code. limit < 0
 * means all. *out is an array of *n records. */
int wf_store_plugin_list(wf_store *st, int limit, int offset, wf_plugin **out, size_t *n);

/* A value that changes whenever any plugin is put or deleted, by this or
 * any other server sharing the database: lets callers cache derived data
 * (such as the list's JSON) and check it with one cheap query. It only grows.
 * Read it BEFORE the data it tags: a cache built that way is never older
 * than its tag (at worst newer, which costs one needless refresh). */
int wf_store_plugins_revision(wf_store *st, int64_t *rev);

/* Record a finished run (one transaction). run_id must be a UUID (see
 * wf_store_uuid4); started_at NULL or "" means now, else it must have the
 * form wf_store_timestamp_now writes. Text that is not valid UTF-8 (a
 * plugin's output can be anything) is stored with U+FFFD in its place.
 * WF_ECONFLICT when the run_id is already stored: after a WF_EUNAVAIL the
 * caller may retry, and WF_ECONFLICT then means the first try was kept. */
int wf_store_run_put(wf_store *st, const wf_run_record *rec);

/* wf_store_run_put without waiting for the disk, for the answer path of a
 * run: when it returns the record is committed, visible to every reader
 * (this server and any other sharing the database) and survives a crash of
 * the server, but a crash of the machine or a power loss can still lose it
 * until a later wf_store_sync returns. Plugin writes never take this path.
 * PostgreSQL: the same as wf_store_run_put (its commits are durable). */
int wf_store_run_put_nosync(wf_store *st, const wf_run_record *rec);

/* The answer path of a run: the record is kept, whatever the database
 * does. It is written (wf_store_run_put_nosync), tried again with back-off
 * for about a second while the database is unavailable, and then appended
 * to the journal (durable when this returns; *journaled set to 1) to be
 * replayed later. 0 when the record is in the database or the journal: the
 * run may be answered with its run_id. Otherwise the error of the journal
 * (WF_ENOSPC: its disk is full too; WF_EUNAVAIL: there is no journal) or
 * WF_EINVAL for a record no database would take. */
int wf_store_run_keep(wf_store *st, const wf_run_record *rec, int *journaled);

/* A run record still in the journal (not yet replayed), without asking
 * the database: WF_ENOTFOUND when there is none. */
int wf_store_run_get_journaled(wf_store *st, const char *run_id, wf_run_record *out);

/* What /health and /metrics say of the store without asking the database. */
typedef struct wf_store_health {
    int disk_full;          /* the last write failed for want of disk space */
    int journal_on;         /* run records can be journaled */
    size_t journal_pending; /* run records waiting in the journal */
} wf_store_health;
void wf_store_health_get(wf_store *st, wf_store_health *out);

/* Makes every write this process has committed durable (SQLite: one sync of
 * the write-ahead log; PostgreSQL: nothing to do). */
int wf_store_sync(wf_store *st);

/* One run by id. WF_ENOTFOUND. */
int wf_store_run_get(wf_store *st, const char *run_id, wf_run_record *out);

/* Run summaries newest first, optionally of one plugin (NULL = all);
 * limit >= 1. Summaries only: output, logs and input_data are "", error
 * and result_json NULL (wf_store_run_get has the whole record), so that a
 * page of history costs a few hundred bytes a run whatever the runs wrote. */
int wf_store_run_list(wf_store *st, const char *plugin, int limit, int offset,
                      wf_run_record **out, size_t *n);

/* Keep the run history within limits: delete the runs started more than
 * `days` days ago (0 = no age limit), then all but the newest `max_rows`
 * (0 = no count limit), in short batches. *deleted (may be NULL) = rows
 * removed. */
int wf_store_runs_prune(wf_store *st, int days, int64_t max_rows, int64_t *deleted);

/* Helpers shared with the modules that build records. */
/* A new random (v4) UUID as text: 36 characters plus NUL, from getrandom. */
void wf_store_uuid4(char out[37]);
/* Now as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC): 24 characters plus NUL. */
void wf_store_timestamp_now(char out[25]);
/* SHA-256 of len bytes as 64 lowercase hex digits plus NUL. */
void wf_store_sha256_hex(const void *data, size_t len, char out[65]);

/* The checks the store applies, for callers that check input earlier (the
 * HTTP layer) so both agree. Each returns 1 when valid. Plugin names:
 * wf_plugin_name_valid (common/plugin_name.h). */
int wf_store_uuid_valid(const char *s);          /* 8-4-4-4-12 hex digits */
int wf_store_timestamp_valid(const char *s);     /* as wf_store_timestamp_now writes */
/* and text: wf_utf8_valid (common/utf8.h) */

void wf_plugin_clear(wf_plugin *p);
void wf_plugins_free(wf_plugin *list, size_t n);
void wf_run_record_clear(wf_run_record *r);
void wf_run_records_free(wf_run_record *list, size_t n);

#endif
