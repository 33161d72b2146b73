# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the daxpin test bench. Sourced, never run.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$BENCH_DIR/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$TOP_DIR/build}
# Downloads and built kernels outlive a clone: keep them per machine.
DAXPIN_CACHE=${DAXPIN_CACHE:-/var/cache/daxpin}

msg() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# need_pkgs PKG...: apt-get install the packages that are not installed yet.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
	msg "installing: ${missing[*]}"
	if [ ! -f "$DAXPIN_CACHE/.apt-updated" ] ||
	   [ -n "$(find "$DAXPIN_CACHE/.apt-updated" -mmin +720)" ]; then
		apt-get update -qq >&2 || die "apt-get update failed"
		mkdir -p "$DAXPIN_CACHE" && touch "$DAXPIN_CACHE/.apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install failed: ${missing[*]}"
}

# The lines of bench/kernels.list without comments, an opt-in line's leading
# "optin" removed (so its fields number as on any line) and its name marked
# by a 0 in front of the line: "0|1 NAME RECIPE SOURCE FS...".
kernel_lines() {
	awk '!/^[[:space:]]*(#|$)/ {
		def = !sub(/^[[:space:]]*optin[[:space:]]+/, "")
		print def, $0 }' "$BENCH_DIR/kernels.list"
}

# recipe_env KVER KIMAGE KDIR KMODROOT: what a recipe_prepare prints (the
# release, its image, its build tree, the root its modules are under).
recipe_env() {
	printf 'KVER=%s\nKIMAGE=%s\nKDIR=%s\nKMODROOT=%s\n' "$@"
}

# kernel_names [all]: the kernel names of bench/kernels.list, in order;
# without "all", only those `make check` runs by default (not opt-in).
kernel_names() {
	kernel_lines | awk -v all="${1:-}" 'all == "all" || $1 { print $2 }'
}

# kernel_field NAME N: field N (2 recipe, 3 source, 4.. filesystems).
kernel_field() {
	kernel_lines | awk -v n="$1" -v f="$2" '$2 == n {
		if (f == "fs") { s = ""; for (i = 5; i <= NF; i++) s = s (s ? " " : "") $i; print s }
		else print $(f + 1) }'
}

# The source tree of linux-source-6.1: kselftest_harness.h, checkpatch.pl and
# the debug kernel all come from it.
linux_source_tree() {
	local tree=$DAXPIN_CACHE/src/linux-source-6.1 ver stamp
	need_pkgs linux-source-6.1
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
	stamp=$tree/.daxpin-extracted-$ver
	if [ ! -f "$stamp" ]; then
		msg "extracting linux-source-6.1 $ver"
		rm -rf "$tree" && mkdir -p "$DAXPIN_CACHE/src"
		tar -C "$DAXPIN_CACHE/src" -xJf /usr/src/linux-source-6.1.tar.xz ||
			die "cannot extract linux-source-6.1"
		touch "$stamp"
	fi
	echo "$tree"
}

# program_runs_on BINARY: where `make check` runs the selftest program
# BINARY, as its DAXPIN_RUNS_ON() says (selftests/common.h): every, kernel,
# one or debug; nothing if it says none.
program_runs_on() {
	grep -aoE 'daxpin-runs-on=(every|kernel|one|debug);' "$1" 2>/dev/null |
		head -n 1 | sed 's/^daxpin-runs-on=//; s/;$//'
}

# runs_here BINARY SCOPES FILTER: whether a guest whose run covers SCOPES
# (a comma-separated list of every, kernel, one, debug; or "all") runs
# BINARY. A FILTER other than "*" (T=GLOB) names the programs to run, and
# they run wherever they are asked to.
runs_here() {
	local where
	[ "$3" = "*" ] || return 0
	[ "$2" = all ] && return 0
	where=$(program_runs_on "$1")
	[ -n "$where" ] && [[ ",$2," == *",$where,"* ]]
}

# ensure_initrd NAME: make kernel NAME's initramfs if it is missing or older
# than what it is made from; prints its path.
ensure_initrd() {
	local env=$BUILD_DIR/kernels/$1.env initrd=$BUILD_DIR/kernels/$1.initrd
	if [ ! -f "$initrd" ] || [ "$initrd" -ot "$env" ] ||
	   [ "$initrd" -ot "$BENCH_DIR/guest/initramfs-init" ] ||
	   [ "$initrd" -ot "$BENCH_DIR/mkinitramfs.sh" ]; then
		"$BENCH_DIR/mkinitramfs.sh" "$env" "$initrd" >&2 ||
			die "cannot make the initramfs of $1"
	fi
	echo "$initrd"
}
