#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# report.sh OUTDIR FILTER RUN_OK [SCOPES]: judge one guest run (whose
# selftest programs were those of FILTER and SCOPES, as bench/check.sh
# says; SCOPES "every" if not given) and print
# "PASSED FAILED SKIPPED" on stdout (details on stderr).
# report.sh --host TAPFILE: count a TAP file of host-side checks.
#
# Besides the TAP results of each test program, a guest run owes three
# things, each counted as a test of its own:
#   - the guest finished its run and powered off in time (RUN_OK=1);
#   - every selftest program matching FILTER left a complete TAP report
#     (a plan, as many results as planned, and the harness's totals line);
#   - the kernel log holds no warning, BUG, oops, lockdep, KASAN or
#     kmemleak report.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# tap_count FILE: "pass fail skip" of the top-level results in FILE;
# prints failed results, and skipped ones grouped by reason, to stderr; under
# each failure the diagnostics its test printed (the harness's "# file:line:"
# lines), so that a failure in CI can be read without the guest's logs.
tap_count() {
	awk -v file="$(basename "$1")" '
	/^#  RUN / { diag = ""; run = $3; next }
	/^# / { if (length(diag) < 4000) diag = diag "          " $0 "\n"; next }
	/^ok [0-9]+.*# SKIP/ {
		s++; name = run; sub(/^.*# SKIP */, "")
		if (!(($0) in why)) { order[++nwhy] = $0; first[$0] = name }
		why[$0]++; diag = ""; next
	}
	/^ok [0-9]+/ { p++; diag = ""; next }
	/^not ok [0-9]+/ { f++; sub(/^not ok [0-9]+ *(- )?/, ""); printf "    FAIL  %s: %s\n%s", file, $0, diag > "/dev/stderr"; diag = ""; next }
	END {
		for (i = 1; i <= nwhy; i++) {
			r = order[i]; more = ""
			if (why[r] > 1) more = ", ..."
			printf "    skip  %s: %d x \"%s\" (%s%s)\n", file, why[r], r, first[r], more > "/dev/stderr"
		}
		printf "%d %d %d\n", p, f, s
	}' "$1"
}

if [ "$1" = --host ]; then
	tap_count "$2"
	exit 0
fi

out=$1 filter=$2 run_ok=$3 scopes=${4:-every}
pass=0 fail=0 skip=0
result() { # result OK|FAIL DESCRIPTION
	if [ "$1" = OK ]; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "    FAIL  $2" >&2; touch "$out/verdict-bad"
	fi
}
rm -f "$out/verdict-bad"

if [ "$run_ok" = 1 ]; then
	result OK "guest finished and powered off"
else
	result FAIL "guest: $(cat "$out/failure" 2>/dev/null || echo 'run failed')"
fi

for tap in "$out"/*.tap; do
	[ -f "$tap" ] || continue
	read -r p f s < <(tap_count "$tap")
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	[ "$f" -eq 0 ] || touch "$out/verdict-bad"
done

# bench.tap has no plan: init.sh writes its count to "done" at the very end.
if [ -f "$out/done" ]; then
	n=$(grep -cE '^(not )?ok ' "$out/bench.tap" 2>/dev/null)
	[ "$n" = "$(cat "$out/done")" ] || result FAIL "bench checks: $n results, $(cat "$out/done") expected"
fi

for t in "$TOP_DIR"/build/selftests/*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	# shellcheck disable=SC2254
	case $name in $filter) ;; *) continue ;; esac
	# The same rule as bench/guest/init.sh's (bench/lib.sh).
	runs_here "$t" "$scopes" "$filter" || continue
	tap=$out/$name.tap
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$tap" 2>/dev/null | head -n 1)
	got=$(grep -cE '^(not )?ok [0-9]+' "$tap" 2>/dev/null)
	if [ -n "$plan" ] && [ "$got" = "$plan" ] && grep -q '^# Totals:' "$tap"; then
		result OK "$name reported all $plan tests"
	else
		result FAIL "$name did not report completely (plan '${plan:-none}', $got results, see $tap)"
	fi
done

# The kernel's own verdict. Lines the guest's scripts print start with
# [guest]; everything else in the console log is the kernel's.
pattern='WARNING:|BUG:|Oops|kernel BUG|general protection fault|unreferenced object|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|detected stall|Kernel panic|Call Trace:'
# A test that triggers a kernel warning on purpose (a kernel bug it
# documents) announces it: between "daxpin-selftest: expect-warning REGEX"
# and "...: expect-warning-end" in the log, a WARNING whose line matches
# REGEX, and its trace up to "---[ end trace", is expected: listed, not
# failed. Anything else inside the window still fails the run.
expected_filter() { # reads a log, writes it less the expected warnings
	awk -v listing="$out/expected-warnings" '
	{ sub(/\r$/, "") }	# the serial console ends lines with CR LF
	/daxpin-selftest: expect-warning-end/ { expect = ""; next }
	/daxpin-selftest: expect-warning / {
		expect = $0; sub(/^.*daxpin-selftest: expect-warning /, "", expect); next
	}
	block { if (/---\[ end trace/) block = 0; next }
	expect != "" && /WARNING:/ && $0 ~ expect {
		print >> listing; block = 1; next
	}
	{ print }'
}
rm -f "$out/expected-warnings"
hits=$( { cat "$out/console.log" 2>/dev/null | expected_filter
	  cat "$out/dmesg.log" 2>/dev/null | expected_filter; } |
	grep -v '^\[guest\]' | grep -E "$pattern" | sort -u | head -n 20)
if [ -s "$out/expected-warnings" ]; then
	sort -u "$out/expected-warnings" | sed 's/^/    expected kernel warning (announced by a test): /' >&2
fi
if [ -z "$hits" ]; then
	result OK "kernel log clean (no warning, BUG, oops, lockdep, KASAN or kmemleak report)"
else
	result FAIL "kernel log has reports:"
	printf '%s\n' "$hits" | sed 's/^/          /' >&2
	echo "    --- last 60 lines of $out/console.log" >&2
	tail -n 60 "$out/console.log" | sed 's/^/    /' >&2
fi

if [ -f "$out/verdict-bad" ] && [ "$run_ok" != 1 ]; then
	echo "    --- last 40 lines of $out/console.log" >&2
	tail -n 40 "$out/console.log" 2>/dev/null | sed 's/^/    /' >&2
fi
echo "$pass $fail $skip"
