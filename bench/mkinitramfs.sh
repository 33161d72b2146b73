#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh ENV OUT: build the guest's initramfs for the kernel that
# ENV (build/kernels/NAME.env) describes.
#
# The initramfs is tiny: busybox, the modules needed to reach the host's
# root file system over virtio-9p, and bench/guest/initramfs-init. The guest
# then switch_roots into the host's / (read-only), so every tool the tests
# use is the host's own and nothing is copied.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

env=${1:?usage: mkinitramfs.sh ENV OUT}
out=${2:?usage: mkinitramfs.sh ENV OUT}
# shellcheck disable=SC1090
. "$env"
need_pkgs busybox-static cpio kmod xz-utils

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,newroot,modules}
cp /bin/busybox "$root/bin/busybox"
for app in sh mount umount mkdir insmod switch_root sleep cat echo; do
	ln -s busybox "$root/bin/$app"
done
cp "$BENCH_DIR/guest/initramfs-init" "$root/init"
chmod 755 "$root/init"

# The modules for a 9p root, in load order; built-in ones need nothing.
: > "$root/modules/order"
for m in virtio_pci 9pnet_virtio 9p; do
	modprobe -d "$KMODROOT" -S "$KVER" --show-depends "$m" |
		awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	base=${base%.xz}; base=${base%.zst}; base=${base%.gz}
	case $ko in
	*.xz) xz -dc "$ko" > "$root/modules/$base" ;;
	*.zst) zstd -qdc "$ko" > "$root/modules/$base" ;;
	*.gz) gzip -dc "$ko" > "$root/modules/$base" ;;
	*) cp "$ko" "$root/modules/$base" ;;
	esac
	echo "$base" >> "$root/modules/order"
done

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
