# nzyg.mk - the native sandbox's zygote: the CPython module _wf_zygote
# ($(BUILD)/wf-native-zygote.so, beside the server, which binds it into the
# zygote's view) and the zygote's Python embedded in the server.
#
# The module is loaded into Debian's /usr/bin/python3, which is not built
# with sanitizers: it is compiled without them in every build (SAN=1 too).

NZYG_SO      := $(BUILD)/wf-native-zygote.so
NZYG_SRC     := src/native_zygote/wf_zygote_mod.c src/sandbox/native_child.c \
                src/sandbox/zygote_serve.c src/sandbox/child_harden.c
NZYG_CFLAGS  := -std=c17 -Wall -Wextra -Werror -g -O2 -D_GNU_SOURCE -fPIC -Isrc \
                -I/usr/include/python3.11 -fvisibility=hidden
NZYG_HDRS    := src/sandbox/native.h src/sandbox/zygote_serve.h src/sandbox/zygote_proto.h \
                src/sandbox/child_harden.h

$(NZYG_SO): $(NZYG_SRC) $(NZYG_HDRS) mk/nzyg.mk
	@mkdir -p $(dir $@)
	$(CC) $(NZYG_CFLAGS) -shared $(NZYG_SRC) -o $@.tmp && mv $@.tmp $@

# The zygote's Python is the engine's (src/engine/zygote.py, embedded by
# mk/embed.mk as wf_engine_zygote_py): the server hands it to python3.
server: $(NZYG_SO)
test-unit-bins: $(NZYG_SO)
