/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libdaxpin.h"

int daxpin_version_major(void)
{
	return DAXPIN_LIB_VERSION_MAJOR;
}

int daxpin_version_minor(void)
{
	return DAXPIN_LIB_VERSION_MINOR;
}

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

int daxpin_pin(int fd, int file_fd, uint64_t offset, uint64_t length,
	       uint32_t flags, uint32_t deadline_ms, uint32_t *handle,
	       uint64_t *mmap_offset)
{
	struct daxpin_pin cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.file_fd = file_fd,
		.deadline_ms = deadline_ms,
		.offset = offset,
		.length = length,
	};

	if (ioctl(fd, DAXPIN_PIN, &cmd))
		return -errno;
	*handle = cmd.out_handle;
	if (mmap_offset)
		*mmap_offset = cmd.out_mmap_offset;
	return 0;
}

int daxpin_unpin(int fd, uint32_t handle)
{
	struct daxpin_unpin cmd = { .size = sizeof(cmd), .handle = handle };

	return ioctl(fd, DAXPIN_UNPIN, &cmd) ? -errno : 0;
}

int daxpin_query(int fd, uint32_t handle, struct daxpin_query *query)
{
	memset(query, 0, sizeof(*query));
	query->size = sizeof(*query);
	query->handle = handle;
	return ioctl(fd, DAXPIN_QUERY, query) ? -errno : 0;
}

void *daxpin_map(int fd, uint32_t handle, uint64_t delta, size_t length,
		 int prot)
{
	struct daxpin_query q;
	void *addr;
	int ret;

	ret = daxpin_query(fd, handle, &q);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	addr = mmap(NULL, length, prot, MAP_SHARED, fd, q.out_mmap_offset + delta);
	return addr == MAP_FAILED ? NULL : addr;
}

int daxpin_read_events(int fd, struct daxpin_event *events, unsigned int max)
{
	ssize_t n = read(fd, events, (size_t)max * sizeof(*events));

	if (n < 0)
		return -errno;
	return (int)(n / sizeof(*events));
}

int daxpin_set_eventfd(int fd, int eventfd)
{
	struct daxpin_set_eventfd cmd = { .size = sizeof(cmd), .eventfd = eventfd };

	return ioctl(fd, DAXPIN_SET_EVENTFD, &cmd) ? -errno : 0;
}

int daxpin_export_dmabuf(int fd, uint32_t handle, uint64_t delta,
			 uint64_t length, uint32_t flags)
{
	struct daxpin_export_dmabuf cmd = {
		.size = sizeof(cmd), .flags = flags, .handle = handle,
		.offset = delta, .length = length,
	};

	return ioctl(fd, DAXPIN_EXPORT_DMABUF, &cmd) ? -errno : cmd.out_fd;
}
