/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxpin: tracepoints (docs/design.md, "Seeing it"). Every event names the
 * pin by its file (dev, ino), the owner's handle and the owner (the thread
 * group that opened the daxpin file), so that perf or bpftrace can follow
 * one pin from PIN to its end:
 *
 *   daxpin:pin     a pin was made (its reply reached the caller)
 *   daxpin:unpin   a handle went: UNPIN, or the daxpin file's last close
 *   daxpin:recall  a layout change of the range recalled a pin; it fires in
 *                  the task of the layout change, which is about to wait
 *   daxpin:revoke  a pin was revoked (reason: enum daxpin_revoke_reason)
 *   daxpin:drain   an ended pin's pages were still held by someone else,
 *                  and it started draining (busy=1), or finished (busy=0)
 *
 * recall fires under dinode->lock from an MMU notifier: nothing here may
 * sleep, and the fields are read, never computed with locks.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM daxpin

#if !defined(DAXPIN_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define DAXPIN_TRACE_H

#include <linux/tracepoint.h>
#include <linux/fs.h>
#include <linux/pid.h>

#include "daxpin.h"

DECLARE_EVENT_CLASS(daxpin_pin_class,
	TP_PROTO(struct daxpin_range *pin),
	TP_ARGS(pin),
	TP_STRUCT__entry(
		__field(dev_t, dev)
		__field(u64, ino)
		__field(pid_t, owner)
		__field(u32, handle)
		__field(u64, offset)
		__field(u64, length)
		__field(u32, flags)
		__field(unsigned int, state)
		__field(unsigned int, deadline_ms)
		__field(unsigned int, reason)
	),
	TP_fast_assign(
		__entry->dev = pin->dinode->inode->i_sb->s_dev;
		__entry->ino = pin->dinode->inode->i_ino;
		__entry->owner = pid_nr(pin->ctx->owner);
		__entry->handle = pin->handle;
		__entry->offset = (u64)pin->it.start << PAGE_SHIFT;
		__entry->length = (u64)pin->npages << PAGE_SHIFT;
		__entry->flags = pin->flags;
		__entry->state = pin->state;
		__entry->deadline_ms = pin->deadline_ms;
		__entry->reason = pin->revoke_reason;
	),
	TP_printk("dev=%u:%u ino=%llu owner=%d handle=%u offset=%#llx length=%#llx access=%s state=%u deadline_ms=%u reason=%u",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->owner, __entry->handle, __entry->offset,
		  __entry->length,
		  __entry->flags & DAXPIN_PIN_WRITE ? "rw" : "ro",
		  __entry->state, __entry->deadline_ms, __entry->reason)
);

DEFINE_EVENT(daxpin_pin_class, pin,
	TP_PROTO(struct daxpin_range *pin),
	TP_ARGS(pin)
);

/* state: the pin's state as the handle goes (active, recalled, revoked). */
DEFINE_EVENT(daxpin_pin_class, unpin,
	TP_PROTO(struct daxpin_range *pin),
	TP_ARGS(pin)
);

/* reason: enum daxpin_revoke_reason. */
DEFINE_EVENT(daxpin_pin_class, revoke,
	TP_PROTO(struct daxpin_range *pin),
	TP_ARGS(pin)
);

TRACE_EVENT(recall,
	TP_PROTO(struct daxpin_range *pin, pid_t recaller),
	TP_ARGS(pin, recaller),
	TP_STRUCT__entry(
		__field(dev_t, dev)
		__field(u64, ino)
		__field(pid_t, owner)
		__field(u32, handle)
		__field(u64, offset)
		__field(u64, length)
		__field(pid_t, recaller)
		__field(unsigned int, deadline_ms)
	),
	TP_fast_assign(
		__entry->dev = pin->dinode->inode->i_sb->s_dev;
		__entry->ino = pin->dinode->inode->i_ino;
		__entry->owner = pid_nr(pin->ctx->owner);
		__entry->handle = pin->handle;
		__entry->offset = (u64)pin->it.start << PAGE_SHIFT;
		__entry->length = (u64)pin->npages << PAGE_SHIFT;
		__entry->recaller = recaller;
		__entry->deadline_ms = pin->deadline_ms;
	),
	TP_printk("dev=%u:%u ino=%llu owner=%d handle=%u offset=%#llx length=%#llx recaller=%d deadline_ms=%u",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->owner, __entry->handle, __entry->offset,
		  __entry->length, __entry->recaller, __entry->deadline_ms)
);

/*
 * A draining pin may outlive its daxpin file (the owner is gone): it is
 * named by file, range and handle only.
 */
TRACE_EVENT(drain,
	TP_PROTO(struct daxpin_range *pin, bool busy),
	TP_ARGS(pin, busy),
	TP_STRUCT__entry(
		__field(dev_t, dev)
		__field(u64, ino)
		__field(u32, handle)
		__field(u64, offset)
		__field(u64, length)
		__field(unsigned int, state)
		__field(bool, busy)
	),
	TP_fast_assign(
		__entry->dev = pin->dinode->inode->i_sb->s_dev;
		__entry->ino = pin->dinode->inode->i_ino;
		__entry->handle = pin->handle;
		__entry->offset = (u64)pin->it.start << PAGE_SHIFT;
		__entry->length = (u64)pin->npages << PAGE_SHIFT;
		__entry->state = pin->state;
		__entry->busy = busy;
	),
	TP_printk("dev=%u:%u ino=%llu handle=%u offset=%#llx length=%#llx state=%u busy=%d",
		  MAJOR(__entry->dev), MINOR(__entry->dev), __entry->ino,
		  __entry->handle, __entry->offset, __entry->length,
		  __entry->state, __entry->busy)
);

#endif /* DAXPIN_TRACE_H */

/* Out of tree: the including .c file is built with -I$(src) (Kbuild). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
