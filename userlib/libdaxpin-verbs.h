/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libdaxpin-verbs: register a range of a file on a DAX file system with a
 * verbs protection domain, in one call, whichever way this kernel and this
 * RDMA device allow. It pins the range through daxpin (which holds the
 * file system off its blocks and recalls the pin when a layout change
 * needs them), and registers:
 *
 *   DAXPIN_REG_PIN_MAPPING  the pin's own mapping, with an ordinary
 *                           (pinning) ibv_reg_mr(): kernels before 6.15
 *   DAXPIN_REG_ODP          a shared mapping of the file, with
 *                           IBV_ACCESS_ON_DEMAND: devices with on-demand
 *                           paging for what the access flags ask
 *   DAXPIN_REG_DMABUF       the pin exported as a dma-buf, with
 *                           ibv_reg_dmabuf_mr(): providers that import
 *                           dma-bufs
 *
 * tried in that order, each only if allowed and detected to work (never
 * from a version number). See daxpin_reg_mr(3).
 *
 * Errors are negative errnos; no global state, no threads.
 */
#ifndef LIBDAXPIN_VERBS_H
#define LIBDAXPIN_VERBS_H

#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <libdaxpin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The registration paths, as bits for daxpin_reg_attr.paths. */
enum daxpin_reg_path {
	DAXPIN_REG_PIN_MAPPING = 1 << 0,
	DAXPIN_REG_ODP = 1 << 1,
	DAXPIN_REG_DMABUF = 1 << 2,
};

#define DAXPIN_REG_ANY	(DAXPIN_REG_PIN_MAPPING | DAXPIN_REG_ODP | \
			 DAXPIN_REG_DMABUF)

/**
 * struct daxpin_reg_attr - optional attributes of daxpin_reg_mr()
 * @paths: the paths it may take (enum daxpin_reg_path bits); 0: any
 * @deadline_ms: the pin's recall deadline; 0: the module's default
 */
struct daxpin_reg_attr {
	uint32_t paths;
	uint32_t deadline_ms;
};

/* A registered pinned range: opaque, see the accessors. */
struct daxpin_mr;

/*
 * Pin [@offset, @offset + @length) of @file_fd (page-aligned) through the
 * daxpin file @dfd and register it with @pd for @access (IBV_ACCESS_*).
 * A writable access needs @file_fd open for writing. @attr may be NULL.
 * On success *@out is set; tear it down with daxpin_dereg_mr().
 *
 * Errors: those of daxpin_pin(3) and ibv_reg_mr(3); EOPNOTSUPP when no
 * allowed path works here; EMSGSIZE when on-demand paging was the only
 * way and the device is soft-RoCE (rxe) with a port whose active MTU is
 * below 4096 (its on-demand paging misplaces bytes of packets smaller
 * than a page).
 */
int daxpin_reg_mr(int dfd, struct ibv_pd *pd, int file_fd, uint64_t offset,
		  size_t length, int access, const struct daxpin_reg_attr *attr,
		  struct daxpin_mr **out);

/* Deregister, unmap and unpin, in that order, and free @dmr. */
int daxpin_dereg_mr(struct daxpin_mr *dmr);

/* The verbs MR: lkey, rkey, and addr, the address remote peers use. */
struct ibv_mr *daxpin_mr_ibv(const struct daxpin_mr *dmr);

/* Where the CPU reaches the range (the MR's addr on every path). */
void *daxpin_mr_addr(const struct daxpin_mr *dmr);

/* The path taken: one enum daxpin_reg_path value. */
enum daxpin_reg_path daxpin_mr_path(const struct daxpin_mr *dmr);

/* The daxpin pin handle, as events name it. */
uint32_t daxpin_mr_handle(const struct daxpin_mr *dmr);

/* "pin-mapping", "odp", "dmabuf", or "unknown". */
const char *daxpin_reg_path_name(enum daxpin_reg_path path);

/* The file range @dmr covers: what a revocation takes away. */
void daxpin_mr_range(const struct daxpin_mr *dmr, uint64_t *offset,
		     uint64_t *length);

/*
 * Called by daxpin_mr_dispatch() for each event: @dmr is the registration
 * it names among those given, or NULL (a pin registered otherwise). On
 * DAXPIN_EVENT_RECALL, quiesce the QPs that use the MR and call
 * daxpin_dereg_mr() before @ev->deadline_ns; on DAXPIN_EVENT_REVOKED the
 * range of daxpin_mr_range() is gone (@ev->reason says why): deregister
 * all the same.
 */
typedef void (*daxpin_mr_event_fn)(const struct daxpin_event *ev,
				   struct daxpin_mr *dmr, void *arg);

/*
 * Read the events queued on @dfd (which epoll or poll can wait on, or an
 * eventfd from daxpin_set_eventfd()) and call @fn for each, with the
 * registration among @mrs[0..@nr) that it names. A callback that calls
 * daxpin_dereg_mr() must set that entry of @mrs to NULL. Waits for the
 * first event unless @dfd is O_NONBLOCK; returns the number handled, or
 * -errno (-EAGAIN: none queued).
 */
int daxpin_mr_dispatch(int dfd, struct daxpin_mr **mrs, size_t nr,
		       daxpin_mr_event_fn fn, void *arg);

/*
 * Whether the device of @pd can register a shared mapping of a DAX file
 * with on-demand paging for @access, as the DAXPIN_REG_ODP path does: for
 * callers that register such a mapping themselves, as the LD_PRELOAD shim
 * (daxpin-preload(7)) does with the program's own mapping. Returns 0 if
 * it can, for an MR of the mapping at @addr registered with @iova;
 * -EOPNOTSUPP if the device has no RC on-demand paging for what @access
 * needs, or for soft-RoCE (rxe) if @iova is not @addr (its on-demand
 * paging takes the iova for the address); -EMSGSIZE for rxe while an
 * active port's MTU is below 4096; or the -errno of a failed device query.
 */
int daxpin_odp_check(struct ibv_pd *pd, int access, const void *addr,
		     uint64_t iova);

#ifdef __cplusplus
}
#endif

#endif /* LIBDAXPIN_VERBS_H */
