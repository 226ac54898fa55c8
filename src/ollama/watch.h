/* watch.h - the background watcher behind wf_ollama_state_get (ollama.h):
 * internal to src/ollama/. One per client, created with it; its thread is
 * started by the first read. */
#ifndef WF_OLLAMA_WATCH_H
#define WF_OLLAMA_WATCH_H

#include "ollama/ollama.h"

typedef struct wf_ollama_watch wf_ollama_watch;

int wf_ollama_watch_new(wf_ollama *ol, wf_ollama_watch **out);
/* Stops the thread (call wf_ollama_cancel_all first, so a look in progress
 * ends at once) and frees. NULL is ignored. */
void wf_ollama_watch_free(wf_ollama_watch *w);
int wf_ollama_watch_get(wf_ollama_watch *w, int wait_ms, wf_ollama_state *out);

#endif
