# famfs: top-level build. `make` builds everything user space into build/;
# `make check` runs every test; see README.md.

BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= gcc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -MMD -MP -I. -Ifamfs -Ifmap
VERSION  := $(shell cat VERSION 2>/dev/null || echo unknown)
CPPFLAGS += -DFAMFS_PKG_VERSION='"$(VERSION)"'
PKGS     := fuse3 libdaxctl yaml-0.1 uuid zlib mount libisal
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = $(CPPFLAGS) $(PKG_CFLAGS) $(WARN) $(CFLAGS)
LDLIBS_ALL  = $(PKG_LIBS) -lpthread

LIB_SRC  := $(wildcard famfs/*.c) $(wildcard fmap/*.c)
CLI_SRC  := $(wildcard cli/*.c)
FUSED_SRC := $(wildcard fused/*.c)
UNIT_SRC := $(wildcard test/unit/test_*.c)
BENCH_SRC := $(wildcard bench/*.c)
TOOL_SRC := $(wildcard test/tools/*.c)
CONF_SRC := $(wildcard test/conformance/*.c)

LIB      := $(BUILD)/libfamfs.a
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
FUSED_OBJ := $(FUSED_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TOOL_BIN := $(TOOL_SRC:test/tools/%.c=$(BUILD)/test/tools/%)
CONF_BIN := $(CONF_SRC:test/conformance/%.c=$(BUILD)/test/%)

# `make V=1` shows the commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

PROGS := $(BUILD)/famfs
ifneq ($(FUSED_SRC),)
PROGS += $(BUILD)/famfs_fused
endif

.PHONY: all progs man deb deb-test install-dkms check check-run unit integration vmtest bench demo install \
	clean format format-check \
	deps fuzz fuzz-replay fuzz-merge asan asan-run tsan tsan-run

all: $(PROGS) $(UNIT_BIN) $(TOOL_BIN) $(CONF_BIN) $(BENCH_BIN)

# The programs alone (what the Debian package builds).
progs: $(PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# `famfs --version` and `famfs_fused --version` print VERSION.
$(BUILD)/obj/cli/main.o $(BUILD)/obj/fused/main.o: VERSION

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/famfs: $(CLI_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/famfs_fused: $(FUSED_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ALL) -lcmocka

$(BUILD)/test/tools/%: $(BUILD)/obj/test/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ALL)

# The kernel-protocol harness (test/conformance/): plays the kernel, no famfs kernel needed.
$(CONF_BIN): $(BUILD)/test/%: $(BUILD)/obj/test/conformance/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_ALL)

# ---- tests ----
# `make check` installs what is missing (Debian packages), builds, and runs
# every test: unit, FUSE integration and the kernel module under qemu.
check:
	@bash scripts/deps.sh --kernel
	@$(MAKE) --no-print-directory check-run

check-run: all
	@$(MAKE) --no-print-directory unit integration asan tsan fuzz-replay vmtest deb-test

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: $(PROGS) $(TOOL_BIN) $(CONF_BIN)
	@bash test/integration/run.sh $(BUILD)

# ---- sanitizers: the same sources built with gcc's ASan+UBSan into
# $(BUILD)/asan, then the unit tests and the integration scripts in ASAN_IT run
# on those binaries. Every process (the CLI, the daemonized famfs_fused) logs
# sanitizer reports to $(BUILD)/asan/logs; any report fails the target.
ASAN_CFLAGS := -O2 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
ASAN_IT     ?= t_offline.sh t_client.sh t_access.sh t_pending.sh t_pending_io.sh t_kept.sh

asan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CFLAGS="$(ASAN_CFLAGS)" \
		ASAN_IT="$(ASAN_IT)" asan-run

# test_commit injects out-of-memory through its own malloc(), which a
# sanitizer owns: it runs in the plain `make unit` only.
ASAN_UNIT_BIN := $(filter-out %/test_commit,$(UNIT_BIN))

asan-run: $(PROGS) $(ASAN_UNIT_BIN) $(TOOL_BIN)
	@rm -rf $(BUILD)/logs && mkdir -p $(BUILD)/logs
	@export ASAN_OPTIONS=log_path=$(abspath $(BUILD))/logs/asan:detect_leaks=1 \
		UBSAN_OPTIONS=log_path=$(abspath $(BUILD))/logs/ubsan:print_stacktrace=1; \
		set -e; for t in $(ASAN_UNIT_BIN); do echo "== $$t (ASan+UBSan)"; $$t; done; \
		bash test/integration/run.sh $(BUILD) $(ASAN_IT)
	@if [ -n "$$(ls $(BUILD)/logs)" ]; then \
		echo "asan: sanitizer reports:"; cat $(BUILD)/logs/*; exit 1; fi
	@echo "asan: unit tests and $(ASAN_IT): no sanitizer reports"

# ThreadSanitizer on the server: $(BUILD)/tsan, then test/integration/t_race.sh
# (parallel requests on one master and a following client), t_pending_io.sh
# (commit under in-flight reads) and t_kept.sh (handles, flushes and releases
# of one file from several processes, other files' space trimmed under their
# writes); any data race report fails the target.
TSAN_CFLAGS := -O2 -g -fno-omit-frame-pointer -fsanitize=thread
TSAN_IT     ?= t_race.sh t_pending_io.sh t_kept.sh

tsan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/tsan CFLAGS="$(TSAN_CFLAGS)" tsan-run

tsan-run: $(PROGS) $(TOOL_BIN)
	@rm -rf $(BUILD)/logs && mkdir -p $(BUILD)/logs
	@export TSAN_OPTIONS=log_path=$(abspath $(BUILD))/logs/tsan:halt_on_error=0:suppressions=$(abspath test/tsan.supp); \
		bash test/integration/run.sh $(BUILD) $(TSAN_IT)
	@if [ -n "$$(ls $(BUILD)/logs)" ]; then \
		echo "tsan: data race reports:"; cat $(BUILD)/logs/* | head -200; exit 1; fi
	@echo "tsan: $(TSAN_IT): no data race reports"

# famfs.ko under qemu on Debian 12's 6.1 and 6.12 kernels: fetches each kernel
# once, builds the module per kernel, boots the guests (test/vm/vmtest.sh,
# docs/kernel.md).
vmtest: $(PROGS)
	@BUILD=$(abspath $(BUILD)) bash test/vm/vmtest.sh

# ---- fuzzing: clang-14 + libFuzzer with ASan/UBSan, famfs/ and fmap/ sources
# compiled in (not the gcc-built libfamfs.a). `make fuzz FUZZ_SECONDS=N` runs
# both targets for N seconds; `make fuzz-replay` (in check-run) runs the saved
# corpora once; `make fuzz-merge` keeps new inputs that add coverage.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Ifamfs -Ifmap \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_LOG_SRC := famfs/filemap.c famfs/entry.c famfs/crc.c famfs/path.c famfs/ns.c famfs/map.c famfs/alloc.c famfs/shadow.c \
	famfs/devtab.c \
	famfs/problem.c famfs/check.c famfs/apply.c famfs/super.c fmap/fmap.c
FUZZ_BIN     := $(BUILD)/fuzz/fuzz_fmap $(BUILD)/fuzz/fuzz_logentry

$(BUILD)/fuzz/fuzz_fmap: fuzz/fuzz_fmap.c test/fmap_ref.h fmap/fmap.c $(wildcard fmap/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_fmap.c fmap/fmap.c

$(BUILD)/fuzz/fuzz_logentry: fuzz/fuzz_logentry.c $(FUZZ_LOG_SRC) $(wildcard famfs/*.h fmap/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ fuzz/fuzz_logentry.c $(FUZZ_LOG_SRC) -lz -lisal -lyaml -luuid

fuzz: $(FUZZ_BIN)
	@bash fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

fuzz-replay: $(FUZZ_BIN)
	@set -e; for t in fmap logentry; do \
		n=$$(ls fuzz/corpus/$$t | wc -l); \
		$(BUILD)/fuzz/fuzz_$$t -runs=0 fuzz/corpus/$$t >$(BUILD)/fuzz/replay-$$t.log 2>&1 || \
			{ echo "fuzz-replay: $$t FAILED"; tail -30 $(BUILD)/fuzz/replay-$$t.log; exit 1; }; \
		echo "fuzz-replay: $$t: $$n saved inputs, no findings (ASan+UBSan)"; \
	done

fuzz-merge: $(FUZZ_BIN)
	@for t in fmap logentry; do \
		$(BUILD)/fuzz/fuzz_$$t -merge=1 fuzz/corpus/$$t $(BUILD)/fuzz/work/$$t 2>&1 | tail -1; \
	done

bench: all
	@bash bench/run.sh $(BUILD)

# The main job on a file-backed device: see scripts/demo.sh.
demo:
	@bash scripts/deps.sh
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh $(BUILD)

# Man pages, generated from the programs' --help (help2man).
man: $(PROGS)
	@bash scripts/man.sh $(BUILD) $(VERSION)

# famfs and famfs_fused in $(PREFIX)/bin; mkfs.famfs, mount.famfs,
# umount.famfs and umount.fuse.famfs (links to famfs) in /sbin for
# PREFIX=/usr (where mkfs(8), mount(8) and umount(8) look for helpers), else
# in $(PREFIX)/sbin; man pages; bash completion.
BINDIR  = $(PREFIX)/bin
SBINDIR ?= $(if $(filter /usr,$(PREFIX)),/sbin,$(PREFIX)/sbin)
MANDIR  = $(PREFIX)/share/man
COMPDIR = $(PREFIX)/share/bash-completion/completions
install: $(PROGS) man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)/
	ln -sf $(BINDIR)/famfs $(DESTDIR)$(SBINDIR)/mkfs.famfs
	ln -sf $(BINDIR)/famfs $(DESTDIR)$(SBINDIR)/mount.famfs
	ln -sf $(BINDIR)/famfs $(DESTDIR)$(SBINDIR)/umount.famfs
	ln -sf $(BINDIR)/famfs $(DESTDIR)$(SBINDIR)/umount.fuse.famfs
	install -m 0644 $(BUILD)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 scripts/famfs.bash-completion $(DESTDIR)$(COMPDIR)/famfs
	ln -sf famfs $(DESTDIR)$(COMPDIR)/mkfs.famfs
	ln -sf famfs $(DESTDIR)$(COMPDIR)/famfs_fused

# The DKMS source tree of famfs-dkms: /usr/src/famfs-$(VERSION) (kmod/, the
# fmap codec, scripts/kernel-env.sh, dkms-build.sh, dkms.conf) and a
# modules-load.d file that loads famfs at boot.
DKMSDIR = /usr/src/famfs-$(VERSION)
install-dkms:
	install -d $(DESTDIR)$(DKMSDIR)/fmap $(DESTDIR)$(DKMSDIR)/scripts $(DESTDIR)/usr/lib/modules-load.d
	tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*' --exclude='*.mod*' --exclude='*.md' kmod | \
		tar -C $(DESTDIR)$(DKMSDIR) --no-same-owner -xf -
	install -m 0644 $(wildcard fmap/*.c fmap/*.h) $(DESTDIR)$(DKMSDIR)/fmap/
	install -m 0755 scripts/kernel-env.sh $(DESTDIR)$(DKMSDIR)/scripts/
	install -m 0755 scripts/dkms-build.sh $(DESTDIR)$(DKMSDIR)/
	sh scripts/dkms-conf.sh $(VERSION) >$(DESTDIR)$(DKMSDIR)/dkms.conf
	echo famfs >$(DESTDIR)/usr/lib/modules-load.d/famfs.conf

# Debian packages (debian/): build/deb/famfs_*.deb, built from a copy of the
# tree with dpkg-buildpackage. deb-test: build, check and install them
# (test/deb/run.sh, in make check).
deb:
	@bash scripts/deps.sh --deb
	@bash scripts/build-deb.sh $(BUILD)

deb-test:
	@bash test/deb/run.sh $(BUILD)

# Debian packages needed to build and test user space.
deps:
	@bash scripts/deps.sh

format:
	clang-format -i $(LIB_SRC) $(wildcard famfs/*.h fmap/*.h cli/*.h fused/*.h) $(CLI_SRC) \
		$(FUSED_SRC) $(UNIT_SRC) $(BENCH_SRC) $(CONF_SRC) $(wildcard fuzz/*.c)

format-check:
	@clang-format --dry-run -Werror $(LIB_SRC) $(wildcard famfs/*.h fmap/*.h cli/*.h fused/*.h) \
		$(CLI_SRC) $(FUSED_SRC) $(UNIT_SRC) $(BENCH_SRC) $(CONF_SRC) $(wildcard fuzz/*.c)

clean:
	rm -rf $(BUILD)

# Keep objects of chained rules (tests, tools, benchmarks) between builds.
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
