// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: /proc/daxpin, every pin on the system for the administrator.
 *
 * One line per pin: the process that opened its daxpin file, the handle,
 * the state, the file (device:inode and path), the range, and for a
 * recalled pin how long until it is revoked - which is why a truncate of
 * that file is waiting - and how daxpin exposes it to devices: the VMAs
 * of its mapping (what a pinning registration holds) and its dma-bufs.
 * Pins that ended while someone else (an RDMA registration) still holds
 * their pages are listed as "draining", with the process that made them:
 * a layout change of their file waits for those references. Every line
 * names the live processes that mapped or exported the pin: who can hold
 * its pages.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/ktime.h>
#include <linux/bitops.h>

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

/*
 * A listing walks every pin of a daxpin file under its xa_lock, and a file
 * may hold max_pins of them (a million by default): let the CPU go when
 * it is wanted, rather than hold a spinlock through the whole walk. The
 * walk goes on from its index (xa_for_each() looks the next entry up
 * again), and no pin found before the pause is touched after it.
 */
static void daxpin_walk_pause(struct xarray *pins)
{
	if (!need_resched())
		return;
	xa_unlock(pins);
	cond_resched();
	xa_lock(pins);
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

/*
 * The milliseconds left before a recalled pin is revoked, -1 if it is not
 * recalled; a recalled pin past its deadline is about to go: 0, not -1.
 * Called with pin->dinode->lock held.
 */
static s64 daxpin_pin_left_ms(struct daxpin_range *pin, u64 now)
{
	lockdep_assert_held(&pin->dinode->lock);
	if (pin->state != DAXPIN_STATE_RECALLED)
		return -1;
	return max_t(s64, 0, div_s64((s64)(pin->deadline_ns - now),
				     NSEC_PER_MSEC));
}

/* The milliseconds since the pin was made. */
static u64 daxpin_pin_age_ms(struct daxpin_range *pin, u64 now)
{
	return div_u64(now - pin->created_ns, NSEC_PER_MSEC);
}

/*
 * The holders of a pin: the live thread groups that mapped it or exported
 * it as a dma-buf - the only ones that can hold its pages through daxpin
 * (an RDMA registration, a pipe, an importer they attached) - by pid,
 * comma-separated, or "-". What they passed on (a pipe, a dma-buf sent to
 * another process) the kernel cannot trace back. Under dinode->lock:
 * the xarray walk takes only RCU.
 */
static void daxpin_show_holders(struct seq_file *m, struct daxpin_range *pin,
				char sep)
{
	bool any = false;
	unsigned long nr;
	struct pid *pid;

	rcu_read_lock();
	xa_for_each(&pin->mappers, nr, pid) {
		if (!pid_task(pid, PIDTYPE_TGID))
			continue;
		seq_printf(m, "%c%lu", any ? ',' : sep, nr);
		any = true;
	}
	rcu_read_unlock();
	if (!any)
		seq_printf(m, "%c-", sep);
}

/* Called with pin->dinode->lock held: prints without sleeping. */
static void daxpin_show_pin(struct seq_file *m, pid_t pid,
			    struct daxpin_range *pin, const char *state)
{
	struct daxpin_inode *dinode = pin->dinode;
	struct inode *inode = dinode->inode;
	u64 now = ktime_get_ns();
	s64 left_ms;
	u32 reason;

	lockdep_assert_held(&dinode->lock);
	if (!state)
		state = daxpin_state_name(pin->state);
	left_ms = daxpin_pin_left_ms(pin, now);
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
	seq_printf(m, " %llu %d %u", daxpin_pin_age_ms(pin, now),
		   atomic_read(&pin->nr_vmas), READ_ONCE(pin->nr_dmabufs));
	daxpin_show_holders(m, pin, ' ');
	seq_putc(m, '\n');
}

static int daxpin_proc_show(struct seq_file *m, void *v)
{
	struct daxpin_range *pin;
	struct daxpin_ctx *ctx;
	unsigned long handle;

	seq_puts(m, "pid     handle state     dev:ino offset length access deadline_left_ms revoke_reason mem_bytes path age_ms vmas dmabufs holders\n");
	/*
	 * The xa_lock keeps every pin found alive (UNPIN removes the handle
	 * under it) and waits for nothing: a PIN in progress holds only a
	 * reserved entry, which xa_for_each() skips. A long walk pauses
	 * (daxpin_walk_pause()), so a pin made or ended meanwhile may be
	 * listed or not.
	 */
	mutex_lock(&daxpin_ctxs_lock);
	list_for_each_entry(ctx, &daxpin_ctxs, list) {
		xa_lock(&ctx->pins);
		xa_for_each(&ctx->pins, handle, pin) {
			spin_lock(&pin->dinode->lock);
			daxpin_show_pin(m, pid_nr(ctx->owner), pin, NULL);
			spin_unlock(&pin->dinode->lock);
			daxpin_walk_pause(&ctx->pins);
		}
		xa_unlock(&ctx->pins);
	}
	mutex_unlock(&daxpin_ctxs_lock);
	daxpin_inodes_show_draining(m, daxpin_show_pin);
	return 0;
}

/*
 * /proc/PID/fdinfo/FD of a daxpin file: its pins for their owner, who
 * needs no root for it (procfs lets whoever may ptrace the process read
 * it). docs/ioctl.md describes the lines. Each pin's line is consistent in
 * itself; the counts and the lines are taken one after the other, so a
 * pin made or ended meanwhile may show in one and not the other.
 * Locks as for /proc/daxpin: the xa_lock of ctx->pins > dinode->lock, and
 * ctx->ev_lock alone; it sleeps only between pins, holding none of them.
 */
void daxpin_ctx_show_fdinfo(struct seq_file *m, struct daxpin_ctx *ctx)
{
	unsigned long handle, nr_events = 0;
	unsigned int nr_pins = 0;
	struct daxpin_range *pin;
	u64 bytes = 0, now;
	struct inode *inode;

	spin_lock(&ctx->ev_lock);
	list_for_each_entry(pin, &ctx->ev_list, ev_node)
		nr_events += hweight_long(pin->ev_pending);
	spin_unlock(&ctx->ev_lock);

	xa_lock(&ctx->pins);
	xa_for_each(&ctx->pins, handle, pin) {
		nr_pins++;
		spin_lock(&pin->dinode->lock);
		if (daxpin_state_live(pin->state))
			bytes += (u64)pin->npages << PAGE_SHIFT;
		spin_unlock(&pin->dinode->lock);
		daxpin_walk_pause(&ctx->pins);
	}
	seq_printf(m, "daxpin-pins:\t%u\n", nr_pins);
	seq_printf(m, "daxpin-pinned-bytes:\t%llu\n", bytes);
	seq_printf(m, "daxpin-pending-events:\t%lu\n", nr_events);
	now = ktime_get_ns();
	xa_for_each(&ctx->pins, handle, pin) {
		inode = pin->dinode->inode;
		spin_lock(&pin->dinode->lock);
		seq_printf(m, "daxpin-pin:\thandle=%u dev=%u:%u ino=%llu offset=%#llx length=%#llx access=%s state=%s deadline_left_ms=%lld revoke_reason=%u age_ms=%llu vmas=%d dmabufs=%u holders",
			   pin->handle, MAJOR(inode->i_sb->s_dev),
			   MINOR(inode->i_sb->s_dev), (u64)inode->i_ino,
			   (u64)pin->it.start << PAGE_SHIFT,
			   (u64)pin->npages << PAGE_SHIFT,
			   pin->flags & DAXPIN_PIN_WRITE ? "rw" : "ro",
			   daxpin_state_name(pin->state),
			   (long long)daxpin_pin_left_ms(pin, now),
			   pin->revoke_reason, daxpin_pin_age_ms(pin, now),
			   atomic_read(&pin->nr_vmas),
			   READ_ONCE(pin->nr_dmabufs));
		daxpin_show_holders(m, pin, '=');
		seq_putc(m, '\n');
		spin_unlock(&pin->dinode->lock);
		daxpin_walk_pause(&ctx->pins);
	}
	xa_unlock(&ctx->pins);
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
