// SPDX-License-Identifier: GPL-2.0
/*
 * The bench's own promises, checked from inside the guest: the DAX
 * directory really is DAX, the other one really is not, the file system is
 * the one asked for, and soft-RoCE is there. Every other test relies on
 * these, so they fail rather than skip.
 */
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: the set-up of each guest is what it
 * checks.
 */
DAXPIN_RUNS_ON(every);

static int file_is_dax(const char *dir, int *is_dax)
{
	char path[4096];
	struct statx stx;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/bench-env-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	ret = statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx);
	if (ret)
		ret = -errno;
	else if (!(stx.stx_attributes_mask & STATX_ATTR_DAX))
		ret = -EOPNOTSUPP;
	else
		*is_dax = !!(stx.stx_attributes & STATX_ATTR_DAX);
	close(fd);
	unlink(path);
	return ret;
}

TEST(dax_dir_is_dax)
{
	int is_dax = -1;

	ASSERT_EQ(0, file_is_dax(env_or_die("DAXPIN_DAX_DIR"), &is_dax));
	ASSERT_EQ(1, is_dax);
}

TEST(nodax_dir_is_not_dax)
{
	int is_dax = -1;

	ASSERT_EQ(0, file_is_dax(env_or_die("DAXPIN_NODAX_DIR"), &is_dax));
	ASSERT_EQ(0, is_dax);
}

TEST(file_system_type)
{
	const char *fs = env_or_die("DAXPIN_FS");
	struct statfs sfs;
	long want;

	if (!strcmp(fs, "xfs"))
		want = XFS_SUPER_MAGIC;
	else if (!strcmp(fs, "ext4"))
		want = EXT4_SUPER_MAGIC;
	else
		ASSERT_TRUE(0) TH_LOG("unknown DAXPIN_FS '%s'", fs);
	ASSERT_EQ(0, statfs(env_or_die("DAXPIN_DAX_DIR"), &sfs));
	ASSERT_EQ(want, (long)sfs.f_type);
	ASSERT_EQ(0, statfs(env_or_die("DAXPIN_NODAX_DIR"), &sfs));
	ASSERT_EQ(want, (long)sfs.f_type);
}

TEST(rdma_device_present)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/class/infiniband/%s",
		 env_or_die("DAXPIN_RDMA_DEV"));
	ASSERT_EQ(0, access(path, F_OK)) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(0, access("/dev/infiniband/uverbs0", R_OK | W_OK));
}

TEST_HARNESS_MAIN
