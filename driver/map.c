// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: CPU mappings of pins, mmap() on a daxpin file.
 *
 * A pin is mapped at its mmap offset on the daxpin file, into a VM_MIXEDMAP
 * VMA whose pages are inserted as devmap PTEs (no page references). This
 * VMA is not a mapping of the DAX file: GUP sees a device mapping, so
 * ibv_reg_mr() can take long-term pins of it, where a mapping of the file
 * itself gets EOPNOTSUPP. From 6.15 on no long-term pin of fsdax memory is
 * possible, and the VMA is VM_PFNMAP, for the CPU only (compat.h:
 * DAXPIN_MAP_VM_FLAGS). It is also not in the file's i_mmap, so the
 * filesystem never zaps it: daxpin does, when the pin ends, before the
 * pages are released. A fault after that gets SIGBUS.
 *
 * Every daxpin file has its f_mapping pointed at one address space of the
 * module's own, in which each pin's offsets are unique, so that one
 * unmap_mapping_range() zaps every mapping of a pin in every process.
 */
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/signal.h>
#include <linux/xarray.h>

#include "daxpin.h"

#define DAXPIN_FS_MAGIC		0x64617870	/* "daxp" */

static struct vfsmount *daxpin_mnt;
static struct inode *daxpin_map_inode;
/* Pins by mmap cookie (offset >> DAXPIN_MMAP_SHIFT). */
static DEFINE_XARRAY_ALLOC1(daxpin_cookies);

static vm_fault_t daxpin_map_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct daxpin_range *pin = vma->vm_private_data;
	vm_fault_t ret = VM_FAULT_SIGBUS;
	pgoff_t index;

	/* A copy a child got at fork (see daxpin_map_open()). */
	if (!pin)
		return VM_FAULT_SIGBUS;
	index = vmf->pgoff - pin->cookie_pgoff;
	down_read(&pin->map_lock);
	if (daxpin_state_live(pin->state) && index < pin->npages)
		ret = daxpin_map_insert(vma, vmf->address,
					daxpin_pages_pfn(pin, index));
	up_read(&pin->map_lock);
	return ret;
}

/*
 * Map 2 MiB at once where the pin holds a 2 MiB DAX entry and the VMA
 * covers the aligned 2 MiB around the address (daxpin_get_unmapped_area()
 * places mappings so that it can). Else the 4 KiB fault does it.
 */
static vm_fault_t daxpin_map_huge_fault(struct vm_fault *vmf,
					DAXPIN_HUGE_FAULT_ARG)
{
	struct vm_area_struct *vma = vmf->vma;
	struct daxpin_range *pin = vma->vm_private_data;
	unsigned long addr = vmf->address & PMD_MASK, pfn;
	vm_fault_t ret = VM_FAULT_FALLBACK;
	pgoff_t index;

	if (!pin)
		return VM_FAULT_SIGBUS;
	if (!DAXPIN_HUGE_FAULT_PMD || !daxpin_map_huge_ok(vma) ||
	    addr < vma->vm_start ||
	    addr + PMD_SIZE > vma->vm_end)
		return VM_FAULT_FALLBACK;
	index = vma->vm_pgoff - pin->cookie_pgoff +
		((addr - vma->vm_start) >> PAGE_SHIFT);
	down_read(&pin->map_lock);
	if (daxpin_state_live(pin->state) &&
	    index + (PMD_SIZE >> PAGE_SHIFT) <= pin->npages &&
	    daxpin_pages_pmd(pin, index, &pfn))
		ret = vmf_insert_pfn_pmd(vmf, daxpin_map_pfn(pfn),
					 vmf->flags & FAULT_FLAG_WRITE);
	up_read(&pin->map_lock);
	return ret;
}

/*
 * A VMA of a pin was copied: split or moved in the same mm (it shares the
 * pin), or copied into a child at fork. Mappings of pins are not
 * inherited (VM_DONTCOPY), but MADV_DOFORK undoes that flag. The child's
 * copy then maps nothing: its page tables are not copied (VM_WIPEONFORK,
 * looked at after ->open) and it faults SIGBUS. Only processes that
 * mmap()ed the pin themselves, and so are in pin->mappers, can reach it.
 * Called under the mmap_lock (for writing) of @vma's mm.
 */
static void daxpin_map_open(struct vm_area_struct *vma)
{
	struct daxpin_range *pin = vma->vm_private_data;

	if (!pin)
		return;
	if (vma->vm_mm != current->mm) {
		vma->vm_private_data = NULL;
		daxpin_vm_flags_set(vma, VM_WIPEONFORK);
		return;
	}
	kref_get(&pin->kref);
	atomic_inc(&pin->nr_vmas);
}

static void daxpin_map_close(struct vm_area_struct *vma)
{
	struct daxpin_range *pin = vma->vm_private_data;

	if (!pin)
		return;
	atomic_dec(&pin->nr_vmas);
	daxpin_range_put(pin);
}

static const struct vm_operations_struct daxpin_map_vm_ops = {
	.fault = daxpin_map_fault,
	.huge_fault = daxpin_map_huge_fault,
	.open = daxpin_map_open,
	.close = daxpin_map_close,
};

/* Remember the calling thread group as one that mapped @pin. */
int daxpin_map_note_mapper(struct daxpin_range *pin)
{
	struct pid *pid = task_tgid(current);
	int ret;

	ret = xa_insert(&pin->mappers, pid_nr(pid), get_pid(pid),
			GFP_KERNEL_ACCOUNT);
	if (ret)
		put_pid(pid);
	return ret == -EBUSY ? 0 : ret;
}

/*
 * kill_on_stuck: the pin is revoked but its pages are still held. Only a
 * process that mapped it can have registered them; kill those, and the
 * exit of each ends its registrations.
 */
void daxpin_map_kill_mappers(struct daxpin_range *pin)
{
	unsigned long nr;
	struct pid *pid;

	xa_for_each(&pin->mappers, nr, pid) {
		pr_warn_ratelimited("daxpin: killing pid %lu: it still holds pages of a revoked pin\n",
				    nr);
		kill_pid(pid, SIGKILL, 1);
	}
}

void daxpin_map_forget_mappers(struct daxpin_range *pin)
{
	unsigned long nr;
	struct pid *pid;

	xa_for_each(&pin->mappers, nr, pid)
		put_pid(pid);
	xa_destroy(&pin->mappers);
}

int daxpin_ctx_mmap(struct daxpin_ctx *ctx, struct vm_area_struct *vma)
{
	unsigned long cookie = vma->vm_pgoff >> (DAXPIN_MMAP_SHIFT - PAGE_SHIFT);
	struct daxpin_range *pin;
	pgoff_t index;
	int ret = 0;

	/* VM_MAYSHARE: a read-only shared mapping of an O_RDONLY fd too. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/*
	 * Never executable: that would bypass the DAX mount's noexec and
	 * the checks exec makes of the file it runs.
	 */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;

	xa_lock(&daxpin_cookies);
	pin = xa_load(&daxpin_cookies, cookie);
	if (pin && pin->ctx == ctx)
		kref_get(&pin->kref);
	else
		pin = NULL;
	xa_unlock(&daxpin_cookies);
	if (!pin)
		return -EINVAL;

	index = vma->vm_pgoff - pin->cookie_pgoff;
	if (index >= pin->npages || vma_pages(vma) > pin->npages - index) {
		ret = -EINVAL;
		goto out_put;
	}
	if (!(pin->flags & DAXPIN_PIN_WRITE)) {
		if (vma->vm_flags & VM_WRITE) {
			ret = -EACCES;
			goto out_put;
		}
		daxpin_vm_flags_clear(vma, VM_MAYWRITE);
	}
	down_read(&pin->map_lock);
	if (!daxpin_state_live(pin->state))
		ret = -ENXIO;
	up_read(&pin->map_lock);
	if (ret)
		goto out_put;

	ret = daxpin_map_note_mapper(pin);
	if (ret)
		goto out_put;
	vma->vm_private_data = pin;
	vma->vm_ops = &daxpin_map_vm_ops;
	atomic_inc(&pin->nr_vmas);
	/*
	 * Not inherited across fork (as RDMA asks of registered memory with
	 * MADV_DONTFORK): every process that can reach the pages through
	 * daxpin mapped them itself, and is in pin->mappers. A holder who
	 * may not hold the file gets a mapping that GUP refuses: no
	 * registration, vmsplice() or O_DIRECT keeps its pages past the pin.
	 */
	daxpin_vm_flags_set(vma, (pin->may_hold ? DAXPIN_MAP_VM_FLAGS :
				  VM_PFNMAP) | VM_DONTEXPAND | VM_DONTDUMP |
			    VM_DONTCOPY);
	daxpin_vm_flags_clear(vma, VM_MAYEXEC);
	return 0;

out_put:
	daxpin_range_put(pin);
	return ret;
}

/*
 * Where to map a pin: at an address with the same offset in 2 MiB as the
 * file offset it maps, so that the 2 MiB DAX entries of the pin can be
 * mapped whole (daxpin_map_huge_fault()). Any address will do for shorter
 * mappings, or when the caller fixes it.
 */
unsigned long daxpin_get_unmapped_area(struct file *file, unsigned long addr,
				       unsigned long len, unsigned long pgoff,
				       unsigned long flags)
{
	unsigned long cookie = pgoff >> (DAXPIN_MMAP_SHIFT - PAGE_SHIFT);
	unsigned long phase, ret;
	struct daxpin_range *pin;

	if ((flags & MAP_FIXED) || len < PMD_SIZE || len > TASK_SIZE - PMD_SIZE)
		return daxpin_mm_get_unmapped_area(file, addr, len, pgoff, flags);
	xa_lock(&daxpin_cookies);
	pin = xa_load(&daxpin_cookies, cookie);
	/* The file offset of the first page mapped, within 2 MiB. */
	phase = pin ? ((pin->it.start + pgoff - pin->cookie_pgoff) <<
		       PAGE_SHIFT) & ~PMD_MASK : 0;
	xa_unlock(&daxpin_cookies);
	if (!pin)
		return daxpin_mm_get_unmapped_area(file, addr, len, pgoff, flags);
	ret = daxpin_mm_get_unmapped_area(file, 0, len + PMD_SIZE, pgoff, flags);
	if (IS_ERR_VALUE(ret))
		return ret;
	return ret + ((phase - ret) & ~PMD_MASK);
}

/* Give @pin its mmap cookie, making it mappable. */
int daxpin_map_publish(struct daxpin_range *pin)
{
	u32 cookie;
	int ret;

	if (daxpin_should_fail())
		return -ENOMEM;
	/*
	 * Reserve the cookie, write it into the pin, and only then let
	 * mmap() find the pin by it: mmap() and get_unmapped_area() read
	 * @cookie_pgoff of the pin they find, without a lock.
	 */
	ret = xa_alloc(&daxpin_cookies, &cookie, NULL,
		       XA_LIMIT(1, (1U << (63 - DAXPIN_MMAP_SHIFT)) - 1),
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		return ret == -EBUSY ? -ENOSPC : ret;
	pin->cookie = cookie;
	pin->cookie_pgoff = (pgoff_t)cookie << (DAXPIN_MMAP_SHIFT - PAGE_SHIFT);
	pin->published = true;
	/* Over a reserved entry: no allocation, so no failure. */
	xa_store(&daxpin_cookies, cookie, pin, GFP_KERNEL_ACCOUNT);
	return 0;
}

/*
 * The handle is gone: new mmap() calls stop finding the pin and the cookie
 * may serve another pin. Old mappings still refer to this pin (and get
 * SIGBUS); zapping a reused cookie's range only costs them a fault.
 */
void daxpin_map_unpublish(struct daxpin_range *pin)
{
	if (pin->published)
		xa_erase(&daxpin_cookies, pin->cookie);
	pin->published = false;
}

/* Zap every CPU mapping of the pin, in every process. */
void daxpin_map_zap(struct daxpin_range *pin)
{
	if (pin->cookie)
		unmap_mapping_range(daxpin_map_inode->i_mapping,
				    (loff_t)pin->cookie_pgoff << PAGE_SHIFT,
				    (loff_t)pin->npages << PAGE_SHIFT, 1);
}

void daxpin_map_attach(struct file *filp)
{
	filp->f_mapping = daxpin_map_inode->i_mapping;
}

static int daxpin_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, DAXPIN_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type daxpin_fs_type = {
	.name = "daxpin",
	.init_fs_context = daxpin_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

int daxpin_map_init(void)
{
	daxpin_mnt = kern_mount(&daxpin_fs_type);
	if (IS_ERR(daxpin_mnt))
		return PTR_ERR(daxpin_mnt);
	daxpin_map_inode = alloc_anon_inode(daxpin_mnt->mnt_sb);
	if (IS_ERR(daxpin_map_inode)) {
		kern_unmount(daxpin_mnt);
		return PTR_ERR(daxpin_map_inode);
	}
	/*
	 * As device-DAX's inode: mappings of pins are DAX mappings (the mm
	 * offers their faults 2 MiB at a time), while file_inode() of a
	 * daxpin file stays the /dev/daxpin character device, so they are
	 * not fsdax mappings, and FOLL_LONGTERM (ibv_reg_mr()) takes them.
	 */
	daxpin_map_inode->i_flags |= S_DAX;
	return 0;
}

void daxpin_map_exit(void)
{
	iput(daxpin_map_inode);
	kern_unmount(daxpin_mnt);
	WARN_ON_ONCE(!xa_empty(&daxpin_cookies));
}
