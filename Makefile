# greenrun - build, test, demo.
#
#   make          build/libgreenrun.so, the test programs and unit tests
#   make test     install missing Debian packages, build, run every test
#   make demo     echo server under greenrun and on native threads, side by side
#   make bench    benchmarks, greenrun against native threads (bench-quick: < 1 min)
#   make install  PREFIX=/usr/local: bin/greenrun, lib/greenrun/libgreenrun.so

PREFIX   ?= /usr/local
VERSION  := $(shell sed -n 's/^version=//p' scripts/greenrun)
B        := build

# Debian packages the build and the tests need.
DEBS     := gcc g++ make libc6-dev binutils libuv1-dev libboost-context-dev libcriterion-dev \
            pigz xz-utils zstd python3 curl wget redis-server redis-tools memcached \
            netcat-openbsd socat libzmq3-dev apache2-utils chromium

CC       ?= gcc
CXX      ?= g++
WARN     := -Wall -Wextra -Werror
# The shim defines read(), poll()... itself: fortified inline versions of them
# from the headers would clash.
CFLAGS   := -std=gnu11 -D_GNU_SOURCE -O2 -g $(WARN) -fPIC -fvisibility=hidden -U_FORTIFY_SOURCE \
            -DGREENRUN_VERSION='"$(VERSION)"'
LDLIBS   := -luv -ldl -lpthread

# The test programs are ordinary programs, built as Debian builds its packages.
PROG_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 $(WARN) -pthread

RT_SRC   := $(wildcard runtime/*.c)
SHIM_SRC := $(wildcard shim/*.c)
RT_OBJ   := $(RT_SRC:%.c=$(B)/obj/%.o)
SHIM_OBJ := $(SHIM_SRC:%.c=$(B)/obj/%.o)
FCTX     := $(B)/fcontext/.extracted
UNIT     := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
PROGS    := $(patsubst tests/progs/%.c,$(B)/progs/%,$(wildcard tests/progs/*.c)) \
            $(patsubst tests/progs/%.cc,$(B)/progs/%,$(wildcard tests/progs/*.cc))

.PHONY: all deps test unit integration demo install clean

all: $(B)/libgreenrun.so $(PROGS) $(UNIT)

# Only what is missing gets installed; apt-get update runs only then.
deps:
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Boost.Context's fcontext assembly only: jump/make/ontop objects, no C++.
$(FCTX):
	@mkdir -p $(@D)
	cd $(@D) && a=$$($(CC) -print-file-name=libboost_context.a) && \
	    ar x "$$a" $$(ar t "$$a" | grep -E '^(jump|make|ontop)_.*_gas\.o$$')
	@touch $@

$(B)/obj/%.o: %.c $(wildcard runtime/*.h shim/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iruntime -c -o $@ $<

# A C++ exception can unwind through pthread_once's frame (std::call_once).
$(B)/obj/shim/once.o: CFLAGS += -fexceptions

$(B)/libgreenrun.so: $(RT_OBJ) $(SHIM_OBJ) $(FCTX) shim/exports.map
	$(CC) -shared -o $@ $(RT_OBJ) $(SHIM_OBJ) $(B)/fcontext/*.o \
	    -Wl,--version-script=shim/exports.map -Wl,-z,defs $(LDLIBS)

$(B)/unit/%: tests/unit/%.c $(RT_OBJ) $(FCTX)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O1 -g $(WARN) -Iruntime -o $@ $< $(RT_OBJ) $(B)/fcontext/*.o \
	    -lcriterion $(LDLIBS)

$(B)/progs/%: tests/progs/%.c tests/progs/common.h tests/progs/seed.h
	@mkdir -p $(@D)
	$(CC) $(PROG_CFLAGS) -o $@ $< $(PROG_LIBS)

# The few test programs that use a library besides libc.
$(B)/progs/seed_zmq: PROG_LIBS := -lzmq

$(B)/progs/%: tests/progs/%.cc
	@mkdir -p $(@D)
	$(CXX) $(PROG_CFLAGS) -o $@ $<

# Every unit runs, bounded, even after one fails.
unit: $(UNIT)
	@failed=; for t in $(UNIT); do echo "== $$t"; \
	    timeout -k 10 300 $$t --jobs=1 || failed="$$failed $${t##*/}"; done; \
	if [ -n "$$failed" ]; then echo "unit tests failed:$$failed"; exit 1; fi

integration: $(B)/libgreenrun.so $(PROGS)
	@tests/integration/run.sh

test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) integration

demo: deps
	$(MAKE) $(B)/libgreenrun.so $(B)/progs/echo_server $(B)/progs/loadgen
	@scripts/demo.sh

install: $(B)/libgreenrun.so
	install -D -m 755 scripts/greenrun $(DESTDIR)$(PREFIX)/bin/greenrun
	install -D -m 755 $(B)/libgreenrun.so $(DESTDIR)$(PREFIX)/lib/greenrun/libgreenrun.so

clean:
	rm -rf $(B)

include tests/bench/bench.mk
