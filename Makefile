# tilepaint - tiled, resumable batch inpainting for very large images.
#
#   make            build build/tilepaint
#   make demo       install missing packages, build, run the main job on examples/
#   make check      install missing packages, build, run every test
#   make check SAN=1   the same under ASan + UBSan (build-san/)
#   make bench      benchmarks (scripts/bench/), printed as ratios
#   make check-scale   shards on a single-node Slurm cluster and GNU parallel
#                   (installs slurm-wlm, munge, parallel; root; not in check)
#   make fuzz SECONDS=N   each libFuzzer target for N seconds (clang, build-fuzz/)
#   make install    PREFIX=/usr/local DESTDIR=
#
# User CFLAGS never drop the project's flags: those are appended separately.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config
CFLAGS     ?= -O2 -g
SAN        ?= 0
V          ?= 0

ifeq ($(FUZZ),1)
# make fuzz: clang, libFuzzer's coverage hooks in every object, ASan + UBSan
BUILD      ?= build-fuzz
SANFLAGS    = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	      -fno-omit-frame-pointer
else ifeq ($(SAN),1)
BUILD      ?= build-san
SANFLAGS    = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD      ?= build
SANFLAGS    =
endif

PKGS       = libtiff-4 libpng libjpeg sqlite3 fftw3f openblas zlib libxxhash
TEST_PKGS  = cmocka

# Recursively expanded on purpose: pkg-config runs only when something is
# compiled, so `make demo` / `make check` can install packages first.
PKG_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS    = $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread -lm
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS   = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))

# -ffp-contract=off: no fused multiply-add behind our back, so float results
# (and so output bytes) do not depend on the compiler's contraction choices.
TP_CFLAGS  = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -ffp-contract=off \
	     -pthread -MMD -MP -I. $(SANFLAGS)
TP_LDFLAGS = -pthread $(SANFLAGS)

ifeq ($(V),1)
Q =
else
Q = @
endif

# ---- sources, by module ----------------------------------------------------
SRC_util    = $(wildcard src/util/*.c)
SRC_io      = $(wildcard src/io/*.c)
SRC_tiler   = $(wildcard tiler/*.c)
SRC_store   = $(wildcard store/*.c)
SRC_nn      = $(wildcard src/nn/*.c)
SRC_engines = $(wildcard src/engines/*.c)
SRC_core    = $(filter-out src/main.c,$(wildcard src/*.c))
SRC_all     = $(SRC_util) $(SRC_io) $(SRC_tiler) $(SRC_store) $(SRC_nn) \
	      $(SRC_engines) $(SRC_core)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
OBJ_all     = $(call obj,$(SRC_all))

# A unit test tests/unit/test_<m>.c links the smallest set that defines <m>,
# so a module in progress elsewhere never blocks another module's tests.
DEPS_util     = $(SRC_util)
DEPS_io       = $(SRC_io) $(SRC_util)
DEPS_tiler    = $(SRC_tiler) $(SRC_util)
DEPS_store    = $(SRC_store) $(SRC_util)
DEPS_nn       = $(SRC_nn) $(SRC_util)
deps_of = $(if $(DEPS_$(1)),$(DEPS_$(1)),$(SRC_all))

UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_BIN   = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_SRC   = $(wildcard tests/tools/*.c)
TOOL_BIN   = $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRC))
# Fuzz targets (tests/fuzz/fuzz_*.c): with gcc each is linked with replay.c's
# main and replays files (make check); with FUZZ=1 it is a libFuzzer binary.
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   = $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%,$(FUZZ_SRC))
ifeq ($(FUZZ),1)
FUZZ_MAIN  = $(BUILD)/tests/common.o
FUZZ_LINK  = -fsanitize=fuzzer
else
FUZZ_MAIN  = $(BUILD)/tests/common.o $(BUILD)/tests/replay.o
FUZZ_LINK  =
endif
SECONDS    ?= 60

BIN = $(BUILD)/tilepaint

# The LD_PRELOAD fault-injection shim (tests/e2e/17-fault-injection.sh). Never
# built with the sanitizers (it is loaded before their runtime); in SAN builds
# it leaves malloc to ASan.
FAULTINJ = $(BUILD)/tests/libfaultinj.so
ifeq ($(SAN),1)
FAULTINJ_FLAGS = -DFAULTINJ_NO_MALLOC
endif

.PHONY: all deps demo check check-scale tests bench install uninstall clean lint fuzz fuzz-bins
all: $(BIN)

$(BIN): $(BUILD)/src/main.o $(OBJ_all)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(TP_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/%.o: %.c | $(BUILD)/.pkgcheck
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(TP_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/unit/%.c | $(BUILD)/.pkgcheck-tests
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(TP_CFLAGS) $(PKG_CFLAGS) $(TEST_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/tools/%.c | $(BUILD)/.pkgcheck
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(TP_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/fuzz/%.c | $(BUILD)/.pkgcheck
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(TP_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

# The shared test fixture (tests/unit/fixture*.c): fixture.o (libc, cmocka,
# src/util) goes into every unit test; fixture_io.o and fixture_store.o only
# into tests that link src/io or store/ anyway, so no fixture pulls in a module.
fixture_of = $(BUILD)/tests/fixture.o \
	$(if $(filter $(SRC_io),$(call deps_of,$(1))),$(BUILD)/tests/fixture_io.o) \
	$(if $(filter $(SRC_store),$(call deps_of,$(1))),$(BUILD)/tests/fixture_store.o)

# <m> of test_<m>, outside the rule: a '%' written in a static pattern
# rule's prerequisites is replaced by the stem before the second expansion.
unit_mod = $(patsubst test_%,%,$(1))

.SECONDEXPANSION:
$(UNIT_BIN): $(BUILD)/tests/%: $(BUILD)/tests/%.o $$(call fixture_of,$$(call unit_mod,$$*)) \
		$$(call obj,$$(call deps_of,$$(call unit_mod,$$*)))
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(TP_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(PKG_LIBS)

$(TOOL_BIN): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(OBJ_all)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(TP_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(FUZZ_BIN): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(FUZZ_MAIN) $(OBJ_all)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) $(TP_LDFLAGS) $(FUZZ_LINK) -o $@ $^ $(PKG_LIBS)

# A missing package stops the build with its name (run scripts/install-deps.sh).
# The tool needs only PKGS; the test programs also TEST_PKGS.
$(BUILD)/.pkgcheck:
	@for p in $(PKGS); do \
		$(PKG_CONFIG) --exists $$p || { echo "tilepaint: missing package '$$p' (pkg-config); run scripts/install-deps.sh" >&2; exit 1; }; \
	done
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/.pkgcheck-tests: | $(BUILD)/.pkgcheck
	@for p in $(TEST_PKGS); do \
		$(PKG_CONFIG) --exists $$p || { echo "tilepaint: missing package '$$p' for the tests (pkg-config); run scripts/install-deps.sh" >&2; exit 1; }; \
	done
	@touch $@

$(FAULTINJ): tests/faultinj/faultinj.c | $(BUILD)/.pkgcheck
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(FAULTINJ_FLAGS) $(CFLAGS) \
		-fPIC -shared -o $@ $< -ldl

tests: $(BIN) $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_BIN) $(FAULTINJ)

deps:
	@scripts/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh $(BIN)

check: deps
	@$(MAKE) --no-print-directory tests lint
	@scripts/run-tests.sh $(BUILD)

# Not part of `make check`: it installs and starts Slurm daemons (as root).
check-scale: deps
	@scripts/install-deps.sh slurm-wlm munge parallel jq
	@$(MAKE) --no-print-directory all $(TOOL_BIN)
	@scripts/check-scale.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all $(TOOL_BIN)
	@scripts/bench/run-all.sh $(BUILD)

# libFuzzer needs clang and its runtime (not installed by clang alone on
# Debian: libclang-rt-14-dev is only recommended).
fuzz-bins: $(FUZZ_BIN)

fuzz:
	@scripts/install-deps.sh clang libclang-rt-14-dev time
	@$(MAKE) --no-print-directory FUZZ=1 CC=clang fuzz-bins
	@scripts/fuzz.sh build-fuzz $(SECONDS)

# The house's rules the compiler does not check (scripts/lint.sh says which):
# parts depend one way, libraries stay in their part, short top-layer
# functions, TP_MUST_USE, the man page against the exit-code table.
lint: $(BIN)
	@scripts/lint.sh $(BUILD)

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/tilepaint
	install -m 644 man/tilepaint.1 $(DESTDIR)$(MANDIR)/man1/tilepaint.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tilepaint $(DESTDIR)$(MANDIR)/man1/tilepaint.1

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
