# pywasm.mk - the sandbox engine's build products, cached in ~/.cache/wasmforge (see docs/engine-build.md).
# Stamps in $(BUILD)/engine hold the cache folder of each product, so other rules can read it.
#
#   make python-wasm     CPython 3.11 for wasm32-wasi: python.wasm + stdlib.tar  (stamp PYWASM_STAMP)
#   make engine-module   python.wasm through wasm2c, compiled: module.a + mod.h   (stamp ENGINE_MODULE_STAMP)
#
# ENGINE_W2C_CFLAGS are passed to the generated C; the host's wasm-rt-impl.c must use the same.

ENGINE_W2C_CFLAGS ?=
PYWASM_STAMP        := $(BUILD)/engine/python-wasm.path
ENGINE_MODULE_STAMP := $(BUILD)/engine/engine-module$(if $(strip $(ENGINE_W2C_CFLAGS)),-$(shell echo '$(ENGINE_W2C_CFLAGS)' | sha256sum | cut -c1-12)).path

# A stamp whose cache folder was deleted is stale: drop it so the rule runs again.
pywasm_check_stamp = $(if $(wildcard $(1)),$(if $(wildcard $(shell cat $(1))/$(2)),,$(shell rm -f $(1))))
$(call pywasm_check_stamp,$(PYWASM_STAMP),python.wasm)
$(call pywasm_check_stamp,$(ENGINE_MODULE_STAMP),module.a)

.PHONY: python-wasm engine-module
python-wasm: $(PYWASM_STAMP)
engine-module: $(ENGINE_MODULE_STAMP)

$(PYWASM_STAMP): scripts/wasm/build-python.sh $(wildcard scripts/wasm/patches/*.patch)
	@mkdir -p $(dir $@)
	@out=$$(scripts/wasm/build-python.sh | tail -n1) && test -f "$$out/python.wasm" && echo "$$out" >$@.tmp && mv $@.tmp $@
	@echo "python-wasm: $$(cat $@)"

# With guard pages the module reads the memory's base once per function (scripts/wasm/w2c_split.py),
# which is valid only if the runtime it is linked with (WASI_RT_FLAGS) never moves the memory, i.e.
# uses guard pages as well. Checked here, before anything is compiled.
pywasm_memcheck = $$(printf '\043include <wasm-rt.h>\nWASM_RT_MEMCHECK_SIGNAL_HANDLER\n' | $(CC) $(1) -E -P -x c - | tail -n1)

$(ENGINE_MODULE_STAMP): $(PYWASM_STAMP) scripts/wasm/wasm2native.sh scripts/wasm/w2c_split.py
	@mkdir -p $(dir $@)
	@mod=$(call pywasm_memcheck,$(ENGINE_W2C_CFLAGS)) && rt=$(call pywasm_memcheck,$(WASI_RT_FLAGS)) && \
	  if [ "$$mod" != 0 ] && [ "$$rt" != 1 ]; then \
	    echo "engine-module: the module would use guard pages (WASM_RT_MEMCHECK_SIGNAL_HANDLER=$$mod) but the runtime does not ($$rt): set both the same" >&2; exit 1; fi
	@out=$$(WF_W2C_CFLAGS='$(ENGINE_W2C_CFLAGS)' scripts/wasm/wasm2native.sh "$$(cat $(PYWASM_STAMP))/python.wasm" | tail -n1) && \
	  test -f "$$out/module.a" && echo "$$out" >$@.tmp && mv $@.tmp $@
	@echo "engine-module: $$(cat $@)"

# The engine tests need both products; when cached this costs a few file checks.
test: python-wasm engine-module
