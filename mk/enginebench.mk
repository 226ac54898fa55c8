# enginebench.mk - CPython on the WASI host as a plain interpreter (no zygote), for the engine's
# benchmark and stdlib tests; neither the benchmark nor CPython's own test modules are part of make test.
#
#   make bench-engine          bench/engine_bench.py: start-up and CPU-bound Python vs native python3 and Node
#   make test-cpython-stdlib   CPython's own test modules inside the engine (scripts/wasm/cpython-tests.sh)

ENGINE_PYRUN := $(BUILD)/engine/python-run

# The same translated module as wf-engine, linked with wasi-run's main: `python-run --image stdlib.tar
# -- python -c CODE` runs one interpreter on our host, without wasi-run's per-call cache lookup.
$(ENGINE_PYRUN): $(BUILD)/obj/engine/glue.o $(WASI_RUN_MAIN) $(LIBWFWASI) $(ENGINE_MODULE_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(BUILD)/obj/engine/glue.o $(WASI_RUN_MAIN) "$$(cat $(ENGINE_MODULE_STAMP))/module.a" \
	    $(LIBWFWASI) -lm -lpthread -o $@.tmp && mv $@.tmp $@

.PHONY: engine-pyrun bench-engine test-cpython-stdlib
engine-pyrun: $(ENGINE_PYRUN)
all: engine-pyrun

bench-engine: deps
	@$(MAKE) --no-print-directory engine-pyrun python-wasm
	WF_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 bench/engine_bench.py $(BENCH_ARGS)

test-cpython-stdlib: deps
	@$(MAKE) --no-print-directory engine-pyrun python-wasm
	WF_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 scripts/engine-cpython-tests.py $(CPYTHON_TESTS_ARGS)
