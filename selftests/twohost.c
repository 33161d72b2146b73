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
#include <infiniband/verbs.h>

#include "kselftest_harness.h"
#include "common.h"
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
#define REFILL_FILE	(8 * 1024 * 1024UL)

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
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	uint8_t port;
	int gid_index;
	union ibv_gid gid;
	enum ibv_mtu mtu;
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
static int pick_ipv4_gid(struct ep *e, int tbl_len)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };
	struct ibv_gid_entry ent;
	int i;

	for (i = 0; i < tbl_len; i++) {
		if (ibv_query_gid_ex(e->ctx, e->port, i, &ent, 0))
			continue;
		if (ent.gid_type == IBV_GID_TYPE_ROCE_V2 &&
		    !memcmp(ent.gid.raw, v4, sizeof(v4))) {
			e->gid_index = i;
			e->gid = ent.gid;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Open DAXPIN_RDMA_DEV, wait (up to 30 s) for its port to be active with
 * an IPv4 GID, allocate a PD, a CQ and an RC QP: NULL or what failed.
 */
static const char *ep_open(struct ep *e)
{
	const char *name = env_or_die("DAXPIN_RDMA_DEV");
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_qp_init_attr qa = {
		.cap = {
			.max_send_wr = DEPTH, .max_recv_wr = 1,
			.max_send_sge = 1, .max_recv_sge = 1,
		},
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_port_attr pattr;
	uint64_t end = now_ns() + 30000000000ull;
	size_t i;

	for (i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			e->ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!e->ctx)
		return "the RDMA device is missing or cannot be opened";
	e->port = 1;
	for (;;) {
		if (ibv_query_port(e->ctx, e->port, &pattr))
			return "ibv_query_port failed";
		if (pattr.state == IBV_PORT_ACTIVE &&
		    !pick_ipv4_gid(e, pattr.gid_tbl_len))
			break;
		if (now_ns() > end)
			return "the port is not active with an IPv4 RoCE v2 GID within 30 s";
		usleep(200 * 1000);
	}
	e->mtu = pattr.active_mtu;
	e->pd = ibv_alloc_pd(e->ctx);
	e->cq = e->pd ? ibv_create_cq(e->ctx, 4 * DEPTH, NULL, NULL, 0) : NULL;
	if (!e->cq)
		return "cannot allocate a PD and a CQ";
	qa.send_cq = e->cq;
	qa.recv_cq = e->cq;
	e->qp = ibv_create_qp(e->pd, &qa);
	return e->qp ? NULL : "cannot create an RC QP";
}

static struct ibv_qp *ep_new_qp(struct ep *e)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = e->cq, .recv_cq = e->cq,
		.cap = {
			.max_send_wr = DEPTH, .max_recv_wr = 1,
			.max_send_sge = 1, .max_recv_sge = 1,
		},
		.qp_type = IBV_QPT_RC,
	};

	return ibv_create_qp(e->pd, &qa);
}

static void ep_close(struct ep *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	if (e->cq)
		ibv_destroy_cq(e->cq);
	if (e->pd)
		ibv_dealloc_pd(e->pd);
	if (e->ctx)
		ibv_close_device(e->ctx);
}

static int qp_state(struct ibv_qp *qp, enum ibv_qp_state s)
{
	struct ibv_qp_attr a = { .qp_state = s };

	return ibv_modify_qp(qp, &a, IBV_QP_STATE);
}

/* RESET -> INIT -> RTR -> RTS towards @dqpn at @dgid: 0 or an errno. */
static int qp_connect(struct ep *e, struct ibv_qp *qp, uint32_t dqpn,
		      const uint8_t *dgid)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RESET };
	int ret;

	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE);
	if (ret)
		return ret;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = e->port;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (ret)
		return ret;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = e->mtu;
	a.dest_qp_num = dqpn;
	a.max_dest_rd_atomic = 4;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	memcpy(a.ah_attr.grh.dgid.raw, dgid, 16);
	a.ah_attr.grh.sgid_index = e->gid_index;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = e->port;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return ret;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = QP_TIMEOUT;
	a.retry_cnt = QP_RETRY_CNT;
	a.rnr_retry = 7;
	a.max_rd_atomic = 4;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

static int post(struct ibv_qp *qp, enum ibv_wr_opcode op, uint64_t id,
		struct ibv_mr *lmr, void *laddr, uint32_t len,
		uint64_t raddr, uint32_t rkey)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)laddr, .length = len, .lkey = lmr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = id, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
	}, *bad = NULL;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	return ibv_post_send(qp, &wr, &bad);
}

/* One completion within @ms: 0, -ETIMEDOUT or -EIO. */
static int poll_one(struct ibv_cq *cq, int ms, struct ibv_wc *wc)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;

	do {
		int n = ibv_poll_cq(cq, 1, wc);

		if (n < 0)
			return -EIO;
		if (n == 1)
			return 0;
		usleep(200);
	} while (now_ns() < end);
	return -ETIMEDOUT;
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
	rs->quiesce_err = qp_state(rs->qp, IBV_QPS_ERR);
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

/* Fill @dir with files of 'R' until it is full: how many. */
static int refill(const char *dir)
{
	char path[4096], *buf = malloc(REFILL_FILE);
	int i, fd;

	if (!buf)
		return -ENOMEM;
	memset(buf, 'R', REFILL_FILE);
	for (i = 0; i < 1000; i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/2host-refill-%d", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			break;
		n = write(fd, buf, REFILL_FILE);
		fsync(fd);
		close(fd);
		if (n < (ssize_t)REFILL_FILE)
			break;
	}
	free(buf);
	return i + 1;
}

/* Bytes of the writer's pattern in the refill files; removes them. */
static long scan_and_remove(const char *dir, int nfiles)
{
	char path[4096], *buf = malloc(REFILL_FILE);
	long hits = 0;
	int i, fd;

	for (i = 0; buf && i < nfiles; i++) {
		ssize_t n;
		char *p;

		snprintf(path, sizeof(path), "%s/2host-refill-%d", dir, i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, REFILL_FILE);
		close(fd);
		unlink(path);
		/* 12 bytes: a piece of a store cut at a page end counts. */
		for (p = buf; n > 0 &&
		     (p = memmem(p, buf + n - p, writer_pattern, 12)); p += 12)
			hits++;
	}
	free(buf);
	return hits;
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
	const char *why;
	uint8_t cgid[16];
	struct stat st;
	uint64_t end;
	int dfd, sfd, status, nfiles;
	long hits, diff;

	why = ep_open(&e);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	TH_LOG("server: %s port %u active, path MTU %d, GID index %d",
	       getenv("DAXPIN_RDMA_DEV"), e.port, 128 << e.mtu, e.gid_index);

	rs.ffd = make_file(dir, "2host-pinned", FILE_SIZE, path, sizeof(path));
	ASSERT_LE(0, rs.ffd);
	buf = malloc(FILE_SIZE);
	ASSERT_NE(NULL, buf);
	fill_pattern(buf, FILE_SIZE, 0, SEED_SERVER);
	ASSERT_EQ((ssize_t)FILE_SIZE, pwrite(rs.ffd, buf, FILE_SIZE, 0));
	ASSERT_EQ(0, fsync(rs.ffd));
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, daxpin_reg_mr(dfd, e.pd, rs.ffd, 0, FILE_SIZE,
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
	memcpy(m.gid, e.gid.raw, 16);
	m.v[0] = (uintptr_t)daxpin_mr_ibv(rs.slot)->addr;
	m.v[1] = FILE_SIZE;
	m.v[2] = daxpin_mr_ibv(rs.slot)->rkey;
	ASSERT_EQ(0, send_msg(sfd, &m));
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_HELLO, MSG_MS));
	memcpy(cgid, peer.gid, 16);
	ASSERT_EQ(0, qp_connect(&e, e.qp, peer.qpn, cgid));

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
	nfiles = refill(dir);
	ASSERT_LT(0, nfiles);
	TH_LOG("server: %d refill files of %lu MiB in %.1f s", nfiles,
	       REFILL_FILE >> 20, ms_since(end) / 1000);
	qp2 = ep_new_qp(&e);
	ASSERT_NE(NULL, qp2);
	ASSERT_EQ(0, qp_connect(&e, qp2, peer.qpn, cgid));
	m.type = M_REOPEN;
	m.qpn = qp2->qp_num;
	ASSERT_EQ(0, send_msg(sfd, &m));
	ASSERT_EQ(0, expect_msg(sfd, &peer, M_STALE, MSG_MS));
	EXPECT_EQ(0ull, peer.v[0]) TH_LOG("%lu WRITEs with the old rkey succeeded",
				       (unsigned long)peer.v[0]);
	hits = scan_and_remove(dir, nfiles);
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
	const char *why;
	uint8_t sgid[16];
	bool looping = false;
	long diff;
	int sfd;

	why = ep_open(&e);
	ASSERT_EQ(NULL, why) TH_LOG("%s", why);
	TH_LOG("client: %s port %u active, path MTU %d, GID index %d",
	       getenv("DAXPIN_RDMA_DEV"), e.port, 128 << e.mtu, e.gid_index);
	buf = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_NE(MAP_FAILED, src);
	for (i = 0; i < CHUNK; i += 16)
		memcpy(src + i, writer_pattern, 16);
	lmr = ibv_reg_mr(e.pd, buf, FILE_SIZE, IBV_ACCESS_LOCAL_WRITE);
	smr = ibv_reg_mr(e.pd, src, CHUNK, IBV_ACCESS_LOCAL_WRITE);
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
	memcpy(sgid, peer.gid, 16);
	ASSERT_EQ(FILE_SIZE, rlen);
	ASSERT_EQ(0, qp_connect(&e, e.qp, peer.qpn, sgid));
	m.type = M_HELLO;
	m.qpn = e.qp->qp_num;
	memcpy(m.gid, e.gid.raw, 16);
	ASSERT_EQ(0, send_msg(sfd, &m));

	/* Phase 1: READ the range, WRITE its second half, READ it back. */
	t0 = now_ns();
	ASSERT_EQ(0, post(e.qp, IBV_WR_RDMA_READ, 1, lmr, buf, FILE_SIZE,
			  raddr, rkey));
	ASSERT_EQ(0, poll_one(e.cq, CQ_MS, &wc));
	ASSERT_EQ((int)IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("READ: %s", ibv_wc_status_str(wc.status));
	diff = pattern_diff(buf, FILE_SIZE, 0, SEED_SERVER);
	EXPECT_EQ(-1, diff) TH_LOG("the READ differs from the file at %ld", diff);
	m.v[0] = diff == -1;
	fill_pattern(buf + FILE_SIZE / 2, FILE_SIZE / 2, FILE_SIZE / 2,
		     SEED_CLIENT);
	ASSERT_EQ(0, post(e.qp, IBV_WR_RDMA_WRITE, 2, lmr, buf + FILE_SIZE / 2,
			  FILE_SIZE / 2, raddr + FILE_SIZE / 2, rkey));
	ASSERT_EQ(0, poll_one(e.cq, CQ_MS, &wc));
	ASSERT_EQ((int)IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("WRITE: %s", ibv_wc_status_str(wc.status));
	memset(buf, 0, FILE_SIZE);
	ASSERT_EQ(0, post(e.qp, IBV_WR_RDMA_READ, 3, lmr, buf, FILE_SIZE,
			  raddr, rkey));
	ASSERT_EQ(0, poll_one(e.cq, CQ_MS, &wc));
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
			if (post(e.qp, IBV_WR_RDMA_WRITE, 4, smr, src, CHUNK,
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
		n = ibv_poll_cq(e.cq, DEPTH, wcs);
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
	ASSERT_EQ(0, qp_connect(&e, e.qp, peer.qpn, sgid));
	memset(&c, 0, sizeof(c));
	for (i = 0; i < DEPTH; i++)
		ASSERT_EQ(0, post(e.qp, IBV_WR_RDMA_WRITE, 5, smr, src, CHUNK,
				  raddr + (rlen / DEPTH) * i, rkey));
	for (i = 0; i < DEPTH; i++) {
		ASSERT_EQ(0, poll_one(e.cq, CQ_MS, &wc))
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
