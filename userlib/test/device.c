// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * With /dev/daxpin (skipped without it, as on a build host): open it, ask
 * what the module supports, and check the refusals daxpin(4) documents
 * that need no DAX file: the common rules of DAXPIN_INFO, unknown
 * handles, a PIN of files that cannot be pinned, the eventfd and read()
 * of events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libdaxpin.h>

#include "test.h"

/* A handle no pin of a fresh daxpin file has. */
#define NO_HANDLE 0x7ffffff0u

/* ioctl(@fd, @cmd, @arg): 0 or the negative errno. */
static int raw_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static void check_info_rules(int fd)
{
	struct {
		struct daxpin_info info;
		uint64_t tail;
	} big;
	struct daxpin_info info;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.flags = 1;
	CHECK_RET(raw_ioctl(fd, DAXPIN_INFO, &info), -EOPNOTSUPP);

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.__reserved = 1;
	CHECK_RET(raw_ioctl(fd, DAXPIN_INFO, &info), -EINVAL);

	memset(&info, 0, sizeof(info));
	info.size = sizeof(uint32_t);
	CHECK_RET(raw_ioctl(fd, DAXPIN_INFO, &info), -EINVAL);

	/* A larger struct: zero extra bytes are ignored, others refused. */
	memset(&big, 0, sizeof(big));
	big.info.size = sizeof(big);
	CHECK_RET(raw_ioctl(fd, DAXPIN_INFO, &big), 0);
	CHECK(big.info.api_version == DAXPIN_API_VERSION,
	      "api_version %u with a larger struct", big.info.api_version);
	big.tail = 1;
	CHECK_RET(raw_ioctl(fd, DAXPIN_INFO, &big), -E2BIG);

	/* Not a daxpin command: another number of its type. */
	CHECK_RET(raw_ioctl(fd, _IO(DAXPIN_TYPE, 0x7f), &info), -ENOTTY);
}

static void check_pin_refusals(int fd)
{
	uint32_t handle = 0;
	int closed, null;

	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(null >= 0 && closed >= 0, "open(/dev/null): %s", strerror(errno));
	if (null < 0 || closed < 0)
		return;
	close(closed);

	/* Not a regular file: EINVAL; not an open file: EBADF. */
	CHECK_RET(daxpin_pin(fd, null, 0, 4096, 0, 0, &handle, NULL), -EINVAL);
	CHECK_RET(daxpin_pin(fd, fd, 0, 4096, 0, 0, &handle, NULL), -EINVAL);
	CHECK_RET(daxpin_pin(fd, closed, 0, 4096, 0, 0, &handle, NULL), -EBADF);
	/* The arguments are checked first: length 0, misalignment. */
	CHECK_RET(daxpin_pin(fd, null, 0, 0, 0, 0, &handle, NULL), -EINVAL);
	CHECK_RET(daxpin_pin(fd, null, 1, 4096, 0, 0, &handle, NULL), -EINVAL);
	CHECK_RET(daxpin_pin(fd, null, 0, 4096, 1u << 31, 0, &handle, NULL),
		  -EOPNOTSUPP);
	CHECK_RET(daxpin_pin(fd, null, UINT64_MAX & ~(uint64_t)0xfff, 8192, 0,
			     0, &handle, NULL), -EOVERFLOW);
	close(null);
}

int main(void)
{
	struct daxpin_event ev[2];
	struct daxpin_query query;
	struct daxpin_info info;
	int fd, efd, null;
	void *addr;

	if (access(DAXPIN_DEVICE_PATH, F_OK))
		return t_skip("no " DAXPIN_DEVICE_PATH);
	fd = daxpin_open();
	if (fd == -EACCES || fd == -EPERM)
		return t_skip("no permission to open " DAXPIN_DEVICE_PATH);
	CHECK(fd >= 0, "daxpin_open(): %s", strerror(-fd));
	if (fd < 0)
		return T_FAIL;

	CHECK_RET(daxpin_get_info(fd, &info), 0);
	CHECK(info.api_version == DAXPIN_API_VERSION, "api_version %u, not %u",
	      info.api_version, DAXPIN_API_VERSION);
	CHECK(info.features & DAXPIN_FEATURE_PIN, "features %#llx lack PIN",
	      (unsigned long long)info.features);
	printf("api_version %u, features %#llx\n", info.api_version,
	       (unsigned long long)info.features);
	check_info_rules(fd);

	/* A fresh daxpin file has no pins. */
	CHECK_RET(daxpin_unpin(fd, NO_HANDLE), -ENOENT);
	CHECK_RET(daxpin_query(fd, NO_HANDLE, &query), -ENOENT);
	errno = 0;
	addr = daxpin_map(fd, NO_HANDLE, 0, 4096, PROT_READ);
	CHECK(!addr && errno == ENOENT, "daxpin_map(): %p, errno %d", addr,
	      errno);
	if (info.features & DAXPIN_FEATURE_DMABUF)
		CHECK_RET(daxpin_export_dmabuf(fd, NO_HANDLE, 0, 4096, 0),
			  -ENOENT);
	check_pin_refusals(fd);

	/* The eventfd: -1, an eventfd, a file that is not one. */
	if (info.features & DAXPIN_FEATURE_EVENTFD) {
		CHECK_RET(daxpin_set_eventfd(fd, -1), 0);
		efd = eventfd(0, EFD_CLOEXEC);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (efd >= 0) {
			CHECK_RET(daxpin_set_eventfd(fd, efd), 0);
			CHECK_RET(daxpin_set_eventfd(fd, -1), 0);
			close(efd);
		}
		if (null >= 0) {
			CHECK_RET(daxpin_set_eventfd(fd, null), -EINVAL);
			close(null);
		}
	}

	/* No event queued: EAGAIN when non-blocking; a record must fit. */
	CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0,
	      "O_NONBLOCK: %s", strerror(errno));
	CHECK_RET(daxpin_read_events(fd, ev, 2), -EAGAIN);
	CHECK_RET(daxpin_read_events(fd, ev, 0), -EINVAL);

	close(fd);
	return t_end();
}
