// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libdaxpin-verbs refuses what daxpin_reg_mr(3) and daxpin_odp_check(3)
 * say it refuses before it asks the module or the device anything, and
 * names its paths. No device, no module: @pd is a zeroed struct that only
 * stands for "not NULL".
 */
#include <errno.h>
#include <string.h>

#include <libdaxpin-verbs.h>

#include "test.h"

static void no_call(const struct daxpin_event *ev, struct daxpin_mr *dmr,
		    void *arg)
{
	(void)ev;
	(void)dmr;
	(void)arg;
	t_failed = 1;
}

int main(void)
{
	static struct ibv_pd pd_stub;
	struct daxpin_reg_attr attr = { 0 };
	struct daxpin_mr *dmr = NULL;
	struct daxpin_mr *mrs[1] = { NULL };
	const int access = IBV_ACCESS_LOCAL_WRITE;

	/* daxpin_reg_mr(): EINVAL for each documented refusal. */
	CHECK_RET(daxpin_reg_mr(-1, NULL, -1, 0, 4096, access, NULL, &dmr),
		  -EINVAL);
	CHECK_RET(daxpin_reg_mr(-1, &pd_stub, -1, 0, 4096, access, NULL, NULL),
		  -EINVAL);
	CHECK_RET(daxpin_reg_mr(-1, &pd_stub, -1, 0, 0, access, NULL, &dmr),
		  -EINVAL);
	attr.paths = 1u << 30;
	CHECK_RET(daxpin_reg_mr(-1, &pd_stub, -1, 0, 4096, access, &attr, &dmr),
		  -EINVAL);
	CHECK_RET(daxpin_reg_mr(-1, &pd_stub, -1, 0, 4096,
				access | IBV_ACCESS_ON_DEMAND, NULL, &dmr),
		  -EINVAL);
	CHECK(dmr == NULL, "a refused daxpin_reg_mr() set *out");

	/* Past the argument checks, a daxpin fd that is not open: EBADF. */
	attr.paths = 0;
	CHECK_RET(daxpin_reg_mr(-1, &pd_stub, -1, 0, 4096, access, &attr, &dmr),
		  -EBADF);
	CHECK(dmr == NULL, "a failed daxpin_reg_mr() set *out");

	CHECK_RET(daxpin_dereg_mr(NULL), -EINVAL);
	CHECK_RET(daxpin_mr_dispatch(-1, mrs, 1, NULL, NULL), -EINVAL);
	CHECK_RET(daxpin_mr_dispatch(-1, NULL, 1, no_call, NULL), -EINVAL);
	CHECK_RET(daxpin_odp_check(NULL, access, NULL, 0), -EINVAL);

	CHECK(!strcmp(daxpin_reg_path_name(DAXPIN_REG_PIN_MAPPING),
		      "pin-mapping"), "name of DAXPIN_REG_PIN_MAPPING");
	CHECK(!strcmp(daxpin_reg_path_name(DAXPIN_REG_ODP), "odp"),
	      "name of DAXPIN_REG_ODP");
	CHECK(!strcmp(daxpin_reg_path_name(DAXPIN_REG_DMABUF), "dmabuf"),
	      "name of DAXPIN_REG_DMABUF");
	CHECK(!strcmp(daxpin_reg_path_name((enum daxpin_reg_path)0), "unknown"),
	      "name of 0");
	return t_end();
}
