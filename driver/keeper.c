// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: keeper windows.
 *
 * Pinned pages alone do not hold a truncate off: dax_layout_busy_page()
 * only looks for busy pages when some VMA maps the file, and with the file
 * unmapped the filesystem frees blocks under live pins. So daxpin keeps the
 * file mapped itself: for every mm that pins a range, PROT_NONE windows of
 * DAXPIN_WINDOW_SIZE bytes cover the pinned ranges. They are mappings of
 * the shadow file, whose f_mapping is the inode's, so they sit in the
 * inode's i_mmap; nothing can ever fault them in.
 *
 * Each window carries an MMU interval notifier. A truncate, hole punch or
 * any other layout change zaps all mappings of the range before it waits
 * for busy pages; the zap reaches daxpin here, in the breaking task, before
 * it waits, on XFS and ext4 alike.
 *
 * The keeper holds its mm's mm_users, so the windows outlive the process
 * that pinned until the last pin relying on them is gone (including pins
 * whose pages an RDMA registration still holds). The windows cannot be
 * split or moved; if the holder unmaps one, its pins are revoked at once,
 * and those whose pages a registration still holds get a new keeper in the
 * same mm (daxpin_keeper_replace()), so the file stays mapped while they
 * drain.
 */
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "daxpin.h"

static vm_fault_t daxpin_window_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static void daxpin_window_close(struct vm_area_struct *vma)
{
	struct daxpin_window *window = vma->vm_private_data;
	struct daxpin_keeper *keeper = window->keeper;
	struct daxpin_inode *dinode = keeper->dinode;
	bool lost = false;

	spin_lock(&dinode->lock);
	if (window->live && !keeper->tearing_down && !window->lost) {
		window->lost = true;
		keeper->lost = true;
		dinode->nr_lost_windows++;
		lost = true;
	}
	spin_unlock(&dinode->lock);
	if (lost) {
		pr_warn_ratelimited("daxpin: pid %d unmapped a keeper window; revoking its pins\n",
				    task_tgid_nr(current));
		daxpin_inode_kick(dinode);
	}
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

/* Only keeper_window_create() maps the shadow file. */
static int daxpin_shadow_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct daxpin_inode *dinode = file->private_data;
	struct daxpin_window *window = READ_ONCE(dinode->pending_window);

	if (!window || window->keeper->mm != current->mm)
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
	 * Only a zap of the file's pages is news: protection changes come
	 * from writeback, an unmap of the window is handled by its close.
	 */
	if (range->event != MMU_NOTIFY_CLEAR)
		return true;
	start = max(range->start, window->addr);
	end = min(range->end, window->addr + DAXPIN_WINDOW_SIZE);
	if (start >= end)
		return true;
	first = (window->index << (DAXPIN_WINDOW_SHIFT - PAGE_SHIFT)) +
		((start - window->addr) >> PAGE_SHIFT);
	daxpin_recall_range(window->keeper->dinode, first,
			    first + ((end - start - 1) >> PAGE_SHIFT));
	return true;
}

static const struct mmu_interval_notifier_ops daxpin_window_mni_ops = {
	.invalidate = daxpin_window_invalidate,
};

/* Map window @index of the inode in current->mm. dinode->mutex held. */
static int daxpin_window_create(struct daxpin_keeper *keeper,
				unsigned long index)
{
	struct daxpin_inode *dinode = keeper->dinode;
	struct daxpin_window *window;
	unsigned long addr;
	int ret;

	window = daxpin_should_fail() ? NULL :
		 kzalloc(sizeof(*window), GFP_KERNEL_ACCOUNT);
	if (!window)
		return -ENOMEM;
	window->keeper = keeper;
	window->index = index;

	WRITE_ONCE(dinode->pending_window, window);
	addr = daxpin_should_fail() ? -ENOMEM :
	       vm_mmap(dinode->shadow, 0, DAXPIN_WINDOW_SIZE, PROT_NONE,
		       MAP_SHARED, (loff_t)index << DAXPIN_WINDOW_SHIFT);
	WRITE_ONCE(dinode->pending_window, NULL);
	if (IS_ERR_VALUE(addr)) {
		ret = (int)addr;
		goto out_free;
	}
	window->addr = addr;
	ret = daxpin_should_fail() ? -ENOMEM :
	      mmu_interval_notifier_insert(&window->mni, keeper->mm, addr,
					   DAXPIN_WINDOW_SIZE,
					   &daxpin_window_mni_ops);
	if (ret)
		goto out_unmap;
	ret = daxpin_should_fail() ? -ENOMEM :
	      xa_err(xa_store(&keeper->windows, index, window,
			      GFP_KERNEL_ACCOUNT));
	if (ret)
		goto out_remove;
	spin_lock(&dinode->lock);
	window->live = true;
	spin_unlock(&dinode->lock);
	return 0;

out_remove:
	mmu_interval_notifier_remove(&window->mni);
out_unmap:
	vm_munmap(addr, DAXPIN_WINDOW_SIZE);	/* not live: not "lost" */
out_free:
	kfree(window);
	return ret;
}

/*
 * Unmap a window, unless the holder did already. Runs with the keeper's
 * mm in use (kthread_use_mm). The check and the unmap are not atomic: a
 * holder that unmaps the window and maps something else at the same
 * address in between loses that mapping, which hurts only itself.
 */
static void daxpin_window_unmap(struct daxpin_window *window)
{
	struct mm_struct *mm = window->keeper->mm;
	struct vm_area_struct *vma;
	bool ours;

	mmap_read_lock(mm);
	vma = find_vma(mm, window->addr);
	ours = vma && vma->vm_start == window->addr &&
	       vma->vm_ops == &daxpin_window_vm_ops &&
	       vma->vm_private_data == window;
	mmap_read_unlock(mm);
	if (ours)
		vm_munmap(window->addr, DAXPIN_WINDOW_SIZE);
}

static void daxpin_keeper_teardown(struct work_struct *work)
{
	struct daxpin_keeper *keeper =
		container_of(work, struct daxpin_keeper, teardown);
	struct daxpin_inode *dinode = keeper->dinode;
	struct daxpin_window *window;
	unsigned long index;
	unsigned int lost = 0;

	kthread_use_mm(keeper->mm);
	xa_for_each(&keeper->windows, index, window) {
		mmu_interval_notifier_remove(&window->mni);
		if (window->lost)
			lost++;
		else
			daxpin_window_unmap(window);
		kfree(window);
	}
	kthread_unuse_mm(keeper->mm);
	xa_destroy(&keeper->windows);
	mmput(keeper->mm);

	spin_lock(&dinode->lock);
	dinode->nr_lost_windows -= lost;
	spin_unlock(&dinode->lock);
	kfree(keeper);
	daxpin_inode_put(dinode);
}

/*
 * The keeper of current->mm for @dinode, with windows covering
 * [@first, @first + @npages) pages, counted as one more user.
 * Called with dinode->mutex held.
 */
struct daxpin_keeper *daxpin_keeper_get(struct daxpin_inode *dinode,
					pgoff_t first, unsigned long npages)
{
	unsigned int shift = DAXPIN_WINDOW_SHIFT - PAGE_SHIFT;
	struct daxpin_keeper *keeper;
	unsigned long index;
	bool fresh = false;
	int ret;

	lockdep_assert_held(&dinode->mutex);
	list_for_each_entry(keeper, &dinode->keepers, node)
		if (keeper->mm == current->mm && !keeper->lost)
			goto found;

	keeper = daxpin_should_fail() ? NULL :
		 kzalloc(sizeof(*keeper), GFP_KERNEL_ACCOUNT);
	if (!keeper)
		return ERR_PTR(-ENOMEM);
	keeper->dinode = dinode;
	keeper->mm = current->mm;
	mmget(keeper->mm);
	xa_init(&keeper->windows);
	INIT_WORK(&keeper->teardown, daxpin_keeper_teardown);
	kref_get(&dinode->kref);
	list_add(&keeper->node, &dinode->keepers);
	fresh = true;
found:
	for (index = first >> shift; index <= (first + npages - 1) >> shift;
	     index++) {
		if (xa_load(&keeper->windows, index))
			continue;
		ret = daxpin_window_create(keeper, index);
		if (ret) {
			/* Windows made for nobody stay until the keeper goes. */
			if (fresh) {
				keeper->users = 1;
				daxpin_keeper_put(keeper);
			}
			return ERR_PTR(ret);
		}
	}
	keeper->users++;
	return keeper;
}

/*
 * @pin is revoked and still draining (a registration holds its pages), and
 * its keeper lost a window: map new windows for it in the same mm, from
 * this worker, so that a layout change keeps waiting for the pages. XFS
 * holds a breaker off with the lease meanwhile and looks for busy pages
 * again after that wait; ext4 can slip through in between.
 * Called with dinode->mutex held, from a worker.
 */
void daxpin_keeper_replace(struct daxpin_range *pin)
{
	struct daxpin_keeper *old = pin->keeper, *keeper;

	lockdep_assert_held(&pin->dinode->mutex);
	kthread_use_mm(old->mm);
	keeper = daxpin_keeper_get(pin->dinode, pin->it.start, pin->npages);
	kthread_unuse_mm(old->mm);
	if (IS_ERR(keeper)) {
		pr_warn_ratelimited("daxpin: no new keeper for a draining pin (%ld): the file may go unmapped under a registration\n",
				    PTR_ERR(keeper));
		return;
	}
	pin->keeper = keeper;
	daxpin_keeper_put(old);
}

/* One user fewer; the last one tears the windows down. dinode->mutex held. */
void daxpin_keeper_put(struct daxpin_keeper *keeper)
{
	struct daxpin_inode *dinode = keeper->dinode;

	lockdep_assert_held(&dinode->mutex);
	if (--keeper->users)
		return;
	list_del(&keeper->node);
	spin_lock(&dinode->lock);
	keeper->tearing_down = true;
	spin_unlock(&dinode->lock);
	queue_work(daxpin_wq, &keeper->teardown);
}
