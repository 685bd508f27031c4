# sluice — one entry point.  See README.md.
#
#   make            build build/sluiced and build/sluicectl
#   make run        build and start sluiced in the foreground (loopback)
#   make test       unit + integration tests (integration needs root)
#   make test-san   the same suite built with ASan + UBSan (build-san/)
#   make test-oom   unit tests failing the Nth allocation
#   make bench      benchmarks against HAProxy, Squid and nginx, and
#                   inspection against Squid ssl-bump, mitmproxy and an
#                   nginx TLS reference (make bench-inspect: that alone),
#                   and UDP forwarding against socat, a minimal relay and
#                   the kernel (make bench-udp: that alone)
#   make fuzz       build and briefly run the fuzz targets (clang)
#   make lint       cppcheck over the tree
#   make test-fresh  (root) the first `make`, `make run` and `make test-unit`
#                   in a fresh Debian 12 root (scripts/test-fresh.sh)
#   make clean
# (`make image`, the appliance image, comes with the appliance work.)
#
# Every target that compiles or tests first runs `deps` (scripts/deps.sh):
# as root it installs the missing Debian packages, otherwise it names them.
# `make` and `make run` need the build list; the test, bench, fuzz, lint and
# test-fresh goals the test list too.  pkg-config is asked only once deps has
# run (order-only prerequisite `| deps`, variables evaluated on first use),
# so the first `make` on a fresh machine works.

SANITIZE ?=
ifneq ($(SANITIZE),)
BUILD ?= build-san
else
BUILD ?= build
endif

CC	?= cc
PKGS	:= libevent_core libevent_pthreads libevent_openssl openssl libnghttp2 \
	   libcares libmaxminddb jansson
# Evaluated on first use, i.e. in a recipe that runs after deps (never
# while the Makefile is read, before deps could install the -dev packages),
# then kept.  A module pkg-config cannot find stops the build saying so.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkgconf,--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(call pkgconf,--libs))$(PKG_LIBS)
pkgconf = $(if $(and $(PKG_MISSING),$(if $(DRY_RUN),,y)),$(error \
	pkg-config does not find: $(PKG_MISSING)(their -dev packages are in \
	the build list of scripts/deps.sh)),$(shell pkg-config $(1) $(PKGS)))
DRY_RUN = $(findstring n,$(firstword -$(MAKEFLAGS)))
PKG_MISSING = $(eval PKG_MISSING := $(shell for m in $(PKGS); do \
	pkg-config --exists $$m || printf '%s ' $$m; done))$(PKG_MISSING)

WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wformat=2 \
	   -Wno-missing-field-initializers
CFLAGS	?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) $(PKG_CFLAGS) \
	   -MMD -MP -I.
LDLIBS	= $(PKG_LIBS) -lcrypt -pthread
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all -DSL_DEBUG
LDFLAGS += -fsanitize=$(SANITIZE)
endif

MODULES	:= lib policy tls stun proxy
lib_SRC	   := $(wildcard lib/*.c lib/*/*.c)
policy_SRC := $(wildcard policy/*.c)
tls_SRC	   := $(wildcard tls/*.c)
stun_SRC   := $(wildcard stun/*.c)
proxy_SRC  := $(filter-out proxy/main.c,$(wildcard proxy/*.c)) \
	      $(wildcard proxy/sink/*.c proxy/h2/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
# Link order: dependants first (proxy uses policy, tls, stun, lib).
ARCHIVES := $(BUILD)/libsl_proxy.a $(BUILD)/libsl_policy.a \
	    $(BUILD)/libsl_tls.a $(BUILD)/libsl_stun.a $(BUILD)/libsl_lib.a

UNIT_SRC  := $(wildcard tests/unit/*/*_test.c)
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Test and benchmark tools (load generator, echo servers, policy bench):
# they link no proxy code.
TOOL_SRC  := $(wildcard tests/tools/*.c tests/bench/*.c)
TOOL_BIN  := $(patsubst %.c,$(BUILD)/tools/%,$(notdir $(TOOL_SRC)))
# Fuzz targets, built with a corpus-replay main for `make test`.
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

# Keep the objects of tools and fuzz targets (make would delete them as
# intermediates and rebuild them on every `make test`).
.SECONDARY:

.PHONY: all deps run test test-unit test-integ test-san test-oom bench \
	bench-inspect bench-udp fuzz \
	lint clean test-fresh
all: $(BUILD)/sluiced $(BUILD)/sluicectl

# Install missing Debian packages (as root) or name them (otherwise): the
# build list always, the test list too when a goal tests.  One deps run per
# make, before anything is compiled: every object and link rule has it as
# an order-only prerequisite.
TEST_GOALS := test test-unit test-integ test-san test-oom bench bench-inspect \
	bench-udp \
	fuzz lint \
	test-fresh
DEPS_LISTS ?= build $(if $(filter $(TEST_GOALS),$(MAKECMDGOALS)),test)
deps:
	@sh scripts/deps.sh $(DEPS_LISTS)

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

define archive_rule
$(BUILD)/libsl_$(1).a: $(call obj,$($(1)_SRC)) | deps
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call archive_rule,$(m))))

$(BUILD)/sluiced: $(BUILD)/proxy/main.o $(ARCHIVES) | deps
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# sluicectl needs no proxy code: it speaks to sluiced over its control
# socket (admin/ctlproto.h) and uses policy/ for check, explain, profiles.
ADMIN_SRC := $(wildcard admin/*.c)
CTL_ARCHIVES := $(BUILD)/libsl_policy.a $(BUILD)/libsl_tls.a \
		$(BUILD)/libsl_stun.a $(BUILD)/libsl_lib.a
$(BUILD)/sluicectl: $(call obj,$(ADMIN_SRC)) $(CTL_ARCHIVES) | deps
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A unit test links only the modules its area depends on, so one module's
# tests build while another module is being worked on.
area_libs_lib	 := $(BUILD)/libsl_lib.a
area_libs_policy := $(BUILD)/libsl_policy.a $(area_libs_lib)
area_libs_tls	 := $(BUILD)/libsl_tls.a $(area_libs_lib)
area_libs_stun	 := $(BUILD)/libsl_stun.a $(area_libs_tls)
area_libs_http	 := $(area_libs_lib)
# The event log (proxy/sink/) needs lib/ only (and config.h's types).
SINK_OBJ	 := $(call obj,$(wildcard proxy/sink/*.c))
area_libs_sink	 := $(SINK_OBJ) $(area_libs_lib)
area_libs_proxy	 := $(ARCHIVES)
area_libs_admin	 := $(ARCHIVES)
define unit_rule
$(BUILD)/tests/$(1): $(BUILD)/tests/unit/$(1).o $(BUILD)/tests/unit/t.o \
    $(area_libs_$(firstword $(subst /, ,$(1)))) | deps
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(patsubst tests/unit/%.c,%,$(UNIT_SRC)),$(eval $(call unit_rule,$(t))))

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(CTL_ARCHIVES) | deps
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tools/%: $(BUILD)/tests/bench/%.o $(CTL_ARCHIVES) | deps
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets link the pure modules (the HTTP codec is in lib/).
$(BUILD)/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o \
    $(CTL_ARCHIVES) | deps
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Every test binary and tool the suites use.
test-bins: all $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_BIN)
.PHONY: test-bins

# An inspection CA of its own under run/, made once (clients trust
# run/ca.pem; the appliance makes its CA at first boot instead).
run: all
	@mkdir -p run
	@[ -e run/ca.pem ] || ./$(BUILD)/sluicectl ca init --dir run \
	    --cn "sluice make-run CA"
	./$(BUILD)/sluiced -f -c rootfs/overlay/etc/sluice/sluice.conf \
	    -o state-dir=run -o log-dir=run -o user= -o pid-file=

test: test-bins
	@BUILD=$(BUILD) sh tests/run.sh $(TESTS)

test-unit: test-bins
	@BUILD=$(BUILD) sh tests/run.sh --unit $(TESTS)

test-integ: test-bins
	@BUILD=$(BUILD) sh tests/run.sh --integ $(TESTS)

test-san:
	$(MAKE) SANITIZE=address,undefined test

test-oom: test-bins
	@BUILD=$(BUILD) sh tests/run.sh --oom

bench: all $(TOOL_BIN)
	@BUILD=$(BUILD) sh tests/bench/run.sh $(BENCH)

# The inspection group of `make bench` alone (tests/bench/inspect.sh).
bench-inspect: all $(TOOL_BIN)
	@BUILD=$(BUILD) sh tests/bench/run.sh inspect

# The UDP forwarding group of `make bench` alone (tests/bench/udp.sh).
bench-udp: all $(TOOL_BIN)
	@BUILD=$(BUILD) sh tests/bench/run.sh udp

fuzz: deps
	@sh tests/fuzz/run.sh $(FUZZ_SRC)

lint: deps
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance \
	    --inline-suppr -I. -D_GNU_SOURCE lib policy tls stun proxy admin

# The first make, make run and make test-unit (and one integration test)
# in a fresh Debian 12 root, from a clean clone of HEAD (root only; see
# scripts/test-fresh.sh for its settings).
test-fresh: deps
	@sh scripts/test-fresh.sh

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
