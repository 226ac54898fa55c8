/* validate.h - checks on untrusted request input: plugin names, UTF-8,
 * query integers, bearer tokens, CORS origins.
 *
 * Pure functions (no I/O, no allocation) so each rule is unit-tested and
 * fuzzed on its own. */
#ifndef WF_HTTP_VALIDATE_H
#define WF_HTTP_VALIDATE_H

#include <stddef.h>

#include "common/plugin_name.h"
#include "common/utf8.h"

/* Plugin names: wf_plugin_name_valid (common/plugin_name.h), the rule the
 * store and the CLI apply too. */

/* Percent-decode s in place (a URL's path or a query value) and return its
 * new length. "%00" stays as it is: a NUL would end the C string early, so
 * "DELETE /api/plugins/x%00y" would name plugin "x". */
size_t wf_url_unescape(char *s);

/* A run id as the store makes them (UUID text). */
int wf_run_id_valid(const char *s, size_t len);

/* Well-formed UTF-8 is wf_utf8_valid (common/utf8.h), the validator the
 * store applies too. NUL bytes are valid UTF-8; wf_has_nul finds them. */
int wf_has_nul(const char *s, size_t len);

/* A query integer: optional '+', decimal digits only, within [min, max].
 * 0 on success; -1 otherwise. */
int wf_parse_int(const char *s, long min, long max, long *out);

/* Number of "call_ai(" in code, at least 1 (the original's count). */
int wf_count_ai_calls(const char *code, size_t len);

/* Does the Authorization header carry "Bearer <token>"? Constant time in
 * the token's length. 1 = yes. */
int wf_auth_ok(const char *authorization, const char *token);

/* The Access-Control-Allow-Origin value for a request: "*" when the
 * configuration is "*" (or empty); the request's origin when it is in the
 * comma list; NULL when the origin is not allowed or absent. */
const char *wf_cors_allow_origin(const char *cors_origins, const char *origin);

/* Does an Accept-Encoding header value allow gzip? A "gzip" coding with
 * q=0 refuses it; "*" is not taken as gzip. */
int wf_accepts_gzip(const char *accept_encoding);

#endif
