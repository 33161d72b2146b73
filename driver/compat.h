/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxpin: the differences between the kernel APIs daxpin is built against
 * (6.1 and 6.12 LTS), in one place. Each block says which change it
 * follows.
 */
#ifndef DAXPIN_COMPAT_H
#define DAXPIN_COMPAT_H

#include <linux/version.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#include <linux/filelock.h>
#endif

/* 6.12: struct fd is opaque, read through fd_file(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#define fd_file(f) ((f).file)
#endif

/* 6.8: eventfd_signal() lost its count argument. */
static inline void daxpin_eventfd_signal(struct eventfd_ctx *ctx)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

/* 6.3: vm_flags became read-only outside the vm_flags_*() helpers. */
static inline void daxpin_vm_flags_set(struct vm_area_struct *vma,
				       unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void daxpin_vm_flags_clear(struct vm_area_struct *vma,
					 unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/*
 * Whether someone other than @nr_pins of daxpin's own live pins holds a
 * reference to an fsdax page. Each of those pins holds one reference
 * (FOLL_GET) on it. Up to 6.14 an idle fsdax page has a reference count of
 * 1 (dax_layout_busy_page() looks for more than that); 6.15 gave fsdax
 * folios ordinary counts, idle at 0.
 */
static inline bool daxpin_page_held_beyond(struct page *page,
					   unsigned int nr_pins)
{
	int idle = LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0) ? 0 : 1;

	return page_ref_count(page) > idle + nr_pins;
}

/*
 * ->huge_fault() took an enum page_entry_size up to 6.5 and an order
 * since 6.6. DAXPIN_HUGE_FAULT_PMD(arg) says whether a call is for a PMD.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define DAXPIN_HUGE_FAULT_ARG		unsigned int order
#define DAXPIN_HUGE_FAULT_PMD		(order == PMD_SHIFT - PAGE_SHIFT)
#else
#define DAXPIN_HUGE_FAULT_ARG		enum page_entry_size pe_size
#define DAXPIN_HUGE_FAULT_PMD		(pe_size == PE_SIZE_PMD)
#endif

/* The mm's own choice of an unmapped area (6.10 made it a function). */
static inline unsigned long
daxpin_mm_get_unmapped_area(struct file *file, unsigned long addr,
			    unsigned long len, unsigned long pgoff,
			    unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
#else
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
#endif
}

/*
 * Layout leases. 6.3 moved them to linux/filelock.h; 6.9 split leases out
 * of struct file_lock into struct file_lease (common fields under ->c) with
 * their own struct lease_manager_operations. Unlocking calls lm_change
 * unconditionally, so it must be set (to lease_modify, as nfsd does).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#define DAXPIN_DEFINE_LEASE_OPS(name, break_fn)				\
static bool name##_lm_break(struct file_lease *fl)			\
{									\
	return break_fn(fl->c.flc_owner, &fl->fl_break_time);		\
}									\
static const struct lease_manager_operations name = {			\
	.lm_break = name##_lm_break,					\
	.lm_change = lease_modify,					\
}

static inline int daxpin_lease_take(struct file *file, void *owner,
				    const struct lease_manager_operations *ops)
{
	struct file_lease *fl = locks_alloc_lease();
	int ret;

	if (!fl)
		return -ENOMEM;
	fl->c.flc_flags = FL_LAYOUT;
	fl->c.flc_type = F_RDLCK;
	fl->c.flc_owner = owner;
	fl->c.flc_pid = current->tgid;
	fl->c.flc_file = file;
	fl->fl_lmops = ops;
	ret = vfs_setlease(file, F_RDLCK, &fl, NULL);
	if (fl)
		locks_free_lease(fl);
	return ret;
}
#else
#define DAXPIN_DEFINE_LEASE_OPS(name, break_fn)				\
static bool name##_lm_break(struct file_lock *fl)			\
{									\
	return break_fn(fl->fl_owner, &fl->fl_break_time);		\
}									\
static const struct lock_manager_operations name = {			\
	.lm_break = name##_lm_break,					\
	.lm_change = lease_modify,					\
}

static inline int daxpin_lease_take(struct file *file, void *owner,
				    const struct lock_manager_operations *ops)
{
	struct file_lock *fl = locks_alloc_lock();
	int ret;

	if (!fl)
		return -ENOMEM;
	fl->fl_flags = FL_LAYOUT;
	fl->fl_type = F_RDLCK;
	fl->fl_end = OFFSET_MAX;
	fl->fl_owner = owner;
	fl->fl_pid = current->tgid;
	fl->fl_file = file;
	fl->fl_lmops = ops;
	ret = vfs_setlease(file, F_RDLCK, &fl, NULL);
	if (fl)
		locks_free_lock(fl);
	return ret;
}
#endif

/* Drop a lease taken by daxpin_lease_take(); -EAGAIN if already gone. */
static inline int daxpin_lease_drop(struct file *file, void *owner)
{
	return vfs_setlease(file, F_UNLCK, NULL, &owner);
}

#endif /* DAXPIN_COMPAT_H */
