# espsync build. `make` builds the tool, the simulator and libespsync (.a and
# .so.0); `make install`, `make deb` (docs/library.md); `make check` is the
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
# The shared library is the API without the command-line layer (src/cmd
# prints and exits; the binary links the static archive).
SHLIB_OBJS := $(filter-out $(BUILD)/obj/src/cmd/%,$(LIB_OBJS))
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

# The shared library: only the functions include/espsync.h marks ESPSYNC_API
# are visible (-fvisibility=hidden), and the version script keeps the dynamic
# symbol table to espsync_*. SOMAJOR changes only when the ABI breaks.
VERSION := $(shell sed -n 's/^[#]define ESPSYNC_VERSION "\(.*\)"$$/\1/p' \
	src/config/options.h)
SOMAJOR := 0
SONAME := libespsync.so.$(SOMAJOR)
SHLIB_FILE := libespsync.so.$(VERSION)
SHLIB := $(BUILD)/$(SHLIB_FILE)
SHLIB_LINKS := $(BUILD)/$(SONAME) $(BUILD)/libespsync.so
LIB_MAP := src/api/libespsync.map
PIC_CFLAGS := -fPIC -fvisibility=hidden

# make install [PREFIX=/usr/local] [DESTDIR=]; make uninstall removes the same
# files. The espsync binary is linked statically against libespsync.a.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/espsync
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install
UNITS := $(notdir $(sort $(wildcard docs/systemd/*.service \
	docs/systemd/*.timer)))
# Libs.private of espsync.pc: what a program linking libespsync.a needs.
LIBS_PRIVATE = $(strip $(PKG_LIBS) -lm)
DEB_MAINTAINER ?= espsync maintainers <maintainers@espsync.invalid>

.PHONY: print-pkgs all deps check check-one unit e2e fuzz-replay fuzz fuzz-bins \
	demo style format clean bench reliability shlib check-exports install \
	uninstall deb

all: $(ESPSYNC) $(SIM) shlib

$(BUILD)/obj/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(PIC_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/obj/sim/%.o: sim/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(SIM_CFLAGS) -Isim -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

shlib: $(SHLIB) $(SHLIB_LINKS)

$(SHLIB): $(SHLIB_OBJS) $(LIB_MAP)
	$(CC) $(LDFLAGS_ALL) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script=$(LIB_MAP) -Wl,-z,defs -Wl,-z,relro \
		-Wl,-z,now -o $@ $(SHLIB_OBJS) $(PKG_LIBS) -lm

$(BUILD)/$(SONAME): $(SHLIB)
	ln -sf $(SHLIB_FILE) $@

$(BUILD)/libespsync.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

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

# One build flavour: unit tests, fuzz corpus replay, the shared library's
# exports, end-to-end tests (tests/e2e/test_install.py: make install, make deb).
check-one: all
	@$(MAKE) --no-print-directory unit fuzz-replay check-exports e2e

check-exports: shlib
	@tests/pkg/check-exports --complete $(BUILD)/$(SONAME)

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

install: $(ESPSYNC) $(LIB) shlib
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(ESPSYNC) $(DESTDIR)$(BINDIR)/espsync
	$(INSTALL) -m 644 $(SHLIB) $(DESTDIR)$(LIBDIR)/$(SHLIB_FILE)
	ln -sf $(SHLIB_FILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libespsync.so
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libespsync.a
	$(INSTALL) -m 644 include/espsync.h $(DESTDIR)$(INCLUDEDIR)/espsync.h
	sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
		-e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|' \
		src/api/espsync.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/espsync.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/espsync.pc
	$(INSTALL) -m 644 docs/espsync.1 $(DESTDIR)$(MANDIR)/man1/espsync.1
	for u in $(UNITS); do \
		sed 's|/usr/local/bin/espsync|$(BINDIR)/espsync|g' \
			docs/systemd/$$u > $(DESTDIR)$(DOCDIR)/$$u && \
		chmod 644 $(DESTDIR)$(DOCDIR)/$$u || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/espsync $(DESTDIR)$(LIBDIR)/$(SHLIB_FILE) \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libespsync.so \
		$(DESTDIR)$(LIBDIR)/libespsync.a \
		$(DESTDIR)$(INCLUDEDIR)/espsync.h \
		$(DESTDIR)$(PKGCONFIGDIR)/espsync.pc \
		$(DESTDIR)$(MANDIR)/man1/espsync.1 \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(UNITS))
	rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# build/espsync_VERSION_ARCH.deb: make install PREFIX=/usr into a staging
# root, then dpkg-deb (scripts/build-deb computes Depends).
deb: $(ESPSYNC) $(LIB) shlib
ifeq ($(SANITIZE),1)
	@echo "make deb: not from a sanitizer build (SANITIZE=1)" >&2; exit 2
endif
	rm -rf $(BUILD)/deb
	@$(MAKE) --no-print-directory install PREFIX=/usr \
		DESTDIR=$(abspath $(BUILD))/deb/root
	DEB_MAINTAINER='$(DEB_MAINTAINER)' scripts/build-deb \
		$(BUILD)/deb/root $(VERSION) $(BUILD)

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(SIM_OBJS:.o=.d)
