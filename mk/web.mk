# The Builder web UI (web/): Vite bundles it into $(BUILD)/web/, the folder the
# server serves at / (WEB_DIR overrides it). Node.js is needed to build, not to run.

WEB_OUT  := $(BUILD)/web
WEB_SRC  := web/index.html web/vite.config.js $(shell find web/src -type f 2>/dev/null)
WEB_DEPS := web/node_modules/.package-lock.json

.PHONY: web
all: web
web: $(WEB_OUT)/index.html

# npm ci only when the lock file changed since the last install.
$(WEB_DEPS): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || bash scripts/web-tools.sh
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# /docs (Swagger UI) and /redoc (ReDoc) render /openapi.json with these
# files, served by us from apidocs/ (the pages themselves are embedded in
# the server: mk/embed.mk); their start-up scripts are in web/public/apidocs/.
WEB_APIDOCS := $(addprefix web/node_modules/swagger-ui-dist/,swagger-ui-bundle.js \
                 swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE) \
               $(addprefix web/node_modules/redoc/bundles/,redoc.standalone.js \
                 redoc.standalone.js.LICENSE.txt)
WEB_SRC += $(wildcard web/public/apidocs/*)

$(WEB_OUT)/index.html: $(WEB_DEPS) $(WEB_SRC)
	cd web && WF_WEB_OUT=$(abspath $(WEB_OUT)) npx --no-install vite build --logLevel warn
	@mkdir -p $(WEB_OUT)/apidocs
	cp $(WEB_APIDOCS) $(WEB_OUT)/apidocs/
	@# ReDoc's sidebar shows a logo from its CDN: nothing may be fetched from
	@# elsewhere, so it gets an empty image (and the link's text only).
	sed -i 's#https://cdn.redoc.ly/redoc/logo-mini.svg#data:,#' $(WEB_OUT)/apidocs/redoc.standalone.js
	@! grep -q 'cdn\.redoc\.ly' $(WEB_OUT)/apidocs/redoc.standalone.js
	@touch $@
