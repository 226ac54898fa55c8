# runs.mk - rules of the runs supervisor and the sandboxes: the SDK and the
# runner embedded in the binary, the bridge fuzzer, the runs benchmark.

# sdk/*.py become C arrays in libwf.a, so the binary runs from any folder.
SDK_EMBED_SRC := $(BUILD)/gen/sdk_embed.c
SDK_EMBED_OBJ := $(BUILD)/obj/gen/sdk_embed.o

$(SDK_EMBED_SRC): sdk/runner.py sdk/platform_sdk.py mk/runs.mk
	@mkdir -p $(dir $@)
	@{ echo '/* sdk_embed.c - generated from sdk/ by mk/runs.mk; do not edit. */'; \
	  echo '#include <stddef.h>'; \
	  for f in runner platform_sdk; do \
	    echo "static const unsigned char $${f}_bytes[] = {"; \
	    od -An -v -tx1 sdk/$$f.py | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	    echo '0x00};'; \
	    echo "extern const char *const wf_sdk_$${f}_py;"; \
	    echo "extern const size_t wf_sdk_$${f}_py_len;"; \
	    echo "const char *const wf_sdk_$${f}_py = (const char *)$${f}_bytes;"; \
	    echo "const size_t wf_sdk_$${f}_py_len = sizeof $${f}_bytes - 1;"; \
	  done; } > $@.tmp && mv $@.tmp $@

$(SDK_EMBED_OBJ): $(SDK_EMBED_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIBWF): $(SDK_EMBED_OBJ)
