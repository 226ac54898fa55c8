/* watch.c - Ollama's state (reachable? version, model list), kept by one
 * background thread per client and read by anyone without waiting on
 * Ollama (ollama.h, wf_ollama_state_get). */
#include "ollama/watch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/wf_error.h"

/* One look at Ollama (version, then tags) takes at most this long: a hung
 * Ollama is "disconnected" after it. */
#define WF_WATCH_TIMEOUT_MS 2500
/* A state older than this is looked at again when someone reads it; the
 * reader still gets the state it found, at once. */
#define WF_WATCH_FRESH_MS 1000

struct wf_ollama_watch {
    wf_ollama *ol;
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* want set, or a look finished */
    pthread_t thread;
    int started;
    int stopping;
    int want;                /* a reader found the state stale */
    int known;               /* at least one look finished */
    int64_t looked_ms;       /* when the last look finished (monotonic) */
    int connected;
    char *version;
    json_t *models;
    char error[512];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One look: the only place requests to Ollama for its state are made, one
 * at a time. */
static void look(wf_ollama_watch *w)
{
    char err[512] = "";
    char *version = NULL;
    json_t *models = NULL;
    int64_t t0 = mono_ms();
    int rc = wf_ollama_version(w->ol, WF_WATCH_TIMEOUT_MS, &version, err, sizeof err);
    if (rc == 0) {
        int64_t left = WF_WATCH_TIMEOUT_MS - (mono_ms() - t0);
        rc = wf_ollama_tags(w->ol, left < 500 ? 500 : (int)left, &models, err, sizeof err);
    }
    if (rc != 0 && err[0] == '\0')
        wf_errorf(err, sizeof err, "%s", wf_strerror(rc));
    pthread_mutex_lock(&w->mu);
    free(w->version);
    json_decref(w->models);
    w->connected = rc == 0;
    w->version = rc == 0 ? version : NULL;
    w->models = rc == 0 ? models : NULL;
    if (rc != 0) {
        free(version);
        json_decref(models);
    }
    snprintf(w->error, sizeof w->error, "%s", rc == 0 ? "" : err);
    w->known = 1;
    w->looked_ms = mono_ms();
    /* Readers that found the state stale during this look have their
     * answer now: no second look right after it. */
    w->want = 0;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void *watch_main(void *arg)
{
    wf_ollama_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->want && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stopping)
            break;
        w->want = 0;
        pthread_mutex_unlock(&w->mu);
        look(w);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int wf_ollama_watch_new(wf_ollama *ol, wf_ollama_watch **out)
{
    *out = NULL;
    wf_ollama_watch *w = calloc(1, sizeof *w);
    if (w == NULL)
        return WF_ENOMEM;
    w->ol = ol;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = w;
    return 0;
}

void wf_ollama_watch_free(wf_ollama_watch *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    int started = w->started;
    pthread_mutex_unlock(&w->mu);
    /* The caller cancelled the client's calls first (ollama.c), so a look
     * in progress ends within about a second. */
    if (started)
        pthread_join(w->thread, NULL);
    free(w->version);
    json_decref(w->models);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int wf_ollama_watch_get(wf_ollama_watch *w, int wait_ms, wf_ollama_state *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&w->mu);
    if (!w->started && !w->stopping) {
        if (pthread_create(&w->thread, NULL, watch_main, w) == 0) {
            w->started = 1;
        } else {
            pthread_mutex_unlock(&w->mu);
            snprintf(out->error, sizeof out->error, "cannot start the thread that watches Ollama");
            return 0;
        }
    }
    int64_t now = mono_ms();
    if (!w->known || now - w->looked_ms >= WF_WATCH_FRESH_MS) {
        w->want = 1;
        pthread_cond_broadcast(&w->cv);
    }
    if (!w->known && wait_ms > 0) {
        int64_t until = now + wait_ms;
        struct timespec ts = {.tv_sec = (time_t)(until / 1000),
                              .tv_nsec = (long)(until % 1000) * 1000000L};
        while (!w->known && !w->stopping &&
               pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
            ;
    }
    out->known = w->known;
    out->connected = w->connected;
    if (w->version != NULL)
        out->version = strdup(w->version);
    out->models = w->models ? json_incref(w->models) : NULL;
    if (!w->known)
        snprintf(out->error, sizeof out->error, "Ollama has not been reached yet: the first "
                 "check is in progress");
    else
        snprintf(out->error, sizeof out->error, "%s", w->error);
    out->age_ms = w->known ? now - w->looked_ms : -1;
    pthread_mutex_unlock(&w->mu);
    return 0;
}
