#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
#
# runtests.sh TEST...: run libdaxpin's own tests and count them.
#
# Each test exits 0 (pass), 77 (skip, after a line saying why) or anything
# else (fail). Prints a line per test, its output when it fails, and a
# summary line:
#   libdaxpin tests: P passed, F failed, S skipped
# followed, for each skip, by "skipped NAME: REASON". Exits 1 if any test
# failed, else 0.
pass=0 fail=0 skip=0 reasons=
log=${TMPDIR:-/tmp}/daxpin-test.$$
trap 'rm -f "$log"' EXIT
for t in "$@"; do
	name=$(basename "$t")
	"$t" > "$log" 2>&1
	rc=$?
	case $rc in
	0)
		pass=$((pass + 1))
		echo "PASS $name" ;;
	77)
		skip=$((skip + 1))
		why=$(sed -n 's/^SKIP: //p' "$log" | tail -n 1)
		echo "SKIP $name: ${why:-no reason given}"
		reasons="$reasons
skipped $name: ${why:-no reason given}" ;;
	*)
		fail=$((fail + 1))
		echo "FAIL $name (exit $rc)"
		sed 's/^/    /' "$log" ;;
	esac
done
echo "libdaxpin tests: $pass passed, $fail failed, $skip skipped$reasons"
[ "$fail" -eq 0 ]
