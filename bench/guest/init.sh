#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PID 1 of a bench guest, running on the host's own tree (read-only, over
# virtio-9p). It sets up pmem, the file systems under test and soft-RoCE,
# loads daxpin.ko, runs the selftests or a demo or a shell, checks that the
# module unloads and leaks nothing, and powers the guest off.
#
# Everything it reports goes to /run/bench-out (the host's build/logs/RUN):
#   bench.tap     the bench's own checks (module load/unload, kmemleak)
#   <test>.tap    one file per selftest program
#   dmesg.log     the kernel log at the end
#   done          written last; its absence means the guest died
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=${TERM:-dumb} LC_ALL=C.UTF-8
out=/run/bench-out

arg() {
	local w
	for w in $(cat /proc/cmdline); do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
}

say() { echo "[guest] $*" > /dev/console; }

top=$(arg bench_top)
mode=$(arg bench_mode)
fs=$(arg bench_fs)
filter=$(arg bench_filter)
: "${filter:=*}"
ko=$(arg bench_ko)
# The kernel's name in bench/kernels.list: build/k/NAME/driver/daxpin.ko.
kname=$(basename "$(dirname "$(dirname "$ko")")")
valgrind_demo=$(arg bench_valgrind)
# Which selftest programs this guest runs: those whose DAXPIN_RUNS_ON()
# is in this list (bench/check.sh chooses it; docs/bench.md).
scopes=$(arg bench_scopes)
: "${scopes:=every}"
# program_runs_on and runs_here, the same rule as the host's report.sh.
. "$top/bench/lib.sh"

poweroff_now() {
	dmesg > "$out/dmesg.log" 2>/dev/null
	sync
	echo o > /proc/sysrq-trigger
	# PID 1 must not exit while the power-off runs, nor run anything from
	# the host's tree (9p goes away): block in a shell builtin.
	exec 3<> /run/init-hold
	read -r <&3
}
mkfifo /run/init-hold
# Where a guest's time goes (docs/bench.md, "Where the time goes"): boot
# until init, then each selftest program ("NAME SECONDS", see below).
echo "boot $(cut -d' ' -f1 /proc/uptime)" > "$out/times"
trap poweroff_now EXIT

# tap_times FILE: copy a test program's TAP from stdin to stdout, and write
# to FILE each result line with the seconds since the one before it (or
# the start): what each test took, for bench/times.sh.
tap_times() {
	local line up last d
	read -r up _ < /proc/uptime
	last=$((10#${up/./}))		# centiseconds: /proc/uptime has two decimals
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		'ok '*|'not ok '*)
			read -r up _ < /proc/uptime
			d=$((10#${up/./} - last))
			last=$((last + d))
			printf '%d.%02d %s\n' $((d / 100)) $((d % 100)) "$line" >> "$1" ;;
		esac
	done
}

# TAP for the bench's own checks: each one is a test that can fail.
bench_n=0
bench_ok() { bench_n=$((bench_n + 1)); echo "ok $bench_n $*" >> "$out/bench.tap"; }
bench_fail() {
	bench_n=$((bench_n + 1)); echo "not ok $bench_n $*" >> "$out/bench.tap"
	say "FAIL: $*"
}
bench_skip() { bench_n=$((bench_n + 1)); echo "ok $bench_n # SKIP $*" >> "$out/bench.tap"; }
bench_check() { # bench_check DESCRIPTION COMMAND...
	local what=$1 log
	shift
	if log=$("$@" 2>&1); then bench_ok "$what"; else
		bench_fail "$what"; printf '%s\n' "$log" | sed 's/^/[guest]   /' > /dev/console
		return 1
	fi
}

# open_daxpin_as SETPRIV-OPTION...: open /dev/daxpin as uid 65534.
open_daxpin_as() {
	setpriv --reuid=65534 --regid=65534 "$@" -- sh -c 'exec 3<> /dev/daxpin' 2>&1
}

# udev_rule_check: see its caller; prints what it saw, fails on a mismatch.
udev_rule_check() {
	local saved gid st rc=0
	gid=$(getent group rdma | cut -d: -f3)
	[ -n "$gid" ] || { echo "no group rdma (rdma-core's packages create it)"; return 1; }
	saved=$(stat -c '%a %g' /dev/daxpin)
	mkdir -p /run/udev/rules.d
	cp "$top/packaging/udev/60-daxpin.rules" /run/udev/rules.d/
	udevadm test --action=add /sys/class/misc/daxpin > /tmp/udev-test.log 2>&1 ||
		{ tail -20 /tmp/udev-test.log; rc=1; }
	st=$(stat -c '%a %G' /dev/daxpin)
	echo "/dev/daxpin after udevadm test: mode $st (was ${saved% *}, gid ${saved#* })"
	[ "$st" = "660 rdma" ] || rc=1
	open_daxpin_as --groups="$gid" || { echo "uid 65534 in group rdma cannot open it"; rc=1; }
	if open_daxpin_as --clear-groups > /dev/null; then
		echo "uid 65534 outside group rdma opened it"; rc=1
	fi
	rm -f /run/udev/rules.d/60-daxpin.rules
	chmod "${saved% *}" /dev/daxpin
	chgrp "${saved#* }" /dev/daxpin
	return $rc
}

# dkms_module_check ROOT: the module `dkms install` put into the module
# tree ROOT (bench/check.sh, dkms_test) loads as an admin loads it, with
# modprobe, and works: /dev/daxpin, the release's version, daxpinctl.
dkms_module_check() {
	local root=$1 ver path rc=0
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$top/dkms.conf")
	path=$(modinfo -b "$root" -n daxpin) || return 1
	echo "modinfo -b $root -n daxpin: $path"
	case $path in */updates/dkms/daxpin.ko*) ;; *) return 1 ;; esac
	modprobe -d "$root" daxpin || return 1
	[ -c /dev/daxpin ] || { echo "no /dev/daxpin"; rc=1; }
	[ "$(cat /sys/module/daxpin/version)" = "$ver" ] ||
		{ echo "version $(cat /sys/module/daxpin/version), not $ver"; rc=1; }
	"$top/build/userlib/daxpinctl" status | grep "^module:" |
		grep -q "loaded, version $ver," || { echo "daxpinctl status does not see it"; rc=1; }
	rmmod daxpin || rc=1
	return $rc
}

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# No comm recording for trace events (tracefs option record-cmd): with it,
# enabling any event also hooks sched_switch and sched_wakeup, so each
# enable and disable patches the scheduler's hottest code on every CPU
# (text_poke_bp). Under QEMU's multi-threaded TCG that went wrong twice
# in one day during the tracepoint tests: a vCPU ran a stale int3 in
# try_to_wake_up (oops, 7.2) and a text_poke_bp IPI was never answered
# (hang, 6.1). daxpin's own tracepoints are still patched; trace lines
# show the task as "<...>", which no test reads.
echo 0 > /sys/kernel/tracing/options/record-cmd 2>/dev/null || true
ip link set lo up
hostname daxpin-guest

# --- persistent memory and file systems -------------------------------
# memmap=...!... on the kernel command line makes legacy pmem regions:
# pmem0 holds the DAX file system under test, pmem1 the same file system
# mounted without DAX, for the tests that must be refused, and (check
# mode) pmem2 the same file system made 2 MiB-aligned, for the tests of
# 2 MiB DAX entries. The benchmark's are described below.
modprobe -q nd_e820; modprobe -q nd_pmem
last=/dev/pmem1; [ "$mode" = benchmark ] || last=/dev/pmem2
for i in $(seq 50); do [ -b $last ] && break; sleep 0.1; done

setup_fs() { # setup_fs DEV DIR DAXOPT
	case $fs in
	xfs) mkfs.xfs -q -f -m reflink=1 "$1" ;;
	# 4 KiB blocks: DAX needs the page size, and mke2fs picks 1 KiB
	# below 512 MiB (`make soak`'s pmem).
	ext4) mkfs.ext4 -q -F -b 4096 "$1" ;;
	*) echo "unknown file system '$fs'"; return 1 ;;
	esac || return 1
	mkdir -p "$2" && mount -o "$3" "$1" "$2" && chmod 1777 "$2"
}

# The benchmark's file systems are made the way users of pmem make them:
# aligned to 2 MiB, so that the file's blocks can be mapped by PMD (2 MiB)
# faults. XFS: a 2 MiB stripe unit, and a 2 MiB extent size hint on the
# directory, which new files inherit; two allocation groups, so that a
# 1 GiB file is not cut at an AG's end into extents whose file offsets and
# blocks are no longer congruent modulo 2 MiB (users' devices are large
# enough that AGs, up to 1 TiB, do not cut such a file). ext4: a 2 MiB RAID stride, which
# mballoc aligns large allocations to. The selftests get one too (pmem2),
# for the tests of 2 MiB entries; their main file systems (setup_fs) stay
# as mkfs makes them by default.
setup_fs_aligned() { # setup_fs_aligned DEV DIR
	case $fs in
	xfs) mkfs.xfs -q -f -m reflink=1 -d su=2m,sw=1,agcount=2 "$1" ;;
	ext4) mkfs.ext4 -q -F -b 4096 -E stride=512,stripe_width=512 "$1" ;;
	*) echo "unknown file system '$fs'"; return 1 ;;
	esac || return 1
	mkdir -p "$2" && mount -o dax=always "$1" "$2" && chmod 1777 "$2" ||
		return 1
	if [ "$fs" = xfs ]; then
		xfs_io -c "extsize 2m" "$2" || return 1
	fi
}

# The benchmark's unaligned case, to show the fallback: the selftests' file
# system, and a 4 KiB file written first, so that the allocator's next
# free block (where the benchmark's files start) is not where an aligned
# file system would put it. The benchmark reports what FIEMAP finds.
setup_fs_unaligned() { # setup_fs_unaligned DEV DIR
	setup_fs "$1" "$2" dax=always &&
	head -c 4096 /dev/zero > "$2/.misalign" && sync
}

# The region of the emulated NVDIMM: legacy (memmap=) regions have no
# DIMM mappings.
nvdimm_region() {
	local r
	for r in /sys/bus/nd/devices/region*; do
		[ -r "$r/mappings" ] && [ "$(cat "$r/mappings")" -gt 0 ] &&
			{ basename "$r"; return 0; }
	done
	return 1
}

# Baseline C of the benchmark: device-DAX on the NVDIMM that run-guest.sh
# gives a benchmark guest. Its namespace is label-less (one raw namespace
# over the whole region), reconfigured in place. Prints the node last.
setup_devdax() {
	local region="" ns
	modprobe -q nfit && modprobe -q dax_pmem && modprobe -q device_dax ||
		{ echo "modprobe nfit dax_pmem device_dax failed"; return 1; }
	command -v ndctl > /dev/null ||
		{ echo "ndctl is not installed (Debian package ndctl)"; return 1; }
	for _ in $(seq 50); do
		region=$(nvdimm_region) && break
		sleep 0.1
	done
	[ -n "$region" ] || { echo "no NVDIMM region in /sys/bus/nd/devices"; return 1; }
	ns=$(basename "$(ls -d /sys/bus/nd/devices/"$region"/namespace*.0 | head -n 1)")
	ndctl create-namespace -f -e "$ns" -m devdax -M mem -a 2M > /dev/console 2>&1 ||
		{ echo "ndctl create-namespace -f -e $ns -m devdax failed"; return 1; }
	for _ in $(seq 50); do
		ls /dev/dax* > /dev/null 2>&1 && break
		sleep 0.1
	done
	ls -d /dev/dax* 2>/dev/null | head -n 1 | grep . ||
		{ echo "no /dev/dax* after ndctl create-namespace"; return 1; }
}

if [ "$mode" = benchmark ]; then
	mkdir -p /mnt/dax /mnt/dax-unaligned
	bench_check "2 MiB-aligned $fs with -o dax=always on /dev/pmem0" \
		setup_fs_aligned /dev/pmem0 /mnt/dax
	bench_check "unaligned $fs with -o dax=always on /dev/pmem1" \
		setup_fs_unaligned /dev/pmem1 /mnt/dax-unaligned
	export DAXPIN_BENCH_UNALIGNED_DIR=/mnt/dax-unaligned
	if devdax_log=$(setup_devdax 2>&1); then
		export DAXPIN_DEVDAX=${devdax_log##*$'\n'}
		bench_ok "device-DAX $DAXPIN_DEVDAX on the NVDIMM"
	else
		devdax_log=$(printf '%s' "$devdax_log" | tr '\n' ' ')
		export DAXPIN_DEVDAX_ERR="device-DAX setup failed: $devdax_log"
		bench_fail "$DAXPIN_DEVDAX_ERR"
	fi
	# fs_dax tracepoint counts (hist triggers) for the benchmark.
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
	DAXPIN_BENCH_COMMIT=$(arg bench_commit)
	export DAXPIN_BENCH_COMMIT DAXPIN_BENCH_FS=$fs
	runs=$(arg bench_runs); [ -n "$runs" ] && export DAXPIN_BENCH_RUNS=$runs
	max_mb=$(arg bench_max_mb); [ -n "$max_mb" ] && export DAXPIN_BENCH_MAX_MB=$max_mb
	sections=$(arg bench_sections)
	[ -n "$sections" ] && export DAXPIN_BENCH_SECTIONS=$sections
else
	mkdir -p /mnt/dax /mnt/nodax
	bench_check "$fs file system with -o dax=always on /dev/pmem0" \
		setup_fs /dev/pmem0 /mnt/dax dax=always
	bench_check "$fs file system with -o dax=never on /dev/pmem1" \
		setup_fs /dev/pmem1 /mnt/nodax dax=never
	mkdir -p /mnt/dax-aligned
	bench_check "2 MiB-aligned $fs with -o dax=always on /dev/pmem2" \
		setup_fs_aligned /dev/pmem2 /mnt/dax-aligned
fi

# --- soft-RoCE --------------------------------------------------------
setup_rxe() {
	# rdma_rxe on 6.1 needs crc32_generic loaded first; 7.2 has no such
	# module (its crc32 is a built-in library), hence no check on it.
	modprobe -q crc32_generic; modprobe -q rdma_rxe && modprobe -q ib_uverbs &&
	modprobe -q rdma_ucm || return 1
	# A built-in dummy driver (the debug kernel) makes dummy0 itself.
	ip link show dummy0 > /dev/null 2>&1 || ip link add dummy0 type dummy ||
		return 1
	# Jumbo frames give rxe0 a 4096-byte path MTU: its on-demand paging
	# (7.2) misplaces bytes of packets smaller than a page.
	ip link set dummy0 mtu 9000 up &&
	rdma link add rxe0 type rxe netdev dummy0
}
# The two-guest test (bench/check-2host.sh): rxe0 on the virtio NIC that
# joins the guests, with a static address and jumbo frames.
setup_rxe_eth0() {
	modprobe -q crc32_generic; modprobe -q rdma_rxe && modprobe -q ib_uverbs &&
	modprobe -q rdma_ucm && modprobe -q virtio_net || return 1
	for _ in $(seq 50); do
		ip link show eth0 > /dev/null 2>&1 && break
		sleep 0.1
	done
	ip link set eth0 mtu 9000 &&
	ip addr add "$(arg bench_2host_ip)/24" dev eth0 &&
	ip link set eth0 up &&
	rdma link add rxe0 type rxe netdev eth0
}
if [ "$mode" = twohost ]; then
	bench_check "soft-RoCE device rxe0 on eth0 ($(arg bench_2host_ip), MTU 9000)" \
		setup_rxe_eth0
else
	bench_check "soft-RoCE device rxe0 on dummy0" setup_rxe
fi

# --- the module -------------------------------------------------------
kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	# Only what leaks from here on is ours to answer for.
	echo scan > $kmemleak; echo clear > $kmemleak
fi
hooks=; [ "$mode" = check ] && hooks=test_hooks=1
bench_check "insmod daxpin.ko" insmod "$ko" $hooks || exit
# The selftests' dma-buf importer (selftests/importer), built next to it.
importer=${ko%/driver/daxpin.ko}/selftests/importer/daxpin_test_importer.ko
if [ "$mode" = check ] && [ -f "$importer" ]; then
	bench_check "insmod daxpin_test_importer.ko" insmod "$importer"
fi

export DAXPIN_DAX_DIR=/mnt/dax DAXPIN_NODAX_DIR=/mnt/nodax DAXPIN_FS=$fs
[ "$mode" = benchmark ] || export DAXPIN_ALIGNED_DIR=/mnt/dax-aligned
export DAXPIN_RDMA_DEV=rxe0 DAXPIN_KO=$ko
# Time-bounded tests (fuzz, stress) run this long; unset: their default.
seconds=$(arg bench_seconds)
[ -n "$seconds" ] && export DAXPIN_TEST_SECONDS=$seconds
# On the debug kernel (KASAN, lockdep, kmemleak) `make check` gives the
# fuzzer a minute of its own (DAXPIN_TEST_SECONDS, if set, wins); `make
# fuzz` (and `make check-full`) runs it there at length.
[ -w $kmemleak ] && export DAXPIN_FUZZ_SECONDS=60
# A fuzz worker's seed to replay alone (BENCH_FUZZ_SEED, from a log).
fuzz_seed=$(arg bench_fuzz_seed)
[ -n "$fuzz_seed" ] && export DAXPIN_FUZZ_SEED=$fuzz_seed DAXPIN_FUZZ_WORKERS=1
# Iterated tests (corruption) run this many rounds; unset: their default.
iterations=$(arg bench_iterations)
[ -n "$iterations" ] && export DAXPIN_TEST_ITERATIONS=$iterations
case $mode in
shell)
	say "shell: the DAX file system is /mnt/dax, daxpin is loaded; exit to power off"
	cd "$top" && setsid -c bash -i < /dev/console > /dev/console 2>&1
	;;
demo)
	"$top/build/examples/daxpin-demo" > /dev/console 2>&1
	echo $? > "$out/demo.status"
	;;
twohost)
	role=$(arg bench_2host_role)
	say "running twohost as the $role"
	(cd /tmp && DAXPIN_2HOST_ROLE=$role DAXPIN_2HOST_PEER=$(arg bench_2host_peer) \
		"$top/build/2host/twohost" > "$out/twohost.tap" 2>&1)
	say "twohost exited with $?"
	;;
benchmark)
	# BENCH_VALGRIND=1 on the host: under memcheck (slow: use it with
	# BENCH_MAX_MB and BENCH_RUNS small); errors or leaks fail the run.
	vg=()
	[ "$valgrind_demo" = 1 ] && vg=(valgrind -q --leak-check=full
		--show-leak-kinds=definite --errors-for-leak-kinds=definite
		--error-exitcode=99)
	"${vg[@]}" "$top/build/examples/daxpin-bench" 2>&1 | tee "$out/benchmark.txt" > /dev/console
	echo "${PIPESTATUS[0]}" > "$out/benchmark.status"
	;;
check)
	# The packaged udev rule, applied by the system's udev to the real
	# device: group rdma and mode 0660, and then a user in rdma opens
	# /dev/daxpin and one outside it cannot. The node's mode and group
	# go back afterwards (the selftests expect the module's dev_mode).
	if command -v udevadm > /dev/null && command -v setpriv > /dev/null; then
		say "applying packaging/udev/60-daxpin.rules"
		bench_check "udev applies 60-daxpin.rules to /dev/daxpin: group rdma, mode 0660; a member of rdma opens it, a non-member cannot" \
			udev_rule_check
	else
		bench_skip "udev rule: no udevadm or setpriv on this machine"
	fi
	# libdaxpin's own tests (userlib/test, built by the host's run of
	# them), here with the device: none may fail, and none may skip.
	if [ -x "$top/build/userlib/test/device" ]; then
		say "running libdaxpin's own tests"
		"$top/userlib/test/runtests.sh" "$top"/build/userlib/test/* \
			> "$out/userlib-test.log" 2>&1
		bench_check "libdaxpin's own tests with /dev/daxpin: $(grep '^libdaxpin tests:' "$out/userlib-test.log")" \
			grep -q '^libdaxpin tests: [0-9]* passed, 0 failed, 0 skipped$' \
			"$out/userlib-test.log" || sed 's/^/[guest]   /' "$out/userlib-test.log" > /dev/console
	fi
	for t in "$top"/build/selftests/*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		case $name in $filter) ;; *) continue ;; esac
		if ! runs_here "$t" "$scopes" "$filter"; then
			say "$name: runs on '$(program_runs_on "$t")', not in this guest's '$scopes'"
			continue
		fi
		say "running $name"
		t0=$(cut -d' ' -f1 /proc/uptime)
		(cd /tmp && "$t" 2>&1) | tap_times "$out/$name.times" > "$out/$name.tap"
		rc=${PIPESTATUS[0]}
		echo "$name $(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime)" >> "$out/times"
		say "$name exited with $rc"
	done
	if [ "$valgrind_demo" = 1 ]; then
		# libdaxpin and every command path of the module, under memcheck.
		t0=$(cut -d' ' -f1 /proc/uptime)
		say "running daxpin-demo under valgrind"
		bench_check "daxpin-demo under valgrind: no errors, nothing definitely lost" \
			valgrind -q --child-silent-after-fork=yes --leak-check=full \
			--show-leak-kinds=definite \
			--errors-for-leak-kinds=definite --error-exitcode=99 \
			"$top/build/examples/daxpin-demo"
		# libdaxpin-verbs, every path rxe has and the dispatch, and
		# libibverbs under it: the RDMA tests under memcheck. Their
		# results count as a program of their own (rdma-valgrind).
		say "running rdma under valgrind"
		(cd /tmp && DAXPIN_TEST_SLOW=6 valgrind -q --leak-check=full \
			--show-leak-kinds=definite \
			--errors-for-leak-kinds=definite --error-exitcode=99 \
			"$top/build/selftests/rdma" > "$out/rdma-valgrind.tap" 2>&1)
		rc=$?
		say "rdma under valgrind exited with $rc"
		echo "valgrind $(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime)" >> "$out/times"
		bench_check "rdma under valgrind: every test passed, no errors, nothing definitely lost" \
			test "$rc" = 0
	fi
	;;
esac

if lsmod | grep -q '^daxpin_test_importer '; then
	bench_check "rmmod daxpin_test_importer" rmmod daxpin_test_importer
fi
bench_check "rmmod daxpin" rmmod daxpin
if [ "$mode" = check ]; then
	dkms_root=$top/build/dkms/$kname/root
	if [ -d "$dkms_root/lib/modules/$(uname -r)" ]; then
		bench_check "modprobe of the module dkms install put in build/dkms/$kname: /dev/daxpin, version, daxpinctl status, rmmod" \
			dkms_module_check "$dkms_root"
	else
		bench_skip "modprobe of a DKMS-installed module: DKMS installed none for $kname (host.tap says why)"
	fi
fi
if [ -w $kmemleak ]; then
	# An object must be some seconds old before kmemleak reports it.
	sleep 6; echo scan > $kmemleak; sleep 1; echo scan > $kmemleak
	leaks=$(cat $kmemleak)
	if [ -z "$leaks" ]; then bench_ok "kmemleak: no unreferenced objects"; else
		bench_fail "kmemleak: unreferenced objects"
		printf '%s\n' "$leaks" | head -60 > /dev/console
	fi
fi
if [ "$mode" = benchmark ]; then umount /mnt/dax /mnt/dax-unaligned; else
	umount /mnt/dax /mnt/nodax /mnt/dax-aligned
fi
echo "end $(cut -d' ' -f1 /proc/uptime)" >> "$out/times"
echo "$bench_n" > "$out/done"
