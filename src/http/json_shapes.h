/* json_shapes.h - the JSON answers of the API (SPEC §3), built from store
 * records and run results. Field names are the original's plus ours.
 *
 * Pure: every function returns a new jansson reference (NULL only when
 * out of memory) that the caller owns and json_decref()s. */
#ifndef WF_HTTP_JSON_SHAPES_H
#define WF_HTTP_JSON_SHAPES_H

#include <jansson.h>

#include "config/config.h"

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

/* A GET /api/runs entry: what a list of runs shows (id, plugin, version,
 * outcome, duration, AI calls, start); the rest is at /api/runs/{id}. */
json_t *wf_json_run_summary(const wf_run_record *r);

/* A recorded run: the run result (wf_run_result_json, runs/runs.h, the one
 * builder of that shape) plus input_data. */
json_t *wf_json_run_record(const wf_run_record *r);

/* GET /api/models/list: the ALLOWED_MODELS in their order (with "*":
 * every model in tags), each with the original's type and description
 * (its table for its four models; else "text" and "<name> model"),
 * available = in tags, and our facts from the tags entry. tags: Ollama's
 * "models" array, or NULL when Ollama is down (every model unavailable). */
json_t *wf_json_models_list(const wf_config *cfg, json_t *tags);

#endif
