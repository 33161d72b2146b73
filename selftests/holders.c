// SPDX-License-Identifier: GPL-2.0
/*
 * Who may hold a file. A lease, which daxpin mediates, is given only to
 * the file's owner or to CAP_LEASE, and fs.lease-break-time bounds how
 * long a layout change waits for it. daxpin's rule: a holder who could
 * not change the layout itself (no write permission, not the owner, no
 * CAP_LEASE) - a reader - makes no layout change wait longer than
 * reader_max_hold_ms, by any means: its deadline is bounded, its mapping
 * takes no page reference that could outlive the pin (no registration, no
 * vmsplice(), no O_DIRECT), and it exports no dma-buf. The owner and those
 * who may write the file are not bound.
 *
 * Each test runs the holder as uid 65534 in a child, on a file of root's
 * (0644, or 0666 where the holder may write it), with a daxpin file root
 * opened for it.
 */
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: the wait is the file system's, the
 * mapping's page references the kernel's.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(2 * 1024 * 1024UL)
#define PROMPT_MS	5000
/* The bound the tests set, well under the default deadline (10 s). */
#define TEST_HOLD_MS	1500

FIXTURE(holders) {
	int dfd;
	int ffd;
	char path[4096];
	/* The holder's end of a pipe it writes one byte to once it holds. */
	int ready[2];
	pid_t holder;
	long saved_hold_ms;
};

FIXTURE_SETUP(holders)
{
	self->holder = -1;
	self->ready[0] = self->ready[1] = -1;
	self->saved_hold_ms = module_param_read("reader_max_hold_ms");
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "holders-test",
			      FILE_SIZE, self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	/* Blocks everywhere: a read-only pin needs them. */
	ASSERT_EQ(0, fill_file(self->ffd, 'h', FILE_SIZE));
	ASSERT_EQ(0, fchmod(self->ffd, 0644));
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	ASSERT_EQ(0, pipe(self->ready));
}

FIXTURE_TEARDOWN(holders)
{
	char value[32];

	if (self->holder > 0) {
		kill(self->holder, SIGKILL);
		waitpid(self->holder, NULL, 0);
	}
	if (self->saved_hold_ms >= 0) {
		snprintf(value, sizeof(value), "%ld", self->saved_hold_ms);
		module_param_write("reader_max_hold_ms", value);
	}
	close(self->ready[0]);
	close(self->ready[1]);
	close(self->dfd);
	close(self->ffd);
	unlink(self->path);
}

/*
 * In the child: become uid 65534 and open the file read-only; exit with
 * status 10 (step 0) if that fails.
 */
static int become_reader(const char *path)
{
	int ro = -1;

	if (!setresgid(65534, 65534, 65534) && !setresuid(65534, 65534, 65534))
		ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		_exit(10);
	return ro;
}

/*
 * A reader's deadline: one beyond the bound is refused (EPERM), the
 * default one is cut to it, and the owner's truncate waits that long and
 * no longer, though the reader never lets go.
 */
TEST_F(holders, reader_deadline_is_bounded)
{
	char value[32], byte;
	uint64_t t0, took;
	int status;

	/* (A module without the parameter fails at the first step below.) */
	snprintf(value, sizeof(value), "%d", TEST_HOLD_MS);
	module_param_write("reader_max_hold_ms", value);
	self->holder = fork();
	ASSERT_LE(0, self->holder);
	if (self->holder == 0) {
		struct daxpin_pin p;
		int ro = become_reader(self->path);

		if (pin_range(self->dfd, ro, 0, PAGE, 0, 300000, NULL) != -EPERM)
			_exit(11);
		if (pin_range(self->dfd, ro, 0, PAGE, 0, TEST_HOLD_MS + 1,
			      NULL) != -EPERM)
			_exit(12);
		/* The default deadline (10 s), cut to the bound. */
		if (pin_range(self->dfd, ro, 0, FILE_SIZE, 0, 0, &p))
			_exit(13);
		if (write(self->ready[1], "r", 1) != 1)
			_exit(14);
		/* Holds, never lets go. */
		for (;;)
			pause();
	}
	/* Only the holder may write: EOF if it failed. */
	close(self->ready[1]);
	self->ready[1] = -1;
	if (read(self->ready[0], &byte, 1) != 1) {
		waitpid(self->holder, &status, 0);
		self->holder = -1;
		ASSERT_TRUE(0) TH_LOG("the reader's step %d failed%s",
				      WEXITSTATUS(status) - 10,
				      WEXITSTATUS(status) == 11 ?
				      ": a 300 s deadline was granted" : "");
	}
	t0 = now_ns();
	ASSERT_EQ(0, ftruncate(self->ffd, FILE_SIZE / 2));
	took = (now_ns() - t0) / 1000000;
	TH_LOG("the owner's truncate waited %llu ms for the reader's pin (bound %d ms)",
	       (unsigned long long)took, TEST_HOLD_MS);
	/* It did wait for the pin, and not for its 10 s default deadline. */
	EXPECT_LE((uint64_t)TEST_HOLD_MS / 2, took);
	EXPECT_GE((uint64_t)TEST_HOLD_MS + PROMPT_MS, took);
}

/*
 * A reader's mapping of its pin: loads work, but nothing can take a
 * reference on its pages: vmsplice() fails. (ibv_reg_mr() takes them the
 * same way, through GUP.) The owner's mapping of the same range still
 * hands them out where the kernel lets a pin's mapping be registered.
 */
TEST_F(holders, reader_mapping_takes_no_reference)
{
	struct daxpin_pin own;
	char *map, byte;
	int pfd[2], status;

	self->holder = fork();
	ASSERT_LE(0, self->holder);
	if (self->holder == 0) {
		struct iovec iov = { .iov_len = PAGE };
		struct daxpin_pin p;
		int ro = become_reader(self->path), sp[2];
		char *m;

		if (pipe(sp))
			_exit(10);
		if (pin_range(self->dfd, ro, 0, FILE_SIZE, 0, 0, &p))
			_exit(11);
		m = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, self->dfd,
			 p.out_mmap_offset);
		if (m == MAP_FAILED || m[0] != 'h')
			_exit(12);
		iov.iov_base = m;
		if (vmsplice(sp[1], &iov, 1, 0) >= 0)
			_exit(13);
		if (errno != EFAULT)
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(self->holder, waitpid(self->holder, &status, 0));
	self->holder = -1;
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the reader's step %d failed%s", WEXITSTATUS(status) - 10,
		       WEXITSTATUS(status) == 13 ?
		       ": vmsplice() took a page of its pin" : "");

	if (!map_registrable())
		SKIP(return, NO_MAP_REGISTRATION ": no mapping of a pin hands out its pages");
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE, 0, 0, &own));
	map = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, self->dfd,
		   own.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ((ssize_t)PAGE, vmsplice(pfd[1], &(struct iovec){
			.iov_base = map, .iov_len = PAGE }, 1, 0));
	/* The pipe holds a page: drain it before the pin goes. */
	EXPECT_EQ(1, read(pfd[0], &byte, 1));
	close(pfd[0]);
	close(pfd[1]);
	munmap(map, FILE_SIZE);
	EXPECT_EQ(0, unpin(self->dfd, own.out_handle));
}

/* A reader exports no dma-buf: an importer's mapping outlives any deadline. */
TEST_F(holders, reader_exports_no_dmabuf)
{
	int status;

	self->holder = fork();
	ASSERT_LE(0, self->holder);
	if (self->holder == 0) {
		struct daxpin_export_dmabuf e = {
			.size = sizeof(e), .length = PAGE,
			.flags = DAXPIN_EXPORT_DMABUF_CLOEXEC,
		};
		struct daxpin_pin p;
		int ro = become_reader(self->path);

		if (pin_range(self->dfd, ro, 0, PAGE, 0, 0, &p))
			_exit(10);
		e.handle = p.out_handle;
		_exit(ioctl_err(self->dfd, DAXPIN_EXPORT_DMABUF, &e) == -EPERM ?
		      0 : 11);
	}
	ASSERT_EQ(self->holder, waitpid(self->holder, &status, 0));
	self->holder = -1;
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the reader's step %d failed", WEXITSTATUS(status) - 10);
}

/*
 * Whoever may write the file may hold it as long as any holder: a long
 * deadline, a mapping that hands out its pages, a dma-buf.
 */
TEST_F(holders, writer_holds_as_the_owner)
{
	int status;

	ASSERT_EQ(0, fchmod(self->ffd, 0666));
	self->holder = fork();
	ASSERT_LE(0, self->holder);
	if (self->holder == 0) {
		struct daxpin_pin p;
		int ro = become_reader(self->path);

		_exit(pin_range(self->dfd, ro, 0, PAGE, 0, 300000, &p) ? 11 : 0);
	}
	ASSERT_EQ(self->holder, waitpid(self->holder, &status, 0));
	self->holder = -1;
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("a holder with write permission could not ask for a 300 s deadline");
}

TEST_HARNESS_MAIN
