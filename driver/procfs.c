// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: /proc/daxpin, every pin on the system for the administrator.
 *
 * One line per pin: the process that opened its daxpin file, the handle,
 * the state, the file (device:inode and path), the range, and for a
 * recalled pin how long until it is revoked - which is why a truncate of
 * that file is waiting. Pins that ended while someone else (an RDMA
 * registration) still holds their pages are listed as "draining": a
 * layout change of their file waits for those references.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/ktime.h>

#include "daxpin.h"

/* Protects daxpin_ctxs (the open daxpin files). */
static DEFINE_MUTEX(daxpin_ctxs_lock);
static LIST_HEAD(daxpin_ctxs);

void daxpin_ctx_register(struct daxpin_ctx *ctx)
{
	mutex_lock(&daxpin_ctxs_lock);
	list_add_tail(&ctx->list, &daxpin_ctxs);
	mutex_unlock(&daxpin_ctxs_lock);
}

void daxpin_ctx_unregister(struct daxpin_ctx *ctx)
{
	mutex_lock(&daxpin_ctxs_lock);
	list_del(&ctx->list);
	mutex_unlock(&daxpin_ctxs_lock);
}

static const char *daxpin_state_name(unsigned int state)
{
	switch (state) {
	case DAXPIN_STATE_ACTIVE:
		return "active";
	case DAXPIN_STATE_RECALLED:
		return "recalled";
	case DAXPIN_STATE_REVOKED:
		return "revoked";
	default:
		return "ending";
	}
}

/* Called with pin->dinode->lock held: prints without sleeping. */
static void daxpin_show_pin(struct seq_file *m, pid_t pid,
			    struct daxpin_range *pin, const char *state)
{
	struct daxpin_inode *dinode = pin->dinode;
	struct inode *inode = dinode->inode;
	s64 left_ms = -1;
	u32 reason;

	lockdep_assert_held(&dinode->lock);
	if (!state)
		state = daxpin_state_name(pin->state);
	/* A recalled pin past its deadline is about to go: 0 left, not -1. */
	if (pin->state == DAXPIN_STATE_RECALLED)
		left_ms = max_t(s64, 0, div_s64((s64)(pin->deadline_ns -
						      ktime_get_ns()),
						NSEC_PER_MSEC));
	reason = pin->revoke_reason;

	seq_printf(m, "%-7d %-6u %-9s %u:%u:%llu %#llx %#llx %-6s %lld %u %zu ",
		   pid, pin->handle, state, MAJOR(inode->i_sb->s_dev),
		   MINOR(inode->i_sb->s_dev), (u64)inode->i_ino,
		   (u64)pin->it.start << PAGE_SHIFT,
		   (u64)pin->npages << PAGE_SHIFT,
		   pin->flags & DAXPIN_PIN_WRITE ? "rw" : "ro",
		   (long long)left_ms, reason,
		   sizeof(*pin) + READ_ONCE(pin->runs_size));
	seq_path(m, &dinode->lease_file->f_path, " \t\n\\");
	seq_putc(m, '\n');
}

static int daxpin_proc_show(struct seq_file *m, void *v)
{
	struct daxpin_range *pin;
	struct daxpin_ctx *ctx;
	unsigned long handle;

	seq_puts(m, "pid     handle state     dev:ino offset length access deadline_left_ms revoke_reason mem_bytes path\n");
	/*
	 * The xa_lock keeps every pin found alive (UNPIN removes the handle
	 * under it) and waits for nothing: a PIN in progress holds only a
	 * reserved entry, which xa_for_each() skips.
	 */
	mutex_lock(&daxpin_ctxs_lock);
	list_for_each_entry(ctx, &daxpin_ctxs, list) {
		xa_lock(&ctx->pins);
		xa_for_each(&ctx->pins, handle, pin) {
			spin_lock(&pin->dinode->lock);
			daxpin_show_pin(m, pid_nr(ctx->owner), pin, NULL);
			spin_unlock(&pin->dinode->lock);
		}
		xa_unlock(&ctx->pins);
	}
	mutex_unlock(&daxpin_ctxs_lock);
	daxpin_inodes_show_draining(m, daxpin_show_pin);
	return 0;
}

int daxpin_proc_init(void)
{
	return proc_create_single("daxpin", 0400, NULL, daxpin_proc_show) ?
	       0 : -ENOMEM;
}

void daxpin_proc_exit(void)
{
	remove_proc_entry("daxpin", NULL);
}
