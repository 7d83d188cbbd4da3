# bench.mk - `make bench` and `make bench-quick` (included by the Makefile).
#
# The benchmark programs in tests/bench/ are ordinary pthread and socket
# programs, built like the test programs (PROG_CFLAGS) into build/bench/;
# scripts/bench.sh runs each natively and under scripts/greenrun and prints
# one table.  `make bench` is the full run (about 5 minutes), `make
# bench-quick` the everyday one (under a minute).

BENCH := $(patsubst tests/bench/%.c,$(B)/bench/%,$(wildcard tests/bench/*.c))

.PHONY: bench bench-quick bench-progs

bench-progs: $(B)/libgreenrun.so $(BENCH)

bench: deps
	$(MAKE) bench-progs
	@scripts/bench.sh

bench-quick: deps
	$(MAKE) bench-progs
	@scripts/bench.sh --quick

$(B)/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -o $@ $<
