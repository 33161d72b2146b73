// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: the per-inode record (struct daxpin_inode) - the interval tree
 * of the pins on an inode, recall, revocation and the layout lease.
 *
 * Recall starts in the MMU notifier of a keeper window (keeper.c): a
 * truncate, hole punch or other layout change zaps every mapping of the
 * range before it waits for busy pages, and that zap is reported here,
 * in the task that is about to wait. Revocation runs in revoke_work once a
 * recalled pin's deadline passes.
 *
 * The layout lease is a second line only, and nobody ever waits on it:
 * the keeper windows cannot go while a pin needs them, so whenever the
 * lease is broken the breaker is a write(2) (XFS breaks layouts on every
 * write), or a change that is about to wait for every pinned page (reflink
 * breaks leases first). daxpin lets the lease go at once, in lm_break, and
 * takes it again later. A lease that is let go at once never times out, so
 * the lease code never removes it behind daxpin's back.
 */
#include <linux/hashtable.h>
#include <linux/interval_tree.h>
#include <linux/ktime.h>
#include <linux/anon_inodes.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "daxpin.h"
#include "trace.h"

/*
 * Protects daxpin_inodes against other writers. The swap guard reads the
 * table under RCU (daxpin_inode_is_held()): records go in and out with the
 * _rcu calls and are freed a grace period after they leave.
 */
static DEFINE_MUTEX(daxpin_inodes_lock);
static DEFINE_HASHTABLE(daxpin_inodes, 8);

struct workqueue_struct *daxpin_wq;

/*
 * How long the lease stays away after a break. A breaker checks for leases
 * again after breaking them (xfs_break_leased_layouts() and reflink's
 * xfs_iolock_two_inodes_and_break_layout() loop until a check finds none),
 * and that loop does not sleep when the lease goes at once: a lease taken
 * again before that check sends the breaker round again. Every break
 * restarts the wait, so a breaker that loops finds no lease next time.
 */
#define DAXPIN_LEASE_RETAKE_MS	100

/* How often the pages of recalled pins are checked for blocks taken. */
#define DAXPIN_TAKEN_POLL_MS	10

static bool daxpin_lease_break(void *owner, unsigned long *break_time);
DAXPIN_DEFINE_LEASE_OPS(daxpin_lease_ops, daxpin_lease_break);

static void daxpin_inode_free_work(struct work_struct *work)
{
	struct daxpin_inode *dinode =
		container_of(work, struct daxpin_inode, free_work);

	bool held;

	cancel_delayed_work_sync(&dinode->revoke_work);
	cancel_delayed_work_sync(&dinode->drain_work);
	cancel_delayed_work_sync(&dinode->lease_work);
	/* lm_break may still run, and let the lease go, until it is dropped. */
	spin_lock(&dinode->lock);
	held = dinode->lease_held;
	dinode->lease_held = false;
	spin_unlock(&dinode->lock);
	if (held)
		daxpin_lease_drop(dinode->lease_file, dinode);
	xa_destroy(&dinode->windows);
	fput(dinode->shadow);
	fput(dinode->lease_file);
	kfree_rcu(dinode, rcu);
}

/* Called with daxpin_inodes_lock held, by kref_put_mutex(); drops it. */
static void daxpin_inode_release(struct kref *kref)
{
	struct daxpin_inode *dinode =
		container_of(kref, struct daxpin_inode, kref);

	hash_del_rcu(&dinode->hnode);
	mutex_unlock(&daxpin_inodes_lock);
	WARN_ON_ONCE(!RB_EMPTY_ROOT(&dinode->pins.rb_root));
	WARN_ON_ONCE(!xa_empty(&dinode->windows));
	/* The works may be what dropped the last reference: free elsewhere. */
	queue_work(daxpin_wq, &dinode->free_work);
}

void daxpin_inode_put(struct daxpin_inode *dinode)
{
	kref_put_mutex(&dinode->kref, daxpin_inode_release, &daxpin_inodes_lock);
}

static bool daxpin_inode_has_pins(struct daxpin_inode *dinode)
{
	lockdep_assert_held(&dinode->lock);
	return !RB_EMPTY_ROOT(&dinode->pins.rb_root) || dinode->nr_draining;
}

/*
 * Called by the lease code under the inode's flc_lock: must not sleep.
 * Returns true: the lease goes at once, always. A write(2), or a reflink or
 * dedupe that breaks leases before it waits for busy pages (and so recalls
 * through the keeper windows next): the pinned blocks stay where they are.
 */
static bool daxpin_lease_break(void *owner, unsigned long *break_time)
{
	struct daxpin_inode *dinode = owner;
	struct interval_tree_node *node;

	spin_lock(&dinode->lock);
	dinode->lease_held = false;
	if (daxpin_inode_has_pins(dinode)) {
		for (node = interval_tree_iter_first(&dinode->pins, 0, ULONG_MAX);
		     node; node = interval_tree_iter_next(node, 0, ULONG_MAX))
			daxpin_event_queue(container_of(node, struct daxpin_range, it),
					   DAXPIN_EVENT_WRITE_BREAK);
		mod_delayed_work(daxpin_wq, &dinode->lease_work,
				 msecs_to_jiffies(DAXPIN_LEASE_RETAKE_MS));
	}
	spin_unlock(&dinode->lock);
	return true;
}

/*
 * Take the lease again after a break, while pins remain - as a kworker, but
 * only if a pinner could take it as itself before (lease_wanted).
 */
static void daxpin_lease_work(struct work_struct *work)
{
	struct daxpin_inode *dinode =
		container_of(to_delayed_work(work), struct daxpin_inode,
			     lease_work);
	bool want;

	mutex_lock(&dinode->mutex);
	spin_lock(&dinode->lock);
	want = dinode->lease_wanted && daxpin_inode_has_pins(dinode);
	spin_unlock(&dinode->lock);
	if (want)
		daxpin_inode_take_lease(dinode);
	mutex_unlock(&dinode->mutex);
}

/*
 * Mark the live pins that overlap [@first, @last] recalled, queue their
 * events and arm the revocation. Called from the MMU notifier: no sleeping.
 */
void daxpin_recall_range(struct daxpin_inode *dinode, pgoff_t first,
			 pgoff_t last)
{
	struct interval_tree_node *node;
	u64 now = ktime_get_ns(), deadline;
	struct daxpin_range *pin;

	spin_lock(&dinode->lock);
	/* A new pin's own faults: no layout change can run meanwhile. */
	if (dinode->populator == current) {
		spin_unlock(&dinode->lock);
		return;
	}
	/*
	 * Draining pins over the range: the layout change will wait for
	 * their pages too. Past their deadline kill_on_stuck applies to them
	 * as to a revoked pin (drain_work, which polls them, sees to it).
	 */
	list_for_each_entry(pin, &dinode->draining, work_node)
		if (!pin->stuck_ns && pin->it.start <= last &&
		    pin->it.last >= first)
			pin->stuck_ns = now + (u64)pin->deadline_ms * NSEC_PER_MSEC;
	for (node = interval_tree_iter_first(&dinode->pins, first, last); node;
	     node = interval_tree_iter_next(node, first, last)) {
		pin = container_of(node, struct daxpin_range, it);

		if (pin->state != DAXPIN_STATE_ACTIVE)
			continue;
		deadline = now + (u64)pin->deadline_ms * NSEC_PER_MSEC;
		dinode->recaller = task_tgid_nr(current);
		pin->state = DAXPIN_STATE_RECALLED;
		pin->deadline_ns = deadline;
		trace_recall(pin, dinode->recaller);
		daxpin_event_queue(pin, DAXPIN_EVENT_RECALL);
		/* Soon, to see whether the zap took the blocks (swapext). */
		deadline = min(deadline, now + DAXPIN_TAKEN_POLL_MS * NSEC_PER_MSEC);
		if (deadline < dinode->armed_ns) {
			dinode->armed_ns = deadline;
			mod_delayed_work(daxpin_wq, &dinode->revoke_work,
					 nsecs_to_jiffies(deadline - now) + 1);
		}
	}
	spin_unlock(&dinode->lock);
}

/*
 * A layout change has waited for a draining pin's pages past the pin's
 * deadline: with kill_on_stuck, kill the processes that mapped or exported
 * it, as for a pin revoked with its pages held; their exit ends their
 * registrations. Once per pin. Called with dinode->mutex held.
 */
static void daxpin_drain_stuck(struct daxpin_range *pin)
{
	u64 stuck_ns;

	spin_lock(&pin->dinode->lock);
	stuck_ns = pin->stuck_ns;
	spin_unlock(&pin->dinode->lock);
	if (pin->stuck_killed || !stuck_ns || ktime_get_ns() < stuck_ns ||
	    !READ_ONCE(daxpin_kill_on_stuck))
		return;
	pin->stuck_killed = true;
	daxpin_map_kill_mappers(pin);
}

/* Release the draining pins whose pages went idle; poll again if any is left. */
static void daxpin_drain_work(struct work_struct *work)
{
	struct daxpin_inode *dinode = container_of(to_delayed_work(work),
						   struct daxpin_inode,
						   drain_work);
	struct daxpin_range *pin, *tmp;

	mutex_lock(&dinode->mutex);
	list_for_each_entry_safe(pin, tmp, &dinode->draining, work_node) {
		if (daxpin_range_busy(pin)) {
			daxpin_drain_stuck(pin);
			continue;
		}
		spin_lock(&dinode->lock);
		list_del_init(&pin->work_node);
		dinode->nr_draining--;
		spin_unlock(&dinode->lock);
		trace_drain(pin, false);
		daxpin_range_drained(pin);
		daxpin_range_put(pin);
		/* daxpin_exit() drains daxpin_wq: this work ends first. */
		module_put(THIS_MODULE);
	}
	if (!list_empty(&dinode->draining))
		mod_delayed_work(daxpin_wq, &dinode->drain_work,
				 msecs_to_jiffies(DAXPIN_DRAIN_POLL_MS));
	mutex_unlock(&dinode->mutex);
}

/* The earliest deadline of a recalled pin, U64_MAX if none. */
static u64 daxpin_inode_next_deadline(struct daxpin_inode *dinode)
{
	struct interval_tree_node *node;
	struct daxpin_range *pin;
	u64 next = U64_MAX;

	lockdep_assert_held(&dinode->lock);
	for (node = interval_tree_iter_first(&dinode->pins, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		pin = container_of(node, struct daxpin_range, it);
		if (pin->state == DAXPIN_STATE_RECALLED)
			next = min(next, pin->deadline_ns);
	}
	return next;
}

/* The reason a recalled pin is to be revoked now, or 0. dinode->mutex held. */
static unsigned int daxpin_revoke_due(struct daxpin_range *pin, u64 now)
{
	if (daxpin_pages_taken(pin))
		return DAXPIN_REVOKE_BLOCKS_TAKEN;
	if (pin->deadline_ns <= now)
		return DAXPIN_REVOKE_DEADLINE;
	return 0;
}

/*
 * Revoke the recalled pins whose deadline passed or whose blocks were
 * taken, then arm for the next deadline, and meanwhile poll every
 * DAXPIN_TAKEN_POLL_MS for taken blocks. armed_ns is U64_MAX while the
 * pins are revoked, so that a recall meanwhile (revoking one pin lets a
 * waiting truncate go on, which may zap again and recall another) arms the
 * work itself; and the next time is worked out from the tree afterwards,
 * under the same lock as the arming, so that no recalled pin is left
 * without one.
 */
static void daxpin_revoke_work(struct work_struct *work)
{
	struct daxpin_inode *dinode = container_of(to_delayed_work(work),
						   struct daxpin_inode,
						   revoke_work);
	struct interval_tree_node *node;
	struct daxpin_range *pin, *tmp;
	unsigned int reason;
	u64 now, next;
	LIST_HEAD(recalled);

	mutex_lock(&dinode->mutex);
	spin_lock(&dinode->lock);
	dinode->armed_ns = U64_MAX;
	for (node = interval_tree_iter_first(&dinode->pins, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		pin = container_of(node, struct daxpin_range, it);
		if (pin->state == DAXPIN_STATE_RECALLED) {
			kref_get(&pin->kref);
			list_add_tail(&pin->work_node, &recalled);
		}
	}
	spin_unlock(&dinode->lock);

	/* The pages stay while dinode->mutex is held: they can be looked at. */
	now = ktime_get_ns();
	list_for_each_entry_safe(pin, tmp, &recalled, work_node) {
		list_del_init(&pin->work_node);
		reason = daxpin_revoke_due(pin, now);
		if (reason == DAXPIN_REVOKE_BLOCKS_TAKEN)
			pr_err_ratelimited("daxpin: pid %d took blocks of pinned file %pD without waiting for the pin (XFS_IOC_SWAPEXT, as xfs_fsr does?): pin revoked; stores through it may have reached the blocks' new owner\n",
					   dinode->recaller, dinode->lease_file);
		if (reason)
			__daxpin_range_end(pin, DAXPIN_STATE_REVOKED, reason);
		daxpin_range_put(pin);
	}

	spin_lock(&dinode->lock);
	next = daxpin_inode_next_deadline(dinode);
	if (next != U64_MAX) {
		now = ktime_get_ns();
		next = min(next, now + DAXPIN_TAKEN_POLL_MS * NSEC_PER_MSEC);
	}
	if (next < dinode->armed_ns) {
		dinode->armed_ns = next;
		mod_delayed_work(daxpin_wq, &dinode->revoke_work,
				 next > now ? nsecs_to_jiffies(next - now) + 1 : 0);
	}
	spin_unlock(&dinode->lock);
	mutex_unlock(&dinode->mutex);
}

static struct daxpin_inode *daxpin_inode_alloc(struct file *file)
{
	struct daxpin_inode *dinode;
	int ret;

	if (daxpin_should_fail())
		return ERR_PTR(-ENOMEM);
	dinode = kzalloc(sizeof(*dinode), GFP_KERNEL_ACCOUNT);
	if (!dinode)
		return ERR_PTR(-ENOMEM);
	kref_init(&dinode->kref);
	mutex_init(&dinode->mutex);
	spin_lock_init(&dinode->lock);
	dinode->pins = RB_ROOT_CACHED;
	xa_init(&dinode->windows);
	INIT_LIST_HEAD(&dinode->draining);
	INIT_DELAYED_WORK(&dinode->revoke_work, daxpin_revoke_work);
	INIT_DELAYED_WORK(&dinode->drain_work, daxpin_drain_work);
	INIT_DELAYED_WORK(&dinode->lease_work, daxpin_lease_work);
	INIT_WORK(&dinode->free_work, daxpin_inode_free_work);
	dinode->armed_ns = U64_MAX;
	dinode->inode = file_inode(file);

	/*
	 * daxpin's own file of the inode carries the lease (and keeps the
	 * file system busy while pins remain): the caller's file stays the
	 * caller's, F_GETLEASE and F_SETLEASE on it see nothing of daxpin.
	 */
	if (daxpin_should_fail())
		dinode->lease_file = ERR_PTR(-ENOMEM);
	else
		dinode->lease_file = dentry_open(&file->f_path,
						 O_RDONLY | O_LARGEFILE,
						 current_cred());
	if (IS_ERR(dinode->lease_file)) {
		ret = PTR_ERR(dinode->lease_file);
		goto out_free;
	}
	if (daxpin_should_fail())
		dinode->shadow = ERR_PTR(-ENOMEM);
	else
		dinode->shadow = anon_inode_getfile("[daxpin-keeper]",
						    &daxpin_shadow_fops,
						    dinode, O_RDWR);
	if (IS_ERR(dinode->shadow)) {
		ret = PTR_ERR(dinode->shadow);
		goto out_fput;
	}
	/* Mappings of the shadow file are mappings of the pinned inode. */
	dinode->shadow->f_mapping = file->f_mapping;
	/*
	 * The lease needs the caller to own the file or have CAP_LEASE, as
	 * for F_SETLEASE; it is taken as the caller. Without it pins still
	 * hold: the lease only adds write(2) notices on XFS.
	 */
	daxpin_inode_take_lease(dinode);
	return dinode;

out_fput:
	fput(dinode->lease_file);
out_free:
	kfree(dinode);
	return ERR_PTR(ret);
}

/*
 * Take the layout lease, unless it is held: from PIN as the pinner (owner
 * or CAP_LEASE, as for F_SETLEASE), from lease_work after a break. Once a
 * pinner could take it, lease_work takes it again after each break.
 * Called with dinode->mutex held, or on a record nobody else sees yet.
 */
void daxpin_inode_take_lease(struct daxpin_inode *dinode)
{
	bool held;

	/* Held from before the take: a break at once must be able to clear it. */
	spin_lock(&dinode->lock);
	held = dinode->lease_held;
	dinode->lease_held = true;
	spin_unlock(&dinode->lock);
	if (held)
		return;
	if (daxpin_lease_take(dinode->lease_file, dinode, &daxpin_lease_ops)) {
		spin_lock(&dinode->lock);
		dinode->lease_held = false;
		spin_unlock(&dinode->lock);
		return;
	}
	spin_lock(&dinode->lock);
	dinode->lease_wanted = true;
	spin_unlock(&dinode->lock);
}

/* Find or make the record of @file's inode; returns it referenced. */
struct daxpin_inode *daxpin_inode_get(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct daxpin_inode *dinode;

	mutex_lock(&daxpin_inodes_lock);
	hash_for_each_possible(daxpin_inodes, dinode, hnode, (unsigned long)inode) {
		if (dinode->inode == inode) {
			kref_get(&dinode->kref);
			goto out;
		}
	}
	dinode = daxpin_inode_alloc(file);
	if (!IS_ERR(dinode))
		hash_add_rcu(daxpin_inodes, &dinode->hnode, (unsigned long)inode);
out:
	mutex_unlock(&daxpin_inodes_lock);
	return dinode;
}

/*
 * Whether daxpin holds @inode: it has a record, which it keeps from before
 * a pin's first page reference to after a draining pin's last. Any context
 * (the swap guard calls it from a kprobe).
 */
bool daxpin_inode_is_held(const struct inode *inode)
{
	struct daxpin_inode *dinode;
	bool held = false;

	rcu_read_lock();
	hash_for_each_possible_rcu(daxpin_inodes, dinode, hnode,
				   (unsigned long)inode) {
		if (dinode->inode == inode) {
			held = true;
			break;
		}
	}
	rcu_read_unlock();
	return held;
}

/*
 * List the draining pins of every inode (for /proc/daxpin). The list is
 * read under dinode->lock, never dinode->mutex: PIN takes that mutex before
 * mmap_lock, and munmap may drop an inode's last reference, which takes
 * daxpin_inodes_lock, under mmap_lock.
 */
void daxpin_inodes_show_draining(struct seq_file *m,
				 void (*show)(struct seq_file *m, pid_t pid,
					      struct daxpin_range *pin,
					      const char *state))
{
	struct daxpin_inode *dinode;
	struct daxpin_range *pin;
	unsigned int bkt;

	mutex_lock(&daxpin_inodes_lock);
	hash_for_each(daxpin_inodes, bkt, dinode, hnode) {
		spin_lock(&dinode->lock);
		list_for_each_entry(pin, &dinode->draining, work_node)
			show(m, pin->pinner, pin, "draining");
		spin_unlock(&dinode->lock);
	}
	mutex_unlock(&daxpin_inodes_lock);
}

int daxpin_inodes_init(void)
{
	daxpin_wq = alloc_workqueue("daxpin", WQ_UNBOUND, 0);
	return daxpin_wq ? 0 : -ENOMEM;
}

void daxpin_inodes_exit(void)
{
	/* Every file is closed: only frees and teardowns may be in flight. */
	destroy_workqueue(daxpin_wq);
	WARN_ON_ONCE(!hash_empty(daxpin_inodes));
}
