/* server_placeholder.c - stands in until the real HTTP layer lands; delete
 * this file in the commit that adds src/http/server.c. */
#include "http/server.h"

#include "common/wf_error.h"

int wf_http_start(const wf_http_deps *deps, wf_http **out, char *err, size_t errlen)
{
    (void)deps;
    *out = NULL;
    wf_errorf(err, errlen, "the HTTP server is not built yet");
    return WF_EUNAVAIL;
}

int wf_http_port(const wf_http *srv)
{
    (void)srv;
    return 0;
}

void wf_http_quiesce(wf_http *srv) { (void)srv; }
void wf_http_stop(wf_http *srv) { (void)srv; }
