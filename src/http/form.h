/* form.h - request bodies as named fields: multipart/form-data,
 * application/x-www-form-urlencoded and a JSON object.
 *
 * Pure parsers over a complete, size-bounded body (the server refuses
 * bodies over the endpoint's limit before they are buffered). Strict: a
 * malformed body, a duplicate field or too many fields is WF_EINVAL with a
 * reason for a person in err. The form owns copies of every value; free it
 * with wf_form_free (safe on a zeroed form). */
#ifndef WF_HTTP_FORM_H
#define WF_HTTP_FORM_H

#include <stddef.h>

enum wf_body_kind {
    WF_BODY_NONE,        /* no Content-Type */
    WF_BODY_URLENCODED,
    WF_BODY_MULTIPART,
    WF_BODY_JSON,
    WF_BODY_OTHER,
};

#define WF_FORM_MAX_FIELDS 64
#define WF_BOUNDARY_MAX 70   /* RFC 2046 */

typedef struct wf_form_field {
    char *name;
    char *value;       /* NUL-terminated copy; value_len excludes the NUL */
    size_t value_len;
    char *filename;    /* multipart file parts only, else NULL */
    int not_string;    /* JSON bodies: the value was not a JSON string (it is
                          the value's JSON text) */
} wf_form_field;

typedef struct wf_form {
    wf_form_field *fields;
    size_t n;
} wf_form;

/* Classify a Content-Type header (NULL allowed); for multipart, copy the
 * boundary (WF_EINVAL when multipart has no valid boundary). */
int wf_body_kind_parse(const char *content_type, enum wf_body_kind *kind,
                       char *boundary, size_t boundary_len);

int wf_form_parse_urlencoded(const char *body, size_t len, wf_form *out,
                             char *err, size_t errlen);
int wf_form_parse_multipart(const char *boundary, const char *body, size_t len,
                            wf_form *out, char *err, size_t errlen);
/* A JSON object: strings are taken as they are, null counts as absent,
 * any other value becomes its compact JSON text. */
int wf_form_parse_json(const char *body, size_t len, wf_form *out,
                       char *err, size_t errlen);

/* The field called name, or NULL. */
const wf_form_field *wf_form_get(const wf_form *f, const char *name);
void wf_form_free(wf_form *f);

#endif
