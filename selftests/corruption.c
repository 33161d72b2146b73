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
 * The writer is a CPU store loop through the mapping, or (rdma_*) RDMA
 * WRITEs from a second QP of the bench's soft-RoCE device into an MR
 * registered on the mapping. An MR holds the pages past revocation, so
 * there the truncate must keep waiting until the holder deregisters it;
 * the writer goes on posting WRITEs with the old rkey, which must be
 * refused, through the refill.
 *
 * Or (dmabuf_*) the writer is a device: the bench's test importer
 * (selftests/importer) attached to a dma-buf of the pin, storing where its
 * DMA would land. A dynamic importer is told to move when the pin is
 * revoked, and its stores fail from then on; a pinned one keeps its
 * mapping, and the layout change waits until it detaches, as for an MR.
 *
 * Where a pin's mapping takes no pinning registration (6.15 on: no
 * DAXPIN_FEATURE_MAP_REGISTRABLE), the RDMA writer goes through the ODP
 * path instead (design.md section 10): the holder pins the range and
 * registers its own mapping of the file with IBV_ACCESS_ON_DEMAND. That MR
 * holds no pages, so the layout change goes on at revocation; the NIC's
 * next WRITE faults through the file mapping: past the end of a truncated
 * file it is refused, into a punched hole it allocates a new block of the
 * same file. Either way nothing may land in another file.
 *
 * It can fail: with the zap in __daxpin_range_end() removed, the writer's
 * stores land in the refill files (docs/design.md tells of that run).
 *
 * Iterations per variant: DAXPIN_TEST_ITERATIONS, else as many as fit in
 * DAXPIN_TEST_SECONDS, else ITERATIONS.
 */
#include <pthread.h>
#include <sys/statvfs.h>

#include "kselftest_harness.h"
#include "common.h"
#include "writer.h"
#include "importer/daxpin_test_importer.h"

/*
 * Every kernel and file system: where freed blocks go is the file system's
 * and the kernel's.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(4 * 1024 * 1024UL)
/*
 * Per variant, in `make check` (in every guest); `make check-full` runs 3
 * (BENCH_ITERATIONS), `make soak` hundreds.
 */
#define ITERATIONS	2
#define DEADLINE_MS	100
#define PROMPT_MS	10000
/* The truncate must still wait this long after an MR's pin is revoked. */
#define MR_WAITS_MS	500
/* The device writes one 8-byte word over and over: "dmabuf-w". */
static const char device_word[] = "dmabuf-w";

/*
 * The device writer: DTI_STORE of 4 KiB at a time all over the dma-buf,
 * until told to stop. A store refused (ENODEV: no mapping, the importer
 * was told to move or was detached) counts as a fault; anything else is
 * an error.
 */
static void *device_writer_main(void *arg)
{
	struct writer *w = arg;
	struct dti_access a = { .length = 4096 };
	size_t off = 0;

	memcpy(&a.value, device_word, 8);
	while (!w->stop) {
		a.offset = off;
		if (!ioctl(w->ifd, DTI_STORE, &a)) {
			w->stores++;
		} else if (errno == ENODEV) {
			w->faults++;
			usleep(100);
		} else {
			w->error = errno;
			break;
		}
		off = (off + 4096 + 8) % (w->len - 4096);
		off &= ~7ul;
	}
	return NULL;
}

/* DAXPIN_TEST_ITERATIONS, or 0 with *@seconds from DAXPIN_TEST_SECONDS. */
static unsigned long test_iterations(unsigned long *seconds)
{
	const char *it = getenv("DAXPIN_TEST_ITERATIONS");
	const char *sec = getenv("DAXPIN_TEST_SECONDS");

	*seconds = 0;
	if (it && *it && strtoul(it, NULL, 10))
		return strtoul(it, NULL, 10);
	if (sec && *sec && strtoul(sec, NULL, 10)) {
		*seconds = strtoul(sec, NULL, 10);
		return 0;
	}
	return ITERATIONS;
}

FIXTURE(corruption) {
	const char *dir;
	struct verbs v;
};

FIXTURE_VARIANT(corruption) {
	enum layout_op op;
	bool rdma;
	bool aligned;	/* on DAXPIN_ALIGNED_DIR: 2 MiB entries */
	int dmabuf;	/* a device writes: 1 dynamic importer, 2 pinned */
};

FIXTURE_VARIANT_ADD(corruption, truncate) { .op = OP_TRUNCATE };
FIXTURE_VARIANT_ADD(corruption, punch_hole) { .op = OP_PUNCH };
FIXTURE_VARIANT_ADD(corruption, rdma_truncate) {
	.op = OP_TRUNCATE, .rdma = true,
};
FIXTURE_VARIANT_ADD(corruption, rdma_punch_hole) {
	.op = OP_PUNCH, .rdma = true,
};
FIXTURE_VARIANT_ADD(corruption, aligned_truncate) {
	.op = OP_TRUNCATE, .aligned = true,
};
FIXTURE_VARIANT_ADD(corruption, aligned_rdma_punch_hole) {
	.op = OP_PUNCH, .rdma = true, .aligned = true,
};
FIXTURE_VARIANT_ADD(corruption, dmabuf_truncate) {
	.op = OP_TRUNCATE, .dmabuf = 1,
};
FIXTURE_VARIANT_ADD(corruption, dmabuf_pinned_punch_hole) {
	.op = OP_PUNCH, .dmabuf = 2,
};

/*
 * Export all of pin @handle as a dma-buf and attach the test importer to
 * it, dynamically or not, and map it: the importer's fd, or -errno.
 */
static int device_attach(int dfd, uint32_t handle, int dynamic)
{
	struct daxpin_export_dmabuf e = {
		.size = sizeof(e), .handle = handle, .length = FILE_SIZE,
		.flags = DAXPIN_EXPORT_DMABUF_CLOEXEC,
	};
	struct dti_attach a = { .flags = dynamic ? DTI_ATTACH_DYNAMIC : 0 };
	struct dti_map m = { 0 };
	int ifd, ret = 0;

	ifd = open(DTI_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (ifd < 0)
		return -errno;
	if (ioctl(dfd, DAXPIN_EXPORT_DMABUF, &e)) {
		ret = -errno;
		goto out;
	}
	a.dmabuf_fd = e.out_fd;
	if (!dynamic)
		let_unrevocable_importers(1);
	if (ioctl(ifd, DTI_ATTACH, &a) || ioctl(ifd, DTI_MAP, &m))
		ret = -errno;
	if (!dynamic)
		let_unrevocable_importers(0);
	/* The importer holds the dma-buf now. */
	close(e.out_fd);
out:
	if (ret) {
		close(ifd);
		return ret;
	}
	return ifd;
}

FIXTURE_SETUP(corruption)
{
	struct sigaction sa = { .sa_handler = writer_sigbus };
	const char *why;

	self->dir = env_or_die(variant->aligned ? "DAXPIN_ALIGNED_DIR" :
			       "DAXPIN_DAX_DIR");
	sigaction(SIGBUS, &sa, NULL);
	if (variant->rdma) {
		/* The bench promises the RDMA device: no skip. */
		why = verbs_open(&self->v);
		ASSERT_EQ(NULL, why) TH_LOG("%s: %s",
					    getenv("DAXPIN_RDMA_DEV"), why);
	}
}

FIXTURE_TEARDOWN(corruption)
{
	verbs_close(&self->v);
}

TEST_F_TIMEOUT(corruption, no_stale_store_lands_elsewhere, 600)
{
	unsigned long seconds, iterations = test_iterations(&seconds);
	unsigned long iter, total_hits = 0, odp_waited = 0;
	long aligned_total = 0;
	uint64_t t0 = now_ns();

	const char *kind = variant->rdma ? "RDMA (MR of the pin's mapping)" :
			   variant->dmabuf == 1 ? "dynamic dma-buf importer" :
			   variant->dmabuf == 2 ? "pinned dma-buf importer" : "CPU";
	/* Whether the layout change must wait for the holder's MR or device. */
	bool held = variant->rdma || variant->dmabuf == 2;
	unsigned long min_stores = variant->rdma ? 100 : 1000;

	/* RDMA through ODP: the MR holds nothing, the change goes on. */
	const bool odp = variant->rdma && !map_registrable();

	if (odp) {
		int writes = writer_odp_writes(&self->v);

		ASSERT_LE(0, writes);
		if (!writes)
			SKIP(return, NO_MAP_REGISTRATION ", and the RDMA device has no ODP for RC WRITE");
		ASSERT_EQ(IBV_MTU_4096, (int)self->v.vp.attr.active_mtu)
			TH_LOG("ODP on rxe needs page-sized packets (bench/guest/init.sh gives the netdev a 9000-byte MTU)");
		held = false;
		kind = "RDMA (ODP MR of the file's own mapping)";
	}
	if (variant->dmabuf && access(DTI_DEVICE_PATH, F_OK))
		SKIP(return, "no %s: the bench loads the test importer module",
		     DTI_DEVICE_PATH);
	if (iterations)
		TH_LOG("%s writer, %s%s: %lu iterations", kind,
		       variant->aligned ? "2 MiB-aligned file, " : "",
		       variant->op == OP_TRUNCATE ? "truncate" : "punch hole",
		       iterations);
	else
		TH_LOG("%s writer, %s%s: iterations for %lu s", kind,
		       variant->aligned ? "2 MiB-aligned file, " : "",
		       variant->op == OP_TRUNCATE ? "truncate" : "punch hole",
		       seconds);
	for (iter = 0; iterations ? iter < iterations :
	     iter == 0 || now_ns() - t0 < seconds * 1000000000ull; iter++) {
		struct writer w = { .v = &self->v, .ifd = -1 };
		struct ibv_mr *mr = NULL;
		struct daxpin_event ev;
		struct daxpin_pin p;
		char path[4096];
		pthread_t thread;
		int dfd, ffd, nfiles = 0, status = -ETIMEDOUT, let_go;
		unsigned long before;
		uint64_t t1;
		pid_t op;
		long hits;

		dfd = daxpin_open();
		ASSERT_LE(0, dfd);
		ffd = make_file(self->dir, "corruption-pinned", FILE_SIZE, path,
				sizeof(path));
		ASSERT_LE(0, ffd);
		ASSERT_EQ(0, pin_range(dfd, ffd, 0, FILE_SIZE, DAXPIN_PIN_WRITE,
				       DEADLINE_MS, &p));
		/*
		 * How much of it the pin holds as 2 MiB entries: the file
		 * system aligns what it can, less once the refills have cut
		 * its free space up (huge.c tests the entries themselves).
		 */
		if (variant->aligned)
			aligned_total += aligned_chunks(ffd, 0, FILE_SIZE);
		w.len = FILE_SIZE;
		w.odp = odp;
		/* ODP: the holder's own mapping of the file, not the pin's. */
		w.map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			     odp ? ffd : dfd, odp ? 0 : p.out_mmap_offset);
		ASSERT_NE(MAP_FAILED, w.map);
		if (variant->rdma) {
			mr = ibv_reg_mr(self->v.vp.pd, w.map, FILE_SIZE,
					IBV_ACCESS_LOCAL_WRITE |
					IBV_ACCESS_REMOTE_WRITE |
					(odp ? IBV_ACCESS_ON_DEMAND : 0));
			ASSERT_NE(NULL, mr) TH_LOG("ibv_reg_mr on the %s mapping: %s",
						   odp ? "file's" : "daxpin",
						   strerror(errno));
			w.rkey = mr->rkey;
			/* Fresh QPs, whatever the last writer left. */
			ASSERT_EQ(0, verbs_connect(&self->v));
		}
		if (variant->dmabuf) {
			w.ifd = device_attach(dfd, p.out_handle,
					      variant->dmabuf == 1);
			if (w.ifd == -EOPNOTSUPP)
				SKIP(return, "the importer's DMA addresses are not CPU addresses (an IOMMU?)");
			ASSERT_LE(0, w.ifd) TH_LOG("dma-buf export, attach, map: %s",
						   strerror(-w.ifd));
		}
		ASSERT_EQ(0, pthread_create(&thread, NULL, variant->rdma ?
					    rdma_writer_main : variant->dmabuf ?
					    device_writer_main : writer_main, &w));
		t1 = now_ns();
		while (w.stores < min_stores && !w.error &&
		       now_ns() - t1 < CQ_TIMEOUT_MS * 1000000ull)
			usleep(1000);
		if (w.error || w.stores < min_stores) {
			/* No thread may use the QPs when the teardown goes. */
			w.stop = 1;
			pthread_join(thread, NULL);
		}
		ASSERT_EQ(0, w.error) TH_LOG("%s writer: %s", kind, strerror(w.error));
		ASSERT_LE(min_stores, w.stores)
			TH_LOG("the writer stored %lu times in %d ms (%lu refused)",
			       w.stores, CQ_TIMEOUT_MS, w.faults);

		/*
		 * With an MR, every other iteration the holder lets go first:
		 * unpin, unmap, close. The MR still holds the pages: the pin
		 * drains, keeping the file mapped.
		 */
		let_go = held && variant->rdma && iter % 2;
		if (let_go) {
			ASSERT_EQ(0, unpin(dfd, p.out_handle));
			munmap(w.map, FILE_SIZE);
			close(dfd);
			dfd = -1;
		}

		/* The pin's deadline passes; then the blocks are freed ... */
		/* Truncate to 0, or punch the whole pinned range. */
		op = spawn_op(path, variant->op,
			      variant->op == OP_TRUNCATE ? 0 : 2 * FILE_SIZE);
		ASSERT_LT(0, op);
		if (held) {
			/*
			 * ... but not while the MR (or the pinned importer's
			 * mapping) can reach them: revoked (or let go), the
			 * pin drains and the op waits for the holder, who
			 * deregisters or detaches (the writer still going).
			 */
			if (!let_go) {
				ASSERT_EQ(0, next_event_skip_breaks(dfd, PROMPT_MS,
								    &ev));
				EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
				ASSERT_EQ(0, next_event_skip_breaks(dfd, DEADLINE_MS +
								    PROMPT_MS, &ev));
				EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);
			}
			before = w.stores;
			status = wait_child(op, MR_WAITS_MS);
			EXPECT_EQ(-ETIMEDOUT, status)
				TH_LOG("the layout change went on while %s held the pages (%s)",
				       variant->rdma ? "an MR" : "a pinned importer",
				       let_go ? "pin unpinned and closed" :
				       "pin revoked");
			/* The NIC still wrote into the file's blocks meanwhile. */
			EXPECT_LT(before, w.stores);
			if (variant->rdma) {
				EXPECT_EQ(0, ibv_dereg_mr(mr));
				mr = NULL;
			} else {
				EXPECT_EQ(0, ioctl(w.ifd, DTI_DETACH));
			}
		}
		if (status == -ETIMEDOUT)
			status = wait_child(op, PROMPT_MS);
		if (odp && status == -ETIMEDOUT) {
			/*
			 * 6.15 on, the change waits for a count of 0, and
			 * the holder's own mapping may have mapped a page
			 * again while it waited (dax_kernel's
			 * refault_during_wait_holds_truncate): it goes on
			 * once the holder deregisters and unmaps.
			 */
			odp_waited++;
			EXPECT_EQ(0, ibv_dereg_mr(mr));
			mr = NULL;
			munmap(w.map, FILE_SIZE);
			w.map = NULL;
			status = wait_child(op, PROMPT_MS);
		}
		ASSERT_LE(0, status) TH_LOG("the layout change still waits");
		EXPECT_EQ(0, WEXITSTATUS(status));
		/* ... and reused at once, the writer still storing. */
		nfiles = refill_fs(self->dir, "refill");
		ASSERT_LT(0, nfiles);
		before = w.faults;
		usleep(200 * 1000);
		w.stop = 1;
		pthread_join(thread, NULL);
		EXPECT_EQ(0, w.error) TH_LOG("%s writer: %s", kind, strerror(w.error));
		/* An ODP MR held nothing: it goes now. */
		if (mr) {
			EXPECT_EQ(0, ibv_dereg_mr(mr));
		}

		if (variant->dmabuf)
			hits = refill_scan_and_remove(self->dir, "refill",
						      nfiles, device_word, 8);
		else
			hits = refill_scan_and_remove(self->dir, "refill",
						      nfiles, "daxpin-writer",
						      13);
		total_hits += hits;
		if (variant->rdma)
			TH_LOG("iteration %lu (pin %s under the MR): %lu RDMA WRITEs, %lu refused (%lu after the refill), %lu flushed, %lu QP resets, %d refill files, %ld stale patterns (%ld bytes)",
			       iter, let_go ? "unpinned" : "revoked", w.stores, w.faults, w.faults - before,
			       w.flushed, w.resets, nfiles, hits, hits * 16);
		else if (variant->dmabuf)
			TH_LOG("iteration %lu: %lu device stores of 4 KiB, %lu refused (%lu after the refill), %d refill files, %ld stale words (%ld bytes)",
			       iter, w.stores, w.faults, w.faults - before,
			       nfiles, hits, hits * 8);
		else
			TH_LOG("iteration %lu: %lu stores, %lu SIGBUS (%lu after the refill), %d refill files, %ld stale patterns (%ld bytes)",
			       iter, w.stores, w.faults, w.faults - before,
			       nfiles, hits, hits * 16);
		EXPECT_EQ(0, hits);
		/*
		 * The writer was cut off: it kept faulting to the end. Not
		 * an ODP MR over a punched hole: its WRITEs fault new blocks
		 * into the same file, where they belong.
		 */
		if (!(odp && variant->op == OP_PUNCH)) {
			EXPECT_LT(before, w.faults);
		}

		if (!let_go) {
			if (w.map)
				munmap(w.map, FILE_SIZE);
			close(dfd);
		}
		if (w.ifd >= 0)
			close(w.ifd);
		close(ffd);
		unlink(path);
	}
	TH_LOG("%lu iterations in %.0f s, %lu stale patterns (%lu bytes)",
	       iter, (now_ns() - t0) / 1e9, total_hits, total_hits * 16);
	if (odp)
		TH_LOG("the layout change outlived the revocation, held by the holder's own mapping until it let go, in %lu of %lu iterations",
		       odp_waited, iter);
	if (variant->aligned)
		TH_LOG("2 MiB-aligned chunks of the pinned files: %ld of %lu",
		       aligned_total, iter * (FILE_SIZE / PMD_BYTES));
}

/*
 * The harness's timeout is fixed at build time; the iterations are not:
 * give each variant PER_ITERATION_S per iteration, or its time, on top.
 */
#define PER_ITERATION_S	60

int main(int argc, char **argv)
{
	unsigned long seconds, iterations = test_iterations(&seconds);

	_corruption_no_stale_store_lands_elsewhere_object.timeout =
		600 + (iterations ? iterations * PER_ITERATION_S : seconds);
	return test_harness_run(argc, argv);
}
