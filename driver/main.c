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
#include <linux/slab.h>

#include "daxpin.h"

static ushort dev_mode = 0600;
module_param(dev_mode, ushort, 0444);
MODULE_PARM_DESC(dev_mode,
		 "Permission bits of /dev/daxpin (default 0600; a udev rule can widen them too)");

bool daxpin_test_hooks;
module_param_named(test_hooks, daxpin_test_hooks, bool, 0444);
MODULE_PARM_DESC(test_hooks,
		 "Accept the selftests' test-only command (never in production)");

static int daxpin_fops_open(struct inode *inode, struct file *filp)
{
	struct daxpin_ctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->owner = get_pid(task_tgid(current));
	filp->private_data = ctx;
	return 0;
}

static int daxpin_fops_release(struct inode *inode, struct file *filp)
{
	struct daxpin_ctx *ctx = filp->private_data;

	put_pid(ctx->owner);
	kfree(ctx);
	return 0;
}

static long daxpin_fops_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	return daxpin_dispatch_ioctl(filp->private_data, cmd, arg);
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
};

static struct miscdevice daxpin_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "daxpin",
	.fops = &daxpin_fops,
};

static int __init daxpin_init(void)
{
	if (dev_mode & ~0777) {
		pr_err("daxpin: dev_mode %#o has bits beyond 0777\n", dev_mode);
		return -EINVAL;
	}
	daxpin_misc.mode = dev_mode;
	return misc_register(&daxpin_misc);
}

static void __exit daxpin_exit(void)
{
	misc_deregister(&daxpin_misc);
}

module_init(daxpin_init);
module_exit(daxpin_exit);

MODULE_DESCRIPTION("Long-term pins of file ranges on filesystem-DAX mounts");
MODULE_AUTHOR("The daxpin developers");
MODULE_LICENSE("GPL");
