/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * daxpin_test_importer: the ioctls of /dev/daxpin_test_importer, a device
 * that exists only for the daxpin selftests. It imports a dma-buf (one that
 * DAXPIN_EXPORT_DMABUF made), maps it, and stores to and loads from the
 * mapping where a device's DMA would land.
 *
 * Each open file of the device is one importer context: at most one
 * attachment, and at most one mapping of it. Every ioctl argument is a
 * pointer to the command's struct, except for DTI_UNMAP and DTI_DETACH,
 * which take none.
 *
 * Errors common to every command:
 *   ENOTTY      the ioctl number is not one of these commands
 *   EFAULT      the argument pointer is not valid
 *   EINTR       a signal came while waiting for a lock (or, in DTI_MAP,
 *               for the dma-buf's fences)
 */
#ifndef _DAXPIN_TEST_IMPORTER_H
#define _DAXPIN_TEST_IMPORTER_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define DTI_TYPE		0xDC
#define DTI_DEVICE_PATH		"/dev/daxpin_test_importer"

/**
 * enum dti_attach_flags - flags of struct dti_attach
 * @DTI_ATTACH_DYNAMIC: attach as a dynamic importer, one that the exporter
 *	may tell to unmap (move_notify, invalidate_mappings on newer
 *	kernels). The context then unmaps at once and counts the
 *	invalidation; loads and stores fail with ENODEV until it maps again.
 *	Without this flag the importer is static (pinned): it is never told.
 * @DTI_ATTACH_PIN: with DTI_ATTACH_DYNAMIC only: pin the attachment
 *	(dma_buf_pin()) as an RDMA registration of a dma-buf does on a device
 *	without on-demand paging, until DTI_DETACH. The exporter should then
 *	not tell it to move, unless the kernel says the attachment can be
 *	revoked (7.x, dma_buf_attach_revocable(): this importer has the
 *	callback); the context counts and obeys whatever it is told.
 */
enum dti_attach_flags {
	DTI_ATTACH_DYNAMIC = 1 << 0,
	DTI_ATTACH_PIN = 1 << 1,
};

/**
 * struct dti_attach - ioctl(DTI_ATTACH)
 * @dmabuf_fd: a dma-buf file descriptor
 * @flags: enum dti_attach_flags
 *
 * Attach the device to the dma-buf. The context holds a reference to the
 * dma-buf until DTI_DETACH or the file's release. The context's count of
 * invalidations starts again from 0.
 *
 * Errors (besides the common ones):
 *   EINVAL      @flags has an unknown bit, or DTI_ATTACH_PIN without
 *               DTI_ATTACH_DYNAMIC
 *   EBUSY       this context is already attached
 *   EBADF       @dmabuf_fd is not an open file descriptor
 *   EINVAL      @dmabuf_fd is not a dma-buf
 *   any error of the exporter's attach (and pin, with DTI_ATTACH_PIN),
 *   passed through; and on kernels
 *   whose attach maps at once when exporter and importer are not both
 *   dynamic (6.1 and 6.12 do, for DMA_BIDIRECTIONAL; 7.2 does not), any
 *   error of the exporter's map (see DTI_MAP)
 */
struct dti_attach {
	__s32 dmabuf_fd;
	__u32 flags;
};

#define DTI_ATTACH _IOW(DTI_TYPE, 1, struct dti_attach)

/**
 * enum dti_map_flags - flags of struct dti_map
 * @DTI_MAP_READ_ONLY: map for the device to read only (DMA_TO_DEVICE);
 *	DTI_STORE then fails with EPERM. Without this flag the mapping is
 *	DMA_BIDIRECTIONAL.
 */
enum dti_map_flags {
	DTI_MAP_READ_ONLY = 1 << 0,
};

/**
 * struct dti_map - ioctl(DTI_MAP)
 * @flags: enum dti_map_flags
 * @__reserved: must be 0
 *
 * Map the attachment for the device. A mapping whose DMA addresses are not
 * memory the CPU can address directly (an IOMMU translates them) is
 * unmapped again and refused: the test cannot then see where the device's
 * stores land.
 *
 * Errors (besides the common ones):
 *   EINVAL      @flags has an unknown bit, or @__reserved is not 0
 *   ENXIO       this context is not attached
 *   EBUSY       this context is already mapped
 *   EOPNOTSUPP  a DMA address of the mapping is not one the CPU can reach
 *               in its direct map (an IOMMU is in the way): tests skip
 *   EIO         the exporter's mapping has a segment whose DMA address or
 *               length is not a multiple of 8 bytes
 *   any error of the exporter's map, passed through; daxpin's are ENXIO
 *   (the pin has ended) and EACCES (a writable map of a read-only pin)
 */
struct dti_map {
	__u32 flags;
	__u32 __reserved;
};

#define DTI_MAP _IOW(DTI_TYPE, 2, struct dti_map)

/**
 * DTI_UNMAP - ioctl(DTI_UNMAP), no argument
 *
 * Unmap the context's mapping.
 *
 * On kernels whose attach maps at once (6.1, 6.12), a static attachment to
 * a dynamic exporter (daxpin's dma-bufs are dynamic) holds the exporter's
 * DMA_BIDIRECTIONAL mapping from DTI_ATTACH to DTI_DETACH: DTI_MAP and
 * DTI_UNMAP then only take and drop this context's use of it.
 *
 * Errors (besides the common ones):
 *   ENXIO       this context has no mapping (never mapped, unmapped, or
 *               invalidated), or is not attached
 */
#define DTI_UNMAP _IO(DTI_TYPE, 3)

/**
 * DTI_DETACH - ioctl(DTI_DETACH), no argument
 *
 * Unmap the context's mapping if there is one, detach from the dma-buf and
 * drop the context's reference to it. The release of the file does the same.
 *
 * Errors (besides the common ones):
 *   ENXIO       this context is not attached
 */
#define DTI_DETACH _IO(DTI_TYPE, 4)

/**
 * struct dti_access - ioctl(DTI_STORE) and ioctl(DTI_LOAD)
 * @offset: bytes from the start of the mapping; a multiple of 8
 * @length: DTI_STORE: bytes to store, a multiple of 8, not 0.
 *	DTI_LOAD: 0 or 8
 * @value: DTI_STORE: the 8-byte word stored to every 8-byte word of
 *	[@offset, @offset + @length). DTI_LOAD: Output: the 8-byte word at
 *	@offset.
 *
 * The device stores or loads at the DMA addresses of the mapping, in the
 * order of the mapping's segments: through the CPU's direct map of the
 * memory each DMA address is, exactly where a device's DMA would land. A
 * store or load holds the dma-buf's reservation lock, which the exporter's
 * invalidation holds too: none runs after an invalidation has returned.
 *
 * Errors (besides the common ones):
 *   EINVAL      @offset or @length not as above, or the range does not lie
 *               within the mapping
 *   ENODEV      this context has no mapping (not attached, never mapped,
 *               unmapped, or invalidated)
 *   EPERM       DTI_STORE to a mapping made with DTI_MAP_READ_ONLY
 */
struct dti_access {
	__u64 offset;
	__u64 length;
	__u64 value;
};

#define DTI_STORE _IOW(DTI_TYPE, 5, struct dti_access)
#define DTI_LOAD _IOWR(DTI_TYPE, 6, struct dti_access)

/**
 * struct dti_status - ioctl(DTI_STATUS)
 * @attached: Output: 1 if the context is attached to a dma-buf, else 0
 * @dynamic: Output: 1 if that attachment is dynamic, else 0
 * @mapped: Output: 1 if the context has a mapping, else 0
 * @invalidations: Output: how many times the exporter has told the context
 *	to unmap (whether or not it had a mapping then) since its last
 *	DTI_ATTACH; kept after DTI_DETACH
 * @mapped_bytes: Output: the length of the mapping in bytes, 0 if none
 * @revocable: Output: whether the kernel says the attachment can be
 *	revoked (dma_buf_attach_revocable(), 7.x): 1 or 0; -1 where the
 *	kernel cannot tell (6.x) or there is no attachment
 * @__reserved: Output: 0
 *
 * Report the state of the context. No errors besides the common ones.
 */
struct dti_status {
	__u32 attached;
	__u32 dynamic;
	__u32 mapped;
	__u32 invalidations;
	__u64 mapped_bytes;
	__s32 revocable;
	__u32 __reserved;
};

#define DTI_STATUS _IOR(DTI_TYPE, 7, struct dti_status)

/*
 * ioctl(DTI_FENCE): the device queues work on the attached dma-buf that it
 * cannot stop: an unsignalled fence in the dma-buf's reservation object,
 * until DTI_SIGNAL (or the context's release) signals it. ENXIO without an
 * attachment, EBUSY if the context has one unsignalled already.
 * ioctl(DTI_SIGNAL): signal it. ENXIO if there is none.
 */
#define DTI_FENCE _IO(DTI_TYPE, 8)
#define DTI_SIGNAL _IO(DTI_TYPE, 9)

#endif /* _DAXPIN_TEST_IMPORTER_H */
