/* pool.c - the supervisor's thread pool: grows on demand up to its cap,
 * drains its queue before it is freed. */
#include "runs/pool.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/wf_error.h"

#define POOL_STACK (512 * 1024)

typedef struct job {
    wf_pool_fn fn;
    void *arg;
    struct job *next;
} job;

struct wf_pool {
    pthread_mutex_t mu;
    pthread_cond_t work;   /* a job was queued, or the pool is closing */
    pthread_cond_t gone;   /* a thread ended */
    job *head, *tail;
    int max_threads;
    int threads;
    int idle;
    int closing;
};

static void *worker(void *arg)
{
    wf_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        /* Threads never end while the pool lives: a sandbox is started
         * by one of them, and the kernel's parent-death signal is tied to
         * the thread that started it, so an exiting thread would take its
         * sandboxes with it. */
        while (p->head == NULL && !p->closing) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        if (p->head == NULL)
            break;
        job *j = p->head;
        p->head = j->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&p->mu);
    }
    p->threads--;
    pthread_cond_broadcast(&p->gone);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int wf_pool_new(int max_threads, wf_pool **out)
{
    wf_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return WF_ENOMEM;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->gone, NULL);
    p->max_threads = max_threads > 0 ? max_threads : 1;
    *out = p;
    return 0;
}

int wf_pool_submit(wf_pool *p, wf_pool_fn fn, void *arg)
{
    job *j = malloc(sizeof *j);
    if (j == NULL)
        return WF_ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    /* Count queued jobs against idle threads: start one more when the
     * idle ones are already spoken for. */
    int waiting = 0;
    for (job *q = p->head; q && waiting <= p->idle; q = q->next)
        waiting++;
    if (waiting > p->idle && p->threads < p->max_threads) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, POOL_STACK);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_t t;
        if (pthread_create(&t, &at, worker, p) == 0)
            p->threads++;
        pthread_attr_destroy(&at);
    }
    pthread_cond_signal(&p->work);
    int rc = p->threads > 0 ? 0 : WF_ENOMEM;
    if (rc < 0) {
        /* No thread could be started at all: take the job back. */
        job **pp = &p->head;
        while (*pp != j)
            pp = &(*pp)->next;
        *pp = NULL;
        p->tail = NULL;
        for (job *q = p->head; q; q = q->next)
            p->tail = q;
        free(j);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void wf_pool_free(wf_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->closing = 1;
    pthread_cond_broadcast(&p->work);
    while (p->threads > 0)
        pthread_cond_wait(&p->gone, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->gone);
    free(p);
}
