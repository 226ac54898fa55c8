/* policy.h - what the host accepts from a runner: the shape of each bridge
 * message and the AI call rules (SPEC §4, §5). Pure code, unit-tested.
 *
 * Shape errors (a field missing or of the wrong type, an unknown op) mean
 * the frame was not written by our SDK: the run ends as sandbox_violation.
 * Policy refusals (call limit, model not allowed, prompt too long) are
 * normal answers the plugin sees as "[ERROR] ..." or an exception.
 *
 * Ownership: wf_bridge_msg fields point into the json_t they came from and
 * live as long as it does. */
#ifndef WF_RUNS_POLICY_H
#define WF_RUNS_POLICY_H

#include <jansson.h>
#include <stddef.h>

#include "common/utf8.h"

enum wf_bridge_op {
    WF_OP_CALL_AI = 1,
    WF_OP_LIST_MODELS,
    WF_OP_DONE,
    WF_OP_CHECKED,
};

typedef struct wf_bridge_msg {
    enum wf_bridge_op op;
    /* call_ai */
    const char *model;   size_t model_len;
    const char *prompt;  size_t prompt_len;
    const char *system;  size_t system_len;   /* NULL when absent */
    json_t *options;                          /* NULL when absent */
    /* done */
    const char *status;                       /* "ok" | "plugin_error" | "memory_limit" */
    const char *error;                        /* NULL when none */
    const char *result_json;                  /* NULL when none */
    /* checked */
    int ok;
    int line, col;
    const char *message;
} wf_bridge_msg;

/* Check a frame's shape and pick its fields. 0 or WF_EPROTO with err. */
int wf_bridge_msg_parse(json_t *frame, wf_bridge_msg *out, char *err, size_t errlen);

typedef struct wf_ai_policy {
    int max_calls;                /* successful calls allowed per run */
    int max_prompt_chars;         /* characters (code points) per prompt */
    char *const *allowed;         /* exact model names; n == 0 means all */
    size_t allowed_n;
} wf_ai_policy;

/* Refusal classes, as the SDK's exception names. */
#define WF_AI_ERR_LIMIT      "AICallLimitError"
#define WF_AI_ERR_NOT_ALLOWED "ModelNotAllowedError"
#define WF_AI_ERR_TOO_LONG   "PromptTooLongError"
#define WF_AI_ERR_GENERIC    "AIError"
#define WF_AI_ERR_UNAVAIL    "AIUnavailableError"
#define WF_AI_ERR_TIMEOUT    "AITimeoutError"

/* Decide a call_ai request, in the original's order: call limit, missing
 * model or prompt, allowlist (exact name), prompt length. calls_done
 * counts successful calls only. Returns NULL when the call may go ahead,
 * else the refusal class, with the reason in msg. */
const char *wf_ai_policy_check(const wf_ai_policy *p, int calls_done,
                               const wf_bridge_msg *m, char *msg, size_t msglen);

int wf_ai_model_allowed(const wf_ai_policy *p, const char *model);

/* Number of code points in valid UTF-8 text: wf_utf8_chars (common/utf8.h). */

#endif
