/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The writers of the end-to-end safety tests (corruption.c, swap.c): a
 * CPU store loop through a mapping, and RDMA WRITEs from a second QP of
 * the bench's soft-RoCE device into an MR, both storing a pattern that no
 * file but the pinned one may ever hold.
 */
#ifndef DAXPIN_SELFTEST_WRITER_H
#define DAXPIN_SELFTEST_WRITER_H

#include <setjmp.h>
#include <signal.h>

#include "common.h"
#include "verbs.h"

/* RDMA WRITEs of this size, this many in flight. */
#define RDMA_CHUNK	4096
#define RDMA_DEPTH	8
/* A WRITE completes (or fails) within this, emulated and loaded. */
#define CQ_TIMEOUT_MS	10000

static const char writer_pattern[] = "daxpin-writer!!";	/* 16 bytes */

/* The soft-RoCE side: two connected RC QPs, A writes into B's MRs. */
struct verbs {
	struct verbs_port vp;
	struct ibv_qp *qa, *qb;
	struct ibv_mr *src_mr;
	char *src;
};

struct writer {
	char *map;
	size_t len;
	volatile int stop;
	/* CPU: stores and SIGBUS; RDMA: WRITEs completed and refused. */
	volatile unsigned long stores, faults;
	/* RDMA only */
	struct verbs *v;
	uint32_t rkey;
	unsigned long flushed, resets;
	volatile int error;
	/* dma-buf only: the test importer's file */
	int ifd;
	/* RDMA through ODP: page-aligned WRITEs only (rxe misplaces others) */
	bool odp;
};

static __thread sigjmp_buf writer_jmp;

static inline void writer_sigbus(int sig)
{
	siglongjmp(writer_jmp, 1);
}

static inline void *writer_main(void *arg)
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


/* ---- the RDMA writer ---------------------------------------------- */

/*
 * Reset both QPs and connect them again: 0 or -errno. rxe on 6.12 now
 * and then refuses a transition right after an error (EINVAL, once in
 * hundreds of resets): try again a few times.
 */
static inline int verbs_connect(struct verbs *v)
{
	static const struct verbs_rc rc = {
		.timeout = 14, .retry_cnt = 7, .rd_atomic = 1,
		.access = IBV_ACCESS_REMOTE_WRITE,
	};
	int ret, tries = 10;

	do {
		ret = verbs_rc_connect(&v->vp, v->qa, v->qb->qp_num,
				       &v->vp.gid, &rc) ?:
		      verbs_rc_connect(&v->vp, v->qb, v->qa->qp_num,
				       &v->vp.gid, &rc);
		if (ret)
			usleep(10000);
	} while (ret && --tries);
	return ret;
}

/* Open DAXPIN_RDMA_DEV and connect two QPs: 0 or a message. */
static inline const char *verbs_open(struct verbs *v)
{
	size_t i;

	if (verbs_port_open(&v->vp, env_or_die("DAXPIN_RDMA_DEV"),
			    2 * RDMA_DEPTH, false, 5000))
		return "the RDMA device's port 1, active with a RoCE v2 GID, with a PD and a CQ";
	v->qa = verbs_rc_qp(&v->vp, RDMA_DEPTH);
	v->qb = verbs_rc_qp(&v->vp, RDMA_DEPTH);
	if (!v->qa || !v->qb || verbs_connect(v))
		return "cannot connect two RC QPs";
	v->src = mmap(NULL, RDMA_CHUNK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->src == MAP_FAILED) {
		v->src = NULL;
		return "no memory";
	}
	for (i = 0; i < RDMA_CHUNK; i += 16)
		memcpy(v->src + i, writer_pattern, 16);
	v->src_mr = ibv_reg_mr(v->vp.pd, v->src, RDMA_CHUNK, IBV_ACCESS_LOCAL_WRITE);
	return v->src_mr ? NULL : "cannot register the source buffer";
}

static inline void verbs_close(struct verbs *v)
{
	if (v->src_mr)
		ibv_dereg_mr(v->src_mr);
	if (v->src)
		munmap(v->src, RDMA_CHUNK);
	if (v->qa)
		ibv_destroy_qp(v->qa);
	if (v->qb)
		ibv_destroy_qp(v->qb);
	verbs_port_close(&v->vp);
}

/*
 * Whether the RDMA device can take RC WRITEs into an ODP registration:
 * 0, 1, or -errno if it cannot be asked.
 */
static inline int writer_odp_writes(struct verbs *v)
{
	const uint32_t need = IBV_ODP_SUPPORT_WRITE;
	struct ibv_device_attr_ex dattr;

	memset(&dattr, 0, sizeof(dattr));
	if (ibv_query_device_ex(v->vp.ctx, NULL, &dattr))
		return -errno;
	return (dattr.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
	       (dattr.odp_caps.per_transport_caps.rc_odp_caps & need) == need;
}

/* The address and key of the MR as it was registered, always. */
static inline int post_write(struct writer *w, size_t off)
{
	return verbs_post_rdma(w->v->qa, IBV_WR_RDMA_WRITE, 0, w->v->src_mr,
			       w->v->src, RDMA_CHUNK,
			       (uintptr_t)w->map + off, w->rkey);
}

/*
 * RDMA WRITEs of the pattern, RDMA_DEPTH in flight, all over the MR, until
 * told to stop. A refused WRITE puts the QPs in the error state: once its
 * flushed followers are in, both are reset and connected again, and the
 * writer goes on with the same rkey.
 */
static inline void *rdma_writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned int inflight = 0, i;
	int n, reset = 0;
	uint64_t quiet = now_ns();
	struct ibv_wc wc[RDMA_DEPTH];
	size_t off = 0;

	while (!w->stop || inflight) {
		while (!w->stop && !reset && inflight < RDMA_DEPTH) {
			if (post_write(w, off))
				break;
			inflight++;
			/*
			 * Never into the MR's last page: 6.1's
			 * rxe_mr_copy() steps to the next buffer after
			 * each copy, and past the last page of a map it
			 * reads the next map's pointer, which past the
			 * MR's last page is beyond rxe's array (KASAN:
			 * slab-out-of-bounds in rxe_mr_copy on the debug
			 * kernel). rxe's bug, not daxpin's.
			 */
			off = (off + RDMA_CHUNK + (w->odp ? 0 : 16)) %
			      (w->len - 2 * RDMA_CHUNK);
		}
		n = ibv_poll_cq(w->v->vp.cq, RDMA_DEPTH, wc);
		if (n < 0) {
			w->error = EIO;
			break;
		}
		if (n == 0) {
			if (now_ns() - quiet > CQ_TIMEOUT_MS * 1000000ull) {
				w->error = ETIMEDOUT;
				break;
			}
			usleep(100);
			continue;
		}
		quiet = now_ns();
		for (i = 0; i < (unsigned int)n; i++) {
			inflight--;
			if (wc[i].status == IBV_WC_SUCCESS) {
				w->stores++;
			} else if (wc[i].status == IBV_WC_WR_FLUSH_ERR) {
				w->flushed++;
			} else {
				w->faults++;
				reset = 1;
			}
		}
		if (reset && !inflight) {
			n = verbs_connect(w->v);
			if (n) {
				w->error = -n;
				break;
			}
			w->resets++;
			reset = 0;
		}
	}
	return NULL;
}

#endif /* DAXPIN_SELFTEST_WRITER_H */
