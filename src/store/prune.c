/* prune.c - the run history pruner: one thread, one pass at start and one
 * every interval, each pass a few short delete batches (store.c). */
#include "store/prune.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "common/wf_error.h"

struct wf_store_pruner {
    wf_store *st;
    int days;
    int64_t max_rows;
    int interval_s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    pthread_t thread;
};

static void *pruner_main(void *arg)
{
    wf_store_pruner *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        pthread_mutex_unlock(&p->mu);
        int64_t n = 0;
        int rc = wf_store_runs_prune(p->st, p->days, p->max_rows, &n);
        if (rc != 0)
            wf_log_warn("run history: pruning failed (%s); trying again later", wf_strerror(rc));
        else if (n > 0)
            wf_log_info("run history: %lld old run(s) removed (RUN_HISTORY_DAYS=%d, "
                        "RUN_HISTORY_MAX_ROWS=%lld)", (long long)n, p->days,
                        (long long)p->max_rows);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += p->interval_s;
        pthread_mutex_lock(&p->mu);
        while (!p->stop && pthread_cond_timedwait(&p->cv, &p->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int wf_store_pruner_start(wf_store *st, int days, int64_t max_rows, int interval_s,
                          wf_store_pruner **out)
{
    *out = NULL;
    if (days <= 0 && max_rows <= 0)
        return 0;
    wf_store_pruner *p = calloc(1, sizeof *p);
    if (p == NULL)
        return WF_ENOMEM;
    p->st = st;
    p->days = days;
    p->max_rows = max_rows;
    p->interval_s = interval_s > 0 ? interval_s : 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, pruner_main, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p);
        return WF_ENOMEM;
    }
    *out = p;
    return 0;
}

void wf_store_pruner_stop(wf_store_pruner *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
