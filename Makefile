# espsync build. `make` builds the tool and the simulator; `make check` is the
# gate (install test deps, strict build, unit + end-to-end tests, then the same
# under ASan+UBSan); `make demo` syncs the simulated account end to end.

CC ?= cc
SANITIZE ?= 0
BUILD ?= build
ifeq ($(SANITIZE),1)
BUILD := build-san
endif

PKGS := libcurl sqlite3 libcjson libpq libmongoc-1.0 libcrypto
SIM_PKGS := libmicrohttpd libcjson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
SIM_CFLAGS = $(shell pkg-config --cflags $(SIM_PKGS) 2>/dev/null)
SIM_LIBS = $(shell pkg-config --libs $(SIM_PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wwrite-strings -fno-common \
	-Wpointer-arith -Wundef -Wcast-qual -Wno-format-nonliteral
OPT ?= -O2 -g
CFLAGS_ALL := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(OPT) $(WARN) \
	-Isrc -Iinclude -MMD -MP
LDFLAGS_ALL :=
ifeq ($(SANITIZE),1)
CFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS_ALL += -fsanitize=address,undefined -fno-sanitize-recover=all
endif

LIB_SRCS := $(sort $(filter-out src/main.c,$(wildcard src/*/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/src/main.o
SIM_SRCS := $(sort $(wildcard sim/*.c))
SIM_OBJS := $(SIM_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

ESPSYNC := $(BUILD)/espsync
SIM := $(BUILD)/espsync-sim
LIB := $(BUILD)/libespsync.a

.PHONY: print-pkgs all deps check check-one unit e2e fuzz-replay fuzz fuzz-bins \
	demo style format clean bench reliability

all: $(ESPSYNC) $(SIM)

$(BUILD)/obj/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/obj/sim/%.o: sim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SIM_CFLAGS) -Isim -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(ESPSYNC): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lm

$(SIM): $(SIM_OBJS) $(BUILD)/obj/src/util/buf.o $(BUILD)/obj/src/util/xalloc.o \
	$(BUILD)/obj/src/util/jsonw.o $(BUILD)/obj/src/util/timeparse.o
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(SIM_LIBS) -lpthread -lm

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB) \
		$(LDFLAGS_ALL) $(CMOCKA_LIBS) $(PKG_LIBS) -lm

# Fuzz targets are built as plain replay binaries (tests/fuzz/replay.c drives
# LLVMFuzzerTestOneInput over the corpus); `make fuzz` builds libFuzzer ones.
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -Wno-missing-prototypes -o $@ $< tests/fuzz/replay.c \
		$(LIB) $(LDFLAGS_ALL) $(PKG_LIBS) -lm

# libFuzzer binaries with ASan+UBSan (clang), in build-fuzz/libfuzzer/:
# build-fuzz/libfuzzer/fuzz_NAME -runs=N tests/fuzz/corpus/NAME
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
fuzz:
	@$(MAKE) --no-print-directory CC=clang BUILD=build-fuzz \
		WARN='$(WARN) -Wno-string-concatenation \
		-Wno-missing-field-initializers' \
		OPT='-O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN)' fuzz-bins

fuzz-bins: $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/libfuzzer/%)

$(BUILD)/libfuzzer/%: tests/fuzz/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -Wno-missing-prototypes \
		-fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(LIB) $(PKG_LIBS) -lm

deps:
	@scripts/install-deps $(DEPS_PROFILE)

unit: $(UNIT_BINS)
	@scripts/run-unit $(UNIT_BINS)

fuzz-replay: $(FUZZ_BINS)
	@scripts/run-fuzz-replay $(FUZZ_BINS)

e2e: $(ESPSYNC) $(SIM)
	@ESPSYNC=$(abspath $(ESPSYNC)) ESPSYNC_SIM=$(abspath $(SIM)) \
		python3 tests/e2e/run.py

# One build flavour: unit tests, fuzz corpus replay, end-to-end tests.
check-one: all
	@$(MAKE) --no-print-directory unit fuzz-replay e2e

check:
	@scripts/install-deps test
	@$(MAKE) --no-print-directory check-one SANITIZE=$(SANITIZE)
ifneq ($(SANITIZE),1)
	@echo "== sanitizer build (ASan+UBSan) =="
	@$(MAKE) --no-print-directory check-one SANITIZE=1
endif

demo:
	@scripts/install-deps demo
	@$(MAKE) --no-print-directory all
	@scripts/demo

style:
	@clang-format --dry-run -Werror $$(git ls-files 'src/*.[ch]' 'sim/*.[ch]' 'tests/*.[ch]')

format:
	@clang-format -i $$(git ls-files 'src/*.[ch]' 'sim/*.[ch]' 'tests/*.[ch]')

# The pkg-config packages the library links against (for programs built
# against build/libespsync.a outside this Makefile: bench/pg_load.c).
print-pkgs:
	@echo $(PKGS)

bench: all
	@bench/run

# The reliability report (docs/reliability.md); not part of check.
reliability: all
	@ESPSYNC=$(abspath $(ESPSYNC)) ESPSYNC_SIM=$(abspath $(SIM)) \
		python3 tests/reliability/reliability.py

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(SIM_OBJS:.o=.d)
