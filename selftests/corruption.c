// SPDX-License-Identifier: GPL-2.0
/*
 * The safety invariant, end to end. A writer thread stores a pattern
 * through a daxpin mapping as fast as it can, without stopping, while
 * another process truncates (or punches) the pinned range - which waits,
 * and goes on when the pin is revoked at its deadline - and a third fills
 * the file system with files of another pattern, so the freed blocks are
 * reused at once. The writer goes on storing (getting SIGBUS) during and
 * after the refill. At the end no file but the pinned one may hold a byte
 * of the writer's pattern.
 *
 * It can fail: with the zap in __daxpin_range_end() removed, the writer's
 * stores land in the refill files (docs/design.md tells of that run).
 */
#include <pthread.h>
#include <setjmp.h>
#include <sys/statvfs.h>

#include "kselftest_harness.h"
#include "common.h"

#define FILE_SIZE	(4 * 1024 * 1024UL)
#define REFILL_FILE	(8 * 1024 * 1024UL)
#define ITERATIONS	3
#define DEADLINE_MS	100
#define PROMPT_MS	10000

static const char writer_pattern[] = "daxpin-writer!!";	/* 16 bytes */

struct writer {
	char *map;
	size_t len;
	volatile int stop;
	volatile unsigned long stores, faults;
};

static __thread sigjmp_buf writer_jmp;

static void writer_sigbus(int sig)
{
	siglongjmp(writer_jmp, 1);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	volatile size_t off = 0;

	while (!w->stop) {
		if (sigsetjmp(writer_jmp, 1)) {
			w->faults++;
			continue;
		}
		memcpy(w->map + off, writer_pattern, 16);
		w->stores++;
		off = (off + 4096 + 16) % (w->len - 16);
	}
	return NULL;
}

/* Fill the file system with files of 'R' until it is full. */
static int refill(const char *dir, int *nfiles)
{
	char path[4096], *buf = malloc(REFILL_FILE);
	int i, fd;

	if (!buf)
		return -ENOMEM;
	memset(buf, 'R', REFILL_FILE);
	for (i = 0; i < 1000; i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/refill-%d", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			break;
		n = write(fd, buf, REFILL_FILE);
		fsync(fd);
		close(fd);
		if (n < (ssize_t)REFILL_FILE)
			break;
	}
	*nfiles = i + 1;
	free(buf);
	return 0;
}

/* Count the writer's pattern in the refill files; remove them. */
static long scan_and_remove(const char *dir, int nfiles)
{
	char path[4096], *buf = malloc(REFILL_FILE);
	long hits = 0;
	int i, fd;

	for (i = 0; buf && i < nfiles; i++) {
		ssize_t n;
		char *p;

		snprintf(path, sizeof(path), "%s/refill-%d", dir, i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, REFILL_FILE);
		close(fd);
		unlink(path);
		for (p = buf; n > 0 && (p = memmem(p, buf + n - p, "daxpin-writer",
					       13)); p += 13)
			hits++;
	}
	free(buf);
	return hits;
}

FIXTURE(corruption) {
	const char *dir;
};

FIXTURE_VARIANT(corruption) {
	enum layout_op op;
};

FIXTURE_VARIANT_ADD(corruption, truncate) { .op = OP_TRUNCATE };
FIXTURE_VARIANT_ADD(corruption, punch_hole) { .op = OP_PUNCH };

FIXTURE_SETUP(corruption)
{
	struct sigaction sa = { .sa_handler = writer_sigbus };

	self->dir = env_or_die("DAXPIN_DAX_DIR");
	sigaction(SIGBUS, &sa, NULL);
}

FIXTURE_TEARDOWN(corruption)
{
}

TEST_F_TIMEOUT(corruption, no_stale_store_lands_elsewhere, 600)
{
	int iter;

	for (iter = 0; iter < ITERATIONS; iter++) {
		struct writer w = { 0 };
		struct daxpin_pin p;
		char path[4096];
		pthread_t thread;
		int dfd, ffd, nfiles = 0;
		unsigned long before;
		pid_t op;
		long hits;

		dfd = daxpin_open();
		ASSERT_LE(0, dfd);
		ffd = make_file(self->dir, "corruption-pinned", FILE_SIZE, path,
				sizeof(path));
		ASSERT_LE(0, ffd);
		ASSERT_EQ(0, pin_range(dfd, ffd, 0, FILE_SIZE, DAXPIN_PIN_WRITE,
				       DEADLINE_MS, &p));
		w.len = FILE_SIZE;
		w.map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			     dfd, p.out_mmap_offset);
		ASSERT_NE(MAP_FAILED, w.map);
		ASSERT_EQ(0, pthread_create(&thread, NULL, writer_main, &w));
		while (w.stores < 1000)
			usleep(1000);

		/* The pin's deadline passes; then the blocks are freed ... */
		/* Truncate to 0, or punch the whole pinned range. */
		op = spawn_op(path, variant->op,
			      variant->op == OP_TRUNCATE ? 0 : 2 * FILE_SIZE);
		ASSERT_LT(0, op);
		ASSERT_EQ(0, wait_child(op, PROMPT_MS));
		/* ... and reused at once, the writer still storing. */
		ASSERT_EQ(0, refill(self->dir, &nfiles));
		before = w.faults;
		usleep(200 * 1000);
		w.stop = 1;
		pthread_join(thread, NULL);

		hits = scan_and_remove(self->dir, nfiles);
		TH_LOG("iteration %d: %lu stores, %lu SIGBUS (%lu after the refill), %d refill files, %ld stale patterns",
		       iter, w.stores, w.faults, w.faults - before, nfiles, hits);
		EXPECT_EQ(0, hits);
		/* The writer was cut off: it kept faulting to the end. */
		EXPECT_LT(before, w.faults);

		munmap(w.map, FILE_SIZE);
		close(dfd);
		close(ffd);
		unlink(path);
	}
}

TEST_HARNESS_MAIN
