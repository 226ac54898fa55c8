/* prune.h - keeps the run history within the operator's limits
 * (RUN_HISTORY_DAYS, RUN_HISTORY_MAX_ROWS): a thread that prunes the store
 * at start and then every few minutes, off every request's path.
 *
 * Ownership: the pruner borrows the store, which must outlive it
 * (wf_store_pruner_stop before wf_store_close). */
#ifndef WF_STORE_PRUNE_H
#define WF_STORE_PRUNE_H

#include <stdint.h>

#include "store/store.h"

typedef struct wf_store_pruner wf_store_pruner;

/* Start pruning every interval_s seconds (the first pass at once). With
 * both limits 0 nothing is started and *out is NULL. 0 or WF_ENOMEM. */
int wf_store_pruner_start(wf_store *st, int days, int64_t max_rows, int interval_s,
                          wf_store_pruner **out);

/* Stop the thread (waits for a batch in progress) and free it. NULL is
 * fine. */
void wf_store_pruner_stop(wf_store_pruner *p);

#endif
