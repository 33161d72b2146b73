/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daxpin: private header shared by the files of the module.
 *
 * Objects (docs/design.md has the full story):
 *
 *   daxpin_ctx     one open file of /dev/daxpin: its pins by handle and its
 *                  event queue.
 *   daxpin_inode   one per pinned inode, shared by every ctx: the interval
 *                  tree of all pins on the inode, the layout lease, the
 *                  shadow file, the keeper windows and the revocation work.
 *   daxpin_window  a keeper window: a mapping of 1 GiB of the inode in the
 *                  host mm (host.c), which no process can reach, keeping
 *                  the inode mapped (so that truncate waits for pinned
 *                  pages) and carrying an MMU notifier (so that daxpin
 *                  hears of a truncate before it waits).
 *   daxpin_range   one pinned range (a "pin" in the uapi): its pages,
 *                  state and deadline.
 *
 * Lock order, outermost first:
 *   the pinned inode's i_rwsem (PIN holds it shared while it faults the
 *   range in) > dinode->mutex (mutex) > [a wait for the host thread, which
 *   takes the host mm's mmap_lock] > mmap_lock > daxpin_inodes_lock
 *   (mutex) > an exported dma-buf's resv lock (ww_mutex: a pin's end
 *   notifies importers under it, importers map under it) > pin->map_lock
 *   (rwsem) > the inode's flc_lock (spinlock,
 *   lease code) > dinode->lock (spinlock) > ctx->ev_lock (spinlock);
 *   and for /proc/daxpin: daxpin_ctxs_lock (mutex) > the xa_lock of
 *   ctx->pins (spinlock) > dinode->lock; fdinfo takes the same without
 *   daxpin_ctxs_lock, and ctx->ev_lock on its own.
 * dinode->lock and ctx->ev_lock are taken from the MMU notifier and from
 * lm_break (under flc_lock): nothing under them sleeps.
 */
#ifndef DAXPIN_PRIV_H
#define DAXPIN_PRIV_H

#include <linux/bits.h>
#include <linux/types.h>
#include <linux/pid.h>
#include <linux/uidgid.h>
#include <linux/completion.h>
#include <linux/refcount.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <linux/interval_tree.h>
#include <linux/kthread.h>
#include <linux/mmu_notifier.h>
#include <linux/workqueue.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/daxpin.h>

#include "compat.h"

/* Module parameters (main.c). */
extern bool daxpin_test_hooks;
extern unsigned int daxpin_max_pins;
extern unsigned int daxpin_default_deadline_ms;
extern unsigned int daxpin_max_deadline_ms;
extern bool daxpin_kill_on_stuck;
extern unsigned int daxpin_reader_max_hold_ms;

/* Pins are mapped at (cookie << DAXPIN_MMAP_SHIFT) on the daxpin file. */
#define DAXPIN_MMAP_SHIFT	40
/* A pin is at most this long: its mmap offsets must not reach the next. */
#define DAXPIN_MAX_PIN_BYTES	BIT_ULL(DAXPIN_MMAP_SHIFT)
/* Each keeper window maps this much of the file. */
#define DAXPIN_WINDOW_SHIFT	30
#define DAXPIN_WINDOW_SIZE	BIT(DAXPIN_WINDOW_SHIFT)

struct daxpin_inode;

/**
 * struct daxpin_ctx - the state behind one open file of /dev/daxpin
 * @owner: the thread group that opened the device, for the admin listing
 * @pins: the pins by handle; a handle being made holds a reserved entry.
 *	Its xa_lock guards lookups and removal, and keeps a pin it finds
 *	alive (the handle holds a reference)
 * @next_handle: handles are allocated cyclically, so that a stale handle
 *	does not name a new pin at once
 * @nr_pins: handles allocated, at most daxpin_max_pins
 * @ev_lock: protects @ev_list, @eventfd and the queued events of each pin;
 *	held while @eventfd and @fasync are signalled, so that no reader sees
 *	an event before them
 * @ev_list: pins with queued events, oldest first
 * @ev_wait: readers and pollers waiting for events
 * @fasync: SIGIO subscribers
 * @eventfd: eventfd to signal on each new event, or NULL
 * @list: on the list of open daxpin files (procfs.c), for /proc/daxpin
 *
 * Created by open(), freed when the file's last reference goes.
 */
struct daxpin_ctx {
	struct pid *owner;
	struct xarray pins;
	u32 next_handle;
	atomic_t nr_pins;
	spinlock_t ev_lock;		/* the event queue */
	struct list_head ev_list;
	wait_queue_head_t ev_wait;
	struct fasync_struct *fasync;
	struct eventfd_ctx *eventfd;
	struct list_head list;
};

/* Internal pin states beyond the uapi's: the handle is gone. */
#define DAXPIN_STATE_UNPINNED	0x100

/* A live pin may be mapped and faulted: active or recalled, not yet ended. */
static inline bool daxpin_state_live(unsigned int state)
{
	return state == DAXPIN_STATE_ACTIVE || state == DAXPIN_STATE_RECALLED;
}

/* A 2 MiB DAX entry (PMD), in pages. */
#define DAXPIN_PMD_ORDER	(PMD_SHIFT - PAGE_SHIFT)

/**
 * struct daxpin_run - consecutive pages of a pin on consecutive pfns, in
 *	DAX entries of one size; the pin holds one reference (FOLL_GET) on
 *	the first page of each entry (pages.c). 16 bytes: a run holds at
 *	most DAXPIN_RUN_MAX_PAGES, and a longer stretch of contiguous pages
 *	takes more runs.
 * @pfn: the run's first pfn
 * @first: its first page, as an index into the pin
 * @nr: pages in the run, a multiple of 1 << @order
 * @order: of each entry: 0, or DAXPIN_PMD_ORDER
 */
#define DAXPIN_RUN_NR_BITS	28
struct daxpin_run {
	unsigned long pfn;
	u32 first;
	u32 nr : DAXPIN_RUN_NR_BITS;
	u32 order : 32 - DAXPIN_RUN_NR_BITS;
};

/* What @nr counts, in whole 2 MiB entries. */
#define DAXPIN_RUN_MAX_PAGES \
	round_down(BIT(DAXPIN_RUN_NR_BITS) - 1, BIT(DAXPIN_PMD_ORDER))

/**
 * struct daxpin_range - one pinned range of a file (uapi: a "pin")
 * @kref: held by the ctx's handle table, by each user mapping, and by work
 *	in flight
 * @ctx: the daxpin file that made it (not counted: a pin never outlives
 *	its handle's removal, which happens before the ctx goes; a draining
 *	pin no longer looks at it)
 * @pinner: the thread group that opened @ctx, as a number: what the
 *	listings show for a draining pin, whose ctx may be gone
 * @user: the user charged for the pin (user.c), valid if @user_charged
 * @user_charged: the pin counts against @user's max_pins_per_user until
 *	it is freed
 * @dinode: the pinned inode (counted)
 * @handle: the handle in @ctx->pins
 * @flags: enum daxpin_pin_flags
 * @may_hold: the pinner could change the file's layout itself (write
 *	permission, owner, CAP_LEASE). Else its deadline is at most
 *	daxpin_reader_max_hold_ms, and nothing may hold its pages past it:
 *	its mappings take no page references (VM_PFNMAP, map.c) and it
 *	exports no dma-buf
 * @it: node in @dinode->pins, keyed by page index; guarded by dinode->lock
 * @map_lock: held for reading while a fault inserts a page of the pin, for
 *	writing while @state leaves ACTIVE/RECALLED, so that no page is mapped
 *	after the pin is revoked
 * @state: enum daxpin_pin_state or DAXPIN_STATE_UNPINNED; changes under
 *	dinode->lock (and @map_lock for the ones that end access)
 * @revoke_reason: enum daxpin_revoke_reason, under dinode->lock
 * @deadline_ms: the pin's recall deadline
 * @deadline_ns: CLOCK_MONOTONIC revocation time once recalled, else 0
 * @created_ns: CLOCK_MONOTONIC time the pin was made (its age, shown in
 *	/proc/daxpin and fdinfo)
 * @runs: the pinned pages, as runs (pages.c); NULL once released. While
 *	it is set, the pin counts as a user of the keeper windows over its
 *	range
 * @nr_runs: entries in @runs
 * @runs_size: bytes allocated for @runs (shown in /proc/daxpin)
 * @npages: number of pages in the range
 * @acct_mm: the mm charged for the pinned pages (mmgrab)
 * @ev_node: on ctx->ev_list while @ev_pending is not 0
 * @ev_pending: bitmap of queued event types, under ctx->ev_lock
 * @ev_deadline_ns: the deadline reported with a queued RECALL event
 * @ev_reason: the reason reported with a queued REVOKED event
 * @ev_dead: the handle is gone, nothing more is queued; under ctx->ev_lock
 * @work_node: on a private list of revoke_work (under dinode->mutex), or on
 *	dinode->draining (see there)
 * @stuck_ns: for a draining pin: when a layout change that waits for its
 *	pages passes the pin's deadline (then kill_on_stuck applies), 0 if
 *	none waits; under dinode->lock
 * @stuck_killed: kill_on_stuck has killed its mappers; under dinode->mutex
 * @holds_pages: an ended pin still holds its page references, because a
 *	device may reach the pages through one of its dma-bufs (a fence not
 *	yet signalled); under dinode->mutex
 * @work_reason: why revoke_work revokes it; under dinode->mutex
 * @cookie: the pin's mmap cookie (map.c), 0 until the pin is made
 * @cookie_pgoff: @cookie as a page offset on the daxpin file
 * @published: mmap() finds the pin by @cookie (until it is unpinned)
 * @mappers: the thread groups (struct pid, by pid number) that mapped the
 *	pin or exported it as a dma-buf: the only ones that can have
 *	registered its pages with RDMA, since mappings are not inherited
 *	across fork
 * @dmabufs: the dma-bufs exporting the pin (struct daxpin_dmabuf, not
 *	counted: each holds the pin); under dinode->mutex
 * @nr_dmabufs: length of @dmabufs; changed under dinode->mutex, read
 *	without it by the listings
 * @nr_vmas: the VMAs mapping the pin now, each holding a reference (map.c);
 *	only the listings read it
 */
struct daxpin_range {
	/* Ordered so that no padding is left: /proc/daxpin shows its size. */
	struct kref kref;
	u32 handle;
	struct daxpin_ctx *ctx;
	struct daxpin_inode *dinode;
	u32 flags;
	pid_t pinner;
	kuid_t user;
	bool user_charged;
	bool may_hold;
	unsigned int state;
	struct interval_tree_node it;
	struct rw_semaphore map_lock;
	unsigned int revoke_reason;
	unsigned int deadline_ms;
	u64 deadline_ns;
	u64 created_ns;
	struct daxpin_run *runs;
	size_t runs_size;
	unsigned long npages;
	unsigned int nr_runs;
	u32 cookie;
	pgoff_t cookie_pgoff;
	struct mm_struct *acct_mm;
	struct list_head ev_node;
	unsigned long ev_pending;
	u64 ev_deadline_ns;
	u32 ev_reason;
	unsigned int work_reason;
	struct list_head work_node;
	u64 stuck_ns;
	bool stuck_killed;
	bool holds_pages;
	struct xarray mappers;
	struct list_head dmabufs;
	unsigned int nr_dmabufs;
	atomic_t nr_vmas;
	bool ev_dead;
	bool published;
};

/**
 * struct daxpin_window - one keeper window: a PROT_NONE mapping of
 *	DAXPIN_WINDOW_SIZE bytes of the inode in the host mm, with an MMU
 *	interval notifier; owned by its VMA once mapped (keeper.c)
 * @dinode: the inode (counted until the window is unmapped)
 * @mni: notifier on [@addr, @addr + DAXPIN_WINDOW_SIZE) of the host mm
 * @teardown: unwatches and unmaps the window on the host thread
 * @addr: where it is mapped in the host mm, fixed by its slot
 * @index: the window's index (file offset >> DAXPIN_WINDOW_SHIFT)
 * @users: pins (draining ones too) over the window; under dinode->mutex
 * @owner: the user whose PIN mapped the window, charged for it (user.c)
 *	until its last user goes
 * @watched: @mni is inserted; changed on the host thread only
 * @fail_watch: test only: inserting @mni fails (test.c)
 * @fail_map: test only: mapping the window fails
 */
struct daxpin_window {
	struct daxpin_inode *dinode;
	struct mmu_interval_notifier mni;
	struct kthread_work teardown;
	unsigned long addr;
	unsigned long index;
	unsigned int users;
	kuid_t owner;
	bool watched;
	bool fail_watch;
	bool fail_map;
};

/**
 * struct daxpin_inode - daxpin's record of one pinned inode
 * @kref: held by the hash table entry, each pin and each window
 * @hnode: in daxpin_inodes, under daxpin_inodes_lock (the swap guard reads
 *	the table under RCU)
 * @inode: the inode (its file, @lease_file, keeps it alive)
 * @lease_file: daxpin's own open file of the inode, which the layout lease
 *	is taken on (no caller's file ever carries daxpin's lease) and which
 *	/proc/daxpin names
 * @shadow: the shadow file: an anonymous file whose f_mapping is the
 *	inode's, so that every mapping daxpin makes of the inode is in the
 *	inode's i_mmap, yet none is a DAX file mapping (which RDMA would
 *	refuse to register)
 * @mutex: serializes populating pins, window changes, lease changes and
 *	revocation on this inode
 * @lock: protects @pins, each pin's @state, @deadline_ns and
 *	@revoke_reason, @nr_draining, @armed_ns, @recaller, @populator,
 *	@lease_held
 * @pins: interval tree of the live pins (ACTIVE, RECALLED), by page index
 * @windows: the keeper windows by index; under @mutex
 * @draining: ended pins whose pages someone else still holds; changed under
 *	@mutex and @lock both, so either is enough to read it
 * @nr_draining: length of @draining
 * @populator: the task faulting a new pin in (under @mutex and the
 *	inode's i_rwsem held shared, so no layout change runs meanwhile): the
 *	zaps its faults make (replacing zero-page entries of holes) recall
 *	nothing
 * @lease_wanted: a pinner could take the layout lease as itself (owner or
 *	CAP_LEASE); only then does @lease_work take it again; under @mutex
 * @lease_held: the layout lease is in place
 * @armed_ns: when @revoke_work is armed for, U64_MAX if not
 * @recaller: the thread group that zapped the inode last (for the log)
 * @revoke_work: revokes recalled pins whose deadline passed or whose
 *	blocks the file system took without waiting
 * @drain_work: polls the draining pins, releasing those whose pages went
 *	idle, every DAXPIN_DRAIN_POLL_MS while any is left
 * @lease_work: takes the layout lease again DAXPIN_LEASE_RETAKE_MS after
 *	the last break, while pins remain
 * @free_work: frees the record (the works above may drop the last ref)
 * @rcu: frees it a grace period after it left daxpin_inodes
 */
struct daxpin_inode {
	struct kref kref;
	struct hlist_node hnode;
	struct inode *inode;
	struct file *lease_file;
	struct file *shadow;
	struct mutex mutex;		/* populate, windows, lease, revocation */
	spinlock_t lock;		/* pins tree and states; atomic */
	struct rb_root_cached pins;
	struct xarray windows;
	struct list_head draining;
	unsigned int nr_draining;
	struct task_struct *populator;
	bool lease_wanted;
	bool lease_held;
	u64 armed_ns;
	pid_t recaller;
	struct delayed_work revoke_work;
	struct delayed_work drain_work;
	struct delayed_work lease_work;
	struct work_struct free_work;
	struct rcu_head rcu;
};

/**
 * struct daxpin_ucmd - one ioctl call on its way through the dispatcher
 * @ctx: the daxpin file the call came in on
 * @filp: its struct file
 * @ubuffer: the caller's command struct
 * @user_size: the caller's idea of the struct's size (its first field)
 * @cmd: the command struct, copied in and zero-extended to the kernel's size
 */
struct daxpin_ucmd {
	struct daxpin_ctx *ctx;
	struct file *filp;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* test.c: fault points for the selftests, see test.c */
#ifdef CONFIG_FAULT_INJECTION
bool daxpin_should_fail(void);
void daxpin_test_init(void);
#else
static inline bool daxpin_should_fail(void)
{
	return false;
}

static inline void daxpin_test_init(void)
{
}
#endif

/* ioctl.c */
int daxpin_ucmd_respond(struct daxpin_ucmd *ucmd, size_t cmd_len);
long daxpin_dispatch_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg);

/* pin.c */
/* How often drained pins are checked for idle pages. */
#define DAXPIN_DRAIN_POLL_MS	100
int daxpin_pins_init(void);
void daxpin_pins_exit(void);
int daxpin_cmd_pin(struct daxpin_ucmd *ucmd);
int daxpin_cmd_unpin(struct daxpin_ucmd *ucmd);
int daxpin_cmd_query(struct daxpin_ucmd *ucmd);
void daxpin_ctx_unpin_all(struct daxpin_ctx *ctx);
struct daxpin_range *daxpin_range_get(struct daxpin_ctx *ctx, u32 handle);
void daxpin_range_put(struct daxpin_range *pin);
void __daxpin_range_end(struct daxpin_range *pin, unsigned int state,
			unsigned int reason);
void daxpin_range_drained(struct daxpin_range *pin);
bool daxpin_range_busy(struct daxpin_range *pin);

/* pages.c */
int daxpin_pages_populate(struct daxpin_range *pin, struct file *file);
unsigned long daxpin_pages_pfn(struct daxpin_range *pin, unsigned long index);
bool daxpin_pages_pmd(struct daxpin_range *pin, unsigned long index,
		      unsigned long *pfn);
void daxpin_pages_put(struct daxpin_range *pin);
void daxpin_pages_free(struct daxpin_range *pin);
bool daxpin_pages_busy(struct daxpin_range *pin);
bool daxpin_pages_taken(struct daxpin_range *pin);

/* guard.c */
void daxpin_guard_init(void);
void daxpin_guard_exit(void);
bool daxpin_guard_armed(void);
bool daxpin_guard_covers(struct inode *inode);

/* inode.c */
extern struct workqueue_struct *daxpin_wq;
struct daxpin_inode *daxpin_inode_get(struct file *file);
bool daxpin_inode_is_held(const struct inode *inode);
void daxpin_inode_put(struct daxpin_inode *dinode);
void daxpin_inode_take_lease(struct daxpin_inode *dinode);
void daxpin_recall_range(struct daxpin_inode *dinode, pgoff_t first,
			 pgoff_t last);
int daxpin_inodes_init(void);
void daxpin_inodes_exit(void);
void daxpin_inodes_show_draining(struct seq_file *m,
				 void (*show)(struct seq_file *m, pid_t pid,
					      struct daxpin_range *pin,
					      const char *state));

/* user.c: what each user holds of the module's global resources */
enum daxpin_user_res {
	DAXPIN_USER_PINS,
	DAXPIN_USER_WINDOWS,
	DAXPIN_USER_SCRATCH,	/* scratch calls queued or running */
	DAXPIN_USER_NR_RES,
};

int daxpin_user_charge(kuid_t uid, enum daxpin_user_res res);
void daxpin_user_uncharge(kuid_t uid, enum daxpin_user_res res);
void daxpin_users_exit(void);

/* procfs.c */
void daxpin_ctx_register(struct daxpin_ctx *ctx);
void daxpin_ctx_unregister(struct daxpin_ctx *ctx);
void daxpin_ctx_show_fdinfo(struct seq_file *m, struct daxpin_ctx *ctx);
int daxpin_proc_init(void);
void daxpin_proc_exit(void);

/* host.c */
extern struct mm_struct *daxpin_host_mm;
int daxpin_host_run(int (*fn)(void *arg), void *arg);
/**
 * struct daxpin_scratch_call - a call that answers into user memory, run
 *	with the host mm and a scratch page of it (host.c)
 * @work: runs it on the scratch workqueue
 * @done: completed when @fn returned
 * @refs: the caller's and the worker's; the last one calls @release
 * @fn: the call, given its scratch page
 * @release: frees the call and what it holds
 * @ret: @fn's result
 * @user: the caller's user, charged one DAXPIN_USER_SCRATCH until the
 *	worker is done with the call (it holds a worker until then)
 */
struct daxpin_scratch_call {
	struct work_struct work;
	struct completion done;
	refcount_t refs;
	int (*fn)(struct daxpin_scratch_call *call, void __user *scratch);
	void (*release)(struct daxpin_scratch_call *call);
	int ret;
	kuid_t user;
};

int daxpin_host_run_scratch(struct daxpin_scratch_call *call);
void daxpin_host_queue(struct kthread_work *work);
void daxpin_host_flush(void);
int daxpin_host_init(void);
void daxpin_host_exit(void);

/* keeper.c */
int daxpin_windows_get(struct daxpin_inode *dinode, pgoff_t first,
		       pgoff_t last);
void daxpin_windows_put(struct daxpin_inode *dinode, pgoff_t first,
			pgoff_t last);
void daxpin_windows_exit(void);
extern const struct file_operations daxpin_shadow_fops;

/* map.c */
int daxpin_ctx_mmap(struct daxpin_ctx *ctx, struct vm_area_struct *vma);
int daxpin_map_publish(struct daxpin_range *pin);
void daxpin_map_unpublish(struct daxpin_range *pin);
void daxpin_map_zap(struct daxpin_range *pin);
void daxpin_map_attach(struct file *filp);
unsigned long daxpin_get_unmapped_area(struct file *file, unsigned long addr,
				       unsigned long len, unsigned long pgoff,
				       unsigned long flags);
int daxpin_map_note_mapper(struct daxpin_range *pin);
void daxpin_map_kill_mappers(struct daxpin_range *pin);
void daxpin_map_forget_mappers(struct daxpin_range *pin);
int daxpin_map_init(void);
void daxpin_map_exit(void);

/* dmabuf.c */
extern unsigned int daxpin_max_dmabufs_per_pin;
int daxpin_cmd_export_dmabuf(struct daxpin_ucmd *ucmd);
void daxpin_dmabuf_revoke(struct daxpin_range *pin);
bool daxpin_dmabuf_busy(struct daxpin_range *pin);

/* event.c */
void daxpin_event_queue(struct daxpin_range *pin, unsigned int type);
void daxpin_event_forget(struct daxpin_range *pin);
ssize_t daxpin_event_read(struct daxpin_ctx *ctx, char __user *buf,
			  size_t count, bool nonblock);
__poll_t daxpin_event_poll(struct daxpin_ctx *ctx, struct file *filp,
			   poll_table *wait);
int daxpin_cmd_set_eventfd(struct daxpin_ucmd *ucmd);
void daxpin_event_release(struct daxpin_ctx *ctx);

#endif /* DAXPIN_PRIV_H */
