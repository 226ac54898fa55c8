/* json_shapes.c - one builder per answer shape, so every endpoint (and the
 * tests) produce exactly the same fields. */
#include "http/json_shapes.h"

#include <string.h>
#include <strings.h>

/* jansson refuses NULL strings; absent text becomes null or "". */
static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *str_or_empty(const char *s)
{
    return json_string(s ? s : "");
}

json_t *wf_json_missing_field(const char *field)
{
    return json_pack("{s:[{s:[s,s], s:s, s:s}]}", "detail", "loc", "body", field, "msg",
                     "field required", "type", "value_error.missing");
}

json_t *wf_json_error(const char *detail)
{
    if (detail == NULL)
        detail = "error";
    json_t *d = json_string(detail);
    if (d == NULL) {
        /* A detail quoting hostile input may not be UTF-8: keep it
         * readable and the answer valid JSON. */
        char buf[1024];
        size_t i;
        for (i = 0; i < sizeof buf - 1 && detail[i]; i++)
            buf[i] = (unsigned char)detail[i] < 0x80 ? detail[i] : '?';
        buf[i] = '\0';
        d = json_string(buf);
    }
    return json_pack("{s:o}", "detail", d);
}

static json_t *plugin_common(const wf_plugin *p)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:i, s:i, s:I, s:o, s:o, s:o}",
                     "name", str_or_empty(p->name),
                     "description", str_or_empty(p->description),
                     "input_type", json_string(p->input_type ? p->input_type : "text"),
                     "input_hint", str_or_empty(p->input_hint),
                     "calls", p->calls,
                     "version", p->version,
                     "size_bytes", (json_int_t)p->size_bytes,
                     "sha256", str_or_null(p->sha256),
                     "created_at", str_or_null(p->created_at),
                     "updated_at", str_or_null(p->updated_at));
}

json_t *wf_json_plugin_summary(const wf_plugin *p)
{
    return plugin_common(p);
}

json_t *wf_json_plugin_code(const wf_plugin *p)
{
    json_t *j = plugin_common(p);
    if (j != NULL)
        json_object_set_new(j, "code", str_or_empty(p->code));
    return j;
}

json_t *wf_json_plugin_uploaded(const wf_plugin *p)
{
    json_t *j = wf_json_plugin_code(p);
    if (j != NULL)
        json_object_set_new(j, "status", json_string("uploaded"));
    return j;
}

json_t *wf_json_plugin_list(const wf_plugin *list, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *item = plugin_common(&list[i]);
        if (item == NULL || json_array_append_new(arr, item) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *wf_json_run_summary(const wf_run_record *r)
{
    return json_pack("{s:o, s:o, s:i, s:b, s:o, s:i, s:I, s:o}",
                     "run_id", str_or_empty(r->run_id),
                     "plugin", str_or_empty(r->plugin),
                     "version", r->version,
                     "success", r->success,
                     "error_type", str_or_null(r->error_type),
                     "ai_calls", r->ai_calls,
                     "duration_ms", (json_int_t)r->duration_ms,
                     "started_at", str_or_empty(r->started_at));
}

json_t *wf_json_run_record(const wf_run_record *r)
{
    wf_run_result res = {
        .run_id = r->run_id, .plugin = r->plugin, .version = r->version,
        .success = r->success, .output = r->output, .stdout_text = r->stdout_text,
        .error = r->error,
        .error_type = r->error_type, .result_json = r->result_json, .logs = r->logs,
        .ai_calls = r->ai_calls, .duration_ms = r->duration_ms, .started_at = r->started_at,
        .input_data = r->input_data ? r->input_data : "",
    };
    json_t *j = wf_run_result_json(&res);
    /* The limits a run given its own ran under (NULL otherwise). */
    json_t *lim = j && r->limits_json ? json_loads(r->limits_json, 0, NULL) : NULL;
    if (lim != NULL && json_object_set_new(j, "limits", lim) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The original's model table (its models.py): type and description of the
 * four models it knew. */
static const struct {
    const char *name, *type, *description;
} original_models[] = {
    {"mistral:latest", "code", "Code review, bug detection, generation"},
    {"llama3.2:latest", "text", "Summarization, translation, analysis, Q&A"},
    {"gemma2:2b", "text", "Lightweight text generation and analysis"},
    {"qwen2.5:1.5b", "text", "Multilingual text processing"},
};

/* A tags entry's model name ("name", or "model" in some versions). */
static const char *tag_name(json_t *t)
{
    const char *n = json_string_value(json_object_get(t, "name"));
    return n ? n : json_string_value(json_object_get(t, "model"));
}

static json_t *find_tag(json_t *tags, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        const char *n = tag_name(t);
        if (n != NULL && strcmp(n, name) == 0)
            return t;
    }
    return NULL;
}

/* A JSON string from an Ollama field, or null when absent or not a string. */
static json_t *tag_str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? json_string(s) : json_null();
}

static json_t *model_entry(const char *name, json_t *tag)
{
    json_t *details = tag ? json_object_get(tag, "details") : NULL;
    const char *type = "text";
    const char *desc = NULL;
    for (size_t i = 0; i < sizeof original_models / sizeof original_models[0]; i++) {
        if (strcmp(original_models[i].name, name) == 0) {
            type = original_models[i].type;
            desc = original_models[i].description;
        }
    }
    json_t *d = desc ? json_string(desc) : json_sprintf("%s model", name);
    json_t *size = json_object_get(tag, "size");
    return json_pack("{s:s, s:s, s:o, s:b, s:b, s:o, s:o, s:o, s:o}",
                     "name", name,
                     "type", type,
                     "description", d,
                     "available", tag != NULL,
                     "allowed", 1,
                     "family", tag_str(details, "family"),
                     "parameter_size", tag_str(details, "parameter_size"),
                     "quantization", tag_str(details, "quantization_level"),
                     "size_bytes", json_is_integer(size) ? json_integer(json_integer_value(size))
                                                         : json_null());
}

json_t *wf_json_models_list(const wf_config *cfg, json_t *tags)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    if (!cfg->allowed_models_all) {
        for (size_t i = 0; i < cfg->allowed_models_n; i++) {
            json_t *tag = json_is_array(tags) ? find_tag(tags, cfg->allowed_models[i]) : NULL;
            json_t *e = model_entry(cfg->allowed_models[i], tag);
            if (e == NULL || json_array_append_new(arr, e) != 0)
                goto oom;
        }
        return arr;
    }
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        const char *name = tag_name(t);
        if (name == NULL)
            continue;
        json_t *e = model_entry(name, t);
        if (e == NULL || json_array_append_new(arr, e) != 0)
            goto oom;
    }
    return arr;
oom:
    json_decref(arr);
    return NULL;
}
