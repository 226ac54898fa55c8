/* store_bench.c - how fast the store answers what the HTTP layer asks most:
 * the revision (checked on every list request), the 1,000-plugin list, one
 * plugin, and recording runs. `make bench-store`; SQLite always, PostgreSQL
 * when WF_TEST_PG_URL names a server. Prints calls/s per operation. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define PLUGINS 1000
#define SECONDS 3.0

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum op { OP_REVISION, OP_LIST, OP_GET, OP_RUN_PUT };
static const char *const op_names[] = {"revision", "list 1000", "get", "run_put"};

typedef struct job {
    wf_store *st;
    enum op op;
    long calls;
    int failed;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    double end = now_s() + SECONDS;
    while (now_s() < end) {
        for (int k = 0; k < 20; k++) {
            int rc = 0;
            if (j->op == OP_REVISION) {
                int64_t rev;
                rc = wf_store_plugins_revision(j->st, &rev);
            } else if (j->op == OP_LIST) {
                wf_plugin *list;
                size_t n;
                rc = wf_store_plugin_list(j->st, -1, 0, &list, &n);
                if (rc == 0 && n != PLUGINS)
                    rc = -1;
                wf_plugins_free(list, n);
            } else if (j->op == OP_GET) {
                wf_plugin p;
                char name[32];
                snprintf(name, sizeof name, "bench_%04ld", (j->calls * 7919) % PLUGINS);
                rc = wf_store_plugin_get(j->st, name, &p);
                wf_plugin_clear(&p);
            } else {
                char id[37];
                wf_store_uuid4(id);
                wf_run_record r = {.run_id = id, .plugin = "bench_0001", .version = 1,
                                   .success = 1, .output = "a typical output line\n",
                                   .logs = "", .input_data = "some input", .duration_ms = 12};
                rc = wf_store_run_put(j->st, &r);
            }
            if (rc != 0)
                j->failed = 1;
            j->calls++;
        }
    }
    return NULL;
}

static void measure(wf_store *st, enum op op, int threads)
{
    job jobs[8] = {0};
    pthread_t t[8];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){.st = st, .op = op};
        pthread_create(&t[i], NULL, worker, &jobs[i]);
    }
    long calls = 0;
    int failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        calls += jobs[i].calls;
        failed |= jobs[i].failed;
    }
    printf("  %-10s %d thread%s %10.0f calls/s%s\n", op_names[op], threads,
           threads > 1 ? "s" : " ", (double)calls / SECONDS, failed ? "  (SOME FAILED)" : "");
}

static int bench(wf_config *cfg)
{
    wf_store *st;
    char err[256];
    if (wf_store_open(cfg, &st, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("%s:\n", wf_store_kind(st));
    char code[400];
    memset(code, 'x', sizeof code - 1);
    code[sizeof code - 1] = '\0';
    double t0 = now_s();
    for (int i = 0; i < PLUGINS; i++) {
        char name[32];
        snprintf(name, sizeof name, "bench_%04d", i);
        wf_plugin in = {.name = name, .code = code, .description = "a benchmark plugin",
                        .input_hint = "text to summarise"};
        if (wf_store_plugin_put(st, &in, NULL) != 0) {
            fprintf(stderr, "put failed\n");
            wf_store_close(st);
            return 1;
        }
    }
    printf("  %-10s 1 thread  %10.0f calls/s\n", "plugin_put", PLUGINS / (now_s() - t0));
    measure(st, OP_REVISION, 1);
    measure(st, OP_REVISION, 2);
    measure(st, OP_LIST, 1);
    measure(st, OP_LIST, 2);
    measure(st, OP_GET, 2);
    measure(st, OP_RUN_PUT, 1);
    wf_store_close(st);
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/wf-store-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/wasmforge.db", dir);
    wf_config cfg = {.db_kind = WF_DB_SQLITE, .sqlite_path = path, .http_threads = 2,
                     .max_concurrent_runs = 2};
    int rc = bench(&cfg);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);

    const char *pg = getenv("WF_TEST_PG_URL");
    if (pg && *pg) {
        wf_config pcfg = {.db_kind = WF_DB_POSTGRES, .pg_conninfo = (char *)pg,
                          .http_threads = 2, .max_concurrent_runs = 2};
        rc |= bench(&pcfg);
    } else {
        printf("postgresql: skipped (WF_TEST_PG_URL not set)\n");
    }
    return rc;
}
