/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verbs bring-up the RDMA selftests share (rdma, corruption, preload,
 * twohost): one port of an RDMA device with a PD and a CQ, RC QPs
 * connected through RoCE v2, one signalled RDMA operation, one completion
 * with a timeout. What differs between the tests (the QP's retries and
 * timeout, how many reads in flight) is a parameter; what they do with the
 * QPs stays in each test. Include after common.h; link -libverbs.
 */
#ifndef DAXPIN_SELFTEST_VERBS_H
#define DAXPIN_SELFTEST_VERBS_H

#include <infiniband/verbs.h>

/* Port 1 of an opened device, with what every QP on it needs. */
struct verbs_port {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_port_attr attr;	/* attr.active_mtu: the path MTU */
	uint8_t num;
	int gid_index;
	union ibv_gid gid;		/* this port's RoCE v2 GID */
};

/* How an RC QP is connected. */
struct verbs_rc {
	/* Local ACK timeout, 4.096 us << timeout. */
	uint8_t timeout;
	/* Transport retries; 7 means for ever on rxe (6.1 rxe_comp.c). */
	uint8_t retry_cnt;
	/* RDMA READs in flight, each way. */
	uint8_t rd_atomic;
	/* What the peer may do to this QP's MRs: IBV_ACCESS_REMOTE_*. */
	unsigned int access;
};

/*
 * The port's first RoCE v2 GID, or with @ipv4 its first IPv4-mapped one
 * (a GID a remote peer can reach): 0, or -ENOENT if there is none.
 */
static inline int verbs_pick_gid(struct verbs_port *p, bool ipv4)
{
	static const uint8_t v4_prefix[12] = { [10] = 0xff, [11] = 0xff };
	struct ibv_gid_entry e;
	int i;

	for (i = 0; i < p->attr.gid_tbl_len; i++) {
		if (ibv_query_gid_ex(p->ctx, p->num, i, &e, 0) ||
		    e.gid_type != IBV_GID_TYPE_ROCE_V2)
			continue;
		if (ipv4 && memcmp(e.gid.raw, v4_prefix, sizeof(v4_prefix)))
			continue;
		p->gid_index = i;
		p->gid = e.gid;
		return 0;
	}
	return -ENOENT;
}

/*
 * Open device @name, wait up to @wait_ms for port 1 to be active with a
 * RoCE v2 GID (IPv4-mapped with @ipv4), and allocate a PD and a CQ of @cqe
 * entries. 0 or -errno: -ENODEV no such device, -ENETDOWN the port is not
 * active, -ENOENT no such GID, -EIO a query failed, -ENOMEM. What was made
 * stays for verbs_port_close().
 */
static inline int verbs_port_open(struct verbs_port *p, const char *name,
				  int cqe, bool ipv4, int wait_ms)
{
	uint64_t end = now_ns() + (uint64_t)wait_ms * 1000000;
	struct ibv_device **list;
	int i, n = 0, ret;

	memset(p, 0, sizeof(*p));
	list = ibv_get_device_list(&n);
	if (!list)
		return -errno;
	for (i = 0; i < n && !p->ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			p->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!p->ctx)
		return -ENODEV;
	p->num = 1;
	for (;;) {
		if (ibv_query_port(p->ctx, p->num, &p->attr))
			return -EIO;
		ret = p->attr.state == IBV_PORT_ACTIVE ?
		      verbs_pick_gid(p, ipv4) : -ENETDOWN;
		if (!ret)
			break;
		if (now_ns() >= end)
			return ret;
		usleep(200 * 1000);
	}
	p->pd = ibv_alloc_pd(p->ctx);
	if (!p->pd)
		return -ENOMEM;
	p->cq = ibv_create_cq(p->ctx, cqe, NULL, NULL, 0);
	return p->cq ? 0 : -ENOMEM;
}

/* What verbs_port_open() made, in reverse: 0 or the first error. */
static inline int verbs_port_close(struct verbs_port *p)
{
	int ret = 0;

	if (p->cq)
		ret = ibv_destroy_cq(p->cq);
	if (p->pd)
		ret = ibv_dealloc_pd(p->pd) ?: ret;
	if (p->ctx)
		ret = ibv_close_device(p->ctx) ?: ret;
	memset(p, 0, sizeof(*p));
	return ret;
}

/* An RC QP on @p's PD and CQ, with room for @depth sends in flight. */
static inline struct ibv_qp *verbs_rc_qp(struct verbs_port *p,
					 uint32_t depth)
{
	struct ibv_qp_init_attr attr = {
		.send_cq = p->cq,
		.recv_cq = p->cq,
		.cap = {
			.max_send_wr = depth,
			.max_recv_wr = 1,
			.max_send_sge = 1,
			.max_recv_sge = 1,
		},
		.qp_type = IBV_QPT_RC,
	};

	return ibv_create_qp(p->pd, &attr);
}

static inline int verbs_qp_state(struct ibv_qp *qp, enum ibv_qp_state s)
{
	struct ibv_qp_attr a = { .qp_state = s };

	return -ibv_modify_qp(qp, &a, IBV_QP_STATE);
}

/*
 * (Any state ->) RESET -> INIT -> RTR -> RTS, connected to QP @dqpn at
 * @dgid as @rc says: 0 or -errno. From RESET, a QP that failed can be
 * connected again.
 */
static inline int verbs_rc_connect(struct verbs_port *p, struct ibv_qp *qp,
				   uint32_t dqpn, const union ibv_gid *dgid,
				   const struct verbs_rc *rc)
{
	struct ibv_qp_attr a;
	int ret;

	ret = verbs_qp_state(qp, IBV_QPS_RESET);
	if (ret)
		return ret;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.port_num = p->num;
	a.qp_access_flags = rc->access;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (ret)
		return -ret;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = p->attr.active_mtu;
	a.dest_qp_num = dqpn;
	a.max_dest_rd_atomic = rc->rd_atomic;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *dgid;
	a.ah_attr.grh.sgid_index = p->gid_index;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = p->num;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			    IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
			    IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return -ret;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = rc->timeout;
	a.retry_cnt = rc->retry_cnt;
	a.rnr_retry = 7;
	a.max_rd_atomic = rc->rd_atomic;
	return -ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			      IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

/*
 * Post one signalled RDMA @op (WRITE or READ) of @len bytes between
 * @laddr in @lmr and @raddr under @rkey: 0 or -errno.
 */
static inline int verbs_post_rdma(struct ibv_qp *qp, enum ibv_wr_opcode op,
				  uint64_t id, struct ibv_mr *lmr, void *laddr,
				  uint32_t len, uint64_t raddr, uint32_t rkey)
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
	return -ibv_post_send(qp, &wr, &bad);
}

/* One completion within @ms: 0, -ETIMEDOUT, or -EIO if polling failed. */
static inline int verbs_poll_one(struct ibv_cq *cq, int ms, struct ibv_wc *wc)
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

#endif /* DAXPIN_SELFTEST_VERBS_H */
