// SPDX-License-Identifier: GPL-2.0
/*
 * Recall under remote RDMA traffic, across two guests (bench/check-2host.sh).
 * The same program runs in both; DAXPIN_2HOST_ROLE says which side it is.
 *
 * server: registers a range of a file on its DAX file system with
 *         daxpin_reg_mr() on its soft-RoCE device (rxe0 on the virtio NIC
 *         that joins the guests), and tells the client the QP, address and
 *         rkey over a TCP connection between the guests.
 * client: RDMA-READs the range and checks it, RDMA-WRITEs half of it and
 *         reads it back; then WRITEs all over the range in a loop.
 *
 * While the client writes, another process on the server truncates the
 * file. The server must get the RECALL (daxpin_mr_dispatch()) while the
 * truncate still waits; it quiesces (its QP to the error state: incoming
 * requests are dropped), deregisters and unpins (daxpin_dereg_mr()); then
 * the truncate must complete. The client must see a WRITE complete with an
 * error status (its QP in error), within a bounded time, not go on
 * succeeding. After that the server fills its file system with files of
 * another pattern (reusing the freed blocks), the client WRITEs once more
 * with the old rkey and address through a fresh QP (each must be refused),
 * and no refill file may hold a byte of the client's pattern.
 *
 * Every wait is bounded: a hang fails the test rather than blocking it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "common.h"
#include "verbs.h"
#include "libdaxpin-verbs.h"

#define FILE_SIZE	(1024 * 1024UL)
#define CHUNK		4096
#define DEPTH		8
#define TCP_PORT	18515
/* The client waits this long for the server to listen (both boot). */
#define CONNECT_MS	300000
/* A message of the other side arrives within this. */
#define MSG_MS		120000
/* Some completion arrives within this while WRITEs are in flight. */
#define CQ_MS		30000
/* After the server's quiesce the client sees an error within this. */
#define ERROR_MS	60000
/* RECALL after the truncate begins; the truncate's end after dereg. */
#define PROMPT_MS	30000
/* The pin's deadline: far beyond PROMPT_MS, the holder lets go first. */
#define DEADLINE_MS	120000
/* WRITEs that must succeed before the truncate begins. */
#define MIN_WRITES	200
/*
 * Local ACK timeout 4.096 us << 18 = 1.07 s and 6 retries: a WRITE to a
 * quiesced QP fails in about 7.5 s (measured: 17, 0.54 s, gave 3.8 s); a
 * guest of a shared host (two TCG guests on two CPUs, with other runs)
 * may stall for seconds without the QP giving up. Not 7 retries: rxe
 * (rxe_comp.c) takes a retry_cnt of 7 to mean "retry for ever", as the
 * standard has it for rnr_retry only; the client then never saw an error.
 */
#define QP_TIMEOUT	18
#define QP_RETRY_CNT	6

static const char writer_pattern[] = "2host-writer!!!!";	/* 16 bytes */

enum msg_type {
	M_HELLO = 1,	/* qpn, gid; server: v0 addr, v1 len, v2 rkey */
	M_PHASE1,	/* client: v0 READ ok, v1 READ after WRITE ok; server: checked */
	M_LOOPING,	/* client: v0 WRITEs done */
	M_TRUNCATING,	/* server: the truncate was started */
	M_DEREGISTERED,	/* server: v0 recall us, v1 quiesce+dereg us */
	M_RESULT,	/* client: v0-v2 WRITEs ok before/during/after, v3 flushed, v4 status, v5 error ms after the truncate msg */
	M_REOPEN,	/* server: qpn of a fresh QP */
	M_STALE,	/* client: v0 ok, v1 errors, v2 status */
	M_BYE,
};

struct msg {
	uint32_t type;
	uint32_t qpn;
	uint8_t gid[16];
	uint64_t v[8];
};

struct ep {
	struct verbs_port vp;
	struct ibv_qp *qp;
};

static double ms_since(uint64_t t)
{
	return (now_ns() - t) / 1e6;
}

/* ---- TCP between the guests ------------------------------------------ */

static int send_msg(int fd, const struct msg *m)
{
	const char *p = (const char *)m;
	size_t done = 0;

	while (done < sizeof(*m)) {
		ssize_t n = send(fd, p + done, sizeof(*m) - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno ?: -EPIPE;
		done += n;
	}
	return 0;
}

/* A whole message within @ms: 0, -ETIMEDOUT, -EPIPE, -errno. */
static int recv_msg(int fd, struct msg *m, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	char *p = (char *)m;
	size_t done = 0;

	while (done < sizeof(*m)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = (int)((end - now_ns()) / 1000000);
		ssize_t n;

		if (now_ns() >= end)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left > 0 ? left : 1) <= 0)
			continue;
		n = recv(fd, p + done, sizeof(*m) - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		done += n;
	}
	return 0;
}

/* The next message, which must be of @type: 0 or -errno (-EPROTO). */
static int expect_msg(int fd, struct msg *m, uint32_t type, int ms)
{
	int ret = recv_msg(fd, m, ms);

	if (!ret && m->type != type)
		return -EPROTO;
	return ret;
}

static int msg_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

static void tcp_opts(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Accept one connection on TCP_PORT within @ms: the fd or -errno. */
static int tcp_accept(int ms)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons(TCP_PORT),
		.sin_addr.s_addr = htonl(INADDR_ANY),
	};
	struct pollfd pfd = { .events = POLLIN };
	int one = 1, fd, c;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		c = -errno;
		close(fd);
		return c;
	}
	pfd.fd = fd;
	if (poll(&pfd, 1, ms) != 1) {
		close(fd);
		return -ETIMEDOUT;
	}
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		c = -errno;
	else
		tcp_opts(c);
	close(fd);
	return c;
}

/* Connect to @ip:TCP_PORT, trying again until @ms pass: fd or -errno. */
static int tcp_connect(const char *ip, int ms)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons(TCP_PORT),
	};
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	int fd, err = ETIMEDOUT;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	do {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			tcp_opts(fd);
			return fd;
		}
		err = errno;
		close(fd);
		usleep(500 * 1000);
	} while (now_ns() < end);
	return -err;
}

/* ---- verbs ------------------------------------------------------------- */

/* An IPv4-mapped RoCE v2 GID (::ffff:a.b.c.d) of the port, else -ENOENT. */
/*
 * Open DAXPIN_RDMA_DEV, wait (up to 30 s) for its port to be active with
 * an IPv4 GID (one the peer can reach), allocate a PD, a CQ and an RC QP:
 * 0 or -errno.
 */
static int ep_open(struct ep *e)
{
	int ret = verbs_port_open(&e->vp, env_or_die("DAXPIN_RDMA_DEV"),
				  4 * DEPTH, true, 30000);

	if (ret)
		return ret;
	e->qp = verbs_rc_qp(&e->vp, DEPTH);
	return e->qp ? 0 : -ENOMEM;
}

static void ep_close(struct ep *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	verbs_port_close(&e->vp);
}

/* RESET -> INIT -> RTR -> RTS towards @dqpn at @dgid: 0 or -errno. */
static int qp_connect(struct ep *e, struct ibv_qp *qp, uint32_t dqpn,
		      const union ibv_gid *dgid)
{
	static const struct verbs_rc rc = {
		.timeout = QP_TIMEOUT, .retry_cnt = QP_RETRY_CNT,
		.rd_atomic = 4,
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	};

	return verbs_rc_connect(&e->vp, qp, dqpn, dgid, &rc);
}

/* A position-dependent pattern: a misplaced byte never matches. */
static void fill_pattern(void *buf, size_t len, size_t base, uint32_t seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(((seed + base + i) * 2654435761u) >> 13);
}

/* The offset of the first byte of @buf that is not the pattern, or -1. */
static long pattern_diff(const void *buf, size_t len, size_t base,
			 uint32_t seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (unsigned char)(((seed + base + i) * 2654435761u) >> 13))
			return (long)i;
	return -1;
}

#define SEED_SERVER	1
#define SEED_CLIENT	2

/* ---- the server --------------------------------------------------------- */

struct recall_state {
	struct daxpin_mr *slot;
	struct ibv_qp *qp;
	pid_t op;
	int ffd;
	uint64_t t_op, t_recall, t_dereg;
	int recalls, revokes, quiesce_err, dereg_err;
	bool op_waited;		/* the truncate had not finished at RECALL */
	off_t size_at_recall;
};

static void on_event(const struct daxpin_event *ev, struct daxpin_mr *dmr,
		     void *arg)
{
	struct recall_state *rs = arg;
	struct stat st;

	if (!dmr || dmr != rs->slot)
		return;
	if (ev->type == DAXPIN_EVENT_REVOKED) {
		rs->revokes++;
	} else if (ev->type == DAXPIN_EVENT_RECALL) {
		rs->recalls++;
		rs->t_recall = now_ns();
		rs->op_waited = waitpid(rs->op, NULL, WNOHANG) == 0;
		rs->size_at_recall = fstat(rs->ffd, &st) ? -1 : st.st_size;
	} else {
		return;
	}
	/* Quiesce: no request of the peer is carried out from now on. */
	rs->quiesce_err = verbs_qp_state(rs->qp, IBV_QPS_ERR);
	rs->dereg_err = daxpin_dereg_mr(dmr);
	rs->t_dereg = now_ns();
	rs->slot = NULL;
}

/*
 * truncate(1) to 0 in a new process: @path's truncate as another program
 * does it. Exec, not spawn_op()'s bare fork: a forked child keeps the
 * parent's mappings of /dev/infiniband/uverbs0 (the QP's and CQ's
 * queues), so the verbs file, its MR and the MR's pages would outlive
 * the server if it died before deregistering, and the truncate would
 * wait for pages its own process holds (seen: for ever, the pin
 * "draining", daxpin in use).
 */
static pid_t spawn_truncate(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		closefrom(3);
		execlp("truncate", "truncate", "-s", "0", path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void server(struct __test_metadata *_metadata, const char *dir)
{
	struct daxpin_reg_attr attr = { .deadline_ms = DEADLINE_MS };
	struct recall_state rs = { .ffd = -1 };
	struct ep e = { 0 };
	struct ibv_qp *qp2 = NULL;
	struct msg m = { 0 }, peer;
	char path[4096];
	unsigned char *buf;
	union ibv_gid cgid;
	int err;
	struct stat st;
	uint64_t end;
	int dfd, sfd, status, nfiles;
	long hits, diff;

	err = ep_open(&e);
	ASSERT_EQ(0, err) TH_LOG("%s, port 1 active with an IPv4 RoCE v2 GID within 30 s, a PD, a CQ and a QP: %s",
				 getenv("DAXPIN_RDMA_DEV"), strerror(-err));
	TH_LOG("server: %s port %u active, path MTU %d, GID index %d",
	       getenv("DAXPIN_RDMA_DEV"), e.vp.num,
	       128 << e.vp.attr.active_mtu, e.vp.gid_index);

	rs.ffd = make_file(dir, "2host-pinned", FILE_SIZE, path, sizeof(path));
	ASSERT_LE(0, rs.ffd);
	buf = malloc(FILE_SIZE);
	ASSERT_NE(NULL, buf);
	fill_pattern(buf, FILE_SIZE, 0, SEED_SERVER);
	ASSERT_EQ((ssize_t)FILE_SIZE, pwrite(rs.ffd, buf, FILE_SIZE, 0));
	ASSERT_EQ(0, fsync(rs.ffd));
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, daxpin_reg_mr(dfd, e.vp.pd, rs.ffd, 0, FILE_SIZE,
				   IBV_ACCESS_LOCAL_WRITE |
				   IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ, &attr, &rs.slot));
	TH_LOG("server: %lu KiB of %s registered, path %s, rkey 0x%x", FILE_SIZE >> 10,
	       path, daxpin_reg_path_name(daxpin_mr_path(rs.slot)),
	       daxpin_mr_ibv(rs.slot)->rkey);

	end = now_ns();
	sfd = tcp_accept(CONNECT_MS);
	ASSERT_LE(0, sfd) TH_LOG("no client connected within %d s: %s",
				 CONNECT_MS / 1000, strerror(-sfd));
	TH_LOG("server: client connected after %.1f s", ms_since(end) / 1000);
	m.type = M_HELLO;
	m.qpn = e.qp->qp_num;
	memcpy(m.gid, e.vp.gid.raw, 16);
	m.v[0] = (uintptr_t)daxpin_mr_ibv(rs.slot)->addr;
	m.v[1] = FILE_SIZE;
	m.v[2] = daxpin_mr_ibv(rs.slot)->rkey;
	ASSERT_EQ(0, send_msg(sfd, &m));
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_HELLO, MSG_MS));
	memcpy(cgid.raw, peer.gid, 16);
	ASSERT_EQ(0, qp_connect(&e, e.qp, peer.qpn, &cgid));

	/* Phase 1: the client read the range, wrote its second half. */
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_PHASE1, MSG_MS))
		TH_LOG("the client's READ/WRITE/READ did not finish");
	EXPECT_EQ(1ull, peer.v[0]) TH_LOG("the client read something else than the file");
	EXPECT_EQ(1ull, peer.v[1]) TH_LOG("the client read back something else than it wrote");
	ASSERT_EQ((ssize_t)FILE_SIZE, pread(rs.ffd, buf, FILE_SIZE, 0));
	diff = pattern_diff(buf, FILE_SIZE / 2, 0, SEED_SERVER);
	EXPECT_EQ(-1, diff) TH_LOG("the file's first half changed at %ld", diff);
	diff = pattern_diff(buf + FILE_SIZE / 2, FILE_SIZE / 2, FILE_SIZE / 2,
			    SEED_CLIENT);
	EXPECT_EQ(-1, diff) TH_LOG("the client's WRITE is not in the file's second half (byte %ld)",
				   diff);
	free(buf);
	/* The file is checked: the client may write all over it now. */
	m.type = M_PHASE1;
	ASSERT_EQ(0, send_msg(sfd, &m));

	/* Phase 2: the client writes in a loop; truncate under it. */
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_LOOPING, MSG_MS))
		TH_LOG("the client's write loop did not get going");
	rs.qp = e.qp;
	rs.t_op = now_ns();
	rs.op = spawn_truncate(path);
	ASSERT_LT(0, rs.op);
	m.type = M_TRUNCATING;
	ASSERT_EQ(0, send_msg(sfd, &m));
	end = now_ns() + PROMPT_MS * 1000000ull;
	while (rs.slot && now_ns() < end) {
		struct pollfd pfd = { .fd = dfd, .events = POLLIN };

		if (poll(&pfd, 1, 100) != 1)
			continue;
		ASSERT_LT(0, daxpin_mr_dispatch(dfd, &rs.slot, 1, on_event, &rs));
	}
	ASSERT_EQ(NULL, rs.slot)
		TH_LOG("the registration was not let go within %d ms of the truncate (%d RECALL)",
		       PROMPT_MS, rs.recalls);
	EXPECT_EQ(1, rs.recalls);
	EXPECT_EQ(0, rs.revokes) TH_LOG("revoked: the recall was handled too late");
	EXPECT_TRUE(rs.op_waited) TH_LOG("the truncate finished while the range was registered");
	EXPECT_EQ((off_t)FILE_SIZE, rs.size_at_recall);
	EXPECT_EQ(0, rs.quiesce_err);
	EXPECT_EQ(0, rs.dereg_err);
	m.type = M_DEREGISTERED;
	m.v[0] = (rs.t_recall - rs.t_op) / 1000;
	m.v[1] = (rs.t_dereg - rs.t_recall) / 1000;
	ASSERT_EQ(0, send_msg(sfd, &m));
	status = wait_child(rs.op, PROMPT_MS);
	ASSERT_LE(0, status) TH_LOG("the truncate still waits %d ms after the deregistration",
				    PROMPT_MS);
	EXPECT_EQ(0, WEXITSTATUS(status));
	TH_LOG("server: RECALL %.1f ms after the truncate began; quiesce, dereg, unpin took %.1f ms; truncate done %.1f ms after it began",
	       (rs.t_recall - rs.t_op) / 1e6, (rs.t_dereg - rs.t_recall) / 1e6,
	       ms_since(rs.t_op));
	ASSERT_EQ(0, fstat(rs.ffd, &st));
	EXPECT_EQ(0, st.st_size);

	ASSERT_EQ(0, expect_msg(sfd, &peer, M_RESULT, MSG_MS + ERROR_MS))
		TH_LOG("no result from the client's write loop");
	TH_LOG("server: the client's WRITEs: %lu before the truncate, %lu while it waited, %lu after the deregistration, then %s (%ld ms after the truncate message), %lu flushed",
	       (unsigned long)peer.v[0], (unsigned long)peer.v[1],
	       (unsigned long)peer.v[2],
	       ibv_wc_status_str((enum ibv_wc_status)peer.v[4]),
	       (long)peer.v[5], (unsigned long)peer.v[3]);

	/* The freed blocks go to other files; the old rkey must be dead. */
	end = now_ns();
	nfiles = refill_fs(dir, "2host-refill");
	ASSERT_LT(0, nfiles);
	TH_LOG("server: %d refill files of %lu MiB in %.1f s", nfiles,
	       REFILL_FILE >> 20, ms_since(end) / 1000);
	qp2 = verbs_rc_qp(&e.vp, DEPTH);
	ASSERT_NE(NULL, qp2);
	ASSERT_EQ(0, qp_connect(&e, qp2, peer.qpn, &cgid));
	m.type = M_REOPEN;
	m.qpn = qp2->qp_num;
	ASSERT_EQ(0, send_msg(sfd, &m));
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_STALE, MSG_MS));
	EXPECT_EQ(0ull, peer.v[0]) TH_LOG("%lu WRITEs with the old rkey succeeded",
				       (unsigned long)peer.v[0]);
	/* 12 bytes: a piece of a store cut at a page end counts. */
	hits = refill_scan_and_remove(dir, "2host-refill", nfiles,
				      writer_pattern, 12);
	TH_LOG("server: stale WRITEs with the old rkey: %lu succeeded, %lu refused (%s); the client's pattern in the refill files: %ld times",
	       (unsigned long)peer.v[0], (unsigned long)peer.v[1],
	       ibv_wc_status_str((enum ibv_wc_status)peer.v[2]), hits);
	EXPECT_EQ(0, hits) TH_LOG("client bytes landed outside the file");
	m.type = M_BYE;
	EXPECT_EQ(0, send_msg(sfd, &m));
	close(sfd);
	ibv_destroy_qp(qp2);
	ep_close(&e);
	close(dfd);
	close(rs.ffd);
	unlink(path);
}

/* ---- the client --------------------------------------------------------- */

struct loop_counts {
	unsigned long ok[3];	/* before TRUNCATING, until DEREGISTERED, after */
	unsigned long flushed, errors;
	enum ibv_wc_status status;
	uint64_t t_truncating, t_dereg, t_error;
	uint64_t recall_us, dereg_us;
};

static void client(struct __test_metadata *_metadata, const char *ip)
{
	struct ep e = { 0 };
	struct msg m = { 0 }, peer;
	struct loop_counts c = { 0 };
	struct ibv_mr *lmr, *smr;
	struct ibv_wc wc, wcs[DEPTH];
	unsigned char *buf, *src;
	uint64_t raddr, rlen, t0, quiet, end;
	uint32_t rkey;
	unsigned int inflight = 0, phase = 0, i;
	size_t off = 0;
	union ibv_gid sgid;
	int err;
	bool looping = false;
	long diff;
	int sfd;

	err = ep_open(&e);
	ASSERT_EQ(0, err) TH_LOG("%s, port 1 active with an IPv4 RoCE v2 GID within 30 s, a PD, a CQ and a QP: %s",
				 getenv("DAXPIN_RDMA_DEV"), strerror(-err));
	TH_LOG("client: %s port %u active, path MTU %d, GID index %d",
	       getenv("DAXPIN_RDMA_DEV"), e.vp.num,
	       128 << e.vp.attr.active_mtu, e.vp.gid_index);
	buf = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < CHUNK; i += 16)
		memcpy(src + i, writer_pattern, 16);
	lmr = ibv_reg_mr(e.vp.pd, buf, FILE_SIZE, IBV_ACCESS_LOCAL_WRITE);
	smr = ibv_reg_mr(e.vp.pd, src, CHUNK, IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, lmr);
	ASSERT_NE(NULL, smr);

	t0 = now_ns();
	sfd = tcp_connect(ip, CONNECT_MS);
	ASSERT_LE(0, sfd) TH_LOG("cannot connect to the server %s:%d within %d s: %s",
				 ip, TCP_PORT, CONNECT_MS / 1000, strerror(-sfd));
	TH_LOG("client: connected to %s after %.1f s", ip, ms_since(t0) / 1000);
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_HELLO, MSG_MS));
	raddr = peer.v[0];
	rlen = peer.v[1];
	rkey = (uint32_t)peer.v[2];
	memcpy(sgid.raw, peer.gid, 16);
	ASSERT_EQ(FILE_SIZE, rlen);
	ASSERT_EQ(0, qp_connect(&e, e.qp, peer.qpn, &sgid));
	m.type = M_HELLO;
	m.qpn = e.qp->qp_num;
	memcpy(m.gid, e.vp.gid.raw, 16);
	ASSERT_EQ(0, send_msg(sfd, &m));

	/* Phase 1: READ the range, WRITE its second half, READ it back. */
	t0 = now_ns();
	ASSERT_EQ(0, verbs_post_rdma(e.qp, IBV_WR_RDMA_READ, 1, lmr, buf, FILE_SIZE,
			  raddr, rkey));
	ASSERT_EQ(0, verbs_poll_one(e.vp.cq, CQ_MS, &wc));
	ASSERT_EQ((int)IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("READ: %s", ibv_wc_status_str(wc.status));
	diff = pattern_diff(buf, FILE_SIZE, 0, SEED_SERVER);
	EXPECT_EQ(-1, diff) TH_LOG("the READ differs from the file at %ld", diff);
	m.v[0] = diff == -1;
	fill_pattern(buf + FILE_SIZE / 2, FILE_SIZE / 2, FILE_SIZE / 2,
		     SEED_CLIENT);
	ASSERT_EQ(0, verbs_post_rdma(e.qp, IBV_WR_RDMA_WRITE, 2, lmr, buf + FILE_SIZE / 2,
			  FILE_SIZE / 2, raddr + FILE_SIZE / 2, rkey));
	ASSERT_EQ(0, verbs_poll_one(e.vp.cq, CQ_MS, &wc));
	ASSERT_EQ((int)IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("WRITE: %s", ibv_wc_status_str(wc.status));
	memset(buf, 0, FILE_SIZE);
	ASSERT_EQ(0, verbs_post_rdma(e.qp, IBV_WR_RDMA_READ, 3, lmr, buf, FILE_SIZE,
			  raddr, rkey));
	ASSERT_EQ(0, verbs_poll_one(e.vp.cq, CQ_MS, &wc));
	ASSERT_EQ((int)IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("READ: %s", ibv_wc_status_str(wc.status));
	diff = pattern_diff(buf, FILE_SIZE / 2, 0, SEED_SERVER);
	if (diff == -1)
		diff = pattern_diff(buf + FILE_SIZE / 2, FILE_SIZE / 2,
				    FILE_SIZE / 2, SEED_CLIENT);
	EXPECT_EQ(-1, diff) TH_LOG("read back after the WRITE: differs at %ld", diff);
	m.v[1] = diff == -1;
	TH_LOG("client: READ %lu KiB, WRITE %lu KiB, READ %lu KiB in %.1f ms",
	       FILE_SIZE >> 10, FILE_SIZE >> 11, FILE_SIZE >> 10, ms_since(t0));
	m.type = M_PHASE1;
	ASSERT_EQ(0, send_msg(sfd, &m));
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_PHASE1, MSG_MS))
		TH_LOG("the server did not check its file");

	/*
	 * Phase 2: 4 KiB WRITEs of the pattern all over the range, DEPTH in
	 * flight, until one completes with an error.
	 */
	t0 = now_ns();
	quiet = now_ns();
	end = now_ns() + (uint64_t)(MSG_MS + PROMPT_MS + ERROR_MS) * 1000000;
	while (!c.errors || inflight || phase < 2) {
		int n;

		while (!c.errors && inflight < DEPTH) {
			if (verbs_post_rdma(e.qp, IBV_WR_RDMA_WRITE, 4, smr, src, CHUNK,
				 raddr + off, rkey))
				break;
			inflight++;
			off = (off + CHUNK) % rlen;
		}
		/*
		 * Every completion the CQ holds, before a message is read:
		 * so a WRITE counted as after a message was not already
		 * complete in the CQ when it came (its ACK may still have
		 * been on its way: the counts are the client's view).
		 */
		n = ibv_poll_cq(e.vp.cq, DEPTH, wcs);
		ASSERT_LE(0, n);
		for (i = 0; i < (unsigned int)n; i++) {
			quiet = now_ns();
			inflight--;
			if (wcs[i].status == IBV_WC_SUCCESS) {
				c.ok[phase]++;
			} else if (wcs[i].status == IBV_WC_WR_FLUSH_ERR) {
				c.flushed++;
			} else if (!c.errors++) {
				c.status = wcs[i].status;
				c.t_error = now_ns();
			}
		}
		if (!n)
			usleep(100);
		if (!looping && c.ok[0] >= MIN_WRITES) {
			m.type = M_LOOPING;
			m.v[0] = c.ok[0];
			ASSERT_EQ(0, send_msg(sfd, &m));
			looping = true;
			TH_LOG("client: %lu WRITEs in %.1f ms before the truncate was asked for",
			       c.ok[0], ms_since(t0));
		}
		if (phase < 2 && msg_readable(sfd)) {
			ASSERT_EQ(0, recv_msg(sfd, &peer, MSG_MS));
			ASSERT_EQ((uint32_t)(phase ? M_DEREGISTERED : M_TRUNCATING), peer.type);
			if (phase++) {
				c.t_dereg = now_ns();
				c.recall_us = peer.v[0];
				c.dereg_us = peer.v[1];
			} else {
				c.t_truncating = now_ns();
			}
		}
		ASSERT_TRUE(!c.errors || looping)
			TH_LOG("a WRITE failed before the truncate (%s after %lu WRITEs): the link is too slow for QP timeout %d",
			       ibv_wc_status_str(c.status), c.ok[0], QP_TIMEOUT);
		ASSERT_TRUE(!c.errors || phase)
			TH_LOG("a WRITE failed (%s) before the server's truncate message",
			       ibv_wc_status_str(c.status));
		ASSERT_TRUE(!inflight || now_ns() - quiet < CQ_MS * 1000000ull)
			TH_LOG("no completion for %d ms, %u WRITEs in flight",
			       CQ_MS, inflight);
		ASSERT_TRUE(phase < 2 || c.errors ||
			    now_ns() - c.t_dereg < ERROR_MS * 1000000ull)
			TH_LOG("%lu WRITEs succeeded and none failed in the %d ms after the server deregistered: silent success",
			       c.ok[2], ERROR_MS);
		ASSERT_TRUE(now_ns() < end)
			TH_LOG("the write loop ran out of time (phase %u)", phase);
	}
	TH_LOG("client: WRITEs of %d KiB: %lu before the truncate message, %lu until the deregistration message, %lu after it; then %s %.1f ms after the deregistration message; %lu flushed",
	       CHUNK >> 10, c.ok[0], c.ok[1], c.ok[2], ibv_wc_status_str(c.status),
	       (double)((int64_t)(c.t_error - c.t_dereg)) / 1e6, c.flushed);
	TH_LOG("client: the server saw the RECALL %.1f ms after the truncate began and let go in %.1f ms",
	       c.recall_us / 1e3, c.dereg_us / 1e3);
	EXPECT_EQ(1ul, c.errors);
	EXPECT_NE((int)IBV_WC_SUCCESS, (int)c.status);
	m.type = M_RESULT;
	m.v[0] = c.ok[0];
	m.v[1] = c.ok[1];
	m.v[2] = c.ok[2];
	m.v[3] = c.flushed;
	m.v[4] = c.status;
	m.v[5] = (c.t_error - c.t_truncating) / 1000000;
	ASSERT_EQ(0, send_msg(sfd, &m));

	/* After the refill: WRITEs with the old rkey, to a fresh QP. */
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_REOPEN, MSG_MS + ERROR_MS))
		TH_LOG("the server did not refill in time");
	ASSERT_EQ(0, qp_connect(&e, e.qp, peer.qpn, &sgid));
	memset(&c, 0, sizeof(c));
	for (i = 0; i < DEPTH; i++)
		ASSERT_EQ(0, verbs_post_rdma(e.qp, IBV_WR_RDMA_WRITE, 5, smr, src, CHUNK,
				  raddr + (rlen / DEPTH) * i, rkey));
	for (i = 0; i < DEPTH; i++) {
		ASSERT_EQ(0, verbs_poll_one(e.vp.cq, CQ_MS, &wc))
			TH_LOG("stale WRITE %u of %d did not complete", i, DEPTH);
		if (wc.status == IBV_WC_SUCCESS) {
			c.ok[0]++;
		} else if (wc.status == IBV_WC_WR_FLUSH_ERR) {
			c.flushed++;
		} else if (!c.errors++) {
			c.status = wc.status;
		}
	}
	TH_LOG("client: WRITEs with the old rkey: %lu succeeded, first error %s, %lu flushed",
	       c.ok[0], c.errors ? ibv_wc_status_str(c.status) : "none", c.flushed);
	EXPECT_EQ(0ul, c.ok[0]);
	EXPECT_EQ(1ul, c.errors);
	m.type = M_STALE;
	m.v[0] = c.ok[0];
	m.v[1] = c.errors + c.flushed;
	m.v[2] = c.status;
	ASSERT_EQ(0, send_msg(sfd, &m));
	EXPECT_EQ(0, expect_msg(sfd, &peer, M_BYE, MSG_MS));
	close(sfd);
	ibv_dereg_mr(lmr);
	ibv_dereg_mr(smr);
	ep_close(&e);
}

FIXTURE(twohost) {
};

FIXTURE_SETUP(twohost)
{
}

FIXTURE_TEARDOWN(twohost)
{
}

TEST_F_TIMEOUT(twohost, recall_under_remote_writes, 900)
{
	const char *role = env_or_die("DAXPIN_2HOST_ROLE");

	if (!strcmp(role, "server"))
		server(_metadata, env_or_die("DAXPIN_DAX_DIR"));
	else if (!strcmp(role, "client"))
		client(_metadata, env_or_die("DAXPIN_2HOST_PEER"));
	else
		ASSERT_TRUE(false) TH_LOG("DAXPIN_2HOST_ROLE '%s': server or client", role);
}

TEST_HARNESS_MAIN
