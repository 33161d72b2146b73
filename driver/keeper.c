// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: keeper windows.
 *
 * Pinned pages alone do not hold a truncate off: up to 6.14,
 * dax_layout_busy_page() only looks for busy pages when some VMA maps the
 * file, and with the file unmapped the filesystem frees blocks under live
 * pins. So daxpin keeps every pinned file mapped itself: PROT_NONE windows
 * of DAXPIN_WINDOW_SIZE bytes of the file cover its pinned ranges. They are
 * mappings of the inode's shadow file, whose f_mapping is the inode's, so
 * they sit in the inode's i_mmap; nothing can ever fault them in.
 *
 * Each window carries an MMU interval notifier. A truncate, hole punch or
 * any other layout change zaps all mappings of the range before it waits
 * for busy pages; the zap reaches daxpin here, in the breaking task, before
 * it waits, on XFS and ext4 alike.
 *
 * Windows live in the host mm (host.c), out of every process's reach, one
 * set per inode whatever the number of pinning processes. A window is
 * counted by the pins that rely on it (draining pins too, while an RDMA
 * registration may still hold their pages) and goes with the last of them.
 * Its address is fixed by its slot, so its notifier is in place before the
 * window is mapped and stays until after it is unmapped: there is no moment
 * at which the window maps the file unwatched. The VMA owns the window
 * struct (vm_private_data) and frees it when it is closed.
 */
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/idr.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "daxpin.h"

/*
 * Test only (ignored unless test_hooks=1): a zap of a window sleeps this
 * long after it recalled, so holding that invalidation of the host mm open.
 * The selftests make a window meanwhile (see daxpin_window_map()).
 */
#define DAXPIN_TEST_ZAP_STALL_MAX_MS	10000
static unsigned int test_zap_stall_ms;
module_param(test_zap_stall_ms, uint, 0644);
MODULE_PARM_DESC(test_zap_stall_ms,
		 "Test only, with test_hooks=1: a zap of a keeper window sleeps this long after recalling, in ms (at most 10000)");

/*
 * Window slots: slot N is mapped at N << DAXPIN_WINDOW_SHIFT in the host,
 * below 2^47, where every x86-64 mm has room.
 */
#define DAXPIN_HOST_SLOTS	(1UL << (47 - DAXPIN_WINDOW_SHIFT))
static DEFINE_IDA(daxpin_window_slots);

/* The window the host thread is mapping; only the host thread uses it. */
static struct daxpin_window *daxpin_window_mapping;

static vm_fault_t daxpin_window_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static void daxpin_window_close(struct vm_area_struct *vma)
{
	struct daxpin_window *window = vma->vm_private_data;

	/* Only daxpin_window_teardown() unmaps, once the notifier is gone. */
	if (WARN_ON_ONCE(window->watched))
		return;
	kfree(window);
}

static int daxpin_window_may_split(struct vm_area_struct *vma,
				   unsigned long addr)
{
	return -EINVAL;
}

static int daxpin_window_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const struct vm_operations_struct daxpin_window_vm_ops = {
	.fault = daxpin_window_fault,
	.close = daxpin_window_close,
	.may_split = daxpin_window_may_split,
	.mremap = daxpin_window_mremap,
};

/* Only daxpin_window_map(), on the host thread, maps a shadow file. */
static int daxpin_shadow_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct daxpin_window *window = daxpin_window_mapping;

	if (!window || current->mm != daxpin_host_mm ||
	    window->dinode->shadow != file)
		return -ENODEV;
	vma->vm_private_data = window;
	vma->vm_ops = &daxpin_window_vm_ops;
	daxpin_vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND | VM_DONTCOPY |
			    VM_DONTDUMP);
	daxpin_vm_flags_clear(vma, VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC);
	return 0;
}

const struct file_operations daxpin_shadow_fops = {
	.owner = THIS_MODULE,
	.mmap = daxpin_shadow_mmap,
};

static bool daxpin_window_invalidate(struct mmu_interval_notifier *mni,
				     const struct mmu_notifier_range *range,
				     unsigned long cur_seq)
{
	struct daxpin_window *window =
		container_of(mni, struct daxpin_window, mni);
	unsigned long start, end;
	pgoff_t first;

	mmu_interval_set_seq(mni, cur_seq);
	/*
	 * Only a zap of the file's pages is news: nobody else can unmap,
	 * protect or advise a window in the host mm, and daxpin's own unmap
	 * comes after the notifier is gone.
	 */
	if (range->event != MMU_NOTIFY_CLEAR)
		return true;
	start = max(range->start, window->addr);
	end = min(range->end, window->addr + DAXPIN_WINDOW_SIZE);
	if (start >= end)
		return true;
	first = (window->index << (DAXPIN_WINDOW_SHIFT - PAGE_SHIFT)) +
		((start - window->addr) >> PAGE_SHIFT);
	daxpin_recall_range(window->dinode, first,
			    first + ((end - start - 1) >> PAGE_SHIFT));
	if (daxpin_test_hooks && READ_ONCE(test_zap_stall_ms) &&
	    mmu_notifier_range_blockable(range))
		msleep(min(READ_ONCE(test_zap_stall_ms),
			   DAXPIN_TEST_ZAP_STALL_MAX_MS));
	return true;
}

static const struct mmu_interval_notifier_ops daxpin_window_mni_ops = {
	.invalidate = daxpin_window_invalidate,
};

/* On the host thread: watch, then map, the window's slot. */
static int daxpin_window_map(void *arg)
{
	struct daxpin_window *window = arg;
	unsigned long addr;
	int ret;

	if (window->fail_watch)
		return -ENOMEM;
	ret = mmu_interval_notifier_insert(&window->mni, current->mm,
					   window->addr, DAXPIN_WINDOW_SIZE,
					   &daxpin_window_mni_ops);
	if (ret)
		return ret;
	window->watched = true;
	/*
	 * A notifier inserted while an invalidation of the host mm is under
	 * way (another file's layout change zapping its own window) waits on
	 * a deferred list until every invalidation under way has ended, and
	 * meanwhile hears none: a zap of this window in that time would
	 * recall nothing, and the layout change would wait for the pins
	 * with no deadline armed. Wait until it is in the tree (that is what
	 * mmu_interval_read_begin() waits for) before mapping the window.
	 */
	mmu_interval_read_begin(&window->mni);

	daxpin_window_mapping = window;
	if (window->fail_map)
		addr = -ENOMEM;
	else
		addr = vm_mmap(window->dinode->shadow, window->addr,
			       DAXPIN_WINDOW_SIZE, PROT_NONE,
			       MAP_SHARED | MAP_FIXED_NOREPLACE,
			       (loff_t)window->index << DAXPIN_WINDOW_SHIFT);
	daxpin_window_mapping = NULL;
	if (addr == window->addr)
		return 0;

	mmu_interval_notifier_remove(&window->mni);
	window->watched = false;
	if (!IS_ERR_VALUE(addr)) {
		/* Cannot happen: MAP_FIXED_NOREPLACE maps there or fails. */
		WARN_ON_ONCE(1);
		return -EINVAL;
	}
	return (int)addr;
}

/*
 * On the host thread: the window's last user went. Unwatch and unmap it;
 * the VMA's close frees it.
 */
static void daxpin_window_teardown(struct kthread_work *work)
{
	struct daxpin_window *window =
		container_of(work, struct daxpin_window, teardown);
	struct daxpin_inode *dinode = window->dinode;
	unsigned long addr = window->addr;
	int ret;

	mmu_interval_notifier_remove(&window->mni);
	window->watched = false;
	ret = vm_munmap(addr, DAXPIN_WINDOW_SIZE);
	if (WARN_ON_ONCE(ret))
		return;		/* leak the slot, never reuse a mapped one */
	ida_free(&daxpin_window_slots, addr >> DAXPIN_WINDOW_SHIFT);
	daxpin_inode_put(dinode);
}

static struct daxpin_window *daxpin_window_create(struct daxpin_inode *dinode,
						  unsigned long index)
{
	struct daxpin_window *window;
	int slot, ret;

	if (daxpin_should_fail())
		return ERR_PTR(-ENOMEM);
	window = kzalloc(sizeof(*window), GFP_KERNEL_ACCOUNT);
	if (!window)
		return ERR_PTR(-ENOMEM);
	/* Called from PIN: the pinner is charged, until the teardown. */
	window->owner = current_uid();
	ret = daxpin_user_charge(window->owner, DAXPIN_USER_WINDOWS);
	if (ret)
		goto out_free;
	if (daxpin_should_fail())
		slot = -ENOSPC;
	else
		slot = ida_alloc_range(&daxpin_window_slots, 1,
				       DAXPIN_HOST_SLOTS - 1, GFP_KERNEL);
	if (slot < 0) {
		ret = slot == -ENOSPC ? -ENOMEM : slot;
		goto out_uncharge;
	}
	window->dinode = dinode;
	window->index = index;
	window->addr = (unsigned long)slot << DAXPIN_WINDOW_SHIFT;
	window->users = 1;
	kthread_init_work(&window->teardown, daxpin_window_teardown);
	/* The host thread is not the caller: decide its fault points here. */
	window->fail_watch = daxpin_should_fail();
	window->fail_map = daxpin_should_fail();

	ret = daxpin_host_run(daxpin_window_map, window);
	if (ret)
		goto out_slot;
	kref_get(&dinode->kref);
	return window;

out_slot:
	ida_free(&daxpin_window_slots, slot);
out_uncharge:
	daxpin_user_uncharge(window->owner, DAXPIN_USER_WINDOWS);
out_free:
	kfree(window);
	return ERR_PTR(ret);
}

/*
 * The window's last user went: its owner is uncharged at once (its next
 * PIN may need the window it gave back), and the host thread unmaps it.
 */
static void daxpin_window_release(struct daxpin_window *window)
{
	daxpin_user_uncharge(window->owner, DAXPIN_USER_WINDOWS);
	daxpin_host_queue(&window->teardown);
}

static void daxpin_window_put(struct daxpin_window *window)
{
	if (--window->users)
		return;
	xa_erase(&window->dinode->windows, window->index);
	daxpin_window_release(window);
}

static unsigned long daxpin_window_index(pgoff_t index)
{
	return index >> (DAXPIN_WINDOW_SHIFT - PAGE_SHIFT);
}

/*
 * Count one more user of every window over pages [@first, @last] of the
 * inode, mapping those that are missing. Called with dinode->mutex held.
 */
int daxpin_windows_get(struct daxpin_inode *dinode, pgoff_t first,
		       pgoff_t last)
{
	unsigned long index, end = daxpin_window_index(last);
	struct daxpin_window *window;
	int ret;

	lockdep_assert_held(&dinode->mutex);
	for (index = daxpin_window_index(first); index <= end; index++) {
		window = xa_load(&dinode->windows, index);
		if (window) {
			window->users++;
			continue;
		}
		window = daxpin_window_create(dinode, index);
		if (IS_ERR(window)) {
			ret = PTR_ERR(window);
			goto out_put;
		}
		if (daxpin_should_fail())
			ret = -ENOMEM;
		else
			ret = xa_err(xa_store(&dinode->windows, index, window,
					      GFP_KERNEL_ACCOUNT));
		if (ret) {
			window->users = 0;
			daxpin_window_release(window);
			goto out_put;
		}
	}
	return 0;

out_put:
	while (index-- > daxpin_window_index(first))
		daxpin_window_put(xa_load(&dinode->windows, index));
	return ret;
}

/* One user fewer of each window over [@first, @last]. dinode->mutex held. */
void daxpin_windows_put(struct daxpin_inode *dinode, pgoff_t first,
			pgoff_t last)
{
	unsigned long index, end = daxpin_window_index(last);

	lockdep_assert_held(&dinode->mutex);
	for (index = daxpin_window_index(first); index <= end; index++)
		daxpin_window_put(xa_load(&dinode->windows, index));
}

/* Module unload: every window's teardown is queued; wait for them. */
void daxpin_windows_exit(void)
{
	daxpin_host_flush();
	WARN_ON_ONCE(!ida_is_empty(&daxpin_window_slots));
}
