# khelp: one `make` builds everything into $(OUTPUT). V=1 shows the commands.
OUTPUT ?= .output
CLANG ?= clang-19
LLVM_STRIP ?= llvm-strip-19
BPFTOOL ?= bpftool
CC ?= gcc
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all deps run test unit e2e fuzz bench clean install-deps install uninstall _run _test _fuzz _bench FORCE

# install layout (make install PREFIX=... DESTDIR=...). SYSCONFDIR is compiled into
# khelpd as the home of its default config (khelpd without --config).
PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(LIBDIR)/systemd/system
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
PKGCONFIGDIR ?= $(DATADIR)/pkgconfig
KHELP_MODDIR ?= $(LIBDIR)/khelp/modules
KHELP_CONFDIR ?= $(SYSCONFDIR)/khelp

BIN := $(OUTPUT)/bin
MODOUT := $(OUTPUT)/modules
OBJ := $(OUTPUT)/obj

INCLUDES := -I. -Iinclude -I$(OUTPUT)
BPF_CFLAGS := -g -O2 --target=bpf -D__TARGET_ARCH_x86 -mcpu=v3 -Wall -Werror \
	$(INCLUDES) -idirafter /usr/include -idirafter /usr/include/x86_64-linux-gnu
# -Wno-format-truncation: paths are built into PATH_MAX buffers; a truncated one fails
# at open()/stat() with a clear error, which is the check that matters.
# pkg-config runs when a recipe uses these ('=', not ':='): on a fresh machine the
# packages it asks about are installed by install-deps, after this file is parsed.
USER_CFLAGS = -O2 -g -Wall -Wextra -Werror -Wno-format-truncation -std=gnu11 -D_GNU_SOURCE $(INCLUDES) -Iloader \
	$(shell pkg-config --cflags libbpf json-c libsystemd 2>/dev/null) $(EXTRA_CFLAGS)
USER_LDLIBS = $(shell pkg-config --libs libbpf json-c libsystemd 2>/dev/null) -lelf -lz -linih

# modules: helpers/ and cc/ are shipped, tests/modules/ are test fixtures
HELPERS := $(patsubst helpers/%.bpf.c,%,$(wildcard helpers/*.bpf.c))
CCS := $(patsubst cc/%.bpf.c,%,$(wildcard cc/*.bpf.c))
TESTMODS := $(patsubst tests/modules/%.bpf.c,%,$(wildcard tests/modules/*.bpf.c))
MODULES := $(addprefix $(MODOUT)/,$(addsuffix .bpf.o,$(HELPERS) $(CCS)))
TESTMODULES := $(addprefix $(OUTPUT)/testmodules/,$(addsuffix .bpf.o,$(TESTMODS)))
PLATFORM_BPF := $(addprefix $(OUTPUT)/bpf/,$(patsubst bpf/%.bpf.c,%.bpf.o,$(wildcard bpf/*.bpf.c)))

LOADER_COMMON := $(filter-out loader/khelpd.c loader/khelpctl.c,$(wildcard loader/*.c))
LOADER_OBJS := $(patsubst loader/%.c,$(OBJ)/%.o,$(LOADER_COMMON))
# offload/: user-space units (probe, COP compiler, lowering) and the datapath programs
OFFLOAD_SRCS := $(filter-out %.bpf.c,$(wildcard offload/*.c))
OFFLOAD_OBJS := $(patsubst offload/%.c,$(OBJ)/offload/%.o,$(OFFLOAD_SRCS))

all: $(BIN)/khelpd $(BIN)/khelpctl $(BIN)/khtcp $(BIN)/kh_swapopen.so $(BIN)/kh_failcall.so $(MODULES) $(TESTMODULES) $(PLATFORM_BPF) $(OFFLOAD_BPF)

install-deps:
	$(Q)bash scripts/install-deps.sh

$(OUTPUT) $(BIN) $(MODOUT) $(OBJ) $(OUTPUT)/bpf $(OUTPUT)/testmodules:
	$(Q)mkdir -p $@

# the install paths khelpd needs at run time; rewritten only when they change
$(OUTPUT)/khelp_paths.h: FORCE | $(OUTPUT)
	$(Q)printf '#define KHELP_DEFAULT_CONFIG "%s"\n' '$(KHELP_CONFDIR)/khelpd.conf' >$@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

BPF_HDRS := vmlinux.h $(wildcard include/khelp/*.h) $(wildcard helpers/*.h) $(wildcard cc/*.h)

$(MODOUT)/%.bpf.o: helpers/%.bpf.c $(BPF_HDRS) | $(MODOUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ihelpers -c $< -o $@

$(MODOUT)/%.bpf.o: cc/%.bpf.c $(BPF_HDRS) | $(MODOUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ihelpers -Icc -c $< -o $@

$(OUTPUT)/testmodules/%.bpf.o: tests/modules/%.bpf.c $(BPF_HDRS) $(wildcard tests/modules/*.bpf.c) | $(OUTPUT)/testmodules
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ihelpers -c $< -o $@

# benchmark-only BPF objects (floors, dispatcher prototype): built by make bench
BENCHBPF := $(addprefix $(OUTPUT)/bench/,$(patsubst bench/%.bpf.c,%.bpf.o,$(wildcard bench/*.bpf.c))) \
	$(OUTPUT)/bench/h_ertt_plain.bpf.o
$(OUTPUT)/bench/%.bpf.o: bench/%.bpf.c bench/floor.h vmlinux.h
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# a helper's own source without khelp's entry code (KHELP_PLAIN in khelp.bpf.h): the
# floor "the module's logic alone" of bench/hookpath.sh
$(OUTPUT)/bench/%_plain.bpf.o: helpers/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DKHELP_PLAIN -Ihelpers -c $< -o $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# platform programs are embedded into khelpd as skeletons (none has struct_ops maps);
# keep the generated headers (make would delete them as intermediates)
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(wildcard bpf/*.bpf.c))
.SECONDARY: $(SKELS) $(PLATFORM_BPF)
$(OUTPUT)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<)) > $@

$(OBJ)/%.o: loader/%.c $(wildcard loader/*.h) $(wildcard include/khelp/*.h) $(OUTPUT)/khelp_paths.h $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(wildcard bpf/*.bpf.c)) | $(OBJ)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

OFFLOAD_BPF := $(patsubst offload/%.bpf.c,$(OUTPUT)/offload/%.bpf.o,$(wildcard offload/*.bpf.c))
OFFLOAD_SKELS := $(patsubst offload/%.bpf.c,$(OUTPUT)/%.skel.h,$(wildcard offload/*.bpf.c))
.SECONDARY: $(OFFLOAD_SKELS) $(OFFLOAD_BPF)

$(OUTPUT)/offload/%.bpf.o: offload/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/offload/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .bpf.o,,$(notdir $<)) > $@

$(OBJ)/offload/%.o: offload/%.c $(wildcard offload/*.h) $(wildcard include/khelp/*.h) $(OFFLOAD_SKELS) | $(OBJ)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Ioffload -c $< -o $@

$(BIN)/khelpd: $(OBJ)/khelpd.o $(LOADER_OBJS) $(OFFLOAD_OBJS) | $(BIN)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LDLIBS)

# the CLI only speaks the control protocol
$(BIN)/khelpctl: $(OBJ)/khelpctl.o $(OBJ)/ctl.o | $(BIN)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(shell pkg-config --libs json-c)

# test and benchmark traffic endpoint
$(BIN)/khtcp: tests/tools/khtcp.c | $(BIN)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) $< -o $@

# LD_PRELOAD shims of e2e tests: a module file that changes between two opens
# (atomic.bats), a libc call that fails (service.bats)
$(BIN)/kh_%.so: tests/tools/kh_%.c | $(BIN)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -shared -fPIC $< -o $@ -ldl

# ---- unit tests (cmocka) ----
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

$(OUTPUT)/tests/%: tests/unit/%.c $(LOADER_OBJS) $(OFFLOAD_OBJS) | $(OUTPUT)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -DKHELP_BUILD_DIR='"$(abspath $(OUTPUT))"' \
		-DKHELP_SRC_DIR='"$(abspath .)"' -Ioffload $(filter-out %.h,$^) -o $@ $(USER_LDLIBS) -lcmocka

$(UNIT_BINS): tests/unit/khelp_test.h

# The fuzz harnesses, built with gcc and the sanitizers against a replay main
# (no libFuzzer): `make test` runs every seed and regression input through them.
# FUZZ_SRCS is defined with the fuzzing rules below (hence the second expansion).
.SECONDEXPANSION:
REPLAY_BINS := $(patsubst tests/fuzz/fuzz_%.c,$(OUTPUT)/tests/replay_%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAY_CFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(OUTPUT)/tests/replay_%: tests/fuzz/replay.c tests/fuzz/fuzz_%.c $$(FUZZ_SRCS) $(wildcard loader/*.h) | $(OUTPUT)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Ioffload $(REPLAY_CFLAGS) -DREPLAY_NAME='"$*"' -DKHELP_SRC_DIR='"$(abspath .)"' \
		$(filter %.c,$^) -o $@ $(USER_LDLIBS) -lcmocka

deps: install-deps

# The entry points a user runs first install what is missing, then build in a
# sub-make: that one parses this file again with every tool and library present.
run test bench fuzz: install-deps
	$(Q)$(MAKE) --no-print-directory _$@

_run: all
	$(Q)bash scripts/run-example.sh

unit: all $(UNIT_BINS) $(REPLAY_BINS)
	$(Q)bash tests/run-unit.sh $(UNIT_BINS) $(REPLAY_BINS)

e2e: all
	$(Q)bash tests/run-e2e.sh

_test: all $(UNIT_BINS) $(REPLAY_BINS)
	$(Q)bash tests/run-all.sh $(UNIT_BINS) $(REPLAY_BINS)

# ---- fuzzing (libFuzzer), bounded ----
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE $(INCLUDES) -Iloader -Ioffload \
	$(shell pkg-config --cflags libbpf json-c 2>/dev/null)
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

# the fuzzers exercise the pure parsers only
FUZZ_SRCS := loader/meta.c loader/policy.c loader/depgraph.c loader/log.c offload/cop.c offload/lower.c offload/probe.c

$(OUTPUT)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) | $(OUTPUT)
	@mkdir -p $(dir $@)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ -o $@ $(USER_LDLIBS)

_fuzz: $(FUZZ_TARGETS)
	$(Q)bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

_bench: all $(BENCHBPF)
	$(Q)bash bench/run.sh

# ---- install (PREFIX, DESTDIR); see docs/install.md ----
MANPAGES := $(wildcard docs/man/*.[0-9])
AUTHOR_HDRS := include/khelp/abi.h include/khelp/khelp.bpf.h
subst_paths = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@MODDIR@|$(KHELP_MODDIR)|g' \
	-e 's|@CONFDIR@|$(KHELP_CONFDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	-e 's|@PREFIX@|$(PREFIX)|g' -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@VERSION@|$(KHELP_VERSION)|g'
KHELP_VERSION = $(shell sed -n 's/^\#define KHELP_VERSION[[:space:]]*"\(.*\)"/\1/p' loader/daemon.h)

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(KHELP_MODDIR) $(DESTDIR)$(INCLUDEDIR)/khelp \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(KHELP_CONFDIR)/policies $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(Q)install -m 0755 $(BIN)/khelpd $(BIN)/khelpctl $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0644 $(MODULES) $(DESTDIR)$(KHELP_MODDIR)/
	$(Q)install -m 0644 $(AUTHOR_HDRS) vmlinux.h $(DESTDIR)$(INCLUDEDIR)/khelp/
	$(Q)$(subst_paths) packaging/khelp.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/khelp.pc
	$(Q)# an operator's edited config is kept; the shipped one is always there as .default
	$(Q)$(subst_paths) packaging/khelpd.conf.in >$(DESTDIR)$(KHELP_CONFDIR)/khelpd.conf.default
	$(Q)[ -e $(DESTDIR)$(KHELP_CONFDIR)/khelpd.conf ] || \
		cp $(DESTDIR)$(KHELP_CONFDIR)/khelpd.conf.default $(DESTDIR)$(KHELP_CONFDIR)/khelpd.conf
	$(Q)$(subst_paths) packaging/khelpd.service >$(DESTDIR)$(UNITDIR)/khelpd.service
	$(Q)install -m 0644 packaging/khelpctl.bash-completion $(DESTDIR)$(BASHCOMPDIR)/khelpctl
	$(Q)for m in $(MANPAGES); do \
		$(subst_paths) $$m >$(DESTDIR)$(MANDIR)/man$${m##*.}/$$(basename $$m); done

# removes what install put there; an edited khelpd.conf and policies stay (like dpkg's conffiles)
uninstall:
	$(call msg,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/khelpd $(DESTDIR)$(SBINDIR)/khelpctl \
		$(addprefix $(DESTDIR)$(KHELP_MODDIR)/,$(notdir $(MODULES))) \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/khelp/,$(notdir $(AUTHOR_HDRS)) vmlinux.h) \
		$(DESTDIR)$(PKGCONFIGDIR)/khelp.pc $(DESTDIR)$(UNITDIR)/khelpd.service \
		$(DESTDIR)$(BASHCOMPDIR)/khelpctl $(DESTDIR)$(KHELP_CONFDIR)/khelpd.conf.default \
		$(foreach m,$(MANPAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	$(Q)$(subst_paths) packaging/khelpd.conf.in | cmp -s - $(DESTDIR)$(KHELP_CONFDIR)/khelpd.conf && \
		rm -f $(DESTDIR)$(KHELP_CONFDIR)/khelpd.conf; true
	$(Q)rmdir $(DESTDIR)$(KHELP_MODDIR) $(DESTDIR)$(LIBDIR)/khelp $(DESTDIR)$(INCLUDEDIR)/khelp \
		$(DESTDIR)$(KHELP_CONFDIR)/policies $(DESTDIR)$(KHELP_CONFDIR) 2>/dev/null; true

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT) vmlinux.h
