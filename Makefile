# WasmForge build. One Makefile; subsystems that need rules of their own keep
# them in mk/*.mk, included below. Products go to build/ (build-san/ for the
# sanitizer build); slow, reusable products are cached in ~/.cache/wasmforge.

SAN ?= 0
TSAN ?= 0
ifeq ($(SAN),1)
  BUILD ?= build-san
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O1
else ifeq ($(TSAN),1)
  # ThreadSanitizer, for the server only (`make TSAN=1 server`), run by hand
  # against tests/stress; not part of `make test`. The native sandbox's
  # child copies our memory (as under ASan): one on our stack and heap
  # would rewrite TSan's state and make it see races that are not there.
  BUILD ?= build-tsan
  SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer -DWF_NATIVE_COPY_MM=1
  OPT := -O1
else
  BUILD ?= build
  SANFLAGS :=
  OPT := -O2
endif

CC      ?= gcc
# Never -DNDEBUG: assert() preconditions stay on in every build, the test
# builds included (tests/unit/common/test_preconditions.c checks it).
PKGS    := libmicrohttpd jansson libcurl sqlite3 libpq libseccomp
CFLAGS  := -std=c17 -Wall -Wextra -Werror -g $(OPT) $(SANFLAGS) -D_GNU_SOURCE \
           -Isrc $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

# Files the binaries carry (mk/embed.mk) are generated into $(EMBED_DIR),
# declared in one header there. Defined here, not in mk/embed.mk: the other
# mk/*.mk files use them, whatever order they are included in.
EMBED_DIR    := $(BUILD)/gen
EMBED_HEADER := $(EMBED_DIR)/embedded.h
embed_obj     = $(BUILD)/obj/gen/embed_$(1).o
CFLAGS       += -I$(EMBED_DIR)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS  += -DWF_VERSION='"$(VERSION)"'

# The server: every subsystem but the WASI host (which lives in sandbox
# processes only and is linked into the engine binary by mk/engine.mk).
SERVER_DIRS := common config http store ollama runs sandbox
SERVER_SRC  := $(foreach d,$(SERVER_DIRS),$(wildcard src/$(d)/*.c))
SERVER_OBJ  := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o)
LIBWF       := $(BUILD)/libwf.a

UNIT_SRC    := $(wildcard tests/unit/*/test_*.c) $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all server deps run test test-unit test-san check-tools clean lint check-fresh
all: server

server: $(BUILD)/wasmforge

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBWF): $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/wasmforge: $(BUILD)/obj/src/main.o $(LIBWF)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIBWF)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $< $(LIBWF) $(LDLIBS) -lcmocka $(LDFLAGS) -o $@

test-unit-bins: $(UNIT_BIN)

# Installs missing Debian packages (idempotent, quiet when all are there).
deps:
	@bash scripts/deps.sh

# Start the server on its embedded defaults. The build goes step by step
# (scripts/run-steps.sh): "step N of M: ..., elapsed", and whether the cache served.
run:
	@MAKE="$(MAKE)" BUILD="$(BUILD)" PYWASM_STAMP="$(PYWASM_STAMP)" \
	  ENGINE_MODULE_STAMP="$(ENGINE_MODULE_STAMP)" bash scripts/run-steps.sh
	./$(BUILD)/wasmforge serve

# Every test: unit tests (plain and sanitizer builds), end-to-end tests.
test: deps
	@/usr/bin/python3 tests/run.py

# The quick start in a minimal Debian 12 root made from nothing (scripts/check-fresh.sh; root
# only, about 15-20 minutes; see docs/testing.md). Not part of `make test`.
check-fresh: deps
	bash scripts/check-fresh.sh

# Lint covers the WASI host and the engine too, with their own flags; the
# module glue is left out (it compiles against a translated module's mod.h).
LINT_ENGINE_SRC = $(filter-out src/wasi/wasi_module_glue.c,$(wildcard src/wasi/*.c)) $(wildcard src/engine/*.c)
lint:
	clang-tidy --quiet $(SERVER_SRC) -- $(CFLAGS)
	clang-tidy --quiet $(LINT_ENGINE_SRC) -- $(WASI_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr -Isrc src

clean:
	rm -rf build build-san build-tsan

-include mk/*.mk
# Sources include the generated header of embedded files (mk/embed.mk).
lint: $(EMBED_HEADER)
-include $(SERVER_OBJ:.o=.d) $(BUILD)/obj/src/main.d
