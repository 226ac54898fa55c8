/* sandbox.c - picks the sandbox engine the configuration asks for. */
#include "sandbox/sandbox.h"

#include "common/wf_error.h"

int wf_sandbox_new(const wf_config *cfg, wf_sandbox **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->sandbox == WF_SANDBOX_NATIVE)
        return wf_sandbox_native_new(cfg, out, err, errlen);
    return wf_sandbox_wasm_new(cfg, out, err, errlen);
}
