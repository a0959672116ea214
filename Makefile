# ml-connector build. `make` builds every binary into bin/, `make test` runs all tests
# (installing missing Debian packages first), `make run` starts the demo stack.
CC      ?= cc
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
