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
#include "config/config.h"

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

/* Refusal classes, as the SDK's exception names. */
#define WF_AI_ERR_LIMIT      "AICallLimitError"
#define WF_AI_ERR_NOT_ALLOWED "ModelNotAllowedError"
#define WF_AI_ERR_TOO_LONG   "PromptTooLongError"
#define WF_AI_ERR_OPTIONS    "AIOptionsError"
#define WF_AI_ERR_GENERIC    "AIError"
#define WF_AI_ERR_UNAVAIL    "AIUnavailableError"
#define WF_AI_ERR_TIMEOUT    "AITimeoutError"

/* The host's decision on one call_ai request. */
typedef struct wf_ai_verdict {
    const char *cls;      /* NULL: the call may go ahead; else the refusal class */
    char message[256];    /* the text the plugin sees after "[ERROR] ": the
                           * original's strings exactly where it had one */
    char detail[256];     /* why, for the run's logs and the typed error */
    json_t *options;      /* the options to send on (checked, capped, built
                           * anew: nothing of the plugin's object is passed
                           * through), or NULL; the caller decrefs */
} wf_ai_verdict;

/* Decide a call_ai request, in the original's order: call limit
 * (calls_done counts successful calls only), missing model or prompt,
 * allowlist (exact name, wf_config_model_allowed), prompt length (prompt
 * and system text together, in characters, against MAX_PROMPT_LENGTH),
 * then ours: options (an allow-list of Ollama's sampling options, each
 * with its type and bounds; num_predict and num_ctx capped at
 * MAX_NUM_PREDICT and MAX_NUM_CTX). Returns v->cls. */
const char *wf_ai_policy_check(const wf_config *cfg, int calls_done, const wf_bridge_msg *m,
                               wf_ai_verdict *v);

#endif
