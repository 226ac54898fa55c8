# http.mk - the HTTP layer's own rules: the embedded API description and
# the request-body fuzz target.

src/http/openapi_doc.c: src/http/openapi.json src/http/docs.html scripts/http_embed.py
	/usr/bin/python3 scripts/http_embed.py src/http/openapi.json src/http/docs.html $@
