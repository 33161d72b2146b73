// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: a pin exported as a dma-buf (DAXPIN_EXPORT_DMABUF).
 *
 * A device driver that imports dma-bufs (an RDMA provider, a GPU) reaches
 * the pinned blocks through the dma-buf's mappings, not through page
 * tables: neither the keeper windows nor the file's mappings see it. So
 * the exporter keeps to the same rule as an RDMA registration made
 * through a pin's mapping:
 *
 *  - a mapping takes a reference on every page it maps, and drops them at
 *    unmap. While it exists, the pages are busy: an ended pin drains, its
 *    keeper windows stay, and the layout change waits for the unmap.
 *  - nothing is mapped once the pin has ended: map_dma_buf checks the
 *    pin's state under its map_lock, which the pin's end takes for
 *    writing.
 *  - when the pin ends, dynamic importers are told to move and the
 *    dma-buf's fences are waited for, before the pin's pages are released;
 *    a well-behaved dynamic importer unmaps from that notification, so its
 *    pin ends at once. An importer that pinned (dma_buf_pin(), as an RDMA
 *    registration of a dma-buf does) is not told, unless the kernel says
 *    it can be revoked (7.x); it keeps its mapping, and the pin drains
 *    until it unmaps (or, with kill_on_stuck, until the processes that
 *    exported the pin and attached importers to it, killed, let go of
 *    it). On 7.x an importer that cannot be revoked may not pin at all,
 *    unless the admin lets it (unrevocable_importers).
 *  - a dma-buf holds its pin, not the pin's daxpin file: closing that file
 *    ends its pins, dma-bufs or not, as UNPIN does; an importer keeps no
 *    other pin of the file alive.
 *
 * The dma-buf is dynamic (it has pin/unpin ops) so that importers able to
 * move are not pinned on kernels that know better; on Debian's 6.1 and
 * 6.12 (CONFIG_DMABUF_MOVE_NOTIFY off) the core pins every mapping
 * anyway, which changes nothing here: the notification is still sent.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "daxpin.h"

DAXPIN_IMPORT_DMA_BUF_NS;

/**
 * struct daxpin_dmabuf - the exporter's side of one dma-buf
 * @pin: the exported pin (counted)
 * @dmabuf: the dma-buf
 * @node: on @pin->dmabufs, under the pin's dinode->mutex
 * @first: the first exported page, as an index into the pin
 * @npages: pages exported
 * @writable: devices may write: a writable pin, exported through a daxpin
 *	file open for writing (as a pin's mmap() needs for PROT_WRITE)
 */
struct daxpin_dmabuf {
	struct daxpin_range *pin;
	struct dma_buf *dmabuf;
	struct list_head node;
	unsigned long first;
	unsigned long npages;
	bool writable;
};

/**
 * struct daxpin_dmabuf_attach - the exporter's count of one attachment
 * @pins: calls of the pin op not undone: the importer's own dma_buf_pin()
 *	and, on 6.x without CONFIG_DMABUF_MOVE_NOTIFY, the core's around each
 *	mapping of a dynamic importer
 * @maps: the attachment's mappings
 *
 * Under the dma-buf's resv lock, which the core holds around the pin,
 * unpin, map and unmap of a dynamic exporter's attachments.
 */
struct daxpin_dmabuf_attach {
	unsigned int pins;
	unsigned int maps;
};

unsigned int daxpin_max_dmabufs_per_pin = 64;
module_param_named(max_dmabufs_per_pin, daxpin_max_dmabufs_per_pin, uint,
		   0644);
MODULE_PARM_DESC(max_dmabufs_per_pin,
		 "Most dma-bufs one pin may be exported as at once (default 64)");

static bool unrevocable_importers;
module_param(unrevocable_importers, bool, 0644);
MODULE_PARM_DESC(unrevocable_importers,
		 "7.x: let importers that cannot be revoked (dma_buf_attach_revocable() false: static importers, an RDMA registration that pins) pin a dma-buf of a pin; each holds the pin's pages past its deadline until it unmaps (default N: EPERM). 6.x cannot tell them apart and lets every importer pin");

/*
 * An importer attaches: the process attaching it (whoever drives the
 * importing device's driver) can hold the pin's pages through it from now
 * on, as one that mapped the pin can. The listings name it, and
 * kill_on_stuck ends it.
 */
static int daxpin_dmabuf_attach(struct dma_buf *dmabuf,
				struct dma_buf_attachment *attach)
{
	struct daxpin_dmabuf *db = dmabuf->priv;
	struct daxpin_dmabuf_attach *a;
	int ret;

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	ret = daxpin_map_note_mapper(db->pin);
	if (ret) {
		kfree(a);
		return ret;
	}
	attach->priv = a;
	return 0;
}

static void daxpin_dmabuf_detach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	kfree(attach->priv);
}

/*
 * Whether @attach may pin: where the kernel can tell (7.x), only an
 * importer that can be revoked, unless the admin lets the others.
 */
static bool daxpin_dmabuf_may_pin(struct dma_buf_attachment *attach)
{
#ifdef DAXPIN_DMA_BUF_REVOCABLE
	return dma_buf_attach_revocable(attach) ||
	       READ_ONCE(unrevocable_importers);
#else
	return true;
#endif
}

/* Called with the resv lock held: refuse once the pin has ended. */
static int daxpin_dmabuf_pin(struct dma_buf_attachment *attach)
{
	struct daxpin_dmabuf *db = attach->dmabuf->priv;
	struct daxpin_dmabuf_attach *a = attach->priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	if (!daxpin_state_live(READ_ONCE(db->pin->state)))
		return -ENXIO;
	if (!daxpin_dmabuf_may_pin(attach))
		return -EPERM;
	a->pins++;
	return 0;
}

/*
 * Only counted: the pages stay held by the pin while it is live, and by
 * each mapping after.
 */
static void daxpin_dmabuf_unpin(struct dma_buf_attachment *attach)
{
	struct daxpin_dmabuf_attach *a = attach->priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	a->pins--;
}

/* Drop the references a mapping took, one per page of each segment. */
static void daxpin_dmabuf_put_pages(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned long i;
	unsigned int s;

	for_each_sgtable_sg(sgt, sg, s) {
		for (i = 0; i < sg->length >> PAGE_SHIFT; i++)
			put_page(pfn_to_page(page_to_pfn(sg_page(sg)) + i));
		cond_resched();
	}
}

/*
 * The segments of the exported pages: each run of consecutive pfns, cut
 * to the device's largest segment. With @sgt NULL, only count them.
 */
static unsigned int daxpin_dmabuf_fill(struct daxpin_dmabuf *db,
				       struct sg_table *sgt,
				       unsigned long max_seg)
{
	struct scatterlist *sg = sgt ? sgt->sgl : NULL;
	unsigned long index = db->first, end = db->first + db->npages;
	unsigned int nents = 0;

	while (index < end) {
		unsigned long pfn = daxpin_pages_pfn(db->pin, index);
		unsigned long nr = 1;

		while (index + nr < end && nr < max_seg &&
		       daxpin_pages_pfn(db->pin, index + nr) == pfn + nr)
			nr++;
		if (sg) {
			unsigned long i;

			for (i = 0; i < nr; i++)
				get_page(pfn_to_page(pfn + i));
			sg_set_page(sg, pfn_to_page(pfn), nr << PAGE_SHIFT, 0);
			sg = sg_next(sg);
		}
		nents++;
		index += nr;
		cond_resched();
	}
	return nents;
}

static struct sg_table *daxpin_dmabuf_map(struct dma_buf_attachment *attach,
					  enum dma_data_direction dir)
{
	struct daxpin_dmabuf *db = attach->dmabuf->priv;
	struct daxpin_dmabuf_attach *a = attach->priv;
	struct daxpin_range *pin = db->pin;
	unsigned long max_seg;
	struct sg_table *sgt;
	int ret;

	dma_resv_assert_held(attach->dmabuf->resv);
	max_seg = max_t(unsigned long,
			dma_get_max_seg_size(attach->dev) >> PAGE_SHIFT, 1);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL_ACCOUNT);
	if (!sgt)
		return ERR_PTR(-ENOMEM);

	/* The pin's pages are in place while it is live (map_lock). */
	down_read(&pin->map_lock);
	ret = -ENXIO;
	if (!daxpin_state_live(pin->state))
		goto out_unlock;
	ret = -EACCES;
	if (dir != DMA_TO_DEVICE && !db->writable)
		goto out_unlock;
	ret = -ENOMEM;
	if (daxpin_should_fail())
		goto out_unlock;
	ret = sg_alloc_table(sgt, daxpin_dmabuf_fill(db, NULL, max_seg),
			     GFP_KERNEL_ACCOUNT);
	if (ret)
		goto out_unlock;
	daxpin_dmabuf_fill(db, sgt, max_seg);
	up_read(&pin->map_lock);

	/*
	 * The references taken above keep the pages whatever happens to the
	 * pin from here on: if it ends, it drains until this is unmapped.
	 */
	/* With the CPU syncs: a bounce buffer (swiotlb) needs them. */
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret)
		goto out_put;
	a->maps++;
	return sgt;

out_put:
	daxpin_dmabuf_put_pages(sgt);
	sg_free_table(sgt);
	kfree(sgt);
	return ERR_PTR(ret);
out_unlock:
	up_read(&pin->map_lock);
	kfree(sgt);
	return ERR_PTR(ret);
}

static void daxpin_dmabuf_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt,
				enum dma_data_direction dir)
{
	struct daxpin_dmabuf *db = attach->dmabuf->priv;
	struct daxpin_inode *dinode = db->pin->dinode;
	struct daxpin_dmabuf_attach *a = attach->priv;

	a->maps--;
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	daxpin_dmabuf_put_pages(sgt);
	sg_free_table(sgt);
	kfree(sgt);
	/* An ended pin may be draining for these pages: look now. */
	if (!daxpin_state_live(READ_ONCE(db->pin->state)))
		mod_delayed_work(daxpin_wq, &dinode->drain_work, 0);
}

/* The last reference to the dma-buf is gone. */
static void daxpin_dmabuf_release(struct dma_buf *dmabuf)
{
	struct daxpin_dmabuf *db = dmabuf->priv;
	struct daxpin_inode *dinode = db->pin->dinode;

	mutex_lock(&dinode->mutex);
	list_del(&db->node);
	WRITE_ONCE(db->pin->nr_dmabufs, db->pin->nr_dmabufs - 1);
	mutex_unlock(&dinode->mutex);
	daxpin_range_put(db->pin);
	kfree(db);
}

static const struct dma_buf_ops daxpin_dmabuf_ops = {
	.attach = daxpin_dmabuf_attach,
	.detach = daxpin_dmabuf_detach,
	.pin = daxpin_dmabuf_pin,
	.unpin = daxpin_dmabuf_unpin,
	.map_dma_buf = daxpin_dmabuf_map,
	.unmap_dma_buf = daxpin_dmabuf_unmap,
	.release = daxpin_dmabuf_release,
};

/*
 * How long a pin's end waits for the devices to finish what they queued on
 * its dma-bufs. The wait holds dinode->mutex, and an importer's work may
 * never end: past this the pin drains instead, until its fences are
 * signalled (daxpin_dmabuf_busy()).
 */
#define DAXPIN_FENCE_WAIT_MS	1000

#ifdef DAXPIN_DMA_BUF_REVOCABLE
/* 7.x tells the attachments that can be revoked, pinned or not. */
static void daxpin_dmabuf_tell_importers(struct dma_buf *dmabuf)
{
	dma_buf_invalidate_mappings(dmabuf);
}
#else
/*
 * Whether the importer pinned @attach itself (dma_buf_pin()): it asked not
 * to be told to move (an RDMA registration warns if it is), and holds the
 * pages until it unmaps. The core's own pins around a dynamic importer's
 * mappings (without CONFIG_DMABUF_MOVE_NOTIFY) do not count.
 */
static bool daxpin_dmabuf_importer_pinned(struct dma_buf_attachment *attach)
{
	struct daxpin_dmabuf_attach *a = attach->priv;
	unsigned int core_pins;

	core_pins = IS_ENABLED(CONFIG_DMABUF_MOVE_NOTIFY) ? 0 : a->maps;
	return a->pins > core_pins;
}

/* 6.x: tell the dynamic attachments, except those the importer pinned. */
static void daxpin_dmabuf_tell_importers(struct dma_buf *dmabuf)
{
	struct dma_buf_attachment *attach;

	dma_resv_assert_held(dmabuf->resv);
	list_for_each_entry(attach, &dmabuf->attachments, node)
		if (attach->importer_ops &&
		    !daxpin_dmabuf_importer_pinned(attach))
			attach->importer_ops->move_notify(attach);
}
#endif

/*
 * @pin is ending (its state is no longer live): tell the dynamic
 * importers of each of its dma-bufs to move, and wait, a bounded time,
 * until the devices are done with what they had queued. Called with
 * dinode->mutex held, before the pin's pages are released: the mappings
 * importers still hold then, and the fences not yet signalled, make the
 * pin drain.
 */
void daxpin_dmabuf_revoke(struct daxpin_range *pin)
{
	unsigned long end = jiffies + msecs_to_jiffies(DAXPIN_FENCE_WAIT_MS);
	struct daxpin_dmabuf *db;

	lockdep_assert_held(&pin->dinode->mutex);
	list_for_each_entry(db, &pin->dmabufs, node) {
		struct dma_resv *resv = db->dmabuf->resv;
		long left = (long)(end - jiffies);

		dma_resv_lock(resv, NULL);
		daxpin_dmabuf_tell_importers(db->dmabuf);
		dma_resv_unlock(resv);
		dma_resv_wait_timeout(resv, DMA_RESV_USAGE_BOOKKEEP, false,
				      max(left, 0L));
	}
}

/*
 * Whether a device may still access the pin's pages through one of its
 * dma-bufs: a fence not yet signalled. An ended pin with one drains until
 * it is (drain_work polls). Called with dinode->mutex held.
 */
bool daxpin_dmabuf_busy(struct daxpin_range *pin)
{
	struct daxpin_dmabuf *db;

	lockdep_assert_held(&pin->dinode->mutex);
	list_for_each_entry(db, &pin->dmabufs, node)
		if (!dma_resv_test_signaled(db->dmabuf->resv,
					    DMA_RESV_USAGE_BOOKKEEP))
			return true;
	return false;
}

static int daxpin_check_export_args(struct daxpin_export_dmabuf *cmd,
				    struct daxpin_range *pin)
{
	u64 bytes = (u64)pin->npages << PAGE_SHIFT;

	if (!cmd->length || !PAGE_ALIGNED(cmd->offset) ||
	    !PAGE_ALIGNED(cmd->length) || cmd->offset >= bytes ||
	    cmd->length > bytes - cmd->offset)
		return -EINVAL;
	return 0;
}

int daxpin_cmd_export_dmabuf(struct daxpin_ucmd *ucmd)
{
	struct daxpin_export_dmabuf *cmd = ucmd->cmd;
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct daxpin_range *pin;
	struct daxpin_dmabuf *db;
	struct dma_buf *dmabuf;
	int fd, ret;

	if (cmd->flags & ~DAXPIN_EXPORT_DMABUF_CLOEXEC)
		return -EOPNOTSUPP;
	if (cmd->__reserved || cmd->__reserved2)
		return -EINVAL;
	pin = daxpin_range_get(ucmd->ctx, cmd->handle);
	if (!pin)
		return -ENOENT;
	ret = daxpin_check_export_args(cmd, pin);
	if (ret)
		goto out_put_pin;
	/* An importer's mapping holds pages past any deadline. */
	ret = -EPERM;
	if (!pin->may_hold)
		goto out_put_pin;

	ret = -ENOMEM;
	db = kzalloc(sizeof(*db), GFP_KERNEL_ACCOUNT);
	if (!db || daxpin_should_fail())
		goto out_free;
	db->pin = pin;
	db->first = cmd->offset >> PAGE_SHIFT;
	db->npages = cmd->length >> PAGE_SHIFT;
	db->writable = (pin->flags & DAXPIN_PIN_WRITE) &&
		       (ucmd->filp->f_mode & FMODE_WRITE);
	fd = get_unused_fd_flags(O_RDWR | (cmd->flags &
		DAXPIN_EXPORT_DMABUF_CLOEXEC ? O_CLOEXEC : 0));
	if (fd < 0) {
		ret = fd;
		goto out_free;
	}

	exp_info.ops = &daxpin_dmabuf_ops;
	exp_info.size = cmd->length;
	exp_info.flags = db->writable ? O_RDWR : O_RDONLY;
	exp_info.priv = db;

	/* Under the mutex the pin cannot end: its end will see this one. */
	ret = mutex_lock_killable(&pin->dinode->mutex);
	if (ret)
		goto out_put_fd;
	ret = -ENXIO;
	if (!daxpin_state_live(pin->state))
		goto out_unlock;
	ret = -ENOSPC;
	if (pin->nr_dmabufs >= READ_ONCE(daxpin_max_dmabufs_per_pin))
		goto out_unlock;
	/* kill_on_stuck: the exporting process answers for its importers. */
	ret = daxpin_map_note_mapper(pin);
	if (ret)
		goto out_unlock;
	ret = -ENOMEM;
	if (daxpin_should_fail())
		goto out_unlock;
	dmabuf = dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		goto out_unlock;
	}
	db->dmabuf = dmabuf;
	list_add(&db->node, &pin->dmabufs);
	WRITE_ONCE(pin->nr_dmabufs, pin->nr_dmabufs + 1);
	mutex_unlock(&pin->dinode->mutex);

	/* From here on, the dma-buf owns @db and the pin reference. */
	cmd->out_fd = fd;
	if (daxpin_should_fail())
		ret = -EFAULT;
	else
		ret = daxpin_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret) {
		put_unused_fd(fd);
		dma_buf_put(dmabuf);
		return ret;
	}
	fd_install(fd, dmabuf->file);
	return 0;

out_unlock:
	mutex_unlock(&pin->dinode->mutex);
out_put_fd:
	put_unused_fd(fd);
out_free:
	kfree(db);
out_put_pin:
	daxpin_range_put(pin);
	return ret;
}
