# store.mk - the store's benchmark (not part of `make test`): calls/s of the
# operations the HTTP layer makes most, over SQLite and a throwaway
# PostgreSQL cluster (fsync off, as in the tests).
.PHONY: bench-store
$(BUILD)/bench/store_bench: bench/store_bench.c $(LIBWF)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIBWF) $(LDLIBS) $(LDFLAGS) -o $@

bench-store: $(BUILD)/bench/store_bench
	@d=$$(mktemp -d /tmp/wf-bench-pg-XXXXXX); \
	url=$$(/usr/bin/python3 tests/support/pg.py start $$d) || url=; \
	WF_TEST_PG_URL=$$url $(BUILD)/bench/store_bench; rc=$$?; \
	/usr/bin/python3 tests/support/pg.py destroy $$d; exit $$rc
