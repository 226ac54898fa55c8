/* store_util.h - what both store back ends share: the back-end interface,
 * input checks, records built from result rows, and the record helpers.
 *
 * Internal to src/store; other modules use store.h only. */
#ifndef WF_STORE_UTIL_H
#define WF_STORE_UTIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Longest timestamp text, "YYYY-MM-DDTHH:MM:SS.mmmZ", plus the NUL. */
#define WF_STORE_TS_LEN 25

/* A plugin version ready to be written: every field checked, defaults
 * filled in, sha256/size/updated_at computed. Strings are borrowed. */
typedef struct wf_store_plugin_in {
    const char *name;
    const char *code;
    const char *description;
    const char *input_type;
    const char *input_hint;
    int calls;
    int64_t size_bytes;
    char sha256[65];
    char now[WF_STORE_TS_LEN];
} wf_store_plugin_in;

/* The back-end interface. Arguments are already checked by store.c; the
 * back end only talks to its database. Every function returns 0 or WF_E*. */
typedef struct wf_store_ops {
    const char *kind;
    void (*close)(wf_store *st);
    int (*ping)(wf_store *st);
    /* Writes the version and returns its number and the plugin's first
     * upload time (created_at, WF_STORE_TS_LEN bytes). */
    int (*plugin_put)(wf_store *st, const wf_store_plugin_in *in, int *version,
                      char *created_at);
    int (*plugin_get)(wf_store *st, const char *name, wf_plugin *out);
    int (*plugin_delete)(wf_store *st, const char *name);
    int (*plugin_list)(wf_store *st, int limit, int offset, wf_plugin **out, size_t *n);
    int (*plugins_revision)(wf_store *st, int64_t *rev);
    /* durable 0: committed and visible, synced later by sync */
    int (*run_put)(wf_store *st, const wf_run_record *rec, int durable);
    int (*sync)(wf_store *st); /* NULL: commits are durable already */
    int (*run_get)(wf_store *st, const char *run_id, wf_run_record *out);
    int (*run_list)(wf_store *st, const char *plugin, int limit, int offset,
                    wf_run_record **out, size_t *n);
    /* One batch (at most WF_STORE_PRUNE_BATCH rows): with before != NULL
     * the runs started before it, else the runs past the newest `keep`.
     * *deleted = rows removed. */
    int (*runs_prune)(wf_store *st, const char *before, int64_t keep, int64_t *deleted);
} wf_store_ops;

/* Every back end's handle starts with this; the back end zeroes it and
 * sets ops, store.c owns the rest. */
struct wf_store_keep;
struct wf_store {
    const wf_store_ops *ops;
    struct wf_store_keep *keep;  /* the run journal and its replayer, or NULL */
    atomic_int disk_full;        /* the last write failed for want of space */
};

/* Schema version 1, the same tables for both back ends; what SQL dialects
 * spell differently is a parameter: TS a timestamp column, SEQ the runs'
 * auto-increasing key. plugins.revision orders the list (newest first)
 * exactly, even for uploads within one millisecond. Never edit a version
 * that has shipped: add the next one. */
#define WF_STORE_SCHEMA_V1(TS, SEQ) \
    "CREATE TABLE plugins (" \
    "  name TEXT PRIMARY KEY," \
    "  version INTEGER NOT NULL," \
    "  created_at " TS " NOT NULL," \
    "  updated_at " TS " NOT NULL," \
    "  revision BIGINT NOT NULL);" \
    "CREATE INDEX plugins_by_revision ON plugins (revision);" \
    "CREATE TABLE plugin_versions (" \
    "  name TEXT NOT NULL REFERENCES plugins (name) ON DELETE CASCADE," \
    "  version INTEGER NOT NULL," \
    "  code TEXT NOT NULL," \
    "  description TEXT NOT NULL," \
    "  input_type TEXT NOT NULL," \
    "  input_hint TEXT NOT NULL," \
    "  calls INTEGER NOT NULL," \
    "  sha256 TEXT NOT NULL," \
    "  size BIGINT NOT NULL," \
    "  created_at " TS " NOT NULL," \
    "  PRIMARY KEY (name, version));" \
    "CREATE TABLE store_revision (" \
    "  id INTEGER PRIMARY KEY CHECK (id = 1)," \
    "  revision BIGINT NOT NULL);" \
    "INSERT INTO store_revision (id, revision) VALUES (1, 0);" \
    "CREATE TABLE runs (" \
    "  seq " SEQ "," \
    "  run_id TEXT NOT NULL UNIQUE," \
    "  plugin TEXT NOT NULL," \
    "  version INTEGER NOT NULL," \
    "  success BOOLEAN NOT NULL," \
    "  output TEXT NOT NULL," \
    "  error TEXT," \
    "  error_type TEXT," \
    "  result_json TEXT," \
    "  logs TEXT NOT NULL," \
    "  input_data TEXT NOT NULL," \
    "  ai_calls INTEGER NOT NULL," \
    "  duration_ms BIGINT NOT NULL," \
    "  started_at " TS " NOT NULL);" \
    "CREATE INDEX runs_by_started ON runs (started_at, seq);" \
    "CREATE INDEX runs_by_plugin_started ON runs (plugin, started_at, seq);"

/* Schema version 2: the run's stdout as written, beside `output` (which
 * since then holds the stdout shaped as the original shaped it). Runs
 * recorded before keep their output as it was answered, and it is their
 * stdout too. */
#define WF_STORE_SCHEMA_V2 \
    "ALTER TABLE runs ADD COLUMN stdout TEXT NOT NULL DEFAULT '';" \
    "UPDATE runs SET stdout = output;"

/* Schema version 3: the limits a run given its own ran under (POST
 * /api/runs "limits"), as JSON text; NULL for a run under the server's. */
#define WF_STORE_SCHEMA_V3 "ALTER TABLE runs ADD COLUMN limits TEXT;"

/* SQL both back ends send as it is, and the select lists of the row readers
 * below (in their column order). TS(col) reads a timestamp column as the
 * store's text form: the column itself where it is stored as that text. */
#define WF_STORE_SQL_BUMP_REVISION \
    "UPDATE store_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision"
#define WF_STORE_SQL_GET_REVISION "SELECT revision FROM store_revision WHERE id = 1"
#define WF_STORE_SQL_PLUGIN_COLS(TS) \
    "p.name, p.version, " TS("p.created_at") ", " TS("p.updated_at") ", " \
    "v.description, v.input_type, v.input_hint, v.calls, v.sha256, v.size"
#define WF_STORE_SQL_PLUGIN_FROM \
    " FROM plugins p JOIN plugin_versions v ON v.name = p.name AND v.version = p.version"
#define WF_STORE_SQL_RUN_COLS(TS) \
    "run_id, plugin, version, success, output, error, error_type, result_json, logs, " \
    "input_data, ai_calls, duration_ms, " TS("started_at") ", stdout, limits"

/* A run list's select list: the run row's columns in the same order, with
 * the large ones (output, error, result_json, logs, input_data, stdout) left out
 * as '' or NULL, so that one row reader serves both and a page of history
 * never carries megabytes of output. */
#define WF_STORE_SQL_RUN_SUMMARY_COLS(TS) \
    "run_id, plugin, version, success, '', NULL, error_type, NULL, '', '', " \
    "ai_calls, duration_ms, " TS("started_at") ", '', NULL"
/* Run history pruning, a batch at a time (short write transactions, so
 * run records keep landing while a large history is cut): ?1/$1 is the
 * oldest started_at kept; ?2/$2 the number of newest rows kept. */
#define WF_STORE_PRUNE_BATCH 1000
#define WF_STORE_SQL_PRUNE_OLD(P1, CAST) \
    "DELETE FROM runs WHERE seq IN (SELECT seq FROM runs WHERE started_at < " P1 CAST \
    " ORDER BY started_at, seq LIMIT 1000)"
#define WF_STORE_SQL_PRUNE_EXCESS(P2) \
    "DELETE FROM runs WHERE seq IN (SELECT seq FROM runs " \
    "ORDER BY started_at DESC, seq DESC LIMIT 1000 OFFSET " P2 ")"

int wf_store_sqlite_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen);
int wf_store_pg_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen);

/* Result rows, read the same way from either back end: `get` returns column
 * `col` of the current row as text, NULL for SQL NULL. */
typedef const char *(*wf_store_col_fn)(void *row, int col);

/* Column order of a plugin row: name, version, created_at, updated_at,
 * description, input_type, input_hint, calls, sha256, size, then code when
 * with_code. Fills *out (zeroed first); WF_ENOMEM or WF_EINTERNAL (a row
 * that breaks the schema). */
#define WF_STORE_PLUGIN_COLS 10
int wf_store_plugin_from_row(wf_store_col_fn get, void *row, int with_code, wf_plugin *out);

/* Column order of a run row: run_id, plugin, version, success, output,
 * error, error_type, result_json, logs, input_data, ai_calls, duration_ms,
 * started_at, stdout, limits. */
#define WF_STORE_RUN_COLS 15
int wf_store_run_from_row(wf_store_col_fn get, void *row, wf_run_record *out);


/* SHA-256 of len bytes, as 64 lowercase hex digits plus NUL. */
void wf_store_sha256_bytes(const void *data, size_t len, uint8_t digest[32]);

/* Parses a decimal integer column; WF_EINTERNAL when it is not one. */
int wf_store_parse_i64(const char *s, int64_t *v);

/* Grows a record array by one (amortised doubling): *cap is its capacity,
 * elem the element size. Returns the new slot, zeroed, or NULL. */
void *wf_store_array_push(void **arr, size_t *n, size_t *cap, size_t elem);

#endif
