# runs.mk - rules of the runs supervisor and the sandboxes: the SDK and the
# runner embedded in the binary, the bridge fuzzer, the runs benchmark.

# sdk/*.py become C arrays in libwf.a (mk/embed.mk, group "sdk"), so the
# binary runs from any folder.

# libFuzzer on the bridge codec; bounded time (FUZZ_SECONDS, default 60).
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang-19
FUZZ_DIR := build-fuzz
FUZZ_SRC := src/runs/bridge.c src/runs/policy.c src/config/config.c src/common/log.c src/common/utf8.c \
            src/common/wf_error.c src/common/io.c
.PHONY: fuzz-bridge
fuzz-bridge: $(FUZZ_DIR)/fuzz_bridge
	@mkdir -p $(FUZZ_DIR)/corpus-bridge
	@printf '\x05\x0b\x00\x00\x00{"op":"done"}' > $(FUZZ_DIR)/corpus-bridge/seed1
	@printf '\x03\x31\x00\x00\x00{"op":"call_ai","model":"mistral:latest","prompt":"x"}' > $(FUZZ_DIR)/corpus-bridge/seed2
	$(FUZZ_DIR)/fuzz_bridge -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=1024 \
	    $(FUZZ_DIR)/corpus-bridge

$(FUZZ_DIR)/fuzz_bridge: tests/fuzz/fuzz_bridge.c $(FUZZ_SRC) src/runs/bridge.h src/runs/policy.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c17 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
	    $(shell pkg-config --cflags jansson) tests/fuzz/fuzz_bridge.c $(FUZZ_SRC) \
	    $(shell pkg-config --libs jansson) -o $@

# Run benchmarks: ratios against baselines measured in the same run.
.PHONY: bench-runs
bench-runs: all
	WF_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 bench/run_bench.py
