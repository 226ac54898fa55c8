/* utf8.h - UTF-8 as the server accepts it (RFC 3629: no overlong forms, no
 * UTF-16 surrogates, nothing beyond U+10FFFF), and the repair of text that
 * is not, before it goes into JSON or the store.
 *
 * One decoder for every caller, so the HTTP layer, the store and the run
 * supervisor agree on what is valid. Pure functions; safe from any thread. */
#ifndef WF_UTF8_H
#define WF_UTF8_H

#include <stddef.h>

/* 1 when the len bytes at s are valid UTF-8, else 0. */
int wf_utf8_valid(const char *s, size_t len);

/* The number of characters (code points) in the len bytes at s, which
 * are valid UTF-8 (wf_utf8_valid): every byte that does not continue a
 * sequence starts one. */
size_t wf_utf8_chars(const char *s, size_t len);

/* Length of the valid UTF-8 character at s (reading at most `left` bytes),
 * or 0 when the bytes there are not one. */
size_t wf_utf8_char_len(const char *s, size_t left);

/* A malloc'd, NUL-terminated copy of at most max of the n bytes at s, cut
 * at a character boundary, with each invalid byte and each NUL replaced by
 * U+FFFD (so that it can go into JSON and C strings). *cut (when not NULL)
 * is set when bytes were dropped. NULL when out of memory. The caller
 * frees the result. */
char *wf_utf8_sanitize(const char *s, size_t n, size_t max, int *cut);

#endif
