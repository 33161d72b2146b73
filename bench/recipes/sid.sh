# SPDX-License-Identifier: GPL-2.0
# Recipe: Debian sid's kernel, in a root of its own. SOURCE is an image
# package of sid (or metapackage); its headers are the package of the same
# name with "image" replaced by "headers".
#
# sid's headers are made for sid's compiler, which the (older) host does not
# have, so the recipe debootstraps a minimal sid root with the kernel, its
# headers and the build tools, and check.sh builds the module inside it with
# chroot (KBUILD_ROOT). The root is made once and cached under
# $DAXPIN_CACHE/roots, keyed by this file's hash; it is remade when this
# file changes or the root is incomplete. To move to a newer sid kernel,
# delete the root.
#
# recipe_prepare NAME SOURCE prints KVER, KIMAGE, KDIR, KMODROOT and
# KBUILD_ROOT. KDIR is a path inside KBUILD_ROOT; KMODROOT is the root
# itself, so `modprobe -d KMODROOT -S KVER` finds the kernel's modules on
# the host and in the guest.

# Where the sid packages come from: the Debian archive the host uses.
SID_MIRROR=${SID_MIRROR:-http://deb.debian.org/debian}

recipe_prepare() {
	local name=$1 source=$2 headers key root kver pkgs img
	headers=${source/image/headers}
	need_pkgs debootstrap
	key=$(sha256sum "$BENCH_DIR/recipes/sid.sh" | cut -c1-12)
	root=$DAXPIN_CACHE/roots/$name-$key
	if [ ! -f "$root/.daxpin-built" ]; then
		msg "$name: debootstrapping a sid root with $source in $root"
		# A root left by an interrupted run may still have /proc
		# mounted: never rm -rf through a mount.
		umount "$root/proc" 2>/dev/null || true
		rm -rf --one-file-system "$root" && mkdir -p "$root"
		# gcc, libc6-dev and make: the module build; sparse: C=2;
		# kmod: depmod for the module tree. libelf1 (for objtool)
		# comes with the headers.
		pkgs=$source,$headers,gcc,libc6-dev,make,kmod,sparse,xz-utils
		debootstrap --variant=minbase --include="$pkgs" sid "$root" \
			"$SID_MIRROR" >&2 || die "$name: debootstrap of sid failed"
		# Not needed: apt's lists, the downloaded packages, and the
		# initramfs that the image's postinst made (the guest boots
		# with bench/mkinitramfs.sh's).
		rm -rf "$root"/var/cache/apt/archives/*.deb \
			"$root"/var/lib/apt/lists/* "$root"/boot/initrd.img-*
		touch "$root/.daxpin-built"
		# Roots of older versions of this recipe are dead weight now.
		find "$DAXPIN_CACHE/roots" -maxdepth 1 -name "$name-*" \
			! -name "$name-$key" -exec rm -rf --one-file-system {} + 2>/dev/null
	fi
	# The one kernel of the root (a root is never upgraded in place).
	kver=""
	for img in "$root"/boot/vmlinuz-*; do
		[ -z "$kver" ] || die "$name: more than one kernel in $root/boot"
		[ -f "$img" ] && kver=${img##*/vmlinuz-}
	done
	[ -n "$kver" ] || die "$name: no kernel in $root/boot"
	[ -d "$root/lib/modules/$kver/build" ] || die "$name: headers for $kver missing"
	recipe_env "$kver" "$root/boot/vmlinuz-$kver" "/lib/modules/$kver/build" \
		"$root"
	echo "KBUILD_ROOT=$root"
}
