// SPDX-License-Identifier: GPL-2.0
/*
 * 2 MiB DAX entries: on a 2 MiB-aligned file system (DAXPIN_ALIGNED_DIR,
 * made as users of pmem make it), PIN faults the range in 2 MiB at a time
 * and keeps it as a few runs, and the daxpin mapping maps it 2 MiB at a
 * time - with every byte landing where it belongs: a wrong pfn in a run
 * or a 2 MiB mapping would put stores into other blocks. The same on the
 * bench's default (unaligned) file system shows the 4 KiB fallback.
 */
#include <setjmp.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: 2 MiB entries depend on the file system's
 * allocator and the kernel.
 */
DAXPIN_RUNS_ON(every);

#define FILE_BYTES	(8UL << 20)

/* mem_bytes of this process's pin @handle in /proc/daxpin, or -1. */
static long pin_mem_bytes(uint32_t handle)
{
	FILE *f = fopen("/proc/daxpin", "r");
	char line[4400];
	long mem = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int h;
		long bytes;
		int pid;

		if (sscanf(line, "%d %u %*s %*s %*s %*s %*s %*d %*u %ld",
			   &pid, &h, &bytes) == 3 && pid == getpid() &&
		    h == handle)
			mem = bytes;
	}
	fclose(f);
	return mem;
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* Whether a load from @p raises SIGBUS. */
static int load_sigbus(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int hit = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		hit = 1;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return hit;
}

/* The pattern of page @i: its index in every 8 bytes, and a variant tag. */
static void page_pattern(char *buf, uint64_t i, uint64_t tag)
{
	uint64_t v = i << 16 | tag, k;

	for (k = 0; k < PAGE / sizeof(v); k++)
		memcpy(buf + k * sizeof(v), &v, sizeof(v));
}

FIXTURE(huge) {
	int dfd;
	int ffd;
	char path[4096];
	const char *dir;
};

FIXTURE_VARIANT(huge) {
	bool aligned;	/* on DAXPIN_ALIGNED_DIR, else DAXPIN_DAX_DIR */
	uint64_t off;	/* the pin's range in the 8 MiB file */
	uint64_t len;
	bool write;
	/*
	 * Runs of at most 512 pages (test hook test_run_max_pages): a run
	 * counts pages in a bit field, and a pin of more contiguous pages
	 * than it holds (1 TiB) takes several runs, which every lookup
	 * must find its way through.
	 */
	bool short_runs;
};

/* Four whole 2 MiB entries. */
FIXTURE_VARIANT_ADD(huge, aligned_whole) {
	.aligned = true, .off = 0, .len = FILE_BYTES, .write = true,
};

/* 4 KiB entries inside 2 MiB ones at both ends, two whole in between. */
FIXTURE_VARIANT_ADD(huge, aligned_ragged) {
	.aligned = true, .off = PAGE, .len = 6UL << 20, .write = true,
};

FIXTURE_VARIANT_ADD(huge, aligned_read_only) {
	.aligned = true, .off = 0, .len = FILE_BYTES, .write = false,
};

/*
 * The fallback: blocks not 2 MiB-aligned with the file offsets. The file
 * systems align a large allocation's physical start, so the file's blocks
 * are allocated from file offset 4 KiB on, in one piece: then every
 * 2 MiB-aligned chunk of the file is 4 KiB off its blocks' alignment.
 */
FIXTURE_VARIANT_ADD(huge, unaligned_whole) {
	.aligned = false, .off = PMD_BYTES, .len = 4UL << 20, .write = true,
};

FIXTURE_VARIANT_ADD(huge, aligned_short_runs) {
	.aligned = true, .off = 0, .len = FILE_BYTES, .write = true,
	.short_runs = true,
};

FIXTURE_VARIANT_ADD(huge, unaligned_short_runs) {
	.aligned = false, .off = PMD_BYTES, .len = 4UL << 20, .write = true,
	.short_runs = true,
};

/* Pages per write() of the fixture: one transaction each, not 2048. */
#define WRITE_PAGES	64

FIXTURE_SETUP(huge)
{
	char *buf = malloc(WRITE_PAGES * PAGE);
	uint64_t i, k;

	ASSERT_NE(NULL, buf);
	self->dir = env_or_die(variant->aligned ? "DAXPIN_ALIGNED_DIR" :
			       "DAXPIN_DAX_DIR");
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(self->dir, "huge-test", 0, self->path,
			      sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	/*
	 * ext4 gives an unlinked file's blocks back to its allocator only
	 * when the journal commits: right after an earlier test (corruption
	 * fills the file system, then unlinks) the free space it finds is
	 * what that test left over, in pieces. A commit first.
	 */
	ASSERT_EQ(0, syncfs(self->ffd));
	/*
	 * One allocation of 8 MiB, which the aligned file system places
	 * 2 MiB-aligned (from 4 KiB on for the unaligned variant, see
	 * above); then written, so that read-only pins have blocks: page i
	 * holds i.
	 */
	if (variant->aligned) {
		ASSERT_EQ(0, fallocate(self->ffd, 0, 0, FILE_BYTES));
	} else {
		ASSERT_EQ(0, fallocate(self->ffd, 0, PAGE, FILE_BYTES - PAGE));
	}
	for (i = 0; i < FILE_BYTES / PAGE; i += WRITE_PAGES) {
		for (k = 0; k < WRITE_PAGES; k++)
			page_pattern(buf + k * PAGE, i + k, 0);
		ASSERT_EQ((ssize_t)(WRITE_PAGES * PAGE),
			  pwrite(self->ffd, buf, WRITE_PAGES * PAGE, i * PAGE));
	}
	ASSERT_EQ(0, fsync(self->ffd));
	free(buf);
}

FIXTURE_TEARDOWN(huge)
{
	if (variant->short_runs)
		module_param_write("test_run_max_pages", "0");
	close(self->dfd);
	close(self->ffd);
	unlink(self->path);
}

/* Minutes on the debug kernel (KASAN, lockdep) under emulation. */
TEST_F_TIMEOUT(huge, pin_and_map_by_entry, 300)
{
	uint64_t npages = variant->len / PAGE, i, first, last, whole = 0;
	long chunks, faults, expect, mem, mem_small, bad = 0;
	struct daxpin_pin p, small;
	char *want = malloc(PAGE);
	volatile char *map;

	ASSERT_NE(NULL, want);
	chunks = aligned_chunks(self->ffd, 0, FILE_BYTES);
	ASSERT_LE(0, chunks);
	TH_LOG("%s: %ld of %lu 2 MiB chunks of the file are 2 MiB-aligned blocks",
	       self->dir, chunks, FILE_BYTES / PMD_BYTES);
	/* The bench makes that file system so; the test is about it. */
	if (variant->aligned)
		ASSERT_EQ((long)(FILE_BYTES / PMD_BYTES), chunks);
	/*
	 * The faults to expect: one per 2 MiB chunk of the file that the
	 * range covers whole and that lies on 2 MiB-aligned blocks, one per
	 * page elsewhere.
	 */
	first = (variant->off + PMD_BYTES - 1) / PMD_BYTES;
	last = (variant->off + variant->len) / PMD_BYTES;
	for (i = first; i < last; i++) {
		long a = aligned_chunks(self->ffd, i * PMD_BYTES, PMD_BYTES);

		ASSERT_LE(0, a);
		whole += a;
	}
	if (!variant->aligned && whole)
		TH_LOG("%lu chunk(s) came out 2 MiB-aligned all the same: the fallback is shown by the others only",
		       whole);
	if (!variant->aligned)
		EXPECT_GT(last - first, whole);
	expect = npages - whole * (PMD_BYTES / PAGE) + whole;

	if (variant->short_runs)
		ASSERT_EQ(0, module_param_write("test_run_max_pages", "512"))
			TH_LOG("no test hook test_run_max_pages (test_hooks=1)");

	/* PIN: one fault per 2 MiB entry, one per page elsewhere. */
	faults = minor_faults();
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, variant->off, variant->len,
			       variant->write ? DAXPIN_PIN_WRITE : 0, 0, &p));
	faults = minor_faults() - faults;
	TH_LOG("PIN of %lu pages: %ld minor faults (%lu whole 2 MiB entries)",
	       npages, faults, whole);
	/* (The test's own stack and heap may fault a few times.) */
	EXPECT_LE(expect, faults);
	EXPECT_GE(expect + 8, faults);

	/* Its pages kept as runs: a few, whatever the size. */
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE, 0, 0, &small));
	mem = pin_mem_bytes(p.out_handle);
	mem_small = pin_mem_bytes(small.out_handle);
	TH_LOG("mem_bytes: %ld for the pin, %ld for a 4 KiB pin", mem,
	       mem_small);
	ASSERT_LT(0, mem_small);
	if (variant->short_runs) {
		/*
		 * One run (16 bytes) per 512 pages at least: the runs were
		 * cut. The 4 KiB pin's mem_bytes is the pin and one run.
		 */
		EXPECT_LE((long)(npages / 512) * 16, mem - mem_small + 16);
	} else if (variant->aligned) {
		EXPECT_GE(mem_small + 8 * 16, mem);
	} else {
		EXPECT_LE(mem_small, mem);
	}
	EXPECT_EQ(0, unpin(self->dfd, small.out_handle));

	/* The mapping: 2 MiB at a time where the pin has a 2 MiB entry. */
	map = mmap(NULL, variant->len, PROT_READ |
		   (variant->write ? PROT_WRITE : 0), MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(variant->off % PMD_BYTES, (uintptr_t)map % PMD_BYTES)
		TH_LOG("the mapping at %p is not at the file offset's 2 MiB phase",
		       map);
	faults = minor_faults();
	for (i = 0; i < npages; i++)
		(void)map[i * PAGE];
	faults = minor_faults() - faults;
	TH_LOG("loads from every page of the mapping: %ld minor faults", faults);
	EXPECT_LE(expect, faults);
	EXPECT_GE(expect + 8, faults);

	/* Every page of the mapping is the file's page at its offset. */
	for (i = 0; i < npages; i++) {
		uint64_t fpage = variant->off / PAGE + i;

		page_pattern(want, fpage, 0);
		if (memcmp((const char *)map + i * PAGE, want, PAGE) && bad++ < 4)
			TH_LOG("page %lu of the pin (file page %lu) is not the file's",
			       i, fpage);
	}
	EXPECT_EQ(0, bad);
	if (variant->write) {
		char *got = malloc(PAGE);

		ASSERT_NE(NULL, got);
		for (i = 0; i < npages; i++) {
			page_pattern(want, variant->off / PAGE + i, 1);
			memcpy((char *)map + i * PAGE, want, PAGE);
		}
		/* ... and stores through it land there, nowhere else. */
		for (i = 0; i < FILE_BYTES / PAGE; i++) {
			int in = i * PAGE >= variant->off &&
				 i * PAGE < variant->off + variant->len;

			page_pattern(want, i, in);
			ASSERT_EQ((ssize_t)PAGE,
				  pread(self->ffd, got, PAGE, i * PAGE));
			if (memcmp(got, want, PAGE) && bad++ < 4)
				TH_LOG("file page %lu does not hold what was stored",
				       i);
		}
		EXPECT_EQ(0, bad);
		free(got);
	}

	/* UNPIN zaps the 2 MiB mappings too. */
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	EXPECT_EQ(1, load_sigbus(map));
	EXPECT_EQ(1, load_sigbus(map + variant->len - PAGE));
	munmap((void *)map, variant->len);
	free(want);
}

TEST_HARNESS_MAIN
