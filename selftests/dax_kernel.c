// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel behaviour daxpin lives with, shown without daxpin: what a test
 * of daxpin meets may be the kernel's own doing, and these say which.
 *
 * fs/dax.c keeps, for each DAX page, the file (->mapping) and index it is
 * mapped at, and checks three things with WARN_ON_ONCE: a page being
 * associated with a file has no ->mapping yet ("associate"), a page whose
 * entry a truncate removes has no extra reference ("truncate-ref"), and
 * names the file being truncated ("foreign"). With blocks two files share
 * (reflink on XFS), the kernel itself breaks them; the tests below show
 * which, per kernel, with plain mmap() and vmsplice() and no daxpin.
 *
 * This program runs before the others that reflink (the bench runs the
 * programs in name order): the warnings fire once per boot.
 */
#include <sys/uio.h>
#include <sys/utsname.h>
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: facts of each kernel's DAX code and each
 * file system.
 */
DAXPIN_RUNS_ON(every);

/* The lines of the three checks in fs/dax.c, and what was measured. */
struct dax_warnings {
	const char *release;	/* uname -r prefix */
	int associate, truncate_ref, foreign;
	bool race_warns;	/* faults racing reflinks: "associate" */
	bool shared_warns;	/* the shared-block sequence: "foreign" too */
};

static const struct dax_warnings dax_warnings_table[] = {
	/* Debian 6.1.192 and the bench's debug build of it. */
	{ "6.1.", 380, 398, 404, true, true },
	/* Debian 6.12.117. */
	{ "6.12.", 372, 390, 396, false, false },
};

static const struct dax_warnings *dax_warnings(void)
{
	struct utsname u;
	size_t i;

	if (uname(&u))
		return NULL;
	for (i = 0; i < sizeof(dax_warnings_table) /
		    sizeof(dax_warnings_table[0]); i++)
		if (!strncmp(u.release, dax_warnings_table[i].release,
			     strlen(dax_warnings_table[i].release)))
			return &dax_warnings_table[i];
	return NULL;
}

/* "at fs/dax.c:LINE " as the kernel prints it in a WARNING line. */
static void dax_at(char *buf, size_t len, int line)
{
	snprintf(buf, len, "at fs/dax.c:%d ", line);
}

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

/* Reads what the kernel logged since; each @seen[] is 0 or 1. */
static void dax_warnings_seen(int fd, const struct dax_warnings *w,
			      int seen[3], char lines[3][256])
{
	int want[3] = { w->associate, w->truncate_ref, w->foreign }, k;
	char rec[1024], at[32];

	while (kmsg_find(fd, "at fs/dax.c:", rec, sizeof(rec)))
		for (k = 0; k < 3; k++) {
			dax_at(at, sizeof(at), want[k]);
			if (strstr(rec, at) && !seen[k]++)
				snprintf(lines[k], sizeof(lines[k]), "%.200s",
					 rec);
		}
}

/*
 * Opens the kernel log for a test: @fired[] says which of the warnings
 * fired earlier in this boot (they cannot again), and the test's window
 * is announced to the bench. Returns the fd, or -errno.
 */
static int dax_warnings_begin(const struct dax_warnings *w, int fired[3],
			      char lines[3][256])
{
	char mark[128];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	dax_warnings_seen(fd, w, fired, lines);
	snprintf(mark, sizeof(mark), "expect-warning at fs/dax\\.c:(%d|%d|%d) ",
		 w->associate, w->truncate_ref, w->foreign);
	kmsg_mark(mark);
	return fd;
}

/*
 * Plain MAP_SHARED read and write faults of a file, racing reflinks onto
 * it and rewrites of it (share_race_child(), as lifetime's reflink_race
 * does against PINs). On 6.1 that alone makes the "associate" check warn
 * (within seconds on the bench's 6.1, not always in the time on its slow
 * debug kernel): a fault associates a page that still has a ->mapping (a
 * stale copy-on-write mark, or another file's). daxpin's populate faults
 * the same way, so it can meet that warning and cannot prevent it. 6.12
 * must not warn.
 */
TEST(plain_mmap_faults_race_reflink)
{
	uint64_t start = now_ns(), end = start + 3 * RACE_SECONDS * 1000000000ull;
	unsigned long faults = 0, i;
	struct race_shared *race;
	const struct dax_warnings *w = dax_warnings();
	int ffd, kfd, status, seen[3] = { 0 }, fired[3] = { 0 };
	char path[4096], lines[3][256] = { "", "", "" };
	pid_t child;

	if (!fs_shares_extents(env_or_die("DAXPIN_DAX_DIR")))
		SKIP(return, "%s cannot share extents", getenv("DAXPIN_FS"));
	if (!w)
		SKIP(return, "no table of fs/dax.c's lines for this kernel");
	kfd = dax_warnings_begin(w, fired, lines);
	ASSERT_LE(0, kfd);
	if (fired[0]) {
		kmsg_mark("expect-warning-end");
		close(kfd);
		SKIP(return, "fs/dax.c warned earlier in this boot (WARN_ON_ONCE): %s",
		     lines[0]);
	}
	race = race_shared_new(end);
	ASSERT_NE(NULL, race);
	ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "reflink-plain", 0, path,
			sizeof(path));
	ASSERT_LE(0, ffd);
	ASSERT_EQ(0, fill_file(ffd, 'f', RACE_FILE));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0)
		share_race_child(path, OP_CLONE_ONTO, race);
	/* Until the kernel warned, or three times the PIN race's length. */
	while (!seen[0] && now_ns() < end) {
		volatile char *map = mmap(NULL, RACE_LEN,
					  PROT_READ | PROT_WRITE, MAP_SHARED,
					  ffd, 0);

		ASSERT_NE(MAP_FAILED, map);
		/* Beyond EOF (the child refills): SIGBUS, and the next map. */
		for (i = 0; i < RACE_LEN; i += PAGE, faults++)
			if (touch_sigbus(map + i, 0) ||
			    touch_sigbus(map + i, 1))
				break;
		munmap((void *)map, RACE_LEN);
		dax_warnings_seen(kfd, w, seen, lines);
	}
	/* Stop the child, whose sharing could go on warning. */
	race_set_end(race, 0);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	kmsg_mark("expect-warning-end");
	close(kfd);
	close(ffd);
	unlink(path);
	TH_LOG("%.1f s, %lu page touches, %lu shares; associate %s%s; truncate-ref %s%s; foreign %s%s",
	       (now_ns() - start) / 1e9, faults, race->shares,
	       seen[0] ? "warned: " : "did not warn", lines[0],
	       seen[1] ? "warned: " : "did not warn", lines[1],
	       seen[2] ? "warned: " : "did not warn", lines[2]);
	EXPECT_EQ(0, status);
	EXPECT_LT(0UL, race->shares);
	EXPECT_LT(0UL, faults);
	/*
	 * A kernel without the bug must not warn. One with it need not warn
	 * within the time (a race; the debug kernel is slow): the next test
	 * shows the same check firing, deterministically.
	 */
	if (!w->race_warns)
		EXPECT_EQ(0, seen[0]);
	munmap(race, sizeof(*race));
}

/* A file of 16 pages and a reflinked copy of it: B's fd, A's in @a. */
static int shared_pair(const char *dir, const char *name, char *a_path,
		       char *b_path, size_t len, int *a)
{
	char an[64];
	int b;

	b = make_file(dir, name, 0, b_path, len);
	if (b < 0 || fill_file(b, 'b', 16 * PAGE))
		return -1;
	snprintf(an, sizeof(an), "%s-clone", name);
	*a = make_file(dir, an, 0, a_path, len);
	if (*a < 0 || ioctl(*a, FICLONE, b))
		return -1;
	return b;
}

/* Read-fault the first page of @fd through a mapping: its first byte. */
static int fault_first_page(int fd)
{
	volatile char *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	int c;

	if (m == MAP_FAILED)
		return -1;
	c = m[0];
	munmap((void *)m, PAGE);
	return c;
}

/*
 * Two files share a block, each faults it in through a plain read-only
 * mapping, and one is truncated while no one maps it:
 *  - on 6.1, the second fault associates the page with the second file
 *    although the first file's entry names it ("associate"), so a
 *    truncate of the first file meets a page that names the other one
 *    ("foreign"); 6.12 counts the sharing instead and does neither;
 *  - with a page reference held meanwhile, here by vmsplice() into a
 *    pipe, a truncate of the other file meets a referenced page
 *    ("truncate-ref"), on 6.1 and 6.12: with no mapping of the file,
 *    dax_layout_busy_page() does not look, so the truncate does not
 *    wait. Nothing is lost: the block stays the first file's, whose data
 *    the pipe and the file still read.
 * A daxpin pin would hold such a reference, so a pin must never hold a
 * block another file shares (PIN checks with FIEMAP before and after).
 */
TEST(plain_shared_block_faults_and_truncates)
{
	char a_path[4096], b_path[4096], buf[PAGE],
	     lines[3][256] = { "", "", "" };
	const char *dir = env_or_die("DAXPIN_DAX_DIR");
	const struct dax_warnings *w = dax_warnings();
	int a, b, kfd, p[2], seen[3] = { 0 }, fired[3] = { 0 };
	struct iovec iov;
	volatile char *mb;
	size_t i;

	if (!fs_shares_extents(dir))
		SKIP(return, "%s cannot share extents", getenv("DAXPIN_FS"));
	if (!w)
		SKIP(return, "no table of fs/dax.c's lines for this kernel");
	kfd = dax_warnings_begin(w, fired, lines);
	ASSERT_LE(0, kfd);
	if (fired[1] || fired[2]) {
		kmsg_mark("expect-warning-end");
		close(kfd);
		SKIP(return, "fs/dax.c warned earlier in this boot (WARN_ON_ONCE): %s",
		     fired[1] ? lines[1] : lines[2]);
	}
	ASSERT_EQ(0, pipe(p));

	/* Truncate the first file, whose page may now name the second. */
	b = shared_pair(dir, "shared-foreign", a_path, b_path, sizeof(a_path),
			&a);
	ASSERT_LE(0, b);
	EXPECT_EQ('b', fault_first_page(b));
	EXPECT_EQ('b', fault_first_page(a));
	EXPECT_EQ(0, ftruncate(b, 0));
	EXPECT_EQ(0, ftruncate(a, 0));
	close(a);
	close(b);
	unlink(a_path);
	unlink(b_path);

	/* Truncate the second file while a pipe holds the page. */
	b = shared_pair(dir, "shared-ref", a_path, b_path, sizeof(a_path), &a);
	ASSERT_LE(0, b);
	mb = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, b, 0);
	ASSERT_NE(MAP_FAILED, mb);
	EXPECT_EQ('b', mb[0]);
	iov.iov_base = (void *)mb;
	iov.iov_len = PAGE;
	/* The pipe holds a reference on B's first page until it is read. */
	ASSERT_EQ((ssize_t)PAGE, vmsplice(p[1], &iov, 1, 0));
	munmap((void *)mb, PAGE);
	EXPECT_EQ('b', fault_first_page(a));
	EXPECT_EQ(0, ftruncate(a, 0));
	/* B still reads its data, through the pipe and the file. */
	ASSERT_EQ((ssize_t)PAGE, read(p[0], buf, PAGE));
	for (i = 0; i < PAGE && buf[i] == 'b'; i++)
		;
	EXPECT_EQ(PAGE, i);
	ASSERT_EQ((ssize_t)PAGE, pread(b, buf, PAGE, 0));
	EXPECT_EQ('b', buf[PAGE - 1]);
	close(a);
	close(b);
	unlink(a_path);
	unlink(b_path);

	usleep(100000);
	dax_warnings_seen(kfd, w, seen, lines);
	kmsg_mark("expect-warning-end");
	TH_LOG("associate %s%s; foreign %s%s; truncate-ref %s%s",
	       fired[0] ? "had warned earlier in this boot: " :
	       seen[0] ? "warned: " : "did not warn", lines[0],
	       seen[2] ? "warned: " : "did not warn", lines[2],
	       seen[1] ? "warned: " : "did not warn", lines[1]);
	/* The kernel bugs as measured on this kernel. */
	if (!fired[0])
		EXPECT_EQ(w->shared_warns, !!seen[0]);
	EXPECT_EQ(w->shared_warns, !!seen[2]);
	EXPECT_EQ(1, seen[1]);
	close(p[0]);
	close(p[1]);
	close(kfd);
}

/*
 * The line of 7.2's "freed while referenced" check: dax_folio_put()'s
 * WARN_ON_ONCE(folio_ref_count()), reached when an entry is disassociated.
 */
static const struct {
	const char *release;	/* uname -r prefix */
	int line;
} dax_put_ref_table[] = {
	/* Debian 7.2.13 (sid). */
	{ "7.2.", 452 },
};

static int dax_put_ref_line(void)
{
	struct utsname u;
	size_t i;

	if (uname(&u))
		return 0;
	for (i = 0; i < sizeof(dax_put_ref_table) /
		    sizeof(dax_put_ref_table[0]); i++)
		if (!strncmp(u.release, dax_put_ref_table[i].release,
			     strlen(dax_put_ref_table[i].release)))
			return dax_put_ref_table[i].line;
	return 0;
}

/*
 * A is made a reflink of B (its blocks are B's, 'b'), A's first page is
 * read-faulted through a mapping, and then written with pwrite() ('a'): a
 * copy-on-write of a block A's mapping has. The mapping, or NULL.
 */
static volatile char *cow_write_mapped(const char *dir, const char *name,
				       char *a_path, char *b_path,
				       size_t len, int *a, int *b)
{
	volatile char *ma;
	char buf[PAGE];

	*b = shared_pair(dir, name, a_path, b_path, len, a);
	if (*b < 0)
		return NULL;
	ma = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, *a, 0);
	if (ma == MAP_FAILED || ma[0] != 'b')
		return NULL;
	memset(buf, 'a', sizeof(buf));
	if (pwrite(*a, buf, PAGE, 0) != (ssize_t)PAGE)
		return NULL;
	return ma;
}

/*
 * From 6.15 a page mapped from a DAX file holds a reference while it is
 * mapped. A copy-on-write pwrite() of a shared block (XFS, after a
 * reflink) has dax_iomap_rw() call invalidate_inode_pages2_range() on the
 * range, which on a DAX mapping removes the entries first and unmaps the
 * page tables after: a page still mapped is let go of with its mapping's
 * reference, and dax_folio_put() warns. No daxpin here: a plain read
 * fault, a reflink, a write. The fuzzer meets the same warning on 7.2 (it
 * maps, reflinks and writes files), and says so.
 */
TEST(cow_write_of_mapped_block)
{
	char a_path[4096], b_path[4096], buf[PAGE], rec[1024], at[32];
	const char *dir = env_or_die("DAXPIN_DAX_DIR");
	int a, b, kfd, line = dax_put_ref_line(), seen = 0;
	volatile char *ma;
	char mark[96];

	if (!kernel_at_least(6, 15))
		SKIP(return, "before 6.15 a mapped fsdax page takes no reference");
	if (!fs_shares_extents(dir))
		SKIP(return, "%s cannot share extents", getenv("DAXPIN_FS"));
	if (!line)
		SKIP(return, "no table of fs/dax.c's lines for this kernel");
	/* 7.x prints "WARNING: fs/dax.c:LINE at FUNCTION". */
	snprintf(at, sizeof(at), "fs/dax.c:%d ", line);
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kfd);
	if (kmsg_find(kfd, at, rec, sizeof(rec))) {
		close(kfd);
		SKIP(return, "fs/dax.c warned earlier in this boot (WARN_ON_ONCE): %.200s",
		     rec);
	}
	snprintf(mark, sizeof(mark), "expect-warning fs/dax\\.c:%d ", line);
	kmsg_mark(mark);

	ma = cow_write_mapped(dir, "cow-mapped", a_path, b_path,
			      sizeof(a_path), &a, &b);
	ASSERT_NE(NULL, ma);
	/* The mapping was zapped: it faults A's new block in. */
	EXPECT_EQ('a', ma[0]);
	munmap((void *)ma, PAGE);
	ASSERT_EQ((ssize_t)PAGE, pread(b, buf, PAGE, 0));
	EXPECT_EQ('b', buf[0]);
	close(a);
	close(b);
	unlink(a_path);
	unlink(b_path);

	usleep(100000);
	seen = kmsg_find(kfd, at, rec, sizeof(rec));
	kmsg_mark("expect-warning-end");
	close(kfd);
	TH_LOG("fs/dax.c:%d %s%.200s", line, seen ? "warned: " : "did not warn",
	       seen ? rec : "");
	EXPECT_EQ(1, seen);
}

/*
 * Before 6.2 (upstream f80e1668888f, "fsdax: invalidate pages when CoW"),
 * a copy-on-write pwrite() of a shared block (XFS, after a reflink) moved
 * the file to a new block but left its DAX entry and page tables on the
 * old one: a mapping made before the write goes on reading the old block,
 * which the file no longer owns. Once the other file lets go of that
 * block, it can be allocated to a third file and pinned there; a truncate
 * of the first file then finds the stale entry with the third file's page
 * in it and warns at "truncate-ref" and "foreign" (fs/dax.c:398 and 404 on
 * 6.1). The fuzzer met that on 6.1; it now unshares its scratch file after
 * each reflink, so that no block it writes stays shared (fuzz.c,
 * op_remap()). No daxpin here: a plain read fault, a reflink, a write.
 * From 6.15 on cow_write_of_mapped_block shows the same write (the mapped
 * page holds a reference there, and the kernel warns).
 */
TEST(cow_write_leaves_mapping_on_old_block_before_6_2)
{
	char a_path[4096], b_path[4096], buf[PAGE];
	const char *dir = env_or_die("DAXPIN_DAX_DIR");
	const bool fixed = kernel_at_least(6, 2) == 1;
	volatile char *ma;
	bool stale;
	int a, b;

	if (kernel_at_least(6, 15) == 1)
		SKIP(return, "from 6.15 on cow_write_of_mapped_block shows this write (and its warning)");
	if (!fs_shares_extents(dir))
		SKIP(return, "%s cannot share extents", getenv("DAXPIN_FS"));
	if (!fixed)
		kmsg_mark("expect-warning at fs/dax\\.c:(380|398|404) ");

	ma = cow_write_mapped(dir, "cow-stale", a_path, b_path,
			      sizeof(a_path), &a, &b);
	ASSERT_NE(NULL, ma);
	ASSERT_EQ((ssize_t)PAGE, pread(a, buf, PAGE, 0));
	EXPECT_EQ('a', buf[0]);
	stale = ma[0] == 'b';
	TH_LOG("after the write, A's earlier mapping reads %s",
	       stale ? "the old block, B's (a stale entry)" : "A's new block");
	EXPECT_EQ(!fixed, stale);
	munmap((void *)ma, PAGE);
	ASSERT_EQ((ssize_t)PAGE, pread(b, buf, PAGE, 0));
	EXPECT_EQ('b', buf[0]);
	close(a);
	close(b);
	unlink(a_path);
	unlink(b_path);
	if (!fixed)
		kmsg_mark("expect-warning-end");
}

/*
 * What the keeper windows are still for on 7.x. Up to 6.14,
 * dax_layout_busy_page_range() returns at once when nothing maps the file,
 * so a page reference held with the file unmapped holds no layout change
 * off (kernel-facts section 3): the windows keep the file mapped. From
 * 6.15 that early return is gone. Measured here without daxpin: a pipe
 * holds references on pages of a DAX file (vmsplice), the file is
 * unmapped, and a truncate must wait until the pipe is read.
 */
TEST(unmapped_referenced_pages_hold_truncate)
{
	const size_t len = 16 * PAGE;
	char path[4096], *buf;
	struct iovec iov;
	int fd, p[2], status;
	char *m;
	size_t i;
	pid_t op;

	if (!kernel_at_least(6, 15))
		SKIP(return, "before 6.15 a truncate of an unmapped DAX file waits for no page reference: what the keeper windows are for (kernel-facts section 3)");
	fd = make_file(env_or_die("DAXPIN_DAX_DIR"), "unmapped-ref", 4 * len,
		       path, sizeof(path));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fill_file(fd, 'u', 4 * len));
	ASSERT_EQ(0, pipe(p));
	ASSERT_LE((int)len, fcntl(p[1], F_SETPIPE_SZ, (int)len));
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	iov.iov_base = m;
	iov.iov_len = len;
	/* The pipe holds a reference on each page until it is read. */
	ASSERT_EQ((ssize_t)len, vmsplice(p[1], &iov, 1, 0));
	munmap(m, len);

	op = spawn_op(path, OP_TRUNCATE, 0);
	ASSERT_LT(0, op);
	/* Nothing maps the file; the references alone hold the truncate. */
	EXPECT_EQ(-ETIMEDOUT, wait_child(op, 2000))
		TH_LOG("the truncate did not wait for the pipe's references");
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)len, read(p[0], buf, len));
	for (i = 0; i < len && buf[i] == 'u'; i++)
		;
	EXPECT_EQ(len, i);
	status = wait_child(op, 10000);
	EXPECT_EQ(0, status) TH_LOG("the truncate still waits after the pipe was read");
	EXPECT_EQ(0, lseek(fd, 0, SEEK_END));
	free(buf);
	close(p[0]);
	close(p[1]);
	close(fd);
	unlink(path);
}

/*
 * And what that costs on 6.15 and later: the wait ends only when the page's
 * reference count reaches 0 (dax_page_is_idle()), and a mapping counts one
 * reference per page table entry. XFS drops its MMAPLOCK while it sleeps
 * in that wait (xfs_wait_dax_page()), so a fault can map the page again
 * meanwhile; its reference never goes while the mapping stays, and the
 * layout change waits until it is unmapped, whatever else let go (ext4
 * drops its invalidate_lock the same way, ext4_wait_dax_page()). Shown
 * without daxpin: a pipe's reference holds a truncate, a mapping faults
 * the page back in during the wait, the pipe is read: the truncate still
 * waits, until the munmap().
 */
TEST(refault_during_wait_holds_truncate)
{
	const size_t len = 16 * PAGE;
	char path[4096], buf[PAGE];
	volatile char *m2;
	struct iovec iov;
	int fd, p[2];
	char *m;
	pid_t op;

	if (!kernel_at_least(6, 15))
		SKIP(return, "before 6.15 a mapped fsdax page takes no reference: a refault does not make it busy");
	fd = make_file(env_or_die("DAXPIN_DAX_DIR"), "refault-wait", len, path,
		       sizeof(path));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fill_file(fd, 'r', len));
	ASSERT_EQ(0, pipe(p));
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	iov.iov_base = m;
	iov.iov_len = PAGE;
	ASSERT_EQ((ssize_t)PAGE, vmsplice(p[1], &iov, 1, 0));
	munmap(m, PAGE);

	op = spawn_op(path, OP_TRUNCATE, 0);
	ASSERT_LT(0, op);
	ASSERT_EQ(-ETIMEDOUT, wait_child(op, 1000))
		TH_LOG("the truncate did not wait for the pipe's reference");
	/* Fault the page back in while the truncate sleeps. */
	m2 = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m2);
	EXPECT_EQ('r', m2[0]);
	/* The pipe lets go: only the new mapping holds the page now. */
	ASSERT_EQ((ssize_t)PAGE, read(p[0], buf, PAGE));
	EXPECT_EQ(-ETIMEDOUT, wait_child(op, 2000))
		TH_LOG("the truncate went on with the page mapped again: the kernel no longer waits for a count of 0");
	munmap((void *)m2, PAGE);
	EXPECT_EQ(0, wait_child(op, 10000))
		TH_LOG("the truncate still waits after the munmap");
	close(p[0]);
	close(p[1]);
	close(fd);
	unlink(path);
}

TEST_HARNESS_MAIN
