// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: the swap guard, which fails block swaps on the inodes daxpin holds.
 *
 * XFS_IOC_SWAPEXT (xfs_fsr's call: anyone who has both files open for
 * reading and writing may make it) exchanges all the blocks of two files.
 * It neither breaks their layouts nor waits for busy DAX pages: it unmaps
 * both files, drops their DAX entries, busy or not, and moves the blocks
 * (xfs_swap_extents(), 6.1 to 7.2). A pinned file's blocks would go to the
 * other file, whose owner may then free them while a device still reaches
 * them through the pin, and the device's writes would land in whatever file
 * gets the blocks next. EXT4_IOC_SWAP_BOOT (CAP_SYS_ADMIN) does the same
 * with ext4's boot loader inode. docs/design.md, section 9, lists every call
 * that moves blocks and says why the others are safe.
 *
 * A module cannot change the file systems, but it can make such a swap fail
 * before the swap touches anything. The first thing both calls do to each
 * file, once both files are locked, is filemap_write_and_wait_range(), an
 * exported function. A kprobe on it sees every call; when the call comes
 * from a swap and the inode is one daxpin holds, the kprobe makes it return
 * -EBUSY without running, as Documentation/trace/kprobes.rst allows
 * ("Changing Execution Path"). The swap then fails, as xfs_fsr expects a
 * swap of a file in use to fail, before it has unmapped, dropped or moved
 * anything, and the pin goes on untouched. The swap holds both files'
 * i_rwsem from before the first flush to its end, and PIN takes a pin's
 * page references under the file's i_rwsem with the inode's record in place:
 * no pin can begin in between.
 *
 * The guard needs kprobes and knows only x86-64's calling convention.
 * Where it is not armed (swap_guard=N, or it could not be), PIN refuses
 * files on XFS: XFS_IOC_SWAPEXT needs no privilege.
 */
#include <linux/atomic.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/magic.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/ptrace.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "daxpin.h"

static bool swap_guard = true;
module_param(swap_guard, bool, 0444);
MODULE_PARM_DESC(swap_guard,
		 "Fail XFS_IOC_SWAPEXT and EXT4_IOC_SWAP_BOOT with EBUSY on the files daxpin holds, by a kprobe (default Y; reads N where the guard could not be armed). Without it PIN refuses files on XFS");

static bool test_swap_guard_off;
module_param(test_swap_guard_off, bool, 0644);
MODULE_PARM_DESC(test_swap_guard_off,
		 "Test hook (test_hooks=1): behave as if the swap guard were not armed");

/* Swaps refused since the module was loaded, for admins and the tests. */
static atomic_long_t daxpin_swaps_refused = ATOMIC_LONG_INIT(0);

static int daxpin_swaps_refused_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&daxpin_swaps_refused));
}

static const struct kernel_param_ops daxpin_swaps_refused_ops = {
	.get = daxpin_swaps_refused_get,
};
module_param_cb(swaps_refused, &daxpin_swaps_refused_ops, NULL, 0444);
MODULE_PARM_DESC(swaps_refused,
		 "How many block swaps the swap guard has failed (read only)");

bool daxpin_guard_armed(void)
{
	if (daxpin_test_hooks && READ_ONCE(test_swap_guard_off))
		return false;
	return swap_guard;
}

/*
 * Whether daxpin may pin @inode at all: files on XFS only while the guard
 * is armed.
 */
bool daxpin_guard_covers(struct inode *inode)
{
	return inode->i_sb->s_magic != XFS_SUPER_MAGIC || daxpin_guard_armed();
}

#if IS_ENABLED(CONFIG_KPROBES) && IS_ENABLED(CONFIG_X86_64)

/*
 * The functions that swap blocks and call the flush, by name: their
 * addresses are in modules that may come and go, and a name says what is
 * meant. Each is listed with the helper it inlines where it is not inlined
 * (6.1, 6.12 and 7.2 inline both helpers).
 */
static const char *const daxpin_block_swappers[] = {
	"xfs_swap_extents",		/* XFS_IOC_SWAPEXT */
	"xfs_swap_extent_flush",
	"__ext4_ioctl",			/* EXT4_IOC_SWAP_BOOT */
	"swap_inode_boot_loader",
};

/* Whether the call that returns to @ret_addr was made by a block swap. */
static bool daxpin_called_by_swap(unsigned long ret_addr)
{
	char sym[KSYM_SYMBOL_LEN];
	size_t len;
	int i;

	/* The call's last byte: a call that ends a function returns past it. */
	sprint_symbol_no_offset(sym, ret_addr - 1);
	/* "name[.cold] [module]" */
	len = strcspn(sym, ". ");
	for (i = 0; i < ARRAY_SIZE(daxpin_block_swappers); i++) {
		if (strlen(daxpin_block_swappers[i]) == len &&
		    !strncmp(sym, daxpin_block_swappers[i], len))
			return true;
	}
	return false;
}

/*
 * Where a refused flush returns from instead: entered with the caller's
 * return address on top of the stack, as filemap_write_and_wait_range()
 * was, it gives the caller -EBUSY in its place. notrace: no fentry call.
 */
static noinline notrace int daxpin_flush_refused(void)
{
	return -EBUSY;
}

/* Runs before every filemap_write_and_wait_range(), preemption off. */
static int daxpin_guard_pre(struct kprobe *kp, struct pt_regs *regs)
{
	struct address_space *mapping =
		(struct address_space *)regs_get_kernel_argument(regs, 0);
	unsigned long ret_addr = *(unsigned long *)kernel_stack_pointer(regs);
	struct inode *inode = mapping ? mapping->host : NULL;

	/* The cheap test first: almost every flush is of a file not held. */
	if (!inode || !daxpin_inode_is_held(inode))
		return 0;
	if (!daxpin_guard_armed() || !daxpin_called_by_swap(ret_addr))
		return 0;
	atomic_long_inc(&daxpin_swaps_refused);
	pr_notice_ratelimited("daxpin: %s[%d] may not swap the blocks of pinned inode %llu on %s: EBUSY\n",
			      current->comm, task_pid_nr(current),
			      (u64)inode->i_ino,
			      inode->i_sb->s_id);
	instruction_pointer_set(regs, (unsigned long)daxpin_flush_refused);
	/* Not 0: the kprobe keeps the new instruction pointer. */
	return 1;
}

/*
 * Never called for a refused flush (the pre handler returned 1). Having one
 * keeps the kprobe from being optimized into a jump, whose handler does not
 * take a new instruction pointer (measured: on the debug kernel, which has
 * no kprobes on ftrace, swaps went through once the kprobe was optimized),
 * and on ftrace has it registered as one that modifies the IP.
 */
static void daxpin_guard_post(struct kprobe *kp, struct pt_regs *regs,
			      unsigned long flags)
{
}

static struct kprobe daxpin_guard_probe = {
	.symbol_name = "filemap_write_and_wait_range",
	.pre_handler = daxpin_guard_pre,
	.post_handler = daxpin_guard_post,
};

void daxpin_guard_init(void)
{
	int ret;

	if (!swap_guard)
		return;
	ret = register_kprobe(&daxpin_guard_probe);
	if (ret) {
		pr_warn("daxpin: no swap guard (kprobe: %d): files on XFS cannot be pinned\n",
			ret);
		swap_guard = false;
	}
}

void daxpin_guard_exit(void)
{
	if (swap_guard)
		unregister_kprobe(&daxpin_guard_probe);
}

#else

void daxpin_guard_init(void)
{
	if (swap_guard)
		pr_warn("daxpin: no swap guard on this kernel (it needs kprobes on x86-64): files on XFS cannot be pinned\n");
	swap_guard = false;
}

void daxpin_guard_exit(void)
{
}

#endif
