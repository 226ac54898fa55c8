/* store_placeholder.c - stands in until the real store lands; delete this
 * file in the commit that adds the SQLite/PostgreSQL back ends. */
#include "store/store.h"

#include "common/wf_error.h"

int wf_store_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen)
{
    (void)cfg;
    *out = NULL;
    wf_errorf(err, errlen, "the store is not built yet");
    return WF_EUNAVAIL;
}

void wf_store_close(wf_store *st) { (void)st; }

const char *wf_store_kind(const wf_store *st)
{
    (void)st;
    return "none";
}
