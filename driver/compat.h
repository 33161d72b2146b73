/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxpin: the differences between the kernel APIs daxpin is built against
 * (6.1 and 6.12 LTS), in one place. Each block says which change it
 * follows.
 */
#ifndef DAXPIN_COMPAT_H
#define DAXPIN_COMPAT_H

#include <linux/version.h>
#include <linux/capability.h>
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
 * References on fsdax pages. Up to 6.14 each page is counted on its own,
 * and an idle one has a count of 1 (dax_layout_busy_page() looks for more
 * than that); mappings of it take no reference. 6.15 made a DAX entry one
 * folio (compound for a PMD entry), counted as a whole, idle at 0, with a
 * reference per page table entry mapping it: dax_busy_page() looks at
 * folio_ref_count() - folio_mapcount().
 *
 * daxpin_page_ref_unit() gives the pages counted together with @page:
 * @page is page @skip of @nr. daxpin_page_refs() gives the references on
 * them beyond an idle, unmapped page's.
 */
#define DAXPIN_FOLIO_REFS	(LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0))

static inline void daxpin_page_ref_unit(struct page *page, unsigned long *skip,
					unsigned long *nr)
{
	struct folio *folio = page_folio(page);

	if (DAXPIN_FOLIO_REFS) {
		*skip = folio_page_idx(folio, page);
		*nr = folio_nr_pages(folio);
	} else {
		*skip = 0;
		*nr = 1;
	}
}

static inline long daxpin_page_refs(struct page *page)
{
	struct folio *folio = page_folio(page);

	if (DAXPIN_FOLIO_REFS)
		return folio_ref_count(folio) - folio_mapcount(folio);
	return page_ref_count(page) - 1;
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

/*
 * The mm's own choice of an unmapped area: a method of the mm up to 6.9,
 * then mm_get_unmapped_area(mm, ...), which later lost its mm argument
 * (always current->mm). Kbuild tells which (DAXPIN_GET_UNMAPPED_AREA_HAS_MM).
 */
static inline unsigned long
daxpin_mm_get_unmapped_area(struct file *file, unsigned long addr,
			    unsigned long len, unsigned long pgoff,
			    unsigned long flags)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
#elif defined(DAXPIN_GET_UNMAPPED_AREA_HAS_MM)
	return mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags);
#else
	return mm_get_unmapped_area(file, addr, len, pgoff, flags);
#endif
}

/*
 * How a daxpin mapping maps a pin, and whether a pinning (non-ODP)
 * ibv_reg_mr() can register it. Up to 6.14, a VM_MIXEDMAP VMA with
 * devmap entries (a pfn_t marked PFN_DEV | PFN_MAP), which GUP can take
 * long-term. 6.15 made fsdax folios refuse every long-term pin, whatever
 * maps them, and a FOLL_LONGTERM GUP through a normal or devmap entry, or
 * a special PMD, then retries without end (measured: ibv_reg_mr() of a
 * PMD-mapped pin never returned). So from 6.15 on the VMA is VM_PFNMAP,
 * which GUP refuses whole and at once (EFAULT), whatever its entries.
 * Later pfn_t went (Kbuild sees linux/pfn_t.h gone): the insert functions
 * take a plain pfn.
 */
#if defined(DAXPIN_HAVE_PFN_T) && LINUX_VERSION_CODE < KERNEL_VERSION(6, 15, 0)
#include <linux/pfn_t.h>
#define DAXPIN_MAP_REGISTRABLE	true
#define DAXPIN_MAP_VM_FLAGS	VM_MIXEDMAP
#define daxpin_map_pfn(pfn)	__pfn_to_pfn_t(pfn, PFN_DEV | PFN_MAP)
#else
#define DAXPIN_MAP_REGISTRABLE	false
#define DAXPIN_MAP_VM_FLAGS	VM_PFNMAP
#ifdef DAXPIN_HAVE_PFN_T
#include <linux/pfn_t.h>
#define daxpin_map_pfn(pfn)	__pfn_to_pfn_t(pfn, 0)
#else
#define daxpin_map_pfn(pfn)	(pfn)
#endif
#endif

/*
 * A VM_MIXEDMAP mapping gets devmap entries, which GUP takes; a VM_PFNMAP
 * one special entries, which it refuses (a pin whose holder may not hold
 * the file, or any pin from 6.15 on).
 */
static inline vm_fault_t daxpin_map_insert(struct vm_area_struct *vma,
					   unsigned long addr,
					   unsigned long pfn)
{
	if (vma->vm_flags & VM_MIXEDMAP)
		return vmf_insert_mixed(vma, addr, daxpin_map_pfn(pfn));
	return vmf_insert_pfn(vma, addr, pfn);
}

/*
 * Whether a 2 MiB entry may map a pin into @vma: up to 6.14 a PMD can be
 * devmap but not special, and GUP-fast takes a devmap PMD whatever the
 * VMA's flags, so a VM_PFNMAP mapping of a registrable kernel maps 4 KiB
 * at a time. From 6.15 on PMDs of a VM_PFNMAP mapping are special.
 */
static inline bool daxpin_map_huge_ok(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_MIXEDMAP) || !DAXPIN_MAP_REGISTRABLE;
}

/*
 * get_user_pages() with the mmap_lock held by the caller; 6.5 dropped its
 * vmas argument.
 */
static inline long daxpin_get_user_pages(unsigned long start,
					 unsigned long nr, unsigned int flags,
					 struct page **pages)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	return get_user_pages(start, nr, flags, pages);
#else
	return get_user_pages(start, nr, flags, pages, NULL);
#endif
}

/*
 * Whether the caller could change @file's layout itself: write permission
 * on it (it could truncate it), or the right to lease it (owner, or
 * CAP_LEASE, as generic_setlease() asks). The idmapped-mount argument
 * became a struct mnt_idmap in 6.3.
 */
static inline bool daxpin_may_hold(struct file *file)
{
	struct inode *inode = file_inode(file);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	struct mnt_idmap *idmap = file_mnt_idmap(file);
#else
	struct user_namespace *idmap = file_mnt_user_ns(file);
#endif

	return !inode_permission(idmap, inode, MAY_WRITE) ||
	       inode_owner_or_capable(idmap, inode) || capable(CAP_LEASE);
}

/*
 * Whether @page is the page of @mapping at @index. Up to 6.14 every fsdax
 * page carries its own ->mapping and ->index; since, a DAX entry is one
 * folio (compound for a PMD entry) and only the folio carries them (and
 * struct page has no ->index any more). page_folio() of an order-0 page is
 * the page itself, so the folio form is right on every kernel. Racy reads:
 * the callers hold a reference on the page and recheck under their locks.
 */
static inline bool daxpin_page_is_at(struct page *page,
				     struct address_space *mapping,
				     pgoff_t index)
{
	struct folio *folio = page_folio(page);

	return READ_ONCE(folio->mapping) == mapping &&
	       READ_ONCE(folio->index) + folio_page_idx(folio, page) == index;
}

/*
 * Layout leases. 6.3 moved them to linux/filelock.h; 6.9 split leases out
 * of struct file_lock into struct file_lease (common fields under ->c) with
 * their own struct lease_manager_operations. Unlocking calls lm_change
 * unconditionally, so it must be set (to lease_modify, as nfsd does).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
/*
 * Later, generic_setlease() asks every lease manager, unconditionally,
 * whether an open of the file conflicts with its lease (lm_open_conflict;
 * Kbuild sees the member). No open conflicts with a layout lease: it is
 * about the blocks, not the opens (nfsd's layouts say the same).
 */
#ifdef DAXPIN_LEASE_HAS_OPEN_CONFLICT
static inline int daxpin_lm_open_conflict(struct file *file, int arg)
{
	return 0;
}

#define DAXPIN_LM_OPEN_CONFLICT	.lm_open_conflict = daxpin_lm_open_conflict,
#else
#define DAXPIN_LM_OPEN_CONFLICT
#endif

#define DAXPIN_DEFINE_LEASE_OPS(name, break_fn)				\
static bool name##_lm_break(struct file_lease *fl)			\
{									\
	return break_fn(fl->c.flc_owner, &fl->fl_break_time);		\
}									\
static const struct lease_manager_operations name = {			\
	.lm_break = name##_lm_break,					\
	.lm_change = lease_modify,					\
	DAXPIN_LM_OPEN_CONFLICT						\
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

/*
 * dma-buf exporters tell dynamic importers to move with
 * dma_buf_move_notify(), renamed dma_buf_invalidate_mappings() in 7.x.
 * 7.x tells only the attachments that can be revoked, pinned or not
 * (dma_buf_attach_revocable(): the importer has invalidate_mappings);
 * 6.x tells every dynamic attachment, those that pinned too (an RDMA
 * registration of a dma-buf pins it and warns when told), and pins every
 * mapping of a dynamic importer itself without CONFIG_DMABUF_MOVE_NOTIFY.
 * Its symbols are in the DMA_BUF namespace, named by a string since 6.13.
 */
#ifdef DAXPIN_DMA_BUF_INVALIDATE_MAPPINGS
#define DAXPIN_DMA_BUF_REVOCABLE
#endif
#ifdef DAXPIN_IMPORT_NS_IS_STRING
#define DAXPIN_IMPORT_DMA_BUF_NS	MODULE_IMPORT_NS("DMA_BUF")
#else
#define DAXPIN_IMPORT_DMA_BUF_NS	MODULE_IMPORT_NS(DMA_BUF)
#endif

#endif /* DAXPIN_COMPAT_H */
