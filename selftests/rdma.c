// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA over daxpin mappings, on the bench's soft-RoCE device
 * (DAXPIN_RDMA_DEV, rxe0 on a dummy netdev): the kernel refuses to register
 * a plain mapping of a DAX file, registers a daxpin mapping of a pinned
 * range, and RDMA WRITE and READ through that registration reach the file.
 * An MR that still holds the pages of a revoked pin keeps a truncate
 * waiting until it is deregistered: revocation never lets the file system
 * free blocks that a registration can still reach.
 *
 * The bench promises the RDMA device: if it is missing, these tests fail.
 */
#include <poll.h>

#include "kselftest_harness.h"
#include "common.h"
#include "verbs.h"
#include "libdaxpin-verbs.h"

/*
 * Every kernel and file system: registration paths differ by kernel;
 * recalls by file system.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(1024 * 1024UL)
/* How long an RDMA operation may take to complete (emulated, loaded). */
#define CQ_TIMEOUT_MS	10000
/*
 * A layout change that is not waiting finishes within this; longer under
 * valgrind (DAXPIN_TEST_SLOW), where a process ends only after its leak
 * scan.
 */
#define PROMPT_MS	(5000 * test_slowdown())
#define DEADLINE_MS	300
/* How long we watch a waiting truncate to be sure it still waits. */
#define WAITS_MS	500

#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ)

FIXTURE(rdma) {
	struct verbs_port vp;
	struct ibv_qp *qa, *qb;
	struct ibv_mr *mr_file;		/* on the daxpin mapping */
	struct ibv_mr *mr_anon;		/* on an anonymous buffer */

	int dfd;
	int ffd;
	char path[4096];
	uint32_t handle;		/* 0: nothing pinned */
	void *map;			/* daxpin mapping */
	size_t map_len;
	void *fmap;			/* plain mapping of the DAX file */
	void *anon;
	size_t anon_len;
	unsigned char *expect;		/* what the file must hold */
	pid_t child;
	pid_t owner;			/* a process holding an MR */
};

FIXTURE_SETUP(rdma)
{
	const char *name = env_or_die("DAXPIN_RDMA_DEV");
	int ret;

	self->dfd = -1;
	self->ffd = -1;
	ret = verbs_port_open(&self->vp, name, 64, false, 5000);
	ASSERT_EQ(0, ret) TH_LOG("RDMA device %s, port 1 with a RoCE v2 GID: %s",
				 name, strerror(-ret));

	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "rdma-test",
			      FILE_SIZE, self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
}

static void set_kill_on_stuck(int on)
{
	if (module_param_write("kill_on_stuck", on ? "Y" : "N"))
		perror("kill_on_stuck");
}

FIXTURE_TEARDOWN(rdma)
{
	set_kill_on_stuck(0);
	if (self->owner > 0) {
		kill(self->owner, SIGKILL);
		waitpid(self->owner, NULL, 0);
	}
	/* The registrations first: a waiting truncate may wait for them. */
	if (self->mr_file)
		EXPECT_EQ(0, ibv_dereg_mr(self->mr_file));
	if (self->mr_anon)
		EXPECT_EQ(0, ibv_dereg_mr(self->mr_anon));
	if (self->child > 0 && wait_child(self->child, PROMPT_MS) == -ETIMEDOUT) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->qa)
		EXPECT_EQ(0, ibv_destroy_qp(self->qa));
	if (self->qb)
		EXPECT_EQ(0, ibv_destroy_qp(self->qb));
	EXPECT_EQ(0, verbs_port_close(&self->vp));
	if (self->map)
		munmap(self->map, self->map_len);
	if (self->fmap)
		munmap(self->fmap, FILE_SIZE);
	if (self->anon)
		munmap(self->anon, self->anon_len);
	free(self->expect);
	if (self->handle)
		EXPECT_EQ(0, unpin(self->dfd, self->handle));
	if (self->dfd >= 0)
		close(self->dfd);
	if (self->ffd >= 0) {
		close(self->ffd);
		unlink(self->path);
	}
}

/* A position-dependent pattern: a misplaced byte never matches. */
static void fill_pattern(void *buf, size_t len, uint32_t seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(((seed + i) * 2654435761u) >> 13);
}

/* The offset of the first byte where @a and @b differ, or -1. */
static long first_diff(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len; i++)
		if (x[i] != y[i])
			return (long)i;
	return -1;
}

static void *anon_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ibv_reg_mr(): the MR, or NULL with *@err set to errno. */
static struct ibv_mr *reg_mr(struct ibv_pd *pd, void *addr, size_t len,
			     int access, int *err)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_mr(pd, addr, len, access);
	*err = mr ? 0 : errno;
	return mr;
}

/* ---- a loopback RC connection --------------------------------------- */

/*
 * Pin [@off, @off + @len) of the fixture's file for writing, map the pin
 * and register the mapping (self->handle, map, mr_file; the teardown undoes
 * what was done). Returns 0 or the failing step's -errno.
 */
static int pin_map_register(FIXTURE_DATA(rdma) *self, off_t off, size_t len,
			    unsigned int deadline_ms)
{
	struct daxpin_pin p;
	void *map;
	int err;

	err = pin_range(self->dfd, self->ffd, off, len, DAXPIN_PIN_WRITE,
			deadline_ms, &p);
	if (err)
		return err;
	self->handle = p.out_handle;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	if (map == MAP_FAILED)
		return -errno;
	self->map = map;
	self->map_len = len;
	self->mr_file = reg_mr(self->vp.pd, map, len, MR_ACCESS, &err);
	return self->mr_file ? 0 : -err;
}

/* ---- the tests ------------------------------------------------------- */

/*
 * The kernel refuses long-term pins of a DAX file mapping (EOPNOTSUPP):
 * the very problem daxpin solves. The same registration of anonymous
 * memory works, so the refusal is the DAX file's, not the device's.
 */
TEST_F_TIMEOUT(rdma, plain_dax_mapping_refused, 120)
{
	struct ibv_mr *mr;
	char *fmap;
	int err;

	fmap = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		    self->ffd, 0);
	ASSERT_NE(MAP_FAILED, fmap);
	self->fmap = fmap;
	memset(fmap, 0x5a, 16 * PAGE);	/* real blocks, faulted in */

	mr = reg_mr(self->vp.pd, fmap, FILE_SIZE, MR_ACCESS, &err);
	if (mr)
		self->mr_file = mr;
	ASSERT_EQ(NULL, mr) TH_LOG("ibv_reg_mr on a DAX file mapping worked");
	EXPECT_EQ(EOPNOTSUPP, err) TH_LOG("ibv_reg_mr: %s", strerror(err));

	self->anon_len = FILE_SIZE;
	self->anon = anon_buffer(self->anon_len);
	ASSERT_NE(NULL, self->anon);
	self->mr_anon = reg_mr(self->vp.pd, self->anon, self->anon_len,
			       MR_ACCESS, &err);
	ASSERT_NE(NULL, self->mr_anon) TH_LOG("anonymous: %s", strerror(err));
	EXPECT_EQ(0, ibv_dereg_mr(self->mr_anon));
	self->mr_anon = NULL;
}

/* The daxpin mapping of a pinned range registers, and deregisters. */
TEST_F_TIMEOUT(rdma, daxpin_mapping_registers, 120)
{
	const size_t len = 16 * PAGE;
	struct daxpin_pin p;
	long pinned0, pinned1;
	struct ibv_mr *mr;
	void *map;
	int err;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 4 * PAGE, len,
			       DAXPIN_PIN_WRITE, 0, &p));
	self->handle = p.out_handle;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	self->map = map;
	self->map_len = len;

	pinned0 = vm_pinned_kb();
	mr = reg_mr(self->vp.pd, map, len, MR_ACCESS, &err);
	self->mr_file = mr;
	if (!map_registrable()) {
		/*
		 * 6.15 on: GUP refuses the VM_PFNMAP mapping (EFAULT), at
		 * once: never the endless retry of a long-term pin of an
		 * fsdax folio (the harness's timeout would say).
		 */
		ASSERT_EQ(NULL, mr) TH_LOG("registered without the feature");
		EXPECT_EQ(EFAULT, err) TH_LOG("ibv_reg_mr: %s", strerror(err));
		EXPECT_EQ(pinned0, vm_pinned_kb());
		return;
	}
	ASSERT_NE(NULL, mr) TH_LOG("ibv_reg_mr on the daxpin mapping: %s",
				   strerror(err));
	EXPECT_EQ(map, mr->addr);
	EXPECT_EQ(len, mr->length);
	/* A real long-term registration: the MR's pages are charged. */
	pinned1 = vm_pinned_kb();
	EXPECT_EQ(pinned0 + (long)(len / 1024), pinned1);

	EXPECT_EQ(0, ibv_dereg_mr(mr));
	self->mr_file = NULL;
	EXPECT_EQ(pinned0, vm_pinned_kb());
	EXPECT_EQ(0, unpin(self->dfd, self->handle));
	self->handle = 0;
}

#define PIN_OFF		(256 * 1024UL)
#define PIN_LEN		(256 * 1024UL)
#define WRITE_LEN	(64 * 1024UL)
/* Where in the MR the RDMA WRITE lands: not page aligned on purpose. */
#define WRITE_MR_OFF	(64 * 1024UL + 1000)
/* A write(2) through the file after registration, for the RDMA READ. */
#define MARK_MR_OFF	(192 * 1024UL + 37)
#define MARK_LEN	4096UL

/*
 * Fill the fixture's file with a pattern (@seed), which self->expect keeps;
 * returns a buffer of FILE_SIZE to read the file back into (the caller
 * frees it), or NULL.
 */
static unsigned char *write_background(FIXTURE_DATA(rdma) *self,
				       uint32_t seed)
{
	unsigned char *file = malloc(FILE_SIZE);

	self->expect = malloc(FILE_SIZE);
	if (!file || !self->expect)
		goto fail;
	fill_pattern(self->expect, FILE_SIZE, seed);
	if (pwrite(self->ffd, self->expect, FILE_SIZE, 0) != (ssize_t)FILE_SIZE)
		goto fail;
	return file;
fail:
	free(file);
	return NULL;
}

/*
 * The source of the transfers, an anonymous buffer of PIN_LEN bytes with
 * its MR (self->anon, mr_anon), and two RC QPs on one CQ, connected to
 * each other (qa, qb) at the port's active MTU.
 */
static void setup_loopback(struct __test_metadata *_metadata,
			   FIXTURE_DATA(rdma) *self)
{
	static const struct verbs_rc rc = {
		.timeout = 14, .retry_cnt = 7, .rd_atomic = 1,
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	};
	int err;

	self->anon_len = PIN_LEN;
	self->anon = anon_buffer(self->anon_len);
	ASSERT_NE(NULL, self->anon);
	self->mr_anon = reg_mr(self->vp.pd, self->anon, self->anon_len,
			       IBV_ACCESS_LOCAL_WRITE, &err);
	ASSERT_NE(NULL, self->mr_anon) TH_LOG("anonymous MR: %s", strerror(err));

	self->qa = verbs_rc_qp(&self->vp, 16);
	ASSERT_NE(NULL, self->qa);
	self->qb = verbs_rc_qp(&self->vp, 16);
	ASSERT_NE(NULL, self->qb);
	TH_LOG("%s port %u: GID index %d, active MTU %d, QPs %u <-> %u",
	       ibv_get_device_name(self->vp.ctx->device), self->vp.num,
	       self->vp.gid_index, 128 << self->vp.attr.active_mtu,
	       self->qa->qp_num, self->qb->qp_num);
	ASSERT_EQ(0, verbs_rc_connect(&self->vp, self->qa, self->qb->qp_num,
				      &self->vp.gid, &rc));
	ASSERT_EQ(0, verbs_rc_connect(&self->vp, self->qb, self->qa->qp_num,
				      &self->vp.gid, &rc));
}

/*
 * One RDMA WRITE (QP A, work request 1) of WRITE_LEN bytes of pattern
 * @seed from the anonymous MR to @raddr in self->mr_file; self->expect
 * gets the same bytes at @file_off.
 */
static void rdma_write_pattern(struct __test_metadata *_metadata,
			       FIXTURE_DATA(rdma) *self, void *raddr,
			       size_t file_off, uint32_t seed)
{
	struct ibv_wc wc;

	fill_pattern(self->anon, WRITE_LEN, seed);
	memcpy(self->expect + file_off, self->anon, WRITE_LEN);
	ASSERT_EQ(0, verbs_post_rdma(self->qa, IBV_WR_RDMA_WRITE, 1,
				     self->mr_anon, self->anon, WRITE_LEN,
				     (uintptr_t)raddr, self->mr_file->rkey));
	ASSERT_EQ(0, verbs_poll_one(self->vp.cq, CQ_TIMEOUT_MS, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("RDMA WRITE: %s", ibv_wc_status_str(wc.status));
	EXPECT_EQ(1u, wc.wr_id);
	EXPECT_EQ(IBV_WC_RDMA_WRITE, (int)wc.opcode);
}

/* One RDMA READ (work request 2) of PIN_LEN bytes at @raddr into self->anon. */
static void rdma_read_pin(struct __test_metadata *_metadata,
			  FIXTURE_DATA(rdma) *self, void *raddr)
{
	struct ibv_wc wc;

	memset(self->anon, 0, PIN_LEN);
	ASSERT_EQ(0, verbs_post_rdma(self->qa, IBV_WR_RDMA_READ, 2,
				     self->mr_anon, self->anon, PIN_LEN,
				     (uintptr_t)raddr, self->mr_file->rkey));
	ASSERT_EQ(0, verbs_poll_one(self->vp.cq, CQ_TIMEOUT_MS, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("RDMA READ: %s", ibv_wc_status_str(wc.status));
	EXPECT_EQ(2u, wc.wr_id);
	EXPECT_EQ(IBV_WC_RDMA_READ, (int)wc.opcode);
}

/*
 * Two RC QPs on the device, connected to each other. QP A writes from an
 * anonymous buffer into QP B's MR, the daxpin mapping of a pinned range:
 * the bytes land in the file, at the right place and nowhere else. An
 * RDMA READ of the MR returns what the file holds.
 */
TEST_F_TIMEOUT(rdma, rdma_write_lands_in_file, 120)
{
	struct ibv_wc wc;
	unsigned char *file, *src, *map;
	int err;

	if (!map_registrable())
		SKIP(return, NO_MAP_REGISTRATION "; rdma.odp_write_lands_and_truncate_recalls tests the ODP path instead");

	/* The file: a background pattern everywhere, written before the pin. */
	file = write_background(self, 1);
	ASSERT_NE(NULL, file);

	err = pin_map_register(self, PIN_OFF, PIN_LEN, 0);
	ASSERT_EQ(0, err) TH_LOG("pin, map, register: %s", strerror(-err));
	map = self->map;
	EXPECT_EQ(-1, first_diff(self->expect + PIN_OFF, map, PIN_LEN));
	setup_loopback(_metadata, self);
	src = self->anon;

	/* RDMA WRITE of 64 KiB into the daxpin MR. */
	rdma_write_pattern(_metadata, self, map + WRITE_MR_OFF,
			   PIN_OFF + WRITE_MR_OFF, 0x1234);

	/* In the file, at its place; every other byte as it was. */
	ASSERT_EQ((ssize_t)FILE_SIZE, pread(self->ffd, file, FILE_SIZE, 0));
	EXPECT_EQ(-1, first_diff(self->expect, file, FILE_SIZE));
	EXPECT_EQ(-1, first_diff(self->expect + PIN_OFF, map, PIN_LEN));

	/* A write(2) to the file after registration, then an RDMA READ. */
	fill_pattern(self->expect + PIN_OFF + MARK_MR_OFF, MARK_LEN, 0xbeef);
	ASSERT_EQ((ssize_t)MARK_LEN,
		  pwrite(self->ffd, self->expect + PIN_OFF + MARK_MR_OFF,
			 MARK_LEN, PIN_OFF + MARK_MR_OFF));
	rdma_read_pin(_metadata, self, map);
	ASSERT_EQ((ssize_t)PIN_LEN, pread(self->ffd, file, PIN_LEN, PIN_OFF));
	EXPECT_EQ(-1, first_diff(file, src, PIN_LEN));
	EXPECT_EQ(-1, first_diff(self->expect + PIN_OFF, src, PIN_LEN));
	free(file);

	/* Nothing else completed. */
	EXPECT_EQ(0, ibv_poll_cq(self->vp.cq, 1, &wc));

	EXPECT_EQ(0, ibv_dereg_mr(self->mr_file));
	self->mr_file = NULL;
	EXPECT_EQ(0, ibv_dereg_mr(self->mr_anon));
	self->mr_anon = NULL;
	EXPECT_EQ(0, unpin(self->dfd, self->handle));
	self->handle = 0;
}

static off_t file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/*
 * On-demand paging: the registration path where a pin's mapping cannot be
 * registered (6.15 on). The holder pins a range and registers its own
 * mapping of the file with IBV_ACCESS_ON_DEMAND, which takes no pages:
 * the pin's references hold the blocks. RDMA WRITE and READ land in the
 * file; a truncate over the pin recalls it and waits for the UNPIN; after
 * that the NIC cannot reach the freed blocks: a WRITE fails.
 *
 * rxe's ODP copies misplace bytes unless every packet is one whole page
 * (shared kernel facts, section 6): the bench gives the port a 4096-byte
 * MTU, and the transfers here are page-aligned.
 */
#define ODP_DEADLINE_MS	60000
#define ODP_WRITE_OFF	(64 * 1024UL)

TEST_F_TIMEOUT(rdma, odp_write_lands_and_truncate_recalls, 120)
{
	const uint32_t need = IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ;
	struct ibv_device_attr_ex dattr;
	unsigned char *file, *src, *base;
	struct daxpin_event ev;
	struct daxpin_pin p;
	struct ibv_sge sge;
	struct ibv_wc wc;
	int err, status;

	memset(&dattr, 0, sizeof(dattr));
	ASSERT_EQ(0, ibv_query_device_ex(self->vp.ctx, NULL, &dattr));
	if (!(dattr.odp_caps.general_caps & IBV_ODP_SUPPORT) ||
	    (dattr.odp_caps.per_transport_caps.rc_odp_caps & need) != need)
		SKIP(return, "%s has no on-demand paging for RC WRITE and READ on this kernel",
		     ibv_get_device_name(self->vp.ctx->device));
	ASSERT_EQ(IBV_MTU_4096, (int)self->vp.attr.active_mtu)
		TH_LOG("ODP on rxe needs page-sized packets (bench/guest/init.sh gives the netdev a 9000-byte MTU)");

	file = write_background(self, 7);
	ASSERT_NE(NULL, file);
	/* The second half: a truncate to half the size needs its blocks. */
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, FILE_SIZE / 2, PIN_LEN,
			       DAXPIN_PIN_WRITE, ODP_DEADLINE_MS, &p));
	self->handle = p.out_handle;
	self->fmap = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->ffd, 0);
	ASSERT_NE(MAP_FAILED, self->fmap);
	base = (unsigned char *)self->fmap + FILE_SIZE / 2;
	self->mr_file = reg_mr(self->vp.pd, base, PIN_LEN,
			       MR_ACCESS | IBV_ACCESS_ON_DEMAND, &err);
	ASSERT_NE(NULL, self->mr_file)
		TH_LOG("ODP registration of the file's mapping: %s",
		       strerror(err));
	sge.addr = (uintptr_t)base;
	sge.length = PIN_LEN;
	sge.lkey = self->mr_file->lkey;
	/*
	 * Prefetch saves the first transfers their page faults. The kernel's
	 * rxe has it on 7.2, but bookworm's libibverbs provider for rxe
	 * (rdma-core 44) does not pass it on: EOPNOTSUPP, and the faults
	 * happen on first touch instead.
	 */
	err = ibv_advise_mr(self->vp.pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			    IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	EXPECT_TRUE(err == 0 || err == EOPNOTSUPP)
		TH_LOG("ibv_advise_mr: %s", strerror(err));
	TH_LOG("prefetch: %s", err ? strerror(err) : "done");
	setup_loopback(_metadata, self);
	src = self->anon;

	/* RDMA WRITE of 64 KiB: in the file, at its place, nowhere else. */
	rdma_write_pattern(_metadata, self, base + ODP_WRITE_OFF,
			   FILE_SIZE / 2 + ODP_WRITE_OFF, 0x4321);
	ASSERT_EQ((ssize_t)FILE_SIZE, pread(self->ffd, file, FILE_SIZE, 0));
	EXPECT_EQ(-1, first_diff(self->expect, file, FILE_SIZE));
	free(file);

	/* RDMA READ of the whole pin: what the file holds. */
	rdma_read_pin(_metadata, self, base);
	EXPECT_EQ(-1, first_diff(self->expect + FILE_SIZE / 2, src, PIN_LEN));

	/* A truncate over the pin: recalled, and it waits for the UNPIN. */
	self->child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	EXPECT_EQ(self->handle, ev.handle);
	usleep(WAITS_MS * 1000);
	ASSERT_EQ(-ETIMEDOUT, wait_child(self->child, 10))
		TH_LOG("the truncate did not wait for the pin");
	EXPECT_EQ((off_t)FILE_SIZE, file_size(self->ffd));

	ASSERT_EQ(0, unpin(self->dfd, self->handle));
	self->handle = 0;
	status = wait_child(self->child, PROMPT_MS);
	ASSERT_NE(-ETIMEDOUT, status) TH_LOG("the truncate waits after UNPIN");
	self->child = 0;
	EXPECT_EQ(0, status);
	EXPECT_EQ((off_t)FILE_SIZE / 2, file_size(self->ffd));

	/* The blocks are gone: the NIC's next WRITE faults, and fails. */
	ASSERT_EQ(0, verbs_post_rdma(self->qa, IBV_WR_RDMA_WRITE, 3,
				     self->mr_anon, src, WRITE_LEN,
				     (uintptr_t)(base + ODP_WRITE_OFF),
				     self->mr_file->rkey));
	ASSERT_EQ(0, verbs_poll_one(self->vp.cq, CQ_TIMEOUT_MS, &wc));
	EXPECT_NE(IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("an RDMA WRITE beyond the end of file succeeded");
	TH_LOG("the WRITE after the truncate: %s", ibv_wc_status_str(wc.status));
}

/*
 * The holder ignores a recall and the pin is revoked at its deadline, but
 * an MR registered on the pin's mapping still holds the pages: the
 * truncate must go on waiting (the blocks stay the file's) until the MR is
 * deregistered, and then finish promptly.
 */
/*
 * The truncate in self->child waits for the daxpin MR: deregister it, and
 * the truncate finishes with the right size; then unpin.
 */
static void dereg_lets_truncate_finish(struct __test_metadata *_metadata,
				       FIXTURE_DATA(rdma) *self)
{
	uint64_t t0 = now_ns();
	int status;

	EXPECT_EQ(0, ibv_dereg_mr(self->mr_file));
	self->mr_file = NULL;
	status = wait_child(self->child, PROMPT_MS);
	ASSERT_NE(-ETIMEDOUT, status)
		TH_LOG("the truncate still waits after ibv_dereg_mr");
	self->child = 0;
	TH_LOG("truncate finished %llu ms after ibv_dereg_mr",
	       (unsigned long long)((now_ns() - t0) / 1000000));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ((off_t)FILE_SIZE / 2, file_size(self->ffd));
	if (self->handle)
		EXPECT_EQ(0, unpin(self->dfd, self->handle));
	self->handle = 0;
}

TEST_F_TIMEOUT(rdma, mr_holds_truncate_after_revoke, 120)
{
	struct daxpin_event ev;
	struct daxpin_query q;
	uint64_t t0;
	int err;

	if (!map_registrable())
		SKIP(return, NO_MAP_REGISTRATION "; rdma.odp_write_lands_and_truncate_recalls tests the ODP path instead");

	err = pin_map_register(self, 0, FILE_SIZE, DEADLINE_MS);
	ASSERT_EQ(0, err) TH_LOG("pin, map, register: %s", strerror(-err));
	strcpy((char *)self->map + FILE_SIZE - PAGE, "held by the MR");

	t0 = now_ns();
	self->child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, self->child);

	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	EXPECT_EQ(self->handle, ev.handle);
	ASSERT_EQ(0, next_event(self->dfd, DEADLINE_MS + PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);
	EXPECT_EQ(self->handle, ev.handle);
	EXPECT_EQ((__u32)DAXPIN_REVOKE_DEADLINE, ev.reason);
	TH_LOG("revoked %llu ms after the truncate started",
	       (unsigned long long)((now_ns() - t0) / 1000000));
	ASSERT_EQ(0, query(self->dfd, self->handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_REVOKED, q.out_state);

	/* Revoked, but the MR holds the pages: the truncate still waits. */
	usleep(WAITS_MS * 1000);
	ASSERT_EQ(-ETIMEDOUT, wait_child(self->child, 10))
		TH_LOG("the truncate finished while an MR held the pages");
	EXPECT_EQ((off_t)FILE_SIZE, file_size(self->ffd));

	dereg_lets_truncate_finish(_metadata, self);
}

/*
 * The holder unmaps its daxpin mapping and closes its daxpin file while an
 * MR still holds the pages: the pin ends (the handle is gone) but drains,
 * and daxpin's keeper windows - in daxpin's own address space, not the
 * holder's - keep the file mapped, so a truncate still waits for the MR
 * instead of freeing blocks the NIC can still write.
 */
TEST_F_TIMEOUT(rdma, close_under_mr_keeps_truncate_waiting, 120)
{
	unsigned long start, end;
	int err;

	if (!map_registrable())
		SKIP(return, NO_MAP_REGISTRATION "; rdma.odp_write_lands_and_truncate_recalls tests the ODP path instead");

	err = pin_map_register(self, 0, FILE_SIZE, 60000);
	ASSERT_EQ(0, err) TH_LOG("pin, map, register: %s", strerror(-err));
	/* Nothing of daxpin's keeps the file mapped in the holder. */
	EXPECT_EQ(-1, find_keeper_window(&start, &end));

	ASSERT_EQ(0, munmap(self->map, self->map_len));
	self->map = NULL;
	ASSERT_EQ(0, close(self->dfd));
	self->dfd = -1;
	self->handle = 0;

	self->child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(-ETIMEDOUT, wait_child(self->child, 1000 + WAITS_MS))
		TH_LOG("the truncate finished while an MR held the pages");
	EXPECT_EQ((off_t)FILE_SIZE, file_size(self->ffd));

	dereg_lets_truncate_finish(_metadata, self);
}

/*
 * With kill_on_stuck, a revoked pin whose pages an MR still holds gets the
 * process that mapped it (and so could have registered it) killed, which
 * ends its MR; the truncate then goes on.
 */
TEST_F_TIMEOUT(rdma, kill_on_stuck_ends_the_owner, 120)
{
	struct daxpin_event ev;
	struct daxpin_pin p;
	int sync[2], status;
	pid_t owner;
	char c;

	if (!map_registrable())
		SKIP(return, NO_MAP_REGISTRATION "; rdma.odp_write_lands_and_truncate_recalls tests the ODP path instead");

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, DEADLINE_MS, &p));
	self->handle = p.out_handle;
	ASSERT_EQ(0, pipe(sync));
	owner = fork();
	ASSERT_LE(0, owner);
	self->owner = owner;
	if (owner == 0) {
		const char *name = getenv("DAXPIN_RDMA_DEV");
		struct ibv_device **list = ibv_get_device_list(NULL);
		struct ibv_context *ctx = NULL;
		struct ibv_pd *pd;
		void *map;
		int i;

		for (i = 0; list && list[i]; i++)
			if (!strcmp(ibv_get_device_name(list[i]), name))
				ctx = ibv_open_device(list[i]);
		pd = ctx ? ibv_alloc_pd(ctx) : NULL;
		map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   self->dfd, p.out_mmap_offset);
		if (!pd || map == MAP_FAILED ||
		    !ibv_reg_mr(pd, map, FILE_SIZE, MR_ACCESS))
			_exit(1);
		if (write(sync[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(3);
	}
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	close(sync[1]);

	set_kill_on_stuck(1);
	self->child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, self->child);
	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	ASSERT_EQ(0, next_event(self->dfd, DEADLINE_MS + PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);

	/* The owner of the MR is killed, and the truncate goes on. */
	status = wait_child(owner, PROMPT_MS);
	set_kill_on_stuck(0);
	ASSERT_LE(0, status) TH_LOG("the MR's owner was not killed");
	self->owner = 0;
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	status = wait_child(self->child, PROMPT_MS);
	ASSERT_LE(0, status) TH_LOG("the truncate still waits");
	self->child = 0;
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ((off_t)FILE_SIZE / 2, file_size(self->ffd));
	if (self->handle)
		EXPECT_EQ(0, unpin(self->dfd, self->handle));
	self->handle = 0;
}

/* ---- libdaxpin-verbs: daxpin_reg_mr() ------------------------------- */

/* Whether the fixture's device has RC on-demand paging for WRITE and READ. */
static int device_odp(FIXTURE_DATA(rdma) *self)
{
	const uint32_t need = IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ |
			      IBV_ODP_SUPPORT_RECV;
	struct ibv_device_attr_ex dattr;

	memset(&dattr, 0, sizeof(dattr));
	if (ibv_query_device_ex(self->vp.ctx, NULL, &dattr))
		return -1;
	return (dattr.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
	       (dattr.odp_caps.per_transport_caps.rc_odp_caps & need) == need;
}

/* Whether the fixture's device is soft-RoCE (rxe imports no dma-bufs). */
static int device_is_rxe(FIXTURE_DATA(rdma) *self)
{
	struct ibv_device_attr attr;

	return !ibv_query_device(self->vp.ctx, &attr) &&
	       attr.vendor_id == 0xffffff;
}

/*
 * Register the pinned range with daxpin_reg_mr() by path @path (0: any),
 * RDMA WRITE into it and READ it back over the loopback, check the file,
 * tear down. Returns what daxpin_reg_mr() returned; *@took the path.
 */
static int reg_mr_and_transfer(struct __test_metadata *_metadata,
			       FIXTURE_DATA(rdma) *self, uint32_t path,
			       enum daxpin_reg_path *took, uint32_t seed)
{
	struct daxpin_reg_attr attr = { .paths = path };
	struct daxpin_query q;
	struct daxpin_mr *dmr;
	unsigned char *file;
	uint32_t handle;
	char *addr;
	long pinned;
	int ret;

	file = write_background(self, seed);
	if (!file)
		return -ENOMEM;
	pinned = vm_pinned_kb();
	ret = daxpin_reg_mr(self->dfd, self->vp.pd, self->ffd, PIN_OFF, PIN_LEN,
			    MR_ACCESS, &attr, &dmr);
	if (ret) {
		/* Nothing left behind: no pin charged, no handle. */
		EXPECT_EQ(pinned, vm_pinned_kb());
		free(file);
		free(self->expect);
		self->expect = NULL;
		return ret;
	}
	*took = daxpin_mr_path(dmr);
	addr = daxpin_mr_addr(dmr);
	handle = daxpin_mr_handle(dmr);
	TH_LOG("daxpin_reg_mr: path %s", daxpin_reg_path_name(*took));
	EXPECT_EQ(addr, daxpin_mr_ibv(dmr)->addr);
	EXPECT_EQ(PIN_LEN, daxpin_mr_ibv(dmr)->length);
	EXPECT_EQ(0, query(self->dfd, handle, &q));
	EXPECT_EQ(PIN_OFF, q.out_offset);
	/* The CPU reads the file's bytes at the MR's address. */
	EXPECT_EQ(-1, first_diff(self->expect + PIN_OFF, addr, PIN_LEN));

	/* Page-aligned transfers: rxe's ODP misplaces others. */
	self->mr_file = daxpin_mr_ibv(dmr);
	rdma_write_pattern(_metadata, self, addr + ODP_WRITE_OFF,
			   PIN_OFF + ODP_WRITE_OFF, seed + 1);
	ASSERT_EQ((ssize_t)FILE_SIZE, pread(self->ffd, file, FILE_SIZE, 0));
	EXPECT_EQ(-1, first_diff(self->expect, file, FILE_SIZE));
	rdma_read_pin(_metadata, self, addr);
	EXPECT_EQ(-1, first_diff(self->expect + PIN_OFF, self->anon, PIN_LEN));
	self->mr_file = NULL;

	EXPECT_EQ(0, daxpin_dereg_mr(dmr));
	/* Torn down whole: the pin and its charge are gone. */
	EXPECT_EQ(-ENOENT, query(self->dfd, handle, &q));
	EXPECT_EQ(pinned, vm_pinned_kb());
	free(file);
	free(self->expect);
	self->expect = NULL;
	return 0;
}

/*
 * Each path forced in turn, then the library's own choice. What must work
 * is detected as the library does, from the module's features and the
 * device's capabilities: the pin's mapping where DAXPIN_INFO says it is
 * registrable, ODP where the device has it (rxe from 7.x), dma-buf where
 * the provider imports them (rxe does not: EOPNOTSUPP, and nothing left).
 */
TEST_F_TIMEOUT(rdma, reg_mr_each_path, 180)
{
	static const uint32_t paths[] = {
		DAXPIN_REG_PIN_MAPPING, DAXPIN_REG_ODP, DAXPIN_REG_DMABUF,
	};
	int want[3], i, ret, odp = device_odp(self);
	enum daxpin_reg_path took = 0, first = 0;

	ASSERT_LE(0, odp);
	ASSERT_EQ(IBV_MTU_4096, (int)self->vp.attr.active_mtu)
		TH_LOG("the bench gives the netdev a 9000-byte MTU");
	want[0] = map_registrable();
	want[1] = odp;
	want[2] = device_is_rxe(self) ? 0 : -1;	/* -1: either */
	setup_loopback(_metadata, self);
	for (i = 0; i < 3; i++) {
		ret = reg_mr_and_transfer(_metadata, self, paths[i], &took,
					  0x100 * (i + 1));
		TH_LOG("forced %s: %s", daxpin_reg_path_name(paths[i]),
		       ret ? strerror(-ret) : "registered");
		if (want[i] == 1) {
			EXPECT_EQ(0, ret);
			EXPECT_EQ(paths[i], (uint32_t)took);
		} else if (want[i] == 0) {
			EXPECT_EQ(-EOPNOTSUPP, ret);
		}
		if (!ret && !first)
			first = took;
	}
	/* Left to choose, it takes the first path that works, in order. */
	ret = reg_mr_and_transfer(_metadata, self, 0, &took, 0x1000);
	if (first) {
		EXPECT_EQ(0, ret);
		EXPECT_EQ((int)first, (int)took);
	} else {
		EXPECT_EQ(-EOPNOTSUPP, ret);
	}
	/* Arguments it refuses before pinning anything. */
	EXPECT_EQ(-EINVAL, daxpin_reg_mr(self->dfd, self->vp.pd, self->ffd, 0,
					 PAGE, MR_ACCESS | IBV_ACCESS_ON_DEMAND,
					 NULL, &(struct daxpin_mr *){ NULL }));
	EXPECT_EQ(-EINVAL, daxpin_reg_mr(self->dfd, self->vp.pd, self->ffd, 0,
					 PAGE, MR_ACCESS,
					 &(struct daxpin_reg_attr){ .paths = 1u << 7 },
					 &(struct daxpin_mr *){ NULL }));
}

/* The netdev under the fixture's rxe device port 1, into @buf. */
static int rxe_netdev(FIXTURE_DATA(rdma) *self, char *buf, size_t len)
{
	char path[256];
	ssize_t n;

	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/%u/gid_attrs/ndevs/0",
		 ibv_get_device_name(self->vp.ctx->device), self->vp.num);
	n = read_small_file(path, buf, len);
	if (n <= 0)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* Set @dev's MTU, and wait until port 1 of @ctx reports @want. */
static int set_mtu(FIXTURE_DATA(rdma) *self, const char *dev, int mtu,
		   enum ibv_mtu want)
{
	char cmd[128];
	int i;

	snprintf(cmd, sizeof(cmd), "ip link set %s mtu %d", dev, mtu);
	if (system(cmd))
		return -1;
	for (i = 0; i < 500; i++) {
		if (!ibv_query_port(self->vp.ctx, self->vp.num, &self->vp.attr) &&
		    self->vp.attr.active_mtu == want)
			return 0;
		usleep(10000);
	}
	return -1;
}

/*
 * rxe's on-demand paging misplaces bytes of packets smaller than a page:
 * with a path MTU below 4096, daxpin_reg_mr() refuses ODP (EMSGSIZE), and
 * pins nothing; with 4096 again it registers.
 */
TEST_F_TIMEOUT(rdma, reg_mr_refuses_rxe_odp_below_page_mtu, 120)
{
	struct daxpin_reg_attr odp = { .paths = DAXPIN_REG_ODP };
	struct daxpin_mr *dmr = NULL;
	long pinned = vm_pinned_kb();
	char dev[64];
	int ret;

	if (!device_is_rxe(self))
		SKIP(return, "%s is not soft-RoCE", ibv_get_device_name(self->vp.ctx->device));
	if (device_odp(self) != 1)
		SKIP(return, "%s has no on-demand paging on this kernel",
		     ibv_get_device_name(self->vp.ctx->device));
	ASSERT_EQ(0, rxe_netdev(self, dev, sizeof(dev)));
	ASSERT_EQ(0, set_mtu(self, dev, 1500, IBV_MTU_1024))
		TH_LOG("%s: MTU 1500 did not give port MTU 1024", dev);
	ret = daxpin_reg_mr(self->dfd, self->vp.pd, self->ffd, PIN_OFF, PIN_LEN,
			    MR_ACCESS, &odp, &dmr);
	EXPECT_EQ(-EMSGSIZE, ret);
	/* With every path allowed it says the same where ODP was the one. */
	if (!map_registrable()) {
		EXPECT_EQ(-EMSGSIZE, daxpin_reg_mr(self->dfd, self->vp.pd,
						   self->ffd, PIN_OFF, PIN_LEN,
						   MR_ACCESS, NULL, &dmr));
	}
	EXPECT_EQ(pinned, vm_pinned_kb());
	ASSERT_EQ(0, set_mtu(self, dev, 9000, IBV_MTU_4096));
	/*
	 * rxe's on-demand paging takes an MR's iova for its address: only
	 * iova == address may register (another reads past its page list).
	 */
	EXPECT_EQ(0, daxpin_odp_check(self->vp.pd, MR_ACCESS, self->anon,
				      (uintptr_t)self->anon));
	EXPECT_EQ(-EOPNOTSUPP, daxpin_odp_check(self->vp.pd, MR_ACCESS, self->anon,
						(uintptr_t)self->anon + PAGE));
	ASSERT_EQ(0, daxpin_reg_mr(self->dfd, self->vp.pd, self->ffd, PIN_OFF,
				   PIN_LEN, MR_ACCESS, &odp, &dmr));
	EXPECT_EQ((int)DAXPIN_REG_ODP, (int)daxpin_mr_path(dmr));
	EXPECT_EQ(0, daxpin_dereg_mr(dmr));
}

/* What the dispatch callback saw, and what it did. */
struct dispatch_log {
	struct daxpin_mr **slot;	/* the registration, NULLed at dereg */
	int recalls, revokes, others;
	uint32_t reason;
	uint64_t deadline_ns, off, len;
	bool dereg_on_recall;
	int dereg_err;
};

static void on_event(const struct daxpin_event *ev, struct daxpin_mr *dmr,
		     void *arg)
{
	struct dispatch_log *log = arg;

	if (!dmr || dmr != *log->slot) {
		log->others++;
		return;
	}
	if (ev->type == DAXPIN_EVENT_RECALL) {
		log->recalls++;
		log->deadline_ns = ev->deadline_ns;
		if (!log->dereg_on_recall)
			return;
	} else if (ev->type == DAXPIN_EVENT_REVOKED) {
		log->revokes++;
		log->reason = ev->reason;
		daxpin_mr_range(dmr, &log->off, &log->len);
	} else {
		return;
	}
	/* Quiesce (nothing is in flight here), deregister, forget it. */
	log->dereg_err = daxpin_dereg_mr(dmr);
	*log->slot = NULL;
}

/* Dispatch the daxpin file's events until @log's registration is gone. */
static void dispatch_until_gone(struct __test_metadata *_metadata,
				FIXTURE_DATA(rdma) *self,
				struct dispatch_log *log, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	struct pollfd pfd = { .fd = self->dfd, .events = POLLIN };

	while (*log->slot && now_ns() < end) {
		if (poll(&pfd, 1, 100) != 1)
			continue;
		ASSERT_LT(0, daxpin_mr_dispatch(self->dfd, log->slot, 1,
						on_event, log));
	}
	ASSERT_EQ(NULL, *log->slot) TH_LOG("the registration was never let go");
}

/*
 * daxpin_mr_dispatch(): a truncate over a registered range recalls it; the
 * callback deregisters and the truncate finishes. A second registration
 * whose holder lets the deadline pass is reported REVOKED, with its range,
 * and deregistered then.
 */
TEST_F_TIMEOUT(rdma, reg_mr_dispatch_recall_and_revoke, 120)
{
	struct daxpin_reg_attr attr = { .deadline_ms = 60000 };
	struct dispatch_log log = { 0 };
	struct daxpin_mr *dmr = NULL;
	uint64_t t0;

	ASSERT_EQ(0, fill_file(self->ffd, 'd', FILE_SIZE));
	ASSERT_EQ(0, daxpin_reg_mr(self->dfd, self->vp.pd, self->ffd, PIN_OFF,
				   PIN_LEN, MR_ACCESS, &attr, &dmr));
	log.slot = &dmr;
	log.dereg_on_recall = true;
	t0 = now_ns();
	self->child = spawn_op(self->path, OP_TRUNCATE, 0);
	ASSERT_LT(0, self->child);
	dispatch_until_gone(_metadata, self, &log, PROMPT_MS);
	EXPECT_EQ(1, log.recalls);
	EXPECT_EQ(0, log.others);
	EXPECT_EQ(0, log.dereg_err);
	EXPECT_LT(t0 + 50ull * 1000000000, log.deadline_ns);
	EXPECT_EQ(0, wait_child(self->child, PROMPT_MS));
	self->child = 0;

	/* The holder sits out the recall: REVOKED, with the range lost. */
	ASSERT_EQ(0, ftruncate(self->ffd, FILE_SIZE));
	ASSERT_EQ(0, fill_file(self->ffd, 'e', FILE_SIZE));
	attr.deadline_ms = DEADLINE_MS;
	ASSERT_EQ(0, daxpin_reg_mr(self->dfd, self->vp.pd, self->ffd, PIN_OFF,
				   PIN_LEN, MR_ACCESS, &attr, &dmr));
	memset(&log, 0, sizeof(log));
	log.slot = &dmr;
	self->child = spawn_op(self->path, OP_TRUNCATE, 0);
	ASSERT_LT(0, self->child);
	dispatch_until_gone(_metadata, self, &log, DEADLINE_MS + PROMPT_MS);
	EXPECT_EQ(1, log.recalls);
	EXPECT_EQ(1, log.revokes);
	EXPECT_EQ((uint32_t)DAXPIN_REVOKE_DEADLINE, log.reason);
	EXPECT_EQ(PIN_OFF, log.off);
	EXPECT_EQ(PIN_LEN, log.len);
	EXPECT_EQ(0, log.dereg_err);
	EXPECT_EQ(0, wait_child(self->child, PROMPT_MS));
	self->child = 0;
	/* Bad arguments. */
	EXPECT_EQ(-EINVAL, daxpin_mr_dispatch(self->dfd, NULL, 1, on_event,
					      &log));
	EXPECT_EQ(-EINVAL, daxpin_mr_dispatch(self->dfd, NULL, 0, NULL, NULL));
}

TEST_HARNESS_MAIN
