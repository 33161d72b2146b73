// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: pins (struct daxpin_range) - making, ending and querying them.
 *
 * A range with blocks shared with another file is refused first. A pin is
 * then made in this order, and every step is undone in reverse:
 *   1. the caller is charged for the pages (pinned_vm, RLIMIT_MEMLOCK);
 *   2. a handle is allocated;
 *   3. the daxpin_inode is found or made (shadow file, layout lease);
 *   4. keeper windows cover the range in the caller's mm, so that from now
 *      on a truncate of the range zaps a mapping daxpin watches and waits
 *      for busy pages;
 *   5. the pin joins the inode's interval tree (recalls can find it);
 *   6. the range is faulted in for writing through a temporary mapping of
 *      the caller's file (allocating holes, converting unwritten extents)
 *      and its pages pinned; the temporary mapping
 *      goes again.
 * Step 6 comes after 4 so that no pinned page ever goes unprotected, and
 * after 5 so that a layout change that starts while pages are pinned is
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
#include <linux/interval_tree.h>

#include "daxpin.h"

static void daxpin_range_release(struct kref *kref)
{
	struct daxpin_range *pin = container_of(kref, struct daxpin_range, kref);

	WARN_ON_ONCE(pin->pages);
	daxpin_map_unpublish(pin);
	daxpin_map_forget_mappers(pin);
	daxpin_inode_put(pin->dinode);
	kfree(pin);
}

void daxpin_range_put(struct daxpin_range *pin)
{
	kref_put(&pin->kref, daxpin_range_release);
}

/* Look up a handle of @ctx and take a reference. */
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

	pinned = atomic64_add_return(pin->npages, &mm->pinned_vm);
	if ((pinned > limit && !capable(CAP_IPC_LOCK)) || daxpin_should_fail()) {
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
 * Every pinned page must be a DAX page that belongs to this file at this
 * index. A read fault over a hole or an unwritten extent maps the zero
 * page instead: a read-only pin cannot make it static. Shared (reflinked)
 * blocks are refused before the fault (daxpin_check_unshared()); a reflink
 * that races with PIN may still show here as a page of no one file.
 */
static int daxpin_check_pages(struct daxpin_range *pin,
			      struct address_space *mapping)
{
	unsigned long i;

	for (i = 0; i < pin->npages; i++) {
		struct page *page = pin->pages[i];

		if (!is_zone_device_page(page) || page->mapping != mapping ||
		    page->index != pin->it.start + i)
			return -ENODATA;
	}
	return 0;
}

/*
 * Fault the range in through a temporary shared mapping of the caller's
 * own file, as the caller (so that every mmap permission check applies),
 * and pin its pages. Writable pins fault for writing: that allocates holes,
 * zeroes and converts unwritten extents and unshares shared ones.
 */
static int daxpin_populate(struct daxpin_range *pin, struct file *file)
{
	bool write = pin->flags & DAXPIN_PIN_WRITE;
	unsigned long len = pin->npages << PAGE_SHIFT;
	unsigned long addr, done = 0;
	int ret = 0;
	long n;

	pin->pages = daxpin_should_fail() ? NULL :
		     kvcalloc(pin->npages, sizeof(*pin->pages), GFP_KERNEL_ACCOUNT);
	if (!pin->pages)
		return -ENOMEM;

	addr = daxpin_should_fail() ? -ENOMEM :
	       vm_mmap(file, 0, len, PROT_READ | (write ? PROT_WRITE : 0),
		       MAP_SHARED, (loff_t)pin->it.start << PAGE_SHIFT);
	if (IS_ERR_VALUE(addr)) {
		ret = (int)addr;
		goto out_free;
	}
	while (done < pin->npages) {
		n = pin_user_pages_fast(addr + (done << PAGE_SHIFT),
					min(pin->npages - done, 1UL << 18),
					write ? FOLL_WRITE : 0, pin->pages + done);
		if (n <= 0) {
			ret = n ? (int)n : -EFAULT;
			break;
		}
		done += n;
		/* Only a range still to fault in is worth giving up. */
		if (done < pin->npages && signal_pending(current)) {
			ret = -EINTR;
			break;
		}
	}
	vm_munmap(addr, len);
	if (!ret)
		ret = daxpin_check_pages(pin, file->f_mapping);
	if (!ret)
		return 0;

	unpin_user_pages(pin->pages, done);
out_free:
	kvfree(pin->pages);
	pin->pages = NULL;
	return ret;
}

/* Whether any page of the pin is still referenced by someone else. */
bool daxpin_pages_busy(struct daxpin_range *pin)
{
	unsigned long i;

	for (i = 0; i < pin->npages; i++)
		if (!daxpin_page_idle(pin->pages[i]))
			return true;
	return false;
}

/*
 * Release the pin's pages. If someone else (an RDMA registration made
 * through a daxpin mapping) still holds some, the pin is kept on the
 * inode's drain list with its keeper: the file must stay mapped, or a
 * truncate would no longer wait for those pages. For a revoked pin, with
 * kill_on_stuck, the processes that mapped it are killed, which ends their
 * registrations; otherwise the layout change waits for them.
 * Called with dinode->mutex held.
 */
static void daxpin_release_pages(struct daxpin_range *pin)
{
	unpin_user_pages(pin->pages, pin->npages);
	daxpin_uncharge(pin);
	if (daxpin_pages_busy(pin)) {
		kref_get(&pin->kref);
		spin_lock(&pin->dinode->lock);
		list_add_tail(&pin->work_node, &pin->dinode->draining);
		pin->dinode->nr_draining++;
		spin_unlock(&pin->dinode->lock);
		if (pin->state == DAXPIN_STATE_REVOKED && daxpin_kill_on_stuck)
			daxpin_map_kill_mappers(pin);
		mod_delayed_work(daxpin_wq, &pin->dinode->drain_work,
				 msecs_to_jiffies(DAXPIN_DRAIN_POLL_MS));
		return;
	}
	daxpin_range_drained(pin);
}

/* The pages are idle: let the keeper go. Called with dinode->mutex held. */
void daxpin_range_drained(struct daxpin_range *pin)
{
	kvfree(pin->pages);
	pin->pages = NULL;
	daxpin_keeper_put(pin->keeper);
	pin->keeper = NULL;
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
		daxpin_event_queue(pin, DAXPIN_EVENT_REVOKED);
	}
	spin_unlock(&dinode->lock);
	up_write(&pin->map_lock);

	if (was_live) {
		/* Nothing maps the pages any more once this returns. */
		daxpin_map_zap(pin);
		if (pin->pages)
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

static int daxpin_check_file(struct file *file, struct daxpin_pin *cmd)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return -EINVAL;
	if (!IS_DAX(inode))
		return -ENODEV;
	if (!(file->f_mode & FMODE_READ))
		return -EACCES;
	if ((cmd->flags & DAXPIN_PIN_WRITE) && !(file->f_mode & FMODE_WRITE))
		return -EACCES;
	if (cmd->offset + cmd->length > (u64)i_size_read(inode))
		return -ENXIO;
	return 0;
}

/* Extents per FIEMAP call: one page of the caller's memory holds them. */
#define DAXPIN_FIEMAP_BATCH	(PAGE_SIZE / sizeof(struct fiemap_extent))

/*
 * Refuse a range with blocks shared with another file (reflink): a store
 * through the pin would land in the other file too, and the copy-on-write
 * fault that would unshare a block leaves it, on 6.1, marked shared after
 * it is freed (a WARNING when the block is used again). The filesystem
 * tells through FIEMAP, which copies its answer to user memory: a scratch
 * page in the caller's mm (this is the caller's ioctl) takes it.
 * Returns 0, -ENODATA if a block is shared, or an error.
 */
static int daxpin_check_unshared(struct file *file, u64 start, u64 len)
{
	struct fiemap_extent_info fie = { .fi_extents_max = DAXPIN_FIEMAP_BATCH };
	struct inode *inode = file_inode(file);
	struct fiemap_extent ext = { };
	u64 end = start + len, next;
	unsigned long buf;
	unsigned int i;
	int ret = 0;

	/* Without remap_file_range (ext4) nothing can share its blocks. */
	if (!file->f_op->remap_file_range || !inode->i_op->fiemap)
		return 0;
	buf = vm_mmap(NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(buf))
		return (int)buf;
	fie.fi_extents_start = (struct fiemap_extent __user *)buf;
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
	vm_munmap(buf, PAGE_SIZE);
	return ret;
}

int daxpin_cmd_pin(struct daxpin_ucmd *ucmd)
{
	struct daxpin_pin *cmd = ucmd->cmd;
	struct daxpin_ctx *ctx = ucmd->ctx;
	struct daxpin_range *pin;
	struct daxpin_inode *dinode;
	unsigned int deadline_ms;
	struct fd f;
	u32 handle;
	int ret;

	ret = daxpin_check_pin_args(cmd, &deadline_ms);
	if (ret)
		return ret;
	f = fdget(cmd->file_fd);
	if (!fd_file(f))
		return -EBADF;
	ret = daxpin_check_file(fd_file(f), cmd);
	if (!ret)
		ret = daxpin_check_unshared(fd_file(f), cmd->offset,
					    cmd->length);
	if (ret)
		goto out_fdput;

	pin = daxpin_should_fail() ? NULL :
	      kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin) {
		ret = -ENOMEM;
		goto out_fdput;
	}
	kref_init(&pin->kref);
	init_rwsem(&pin->map_lock);
	INIT_LIST_HEAD(&pin->ev_node);
	INIT_LIST_HEAD(&pin->work_node);
	xa_init(&pin->mappers);
	pin->ctx = ctx;
	pin->flags = cmd->flags;
	pin->deadline_ms = deadline_ms;
	pin->npages = cmd->length >> PAGE_SHIFT;
	pin->it.start = cmd->offset >> PAGE_SHIFT;
	pin->it.last = pin->it.start + pin->npages - 1;
	pin->state = DAXPIN_STATE_ACTIVE;

	ret = daxpin_charge(pin);
	if (ret)
		goto out_free;

	mutex_lock(&ctx->lock);
	ret = daxpin_should_fail() ? -ENOMEM :
	      xa_alloc(&ctx->pins, &handle, XA_ZERO_ENTRY,
		       XA_LIMIT(1, daxpin_max_pins), GFP_KERNEL_ACCOUNT);
	if (ret) {
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto out_unlock;
	}
	pin->handle = handle;

	dinode = daxpin_inode_get(fd_file(f));
	if (IS_ERR(dinode)) {
		ret = PTR_ERR(dinode);
		goto out_erase;
	}
	pin->dinode = dinode;

	mutex_lock(&dinode->mutex);
	pin->keeper = daxpin_keeper_get(dinode, pin->it.start, pin->npages);
	if (IS_ERR(pin->keeper)) {
		ret = PTR_ERR(pin->keeper);
		pin->keeper = NULL;
		goto out_inode;
	}
	daxpin_inode_insert_pin(pin);
	ret = daxpin_populate(pin, fd_file(f));
	if (ret)
		goto out_remove;
	mutex_unlock(&dinode->mutex);
	ret = daxpin_map_publish(pin);
	if (ret)
		goto out_end;

	cmd->out_handle = handle;
	cmd->out_mmap_offset = (u64)pin->cookie << DAXPIN_MMAP_SHIFT;
	ret = daxpin_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto out_end;
	xa_store(&ctx->pins, handle, pin, GFP_KERNEL);
	mutex_unlock(&ctx->lock);
	fdput(f);
	return 0;

out_end:
	/* Nobody learnt the handle: end the pin as if it was never made. */
	xa_erase(&ctx->pins, handle);
	mutex_unlock(&ctx->lock);
	daxpin_range_unpin(pin);
	goto out_fdput;

out_remove:
	spin_lock(&dinode->lock);
	interval_tree_remove(&pin->it, &dinode->pins);
	pin->state = DAXPIN_STATE_UNPINNED;
	spin_unlock(&dinode->lock);
	daxpin_event_forget(pin);
	daxpin_keeper_put(pin->keeper);
out_inode:
	mutex_unlock(&dinode->mutex);
	/* The pin's reference on the inode goes with the pin. */
out_erase:
	xa_erase(&ctx->pins, handle);
out_unlock:
	mutex_unlock(&ctx->lock);
	daxpin_uncharge(pin);
out_free:
	if (pin->dinode)
		daxpin_range_put(pin);
	else
		kfree(pin);
out_fdput:
	fdput(f);
	return ret;
}

int daxpin_cmd_unpin(struct daxpin_ucmd *ucmd)
{
	struct daxpin_unpin *cmd = ucmd->cmd;
	struct daxpin_ctx *ctx = ucmd->ctx;
	struct daxpin_range *pin;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	/* A handle still being made (a reserved entry) reads as NULL. */
	mutex_lock(&ctx->lock);
	pin = xa_load(&ctx->pins, cmd->handle);
	if (pin)
		xa_erase(&ctx->pins, cmd->handle);
	mutex_unlock(&ctx->lock);
	if (!pin)
		return -ENOENT;
	daxpin_range_unpin(pin);
	return 0;
}

void daxpin_ctx_unpin_all(struct daxpin_ctx *ctx)
{
	struct daxpin_range *pin;
	unsigned long handle;

	xa_for_each(&ctx->pins, handle, pin) {
		xa_erase(&ctx->pins, handle);
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
