/* pool.h - a small thread pool for the supervisor's blocking work: starting
 * sandboxes, AI calls (libcurl, blocking), recording finished runs.
 *
 * Threads are started on demand up to max_threads and live as long as the
 * pool (sandboxes die with the thread that started them, see pool.c).
 * Jobs run in submission order as threads become free. */
#ifndef WF_RUNS_POOL_H
#define WF_RUNS_POOL_H

typedef struct wf_pool wf_pool;
typedef void (*wf_pool_fn)(void *arg);

int wf_pool_new(int max_threads, wf_pool **out);

/* Queue fn(arg). Never blocks on the job itself. 0 or WF_ENOMEM. */
int wf_pool_submit(wf_pool *p, wf_pool_fn fn, void *arg);

/* Run every queued job to the end, then free the pool. */
void wf_pool_free(wf_pool *p);

#endif
