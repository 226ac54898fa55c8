/* code_share.h - one copy of a plugin's code for every run of it that is
 * waiting or running: 300 queued runs of a 1 MB plugin hold 1 MB of code,
 * not 300 MB.
 *
 * A table of reference-counted code blobs keyed by plugin, version and the
 * bytes themselves (a blob is shared only when the code is identical).
 * Thread-safe. The table must outlive its blobs. */
#ifndef WF_RUNS_CODE_SHARE_H
#define WF_RUNS_CODE_SHARE_H

#include <stddef.h>

typedef struct wf_code_table wf_code_table;

typedef struct wf_code {
    struct wf_code *next;   /* in the table */
    wf_code_table *table;
    int refs;               /* under the table's lock */
    char *plugin;
    int version;
    size_t len;
    char data[];            /* len bytes and a NUL */
} wf_code;

wf_code_table *wf_code_table_new(void);
/* Only once every blob was released. */
void wf_code_table_free(wf_code_table *t);

/* A reference to the blob holding exactly `code` for (plugin, version):
 * the one already there, or a new copy. NULL when out of memory. */
wf_code *wf_code_acquire(wf_code_table *t, const char *plugin, int version, const char *code,
                         size_t len);
/* Drop a reference (NULL is fine); the last one frees the blob. */
void wf_code_release(wf_code *c);

#endif
