/* store_sqlite.c - the embedded store back end: one SQLite file in WAL mode,
 * a pool of connections (one per calling thread at a time), each with its
 * prepared statements kept for its whole life. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/wf_error.h"
#include "store/store_util.h"

/* Idle connections kept open; more may exist while threads hold them. */
#define SQ_POOL_MAX 16
#define SQ_OPEN_RETRY_MS 5

enum sq_stmt_id {
    SQ_BEGIN, SQ_COMMIT, SQ_ROLLBACK,
    SQ_BUMP_REVISION, SQ_GET_REVISION,
    SQ_UPSERT_PLUGIN, SQ_INSERT_VERSION, SQ_GET_PLUGIN, SQ_DELETE_PLUGIN, SQ_LIST_PLUGINS,
    SQ_PUT_RUN, SQ_GET_RUN, SQ_LIST_RUNS, SQ_LIST_RUNS_OF, SQ_PRUNE_OLD, SQ_PRUNE_EXCESS,
    SQ_NSTMT
};

/* timestamps are stored as the store's text form */
#define SQ_TS(col) col
#define SQ_PLUGIN_COLS WF_STORE_SQL_PLUGIN_COLS(SQ_TS)
#define SQ_PLUGIN_FROM WF_STORE_SQL_PLUGIN_FROM
#define SQ_RUN_COLS WF_STORE_SQL_RUN_COLS(SQ_TS)
#define SQ_RUN_SUMMARY_COLS WF_STORE_SQL_RUN_SUMMARY_COLS(SQ_TS)

static const char *const sq_sql[SQ_NSTMT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    [SQ_BUMP_REVISION] = WF_STORE_SQL_BUMP_REVISION,
    [SQ_GET_REVISION] = WF_STORE_SQL_GET_REVISION,
    [SQ_UPSERT_PLUGIN] =
        "INSERT INTO plugins (name, version, created_at, updated_at, revision) "
        "VALUES (?1, 1, ?2, ?2, ?3) ON CONFLICT (name) DO UPDATE SET "
        "version = version + 1, updated_at = excluded.updated_at, revision = excluded.revision "
        "RETURNING version, created_at",
    [SQ_INSERT_VERSION] =
        "INSERT INTO plugin_versions (name, version, code, description, input_type, "
        "input_hint, calls, sha256, size, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [SQ_GET_PLUGIN] = "SELECT " SQ_PLUGIN_COLS ", v.code" SQ_PLUGIN_FROM " WHERE p.name = ?1",
    [SQ_DELETE_PLUGIN] = "DELETE FROM plugins WHERE name = ?1",
    [SQ_LIST_PLUGINS] = "SELECT " SQ_PLUGIN_COLS SQ_PLUGIN_FROM
                        " ORDER BY p.revision DESC LIMIT ?1 OFFSET ?2",
    [SQ_PUT_RUN] = "INSERT INTO runs (" SQ_RUN_COLS ") "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    [SQ_GET_RUN] = "SELECT " SQ_RUN_COLS " FROM runs WHERE run_id = ?1",
    [SQ_LIST_RUNS] = "SELECT " SQ_RUN_SUMMARY_COLS " FROM runs "
                     "ORDER BY started_at DESC, seq DESC LIMIT ?1 OFFSET ?2",
    [SQ_LIST_RUNS_OF] = "SELECT " SQ_RUN_SUMMARY_COLS " FROM runs WHERE plugin = ?3 "
                        "ORDER BY started_at DESC, seq DESC LIMIT ?1 OFFSET ?2",
    [SQ_PRUNE_OLD] = WF_STORE_SQL_PRUNE_OLD("?1", ""),
    [SQ_PRUNE_EXCESS] = WF_STORE_SQL_PRUNE_EXCESS("?2"),
};

/* The schema, one migration per entry, applied in order, each in its own
 * transaction; entry i brings the schema to version i + 1. */
static const char *const sq_migrations[] = {
    /* TEXT timestamps in one fixed-width UTC form sort as times do */
    WF_STORE_SCHEMA_V1("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"),
    WF_STORE_SCHEMA_V2,
    WF_STORE_SCHEMA_V3,
};

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_NSTMT];
    struct sq_conn *next;
} sq_conn;

typedef struct sq_store {
    wf_store base;
    char *path;
    int busy_ms;            /* DB_TIMEOUT_MS */
    pthread_mutex_t lock;   /* guards idle and nidle */
    sq_conn *idle;
    int nidle;
} sq_store;

/* SQLite result codes to ours. Busy or locked means another writer held
 * the database past the timeout: the caller may try again later. */
static int sq_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE: return 0;
    case SQLITE_BUSY: case SQLITE_LOCKED: return WF_EUNAVAIL;
    case SQLITE_NOMEM: return WF_ENOMEM;
    case SQLITE_CONSTRAINT: return WF_ECONFLICT;
    case SQLITE_TOOBIG: return WF_ETOOBIG;
    case SQLITE_FULL: return WF_ENOSPC;
    case SQLITE_IOERR: case SQLITE_CANTOPEN: case SQLITE_READONLY:
    case SQLITE_CORRUPT: case SQLITE_NOTADB: case SQLITE_PERM: return WF_EIO;
    default: return WF_EINTERNAL;
    }
}

/* A write's error as the caller should hear it: SQLite reports a disk that
 * filled up mid-write as an I/O error (SQLITE_IOERR_WRITE and the like);
 * the system's errno tells it apart, and a full disk is not a broken one. */
static int sq_write_error(sq_conn *c, int rc)
{
    if (rc == WF_EIO && c != NULL) {
        int e = sqlite3_system_errno(c->db);
        if (e == ENOSPC || e == EDQUOT)
            return WF_ENOSPC;
    }
    return rc;
}

/* For a result known to be a failure: ours, never 0. */
static int sq_error_or(int rc, int fallback)
{
    int e = sq_error(rc);
    return e != 0 ? e : fallback;
}

static void sq_conn_close(sq_conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SQ_NSTMT; i++)
        sqlite3_finalize(c->stmt[i]);
    sqlite3_close(c->db);
    free(c);
}

/* busy_ms: how long a writer waits for another writer's transaction
 * (DB_TIMEOUT_MS). */
static int sq_conn_open(const char *path, int busy_ms, sq_conn **out, char *err, size_t errlen)
{
    *out = NULL;
    sq_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return WF_ENOMEM;
    int rc = sqlite3_open_v2(path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, busy_ms);
        /* synchronous=FULL: a commit is on disk before we acknowledge it.
         * Switching a fresh file to WAL takes its lock without consulting
         * the busy handler, so servers opening one file together retry
         * here themselves, for as long as the busy timeout. */
        for (int waited_ms = 0;; waited_ms += SQ_OPEN_RETRY_MS) {
            rc = sqlite3_exec(c->db,
                              "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                              "PRAGMA journal_mode = WAL;",
                              NULL, NULL, NULL);
            if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= busy_ms)
                break;
            sqlite3_sleep(SQ_OPEN_RETRY_MS);
        }
    }
    if (rc != SQLITE_OK) {
        wf_errorf(err, errlen, "store: cannot open SQLite database %s: %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sq_conn_close(c);
        return sq_error_or(rc, WF_EIO);
    }
    *out = c;
    return 0;
}

static sq_conn *sq_acquire(sq_store *s, int *rc)
{
    pthread_mutex_lock(&s->lock);
    sq_conn *c = s->idle;
    if (c != NULL) {
        s->idle = c->next;
        s->nidle--;
    }
    pthread_mutex_unlock(&s->lock);
    *rc = 0;
    if (c == NULL)
        *rc = sq_conn_open(s->path, s->busy_ms, &c, NULL, 0);
    return c;
}

static void sq_release(sq_store *s, sq_conn *c)
{
    /* A transaction left open here would be a bug in this file. */
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&s->lock);
    if (s->nidle < SQ_POOL_MAX) {
        c->next = s->idle;
        s->idle = c;
        s->nidle++;
        c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    sq_conn_close(c);
}

/* The connection's prepared statement `id`, ready for binding. */
static sqlite3_stmt *sq_stmt(sq_conn *c, int id, int *rc)
{
    *rc = 0;
    if (c->stmt[id] == NULL) {
        int r = sqlite3_prepare_v3(c->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                   &c->stmt[id], NULL);
        if (r != SQLITE_OK) {
            *rc = sq_error_or(r, WF_EINTERNAL);
            return NULL;
        }
    }
    return c->stmt[id];
}

static void sq_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Runs a statement without results (BEGIN, COMMIT, ...). */
static int sq_exec(sq_conn *c, int id)
{
    int rc;
    sqlite3_stmt *st = sq_stmt(c, id, &rc);
    if (st == NULL)
        return rc;
    rc = sq_error(sqlite3_step(st));
    sq_stmt_done(st);
    return rc;
}

static void sq_rollback(sq_conn *c)
{
    /* Some errors (disk full, I/O) have already rolled back. */
    if (!sqlite3_get_autocommit(c->db))
        sq_exec(c, SQ_ROLLBACK);
}

static int sq_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    int r = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
    return sq_error(r);
}

/* Runs a single-row read or write statement (after binding) and reads one
 * integer result into *v (may be NULL). WF_ENOTFOUND when no row. */
static int sq_step_int(sqlite3_stmt *st, int64_t *v)
{
    int r = sqlite3_step(st);
    int rc = 0;
    if (r == SQLITE_ROW) {
        if (v)
            *v = sqlite3_column_int64(st, 0);
    } else {
        rc = r == SQLITE_DONE ? WF_ENOTFOUND : sq_error(r);
    }
    sq_stmt_done(st);
    return rc;
}

static const char *sq_col(void *row, int col)
{
    return (const char *)sqlite3_column_text(row, col);
}

static void mkdir_parents(const char *path)
{
    char *p = strdup(path);
    if (p == NULL)
        return;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        /* plugin code and run inputs are nobody else's business; errors
         * surface when the file is opened */
        mkdir(p, 0700);
        *q = '/';
    }
    free(p);
}

/* The database and its -wal and -shm files hold plugin code and run
 * inputs: 0600 whatever the umask was when an older server created them
 * (SQLite gives the journal files the database's own mode). */
static void sq_private_files(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char *p = NULL;
        struct stat st;
        if (asprintf(&p, "%s%s", path, suffix[i]) < 0)
            return;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0077) != 0)
            chmod(p, st.st_mode & 0700);
        free(p);
    }
}

/* ---- schema -------------------------------------------------------------- */

static int sq_migrate(sq_conn *c, char *err, size_t errlen)
{
    const int known = (int)(sizeof sq_migrations / sizeof sq_migrations[0]);
    int rc = sqlite3_exec(c->db,
                          "CREATE TABLE IF NOT EXISTS schema_version ("
                          "  version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
                          NULL, NULL, NULL);
    for (int v = 1; rc == SQLITE_OK && v <= known; v++) {
        rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            break;
        sqlite3_stmt *q = NULL;
        rc = sqlite3_prepare_v2(c->db, "SELECT COALESCE(MAX(version), 0) FROM schema_version",
                                -1, &q, NULL);
        int have = 0;
        if (rc == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
            have = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
        if (rc == SQLITE_OK && have > known) {
            sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
            wf_errorf(err, errlen,
                      "store: the database's schema (version %d) is newer than this server "
                      "knows (%d): upgrade the server", have, known);
            return WF_EINVAL;
        }
        if (rc == SQLITE_OK && have < v) {
            rc = sqlite3_exec(c->db, sq_migrations[v - 1], NULL, NULL, NULL);
            if (rc == SQLITE_OK) {
                char now[WF_STORE_TS_LEN], sql[128];
                wf_store_timestamp_now(now);
                snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, '%s')", v, now);
                rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
            }
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            wf_errorf(err, errlen, "store: migrating the SQLite schema to version %d failed: %s",
                      v, sqlite3_errmsg(c->db));
            if (!sqlite3_get_autocommit(c->db))
                sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
            return sq_error_or(rc, WF_EIO);
        }
    }
    if (rc != SQLITE_OK) {
        wf_errorf(err, errlen, "store: cannot prepare the SQLite schema: %s",
                  sqlite3_errmsg(c->db));
        return sq_error_or(rc, WF_EIO);
    }
    return 0;
}

/* ---- the back-end functions ---------------------------------------------- */

static void sq_close(wf_store *st)
{
    sq_store *s = (sq_store *)st;
    while (s->idle != NULL) {
        sq_conn *c = s->idle;
        s->idle = c->next;
        sq_conn_close(c);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

static int sq_plugins_revision(wf_store *st, int64_t *rev)
{
    sq_store *s = (sq_store *)st;
    int rc;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    sqlite3_stmt *q = sq_stmt(c, SQ_GET_REVISION, &rc);
    if (q != NULL)
        rc = sq_step_int(q, rev);
    sq_release(s, c);
    return rc == WF_ENOTFOUND ? WF_EINTERNAL : rc;
}

static int sq_ping(wf_store *st)
{
    int64_t rev;
    int rc = sq_plugins_revision(st, &rev);
    return rc == 0 ? 0 : WF_EUNAVAIL;
}

/* Inside BEGIN IMMEDIATE, which serialises all writers, so the version
 * bump cannot lose an upload made at the same time. */
static int sq_put_locked(sq_conn *c, const wf_store_plugin_in *in, int *version, char *created_at)
{
    int rc;
    int64_t rev = 0;
    sqlite3_stmt *q = sq_stmt(c, SQ_BUMP_REVISION, &rc);
    if (q == NULL)
        return rc;
    rc = sq_step_int(q, &rev);
    if (rc != 0)
        return rc == WF_ENOTFOUND ? WF_EINTERNAL : rc;

    if ((q = sq_stmt(c, SQ_UPSERT_PLUGIN, &rc)) == NULL)
        return rc;
    rc = sq_bind_text(q, 1, in->name);
    if (!rc) rc = sq_bind_text(q, 2, in->now);
    if (!rc) rc = sq_error(sqlite3_bind_int64(q, 3, rev));
    if (!rc) {
        int r = sqlite3_step(q);
        if (r == SQLITE_ROW) {
            *version = sqlite3_column_int(q, 0);
            const char *ca = sq_col(q, 1);
            snprintf(created_at, WF_STORE_TS_LEN, "%s", ca ? ca : "");
        } else {
            rc = r == SQLITE_DONE ? WF_EINTERNAL : sq_error(r);
        }
    }
    sq_stmt_done(q);
    if (rc)
        return rc;

    if ((q = sq_stmt(c, SQ_INSERT_VERSION, &rc)) == NULL)
        return rc;
    rc = sq_bind_text(q, 1, in->name);
    if (!rc) rc = sq_error(sqlite3_bind_int(q, 2, *version));
    if (!rc) rc = sq_error(sqlite3_bind_text64(q, 3, in->code, (sqlite3_uint64)in->size_bytes,
                                               SQLITE_STATIC, SQLITE_UTF8));
    if (!rc) rc = sq_bind_text(q, 4, in->description);
    if (!rc) rc = sq_bind_text(q, 5, in->input_type);
    if (!rc) rc = sq_bind_text(q, 6, in->input_hint);
    if (!rc) rc = sq_error(sqlite3_bind_int(q, 7, in->calls));
    if (!rc) rc = sq_bind_text(q, 8, in->sha256);
    if (!rc) rc = sq_error(sqlite3_bind_int64(q, 9, in->size_bytes));
    if (!rc) rc = sq_bind_text(q, 10, in->now);
    if (!rc) rc = sq_error(sqlite3_step(q));
    sq_stmt_done(q);
    return rc;
}

static int sq_plugin_put(wf_store *st, const wf_store_plugin_in *in, int *version,
                         char *created_at)
{
    sq_store *s = (sq_store *)st;
    int rc;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    rc = sq_exec(c, SQ_BEGIN);
    if (!rc) rc = sq_put_locked(c, in, version, created_at);
    if (!rc) rc = sq_exec(c, SQ_COMMIT);
    rc = sq_write_error(c, rc);
    if (rc)
        sq_rollback(c);
    sq_release(s, c);
    return rc;
}

/* One row by key (a plugin name or run id) into *out: a wf_plugin with
 * code when `plugin`, else a wf_run_record. */
static int sq_get_one(sq_store *s, int id, const char *key, int plugin, void *out)
{
    int rc;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    sqlite3_stmt *q = sq_stmt(c, id, &rc);
    if (q != NULL && (rc = sq_bind_text(q, 1, key)) == 0) {
        int r = sqlite3_step(q);
        if (r == SQLITE_ROW)
            rc = plugin ? wf_store_plugin_from_row(sq_col, q, 1, out)
                        : wf_store_run_from_row(sq_col, q, out);
        else
            rc = r == SQLITE_DONE ? WF_ENOTFOUND : sq_error(r);
    }
    if (q != NULL)
        sq_stmt_done(q);
    sq_release(s, c);
    return rc;
}

static int sq_plugin_get(wf_store *st, const char *name, wf_plugin *out)
{
    return sq_get_one((sq_store *)st, SQ_GET_PLUGIN, name, 1, out);
}

static int sq_plugin_delete(wf_store *st, const char *name)
{
    sq_store *s = (sq_store *)st;
    int rc;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    sqlite3_stmt *q = NULL;
    rc = sq_exec(c, SQ_BEGIN);
    if (!rc && (q = sq_stmt(c, SQ_DELETE_PLUGIN, &rc)) != NULL) {
        rc = sq_bind_text(q, 1, name);
        if (!rc) rc = sq_error(sqlite3_step(q));
        sq_stmt_done(q);
        if (!rc && sqlite3_changes(c->db) == 0)
            rc = WF_ENOTFOUND;
    }
    if (!rc && (q = sq_stmt(c, SQ_BUMP_REVISION, &rc)) != NULL)
        rc = sq_step_int(q, NULL);
    if (!rc) rc = sq_exec(c, SQ_COMMIT);
    rc = sq_write_error(c, rc);
    if (rc)
        sq_rollback(c);
    sq_release(s, c);
    return rc;
}

/* A page of rows (LIMIT ?1 OFFSET ?2, key ?3 when not NULL) as an array of
 * wf_plugin without code when `plugin`, else of wf_run_record. */
static int sq_list(sq_store *s, int id, int limit, int offset, const char *key, int plugin,
                   void **arr, size_t *n)
{
    int rc;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    sqlite3_stmt *q = sq_stmt(c, id, &rc);
    if (q != NULL) {
        rc = sq_error(sqlite3_bind_int(q, 1, limit));
        if (!rc) rc = sq_error(sqlite3_bind_int(q, 2, offset));
        if (!rc && key) rc = sq_bind_text(q, 3, key);
        size_t cap = 0, elem = plugin ? sizeof(wf_plugin) : sizeof(wf_run_record);
        int r = SQLITE_DONE;
        while (!rc && (r = sqlite3_step(q)) == SQLITE_ROW) {
            void *slot = wf_store_array_push(arr, n, &cap, elem);
            if (slot == NULL) {
                rc = WF_ENOMEM;
                break;
            }
            rc = plugin ? wf_store_plugin_from_row(sq_col, q, 0, slot)
                        : wf_store_run_from_row(sq_col, q, slot);
            if (rc)
                (*n)--;  /* the slot was cleared by the failed fill */
        }
        if (!rc && r != SQLITE_DONE)
            rc = sq_error_or(r, WF_EINTERNAL);
        sq_stmt_done(q);
    }
    sq_release(s, c);
    if (rc && plugin)
        wf_plugins_free(*arr, *n);
    else if (rc)
        wf_run_records_free(*arr, *n);
    if (rc) {
        *arr = NULL;
        *n = 0;
    }
    return rc;
}

static int sq_plugin_list(wf_store *st, int limit, int offset, wf_plugin **out, size_t *n)
{
    return sq_list((sq_store *)st, SQ_LIST_PLUGINS, limit, offset, NULL, 1, (void **)out, n);
}

/* A run record not waited for on the disk: committed with synchronous=NORMAL
 * (the write-ahead log is written, not synced), the connection set back to
 * FULL before anything else uses it. */
static int sq_run_put(wf_store *st, const wf_run_record *r, int durable)
{
    sq_store *s = (sq_store *)st;
    int rc;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    if (!durable && sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        durable = 1; /* then this one waits like any other write */
    sqlite3_stmt *q = sq_stmt(c, SQ_PUT_RUN, &rc);
    if (q != NULL) {
        rc = sq_bind_text(q, 1, r->run_id);
        if (!rc) rc = sq_bind_text(q, 2, r->plugin);
        if (!rc) rc = sq_error(sqlite3_bind_int(q, 3, r->version));
        if (!rc) rc = sq_error(sqlite3_bind_int(q, 4, r->success));
        if (!rc) rc = sq_bind_text(q, 5, r->output);
        if (!rc) rc = sq_bind_text(q, 6, r->error);
        if (!rc) rc = sq_bind_text(q, 7, r->error_type);
        if (!rc) rc = sq_bind_text(q, 8, r->result_json);
        if (!rc) rc = sq_bind_text(q, 9, r->logs);
        if (!rc) rc = sq_bind_text(q, 10, r->input_data);
        if (!rc) rc = sq_error(sqlite3_bind_int(q, 11, r->ai_calls));
        if (!rc) rc = sq_error(sqlite3_bind_int64(q, 12, r->duration_ms));
        if (!rc) rc = sq_bind_text(q, 13, r->started_at);
        if (!rc) rc = sq_bind_text(q, 14, r->stdout_text);
        if (!rc) rc = sq_bind_text(q, 15, r->limits_json);
        if (!rc) rc = sq_error(sqlite3_step(q));
        sq_stmt_done(q);
    }
    rc = sq_write_error(c, rc);
    if (!durable && sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
        /* Never hand a connection that does not wait for the disk to a
         * plugin write. */
        sq_conn_close(c);
        return rc;
    }
    sq_release(s, c);
    return rc;
}

/* One sync of the write-ahead log makes every frame written so far durable,
 * whichever connection wrote it: what synchronous=FULL does at each commit.
 * A connection that has not opened the log yet checkpoints instead (which
 * syncs the log first). */
static int sq_sync(wf_store *st)
{
    sq_store *s = (sq_store *)st;
    int rc;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    sqlite3_file *wal = NULL;
    int r = sqlite3_file_control(c->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
    if (r == SQLITE_OK && wal != NULL && wal->pMethods != NULL)
        r = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    else
        r = sqlite3_exec(c->db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
    rc = sq_write_error(c, sq_error(r));
    sq_release(s, c);
    return rc;
}

static int sq_run_get(wf_store *st, const char *run_id, wf_run_record *out)
{
    return sq_get_one((sq_store *)st, SQ_GET_RUN, run_id, 0, out);
}

static int sq_run_list(wf_store *st, const char *plugin, int limit, int offset,
                       wf_run_record **out, size_t *n)
{
    return sq_list((sq_store *)st, plugin ? SQ_LIST_RUNS_OF : SQ_LIST_RUNS, limit, offset,
                   plugin, 0, (void **)out, n);
}

static int sq_runs_prune(wf_store *st, const char *before, int64_t keep, int64_t *deleted)
{
    sq_store *s = (sq_store *)st;
    int rc;
    *deleted = 0;
    sq_conn *c = sq_acquire(s, &rc);
    if (c == NULL)
        return rc;
    sqlite3_stmt *q = sq_stmt(c, before ? SQ_PRUNE_OLD : SQ_PRUNE_EXCESS, &rc);
    if (q != NULL) {
        rc = before ? sq_bind_text(q, 1, before) : sq_error(sqlite3_bind_int64(q, 2, keep));
        if (!rc) rc = sq_error(sqlite3_step(q));
        if (!rc) *deleted = sqlite3_changes(c->db);
        sq_stmt_done(q);
    }
    sq_release(s, c);
    return rc;
}

static const wf_store_ops sq_ops = {
    .kind = "sqlite",
    .close = sq_close,
    .ping = sq_ping,
    .plugin_put = sq_plugin_put,
    .plugin_get = sq_plugin_get,
    .plugin_delete = sq_plugin_delete,
    .plugin_list = sq_plugin_list,
    .plugins_revision = sq_plugins_revision,
    .run_put = sq_run_put,
    .sync = sq_sync,
    .run_get = sq_run_get,
    .run_list = sq_run_list,
    .runs_prune = sq_runs_prune,
};

int wf_store_sqlite_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen)
{
    const char *path = cfg->sqlite_path;
    char *derived = NULL;
    if (path == NULL || *path == '\0') {
        if (cfg->data_dir == NULL || asprintf(&derived, "%s/wasmforge.db", cfg->data_dir) < 0) {
            wf_errorf(err, errlen, "store: no SQLite path configured");
            return WF_EINVAL;
        }
        path = derived;
    }
    sq_store *s = calloc(1, sizeof *s);
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        free(derived);
        return WF_ENOMEM;
    }
    free(derived);
    s->base.ops = &sq_ops;
    s->busy_ms = cfg->db_timeout_ms > 0 ? cfg->db_timeout_ms : 5000;
    pthread_mutex_init(&s->lock, NULL);

    mkdir_parents(s->path);
    sq_conn *c = NULL;
    int rc = sq_conn_open(s->path, s->busy_ms, &c, err, errlen);
    if (rc == 0)
        sq_private_files(s->path);
    if (rc == 0)
        rc = sq_migrate(c, err, errlen);
    if (rc != 0) {
        sq_conn_close(c);
        sq_close(&s->base);
        return rc;
    }
    sq_release(s, c);
    *out = &s->base;
    return 0;
}
