/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libdaxpin: thin wrappers over the ioctls of /dev/daxpin.
 *
 * Every function returns 0 (or a non-negative value where it says so) on
 * success and a negative errno on failure. The errnos are those of
 * docs/ioctl.md. See daxpin(7) and the man page of each function.
 */
#ifndef LIBDAXPIN_H
#define LIBDAXPIN_H

#include <stddef.h>
#include <stdint.h>
/* The uapi header, installed as <daxpin/daxpin.h> (uapi/linux/daxpin.h). */
#include <daxpin/daxpin.h>

/*
 * The release of libdaxpin these headers are from. The library a program
 * runs with says its own with daxpin_version_major() and
 * daxpin_version_minor(); a minor release only adds.
 */
#define DAXPIN_LIB_VERSION_MAJOR 0
#define DAXPIN_LIB_VERSION_MINOR 3

/* Whether these headers are of release @major.@minor or later. */
#define DAXPIN_LIB_CHECK_VERSION(major, minor) \
	(DAXPIN_LIB_VERSION_MAJOR > (major) || \
	 (DAXPIN_LIB_VERSION_MAJOR == (major) && \
	  DAXPIN_LIB_VERSION_MINOR >= (minor)))

#ifdef __cplusplus
extern "C" {
#endif

/* The release of the libdaxpin running (since 0.3). */
int daxpin_version_major(void);
int daxpin_version_minor(void);

/* Open /dev/daxpin (O_RDWR | O_CLOEXEC). Returns the fd or -errno. */
int daxpin_open(void);

/* Fill @info (its size field is set for you) from DAXPIN_INFO. */
int daxpin_get_info(int fd, struct daxpin_info *info);

/*
 * Pin [@offset, @offset + @length) of @file_fd. @flags: DAXPIN_PIN_WRITE
 * or 0; @deadline_ms: 0 for the module's default. On success *@handle and
 * (if not NULL) *@mmap_offset are set.
 */
int daxpin_pin(int fd, int file_fd, uint64_t offset, uint64_t length,
	       uint32_t flags, uint32_t deadline_ms, uint32_t *handle,
	       uint64_t *mmap_offset);

/* End a pin. */
int daxpin_unpin(int fd, uint32_t handle);

/* Fill @query (size and handle are set for you) from DAXPIN_QUERY. */
int daxpin_query(int fd, uint32_t handle, struct daxpin_query *query);

/*
 * mmap() @length bytes of pin @handle, from @delta bytes into it, with
 * @prot (PROT_READ, PROT_WRITE). Returns the address, or NULL with errno.
 */
void *daxpin_map(int fd, uint32_t handle, uint64_t delta, size_t length,
		 int prot);

/*
 * Read up to @max events into @events; waits for the first one unless the
 * fd is O_NONBLOCK. Returns the number read or -errno.
 */
int daxpin_read_events(int fd, struct daxpin_event *events, unsigned int max);

/* Signal @eventfd on each new event (-1: stop). */
int daxpin_set_eventfd(int fd, int eventfd);

/*
 * Export [@delta, @delta + @length) of pin @handle as a dma-buf, for a
 * driver that imports dma-bufs. @flags: DAXPIN_EXPORT_DMABUF_CLOEXEC or 0.
 * Returns the dma-buf's fd or -errno.
 */
int daxpin_export_dmabuf(int fd, uint32_t handle, uint64_t delta,
			 uint64_t length, uint32_t flags);

#ifdef __cplusplus
}
#endif

#endif /* LIBDAXPIN_H */
