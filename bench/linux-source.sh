#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print the path of Debian's linux-source-6.1 tree (installing and
# extracting it on first use): kselftest_harness.h and checkpatch.pl come
# from there, never from a copy in this repository.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
linux_source_tree
