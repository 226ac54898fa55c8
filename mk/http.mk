# http.mk - the HTTP layer's own rules: the request-body fuzz target. (The
# API description and the /docs page are embedded by mk/embed.mk.)

# libFuzzer on request-body parsing and input validation; bounded time
# (HTTP_FUZZ_SECONDS, default 60). Not part of `make test`.
HTTP_FUZZ_SECONDS ?= 60
HTTP_FUZZ_CC ?= clang-19
HTTP_FUZZ_DIR := build-fuzz
HTTP_FUZZ_SRC := tests/fuzz/fuzz_http_body.c src/http/form.c src/http/validate.c \
                 src/store/store_util.c src/common/wf_error.c src/common/io.c \
                 src/common/utf8.c src/common/plugin_name.c src/http/access_rules.c \
                 src/http/route.c

$(HTTP_FUZZ_DIR)/fuzz_http_body: $(HTTP_FUZZ_SRC) src/http/form.h src/http/validate.h \
                                  src/http/access.h src/http/route.h
	@mkdir -p $(dir $@)
	$(HTTP_FUZZ_CC) -std=c17 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined $(HTTP_FUZZ_SRC) -ljansson -o $@

.PHONY: fuzz-http
fuzz-http: $(HTTP_FUZZ_DIR)/fuzz_http_body
	@mkdir -p $(HTTP_FUZZ_DIR)/corpus-http
	@printf '\x00XyZ\n--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.py"\r\n\r\nprint(1)\r\n--XyZ--\r\n' > $(HTTP_FUZZ_DIR)/corpus-http/multipart
	@printf '\x01plugin_name=hello&input_data=a+b%%20c' > $(HTTP_FUZZ_DIR)/corpus-http/urlencoded
	@printf '\x02{"plugin_name":"hello","input_data":{"a":[1,2]}}' > $(HTTP_FUZZ_DIR)/corpus-http/json
	@printf '\x03hello_world-1' > $(HTTP_FUZZ_DIR)/corpus-http/name
	@printf '\x04multipart/form-data; boundary="a b"' > $(HTTP_FUZZ_DIR)/corpus-http/ctype
	@printf '\x05http://a.example, http://b.example\nhttp://b.example\nBearer http://a.example' > $(HTTP_FUZZ_DIR)/corpus-http/cors
	@printf '\x06[::1]:8000\nhttp://localhost:5173\nwasmforge.lan, .corp.example' > $(HTTP_FUZZ_DIR)/corpus-http/access
	@printf '\x06/api/plugins/list//\nnull\n*' > $(HTTP_FUZZ_DIR)/corpus-http/slash
	$(HTTP_FUZZ_DIR)/fuzz_http_body -max_total_time=$(HTTP_FUZZ_SECONDS) -max_len=65536 \
	    -rss_limit_mb=2048 $(HTTP_FUZZ_DIR)/corpus-http

# The plugin list is kept gzip-compressed for clients that accept it.
LDLIBS += -lz
