#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# plot-benchmark.sh BENCHMARK.TXT OUT.PNG: PIN cost against size, from the
# "1b" ratio table of a daxpin-bench run: A, B, C (reg+dereg) and daxpin's
# PIN and PIN+mmap+reg on the aligned and the unaligned file system, at the
# 2 MiB-aligned offset, medians, log-log. Needs gnuplot (gnuplot-nox).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

in=${1:?usage: plot-benchmark.sh BENCHMARK.TXT OUT.PNG}
out=${2:?usage: plot-benchmark.sh BENCHMARK.TXT OUT.PNG}
need_pkgs gnuplot-nox
data=$(mktemp)
trap 'rm -f "$data"' EXIT

# One line per size: bytes A B C PIN-aligned seq-aligned PIN-unaligned
# seq-unaligned ("-" where a figure is missing: no device-DAX).
awk '
/^   file system: aligned/ { fs = "a" }
/^   file system: unaligned/ { fs = "u" }
/^1c\./ { fs = "" }
fs != "" && $3 == "2" && $4 == "MiB" && ($2 == "KiB" || $2 == "MiB") {
	bytes = $1 * ($2 == "KiB" ? 1024 : 1048576)
	a[bytes] = $5; b[bytes] = $6; c[bytes] = $7
	pin[fs, bytes] = $8; seq[fs, bytes] = $9; sizes[bytes] = 1
}
END {
	for (s in sizes)
		print s, a[s], b[s], c[s], pin["a", s], seq["a", s], pin["u", s], seq["u", s]
}' "$in" | sort -n > "$data"
[ -s "$data" ] || die "no ratio table (1b) in $in"
title=$(sed -n 's/^daxpin-bench: kernel \([^,]*\), file system \([^,]*\),.*/\1, \2/p' "$in")

gnuplot <<GP
set terminal png size 900,600
set output "$out"
set datafile missing "-"
set logscale xy
set title "registration cost vs size, median us ($title, TCG guest)"
set xlabel "bytes (2 MiB-aligned offset)"
set ylabel "us"
set key top left
set grid
plot "$data" using 1:2 with linespoints title "A: reg+dereg, 4 KiB anon", \
     "" using 1:3 with linespoints title "B: reg+dereg, THP anon", \
     "" using 1:4 with linespoints title "C: reg+dereg, device-DAX", \
     "" using 1:5 with linespoints title "D: PIN, aligned fs", \
     "" using 1:6 with linespoints title "D: PIN+mmap+reg, aligned fs", \
     "" using 1:7 with linespoints title "D: PIN, unaligned fs", \
     "" using 1:8 with linespoints title "D: PIN+mmap+reg, unaligned fs"
GP
msg "wrote $out"
