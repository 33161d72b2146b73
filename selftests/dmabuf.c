// SPDX-License-Identifier: GPL-2.0
/*
 * DAXPIN_EXPORT_DMABUF: a pin exported as a dma-buf, imported by the
 * bench's test-only importer (selftests/importer), which plays a device:
 * it attaches dynamically (told to move when the pin ends) or statically
 * (pinned: never told), maps, and stores where a device's DMA would land.
 *
 * What must hold, for both kinds of importer:
 *  - a store through the dma-buf lands in the file at its place, nowhere
 *    else; a read-only pin gives only read-only mappings;
 *  - once the pin ends (UNPIN, or revocation at the deadline after a
 *    recall), nothing maps the dma-buf again;
 *  - a dynamic importer is told to move, unmaps, and the layout change
 *    goes on: its stores fail from then on;
 *  - a pinned importer keeps its mapping: the layout change waits until it
 *    unmaps, so its stores never reach blocks the file system took back;
 *    with kill_on_stuck, the process that exported the pin is killed.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "common.h"
#include "importer/daxpin_test_importer.h"

/*
 * Every kernel and file system: dma-buf's API moves between kernels;
 * revocation runs layout changes.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(4 * 1024 * 1024UL)
#define PROMPT_MS	5000
#define DEADLINE_MS	300
/* Revocation after the deadline takes at most this (emulated, KASAN). */
#define REVOKE_BOUND_MS	10000
/* How long a layout change is watched for not finishing. */
#define STILL_WAITING_MS	1500
#define WORD		0x5a5a5a5a5a5a5a5aULL

static int export_dmabuf(int dfd, uint32_t handle, uint64_t off, uint64_t len,
			 uint32_t flags, int *fd)
{
	struct daxpin_export_dmabuf e = {
		.size = sizeof(e), .flags = flags, .handle = handle,
		.offset = off, .length = len, .out_fd = -1,
	};
	int ret = ioctl_err(dfd, DAXPIN_EXPORT_DMABUF, &e);

	*fd = e.out_fd;
	return ret;
}

static int imp_open(void)
{
	return open(DTI_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

static int imp_attach(int ifd, int dbfd, int dynamic)
{
	struct dti_attach a = {
		.dmabuf_fd = dbfd, .flags = dynamic ? DTI_ATTACH_DYNAMIC : 0,
	};

	return ioctl_err(ifd, DTI_ATTACH, &a);
}

static int imp_map(int ifd, int read_only)
{
	struct dti_map m = { .flags = read_only ? DTI_MAP_READ_ONLY : 0 };

	return ioctl_err(ifd, DTI_MAP, &m);
}

static int imp_store(int ifd, uint64_t off, uint64_t len, uint64_t value)
{
	struct dti_access a = { .offset = off, .length = len, .value = value };

	return ioctl_err(ifd, DTI_STORE, &a);
}

static int imp_load(int ifd, uint64_t off, uint64_t *value)
{
	struct dti_access a = { .offset = off, .length = 8 };
	int ret = ioctl_err(ifd, DTI_LOAD, &a);

	*value = a.value;
	return ret;
}

static struct dti_status imp_status(int ifd)
{
	struct dti_status s = { 0 };

	if (ioctl(ifd, DTI_STATUS, &s))
		s.attached = ~0u;
	return s;
}

/* Bytes of [@off, @off + @len) of @fd that differ from the byte @c. */
static long bytes_not(int fd, off_t off, size_t len, int c)
{
	unsigned char buf[64 * 1024];
	long bad = 0;
	size_t done, n, i;

	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (pread(fd, buf, n, off + done) != (ssize_t)n)
			return -1;
		for (i = 0; i < n; i++)
			bad += buf[i] != (unsigned char)c;
	}
	return bad;
}

/* Bytes of [@off, @off + @len) of @fd that are not the word @w, repeated. */
static long words_not(int fd, off_t off, size_t len, uint64_t w)
{
	uint64_t buf[512];
	long bad = 0;
	size_t done, n, i;

	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (pread(fd, buf, n, off + done) != (ssize_t)n)
			return -1;
		for (i = 0; i < n / 8; i++)
			bad += buf[i] != w;
	}
	return bad * 8;
}

FIXTURE(dmabuf) {
	int dfd;
	int ffd;
	int ifd;
	int dbfd;
	struct daxpin_pin pin;
	char path[4096];
};

FIXTURE_VARIANT(dmabuf) {
	int dynamic;
};

FIXTURE_VARIANT_ADD(dmabuf, dynamic) {
	.dynamic = 1,
};

FIXTURE_VARIANT_ADD(dmabuf, pinned) {
	.dynamic = 0,
};

/*
 * A 4 MiB file of 'f' bytes, pinned whole for writing, not yet exported.
 * The static importer cannot be revoked: on 7.x it may pin only when the
 * admin lets it, as the tests do (but importer_that_pins).
 */
FIXTURE_SETUP(dmabuf)
{
	self->dbfd = -1;
	if (!variant->dynamic)
		ASSERT_EQ(0, let_unrevocable_importers(1));
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ifd = imp_open();
	if (self->ifd < 0)
		SKIP(return, "no %s (%s): the bench loads the test importer module",
		     DTI_DEVICE_PATH, strerror(errno));
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "dmabuf-test",
			      FILE_SIZE, self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	ASSERT_EQ(0, fill_file(self->ffd, 'f', FILE_SIZE));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, DEADLINE_MS, &self->pin));
}

FIXTURE_TEARDOWN(dmabuf)
{
	if (!variant->dynamic)
		let_unrevocable_importers(0);
	if (self->ifd >= 0) {
		close(self->ifd);
		close(self->ffd);
		unlink(self->path);
	}
	if (self->dbfd >= 0)
		close(self->dbfd);
	if (self->dfd >= 0)
		close(self->dfd);
}

/* Export [off, off + len) of the pin, attach as the variant says, map. */
static void export_and_map(struct __test_metadata *_metadata,
			   FIXTURE_DATA(dmabuf) *self, int dynamic,
			   uint64_t off, uint64_t len)
{
	struct dti_status s;
	int ret;

	ASSERT_EQ(0, export_dmabuf(self->dfd, self->pin.out_handle, off, len,
				   DAXPIN_EXPORT_DMABUF_CLOEXEC, &self->dbfd));
	ASSERT_EQ(0, imp_attach(self->ifd, self->dbfd, dynamic));
	ret = imp_map(self->ifd, 0);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "the importer's DMA addresses are not CPU addresses (an IOMMU?)");
	ASSERT_EQ(0, ret);
	s = imp_status(self->ifd);
	ASSERT_EQ(1u, s.mapped);
	ASSERT_EQ((unsigned int)dynamic, s.dynamic);
	ASSERT_EQ(len, s.mapped_bytes);
}

TEST_F(dmabuf, export_args)
{
	uint32_t h = self->pin.out_handle;
	struct daxpin_export_dmabuf e;
	int fd;

	EXPECT_EQ(-ENOENT, export_dmabuf(self->dfd, h + 1000, 0, PAGE, 0, &fd));
	EXPECT_EQ(-EINVAL, export_dmabuf(self->dfd, h, 0, 0, 0, &fd));
	EXPECT_EQ(-EINVAL, export_dmabuf(self->dfd, h, 1, PAGE, 0, &fd));
	EXPECT_EQ(-EINVAL, export_dmabuf(self->dfd, h, 0, PAGE + 8, 0, &fd));
	EXPECT_EQ(-EINVAL, export_dmabuf(self->dfd, h, FILE_SIZE, PAGE, 0, &fd));
	EXPECT_EQ(-EINVAL, export_dmabuf(self->dfd, h, PAGE, FILE_SIZE, 0, &fd));
	EXPECT_EQ(-EINVAL, export_dmabuf(self->dfd, h, PAGE, -PAGE, 0, &fd));
	EXPECT_EQ(-EOPNOTSUPP, export_dmabuf(self->dfd, h, 0, PAGE, 1u << 1, &fd));
	EXPECT_EQ(-EOPNOTSUPP, export_dmabuf(self->dfd, h, 0, PAGE, 1u << 31, &fd));
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.handle = h;
	e.length = PAGE;
	e.__reserved = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->dfd, DAXPIN_EXPORT_DMABUF, &e));
	e.__reserved = 0;
	e.__reserved2 = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->dfd, DAXPIN_EXPORT_DMABUF, &e));

	/* A whole pin, with and without CLOEXEC; not mmap()able. */
	ASSERT_EQ(0, export_dmabuf(self->dfd, h, 0, FILE_SIZE, 0, &fd));
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ((off_t)FILE_SIZE, lseek(fd, 0, SEEK_END));
	close(fd);
	ASSERT_EQ(0, export_dmabuf(self->dfd, h, FILE_SIZE - PAGE, PAGE,
				   DAXPIN_EXPORT_DMABUF_CLOEXEC, &fd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* max_dmabufs_per_pin bounds what one pin can be exported as at once. */
TEST_F(dmabuf, export_limit)
{
	char old[32];
	int fd[3], extra, i;

	snprintf(old, sizeof(old), "%ld", module_param_read("max_dmabufs_per_pin"));
	ASSERT_EQ(0, module_param_write("max_dmabufs_per_pin", "3"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, export_dmabuf(self->dfd, self->pin.out_handle, 0,
					   PAGE, 0, &fd[i]));
	EXPECT_EQ(-ENOSPC, export_dmabuf(self->dfd, self->pin.out_handle, 0,
					 PAGE, 0, &extra));
	/* A dma-buf's release gives its place back. */
	close(fd[0]);
	EXPECT_EQ(0, export_dmabuf(self->dfd, self->pin.out_handle, 0, PAGE, 0,
				   &fd[0]));
	EXPECT_EQ(0, module_param_write("max_dmabufs_per_pin", old));
	for (i = 0; i < 3; i++)
		close(fd[i]);
}

/* A store through the dma-buf lands at its place in the file, only there. */
TEST_F(dmabuf, store_lands_in_place)
{
	const uint64_t off = 1 << 20, len = 1 << 20, at = 8192;
	uint64_t v;

	export_and_map(_metadata, self, variant->dynamic, off, len);
	ASSERT_EQ(0, imp_store(self->ifd, at, PAGE, WORD));
	EXPECT_EQ(0, words_not(self->ffd, off + at, PAGE, WORD));
	EXPECT_EQ(0, bytes_not(self->ffd, 0, off + at, 'f'));
	EXPECT_EQ(0, bytes_not(self->ffd, off + at + PAGE,
			       FILE_SIZE - off - at - PAGE, 'f'));
	/* And the device reads what the file holds. */
	ASSERT_EQ(8, pwrite(self->ffd, &(uint64_t){ 0x1122334455667788ULL }, 8,
			    off + len - 8));
	ASSERT_EQ(0, imp_load(self->ifd, len - 8, &v));
	EXPECT_EQ(0x1122334455667788ULL, v);
	EXPECT_EQ(-EINVAL, imp_store(self->ifd, len, 8, WORD));
}

/* A read-only pin is exported read-only: the device may only read. */
TEST_F(dmabuf, read_only_pin)
{
	struct daxpin_pin p;
	uint64_t v;
	int fd, ret;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE, 0, 0, &p));
	ASSERT_EQ(0, export_dmabuf(self->dfd, p.out_handle, 0, FILE_SIZE, 0,
				   &fd));
	self->dbfd = fd;
	/*
	 * A static attach maps DMA_BIDIRECTIONAL at once on kernels whose
	 * dma-buf core caches the mapping of a static importer (6.1, 6.12):
	 * refused there, at the map elsewhere.
	 */
	ret = imp_attach(self->ifd, fd, variant->dynamic);
	if (ret == -EACCES) {
		ASSERT_FALSE(variant->dynamic);
		TH_LOG("the static attach mapped for writing, and was refused");
		return;
	}
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EACCES, imp_map(self->ifd, 0));
	ret = imp_map(self->ifd, 1);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "the importer's DMA addresses are not CPU addresses");
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EPERM, imp_store(self->ifd, 0, 8, WORD));
	ASSERT_EQ(0, imp_load(self->ifd, FILE_SIZE - 8, &v));
	EXPECT_EQ(0x6666666666666666ULL, v);
}

/*
 * A writable pin exported through a daxpin file opened O_RDONLY gives a
 * read-only dma-buf, as its mmap() gives no PROT_WRITE: a descriptor
 * passed on read-only does not let a device write.
 */
TEST_F(dmabuf, read_only_daxpin_file)
{
	struct daxpin_pin p;
	int rofd, fd, ret;

	rofd = open(DAXPIN_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rofd);
	ASSERT_EQ(0, pin_range(rofd, self->ffd, 0, FILE_SIZE, DAXPIN_PIN_WRITE,
			       0, &p));
	ASSERT_EQ(0, export_dmabuf(rofd, p.out_handle, 0, FILE_SIZE, 0, &fd));
	self->dbfd = fd;
	ret = imp_attach(self->ifd, fd, variant->dynamic);
	if (ret == -EACCES) {
		/* 6.1, 6.12: a static attach maps DMA_BIDIRECTIONAL at once. */
		ASSERT_FALSE(variant->dynamic);
	} else {
		ASSERT_EQ(0, ret);
		EXPECT_EQ(-EACCES, imp_map(self->ifd, 0));
		ret = imp_map(self->ifd, 1);
		if (ret == -EOPNOTSUPP)
			SKIP(return, "the importer's DMA addresses are not CPU addresses");
		EXPECT_EQ(0, ret);
		EXPECT_EQ(-EPERM, imp_store(self->ifd, 0, 8, WORD));
	}
	close(rofd);
}

/*
 * UNPIN the mapped pin, and truncate. An importer that is @told to move
 * unmaps, and the truncate goes on; one that is not keeps its mapping,
 * and the truncate waits until it detaches.
 */
static void unpin_moves_or_waits(struct __test_metadata *_metadata,
				 FIXTURE_DATA(dmabuf) *self, bool told)
{
	struct dti_status s;
	uint64_t v;
	pid_t pid;

	ASSERT_EQ(0, unpin(self->dfd, self->pin.out_handle));
	s = imp_status(self->ifd);
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid);
	if (told) {
		EXPECT_EQ(1u, s.invalidations);
		EXPECT_EQ(0u, s.mapped);
		EXPECT_EQ(-ENODEV, imp_store(self->ifd, 0, 8, WORD));
		/* Nothing maps an ended pin. */
		EXPECT_EQ(-ENXIO, imp_map(self->ifd, 0));
		EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	} else {
		EXPECT_EQ(0u, s.invalidations);
		EXPECT_EQ(1u, s.mapped);
		EXPECT_EQ(-ETIMEDOUT, wait_child(pid, STILL_WAITING_MS));
		/*
		 * It still reaches the blocks, which are still the file's
		 * (not read through the file: the waiting truncate holds
		 * its lock).
		 */
		EXPECT_EQ(0, imp_store(self->ifd, FILE_SIZE - PAGE, 8, WORD));
		EXPECT_EQ(0, imp_load(self->ifd, FILE_SIZE - PAGE, &v));
		EXPECT_EQ(WORD, v);
		EXPECT_EQ(0, ioctl(self->ifd, DTI_DETACH));
		EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	}
	EXPECT_EQ((off_t)FILE_SIZE / 2, lseek(self->ffd, 0, SEEK_END));
}

/*
 * An importer that pins (dma_buf_pin(), as an RDMA registration of a
 * dma-buf does on a device without on-demand paging).
 * - Dynamic variant (DTI_ATTACH_PIN): where the kernel cannot say whether
 *   the attachment can be revoked (6.x), it is not told to move when the
 *   pin ends (it asked not to be, and RDMA warns if it is): it keeps its
 *   mapping, and a truncate waits until it detaches. Where the kernel says
 *   it can be (7.x: it has the callback), it is told, unmaps, and the
 *   truncate goes on.
 * - Static variant, an importer that cannot be revoked: where the kernel
 *   says so (7.x), its pin fails (EPERM) unless the admin lets it
 *   (unrevocable_importers); 6.x cannot tell, and lets it.
 */
TEST_F(dmabuf, importer_that_pins)
{
	struct dti_attach a = { .flags = DTI_ATTACH_DYNAMIC | DTI_ATTACH_PIN };
	struct dti_status s;
	int ret, revocable;

	ASSERT_EQ(0, export_dmabuf(self->dfd, self->pin.out_handle, 0,
				   FILE_SIZE, DAXPIN_EXPORT_DMABUF_CLOEXEC,
				   &self->dbfd));
	if (!variant->dynamic) {
		ASSERT_EQ(0, let_unrevocable_importers(0));
		/* 6.x maps (and pins) a static attachment at once. */
		ret = imp_attach(self->ifd, self->dbfd, 0);
		s = imp_status(self->ifd);
		if (!ret)
			ret = imp_map(self->ifd, 0);
		if (ret == -EOPNOTSUPP)
			SKIP(return, "the importer's DMA addresses are not CPU addresses (an IOMMU?)");
		TH_LOG("kernel says revocable: %d; unrevocable importer's pin: %s",
		       s.revocable, ret ? strerror(-ret) : "made");
		if (s.revocable == 0) {
			EXPECT_EQ(-EPERM, ret);
			ASSERT_EQ(0, let_unrevocable_importers(1));
			EXPECT_EQ(0, imp_map(self->ifd, 0));
		} else {
			EXPECT_EQ(0, ret);
		}
		return;
	}

	a.dmabuf_fd = self->dbfd;
	ASSERT_EQ(0, ioctl_err(self->ifd, DTI_ATTACH, &a));
	ret = imp_map(self->ifd, 0);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "the importer's DMA addresses are not CPU addresses (an IOMMU?)");
	ASSERT_EQ(0, ret);
	revocable = imp_status(self->ifd).revocable;
	TH_LOG("kernel says revocable: %d", revocable);
	unpin_moves_or_waits(_metadata, self, revocable == 1);
}

/*
 * UNPIN with the dma-buf mapped. A dynamic importer is told to move and
 * unmaps: a truncate then goes on. A pinned importer keeps its mapping:
 * the truncate waits until it unmaps.
 */
TEST_F(dmabuf, unpin_moves_or_waits)
{
	export_and_map(_metadata, self, variant->dynamic, 0, FILE_SIZE);
	unpin_moves_or_waits(_metadata, self, variant->dynamic);
}

/*
 * The holder ignores a recall: at the deadline the pin is revoked. A
 * dynamic importer is told to move and the truncate goes on; a pinned one
 * holds it until it unmaps. Either way no store reaches the freed blocks:
 * the file, grown back, reads zeros there.
 */
TEST_F(dmabuf, revocation_moves_or_waits)
{
	struct daxpin_event ev;
	struct dti_status s;
	pid_t pid;

	export_and_map(_metadata, self, variant->dynamic, 0, FILE_SIZE);
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	/* Recalled, the pin still works for the device. */
	EXPECT_EQ(0, imp_store(self->ifd, FILE_SIZE - PAGE, 8, WORD));
	ASSERT_EQ(0, next_event(self->dfd, DEADLINE_MS + REVOKE_BOUND_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);
	EXPECT_EQ((__u32)DAXPIN_REVOKE_DEADLINE, ev.reason);
	s = imp_status(self->ifd);
	if (variant->dynamic) {
		EXPECT_EQ(1u, s.invalidations);
		EXPECT_EQ(0u, s.mapped);
		EXPECT_EQ(0, wait_child(pid, REVOKE_BOUND_MS));
		EXPECT_EQ(-ENODEV, imp_store(self->ifd, FILE_SIZE - PAGE, 8,
					     WORD));
		EXPECT_EQ(-ENXIO, imp_map(self->ifd, 0));
	} else {
		EXPECT_EQ(1u, s.mapped);
		EXPECT_EQ(-ETIMEDOUT, wait_child(pid, STILL_WAITING_MS));
		EXPECT_EQ(0, imp_store(self->ifd, FILE_SIZE - PAGE, 8, WORD));
		EXPECT_EQ(0, ioctl(self->ifd, DTI_DETACH));
		EXPECT_EQ(0, wait_child(pid, REVOKE_BOUND_MS));
	}
	EXPECT_EQ((off_t)FILE_SIZE / 2, lseek(self->ffd, 0, SEEK_END));
	ASSERT_EQ(0, ftruncate(self->ffd, FILE_SIZE));
	EXPECT_EQ(0, bytes_not(self->ffd, FILE_SIZE / 2, FILE_SIZE / 2, 0));
	EXPECT_EQ(0, bytes_not(self->ffd, 0, FILE_SIZE / 2, 'f'));
}

/*
 * kill_on_stuck: a revoked pin that a pinned importer still holds gets
 * the process that exported it killed; its exit ends the importer's use
 * (the child's importer file closes) and the truncate goes on. A dynamic
 * importer let go at once: nobody is killed.
 */
TEST_F(dmabuf, kill_on_stuck_kills_exporter)
{
	int up[2], down[2], status, step;
	struct daxpin_pin p;
	pid_t child, pid;
	char old[8], c;

	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	snprintf(old, sizeof(old), "%ld", module_param_read("kill_on_stuck"));
	/* The fixture's pin would be recalled too: let it go. */
	ASSERT_EQ(0, unpin(self->dfd, self->pin.out_handle));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		int dfd, ifd, dbfd = -1, err = 0;

		close(up[0]);
		close(down[1]);
		/* Which step failed, as the exit status: 10 + step. */
		step = 1;
		dfd = daxpin_open();
		ifd = imp_open();
		if (dfd < 0 || ifd < 0)
			err = -errno;
		if (!err && (step = 2))
			err = pin_range(dfd, self->ffd, 0, FILE_SIZE,
					DAXPIN_PIN_WRITE, DEADLINE_MS, &p);
		if (!err && (step = 3))
			err = export_dmabuf(dfd, p.out_handle, 0, FILE_SIZE, 0,
					    &dbfd);
		if (!err && (step = 4))
			err = imp_attach(ifd, dbfd, variant->dynamic);
		if (!err && (step = 5))
			err = imp_map(ifd, 0);
		if (err) {
			fprintf(stderr, "# child: step %d: %s\n", step,
				strerror(-err));
			_exit(10 + step);
		}
		if (write(up[1], "r", 1) != 1)
			_exit(1);
		/* Deaf to the recall; exits when told (never, if killed). */
		if (read(down[0], &c, 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	/* EOF if the child could not set up: its status says why. */
	if (read(up[0], &c, 1) != 1) {
		status = wait_child(child, PROMPT_MS);
		ASSERT_TRUE(0) TH_LOG("the child failed to set up: status %#x",
				      status);
	}
	ASSERT_EQ(0, module_param_write("kill_on_stuck", "1"));
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid);
	EXPECT_EQ(0, wait_child(pid, DEADLINE_MS + REVOKE_BOUND_MS));
	EXPECT_EQ(0, module_param_write("kill_on_stuck", old));
	if (variant->dynamic) {
		/* Alive: tell it to exit, and it does so by itself. */
		EXPECT_EQ(-ETIMEDOUT, wait_child(child, 200));
		EXPECT_EQ(1, write(down[1], "x", 1));
		status = wait_child(child, PROMPT_MS);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("child status %#x", status);
	} else {
		status = wait_child(child, PROMPT_MS);
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("child status %#x", status);
	}
	close(up[0]);
	close(down[1]);
}

/*
 * Device work queued on a dma-buf that never completes (a fence nobody
 * signals) cannot stall daxpin: the pin's end waits for it a bounded time
 * (DAXPIN_FENCE_WAIT_MS, 1 s), with the inode's mutex held, and then the
 * pin drains instead. The pages stay the file's meanwhile: a truncate
 * waits, and goes on once the work is done.
 */
TEST_F(dmabuf, unending_device_work_does_not_stall)
{
	uint64_t t0, took;
	pid_t op;

	export_and_map(_metadata, self, variant->dynamic, 0, FILE_SIZE);
	ASSERT_EQ(0, ioctl(self->ifd, DTI_FENCE))
		TH_LOG("DTI_FENCE: %s", strerror(errno));
	t0 = now_ns();
	EXPECT_EQ(0, unpin(self->dfd, self->pin.out_handle));
	took = (now_ns() - t0) / 1000000;
	TH_LOG("UNPIN with device work pending took %llu ms",
	       (unsigned long long)took);
	EXPECT_GE((uint64_t)PROMPT_MS, took);
	op = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, op);
	EXPECT_EQ(-ETIMEDOUT, wait_child(op, 500))
		TH_LOG("the truncate went on while device work on the pages was pending");
	EXPECT_EQ(0, ioctl(self->ifd, DTI_SIGNAL));
	if (!variant->dynamic) {
		/* A pinned importer still has its mapping: let it go too. */
		EXPECT_EQ(0, ioctl(self->ifd, DTI_DETACH));
	}
	EXPECT_EQ(0, wait_child(op, PROMPT_MS));
}

/*
 * A dma-buf holds its pin, not the daxpin file: closing the daxpin file
 * ends its pins, dma-bufs or not, and gives the memlock charge back at
 * once. A dynamic importer is told to move and its stores fail from then
 * on; a pinned one keeps its mapping, the pin drains, and a truncate
 * waits until the importer lets go.
 */
TEST_F(dmabuf, closing_daxpin_fd_ends_its_pins)
{
	long before = vm_pinned_kb();
	pid_t op;

	export_and_map(_metadata, self, variant->dynamic, 0, FILE_SIZE);
	close(self->dfd);
	self->dfd = -1;
	EXPECT_EQ(before - (long)(FILE_SIZE >> 10), vm_pinned_kb());
	if (variant->dynamic) {
		EXPECT_EQ(-ENODEV, imp_store(self->ifd, 0, 8, WORD));
		EXPECT_EQ(0, run_op(self->path, OP_TRUNCATE, FILE_SIZE));
		return;
	}
	/* The pinned importer still reaches the blocks: still the file's. */
	EXPECT_EQ(0, imp_store(self->ifd, 0, 8, WORD));
	EXPECT_EQ(0, words_not(self->ffd, 0, 8, WORD));
	op = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, op);
	EXPECT_EQ(-ETIMEDOUT, wait_child(op, 500))
		TH_LOG("the truncate went on while a pinned importer held the pages");
	EXPECT_EQ(0, ioctl(self->ifd, DTI_DETACH));
	EXPECT_EQ(0, wait_child(op, PROMPT_MS));
}

TEST_HARNESS_MAIN
