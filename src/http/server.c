/* server.c - the libmicrohttpd daemon: request lifecycle, routing to the
 * handlers, CORS and auth, the one function that answers errors, worker
 * threads for blocking work, suspend/resume, start and shutdown. */
#include "http/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/wf_error.h"
#include "http/access.h"
#include "http/json_shapes.h"
#include "http/validate.h"

/* Bodies beyond the payload's own limit: multipart headers, the other
 * fields (description, input_hint), JSON punctuation. */
#define BODY_OVERHEAD (64 * 1024)

static struct wf_http *call_srv(struct wf_call *c) { return c->rq.srv; }

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- answers ------------------------------------------------------------- */

static void log_request(struct wf_req *rq, int status)
{
    char st[8], ms[32];
    snprintf(st, sizeof st, "%d", status);
    long long us = (long long)(elapsed_ms(&rq->t0) * 1000.0);
    snprintf(ms, sizeof ms, "%lld.%03lld", us / 1000, us % 1000);
    /* The path only: MHD hands us the query separately, and query strings
     * are where secrets end up. */
    wf_log_kv(status >= 500 ? WF_LOG_WARN : WF_LOG_INFO, "request", "method", rq->method, "path",
              rq->url, "status", st, "ms", ms, (const char *)NULL);
}

enum MHD_Result wf_reply_response(struct wf_req *rq, int status, struct MHD_Response *resp)
{
    if (resp == NULL) {
        /* Out of memory: nothing sensible can be sent; drop the connection. */
        log_request(rq, 500);
        wf_metrics_http_request(500);
        return MHD_NO;
    }
    wf_access_add_cors(rq, resp);
    enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    log_request(rq, status);
    wf_metrics_http_request(status);
    return ret;
}

enum MHD_Result wf_reply_shared(struct wf_req *rq, int status, struct MHD_Response *resp)
{
    enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)status, resp);
    log_request(rq, status);
    wf_metrics_http_request(status);
    return ret;
}

enum MHD_Result wf_reply(struct wf_req *rq, int status, const char *ctype, const void *body,
                         size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (resp != NULL && ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return wf_reply_response(rq, status, resp);
}

enum MHD_Result wf_reply_json(struct wf_req *rq, int status, json_t *j)
{
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (txt == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    return wf_reply(rq, status, "application/json", txt, strlen(txt), MHD_RESPMEM_MUST_FREE);
}

/* The one place an error answer is built: {"detail": "..."} with the
 * status, plus the headers some statuses require. */
static enum MHD_Result send_error(struct wf_req *rq, int status, const char *allow,
                                  const char *detail)
{
    json_t *j = wf_json_error(detail);
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    static const char oom[] = "{\"detail\":\"Internal error: out of memory\"}";
    struct MHD_Response *resp =
        txt ? MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE)
            : MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(txt);
        return wf_reply_response(rq, status, NULL);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == 405 && allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == 503 || status == 429)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return wf_reply_response(rq, txt ? status : 500, resp);
}

enum MHD_Result wf_reply_error(struct wf_req *rq, int status, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return send_error(rq, status, rq->route.allowed ? wf_route_allow(rq->route.allowed) : NULL,
                      detail);
}

enum MHD_Result wf_reply_missing(struct wf_req *rq, const char *field)
{
    return wf_reply_json(rq, 422, wf_json_missing_field(field));
}

int wf_status_for(int rc)
{
    switch (rc) {
    case WF_ENOTFOUND: return 404;
    case WF_EUNAVAIL: return 503;
    case WF_EFULL: return 429;
    case WF_ETOOBIG: return 413;
    case WF_EINVAL: return 422;
    case WF_ETIMEOUT: return 503;
    case WF_ENOSPC: return 507;
    default: return 500;
    }
}

const char *wf_detail_for(int rc)
{
    switch (rc) {
    case WF_EUNAVAIL: return "The database is unavailable; try again later";
    case WF_ETIMEOUT: return "The database did not answer in time; try again later";
    case WF_ENOSPC: return "The database's disk is full: nothing can be saved until space "
                           "is freed; reading still works";
    case WF_ENOMEM: return "Internal error: out of memory";
    default: return wf_strerror(rc);
    }
}

/* ---- calls: requests that outlive one callback ------------------------- */

static struct wf_call *call_new(struct wf_req *rq)
{
    struct wf_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->rq = *rq;
    c->refs = 1; /* MHD's, dropped in on_completed */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci != NULL ? ci->connect_fd : -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_lock(&rq->srv->mu);
    rq->srv->calls_alive++;
    pthread_mutex_unlock(&rq->srv->mu);
    return c;
}

static void call_unref(struct wf_call *c)
{
    pthread_mutex_lock(&c->mu);
    int left = --c->refs;
    pthread_mutex_unlock(&c->mu);
    if (left > 0)
        return;
    struct wf_http *srv = call_srv(c);
    pthread_mutex_destroy(&c->mu);
    free(c->body);
    free(c->answer);
    free(c->arg);
    if (c->resp != NULL)
        MHD_destroy_response(c->resp);
    free(c);
    pthread_mutex_lock(&srv->mu);
    srv->calls_alive--;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* Add the work's reference; then, under srv->mu, put the call on the
 * in-flight list. Split so that wf_call_offload can check the queue and
 * enqueue under the same lock. */
static void call_ref_work(struct wf_call *c)
{
    pthread_mutex_lock(&c->mu);
    c->refs++;
    c->pending = 1;
    pthread_mutex_unlock(&c->mu);
}

static void inflight_add_locked(struct wf_http *srv, struct wf_call *c)
{
    c->next_inflight = srv->inflight;
    c->prev_inflight = NULL;
    if (srv->inflight)
        srv->inflight->prev_inflight = c;
    srv->inflight = c;
    srv->inflight_n++;
}

void wf_call_begin(struct wf_call *c)
{
    struct wf_http *srv = call_srv(c);
    call_ref_work(c);
    pthread_mutex_lock(&srv->mu);
    inflight_add_locked(srv, c);
    pthread_mutex_unlock(&srv->mu);
}

static enum MHD_Result send_answer(struct wf_call *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->replied) {
        pthread_mutex_unlock(&c->mu);
        return MHD_YES;
    }
    c->replied = 1;
    int status = c->status;
    char *answer = c->answer;
    struct MHD_Response *resp = c->resp;
    c->answer = NULL;
    c->resp = NULL;
    int is_json = c->answer_json;
    pthread_mutex_unlock(&c->mu);
    if (resp != NULL) {
        free(answer);
        return wf_reply_response(&c->rq, status, resp);
    }
    if (is_json || status < 400) {
        if (answer == NULL)
            return wf_reply_error(&c->rq, 500, "Internal error: no answer");
        return wf_reply(&c->rq, status, "application/json", answer, strlen(answer),
                        MHD_RESPMEM_MUST_FREE);
    }
    enum MHD_Result r = wf_reply_error(&c->rq, status, "%s", answer ? answer : "error");
    free(answer);
    return r;
}

enum MHD_Result wf_call_wait(struct wf_call *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->done) {
        pthread_mutex_unlock(&c->mu);
        return send_answer(c);
    }
    /* Under c->mu, so the completion (which resumes under c->mu) cannot
     * slip in between the check above and the suspension. */
    MHD_suspend_connection(c->rq.conn);
    c->suspended = 1;
    pthread_mutex_unlock(&c->mu);
    return MHD_YES;
}

/* Set the answer and resume; `forced` answers at shutdown without
 * dropping the work's reference (the work still completes later). */
static void call_finish(struct wf_call *c, int status, char *json_body,
                        struct MHD_Response *resp, const char *detail, int forced)
{
    pthread_mutex_lock(&c->mu);
    if (!c->done) {
        c->done = 1;
        c->status = status;
        if (resp != NULL) {
            c->resp = resp;
            resp = NULL;
        } else if (status < 400 || json_body != NULL) {
            c->answer = json_body;
            c->answer_json = 1;
            json_body = NULL;
        } else {
            c->answer = strdup(detail ? detail : "error");
        }
    }
    if (c->suspended && !c->conn_gone) {
        c->suspended = 0;
        MHD_resume_connection(c->rq.conn);
    }
    pthread_mutex_unlock(&c->mu);
    free(json_body);
    if (resp != NULL)
        MHD_destroy_response(resp);
    if (forced)
        return;

    struct wf_http *srv = call_srv(c);
    pthread_mutex_lock(&srv->mu);
    if (c->pending) {
        c->pending = 0;
        if (c->prev_inflight)
            c->prev_inflight->next_inflight = c->next_inflight;
        else
            srv->inflight = c->next_inflight;
        if (c->next_inflight)
            c->next_inflight->prev_inflight = c->prev_inflight;
        srv->inflight_n--;
        pthread_cond_broadcast(&srv->cv);
    }
    pthread_mutex_unlock(&srv->mu);
    call_unref(c);
}

/* Is the client of a waiting run still there? libmicrohttpd does not watch
 * a suspended connection, so a client that hung up is only noticed here:
 * its socket reports a hang-up, an error or end of file (a client that
 * shut its sending side is taken as gone too; pipelined bytes are not).
 * Under c->mu, which on_completed takes before libmicrohttpd closes the
 * socket, so the descriptor is still the client's. */
static int call_wanted(void *ctx)
{
    struct wf_call *c = ctx;
    int wanted = 1;
    pthread_mutex_lock(&c->mu);
    if (c->conn_gone || c->done) {
        wanted = 0;
    } else if (c->fd >= 0) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLRDHUP};
        if (poll(&p, 1, 0) == 1) {
            char b;
            ssize_t n = 0;
            if (!(p.revents & (POLLHUP | POLLERR)))
                n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
            if ((p.revents & (POLLHUP | POLLERR)) || n == 0 ||
                (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                wanted = 0;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return wanted;
}

void wf_call_complete(struct wf_call *c, int status, char *json_body, const char *detail)
{
    call_finish(c, status, json_body, NULL, detail, 0);
}

void wf_call_complete_response(struct wf_call *c, int status, struct MHD_Response *resp)
{
    call_finish(c, status, NULL, resp, "Internal error: out of memory", 0);
}

enum MHD_Result wf_call_offload(struct wf_call *c, wf_work_fn work)
{
    struct wf_http *srv = call_srv(c);
    c->work = work;
    /* The reference first: a worker may finish the call as soon as it is
     * queued. */
    call_ref_work(c);
    pthread_mutex_lock(&srv->mu);
    int refuse = srv->stopping || srv->q_len == WF_WORK_QUEUE;
    if (!refuse) {
        inflight_add_locked(srv, c);
        srv->queue[(srv->q_head + srv->q_len) % WF_WORK_QUEUE] = c;
        srv->q_len++;
        pthread_cond_signal(&srv->cv);
    }
    pthread_mutex_unlock(&srv->mu);
    if (refuse) {
        pthread_mutex_lock(&c->mu);
        c->pending = 0;
        c->refs--; /* MHD's reference remains */
        pthread_mutex_unlock(&c->mu);
        return wf_reply_error(&c->rq, 503, "The server is busy; try again shortly");
    }
    return wf_call_wait(c);
}

static void *worker_main(void *arg)
{
    struct wf_http *srv = arg;
    pthread_mutex_lock(&srv->mu);
    for (;;) {
        while (!srv->stopping && srv->q_len == 0 && !srv->db_check_wanted)
            pthread_cond_wait(&srv->cv, &srv->mu);
        if (srv->db_check_wanted) {
            srv->db_check_wanted = 0;
            pthread_mutex_unlock(&srv->mu);
            wf_api_health_refresh(srv);
            pthread_mutex_lock(&srv->mu);
            continue;
        }
        if (srv->q_len == 0)
            break; /* stopping, queue drained */
        struct wf_call *c = srv->queue[srv->q_head];
        srv->q_head = (srv->q_head + 1) % WF_WORK_QUEUE;
        srv->q_len--;
        pthread_mutex_unlock(&srv->mu);
        c->work(c);
        pthread_mutex_lock(&srv->mu);
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

void wf_http_want_db_check(struct wf_http *srv)
{
    pthread_mutex_lock(&srv->mu);
    srv->db_check_wanted = 1;
    pthread_cond_signal(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* ---- the request lifecycle ------------------------------------------------ */

/* Start reading a body: refuse what cannot be right before a byte of it
 * is buffered (wrong type, declared too large). */
static enum MHD_Result begin_body(struct wf_req *rq, void **con_cls)
{
    const wf_config *cfg = rq->srv->cfg;
    const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    enum wf_body_kind kind;
    char boundary[WF_BOUNDARY_MAX + 1];
    if (wf_body_kind_parse(ct, &kind, boundary, sizeof boundary) != 0)
        return wf_reply_error(rq, 400, "Malformed multipart Content-Type: a valid boundary is required");

    int upload = rq->route.id == WF_ROUTE_PLUGIN_UPLOAD;
    size_t payload = upload ? cfg->max_plugin_bytes : cfg->max_input_bytes;
    size_t limit;
    /* A body FastAPI would not read as a form (an upload that is not
     * multipart, a run that is text/plain or untyped) has, for it, no
     * fields: the original answered 422 "field required", so do we. */
    if (upload) {
        if (kind != WF_BODY_MULTIPART)
            return wf_reply_missing(rq, "file");
        /* The code, plus a description and an input_hint at their most. */
        limit = payload > SIZE_MAX / 2 ? SIZE_MAX / 2 : payload + 2 * (size_t)WF_PLUGIN_TEXT_MAX;
    } else {
        if (rq->route.id == WF_ROUTE_RUN_SUBMIT && kind != WF_BODY_JSON)
            return wf_reply_error(rq, 422, "The body must be a JSON object (Content-Type: "
                                  "application/json)");
        if (kind == WF_BODY_OTHER || kind == WF_BODY_NONE)
            return wf_reply_missing(rq, "plugin_name");
        /* Escaping can make the encoded input several times its size. */
        size_t factor = kind == WF_BODY_JSON ? 6 : kind == WF_BODY_URLENCODED ? 3 : 1;
        limit = payload > SIZE_MAX / 8 ? SIZE_MAX / 8 : payload * factor;
    }
    limit = limit > SIZE_MAX - BODY_OVERHEAD - 1 ? SIZE_MAX - BODY_OVERHEAD - 1 : limit + BODY_OVERHEAD;

    long declared = -1;
    if (cl != NULL && wf_parse_int(cl, 0, LONG_MAX, &declared) == 0 && (size_t)declared > limit) {
        if (upload)
            return wf_reply_error(rq, 413, "Plugin file too large: at most %zu bytes are accepted",
                                  payload);
        return wf_reply_error(rq, 413, "Request body too large: %s may be at most %zu bytes",
                              rq->route.id == WF_ROUTE_RUN_SUBMIT ? "input" : "input_data",
                              payload);
    }

    struct wf_call *c = call_new(rq);
    if (c == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    c->kind = kind;
    memcpy(c->boundary, boundary, sizeof boundary);
    c->limit = limit;
    if (declared > 0) {
        /* Sized from the declared length, but only up to 64 kB: memory is
         * spent on bytes that arrive, not on bytes a client promises. */
        c->cap = (size_t)declared + 1 < 65536 ? (size_t)declared + 1 : 65536;
        c->body = malloc(c->cap);
        if (c->body == NULL) {
            call_unref(c);
            return wf_reply_error(rq, 500, "Internal error: out of memory");
        }
    }
    *con_cls = c;
    return MHD_YES;
}

/* How much of an oversized body (sent without Content-Length) is read and
 * dropped so that the client gets its 413: libmicrohttpd can only answer
 * once the body is in. Past this, the connection is simply closed. */
#define DISCARD_MAX (16u * 1024 * 1024)

static enum MHD_Result body_append(struct wf_call *c, const char *data, size_t n)
{
    if (c->too_big || n > c->limit - c->len) {
        if (!c->too_big) {
            free(c->body);
            c->body = NULL;
            c->too_big = 1;
        }
        c->discarded += n;
        return c->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 16384;
        while (cap < c->len + n + 1)
            cap *= 2;
        if (cap > c->limit + 1)
            cap = c->limit + 1;
        char *nb = realloc(c->body, cap);
        if (nb == NULL)
            return MHD_NO; /* cannot answer mid-body: close */
        c->body = nb;
        c->cap = cap;
    }
    memcpy(c->body + c->len, data, n);
    c->len += n;
    c->body[c->len] = '\0';
    return MHD_YES;
}

/* The answer to a request without a body, once it is fully received. */
static enum MHD_Result answer_simple(struct wf_req *rq)
{
    struct wf_http *srv = rq->srv;
    const wf_route *r = &rq->route;
    if (rq->method_bit == WF_METHOD_OPTIONS &&
        (r->allowed != 0 || wf_route_slash_redirect(rq->url) > 0))
        return wf_access_preflight(rq);
    if (r->allowed == 0)
        return wf_reply_error(rq, 404, "Not Found");
    if (r->id == WF_ROUTE_NONE)
        return wf_reply_error(rq, 405, "Method Not Allowed");
    switch (r->id) {
    case WF_ROUTE_HEALTH: return wf_api_health(rq);
    case WF_ROUTE_METRICS: return wf_api_metrics(rq);
    case WF_ROUTE_OPENAPI: return wf_api_openapi(rq);
    case WF_ROUTE_DOCS: return wf_api_docs(rq);
    case WF_ROUTE_REDOC: return wf_api_redoc(rq);
    case WF_ROUTE_STATIC: return wf_static_serve(rq);
    default:
        (void)srv;
        return wf_reply_error(rq, 500, "Internal error: no handler for this route");
    }
}

/* Marks a request without a body between its first callback and the one
 * where it is complete. libmicrohttpd closes the connection after an
 * answer queued in the first callback (the body might still follow), so
 * keep-alive needs the answer in the second. */
static char simple_marker;

static void init_req(struct wf_req *rq, struct wf_http *srv, struct MHD_Connection *conn,
                     const char *url, const char *method)
{
    rq->srv = srv;
    rq->conn = conn;
    rq->method = method;
    rq->url = url;
    clock_gettime(CLOCK_MONOTONIC, &rq->t0);
    rq->method_bit = wf_method_parse(method);
    wf_route_match(rq->method_bit, url, &rq->route);
}

/* libmicrohttpd's decoding of the path and query values, less "%00"
 * (wf_url_unescape): names never carry a NUL that cuts them short. */
static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return wf_url_unescape(s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct wf_req rq;
    if (*con_cls == NULL) {
        init_req(&rq, cls, conn, url, method);
        /* Admission (Host, Origin, trailing slash, token) before anything
         * else, and before a body is read; a refusal closes the
         * connection, which is what such a client deserves. */
        enum MHD_Result refused;
        if (!wf_access_admit(&rq, &refused))
            return refused;
        if (rq.route.has_body)
            return begin_body(&rq, con_cls);
        /* Endpoints whose answer may take a while (Ollama, or the
         * database, which may stall up to DB_TIMEOUT_MS) get a call of
         * their own, so that the work runs on a worker while the
         * connection waits suspended, never on the thread that also
         * serves /health. */
        if (rq.route.id == WF_ROUTE_HEALTH_OLLAMA || rq.route.id == WF_ROUTE_MODELS_LIST ||
            rq.route.id == WF_ROUTE_PLUGINS_LIST || rq.route.id == WF_ROUTE_RUNS_LIST ||
            rq.route.id == WF_ROUTE_PLUGIN_CODE || rq.route.id == WF_ROUTE_PLUGIN_DELETE ||
            rq.route.id == WF_ROUTE_RUN_GET || rq.route.id == WF_ROUTE_RUN_CANCEL) {
            struct wf_call *c = call_new(&rq);
            if (c == NULL)
                return MHD_NO;
            c->body_done = 1;
            *con_cls = c;
            return MHD_YES;
        }
        *con_cls = &simple_marker;
        return MHD_YES;
    }
    if (*con_cls == &simple_marker) {
        if (*upload_size > 0) {
            *upload_size = 0; /* a body nobody asked for: discarded */
            return MHD_YES;
        }
        init_req(&rq, cls, conn, url, method);
        return answer_simple(&rq);
    }
    struct wf_call *c = *con_cls;
    if (!c->body_done) {
        if (*upload_size > 0) {
            size_t n = *upload_size;
            *upload_size = 0;
            return body_append(c, upload_data, n);
        }
        c->body_done = 1;
        c->started = 1;
        if (c->too_big) {
            int upload = c->rq.route.id == WF_ROUTE_PLUGIN_UPLOAD;
            const wf_config *cfg = c->rq.srv->cfg;
            return wf_reply_error(&c->rq, 413, "Request body too large: at most %zu bytes of %s are accepted",
                                  upload ? cfg->max_plugin_bytes : cfg->max_input_bytes,
                                  upload ? "plugin code"
                                  : c->rq.route.id == WF_ROUTE_RUN_SUBMIT ? "input" : "input_data");
        }
        if (c->rq.route.id == WF_ROUTE_RUN_SUBMIT)
            return wf_api_run_submit(c);
        return c->rq.route.id == WF_ROUTE_PLUGIN_UPLOAD ? wf_api_plugin_upload(c) : wf_api_run(c);
    }
    *upload_size = 0; /* after an early answer (413), or a GET's body: discarded */
    if (!c->started) {
        c->started = 1;
        switch (c->rq.route.id) {
        case WF_ROUTE_HEALTH_OLLAMA: return wf_api_health_ollama(c);
        case WF_ROUTE_MODELS_LIST: return wf_api_models_list(c);
        case WF_ROUTE_PLUGINS_LIST: return wf_api_plugins_list(c);
        case WF_ROUTE_PLUGIN_CODE: return wf_api_plugin_code(c);
        case WF_ROUTE_PLUGIN_DELETE: return wf_api_plugin_delete(c);
        case WF_ROUTE_RUN_GET: return wf_api_run_get(c);
        case WF_ROUTE_RUN_CANCEL: return wf_api_run_cancel(c);
        default: return wf_api_runs_list(c);
        }
    }
    pthread_mutex_lock(&c->mu);
    int ready = c->done && !c->replied;
    pthread_mutex_unlock(&c->mu);
    return ready ? send_answer(c) : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)conn; (void)toe;
    struct wf_call *c = *con_cls;
    if (c == NULL || *con_cls == &simple_marker)
        return;
    *con_cls = NULL;
    pthread_mutex_lock(&c->mu);
    c->conn_gone = 1;
    pthread_mutex_unlock(&c->mu);
    call_unref(c);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    wf_log_debug("http: %s", msg);
}

/* ---- start and stop --------------------------------------------------- */

/* Every connection is a descriptor: raise the soft RLIMIT_NOFILE to the
 * hard one, and keep the connection limit below it with room for the
 * store, the sandboxes and the log. Returns the connection limit to use. */
static unsigned connection_limit(const wf_config *cfg)
{
    enum { FD_ROOM = 512 };
    struct rlimit rl;
    unsigned want = (unsigned)cfg->http_max_connections;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want + FD_ROOM > rl.rlim_cur) {
        unsigned fit = rl.rlim_cur > FD_ROOM + 16 ? (unsigned)(rl.rlim_cur - FD_ROOM) : 16;
        wf_log_warn("http: HTTP_MAX_CONNECTIONS=%u does not fit the descriptor limit (%llu); "
                    "using %u", want, (unsigned long long)rl.rlim_cur, fit);
        want = fit;
    }
    return want;
}

int wf_http_start(const wf_http_deps *deps, wf_http **out, char *err, size_t errlen)
{
    *out = NULL;
    const wf_config *cfg = deps->cfg;
    struct wf_http *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return WF_ENOMEM;
    srv->cfg = cfg;
    srv->store = deps->store;
    srv->ollama = deps->ollama;
    srv->runs = deps->runs;
    if (srv->ollama != NULL) {
        /* The first look at Ollama starts now, so its state is known by the
         * time the first request asks for it (api_misc.c). */
        wf_ollama_state st;
        wf_ollama_state_get(srv->ollama, 0, &st);
        wf_ollama_state_clear(&st);
    }
    srv->web_fd = -1;
    srv->quiesced_fd = -1;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->cache_mu, NULL);
    pthread_mutex_init(&srv->list_build_mu, NULL);
    pthread_cond_init(&srv->cv, NULL);

    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", cfg->port);
    int gai = getaddrinfo(cfg->host, portstr, &hints, &ai);
    if (gai != 0 || ai == NULL) {
        wf_errorf(err, errlen, "cannot resolve HOST '%s': %s", cfg->host, gai_strerror(gai));
        free(srv);
        return WF_EINVAL;
    }

    /* /metrics labels only the models the operator allows (metrics.h). */
    wf_metrics_set_models(cfg->allowed_models, cfg->allowed_models_n, cfg->allowed_models_all);
    wf_api_health_setup(srv);
    wf_static_setup(srv);
    if (srv->runs != NULL)
        wf_runs_set_wanted(srv->runs, call_wanted);

    /* Workers answer the Ollama checks, uploads and database checks: with
     * none, those requests would wait forever, so no worker is no server. */
    srv->workers = calloc(4, sizeof *srv->workers);
    for (int i = 0; srv->workers != NULL && i < 4; i++) {
        if (pthread_create(&srv->workers[i], NULL, worker_main, srv) != 0)
            break;
        srv->nworkers = i + 1;
    }
    if (srv->nworkers == 0) {
        wf_errorf(err, errlen, "cannot start the HTTP worker threads: %s",
                  srv->workers == NULL ? "out of memory" : "pthread_create failed");
        freeaddrinfo(ai);
        srv->stopping = 1;
        wf_http_stop(srv);
        return WF_ENOMEM;
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* One thread means no pool at all (0): libmicrohttpd warns about a pool
     * of one on stderr, outside our logger, and that breaks JSON logs. */
    unsigned threads = cfg->http_threads > 1 ? (unsigned)cfg->http_threads : 0;
    errno = 0;
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL,
        /* Slow or idle clients: a connection silent for HTTP_TIMEOUT is
         * closed (libmicrohttpd 0.9.75 has one inactivity timeout for
         * headers, bodies and keep-alive alike), one address may hold
         * HTTP_MAX_CONNECTIONS_PER_IP at once (more are closed as soon as
         * they are accepted), and the total stays far below what the
         * descriptor limit allows, so one client's idle sockets never
         * starve the others. */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->http_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, connection_limit(cfg),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->http_max_per_ip,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        /* Headers and query arguments live in this pool: 64 kB takes long
         * query strings; libmicrohttpd clears it per request, so it is
         * not made larger. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_END);
    int saved = errno;
    freeaddrinfo(ai);
    if (srv->daemon == NULL) {
        wf_errorf(err, errlen, "%s", saved ? strerror(saved) : "libmicrohttpd refused to start");
        srv->stopping = 1;
        wf_http_stop(srv);
        return WF_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    *out = srv;
    return 0;
}

int wf_http_port(const wf_http *srv)
{
    return srv ? srv->port : 0;
}

/* MHD_quiesce_daemon only stops MHD from accepting: the kernel still
 * completes handshakes into the backlog, and those clients hang until the
 * process exits. shutdown() on a listening socket takes it out of the
 * LISTEN state: queued and new connections are refused at once (a load
 * balancer moves on), while the descriptor itself stays valid for MHD's
 * threads until MHD_stop_daemon. */
static void stop_listening(int fd)
{
    if (fd >= 0 && shutdown(fd, SHUT_RDWR) < 0)
        wf_log_warn("http: closing the listening socket: %s", strerror(errno));
}

void wf_http_quiesce(wf_http *srv)
{
    if (srv == NULL || atomic_exchange(&srv->quiescing, 1))
        return;
    if (srv->daemon != NULL) {
        MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
        if (fd != MHD_INVALID_SOCKET) {
            srv->quiesced_fd = fd;
            stop_listening(fd);
        }
    }
}

/* Wait on srv->cv until *counter is 0 or the deadline passes. */
static void wait_zero(struct wf_http *srv, int *counter, int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&srv->mu);
    while (*counter > 0) {
        if (pthread_cond_timedwait(&srv->cv, &srv->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&srv->mu);
}

void wf_http_stop(wf_http *srv)
{
    if (srv == NULL)
        return;
    wf_http_quiesce(srv);
    int grace = srv->cfg->shutdown_grace > 0 ? srv->cfg->shutdown_grace : 0;

    /* Runs were drained by the runs module, so their answers are in; what
     * is left is work on our own threads (Ollama checks, uploads). */
    wait_zero(srv, &srv->inflight_n, grace + 10);
    pthread_mutex_lock(&srv->mu);
    srv->stopping = 1;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
    for (int i = 0; srv->workers != NULL && i < srv->nworkers; i++)
        pthread_join(srv->workers[i], NULL);
    free(srv->workers);
    srv->workers = NULL;

    /* A run callback may still come for what is left: answer the clients
     * now, and keep the server's memory so that the late callback stays
     * harmless. (Lock order srv->mu, then c->mu: nothing takes them the
     * other way round.) */
    pthread_mutex_lock(&srv->mu);
    int leak = srv->inflight_n > 0;
    if (leak)
        wf_log_error("http: %d request(s) still waiting at shutdown; answering 503", srv->inflight_n);
    for (struct wf_call *c = srv->inflight; c != NULL; c = c->next_inflight)
        call_finish(c, 503, NULL, NULL, "The server is shutting down", 1);
    pthread_mutex_unlock(&srv->mu);
    /* Let resumed connections send their answers before closing. */
    wait_zero(srv, &srv->calls_alive, 2);
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    if (srv->quiesced_fd >= 0)
        close(srv->quiesced_fd);
    srv->quiesced_fd = -1;
    if (leak)
        return;
    wf_api_list_cache_free(srv);
    wf_static_free(srv);
    free(srv->health_fixed);
    free(srv->health_tail);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->cache_mu);
    pthread_mutex_destroy(&srv->list_build_mu);
    pthread_cond_destroy(&srv->cv);
    free(srv);
}
