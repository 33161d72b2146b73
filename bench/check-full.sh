#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check-full.sh: everything the bench has (`make check-full`; docs/bench.md,
# "Where each test runs"). Run it before resolving a large change.
#
#   1. `make check` with every selftest program in every guest
#      (BENCH_SCOPES=all: perftest, the fault walks, the fuzzer on every
#      kernel and file system) and the time-bounded and iterated tests at
#      the length `make check` ran them at before it had a budget
#      (BENCH_SECONDS=30: the stress test and the fuzzer 30 s;
#      BENCH_ITERATIONS=3: 3 corruption iterations per variant), the
#      valgrind runs in the first guest;
#   2. the fuzzer at length on the debug kernel (`make fuzz`,
#      FUZZ_SECONDS, 300 by default);
#   3. the two-guest recall (`make check-2host`) on the kernels of
#      TWOHOST_KERNELS (6.1,6.12).
#
# Each part's output goes to build/full/PART.log; at the end a line per
# part (its closing count and its time) and one total line. It fails if any
# part failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

fuzz_seconds=${FUZZ_SECONDS:-300}
twohost_kernels=${TWOHOST_KERNELS:-6.1,6.12}
out=$BUILD_DIR/full
rm -rf "$out" && mkdir -p "$out"

start_all=$(date +%s)
total_pass=0 total_fail=0 total_skip=0 rc=0
summary=()

# part NAME COMMAND...: run one part, keep its log, count its closing line.
part() {
	local name=$1 t0 prc line p f s
	shift
	t0=$(date +%s)
	msg "check-full: $name: $*"
	"$@" > "$out/$name.log" 2>&1
	prc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/$name.log" | tail -n 1)
	read -r p f s < <(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p')
	if [ -z "$line" ]; then
		# No closing count: the part did not get to the end.
		p=0 f=1 s=0 line="no closing count (exit $prc)"
	fi
	[ "$prc" -eq 0 ] && [ "$f" -eq 0 ] || rc=1
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	summary+=("$(printf '%-10s %-45s %5d s, exit %d' "$name" "$line" \
		$(($(date +%s) - t0)) "$prc")")
	# What the part said about itself, for the reader of this output.
	sed -n '/^daxpin check/,$p' "$out/$name.log"
}

part check env BENCH_SCOPES=all BENCH_SECONDS=30 BENCH_ITERATIONS=3 "$BENCH_DIR/check.sh"
part fuzz env BENCH_SECONDS="$fuzz_seconds" GUEST_TIMEOUT=$((fuzz_seconds + 600)) \
	"$BENCH_DIR/check.sh" KVER=6.1-debug FS=xfs T=fuzz
part 2host "$BENCH_DIR/check-2host.sh" KVER="$twohost_kernels"

echo
echo "daxpin check-full: per part (logs: $out)"
printf '  %s\n' "${summary[@]}"
echo "  ($(($(date +%s) - start_all)) s in all)"
echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
exit $rc
