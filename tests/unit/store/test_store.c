/* test_store.c - one suite for the store, run against every back end: SQLite
 * in a temporary folder always, PostgreSQL when WF_TEST_PG_URL is set. */
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/utf8.h"
#include "common/wf_error.h"
#include "store/store.h"
#include "store/store_util.h"

/* ---- fixture: which back end, a fresh database per test ------------------ */

typedef struct backend {
    enum wf_db_kind kind;
    char dir[256];          /* sqlite: temporary folder */
    char *pg_conninfo;      /* postgres: conninfo of this run's own database */
    const char *pg_admin;   /* postgres: the cluster's URL (WF_TEST_PG_URL) */
    char pg_db[64];         /* postgres: this run's database */
    const char *boom_sql;   /* installs a trigger failing versions described "boom" */
} backend;

static backend *be;         /* the back end the running group tests */
static wf_config cfg;       /* its configuration for the current test */
static char sqlite_path[512];
static int test_no;

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    assert_non_null(p);
    return p;
}

/* Runs SQL on the current test's database, beside the store. */
static void raw_exec(const char *sql)
{
    if (be->kind == WF_DB_SQLITE) {
        sqlite3 *db;
        assert_int_equal(sqlite3_open(sqlite_path, &db), SQLITE_OK);
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
            fail_msg("sqlite: %s: %s", sql, msg);
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(be->pg_conninfo);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PQclear(PQexec(c, "SET client_min_messages = warning"));
        PGresult *r = PQexec(c, sql);
        int st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            fail_msg("pg: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
    }
}

/* The first column of the first row of a query, as an integer. */
static int64_t raw_int(const char *sql)
{
    int64_t v = -1;
    if (be->kind == WF_DB_SQLITE) {
        sqlite3 *db;
        sqlite3_stmt *q;
        assert_int_equal(sqlite3_open(sqlite_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        v = sqlite3_column_int64(q, 0);
        sqlite3_finalize(q);
        sqlite3_close(db);
    } else {
        PGconn *c = PQconnectdb(be->pg_conninfo);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
            fail_msg("pg: %s: %s", sql, PQerrorMessage(c));
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
    }
    return v;
}

static wf_store *open_store(void)
{
    wf_store *st = NULL;
    char err[256] = "";
    int rc = wf_store_open(&cfg, &st, err, sizeof err);
    if (rc != 0)
        fail_msg("wf_store_open: %d %s", rc, err);
    return st;
}

static int test_setup(void **state)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.db_kind = be->kind;
    cfg.http_threads = 4;
    cfg.max_concurrent_runs = 2;
    if (be->kind == WF_DB_SQLITE) {
        /* a subfolder the store must create itself */
        snprintf(sqlite_path, sizeof sqlite_path, "%s/t%d/sub/wasmforge.db", be->dir, ++test_no);
        cfg.sqlite_path = sqlite_path;
    } else {
        cfg.pg_conninfo = be->pg_conninfo;
        raw_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    }
    *state = open_store();
    return 0;
}

static char tls_dir[64];    /* a TLS cluster a test started, removed in teardown */

static int test_teardown(void **state)
{
    wf_store_close(*state);
    if (tls_dir[0] != '\0') {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/support/pg.py destroy '%s'", tls_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove the TLS cluster in %s\n", tls_dir);
        tls_dir[0] = '\0';
    }
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static int put(wf_store *st, const char *name, const char *code, const char *desc, wf_plugin *out)
{
    wf_plugin in = {.name = (char *)name, .code = (char *)code, .description = (char *)desc,
                    .input_type = "json", .input_hint = "a hint", .calls = 2};
    return wf_store_plugin_put(st, &in, out);
}

static int64_t revision(wf_store *st)
{
    int64_t rev = -1;
    assert_int_equal(wf_store_plugins_revision(st, &rev), 0);
    return rev;
}

static void make_run(wf_run_record *r, char id[37], const char *plugin, const char *started)
{
    memset(r, 0, sizeof *r);
    wf_store_uuid4(id);
    r->run_id = id;
    r->plugin = (char *)plugin;
    r->version = 1;
    r->success = 1;
    r->output = "out";
    r->logs = "log";
    r->input_data = "in";
    r->ai_calls = 2;
    r->duration_ms = 17;
    r->started_at = (char *)started;
}

/* ---- tests --------------------------------------------------------------- */

static void test_put_get(void **state)
{
    wf_store *st = *state;
    wf_plugin out, got;
    assert_int_equal(put(st, "hello", "print('hi')\ncall_ai(1)\n", "greets", &out), 0);
    assert_string_equal(out.name, "hello");
    assert_int_equal(out.version, 1);
    assert_int_equal(out.calls, 2);
    assert_int_equal(out.size_bytes, 23);
    char sha[65];
    wf_store_sha256_hex("print('hi')\ncall_ai(1)\n", 23, sha);
    assert_string_equal(out.sha256, sha);
    assert_true(wf_store_timestamp_valid(out.created_at));
    assert_string_equal(out.created_at, out.updated_at);

    assert_int_equal(wf_store_plugin_get(st, "hello", &got), 0);
    assert_string_equal(got.name, "hello");
    assert_string_equal(got.code, "print('hi')\ncall_ai(1)\n");
    assert_string_equal(got.description, "greets");
    assert_string_equal(got.input_type, "json");
    assert_string_equal(got.input_hint, "a hint");
    assert_int_equal(got.calls, 2);
    assert_int_equal(got.version, 1);
    assert_int_equal(got.size_bytes, 23);
    assert_string_equal(got.sha256, sha);
    assert_string_equal(got.created_at, out.created_at);
    assert_string_equal(got.updated_at, out.updated_at);
    assert_string_equal(wf_store_kind(st), be->kind == WF_DB_SQLITE ? "sqlite" : "postgresql");
    assert_int_equal(wf_store_ping(st), 0);
    wf_plugin_clear(&out);
    wf_plugin_clear(&got);

    /* defaults; out may be NULL */
    wf_plugin in = {.name = "Plain-1", .code = "x = 1\n"};
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), 0);
    assert_int_equal(wf_store_plugin_get(st, "Plain-1", &got), 0);
    assert_string_equal(got.description, "");
    assert_string_equal(got.input_type, "text");
    assert_string_equal(got.input_hint, "");
    assert_int_equal(got.calls, 1);
    wf_plugin_clear(&got);
}

static void test_versions(void **state)
{
    wf_store *st = *state;
    wf_plugin a, b, got;
    assert_int_equal(put(st, "p", "v1", "first", &a), 0);
    struct timespec ms = {0, 3 * 1000 * 1000};
    nanosleep(&ms, NULL);  /* so the two uploads' times differ */
    assert_int_equal(put(st, "p", "v2", "second", NULL), 0);
    nanosleep(&ms, NULL);
    assert_int_equal(put(st, "p", "v3", "third", &b), 0);
    assert_int_equal(b.version, 3);
    assert_string_equal(b.created_at, a.created_at);
    assert_true(strcmp(b.updated_at, a.updated_at) > 0);
    assert_int_equal(wf_store_plugin_get(st, "p", &got), 0);
    assert_string_equal(got.code, "v3");
    assert_string_equal(got.description, "third");
    assert_int_equal(got.version, 3);
    assert_string_equal(got.created_at, a.created_at);
    assert_string_equal(got.updated_at, b.updated_at);
    /* earlier versions are kept */
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugin_versions WHERE name = 'p'"), 3);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugin_versions WHERE name = 'p' AND "
                             "version = 1 AND code = 'v1'"), 1);
    wf_plugin_clear(&a);
    wf_plugin_clear(&b);
    wf_plugin_clear(&got);
}

static void test_list_pagination(void **state)
{
    wf_store *st = *state;
    char name[32];
    for (int i = 0; i < 25; i++) {
        snprintf(name, sizeof name, "plugin_%02d", i);
        assert_int_equal(put(st, name, "code", "d", NULL), 0);
    }
    wf_plugin *all;
    size_t n;
    assert_int_equal(wf_store_plugin_list(st, -1, 0, &all, &n), 0);
    assert_int_equal(n, 25);
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "plugin_%02d", (int)(24 - i));  /* newest first */
        assert_string_equal(all[i].name, name);
        assert_null(all[i].code);
        assert_string_equal(all[i].description, "d");
        assert_int_equal(all[i].size_bytes, 4);
        assert_int_equal(all[i].version, 1);
        assert_true(wf_store_timestamp_valid(all[i].updated_at));
    }
    /* pages put together are the whole list */
    size_t seen = 0;
    for (int off = 0; off < 30; off += 10) {
        wf_plugin *page;
        size_t pn;
        assert_int_equal(wf_store_plugin_list(st, 10, off, &page, &pn), 0);
        assert_int_equal(pn, off < 20 ? 10 : off < 25 ? 5 : 0);
        for (size_t i = 0; i < pn; i++)
            assert_string_equal(page[i].name, all[seen + i].name);
        seen += pn;
        wf_plugins_free(page, pn);
    }
    assert_int_equal(seen, 25);
    wf_plugins_free(all, n);

    /* a new version moves a plugin to the front */
    assert_int_equal(put(st, "plugin_03", "new code", "d", NULL), 0);
    assert_int_equal(wf_store_plugin_list(st, 2, 0, &all, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].name, "plugin_03");
    assert_int_equal(all[0].version, 2);
    assert_int_equal(all[0].size_bytes, 8);
    assert_string_equal(all[1].name, "plugin_24");
    wf_plugins_free(all, n);

    assert_int_equal(wf_store_plugin_list(st, 5, 100, &all, &n), 0);
    assert_int_equal(n, 0);
    wf_plugins_free(all, n);
    assert_int_equal(wf_store_plugin_list(st, 0, 0, &all, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(wf_store_plugin_list(st, 5, -1, &all, &n), WF_EINVAL);
}

static void test_delete(void **state)
{
    wf_store *st = *state;
    wf_plugin got;
    assert_int_equal(put(st, "gone", "a", "", NULL), 0);
    assert_int_equal(put(st, "gone", "b", "", NULL), 0);
    assert_int_equal(put(st, "stays", "c", "", NULL), 0);
    wf_run_record r;
    char id[37];
    make_run(&r, id, "gone", NULL);
    assert_int_equal(wf_store_run_put(st, &r), 0);

    assert_int_equal(wf_store_plugin_delete(st, "gone"), 0);
    assert_int_equal(wf_store_plugin_get(st, "gone", &got), WF_ENOTFOUND);
    assert_int_equal(wf_store_plugin_delete(st, "gone"), WF_ENOTFOUND);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugin_versions WHERE name = 'gone'"), 0);
    wf_plugin *list;
    size_t n;
    assert_int_equal(wf_store_plugin_list(st, -1, 0, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "stays");
    wf_plugins_free(list, n);

    /* its runs stay */
    wf_run_record rr;
    assert_int_equal(wf_store_run_get(st, id, &rr), 0);
    wf_run_record_clear(&rr);

    /* uploaded again, it starts over */
    wf_plugin out;
    assert_int_equal(put(st, "gone", "again", "", &out), 0);
    assert_int_equal(out.version, 1);
    wf_plugin_clear(&out);
}

static void test_not_found_and_bad_input(void **state)
{
    wf_store *st = *state;
    wf_plugin got;
    wf_run_record rr;
    int64_t rev = revision(st);
    assert_int_equal(wf_store_plugin_get(st, "nope", &got), WF_ENOTFOUND);
    assert_null(got.name);
    assert_int_equal(wf_store_plugin_get(st, "../etc/passwd", &got), WF_ENOTFOUND);
    assert_int_equal(wf_store_plugin_get(st, "", &got), WF_ENOTFOUND);
    assert_int_equal(wf_store_plugin_get(st, NULL, &got), WF_ENOTFOUND);
    assert_int_equal(wf_store_plugin_get(st, "x' OR '1'='1", &got), WF_ENOTFOUND);
    assert_int_equal(wf_store_plugin_delete(st, "nope"), WF_ENOTFOUND);
    assert_int_equal(wf_store_run_get(st, "00000000-0000-4000-8000-000000000000", &rr),
                     WF_ENOTFOUND);
    assert_int_equal(wf_store_run_get(st, "not-a-uuid", &rr), WF_ENOTFOUND);

    char long_name[140];
    memset(long_name, 'a', 129);
    long_name[129] = '\0';
    const char *bad_names[] = {"", "..", "a\\b", "a/b", "a\tb", long_name, NULL};
    for (int i = 0; i < 7; i++)
        assert_int_equal(put(st, bad_names[i], "x", "", NULL), WF_EINVAL);
    long_name[128] = '\0';  /* 128 characters is the most */
    assert_int_equal(put(st, long_name, "x", "", NULL), 0);
    rev++;
    /* What the original accepted: spaces, dots, any letters. */
    assert_int_equal(put(st, "my pl\xc3\xbcgin.v2", "x", "", NULL), 0);
    rev++;

    wf_plugin in = {.name = "ok", .code = NULL};
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.code = "bad \xff utf-8";
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.code = "overlong \xc0\xaf";
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.code = "surrogate \xed\xa0\x80";
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.code = "fine";
    in.description = "cut \xe2\x82";
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.description = NULL;
    in.input_type = "a type of more than thirty-two characters";
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.input_type = "bad \xff";
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.input_type = NULL;
    char *big = malloc(WF_PLUGIN_TEXT_MAX + 2);
    assert_non_null(big);
    memset(big, 'd', WF_PLUGIN_TEXT_MAX + 1);
    big[WF_PLUGIN_TEXT_MAX + 1] = '\0';
    in.description = big;
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.description = NULL;
    in.input_hint = big;
    assert_int_equal(wf_store_plugin_put(st, &in, NULL), WF_EINVAL);
    in.input_hint = NULL;
    free(big);
    assert_int_equal(wf_store_plugin_put(st, NULL, NULL), WF_EINVAL);
    /* nothing of that was written */
    assert_int_equal(revision(st), rev);
    assert_int_equal(wf_store_plugin_get(st, "ok", &got), WF_ENOTFOUND);
}

static void test_revision(void **state)
{
    wf_store *st = *state;
    int64_t r0 = revision(st);
    assert_int_equal(put(st, "a", "1", "", NULL), 0);
    int64_t r1 = revision(st);
    assert_true(r1 > r0);
    assert_int_equal(put(st, "a", "2", "", NULL), 0);
    int64_t r2 = revision(st);
    assert_true(r2 > r1);
    wf_plugin got;
    assert_int_equal(wf_store_plugin_get(st, "a", &got), 0);
    wf_plugin_clear(&got);
    wf_run_record r;
    char id[37];
    make_run(&r, id, "a", NULL);
    assert_int_equal(wf_store_run_put(st, &r), 0);
    assert_int_equal(wf_store_plugin_delete(st, "zzz"), WF_ENOTFOUND);
    assert_int_equal(revision(st), r2);  /* reads, runs, failed deletes: no change */
    assert_int_equal(wf_store_plugin_delete(st, "a"), 0);
    assert_true(revision(st) > r2);

    /* another handle on the same database sees the same value */
    wf_store *other = open_store();
    int64_t ro = -1;
    assert_int_equal(wf_store_plugins_revision(other, &ro), 0);
    assert_int_equal(ro, revision(st));
    assert_int_equal(put(other, "b", "1", "", NULL), 0);
    assert_int_equal(revision(st), ro + 1);
    wf_store_close(other);
}

/* The answer path's record: visible to another handle (another server) as
 * soon as the call returns, before any sync; checked like any other. */
static void test_run_put_nosync(void **state)
{
    wf_store *st = *state;
    wf_run_record r, got;
    char id[37];
    make_run(&r, id, "fast", NULL);
    assert_int_equal(wf_store_run_put_nosync(st, &r), 0);
    wf_store *other = open_store();
    assert_int_equal(wf_store_run_get(other, id, &got), 0);
    assert_string_equal(got.plugin, "fast");
    wf_run_record_clear(&got);
    assert_int_equal(wf_store_sync(st), 0);
    assert_int_equal(wf_store_sync(other), 0);
    assert_int_equal(wf_store_run_put_nosync(st, &r), WF_ECONFLICT);
    r.run_id = "not-a-uuid";
    assert_int_equal(wf_store_run_put_nosync(st, &r), WF_EINVAL);
    /* plugin writes after it on the same pool still work */
    assert_int_equal(put(st, "after", "x", "", NULL), 0);
    wf_store_close(other);
}

static void test_runs(void **state)
{
    wf_store *st = *state;
    wf_run_record r, got;
    char ids[6][37];
    const char *times[6] = {"2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.000Z",
                            "2026-01-01T00:00:02.000Z", "2026-01-01T00:00:02.000Z",
                            "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"};
    for (int i = 0; i < 6; i++) {
        make_run(&r, ids[i], i % 2 ? "odd" : "even", times[i]);
        r.version = i;
        if (i == 2) {
            r.success = 0;
            r.error = "Traceback ...";
            r.error_type = "plugin_error";
            r.result_json = NULL;
        } else {
            r.result_json = "{\"n\": 1}";
        }
        assert_int_equal(wf_store_run_put(st, &r), 0);
    }
    assert_int_equal(wf_store_run_get(st, ids[2], &got), 0);
    assert_string_equal(got.run_id, ids[2]);
    assert_string_equal(got.plugin, "even");
    assert_int_equal(got.version, 2);
    assert_int_equal(got.success, 0);
    assert_string_equal(got.output, "out");
    assert_string_equal(got.error, "Traceback ...");
    assert_string_equal(got.error_type, "plugin_error");
    assert_null(got.result_json);
    assert_string_equal(got.logs, "log");
    assert_string_equal(got.input_data, "in");
    assert_int_equal(got.ai_calls, 2);
    assert_int_equal(got.duration_ms, 17);
    assert_string_equal(got.started_at, times[2]);
    wf_run_record_clear(&got);
    assert_int_equal(wf_store_run_get(st, ids[1], &got), 0);
    assert_int_equal(got.success, 1);
    assert_null(got.error);
    assert_null(got.error_type);
    assert_string_equal(got.result_json, "{\"n\": 1}");
    wf_run_record_clear(&got);

    /* newest first; equal times in the order recorded, newest first */
    wf_run_record *list;
    size_t n;
    assert_int_equal(wf_store_run_list(st, NULL, 100, 0, &list, &n), 0);
    assert_int_equal(n, 6);
    const int order[6] = {5, 4, 3, 2, 1, 0};
    for (int i = 0; i < 6; i++)
        assert_string_equal(list[i].run_id, ids[order[i]]);
    /* summaries: the large fields are left out, the rest is there */
    assert_string_equal(list[3].output, "");
    assert_string_equal(list[3].logs, "");
    assert_string_equal(list[3].input_data, "");
    assert_null(list[3].error);
    assert_null(list[3].result_json);
    assert_string_equal(list[3].error_type, "plugin_error");
    assert_int_equal(list[3].success, 0);
    assert_int_equal(list[3].ai_calls, 2);
    assert_int_equal(list[3].duration_ms, 17);
    assert_int_equal(list[3].version, 2);
    assert_string_equal(list[3].plugin, "even");
    assert_string_equal(list[3].started_at, times[2]);
    wf_run_records_free(list, n);
    assert_int_equal(wf_store_run_list(st, "odd", 2, 1, &list, &n), 0);
    assert_int_equal(n, 1 + 1);
    assert_string_equal(list[0].run_id, ids[3]);
    assert_string_equal(list[1].run_id, ids[1]);
    wf_run_records_free(list, n);
    assert_int_equal(wf_store_run_list(st, "nobody", 10, 0, &list, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(wf_store_run_list(st, "../x", 10, 0, &list, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(wf_store_run_list(st, NULL, 0, 0, &list, &n), WF_EINVAL);
    assert_int_equal(wf_store_run_list(st, NULL, 1, -1, &list, &n), WF_EINVAL);

    /* the same id twice: the first is kept */
    make_run(&r, ids[0], "even", NULL);
    r.run_id = ids[5];
    r.output = "second";
    assert_int_equal(wf_store_run_put(st, &r), WF_ECONFLICT);
    assert_int_equal(wf_store_run_get(st, ids[5], &got), 0);
    assert_string_equal(got.output, "out");
    wf_run_record_clear(&got);

    /* bad records are refused */
    make_run(&r, ids[0], "even", NULL);
    r.error_type = "oops";
    assert_int_equal(wf_store_run_put(st, &r), WF_EINVAL);
    make_run(&r, ids[0], "even", "2026-02-30T00:00:00.000Z");
    assert_int_equal(wf_store_run_put(st, &r), WF_EINVAL);
    char id_empty[37];
    make_run(&r, id_empty, "even", "");
    assert_int_equal(wf_store_run_put(st, &r), 0);
    assert_int_equal(wf_store_run_get(st, id_empty, &got), 0);
    assert_true(wf_store_timestamp_valid(got.started_at));
    wf_run_record_clear(&got);
    make_run(&r, ids[0], "even", "yesterday");
    assert_int_equal(wf_store_run_put(st, &r), WF_EINVAL);
    make_run(&r, ids[0], "even", NULL);
    r.run_id = "1234";
    assert_int_equal(wf_store_run_put(st, &r), WF_EINVAL);
    make_run(&r, ids[0], "", NULL);
    assert_int_equal(wf_store_run_put(st, &r), WF_EINVAL);
    assert_int_equal(wf_store_run_put(st, NULL), WF_EINVAL);

    /* a plugin's output is any bytes: stored, with U+FFFD for bad ones; a
     * missing started_at is now */
    make_run(&r, ids[0], "even", NULL);
    r.output = "a\xff" "b\xc3";
    r.logs = NULL;
    r.input_data = NULL;
    assert_int_equal(wf_store_run_put(st, &r), 0);
    assert_int_equal(wf_store_run_get(st, ids[0], &got), 0);
    assert_string_equal(got.output, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
    assert_string_equal(got.logs, "");
    assert_string_equal(got.input_data, "");
    assert_true(wf_store_timestamp_valid(got.started_at));
    wf_run_record_clear(&got);
    assert_int_equal(wf_store_run_list(st, NULL, 1, 0, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].run_id, ids[0]);  /* 2026-11 and later: the newest */
    wf_run_records_free(list, n);
}

/* RUN_HISTORY_DAYS and RUN_HISTORY_MAX_ROWS: the old go first, then all
 * but the newest; batches past WF_STORE_PRUNE_BATCH are all taken. */
static void test_runs_prune(void **state)
{
    wf_store *st = *state;
    wf_run_record r, *list;
    size_t n;
    char id[37], recent[64];
    int64_t deleted = -1;
    time_t now = time(NULL);
    struct tm tm;
    for (int i = 0; i < 1205; i++) {
        /* 1,200 runs from 2020, then five from a minute ago */
        if (i < 1200) {
            snprintf(recent, sizeof recent, "2020-01-01T00:%02d:%02d.000Z", i / 60 % 60, i % 60);
        } else {
            time_t t = now - 60 + (i - 1200);
            gmtime_r(&t, &tm);
            strftime(recent, sizeof recent, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
        }
        make_run(&r, id, "p", recent);
        assert_int_equal(wf_store_run_put_nosync(st, &r), 0);
    }
    assert_int_equal(wf_store_runs_prune(st, 0, 0, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(wf_store_runs_prune(st, 30, 0, &deleted), 0);
    assert_int_equal(deleted, 1200);
    assert_int_equal(wf_store_run_list(st, NULL, 100, 0, &list, &n), 0);
    assert_int_equal(n, 5);
    wf_run_records_free(list, n);
    assert_int_equal(wf_store_runs_prune(st, 30, 3, &deleted), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(wf_store_run_list(st, NULL, 100, 0, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].run_id, id); /* the newest is kept */
    wf_run_records_free(list, n);
}

static void test_unicode(void **state)
{
    wf_store *st = *state;
    const char *code = "# héllo wörld — 你好 🚀 ́e\nprint('Ωμέγα')\n";
    const char *desc = "émoji 🎉, 日本語, RTL שלום, zero-width \xe2\x80\x8b";
    wf_plugin in = {.name = "uni", .code = (char *)code, .description = (char *)desc,
                    .input_hint = "→ ∑"};
    wf_plugin out, got;
    assert_int_equal(wf_store_plugin_put(st, &in, &out), 0);
    assert_int_equal(out.size_bytes, (int64_t)strlen(code));
    assert_int_equal(wf_store_plugin_get(st, "uni", &got), 0);
    assert_string_equal(got.code, code);
    assert_string_equal(got.description, desc);
    assert_string_equal(got.input_hint, "→ ∑");
    assert_string_equal(got.sha256, out.sha256);
    wf_plugin_clear(&out);
    wf_plugin_clear(&got);

    wf_run_record r, rr;
    char id[37];
    make_run(&r, id, "uni", NULL);
    r.output = "résultat ✓";
    r.input_data = "{\"q\": \"¿qué?\"}";
    assert_int_equal(wf_store_run_put(st, &r), 0);
    assert_int_equal(wf_store_run_get(st, id, &rr), 0);
    assert_string_equal(rr.output, "résultat ✓");
    assert_string_equal(rr.input_data, "{\"q\": \"¿qué?\"}");
    wf_run_record_clear(&rr);
}

static void test_big_code(void **state)
{
    wf_store *st = *state;
    size_t len = 4u << 20;
    char *code = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        code[i] = (char)('a' + (i * 7919 % 26));
    for (size_t i = 99; i < len; i += 100)
        code[i] = '\n';
    code[len] = '\0';
    wf_plugin in = {.name = "big", .code = code};
    wf_plugin out, got;
    assert_int_equal(wf_store_plugin_put(st, &in, &out), 0);
    assert_int_equal(wf_store_plugin_get(st, "big", &got), 0);
    assert_int_equal(got.size_bytes, (int64_t)len);
    assert_int_equal(strlen(got.code), len);
    assert_memory_equal(got.code, code, len);
    assert_string_equal(got.sha256, out.sha256);
    wf_plugin_clear(&out);
    wf_plugin_clear(&got);
    free(code);
}

#define PUT_THREADS 8
#define PUTS_EACH 25

static void *put_worker(void *arg)
{
    wf_store *st = arg;
    for (int i = 0; i < PUTS_EACH; i++) {
        char name[32];
        snprintf(name, sizeof name, "own_%lu_%d", (unsigned long)pthread_self() % 100000, i % 3);
        if (put(st, "shared", "x = 1", "", NULL) != 0 || put(st, name, "y", "", NULL) != 0)
            return (void *)1;
        wf_plugin got;
        if (wf_store_plugin_get(st, "shared", &got) != 0)
            return (void *)1;
        wf_plugin_clear(&got);
    }
    return NULL;
}

static void test_concurrent_puts(void **state)
{
    wf_store *st = *state;
    /* half the writers go through a second handle, as a second server
     * sharing the database would */
    wf_store *other = open_store();
    int64_t r0 = revision(st);
    pthread_t t[PUT_THREADS];
    for (int i = 0; i < PUT_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, put_worker, i % 2 ? other : st), 0);
    int failed = 0;
    for (int i = 0; i < PUT_THREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        failed += res != NULL;
    }
    wf_store_close(other);
    assert_int_equal(failed, 0);
    /* no upload lost: every one got its own version */
    wf_plugin got;
    assert_int_equal(wf_store_plugin_get(st, "shared", &got), 0);
    assert_int_equal(got.version, PUT_THREADS * PUTS_EACH);
    wf_plugin_clear(&got);
    assert_int_equal(raw_int("SELECT COUNT(DISTINCT version) FROM plugin_versions "
                             "WHERE name = 'shared'"), PUT_THREADS * PUTS_EACH);
    assert_int_equal(revision(st), r0 + 2 * PUT_THREADS * PUTS_EACH);
}

static void test_reopen_migration(void **state)
{
    wf_store *st = *state;
    assert_int_equal(put(st, "keep", "k", "", NULL), 0);
    int64_t versions = raw_int("SELECT COUNT(*) FROM schema_version");
    assert_true(versions >= 1);
    int64_t rev = revision(st);
    wf_store_close(st);
    *state = NULL;

    for (int i = 0; i < 2; i++) {
        st = open_store();
        assert_int_equal(raw_int("SELECT COUNT(*) FROM schema_version"), versions);
        assert_int_equal(revision(st), rev);
        wf_plugin got;
        assert_int_equal(wf_store_plugin_get(st, "keep", &got), 0);
        assert_string_equal(got.code, "k");
        wf_plugin_clear(&got);
        wf_store_close(st);
    }

    /* a schema from a newer server is refused, with a reason */
    raw_exec("INSERT INTO schema_version (version, applied_at) "
             "VALUES (999, '2030-01-01T00:00:00.000Z')");
    char err[256] = "";
    st = NULL;
    assert_int_equal(wf_store_open(&cfg, &st, err, sizeof err), WF_EINVAL);
    assert_null(st);
    assert_non_null(strstr(err, "newer"));
    raw_exec("DELETE FROM schema_version WHERE version = 999");
    *state = open_store();
}

/* A database of schema version 1 (before runs had a stdout column), with a
 * run in it, is upgraded in place: the run's stdout is its output as it was
 * recorded, and new runs keep both; since version 3 a run's own limits too
 * (none for the old run). */
static void test_upgrade_from_v1(void **state)
{
    wf_store_close(*state);
    *state = NULL;
    raw_exec("DROP TABLE runs; DROP TABLE plugin_versions; DROP TABLE plugins; "
             "DROP TABLE store_revision; DELETE FROM schema_version;");
    if (be->kind == WF_DB_SQLITE)
        raw_exec(WF_STORE_SCHEMA_V1("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT"));
    else
        raw_exec(WF_STORE_SCHEMA_V1("TIMESTAMPTZ",
                                    "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"));
    raw_exec("INSERT INTO schema_version (version, applied_at) "
             "VALUES (1, '2026-01-01T00:00:00.000Z')");
    raw_exec("INSERT INTO runs (run_id, plugin, version, success, output, error, error_type, "
             "result_json, logs, input_data, ai_calls, duration_ms, started_at) VALUES "
             "('00000000-0000-4000-8000-000000000001', 'old', 1, true, 'old out\n', NULL, "
             "NULL, NULL, '', 'in', 0, 5, '2026-01-01T00:00:00.000Z')");

    wf_store *st = open_store();
    *state = st;
    assert_int_equal(raw_int("SELECT MAX(version) FROM schema_version"), 3);
    wf_run_record got;
    assert_int_equal(wf_store_run_get(st, "00000000-0000-4000-8000-000000000001", &got), 0);
    assert_string_equal(got.output, "old out\n");
    assert_string_equal(got.stdout_text, "old out\n");
    assert_null(got.limits_json);
    wf_run_record_clear(&got);

    wf_run_record r;
    char id[37];
    make_run(&r, id, "new", NULL);
    r.output = "shaped";
    r.stdout_text = "  shaped  \n\xff";
    r.limits_json = "{\"timeout_s\":5}";
    assert_int_equal(wf_store_run_put(st, &r), 0);
    assert_int_equal(wf_store_run_get(st, id, &got), 0);
    assert_string_equal(got.output, "shaped");
    assert_string_equal(got.limits_json, "{\"timeout_s\":5}");
    assert_string_equal(got.stdout_text, "  shaped  \n\xef\xbf\xbd");
    wf_run_record_clear(&got);
    make_run(&r, id, "new", NULL); /* no stdout_text: stored as "" */
    assert_int_equal(wf_store_run_put(st, &r), 0);
    assert_int_equal(wf_store_run_get(st, id, &got), 0);
    assert_string_equal(got.stdout_text, "");
    wf_run_record_clear(&got);
}

static void *open_worker(void *arg)
{
    wf_store **out = arg;
    char err[256];
    int rc = wf_store_open(&cfg, out, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "# open failed: %s\n", err);
    return rc == 0 ? NULL : (void *)1;
}

/* Servers starting together on an empty database: each migration runs
 * once, and every one of them opens. */
static void test_concurrent_open(void **state)
{
    wf_store_close(*state);
    *state = NULL;
    if (be->kind == WF_DB_SQLITE) {
        size_t len = strlen(sqlite_path);
        snprintf(sqlite_path + len, sizeof sqlite_path - len, "-fresh");
    } else {
        raw_exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    }
    enum { OPENERS = 4 };
    pthread_t t[OPENERS];
    wf_store *st[OPENERS] = {0};
    for (int i = 0; i < OPENERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, open_worker, &st[i]), 0);
    int failed = 0;
    for (int i = 0; i < OPENERS; i++) {
        void *res;
        pthread_join(t[i], &res);
        failed += res != NULL;
    }
    assert_int_equal(failed, 0);
    int64_t versions = raw_int("SELECT COUNT(*) FROM schema_version");
    assert_int_equal(raw_int("SELECT MAX(version) FROM schema_version"), versions);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM store_revision"), 1);
    assert_int_equal(put(st[0], "first", "x", "", NULL), 0);
    wf_plugin got;
    assert_int_equal(wf_store_plugin_get(st[OPENERS - 1], "first", &got), 0);
    wf_plugin_clear(&got);
    for (int i = 1; i < OPENERS; i++)
        wf_store_close(st[i]);
    *state = st[0];
}

static void test_failed_transaction(void **state)
{
    wf_store *st = *state;
    assert_int_equal(put(st, "t", "good", "fine", NULL), 0);
    int64_t rev = revision(st);
    raw_exec(be->boom_sql);

    /* the version insert fails after the plugin row and revision changed */
    assert_int_not_equal(put(st, "t", "bad", "boom", NULL), 0);
    assert_int_not_equal(put(st, "fresh", "bad", "boom", NULL), 0);

    assert_int_equal(revision(st), rev);
    wf_plugin got;
    assert_int_equal(wf_store_plugin_get(st, "t", &got), 0);
    assert_string_equal(got.code, "good");
    assert_int_equal(got.version, 1);
    wf_plugin_clear(&got);
    assert_int_equal(wf_store_plugin_get(st, "fresh", &got), WF_ENOTFOUND);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugins"), 1);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugin_versions"), 1);

    /* and the store goes on working */
    wf_plugin out;
    assert_int_equal(put(st, "t", "better", "fine", &out), 0);
    assert_int_equal(out.version, 2);
    wf_plugin_clear(&out);
}

/* A writer killed at a random point leaves either whole uploads or none. */
static void test_crash_leaves_nothing_half_written(void **state)
{
    wf_store *st = *state;
    int64_t r0 = revision(st);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        wf_store *child = NULL;
        if (wf_store_open(&cfg, &child, NULL, 0) != 0)
            _exit(3);
        for (int i = 0;; i++) {
            char name[32];
            snprintf(name, sizeof name, "c%d", i % 7);
            put(child, name, "crash test code", "", NULL);
        }
    }
    /* wait until it has written a fair amount, then kill it mid-flight */
    for (int i = 0; i < 2000 && revision(st) < r0 + 40; i++) {
        struct timespec ms = {0, 5 * 1000 * 1000};
        nanosleep(&ms, NULL);
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));

    wf_store *again = open_store();
    int64_t rev = revision(again);
    assert_true(rev >= r0 + 40);
    /* every plugin's current version exists, versions have no gaps, and
     * the revision counted exactly the uploads that committed */
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugins p WHERE NOT EXISTS (SELECT 1 "
                             "FROM plugin_versions v WHERE v.name = p.name AND "
                             "v.version = p.version)"), 0);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugins p WHERE p.version <> (SELECT "
                             "COUNT(*) FROM plugin_versions v WHERE v.name = p.name)"), 0);
    assert_int_equal(raw_int("SELECT COUNT(*) FROM plugin_versions"), rev - r0);
    if (be->kind == WF_DB_SQLITE) {
        sqlite3 *db;
        sqlite3_stmt *q;
        assert_int_equal(sqlite3_open(sqlite_path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), 0);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
        sqlite3_finalize(q);
        sqlite3_close(db);
    }
    wf_store_close(again);
}

/* The hot reads are index lookups, not scans (SQLite's plans; PostgreSQL
 * picks by table statistics). */
static void test_sqlite_plans(void **state)
{
    (void)state;
    static const struct { const char *sql, *want; } plans[] = {
        {"SELECT revision FROM store_revision WHERE id = 1", "INTEGER PRIMARY KEY"},
        {"SELECT p.name FROM plugins p JOIN plugin_versions v ON v.name = p.name AND "
         "v.version = p.version ORDER BY p.revision DESC", "plugins_by_revision"},
        {"SELECT run_id FROM runs WHERE plugin = 'x' ORDER BY started_at DESC, seq DESC",
         "runs_by_plugin_started"},
        {"SELECT run_id FROM runs ORDER BY started_at DESC, seq DESC", "runs_by_started"},
    };
    sqlite3 *db;
    assert_int_equal(sqlite3_open(sqlite_path, &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        char sql[512], all[1024] = "";
        snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", plans[i].sql);
        sqlite3_stmt *q;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        while (sqlite3_step(q) == SQLITE_ROW) {
            strncat(all, (const char *)sqlite3_column_text(q, 3), sizeof all - strlen(all) - 2);
            strcat(all, ";");
        }
        sqlite3_finalize(q);
        if (strstr(all, plans[i].want) == NULL || strstr(all, "TEMP B-TREE") != NULL)
            fail_msg("%s: plan %s", plans[i].sql, all);
    }
    sqlite3_close(db);
}

/* ---- PostgreSQL only ------------------------------------------------------ */

static int pg_admin(const char *admin, const char *sql);

/* Runs tests/support/pg.py on the run's cluster (the runner's WF_TEST_PG_DIR). */
static int pg_cluster(const char *verb)
{
    const char *dir = getenv("WF_TEST_PG_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/support/pg.py %s '%s' >/dev/null", verb,
             dir);
    return system(cmd);
}

static int wait_until_up(wf_store *st)
{
    for (int i = 0; i < 600; i++) {  /* at most a minute: never a timing assertion */
        if (wf_store_ping(st) == 0)
            return 1;
        struct timespec t = {0, 100 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    return 0;
}

static void test_pg_server_restart(void **state)
{
    if (getenv("WF_TEST_PG_DIR") == NULL)
        skip();  /* a cluster we did not start is not ours to restart */
    wf_store *st = *state;
    wf_plugin got;
    wf_run_record r, rr;
    char id[37];
    assert_int_equal(put(st, "before", "kept", "", NULL), 0);
    make_run(&r, id, "before", NULL);
    assert_int_equal(wf_store_run_put(st, &r), 0);
    int64_t rev = revision(st);

    assert_int_equal(pg_cluster("stop"), 0);
    /* every call says "unavailable", none hangs or crashes */
    assert_int_equal(wf_store_plugin_get(st, "before", &got), WF_EUNAVAIL);
    assert_int_equal(put(st, "during", "lost", "", NULL), WF_EUNAVAIL);
    assert_int_equal(wf_store_ping(st), WF_EUNAVAIL);
    int64_t v;
    assert_int_equal(wf_store_plugins_revision(st, &v), WF_EUNAVAIL);
    wf_plugin *list;
    size_t n;
    assert_int_equal(wf_store_plugin_list(st, -1, 0, &list, &n), WF_EUNAVAIL);
    assert_null(list);
    char id2[37];
    make_run(&r, id2, "before", NULL);
    assert_int_equal(wf_store_run_put(st, &r), WF_EUNAVAIL);
    char err[256] = "";
    wf_store *other = NULL;
    assert_int_equal(wf_store_open(&cfg, &other, err, sizeof err), WF_EUNAVAIL);
    assert_non_null(strstr(err, "PostgreSQL"));

    assert_int_equal(pg_cluster("start"), 0);
    assert_true(wait_until_up(st));
    /* the same handle works again, and what was acknowledged is there */
    assert_int_equal(revision(st), rev);
    assert_int_equal(wf_store_plugin_get(st, "before", &got), 0);
    assert_string_equal(got.code, "kept");
    wf_plugin_clear(&got);
    assert_int_equal(wf_store_plugin_get(st, "during", &got), WF_ENOTFOUND);
    assert_int_equal(wf_store_run_get(st, id, &rr), 0);
    wf_run_record_clear(&rr);
    assert_int_equal(wf_store_run_get(st, id2, &rr), WF_ENOTFOUND);
    assert_int_equal(put(st, "after", "new", "", NULL), 0);
}

static void *get_worker(void *arg)
{
    wf_plugin got;
    int rc = wf_store_plugin_get(arg, "warm", &got);
    wf_plugin_clear(&got);
    return rc == 0 ? NULL : (void *)1;
}

static void test_pg_killed_connections(void **state)
{
    wf_store *st = *state;
    assert_int_equal(put(st, "warm", "x", "", NULL), 0);
    /* several pooled connections, all with prepared statements */
    for (int round = 0; round < 2; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, get_worker, st), 0);
        for (int i = 0; i < 4; i++) {
            void *res;
            pthread_join(t[i], &res);
            assert_null(res);
        }
    }
    raw_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    /* dead connections are replaced without failing a call */
    for (int i = 0; i < 10; i++) {
        wf_plugin got;
        assert_int_equal(wf_store_plugin_get(st, "warm", &got), 0);
        wf_plugin_clear(&got);
        assert_int_equal(put(st, "warm", "y", "", NULL), 0);
    }
}

static void set_connections(int allowed)
{
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s ALLOW_CONNECTIONS %s", be->pg_db,
             allowed ? "true" : "false");
    assert_true(pg_admin(be->pg_admin, sql));
    if (!allowed) {
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE datname = '%s'", be->pg_db);
        assert_true(pg_admin(be->pg_admin, sql));
    }
}

/* The database refuses us (as when it is being restored or moved): every
 * call says so at once, and the store comes back by itself. */
static void test_pg_connections_refused(void **state)
{
    wf_store *st = *state;
    assert_int_equal(put(st, "kept", "x", "", NULL), 0);
    set_connections(0);
    wf_plugin got;
    wf_plugin *list;
    size_t n;
    assert_int_equal(wf_store_plugin_list(st, -1, 0, &list, &n), WF_EUNAVAIL);
    assert_int_equal(wf_store_plugin_get(st, "kept", &got), WF_EUNAVAIL);
    assert_int_equal(put(st, "lost", "y", "", NULL), WF_EUNAVAIL);
    assert_int_equal(wf_store_ping(st), WF_EUNAVAIL);
    set_connections(1);
    assert_true(wait_until_up(st));
    assert_int_equal(wf_store_plugin_get(st, "kept", &got), 0);
    wf_plugin_clear(&got);
    assert_int_equal(wf_store_plugin_get(st, "lost", &got), WF_ENOTFOUND);
}

/* Counts the store's connections to the cluster at `url` that use TLS. */
static int64_t tls_connections(const char *url)
{
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a "
                            "USING (pid) WHERE a.application_name = 'wasmforge' AND s.ssl");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int64_t n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return n;
}

/* DB_SSL_CERT against a server with TLS: the right CA connects over TLS
 * (even when the URL asks for no TLS), another CA is refused. */
static void test_pg_tls_verified(void **state)
{
    (void)state;
    snprintf(tls_dir, sizeof tls_dir, "/tmp/wf-store-tls-XXXXXX");
    assert_non_null(mkdtemp(tls_dir));
    char cmd[160], url[256] = "", ca[96], other[96];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/support/pg.py start --ssl '%s'", tls_dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    if (fgets(url, sizeof url, f) == NULL)
        url[0] = '\0';
    assert_int_equal(pclose(f), 0);
    url[strcspn(url, "\n")] = '\0';
    snprintf(ca, sizeof ca, "%s/ca.crt", tls_dir);
    snprintf(other, sizeof other, "%s/other-ca.crt", tls_dir);

    wf_config c = cfg;
    char conninfo[300];
    snprintf(conninfo, sizeof conninfo, "%s?sslmode=disable", url);
    c.pg_conninfo = conninfo;
    c.db_ssl_cert = ca;
    wf_store *st = NULL;
    char err[512] = "";
    int rc = wf_store_open(&c, &st, err, sizeof err);
    if (rc != 0)
        fail_msg("TLS open: %d %s", rc, err);
    assert_int_equal(put(st, "tls", "x", "", NULL), 0);
    assert_true(tls_connections(url) >= 1);
    wf_store_close(st);

    c.db_ssl_cert = other;
    st = NULL;
    assert_int_equal(wf_store_open(&c, &st, err, sizeof err), WF_EUNAVAIL);
    assert_null(st);
    assert_non_null(strstr(err, "certificate verify failed"));
}

static void test_pg_ssl_required(void **state)
{
    (void)state;
    /* The test cluster has no TLS: with DB_SSL_CERT the store must refuse
     * to talk to it rather than fall back to plain text. */
    wf_config c = cfg;
    c.db_ssl_cert = "/etc/ssl/certs/ca-certificates.crt";
    if (access(c.db_ssl_cert, R_OK) != 0)
        skip();
    wf_store *st = NULL;
    char err[512] = "";
    assert_int_equal(wf_store_open(&c, &st, err, sizeof err), WF_EUNAVAIL);
    assert_null(st);
    assert_non_null(strcasestr(err, "SSL"));
}

/* ---- back-end independent pieces ----------------------------------------- */

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    wf_store_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    wf_store_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    wf_store_sha256_hex(m448, strlen(m448), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                       "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    wf_store_sha256_hex(m896, strlen(m896), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *mil = xmalloc(1000000);
    memset(mil, 'a', 1000000);
    wf_store_sha256_hex(mil, 1000000, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(mil);
    /* lengths around the padding boundaries, against sha256sum */
    static const struct { size_t len; const char *hex; } edge[] = {
        {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
        {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
        {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
        {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
        {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
        {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
    };
    char xs[128];
    memset(xs, 'x', sizeof xs);
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        wf_store_sha256_hex(xs, edge[i].len, hex);
        assert_string_equal(hex, edge[i].hex);
    }
}

static void test_checks(void **state)
{
    (void)state;
    char id[37], id2[37];
    wf_store_uuid4(id);
    wf_store_uuid4(id2);
    assert_true(wf_store_uuid_valid(id));
    assert_string_not_equal(id, id2);
    assert_int_equal(id[14], '4');
    assert_non_null(strchr("89ab", id[19]));
    char ts[25];
    wf_store_timestamp_now(ts);
    assert_true(wf_store_timestamp_valid(ts));
    assert_true(wf_store_timestamp_valid("2024-02-29T23:59:59.999Z"));
    assert_false(wf_store_timestamp_valid("2023-02-29T00:00:00.000Z"));
    assert_false(wf_store_timestamp_valid("2023-01-01T24:00:00.000Z"));
    assert_false(wf_store_timestamp_valid("2023-01-01 00:00:00.000Z"));
    assert_false(wf_store_timestamp_valid("2023-01-01T00:00:00Z"));
    assert_true(wf_utf8_valid("\xf4\x8f\xbf\xbf", 4));   /* U+10FFFF */
    assert_false(wf_utf8_valid("\xf4\x90\x80\x80", 4));  /* beyond */
    assert_false(wf_utf8_valid("\xe0\x80\x80", 3));      /* overlong */
    const char *bad = "ok\x80\xf0\x9f\x98\x80\xf0\x9f";
    char *s = wf_utf8_sanitize(bad, strlen(bad), strlen(bad), NULL);
    assert_string_equal(s, "ok\xef\xbf\xbd\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
}

static void test_open_errors(void **state)
{
    (void)state;
    wf_config c = {.db_kind = WF_DB_POSTGRES, .http_threads = 2,
                   .pg_conninfo = "postgresql://wf:s3cret-pw@127.0.0.1:1/db"};
    wf_store *st = NULL;
    char err[512] = "";
    assert_int_equal(wf_store_open(&c, &st, err, sizeof err), WF_EUNAVAIL);
    assert_null(st);
    assert_non_null(strstr(err, "cannot connect"));
    assert_null(strstr(err, "s3cret"));  /* never a secret in a message */

    c.db_ssl_cert = "/nonexistent/ca.pem";
    assert_int_equal(wf_store_open(&c, &st, err, sizeof err), WF_EINVAL);
    assert_non_null(strstr(err, "DB_SSL_CERT"));
    c.pg_conninfo = NULL;
    assert_int_equal(wf_store_open(&c, &st, err, sizeof err), WF_EINVAL);

    wf_config q = {.db_kind = WF_DB_SQLITE, .sqlite_path = "/proc/no/such/dir/x.db"};
    assert_int_not_equal(wf_store_open(&q, &st, err, sizeof err), 0);
    assert_null(st);
    assert_non_null(strstr(err, "/proc/no/such/dir/x.db"));
    assert_int_equal(wf_store_open(NULL, &st, err, sizeof err), WF_EINVAL);
}

/* ---- groups -------------------------------------------------------------- */

/* In CI the PostgreSQL half must run: a missing cluster fails, not skips. */
static void test_pg_unavailable(void **state)
{
    (void)state;
    fail_msg("PostgreSQL tests could not run: WF_TEST_PG_URL is unset or its server "
             "does not answer");
}

#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

static const struct CMUnitTest store_tests[] = {
    STORE_TEST(test_put_get),
    STORE_TEST(test_versions),
    STORE_TEST(test_list_pagination),
    STORE_TEST(test_delete),
    STORE_TEST(test_not_found_and_bad_input),
    STORE_TEST(test_revision),
    STORE_TEST(test_runs),
    STORE_TEST(test_runs_prune),
    STORE_TEST(test_run_put_nosync),
    STORE_TEST(test_unicode),
    STORE_TEST(test_big_code),
    STORE_TEST(test_concurrent_puts),
    STORE_TEST(test_reopen_migration),
    STORE_TEST(test_upgrade_from_v1),
    STORE_TEST(test_concurrent_open),
    STORE_TEST(test_failed_transaction),
    STORE_TEST(test_crash_leaves_nothing_half_written),
};

static const struct CMUnitTest sqlite_only_tests[] = {
    STORE_TEST(test_sqlite_plans),
};

static const struct CMUnitTest pg_only_tests[] = {
    STORE_TEST(test_pg_killed_connections),
    STORE_TEST(test_pg_connections_refused),
    STORE_TEST(test_pg_ssl_required),
    STORE_TEST(test_pg_tls_verified),
    STORE_TEST(test_pg_server_restart),
};

/* conninfo for database `db` on the server `admin` (a URL or a conninfo)
 * names. */
static char *with_dbname(const char *admin, const char *db)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(admin, &msg);
    if (opts == NULL) {
        fprintf(stderr, "WF_TEST_PG_URL: %s\n", msg ? msg : "cannot parse");
        PQfreemem(msg);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *out = xmalloc(cap);
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = strcmp(o->keyword, "dbname") == 0 ? db : o->val;
        if (v == NULL)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s='", o->keyword);
        for (const char *p = v; *p && len + 4 < cap; p++) {
            if (*p == '\'' || *p == '\\')
                out[len++] = '\\';
            out[len++] = *p;
        }
        len += (size_t)snprintf(out + len, cap - len, "' ");
    }
    PQconninfoFree(opts);
    return out;
}

static int pg_admin(const char *admin, const char *sql)
{
    PGconn *c = PQconnectdb(admin);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
    }
    if (!ok)
        fprintf(stderr, "PostgreSQL (%s): %s\n", sql, PQerrorMessage(c));
    PQfinish(c);
    return ok;
}

static int run_pg(const char *admin)
{
    backend b = {.kind = WF_DB_POSTGRES,
                 .boom_sql = "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ "
                             "BEGIN IF NEW.description = 'boom' THEN "
                             "RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;"
                             "CREATE TRIGGER boom BEFORE INSERT ON plugin_versions "
                             "FOR EACH ROW EXECUTE FUNCTION boom();"};
    char db[64], sql[160];
    char id[37];
    wf_store_uuid4(id);
    snprintf(db, sizeof db, "wf_store_test_%.8s", id);
    snprintf(b.pg_db, sizeof b.pg_db, "%s", db);
    b.pg_admin = admin;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    b.pg_conninfo = with_dbname(admin, db);
    be = &b;
    int failed;
    if (b.pg_conninfo == NULL || !pg_admin(admin, sql)) {
        /* a cluster that was promised but does not answer is a failure */
        const struct CMUnitTest none[] = {cmocka_unit_test(test_pg_unavailable)};
        failed = cmocka_run_group_tests_name("store_postgresql", none, NULL, NULL);
    } else {
        failed = cmocka_run_group_tests_name("store_postgresql", store_tests, NULL, NULL);
        failed += cmocka_run_group_tests_name("store_postgresql_only", pg_only_tests, NULL, NULL);
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
        pg_admin(admin, sql);
    }
    free(b.pg_conninfo);
    be = NULL;
    return failed;
}

static int run_sqlite(void)
{
    backend b = {.kind = WF_DB_SQLITE,
                 .boom_sql = "CREATE TRIGGER boom BEFORE INSERT ON plugin_versions "
                             "WHEN NEW.description = 'boom' "
                             "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"};
    snprintf(b.dir, sizeof b.dir, "%s/wf-store-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(b.dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    be = &b;
    int failed = cmocka_run_group_tests_name("store_sqlite", store_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("store_sqlite_only", sqlite_only_tests, NULL, NULL);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b.dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", b.dir);
    be = NULL;
    return failed;
}

int main(void)
{
    const struct CMUnitTest util_tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_open_errors),
    };
    int failed = cmocka_run_group_tests_name("store_util", util_tests, NULL, NULL);
    failed += run_sqlite();
    const char *pg = getenv("WF_TEST_PG_URL");
    if (pg != NULL && *pg != '\0') {
        failed += run_pg(pg);
    } else if (getenv("CI") != NULL && strcmp(getenv("CI"), "true") == 0) {
        const struct CMUnitTest none[] = {cmocka_unit_test(test_pg_unavailable)};
        failed += cmocka_run_group_tests_name("store_postgresql", none, NULL, NULL);
    } else {
        printf("# store_postgresql skipped: WF_TEST_PG_URL is not set\n");
    }
    return failed ? 1 : 0;
}
