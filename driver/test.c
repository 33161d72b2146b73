// SPDX-License-Identifier: GPL-2.0
/*
 * daxpin: fault points for the selftests, through the kernel's fault
 * injection framework.
 *
 * Every step of a command that can fail passes a fault point,
 * daxpin_should_fail(), just before it. On a kernel with
 * CONFIG_FAULT_INJECTION, a selftest writes N to
 * /proc/thread-self/fail-nth and the Nth fault point its thread passes
 * from then on - daxpin's, or the kernel's own (failslab) - fails, so that
 * the test can walk every unwind path of a command, as the iommufd
 * selftests do. Points of work done for the caller on daxpin's host
 * thread are decided in the caller's thread (keeper.c).
 *
 * Only a module loaded with test_hooks=1 has fault points: a production
 * module never fails on purpose. Without CONFIG_FAULT_INJECTION (Debian's
 * kernels) this file is not built and there are none; the bench's debug
 * kernel has it.
 */
#include <linux/types.h>
#include <linux/fault-inject.h>

#include "daxpin.h"

static DECLARE_FAULT_ATTR(daxpin_fail_attr);

/* True when this fault point is to fail. */
bool daxpin_should_fail(void)
{
	return daxpin_test_hooks && should_fail(&daxpin_fail_attr, 1);
}

void daxpin_test_init(void)
{
	/* An injected failure is no news: no stack dump in the kernel log. */
	daxpin_fail_attr.verbose = 0;
}
