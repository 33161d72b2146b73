#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check-2host.sh [KVER=NAME[,NAME]] [RUNS=N]: the recall under remote RDMA
# traffic, across two QEMU guests (selftests/twohost.c; docs/bench.md,
# "Two guests"). Not part of `make check`.
#
# For each kernel (default 6.1) and each of RUNS runs (default 1): build
# daxpin and the test, boot a server guest (XFS-DAX, daxpin, rxe0 on its
# virtio NIC, 10.99.0.1) and a client guest (the same, 10.99.0.2), joined
# by a QEMU socket netdev on 127.0.0.1 (the server's QEMU listens, the
# client's connects); judge each guest as `make check` does (bench/report.sh:
# its TAP, the bench's checks, a clean kernel log, a power-off in time) and
# the test's own report. Logs: build/logs/2host-KERNEL/run-N/{server,client}.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernels=6.1 runs=1
for a in "$@"; do
	case $a in
	KVER=*) kernels=${a#KVER=} ;;
	RUNS=*) runs=${a#RUNS=} ;;
	*) die "unknown argument '$a'" ;;
	esac
done
case $runs in ''|*[!0-9]*|0) die "RUNS must be a positive number" ;; esac
# XFS only: the server's DAX file system (the primary target).
fs=xfs
# Small pmem: the server's refill of its file system is quicker.
export BENCH_PMEM_MB=${BENCH_PMEM_MB:-320}

start_all=$(date +%s)
need_pkgs qemu-system-x86 xfsprogs busybox-static cpio kmod iproute2 \
	rdma-core ibverbs-utils libibverbs-dev linux-source-6.1 gcc make \
	libc6-dev
mkdir -p "$BUILD_DIR/logs"

total_pass=0 total_fail=0 total_skip=0
summary=() figures=()

log=$BUILD_DIR/logs/build-2host-userspace.log
make -s -C "$TOP_DIR" twohost > "$log" 2>&1 ||
	{ cat "$log" >&2; die "cannot build the two-guest test"; }
total_pass=$((total_pass + 1))

# A TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# tap_complete TAP: the test program reported all it planned.
tap_complete() {
	local plan got
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$1" 2>/dev/null | head -n 1)
	got=$(grep -cE '^(not )?ok [0-9]+' "$1" 2>/dev/null)
	[ -n "$plan" ] && [ "$got" = "$plan" ] && grep -q '^# Totals:' "$1"
}

for kname in ${kernels//,/ }; do
	k=""
	for n in $(kernel_names all); do
		if [ "$n" = "$kname" ]; then k=$n; break; fi
		if [ -f "$BUILD_DIR/kernels/$n.env" ] &&
		   grep -qx "KVER=$kname" "$BUILD_DIR/kernels/$n.env"; then
			k=$n; break
		fi
	done
	[ -n "$k" ] || die "KVER=$kname is not in bench/kernels.list"
	msg "kernel $k: preparing"
	"$BENCH_DIR/prepare-kernel.sh" "$k" > /dev/null
	unset KBUILD_ROOT
	# shellcheck disable=SC1090
	. "$BUILD_DIR/kernels/$k.env"
	[ -z "${KBUILD_ROOT:-}" ] || die "kernel $k builds in a chroot: not supported here (use check.sh's build)"
	kb=$BUILD_DIR/k/$k
	rm -rf "$kb" && mkdir -p "$kb"
	cp -r "$TOP_DIR/Kbuild" "$TOP_DIR/driver" "$TOP_DIR/uapi" "$kb/"
	log=$BUILD_DIR/logs/build-2host-$k.log
	if ! make -C "$KDIR" M="$kb" W=1 modules > "$log" 2>&1; then
		msg "FAIL: daxpin.ko does not build for $k (see $log)"
		total_fail=$((total_fail + 1))
		continue
	fi
	total_pass=$((total_pass + 1))
	logs=$BUILD_DIR/logs/2host-$k
	rm -rf "$logs" && mkdir -p "$logs"

	for run in $(seq "$runs"); do
		msg "kernel $k, run $run of $runs: booting server and client"
		t0=$(date +%s)
		port=$(free_port) || die "no free TCP port"
		BENCH_2HOST_ROLE=server BENCH_2HOST_IP=10.99.0.1 BENCH_2HOST_PEER=10.99.0.2 \
		BENCH_2HOST_MAC=52:54:00:99:00:01 \
		BENCH_2HOST_NETDEV="socket,listen=127.0.0.1:$port" \
			"$BENCH_DIR/run-guest.sh" "$k" "$fs" twohost &
		spid=$!
		# The client's QEMU connects at start: wait for the listener.
		for _ in $(seq 120); do
			ss -Hltn "sport = :$port" | grep -q . && break
			kill -0 "$spid" 2>/dev/null || break
			sleep 0.5
		done
		cok=1 sok=1
		if ss -Hltn "sport = :$port" | grep -q .; then
			BENCH_2HOST_ROLE=client BENCH_2HOST_IP=10.99.0.2 BENCH_2HOST_PEER=10.99.0.1 \
			BENCH_2HOST_MAC=52:54:00:99:00:02 \
			BENCH_2HOST_NETDEV="socket,connect=127.0.0.1:$port" \
				"$BENCH_DIR/run-guest.sh" "$k" "$fs" twohost || cok=0
		else
			msg "the server's QEMU never listened on 127.0.0.1:$port"
			cok=0
		fi
		wait "$spid" || sok=0
		secs=$(($(date +%s) - t0))
		dir=$logs/run-$run
		mkdir -p "$dir"
		rp=0 rf=0 rs=0 line=""
		for role in server client; do
			mv "$logs/$role" "$dir/$role" 2>/dev/null || mkdir -p "$dir/$role"
			ok=$sok; [ $role = client ] && ok=$cok
			read -r p f s < <("$BENCH_DIR/report.sh" "$dir/$role" twohost "$ok")
			if tap_complete "$dir/$role/twohost.tap"; then p=$((p + 1)); else
				f=$((f + 1))
				msg "FAIL: $role: twohost did not report completely ($dir/$role/twohost.tap)"
			fi
			rp=$((rp + p)) rf=$((rf + f)) rs=$((rs + s))
			line+=$(printf ' %s %d/%d/%d' "$role" "$p" "$f" "$s")
		done
		total_pass=$((total_pass + rp)); total_fail=$((total_fail + rf))
		total_skip=$((total_skip + rs))
		verdict=ok; [ "$rf" -eq 0 ] || verdict=FAILED
		summary+=("$(printf '%-6s run %-2d %s (passed/failed/skipped) %4ss  %s' \
			"$k" "$run" "$line" "$secs" "$verdict")")
		# The test's figures, for docs/bench.md.
		while IFS= read -r l; do
			figures+=("$k run $run: $l")
		done < <(sed -n 's/^# twohost\.c:[0-9]*:[a-z_]*:\(server\|client\): /\1: /p' \
			"$dir/server/twohost.tap" "$dir/client/twohost.tap" 2>/dev/null)
		echo "$verdict $secs" > "$dir/verdict"
	done
done

echo
echo "daxpin check-2host: per kernel and run"
printf '  %s\n' "${summary[@]}"
if [ ${#figures[@]} -gt 0 ]; then
	echo "figures:"
	printf '  %s\n' "${figures[@]}"
fi
echo "  (logs: $BUILD_DIR/logs/2host-*; $(($(date +%s) - start_all)) s in all)"
echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
