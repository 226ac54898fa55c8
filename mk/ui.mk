# ui.mk - what the browser tests (tests/ui) need from npm: playwright-core, pinned in
# tests/ui/package.json and its lock to a release that runs on Debian 12's Node.js 18.
# Installed only when the lock changed; Chromium itself is Debian's (scripts/deps/ui.txt).
UI_TEST_DEPS := tests/ui/node_modules/.package-lock.json
.PHONY: ui-test-deps
ui-test-deps: $(UI_TEST_DEPS)
$(UI_TEST_DEPS): tests/ui/package.json tests/ui/package-lock.json
	@command -v npm >/dev/null 2>&1 || bash scripts/web-tools.sh
	cd tests/ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
test: ui-test-deps
