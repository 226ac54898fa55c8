/* ollama.c - blocking libcurl client for Ollama's HTTP API (ollama.h).
 * Each call borrows an easy handle from a small idle pool (keep-alive). */
#include "ollama/ollama.h"

#include <ctype.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/wf_error.h"
#include "ollama/watch.h"

#ifndef WF_VERSION
#define WF_VERSION "dev"
#endif

/* Largest answer body we accept from /api/tags and /api/version. */
#define WF_OLLAMA_MAX_BODY (8u << 20)
/* Largest assembled completion; a model that talks longer is cut off as an
 * error rather than letting one plugin call fill the server's memory. */
#define WF_OLLAMA_MAX_ANSWER (1u << 20)
/* Longest single NDJSON line in a stream (one chunk plus its metadata). */
#define WF_OLLAMA_MAX_LINE (2u << 20)
/* Connecting to a local service either works at once or not at all; a
 * short connect timeout keeps "Ollama is down" answers fast. */
#define WF_OLLAMA_CONNECT_MS 1500L
#define WF_OLLAMA_DEFAULT_TIMEOUT_MS 120000
/* Idle easy handles kept for reuse. libcurl does not support sharing one
 * connection cache between concurrent threads, so each handle keeps its
 * own connections and is used by one thread at a time. */
#define WF_OLLAMA_IDLE_MAX 16
#define WF_OLLAMA_CANCELLED "the call to Ollama was cancelled: the server is shutting down"

struct wf_ollama {
    char *base_url;
    CURLSH *share;                 /* DNS cache only */
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t idle_lock;
    CURL *idle[WF_OLLAMA_IDLE_MAX];
    int nidle;
    atomic_int cancelled;          /* wf_ollama_cancel_all */
    wf_ollama_watch *watch;        /* wf_ollama_state_get */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *ctx)
{
    (void)h;
    (void)acc;
    wf_ollama *ol = ctx;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&ol->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    (void)h;
    wf_ollama *ol = ctx;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&ol->locks[data]);
}

int wf_ollama_new(const char *base_url, wf_ollama **out)
{
    *out = NULL;
    if (base_url == NULL || (strncmp(base_url, "http://", 7) != 0 &&
                             strncmp(base_url, "https://", 8) != 0))
        return WF_EINVAL;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return WF_EINTERNAL;

    wf_ollama *ol = calloc(1, sizeof *ol);
    if (ol == NULL)
        return WF_ENOMEM;
    ol->base_url = strdup(base_url);
    if (ol->base_url == NULL) {
        free(ol);
        return WF_ENOMEM;
    }
    size_t n = strlen(ol->base_url);
    while (n > 0 && ol->base_url[n - 1] == '/')
        ol->base_url[--n] = '\0';
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&ol->locks[i], NULL);
    ol->share = curl_share_init();
    if (ol->share != NULL) {
        curl_share_setopt(ol->share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(ol->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(ol->share, CURLSHOPT_USERDATA, ol);
        curl_share_setopt(ol->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    }
    pthread_mutex_init(&ol->idle_lock, NULL);
    if (wf_ollama_watch_new(ol, &ol->watch) != 0) {
        wf_ollama_free(ol);
        return WF_ENOMEM;
    }
    *out = ol;
    return 0;
}

void wf_ollama_free(wf_ollama *ol)
{
    if (ol == NULL)
        return;
    atomic_store(&ol->cancelled, 1);
    wf_ollama_watch_free(ol->watch);
    for (int i = 0; i < ol->nidle; i++)
        curl_easy_cleanup(ol->idle[i]);
    pthread_mutex_destroy(&ol->idle_lock);
    if (ol->share != NULL)
        curl_share_cleanup(ol->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&ol->locks[i]);
    free(ol->base_url);
    free(ol);
}

const char *wf_ollama_base_url(const wf_ollama *ol)
{
    return ol->base_url;
}

int wf_ollama_state_get(wf_ollama *ol, int wait_ms, wf_ollama_state *out)
{
    return wf_ollama_watch_get(ol->watch, wait_ms, out);
}

void wf_ollama_state_clear(wf_ollama_state *st)
{
    free(st->version);
    json_decref(st->models);
    st->version = NULL;
    st->models = NULL;
}

/* An easy handle for one call: an idle one (reset, its connections kept)
 * or a new one. NULL when out of memory. */
static CURL *handle_get(wf_ollama *ol)
{
    CURL *h = NULL;
    pthread_mutex_lock(&ol->idle_lock);
    if (ol->nidle > 0)
        h = ol->idle[--ol->nidle];
    pthread_mutex_unlock(&ol->idle_lock);
    if (h != NULL) {
        curl_easy_reset(h);
        return h;
    }
    return curl_easy_init();
}

static void handle_put(wf_ollama *ol, CURL *h)
{
    pthread_mutex_lock(&ol->idle_lock);
    if (ol->nidle < WF_OLLAMA_IDLE_MAX) {
        ol->idle[ol->nidle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&ol->idle_lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* ---- growing byte buffer with a cap ---------------------------------- */

typedef struct wf_obuf {
    char *data;
    size_t len, cap, max;
    int overflow;
} wf_obuf;

static int obuf_add(wf_obuf *b, const char *p, size_t n)
{
    if (n > b->max - b->len) {
        b->overflow = 1;
        return WF_ETOOBIG;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return WF_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* ---- one request ----------------------------------------------------- */

/* State of one call, shared by the write callbacks. */
typedef struct wf_call {
    CURL *curl;
    long status;          /* HTTP status once headers arrived, else 0 */
    wf_obuf body;         /* whole body (plain calls, or error bodies) */
    int streaming;        /* NDJSON completion */
    int chat;             /* answer in message.content, not response */
    wf_obuf line;         /* partial NDJSON line */
    wf_obuf answer;       /* assembled completion */
    int done;             /* final {"done": true} seen */
    int failed;           /* a WF_E* code decided inside the callback */
    char msg[512];        /* its text */
} wf_call;

static int is_success(long status)
{
    return status >= 200 && status < 300;
}

/* Handle one complete NDJSON line of a completion stream. */
static int stream_line(wf_call *c, const char *p, size_t n)
{
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    while (n > 0 && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    if (n == 0)
        return 0;
    if (c->done) {
        wf_errorf(c->msg, sizeof c->msg, "Ollama sent data after the end of its answer");
        return WF_EPROTO;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(p, n, 0, &jerr);
    if (!json_is_object(obj)) {
        json_decref(obj);
        wf_errorf(c->msg, sizeof c->msg, "Ollama's answer stream is not JSON lines");
        return WF_EPROTO;
    }
    int rc = 0;
    json_t *e = json_object_get(obj, "error");
    if (e != NULL) {
        /* Ollama reports failures mid-answer as an error object in the stream. */
        wf_errorf(c->msg, sizeof c->msg, "%s",
                  json_is_string(e) ? json_string_value(e) : "Ollama reported an error");
        rc = WF_EIO;
        goto out;
    }
    json_t *text;
    if (c->chat) {
        json_t *m = json_object_get(obj, "message");
        text = json_is_object(m) ? json_object_get(m, "content") : NULL;
    } else {
        text = json_object_get(obj, "response");
    }
    json_t *done = json_object_get(obj, "done");
    if (!json_is_boolean(done) || (text != NULL && !json_is_string(text)) ||
        (text == NULL && !json_is_true(done))) {
        wf_errorf(c->msg, sizeof c->msg, "Ollama's answer chunk lacks %s or done",
                  c->chat ? "message.content" : "response");
        rc = WF_EPROTO;
        goto out;
    }
    if (text != NULL) {
        rc = obuf_add(&c->answer, json_string_value(text), json_string_length(text));
        if (rc == WF_ETOOBIG)
            wf_errorf(c->msg, sizeof c->msg, "the model's answer is longer than %u bytes",
                      WF_OLLAMA_MAX_ANSWER);
    }
    if (json_is_true(done))
        c->done = 1;
out:
    json_decref(obj);
    return rc;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    wf_call *c = ctx;
    size_t n = size * nmemb;
    if (c->status == 0)
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (!c->streaming || !is_success(c->status)) {
        int rc = obuf_add(&c->body, ptr, n);
        if (rc != 0) {
            c->failed = rc == WF_ETOOBIG ? WF_EPROTO : rc;
            wf_errorf(c->msg, sizeof c->msg, "Ollama's answer is larger than %zu bytes",
                      c->body.max);
            return 0;
        }
        return n;
    }
    /* Split into lines; keep the tail for the next call. */
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (ptr[i] != '\n')
            continue;
        int rc;
        if (c->line.len > 0) {
            rc = obuf_add(&c->line, ptr + start, i - start);
            if (rc == 0)
                rc = stream_line(c, c->line.data, c->line.len);
            c->line.len = 0;
        } else {
            rc = stream_line(c, ptr + start, i - start);
        }
        if (rc == WF_ETOOBIG && c->msg[0] == '\0') {
            rc = WF_EPROTO;
            wf_errorf(c->msg, sizeof c->msg, "Ollama sent a line longer than %u bytes",
                      WF_OLLAMA_MAX_LINE);
        }
        if (rc != 0) {
            c->failed = rc;
            return 0;
        }
        start = i + 1;
    }
    if (start < n && obuf_add(&c->line, ptr + start, n - start) != 0) {
        c->failed = WF_EPROTO;
        wf_errorf(c->msg, sizeof c->msg, "Ollama sent a line longer than %u bytes",
                  WF_OLLAMA_MAX_LINE);
        return 0;
    }
    return n;
}

/* The error text of a non-2xx answer: Ollama's {"error": ...} or the status. */
static void error_text(const wf_call *c, const char *path, char *err, size_t errlen)
{
    json_t *obj = c->body.len ? json_loadb(c->body.data, c->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(obj, "error");
    if (json_is_string(e))
        wf_errorf(err, errlen, "%s", json_string_value(e));
    else
        wf_errorf(err, errlen, "Ollama answered HTTP %ld to %s", c->status, path);
    json_decref(obj);
}

void wf_ollama_cancel_all(wf_ollama *ol)
{
    if (ol != NULL)
        atomic_store(&ol->cancelled, 1);
}

/* libcurl calls this about once a second even while nothing arrives, so a
 * call waiting on a slow model sees the cancellation within a second. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    wf_ollama *ol = ctx;
    return atomic_load(&ol->cancelled) ? 1 : 0;
}

/* Perform method+path with an optional JSON body. On success (2xx) returns
 * 0 with the body in c->body (plain) or the assembled answer (streaming).
 * The caller frees c's buffers with call_clear. */
static int call_run(wf_ollama *ol, wf_call *c, const char *path, const char *json_body,
                    int timeout_ms, char *err, size_t errlen)
{
    if (atomic_load(&ol->cancelled)) {
        wf_errorf(err, errlen, "%s", WF_OLLAMA_CANCELLED);
        return WF_EUNAVAIL;
    }
    if (timeout_ms <= 0)
        timeout_ms = WF_OLLAMA_DEFAULT_TIMEOUT_MS;
    c->body.max = WF_OLLAMA_MAX_BODY;
    c->line.max = WF_OLLAMA_MAX_LINE;
    c->answer.max = WF_OLLAMA_MAX_ANSWER;

    size_t ulen = strlen(ol->base_url) + strlen(path) + 1;
    char *url = malloc(ulen);
    if (url == NULL)
        return WF_ENOMEM;
    snprintf(url, ulen, "%s%s", ol->base_url, path);

    c->curl = handle_get(ol);
    if (c->curl == NULL) {
        free(url);
        wf_errorf(err, errlen, "cannot create an HTTP client handle");
        return WF_ENOMEM;
    }
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    /* Without this, bodies over 1 KiB wait for a "100 Continue" first. */
    hdrs = curl_slist_append(hdrs, "Expect:");
    long connect_ms = timeout_ms < WF_OLLAMA_CONNECT_MS ? timeout_ms : WF_OLLAMA_CONNECT_MS;

    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "wasmforge/" WF_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, ol);
    if (ol->share != NULL)
        curl_easy_setopt(h, CURLOPT_SHARE, ol->share);
    if (json_body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json_body));
    }

    CURLcode cc = curl_easy_perform(h);
    if (c->status == 0)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
    curl_slist_free_all(hdrs);

    int rc = 0;
    if (c->failed != 0) {
        rc = c->failed;
        wf_errorf(err, errlen, "%s", c->msg);
    } else if (cc == CURLE_OK) {
        /* a final line without its newline */
        if (c->streaming && is_success(c->status) && c->line.len > 0) {
            rc = stream_line(c, c->line.data, c->line.len);
            if (rc != 0)
                wf_errorf(err, errlen, "%s", c->msg);
        }
    } else {
        switch (cc) {
        case CURLE_OPERATION_TIMEDOUT:
            rc = WF_ETIMEOUT;
            wf_errorf(err, errlen, "Ollama at %s did not answer within %d ms",
                      ol->base_url, timeout_ms);
            break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            rc = WF_EUNAVAIL;
            wf_errorf(err, errlen, "cannot connect to Ollama at %s: %s", ol->base_url,
                      curl_easy_strerror(cc));
            break;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
            rc = WF_EUNAVAIL;
            wf_errorf(err, errlen, "Ollama at %s closed the connection before answering: %s",
                      ol->base_url, curl_easy_strerror(cc));
            break;
        case CURLE_ABORTED_BY_CALLBACK:
            rc = WF_EUNAVAIL;
            wf_errorf(err, errlen, "%s", WF_OLLAMA_CANCELLED);
            break;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
            rc = WF_EINVAL;
            wf_errorf(err, errlen, "bad Ollama URL %s: %s", ol->base_url, curl_easy_strerror(cc));
            break;
        default:
            rc = WF_EPROTO;
            wf_errorf(err, errlen, "talking to Ollama at %s failed: %s", ol->base_url,
                      curl_easy_strerror(cc));
            break;
        }
    }
    if (rc == 0 && !is_success(c->status)) {
        error_text(c, path, err, errlen);
        rc = c->status == 404 ? WF_ENOTFOUND : WF_EIO;
    }
    if (rc == 0 && c->streaming && !c->done) {
        rc = WF_EPROTO;
        wf_errorf(err, errlen, "Ollama's answer ended before it was done");
    }
    handle_put(ol, h);
    c->curl = NULL;
    free(url);
    return rc;
}

static void call_clear(wf_call *c)
{
    free(c->body.data);
    free(c->line.data);
    free(c->answer.data);
}

/* A plain JSON call whose answer must be an object. */
static int call_json(wf_ollama *ol, const char *path, const char *body, int timeout_ms,
                     json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    wf_call c = {0};
    int rc = call_run(ol, &c, path, body, timeout_ms, err, errlen);
    if (rc == 0) {
        json_error_t jerr;
        json_t *obj = c.body.len ? json_loadb(c.body.data, c.body.len, 0, &jerr) : NULL;
        if (!json_is_object(obj)) {
            json_decref(obj);
            wf_errorf(err, errlen, "Ollama's answer to %s is not a JSON object", path);
            rc = WF_EPROTO;
        } else {
            *out = obj;
        }
    }
    call_clear(&c);
    return rc;
}

int wf_ollama_version(wf_ollama *ol, int timeout_ms, char **version, char *err, size_t errlen)
{
    *version = NULL;
    json_t *obj;
    int rc = call_json(ol, "/api/version", NULL, timeout_ms, &obj, err, errlen);
    if (rc != 0)
        return rc;
    json_t *v = json_object_get(obj, "version");
    if (!json_is_string(v)) {
        wf_errorf(err, errlen, "Ollama's /api/version answer has no version string");
        rc = WF_EPROTO;
    } else if ((*version = strdup(json_string_value(v))) == NULL) {
        rc = WF_ENOMEM;
    }
    json_decref(obj);
    return rc;
}

int wf_ollama_tags(wf_ollama *ol, int timeout_ms, json_t **models, char *err, size_t errlen)
{
    *models = NULL;
    json_t *obj;
    int rc = call_json(ol, "/api/tags", NULL, timeout_ms, &obj, err, errlen);
    if (rc != 0)
        return rc;
    json_t *arr = json_object_get(obj, "models");
    /* Ollama with no model pulled may send "models": null. */
    if (arr == NULL || json_is_null(arr)) {
        *models = json_array();
        json_decref(obj);
        return *models ? 0 : WF_ENOMEM;
    }
    if (!json_is_array(arr)) {
        json_decref(obj);
        wf_errorf(err, errlen, "Ollama's /api/tags answer has no models list");
        return WF_EPROTO;
    }
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        if (!json_is_object(m) || !json_is_string(json_object_get(m, "name"))) {
            json_decref(obj);
            wf_errorf(err, errlen, "Ollama's /api/tags entry %zu has no name", i);
            return WF_EPROTO;
        }
    }
    *models = json_incref(arr);
    json_decref(obj);
    return 0;
}

int wf_ollama_generate(wf_ollama *ol, const char *model, const char *prompt,
                       const char *system, json_t *options, int timeout_ms,
                       char **answer, char *err, size_t errlen)
{
    *answer = NULL;
    if (model == NULL || prompt == NULL || (options != NULL && !json_is_object(options))) {
        wf_errorf(err, errlen, "a completion needs a model, a prompt and object options");
        return WF_EINVAL;
    }
    json_t *req;
    if (system == NULL) {
        req = json_pack("{s:s, s:s, s:b}", "model", model, "prompt", prompt, "stream", 1);
    } else {
        req = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:b}", "model", model, "messages",
                        "role", "system", "content", system, "role", "user", "content", prompt,
                        "stream", 1);
    }
    if (req == NULL) {
        /* json_pack refuses strings that are not UTF-8 */
        wf_errorf(err, errlen, "the model name, prompt and system text must be UTF-8");
        return WF_EINVAL;
    }
    if (options != NULL)
        json_object_set(req, "options", options);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (body == NULL)
        return WF_ENOMEM;

    wf_call c = {0};
    c.streaming = 1;
    c.chat = system != NULL;
    int rc = call_run(ol, &c, system ? "/api/chat" : "/api/generate", body, timeout_ms, err,
                      errlen);
    free(body);
    if (rc == 0) {
        if (c.answer.data == NULL) {
            *answer = strdup("");
            if (*answer == NULL)
                rc = WF_ENOMEM;
        } else {
            *answer = c.answer.data; /* handed over */
            c.answer.data = NULL;
        }
    }
    call_clear(&c);
    return rc;
}
