#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# prepare-kernel.sh NAME: install or build kernel NAME of bench/kernels.list
# and write build/kernels/NAME.env (KVER, KIMAGE, KDIR, KMODROOT, FSLIST, and
# KBUILD_ROOT for a kernel whose modules build inside a chroot).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

name=${1:?usage: prepare-kernel.sh NAME}
recipe=$(kernel_field "$name" 2)
[ -n "$recipe" ] || die "no kernel '$name' in bench/kernels.list"
source=$(kernel_field "$name" 3)
. "$BENCH_DIR/recipes/$recipe.sh"
mkdir -p "$BUILD_DIR/kernels"
env=$BUILD_DIR/kernels/$name.env
recipe_prepare "$name" "$source" > "$env.tmp"
echo "FSLIST=\"$(kernel_field "$name" fs)\"" >> "$env.tmp"
mv "$env.tmp" "$env"
cat "$env"
