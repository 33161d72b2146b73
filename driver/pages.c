// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: the pages a pin holds, kept as runs.
 *
 * PIN faults its range in through a temporary shared mapping of the file
 * and takes one reference per DAX entry: dax_layout_busy_page() finds an
 * entry busy if any of its pages has an extra reference. Where the file
 * system mapped 2 MiB at once - a PMD entry: a 2 MiB-aligned extent under a
 * 2 MiB-aligned part of the pin - that is one reference per 512 pages;
 * elsewhere one per page. The pin keeps its pages as runs: consecutive
 * pages of the range on consecutive pfns, in entries of one order, each
 * entry referenced at its first page. A 1 GiB pin of a 2 MiB-aligned file
 * is a few runs and 512 references, not 262,144 of each.
 *
 * The references are FOLL_GET, not FOLL_PIN: nothing DMAs through them,
 * and a reflink that races with PIN can leave DAX copy-on-write pages in
 * the range, which look anonymous and not exclusive to GUP; with FOLL_PIN
 * GUP then loops on an unshare fault a DAX mapping never performs (6.12)
 * or trips VM_BUG_ON_PAGE (6.1 with CONFIG_DEBUG_VM). With FOLL_GET it
 * hands such a page back, and the check below refuses it.
 */
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/moduleparam.h>
#include <linux/pgtable.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/statfs.h>

#include "daxpin.h"

#define DAXPIN_PMD_PAGES	BIT(DAXPIN_PMD_ORDER)

/* The page of @pin at @index (its first page is index 0), and its run. */
static struct daxpin_run *daxpin_run_at(struct daxpin_range *pin,
					unsigned long index)
{
	unsigned int lo = 0, hi = pin->nr_runs;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		struct daxpin_run *run = &pin->runs[mid];

		if (index < run->first)
			hi = mid;
		else if (index >= run->first + run->nr)
			lo = mid + 1;
		else
			return run;
	}
	return NULL;
}

/* The pfn of page @index of @pin, which must be in its range. */
unsigned long daxpin_pages_pfn(struct daxpin_range *pin, unsigned long index)
{
	struct daxpin_run *run = daxpin_run_at(pin, index);

	return run->pfn + (index - run->first);
}

/*
 * Whether pages [@index, @index + 512) of @pin are one 2 MiB DAX entry;
 * its first pfn in *@pfn if so.
 */
bool daxpin_pages_pmd(struct daxpin_range *pin, unsigned long index,
		      unsigned long *pfn)
{
	struct daxpin_run *run = daxpin_run_at(pin, index);

	if (!run || run->order != DAXPIN_PMD_ORDER ||
	    !IS_ALIGNED(index - run->first, DAXPIN_PMD_PAGES))
		return false;
	*pfn = run->pfn + (index - run->first);
	return true;
}

/*
 * How many references @pin holds on its pages [@lo, @hi] (indices in the
 * pin): one on the first page of each DAX entry, so one per entry that
 * starts there.
 */
static unsigned long daxpin_pages_refs_in(struct daxpin_range *pin,
					  unsigned long lo, unsigned long hi)
{
	unsigned int r, lo_run = 0, hi_run = pin->nr_runs;
	unsigned long n = 0;

	/* The first run that ends after @lo. */
	while (lo_run < hi_run) {
		unsigned int mid = lo_run + (hi_run - lo_run) / 2;

		if (pin->runs[mid].first + pin->runs[mid].nr <= lo)
			lo_run = mid + 1;
		else
			hi_run = mid;
	}
	for (r = lo_run; r < pin->nr_runs && pin->runs[r].first <= hi; r++) {
		struct daxpin_run *run = &pin->runs[r];
		unsigned long a = max_t(unsigned long, lo, run->first);
		unsigned long b = min_t(unsigned long, hi,
					run->first + run->nr - 1);
		unsigned long size = 1UL << run->order;

		/* Entry starts in [a, b]: run->first + k * size. */
		a = run->first + round_up(a - run->first, size);
		if (a <= b)
			n += (b - a) / size + 1;
	}
	return n;
}

/*
 * Test only (ignored unless test_hooks=1): the most pages one run holds,
 * so that the selftests see pins cut into many runs without the 1 TiB of
 * contiguous pmem a full run takes.
 */
static unsigned int test_run_max_pages;
module_param(test_run_max_pages, uint, 0644);
MODULE_PARM_DESC(test_run_max_pages,
		 "Test only, with test_hooks=1: the most pages one run of a pin holds (rounded down to 512; 0: the field's limit)");

/*
 * The most pages a run holds: what its @nr field can count, in whole
 * 2 MiB entries, so that a PMD run never ends mid-entry.
 */
static unsigned long daxpin_run_max_pages(void)
{
	unsigned long max = DAXPIN_RUN_MAX_PAGES;
	unsigned int test = READ_ONCE(test_run_max_pages);

	if (daxpin_test_hooks && test)
		max = clamp_t(unsigned long, round_down(test, DAXPIN_PMD_PAGES),
			      DAXPIN_PMD_PAGES, max);
	return max;
}

/*
 * Test only (ignored unless test_hooks=1): PIN sleeps this long after it
 * mapped the range and before it faults it in, so that a selftest can
 * replace the temporary mapping meanwhile (daxpin_own_mapping()).
 */
#define DAXPIN_TEST_STALL_MAX_MS	10000
static unsigned int test_populate_stall_ms;
module_param(test_populate_stall_ms, uint, 0644);
MODULE_PARM_DESC(test_populate_stall_ms,
		 "Test only, with test_hooks=1: PIN sleeps this long between mapping its range and faulting it in, in ms (at most 10000)");

/* Append @nr pages at @pfn, in entries of @order, to @pin's runs. */
static int daxpin_runs_add(struct daxpin_range *pin, unsigned long pfn,
			   unsigned long nr, unsigned int order)
{
	struct daxpin_run *last = pin->nr_runs ?
		&pin->runs[pin->nr_runs - 1] : NULL;
	u32 first = last ? last->first + last->nr : 0;
	size_t cap = pin->runs_size / sizeof(*pin->runs);
	struct daxpin_run *runs;

	/* A pin's page index fits a run's @first. */
	BUILD_BUG_ON(DAXPIN_MAX_PIN_BYTES >> PAGE_SHIFT > U32_MAX);
	if (last && last->order == order && last->pfn + last->nr == pfn &&
	    nr <= daxpin_run_max_pages() - last->nr) {
		last->nr += nr;
		return 0;
	}
	if (pin->nr_runs == cap) {
		cap = cap ? cap * 2 : 1;
		if (daxpin_should_fail())
			return -ENOMEM;
		runs = kvmalloc_array(cap, sizeof(*runs),
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!runs)
			return -ENOMEM;
		if (pin->nr_runs)
			memcpy(runs, pin->runs, pin->nr_runs * sizeof(*runs));
		kvfree(pin->runs);
		pin->runs = runs;
		WRITE_ONCE(pin->runs_size, cap * sizeof(*runs));
	}
	pin->runs[pin->nr_runs++] = (struct daxpin_run){
		.pfn = pfn, .first = first, .nr = nr, .order = order,
	};
	return 0;
}

/* Drop the references of @pin's runs. */
void daxpin_pages_put(struct daxpin_range *pin)
{
	unsigned int r;
	unsigned long i;

	for (r = 0; r < pin->nr_runs; r++) {
		struct daxpin_run *run = &pin->runs[r];

		for (i = 0; i < run->nr; i += 1UL << run->order)
			put_page(pfn_to_page(run->pfn + i));
		cond_resched();
	}
}

/* Free the runs (their references are dropped). */
void daxpin_pages_free(struct daxpin_range *pin)
{
	kvfree(pin->runs);
	pin->runs = NULL;
	pin->nr_runs = 0;
	WRITE_ONCE(pin->runs_size, 0);
}

/*
 * Whether @addr of the current mm maps the file with a PMD leaf at @pfn: a
 * 2 MiB DAX entry of the file that begins at @pfn. GUP does not say how
 * big a mapping it found, so look at the page table. The caller holds the
 * mmap_lock and checked that @addr is in its own mapping of the file
 * (daxpin_own_mapping()); PIN holds i_rwsem, so the file's DAX entries are
 * not removed or replaced meanwhile, and a 2 MiB mapping of the file is
 * only ever made from a 2 MiB entry. Anything else (a PMD gone meanwhile)
 * only makes the answer "no", and PIN then takes a reference on every
 * page, which holds the layout as well.
 */
static bool daxpin_pmd_maps(unsigned long addr, unsigned long pfn)
{
	struct mm_struct *mm = current->mm;
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;
	pmd_t pmd;

	/* Not mmap_assert_locked(): with CONFIG_DEBUG_VM it needs dump_mm(). */
	lockdep_assert_held(&mm->mmap_lock);
	if (!IS_ALIGNED(addr, PMD_SIZE))
		return false;
	pgd = pgd_offset(mm, addr);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return false;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		return false;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || pud_leaf(*pud) || pud_bad(*pud))
		return false;
	pmd = READ_ONCE(*pmd_offset(pud, addr));
	return pmd_present(pmd) && pmd_leaf(pmd) && pmd_pfn(pmd) == pfn;
}

/*
 * Whether [@addr, @addr + @nr pages) of the current mm is still PIN's
 * temporary mapping: a shared mapping of the file (@mapping) at file page
 * @pgoff. The mapping is at an address the caller can predict, and
 * another thread may have unmapped it and mapped something else there: a
 * userfaultfd or FUSE region, whose faults would wait for that thread,
 * while PIN holds the file's i_rwsem and its inode's mutex - which every
 * layout change of the file, the owner's truncate among them, then waits
 * for, uninterruptibly. So PIN faults only with the mmap_lock held from
 * this check on: only the file system's own DAX faults. Another shared
 * mapping of the same file at the same offset would do as well.
 */
static bool daxpin_own_mapping(unsigned long addr, unsigned long nr,
			       struct address_space *mapping, pgoff_t pgoff)
{
	struct vm_area_struct *vma = vma_lookup(current->mm, addr);

	lockdep_assert_held(&current->mm->mmap_lock);
	/* VM_MAYSHARE: a shared mapping of a read-only file has no VM_SHARED. */
	return vma && vma->vm_file && vma->vm_file->f_mapping == mapping &&
	       (vma->vm_flags & VM_MAYSHARE) &&
	       addr + (nr << PAGE_SHIFT) <= vma->vm_end &&
	       vma->vm_pgoff + ((addr - vma->vm_start) >> PAGE_SHIFT) == pgoff;
}

/*
 * Every page taken must be a DAX page that belongs to the file at its
 * index. A read fault over a hole or an unwritten extent maps the zero
 * page instead: a read-only pin cannot make it static. A reflink that
 * races with PIN can show here as a page of no one file (->mapping is
 * PAGE_MAPPING_DAX_COW).
 */
static bool daxpin_page_is_files(struct page *page,
				 struct address_space *mapping, pgoff_t index)
{
	return is_zone_device_page(page) &&
	       daxpin_page_is_at(page, mapping, index);
}

/*
 * Take references on the pages of [@addr, @addr + @nr pages), a part of
 * the temporary mapping at page @index of the pin (file offset @pgoff),
 * one per entry, and add them to the runs. @batch has room for
 * DAXPIN_PMD_PAGES pages.
 */
static long daxpin_pages_take(struct daxpin_range *pin, struct page **batch,
			      unsigned long addr, pgoff_t pgoff,
			      unsigned long nr, unsigned int gup_flags,
			      struct address_space *mapping)
{
	struct mm_struct *mm = current->mm;
	unsigned long pfn;
	long n, i;
	int ret;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	if (!daxpin_own_mapping(addr, nr, mapping, pgoff)) {
		mmap_read_unlock(mm);
		return -EAGAIN;
	}
	/*
	 * A 2 MiB-aligned chunk: fault its first page; if that made a PMD
	 * entry, its one reference holds the whole entry.
	 */
	if (nr == DAXPIN_PMD_PAGES && IS_ALIGNED(pgoff, DAXPIN_PMD_PAGES)) {
		n = daxpin_get_user_pages(addr, 1, gup_flags, batch);
		if (n <= 0) {
			mmap_read_unlock(mm);
			return n ? n : -EFAULT;
		}
		pfn = page_to_pfn(batch[0]);
		if (daxpin_pmd_maps(addr, pfn)) {
			mmap_read_unlock(mm);
			/* Its first and last pages must be the file's. */
			if (!daxpin_page_is_files(batch[0], mapping, pgoff) ||
			    !daxpin_page_is_files(pfn_to_page(pfn + nr - 1),
						  mapping, pgoff + nr - 1)) {
				put_page(batch[0]);
				return -ENODATA;
			}
			ret = daxpin_runs_add(pin, pfn, nr, DAXPIN_PMD_ORDER);
			if (ret) {
				put_page(batch[0]);
				return ret;
			}
			return nr;
		}
		n = daxpin_get_user_pages(addr + PAGE_SIZE, nr - 1, gup_flags,
					  batch + 1);
		mmap_read_unlock(mm);
		if (n < 0) {
			put_page(batch[0]);
			return n;
		}
		n++;
	} else {
		n = daxpin_get_user_pages(addr, nr, gup_flags, batch);
		mmap_read_unlock(mm);
		if (n <= 0)
			return n ? n : -EFAULT;
	}

	/* 4 KiB entries: a reference on each page. */
	for (i = 0; i < n; i++) {
		if (!daxpin_page_is_files(batch[i], mapping, pgoff + i)) {
			ret = -ENODATA;
			goto out_put;
		}
		ret = daxpin_runs_add(pin, page_to_pfn(batch[i]), 1, 0);
		if (ret)
			goto out_put;
	}
	return n;

out_put:
	/* batch[0..i) are in the runs now; the rest are not. */
	while (i < n)
		put_page(batch[i++]);
	return ret;
}

/*
 * A fault that failed reads as EFAULT. A writable pin over holes fails
 * that way when the file system is full, and "full" is not "no block
 * free": XFS keeps blocks back for its metadata (per-AG reservations), and
 * a 2 MiB fault needs more than one block. So say ENOSPC when the file
 * system has less room left than the @left bytes of the range still to
 * fault in; EFAULT (a media error, say) otherwise.
 */
static int daxpin_populate_errno(struct daxpin_range *pin, struct file *file,
				 long err, u64 left)
{
	struct kstatfs st;

	if (err != -EFAULT || !(pin->flags & DAXPIN_PIN_WRITE))
		return err;
	if (!vfs_statfs(&file->f_path, &st) &&
	    (u64)st.f_bavail * st.f_bsize < left)
		return -ENOSPC;
	return err;
}

/*
 * Fault the range in through a temporary shared mapping of the caller's
 * own file, as the caller (so that every mmap permission check applies),
 * and take its pages, one reference per DAX entry. Writable pins fault
 * for writing: that allocates holes, zeroes and converts unwritten
 * extents. The DAX file systems place such a mapping 2 MiB-aligned with
 * the file offset (thp_get_unmapped_area()), so that the 2 MiB parts of
 * the range can be PMD entries. Called with the inode's i_rwsem held
 * shared and dinode->mutex held.
 */
int daxpin_pages_populate(struct daxpin_range *pin, struct file *file)
{
	unsigned int gup_flags = (pin->flags & DAXPIN_PIN_WRITE) ? FOLL_WRITE : 0;
	unsigned long len = pin->npages << PAGE_SHIFT, addr, done = 0;
	pgoff_t start = pin->it.start;
	struct page **batch;
	int ret = 0;
	long n;

	if (daxpin_should_fail())
		return -ENOMEM;
	batch = kmalloc_array(DAXPIN_PMD_PAGES, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;

	if (daxpin_should_fail())
		addr = -ENOMEM;
	else
		addr = vm_mmap(file, 0, len, PROT_READ |
			       ((pin->flags & DAXPIN_PIN_WRITE) ? PROT_WRITE : 0),
			       MAP_SHARED, (loff_t)start << PAGE_SHIFT);
	if (IS_ERR_VALUE(addr)) {
		ret = (int)addr;
		goto out_free;
	}
	if (daxpin_test_hooks && READ_ONCE(test_populate_stall_ms))
		msleep_interruptible(min(READ_ONCE(test_populate_stall_ms),
					 DAXPIN_TEST_STALL_MAX_MS));
	while (done < pin->npages) {
		pgoff_t pgoff = start + done;
		/* Up to the next 2 MiB boundary of the file. */
		unsigned long nr = min(pin->npages - done,
				       DAXPIN_PMD_PAGES -
				       (pgoff & (DAXPIN_PMD_PAGES - 1)));

		n = daxpin_pages_take(pin, batch,
				      addr + (done << PAGE_SHIFT), pgoff, nr,
				      gup_flags, file->f_mapping);
		if (n < 0) {
			ret = daxpin_populate_errno(pin, file, n,
						    (u64)(pin->npages - done) <<
						    PAGE_SHIFT);
			break;
		}
		done += n;
		/* Only a range still to fault in is worth giving up. */
		if (done < pin->npages && signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	vm_munmap(addr, len);
	if (ret) {
		daxpin_pages_put(pin);
		daxpin_pages_free(pin);
	}
out_free:
	kfree(batch);
	return ret;
}

/*
 * How many references the live pins of @dinode hold on the pages
 * [@first, @first + @nr) of the file.
 */
static unsigned long daxpin_live_refs(struct daxpin_inode *dinode,
				      pgoff_t first, unsigned long nr)
{
	pgoff_t last = first + nr - 1;
	struct interval_tree_node *node;
	unsigned long n = 0;

	for (node = interval_tree_iter_first(&dinode->pins, first, last); node;
	     node = interval_tree_iter_next(node, first, last)) {
		struct daxpin_range *other =
			container_of(node, struct daxpin_range, it);
		pgoff_t lo = max_t(pgoff_t, first, other->it.start);
		pgoff_t hi = min_t(pgoff_t, last, other->it.last);

		n += daxpin_pages_refs_in(other, lo - other->it.start,
					  hi - other->it.start);
	}
	return n;
}

/*
 * Whether any page of the ended pin @pin is still referenced by someone
 * other than daxpin's live pins of the inode (which hold one reference
 * per entry they cover, and keep windows over them): an RDMA registration
 * made through a daxpin mapping. Only a process that mapped a pin can have
 * made one, so a pin never mapped, with no live pin over its range, is
 * not scanned. A page that no longer belongs to the file at its index was
 * idle once: its block was freed (a layout change waited for it) and may
 * now serve another file, whose references are none of this pin's
 * business.
 *
 * Called with dinode->mutex held: pins are made and ended under it, so the
 * live pins, and the references they hold, stay as counted. The tree is
 * changed under the mutex too, so it can be read without dinode->lock.
 */
bool daxpin_pages_busy(struct daxpin_range *pin)
{
	struct daxpin_inode *dinode = pin->dinode;
	struct address_space *mapping = dinode->inode->i_mapping;
	unsigned long i, skip, nr;
	bool overlapped;
	long refs;
	unsigned int r;

	lockdep_assert_held(&dinode->mutex);
	overlapped = interval_tree_iter_first(&dinode->pins, pin->it.start,
					      pin->it.last);
	if (!overlapped && xa_empty(&pin->mappers))
		return false;
	for (r = 0; r < pin->nr_runs; r++) {
		struct daxpin_run *run = &pin->runs[r];

		for (i = 0; i < run->nr; i += nr - skip) {
			struct page *page = pfn_to_page(run->pfn + i);
			pgoff_t index = pin->it.start + run->first + i;

			/* The pages counted as one, and where @page is in them. */
			daxpin_page_ref_unit(page, &skip, &nr);
			if (!daxpin_page_is_at(page, mapping, index))
				continue;
			refs = daxpin_page_refs(page);
			if (refs > 0 && (unsigned long)refs > (overlapped ?
			    daxpin_live_refs(dinode, index - skip, nr) : 0))
				return true;
			cond_resched();
		}
	}
	return false;
}

/*
 * Whether the file system took a page of the pin while it was live: a
 * layout change that waits for pins never does, but XFS_IOC_SWAPEXT moves
 * blocks to another inode without waiting (it only zaps, which recalls).
 * Blocks move whole entries at a time, so the first page of each says.
 */
bool daxpin_pages_taken(struct daxpin_range *pin)
{
	struct address_space *mapping = pin->dinode->inode->i_mapping;
	unsigned int r;
	unsigned long i;

	for (r = 0; r < pin->nr_runs; r++) {
		struct daxpin_run *run = &pin->runs[r];

		for (i = 0; i < run->nr; i += 1UL << run->order)
			if (READ_ONCE(page_folio(pfn_to_page(run->pfn + i))->mapping) !=
			    mapping)
				return true;
		cond_resched();
	}
	return false;
}
