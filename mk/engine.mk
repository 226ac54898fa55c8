# engine.mk - the WASI host (libwfwasi.a), the wasi-run tool and their tests.
# The host is not part of the server: sandbox binaries link it with a module
# translated by wasm2c (scripts/wasm/wasm2native.sh).

WASM2C_DIR   := /usr/share/wabt/wasm2c
# The runtime is built once, with our own fault handler instead of wasm2c's
# (which takes every SIGSEGV for a guest trap) and with the call-depth
# counter available, so a module may be compiled with either stack check.
WASI_RT_FLAGS := -DWASM_RT_SKIP_SIGNAL_RECOVERY=1 -DWASM_RT_USE_STACK_DEPTH_COUNT=1 -I$(WASM2C_DIR)
WASI_CFLAGS  := $(CFLAGS) $(WASI_RT_FLAGS)

WASI_LIB_SRC := $(filter-out src/wasi/wasi_module_glue.c src/wasi/wasi_run_main.c,$(wildcard src/wasi/*.c))
WASI_LIB_OBJ := $(WASI_LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/wasi-rt/wasm-rt-impl.o \
                $(BUILD)/obj/src/common/wf_error.o $(BUILD)/obj/src/common/io.o
LIBWFWASI    := $(BUILD)/libwfwasi.a
WASI_RUN_MAIN := $(BUILD)/obj/src/wasi/wasi_run_main.o

$(BUILD)/obj/src/wasi/%.o: src/wasi/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WASI_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/wasi-rt/wasm-rt-impl.o: $(WASM2C_DIR)/wasm-rt-impl.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -g $(OPT) $(SANFLAGS) $(WASI_RT_FLAGS) -w -c $< -o $@

$(LIBWFWASI): $(WASI_LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# wasi-run: a script that translates, links and caches one executable per
# module (and per host library), then runs it.
$(BUILD)/wasi-run: scripts/wasm/wasi-run.sh $(LIBWFWASI) $(WASI_RUN_MAIN) src/wasi/wasi_module_glue.c
	sed -e 's|@ROOT@|$(CURDIR)|g' -e 's|@BUILD@|$(abspath $(BUILD))|g' \
	    -e 's|@CC@|$(CC)|g' -e 's|@SANFLAGS@|$(SANFLAGS)|g' $< > $@.tmp
	chmod +x $@.tmp && mv $@.tmp $@

engine: $(LIBWFWASI) $(BUILD)/wasi-run
all: engine
.PHONY: engine

# Unit tests of the host link libwfwasi.a (more specific than the default
# test rule, so make prefers it).
$(BUILD)/tests/wasi/%: tests/unit/wasi/%.c $(LIBWFWASI)
	@mkdir -p $(dir $@)
	$(CC) $(WASI_CFLAGS) -Itests/unit $< $(LIBWFWASI) -lcmocka -lpthread $(LDFLAGS) -o $@

-include $(WASI_LIB_OBJ:.o=.d) $(WASI_RUN_MAIN:.o=.d)

# Fuzzing (not part of make test): libFuzzer with ASan+UBSan on the host's
# path resolution and argument decoding, for FUZZ_TIME seconds.
FUZZ_TIME ?= 60
FUZZ_WASI := build/fuzz/fuzz_wasi
$(FUZZ_WASI): tests/fuzz/wasi/fuzz_wasi.c $(WASI_LIB_SRC) src/common/wf_error.c src/common/io.c \
              $(WASM2C_DIR)/wasm-rt-impl.c
	@mkdir -p $(dir $@)
	clang-19 -std=c17 -g -O1 -D_GNU_SOURCE -Isrc $(WASI_RT_FLAGS) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    $(filter %.c,$^) -o $@

fuzz-wasi: $(FUZZ_WASI)
	@mkdir -p build/fuzz/corpus-wasi
	$(FUZZ_WASI) -max_total_time=$(FUZZ_TIME) -max_len=8192 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix=build/fuzz/ build/fuzz/corpus-wasi
.PHONY: fuzz-wasi

# The import signatures the host defines must be those wasm2c generates for
# the preview1 witx: compile the imports against a generated header that
# declares all 46 (a mismatch is a conflicting-types error, not a silent
# ABI break).
$(BUILD)/engine/wasi-imports.checked: tests/wasi/all_imports.wat src/wasi/wasi_imports.c src/wasi/wasi_internal.h
	@mkdir -p $(BUILD)/engine/all_imports
	wat2wasm $< -o $(BUILD)/engine/all_imports/all.wasm
	wasm2c -n mod $(BUILD)/engine/all_imports/all.wasm -o $(BUILD)/engine/all_imports/mod.c
	$(CC) $(WASI_CFLAGS) -include $(BUILD)/engine/all_imports/mod.h -fsyntax-only src/wasi/wasi_imports.c
	@test "$$(grep -c "import: 'wasi_snapshot_preview1'" $(BUILD)/engine/all_imports/mod.h)" = 46
	@touch $@
engine: $(BUILD)/engine/wasi-imports.checked
