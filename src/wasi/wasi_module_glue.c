/* wasi_module_glue.c - the module-specific half of a sandbox binary: wraps
 * the wasm2c output of a module named "mod" as a struct wf_wasi_module.
 * Compiled per module, with the folder holding its mod.h on the include path. */
#include "mod.h"
#include "wasi/wasi_host.h"

static void glue_instantiate(void *inst, void *imports)
{
    Z_mod_instantiate(inst, imports);
}

static void *glue_memory(void *inst)
{
    return Z_modZ_memory(inst);
}

static void glue_start(void *inst)
{
    Z_modZ__start(inst);
}

static void glue_free(void *inst)
{
    Z_mod_free(inst);
}

const struct wf_wasi_module wf_wasi_module_mod = {
    .instance_size = sizeof(Z_mod_instance_t),
    .init_module = Z_mod_init_module,
    .instantiate = glue_instantiate,
    .memory = glue_memory,
    .start = glue_start,
    .free_instance = glue_free,
};
