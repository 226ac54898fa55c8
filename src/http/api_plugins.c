/* api_plugins.c - the plugin endpoints: list (cached per store revision),
 * code, upload (checked in the sandbox first) and delete. */
#include "http/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "common/log.h"
#include "common/wf_error.h"
#include "http/json_shapes.h"
#include "http/validate.h"

/* A page's maximum, also the page without ?limit= (the original listed
 * every plugin; with descriptions and hints of up to 64 KiB each, an
 * unbounded answer would be unbounded memory). */
#define LIST_LIMIT_MAX 1000

/* ---- GET /api/plugins/list ------------------------------------------------ */

/* gzip of len bytes into a new buffer (NULL when it does not pay off or
 * fails: the plain bytes are sent then). */
static char *gzip_bytes(const char *in, size_t len, size_t *out_len)
{
    if (len < 1024)
        return NULL;
    z_stream z = { 0 };
    /* 15 + 16: a gzip wrapper, as Content-Encoding: gzip means. */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)len);
    char *out = malloc(cap);
    if (out != NULL) {
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)len;
        z.next_out = (Bytef *)out;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out >= len) {
            free(out);
            out = NULL;
        } else {
            *out_len = z.total_out;
        }
    }
    deflateEnd(&z);
    return out;
}

/* A blob that takes over `text` (freed on failure too), counted in
 * *live while it lives. */
static struct wf_blob *blob_new(char *text, atomic_size_t *live)
{
    struct wf_blob *b = malloc(sizeof *b);
    if (b == NULL) {
        free(text);
        return NULL;
    }
    size_t len = strlen(text);
    atomic_init(&b->refs, 1);
    b->len = len;
    b->gz_len = 0;
    b->gz = len <= UINT_MAX ? gzip_bytes(text, len, &b->gz_len) : NULL;
    b->data = text;
    b->live = live;
    atomic_fetch_add(live, b->len + b->gz_len);
    return b;
}

static size_t blob_bytes(const struct wf_blob *b)
{
    return b->len + b->gz_len;
}

static void blob_unref(void *cls)
{
    struct wf_blob *b = cls;
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        atomic_fetch_sub(b->live, b->len + b->gz_len);
        free(b->gz);
        free(b->data);
        free(b);
    }
}

void wf_api_list_cache_free(struct wf_http *srv)
{
    for (int i = 0; i < WF_LIST_CACHE_SLOTS; i++) {
        blob_unref(srv->cache[i].blob);
        srv->cache[i].blob = NULL;
        srv->cache[i].used = 0;
    }
    srv->cache_bytes = 0;
}

/* A new reference to the cached answer, or NULL. */
static struct wf_blob *cache_get(struct wf_http *srv, long limit, long offset, int64_t rev)
{
    struct wf_blob *b = NULL;
    pthread_mutex_lock(&srv->cache_mu);
    for (int i = 0; i < WF_LIST_CACHE_SLOTS; i++) {
        if (srv->cache[i].used && srv->cache[i].limit == limit && srv->cache[i].offset == offset &&
            srv->cache[i].rev == rev) {
            b = srv->cache[i].blob;
            atomic_fetch_add(&b->refs, 1);
            srv->cache[i].last_use = ++srv->cache_tick;
            break;
        }
    }
    pthread_mutex_unlock(&srv->cache_mu);
    return b;
}

static void cache_drop_locked(struct wf_http *srv, int i)
{
    srv->cache_bytes -= blob_bytes(srv->cache[i].blob);
    blob_unref(srv->cache[i].blob);
    srv->cache[i].blob = NULL;
    srv->cache[i].used = 0;
}

/* Keep b (the cache takes its own reference) for (limit, offset, rev),
 * replacing the same page of an older revision, then the least recently
 * used, until it fits WF_LIST_CACHE_BYTES. An answer larger than that is
 * not kept: it is rebuilt when asked for (one build at a time). */
static void cache_put(struct wf_http *srv, long limit, long offset, int64_t rev, struct wf_blob *b)
{
    if (blob_bytes(b) > WF_LIST_CACHE_BYTES)
        return;
    pthread_mutex_lock(&srv->cache_mu);
    for (int i = 0; i < WF_LIST_CACHE_SLOTS; i++) {
        if (srv->cache[i].used && srv->cache[i].limit == limit && srv->cache[i].offset == offset) {
            if (srv->cache[i].rev > rev) {
                pthread_mutex_unlock(&srv->cache_mu);
                return; /* a newer answer is there already */
            }
            cache_drop_locked(srv, i);
        }
    }
    for (;;) {
        int slot = -1, free_slot = -1;
        for (int i = 0; i < WF_LIST_CACHE_SLOTS; i++) {
            if (!srv->cache[i].used)
                free_slot = free_slot < 0 ? i : free_slot;
            else if (slot < 0 || srv->cache[i].last_use < srv->cache[slot].last_use)
                slot = i;
        }
        if (free_slot >= 0 && srv->cache_bytes + blob_bytes(b) <= WF_LIST_CACHE_BYTES) {
            atomic_fetch_add(&b->refs, 1);
            srv->cache[free_slot].used = 1;
            srv->cache[free_slot].limit = limit;
            srv->cache[free_slot].offset = offset;
            srv->cache[free_slot].rev = rev;
            srv->cache[free_slot].blob = b;
            srv->cache[free_slot].last_use = ++srv->cache_tick;
            srv->cache_bytes += blob_bytes(b);
            break;
        }
        if (slot < 0)
            break; /* cannot happen: an empty cache has room */
        cache_drop_locked(srv, slot);
    }
    pthread_mutex_unlock(&srv->cache_mu);
}

/* Read ?name= as an integer in [min, max]; absent = dflt. 0 or -1 (bad). */
static int query_int(struct wf_req *rq, const char *name, long min, long max, long dflt, long *out)
{
    const char *v = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    return wf_parse_int(v, min, max, out);
}

/* The response sending b (which it holds a reference to, so a newer
 * revision replacing the cache entry never frees bytes being sent), with
 * its ETag; NULL when out of memory (b's reference is dropped then). */
static struct MHD_Response *blob_response(struct wf_blob *b, int gzip, const char *etag)
{
    gzip = gzip && b->gz != NULL;
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
        gzip ? b->gz_len : b->len, gzip ? b->gz : b->data, blob_unref, b);
    if (resp == NULL) {
        blob_unref(b);
        return NULL;
    }
    if (gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    /* Revalidate every time: the ETag makes that cheap. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return resp;
}

static void list_etag(char *buf, size_t len, int64_t rev, long limit, long offset)
{
    snprintf(buf, len, "W/\"%lld-%ld-%ld\"", (long long)rev, limit, offset);
}

/* The page as JSON text, built with the least memory at once: each row
 * is turned into text and freed before the next, so the rows and the
 * answer are never both whole (no tree of the whole page either). */
static int list_build(struct wf_http *srv, long limit, long offset, struct wf_blob **out)
{
    wf_plugin *list = NULL;
    size_t n = 0;
    *out = NULL;
    int rc = wf_http_db_gate(srv);
    if (rc == 0)
        rc = wf_http_db_note(srv, wf_store_plugin_list(srv->store, (int)limit, (int)offset,
                                                       &list, &n));
    if (rc != 0)
        return rc;
    size_t len = 1, cap = 4096;
    char *t = malloc(cap);
    if (t != NULL)
        t[0] = '[';
    for (size_t i = 0; i < n; i++) {
        json_t *j = t ? wf_json_plugin_summary(&list[i]) : NULL;
        char *item = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        wf_plugin_clear(&list[i]);
        size_t il = item ? strlen(item) : 0;
        if (item != NULL && len + il + 3 > cap) {
            while (len + il + 3 > cap)
                cap *= 2;
            char *nt = realloc(t, cap);
            if (nt == NULL) {
                free(item);
                item = NULL;
            } else {
                t = nt;
            }
        }
        if (item == NULL) {
            free(t);
            t = NULL;
            continue;
        }
        if (i > 0)
            t[len++] = ',';
        memcpy(t + len, item, il);
        len += il;
        free(item);
    }
    free(list);
    if (t != NULL) {
        t[len++] = ']';
        t[len] = '\0';
    }
    *out = t ? blob_new(t, &srv->list_live_bytes) : NULL;
    return *out ? 0 : WF_ENOMEM;
}

/* On a worker: the revision (a database query, which may stall up to
 * DB_TIMEOUT_MS: never on the HTTP thread), 304, a cached answer, or a
 * build, one at a time: a request that waited for another's build of the
 * same page finds it in the cache. */
static void list_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    int64_t rev = 0;
    int rc = wf_http_db_gate(srv);
    if (rc == 0)
        rc = wf_http_db_note(srv, wf_store_plugins_revision(srv->store, &rev));
    if (rc != 0) {
        wf_call_complete(c, wf_status_for(rc) == 404 ? 500 : wf_status_for(rc), NULL,
                         wf_detail_for(rc));
        return;
    }
    /* The revision names the list's content: a client that has it gets
     * 304 and no body (weak: gzip and identity bytes differ). */
    char etag[80];
    list_etag(etag, sizeof etag, rev, c->q_limit, c->q_offset);
    if (c->arg != NULL && strstr(c->arg, etag + 2) != NULL) {
        struct MHD_Response *nm = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (nm == NULL) {
            wf_call_complete(c, 500, NULL, "Internal error: out of memory");
            return;
        }
        MHD_add_response_header(nm, MHD_HTTP_HEADER_ETAG, etag);
        MHD_add_response_header(nm, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        wf_call_complete_response(c, 304, nm);
        return;
    }
    struct wf_blob *b = cache_get(srv, c->q_limit, c->q_offset, rev);
    if (b == NULL) {
        pthread_mutex_lock(&srv->list_build_mu);
        b = cache_get(srv, c->q_limit, c->q_offset, rev);
        if (b == NULL && atomic_load(&srv->list_live_bytes) > WF_LIST_LIVE_BYTES)
            rc = WF_EFULL;
        else if (b == NULL) {
            rc = list_build(srv, c->q_limit, c->q_offset, &b);
            if (rc == 0)
                cache_put(srv, c->q_limit, c->q_offset, rev, b);
        }
        pthread_mutex_unlock(&srv->list_build_mu);
    }
    if (rc == WF_EFULL) {
        wf_call_complete(c, 503, NULL, "The server is busy sending other large lists; "
                                       "try again shortly");
        return;
    }
    if (rc != 0) {
        wf_call_complete(c, wf_status_for(rc) == 404 ? 500 : wf_status_for(rc), NULL,
                         wf_detail_for(rc));
        return;
    }
    struct MHD_Response *resp = blob_response(b, c->q_gzip, etag);
    if (resp == NULL)
        wf_call_complete(c, 500, NULL, "Internal error: out of memory");
    else
        wf_call_complete_response(c, 200, resp);
}

/* On the HTTP thread: the query and the headers (the connection is not
 * touched once it is suspended); the rest on a worker. */
enum MHD_Result wf_api_plugins_list(struct wf_call *c)
{
    struct wf_req *rq = &c->rq;
    long limit, offset;
    if (query_int(rq, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT_MAX, &limit) != 0)
        return wf_reply_error(rq, 422, "limit must be an integer from 1 to %d", LIST_LIMIT_MAX);
    if (query_int(rq, "offset", 0, INT_MAX, 0, &offset) != 0)
        return wf_reply_error(rq, 422, "offset must be an integer from 0 to %d", INT_MAX);
    if (wf_http_db_gate(rq->srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    const char *inm = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm != NULL && (c->arg = strdup(inm)) == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    const char *ae = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_ACCEPT_ENCODING);
    c->q_limit = limit;
    c->q_offset = offset;
    c->q_gzip = wf_accepts_gzip(ae);
    return wf_call_offload(c, list_work);
}

/* ---- GET /api/plugins/{name}/code, DELETE /api/plugins/{name} ----------------- */

/* Copy the route's {name} (libmicrohttpd has percent-decoded the path)
 * into buf; 0 when it is a valid plugin name. */
static int route_name(struct wf_req *rq, char *buf, size_t buflen)
{
    size_t n = rq->route.param_len < buflen - 1 ? rq->route.param_len : buflen - 1;
    memcpy(buf, rq->route.param, n);
    buf[n] = '\0';
    return wf_plugin_name_valid(rq->route.param, rq->route.param_len, NULL) ? 0 : -1;
}

/* A name for a detail: NULs and other control bytes of a name the rule
 * refused must not reach the answer raw. */
static void printable_name(const char *s, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[o] = '\0';
}

static enum MHD_Result not_found(struct wf_req *rq, const char *name)
{
    return wf_reply_error(rq, 404, "Plugin '%s' not found", name);
}

/* On the HTTP thread: the name is checked and copied (the connection is
 * not touched once it is suspended); the store is asked on a worker, so a
 * stalled database never holds the thread that also serves /health. */
static enum MHD_Result name_offload(struct wf_call *c, wf_work_fn work)
{
    struct wf_req *rq = &c->rq;
    char name[WF_PLUGIN_NAME_MAX_BYTES + 1];
    if (route_name(rq, name, sizeof name) != 0) {
        printable_name(rq->route.param, rq->route.param_len, name, sizeof name);
        return not_found(rq, name);
    }
    if (wf_http_db_gate(rq->srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    if ((c->arg = strdup(name)) == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    return wf_call_offload(c, work);
}

/* A store error as the answer: 404 names the plugin. */
static void complete_store_error(struct wf_call *c, int rc)
{
    if (rc == WF_ENOTFOUND) {
        char detail[WF_PLUGIN_NAME_MAX_BYTES + 32];
        snprintf(detail, sizeof detail, "Plugin '%s' not found", c->arg);
        wf_call_complete(c, 404, NULL, detail);
        return;
    }
    wf_call_complete(c, wf_status_for(rc), NULL, wf_detail_for(rc));
}

static void complete_json(struct wf_call *c, json_t *j)
{
    char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    wf_call_complete(c, t ? 200 : 500, t, "Internal error: out of memory");
}

static void code_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    wf_plugin p = { 0 };
    int rc = wf_http_db_note(srv, wf_store_plugin_get(srv->store, c->arg, &p));
    if (rc != 0) {
        complete_store_error(c, rc);
        return;
    }
    json_t *j = wf_json_plugin_code(&p);
    wf_plugin_clear(&p);
    complete_json(c, j);
}

static void delete_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    int rc = wf_http_db_note(srv, wf_store_plugin_delete(srv->store, c->arg));
    if (rc != 0) {
        complete_store_error(c, rc);
        return;
    }
    wf_log_info("plugin deleted: %s", c->arg);
    complete_json(c, json_pack("{s:s, s:s}", "status", "deleted", "name", c->arg));
}

enum MHD_Result wf_api_plugin_code(struct wf_call *c)
{
    return name_offload(c, code_work);
}

enum MHD_Result wf_api_plugin_delete(struct wf_call *c)
{
    return name_offload(c, delete_work);
}

/* ---- POST /api/plugins/upload ---------------------------------------------------- */

/* A text field: absent = dflt; must be UTF-8 without NUL, at most
 * WF_PLUGIN_TEXT_MAX bytes. 0, or the status (400, 413) with the reason
 * written to err. */
static int text_field(const wf_form *f, const char *name, const char *dflt, const char **out,
                      char *err, size_t errlen)
{
    const wf_form_field *fl = wf_form_get(f, name);
    if (fl == NULL) {
        *out = dflt;
        return 0;
    }
    if (fl->value_len > WF_PLUGIN_TEXT_MAX) {
        snprintf(err, errlen, "Field '%s' too large: %zu bytes, at most %d are accepted", name,
                 fl->value_len, WF_PLUGIN_TEXT_MAX);
        return 413;
    }
    if (!wf_utf8_valid(fl->value, fl->value_len) || wf_has_nul(fl->value, fl->value_len)) {
        snprintf(err, errlen, "Field '%s' must be UTF-8 text without NUL bytes", name);
        return 400;
    }
    *out = fl->value;
    return 0;
}

static void upload_work(struct wf_call *c)
{
    struct wf_http *srv = c->rq.srv;
    const wf_config *cfg = srv->cfg;
    char err[512];
    char detail[1024];
    int status = 0;
    wf_form form = { 0 };
    wf_plugin out = { 0 };
    char *answer = NULL;

    /* No body is no fields: 422 "field required" below, as FastAPI. */
    int rc = c->len == 0 ? 0 : wf_form_parse_multipart(c->boundary, c->body, c->len, &form, err, sizeof err);
    if (rc != 0) {
        status = rc == WF_ENOMEM ? 500 : 400;
        snprintf(detail, sizeof detail, "Malformed multipart body: %s", err);
        goto out;
    }
    const wf_form_field *file = wf_form_get(&form, "file");
    if (file == NULL || file->filename == NULL) {
        json_t *missing = wf_json_missing_field("file");
        answer = missing ? json_dumps(missing, JSON_COMPACT) : NULL;
        json_decref(missing);
        status = answer ? 422 : 500;
        snprintf(detail, sizeof detail, "Internal error: out of memory");
        goto out;
    }
    size_t fnlen = strlen(file->filename);
    if (fnlen < 3 || strcmp(file->filename + fnlen - 3, ".py") != 0) {
        status = 400;
        snprintf(detail, sizeof detail, "Only .py files are accepted (got '%.100s')", file->filename);
        goto out;
    }
    char name[WF_PLUGIN_NAME_MAX_BYTES + 1];
    const char *why = NULL;
    if (!wf_plugin_name_valid(file->filename, fnlen - 3, &why)) {
        char shown[128];
        printable_name(file->filename, fnlen - 3, shown, sizeof shown);
        status = 400;
        snprintf(detail, sizeof detail, "Invalid plugin name '%s': %s", shown, why);
        goto out;
    }
    memcpy(name, file->filename, fnlen - 3);
    name[fnlen - 3] = '\0';
    if (file->value_len > cfg->max_plugin_bytes) {
        status = 413;
        snprintf(detail, sizeof detail, "Plugin file too large: %zu bytes, at most %zu are accepted",
                 file->value_len, cfg->max_plugin_bytes);
        goto out;
    }
    if (!wf_utf8_valid(file->value, file->value_len)) {
        status = 400;
        snprintf(detail, sizeof detail, "The plugin file must be UTF-8 text");
        goto out;
    }
    if (wf_has_nul(file->value, file->value_len)) {
        status = 400;
        snprintf(detail, sizeof detail, "The plugin file must not contain NUL bytes");
        goto out;
    }
    const char *description, *input_type, *input_hint;
    if ((status = text_field(&form, "description", "", &description, detail, sizeof detail)) != 0 ||
        (status = text_field(&form, "input_type", "text", &input_type, detail, sizeof detail)) != 0 ||
        (status = text_field(&form, "input_hint", "", &input_hint, detail, sizeof detail)) != 0)
        goto out;
    if (*input_type == '\0')
        input_type = "text";
    /* Any short text, as the original stored it ("image" too); the web
     * interface treats a type it does not know as text. */
    if (wf_utf8_chars(input_type, strlen(input_type)) > WF_PLUGIN_INPUT_TYPE_MAX) {
        status = 422;
        snprintf(detail, sizeof detail, "input_type must be at most %d characters",
                 WF_PLUGIN_INPUT_TYPE_MAX);
        goto out;
    }

    /* A syntax error is no reason to refuse: the original stored such a
     * file (its Builder ignores the upload's status, so a refusal would
     * read as "deployed" while nothing was stored). It is stored and
     * reported in "warnings"; its runs fail as plugin_error. */
    int line = 0, col = 0;
    char msg[512] = "";
    json_t *warnings = json_array();
    rc = wf_runs_check_syntax(srv->runs, file->value, file->value_len, &line, &col, msg, sizeof msg);
    if (rc == WF_EINVAL) {
        char text[WF_PLUGIN_NAME_MAX_BYTES + sizeof msg + 64];
        snprintf(text, sizeof text, "Syntax error in %s.py at line %d, column %d: %s", name, line,
                 col, msg[0] ? msg : "invalid syntax");
        json_array_append_new(warnings, json_pack("{s:s, s:s, s:i, s:i, s:s}", "type", "syntax_error",
                                                  "message", msg[0] ? msg : "invalid syntax", "line",
                                                  line, "column", col, "detail", text));
    } else if (rc != 0) {
        json_decref(warnings);
        status = rc == WF_EUNAVAIL ? 503 : 500;
        snprintf(detail, sizeof detail, "The sandbox could not check the plugin: %s", wf_strerror(rc));
        goto out;
    }

    wf_plugin in = {
        .name = name,
        .code = file->value,
        .description = (char *)description,
        .input_type = (char *)input_type,
        .input_hint = (char *)input_hint,
        .calls = wf_count_ai_calls(file->value, file->value_len),
    };
    rc = wf_http_db_gate(srv);
    if (rc == 0)
        rc = wf_http_db_note(srv, wf_store_plugin_put(srv->store, &in, &out));
    if (rc != 0) {
        json_decref(warnings);
        status = wf_status_for(rc) == 404 ? 500 : wf_status_for(rc);
        snprintf(detail, sizeof detail, "%s", wf_detail_for(rc));
        goto out;
    }
    wf_log_info("plugin uploaded: %s version %d (%zu bytes%s)", name, out.version, file->value_len,
                json_array_size(warnings) ? ", with a syntax error" : "");
    json_t *j = wf_json_plugin_uploaded(&out);
    if (j != NULL && warnings != NULL)
        json_object_set(j, "warnings", warnings);
    json_decref(warnings);
    answer = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    status = answer ? 200 : 500;
    snprintf(detail, sizeof detail, "Internal error: out of memory");
out:
    wf_plugin_clear(&out);
    wf_form_free(&form);
    /* The body is no longer needed; free it before the answer waits. */
    free(c->body);
    c->body = NULL;
    wf_call_complete(c, status, answer, detail);
}

enum MHD_Result wf_api_plugin_upload(struct wf_call *c)
{
    /* Parsing and the sandbox's syntax check can take a while: not on an
     * HTTP thread. */
    return wf_call_offload(c, upload_work);
}
