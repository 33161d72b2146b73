/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "libdaxpin.h"

int daxpin_open(void)
{
	int fd = open(DAXPIN_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int daxpin_get_info(int fd, struct daxpin_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, DAXPIN_INFO, info) ? -errno : 0;
}
