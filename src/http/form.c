/* form.c - strict parsers for the three body formats the API accepts. They
 * work on {pointer, length} views of the buffered body and copy out only
 * the values they return. */
#include "http/form.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/wf_error.h"

void wf_form_free(wf_form *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->fields[i].name);
        free(f->fields[i].value);
        free(f->fields[i].filename);
    }
    free(f->fields);
    f->fields = NULL;
    f->n = 0;
}

const wf_form_field *wf_form_get(const wf_form *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return &f->fields[i];
    return NULL;
}

static char *dup_mem(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        if (n > 0)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Add a field taking ownership of name, value and filename (freed on
 * error). */
static int form_add(wf_form *f, char *name, char *value, size_t value_len, char *filename,
                    char *err, size_t errlen)
{
    int rc = 0;
    if (name == NULL || value == NULL) {
        rc = WF_ENOMEM;
    } else if (f->n >= WF_FORM_MAX_FIELDS) {
        wf_errorf(err, errlen, "too many form fields (at most %d)", WF_FORM_MAX_FIELDS);
        rc = WF_EINVAL;
    } else if (wf_form_get(f, name) != NULL) {
        wf_errorf(err, errlen, "field '%.64s' is given more than once", name);
        rc = WF_EINVAL;
    } else {
        wf_form_field *nf = realloc(f->fields, (f->n + 1) * sizeof *nf);
        if (nf == NULL) {
            rc = WF_ENOMEM;
        } else {
            f->fields = nf;
            f->fields[f->n++] = (wf_form_field){ name, value, value_len, filename, 0 };
            return 0;
        }
    }
    if (rc == WF_ENOMEM)
        wf_errorf(err, errlen, "out of memory");
    free(name);
    free(value);
    free(filename);
    return rc;
}

/* ---- Content-Type ------------------------------------------------------ */

static int is_tchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?={}", c) == NULL;
}

/* Read one parameter value (token or quoted-string) at *p into out. */
static int param_value(const char **p, char *out, size_t outlen)
{
    const char *s = *p;
    size_t j = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            if (j + 1 >= outlen)
                return -1;
            out[j++] = *s++;
        }
        if (*s != '"')
            return -1;
        s++;
    } else {
        while (*s && *s != ';' && *s != ' ' && *s != '\t') {
            if (j + 1 >= outlen)
                return -1;
            out[j++] = *s++;
        }
    }
    out[j] = '\0';
    *p = s;
    return 0;
}

static int boundary_valid(const char *b)
{
    size_t n = strlen(b);
    if (n == 0 || n > WF_BOUNDARY_MAX || b[n - 1] == ' ')
        return 0;
    for (const char *p = b; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              strchr("'()+_,-./:=? ", *p) != NULL))
            return 0;
    return 1;
}

int wf_body_kind_parse(const char *ct, enum wf_body_kind *kind, char *boundary, size_t blen)
{
    if (boundary != NULL && blen > 0)
        boundary[0] = '\0';
    if (ct == NULL) {
        *kind = WF_BODY_NONE;
        return 0;
    }
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t mlen = strcspn(ct, "; \t");
    if (mlen == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        *kind = WF_BODY_URLENCODED;
    else if (mlen == 19 && strncasecmp(ct, "multipart/form-data", 19) == 0)
        *kind = WF_BODY_MULTIPART;
    else if (mlen == 16 && strncasecmp(ct, "application/json", 16) == 0)
        *kind = WF_BODY_JSON;
    else {
        *kind = WF_BODY_OTHER;
        return 0;
    }
    if (*kind != WF_BODY_MULTIPART)
        return 0;

    const char *p = ct + mlen;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        if (*p == '\0')
            return WF_EINVAL; /* no boundary */
        const char *key = p;
        while (is_tchar((unsigned char)*p))
            p++;
        size_t klen = (size_t)(p - key);
        if (*p != '=' || klen == 0)
            return WF_EINVAL;
        p++;
        char val[WF_BOUNDARY_MAX + 2];
        if (param_value(&p, val, sizeof val) != 0)
            return WF_EINVAL;
        if (klen == 8 && strncasecmp(key, "boundary", 8) == 0) {
            size_t vlen = strlen(val);
            if (!boundary_valid(val) || boundary == NULL || vlen >= blen)
                return WF_EINVAL;
            memcpy(boundary, val, vlen + 1);
            return 0;
        }
    }
}

/* ---- application/x-www-form-urlencoded --------------------------------- */

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode s[0..n) ('+' is a space, %XX a byte) into a new string. */
static char *url_decode(const char *s, size_t n, size_t *outlen, int *bad)
{
    char *out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[j++] = ' ';
        } else if (s[i] == '%') {
            if (n - i < 3 || hexval((unsigned char)s[i + 1]) < 0 ||
                hexval((unsigned char)s[i + 2]) < 0) {
                *bad = 1;
                free(out);
                return NULL;
            }
            out[j++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    *outlen = j;
    return out;
}

int wf_form_parse_urlencoded(const char *body, size_t len, wf_form *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (i < len) {
        const char *pair = body + i;
        const char *amp = memchr(pair, '&', len - i);
        size_t plen = amp ? (size_t)(amp - pair) : len - i;
        i += plen + 1;
        if (plen == 0)
            continue;
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq ? (size_t)(eq - pair) : plen;
        int bad = 0;
        size_t dn = 0, dv = 0;
        char *name = url_decode(pair, nlen, &dn, &bad);
        char *value = name == NULL ? NULL
                      : eq ? url_decode(eq + 1, plen - nlen - 1, &dv, &bad) : dup_mem("", 0);
        if (bad) {
            free(name);
            free(value);
            wf_form_free(out);
            wf_errorf(err, errlen, "malformed percent-encoding in the form body");
            return WF_EINVAL;
        }
        if (name != NULL && (dn == 0 || strlen(name) != dn)) {
            free(name);
            free(value);
            wf_form_free(out);
            wf_errorf(err, errlen, "a form field has an empty or invalid name");
            return WF_EINVAL;
        }
        int rc = form_add(out, name, value, dv, NULL, err, errlen);
        if (rc != 0) {
            wf_form_free(out);
            return rc;
        }
    }
    return 0;
}

/* ---- multipart/form-data ----------------------------------------------- */

/* Find the Content-Disposition parameter `key` in hdr[0..n) (a header
 * value), copied into a new string; NULL when absent. *bad on malformed. */
static char *disposition_param(const char *v, size_t n, const char *key, int *bad)
{
    /* v is "form-data; name=\"x\"; filename=\"y\"" */
    char *val = NULL;
    size_t klen = strlen(key);
    size_t i = strcspn(v, ";");
    if (i > n)
        return NULL;
    while (i < n) {
        while (i < n && (v[i] == ';' || v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t ks = i;
        while (i < n && v[i] != '=' && v[i] != ';')
            i++;
        size_t ke = i;
        while (ke > ks && (v[ke - 1] == ' ' || v[ke - 1] == '\t'))
            ke--;
        if (i >= n || v[i] != '=') {
            continue; /* a parameter without a value: ignored */
        }
        i++;
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        /* value: quoted-string or token */
        char *buf = malloc(n - i + 1);
        if (buf == NULL) {
            *bad = 1;
            free(val);
            return NULL;
        }
        size_t j = 0;
        if (i < n && v[i] == '"') {
            i++;
            while (i < n && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < n && (v[i + 1] == '"' || v[i + 1] == '\\'))
                    i++;
                buf[j++] = v[i++];
            }
            if (i >= n) {
                free(buf);
                free(val);
                *bad = 1;
                return NULL;
            }
            i++;
        } else {
            while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t')
                buf[j++] = v[i++];
        }
        buf[j] = '\0';
        if (ke - ks == klen && strncasecmp(v + ks, key, klen) == 0 && val == NULL)
            val = buf;
        else
            free(buf);
    }
    return val;
}

/* Parse a part's header block hdr[0..n) (lines separated by CRLF). */
static int part_headers(const char *hdr, size_t n, char **name, char **filename,
                        char *err, size_t errlen)
{
    *name = NULL;
    *filename = NULL;
    int seen = 0;
    size_t i = 0;
    while (i < n) {
        const char *line = hdr + i;
        const char *crlf = memmem(line, n - i, "\r\n", 2);
        size_t llen = crlf ? (size_t)(crlf - line) : n - i;
        i += llen + 2;
        const char *colon = memchr(line, ':', llen);
        if (colon == NULL || colon == line) {
            wf_errorf(err, errlen, "malformed header in a multipart part");
            goto bad;
        }
        size_t hn = (size_t)(colon - line);
        if (hn != 19 || strncasecmp(line, "Content-Disposition", 19) != 0)
            continue; /* Content-Type and others: not needed */
        if (seen++) {
            wf_errorf(err, errlen, "a multipart part has two Content-Disposition headers");
            goto bad;
        }
        const char *v = colon + 1;
        size_t vn = llen - hn - 1;
        while (vn > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vn--;
        }
        if (vn < 9 || strncasecmp(v, "form-data", 9) != 0 ||
            (vn > 9 && v[9] != ';' && v[9] != ' ')) {
            wf_errorf(err, errlen, "a multipart part is not form-data");
            goto bad;
        }
        char *vcopy = dup_mem(v, vn);
        if (vcopy == NULL) {
            wf_errorf(err, errlen, "out of memory");
            goto bad;
        }
        int bad = 0;
        *name = disposition_param(vcopy, vn, "name", &bad);
        if (!bad)
            *filename = disposition_param(vcopy, vn, "filename", &bad);
        free(vcopy);
        if (bad) {
            wf_errorf(err, errlen, "malformed Content-Disposition in a multipart part");
            goto bad;
        }
    }
    if (*name == NULL || **name == '\0') {
        wf_errorf(err, errlen, "a multipart part has no field name");
        goto bad;
    }
    return 0;
bad:
    free(*name);
    free(*filename);
    *name = *filename = NULL;
    return WF_EINVAL;
}

int wf_form_parse_multipart(const char *boundary, const char *body, size_t len, wf_form *out,
                            char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char delim[WF_BOUNDARY_MAX + 5];
    size_t blen = strlen(boundary);
    if (blen == 0 || blen > WF_BOUNDARY_MAX) {
        wf_errorf(err, errlen, "invalid multipart boundary");
        return WF_EINVAL;
    }
    /* "\r\n--boundary": every delimiter but the first is preceded by CRLF. */
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, blen);
    size_t dlen = blen + 4;

    size_t pos;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        pos = dlen - 2;
    } else {
        const char *first = memmem(body, len, delim, dlen); /* after a preamble */
        if (first == NULL) {
            wf_errorf(err, errlen, "the multipart body does not contain its boundary");
            return WF_EINVAL;
        }
        pos = (size_t)(first - body) + dlen;
    }

    for (;;) {
        /* just after a delimiter: "--" ends the body, else CRLF (after
         * optional transport padding) starts a part */
        if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
            return 0;
        while (pos < len && (body[pos] == ' ' || body[pos] == '\t'))
            pos++;
        if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
            wf_errorf(err, errlen, "the multipart body is truncated or malformed");
            goto bad;
        }
        pos += 2;

        size_t hdr_end;
        if (len - pos >= 2 && body[pos] == '\r' && body[pos + 1] == '\n') {
            hdr_end = pos; /* no headers */
        } else {
            const char *e = memmem(body + pos, len - pos, "\r\n\r\n", 4);
            if (e == NULL) {
                wf_errorf(err, errlen, "a multipart part's headers never end");
                goto bad;
            }
            hdr_end = (size_t)(e - body) + 2;
        }
        char *name = NULL, *filename = NULL;
        if (part_headers(body + pos, hdr_end - pos, &name, &filename, err, errlen) != 0)
            goto bad;
        size_t content = hdr_end + 2;

        const char *next = memmem(body + content, len - content, delim, dlen);
        if (next == NULL) {
            free(name);
            free(filename);
            wf_errorf(err, errlen, "the multipart body is truncated (no closing boundary)");
            goto bad;
        }
        size_t clen = (size_t)(next - body) - content;
        int rc = form_add(out, name, dup_mem(body + content, clen), clen, filename, err, errlen);
        if (rc != 0) {
            wf_form_free(out);
            return rc;
        }
        pos = (size_t)(next - body) + dlen;
    }
bad:
    wf_form_free(out);
    return WF_EINVAL;
}

/* ---- JSON ---------------------------------------------------------------- */

int wf_form_parse_json(const char *body, size_t len, wf_form *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        wf_errorf(err, errlen, "the body is not valid JSON: %s (line %d, column %d)", je.text,
                  je.line, je.column);
        return WF_EINVAL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        wf_errorf(err, errlen, "the JSON body must be an object");
        return WF_EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (json_is_null(v))
            continue;
        char *value;
        size_t vlen;
        if (json_is_string(v)) {
            vlen = json_string_length(v);
            value = dup_mem(json_string_value(v), vlen);
        } else {
            value = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            vlen = value ? strlen(value) : 0;
        }
        int rc = form_add(out, dup_mem(key, strlen(key)), value, vlen, NULL, err, errlen);
        if (rc != 0) {
            wf_form_free(out);
            json_decref(root);
            return rc;
        }
        out->fields[out->n - 1].not_string = !json_is_string(v);
    }
    json_decref(root);
    return 0;
}
