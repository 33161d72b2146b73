#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check.sh [--demo | --shell | --benchmark] [KVER=NAME[,NAME]] [FS=FS[,FS]] [T=GLOB]
#
# The whole test suite (what `make check` and CI run): install what is
# missing, build daxpin for every kernel of bench/kernels.list, boot each in
# QEMU with pmem, run the selftests on each of its file systems, and judge:
# any failed test, any test program that did not report, any guest that did
# not power off, any kernel warning or detector report fails the run.
#
# KVER selects kernels by name (6.1, 6.12, 6.1-debug) or by release
# (6.1.0-56-amd64), opt-in kernels of the list (7.2) too: without KVER
# they are left out. FS selects file systems; T is a glob on the selftest
# program names. --demo runs the demo in the first selected kernel's guest,
# --shell gives a shell there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=check kernels="" fsel="" tsel="*"
for a in "$@"; do
	case $a in
	--demo) mode=demo ;;
	--benchmark) mode=benchmark ;;
	--shell) mode=shell ;;
	KVER=*) kernels=${a#KVER=} ;;
	FS=*) fsel=${a#FS=} ;;
	T=*) tsel=${a#T=} ;;
	*) die "unknown argument '$a'" ;;
	esac
done

start_all=$(date +%s)
need_pkgs qemu-system-x86 xfsprogs e2fsprogs busybox-static cpio kmod \
	iproute2 rdma-core ibverbs-utils libibverbs-dev rdmacm-utils \
	perftest linux-source-6.1 sparse gcc g++ make libc6-dev perl python3 \
	xz-utils bc valgrind ndctl
mkdir -p "$BUILD_DIR"

# --- which kernels ----------------------------------------------------
all=$(kernel_names all)
selected=()
if [ -z "$kernels" ]; then
	mapfile -t selected < <(kernel_names)
	[ "$mode" = check ] || selected=("${selected[0]}")
else
	for k in ${kernels//,/ }; do
		found=""
		for n in $all; do
			if [ "$n" = "$k" ]; then found=$n; break; fi
			if [ -f "$BUILD_DIR/kernels/$n.env" ] &&
			   grep -qx "KVER=$k" "$BUILD_DIR/kernels/$n.env"; then
				found=$n; break
			fi
		done
		[ -n "$found" ] || die "KVER=$k is not in bench/kernels.list"
		selected+=("$found")
	done
fi

# --- results bookkeeping ----------------------------------------------
total_pass=0 total_fail=0 total_skip=0 bad_runs=0
summary=()
host_tap=$BUILD_DIR/logs/host.tap
mkdir -p "$BUILD_DIR/logs"
: > "$host_tap"
host_n=0
host_result() { # host_result OK|SKIP|FAIL DESCRIPTION [LOGFILE]
	host_n=$((host_n + 1))
	if [ "$1" = OK ]; then
		echo "ok $host_n $2" >> "$host_tap"
	elif [ "$1" = SKIP ]; then
		echo "ok $host_n # SKIP $2" >> "$host_tap"
	else
		echo "not ok $host_n $2" >> "$host_tap"
		msg "FAIL: $2"
		[ -n "${3:-}" ] && sed -n '1,40p' "$3" | sed 's/^/    /' >&2
	fi
	return 0
}

# --- userspace, once ----------------------------------------------------
log=$BUILD_DIR/logs/build-userspace.log
if make -s -C "$TOP_DIR" userlib selftests examples > "$log" 2>&1; then
	host_result OK "userspace builds with -Wall -Wextra -Werror; uapi header stands alone in C99 and C++"
else
	host_result FAIL "userspace build" "$log"
	cat "$log" >&2; die "cannot build userspace"
fi
if [ "$mode" = check ]; then
	log=$BUILD_DIR/logs/checkpatch.log
	if make -s -C "$TOP_DIR" checkpatch > "$log" 2>&1 && ! grep -qE '(ERROR|WARNING|CHECK):' "$log"; then
		host_result OK "checkpatch --strict clean on driver/ and uapi/"
	else
		host_result FAIL "checkpatch --strict on driver/ and uapi/" "$log"
	fi
fi

# build_in_root ROOT DIR MAKEARG...: make MAKEARG... inside the chroot ROOT
# (a kernel whose headers need a newer compiler than the host's, see
# bench/recipes/sid.sh), with DIR bind-mounted at a path of the root; M=@
# in MAKEARG stands for that path. The mounts go whatever happens. (It runs
# as an if's condition, where set -e does nothing: each step checks.)
build_in_root() (
	root=$1 dir=$2
	shift 2
	inside=$(mktemp -d "$root/tmp/daxpin-build.XXXXXX") || exit 1
	proc=""
	trap 'umount "$inside" 2>/dev/null; rmdir "$inside"; [ -z "$proc" ] || umount "$root/proc"' EXIT
	trap 'exit 130' INT TERM
	mount --bind "$dir" "$inside" || exit 1
	# objtool reads /proc ("read_stack_limit: fopen failed" without it).
	mount -t proc proc "$root/proc" || exit 1
	proc=1
	args=()
	for a in "$@"; do
		[ "$a" = M=@ ] && a=M=${inside#"$root"}
		args+=("$a")
	done
	chroot "$root" make "${args[@]}"
)

# --- per kernel -------------------------------------------------------
for k in "${selected[@]}"; do
	msg "kernel $k: preparing"
	"$BENCH_DIR/prepare-kernel.sh" "$k" > /dev/null
	# Only the kernels whose env says so build in a chroot.
	unset KBUILD_ROOT
	# shellcheck disable=SC1090
	. "$BUILD_DIR/kernels/$k.env"
	# Build in a copy, so that builds for several kernels never mix.
	kb=$BUILD_DIR/k/$k
	rm -rf "$kb" && mkdir -p "$kb"
	cp -r "$TOP_DIR/Kbuild" "$TOP_DIR/driver" "$TOP_DIR/uapi" "$kb/"
	mkdir -p "$kb/selftests"
	cp -r "$TOP_DIR/selftests/importer" "$kb/selftests/"
	log=$BUILD_DIR/logs/build-$k.log
	if [ -n "${KBUILD_ROOT:-}" ]; then
		build=(build_in_root "$KBUILD_ROOT" "$kb" -C "$KDIR" M=@)
	else
		build=(make -C "$KDIR" M="$kb")
	fi
	# With the selftests' dma-buf importer, which only the bench loads.
	if "${build[@]}" DAXPIN_TEST_IMPORTER=m DAXPIN_WERROR=1 W=1 C=2 modules > "$log" 2>&1; then
		host_result OK "daxpin.ko and the test importer build for $k ($KVER) with W=1 -Werror"
		if grep -q 'sparse is not available' "$log"; then
			# Debian's headers for sid's kernel lack
			# scripts/checker-valid.sh: Kbuild runs no sparse.
			host_result SKIP "sparse (C=2) for $k: Kbuild says sparse is not available with these headers"
		elif grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$log" > "$log.sparse"; then
			host_result FAIL "sparse (C=2) clean for $k" "$log.sparse"
		else
			host_result OK "sparse (C=2) clean for $k"
		fi
	else
		host_result FAIL "daxpin.ko builds for $k ($KVER)" "$log"
		continue
	fi

	if [ "$mode" != check ]; then
		fs=${fsel%%,*}
		fs=${fs:-${FSLIST%% *}}
		"$BENCH_DIR/run-guest.sh" "$k" "$fs" "$mode" || true
		if [ "$mode" = demo ] || [ "$mode" = benchmark ]; then
			out=$BUILD_DIR/logs/$k-$fs
			grep -v '^\[ *[0-9.]*\]' "$out/console.log" || true
			cat "$out/host-load.txt" 2>/dev/null || true
			[ "$(cat "$out/$mode.status" 2>/dev/null)" = 0 ] ||
				die "the $mode failed (log: $out/console.log)"
			msg "$mode finished; full console log: $out/console.log"
		fi
		exit 0
	fi

	for fs in $FSLIST; do
		if [ -n "$fsel" ] && [[ ",$fsel," != *",$fs,"* ]]; then continue; fi
		msg "kernel $k, $fs: booting guest"
		run_ok=1
		# The userspace runs under valgrind once per check, in the
		# first guest (it is slow under emulation).
		valgrind=0
		if [ -z "${valgrind_done:-}" ] && [ "$tsel" = "*" ]; then
			valgrind=1 valgrind_done=1
		fi
		BENCH_VALGRIND=$valgrind "$BENCH_DIR/run-guest.sh" "$k" "$fs" check "$tsel" || run_ok=0
		out=$BUILD_DIR/logs/$k-$fs
		read -r p f s < <("$BENCH_DIR/report.sh" "$out" "$tsel" "$run_ok")
		total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
		total_skip=$((total_skip + s))
		verdict=ok
		[ -f "$out/verdict-bad" ] && { verdict=FAILED; bad_runs=$((bad_runs + 1)); }
		summary+=("$(printf '%-10s %-5s %4d passed %4d failed %4d skipped %5ss  %s' \
			"$k" "$fs" "$p" "$f" "$s" "$(cat "$out/seconds" 2>/dev/null || echo '?')" "$verdict")")
	done
done

read -r p f s < <("$BENCH_DIR/report.sh" --host "$host_tap")
total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
total_skip=$((total_skip + s))
summary+=("$(printf '%-10s %-5s %4d passed %4d failed %4d skipped' host - "$p" "$f" "$s")")

echo
echo "daxpin check: per kernel and file system"
printf '  %s\n' "${summary[@]}"
echo "  (logs: $BUILD_DIR/logs; $(($(date +%s) - start_all)) s in all)"
echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ "$bad_runs" -eq 0 ]
