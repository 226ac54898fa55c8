/* fuzz_http_body.c - libFuzzer target for what the HTTP layer parses from
 * untrusted requests: multipart, urlencoded and JSON bodies, Content-Type
 * and Accept-Encoding headers, plugin names, query integers, UTF-8, CORS
 * and auth decisions, and the admission rules (Host, Origin, trailing
 * slash) of http/access.h.
 *
 * Input layout: byte 0 picks the parser; for multipart the boundary runs
 * up to the first '\n', the body follows. Beyond "no crash, no leak, no
 * overread", each parser's promises are checked: fields are NUL-terminated
 * at value_len, names are unique, a valid name matches the rule. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/access.h"
#include "http/form.h"
#include "http/route.h"
#include "http/validate.h"

/* The name rule written out independently of common/plugin_name.c: UTF-8
 * (checked by the one decoder), 1..128 characters, not "." or "..", no '/'
 * or '\', no C0, DEL or C1 control. */
static int name_rule(const char *s, size_t n)
{
    if (n == 0 || !wf_utf8_valid(s, n))
        return 0;
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80)
            chars++;
        if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
            return 0;
        if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] < 0xa0)
            return 0; /* U+0080..U+009F */
    }
    return chars <= 128;
}

static void check_form(const wf_form *f)
{
    assert(f->n <= WF_FORM_MAX_FIELDS);
    for (size_t i = 0; i < f->n; i++) {
        assert(f->fields[i].name != NULL && f->fields[i].value != NULL);
        assert(f->fields[i].value[f->fields[i].value_len] == '\0');
        for (size_t j = i + 1; j < f->n; j++)
            assert(strcmp(f->fields[i].name, f->fields[j].name) != 0);
        assert(wf_form_get(f, f->fields[i].name) == &f->fields[i]);
    }
}

/* A NUL-terminated copy (the header and query parsers take C strings). */
static char *cstr(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

/* "a\nb\nc" -> s = "a", *b = "b", *c = "c" (NULL when a part is missing). */
static void split3(char *s, char **b, char **c)
{
    *b = strchr(s, '\n');
    *c = *b ? strchr(*b + 1, '\n') : NULL;
    if (*b != NULL)
        *(*b)++ = '\0';
    if (*c != NULL)
        *(*c)++ = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 7;
    data++;
    size--;
    /* Parsers get exactly `size` bytes in their own allocation, so any
     * read past the end is caught. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    char err[512];
    wf_form f;

    switch (mode) {
    case 0: {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t blen = nl ? (size_t)(nl - data) : 0;
        char boundary[WF_BOUNDARY_MAX + 1];
        if (nl == NULL || blen == 0 || blen > WF_BOUNDARY_MAX || memchr(data, '\0', blen))
            break;
        memcpy(boundary, data, blen);
        boundary[blen] = '\0';
        size_t off = blen + 1;
        char *body = malloc(size - off ? size - off : 1);
        memcpy(body, data + off, size - off);
        if (wf_form_parse_multipart(boundary, body, size - off, &f, err, sizeof err) == 0)
            check_form(&f);
        else
            assert(f.n == 0 && f.fields == NULL && err[0] != '\0');
        wf_form_free(&f);
        free(body);
        break;
    }
    case 1:
        if (wf_form_parse_urlencoded(buf, size, &f, err, sizeof err) == 0)
            check_form(&f);
        wf_form_free(&f);
        break;
    case 2:
        if (wf_form_parse_json(buf, size, &f, err, sizeof err) == 0)
            check_form(&f);
        wf_form_free(&f);
        break;
    case 3: {
        const char *why = NULL;
        int ok = wf_plugin_name_valid(buf, size, &why);
        assert(ok == name_rule(buf, size));
        assert(ok ? why == NULL : why != NULL);
        (void)wf_utf8_valid(buf, size);
        (void)wf_count_ai_calls(buf, size);
        (void)wf_run_id_valid(buf, size);
        char *u = malloc(size + 1);
        if (u != NULL) {
            memcpy(u, buf, size);
            u[size] = '\0';
            size_t before = strlen(u);
            size_t after = wf_url_unescape(u);
            assert(after <= before && strlen(u) == after);
            free(u);
        }
        break;
    }
    case 4: {
        char *s = cstr(data, size);
        enum wf_body_kind kind;
        char boundary[WF_BOUNDARY_MAX + 1];
        if (wf_body_kind_parse(s, &kind, boundary, sizeof boundary) == 0 && kind == WF_BODY_MULTIPART)
            assert(strlen(boundary) >= 1 && strlen(boundary) <= WF_BOUNDARY_MAX);
        (void)wf_accepts_gzip(s);
        long v;
        if (wf_parse_int(s, 0, 1000, &v) == 0)
            assert(v >= 0 && v <= 1000);
        free(s);
        break;
    }
    case 5: {
        /* "config\norigin\nauthorization" */
        char *s = cstr(data, size);
        char *origin, *auth;
        split3(s, &origin, &auth);
        const char *allow = wf_cors_allow_origin(s, origin);
        assert(allow == NULL || strcmp(allow, "*") == 0 || allow == origin);
        if (wf_auth_ok(auth, s))
            assert(auth != NULL && strncmp(auth + 7, s, strlen(s) + 1) == 0);
        free(s);
        break;
    }
    case 6: {
        /* "host\norigin\nlist": the admission rules never read past their
         * input, and keep their promises on whatever a client sends */
        char *s = cstr(data, size);
        char *origin, *list;
        split3(s, &origin, &list);
        int host_ok = wf_access_host_ok(s, "127.0.0.1", list);
        if (list == NULL && host_ok && *s != '\0')
            assert(strchr(s, ' ') == NULL && strchr(s, '/') == NULL);
        if (origin != NULL && wf_access_origin_ok(origin, s, NULL))
            assert(strncasecmp(origin, "http://", 7) == 0 || strncasecmp(origin, "https://", 8) == 0);
        (void)wf_access_cors_any(list);
        size_t keep = wf_route_slash_redirect(s);
        if (keep > 0)
            assert(keep < strlen(s) && s[keep - 1] != '/' && s[keep] == '/');
        free(s);
        break;
    }
    }
    free(buf);
    return 0;
}
