/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the daxpin selftests. The bench (bench/guest/init.sh)
 * runs every test program with:
 *   DAXPIN_DAX_DIR    a directory on the DAX file system under test
 *   DAXPIN_NODAX_DIR  the same file system type, mounted without DAX
 *   DAXPIN_FS         xfs or ext4
 *   DAXPIN_RDMA_DEV   the soft-RoCE device (rxe0)
 */
#ifndef DAXPIN_SELFTEST_COMMON_H
#define DAXPIN_SELFTEST_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/daxpin.h>
#include "libdaxpin.h"

static inline const char *env_or_die(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "# %s is not set: run this test from the bench\n",
			name);
		exit(1);
	}
	return v;
}

/* Read a module parameter as an unsigned number, or -1. */
static inline long module_param_read(const char *name)
{
	char path[256], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/daxpin/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	return strtol(buf, NULL, 0);
}

/* ioctl() that returns -errno, so EXPECT_EQ(-EINVAL, ...) reads well. */
static inline int ioctl_err(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

#endif
