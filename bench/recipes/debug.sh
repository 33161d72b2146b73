# SPDX-License-Identifier: GPL-2.0
# Recipe: a debug kernel built from a Debian linux-source package with the
# config fragment bench/recipes/debug-<series>.config (lockdep, KASAN,
# kmemleak, fault injection). Built once and cached under $DAXPIN_CACHE,
# keyed by the source version and the fragment's hash.
#
# recipe_prepare NAME SOURCE prints KVER, KIMAGE, KDIR and KMODROOT.

recipe_prepare() {
	local name=$1 source=$2 series frag tree key out jobs
	series=${source#linux-source-}
	frag=$BENCH_DIR/recipes/debug-$series.config
	[ -f "$frag" ] || die "$name: no config fragment $frag"
	[ "$source" = linux-source-6.1 ] || die "$name: only linux-source-6.1 is known"
	need_pkgs gcc make bc bison flex libelf-dev libssl-dev xz-utils rsync \
		kmod cpio python3 perl
	tree=$(linux_source_tree)
	key=$(cat "$frag" "$BENCH_DIR/recipes/debug.sh" | sha256sum | cut -c1-12)
	key=$(dpkg-query -W -f='${Version}' "$source")-$key
	out=$DAXPIN_CACHE/kernels/$name-$key
	if [ ! -f "$out/.daxpin-built" ]; then
		msg "$name: building debug kernel in $out (about 10 minutes)"
		rm -rf "$out" && mkdir -p "$out/obj"
		make -s -C "$tree" O="$out/obj" x86_64_defconfig >&2 || die "defconfig"
		(cd "$tree" && scripts/kconfig/merge_config.sh -m -O "$out/obj" \
			"$out/obj/.config" "$frag") >&2 || die "merge_config"
		make -s -C "$tree" O="$out/obj" olddefconfig >&2 || die "olddefconfig"
		check_config "$out/obj/.config" "$frag"
		jobs=$(nproc)
		make -s -C "$tree" O="$out/obj" -j"$jobs" bzImage modules >&2 ||
			die "$name: kernel build failed"
		make -s -C "$tree" O="$out/obj" INSTALL_MOD_PATH="$out/modroot" \
			modules_install >&2 || die "$name: modules_install failed"
		touch "$out/.daxpin-built"
		# Older builds of this kernel are dead weight now.
		find "$DAXPIN_CACHE/kernels" -maxdepth 1 -name "$name-*" \
			! -name "$name-$key" -exec rm -rf {} + 2>/dev/null
	fi
	echo "KVER=$(cat "$out/obj/include/config/kernel.release")"
	echo "KIMAGE=$out/obj/arch/x86/boot/bzImage"
	echo "KDIR=$out/obj"
	echo "KMODROOT=$out/modroot"
}

# check_config CONFIG FRAGMENT: fail if an option of the fragment did not
# survive olddefconfig (a dependency was missing), so a detector can never be
# silently absent.
check_config() {
	local config=$1 frag=$2 line sym
	while IFS= read -r line; do
		case $line in
		CONFIG_*=n) sym=${line%%=*}
			grep -q "^$sym=" "$config" && die "$sym should be off" ;;
		CONFIG_*) grep -qxF "$line" "$config" || die "not set: $line" ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}
			grep -q "^$sym=" "$config" && die "$sym should be off" ;;
		esac
	done < "$frag"
	return 0
}
