/* ollama.h - client for Ollama's HTTP API (libcurl).
 *
 * Blocking calls with a timeout each; thread-safe (a handle may be used by
 * many threads at once). Documented API: GET /api/version, GET /api/tags,
 * POST /api/generate, POST /api/chat. Ollama's error bodies
 * {"error": "..."} become the error text. Returns WF_EUNAVAIL when Ollama
 * cannot be reached or drops the connection, WF_ETIMEOUT on a timeout,
 * WF_EPROTO on an answer that is not what the API documents, WF_ENOTFOUND
 * on 404 (unknown model), WF_EIO when Ollama answers with an error (any
 * other status, or an error object inside a stream; err = Ollama's text),
 * WF_ETOOBIG when a completion exceeds 1 MiB. timeout_ms <= 0 means 120 s;
 * connecting is given at most 1.5 s of it. */
#ifndef WF_OLLAMA_H
#define WF_OLLAMA_H

#include <jansson.h>
#include <stddef.h>

typedef struct wf_ollama wf_ollama;

/* base_url like "http://localhost:11434" (copied). */
int wf_ollama_new(const char *base_url, wf_ollama **out);
void wf_ollama_free(wf_ollama *ol);
const char *wf_ollama_base_url(const wf_ollama *ol);

/* Shutdown: every call in flight ends within about a second, and every
 * later call at once, with WF_EUNAVAIL. Not undone; NULL is ignored. */
void wf_ollama_cancel_all(wf_ollama *ol);

/* GET /api/version: *version is malloc'd, caller frees. */
int wf_ollama_version(wf_ollama *ol, int timeout_ms, char **version,
                      char *err, size_t errlen);

/* GET /api/tags: *models is a new reference to the "models" array as
 * Ollama sent it (objects with name, size, details{family,
 * parameter_size, quantization_level, families}, ...). */
int wf_ollama_tags(wf_ollama *ol, int timeout_ms, json_t **models,
                   char *err, size_t errlen);

/* One completion. With system == NULL: POST /api/generate; otherwise
 * POST /api/chat with a system and a user message. options may be NULL
 * (a JSON object passed through). Streams and assembles the answer; an
 * error object inside the stream is an error. *answer is malloc'd. */
int wf_ollama_generate(wf_ollama *ol, const char *model, const char *prompt,
                       const char *system, json_t *options, int timeout_ms,
                       char **answer, char *err, size_t errlen);

/* Ollama's last known state, for /health/ollama, /api/models/list and a
 * run's list_models. One thread per client keeps it: the first read starts
 * it, and a read that finds the state older than a second asks it for a
 * new look (version, then tags, 2.5 s at most) but gets the state it found
 * at once. So at most one request for Ollama's state is in flight, however
 * many readers there are, and no reader waits on Ollama, except that a
 * read before the first look has finished waits for it up to wait_ms
 * (0: not at all; known is then 0). */
typedef struct wf_ollama_state {
    int known;          /* a look has finished */
    int connected;      /* it reached Ollama */
    char *version;      /* connected: /api/version's (malloc'd) */
    json_t *models;     /* connected: /api/tags' "models" (a new reference) */
    char error[512];    /* not connected: why */
    long long age_ms;   /* how old the look is; -1 when not known */
} wf_ollama_state;

int wf_ollama_state_get(wf_ollama *ol, int wait_ms, wf_ollama_state *out);
void wf_ollama_state_clear(wf_ollama_state *st);

#endif
