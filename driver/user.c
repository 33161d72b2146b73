// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: per-user limits on the module's global resources.
 *
 * Every pin takes one of the module's mmap cookies (about 8.4 million in
 * all, map.c), and every keeper window one VMA of the single host mm
 * (keeper.c), which vm.max_map_count bounds (65,530 by default) for
 * everybody at once. Without a limit per user, one user could take them
 * all and make every other user's PIN fail. So each user (by real uid, as
 * RLIMIT_NPROC counts) is charged for the pins it made and the windows its
 * PINs mapped, for as long as they exist: a pin until it is freed (a
 * draining pin still counts), a window until the last pin over it goes.
 * Likewise the scratch calls (PIN's FIEMAP check, host.c): at most
 * DAXPIN_SCRATCH_SLOTS run at once for everybody, and one blocks for as
 * long as a layout change holds the file, so a user who held up its own
 * file's layout change could otherwise take every worker; a call counts
 * from its queueing until its worker is done with it.
 */
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

#include "daxpin.h"

static unsigned int max_pins_per_user = 65536;
module_param(max_pins_per_user, uint, 0644);
MODULE_PARM_DESC(max_pins_per_user,
		 "Most pins one user (real uid) may hold at once, in all its daxpin files (default 65536)");

static unsigned int max_windows_per_user = 4096;
module_param(max_windows_per_user, uint, 0644);
MODULE_PARM_DESC(max_windows_per_user,
		 "Most keeper windows (one per GiB of a file that has pins) one user's PINs may have mapped at once (default 4096)");

static unsigned int max_scratch_calls_per_user = 64;
module_param(max_scratch_calls_per_user, uint, 0644);
MODULE_PARM_DESC(max_scratch_calls_per_user,
		 "Most of PIN's checks for shared blocks (FIEMAP on a worker; 512 run at once for everybody) one user's PINs may have under way at once (default 64)");

/**
 * struct daxpin_user - what one user holds
 * @node: in daxpin_users, by uid
 * @uid: the user
 * @held: pins, windows and scratch calls, by enum daxpin_user_res
 */
struct daxpin_user {
	struct hlist_node node;
	kuid_t uid;
	unsigned int held[DAXPIN_USER_NR_RES];
};

/* Protects daxpin_users and every daxpin_user's @held. */
static DEFINE_SPINLOCK(daxpin_users_lock);
static DEFINE_HASHTABLE(daxpin_users, 6);

static unsigned int daxpin_user_max(enum daxpin_user_res res)
{
	switch (res) {
	case DAXPIN_USER_PINS:
		return READ_ONCE(max_pins_per_user);
	case DAXPIN_USER_WINDOWS:
		return READ_ONCE(max_windows_per_user);
	default:
		return READ_ONCE(max_scratch_calls_per_user);
	}
}

/* Whether @user holds nothing any more. */
static bool daxpin_user_idle(const struct daxpin_user *user)
{
	int res;

	for (res = 0; res < DAXPIN_USER_NR_RES; res++)
		if (user->held[res])
			return false;
	return true;
}

static struct daxpin_user *daxpin_user_find(kuid_t uid)
{
	struct daxpin_user *user;

	lockdep_assert_held(&daxpin_users_lock);
	hash_for_each_possible(daxpin_users, user, node, __kuid_val(uid))
		if (uid_eq(user->uid, uid))
			return user;
	return NULL;
}

/*
 * Charge one pin, window or scratch call to @uid. Returns 0, -ENOSPC if the user holds
 * its limit already, or -ENOMEM. A user's record is allocated only the
 * first time it is charged, and only kept while it holds something.
 */
int daxpin_user_charge(kuid_t uid, enum daxpin_user_res res)
{
	struct daxpin_user *user, *fresh = NULL;
	int ret = -ENOSPC;

	if (daxpin_should_fail())
		return -ENOMEM;
	spin_lock(&daxpin_users_lock);
	user = daxpin_user_find(uid);
	if (!user) {
		spin_unlock(&daxpin_users_lock);
		fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
		if (!fresh)
			return -ENOMEM;
		fresh->uid = uid;
		spin_lock(&daxpin_users_lock);
		/* Another charge of the user may have added it meanwhile. */
		user = daxpin_user_find(uid);
	}
	if ((user ? user->held[res] : 0) < daxpin_user_max(res)) {
		if (!user) {
			user = fresh;
			fresh = NULL;
			hash_add(daxpin_users, &user->node, __kuid_val(uid));
		}
		user->held[res]++;
		ret = 0;
	}
	spin_unlock(&daxpin_users_lock);
	kfree(fresh);
	return ret;
}

/* Give back one pin, window or scratch call of @uid; a user holding nothing is forgotten. */
void daxpin_user_uncharge(kuid_t uid, enum daxpin_user_res res)
{
	struct daxpin_user *user;
	bool idle = false;

	spin_lock(&daxpin_users_lock);
	user = daxpin_user_find(uid);
	if (!WARN_ON_ONCE(!user || !user->held[res])) {
		user->held[res]--;
		idle = daxpin_user_idle(user);
		if (idle)
			hash_del(&user->node);
	}
	spin_unlock(&daxpin_users_lock);
	if (idle)
		kfree(user);
}

/* Module unload: nothing is held any more. */
void daxpin_users_exit(void)
{
	WARN_ON_ONCE(!hash_empty(daxpin_users));
}
