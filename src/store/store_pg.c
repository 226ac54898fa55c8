/* store_pg.c - the PostgreSQL store back end (libpq).
 * Placeholder until the back end lands: refuses to open. */
#include "common/wf_error.h"
#include "store/store_util.h"

int wf_store_pg_open(const wf_config *cfg, wf_store **out, char *err, size_t errlen)
{
    (void)cfg;
    *out = NULL;
    wf_errorf(err, errlen, "store: PostgreSQL is not supported by this build yet");
    return WF_EUNAVAIL;
}
