/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * daxpin: long-term pins of file ranges on filesystem-DAX mounts.
 *
 * This header is the whole contract between the daxpin module and
 * userspace. Every command is an ioctl on a file descriptor of /dev/daxpin
 * whose argument is a pointer to a command struct. Every command struct
 * starts with the same two fields:
 *
 *   __u32 size;   sizeof() of the struct as the caller knows it
 *   __u32 flags;  command flags; unknown bits are refused
 *
 * Structs only ever grow at the end. The kernel accepts any @size from the
 * struct's first version up: bytes the kernel does not know must be zero,
 * and fields the caller does not know are taken as zero. Output fields are
 * written back only as far as the caller's @size reaches. Fields named
 * __reserved must be zero.
 *
 * Errors common to every command:
 *   ENOTTY      the ioctl number is not a daxpin command
 *   EFAULT      the argument pointer (or a pointer inside it) is not valid
 *   EINVAL      @size is smaller than the command's first version
 *   E2BIG       @size is larger than the kernel's struct and the extra bytes
 *               are not all zero
 *   EOPNOTSUPP  @flags has a bit this kernel does not know
 *   EINVAL      a __reserved field is not zero
 */
#ifndef _UAPI_LINUX_DAXPIN_H
#define _UAPI_LINUX_DAXPIN_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define DAXPIN_TYPE		0xDA
#define DAXPIN_DEVICE_PATH	"/dev/daxpin"

/*
 * The interface version. It counts incompatible changes only (there have
 * been none); additions are announced by bits in daxpin_info.features.
 */
#define DAXPIN_API_VERSION	1

enum {
	DAXPIN_CMD_BASE = 0x80,
	DAXPIN_CMD_INFO = DAXPIN_CMD_BASE,
};

/**
 * enum daxpin_feature - what the running module implements
 * @DAXPIN_FEATURE_TEST_HOOKS: the module was loaded with test_hooks=1 and
 *	accepts the test-only command of the selftests. Never set in
 *	production.
 */
enum daxpin_feature {
	DAXPIN_FEATURE_TEST_HOOKS = 1 << 0,
};

/**
 * struct daxpin_info - ioctl(DAXPIN_INFO)
 * @size: sizeof(struct daxpin_info)
 * @flags: Must be 0
 * @api_version: Output: DAXPIN_API_VERSION of the running module
 * @__reserved: Must be 0
 * @features: Output: bitmap of enum daxpin_feature
 *
 * Report what the running module supports, so that a library built against
 * a newer header can find out what it may use. Needs no privilege beyond an
 * open file descriptor of /dev/daxpin.
 *
 * Errors: only the common ones (see the top of this file).
 */
struct daxpin_info {
	__u32 size;
	__u32 flags;
	__u32 api_version;
	__u32 __reserved;
	__aligned_u64 features;
};

#define DAXPIN_INFO _IO(DAXPIN_TYPE, DAXPIN_CMD_INFO)

#endif /* _UAPI_LINUX_DAXPIN_H */
