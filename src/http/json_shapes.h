/* json_shapes.h - the JSON answers of the API (SPEC §3), built from store
 * records and run results. Field names are the original's plus ours.
 *
 * Pure: every function returns a new jansson reference (NULL only when
 * out of memory) that the caller owns and json_decref()s. */
#ifndef WF_HTTP_JSON_SHAPES_H
#define WF_HTTP_JSON_SHAPES_H

#include <jansson.h>

#include "runs/runs.h"
#include "store/store.h"

/* {"detail": detail} */
json_t *wf_json_error(const char *detail);

/* A required body field that is missing or empty, as FastAPI (pydantic 1)
 * answers it, so the original's clients read it unchanged:
 * {"detail": [{"loc": ["body", field], "msg": "field required",
 *              "type": "value_error.missing"}]} */
json_t *wf_json_missing_field(const char *field);

/* GET /api/plugins/list entry (no code). */
json_t *wf_json_plugin_summary(const wf_plugin *p);
/* GET /api/plugins/{name}/code */
json_t *wf_json_plugin_code(const wf_plugin *p);
/* POST /api/plugins/upload answer. */
json_t *wf_json_plugin_uploaded(const wf_plugin *p);
/* An array of summaries. */
json_t *wf_json_plugin_list(const wf_plugin *list, size_t n);

/* A recorded run: the run result (wf_run_result_json, runs/runs.h, the one
 * builder of that shape) plus input_data. */
json_t *wf_json_run_record(const wf_run_record *r);

/* GET /api/models/list. allowed/n: ALLOWED_MODELS (n == 0: every model
 * Ollama has). tags: Ollama's "models" array, or NULL when Ollama is down
 * (then every allowed model is listed with available:false). type_of
 * gives a model's type from its tags entry (may be NULL: then "text"). */
typedef const char *(*wf_model_type_fn)(json_t *tag_entry, void *ctx);
json_t *wf_json_models_list(char *const *allowed, size_t n, json_t *tags,
                            wf_model_type_fn type_of, void *ctx);

/* A model's type guessed from its name alone (Ollama unreachable). */
const char *wf_model_type_from_name(const char *name);

#endif
