# SPDX-License-Identifier: GPL-2.0
#
# make                build the module, libdaxpin, the selftests and examples
# make KVER=VERSION   ... against /lib/modules/VERSION/build
# make KDIR=DIR       ... against the kernel build tree DIR
# make lint           checkpatch --strict and sparse (C=2) on driver/ and uapi/
# make check          the test suite in QEMU guests (see bench/): every kernel
#                     and file system, each program where it says it runs
# make check-full     everything: every program in every guest, the fuzzer
#                     at length, check-2host (bench/check-full.sh)
# make check-host     only its host part: builds, install, DKMS; no guest
# make fuzz           the fuzzer for BENCH_SECONDS (300) on the debug kernel, XFS
# make demo           boot a guest with pmem and show daxpin working
# make benchmark      pin/unpin cost, recall latency, many pins (figures)
# make vm-shell       a shell in a guest with daxpin loaded
# make soak           corruption and stress tests at length (docs/soak.md)
# make install        libdaxpin (userlib/Makefile's prefix, libdir, includedir,
#                     mandir, DESTDIR), the udev rule, modules-load.d and
#                     modprobe.d files (udevrulesdir, modulesloaddir,
#                     modprobedir); make uninstall removes them
# make install-dkms   the module's source to $(DESTDIR)/usr/src/daxpin-VERSION for
#                     DKMS (dkms.conf; docs/install.md)
# make check-2host    recall under RDMA traffic from a second guest (RUNS=N)
#
# The build host's own kernel is never used (it has no module support):
# KVER defaults to the newest installed Debian 6.1 kernel's headers.

KVER ?= $(shell ls -d /lib/modules/6.1.*/build 2>/dev/null | \
	  sed 's,^/lib/modules/,,; s,/build$$,,' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
BUILD ?= $(CURDIR)/build
KSRC = $(shell $(CURDIR)/bench/linux-source.sh)
# The release, one for the module and the library: dkms.conf's.
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' $(CURDIR)/dkms.conf)

KERNEL_FILES = $(filter-out %.mod.c,$(wildcard driver/*.c driver/*.h selftests/importer/*.c selftests/importer/*.h)) uapi/linux/daxpin.h

.PHONY: all module userlib selftests examples lint checkpatch sparse \
	check check-full check-host check-2host fuzz soak demo benchmark vm-shell clean \
	install-dkms uninstall-dkms install uninstall twohost

all: module userlib selftests examples

module:
	@test -d "$(KDIR)" || { echo "no kernel build tree '$(KDIR)': set KVER or KDIR"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) DAXPIN_WERROR=1 W=1 modules

userlib:
	$(MAKE) -C userlib O=$(BUILD)/userlib WERROR=1

selftests: userlib
	$(MAKE) -C selftests O=$(BUILD)/selftests LIBDIR=$(BUILD)/userlib \
		KSELFTEST_DIR=$(KSRC)/tools/testing/selftests

examples: userlib
	$(MAKE) -C userlib/examples O=$(BUILD)/examples LIBDIR=$(BUILD)/userlib

# The two-guest test program (not one of make check's selftests).
twohost: userlib
	$(MAKE) -C selftests O=$(BUILD)/2host LIBDIR=$(BUILD)/userlib \
		KSELFTEST_DIR=$(KSRC)/tools/testing/selftests twohost

lint: checkpatch sparse

# compat.h exists to test LINUX_VERSION_CODE, which checkpatch (written
# for in-tree code) warns about on every line that does: those two types,
# and only in that file, are not reported. trace.h is laid out as the
# kernel's own trace headers are (one TP_*() argument of TRACE_EVENT() per
# line, "TP_STRUCT__entry(" ending a line), which --strict's alignment
# checks do not know: those two types, and only there, are not reported.
CHECKPATCH = perl $(KSRC)/scripts/checkpatch.pl --no-tree --strict --terse --show-types

checkpatch:
	$(CHECKPATCH) -f $(filter-out driver/compat.h driver/trace.h,$(KERNEL_FILES))
	$(CHECKPATCH) --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f driver/compat.h
	$(CHECKPATCH) --ignore PARENTHESIS_ALIGNMENT,OPEN_ENDED_LINE -f driver/trace.h

sparse:
	@command -v sparse >/dev/null || { echo "sparse is not installed (apt-get install sparse)"; exit 1; }
	@mkdir -p $(BUILD)
	$(MAKE) -C $(KDIR) M=$(CURDIR) DAXPIN_TEST_IMPORTER=m DAXPIN_WERROR=1 W=1 C=2 modules 2>&1 | tee $(BUILD)/sparse.log
	@! grep -E '(warning|error):' $(BUILD)/sparse.log

check:
	bench/check.sh $(if $(KVER_SET),KVER=$(KVER_SET)) $(if $(FS),FS=$(FS)) $(if $(T),T=$(T))

check-full:
	bench/check-full.sh

check-host:
	bench/check.sh --host $(if $(KVER_SET),KVER=$(KVER_SET))

# Two guests, a server with daxpin and a client, joined by a QEMU socket
# network, each with soft-RoCE: a truncate recalls the server's
# registration while the client writes (docs/bench.md, "Two guests").
# Kernel 6.1 unless KVER says otherwise; RUNS runs per kernel.
check-2host:
	bench/check-2host.sh $(if $(KVER_SET),KVER=$(KVER_SET)) $(if $(RUNS),RUNS=$(RUNS))

# The fuzzer (selftests/fuzz.c) alone, longer than in `make check`: on the
# debug kernel (KASAN, lockdep, kmemleak) and XFS unless KVER or FS say
# otherwise. The guest gets its run plus ten minutes.
BENCH_SECONDS ?= 300
fuzz:
	BENCH_SECONDS=$(BENCH_SECONDS) GUEST_TIMEOUT=$${GUEST_TIMEOUT:-$$(($(BENCH_SECONDS) + 600))} \
		bench/check.sh KVER=$(or $(KVER_SET),6.1-debug) FS=$(or $(FS),xfs) T=fuzz

demo:
	bench/check.sh --demo $(if $(KVER_SET),KVER=$(KVER_SET))

benchmark:
	bench/check.sh --benchmark $(if $(KVER_SET),KVER=$(KVER_SET)) $(if $(FS),FS=$(FS))

vm-shell:
	bench/check.sh --shell $(if $(KVER_SET),KVER=$(KVER_SET)) $(if $(FS),FS=$(FS))

# make soak (not part of make check): for every kernel of SOAK_KERNELS and
# file system of SOAK_FS, a guest runs the corruption test for
# SOAK_ITERATIONS iterations of each of its 6 variants (CPU and RDMA
# writers, truncate and punch, two of them on the 2 MiB-aligned file
# system), another the stress test for SOAK_SECONDS; then a
# line each: iterations, stale bytes (must be 0), the stress test's worst
# layout-change latency, kernel reports (must be 0; bench/report.sh's
# pattern) and the verdicts. Logs are kept in build/soak/KERNEL-FS-TEST/.
# The guests get SOAK_PMEM_MB of pmem (mkfs.xfs wants 300 MB at least), so
# that a corruption iteration's refill of the file system (which makes
# freed blocks be reused) and its scan are quicker than on the bench's
# usual 512 MiB. The default size (1,500 corruption iterations per kernel
# and file system) takes hours under TCG (docs/soak.md).
SOAK_KERNELS ?= 6.1 6.12
SOAK_FS ?= xfs ext4
SOAK_ITERATIONS ?= 250
SOAK_SECONDS ?= 180
SOAK_PMEM_MB ?= 320

soak:
	@out=$(BUILD)/soak; rm -rf $$out; mkdir -p $$out; rc=0; \
	pattern=$$(sed -n "s/^pattern='\(.*\)'$$/\1/p" bench/report.sh); \
	for k in $(SOAK_KERNELS); do for fs in $(SOAK_FS); do \
		t0=$$(date +%s); \
		echo "[soak] $$k $$fs: corruption, $(SOAK_ITERATIONS) iterations per variant"; \
		BENCH_ITERATIONS=$(SOAK_ITERATIONS) BENCH_PMEM_MB=$(SOAK_PMEM_MB) \
		GUEST_TIMEOUT=$$((600 + 6 * $(SOAK_ITERATIONS) * 30)) \
			bench/check.sh KVER=$$k FS=$$fs T=corruption \
			> $$out/$$k-$$fs-corruption.log 2>&1 || rc=1; \
		cp -r $(BUILD)/logs/$$k-$$fs $$out/$$k-$$fs-corruption; \
		echo "[soak] $$k $$fs: stress, $(SOAK_SECONDS) s"; \
		BENCH_SECONDS=$(SOAK_SECONDS) BENCH_PMEM_MB=$(SOAK_PMEM_MB) \
			GUEST_TIMEOUT=$$((600 + $(SOAK_SECONDS))) \
			bench/check.sh KVER=$$k FS=$$fs T=stress \
			> $$out/$$k-$$fs-stress.log 2>&1 || rc=1; \
		cp -r $(BUILD)/logs/$$k-$$fs $$out/$$k-$$fs-stress; \
		c=$$out/$$k-$$fs-corruption; s=$$out/$$k-$$fs-stress; \
		iters=$$(grep -cE ':iteration [0-9]+[ :]' $$c/corruption.tap); \
		stale=$$(sed -nE 's/.*:iteration [0-9]+.*stale patterns \(([0-9]+) bytes\).*/\1/p' \
			$$c/corruption.tap | awk '{ n += $$1 } END { print n + 0 }'); \
		worst=$$(sed -nE 's/.*:worst: ([0-9.]+) ms.*/\1/p' $$s/stress.tap); \
		reports=$$(cat $$c/console.log $$c/dmesg.log $$s/console.log $$s/dmesg.log \
			2>/dev/null | grep -v '^\[guest\]' | grep -E "$$pattern" | sort -u | wc -l); \
		verdict() { echo "$$(grep -c '^ok ' $$1)/$$(sed -n 's/^1\.\.//p' $$1)"; }; \
		[ "$$stale" = 0 ] && [ "$$reports" = 0 ] || rc=1; \
		printf '%-5s %-5s %10s %11s %7s %11s %9s %6s %14s %8s\n' \
			$$k $$fs "$$iters" "$$stale" "$$(verdict $$c/corruption.tap)" \
			$(SOAK_SECONDS) "$${worst:-?}" "$$(verdict $$s/stress.tap)" \
			"$$reports" "$$((($$(date +%s) - t0) / 60))" >> $$out/summary; \
	done; done; \
	echo; echo "daxpin soak at $$(git describe --always --dirty --abbrev=12): corruption $(SOAK_ITERATIONS) iterations per variant (6 variants), stress $(SOAK_SECONDS) s"; \
	printf '%-5s %-5s %10s %11s %7s %11s %9s %6s %14s %8s\n' kernel fs \
		iterations stale-bytes passed stress-secs worst-ms passed \
		kernel-reports minutes; \
	cat $$out/summary; echo "(logs: $$out)"; exit $$rc

# make install: the library (no -Werror: a packager's compiler may warn
# where ours does not) and the files of packaging/. udev, kmod and systemd
# read these directories whatever the prefix.
udevrulesdir ?= /usr/lib/udev/rules.d
modulesloaddir ?= /usr/lib/modules-load.d
modprobedir ?= /etc/modprobe.d

install:
	$(MAKE) -C userlib O=$(BUILD)/userlib install
	install -D -m 644 packaging/udev/60-daxpin.rules $(DESTDIR)$(udevrulesdir)/60-daxpin.rules
	install -D -m 644 packaging/modules-load.d/daxpin.conf $(DESTDIR)$(modulesloaddir)/daxpin.conf
	@# The admin's: kept if there, removed by uninstall only if unchanged.
	test -e $(DESTDIR)$(modprobedir)/daxpin.conf || \
		install -D -m 644 packaging/modprobe.d/daxpin.conf $(DESTDIR)$(modprobedir)/daxpin.conf

uninstall:
	$(MAKE) -C userlib O=$(BUILD)/userlib uninstall
	rm -f $(DESTDIR)$(udevrulesdir)/60-daxpin.rules $(DESTDIR)$(modulesloaddir)/daxpin.conf
	! cmp -s packaging/modprobe.d/daxpin.conf $(DESTDIR)$(modprobedir)/daxpin.conf || \
		rm -f $(DESTDIR)$(modprobedir)/daxpin.conf

# What DKMS builds from: Kbuild, dkms.conf, the driver and the uapi header;
# nothing of the selftests (their importer must never be built there).
dkmssrcdir ?= /usr/src/daxpin-$(VERSION)
DKMS_FILES = Kbuild dkms.conf driver/Kbuild uapi/linux/daxpin.h \
	$(filter-out %.mod.c,$(wildcard driver/*.c driver/*.h))

install-dkms:
	@test -n "$(VERSION)" || { echo "no PACKAGE_VERSION in dkms.conf"; exit 1; }
	for f in $(DKMS_FILES); do \
		install -D -m 644 $$f $(DESTDIR)$(dkmssrcdir)/$$f || exit 1; done

# After `dkms remove daxpin/VERSION --all`.
uninstall-dkms:
	rm -rf $(DESTDIR)$(dkmssrcdir)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) DAXPIN_TEST_IMPORTER=m clean
	rm -rf $(BUILD)

# KVER given on the command line selects the kernel(s) of `make check`.
ifeq ($(origin KVER),command line)
KVER_SET := $(KVER)
endif
