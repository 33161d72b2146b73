# SPDX-License-Identifier: GPL-2.0
# Recipe: a Debian kernel image package and its headers, installed with
# apt-get. SOURCE is an image package (or metapackage); the headers package
# is the one of the same name with "image" replaced by "headers".
#
# recipe_prepare NAME SOURCE prints KVER, KIMAGE, KDIR and KMODROOT.

recipe_prepare() {
	local name=$1 source=$2 pkg kver
	pkg=$source
	# Follow metapackages down to the versioned image package.
	while :; do
		case $pkg in linux-image-[0-9]*.[0-9]*-*-amd64|linux-image-[0-9]*+*-amd64) break ;; esac
		local dep
		dep=$(apt-cache depends "$pkg" 2>/dev/null |
			awk '/Depends: linux-image-/ { print $2; exit }')
		if [ -z "$dep" ]; then
			# An apt list older than the package: refresh once.
			rm -f "$DAXPIN_CACHE/.apt-updated"
			apt-get update -qq >&2
			dep=$(apt-cache depends "$pkg" 2>/dev/null |
				awk '/Depends: linux-image-/ { print $2; exit }')
		fi
		[ -n "$dep" ] || die "$name: cannot resolve $pkg to a kernel image"
		pkg=$dep
	done
	kver=${pkg#linux-image-}
	kver=${kver%-unsigned}
	need_pkgs "linux-image-$kver" "linux-headers-$kver"
	[ -f "/boot/vmlinuz-$kver" ] || die "$name: /boot/vmlinuz-$kver missing"
	[ -d "/lib/modules/$kver/build" ] || die "$name: headers for $kver missing"
	recipe_env "$kver" "/boot/vmlinuz-$kver" "/lib/modules/$kver/build" /
}
