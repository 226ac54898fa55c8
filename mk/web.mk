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

$(WEB_OUT)/index.html: $(WEB_DEPS) $(WEB_SRC)
	cd web && WF_WEB_OUT=$(abspath $(WEB_OUT)) npx --no-install vite build --logLevel warn
	@touch $@
