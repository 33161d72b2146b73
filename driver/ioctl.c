// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: table-driven ioctl dispatch.
 *
 * Every command is _IO(DAXPIN_TYPE, nr) and takes a struct whose first field
 * is its size. The table below knows each struct's full size and the size of
 * its first version; copy_struct_from_user() does the extensible-struct
 * checks, so a handler always sees a struct of the kernel's size.
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/stddef.h>

#include "daxpin.h"

int daxpin_ucmd_respond(struct daxpin_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

static int daxpin_info(struct daxpin_ucmd *ucmd)
{
	struct daxpin_info *cmd = ucmd->cmd;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	cmd->api_version = DAXPIN_API_VERSION;
	cmd->features = DAXPIN_FEATURE_PIN | DAXPIN_FEATURE_EVENTFD |
			DAXPIN_FEATURE_DMABUF;
	if (DAXPIN_MAP_REGISTRABLE)
		cmd->features |= DAXPIN_FEATURE_MAP_REGISTRABLE;
	if (daxpin_test_hooks)
		cmd->features |= DAXPIN_FEATURE_TEST_HOOKS;
	return daxpin_ucmd_respond(ucmd, sizeof(*cmd));
}

/* Big enough for any command struct: the dispatcher copies into it. */
union daxpin_ucmd_buffer {
	struct daxpin_info info;
	struct daxpin_pin pin;
	struct daxpin_unpin unpin;
	struct daxpin_query query;
	struct daxpin_set_eventfd set_eventfd;
	struct daxpin_export_dmabuf export_dmabuf;
};

struct daxpin_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	unsigned int ioctl_num;
	int (*execute)(struct daxpin_ucmd *ucmd);
};

#define DAXPIN_IOCTL_OP(_cmd, _ioctl, _fn, _struct, _last)		\
	[(_cmd) - DAXPIN_CMD_BASE] = {				\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union daxpin_ucmd_buffer) < \
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.ioctl_num = _ioctl,					\
		.execute = _fn,						\
	}

static const struct daxpin_ioctl_op daxpin_ioctl_ops[] = {
	DAXPIN_IOCTL_OP(DAXPIN_CMD_INFO, DAXPIN_INFO, daxpin_info,
			struct daxpin_info, features),
	DAXPIN_IOCTL_OP(DAXPIN_CMD_PIN, DAXPIN_PIN, daxpin_cmd_pin,
			struct daxpin_pin, out_mmap_offset),
	DAXPIN_IOCTL_OP(DAXPIN_CMD_UNPIN, DAXPIN_UNPIN, daxpin_cmd_unpin,
			struct daxpin_unpin, __reserved),
	DAXPIN_IOCTL_OP(DAXPIN_CMD_QUERY, DAXPIN_QUERY, daxpin_cmd_query,
			struct daxpin_query, out_revoke_reason),
	DAXPIN_IOCTL_OP(DAXPIN_CMD_SET_EVENTFD, DAXPIN_SET_EVENTFD,
			daxpin_cmd_set_eventfd, struct daxpin_set_eventfd,
			__reserved),
	DAXPIN_IOCTL_OP(DAXPIN_CMD_EXPORT_DMABUF, DAXPIN_EXPORT_DMABUF,
			daxpin_cmd_export_dmabuf, struct daxpin_export_dmabuf,
			__reserved2),
};

long daxpin_dispatch_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	const struct daxpin_ioctl_op *op;
	union daxpin_ucmd_buffer buf;
	struct daxpin_ucmd ucmd = {
		.ctx = filp->private_data,
		.filp = filp,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (_IOC_TYPE(cmd) != DAXPIN_TYPE || nr < DAXPIN_CMD_BASE ||
	    nr - DAXPIN_CMD_BASE >= ARRAY_SIZE(daxpin_ioctl_ops))
		return -ENOTTY;
	op = &daxpin_ioctl_ops[nr - DAXPIN_CMD_BASE];
	if (!op->execute || op->ioctl_num != cmd)
		return -ENOTTY;

	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(ucmd.cmd, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	return op->execute(&ucmd);
}
