# ml-connector build. `make` builds every binary into bin/, `make test` runs all tests
# (installing missing Debian packages first), `make run` starts the demo stack.
CC      ?= cc
# Compile on every core unless the caller chose (-j N on the command line).
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
# Missing Debian packages are installed before anything reads pkg-config (skipped for clean).
ifeq ($(filter clean,$(MAKECMDGOALS)),)
DEPS_STATUS := $(shell scripts/deps.sh >&2 && echo ok)
ifneq ($(DEPS_STATUS),ok)
$(error scripts/deps.sh could not install the build dependencies)
endif
endif
PKGS    := libcurl jansson libzmq hiredis openssl libmicrohttpd
CFLAGS  ?= -O2 -g
# -MMD -MP: every object also depends on the headers it includes (build/**/*.d).
CFLAGS  += -MMD -MP -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -D_GNU_SOURCE -Icommon $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
# Each binary loads only the libraries it uses (workers never map libmicrohttpd and GnuTLS).
LDFLAGS += -Wl,--as-needed
SAN     ?=
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
BIN     := bin
OBJ     := build$(if $(SAN),-san)

COMMON_SRC    := $(wildcard common/*.c)
BROKER_SRC    := $(wildcard broker/broker*.c)
SCHED_SRC     := $(wildcard broker/sched*.c)
ERP_SRC       := $(wildcard workers/erp/*.c)
POLLER_SRC    := $(wildcard workers/poller/*.c)
WRITER_SRC    := $(wildcard workers/writer/*.c)
GW_SRC        := $(wildcard webhook-gw/*.c)
SIM_SRC       := $(wildcard sim/*.c)
CLI_SRC       := $(wildcard cli/*.c)
UNIT_SRC      := $(wildcard tests/unit/test_*.c)

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))
PROGS := $(BIN)/mlc $(BIN)/mlc-broker $(BIN)/mlc-scheduler $(BIN)/mlc-poller \
         $(BIN)/mlc-writer $(BIN)/mlc-webhook-gw $(BIN)/mlc-sim
UNIT_BINS := $(patsubst tests/unit/%.c,$(BIN)/tests/%,$(UNIT_SRC))

all: $(PROGS)

$(OBJ)/libmlc.a: $(call objs,$(COMMON_SRC))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(OBJ)/%.o: %.c $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(<D) -c -o $@ $<

# Both workers use the ERP clients (the poller reads, the writer writes back).
$(OBJ)/workers/%.o: CFLAGS += -Iworkers/erp

# The operator CLI (ping, sync --plan, reconcile, webhooks) uses the ERP and Asana clients.
$(OBJ)/cli/%.o: CFLAGS += -Iworkers/erp -Iworkers/writer

# Unit tests see the headers of every process directory.
$(OBJ)/tests/unit/%.o: tests/unit/%.c $(wildcard common/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/unit -Iworkers/erp -Iworkers/poller -Iworkers/writer -Isim -Ibroker -Icli -Iwebhook-gw -c -o $@ $<

$(BIN)/mlc:            $(call objs,$(CLI_SRC) $(ERP_SRC) $(filter-out %_main.c,$(WRITER_SRC))) $(OBJ)/libmlc.a
$(BIN)/mlc-broker:     $(call objs,$(BROKER_SRC)) $(OBJ)/libmlc.a
$(BIN)/mlc-scheduler:  $(call objs,$(SCHED_SRC))  $(OBJ)/libmlc.a
$(BIN)/mlc-poller:     $(call objs,$(POLLER_SRC) $(ERP_SRC)) $(OBJ)/libmlc.a
$(BIN)/mlc-writer:     $(call objs,$(WRITER_SRC) $(ERP_SRC)) $(OBJ)/libmlc.a
$(BIN)/mlc-webhook-gw: $(call objs,$(GW_SRC))     $(OBJ)/libmlc.a
$(BIN)/mlc-sim:        $(call objs,$(SIM_SRC))    $(OBJ)/libmlc.a
$(PROGS):
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests may also test code of a process directory: they link every object of
# sim/ workers/ broker/ webhook-gw/ cli/ except the files that hold main().
LIB_OBJS = $(call objs,$(filter-out %_main.c,$(ERP_SRC) $(POLLER_SRC) $(WRITER_SRC) $(SIM_SRC) $(BROKER_SRC) $(SCHED_SRC) $(GW_SRC) $(CLI_SRC)))
$(BIN)/tests/%: $(OBJ)/tests/unit/%.o $(LIB_OBJS) $(OBJ)/libmlc.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

test: all unit
	tests/run.sh

test-unit: all unit
	tests/run.sh unit

run: all
	$(BIN)/mlc up --demo

bench: all
	bench/run.sh

# Docker Compose deployment test (tests/deploy/): needs a Docker engine; prints SKIPPED otherwise.
test-deploy: all
	tests/deploy/run.sh

clean:
	rm -rf bin build build-san

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

# Keep objects of unit tests (make would delete them as intermediates and rebuild every time).
.SECONDARY:

.PHONY: all unit test test-unit test-deploy run bench clean

# Lean worker build (docs/lean-build.md), opt-in: `make lean` builds the feature-stripped static
# libcurl/libzmq once (scripts/lean-deps.sh, into LEAN_PREFIX) and links $(LEAN_BIN)/mlc-poller
# and $(LEAN_BIN)/mlc-writer statically against them plus Debian's libssl.a, libcrypto.a,
# libjansson.a, libhiredis.a and libstdc++.a, objects in $(LEAN_OBJ). libc stays dynamic (a PIE
# with packed relative relocations); LEAN_STATIC=1 links libc statically too.
LEAN_PREFIX ?= /var/cache/mlc/lean/prefix
LEAN_OBJ    ?= build-lean
LEAN_BIN    ?= bin-lean
LEAN_STATIC ?=
# The two workers are always relinked: a Debian update of a .a file is picked up by `make lean`.
lean:
	scripts/lean-deps.sh
	rm -f $(LEAN_BIN)/mlc-poller $(LEAN_BIN)/mlc-writer
	$(MAKE) LEAN=1 OBJ=$(LEAN_OBJ) BIN=$(LEAN_BIN) $(LEAN_BIN)/mlc-poller $(LEAN_BIN)/mlc-writer
# LEAN=1 is the sub-make of `make lean` (only the two workers link this way): lean headers first,
# a section per function so --gc-sections drops what is never called; -Bstatic -lstdc++ with
# -static-libgcc is what g++'s -static-libstdc++ does (the link driver here is $(CC)).
ifeq ($(LEAN),1)
CFLAGS  := -I$(LEAN_PREFIX)/include $(CFLAGS) -ffunction-sections -fdata-sections
LDFLAGS += -static-libgcc -Wl,--gc-sections $(if $(LEAN_STATIC),-static,-Wl,-z,pack-relative-relocs)
LDLIBS  := -L$(LEAN_PREFIX)/lib -Wl,-Bstatic -lcurl -lzmq -lhiredis -ljansson -lssl -lcrypto \
           -lstdc++ $(if $(LEAN_STATIC),,-Wl,-Bdynamic) -lpthread -lrt -lm -ldl
endif
.PHONY: lean
