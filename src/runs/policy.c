/* policy.c - the host's checks on what a runner sends: message shapes and
 * the AI call rules. The SDK's own behaviour is never relied on. */
#include "runs/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wf_error.h"

static int get_string(json_t *o, const char *key, int required, const char **s,
                      size_t *len, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    *s = NULL;
    if (len)
        *len = 0;
    if (v == NULL || json_is_null(v)) {
        if (!required)
            return 0;
        wf_errorf(err, errlen, "bridge message lacks the string field \"%s\"", key);
        return WF_EPROTO;
    }
    if (!json_is_string(v)) {
        wf_errorf(err, errlen, "bridge message field \"%s\" is not a string", key);
        return WF_EPROTO;
    }
    *s = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return 0;
}

/* Every key of the object must be one of `keys` (NULL-terminated). */
static int only_keys(json_t *o, const char *const *keys, char *err, size_t errlen)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        (void)v;
        int known = 0;
        for (const char *const *p = keys; *p; p++)
            if (strcmp(*p, k) == 0)
                known = 1;
        if (!known) {
            wf_errorf(err, errlen, "bridge message has an unknown field \"%.40s\"", k);
            return WF_EPROTO;
        }
    }
    return 0;
}

static int get_int(json_t *o, const char *key, int *out, char *err, size_t errlen)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000000) {
        wf_errorf(err, errlen, "bridge message field \"%s\" is not a small integer", key);
        return WF_EPROTO;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

int wf_bridge_msg_parse(json_t *frame, wf_bridge_msg *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    const char *op;
    if (get_string(frame, "op", 1, &op, NULL, err, errlen) < 0)
        return WF_EPROTO;
    if (strcmp(op, "call_ai") == 0) {
        static const char *const keys[] = {"op", "model", "prompt", "system", "options", NULL};
        m->op = WF_OP_CALL_AI;
        if (only_keys(frame, keys, err, errlen) < 0 ||
            get_string(frame, "model", 1, &m->model, &m->model_len, err, errlen) < 0 ||
            get_string(frame, "prompt", 1, &m->prompt, &m->prompt_len, err, errlen) < 0 ||
            get_string(frame, "system", 0, &m->system, &m->system_len, err, errlen) < 0)
            return WF_EPROTO;
        json_t *opt = json_object_get(frame, "options");
        if (opt != NULL && !json_is_null(opt)) {
            if (!json_is_object(opt)) {
                wf_errorf(err, errlen, "bridge message field \"options\" is not an object");
                return WF_EPROTO;
            }
            m->options = opt;
        }
        return 0;
    }
    if (strcmp(op, "list_models") == 0) {
        static const char *const keys[] = {"op", NULL};
        m->op = WF_OP_LIST_MODELS;
        return only_keys(frame, keys, err, errlen);
    }
    if (strcmp(op, "done") == 0) {
        static const char *const keys[] = {"op", "status", "error", "result_json", NULL};
        m->op = WF_OP_DONE;
        if (only_keys(frame, keys, err, errlen) < 0 ||
            get_string(frame, "status", 1, &m->status, NULL, err, errlen) < 0 ||
            get_string(frame, "error", 0, &m->error, NULL, err, errlen) < 0 ||
            get_string(frame, "result_json", 0, &m->result_json, NULL, err, errlen) < 0)
            return WF_EPROTO;
        if (strcmp(m->status, "ok") != 0 && strcmp(m->status, "plugin_error") != 0 &&
            strcmp(m->status, "memory_limit") != 0) {
            wf_errorf(err, errlen, "bridge message has an unknown run status");
            return WF_EPROTO;
        }
        if (m->result_json != NULL) {
            /* The result is re-parsed so that only valid JSON reaches the
             * store and the HTTP answer. */
            json_t *r = json_loads(m->result_json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
            if (r == NULL) {
                wf_errorf(err, errlen, "bridge message carries a result that is not JSON");
                return WF_EPROTO;
            }
            json_decref(r);
        }
        return 0;
    }
    if (strcmp(op, "checked") == 0) {
        static const char *const keys[] = {"op", "ok", "line", "col", "message", NULL};
        m->op = WF_OP_CHECKED;
        if (only_keys(frame, keys, err, errlen) < 0)
            return WF_EPROTO;
        json_t *ok = json_object_get(frame, "ok");
        if (!json_is_boolean(ok)) {
            wf_errorf(err, errlen, "bridge message field \"ok\" is not a boolean");
            return WF_EPROTO;
        }
        m->ok = json_is_true(ok);
        if (!m->ok && (get_int(frame, "line", &m->line, err, errlen) < 0 ||
                       get_int(frame, "col", &m->col, err, errlen) < 0 ||
                       get_string(frame, "message", 1, &m->message, NULL, err, errlen) < 0))
            return WF_EPROTO;
        return 0;
    }
    wf_errorf(err, errlen, "bridge message has an unknown op \"%.40s\"", op);
    return WF_EPROTO;
}

/* ---- options -------------------------------------------------------------- */

enum opt_kind { OPT_INT, OPT_NUM, OPT_BOOL, OPT_STOP };
/* How a value over its cap is treated: refused, or lowered to the cap
 * (num_predict -1 and -2, "no end" and "fill the context", too). */
enum opt_cap { CAP_NONE, CAP_PREDICT, CAP_CTX };

/* Ollama's documented sampling options (its Modelfile parameters and the
 * API's options), with bounds wide enough for every sensible use. Options
 * that pick hardware, threads or memory (num_gpu, num_thread, use_mmap,
 * ...) are the operator's, not a plugin's, and are not on the list. */
static const struct opt_rule {
    const char *name;
    double min, max;
    enum opt_kind kind;
    enum opt_cap cap;
} opt_rules[] = {
    {"temperature", 0, 5, OPT_NUM, CAP_NONE},
    {"top_p", 0, 1, OPT_NUM, CAP_NONE},
    {"top_k", 0, 1000, OPT_INT, CAP_NONE},
    {"min_p", 0, 1, OPT_NUM, CAP_NONE},
    {"typical_p", 0, 1, OPT_NUM, CAP_NONE},
    {"tfs_z", 0, 10, OPT_NUM, CAP_NONE},
    {"seed", -1, 2147483647, OPT_INT, CAP_NONE},
    {"num_predict", -2, 0, OPT_INT, CAP_PREDICT},
    {"num_ctx", 1, 0, OPT_INT, CAP_CTX},
    {"num_keep", -1, 0, OPT_INT, CAP_CTX},
    {"repeat_last_n", -1, 0, OPT_INT, CAP_CTX},
    {"repeat_penalty", 0, 10, OPT_NUM, CAP_NONE},
    {"presence_penalty", -2, 2, OPT_NUM, CAP_NONE},
    {"frequency_penalty", -2, 2, OPT_NUM, CAP_NONE},
    {"mirostat", 0, 2, OPT_INT, CAP_NONE},
    {"mirostat_tau", 0, 20, OPT_NUM, CAP_NONE},
    {"mirostat_eta", 0, 1, OPT_NUM, CAP_NONE},
    {"penalize_newline", 0, 0, OPT_BOOL, CAP_NONE},
    {"stop", 0, 0, OPT_STOP, CAP_NONE},
};

#define WF_STOP_MAX 16        /* stop sequences per call */
#define WF_STOP_CHARS 256     /* characters per stop sequence */

static const struct opt_rule *opt_rule_find(const char *name)
{
    for (size_t i = 0; i < sizeof opt_rules / sizeof opt_rules[0]; i++)
        if (strcmp(opt_rules[i].name, name) == 0)
            return &opt_rules[i];
    return NULL;
}

static int stop_ok(json_t *s)
{
    if (!json_is_string(s))
        return 0;
    size_t n = json_string_length(s);
    return n > 0 && strlen(json_string_value(s)) == n &&
           wf_utf8_chars(json_string_value(s), n) <= WF_STOP_CHARS;
}

/* One option's value, checked: a new value to send on, or NULL with
 * v->detail saying what is accepted. */
static json_t *opt_value(const wf_config *cfg, const struct opt_rule *r, json_t *val,
                         wf_ai_verdict *v)
{
    switch (r->kind) {
    case OPT_BOOL:
        if (json_is_boolean(val))
            return json_boolean(json_is_true(val));
        wf_errorf(v->detail, sizeof v->detail, "option '%s' must be true or false", r->name);
        return NULL;
    case OPT_STOP:
        if (stop_ok(val))
            return json_incref(val);
        if (json_is_array(val) && json_array_size(val) <= WF_STOP_MAX) {
            size_t i;
            json_t *s;
            int ok = 1;
            json_array_foreach(val, i, s)
                ok = ok && stop_ok(s);
            if (ok)
                return json_deep_copy(val);
        }
        wf_errorf(v->detail, sizeof v->detail,
                  "option 'stop' must be a string or a list of at most %d strings of 1 to %d "
                  "characters", WF_STOP_MAX, WF_STOP_CHARS);
        return NULL;
    case OPT_NUM:
        if (json_is_number(val) && json_number_value(val) >= r->min &&
            json_number_value(val) <= r->max)
            return json_real(json_number_value(val));
        wf_errorf(v->detail, sizeof v->detail, "option '%s' must be a number from %g to %g",
                  r->name, r->min, r->max);
        return NULL;
    case OPT_INT:
        break;
    }
    long long max = r->cap == CAP_PREDICT ? cfg->max_num_predict
                    : r->cap == CAP_CTX   ? cfg->max_num_ctx
                                          : (long long)r->max;
    if (json_is_integer(val) && json_integer_value(val) >= (json_int_t)r->min) {
        long long n = json_integer_value(val);
        if (r->cap == CAP_PREDICT && n == 0) {
            wf_errorf(v->detail, sizeof v->detail, "option 'num_predict' must not be 0");
            return NULL;
        }
        if (r->cap == CAP_PREDICT && n < 0)
            n = max; /* "until the model stops": as far as the cap allows */
        if (n <= max || r->cap != CAP_NONE)
            return json_integer(n < max ? n : max);
    }
    wf_errorf(v->detail, sizeof v->detail, "option '%s' must be a whole number from %lld to %lld",
              r->name, (long long)r->min, max);
    return NULL;
}

/* Check every option and build the object to send on. 0, or -1 with v's
 * refusal filled in. */
static int options_check(const wf_config *cfg, json_t *in, wf_ai_verdict *v)
{
    if (in == NULL || json_object_size(in) == 0)
        return 0;
    json_t *out = json_object();
    if (out == NULL) {
        v->cls = WF_AI_ERR_GENERIC;
        wf_errorf(v->message, sizeof v->message, "the host is out of memory");
        return -1;
    }
    const char *k;
    json_t *val;
    json_object_foreach(in, k, val) {
        const struct opt_rule *r = strlen(k) < 64 ? opt_rule_find(k) : NULL;
        if (r == NULL) {
            json_decref(out);
            v->cls = WF_AI_ERR_OPTIONS;
            wf_errorf(v->message, sizeof v->message, "Option '%.64s' not allowed", k);
            wf_errorf(v->detail, sizeof v->detail,
                      "allowed options: temperature, top_p, top_k, min_p, typical_p, tfs_z, seed, "
                      "num_predict, num_ctx, num_keep, repeat_last_n, repeat_penalty, "
                      "presence_penalty, frequency_penalty, mirostat, mirostat_tau, "
                      "mirostat_eta, penalize_newline, stop");
            return -1;
        }
        json_t *clean = opt_value(cfg, r, val, v);
        if (clean == NULL || json_object_set_new(out, r->name, clean) != 0) {
            json_decref(out);
            v->cls = WF_AI_ERR_OPTIONS;
            wf_errorf(v->message, sizeof v->message, "Invalid value for option '%s'", r->name);
            return -1;
        }
    }
    v->options = out;
    return 0;
}

/* ---- the rules ------------------------------------------------------------- */

static const char *refuse(wf_ai_verdict *v, const char *cls, const char *message)
{
    v->cls = cls;
    wf_errorf(v->message, sizeof v->message, "%s", message);
    return cls;
}

const char *wf_ai_policy_check(const wf_config *cfg, int calls_done, const wf_bridge_msg *m,
                               wf_ai_verdict *v)
{
    memset(v, 0, sizeof *v);
    if (calls_done >= cfg->max_ai_calls) {
        wf_errorf(v->detail, sizeof v->detail, "this run made its %d AI calls "
                  "(MAX_AI_CALLS_PER_EXECUTION)", cfg->max_ai_calls);
        return refuse(v, WF_AI_ERR_LIMIT, "AI call limit reached");
    }
    if (m->model_len == 0 || m->prompt_len == 0) {
        wf_errorf(v->detail, sizeof v->detail, "call_ai needs a model name and a prompt");
        return refuse(v, WF_AI_ERR_GENERIC, "Missing model or prompt");
    }
    /* The name is checked as a C string; a NUL inside it would make the
     * name checked differ from the name sent on, so it is never allowed. */
    int nul = strlen(m->model) != m->model_len;
    if (nul || !wf_config_model_allowed(cfg, m->model)) {
        v->cls = WF_AI_ERR_NOT_ALLOWED;
        wf_errorf(v->message, sizeof v->message, "Model '%.200s' not allowed", m->model);
        wf_errorf(v->detail, sizeof v->detail, nul ? "the model name holds a NUL character"
                  : "ALLOWED_MODELS does not list it (exact names, such as 'mistral:latest')");
        return v->cls;
    }
    /* Every text the model reads counts: the system text is as much a
     * prompt as the prompt. */
    size_t chars = wf_utf8_chars(m->prompt, m->prompt_len);
    if (m->system != NULL)
        chars += wf_utf8_chars(m->system, m->system_len);
    if (chars > (size_t)cfg->max_prompt_length) {
        wf_errorf(v->detail, sizeof v->detail, "%zu characters in the prompt%s; "
                  "MAX_PROMPT_LENGTH is %d", chars, m->system ? " and the system text" : "",
                  cfg->max_prompt_length);
        return refuse(v, WF_AI_ERR_TOO_LONG, "Prompt too long");
    }
    if (strlen(m->prompt) != m->prompt_len ||
        (m->system != NULL && strlen(m->system) != m->system_len)) {
        wf_errorf(v->detail, sizeof v->detail, "a NUL character cannot be sent to a model");
        return refuse(v, WF_AI_ERR_GENERIC, "Prompt contains a NUL character");
    }
    if (options_check(cfg, m->options, v) < 0)
        return v->cls;
    return NULL;
}

