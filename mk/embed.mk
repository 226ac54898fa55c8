# embed.mk - every file a binary carries, embedded one way: scripts/embed.py
# turns each into a NUL-terminated C array in $(BUILD)/gen/embed_GROUP.c,
# declared in one generated header, $(BUILD)/gen/embedded.h. Nothing
# generated is committed. A group is one object, linked where it is used.
# (EMBED_DIR, EMBED_HEADER, embed_obj and the -I for the header are in the
# Makefile, so that every mk/*.mk sees them.)
#
#   http    the OpenAPI document (compacted), the /docs and /redoc pages (server)
#   sdk     the runner and the SDK the sandboxes execute            (server)
#   zygote  the zygote's Python                       (server and wf-engine)

EMBED_http   := wf_openapi_json=src/http/openapi.json wf_docs_html=src/http/docs.html \
                wf_redoc_html=src/http/redoc.html
EMBED_sdk    := wf_sdk_runner_py=sdk/runner.py wf_sdk_platform_sdk_py=sdk/platform_sdk.py
EMBED_zygote := wf_engine_zygote_py=src/engine/zygote.py
EMBED_GROUPS := http sdk zygote

embed_files   = $(foreach p,$(EMBED_$(1)),$(word 2,$(subst =, ,$(p))))
embed_symbols = $(foreach g,$(EMBED_GROUPS),$(foreach p,$(EMBED_$(g)),$(word 1,$(subst =, ,$(p)))))

$(EMBED_HEADER): scripts/embed.py mk/embed.mk
	@mkdir -p $(dir $@)
	/usr/bin/python3 scripts/embed.py --header $@ $(embed_symbols)

define embed_rules
$(EMBED_DIR)/embed_$(1).c: scripts/embed.py mk/embed.mk $(call embed_files,$(1))
	@mkdir -p $$(dir $$@)
	/usr/bin/python3 scripts/embed.py $$@ $(EMBED_$(1))
$(call embed_obj,$(1)): $(EMBED_DIR)/embed_$(1).c $(EMBED_HEADER)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -c $$< -o $$@
endef
$(foreach g,$(EMBED_GROUPS),$(eval $(call embed_rules,$(g))))

# The server's library carries all three; whatever includes the header
# waits for it (afterwards -MMD tracks it like any header).
$(LIBWF): $(call embed_obj,http) $(call embed_obj,sdk) $(call embed_obj,zygote)
$(SERVER_OBJ) $(BUILD)/obj/src/main.o: | $(EMBED_HEADER)
lint: $(EMBED_HEADER)
