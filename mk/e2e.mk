# e2e.mk - benchmarks of the HTTP server (not part of `make test`).
.PHONY: bench-http
bench-http: deps
	@$(MAKE) --no-print-directory server
	/usr/bin/python3 bench/http_bench.py
