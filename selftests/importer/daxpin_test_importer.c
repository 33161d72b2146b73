// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin_test_importer: a dma-buf importer for the daxpin selftests only.
 *
 * It plays a device that imports a dma-buf daxpin exported: a platform
 * device is the importing device, and each open file of
 * /dev/daxpin_test_importer is one importer context, which attaches
 * (statically or dynamically), maps, and stores to and loads from the
 * mapping (daxpin_test_importer.h). The test bench builds and loads it; it
 * is never installed with daxpin.
 *
 * The stores go through the DMA addresses of the mapping, turned back into
 * the CPU's direct map of that memory (dma_to_phys(), phys_to_virt()), and
 * never through the pages or the file: the DMA addresses are all a device
 * is given, so this is exactly where its DMA would land. The tests can then
 * see that the exporter handed out the pinned file's own blocks, and that
 * no store lands once the exporter's invalidation has returned: a store
 * holds the dma-buf's reservation lock, which the invalidation holds too.
 * A mapping the CPU cannot reach that way (an IOMMU translates it) is
 * refused with EOPNOTSUPP, and the tests skip.
 */
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <linux/scatterlist.h>
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/dma-mapping.h>
#include <linux/dma-direct.h>

#include "daxpin_test_importer.h"

#define DTI_NAME "daxpin_test_importer"

/* The importing device. */
static struct platform_device *dti_pdev;

/**
 * struct dti_ctx - an open file of the device: one importer context
 * @lock: serialises the context's ioctls and its release. Protects @dmabuf,
 *	@attach, @dynamic and @pinned. Taken before the dma-buf's reservation lock,
 *	never while holding it.
 * @dmabuf: the attached dma-buf (a reference), or NULL
 * @attach: the attachment to @dmabuf, or NULL
 * @dynamic: @attach is dynamic: the exporter may invalidate its mapping
 * @pinned: @attach is pinned (DTI_ATTACH_PIN) until the detach
 * @sgt: the mapping of @attach, or NULL
 * @dir: the direction of @sgt
 * @mapped_bytes: the length of @sgt in bytes, 0 if none
 * @invalidations: how many times the exporter invalidated @attach
 * @fence: work the device queued on @dmabuf (DTI_FENCE), or NULL; under
 *	@lock
 * @fence_lock: the lock of @fence
 *
 * While there is an attachment, @sgt, @dir, @mapped_bytes and
 * @invalidations belong to the reservation lock of @dmabuf: they change
 * only with it held, and with @lock held too, except in
 * dti_invalidate_mappings(), which the exporter calls with only the
 * reservation lock held. They are read with the reservation lock held, or
 * with @lock alone on a static attachment, which is never invalidated.
 * While there is none, @lock alone covers them.
 */
struct dti_ctx {
	struct mutex lock;	/* the context: see above */
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	bool dynamic;
	bool pinned;
	struct sg_table *sgt;
	enum dma_data_direction dir;
	u64 mapped_bytes;
	u32 invalidations;
	struct dma_fence *fence;
	spinlock_t fence_lock;	/* @fence's */
};

static const char *dti_fence_name(struct dma_fence *fence)
{
	return DTI_NAME;
}

static const struct dma_fence_ops dti_fence_ops = {
	.get_driver_name = dti_fence_name,
	.get_timeline_name = dti_fence_name,
};

/* Queue device work on the dma-buf that only DTI_SIGNAL completes. */
static int dti_fence(struct dti_ctx *ctx)
{
	struct dma_resv *resv;
	int ret;

	if (!ctx->attach)
		return -ENXIO;
	if (ctx->fence)
		return -EBUSY;
	ctx->fence = kzalloc(sizeof(*ctx->fence), GFP_KERNEL);
	if (!ctx->fence)
		return -ENOMEM;
	dma_fence_init(ctx->fence, &dti_fence_ops, &ctx->fence_lock,
		       dma_fence_context_alloc(1), 1);
	resv = ctx->dmabuf->resv;
	dma_resv_lock(resv, NULL);
	ret = dma_resv_reserve_fences(resv, 1);
	if (!ret)
		dma_resv_add_fence(resv, ctx->fence, DMA_RESV_USAGE_WRITE);
	dma_resv_unlock(resv);
	if (ret) {
		dma_fence_put(ctx->fence);
		ctx->fence = NULL;
	}
	return ret;
}

static int dti_signal(struct dti_ctx *ctx)
{
	if (!ctx->fence)
		return -ENXIO;
	dma_fence_signal(ctx->fence);
	dma_fence_put(ctx->fence);
	ctx->fence = NULL;
	return 0;
}

static void dti_set_mapping(struct dti_ctx *ctx, struct sg_table *sgt,
			    enum dma_data_direction dir, u64 bytes)
{
	ctx->sgt = sgt;
	ctx->dir = dir;
	ctx->mapped_bytes = bytes;
}

static void dti_forget_mapping(struct dti_ctx *ctx)
{
	dti_set_mapping(ctx, NULL, DMA_NONE, 0);
}

/*
 * The exporter tells a dynamic importer to unmap, with the reservation lock
 * held: unmap at once, so that no store reaches the memory after this.
 */
static void dti_invalidate_mappings(struct dma_buf_attachment *attach)
{
	struct dti_ctx *ctx = attach->importer_priv;

	dma_resv_assert_held(attach->dmabuf->resv);

	ctx->invalidations++;
	if (ctx->sgt) {
		dma_buf_unmap_attachment(attach, ctx->sgt, ctx->dir);
		dti_forget_mapping(ctx);
	}
}

static const struct dma_buf_attach_ops dti_importer_ops = {
	.allow_peer2peer = false,
#ifdef DTI_HAVE_INVALIDATE_MAPPINGS
	.invalidate_mappings = dti_invalidate_mappings,
#else
	.move_notify = dti_invalidate_mappings,
#endif
};

/* The first DMA address of the page after the one @addr is in. */
static dma_addr_t dti_next_page(dma_addr_t addr)
{
	return round_down(addr, PAGE_SIZE) + PAGE_SIZE;
}

/* Where the CPU sees the memory at DMA address @addr, in its direct map. */
static void *dti_dma_to_virt(dma_addr_t addr)
{
	return phys_to_virt(dma_to_phys(&dti_pdev->dev, addr));
}

/* Whether the memory at DMA address @addr is in the CPU's direct map. */
static bool dti_dma_reachable(dma_addr_t addr)
{
	unsigned long pfn = PHYS_PFN(dma_to_phys(&dti_pdev->dev, addr));

	return pfn_valid(pfn) && !PageHighMem(pfn_to_page(pfn));
}

/*
 * Check that the CPU reaches every page of every DMA segment of @sgt in its
 * direct map, and that the segments are made of whole 8-byte words; count
 * the mapping's bytes into *@bytes.
 */
static int dti_check_mapping(struct sg_table *sgt, u64 *bytes)
{
	struct scatterlist *sg;
	unsigned int i;
	u64 total = 0;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);
		unsigned int len = sg_dma_len(sg);
		dma_addr_t end = addr + len;

		if (!IS_ALIGNED(addr, 8) || !IS_ALIGNED(len, 8))
			return -EIO;
		for (; addr < end; addr = dti_next_page(addr)) {
			if (!dti_dma_reachable(addr))
				return -EOPNOTSUPP;
			cond_resched();
		}
		total += len;
	}
	*bytes = total;
	return 0;
}

/*
 * The device's access to the 8-byte words of [@offset, @offset + @length)
 * of the mapping @sgt, a range that lies within it: store *@value to each
 * word, or load each word into *@value (the last one stays).
 */
static void dti_device_access(struct sg_table *sgt, u64 offset, u64 length,
			      u64 *value, bool store)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		u64 len = sg_dma_len(sg);
		u64 pos = offset;
		u64 end;

		if (offset >= len) {
			offset -= len;
			continue;
		}
		end = min(len, offset + length);
		length -= end - pos;
		while (pos < end) {
			dma_addr_t addr = sg_dma_address(sg) + pos;
			u64 n = min_t(u64, end - pos, dti_next_page(addr) - addr);
			u64 *word = dti_dma_to_virt(addr);
			u64 k;

			for (k = 0; k < n / sizeof(u64); k++) {
				if (store)
					WRITE_ONCE(word[k], *value);
				else
					*value = READ_ONCE(word[k]);
			}
			pos += n;
			cond_resched();
		}
		if (!length)
			break;
		offset = 0;
	}
}

static int dti_attach(struct dti_ctx *ctx, const struct dti_attach *arg)
{
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	u32 invalidations;
	bool dynamic, pin;
	int ret;

	if (arg->flags & ~(DTI_ATTACH_DYNAMIC | DTI_ATTACH_PIN))
		return -EINVAL;
	dynamic = arg->flags & DTI_ATTACH_DYNAMIC;
	pin = arg->flags & DTI_ATTACH_PIN;
	if (pin && !dynamic)
		return -EINVAL;
	if (ctx->attach)
		return -EBUSY;

	dmabuf = dma_buf_get(arg->dmabuf_fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	/*
	 * A dynamic attachment may be invalidated as soon as it exists: count
	 * from 0 before that. Until then nothing else touches the counter.
	 */
	invalidations = ctx->invalidations;
	ctx->invalidations = 0;
	if (dynamic)
		attach = dma_buf_dynamic_attach(dmabuf, &dti_pdev->dev,
						&dti_importer_ops, ctx);
	else
		attach = dma_buf_attach(dmabuf, &dti_pdev->dev);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto out_put;
	}
	if (pin) {
		dma_resv_lock(dmabuf->resv, NULL);
		ret = dma_buf_pin(attach);
		dma_resv_unlock(dmabuf->resv);
		if (ret)
			goto out_detach;
	}

	ctx->dmabuf = dmabuf;
	ctx->attach = attach;
	ctx->dynamic = dynamic;
	ctx->pinned = pin;
	return 0;

out_detach:
	dma_buf_detach(dmabuf, attach);
out_put:
	ctx->invalidations = invalidations;
	dma_buf_put(dmabuf);
	return ret;
}

static int dti_map_dynamic(struct dti_ctx *ctx, enum dma_data_direction dir)
{
	struct dma_resv *resv = ctx->dmabuf->resv;
	struct sg_table *sgt;
	long timeout;
	u64 bytes;
	int ret;

	ret = dma_resv_lock_interruptible(resv, NULL);
	if (ret)
		return ret;
	ret = -EBUSY;
	if (ctx->sgt)
		goto out_unlock;

	sgt = dma_buf_map_attachment(ctx->attach, dir);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto out_unlock;
	}
	/* A dynamic importer waits for the exporter's moves to complete. */
	timeout = dma_resv_wait_timeout(resv, DMA_RESV_USAGE_KERNEL, true,
					MAX_SCHEDULE_TIMEOUT);
	ret = timeout < 0 ? timeout : dti_check_mapping(sgt, &bytes);
	if (ret)
		dma_buf_unmap_attachment(ctx->attach, sgt, dir);
	else
		dti_set_mapping(ctx, sgt, dir, bytes);
out_unlock:
	dma_resv_unlock(resv);
	return ret;
}

static int dti_map_static(struct dti_ctx *ctx, enum dma_data_direction dir)
{
	struct sg_table *sgt;
	u64 bytes;
	int ret;

	/* A static attachment's mapping changes only under ctx->lock. */
	if (ctx->sgt)
		return -EBUSY;

	sgt = dma_buf_map_attachment_unlocked(ctx->attach, dir);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	ret = dti_check_mapping(sgt, &bytes);
	if (ret) {
		dma_buf_unmap_attachment_unlocked(ctx->attach, sgt, dir);
		return ret;
	}

	dma_resv_lock(ctx->dmabuf->resv, NULL);
	dti_set_mapping(ctx, sgt, dir, bytes);
	dma_resv_unlock(ctx->dmabuf->resv);
	return 0;
}

static int dti_map(struct dti_ctx *ctx, const struct dti_map *arg)
{
	enum dma_data_direction dir = DMA_BIDIRECTIONAL;

	if (arg->flags & ~DTI_MAP_READ_ONLY || arg->__reserved)
		return -EINVAL;
	if (arg->flags & DTI_MAP_READ_ONLY)
		dir = DMA_TO_DEVICE;
	if (!ctx->attach)
		return -ENXIO;

	if (ctx->dynamic)
		return dti_map_dynamic(ctx, dir);
	return dti_map_static(ctx, dir);
}

/* Unmap the attachment's mapping, if any; return whether there was one. */
static bool dti_unmap(struct dti_ctx *ctx)
{
	struct dma_resv *resv = ctx->dmabuf->resv;
	enum dma_data_direction dir;
	struct sg_table *sgt;

	dma_resv_lock(resv, NULL);
	sgt = ctx->sgt;
	dir = ctx->dir;
	if (sgt && ctx->dynamic)
		dma_buf_unmap_attachment(ctx->attach, sgt, dir);
	dti_forget_mapping(ctx);
	dma_resv_unlock(resv);

	if (sgt && !ctx->dynamic)
		dma_buf_unmap_attachment_unlocked(ctx->attach, sgt, dir);
	return !!sgt;
}

static void dti_detach(struct dti_ctx *ctx)
{
	dti_unmap(ctx);
	if (ctx->pinned) {
		dma_resv_lock(ctx->dmabuf->resv, NULL);
		dma_buf_unpin(ctx->attach);
		dma_resv_unlock(ctx->dmabuf->resv);
	}
	/* After this, the exporter can no longer invalidate the attachment. */
	dma_buf_detach(ctx->dmabuf, ctx->attach);
	dma_buf_put(ctx->dmabuf);
	ctx->attach = NULL;
	ctx->dmabuf = NULL;
	ctx->dynamic = false;
	ctx->pinned = false;
}

static int dti_store(struct dti_ctx *ctx, const struct dti_access *arg)
{
	struct dma_resv *resv;
	u64 value = arg->value;
	int ret;

	if (!arg->length || !IS_ALIGNED(arg->offset, sizeof(u64)) ||
	    !IS_ALIGNED(arg->length, sizeof(u64)))
		return -EINVAL;
	if (!ctx->attach)
		return -ENODEV;

	resv = ctx->dmabuf->resv;
	ret = dma_resv_lock_interruptible(resv, NULL);
	if (ret)
		return ret;
	if (!ctx->sgt)
		ret = -ENODEV;
	else if (ctx->dir == DMA_TO_DEVICE)
		ret = -EPERM;
	else if (arg->offset > ctx->mapped_bytes ||
		 arg->length > ctx->mapped_bytes - arg->offset)
		ret = -EINVAL;
	else
		dti_device_access(ctx->sgt, arg->offset, arg->length, &value,
				  true);
	dma_resv_unlock(resv);
	return ret;
}

static int dti_load(struct dti_ctx *ctx, struct dti_access *arg)
{
	struct dma_resv *resv;
	int ret;

	if (!IS_ALIGNED(arg->offset, sizeof(u64)) ||
	    (arg->length && arg->length != sizeof(u64)))
		return -EINVAL;
	if (!ctx->attach)
		return -ENODEV;

	resv = ctx->dmabuf->resv;
	ret = dma_resv_lock_interruptible(resv, NULL);
	if (ret)
		return ret;
	if (!ctx->sgt)
		ret = -ENODEV;
	else if (arg->offset >= ctx->mapped_bytes)
		ret = -EINVAL;
	else
		dti_device_access(ctx->sgt, arg->offset, sizeof(u64),
				  &arg->value, false);
	dma_resv_unlock(resv);
	return ret;
}

static int dti_status(struct dti_ctx *ctx, struct dti_status *st)
{
	struct dma_resv *resv;
	int ret;

	memset(st, 0, sizeof(*st));
	if (!ctx->attach) {
		st->invalidations = ctx->invalidations;
		st->revocable = -1;
		return 0;
	}

	resv = ctx->dmabuf->resv;
	ret = dma_resv_lock_interruptible(resv, NULL);
	if (ret)
		return ret;
	st->attached = 1;
	st->dynamic = ctx->dynamic;
	st->mapped = !!ctx->sgt;
	st->invalidations = ctx->invalidations;
	st->mapped_bytes = ctx->mapped_bytes;
#ifdef DTI_HAVE_INVALIDATE_MAPPINGS
	st->revocable = dma_buf_attach_revocable(ctx->attach);
#else
	st->revocable = -1;
#endif
	dma_resv_unlock(resv);
	return 0;
}

static long dti_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dti_ctx *ctx = file->private_data;
	void __user *uarg = (void __user *)arg;
	union {
		struct dti_attach attach;
		struct dti_map map;
		struct dti_access access;
		struct dti_status status;
	} u;
	int ret;

	switch (cmd) {
	case DTI_ATTACH:
	case DTI_MAP:
	case DTI_STORE:
	case DTI_LOAD:
		if (copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
			return -EFAULT;
		break;
	case DTI_UNMAP:
	case DTI_DETACH:
	case DTI_STATUS:
	case DTI_FENCE:
	case DTI_SIGNAL:
		break;
	default:
		return -ENOTTY;
	}

	ret = mutex_lock_interruptible(&ctx->lock);
	if (ret)
		return ret;
	switch (cmd) {
	case DTI_ATTACH:
		ret = dti_attach(ctx, &u.attach);
		break;
	case DTI_MAP:
		ret = dti_map(ctx, &u.map);
		break;
	case DTI_UNMAP:
		ret = -ENXIO;
		if (ctx->attach && dti_unmap(ctx))
			ret = 0;
		break;
	case DTI_DETACH:
		ret = -ENXIO;
		if (ctx->attach) {
			dti_detach(ctx);
			ret = 0;
		}
		break;
	case DTI_STORE:
		ret = dti_store(ctx, &u.access);
		break;
	case DTI_LOAD:
		ret = dti_load(ctx, &u.access);
		break;
	case DTI_STATUS:
		ret = dti_status(ctx, &u.status);
		break;
	case DTI_FENCE:
		ret = dti_fence(ctx);
		break;
	case DTI_SIGNAL:
		ret = dti_signal(ctx);
		break;
	}
	mutex_unlock(&ctx->lock);

	/* Out of every lock: the copy may fault. */
	if (!ret && (cmd == DTI_LOAD || cmd == DTI_STATUS) &&
	    copy_to_user(uarg, &u, _IOC_SIZE(cmd)))
		ret = -EFAULT;
	return ret;
}

static int dti_open(struct inode *inode, struct file *file)
{
	struct dti_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	mutex_init(&ctx->lock);
	spin_lock_init(&ctx->fence_lock);
	ctx->dir = DMA_NONE;
	file->private_data = ctx;
	return 0;
}

static int dti_release(struct inode *inode, struct file *file)
{
	struct dti_ctx *ctx = file->private_data;

	mutex_lock(&ctx->lock);
	/* The work the device queued ends with it. */
	if (ctx->fence)
		dti_signal(ctx);
	if (ctx->attach)
		dti_detach(ctx);
	mutex_unlock(&ctx->lock);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
	return 0;
}

static const struct file_operations dti_fops = {
	.owner = THIS_MODULE,
	.open = dti_open,
	.release = dti_release,
	.unlocked_ioctl = dti_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice dti_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DTI_NAME,
	.fops = &dti_fops,
	.mode = 0600,
};

static int __init dti_init(void)
{
	int ret;

	dti_pdev = platform_device_register_simple(DTI_NAME,
						   PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(dti_pdev))
		return PTR_ERR(dti_pdev);
	ret = dma_coerce_mask_and_coherent(&dti_pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_pdev;
	ret = misc_register(&dti_misc);
	if (ret)
		goto err_pdev;
	return 0;

err_pdev:
	platform_device_unregister(dti_pdev);
	return ret;
}

static void __exit dti_exit(void)
{
	misc_deregister(&dti_misc);
	platform_device_unregister(dti_pdev);
}

module_init(dti_init);
module_exit(dti_exit);

MODULE_DESCRIPTION("dma-buf importer for the daxpin selftests only");
MODULE_LICENSE("GPL");
#ifdef DTI_IMPORT_NS_STRING
MODULE_IMPORT_NS("DMA_BUF");
#else
MODULE_IMPORT_NS(DMA_BUF);
#endif
