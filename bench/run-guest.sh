#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# run-guest.sh KERNEL FS MODE [FILTER]: boot kernel KERNEL (a name of
# bench/kernels.list, prepared and built by check.sh) in QEMU with pmem and
# FS, and run MODE (check, demo, shell, benchmark, or twohost: one guest of
# bench/check-2host.sh) in it. FILTER is a glob on the
# selftest program names. Output goes to build/logs/KERNEL-FS/.
#
# Exit status: 0 when the guest finished its run and powered off by itself,
# 1 otherwise (timeout, crash). The test results are judged by report.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=${1:?usage: run-guest.sh KERNEL FS MODE [FILTER]}
fs=${2:?}
mode=${3:?}
filter=${4:-*}
# A whole selftest run, boot to power-off; the debug kernel (KASAN and
# lockdep under emulation) is several times slower.
case $kernel in
*debug*) timeout_s=${GUEST_TIMEOUT:-2400} ;;
*) timeout_s=${GUEST_TIMEOUT:-900} ;;
esac
# The benchmark's interleaved runs up to 1 GiB take far longer than a check.
[ "$mode" = benchmark ] && timeout_s=${GUEST_TIMEOUT:-5400}

env=$BUILD_DIR/kernels/$kernel.env
[ -f "$env" ] || die "kernel $kernel is not prepared ($env missing)"
# shellcheck disable=SC1090
. "$env"
ko=$BUILD_DIR/k/$kernel/driver/daxpin.ko
[ -f "$ko" ] || die "daxpin.ko for $kernel is not built ($ko)"

initrd=$(ensure_initrd "$kernel")

outdir=$BUILD_DIR/logs/$kernel-$fs
# MODE twohost: one of the two guests of bench/check-2host.sh, which sets
# BENCH_2HOST_ROLE (server or client), BENCH_2HOST_IP, BENCH_2HOST_PEER,
# BENCH_2HOST_MAC and BENCH_2HOST_NETDEV (QEMU's -netdev of the link).
if [ "$mode" = twohost ]; then
	outdir=$BUILD_DIR/logs/2host-$kernel/${BENCH_2HOST_ROLE:?}
fi
rm -rf "$outdir" && mkdir -p "$outdir"

# acpi=noirq: PCI interrupts from the MP table, not ACPI's _PRT. Under
# KASAN and lockdep in TCG the AML interpreter runs _PRT so slowly that it
# hits ACPICA's 30 s loop timeout, and boot took a minute.
append="console=ttyS0 panic=-1 oops=panic kasan_multi_shot acpi=noirq"
# Two legacy pmem regions inside the guest's RAM (see init.sh); the
# benchmark pins up to 1 GiB, so it gets more. BENCH_PMEM_MB (at most 1024)
# sizes them otherwise: `make soak` makes them small, so that refilling
# the file system (which reuses freed blocks) is quick.
mem=3G
pmem=${BENCH_PMEM_MB:-512}
case $pmem in
''|*[!0-9]*) die "BENCH_PMEM_MB must be a number of MiB" ;;
esac
[ "$pmem" -ge 64 ] && [ "$pmem" -le 1024 ] || die "BENCH_PMEM_MB: 64 to 1024"
# mkfs.xfs refuses file systems smaller than 300 MB.
[ "$fs" != xfs ] || [ "$pmem" -ge 300 ] || die "BENCH_PMEM_MB: XFS needs at least 300"
machine=()
if [ "$mode" = benchmark ]; then
	# The benchmark (docs/benchmarks.md) pins up to 1 GiB of a warm and of
	# a cold file on each of two file systems, a 2 MiB-aligned one
	# (pmem0) and an unaligned one (pmem1), and keeps 2 GiB of anonymous
	# baseline buffers: 9 GiB of RAM, 4.5 GiB of it the two pmem regions,
	# which start 2 MiB-aligned (at 4 GiB and 6.25 GiB) like real pmem.
	mem=9G,slots=2,maxmem=16G
	append+=" memmap=2304M!4G memmap=2304M!6400M"
	# Legacy (memmap=) pmem cannot be made device-DAX: ndctl
	# create-namespace needs a region of an NVDIMM. So the benchmark's
	# guest gets an emulated NVDIMM for baseline C; init.sh turns its
	# (label-less) namespace into /dev/daxN.0. A new, sparse backing file
	# each run: no namespace left from an earlier boot.
	nvdimm=$BUILD_DIR/bench-nvdimm.img
	rm -f "$nvdimm" && truncate -s 1536M "$nvdimm"
	machine=(-machine pc,nvdimm=on
		-object "memory-backend-file,id=nvmem0,share=on,mem-path=$nvdimm,size=1536M"
		-device nvdimm,id=nvdimm0,memdev=nvmem0)
	append+=" bench_commit=$(git -C "$TOP_DIR" describe --always --dirty --abbrev=12)"
	append+=${BENCH_RUNS:+ bench_runs=$BENCH_RUNS}
	append+=${BENCH_MAX_MB:+ bench_max_mb=$BENCH_MAX_MB}
	append+=${BENCH_SECTIONS:+ bench_sections=$BENCH_SECTIONS}
else
	# The third region, for the 2 MiB-aligned file system, is 384 MiB
	# (mkfs.xfs wants 300 MB) at 2624 MiB, 2 MiB-aligned and apart from
	# the second (adjacent regions would merge into one), below 3 GiB:
	# with 4 GiB of RAM, RAM above 4 GiB made the debug kernel hang or
	# reboot early in boot two times out of three.
	[ "$pmem" -le 512 ] || die "BENCH_PMEM_MB: at most 512 in check mode"
	append+=" memmap=${pmem}M!1G memmap=${pmem}M!2G memmap=384M!2624M"
fi
append+=" bench_top=$TOP_DIR bench_fs=$fs bench_mode=$mode"
append+=" bench_filter=$filter bench_ko=$ko bench_modroot=$KMODROOT"
append+=" bench_valgrind=${BENCH_VALGRIND:-0}"
# Which selftest programs run (their DAXPIN_RUNS_ON(); bench/check.sh).
append+=" bench_scopes=${BENCH_SCOPES:-every}"
# How long the time-bounded tests (fuzz, stress) run; empty: their default.
append+=${BENCH_SECONDS:+ bench_seconds=$BENCH_SECONDS}
append+=${BENCH_FUZZ_SEED:+ bench_fuzz_seed=$BENCH_FUZZ_SEED}
# How many iterations the iterated tests (corruption) run; empty: theirs.
append+=${BENCH_ITERATIONS:+ bench_iterations=$BENCH_ITERATIONS}
if [ "$mode" = twohost ]; then
	append+=" bench_2host_role=$BENCH_2HOST_ROLE bench_2host_ip=${BENCH_2HOST_IP:?}"
	append+=" bench_2host_peer=${BENCH_2HOST_PEER:?}"
fi
# Extra kernel parameters for a developer (initcall_debug, say).
append+=${BENCH_APPEND:+ $BENCH_APPEND}

# No NIC, but in the two-guest test: a virtio NIC on the link between the
# guests, with jumbo frames (rxe's path MTU 4096 needs more than 4096).
nic=(-nic none)
if [ "$mode" = twohost ]; then
	nic=(-netdev "${BENCH_2HOST_NETDEV:?},id=n0"
		-device "virtio-net-pci,netdev=n0,mac=${BENCH_2HOST_MAC:?},host_mtu=9000")
fi
# No 5-level paging: KASAN on 6.1 reports wild accesses at boot with it.
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max,-la57 -smp 2 -m $mem
	"${machine[@]}"
	-kernel "$KIMAGE" -initrd "$initrd" -append "$append"
	-display none -no-reboot -monitor none "${nic[@]}"
	-fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=benchout,path=$outdir,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=benchout,mount_tag=benchout)

if [ "$mode" = shell ]; then
	exec "${qemu[@]}" -serial mon:stdio
fi

# The guest's first line ("[guest] ...") must come within this: a kernel
# that hangs early in boot (seen once: the debug kernel stopped in its
# RCU-tasks self test under a loaded host) is killed and booted once more,
# rather than waiting out the whole timeout.
case $kernel in
*debug*) boot_s=${GUEST_BOOT_TIMEOUT:-600} ;;
*) boot_s=${GUEST_BOOT_TIMEOUT:-300} ;;
esac

# run_qemu: boot the guest, wait for it to power off; 125 if it never
# reached init's first line: it hung for boot_s, or it died before. Before
# that line nothing of daxpin's has run (init.sh loads the module), so
# such a boot is the emulator's or the kernel's (docs/bench.md, "The
# guest").
run_qemu() {
	local pid t=0 rc
	timeout --kill-after=10 "$timeout_s" "${qemu[@]}" \
		-serial "file:$outdir/console.log" < /dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ $t -ge "$boot_s" ] &&
		   ! grep -q '^\[guest\]' "$outdir/console.log" 2>/dev/null; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 125
		fi
		sleep 1
		t=$((t + 1))
	done
	wait "$pid"
	rc=$?
	grep -q '^\[guest\]' "$outdir/console.log" 2>/dev/null || return 125
	return $rc
}

start=$(date +%s)
# The host is shared: its load goes with the figures.
[ "$mode" = benchmark ] && echo "host load at start: $(uptime)" > "$outdir/host-load.txt"
set +e
run_qemu
rc=$?
if [ $rc -eq 125 ]; then
	{
		echo "$kernel $fs: guest did not reach init (hung ${boot_s}s, or died); its console stopped at:"
		grep -m 1 -E 'Oops|BUG|panic' "$outdir/console.log"
		tail -n 3 "$outdir/console.log"
		echo "booting it once more (its console: $outdir/console-boot-failed.log)"
	} | sed 's/^/[bench] /' >&2
	cp "$outdir/console.log" "$outdir/console-boot-failed.log"
	run_qemu
	rc=$?
fi
set -e
echo $(($(date +%s) - start)) > "$outdir/seconds"
if [ "$mode" = benchmark ]; then
	echo "host load at end:   $(uptime)" >> "$outdir/host-load.txt"
	rm -f "$nvdimm"
fi
if [ $rc -eq 125 ]; then
	echo "guest did not reach init (hung ${boot_s}s, or died), twice" > "$outdir/failure"
	exit 1
fi
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "guest did not power off within ${timeout_s}s" > "$outdir/failure"
	exit 1
fi
if [ ! -f "$outdir/done" ]; then
	echo "guest stopped before the end of its run (qemu exit $rc)" > "$outdir/failure"
	exit 1
fi
exit 0
