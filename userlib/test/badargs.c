// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * Every libdaxpin call refuses what its man page says it refuses, as far
 * as that shows without the device:
 *
 * - on a file descriptor that is not open (-1, and one just closed), each
 *   call fails with EBADF (daxpin_map(): NULL, errno EBADF), and a failed
 *   daxpin_pin() leaves *handle and *mmap_offset alone;
 * - on a file that is not a daxpin file (/dev/null), each ioctl wrapper
 *   fails with ENOTTY;
 * - without /dev/daxpin, daxpin_open() fails with ENOENT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libdaxpin.h>

#include "test.h"

#define SENTINEL32 0xdeadbeefu
#define SENTINEL64 0xdeadbeefcafef00dull

/* Every call on @fd fails with @want (a positive errno). */
static void check_calls(int fd, int want, const char *what)
{
	uint32_t handle = SENTINEL32;
	uint64_t mmap_offset = SENTINEL64;
	struct daxpin_info info;
	struct daxpin_query query;
	void *addr;

	fprintf(stderr, "calls on %s: want %s\n", what, strerror(want));
	CHECK_RET(daxpin_get_info(fd, &info), -want);
	CHECK_RET(daxpin_pin(fd, STDIN_FILENO, 0, 4096, 0, 0, &handle,
			     &mmap_offset), -want);
	CHECK(handle == SENTINEL32, "daxpin_pin() wrote handle %#x", handle);
	CHECK(mmap_offset == SENTINEL64,
	      "daxpin_pin() wrote mmap_offset %#llx",
	      (unsigned long long)mmap_offset);
	CHECK_RET(daxpin_pin(fd, STDIN_FILENO, 0, 4096, DAXPIN_PIN_WRITE, 0,
			     &handle, NULL), -want);
	CHECK_RET(daxpin_unpin(fd, 1), -want);
	CHECK_RET(daxpin_query(fd, 1, &query), -want);
	CHECK_RET(daxpin_set_eventfd(fd, -1), -want);
	CHECK_RET(daxpin_export_dmabuf(fd, 1, 0, 4096, 0), -want);
	CHECK_RET(daxpin_export_dmabuf(fd, 1, 0, 4096,
				       DAXPIN_EXPORT_DMABUF_CLOEXEC), -want);

	errno = 0;
	addr = daxpin_map(fd, 1, 0, 4096, PROT_READ);
	CHECK(addr == NULL && errno == want,
	      "daxpin_map() returned %p, errno %d (%s)", addr, errno,
	      strerror(errno));
	if (addr)
		munmap(addr, 4096);
}

int main(void)
{
	struct daxpin_event ev[2];
	int closed, null, ret;

	/* A descriptor number that is not open: one just closed. */
	closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(closed >= 0, "open(/dev/null): %s", strerror(errno));
	if (closed < 0)
		return T_FAIL;
	close(closed);

	check_calls(-1, EBADF, "fd -1");
	check_calls(closed, EBADF, "a closed fd");
	CHECK_RET(daxpin_read_events(-1, ev, 2), -EBADF);
	CHECK_RET(daxpin_read_events(closed, ev, 2), -EBADF);
	CHECK_RET(daxpin_read_events(closed, ev, 0), -EBADF);

	/* A file that is not a daxpin file: the ioctls are not its. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(null >= 0, "open(/dev/null): %s", strerror(errno));
	if (null < 0)
		return T_FAIL;
	check_calls(null, ENOTTY, "/dev/null");
	close(null);

	/* daxpin_open(3): ENOENT when the module is not loaded. */
	ret = daxpin_open();
	if (access(DAXPIN_DEVICE_PATH, F_OK) == 0) {
		printf("note: %s exists; daxpin_open() without it not checked\n",
		       DAXPIN_DEVICE_PATH);
		if (ret >= 0)
			close(ret);
	} else {
		CHECK_RET(ret, -ENOENT);
		if (ret >= 0)
			close(ret);
	}
	return t_end();
}
