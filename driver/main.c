// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: long-term pins of file ranges on filesystem-DAX mounts.
 *
 * This file holds the module's life: its parameters, the misc device
 * /dev/daxpin, and the per-open context.
 */
#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "daxpin.h"

/* The tracepoints (trace.h) are made here, once. */
#define CREATE_TRACE_POINTS
#include "trace.h"

static ushort dev_mode = 0600;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode,
		 "Permission bits of /dev/daxpin (default 0600; a udev rule can widen them too)");

unsigned int daxpin_max_pins = 1U << 20;
module_param_named(max_pins, daxpin_max_pins, uint, 0644);
MODULE_PARM_DESC(max_pins, "Most pins one daxpin file may hold (default 1048576)");

unsigned int daxpin_default_deadline_ms = 10000;
module_param_named(default_deadline_ms, daxpin_default_deadline_ms, uint, 0644);
MODULE_PARM_DESC(default_deadline_ms,
		 "Recall deadline of a pin that asks for none, in ms (default 10000)");

unsigned int daxpin_max_deadline_ms = 300000;
module_param_named(max_deadline_ms, daxpin_max_deadline_ms, uint, 0644);
MODULE_PARM_DESC(max_deadline_ms,
		 "Longest recall deadline a pin may ask for, in ms (default 300000)");

bool daxpin_kill_on_stuck;
module_param_named(kill_on_stuck, daxpin_kill_on_stuck, bool, 0644);
MODULE_PARM_DESC(kill_on_stuck,
		 "When a revoked pin's pages are still held (an RDMA registration, a pinned dma-buf importer), SIGKILL the processes that mapped or exported it instead of letting the layout change wait (default N)");

/*
 * A holder who could not truncate the file (no write permission, not its
 * owner, no CAP_LEASE) holds it as a lease holder would: no longer than
 * fs.lease-break-time (45 s unless changed; keep the two equal).
 */
unsigned int daxpin_reader_max_hold_ms = 45000;
module_param_named(reader_max_hold_ms, daxpin_reader_max_hold_ms, uint, 0644);
MODULE_PARM_DESC(reader_max_hold_ms,
		 "Longest deadline of a pin whose holder could not truncate the file itself (no write permission, not the owner, no CAP_LEASE), in ms; such a pin's mapping takes no registration and it exports no dma-buf (default 45000, fs.lease-break-time's default)");

bool daxpin_test_hooks;
module_param_named(test_hooks, daxpin_test_hooks, bool, 0444);
MODULE_PARM_DESC(test_hooks,
		 "For the selftests only (never in production): enables the fault points (with CONFIG_FAULT_INJECTION) and the test-only parameters, and says so in DAXPIN_FEATURE_TEST_HOOKS");

static int daxpin_fops_open(struct inode *inode, struct file *filp)
{
	struct daxpin_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL_ACCOUNT);
	if (!ctx)
		return -ENOMEM;
	ctx->owner = get_pid(task_tgid(current));
	xa_init_flags(&ctx->pins, XA_FLAGS_ALLOC1);
	spin_lock_init(&ctx->ev_lock);
	INIT_LIST_HEAD(&ctx->ev_list);
	init_waitqueue_head(&ctx->ev_wait);
	filp->private_data = ctx;
	daxpin_map_attach(filp);
	daxpin_ctx_register(ctx);
	return 0;
}

static int daxpin_fops_release(struct inode *inode, struct file *filp)
{
	struct daxpin_ctx *ctx = filp->private_data;

	daxpin_ctx_unregister(ctx);
	daxpin_ctx_unpin_all(ctx);
	daxpin_event_release(ctx);
	xa_destroy(&ctx->pins);
	put_pid(ctx->owner);
	kfree(ctx);
	return 0;
}

static int daxpin_fops_mmap(struct file *filp, struct vm_area_struct *vma)
{
	return daxpin_ctx_mmap(filp->private_data, vma);
}

static ssize_t daxpin_fops_read(struct file *filp, char __user *buf,
				size_t count, loff_t *ppos)
{
	return daxpin_event_read(filp->private_data, buf, count,
				 filp->f_flags & O_NONBLOCK);
}

static __poll_t daxpin_fops_poll(struct file *filp, poll_table *wait)
{
	return daxpin_event_poll(filp->private_data, filp, wait);
}

static int daxpin_fops_fasync(int fd, struct file *filp, int on)
{
	struct daxpin_ctx *ctx = filp->private_data;

	return fasync_helper(fd, filp, on, &ctx->fasync);
}

static long daxpin_fops_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	return daxpin_dispatch_ioctl(filp, cmd, arg);
}

static void daxpin_fops_show_fdinfo(struct seq_file *m, struct file *filp)
{
	daxpin_ctx_show_fdinfo(m, filp->private_data);
}

/*
 * .owner makes every open file hold a reference on the module: rmmod
 * fails with EWOULDBLOCK until the last one is closed.
 */
static const struct file_operations daxpin_fops = {
	.owner = THIS_MODULE,
	.open = daxpin_fops_open,
	.release = daxpin_fops_release,
	.unlocked_ioctl = daxpin_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = daxpin_fops_mmap,
	.get_unmapped_area = daxpin_get_unmapped_area,
	.read = daxpin_fops_read,
	.poll = daxpin_fops_poll,
	.fasync = daxpin_fops_fasync,
	.llseek = noop_llseek,
	.show_fdinfo = daxpin_fops_show_fdinfo,
};

static struct miscdevice daxpin_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "daxpin",
	.fops = &daxpin_fops,
};

static int __init daxpin_init(void)
{
	int ret;

	if (dev_mode & ~0777) {
		pr_err("daxpin: dev_mode %#o has bits beyond 0777\n", dev_mode);
		return -EINVAL;
	}
	daxpin_misc.mode = dev_mode;
	daxpin_test_init();

	ret = daxpin_pins_init();
	if (ret)
		return ret;
	ret = daxpin_host_init();
	if (ret)
		goto out_pins;
	ret = daxpin_inodes_init();
	if (ret)
		goto out_host;
	/* Armed before the device appears: no pin exists unguarded. */
	daxpin_guard_init();
	ret = daxpin_map_init();
	if (ret)
		goto out_inodes;
	ret = daxpin_proc_init();
	if (ret)
		goto out_map;
	ret = misc_register(&daxpin_misc);
	if (ret)
		goto out_proc;
	return 0;

out_proc:
	daxpin_proc_exit();
out_map:
	daxpin_map_exit();
out_inodes:
	daxpin_guard_exit();
	daxpin_inodes_exit();
out_host:
	daxpin_host_exit();
out_pins:
	daxpin_pins_exit();
	return ret;
}

static void __exit daxpin_exit(void)
{
	misc_deregister(&daxpin_misc);
	daxpin_proc_exit();
	/*
	 * Every daxpin file is closed and nothing drains (a draining pin
	 * holds the module): only window teardowns and record frees may be
	 * in flight. Teardowns drop records, so they finish first.
	 */
	daxpin_windows_exit();
	daxpin_guard_exit();
	daxpin_inodes_exit();
	daxpin_map_exit();
	daxpin_host_exit();
	daxpin_pins_exit();
	daxpin_users_exit();
}

module_init(daxpin_init);
module_exit(daxpin_exit);

MODULE_DESCRIPTION("Long-term pins of file ranges on filesystem-DAX mounts");
MODULE_AUTHOR("The daxpin developers");
MODULE_LICENSE("GPL");
/* The release, dkms.conf's PACKAGE_VERSION (the bench checks they agree). */
MODULE_VERSION("0.3.0");
