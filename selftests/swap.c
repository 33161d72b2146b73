// SPDX-License-Identifier: GPL-2.0
/*
 * Blocks moved without a layout break. XFS_IOC_SWAPEXT exchanges all the
 * blocks of two files of one size, and neither breaks layouts nor waits
 * for busy pages (xfs_fsr uses it; anyone with both files open for reading
 * and writing may). EXT4_IOC_SWAP_BOOT swaps a file with ext4's boot loader
 * inode alike (CAP_SYS_ADMIN). daxpin's swap guard (driver/guard.c) fails
 * both with EBUSY on the files it holds, before they move anything.
 * EXT4_IOC_MOVE_EXT refuses DAX files itself.
 *
 * The corruption test of such a swap: an MR of the pin takes RDMA WRITEs
 * all along; the pinned file is swapped with another file of the caller's,
 * as the one the call is made on or as the donor; the other file's blocks
 * are freed, the file system is filled up again, and no WRITE may land in
 * the refill. A swap that fails leaves the pin as it was: active, on the
 * same blocks, with no event. Once the pin is gone, the same swap goes
 * through: the guard holds off only the files daxpin holds.
 *
 * Every kernel and file system: XFS_IOC_SWAPEXT where the file system is
 * XFS, EXT4_IOC_MOVE_EXT where it is ext4.
 */
#include <pthread.h>
#include <sys/statfs.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <xfs/xfs.h>

#include "kselftest_harness.h"
#include "common.h"
#include "writer.h"

DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(4 * 1024 * 1024UL)
#define DEADLINE_MS	100

/* EXT4_IOC_MOVE_EXT's argument (fs/ext4/ext4.h; no header exports it). */
struct move_extent_args {
	uint32_t reserved;
	uint32_t donor_fd;
	uint64_t orig_start;
	uint64_t donor_start;
	uint64_t len;
	uint64_t moved_len;
};
#define EXT4_IOC_MOVE_EXT_ARGS	_IOWR('f', 15, struct move_extent_args)

#define SWAP_EXTENTS	64

/* The extents of @fd (logical, physical, length): how many, or -errno. */
static int extents_of(int fd, struct fiemap_extent *ext)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[SWAP_EXTENTS];
	} buf;
	unsigned int i;

	memset(&buf, 0, sizeof(buf));
	buf.fm.fm_length = FIEMAP_MAX_OFFSET;
	buf.fm.fm_flags = FIEMAP_FLAG_SYNC;
	buf.fm.fm_extent_count = SWAP_EXTENTS;
	if (ioctl(fd, FS_IOC_FIEMAP, &buf.fm))
		return -errno;
	for (i = 0; i < buf.fm.fm_mapped_extents; i++) {
		memset(&ext[i], 0, sizeof(ext[i]));
		ext[i].fe_logical = buf.ext[i].fe_logical;
		ext[i].fe_physical = buf.ext[i].fe_physical;
		ext[i].fe_length = buf.ext[i].fe_length;
	}
	return buf.fm.fm_mapped_extents;
}

/* Swap the blocks of @fd and @donor as xfs_fsr, or ext4's e4defrag, does. */
static int swap_blocks(bool xfs, int fd, int donor)
{
	struct xfs_swapext sx = {
		.sx_version = XFS_SX_VERSION, .sx_fdtarget = fd,
		.sx_fdtmp = donor, .sx_length = FILE_SIZE,
	};
	struct move_extent_args me = { .donor_fd = donor };
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!xfs) {
		me.len = FILE_SIZE / st.st_blksize;
		return ioctl_err(fd, EXT4_IOC_MOVE_EXT_ARGS, &me);
	}
	/* The times XFS compares, to see that nobody wrote @fd meanwhile. */
	sx.sx_stat.bs_mtime.tv_sec = st.st_mtim.tv_sec;
	sx.sx_stat.bs_mtime.tv_nsec = st.st_mtim.tv_nsec;
	sx.sx_stat.bs_ctime.tv_sec = st.st_ctim.tv_sec;
	sx.sx_stat.bs_ctime.tv_nsec = st.st_ctim.tv_nsec;
	return ioctl_err(fd, XFS_IOC_SWAPEXT, &sx);
}

/*
 * An XFS swap of files nobody pins any more: the result of the first call
 * the guard let through, or -EBUSY if it refused every one. The last
 * pin's record may outlive its file's close by a moment (its keeper
 * windows go in a worker), and the guard holds the file off until then.
 */
static int swap_unpinned(int fd, int other)
{
	long refused;
	int ret, tries;

	for (tries = 0; tries < 50; tries++) {
		refused = module_param_read("swaps_refused");
		ret = swap_blocks(true, fd, other);
		if (ret != -EBUSY || module_param_read("swaps_refused") == refused)
			break;
		usleep(100 * 1000);
	}
	return ret;
}

FIXTURE(swap) {
	const char *dir;
	struct verbs v;
	bool xfs;
};

FIXTURE_VARIANT(swap) {
	bool pinned_is_donor;
};

FIXTURE_VARIANT_ADD(swap, pinned_file_swapped) { .pinned_is_donor = false };
FIXTURE_VARIANT_ADD(swap, pinned_file_donor) { .pinned_is_donor = true };

FIXTURE_SETUP(swap)
{
	struct sigaction sa = { .sa_handler = writer_sigbus };
	struct statfs sfs;
	const char *why;

	self->dir = env_or_die("DAXPIN_DAX_DIR");
	ASSERT_EQ(0, statfs(self->dir, &sfs));
	self->xfs = sfs.f_type == XFS_SUPER_MAGIC;
	sigaction(SIGBUS, &sa, NULL);
	why = verbs_open(&self->v);
	ASSERT_EQ(NULL, why) TH_LOG("%s: %s", getenv("DAXPIN_RDMA_DEV"), why);
}

FIXTURE_TEARDOWN(swap)
{
	verbs_close(&self->v);
}

TEST_F_TIMEOUT(swap, no_store_reaches_moved_blocks, 300)
{
	struct fiemap_extent before[SWAP_EXTENTS], after[SWAP_EXTENTS];
	const char *call = self->xfs ? "XFS_IOC_SWAPEXT" : "EXT4_IOC_MOVE_EXT";
	const bool odp = !map_registrable();
	struct writer w = { .v = &self->v, .ifd = -1, .len = FILE_SIZE };
	char path[4096], donor_path[4096];
	int dfd, ffd, donor, nfiles, ret, n_before, n_after;
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	unsigned long faults;
	long refused;
	pthread_t thread;
	struct ibv_mr *mr;
	long hits;

	if (odp) {
		int writes = writer_odp_writes(&self->v);

		ASSERT_LE(0, writes);
		if (!writes)
			SKIP(return, NO_MAP_REGISTRATION ", and the RDMA device has no ODP for RC WRITE");
	}
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	ffd = make_file(self->dir, "swap-pinned", FILE_SIZE, path, sizeof(path));
	ASSERT_LE(0, ffd);
	ASSERT_EQ(0, pin_range(dfd, ffd, 0, FILE_SIZE, DAXPIN_PIN_WRITE,
			       DEADLINE_MS, &p));
	/* The other file: its own blocks, written. */
	donor = make_file(self->dir, "swap-other", FILE_SIZE, donor_path,
			  sizeof(donor_path));
	ASSERT_LE(0, donor);
	ASSERT_EQ(0, fill_file(donor, 'o', FILE_SIZE));
	ASSERT_EQ(0, fsync(donor));

	/* ODP (6.15 on): the holder's own mapping of the file, as corruption's. */
	w.odp = odp;
	w.map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     odp ? ffd : dfd, odp ? 0 : p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, w.map);
	mr = ibv_reg_mr(self->v.vp.pd, w.map, FILE_SIZE,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			(odp ? IBV_ACCESS_ON_DEMAND : 0));
	ASSERT_NE(NULL, mr) TH_LOG("ibv_reg_mr: %s", strerror(errno));
	w.rkey = mr->rkey;
	ASSERT_EQ(0, verbs_connect(&self->v));
	ASSERT_EQ(0, pthread_create(&thread, NULL, rdma_writer_main, &w));
	while (w.stores < 100 && !w.error)
		usleep(1000);
	n_before = extents_of(ffd, before);
	ASSERT_LT(0, n_before);
	refused = module_param_read("swaps_refused");
	ASSERT_LE(0, refused) TH_LOG("no module parameter swaps_refused");

	ret = variant->pinned_is_donor ? swap_blocks(self->xfs, donor, ffd) :
					 swap_blocks(self->xfs, ffd, donor);
	n_after = extents_of(ffd, after);
	ASSERT_EQ(0, query(dfd, p.out_handle, &q));
	TH_LOG("%s with the pinned file as %s: %s; pin %s",
	       call, variant->pinned_is_donor ? "the donor" : "the one swapped",
	       ret ? strerror(-ret) : "done",
	       q.out_state == DAXPIN_STATE_ACTIVE ? "active" :
	       q.out_state == DAXPIN_STATE_REVOKED ? "revoked" : "recalled");
	if (self->xfs) {
		/* The guard's refusal, not XFS's own EBUSY (times changed). */
		EXPECT_EQ(-EBUSY, ret);
		EXPECT_EQ(refused + 1, module_param_read("swaps_refused"));
	} else {
		EXPECT_NE(0, ret) TH_LOG("ext4 moved the blocks of a DAX file");
	}
	if (ret) {
		/* Refused: nothing moved, nothing recalled. */
		EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
		EXPECT_EQ(n_before, n_after);
		EXPECT_EQ(0, memcmp(before, after, n_before * sizeof(before[0])))
			TH_LOG("the pinned file's extents changed");
		EXPECT_EQ(-ETIMEDOUT, next_event_skip_breaks(dfd, 0, &ev))
			TH_LOG("event %u after a refused swap", ev.type);
	}

	/* Free what is now the other file's, and fill the file system up. */
	ASSERT_EQ(0, ftruncate(donor, 0));
	ASSERT_EQ(0, fsync(donor));
	nfiles = refill_fs(self->dir, "refill");
	ASSERT_LT(0, nfiles);
	faults = w.faults;
	usleep(200 * 1000);
	w.stop = 1;
	pthread_join(thread, NULL);
	EXPECT_EQ(0, w.error) TH_LOG("RDMA writer: %s", strerror(w.error));
	hits = refill_scan_and_remove(self->dir, "refill", nfiles,
				      "daxpin-writer", 13);
	TH_LOG("%lu RDMA WRITEs, %lu refused (%lu after the refill), %d refill files, %ld stale patterns (%ld bytes)",
	       w.stores, w.faults, w.faults - faults, nfiles, hits, hits * 16);
	EXPECT_EQ(0, hits);

	EXPECT_EQ(0, ibv_dereg_mr(mr));
	munmap(w.map, FILE_SIZE);
	close(dfd);
	if (self->xfs) {
		/* Unpinned, the file may be swapped (the other one refilled). */
		ASSERT_EQ(0, fill_file(donor, 'o', FILE_SIZE));
		ASSERT_EQ(0, fsync(donor));
		/*
		 * The swap drops the DAX entries the ended pin's faults left,
		 * without breaking the layout: 7.2 warns about them, as after
		 * any mapping of the file (mm/truncate.c). No pin is left.
		 */
		kmsg_mark("expect-warning truncate_folio_batch_exceptionals");
		ret = variant->pinned_is_donor ? swap_unpinned(donor, ffd) :
						 swap_unpinned(ffd, donor);
		kmsg_mark("expect-warning-end");
		/*
		 * XFS may refuse by its own rules (EINVAL: the files' extent
		 * lists differ in form, after the refill), never the guard.
		 */
		TH_LOG("swap once unpinned: %s", ret ? strerror(-ret) : "done");
		EXPECT_NE(-EBUSY, ret);
	}
	close(donor);
	close(ffd);
	unlink(donor_path);
	unlink(path);
}

#define EXT4_IOC_SWAP_BOOT_ARGS	_IO('f', 17)

/* The guard's own cases: no RDMA. */
FIXTURE(guard) {
	const char *dir;
	bool xfs;
};

FIXTURE_SETUP(guard)
{
	struct statfs sfs;

	self->dir = env_or_die("DAXPIN_DAX_DIR");
	ASSERT_EQ(0, statfs(self->dir, &sfs));
	self->xfs = sfs.f_type == XFS_SUPER_MAGIC;
}

FIXTURE_TEARDOWN(guard)
{
}

/*
 * EXT4_IOC_SWAP_BOOT: the pinned file's blocks would go to ext4's boot
 * loader inode, with no layout break. The guard fails it; once unpinned it
 * goes through, and a second call swaps the blocks back.
 */
TEST_F(guard, boot_loader_swap_waits_for_no_pin)
{
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	char path[4096];
	int dfd, ffd, tries, ret;
	long refused;
	struct stat st;

	if (self->xfs)
		SKIP(return, "EXT4_IOC_SWAP_BOOT is ext4's: this file system is XFS");
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	ffd = make_file(self->dir, "swap-boot", FILE_SIZE, path, sizeof(path));
	ASSERT_LE(0, ffd);
	ASSERT_EQ(0, fill_file(ffd, 'b', FILE_SIZE));
	ASSERT_EQ(0, fsync(ffd));
	ASSERT_EQ(0, pin_range(dfd, ffd, 0, FILE_SIZE, DAXPIN_PIN_WRITE,
			       DEADLINE_MS, &p));
	refused = module_param_read("swaps_refused");
	ASSERT_LE(0, refused);

	EXPECT_EQ(-EBUSY, ioctl_err(ffd, EXT4_IOC_SWAP_BOOT_ARGS, NULL));
	EXPECT_EQ(refused + 1, module_param_read("swaps_refused"));
	ASSERT_EQ(0, query(dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
	EXPECT_EQ(-ETIMEDOUT, next_event_skip_breaks(dfd, 0, &ev))
		TH_LOG("event %u after a refused swap", ev.type);
	ASSERT_EQ(0, fstat(ffd, &st));
	EXPECT_EQ((off_t)FILE_SIZE, st.st_size);

	close(dfd);
	/*
	 * The swap truncates the file's page cache without breaking its
	 * layout, and the DAX entries the ended pin's faults left are still
	 * there: 7.2 warns about them (mm/truncate.c, "file systems should
	 * already have called dax_break_layout_entry()"), as it would after
	 * any mapping of the file. The kernel's, not daxpin's: no pin is left.
	 */
	kmsg_mark("expect-warning truncate_folio_batch_exceptionals");
	/* As swap_unpinned(): the record may outlive the close a moment. */
	for (tries = 0; tries < 50; tries++) {
		ret = ioctl_err(ffd, EXT4_IOC_SWAP_BOOT_ARGS, NULL);
		if (ret != -EBUSY)
			break;
		usleep(100 * 1000);
	}
	EXPECT_EQ(0, ret) TH_LOG("swap once unpinned: %s", strerror(-ret));
	if (!ret) {
		/* Back where they were: the boot loader inode empty again. */
		EXPECT_EQ(0, ioctl_err(ffd, EXT4_IOC_SWAP_BOOT_ARGS, NULL));
		EXPECT_EQ(0, fstat(ffd, &st));
		EXPECT_EQ((off_t)FILE_SIZE, st.st_size);
	}
	kmsg_mark("expect-warning-end");
	close(ffd);
	unlink(path);
}

/*
 * Without the guard (swap_guard=N, or a kernel where it cannot be armed),
 * PIN refuses files on XFS with EOPNOTSUPP and still pins on ext4.
 */
TEST_F(guard, unguarded_xfs_files_are_not_pinned)
{
	struct daxpin_pin p;
	char path[4096];
	int dfd, ffd, ret;

	if (module_param_read("test_hooks") != 1)
		SKIP(return, "module loaded without test_hooks=1: no test_swap_guard_off");
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	ffd = make_file(self->dir, "swap-unguarded", 1 << 20, path,
			sizeof(path));
	ASSERT_LE(0, ffd);
	ASSERT_EQ(0, module_param_write("test_swap_guard_off", "1"));
	ret = pin_range(dfd, ffd, 0, 1 << 20, DAXPIN_PIN_WRITE, DEADLINE_MS,
			&p);
	EXPECT_EQ(0, module_param_write("test_swap_guard_off", "0"));
	EXPECT_EQ(self->xfs ? -EOPNOTSUPP : 0, ret);
	ASSERT_EQ(0, pin_range(dfd, ffd, 0, 1 << 20, DAXPIN_PIN_WRITE,
			       DEADLINE_MS, &p));
	close(dfd);
	close(ffd);
	unlink(path);
}

TEST_HARNESS_MAIN
