/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * daxpin-demo: what `make demo` runs in the guest. For now it shows that the
 * module is loaded and what it supports; it grows with daxpin.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libdaxpin.h"

int main(void)
{
	struct daxpin_info info;
	int fd, ret;

	fd = daxpin_open();
	if (fd < 0) {
		fprintf(stderr, "daxpin-demo: open %s: %s\n", DAXPIN_DEVICE_PATH,
			strerror(-fd));
		return 1;
	}
	ret = daxpin_get_info(fd, &info);
	if (ret) {
		fprintf(stderr, "daxpin-demo: DAXPIN_INFO: %s\n", strerror(-ret));
		close(fd);
		return 1;
	}
	printf("daxpin: %s is up, interface version %u, features %#llx%s\n",
	       DAXPIN_DEVICE_PATH, info.api_version,
	       (unsigned long long)info.features,
	       info.features & DAXPIN_FEATURE_TEST_HOOKS ? " (test hooks on)" : "");
	close(fd);
	return 0;
}
