// SPDX-License-Identifier: GPL-2.0
/*
 * Recall and revocation: a layout change on a pinned range (truncate and
 * every fallocate mode) waits for the pin, the holder hears of it at once,
 * and the change goes on when the holder unpins, when its deadline passes,
 * when it closes or dies; a signal ends the wait of the changing process
 * at once and it never spins.
 *
 * Bounds here are functional, not benchmarks: generous enough for a
 * KASAN kernel under emulation, tight enough to tell "waits" from "does not".
 */
#include <sys/syscall.h>
#include <linux/falloc.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: every layout change of every file system
 * and kernel.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(4 * 1024 * 1024UL)
#define PIN_LEN		(1024 * 1024UL)
/* A layout change that is not waiting finishes within this. */
#define PROMPT_MS	5000
/* How long we watch a waiting change to be sure it waits. */
#define WAITS_MS	400
#define LONG_DEADLINE	60000

FIXTURE(recall) {
	int dfd;
	int ffd;
	char path[4096];
	struct daxpin_pin pin;
	/* The op is one this file system does not have (reflink on ext4). */
	bool unsupported;
	/*
	 * The op spins: reflink and dedupe on XFS lock the two inodes in
	 * inode number order, wait (interruptibly) for busy pages of the
	 * first, but for the second only retry in a loop that neither
	 * sleeps nor looks at signals (xfs_mmaplock_two_inodes_and_break_
	 * dax_layout() in 6.1 and 6.12). A pinned file with the higher
	 * number makes the op burn a CPU, unkillable, until the pin goes.
	 */
	bool spins;
};

FIXTURE_VARIANT(recall) {
	enum layout_op op;
};

FIXTURE_VARIANT_ADD(recall, truncate) { .op = OP_TRUNCATE };
FIXTURE_VARIANT_ADD(recall, punch_hole) { .op = OP_PUNCH };
FIXTURE_VARIANT_ADD(recall, collapse_range) { .op = OP_COLLAPSE };
FIXTURE_VARIANT_ADD(recall, insert_range) { .op = OP_INSERT };
FIXTURE_VARIANT_ADD(recall, zero_range) { .op = OP_ZERO };
/* Where extents can be shared: both inodes' layouts are broken. */
FIXTURE_VARIANT_ADD(recall, clone_onto) { .op = OP_CLONE_ONTO };
FIXTURE_VARIANT_ADD(recall, clone_from) { .op = OP_CLONE_FROM };
FIXTURE_VARIANT_ADD(recall, dedupe_onto) { .op = OP_DEDUPE };

/*
 * Each test starts with this: a file system without reflink has nothing
 * to test for the extent-sharing ops (lifetime.c checks that it refuses
 * them and leaves the pin alone).
 */
#define SKIP_UNSUPPORTED()						\
	do {								\
		if (self->unsupported)					\
			SKIP(return, "%s cannot share extents",		\
			     getenv("DAXPIN_FS"));			\
	} while (0)

FIXTURE_SETUP(recall)
{
	const char *dir = env_or_die("DAXPIN_DAX_DIR");

	self->unsupported = variant->op >= OP_CLONE_ONTO &&
			    !fs_shares_extents(dir);
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(dir, "recall-test", FILE_SIZE, self->path,
			      sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	/*
	 * Written data everywhere, so every fallocate mode has work, and
	 * dedupe compares data with data (DAX calls an unwritten extent and
	 * a written one different, whatever they hold).
	 */
	ASSERT_EQ(0, fill_file(self->ffd, 'w', FILE_SIZE));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_LEN, PIN_LEN,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &self->pin));
	if (variant->op >= OP_CLONE_ONTO && !self->unsupported) {
		char other[4200];
		struct stat a, b;
		int fd;

		/* The op's scratch file exists now: its number is known. */
		share_path(other, sizeof(other), self->path);
		fd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0644);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, fstat(fd, &b));
		ASSERT_EQ(0, fstat(self->ffd, &a));
		close(fd);
		self->spins = a.st_ino > b.st_ino;
	}
}

FIXTURE_TEARDOWN(recall)
{
	char other[4200];

	close(self->dfd);
	close(self->ffd);
	unlink(self->path);
	/* A killed op leaves its scratch file. */
	share_path(other, sizeof(other), self->path);
	unlink(other);
}

/* The effect the op must have had on the file size once done. */
static off_t size_after(enum layout_op op)
{
	switch (op) {
	case OP_TRUNCATE:
	case OP_COLLAPSE:
		return FILE_SIZE / 2;
	case OP_INSERT:
		return FILE_SIZE + FILE_SIZE / 2;
	default:
		return FILE_SIZE;
	}
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* The op waits, the holder is told, and unpinning lets the op finish. */
TEST_F(recall, waits_for_unpin)
{
	struct daxpin_event ev;
	struct daxpin_query q;
	uint64_t t0, t1;
	pid_t pid;

	SKIP_UNSUPPORTED();

	t0 = now_ns();
	pid = spawn_op(self->path, variant->op, FILE_SIZE);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, next_event_skip_breaks(self->dfd, PROMPT_MS, &ev));
	t1 = now_ns();
	TH_LOG("recall event after %.1f ms", (t1 - t0) / 1e6);
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	EXPECT_EQ(self->pin.out_handle, ev.handle);
	/* The recall came between t0 and t1: the deadline is its time + D. */
	EXPECT_LE(t0 + (uint64_t)LONG_DEADLINE * 1000000, ev.deadline_ns);
	EXPECT_GE(t1 + (uint64_t)LONG_DEADLINE * 1000000, ev.deadline_ns);

	ASSERT_EQ(0, query(self->dfd, self->pin.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_RECALLED, q.out_state);
	EXPECT_EQ(ev.deadline_ns, q.out_deadline_ns);

	/* It waits, and has changed nothing. */
	EXPECT_EQ(-ETIMEDOUT, wait_child(pid, WAITS_MS));
	EXPECT_EQ((off_t)FILE_SIZE, file_size(self->path));

	ASSERT_EQ(0, unpin(self->dfd, self->pin.out_handle));
	EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	EXPECT_EQ(size_after(variant->op), file_size(self->path));
}

/* The waiting process dies at once on SIGKILL and never spins meanwhile. */
TEST_F(recall, sigkill_ends_the_wait)
{
	struct daxpin_event ev;
	long t1, t2;
	int status;
	pid_t pid;

	SKIP_UNSUPPORTED();

	pid = spawn_op(self->path, variant->op, FILE_SIZE);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, next_event_skip_breaks(self->dfd, PROMPT_MS, &ev));
	t1 = proc_cpu_ticks(pid);
	usleep(1000 * 1000);
	t2 = proc_cpu_ticks(pid);
	ASSERT_LE(0, t1);
	TH_LOG("waiting process used %ld ticks in 1 s", t2 - t1);
	if (self->spins) {
		/* The kernel's bug (see FIXTURE): proven, then ended by UNPIN. */
		TH_LOG("pinned file has the higher inode number: the op spins");
		EXPECT_LT(50, t2 - t1);
		kill(pid, SIGKILL);
		EXPECT_EQ(-ETIMEDOUT, wait_child(pid, WAITS_MS));
		EXPECT_EQ(0, unpin(self->dfd, self->pin.out_handle));
		status = wait_child(pid, PROMPT_MS);
		ASSERT_LE(0, status);
		EXPECT_TRUE(WIFSIGNALED(status));
		return;
	}
	/* A spinning process would burn about 100 ticks in that second. */
	EXPECT_GT(20, t2 - t1);
	kill(pid, SIGKILL);
	status = wait_child(pid, PROMPT_MS);
	ASSERT_LE(0, status);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ((off_t)FILE_SIZE, file_size(self->path));
	/* The pin is as it was: recalled, working, until its deadline. */
	EXPECT_EQ(0, unpin(self->dfd, self->pin.out_handle));
}

static void on_sigint(int sig)
{
}

/* A caught signal makes the change fail with EINTR, changing nothing. */
TEST_F(recall, signal_gives_eintr)
{
	struct daxpin_event ev;
	int status;
	pid_t pid;

	SKIP_UNSUPPORTED();

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_sigint };

		closefrom(3);
		sigaction(SIGINT, &sa, NULL);	/* no SA_RESTART */
		_exit(run_op(self->path, variant->op, FILE_SIZE));
	}
	ASSERT_EQ(0, next_event_skip_breaks(self->dfd, PROMPT_MS, &ev));
	usleep(100 * 1000);
	kill(pid, SIGINT);
	if (self->spins) {
		/* The kernel's bug (see FIXTURE): no EINTR while pinned. */
		EXPECT_EQ(-ETIMEDOUT, wait_child(pid, WAITS_MS));
		EXPECT_EQ(0, unpin(self->dfd, self->pin.out_handle));
		status = wait_child(pid, PROMPT_MS);
		ASSERT_LE(0, status);
		EXPECT_TRUE(WIFEXITED(status));
		TH_LOG("after UNPIN the op returned %d", WEXITSTATUS(status));
		return;
	}
	status = wait_child(pid, PROMPT_MS);
	ASSERT_LE(0, status);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EINTR, WEXITSTATUS(status));
	EXPECT_EQ((off_t)FILE_SIZE, file_size(self->path));
}

/* Closing the daxpin file, or the holder dying, lets the change go on. */
TEST_F(recall, close_lets_it_go)
{
	struct daxpin_event ev;
	pid_t pid;

	SKIP_UNSUPPORTED();

	pid = spawn_op(self->path, variant->op, FILE_SIZE);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, next_event_skip_breaks(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ(-ETIMEDOUT, wait_child(pid, WAITS_MS));
	close(self->dfd);
	self->dfd = -1;
	EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	EXPECT_EQ(size_after(variant->op), file_size(self->path));
}

TEST_F(recall, holder_killed_lets_it_go)
{
	int sync[2], status;
	pid_t holder, pid;
	char c;

	SKIP_UNSUPPORTED();

	close(self->dfd);	/* the holder below pins on its own */
	self->dfd = -1;
	ASSERT_EQ(0, pipe(sync));
	holder = fork();
	ASSERT_LE(0, holder);
	if (holder == 0) {
		int dfd = daxpin_open();

		if (pin_range(dfd, self->ffd, 0, PIN_LEN, DAXPIN_PIN_WRITE,
			      LONG_DEADLINE, NULL))
			_exit(1);
		write(sync[1], "p", 1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(sync[0], &c, 1));
	pid = spawn_op(self->path, variant->op, FILE_SIZE);
	ASSERT_LT(0, pid);
	EXPECT_EQ(-ETIMEDOUT, wait_child(pid, WAITS_MS));
	kill(holder, SIGKILL);
	ASSERT_EQ(holder, waitpid(holder, &status, 0));
	EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	EXPECT_EQ(size_after(variant->op), file_size(self->path));
	close(sync[0]);
	close(sync[1]);
}

TEST_HARNESS_MAIN
