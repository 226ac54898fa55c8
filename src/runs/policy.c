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

int wf_ai_model_allowed(const wf_ai_policy *p, const char *model)
{
    if (p->allowed_n == 0)
        return 1;
    for (size_t i = 0; i < p->allowed_n; i++)
        if (strcmp(p->allowed[i], model) == 0)
            return 1;
    return 0;
}

const char *wf_ai_policy_check(const wf_ai_policy *p, int calls_done,
                               const wf_bridge_msg *m, char *msg, size_t msglen)
{
    if (calls_done >= p->max_calls) {
        wf_errorf(msg, msglen, "AI call limit reached");
        return WF_AI_ERR_LIMIT;
    }
    if (m->model_len == 0 || m->prompt_len == 0) {
        wf_errorf(msg, msglen, "Model and prompt are required");
        return WF_AI_ERR_GENERIC;
    }
    /* A NUL inside a name or prompt could make the name we check differ
     * from the one sent on. */
    if (strlen(m->model) != m->model_len) {
        wf_errorf(msg, msglen, "Model name contains a NUL character");
        return WF_AI_ERR_NOT_ALLOWED;
    }
    if (!wf_ai_model_allowed(p, m->model)) {
        wf_errorf(msg, msglen, "Model '%.200s' not allowed", m->model);
        return WF_AI_ERR_NOT_ALLOWED;
    }
    size_t chars = wf_utf8_chars(m->prompt, m->prompt_len);
    if (chars > (size_t)p->max_prompt_chars) {
        wf_errorf(msg, msglen, "Prompt too long (%zu characters, the limit is %d)",
                  chars, p->max_prompt_chars);
        return WF_AI_ERR_TOO_LONG;
    }
    if (strlen(m->prompt) != m->prompt_len ||
        (m->system != NULL && strlen(m->system) != m->system_len)) {
        wf_errorf(msg, msglen, "Prompt contains a NUL character");
        return WF_AI_ERR_GENERIC;
    }
    return NULL;
}

