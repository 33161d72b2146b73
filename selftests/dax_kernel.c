// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel behaviour daxpin lives with, shown without daxpin: what a test
 * of daxpin meets may be the kernel's own doing, and these say which.
 * This program runs before the others that reflink (the bench runs the
 * programs in name order), because the warnings it looks for are
 * WARN_ON_ONCE.
 */
#include <sys/utsname.h>

#include "kselftest_harness.h"
#include "common.h"

/* Whether a record read from @fd contains @what; copies it to @line. */
static int kmsg_find(int fd, const char *what, char *line, size_t len)
{
	char rec[1024];
	ssize_t n;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE) {
		if (n <= 0)
			continue;	/* EPIPE: records overwritten */
		rec[n] = '\0';
		if (strstr(rec, what)) {
			snprintf(line, len, "%s", strchr(rec, ';') ?
				 strchr(rec, ';') + 1 : rec);
			return 1;
		}
	}
	return 0;
}

/* Whether the kernel release is 6.1.x (Debian's 6.1, or the debug one). */
static int kernel_is_6_1(void)
{
	struct utsname u;

	return !uname(&u) && !strncmp(u.release, "6.1.", 4);
}

/*
 * What the reflink race below does to the kernel without daxpin: plain
 * MAP_SHARED read and write faults of the file, racing the same reflinks
 * and rewrites. On 6.1 that alone makes fs/dax.c warn: at line 380, when a
 * fault associates a DAX page that still has a ->mapping (a stale
 * copy-on-write mark, or another file's) with this file, and then at line
 * 404, when a truncate of one file meets such a page that now names the
 * other. The warnings belong to the kernel's reflink support on DAX;
 * daxpin's populate, which faults the same way, can only meet them. 6.12
 * does not warn. Both are WARN_ON_ONCE: if something fired one earlier in
 * this boot, this test cannot show it.
 */
TEST(plain_mmap_faults_race_reflink)
{
	uint64_t start = now_ns(), end = start + 3 * RACE_SECONDS * 1000000000ull;
	unsigned long faults = 0, i, *shares = shared_counter();
	char path[4096], line[1024] = "", line2[1024] = "";
	int ffd, kfd, status, warned = 0, warned2 = 0;
	pid_t child;

	if (!fs_shares_extents(env_or_die("DAXPIN_DAX_DIR")))
		SKIP(return, "%s cannot share extents", getenv("DAXPIN_FS"));
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kfd);
	if (kmsg_find(kfd, "at fs/dax.c:", line, sizeof(line)))
		SKIP(close(kfd); return,
		     "fs/dax.c warned earlier in this boot (WARN_ON_ONCE): %s",
		     line);
	ASSERT_NE(NULL, shares);
	ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "reflink-plain", 0, path,
			sizeof(path));
	ASSERT_LE(0, ffd);
	ASSERT_EQ(0, fill_file(ffd, 'f', RACE_FILE));
	kmsg_mark("expect-warning at fs/dax\\.c:(380|404) ");
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		share_race_child(path, OP_CLONE_ONTO, end, shares);
	/* Until the kernel warned twice, or three times the daxpin race. */
	while (!(warned && warned2) && now_ns() < end) {
		volatile char *map = mmap(NULL, RACE_LEN,
					  PROT_READ | PROT_WRITE, MAP_SHARED,
					  ffd, 0);
		char rec[1024];

		ASSERT_NE(MAP_FAILED, map);
		/* Beyond EOF (the child refills): SIGBUS, and the next map. */
		for (i = 0; i < RACE_LEN; i += PAGE, faults++)
			if (touch_sigbus(map + i, 0) ||
			    touch_sigbus(map + i, 1))
				break;
		munmap((void *)map, RACE_LEN);
		while (kmsg_find(kfd, "at fs/dax.c:", rec, sizeof(rec))) {
			if (strstr(rec, "at fs/dax.c:380 ") && !warned++)
				snprintf(line, sizeof(line), "%s", rec);
			else if (strstr(rec, "at fs/dax.c:404 ") && !warned2++)
				snprintf(line2, sizeof(line2), "%s", rec);
		}
	}
	if (warned && warned2)
		kill(child, SIGKILL);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	kmsg_mark("expect-warning-end");
	close(kfd);
	close(ffd);
	unlink(path);
	TH_LOG("%.1f s, %lu page touches, %lu shares; fs/dax.c:380 %s%s; fs/dax.c:404 %s%s",
	       (now_ns() - start) / 1e9, faults, *shares,
	       warned ? "warned: " : "did not warn", line,
	       warned2 ? "warned: " : "did not warn", line2);
	EXPECT_TRUE(warned && warned2 ? WIFSIGNALED(status) : status == 0);
	EXPECT_LT(0UL, *shares);
	EXPECT_LT(0UL, faults);
	/* The kernel bug as measured: 6.1 has it, 6.12 not. */
	EXPECT_EQ(kernel_is_6_1(), !!warned);
	munmap(shares, sizeof(*shares));
}

TEST_HARNESS_MAIN
