// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: the event queue of a daxpin file.
 *
 * Each pin has one bit per event type in pin->ev_pending and sits on
 * ctx->ev_list while any bit is set. Queuing an event that is already
 * queued merges it with the queued one (keeping the newest deadline or
 * reason), so the queue is bounded by the number of pins and never drops
 * news. Queuing runs under dinode->lock from the MMU notifier and lm_break:
 * it must not sleep.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "daxpin.h"

void daxpin_event_queue(struct daxpin_range *pin, unsigned int type)
{
	struct daxpin_ctx *ctx = pin->ctx;
	bool was_empty;

	spin_lock(&ctx->ev_lock);
	if (pin->ev_dead) {
		spin_unlock(&ctx->ev_lock);
		return;
	}
	__set_bit(type, &pin->ev_pending);
	if (type == DAXPIN_EVENT_RECALL)
		pin->ev_deadline_ns = pin->deadline_ns;
	if (type == DAXPIN_EVENT_REVOKED)
		pin->ev_reason = pin->revoke_reason;
	was_empty = list_empty(&ctx->ev_list);
	if (list_empty(&pin->ev_node)) {
		kref_get(&pin->kref);
		list_add_tail(&pin->ev_node, &ctx->ev_list);
	}
	/*
	 * Only a queue that was empty is news to its readers: a recall of
	 * many pins signals each daxpin file once, not once per pin (this
	 * runs under the inode's locks). Readers look at the queue under
	 * ev_lock, so signalling before the unlock means that whoever sees
	 * the event has the eventfd count and a pending SIGIO already; and a
	 * reader woken by the signal finds the event queued. kill_fasync()
	 * and eventfd signalling do not sleep.
	 */
	if (was_empty) {
		if (ctx->eventfd)
			daxpin_eventfd_signal(ctx->eventfd);
		kill_fasync(&ctx->fasync, SIGIO, POLL_IN);
	}
	spin_unlock(&ctx->ev_lock);

	if (was_empty)
		wake_up_interruptible(&ctx->ev_wait);
}

/* Drop the pin's queued events: its handle is gone. */
void daxpin_event_forget(struct daxpin_range *pin)
{
	struct daxpin_ctx *ctx = pin->ctx;
	bool queued;

	spin_lock(&ctx->ev_lock);
	queued = !list_empty(&pin->ev_node);
	list_del_init(&pin->ev_node);
	pin->ev_pending = 0;
	pin->ev_dead = true;
	spin_unlock(&ctx->ev_lock);
	if (queued)
		daxpin_range_put(pin);
}

/*
 * Take the next event off the queue into @ev; the pin's reference goes to
 * *@put when its last queued event is taken. Returns false if none.
 */
static bool daxpin_event_pop(struct daxpin_ctx *ctx, struct daxpin_event *ev,
			     struct daxpin_range **put)
{
	struct daxpin_range *pin;
	unsigned int type;

	*put = NULL;
	pin = list_first_entry_or_null(&ctx->ev_list, struct daxpin_range,
				       ev_node);
	if (!pin)
		return false;
	type = find_first_bit(&pin->ev_pending, BITS_PER_LONG);
	__clear_bit(type, &pin->ev_pending);
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->handle = pin->handle;
	if (type == DAXPIN_EVENT_RECALL)
		ev->deadline_ns = pin->ev_deadline_ns;
	if (type == DAXPIN_EVENT_REVOKED)
		ev->reason = pin->ev_reason;
	if (!pin->ev_pending) {
		list_del_init(&pin->ev_node);
		*put = pin;
	}
	return true;
}

/*
 * Put back a record that could not be copied to the reader, at the head of
 * the queue, unless the pin's handle went meanwhile. A newer event of the
 * same type queued meanwhile stays as it is (it carries the newer
 * deadline or reason). Called with ctx->ev_lock held.
 */
static void daxpin_event_unpop(struct daxpin_ctx *ctx,
			       const struct daxpin_event *ev,
			       struct daxpin_range *pin)
{
	if (pin->ev_dead || __test_and_set_bit(ev->type, &pin->ev_pending))
		return;
	if (ev->type == DAXPIN_EVENT_RECALL)
		pin->ev_deadline_ns = ev->deadline_ns;
	if (ev->type == DAXPIN_EVENT_REVOKED)
		pin->ev_reason = ev->reason;
	if (list_empty(&pin->ev_node)) {
		kref_get(&pin->kref);
		list_add(&pin->ev_node, &ctx->ev_list);
	} else {
		list_move(&pin->ev_node, &ctx->ev_list);
	}
}

ssize_t daxpin_event_read(struct daxpin_ctx *ctx, char __user *buf,
			  size_t count, bool nonblock)
{
	struct daxpin_range *pin, *put;
	struct daxpin_event ev;
	ssize_t done = 0;
	int ret;

	if (count < sizeof(ev))
		return -EINVAL;
	for (;;) {
		spin_lock(&ctx->ev_lock);
		if (!list_empty(&ctx->ev_list))
			break;
		spin_unlock(&ctx->ev_lock);
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(ctx->ev_wait,
					       !list_empty(&ctx->ev_list));
		if (ret)
			return ret;
	}
	/* ctx->ev_lock held, queue not empty. */
	while (count - done >= sizeof(ev)) {
		pin = list_first_entry_or_null(&ctx->ev_list,
					       struct daxpin_range, ev_node);
		if (!pin || !daxpin_event_pop(ctx, &ev, &put))
			break;
		/* Held until the record is copied: it may have to go back. */
		if (!put)
			kref_get(&pin->kref);
		spin_unlock(&ctx->ev_lock);
		ret = copy_to_user(buf + done, &ev, sizeof(ev)) ? -EFAULT : 0;
		spin_lock(&ctx->ev_lock);
		if (ret)
			daxpin_event_unpop(ctx, &ev, pin);
		spin_unlock(&ctx->ev_lock);
		daxpin_range_put(pin);
		if (ret) {
			wake_up_interruptible(&ctx->ev_wait);
			return done ? done : ret;
		}
		done += sizeof(ev);
		spin_lock(&ctx->ev_lock);
	}
	spin_unlock(&ctx->ev_lock);
	return done;
}

__poll_t daxpin_event_poll(struct daxpin_ctx *ctx, struct file *filp,
			   poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(filp, &ctx->ev_wait, wait);
	spin_lock(&ctx->ev_lock);
	if (!list_empty(&ctx->ev_list))
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&ctx->ev_lock);
	return mask;
}

int daxpin_cmd_set_eventfd(struct daxpin_ucmd *ucmd)
{
	struct daxpin_set_eventfd *cmd = ucmd->cmd;
	struct daxpin_ctx *ctx = ucmd->ctx;
	struct eventfd_ctx *efd = NULL, *old;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (cmd->eventfd != -1) {
		efd = eventfd_ctx_fdget(cmd->eventfd);
		if (IS_ERR(efd))
			return PTR_ERR(efd);
	}
	spin_lock(&ctx->ev_lock);
	old = ctx->eventfd;
	ctx->eventfd = efd;
	spin_unlock(&ctx->ev_lock);
	if (old)
		eventfd_ctx_put(old);
	return 0;
}

/* The daxpin file is going: every pin is unpinned already. */
void daxpin_event_release(struct daxpin_ctx *ctx)
{
	WARN_ON_ONCE(!list_empty(&ctx->ev_list));
	if (ctx->eventfd)
		eventfd_ctx_put(ctx->eventfd);
}
