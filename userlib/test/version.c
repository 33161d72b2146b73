// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * The version macros of libdaxpin.h agree with the library it runs with
 * (this build's), and DAXPIN_LIB_CHECK_VERSION() compares as
 * daxpin_version_major(3) says.
 */
#include <libdaxpin.h>

#include "test.h"

int main(void)
{
	int major = DAXPIN_LIB_VERSION_MAJOR, minor = DAXPIN_LIB_VERSION_MINOR;

	CHECK_RET(daxpin_version_major(), major);
	CHECK_RET(daxpin_version_minor(), minor);

	/* The calls came in 0.3: headers that have them say so. */
	CHECK(DAXPIN_LIB_CHECK_VERSION(0, 3), "headers before 0.3");
	CHECK(DAXPIN_LIB_CHECK_VERSION(DAXPIN_LIB_VERSION_MAJOR,
				       DAXPIN_LIB_VERSION_MINOR),
	      "not true of its own release");
	CHECK(!DAXPIN_LIB_CHECK_VERSION(DAXPIN_LIB_VERSION_MAJOR,
					DAXPIN_LIB_VERSION_MINOR + 1),
	      "true of the next minor release");
	CHECK(!DAXPIN_LIB_CHECK_VERSION(DAXPIN_LIB_VERSION_MAJOR + 1, 0),
	      "true of the next major release");
	CHECK(DAXPIN_LIB_CHECK_VERSION(DAXPIN_LIB_VERSION_MAJOR, 0),
	      "not true of an earlier minor release");
	/* Arguments are expressions, evaluated as such. */
	CHECK(DAXPIN_LIB_CHECK_VERSION(major - 1 + 1, minor),
	      "an expression as argument");
	return t_end();
}
