// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: the test-only hook. With test_hooks=1, writing N to the module
 * parameter fail_nth makes the Nth failure point daxpin passes from then on
 * fail as if its allocation or call had failed, so that the selftests can
 * walk every unwind path of a command. The count is module-wide: the
 * selftests run one at a time. Without test_hooks nothing ever fails here.
 */
#include <linux/atomic.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include "daxpin.h"

static atomic_t daxpin_fail_countdown = ATOMIC_INIT(0);

static int daxpin_fail_nth_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n;
	int ret;

	if (!daxpin_test_hooks)
		return -EPERM;
	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	atomic_set(&daxpin_fail_countdown, n);
	return 0;
}

static int daxpin_fail_nth_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&daxpin_fail_countdown));
}

static const struct kernel_param_ops daxpin_fail_nth_ops = {
	.set = daxpin_fail_nth_set,
	.get = daxpin_fail_nth_get,
};
module_param_cb(fail_nth, &daxpin_fail_nth_ops, NULL, 0600);
MODULE_PARM_DESC(fail_nth,
		 "Test only (test_hooks=1): fail the Nth failure point from now; reads what is left");

/* True when this failure point is the one to fail. */
bool daxpin_should_fail(void)
{
	return daxpin_test_hooks &&
	       atomic_dec_if_positive(&daxpin_fail_countdown) == 0;
}
