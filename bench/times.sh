#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# times.sh [LOGDIR]: where the last `make check` spent its time, as a
# Markdown table (docs/bench.md, "Where the time goes"): a column per
# guest (KERNEL-FS), a row per step - boot to init, each selftest program,
# the valgrind runs, the guest's whole run by its own clock and by the
# host's (boot to power-off) - in seconds; then a line per kernel with its
# host part: preparing it, building the module (W=1, sparse), DKMS.
# LOGDIR is build/logs by default. Steps a guest did not run are blank.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

logs=${1:-$BUILD_DIR/logs}
# The guests in bench/kernels.list's order.
guests=()
for k in $(kernel_names all); do
	for fs in $(kernel_field "$k" fs); do
		[ -f "$logs/$k-$fs/times" ] && guests+=("$k-$fs")
	done
done
[ ${#guests[@]} -gt 0 ] || die "no guest times in $logs (run make check first)"

for g in "${guests[@]}"; do
	# "STEP SECONDS" lines; end is the guest's uptime at its last step.
	sed "s|^|$g |" "$logs/$g/times"
	echo "$g host-clock $(cat "$logs/$g/seconds" 2>/dev/null || echo '')"
done | awk -v order="${guests[*]}" '
	BEGIN { ng = split(order, gs, " ") }
	{
		if (!(($2) in seen)) { seen[$2] = 1; steps[++ns] = $2 }
		t[$1, $2] = $3
	}
	END {
		printf "| step |"
		for (i = 1; i <= ng; i++) printf " %s |", gs[i]
		printf "\n|---|"
		for (i = 1; i <= ng; i++) printf "---:|"
		printf "\n"
		for (j = 1; j <= ns; j++) {
			s = steps[j]
			if (s == "end" || s == "host-clock") continue
			printf "| %s |", s
			for (i = 1; i <= ng; i++) printf " %s |", t[gs[i], s]
			printf "\n"
		}
		printf "| guest, by its clock |"
		for (i = 1; i <= ng; i++) printf " %s |", t[gs[i], "end"]
		printf "\n| guest, boot to power-off |"
		for (i = 1; i <= ng; i++) printf " %s |", t[gs[i], "host-clock"]
		printf "\n"
	}'

echo
echo "| kernel | prepare | build | dkms |"
echo "|---|---:|---:|---:|"
for k in $(kernel_names all); do
	f=$logs/host-$k.times
	[ -f "$f" ] || continue
	printf '| %s | %s | %s | %s |\n' "$k" \
		"$(awk '$1 == "prepare" { print $2 }' "$f")" \
		"$(awk '$1 == "build" { print $2 }' "$f")" \
		"$(awk '$1 == "dkms" { print $2 }' "$f")"
done

# The slowest tests, each test's time summed over the guests that ran it
# (bench/guest/init.sh writes PROGRAM.times: seconds before each result).
echo
echo "| test | seconds, all guests | guests | slowest guest |"
echo "|---|---:|---:|---|"
for g in "${guests[@]}"; do
	for f in "$logs/$g"/*.times; do
		[ -f "$f" ] || continue
		p=$(basename "$f" .times)
		# "SECONDS ok N NAME" or "SECONDS ok N # SKIP why": name the
		# test by program and number where the line has no name.
		awk -v g="$g" -v p="$p" '{
			name = $0; sub(/^[0-9.]+ (not )?ok [0-9]+ (- )?/, "", name)
			if (name ~ /^#/) { split($0, w, " "); name = p ".#" ($2 == "not" ? w[4] : w[3]) " (skipped)" }
			print $1, g, name }' "$f"
	done
done | awk '{ t = $1; g = $2; $1 = $2 = ""; sub(/^ +/, "");
	sum[$0] += t; n[$0]++; if (t > max[$0]) { max[$0] = t; at[$0] = g } }
	END { for (k in sum) printf "%.1f\t%s\t%d\t%s (%.1f)\n", sum[k], k, n[k], at[k], max[k] }' |
	sort -rn | head -n "${TOP:-25}" |
	awk -F '\t' '{ printf "| %s | %s | %s | %s |\n", $2, $1, $3, $4 }'
