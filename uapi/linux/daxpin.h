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
	DAXPIN_CMD_PIN,
	DAXPIN_CMD_UNPIN,
	DAXPIN_CMD_QUERY,
	DAXPIN_CMD_SET_EVENTFD,
	DAXPIN_CMD_EXPORT_DMABUF,
};

/**
 * enum daxpin_feature - what the running module implements
 * @DAXPIN_FEATURE_TEST_HOOKS: the module was loaded with test_hooks=1.
 *	Never set in production.
 * @DAXPIN_FEATURE_PIN: DAXPIN_PIN, DAXPIN_UNPIN, DAXPIN_QUERY, recall and
 *	revocation events, and mmap() of pins.
 * @DAXPIN_FEATURE_EVENTFD: DAXPIN_SET_EVENTFD.
 * @DAXPIN_FEATURE_MAP_REGISTRABLE: a pin's mmap() is memory that a pinning
 *	(non-ODP) ibv_reg_mr() accepts: kernels before 6.15, where a device
 *	mapping of fsdax pages can be pinned long-term. Without it, a pin's
 *	mapping is for the CPU only (registering it fails at once, with
 *	EFAULT), and RDMA goes through an on-demand-paging
 *	registration of the file's own mapping, which the pin protects all
 *	the same.
 * @DAXPIN_FEATURE_DMABUF: DAXPIN_EXPORT_DMABUF.
 */
enum daxpin_feature {
	DAXPIN_FEATURE_TEST_HOOKS = 1 << 0,
	DAXPIN_FEATURE_PIN = 1 << 1,
	DAXPIN_FEATURE_EVENTFD = 1 << 2,
	DAXPIN_FEATURE_MAP_REGISTRABLE = 1 << 3,
	DAXPIN_FEATURE_DMABUF = 1 << 4,
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

/**
 * enum daxpin_pin_flags - flags of struct daxpin_pin
 * @DAXPIN_PIN_WRITE: pin for reading and writing; the file must be open for
 *	writing. Without it the pin is read-only and so are its mappings.
 */
enum daxpin_pin_flags {
	DAXPIN_PIN_WRITE = 1 << 0,
};

/**
 * struct daxpin_pin - ioctl(DAXPIN_PIN)
 * @size: sizeof(struct daxpin_pin)
 * @flags: enum daxpin_pin_flags
 * @file_fd: a file on a filesystem-DAX mount, open for reading (and for
 *	writing with DAXPIN_PIN_WRITE)
 * @deadline_ms: how long a layout change waits for the holder to unpin
 *	after it is told to, before daxpin revokes the pin. 0 takes the module
 *	parameter default_deadline_ms; more than max_deadline_ms is refused.
 * @offset: start of the range in the file, a multiple of the page size
 * @length: length of the range, a non-zero multiple of the page size; the
 *	range must lie within the file's size
 * @out_handle: Output: the pin's handle on this daxpin file. Handles are
 *	allocated cyclically: an unpinned handle is not handed out again until
 *	the others (about 2^31) have been
 * @__reserved: Must be 0
 * @out_mmap_offset: Output: the offset to pass to mmap() on this daxpin file
 *	to map the pinned range (or part of it)
 *
 * Pin a range of a file for long-term access. Holes and unwritten extents of
 * a writable pin are allocated and zeroed, so the range's block map is
 * static; extents shared with another file (reflink) are refused, read-only
 * or writable (unshare them first with FALLOC_FL_UNSHARE_RANGE). A PIN
 * waits for a layout change of the file that is under way (interruptibly)
 * and holds new ones off until the pin is made. The pinned pages are
 * charged to the caller's pinned memory (RLIMIT_MEMLOCK, unless
 * CAP_IPC_LOCK), like an RDMA memory registration.
 *
 * While the pin lives, any layout change the filesystem makes on the range
 * (truncate, fallocate, reflink, ...) waits; the holder gets a
 * DAXPIN_EVENT_RECALL and should unpin within the deadline, after which the
 * pin is revoked (DAXPIN_EVENT_REVOKED) and the change goes on.
 *
 * Errors (besides the common ones):
 *   EBADF       @file_fd is not an open file
 *   EINVAL      @file_fd is not a regular file; @length is 0; @offset or
 *               @length is not page aligned; @deadline_ms exceeds
 *               max_deadline_ms
 *   EOVERFLOW   @offset + @length overflows, or @length exceeds 1 TiB
 *   ENODEV      the file is not on a filesystem-DAX mount (no S_DAX)
 *   EACCES      the file is not open for the access asked (read; read and
 *               write with DAXPIN_PIN_WRITE), or mmap of it is refused
 *   ENXIO       the range reaches beyond the file's size
 *   ENODATA     a shared extent in the range (also one a reflink made
 *               while PIN ran); or a read-only pin over a hole or an
 *               unwritten extent: only a writable pin can make those
 *               static
 *   ENOMEM      RLIMIT_MEMLOCK would be exceeded (as for ibv_reg_mr()), or
 *               the kernel is out of memory (a very long pin's page table
 *               too)
 *   ENOSPC      this daxpin file already holds max_pins pins; or the file
 *               system has no room for the holes of a writable pin
 *   EFAULT      the filesystem could not fault the range in otherwise
 *   EINTR       a signal came while the range was being populated, or
 *               while waiting for a layout change under way on the file
 */
struct daxpin_pin {
	__u32 size;
	__u32 flags;
	__s32 file_fd;
	__u32 deadline_ms;
	__aligned_u64 offset;
	__aligned_u64 length;
	__u32 out_handle;
	__u32 __reserved;
	__aligned_u64 out_mmap_offset;
};

#define DAXPIN_PIN _IO(DAXPIN_TYPE, DAXPIN_CMD_PIN)

/**
 * struct daxpin_unpin - ioctl(DAXPIN_UNPIN)
 * @size: sizeof(struct daxpin_unpin)
 * @flags: Must be 0
 * @handle: a handle DAXPIN_PIN returned on this daxpin file
 * @__reserved: Must be 0
 *
 * End a pin, whatever its state: its mappings are zapped (later accesses get
 * SIGBUS), its pages released and uncharged, and a layout change waiting on
 * it goes on. The handle is gone afterwards.
 *
 * Errors (besides the common ones):
 *   ENOENT      no pin with this handle on this daxpin file (never pinned,
 *               already unpinned, or pinned on another daxpin file)
 */
struct daxpin_unpin {
	__u32 size;
	__u32 flags;
	__u32 handle;
	__u32 __reserved;
};

#define DAXPIN_UNPIN _IO(DAXPIN_TYPE, DAXPIN_CMD_UNPIN)

/**
 * enum daxpin_pin_state - the life of a pin
 * @DAXPIN_STATE_ACTIVE: pinned; the block map of the range is static
 * @DAXPIN_STATE_RECALLED: a layout change is waiting; the pin still works
 *	until its deadline
 * @DAXPIN_STATE_REVOKED: the deadline passed: mappings are zapped, pages
 *	released; only UNPIN and QUERY work on the handle, anything else fails
 *	with ENXIO
 */
enum daxpin_pin_state {
	DAXPIN_STATE_ACTIVE = 1,
	DAXPIN_STATE_RECALLED = 2,
	DAXPIN_STATE_REVOKED = 3,
};

/**
 * enum daxpin_revoke_reason - why a pin was revoked
 * @DAXPIN_REVOKE_NONE: not revoked
 * @DAXPIN_REVOKE_DEADLINE: a layout change waited out the pin's deadline
 * @DAXPIN_REVOKE_KEEPER_LOST: no longer reported. It meant that the holder
 *	had unmapped daxpin's own mapping of the file; those mappings now live
 *	in an address space of daxpin's, out of every process's reach. The
 *	value is kept so that it is never reused.
 * @DAXPIN_REVOKE_BLOCKS_TAKEN: the file system took the pinned blocks
 *	without waiting for the pin (XFS_IOC_SWAPEXT, which xfs_fsr uses, does
 *	not wait for pinned pages): daxpin revoked the pin as soon as it saw
 *	it. Stores made through the pin just before may have reached the
 *	blocks' new owner; never defragment a file system with pins.
 */
enum daxpin_revoke_reason {
	DAXPIN_REVOKE_NONE = 0,
	DAXPIN_REVOKE_DEADLINE = 1,
	DAXPIN_REVOKE_KEEPER_LOST = 2,
	DAXPIN_REVOKE_BLOCKS_TAKEN = 3,
};

/**
 * struct daxpin_query - ioctl(DAXPIN_QUERY)
 * @size: sizeof(struct daxpin_query)
 * @flags: Must be 0
 * @handle: a handle DAXPIN_PIN returned on this daxpin file
 * @out_state: Output: enum daxpin_pin_state
 * @out_offset: Output: the pinned range's offset in the file
 * @out_length: Output: the pinned range's length
 * @out_mmap_offset: Output: as DAXPIN_PIN returned it
 * @out_deadline_ns: Output: for a recalled pin, the CLOCK_MONOTONIC time at
 *	which it will be revoked; otherwise 0
 * @out_pin_flags: Output: the enum daxpin_pin_flags it was pinned with
 * @out_revoke_reason: Output: enum daxpin_revoke_reason
 *
 * Errors (besides the common ones):
 *   ENOENT      no pin with this handle on this daxpin file (or its UNPIN
 *               is under way)
 */
struct daxpin_query {
	__u32 size;
	__u32 flags;
	__u32 handle;
	__u32 out_state;
	__aligned_u64 out_offset;
	__aligned_u64 out_length;
	__aligned_u64 out_mmap_offset;
	__aligned_u64 out_deadline_ns;
	__u32 out_pin_flags;
	__u32 out_revoke_reason;
};

#define DAXPIN_QUERY _IO(DAXPIN_TYPE, DAXPIN_CMD_QUERY)

/**
 * struct daxpin_set_eventfd - ioctl(DAXPIN_SET_EVENTFD)
 * @size: sizeof(struct daxpin_set_eventfd)
 * @flags: Must be 0
 * @eventfd: an eventfd to signal whenever this daxpin file's event queue
 *	goes from empty to not empty, or -1 to stop signalling one
 * @__reserved: Must be 0
 *
 * The eventfd is an extra doorbell: events are still read() from the
 * daxpin file, until EAGAIN after each signal (so is SIGIO, with
 * fcntl(F_SETOWN) and O_ASYNC).
 *
 * Errors (besides the common ones):
 *   EBADF       @eventfd is neither -1 nor an open file
 *   EINVAL      @eventfd is not an eventfd
 */
struct daxpin_set_eventfd {
	__u32 size;
	__u32 flags;
	__s32 eventfd;
	__u32 __reserved;
};

#define DAXPIN_SET_EVENTFD _IO(DAXPIN_TYPE, DAXPIN_CMD_SET_EVENTFD)

/**
 * enum daxpin_export_dmabuf_flags - flags of struct daxpin_export_dmabuf
 * @DAXPIN_EXPORT_DMABUF_CLOEXEC: the new file descriptor is close-on-exec
 */
enum daxpin_export_dmabuf_flags {
	DAXPIN_EXPORT_DMABUF_CLOEXEC = 1 << 0,
};

/**
 * struct daxpin_export_dmabuf - ioctl(DAXPIN_EXPORT_DMABUF)
 * @size: sizeof(struct daxpin_export_dmabuf)
 * @flags: enum daxpin_export_dmabuf_flags
 * @handle: a live pin of this daxpin file
 * @__reserved: Must be 0
 * @offset: where the exported part starts, in bytes from the start of the
 *	pin; a multiple of the page size
 * @length: bytes to export, a multiple of the page size, not 0; the part
 *	must lie within the pin
 * @out_fd: Output: a dma-buf file descriptor for the part
 *
 * Export part of a pin as a dma-buf, for a device driver (an RDMA provider
 * that imports dma-bufs, a GPU) to attach and map. The dma-buf keeps the pin
 * and this daxpin file alive, as a mapping of the pin does. It cannot be
 * mmap()ed: the CPU uses the pin's own mapping.
 *
 * When the pin ends (UNPIN, revocation after a recall's deadline, the last
 * close of the daxpin file), each importer that attached dynamically is
 * told to move (move_notify, invalidate_mappings on newer kernels) and
 * must unmap; daxpin waits for the dma-buf's fences. Every mapping an
 * importer still holds after that keeps the pages, exactly as an RDMA
 * registration does: the pin drains, the layout change waits for the
 * unmap, and a revoked pin's exporting process is killed if kill_on_stuck
 * is set. No importer can map the dma-buf once its pin has ended. An
 * importer mapping it for writing (anything but DMA_TO_DEVICE) needs a pin
 * made with DAXPIN_PIN_WRITE, exported through a daxpin file open for
 * writing (as a pin's mmap() with PROT_WRITE does).
 *
 * Errors (besides the common ones):
 *   ENOENT      @handle is not a pin of this file
 *   ENXIO       the pin has ended (revoked)
 *   EINVAL      @offset or @length not page-aligned, @length 0, or the
 *               part not within the pin
 *   EMFILE      no free file descriptor
 *   ENOSPC      the pin already has max_dmabufs_per_pin dma-bufs
 *   ENOMEM      out of memory
 * An importer's map of the dma-buf fails with ENXIO once the pin has
 * ended, and with EACCES for a writable map of a dma-buf that is not
 * writable (see above).
 */
struct daxpin_export_dmabuf {
	__u32 size;
	__u32 flags;
	__u32 handle;
	__u32 __reserved;
	__aligned_u64 offset;
	__aligned_u64 length;
	__s32 out_fd;
	__u32 __reserved2;
};

#define DAXPIN_EXPORT_DMABUF _IO(DAXPIN_TYPE, DAXPIN_CMD_EXPORT_DMABUF)

/**
 * enum daxpin_event_type - what an event record reports
 * @DAXPIN_EVENT_RECALL: a layout change on the pinned range is waiting for
 *	the pin. Unpin before @deadline_ns or the pin is revoked.
 * @DAXPIN_EVENT_REVOKED: the pin was revoked (@reason says why); its
 *	mappings are gone. Unpin the handle to free it.
 * @DAXPIN_EVENT_WRITE_BREAK: something broke daxpin's layout lease without
 *	moving the pinned blocks: a write(2) to the file (XFS), or the first
 *	step of a reflink or dedupe, which a RECALL follows. Nothing needs
 *	doing. Reported once per pin until the pin's events are read.
 */
enum daxpin_event_type {
	DAXPIN_EVENT_RECALL = 1,
	DAXPIN_EVENT_REVOKED = 2,
	DAXPIN_EVENT_WRITE_BREAK = 3,
};

/**
 * struct daxpin_event - the record read() returns from a daxpin file
 * @type: enum daxpin_event_type
 * @handle: the pin it is about
 * @reason: for DAXPIN_EVENT_REVOKED, enum daxpin_revoke_reason; else 0
 * @__reserved: 0
 * @deadline_ns: for DAXPIN_EVENT_RECALL, the CLOCK_MONOTONIC time at which
 *	the pin will be revoked; else 0
 *
 * read() returns whole records only (EINVAL if the buffer cannot hold one),
 * blocks until one is there unless the file is O_NONBLOCK (then EAGAIN),
 * and poll() reports EPOLLIN while any is queued. A pin has at most one
 * queued record of each type: repeats are merged, so the queue never
 * overflows and never drops the news that a pin needs attention.
 */
struct daxpin_event {
	__u32 type;
	__u32 handle;
	__u32 reason;
	__u32 __reserved;
	__aligned_u64 deadline_ns;
};

#endif /* _UAPI_LINUX_DAXPIN_H */
