/* store.c - the store's public functions: checks every argument once, fills
 * defaults, then hands over to the back end the configuration names. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "common/plugin_name.h"
#include "common/utf8.h"
#include "common/wf_error.h"
#include "store/store_util.h"

/* A plugin name by the one rule (common/plugin_name.h). */
static int name_ok(const char *name)
{
    return name != NULL && wf_plugin_name_valid(name, strlen(name), NULL);
}

int wf_store_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen)
{
    if (out == NULL)
        return WF_EINVAL;
    *out = NULL;
    if (cfg == NULL) {
        wf_errorf(err, errlen, "store: no configuration");
        return WF_EINVAL;
    }
    switch (cfg->db_kind) {
    case WF_DB_SQLITE:
        return wf_store_sqlite_open(cfg, out, err, errlen);
    case WF_DB_POSTGRES:
        return wf_store_pg_open(cfg, out, err, errlen);
    }
    wf_errorf(err, errlen, "store: unknown database kind %d", (int)cfg->db_kind);
    return WF_EINVAL;
}

void wf_store_close(wf_store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

const char *wf_store_kind(const wf_store *st)
{
    return st->ops->kind;
}

int wf_store_ping(wf_store *st)
{
    return st->ops->ping(st);
}

static int text_ok(const char *s)
{
    return s != NULL && wf_utf8_valid(s, strlen(s));
}

static int dup_into(char **dst, const char *src)
{
    *dst = strdup(src);
    return *dst ? 0 : WF_ENOMEM;
}

int wf_store_plugin_put(wf_store *st, const wf_plugin *in, wf_plugin *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (in == NULL || !name_ok(in->name) || !text_ok(in->code))
        return WF_EINVAL;
    wf_store_plugin_in w = {
        .name = in->name,
        .code = in->code,
        .description = in->description ? in->description : "",
        .input_type = in->input_type ? in->input_type : "text",
        .input_hint = in->input_hint ? in->input_hint : "",
        .calls = in->calls < 1 ? 1 : in->calls,
    };
    if (!text_ok(w.description) || !text_ok(w.input_hint) ||
        strlen(w.description) > WF_PLUGIN_TEXT_MAX || strlen(w.input_hint) > WF_PLUGIN_TEXT_MAX)
        return WF_EINVAL;
    if (!text_ok(w.input_type) ||
        wf_utf8_chars(w.input_type, strlen(w.input_type)) > WF_PLUGIN_INPUT_TYPE_MAX)
        return WF_EINVAL;
    size_t len = strlen(w.code);
    w.size_bytes = (int64_t)len;
    wf_store_sha256_hex(w.code, len, w.sha256);
    wf_store_timestamp_now(w.now);

    int version = 0;
    char created_at[WF_STORE_TS_LEN] = "";
    int rc = st->ops->plugin_put(st, &w, &version, created_at);
    if (rc != 0 || out == NULL)
        return rc;

    out->version = version;
    out->calls = w.calls;
    out->size_bytes = w.size_bytes;
    rc = dup_into(&out->name, w.name);
    if (!rc) rc = dup_into(&out->code, w.code);
    if (!rc) rc = dup_into(&out->description, w.description);
    if (!rc) rc = dup_into(&out->input_type, w.input_type);
    if (!rc) rc = dup_into(&out->input_hint, w.input_hint);
    if (!rc) rc = dup_into(&out->sha256, w.sha256);
    if (!rc) rc = dup_into(&out->created_at, created_at);
    if (!rc) rc = dup_into(&out->updated_at, w.now);
    /* The version is stored; only the copy for the caller failed. */
    if (rc)
        wf_plugin_clear(out);
    return rc;
}

int wf_store_plugin_get(wf_store *st, const char *name, wf_plugin *out)
{
    memset(out, 0, sizeof *out);
    if (!name_ok(name))
        return WF_ENOTFOUND;
    return st->ops->plugin_get(st, name, out);
}

int wf_store_plugin_delete(wf_store *st, const char *name)
{
    if (!name_ok(name))
        return WF_ENOTFOUND;
    return st->ops->plugin_delete(st, name);
}

int wf_store_plugin_list(wf_store *st, int limit, int offset, wf_plugin **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (offset < 0)
        return WF_EINVAL;
    if (limit == 0)
        return 0;
    return st->ops->plugin_list(st, limit < 0 ? -1 : limit, offset, out, n);
}

int wf_store_plugins_revision(wf_store *st, int64_t *rev)
{
    return st->ops->plugins_revision(st, rev);
}

/* Replaces *field with a UTF-8-clean copy when it is not valid UTF-8; the
 * copy is remembered in *owned for freeing. */
static int clean_text(char **field, char **owned)
{
    size_t len = *field ? strlen(*field) : 0;
    if (*field == NULL || wf_utf8_valid(*field, len))
        return 0;
    *owned = wf_utf8_sanitize(*field, len, len, NULL);
    if (*owned == NULL)
        return WF_ENOMEM;
    *field = *owned;
    return 0;
}

static int run_put(wf_store *st, const wf_run_record *rec, int durable)
{
    if (rec == NULL || !wf_store_uuid_valid(rec->run_id) || !name_ok(rec->plugin) ||
        rec->ai_calls < 0 || rec->duration_ms < 0 || rec->version < 0)
        return WF_EINVAL;
    /* "" as NULL: a run that never started still gets recorded */
    int started = rec->started_at != NULL && rec->started_at[0] != '\0';
    if (started && !wf_store_timestamp_valid(rec->started_at))
        return WF_EINVAL;
    static const char *const types[] = {"plugin_error", "timeout", "sandbox_violation",
                                        "runtime_error", "memory_limit"};
    if (rec->error_type != NULL) {
        size_t i = 0;
        while (i < sizeof types / sizeof types[0] && strcmp(types[i], rec->error_type) != 0)
            i++;
        if (i == sizeof types / sizeof types[0])
            return WF_EINVAL;
    }

    char now[WF_STORE_TS_LEN];
    wf_run_record w = *rec;
    w.success = rec->success != 0;
    if (w.output == NULL)
        w.output = "";
    if (w.logs == NULL)
        w.logs = "";
    if (w.input_data == NULL)
        w.input_data = "";
    if (!started) {
        wf_store_timestamp_now(now);
        w.started_at = now;
    }
    char *owned[5] = {0};
    char **fields[5] = {&w.output, &w.error, &w.result_json, &w.logs, &w.input_data};
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = clean_text(fields[i], &owned[i]);
    if (rc == 0)
        rc = st->ops->run_put(st, &w, durable);
    for (int i = 0; i < 5; i++)
        free(owned[i]);
    return rc;
}

int wf_store_run_put(wf_store *st, const wf_run_record *rec)
{
    return run_put(st, rec, 1);
}

int wf_store_run_put_nosync(wf_store *st, const wf_run_record *rec)
{
    return run_put(st, rec, 0);
}

int wf_store_sync(wf_store *st)
{
    return st->ops->sync ? st->ops->sync(st) : 0;
}

int wf_store_run_get(wf_store *st, const char *run_id, wf_run_record *out)
{
    memset(out, 0, sizeof *out);
    if (!wf_store_uuid_valid(run_id))
        return WF_ENOTFOUND;
    return st->ops->run_get(st, run_id, out);
}

int wf_store_run_list(wf_store *st, const char *plugin, int limit, int offset,
                      wf_run_record **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (limit < 1 || offset < 0)
        return WF_EINVAL;
    if (plugin != NULL && !name_ok(plugin))
        return 0;  /* no run can name it */
    return st->ops->run_list(st, plugin, limit, offset, out, n);
}
