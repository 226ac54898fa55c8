/* store_pg.c - the PostgreSQL store back end (libpq): a small pool of
 * connections that reconnect by themselves after the server went away. */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/wf_error.h"
#include "store/store_util.h"

/* A migration at start may wait for another server's (its advisory lock). */
#define PG_MIGRATION_TIMEOUT_MS 60000
/* After a failed connect, calls needing a new connection fail at once for
 * this long (ms), so a dead server costs one connect timeout, not one per
 * request. */
#define PG_RETRY_AFTER_MS 500

enum pg_stmt_id {
    PG_BUMP_REVISION, PG_GET_REVISION,
    PG_UPSERT_PLUGIN, PG_INSERT_VERSION, PG_GET_PLUGIN, PG_DELETE_PLUGIN, PG_LIST_PLUGINS,
    PG_PUT_RUN, PG_GET_RUN, PG_LIST_RUNS, PG_LIST_RUNS_OF, PG_PRUNE_OLD, PG_PRUNE_EXCESS,
    PG_NSTMT
};

/* timestamptz as the store's text form */
#define PG_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define PG_PLUGIN_COLS WF_STORE_SQL_PLUGIN_COLS(PG_TS)
#define PG_PLUGIN_FROM WF_STORE_SQL_PLUGIN_FROM
#define PG_RUN_COLS WF_STORE_SQL_RUN_COLS(PG_TS)
#define PG_RUN_SUMMARY_COLS WF_STORE_SQL_RUN_SUMMARY_COLS(PG_TS)

static const char *const pg_sql[PG_NSTMT] = {
    /* the row lock on the counter serialises every plugin write, so the
     * version bump cannot lose a concurrent upload and the revision order
     * is the commit order */
    [PG_BUMP_REVISION] = WF_STORE_SQL_BUMP_REVISION,
    [PG_GET_REVISION] = WF_STORE_SQL_GET_REVISION,
    [PG_UPSERT_PLUGIN] =
        "INSERT INTO plugins (name, version, created_at, updated_at, revision) "
        "VALUES ($1, 1, $2, $2, $3) ON CONFLICT (name) DO UPDATE SET "
        "version = plugins.version + 1, updated_at = EXCLUDED.updated_at, "
        "revision = EXCLUDED.revision RETURNING version, " PG_TS("created_at"),
    [PG_INSERT_VERSION] =
        "INSERT INTO plugin_versions (name, version, code, description, input_type, "
        "input_hint, calls, sha256, size, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    [PG_GET_PLUGIN] = "SELECT " PG_PLUGIN_COLS ", v.code" PG_PLUGIN_FROM " WHERE p.name = $1",
    [PG_DELETE_PLUGIN] = "DELETE FROM plugins WHERE name = $1",
    [PG_LIST_PLUGINS] = "SELECT " PG_PLUGIN_COLS PG_PLUGIN_FROM
                        " ORDER BY p.revision DESC LIMIT $1 OFFSET $2",
    [PG_PUT_RUN] = "INSERT INTO runs (run_id, plugin, version, success, output, error, "
                   "error_type, result_json, logs, input_data, ai_calls, duration_ms, "
                   "started_at, stdout, limits) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    [PG_GET_RUN] = "SELECT " PG_RUN_COLS " FROM runs WHERE run_id = $1",
    [PG_LIST_RUNS] = "SELECT " PG_RUN_SUMMARY_COLS " FROM runs "
                     "ORDER BY started_at DESC, seq DESC LIMIT $1 OFFSET $2",
    [PG_LIST_RUNS_OF] = "SELECT " PG_RUN_SUMMARY_COLS " FROM runs WHERE plugin = $3 "
                        "ORDER BY started_at DESC, seq DESC LIMIT $1 OFFSET $2",
    [PG_PRUNE_OLD] = WF_STORE_SQL_PRUNE_OLD("$1", "::timestamptz"),
    [PG_PRUNE_EXCESS] = WF_STORE_SQL_PRUNE_EXCESS("$1"),
};

/* The schema, as in store_sqlite.c: entry i brings it to version i + 1. */
static const char *const pg_migrations[] = {
    WF_STORE_SCHEMA_V1("TIMESTAMPTZ", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
    WF_STORE_SCHEMA_V2,
    WF_STORE_SCHEMA_V3,
};

/* Any constant: serialises schema migrations of servers starting together. */
#define PG_MIGRATION_LOCK "7306115142031"

typedef struct pg_conn {
    PGconn *conn;           /* NULL until first connected */
    unsigned prepared;      /* bit i: statement i is prepared in this session */
    int sent;               /* statements sent in the current call */
    int fresh;              /* connected for the current call */
    int retrying;           /* the current call is a retry */
    int64_t deadline_ms;    /* the current call gives up then (monotonic) */
    struct pg_conn *next;
} pg_conn;

typedef struct pg_store {
    wf_store base;
    char *conninfo;         /* holds secrets: never logged */
    char *sslrootcert;
    pthread_mutex_t lock;   /* guards everything below */
    pthread_cond_t freed;
    pg_conn *idle;
    int total, max;
    struct timespec retry_after;
    int down;               /* the last connect failed */
    int probing;            /* a call is trying to connect while down */
    int timeout_ms;         /* DB_TIMEOUT_MS: a call's bound, connecting included */
    char connect_timeout[16], options[160];
} pg_store;

typedef int (*pg_op_fn)(pg_conn *c, void *arg);

static void pg_ignore_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static struct timespec now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static int ts_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static PGconn *pg_connect(const pg_store *s)
{
    /* Keywords after dbname (which expands the user's URL or conninfo)
     * override it; the ones before are defaults the user may change. */
    const char *kw[16], *val[16];
    int i = 0;
    kw[i] = "connect_timeout", val[i++] = s->connect_timeout;
    kw[i] = "application_name", val[i++] = "wasmforge";
    /* A statement stuck behind a lock, or a server gone silent (no RST, as
     * in a network partition), must end in an error, not hold a thread:
     * the server ends what runs past DB_TIMEOUT_MS, and the client gives
     * up at that time as well (pg_wait), for a server that cannot. */
    kw[i] = "options", val[i++] = s->options;
    kw[i] = "keepalives_idle", val[i++] = "30";
    kw[i] = "keepalives_interval", val[i++] = "10";
    kw[i] = "keepalives_count", val[i++] = "3";
    kw[i] = "dbname", val[i++] = s->conninfo;
    kw[i] = "client_encoding", val[i++] = "UTF8";
    if (s->sslrootcert) {
        kw[i] = "sslmode", val[i++] = "verify-full";
        kw[i] = "sslrootcert", val[i++] = s->sslrootcert;
    }
    kw[i] = NULL, val[i] = NULL;
    PGconn *conn = PQconnectdbParams(kw, val, 1);
    if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, pg_ignore_notice, NULL);
        PQsetnonblocking(conn, 1);
    }
    return conn;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Drops the connection of a call that ran out of time: what it sent may
 * still be running on the server, and its answer would come to the next
 * call. The next use connects afresh. */
static void pg_abandon(pg_conn *c)
{
    if (c->conn != NULL)
        PQfinish(c->conn);
    c->conn = NULL;
    c->prepared = 0;
}

/* Waits until the connection's socket is ready for `events` or the call's
 * deadline passes (0). */
static int pg_wait_socket(pg_conn *c, short events)
{
    for (;;) {
        int64_t left = c->deadline_ms - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = PQsocket(c->conn), .events = events};
        int n = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1; /* let libpq find the error */
    }
}

/* The result of what was just sent with PQsend*, as PQexec would return it
 * (the last result), but never after the call's deadline: then NULL with
 * *timed_out set, and the connection abandoned. NULL otherwise means the
 * connection failed. */
static PGresult *pg_wait(pg_conn *c, int *timed_out)
{
    *timed_out = 0;
    PGconn *conn = c->conn;
    int f;
    while ((f = PQflush(conn)) == 1) {
        if (!pg_wait_socket(c, POLLOUT | POLLIN))
            goto timeout;
        if (!PQconsumeInput(conn))
            return NULL;
    }
    if (f < 0)
        return NULL;
    PGresult *last = NULL;
    for (;;) {
        while (PQisBusy(conn)) {
            if (!pg_wait_socket(c, POLLIN)) {
                PQclear(last);
                goto timeout;
            }
            if (!PQconsumeInput(conn))
                break; /* the connection failed: PQgetResult says so */
        }
        PGresult *r = PQgetResult(conn);
        if (r == NULL)
            break;
        PQclear(last);
        last = r;
        if (PQstatus(conn) != CONNECTION_OK)
            break;
    }
    return last;
timeout:
    *timed_out = 1;
    pg_abandon(c);
    return NULL;
}

/* First line of libpq's message, without secrets (libpq never puts the
 * password in it) and without the trailing newline. */
static void pg_message(PGconn *conn, char *buf, size_t len)
{
    const char *m = conn ? PQerrorMessage(conn) : "out of memory";
    size_t n = strcspn(m, "\n");
    snprintf(buf, len, "%.*s", (int)n, m);
}

/* An idle connection the server has closed (restart, pg_terminate_backend)
 * has data or EOF waiting; using it would fail the call for nothing. */
static int pg_conn_stale(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return 1;
    struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
    return p.fd < 0 || poll(&p, 1, 0) != 0;
}

/* Returns a connection to the pool (connected or not) and wakes a waiter. */
static void pg_put_back(pg_store *s, pg_conn *c)
{
    pthread_mutex_lock(&s->lock);
    c->next = s->idle;
    s->idle = c;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

/* Takes a pooled connection that is connected (or WF_EUNAVAIL). */
static int pg_acquire(pg_store *s, pg_conn **out, char *err, size_t errlen)
{
    pg_conn *c = NULL;
    pthread_mutex_lock(&s->lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += s->timeout_ms / 1000;
    deadline.tv_nsec += (long)(s->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (c == NULL) {
        if (s->idle != NULL) {
            c = s->idle;
            s->idle = c->next;
        } else if (s->total < s->max) {
            c = calloc(1, sizeof *c);
            if (c == NULL) {
                pthread_mutex_unlock(&s->lock);
                return WF_ENOMEM;
            }
            s->total++;
        } else if (pthread_cond_timedwait(&s->freed, &s->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&s->lock);
            wf_errorf(err, errlen, "store: every PostgreSQL connection is busy");
            return WF_EUNAVAIL;
        }
    }
    int must_connect = c->conn == NULL || pg_conn_stale(c->conn);
    /* While the server is down, one call at a time probes it; the others
     * answer at once instead of each waiting out a connect timeout. */
    int wait = must_connect &&
               (ts_before(now_mono(), s->retry_after) || (s->down && s->probing));
    if (must_connect && !wait && s->down)
        s->probing = 1;
    pthread_mutex_unlock(&s->lock);

    c->sent = 0;
    c->fresh = must_connect;
    c->deadline_ms = mono_ms() + s->timeout_ms;
    int rc = 0;
    if (wait) {
        wf_errorf(err, errlen, "store: PostgreSQL is unreachable");
        rc = WF_EUNAVAIL;
    } else if (must_connect) {
        if (c->conn != NULL) {
            PQreset(c->conn);
            if (PQstatus(c->conn) == CONNECTION_OK) {
                PQsetNoticeProcessor(c->conn, pg_ignore_notice, NULL);
                PQsetnonblocking(c->conn, 1);
            }
        } else {
            c->conn = pg_connect(s);
        }
        c->prepared = 0;
        char msg[256] = "";
        if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
            pg_message(c->conn, msg, sizeof msg);
            wf_errorf(err, errlen, "store: cannot connect to PostgreSQL: %s", msg);
            rc = WF_EUNAVAIL;
        }
        pthread_mutex_lock(&s->lock);
        if (rc != 0) {
            s->retry_after = now_mono();
            s->retry_after.tv_nsec += PG_RETRY_AFTER_MS * 1000000L;
            if (s->retry_after.tv_nsec >= 1000000000L) {
                s->retry_after.tv_sec++;
                s->retry_after.tv_nsec -= 1000000000L;
            }
        }
        int was_down = s->down;
        s->down = rc != 0;
        s->probing = 0;
        pthread_mutex_unlock(&s->lock);
        if (rc != 0 && !was_down)
            wf_log_warn("store: PostgreSQL is unreachable (%s); calls answer 'unavailable' "
                        "until it is back", msg);
        else if (rc == 0 && was_down)
            wf_log_info("store: PostgreSQL is reachable again");
    }
    if (rc != 0) {
        pg_put_back(s, c);  /* a later call reconnects it */
        return rc;
    }
    *out = c;
    return 0;
}

static int pg_command(pg_conn *c, const char *sql);

static void pg_release(pg_store *s, pg_conn *c)
{
    /* A call that failed inside its transaction leaves it open or aborted;
     * the rollback gets a bound of its own. */
    if (PQstatus(c->conn) == CONNECTION_OK && PQtransactionStatus(c->conn) != PQTRANS_IDLE) {
        c->deadline_ms = mono_ms() + s->timeout_ms;
        pg_command(c, "ROLLBACK");
    }
    pg_put_back(s, c);
}

/* A failed result to our error codes. A lost connection is WF_EUNAVAIL. */
static int pg_error(pg_conn *c, const PGresult *r)
{
    if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK)
        return WF_EUNAVAIL;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state == NULL)
        return r ? WF_EINTERNAL : WF_ENOMEM;
    if (strcmp(state, "23505") == 0)
        return WF_ECONFLICT;         /* unique violation */
    if (strncmp(state, "22", 2) == 0)
        return WF_EINVAL;            /* data exception */
    if (strcmp(state, "57014") == 0)
        return WF_ETIMEOUT;          /* statement timeout */
    if (strcmp(state, "53100") == 0)
        return WF_ENOSPC;            /* disk full: the server is up, writes fail */
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strcmp(state, "40001") == 0 ||
        strcmp(state, "40P01") == 0)
        return WF_EUNAVAIL;          /* connection, resources, shutdown, retryable */
    return WF_EINTERNAL;
}

/* Runs SQL whose result is not needed (BEGIN, COMMIT, a migration). */
static int pg_command(pg_conn *c, const char *sql)
{
    if (c->conn == NULL)
        return WF_EUNAVAIL;
    c->sent++;
    int timed_out = 0;
    PGresult *r = PQsendQuery(c->conn, sql) ? pg_wait(c, &timed_out) : NULL;
    if (timed_out)
        return WF_ETIMEOUT;
    int st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_error(c, r);
    PQclear(r);
    return rc;
}

/* Runs prepared statement `id` (preparing it on first use in this
 * session). On success *res holds the result, for the caller to PQclear. */
static int pg_run(pg_conn *c, int id, int n, const char *const *params, PGresult **res)
{
    *res = NULL;
    char name[16];
    snprintf(name, sizeof name, "wf%d", id);
    int timed_out = 0;
    if (c->conn == NULL)
        return WF_EUNAVAIL;
    if (!(c->prepared & (1u << id))) {
        c->sent++;
        PGresult *r = PQsendPrepare(c->conn, name, pg_sql[id], 0, NULL) ? pg_wait(c, &timed_out)
                                                                         : NULL;
        if (timed_out)
            return WF_ETIMEOUT;
        int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_error(c, r);
        PQclear(r);
        if (rc)
            return rc;
        c->prepared |= 1u << id;
    }
    c->sent++;
    PGresult *r = PQsendQueryPrepared(c->conn, name, n, params, NULL, NULL, 0)
                      ? pg_wait(c, &timed_out) : NULL;
    if (timed_out)
        return WF_ETIMEOUT;
    int st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *res = r;
        return 0;
    }
    int rc = pg_error(c, r);
    PQclear(r);
    return rc;
}

/* Runs op on a pooled connection. When the connection turns out dead on the
 * call's first statement, the call is made once more on a fresh connection,
 * so a restart of PostgreSQL between two calls costs no error. That is safe:
 * reads change nothing, multi-statement writes start with BEGIN, and the one
 * single-statement write (a run record) carries its own id (op_run_put). */
static int pg_call(pg_store *s, pg_op_fn op, void *arg)
{
    for (int attempt = 0;; attempt++) {
        pg_conn *c;
        int rc = pg_acquire(s, &c, NULL, 0);
        if (rc != 0)
            return rc;
        c->retrying = attempt > 0;
        rc = op(c, arg);
        int retry = rc == WF_EUNAVAIL && attempt == 0 && !c->fresh && c->sent <= 1 &&
                    c->conn != NULL && PQstatus(c->conn) != CONNECTION_OK;
        pg_release(s, c);
        if (!retry)
            return rc;
    }
}

typedef struct pg_row {
    PGresult *r;
    int i;
} pg_row;

static const char *pg_col(void *row, int col)
{
    pg_row *pr = row;
    return PQgetisnull(pr->r, pr->i, col) ? NULL : PQgetvalue(pr->r, pr->i, col);
}

/* ---- schema -------------------------------------------------------------- */

static int pg_migrate(pg_conn *c, char *err, size_t errlen)
{
    const int known = (int)(sizeof pg_migrations / sizeof pg_migrations[0]);
    for (int v = 1; v <= known; v++) {
        const char *step = "BEGIN";
        PGresult *r = NULL;
        int rc = pg_command(c, "BEGIN");
        if (!rc) {
            step = "locking";
            rc = pg_command(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATION_LOCK ")");
        }
        if (!rc) {
            step = "schema_version";
            rc = pg_command(c, "CREATE TABLE IF NOT EXISTS schema_version ("
                               "  version INTEGER PRIMARY KEY,"
                               "  applied_at TIMESTAMPTZ NOT NULL)");
        }
        int have = 0;
        if (!rc) {
            r = PQexec(c->conn, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
            if (PQresultStatus(r) == PGRES_TUPLES_OK)
                have = atoi(PQgetvalue(r, 0, 0));
            else
                rc = pg_error(c, r);
            PQclear(r);
        }
        if (!rc && have > known) {
            pg_command(c, "ROLLBACK");
            wf_errorf(err, errlen,
                      "store: the database's schema (version %d) is newer than this server "
                      "knows (%d): upgrade the server", have, known);
            return WF_EINVAL;
        }
        if (!rc && have < v) {
            step = "migration";
            rc = pg_command(c, pg_migrations[v - 1]);
            if (!rc) {
                char sql[96];
                snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, now())", v);
                rc = pg_command(c, sql);
            }
        }
        if (!rc) {
            step = "COMMIT";
            rc = pg_command(c, "COMMIT");
        }
        if (rc) {
            char msg[256];
            pg_message(c->conn, msg, sizeof msg);
            wf_errorf(err, errlen, "store: migrating the PostgreSQL schema to version %d "
                      "failed (%s): %s", v, step, msg);
            if (c->conn != NULL && PQstatus(c->conn) == CONNECTION_OK)
                PQclear(PQexec(c->conn, "ROLLBACK"));
            return rc;
        }
    }
    return 0;
}

/* ---- the back-end functions ---------------------------------------------- */

static void pg_close(wf_store *st)
{
    pg_store *s = (pg_store *)st;
    while (s->idle != NULL) {
        pg_conn *c = s->idle;
        s->idle = c->next;
        if (c->conn)
            PQfinish(c->conn);
        free(c);
    }
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->lock);
    free(s->conninfo);
    free(s->sslrootcert);
    free(s);
}

static int op_revision(pg_conn *c, void *arg)
{
    int64_t *rev = arg;
    PGresult *r;
    int rc = pg_run(c, PG_GET_REVISION, 0, NULL, &r);
    if (rc)
        return rc;
    if (PQntuples(r) != 1)
        rc = WF_EINTERNAL;
    else
        rc = wf_store_parse_i64(PQgetvalue(r, 0, 0), rev);
    PQclear(r);
    return rc;
}

static int pg_plugins_revision(wf_store *st, int64_t *rev)
{
    return pg_call((pg_store *)st, op_revision, rev);
}

static int pg_ping(wf_store *st)
{
    int64_t rev;
    return pg_plugins_revision(st, &rev) == 0 ? 0 : WF_EUNAVAIL;
}

typedef struct put_args {
    const wf_store_plugin_in *in;
    int *version;
    char *created_at;
} put_args;

static int op_plugin_put(pg_conn *c, void *arg)
{
    put_args *a = arg;
    const wf_store_plugin_in *in = a->in;
    PGresult *r = NULL;
    char rev[24] = "", version[16], calls[16], size[24];
    int rc = pg_command(c, "BEGIN");
    if (!rc) rc = pg_run(c, PG_BUMP_REVISION, 0, NULL, &r);
    if (!rc) {
        snprintf(rev, sizeof rev, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
        PQclear(r);
        rc = rev[0] ? 0 : WF_EINTERNAL;
    }
    if (!rc) {
        const char *p[] = {in->name, in->now, rev};
        rc = pg_run(c, PG_UPSERT_PLUGIN, 3, p, &r);
    }
    if (!rc) {
        if (PQntuples(r) == 1) {
            *a->version = atoi(PQgetvalue(r, 0, 0));
            snprintf(a->created_at, WF_STORE_TS_LEN, "%s", PQgetvalue(r, 0, 1));
        } else {
            rc = WF_EINTERNAL;
        }
        PQclear(r);
    }
    if (!rc) {
        snprintf(version, sizeof version, "%d", *a->version);
        snprintf(calls, sizeof calls, "%d", in->calls);
        snprintf(size, sizeof size, "%lld", (long long)in->size_bytes);
        const char *p[] = {in->name, version, in->code, in->description, in->input_type,
                           in->input_hint, calls, in->sha256, size, in->now};
        rc = pg_run(c, PG_INSERT_VERSION, 10, p, &r);
        PQclear(r);
    }
    /* A lost connection during COMMIT leaves the outcome unknown: the
     * caller hears WF_EUNAVAIL and may upload again (a new version). */
    if (!rc) rc = pg_command(c, "COMMIT");
    return rc;
}

static int pg_plugin_put(wf_store *st, const wf_store_plugin_in *in, int *version,
                         char *created_at)
{
    put_args a = {in, version, created_at};
    return pg_call((pg_store *)st, op_plugin_put, &a);
}

typedef struct get_args {
    int id;
    const char *key;
    int plugin;
    void *out;
} get_args;

static int op_get_one(pg_conn *c, void *arg)
{
    get_args *a = arg;
    PGresult *r;
    const char *p[] = {a->key};
    int rc = pg_run(c, a->id, 1, p, &r);
    if (rc)
        return rc;
    if (PQntuples(r) == 0) {
        rc = WF_ENOTFOUND;
    } else {
        pg_row row = {r, 0};
        rc = a->plugin ? wf_store_plugin_from_row(pg_col, &row, 1, a->out)
                       : wf_store_run_from_row(pg_col, &row, a->out);
    }
    PQclear(r);
    return rc;
}

static int pg_plugin_get(wf_store *st, const char *name, wf_plugin *out)
{
    get_args a = {PG_GET_PLUGIN, name, 1, out};
    return pg_call((pg_store *)st, op_get_one, &a);
}

static int op_plugin_delete(pg_conn *c, void *arg)
{
    const char *p[] = {arg};
    PGresult *r = NULL;
    int rc = pg_command(c, "BEGIN");
    if (!rc) rc = pg_run(c, PG_DELETE_PLUGIN, 1, p, &r);
    if (!rc) {
        rc = strcmp(PQcmdTuples(r), "0") == 0 ? WF_ENOTFOUND : 0;
        PQclear(r);
    }
    if (!rc) {
        rc = pg_run(c, PG_BUMP_REVISION, 0, NULL, &r);
        PQclear(r);
    }
    if (!rc) rc = pg_command(c, "COMMIT");
    return rc;  /* on error pg_release rolls back */
}

static int pg_plugin_delete(wf_store *st, const char *name)
{
    return pg_call((pg_store *)st, op_plugin_delete, (void *)name);
}

typedef struct list_args {
    int id;
    int limit, offset;
    const char *key;
    int plugin;
    void **arr;
    size_t *n;
} list_args;

static int op_list(pg_conn *c, void *arg)
{
    list_args *a = arg;
    char limit[16], offset[16];
    snprintf(limit, sizeof limit, "%d", a->limit);
    snprintf(offset, sizeof offset, "%d", a->offset);
    const char *p[] = {a->limit < 0 ? NULL : limit, offset, a->key};
    PGresult *r;
    int rc = pg_run(c, a->id, a->key ? 3 : 2, p, &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    size_t elem = a->plugin ? sizeof(wf_plugin) : sizeof(wf_run_record);
    if (rows > 0 && (*a->arr = calloc((size_t)rows, elem)) == NULL)
        rc = WF_ENOMEM;
    for (int i = 0; i < rows && !rc; i++) {
        pg_row row = {r, i};
        void *slot = (char *)*a->arr + (size_t)i * elem;
        rc = a->plugin ? wf_store_plugin_from_row(pg_col, &row, 0, slot)
                       : wf_store_run_from_row(pg_col, &row, slot);
        if (!rc)
            (*a->n)++;
    }
    PQclear(r);
    if (rc) {
        if (a->plugin)
            wf_plugins_free(*a->arr, *a->n);
        else
            wf_run_records_free(*a->arr, *a->n);
        *a->arr = NULL;
        *a->n = 0;
    }
    return rc;
}

static int pg_plugin_list(wf_store *st, int limit, int offset, wf_plugin **out, size_t *n)
{
    list_args a = {PG_LIST_PLUGINS, limit, offset, NULL, 1, (void **)out, n};
    return pg_call((pg_store *)st, op_list, &a);
}

static int op_run_put(pg_conn *c, void *arg)
{
    const wf_run_record *rec = arg;
    char version[16], ai_calls[16], duration[24];
    snprintf(version, sizeof version, "%d", rec->version);
    snprintf(ai_calls, sizeof ai_calls, "%d", rec->ai_calls);
    snprintf(duration, sizeof duration, "%lld", (long long)rec->duration_ms);
    const char *p[] = {rec->run_id, rec->plugin, version, rec->success ? "true" : "false",
                       rec->output, rec->error, rec->error_type, rec->result_json, rec->logs,
                       rec->input_data, ai_calls, duration, rec->started_at,
                       rec->stdout_text, rec->limits_json};
    PGresult *r;
    int rc = pg_run(c, PG_PUT_RUN, 15, p, &r);
    PQclear(r);
    /* A retry after a lost connection that finds the id already there
     * means the first try committed. */
    if (rc == WF_ECONFLICT && c->retrying)
        rc = 0;
    return rc;
}

static int pg_run_put(wf_store *st, const wf_run_record *rec, int durable)
{
    (void)durable; /* every commit waits for the server's disk */
    return pg_call((pg_store *)st, op_run_put, (void *)rec);
}

static int pg_run_get(wf_store *st, const char *run_id, wf_run_record *out)
{
    get_args a = {PG_GET_RUN, run_id, 0, out};
    return pg_call((pg_store *)st, op_get_one, &a);
}

static int pg_run_list(wf_store *st, const char *plugin, int limit, int offset,
                       wf_run_record **out, size_t *n)
{
    list_args a = {plugin ? PG_LIST_RUNS_OF : PG_LIST_RUNS, limit, offset, plugin, 0,
                   (void **)out, n};
    return pg_call((pg_store *)st, op_list, &a);
}

typedef struct prune_args {
    const char *before;
    int64_t keep;
    int64_t deleted;
} prune_args;

static int op_runs_prune(pg_conn *c, void *arg)
{
    prune_args *a = arg;
    char keep[24];
    snprintf(keep, sizeof keep, "%lld", (long long)a->keep);
    const char *p[] = {a->before ? a->before : keep};
    PGresult *r = NULL;
    int rc = pg_run(c, a->before ? PG_PRUNE_OLD : PG_PRUNE_EXCESS, 1, p, &r);
    if (!rc) {
        a->deleted = strtoll(PQcmdTuples(r), NULL, 10);
        PQclear(r);
    }
    return rc;
}

static int pg_runs_prune(wf_store *st, const char *before, int64_t keep, int64_t *deleted)
{
    prune_args a = {before, keep, 0};
    int rc = pg_call((pg_store *)st, op_runs_prune, &a);
    *deleted = rc == 0 ? a.deleted : 0;
    return rc;
}

static const wf_store_ops pg_ops = {
    .kind = "postgresql",
    .close = pg_close,
    .ping = pg_ping,
    .plugin_put = pg_plugin_put,
    .plugin_get = pg_plugin_get,
    .plugin_delete = pg_plugin_delete,
    .plugin_list = pg_plugin_list,
    .plugins_revision = pg_plugins_revision,
    .run_put = pg_run_put,
    .run_get = pg_run_get,
    .run_list = pg_run_list,
    .runs_prune = pg_runs_prune,
};

int wf_store_pg_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen)
{
    if (cfg->pg_conninfo == NULL || cfg->pg_conninfo[0] == '\0') {
        wf_errorf(err, errlen, "store: no PostgreSQL connection configured");
        return WF_EINVAL;
    }
    if (cfg->db_ssl_cert != NULL && access(cfg->db_ssl_cert, R_OK) != 0) {
        wf_errorf(err, errlen, "store: DB_SSL_CERT %s cannot be read: %s", cfg->db_ssl_cert,
                  strerror(errno));
        return WF_EINVAL;
    }
    pg_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return WF_ENOMEM;
    s->base.ops = &pg_ops;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    /* Enough for every HTTP thread and run worker to hold one at once,
     * few enough that several servers fit PostgreSQL's default limit. */
    s->max = cfg->http_threads + cfg->max_concurrent_runs + 1;
    if (s->max < 2)
        s->max = 2;
    if (s->max > 32)
        s->max = 32;
    s->timeout_ms = cfg->db_timeout_ms > 0 ? cfg->db_timeout_ms : 5000;
    /* libpq counts whole seconds, at least 2 */
    int connect_s = (s->timeout_ms + 999) / 1000;
    snprintf(s->connect_timeout, sizeof s->connect_timeout, "%d", connect_s < 2 ? 2 : connect_s);
    snprintf(s->options, sizeof s->options,
             "-c statement_timeout=%d -c idle_in_transaction_session_timeout=60000",
             s->timeout_ms);
    s->conninfo = strdup(cfg->pg_conninfo);
    if (cfg->db_ssl_cert)
        s->sslrootcert = strdup(cfg->db_ssl_cert);
    if (s->conninfo == NULL || (cfg->db_ssl_cert && s->sslrootcert == NULL)) {
        pg_close(&s->base);
        return WF_ENOMEM;
    }
    pg_conn *c;
    int rc = pg_acquire(s, &c, err, errlen);
    if (rc == 0) {
        /* Text outside the database's character set would be refused
         * (WF_EINVAL) on upload: say why early. */
        const char *enc = PQparameterStatus(c->conn, "server_encoding");
        if (enc && strcmp(enc, "UTF8") != 0 && strcmp(enc, "SQL_ASCII") != 0)
            wf_log_warn("store: the PostgreSQL database's encoding is %s; create it with "
                        "ENCODING 'UTF8' so every plugin and run can be stored", enc);
        c->deadline_ms = mono_ms() + PG_MIGRATION_TIMEOUT_MS;
        rc = pg_migrate(c, err, errlen);
        pg_release(s, c);
    }
    if (rc != 0) {
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
