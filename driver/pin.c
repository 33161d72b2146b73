// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: pins (struct daxpin_range) - making, ending and querying them.
 *
 * A range with blocks shared with another file is refused first. A pin is
 * then made in this order, and every step is undone in reverse:
 *   1. the caller is charged for the pages (pinned_vm, RLIMIT_MEMLOCK);
 *   2. a handle is reserved;
 *   3. the daxpin_inode is found or made (shadow file, layout lease);
 *   4. the inode's i_rwsem is taken shared (interruptibly): every layout
 *      change holds it exclusively, so none is running or starts until the
 *      pin is made, and a pin can never be made while a change waits;
 *   5. keeper windows cover the range, so that from now on a truncate of
 *      the range zaps a mapping daxpin watches and waits for busy pages;
 *   6. the pin joins the inode's interval tree (recalls can find it);
 *   7. the range is faulted in for writing through a temporary mapping of
 *      the caller's file (allocating holes, converting unwritten extents)
 *      and its pages pinned; the temporary mapping goes again. The zaps
 *      these faults make themselves (replacing zero-page entries of holes)
 *      recall nothing: no layout change can run meanwhile (4).
 * Step 7 comes after 5 so that no pinned page ever goes unprotected, and
 * after 6 so that a layout change that starts once i_rwsem is released is
 * reported.
 */
#include <linux/fiemap.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/interval_tree.h>
#include <linux/module.h>

#include "daxpin.h"
#include "trace.h"

/*
 * Pins have a cache of their own: kmalloc() would put each in kmalloc-512,
 * almost twice its size.
 */
static struct kmem_cache *daxpin_pin_cache;

int __init daxpin_pins_init(void)
{
	daxpin_pin_cache = kmem_cache_create("daxpin_pin",
					     sizeof(struct daxpin_range), 0,
					     SLAB_ACCOUNT, NULL);
	return daxpin_pin_cache ? 0 : -ENOMEM;
}

/* Module unload: every pin is gone (the cache warns of any left). */
void daxpin_pins_exit(void)
{
	kmem_cache_destroy(daxpin_pin_cache);
}

static void daxpin_range_release(struct kref *kref)
{
	struct daxpin_range *pin = container_of(kref, struct daxpin_range, kref);

	WARN_ON_ONCE(pin->runs);
	if (pin->user_charged)
		daxpin_user_uncharge(pin->user, DAXPIN_USER_PINS);
	daxpin_map_unpublish(pin);
	daxpin_map_forget_mappers(pin);
	daxpin_inode_put(pin->dinode);
	kmem_cache_free(daxpin_pin_cache, pin);
}

void daxpin_range_put(struct daxpin_range *pin)
{
	kref_put(&pin->kref, daxpin_range_release);
}

/* Look up a handle of @ctx and take a reference; reserved handles: NULL. */
struct daxpin_range *daxpin_range_get(struct daxpin_ctx *ctx, u32 handle)
{
	struct daxpin_range *pin;

	xa_lock(&ctx->pins);
	pin = xa_load(&ctx->pins, handle);
	if (pin)
		kref_get(&pin->kref);
	xa_unlock(&ctx->pins);
	return pin;
}

static int daxpin_charge(struct daxpin_range *pin)
{
	struct mm_struct *mm = current->mm;
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	s64 pinned;

	if (daxpin_should_fail())
		return -ENOMEM;
	pinned = atomic64_add_return(pin->npages, &mm->pinned_vm);
	if (pinned > limit && !capable(CAP_IPC_LOCK)) {
		atomic64_sub(pin->npages, &mm->pinned_vm);
		return -ENOMEM;
	}
	mmgrab(mm);
	pin->acct_mm = mm;
	return 0;
}

static void daxpin_uncharge(struct daxpin_range *pin)
{
	atomic64_sub(pin->npages, &pin->acct_mm->pinned_vm);
	mmdrop(pin->acct_mm);
	pin->acct_mm = NULL;
}

/*
 * Release the pin's pages. If someone else still holds some - an RDMA
 * registration made through a daxpin mapping, an importer's mapping - the
 * pin is kept on the inode's drain list with its keeper windows: the file
 * must stay mapped, or a truncate would no longer wait for those pages.
 * If a device may still reach them through a dma-buf without holding them
 * (work queued behind a fence not yet signalled), the pin keeps its own
 * references too, so that a layout change waits. A draining pin holds the
 * module, which must not go while it polls. For a revoked pin, with
 * kill_on_stuck, the processes that mapped it are killed, which ends
 * their registrations; otherwise the layout change waits for them.
 * Called with dinode->mutex held.
 */
static void daxpin_release_pages(struct daxpin_range *pin)
{
	daxpin_uncharge(pin);
	pin->holds_pages = daxpin_dmabuf_busy(pin);
	if (!pin->holds_pages)
		daxpin_pages_put(pin);
	if (pin->holds_pages || daxpin_pages_busy(pin)) {
		trace_drain(pin, true);
		__module_get(THIS_MODULE);
		kref_get(&pin->kref);
		spin_lock(&pin->dinode->lock);
		list_add_tail(&pin->work_node, &pin->dinode->draining);
		pin->dinode->nr_draining++;
		spin_unlock(&pin->dinode->lock);
		if (pin->state == DAXPIN_STATE_REVOKED && daxpin_kill_on_stuck) {
			pin->stuck_killed = true;
			daxpin_map_kill_mappers(pin);
		}
		mod_delayed_work(daxpin_wq, &pin->dinode->drain_work,
				 msecs_to_jiffies(DAXPIN_DRAIN_POLL_MS));
		return;
	}
	daxpin_range_drained(pin);
}

/*
 * Whether a draining pin is still busy: device work pending on its
 * dma-bufs, or, once that is done and its own references are dropped,
 * references someone else holds. Called with dinode->mutex held.
 */
bool daxpin_range_busy(struct daxpin_range *pin)
{
	if (pin->holds_pages) {
		if (daxpin_dmabuf_busy(pin))
			return true;
		daxpin_pages_put(pin);
		pin->holds_pages = false;
	}
	return daxpin_pages_busy(pin);
}

/* The pages are idle: let the windows go. Called with dinode->mutex held. */
void daxpin_range_drained(struct daxpin_range *pin)
{
	daxpin_pages_free(pin);
	daxpin_windows_put(pin->dinode, pin->it.start, pin->it.last);
}

/*
 * End a live pin: no new faults, mappings zapped, pages released. @state is
 * DAXPIN_STATE_REVOKED or DAXPIN_STATE_UNPINNED. A pin already revoked just
 * takes the new state. Called with dinode->mutex held.
 */
void __daxpin_range_end(struct daxpin_range *pin, unsigned int state,
			unsigned int reason)
{
	struct daxpin_inode *dinode = pin->dinode;
	bool was_live;

	lockdep_assert_held(&dinode->mutex);

	down_write(&pin->map_lock);
	spin_lock(&dinode->lock);
	was_live = daxpin_state_live(pin->state);
	if (was_live)
		interval_tree_remove(&pin->it, &dinode->pins);
	if (was_live || state == DAXPIN_STATE_UNPINNED)
		pin->state = state;
	if (was_live && state == DAXPIN_STATE_REVOKED) {
		pin->revoke_reason = reason;
		pin->deadline_ns = 0;
	}
	spin_unlock(&dinode->lock);
	up_write(&pin->map_lock);

	if (was_live) {
		if (state == DAXPIN_STATE_REVOKED)
			trace_revoke(pin);
		/* Dynamic dma-buf importers unmap, the others keep pages. */
		daxpin_dmabuf_revoke(pin);
		/* Nothing maps the pages any more once this returns. */
		daxpin_map_zap(pin);
		/*
		 * Only now does the holder hear of it: whoever reads REVOKED
		 * finds the mappings gone and the dynamic importers told.
		 */
		if (state == DAXPIN_STATE_REVOKED)
			daxpin_event_queue(pin, DAXPIN_EVENT_REVOKED);
		if (pin->runs)
			daxpin_release_pages(pin);
	}
	if (state == DAXPIN_STATE_UNPINNED)
		daxpin_map_unpublish(pin);
}

/*
 * The handle is gone (UNPIN, last close, or a PIN whose reply failed): end
 * the pin, drop its queued events and the handle's reference.
 */
static void daxpin_range_unpin(struct daxpin_range *pin)
{
	mutex_lock(&pin->dinode->mutex);
	__daxpin_range_end(pin, DAXPIN_STATE_UNPINNED, 0);
	mutex_unlock(&pin->dinode->mutex);
	daxpin_event_forget(pin);
	daxpin_range_put(pin);
}

static int daxpin_check_pin_args(struct daxpin_pin *cmd, unsigned int *ms)
{
	u64 end;

	if (cmd->flags & ~DAXPIN_PIN_WRITE)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (!cmd->length || !PAGE_ALIGNED(cmd->offset) ||
	    !PAGE_ALIGNED(cmd->length))
		return -EINVAL;
	if (check_add_overflow(cmd->offset, cmd->length, &end) ||
	    end > (u64)MAX_LFS_FILESIZE)
		return -EOVERFLOW;
	if (cmd->length > DAXPIN_MAX_PIN_BYTES)
		return -EOVERFLOW;
	*ms = cmd->deadline_ms ? cmd->deadline_ms : daxpin_default_deadline_ms;
	if (*ms > daxpin_max_deadline_ms)
		return -EINVAL;
	return 0;
}

/*
 * A holder who could not change the file's layout itself holds it no
 * longer than a lease holder would: a deadline it asks for beyond that is
 * refused, the default one is cut to it.
 */
static int daxpin_reader_deadline(struct daxpin_pin *cmd, unsigned int *ms)
{
	unsigned int max = READ_ONCE(daxpin_reader_max_hold_ms);

	if (cmd->deadline_ms > max)
		return -EPERM;
	*ms = min(*ms, max);
	return 0;
}

static int daxpin_check_file(struct file *file, struct daxpin_pin *cmd)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	if (!IS_DAX(inode))
		return -ENODEV;
	if (!daxpin_guard_covers(inode))
		return -EOPNOTSUPP;
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	if ((cmd->flags & DAXPIN_PIN_WRITE) && !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	if (cmd->offset + cmd->length > (u64)i_size_read(inode))
		return -ENXIO;
	return 0;
}

/* Extents per FIEMAP call: a scratch page of the host mm holds them. */
#define DAXPIN_FIEMAP_BATCH	(PAGE_SIZE / sizeof(struct fiemap_extent))

/* A FIEMAP call; it holds the file, as it may outlive its caller. */
struct daxpin_unshared_call {
	struct daxpin_scratch_call base;
	struct file *file;
	u64 start;
	u64 end;
};

static void daxpin_unshared_release(struct daxpin_scratch_call *base)
{
	struct daxpin_unshared_call *call =
		container_of(base, struct daxpin_unshared_call, base);

	fput(call->file);
	kfree(call);
}

/*
 * With the host mm in use: FIEMAP answers into user memory, and a scratch
 * page of the host mm is user memory no process can write to meanwhile.
 */
static int daxpin_check_unshared_host(struct daxpin_scratch_call *base,
				      void __user *scratch)
{
	struct fiemap_extent_info fie = {
		.fi_extents_max = DAXPIN_FIEMAP_BATCH,
		.fi_extents_start = scratch,
	};
	struct daxpin_unshared_call *call =
		container_of(base, struct daxpin_unshared_call, base);
	struct inode *inode = file_inode(call->file);
	u64 start = call->start, end = call->end, next;
	struct fiemap_extent ext = { };
	unsigned int i;
	int ret = 0;

	while (start < end) {
		fie.fi_extents_mapped = 0;
		ret = inode->i_op->fiemap(inode, &fie, start, end - start);
		if (ret || !fie.fi_extents_mapped)
			break;
		for (i = 0; i < fie.fi_extents_mapped && !ret; i++) {
			if (copy_from_user(&ext, fie.fi_extents_start + i,
					   sizeof(ext)))
				ret = -EFAULT;
			else if (ext.fe_flags & FIEMAP_EXTENT_SHARED)
				ret = -ENODATA;
		}
		next = ext.fe_logical + ext.fe_length;
		if (ret || fie.fi_extents_mapped < fie.fi_extents_max ||
		    (ext.fe_flags & FIEMAP_EXTENT_LAST) || next <= start)
			break;
		start = next;
	}
	return ret;
}

/*
 * Refuse a range with blocks shared with another file (reflink): a store
 * through the pin would land in the other file too, and the copy-on-write
 * fault that would unshare a block leaves it, on 6.1, marked shared after
 * it is freed (a WARNING when the block is used again). The filesystem
 * tells through FIEMAP, asked with the host mm in use.
 * Returns 0, -ENODATA if a block is shared, or an error.
 */
static int daxpin_check_unshared(struct file *file, u64 start, u64 len)
{
	struct daxpin_unshared_call *call;

	/* Without remap_file_range (ext4) nothing can share its blocks. */
	if (!file->f_op->remap_file_range || !file_inode(file)->i_op->fiemap)
		return 0;
	call = daxpin_should_fail() ? NULL : kzalloc(sizeof(*call), GFP_KERNEL);
	if (!call)
		return -ENOMEM;
	call->base.fn = daxpin_check_unshared_host;
	call->base.release = daxpin_unshared_release;
	call->file = get_file(file);
	call->start = start;
	call->end = start + len;
	/* FIEMAP waits while a layout change holds the file: killably here. */
	return daxpin_host_run_scratch(&call->base);
}

/*
 * Wait, interruptibly, until no layout change of @inode is running: each
 * holds i_rwsem exclusively while it waits for pins, and what PIN does
 * before it takes i_rwsem itself (FIEMAP takes XFS's iolock) would
 * otherwise sleep uninterruptibly for as long as that change waits.
 */
static int daxpin_wait_layout_changes(struct inode *inode)
{
	if (down_read_interruptible(&inode->i_rwsem))
		return -EINTR;
	up_read(&inode->i_rwsem);
	return 0;
}

/* Reserve a handle of @ctx, cyclically: a stale handle names no new pin. */
static int daxpin_handle_reserve(struct daxpin_ctx *ctx, u32 *handle)
{
	int ret;

	if (atomic_inc_return(&ctx->nr_pins) > daxpin_max_pins) {
		ret = -ENOSPC;
		goto out_dec;
	}
	if (daxpin_should_fail())
		ret = -ENOMEM;
	else
		ret = xa_alloc_cyclic(&ctx->pins, handle, XA_ZERO_ENTRY,
				      XA_LIMIT(1, INT_MAX), &ctx->next_handle,
				      GFP_KERNEL_ACCOUNT);
	if (ret >= 0)
		return 0;
	ret = ret == -EBUSY ? -ENOSPC : ret;
out_dec:
	atomic_dec(&ctx->nr_pins);
	return ret;
}

static void daxpin_handle_free(struct daxpin_ctx *ctx, u32 handle)
{
	xa_erase(&ctx->pins, handle);
	atomic_dec(&ctx->nr_pins);
}

int daxpin_cmd_pin(struct daxpin_ucmd *ucmd)
{
	struct daxpin_pin *cmd = ucmd->cmd;
	struct daxpin_ctx *ctx = ucmd->ctx;
	struct daxpin_inode *dinode;
	struct daxpin_range *pin;
	unsigned int deadline_ms;
	struct inode *inode;
	struct file *file;
	bool may_hold;
	struct fd f;
	u32 handle;
	int ret;

	ret = daxpin_check_pin_args(cmd, &deadline_ms);
	if (ret)
		return ret;
	f = fdget(cmd->file_fd);
	file = fd_file(f);
	if (!file)
		return -EBADF;
	inode = file_inode(file);
	ret = daxpin_check_file(file, cmd);
	may_hold = daxpin_may_hold(file);
	if (!ret && !may_hold)
		ret = daxpin_reader_deadline(cmd, &deadline_ms);
	if (!ret)
		ret = daxpin_wait_layout_changes(inode);
	if (!ret)
		ret = daxpin_check_unshared(file, cmd->offset, cmd->length);
	if (ret)
		goto out_fdput;

	pin = NULL;
	if (!daxpin_should_fail())
		pin = kmem_cache_zalloc(daxpin_pin_cache, GFP_KERNEL);
	if (!pin) {
		ret = -ENOMEM;
		goto out_fdput;
	}
	kref_init(&pin->kref);
	init_rwsem(&pin->map_lock);
	INIT_LIST_HEAD(&pin->ev_node);
	INIT_LIST_HEAD(&pin->work_node);
	xa_init(&pin->mappers);
	INIT_LIST_HEAD(&pin->dmabufs);
	atomic_set(&pin->nr_vmas, 0);
	pin->ctx = ctx;
	pin->flags = cmd->flags;
	pin->may_hold = may_hold;
	pin->pinner = pid_nr(ctx->owner);
	pin->deadline_ms = deadline_ms;
	pin->npages = cmd->length >> PAGE_SHIFT;
	pin->it.start = cmd->offset >> PAGE_SHIFT;
	pin->it.last = pin->it.start + pin->npages - 1;
	pin->state = DAXPIN_STATE_ACTIVE;
	pin->created_ns = ktime_get_ns();

	ret = daxpin_charge(pin);
	if (ret)
		goto out_free;
	ret = daxpin_handle_reserve(ctx, &handle);
	if (ret)
		goto out_uncharge;
	pin->handle = handle;

	dinode = daxpin_inode_get(file);
	if (IS_ERR(dinode)) {
		ret = PTR_ERR(dinode);
		goto out_handle;
	}
	pin->dinode = dinode;
	/* Freeing the pin gives it back. */
	pin->user = current_uid();
	ret = daxpin_user_charge(pin->user, DAXPIN_USER_PINS);
	if (ret)
		goto out_handle;
	pin->user_charged = true;

	if (down_read_interruptible(&inode->i_rwsem)) {
		ret = -EINTR;
		goto out_handle;
	}
	/* A truncate may have run since the first look. */
	if (cmd->offset + cmd->length > (u64)i_size_read(inode)) {
		ret = -ENXIO;
		goto out_unlock_inode;
	}
	/* A PIN of this inode faulting in a long range may hold it: killably. */
	if (mutex_lock_killable(&dinode->mutex)) {
		ret = -EINTR;
		goto out_unlock_inode;
	}
	daxpin_inode_take_lease(dinode);
	ret = daxpin_windows_get(dinode, pin->it.start, pin->it.last);
	if (ret)
		goto out_unlock_dinode;
	spin_lock(&dinode->lock);
	interval_tree_insert(&pin->it, &dinode->pins);
	dinode->populator = current;
	spin_unlock(&dinode->lock);
	ret = daxpin_pages_populate(pin, file);
	spin_lock(&dinode->lock);
	dinode->populator = NULL;
	if (ret) {
		interval_tree_remove(&pin->it, &dinode->pins);
		pin->state = DAXPIN_STATE_UNPINNED;
	}
	spin_unlock(&dinode->lock);
	if (ret)
		goto out_windows;
	mutex_unlock(&dinode->mutex);
	up_read(&inode->i_rwsem);

	/*
	 * A reflink may have shared blocks of the range after the first
	 * check: before PIN took i_rwsem, or from this file while the remap
	 * ran (XFS demotes the source's locks to shared for it, and read
	 * faults go on). Look again, now that the pin is in the tree: a
	 * reflink that starts from here on recalls it and waits for it. So a
	 * pin never holds blocks another file shares (else a truncate of the
	 * other file, unmapped, would meet pages daxpin holds).
	 */
	ret = daxpin_wait_layout_changes(inode);
	if (!ret)
		ret = daxpin_check_unshared(file, cmd->offset, cmd->length);
	if (ret)
		goto out_end;

	ret = daxpin_map_publish(pin);
	if (ret)
		goto out_end;
	cmd->out_handle = handle;
	cmd->out_mmap_offset = (u64)pin->cookie << DAXPIN_MMAP_SHIFT;
	ret = daxpin_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto out_end;
	/*
	 * Before the handle is published: from then on an UNPIN of it (a
	 * guess by another thread) may free the pin at once.
	 */
	trace_pin(pin);
	xa_store(&ctx->pins, handle, pin, GFP_KERNEL);
	fdput(f);
	return 0;

out_end:
	/* Nobody learnt the handle: end the pin as if it was never made. */
	daxpin_handle_free(ctx, handle);
	daxpin_range_unpin(pin);
	goto out_fdput;

out_windows:
	/* Events queued meanwhile (a lease break) go with the pin. */
	daxpin_event_forget(pin);
	daxpin_windows_put(dinode, pin->it.start, pin->it.last);
out_unlock_dinode:
	mutex_unlock(&dinode->mutex);
out_unlock_inode:
	up_read(&inode->i_rwsem);
	/* The pin's reference on the inode goes with the pin. */
out_handle:
	daxpin_handle_free(ctx, handle);
out_uncharge:
	daxpin_uncharge(pin);
out_free:
	if (pin->dinode)
		daxpin_range_put(pin);
	else
		kmem_cache_free(daxpin_pin_cache, pin);
out_fdput:
	fdput(f);
	return ret;
}

int daxpin_cmd_unpin(struct daxpin_ucmd *ucmd)
{
	struct daxpin_unpin *cmd = ucmd->cmd;
	struct daxpin_ctx *ctx = ucmd->ctx;
	struct daxpin_range *pin;
	bool mine;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	/* A handle still being made (a reserved entry) reads as NULL. */
	pin = daxpin_range_get(ctx, cmd->handle);
	if (!pin)
		return -ENOENT;
	/*
	 * Another process's PIN of the same inode may hold the mutex while
	 * it faults a long range in: wait killably, the handle still there.
	 */
	if (mutex_lock_killable(&pin->dinode->mutex)) {
		daxpin_range_put(pin);
		return -EINTR;
	}
	/* Another UNPIN of the handle may have come first. */
	xa_lock(&ctx->pins);
	mine = xa_load(&ctx->pins, cmd->handle) == pin;
	if (mine)
		__xa_erase(&ctx->pins, cmd->handle);
	xa_unlock(&ctx->pins);
	if (mine) {
		atomic_dec(&ctx->nr_pins);
		trace_unpin(pin);
		__daxpin_range_end(pin, DAXPIN_STATE_UNPINNED, 0);
	}
	mutex_unlock(&pin->dinode->mutex);
	if (mine) {
		daxpin_event_forget(pin);
		/* The handle's reference. */
		daxpin_range_put(pin);
	}
	daxpin_range_put(pin);
	return mine ? 0 : -ENOENT;
}

/* The daxpin file's last reference is gone: no PIN can be under way. */
void daxpin_ctx_unpin_all(struct daxpin_ctx *ctx)
{
	struct daxpin_range *pin;
	unsigned long handle;

	xa_for_each(&ctx->pins, handle, pin) {
		daxpin_handle_free(ctx, handle);
		trace_unpin(pin);
		daxpin_range_unpin(pin);
	}
}

int daxpin_cmd_query(struct daxpin_ucmd *ucmd)
{
	struct daxpin_query *cmd = ucmd->cmd;
	struct daxpin_range *pin;

	if (cmd->flags)
		return -EOPNOTSUPP;
	pin = daxpin_range_get(ucmd->ctx, cmd->handle);
	if (!pin)
		return -ENOENT;

	spin_lock(&pin->dinode->lock);
	if (pin->state == DAXPIN_STATE_UNPINNED) {
		/* UNPIN of this handle is under way. */
		spin_unlock(&pin->dinode->lock);
		daxpin_range_put(pin);
		return -ENOENT;
	}
	cmd->out_state = pin->state;
	cmd->out_deadline_ns = pin->state == DAXPIN_STATE_RECALLED ?
			       pin->deadline_ns : 0;
	cmd->out_revoke_reason = pin->revoke_reason;
	spin_unlock(&pin->dinode->lock);
	cmd->out_offset = (u64)pin->it.start << PAGE_SHIFT;
	cmd->out_length = (u64)pin->npages << PAGE_SHIFT;
	cmd->out_mmap_offset = (u64)pin->cookie << DAXPIN_MMAP_SHIFT;
	cmd->out_pin_flags = pin->flags;
	daxpin_range_put(pin);
	return daxpin_ucmd_respond(ucmd, sizeof(*cmd));
}
