/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libdaxpin: thin wrappers over the ioctls of /dev/daxpin.
 *
 * Every function returns 0 (or a non-negative value where it says so) on
 * success and a negative errno on failure; errno itself is left as the
 * system call set it. See daxpin(7) and the man page of each function.
 */
#ifndef LIBDAXPIN_H
#define LIBDAXPIN_H

#include <linux/daxpin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open /dev/daxpin (O_RDWR | O_CLOEXEC). Returns the fd or -errno. */
int daxpin_open(void);

/* Fill @info (its size field is set for you) from DAXPIN_INFO. */
int daxpin_get_info(int fd, struct daxpin_info *info);

#ifdef __cplusplus
}
#endif

#endif /* LIBDAXPIN_H */
