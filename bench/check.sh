#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check.sh [--demo | --shell | --benchmark | --host] [KVER=NAME[,NAME]] [FS=FS[,FS]] [T=GLOB]
#
# The test suite (what `make check` and CI run): install what is missing,
# build daxpin for every kernel of bench/kernels.list, boot each in QEMU
# with pmem once per file system of its line, run there the selftest
# programs that say they run there (DAXPIN_RUNS_ON() in each program;
# docs/bench.md, "Where each test runs"), and judge: any failed test, any
# test program that did not report, any guest that did not power off, any
# kernel warning or detector report fails the run. It ends with the time
# of each guest and of the whole run, and the line "N passed, N failed, N
# skipped".
#
# KVER selects kernels by name (6.1, 6.12, 6.1-debug, 7.2) or by release
# (6.1.0-57-amd64), opt-in kernels of the list too: without KVER they are
# left out. FS selects file systems; T is a glob on the selftest program
# names, and the programs it names run in every selected guest. --demo
# runs the demo in the first selected kernel's guest, --shell gives a
# shell there. --host runs what `make check` runs on the host only
# (builds, checkpatch, make install into a DESTDIR, DKMS builds for the
# selected kernels) and boots no guest.
#
# Environment: BENCH_JOBS guests run at once (2); BENCH_SCOPES=all runs
# every program in every guest (`make check-full`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

mode=check kernels="" fsel="" tsel="*"
for a in "$@"; do
	case $a in
	--demo) mode=demo ;;
	--benchmark) mode=benchmark ;;
	--shell) mode=shell ;;
	--host) mode=host ;;
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
	xz-utils bc valgrind ndctl pkgconf dkms openssl
mkdir -p "$BUILD_DIR"

# --- which kernels ----------------------------------------------------
all=$(kernel_names all)
selected=()
if [ -z "$kernels" ]; then
	mapfile -t selected < <(kernel_names)
	[ "$mode" = check ] || [ "$mode" = host ] || selected=("${selected[0]}")
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
if [ "$mode" = check ] || [ "$mode" = host ]; then
	log=$BUILD_DIR/logs/checkpatch.log
	if make -s -C "$TOP_DIR" checkpatch > "$log" 2>&1 && ! grep -qE '(ERROR|WARNING|CHECK):' "$log"; then
		host_result OK "checkpatch --strict clean on driver/ and uapi/"
	else
		host_result FAIL "checkpatch --strict on driver/ and uapi/" "$log"
	fi

	# libdaxpin's own tests (userlib/test/), as a packager runs them:
	# those that need /dev/daxpin skip (exit 77) on the host, and are
	# counted. OK if none failed.
	log=$BUILD_DIR/logs/userlib-test.log
	if make -s -C "$TOP_DIR/userlib" O="$BUILD_DIR/userlib" WERROR=1 test > "$log" 2>&1; then
		ok=OK
	else
		ok=FAIL
	fi
	sumline=$(grep '^libdaxpin tests: ' "$log" | tail -n 1) || true
	read -r npass nfail nskip < <(echo "$sumline" |
		sed -n 's/^libdaxpin tests: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p') || true
	if [ "$ok" = OK ] && [ -n "${npass:-}" ] && [ "$nfail" -eq 0 ]; then
		why=$(sed -n 's/^skipped [^:]*: //p' "$log" | sort -u | paste -sd';' - | sed 's/;/; /g')
		desc="libdaxpin's own tests (make -C userlib test): $npass passed"
		[ "$nskip" -eq 0 ] || desc="$desc, $nskip skipped ($why)"
		host_result OK "$desc"
	else
		host_result FAIL "libdaxpin's own tests (make -C userlib test): ${sumline:-no summary}" "$log"
	fi
fi

# --- make install into a DESTDIR; an application built against it -------
# pc_build PKG SRC OUT VAR=VALUE...: compile and link SRC with what
# pkg-config says for PKG, in the environment VAR=VALUE...
pc_build() {
	local pkg=$1 src=$2 out=$3 cflags libs
	shift 3
	env "$@" pkg-config --cflags --libs "$pkg" || return 1
	read -ra cflags < <(env "$@" pkg-config --cflags "$pkg")
	read -ra libs < <(env "$@" pkg-config --libs "$pkg")
	cc -std=c11 -Wall -Wextra -Werror "${cflags[@]}" -o "$out" "$src" "${libs[@]}"
}

# install_test: `make install` as a Debian package would run it (multiarch
# libdir), the tree it leaves, a program built with pkg-config against it
# (the sysroot is the DESTDIR) and run, and `make uninstall`.
install_test() {
	local tmp dest multi libdir log pc out
	tmp=$(mktemp -d) || return 0
	dest=$tmp/root
	multi=$(gcc -print-multiarch)
	libdir=/usr/lib/$multi
	local vars=(DESTDIR="$dest" prefix=/usr libdir="$libdir")

	# A packager's flags: the user's CPPFLAGS, CFLAGS and LDFLAGS on every
	# compile and link, no -Werror without WERROR=1, -z defs on every
	# shared object.
	log=$BUILD_DIR/logs/userlib-flags.log
	if make -C "$TOP_DIR/userlib" O="$tmp/flags" CC=cc CPPFLAGS=-DDAXPIN_PROBE_CPPFLAGS \
		CFLAGS='-O1 -g -DDAXPIN_PROBE_CFLAGS' LDFLAGS=-Wl,-O1 > "$log" 2>&1 &&
	   ! grep -E '^cc ' "$log" | grep -v -e -DDAXPIN_PROBE_CFLAGS >> "$log.bad" &&
	   ! grep -E '^cc .* -c ' "$log" | grep -v -e -DDAXPIN_PROBE_CPPFLAGS >> "$log.bad" &&
	   ! grep -E '^cc .* -shared ' "$log" | grep -v -e -Wl,-O1 >> "$log.bad" &&
	   ! grep -E '^cc .* -shared ' "$log" | grep -v -e -Wl,-z,defs >> "$log.bad" &&
	   ! grep -E '^cc .*-Werror( |$)' "$log" >> "$log.bad" &&
	   [ "$(grep -cE '^cc .* -shared ' "$log")" = 3 ]; then
		host_result OK "userlib: the user's CPPFLAGS, CFLAGS, LDFLAGS on every compile and link, -z defs on its 3 shared objects, no -Werror without WERROR=1"
	else
		cat "$log.bad" >> "$log" 2>/dev/null
		host_result FAIL "userlib's flags (user CPPFLAGS/CFLAGS/LDFLAGS, -z defs, no -Werror)" "$log"
	fi
	rm -f "$log.bad"

	log=$BUILD_DIR/logs/install.log
	if ! make -C "$TOP_DIR" install "${vars[@]}" > "$log" 2>&1; then
		host_result FAIL "make install DESTDIR=... prefix=/usr libdir=$libdir" "$log"
		rm -rf "$tmp"; return 0
	fi
	host_result OK "make install DESTDIR=... prefix=/usr libdir=$libdir"

	local missing=() f
	for f in usr/include/libdaxpin.h usr/include/libdaxpin-verbs.h \
		 usr/include/daxpin/daxpin.h "$libdir/libdaxpin.so.0" \
		 "$libdir/libdaxpin.so" "$libdir/libdaxpin.a" \
		 "$libdir/libdaxpin-verbs.so.0" "$libdir/libdaxpin-preload.so" \
		 "$libdir/pkgconfig/libdaxpin.pc" "$libdir/pkgconfig/libdaxpin-verbs.pc" \
		 usr/share/man/man3/daxpin_version_major.3 usr/share/man/man3/daxpin_pin.3 \
		 usr/share/man/man4/daxpin.4 usr/share/man/man7/daxpin.7 usr/lib/udev/rules.d/60-daxpin.rules \
		 usr/lib/modules-load.d/daxpin.conf etc/modprobe.d/daxpin.conf; do
		[ -e "$dest/$f" ] || missing+=("$f")
	done
	{
		echo "missing: ${missing[*]}"
		echo "under include/linux:"; find "$dest" -path '*/include/linux*'
		echo "rule:"; grep -v '^#' "$dest/usr/lib/udev/rules.d/60-daxpin.rules" 2>&1
	} > "$log.tree"
	if [ ${#missing[@]} -eq 0 ] && [ -z "$(find "$dest" -path '*/include/linux*')" ] &&
	   grep -Eq '^KERNEL=="daxpin",.*GROUP="rdma", MODE="0660"$' \
		"$dest/usr/lib/udev/rules.d/60-daxpin.rules"; then
		host_result OK "installed tree: libraries in $libdir, uapi header as include/daxpin/daxpin.h (nothing under include/linux), man pages, udev rule (group rdma, 0660), modules-load.d and modprobe.d files"
	else
		host_result FAIL "installed tree (files, nothing under include/linux, udev rule)" "$log.tree"
	fi

	# One release for the module and the library.
	pc=$(sed -n 's/^Version: //p' "$dest/$libdir/pkgconfig/libdaxpin.pc")
	if [ -n "$pc" ] && grep -qx "PACKAGE_VERSION=\"$pc\"" "$TOP_DIR/dkms.conf"; then
		host_result OK "libdaxpin.pc and dkms.conf are of one release ($pc)"
	else
		host_result FAIL "libdaxpin.pc's version ($pc) is not dkms.conf's PACKAGE_VERSION"
	fi

	cat > "$tmp/app.c" <<'APP'
#include <stdio.h>
#include <libdaxpin.h>

#if !DAXPIN_LIB_CHECK_VERSION(0, 3)
#error "libdaxpin too old"
#endif

int main(void)
{
	struct daxpin_info info = { .size = sizeof(info) };
	int fd = daxpin_open();

	printf("headers %d.%d library %d.%d %s %s %u\n",
	       DAXPIN_LIB_VERSION_MAJOR, DAXPIN_LIB_VERSION_MINOR,
	       daxpin_version_major(), daxpin_version_minor(),
	       DAXPIN_DEVICE_PATH, fd >= 0 ? "open" : "absent", info.size);
	return daxpin_version_major() != DAXPIN_LIB_VERSION_MAJOR ||
	       daxpin_version_minor() != DAXPIN_LIB_VERSION_MINOR;
}
APP
	cat > "$tmp/vapp.c" <<'APP'
#include <stdio.h>
#include <libdaxpin-verbs.h>

int main(void)
{
	printf("%s %p\n", daxpin_reg_path_name(DAXPIN_REG_ODP),
	       (void *)&daxpin_reg_mr);
	return 0;
}
APP
	# The DESTDIR is the sysroot: pkg-config finds only the installed
	# .pc files (and, for libdaxpin-verbs, the system's libibverbs.pc).
	local pcenv=(PKG_CONFIG_SYSROOT_DIR="$dest"
		     PKG_CONFIG_LIBDIR="$dest/$libdir/pkgconfig")
	log=$BUILD_DIR/logs/install-app.log
	if { pc_build libdaxpin "$tmp/app.c" "$tmp/app" "${pcenv[@]}" &&
	     out=$(LD_LIBRARY_PATH=$dest/$libdir "$tmp/app") && echo "$out" &&
	     LD_LIBRARY_PATH=$dest/$libdir ldd "$tmp/app" | grep -F "$dest/$libdir/libdaxpin.so.0"; } > "$log" 2>&1; then
		host_result OK "a program built with pkg-config --cflags --libs libdaxpin against the DESTDIR runs ($out)"
	else
		host_result FAIL "a program built with pkg-config libdaxpin against the installed tree" "$log"
	fi
	pcenv[1]=PKG_CONFIG_LIBDIR=$dest/$libdir/pkgconfig:$libdir/pkgconfig:/usr/share/pkgconfig
	log=$BUILD_DIR/logs/install-vapp.log
	if { pc_build libdaxpin-verbs "$tmp/vapp.c" "$tmp/vapp" "${pcenv[@]}" &&
	     LD_LIBRARY_PATH=$dest/$libdir "$tmp/vapp"; } > "$log" 2>&1; then
		host_result OK "a program built with pkg-config --cflags --libs libdaxpin-verbs against the DESTDIR runs"
	else
		host_result FAIL "a program built with pkg-config libdaxpin-verbs against the installed tree" "$log"
	fi

	log=$BUILD_DIR/logs/uninstall.log
	if make -C "$TOP_DIR" uninstall "${vars[@]}" > "$log" 2>&1 &&
	   find "$dest" ! -type d >> "$log" && [ -z "$(find "$dest" ! -type d)" ]; then
		host_result OK "make uninstall removes every file make install put there"
	else
		host_result FAIL "make uninstall leaves files (listed after make's output)" "$log"
	fi
	rm -rf "$tmp"
}

# --- DKMS -----------------------------------------------------------------
# dkms_test NAME (after NAME's .env is read): as docs/install.md says,
# make install-dkms, dkms add, dkms build -k KVER, check the module, then
# dkms install, then dkms remove --all and make uninstall-dkms. daxpin is
# in DKMS only for that while: were it there when a recipe installs a
# kernel's packages, DKMS's kernel hook would build and install it into
# /lib/modules, where the guests' modules come from. For the same reason
# `dkms install` goes into a module tree of the bench's own
# (--installtree, --no-depmod), never /lib/modules; a copy of that tree,
# build/dkms/NAME/root, is what each guest of NAME loads with modprobe
# (bench/guest/init.sh). If daxpin is in DKMS on this machine already (an
# admin's install, not the bench's to remove), it skips.
dkms_ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$TOP_DIR/dkms.conf")
dkms_added=""
dkms_installtree=""

dkms_test() {
	local k=$1 log=$BUILD_DIR/logs/dkms-$1.log suffix="" mod="" vermagic=""
	local droot=$BUILD_DIR/dkms/$1 installed="" built=""
	# No guest may load a module of an earlier run.
	rm -rf "$droot"
	if [ -n "${KBUILD_ROOT:-}" ]; then
		host_result SKIP "dkms build for $k ($KVER): its headers need the newer compiler of the sid chroot ($KBUILD_ROOT), which the host's dkms does not use"
		return 0
	fi
	if [ "$KDIR" != "/lib/modules/$KVER/build" ] || [ ! -d "$KDIR" ]; then
		host_result SKIP "dkms build for $k ($KVER): not a kernel installed from a package (no /lib/modules/$KVER/build)"
		return 0
	fi
	if [ -z "$dkms_ver" ]; then
		host_result FAIL "dkms.conf has no PACKAGE_VERSION"
		return 0
	fi
	if [ -n "$(dkms status daxpin 2>/dev/null)" ] || [ -e "/usr/src/daxpin-$dkms_ver" ]; then
		host_result SKIP "dkms build for $k: daxpin is in DKMS (or /usr/src/daxpin-$dkms_ver exists) on this machine already; the bench leaves it alone"
		return 0
	fi
	dkms_added=1
	if ! { make -C "$TOP_DIR" install-dkms && dkms add "daxpin/$dkms_ver" &&
	       [ ! -e "/usr/src/daxpin-$dkms_ver/selftests" ]; } > "$log" 2>&1; then
		host_result FAIL "make install-dkms (without selftests/) and dkms add daxpin/$dkms_ver" "$log"
		dkms_cleanup; return 0
	fi
	# DKMS compresses as the kernel's own modules are.
	case $(grep -E '^CONFIG_MODULE_COMPRESS_(XZ|ZSTD|GZIP)=y' "$KDIR/.config") in
	*XZ*) suffix=.xz ;; *ZSTD*) suffix=.zst ;; *GZIP*) suffix=.gz ;;
	esac
	if dkms build "daxpin/$dkms_ver" -k "$KVER" >> "$log" 2>&1 &&
	   mod=$(find "/var/lib/dkms/daxpin/$dkms_ver/$KVER" -path '*/module/*' -name 'daxpin.ko*') &&
	   [ "$(basename "$mod")" = "daxpin.ko$suffix" ] &&
	   vermagic=$(modinfo -F vermagic "$mod") && [ "${vermagic%% *}" = "$KVER" ] &&
	   [ "$(modinfo -F version "$mod")" = "$dkms_ver" ] &&
	   [ -z "$(find "/var/lib/dkms/daxpin/$dkms_ver" -name 'daxpin_test_importer*')" ]; then
		built=1
		host_result OK "make install-dkms, dkms add, dkms build daxpin/$dkms_ver -k $KVER ($k): $(basename "$mod"), version $dkms_ver, vermagic $KVER, signer '$(modinfo -F signer "$mod")', no test importer"
	else
		echo "module: ${mod:-none}, expected daxpin.ko$suffix; vermagic: ${vermagic:-?}; version: $(modinfo -F version "${mod:-/nonexistent}" 2>/dev/null), expected $dkms_ver" >> "$log"
		host_result FAIL "dkms build daxpin/$dkms_ver -k $KVER ($k)" "$log"
	fi
	if [ -n "$built" ]; then
		dkms_installtree=$droot/install/lib/modules
		mkdir -p "$dkms_installtree/$KVER"
		if dkms install "daxpin/$dkms_ver" -k "$KVER" --no-depmod \
			--installtree "$dkms_installtree" >> "$log" 2>&1 &&
		   installed=$(find "$dkms_installtree/$KVER" -name "daxpin.ko$suffix") &&
		   [ "${installed#"$dkms_installtree/$KVER"}" = "/updates/dkms/daxpin.ko$suffix" ] &&
		   cmp -s "$installed" "$mod" &&
		   mkdir -p "$droot/root/lib/modules" &&
		   cp -a "$dkms_installtree/$KVER" "$droot/root/lib/modules/" &&
		   depmod -b "$droot/root" "$KVER" >> "$log" 2>&1 &&
		   grep -q "^updates/dkms/daxpin.ko$suffix:" "$droot/root/lib/modules/$KVER/modules.dep"; then
			host_result OK "dkms install daxpin/$dkms_ver -k $KVER ($k), into a tree of the bench's own: updates/dkms/daxpin.ko$suffix, the module dkms built; depmod lists it (the guests load it)"
		else
			host_result FAIL "dkms install daxpin/$dkms_ver -k $KVER ($k) into $dkms_installtree" "$log"
			rm -rf "$droot/root"
		fi
	fi
	if dkms_cleanup >> "$log" 2>&1; then
		host_result OK "dkms remove daxpin/$dkms_ver --all and make uninstall-dkms leave nothing ($k)"
	else
		host_result FAIL "dkms remove daxpin/$dkms_ver --all and make uninstall-dkms ($k)" "$log"
	fi
}

# dkms_cleanup: what dkms_test added goes, whatever happened (also on exit).
dkms_cleanup() {
	[ -n "$dkms_added" ] || return 0
	local tree=$dkms_installtree
	dkms_added="" dkms_installtree=""
	dkms remove "daxpin/$dkms_ver" --all --no-depmod \
		--installtree "${tree:-/lib/modules}"
	make -C "$TOP_DIR" uninstall-dkms
	[ -z "$(dkms status daxpin)" ] && [ ! -e "/usr/src/daxpin-$dkms_ver" ] &&
		[ ! -e /var/lib/dkms/daxpin ] &&
		{ [ -z "$tree" ] || [ -z "$(find "$tree" -name 'daxpin.ko*')" ]; }
}
# kill_tree PID: PID and every process under it.
kill_tree() {
	local c
	for c in $(pgrep -P "$1"); do kill_tree "$c"; done
	kill "$1" 2>/dev/null || true
}
# On the way out (an error, ^C) no guest of the pool is left running.
trap 'for p in $(jobs -p); do kill_tree "$p"; done; dkms_cleanup > /dev/null 2>&1 || true' EXIT

if [ "$mode" = check ] || [ "$mode" = host ]; then
	install_test
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

# --- the guests' pool -------------------------------------------------------
# One guest per kernel and file system, BENCH_JOBS of them at a time
# (docs/bench.md, "Where the time goes"). A kernel's guests join the pool
# as soon as its module is built, so that they run while the next kernel
# is prepared. Which selftest programs a guest runs follows from each
# program's DAXPIN_RUNS_ON() (selftests/common.h) and the guest's scopes:
# "every" in every guest, "kernel" in the first file system of each
# kernel, "one" (and the valgrind runs) in the first guest of the run,
# "debug" on kernels of the debug recipe. BENCH_SCOPES=all (make
# check-full) runs every program in every guest.
BENCH_JOBS=${BENCH_JOBS:-2}
case $BENCH_JOBS in ''|*[!0-9]*|0) die "BENCH_JOBS must be a positive number" ;; esac
jobs_all=()	# "KERNEL FS SCOPES VALGRIND", in report order
pending=()	# those not started yet, the next to start first
running=0

# The guests of the selected kernels and file systems, with their scopes.
if [ "$mode" = check ]; then
	first_guest=1
	for k in "${selected[@]}"; do
		kfirst=1
		for fs in $(kernel_field "$k" fs); do
			if [ -n "$fsel" ] && [[ ",$fsel," != *",$fs,"* ]]; then continue; fi
			scopes=every valgrind=0
			[ -z "$kfirst" ] || scopes+=,kernel
			[ -z "$first_guest" ] || scopes+=,one
			[ "$(kernel_field "$k" 2)" != debug ] || scopes+=,debug
			[ -z "${BENCH_SCOPES:-}" ] || scopes=$BENCH_SCOPES
			# The userspace runs under valgrind once per check,
			# in the first guest (it is slow under emulation).
			[ -z "$first_guest" ] || [ "$tsel" != "*" ] || valgrind=1
			jobs_all+=("$k $fs $scopes $valgrind")
			# No result of an earlier run may count for it.
			rm -rf "$BUILD_DIR/logs/$k-$fs"
			first_guest="" kfirst=""
		done
	done
fi

# enqueue_guests KERNEL: its guests join the pending ones. The debug
# kernel's (the longest) and the one with the valgrind runs go first, so
# that the last guest to finish is a short one.
enqueue_guests() {
	local j k v long=() rest=()
	for j in "${jobs_all[@]}"; do
		read -r k _ _ v <<< "$j"
		[ "$k" = "$1" ] || continue
		if [ "$v" = 1 ] || [ "$(kernel_field "$k" 2)" = debug ]; then
			long+=("$j")
		else
			rest+=("$j")
		fi
	done
	pending=("${long[@]}" "${pending[@]}" "${rest[@]}")
}

# run_guest "KERNEL FS SCOPES VALGRIND": one guest; whether it finished
# its run and powered off in time is left in its log directory (run-ok).
run_guest() {
	local k fs scopes v out what
	read -r k fs scopes v <<< "$1"
	out=$BUILD_DIR/logs/$k-$fs
	what=$scopes
	[ "$v" = 0 ] || what+=", valgrind"
	msg "kernel $k, $fs: booting guest (runs: $what)"
	if BENCH_VALGRIND=$v BENCH_SCOPES=$scopes \
		"$BENCH_DIR/run-guest.sh" "$k" "$fs" check "$tsel"; then
		echo 1 > "$out/run-ok"
	else
		echo 0 > "$out/run-ok"
	fi
	msg "kernel $k, $fs: guest done in $(cat "$out/seconds" 2>/dev/null || echo '?') s"
}

# pool_fill [wait]: reap the guests that finished, start pending ones while
# fewer than BENCH_JOBS run; with "wait", until none is pending.
pool_fill() {
	while :; do
		running=$(jobs -rp | wc -l)
		while [ "$running" -lt "$BENCH_JOBS" ] && [ ${#pending[@]} -gt 0 ]; do
			run_guest "${pending[0]}" &
			pending=("${pending[@]:1}")
			running=$((running + 1))
		done
		[ "${1:-}" = wait ] && [ ${#pending[@]} -gt 0 ] || return 0
		wait -n || true
	done
}

# --- per kernel: prepare, build, DKMS; then its guests ---------------------
# The debug kernels' module first: their guest is the longest, and should
# not be the last to start.
build_order=()
for k in "${selected[@]}"; do
	[ "$(kernel_field "$k" 2)" = debug ] && build_order+=("$k")
done
for k in "${selected[@]}"; do
	[ "$(kernel_field "$k" 2)" = debug ] || build_order+=("$k")
done

guests_start=""
for k in "${build_order[@]}"; do
	msg "kernel $k: preparing"
	t0=$(date +%s)
	"$BENCH_DIR/prepare-kernel.sh" "$k" > /dev/null
	t1=$(date +%s)
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
	# For bench/times.sh: preparing the kernel, building the module, DKMS.
	{ echo "prepare $((t1 - t0))"; echo "build $(($(date +%s) - t1))"; } \
		> "$BUILD_DIR/logs/host-$k.times"

	if [ "$mode" = check ] || [ "$mode" = host ]; then
		t1=$(date +%s)
		dkms_test "$k"
		echo "dkms $(($(date +%s) - t1))" >> "$BUILD_DIR/logs/host-$k.times"
	fi
	[ "$mode" = host ] && continue

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

	# Before any of its guests starts: they share it.
	ensure_initrd "$k" > /dev/null
	guests_start=${guests_start:-$(date +%s)}
	enqueue_guests "$k"
	pool_fill
done
host_end=$(date +%s)
guests_start=${guests_start:-$host_end}
pool_fill wait
wait || true
guests_end=$(date +%s)

for j in "${jobs_all[@]}"; do
	read -r k fs scopes v <<< "$j"
	out=$BUILD_DIR/logs/$k-$fs
	read -r p f s < <("$BENCH_DIR/report.sh" "$out" "$tsel" \
		"$(cat "$out/run-ok" 2>/dev/null || echo 0)" "$scopes")
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	verdict=ok
	[ -f "$out/verdict-bad" ] && { verdict=FAILED; bad_runs=$((bad_runs + 1)); }
	summary+=("$(printf '%-10s %-5s %4d passed %4d failed %4d skipped %5ss  %s' \
		"$k" "$fs" "$p" "$f" "$s" "$(cat "$out/seconds" 2>/dev/null || echo '?')" "$verdict")")
done

read -r p f s < <("$BENCH_DIR/report.sh" --host "$host_tap")
total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
total_skip=$((total_skip + s))
summary+=("$(printf '%-10s %-5s %4d passed %4d failed %4d skipped' host - "$p" "$f" "$s")")

echo
echo "daxpin check: per kernel and file system"
printf '  %s\n' "${summary[@]}"
took="host part $((host_end - start_all)) s"
[ ${#jobs_all[@]} -eq 0 ] ||
	took+=", guests $((guests_end - guests_start)) s from the first boot, $BENCH_JOBS at a time"
echo "  (logs: $BUILD_DIR/logs; $took; $(($(date +%s) - start_all)) s in all)"
echo
echo "$total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ] && [ "$bad_runs" -eq 0 ]
