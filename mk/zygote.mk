# zygote.mk - build/wf-engine, the WebAssembly sandbox engine: CPython
# (python.wasm through wasm2c, from pywasm.mk) linked with the WASI host and
# the zygote (src/engine/), plus the standard library image beside it.
# Not part of the server's libwf.a: the server only starts the binary.
#
#   make wasm-engine    $(BUILD)/wf-engine and $(BUILD)/engine/stdlib.tar
#   make bench-wasm     the run benchmark (bench/zygote_bench.py)
#   make bench-runcost  what a run costs on this host and why: page faults,
#                       pages dirtied, fork and fault prices (bench/run_cost.py)

WF_ENGINE       := $(BUILD)/wf-engine
WF_ENGINE_IMAGE := $(BUILD)/engine/stdlib.tar
ENGINE_SRC      := $(wildcard src/engine/*.c)
# The fork/reap loop (src/sandbox/zygote_serve.c) and the children's
# hardening (src/sandbox/child_harden.c) are shared with the native
# sandbox; their objects come from the server's build.
ENGINE_OBJ      := $(ENGINE_SRC:%.c=$(BUILD)/obj/%.o) $(call embed_obj,zygote) \
                   $(BUILD)/obj/src/sandbox/zygote_serve.o \
                   $(BUILD)/obj/src/sandbox/child_harden.o

$(BUILD)/obj/src/engine/%.o: src/engine/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WASI_CFLAGS) -MMD -MP -c $< -o $@

# The zygote's Python is embedded by mk/embed.mk (group "zygote").
$(ENGINE_SRC:%.c=$(BUILD)/obj/%.o): | $(EMBED_HEADER)

# The module glue is compiled against the translated module's mod.h.
$(BUILD)/obj/engine/glue.o: src/wasi/wasi_module_glue.c $(ENGINE_MODULE_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(WASI_CFLAGS) -I"$$(cat $(ENGINE_MODULE_STAMP))" -c $< -o $@

$(WF_ENGINE): $(BUILD)/obj/engine/glue.o $(ENGINE_OBJ) $(LIBWFWASI) $(ENGINE_MODULE_STAMP)
	$(CC) $(LDFLAGS) $(BUILD)/obj/engine/glue.o $(ENGINE_OBJ) "$$(cat $(ENGINE_MODULE_STAMP))/module.a" \
	    $(LIBWFWASI) -lseccomp -lm -lpthread -o $@.tmp && mv $@.tmp $@

$(WF_ENGINE_IMAGE): $(PYWASM_STAMP)
	@mkdir -p $(dir $@)
	cp "$$(cat $(PYWASM_STAMP))/stdlib.tar" $@.tmp && mv $@.tmp $@

# WASM_PYTHON_PATH / WASM_PYTHON_DIR: the server runs this to get an engine
# for another WASI build of Python (translated and linked on first use).
$(BUILD)/wf-engine-for: scripts/wasm/engine-for.sh $(ENGINE_OBJ) $(LIBWFWASI)
	sed -e 's|@ROOT@|$(CURDIR)|g' -e 's|@BUILD@|$(abspath $(BUILD))|g' \
	    -e 's|@CC@|$(CC)|g' -e 's|@SANFLAGS@|$(SANFLAGS)|g' $< > $@.tmp
	chmod +x $@.tmp && mv $@.tmp $@

.PHONY: wasm-engine bench-wasm bench-runcost
wasm-engine: $(WF_ENGINE) $(WF_ENGINE_IMAGE) $(BUILD)/wf-engine-for
all: wasm-engine
test: wasm-engine

bench-wasm: deps
	@$(MAKE) --no-print-directory server wasm-engine
	/usr/bin/python3 bench/zygote_bench.py

# The host's fault and fork prices, in C: no sanitizer, no project flags
# beyond the warnings (it measures the kernel, not our code).
$(BUILD)/bench/run_cost_probe: bench/run_cost_probe.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -Wall -Wextra -Werror -O2 -D_GNU_SOURCE $< -o $@

bench-runcost: deps $(BUILD)/bench/run_cost_probe
	@$(MAKE) --no-print-directory server wasm-engine
	WF_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 bench/run_cost.py --probe $(BUILD)/bench/run_cost_probe $(BENCH_ARGS)

-include $(ENGINE_OBJ:.o=.d)
