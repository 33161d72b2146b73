/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxpin: private header shared by the files of the module.
 */
#ifndef DAXPIN_PRIV_H
#define DAXPIN_PRIV_H

#include <linux/types.h>
#include <linux/pid.h>
#include <linux/daxpin.h>

/* Module parameters (main.c). */
extern bool daxpin_test_hooks;

/**
 * struct daxpin_ctx - the state behind one open file of /dev/daxpin
 * @owner: the thread group that opened the device, for the admin listing
 *
 * Created by open(), freed when the file's last reference goes. Everything
 * a caller makes through this file (pins, mappings, events) hangs here.
 */
struct daxpin_ctx {
	struct pid *owner;
};

/**
 * struct daxpin_ucmd - one ioctl call on its way through the dispatcher
 * @ctx: the daxpin file the call came in on
 * @ubuffer: the caller's command struct
 * @user_size: the caller's idea of the struct's size (its first field)
 * @cmd: the command struct, copied in and zero-extended to the kernel's size
 */
struct daxpin_ucmd {
	struct daxpin_ctx *ctx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

int daxpin_ucmd_respond(struct daxpin_ucmd *ucmd, size_t cmd_len);
long daxpin_dispatch_ioctl(struct daxpin_ctx *ctx, unsigned int cmd,
			   unsigned long arg);

#endif /* DAXPIN_PRIV_H */
