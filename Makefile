# SPDX-License-Identifier: GPL-2.0
#
# make                build the module, libdaxpin, the selftests and examples
# make KVER=VERSION   ... against /lib/modules/VERSION/build
# make KDIR=DIR       ... against the kernel build tree DIR
# make lint           checkpatch --strict and sparse (C=2) on driver/ and uapi/
# make check          the whole test suite in QEMU guests (see bench/)
# make demo           boot a guest with pmem and show daxpin working
# make benchmark      pin/unpin cost, recall latency, many pins (figures)
# make vm-shell       a shell in a guest with daxpin loaded
#
# The build host's own kernel is never used (it has no module support):
# KVER defaults to the newest installed Debian 6.1 kernel's headers.

KVER ?= $(shell ls -d /lib/modules/6.1.*/build 2>/dev/null | \
	  sed 's,^/lib/modules/,,; s,/build$$,,' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
BUILD ?= $(CURDIR)/build
KSRC = $(shell $(CURDIR)/bench/linux-source.sh)

KERNEL_FILES = $(filter-out %.mod.c,$(wildcard driver/*.c driver/*.h)) uapi/linux/daxpin.h

.PHONY: all module userlib selftests examples lint checkpatch sparse \
	check demo benchmark vm-shell clean

all: module userlib selftests examples

module:
	@test -d "$(KDIR)" || { echo "no kernel build tree '$(KDIR)': set KVER or KDIR"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

userlib:
	$(MAKE) -C userlib O=$(BUILD)/userlib

selftests: userlib
	$(MAKE) -C selftests O=$(BUILD)/selftests LIBDIR=$(BUILD)/userlib \
		KSELFTEST_DIR=$(KSRC)/tools/testing/selftests

examples: userlib
	$(MAKE) -C userlib/examples O=$(BUILD)/examples LIBDIR=$(BUILD)/userlib

lint: checkpatch sparse

# compat.h exists to test LINUX_VERSION_CODE, which checkpatch (written
# for in-tree code) warns about on every line that does: those two types,
# and only in that file, are not reported.
CHECKPATCH = perl $(KSRC)/scripts/checkpatch.pl --no-tree --strict --terse --show-types

checkpatch:
	$(CHECKPATCH) -f $(filter-out driver/compat.h,$(KERNEL_FILES))
	$(CHECKPATCH) --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f driver/compat.h

sparse:
	@command -v sparse >/dev/null || { echo "sparse is not installed (apt-get install sparse)"; exit 1; }
	@mkdir -p $(BUILD)
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 C=2 modules 2>&1 | tee $(BUILD)/sparse.log
	@! grep -E '(warning|error):' $(BUILD)/sparse.log

check:
	bench/check.sh $(if $(KVER_SET),KVER=$(KVER_SET)) $(if $(FS),FS=$(FS)) $(if $(T),T=$(T))

demo:
	bench/check.sh --demo $(if $(KVER_SET),KVER=$(KVER_SET))

benchmark:
	bench/check.sh --benchmark $(if $(KVER_SET),KVER=$(KVER_SET)) $(if $(FS),FS=$(FS))

vm-shell:
	bench/check.sh --shell $(if $(KVER_SET),KVER=$(KVER_SET)) $(if $(FS),FS=$(FS))

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(BUILD)

# KVER given on the command line selects the kernel(s) of `make check`.
ifeq ($(origin KVER),command line)
KVER_SET := $(KVER)
endif
