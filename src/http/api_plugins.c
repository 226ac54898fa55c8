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

#define LIST_LIMIT_MAX 10000

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

static struct wf_blob *blob_new(const char *text)
{
    size_t len = strlen(text);
    struct wf_blob *b = malloc(sizeof *b + len + 1);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    b->gz_len = 0;
    b->gz = len <= UINT_MAX ? gzip_bytes(text, len, &b->gz_len) : NULL;
    memcpy(b->data, text, len + 1);
    return b;
}

static void blob_unref(void *cls)
{
    struct wf_blob *b = cls;
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b->gz);
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

/* Keep b (the cache takes its own reference) for (limit, offset, rev),
 * replacing the same page of an older revision or the least recently used. */
static void cache_put(struct wf_http *srv, long limit, long offset, int64_t rev, struct wf_blob *b)
{
    pthread_mutex_lock(&srv->cache_mu);
    int slot = -1;
    for (int i = 0; i < WF_LIST_CACHE_SLOTS && slot < 0; i++)
        if (srv->cache[i].used && srv->cache[i].limit == limit && srv->cache[i].offset == offset)
            slot = i;
    for (int i = 0; i < WF_LIST_CACHE_SLOTS && slot < 0; i++)
        if (!srv->cache[i].used)
            slot = i;
    if (slot < 0) {
        slot = 0;
        for (int i = 1; i < WF_LIST_CACHE_SLOTS; i++)
            if (srv->cache[i].last_use < srv->cache[slot].last_use)
                slot = i;
    }
    if (!srv->cache[slot].used || srv->cache[slot].rev <= rev) {
        blob_unref(srv->cache[slot].blob);
        atomic_fetch_add(&b->refs, 1);
        srv->cache[slot].used = 1;
        srv->cache[slot].limit = limit;
        srv->cache[slot].offset = offset;
        srv->cache[slot].rev = rev;
        srv->cache[slot].blob = b;
        srv->cache[slot].last_use = ++srv->cache_tick;
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

enum MHD_Result wf_api_plugins_list(struct wf_req *rq)
{
    struct wf_http *srv = rq->srv;
    long limit, offset;
    if (query_int(rq, "limit", 1, LIST_LIMIT_MAX, -1, &limit) != 0)
        return wf_reply_error(rq, 422, "limit must be an integer from 1 to %d", LIST_LIMIT_MAX);
    if (query_int(rq, "offset", 0, INT_MAX, 0, &offset) != 0)
        return wf_reply_error(rq, 422, "offset must be an integer from 0 to %d", INT_MAX);

    if (wf_http_db_gate(srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    int64_t rev = 0;
    int rc = wf_http_db_note(srv, wf_store_plugins_revision(srv->store, &rev));
    if (rc != 0)
        return wf_reply_error(rq, wf_status_for(rc) == 404 ? 500 : wf_status_for(rc), "%s",
                              wf_detail_for(rc));
    /* The revision names the list's content: a client that has it gets
     * 304 and no body (weak: gzip and identity bytes differ). */
    char etag[80];
    snprintf(etag, sizeof etag, "W/\"%lld-%ld-%ld\"", (long long)rev, limit, offset);
    const char *inm = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm != NULL && strstr(inm, etag + 2) != NULL) {
        struct MHD_Response *nm = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (nm != NULL) {
            MHD_add_response_header(nm, MHD_HTTP_HEADER_ETAG, etag);
            MHD_add_response_header(nm, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        }
        return wf_reply_response(rq, 304, nm);
    }
    struct wf_blob *b = cache_get(srv, limit, offset, rev);
    if (b == NULL) {
        wf_plugin *list = NULL;
        size_t n = 0;
        rc = wf_store_plugin_list(srv->store, (int)limit, (int)offset, &list, &n);
        wf_http_db_note(srv, rc);
        if (rc != 0)
            return wf_reply_error(rq, wf_status_for(rc) == 404 ? 500 : wf_status_for(rc), "%s",
                                  wf_detail_for(rc));
        json_t *j = wf_json_plugin_list(list, n);
        wf_plugins_free(list, n);
        char *t = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(j);
        b = t ? blob_new(t) : NULL;
        free(t);
        if (b == NULL)
            return wf_reply_error(rq, 500, "Internal error: out of memory");
        cache_put(srv, limit, offset, rev, b);
    }
    /* The response holds a reference, so a newer revision replacing the
     * cache entry never frees bytes being sent. */
    struct MHD_Response *resp = NULL;
    const char *ae = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_ACCEPT_ENCODING);
    int gzip = b->gz != NULL && wf_accepts_gzip(ae);
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        gzip ? b->gz_len : b->len, gzip ? b->gz : b->data, blob_unref, b);
    if (resp == NULL)
        blob_unref(b);
    else if (gzip)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (resp == NULL)
        return wf_reply_error(rq, 500, "Internal error: out of memory");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    /* Revalidate every time: the ETag makes that cheap. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    return wf_reply_response(rq, 200, resp);
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

enum MHD_Result wf_api_plugin_code(struct wf_req *rq)
{
    char name[WF_PLUGIN_NAME_MAX_BYTES + 1];
    if (route_name(rq, name, sizeof name) != 0) {
        printable_name(rq->route.param, rq->route.param_len, name, sizeof name);
        return not_found(rq, name);
    }
    if (wf_http_db_gate(rq->srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    wf_plugin p = { 0 };
    int rc = wf_http_db_note(rq->srv, wf_store_plugin_get(rq->srv->store, name, &p));
    if (rc == WF_ENOTFOUND)
        return not_found(rq, name);
    if (rc != 0)
        return wf_reply_error(rq, wf_status_for(rc), "%s", wf_detail_for(rc));
    json_t *j = wf_json_plugin_code(&p);
    wf_plugin_clear(&p);
    return wf_reply_json(rq, 200, j);
}

enum MHD_Result wf_api_plugin_delete(struct wf_req *rq)
{
    char name[WF_PLUGIN_NAME_MAX_BYTES + 1];
    if (route_name(rq, name, sizeof name) != 0) {
        printable_name(rq->route.param, rq->route.param_len, name, sizeof name);
        return not_found(rq, name);
    }
    if (wf_http_db_gate(rq->srv) != 0)
        return wf_reply_error(rq, 503, "%s", wf_detail_for(WF_EUNAVAIL));
    int rc = wf_http_db_note(rq->srv, wf_store_plugin_delete(rq->srv->store, name));
    if (rc == WF_ENOTFOUND)
        return not_found(rq, name);
    if (rc != 0)
        return wf_reply_error(rq, wf_status_for(rc), "%s", wf_detail_for(rc));
    wf_log_info("plugin deleted: %s", name);
    return wf_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "deleted", "name", name));
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
