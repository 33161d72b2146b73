#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# PID 1 of a bench guest, running on the host's own tree (read-only, over
# virtio-9p). It sets up pmem, the file systems under test and soft-RoCE,
# loads daxpin.ko, runs the selftests or a demo or a shell, checks that the
# module unloads and leaks nothing, and powers the guest off.
#
# Everything it reports goes to /run/bench-out (the host's build/logs/RUN):
#   bench.tap     the bench's own checks (module load/unload, kmemleak)
#   <test>.tap    one file per selftest program
#   dmesg.log     the kernel log at the end
#   done          written last; its absence means the guest died
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=${TERM:-dumb} LC_ALL=C.UTF-8
out=/run/bench-out

arg() {
	local w
	for w in $(cat /proc/cmdline); do
		case $w in "$1="*) echo "${w#*=}"; return ;; esac
	done
}

# Whether `make check` leaves test program $1 out on kernel $2, by the
# list in $3 (bench/manual-tests): a line "NAME" always, "NAME K..." on
# kernels other than those.
manual_skip() {
	awk -v n="$1" -v k="$2" '
	$1 == n { skip = 1; for (i = 2; i <= NF; i++) if ($i == k) skip = 0 }
	END { exit !skip }' "$3" 2>/dev/null
}
say() { echo "[guest] $*" > /dev/console; }

top=$(arg bench_top)
mode=$(arg bench_mode)
fs=$(arg bench_fs)
filter=$(arg bench_filter)
: "${filter:=*}"
ko=$(arg bench_ko)
# The kernel's name in bench/kernels.list: build/k/NAME/driver/daxpin.ko.
kname=$(basename "$(dirname "$(dirname "$ko")")")
valgrind_demo=$(arg bench_valgrind)

poweroff_now() {
	dmesg > "$out/dmesg.log" 2>/dev/null
	sync
	echo o > /proc/sysrq-trigger
	# PID 1 must not exit while the power-off runs, nor run anything from
	# the host's tree (9p goes away): block in a shell builtin.
	exec 3<> /run/init-hold
	read -r <&3
}
mkfifo /run/init-hold
trap poweroff_now EXIT

# TAP for the bench's own checks: each one is a test that can fail.
bench_n=0
bench_ok() { bench_n=$((bench_n + 1)); echo "ok $bench_n $*" >> "$out/bench.tap"; }
bench_fail() {
	bench_n=$((bench_n + 1)); echo "not ok $bench_n $*" >> "$out/bench.tap"
	say "FAIL: $*"
}
bench_check() { # bench_check DESCRIPTION COMMAND...
	local what=$1 log
	shift
	if log=$("$@" 2>&1); then bench_ok "$what"; else
		bench_fail "$what"; printf '%s\n' "$log" | sed 's/^/[guest]   /' > /dev/console
		return 1
	fi
}

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ip link set lo up
hostname daxpin-guest

# --- persistent memory and file systems -------------------------------
# memmap=...!... on the kernel command line makes two legacy pmem regions:
# pmem0 holds the DAX file system under test, pmem1 the same file system
# mounted without DAX, for the tests that must be refused.
modprobe -q nd_e820; modprobe -q nd_pmem
for i in $(seq 50); do [ -b /dev/pmem1 ] && break; sleep 0.1; done

setup_fs() { # setup_fs DEV DIR DAXOPT
	case $fs in
	xfs) mkfs.xfs -q -f -m reflink=1 "$1" ;;
	ext4) mkfs.ext4 -q -F "$1" ;;
	*) echo "unknown file system '$fs'"; return 1 ;;
	esac || return 1
	mkdir -p "$2" && mount -o "$3" "$1" "$2" && chmod 1777 "$2"
}
mkdir -p /mnt/dax /mnt/nodax
bench_check "$fs file system with -o dax=always on /dev/pmem0" \
	setup_fs /dev/pmem0 /mnt/dax dax=always
bench_check "$fs file system with -o dax=never on /dev/pmem1" \
	setup_fs /dev/pmem1 /mnt/nodax dax=never

# --- soft-RoCE --------------------------------------------------------
setup_rxe() {
	modprobe -q crc32_generic; modprobe -q rdma_rxe && modprobe -q ib_uverbs &&
	modprobe -q rdma_ucm || return 1
	# A built-in dummy driver (the debug kernel) makes dummy0 itself.
	ip link show dummy0 > /dev/null 2>&1 || ip link add dummy0 type dummy ||
		return 1
	ip link set dummy0 mtu 4096 up &&
	rdma link add rxe0 type rxe netdev dummy0
}
bench_check "soft-RoCE device rxe0 on dummy0" setup_rxe

# --- the module -------------------------------------------------------
kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	# Only what leaks from here on is ours to answer for.
	echo scan > $kmemleak; echo clear > $kmemleak
fi
hooks=; [ "$mode" = check ] && hooks=test_hooks=1
bench_check "insmod daxpin.ko" insmod "$ko" $hooks || exit

export DAXPIN_DAX_DIR=/mnt/dax DAXPIN_NODAX_DIR=/mnt/nodax DAXPIN_FS=$fs
export DAXPIN_RDMA_DEV=rxe0 DAXPIN_KO=$ko
# Time-bounded tests (fuzz, stress) run this long; unset: their default.
seconds=$(arg bench_seconds)
[ -n "$seconds" ] && export DAXPIN_TEST_SECONDS=$seconds
# On the debug kernel (KASAN, lockdep, kmemleak) `make check` gives the
# fuzzer a few minutes of its own (DAXPIN_TEST_SECONDS, if set, wins).
[ -w $kmemleak ] && export DAXPIN_FUZZ_SECONDS=150
# Iterated tests (corruption) run this many rounds; unset: their default.
iterations=$(arg bench_iterations)
[ -n "$iterations" ] && export DAXPIN_TEST_ITERATIONS=$iterations
case $mode in
shell)
	say "shell: the DAX file system is /mnt/dax, daxpin is loaded; exit to power off"
	cd "$top" && setsid -c bash -i < /dev/console > /dev/console 2>&1
	;;
demo)
	"$top/build/examples/daxpin-demo" > /dev/console 2>&1
	echo $? > "$out/demo.status"
	;;
benchmark)
	"$top/build/examples/daxpin-bench" 2>&1 | tee "$out/benchmark.txt" > /dev/console
	echo "${PIPESTATUS[0]}" > "$out/benchmark.status"
	;;
check)
	for t in "$top"/build/selftests/*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		case $name in $filter) ;; *) continue ;; esac
		# Manual programs run only when asked for by name, or on
		# the kernels bench/manual-tests names for them.
		if [ "$filter" = "*" ] &&
		   manual_skip "$name" "$kname" "$top/bench/manual-tests"; then
			say "$name: left out on $kname (bench/manual-tests)"
			continue
		fi
		say "running $name"
		(cd /tmp && "$t" > "$out/$name.tap" 2>&1)
		say "$name exited with $?"
	done
	if [ "$valgrind_demo" = 1 ]; then
		# libdaxpin and every command path of the module, under memcheck.
		say "running daxpin-demo under valgrind"
		bench_check "daxpin-demo under valgrind: no errors, nothing definitely lost" \
			valgrind -q --child-silent-after-fork=yes --leak-check=full \
			--show-leak-kinds=definite \
			--errors-for-leak-kinds=definite --error-exitcode=99 \
			"$top/build/examples/daxpin-demo"
	fi
	;;
esac

bench_check "rmmod daxpin" rmmod daxpin
if [ -w $kmemleak ]; then
	# An object must be some seconds old before kmemleak reports it.
	sleep 6; echo scan > $kmemleak; sleep 1; echo scan > $kmemleak
	leaks=$(cat $kmemleak)
	if [ -z "$leaks" ]; then bench_ok "kmemleak: no unreferenced objects"; else
		bench_fail "kmemleak: unreferenced objects"
		printf '%s\n' "$leaks" | head -60 > /dev/console
	fi
fi
umount /mnt/dax /mnt/nodax
echo "$bench_n" > "$out/done"
