/* wasm_stub.c - placeholder for the WebAssembly engine until it is built:
 * reports it unavailable so that the server says so instead of running. */
#include "sandbox/sandbox.h"

#include "common/wf_error.h"

int wf_sandbox_wasm_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen)
{
    (void)cfg;
    *out = NULL;
    wf_errorf(err, errlen, "the WebAssembly sandbox is not built into this binary; "
              "set USE_WASMEDGE=false to use the native fallback sandbox");
    return WF_EUNAVAIL;
}
