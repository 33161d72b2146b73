// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libdaxpin-verbs: daxpin_reg_mr() and friends (libdaxpin-verbs.h).
 *
 * Each path makes the pin first: it is what holds the file system off the
 * blocks and what recalls the holder, whichever way the NIC then reaches
 * them. Teardown goes the other way: the MR first (the NIC stops), then
 * the mappings and the dma-buf, then the pin.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libdaxpin-verbs.h"

/* Soft-RoCE (drivers/infiniband/sw/rxe) reports this vendor id. */
#define RXE_VENDOR_ID	0xffffff

struct daxpin_mr {
	struct ibv_mr *mr;
	int dfd;
	uint32_t handle;
	uint64_t offset;	/* the file range */
	enum daxpin_reg_path path;
	void *map;		/* the CPU's (and the MR's) address */
	size_t length;
	int dmabuf_fd;		/* DAXPIN_REG_DMABUF only, else -1 */
};

/*
 * What makes a path not apply here, so that the next one is tried: not
 * supported by the kernel, the provider or the device (the pin's mapping
 * on 6.15 on: EFAULT), or refused as unsafe (EMSGSIZE, rxe's ODP).
 */
static int not_here(int err)
{
	return err == -EOPNOTSUPP || err == -ENOSYS ||
	       err == -EPROTONOSUPPORT || err == -EFAULT || err == -EMSGSIZE;
}

static int writable(int access)
{
	return !!(access & (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			    IBV_ACCESS_REMOTE_ATOMIC));
}

static int reg_pin_mapping(struct daxpin_mr *dmr, struct ibv_pd *pd,
			   int access, uint64_t features)
{
	int prot = PROT_READ | (writable(access) ? PROT_WRITE : 0), err;

	/* Only kernels before 6.15 give a mapping a pinning MR takes. */
	if (!(features & DAXPIN_FEATURE_MAP_REGISTRABLE))
		return -EOPNOTSUPP;
	dmr->map = daxpin_map(dmr->dfd, dmr->handle, 0, dmr->length, prot);
	if (!dmr->map)
		return -errno;
	dmr->mr = ibv_reg_mr(pd, dmr->map, dmr->length, access);
	if (!dmr->mr) {
		err = -errno;
		munmap(dmr->map, dmr->length);
		dmr->map = NULL;
		return err;
	}
	return 0;
}

/* The on-demand-paging capabilities @access needs for RC. */
static uint32_t odp_needs(int access)
{
	uint32_t need = 0;

	if (access & IBV_ACCESS_REMOTE_WRITE)
		need |= IBV_ODP_SUPPORT_WRITE;
	if (access & IBV_ACCESS_REMOTE_READ)
		need |= IBV_ODP_SUPPORT_READ;
	if (access & IBV_ACCESS_REMOTE_ATOMIC)
		need |= IBV_ODP_SUPPORT_ATOMIC;
	if (access & IBV_ACCESS_LOCAL_WRITE)
		need |= IBV_ODP_SUPPORT_RECV;
	return need;
}

/*
 * rxe's on-demand paging copies each packet to the start of the page it
 * falls in: only whole, page-aligned pages land right. Ranges are
 * page-aligned; the path MTU must be a page too, on every active port.
 */
static int rxe_odp_unsafe(struct ibv_context *ctx,
			  const struct ibv_device_attr_ex *dattr)
{
	struct ibv_port_attr pattr;
	uint8_t port;

	if (dattr->orig_attr.vendor_id != RXE_VENDOR_ID)
		return 0;
	for (port = 1; port <= dattr->orig_attr.phys_port_cnt; port++) {
		if (ibv_query_port(ctx, port, &pattr))
			return -errno;
		if (pattr.state == IBV_PORT_ACTIVE &&
		    pattr.active_mtu < IBV_MTU_4096)
			return -EMSGSIZE;
	}
	return 0;
}

int daxpin_odp_check(struct ibv_pd *pd, int access, const void *addr,
		     uint64_t iova)
{
	uint32_t need = odp_needs(access);
	struct ibv_device_attr_ex dattr;
	int err;

	if (!pd)
		return -EINVAL;
	memset(&dattr, 0, sizeof(dattr));
	err = ibv_query_device_ex(pd->context, NULL, &dattr);
	if (err)
		return -err;
	if (!(dattr.odp_caps.general_caps & IBV_ODP_SUPPORT) ||
	    (dattr.odp_caps.per_transport_caps.rc_odp_caps & need) != need)
		return -EOPNOTSUPP;
	/*
	 * rxe's on-demand paging (7.2) indexes its page list by the iova as
	 * if it were the address: any other iova reads past the list, in
	 * the kernel (an oops, kernel facts). Only iova == address is safe.
	 */
	if (dattr.orig_attr.vendor_id == RXE_VENDOR_ID &&
	    iova != (uintptr_t)addr)
		return -EOPNOTSUPP;
	return rxe_odp_unsafe(pd->context, &dattr);
}

static int reg_odp(struct daxpin_mr *dmr, struct ibv_pd *pd, int file_fd,
		   uint64_t offset, int access)
{
	int prot = PROT_READ | (writable(access) ? PROT_WRITE : 0), err;
	struct ibv_sge sge;

	dmr->map = mmap(NULL, dmr->length, prot, MAP_SHARED, file_fd, offset);
	if (dmr->map == MAP_FAILED) {
		dmr->map = NULL;
		return -errno;
	}
	/* The MR's iova is its address. */
	err = daxpin_odp_check(pd, access, dmr->map, (uintptr_t)dmr->map);
	if (err) {
		munmap(dmr->map, dmr->length);
		dmr->map = NULL;
		return err;
	}
	dmr->mr = ibv_reg_mr(pd, dmr->map, dmr->length,
			     access | IBV_ACCESS_ON_DEMAND);
	if (!dmr->mr) {
		err = -errno;
		munmap(dmr->map, dmr->length);
		dmr->map = NULL;
		return err;
	}
	/* Fault the range in now if the provider can; it is only advice. */
	sge.addr = (uintptr_t)dmr->map;
	sge.length = dmr->length > UINT32_MAX ? UINT32_MAX : dmr->length;
	sge.lkey = dmr->mr->lkey;
	(void)ibv_advise_mr(pd, writable(access) ?
			    IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE :
			    IBV_ADVISE_MR_ADVICE_PREFETCH,
			    IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	return 0;
}

static int reg_dmabuf(struct daxpin_mr *dmr, struct ibv_pd *pd, int access,
		      uint64_t features)
{
	int prot = PROT_READ | (writable(access) ? PROT_WRITE : 0), err;

	if (!(features & DAXPIN_FEATURE_DMABUF))
		return -EOPNOTSUPP;
	dmr->dmabuf_fd = daxpin_export_dmabuf(dmr->dfd, dmr->handle, 0,
					      dmr->length,
					      DAXPIN_EXPORT_DMABUF_CLOEXEC);
	if (dmr->dmabuf_fd < 0) {
		err = dmr->dmabuf_fd;
		dmr->dmabuf_fd = -1;
		return err;
	}
	/* The CPU's way in, whose address the MR takes as its iova. */
	dmr->map = daxpin_map(dmr->dfd, dmr->handle, 0, dmr->length, prot);
	if (!dmr->map) {
		err = -errno;
		goto out_close;
	}
	dmr->mr = ibv_reg_dmabuf_mr(pd, 0, dmr->length, (uintptr_t)dmr->map,
				    dmr->dmabuf_fd, access);
	if (!dmr->mr) {
		err = -errno;
		goto out_unmap;
	}
	return 0;

out_unmap:
	munmap(dmr->map, dmr->length);
	dmr->map = NULL;
out_close:
	close(dmr->dmabuf_fd);
	dmr->dmabuf_fd = -1;
	return err;
}

/* The paths, in the order they are tried. */
static const enum daxpin_reg_path reg_order[] = {
	DAXPIN_REG_PIN_MAPPING, DAXPIN_REG_ODP, DAXPIN_REG_DMABUF,
};

static int reg_path(struct daxpin_mr *dmr, struct ibv_pd *pd, int file_fd,
		    uint64_t offset, int access, uint64_t features)
{
	switch (dmr->path) {
	case DAXPIN_REG_PIN_MAPPING:
		return reg_pin_mapping(dmr, pd, access, features);
	case DAXPIN_REG_ODP:
		return reg_odp(dmr, pd, file_fd, offset, access);
	case DAXPIN_REG_DMABUF:
		return reg_dmabuf(dmr, pd, access, features);
	}
	return -EINVAL;
}

int daxpin_reg_mr(int dfd, struct ibv_pd *pd, int file_fd, uint64_t offset,
		  size_t length, int access, const struct daxpin_reg_attr *attr,
		  struct daxpin_mr **out)
{
	uint32_t paths = attr && attr->paths ? attr->paths : DAXPIN_REG_ANY;
	uint32_t deadline_ms = attr ? attr->deadline_ms : 0;
	int err, refusal = -EOPNOTSUPP;
	struct daxpin_info info;
	struct daxpin_mr *dmr;
	size_t i;

	/* The library picks on-demand paging itself, where it applies. */
	if (!pd || !out || !length || (paths & ~DAXPIN_REG_ANY) ||
	    (access & IBV_ACCESS_ON_DEMAND))
		return -EINVAL;
	err = daxpin_get_info(dfd, &info);
	if (err)
		return err;
	dmr = calloc(1, sizeof(*dmr));
	if (!dmr)
		return -ENOMEM;
	dmr->dfd = dfd;
	dmr->offset = offset;
	dmr->length = length;
	dmr->dmabuf_fd = -1;
	err = daxpin_pin(dfd, file_fd, offset, length,
			 writable(access) ? DAXPIN_PIN_WRITE : 0, deadline_ms,
			 &dmr->handle, NULL);
	if (err)
		goto out_free;

	/* In order; a path that does not apply here passes to the next. */
	for (i = 0; i < sizeof(reg_order) / sizeof(reg_order[0]); i++) {
		if (!(paths & reg_order[i]))
			continue;
		dmr->path = reg_order[i];
		err = reg_path(dmr, pd, file_fd, offset, access, info.features);
		if (!err) {
			*out = dmr;
			return 0;
		}
		if (!not_here(err))
			goto out_unpin;
		/* A refusal as unsafe says more than "not supported". */
		if (err == -EMSGSIZE)
			refusal = err;
	}
	err = refusal;
out_unpin:
	daxpin_unpin(dfd, dmr->handle);
out_free:
	free(dmr);
	return err;
}

int daxpin_dereg_mr(struct daxpin_mr *dmr)
{
	int err;

	if (!dmr)
		return -EINVAL;
	/* The NIC first: if the MR cannot go, nothing else may. */
	err = ibv_dereg_mr(dmr->mr);
	if (err)
		return -err;
	if (dmr->map)
		munmap(dmr->map, dmr->length);
	if (dmr->dmabuf_fd >= 0)
		close(dmr->dmabuf_fd);
	err = daxpin_unpin(dmr->dfd, dmr->handle);
	free(dmr);
	return err;
}

struct ibv_mr *daxpin_mr_ibv(const struct daxpin_mr *dmr)
{
	return dmr->mr;
}

void *daxpin_mr_addr(const struct daxpin_mr *dmr)
{
	return dmr->map;
}

enum daxpin_reg_path daxpin_mr_path(const struct daxpin_mr *dmr)
{
	return dmr->path;
}

uint32_t daxpin_mr_handle(const struct daxpin_mr *dmr)
{
	return dmr->handle;
}

const char *daxpin_reg_path_name(enum daxpin_reg_path path)
{
	switch (path) {
	case DAXPIN_REG_PIN_MAPPING:
		return "pin-mapping";
	case DAXPIN_REG_ODP:
		return "odp";
	case DAXPIN_REG_DMABUF:
		return "dmabuf";
	}
	return "unknown";
}

void daxpin_mr_range(const struct daxpin_mr *dmr, uint64_t *offset,
		     uint64_t *length)
{
	*offset = dmr->offset;
	*length = dmr->length;
}

int daxpin_mr_dispatch(int dfd, struct daxpin_mr **mrs, size_t nr,
		       daxpin_mr_event_fn fn, void *arg)
{
	struct pollfd pfd = { .fd = dfd, .events = POLLIN };
	struct daxpin_event ev;
	int n, done = 0;
	size_t j;

	if (!fn || (nr && !mrs))
		return -EINVAL;
	do {
		/*
		 * One record at a time: a callback that deregisters ends the
		 * pin, which drops its queued records, so none that is read
		 * next can name a registration already freed.
		 */
		n = daxpin_read_events(dfd, &ev, 1);
		if (n < 0)
			return done && n == -EAGAIN ? done : n;
		if (n == 1) {
			struct daxpin_mr *dmr = NULL;

			for (j = 0; j < nr && !dmr; j++)
				if (mrs[j] && mrs[j]->dfd == dfd &&
				    mrs[j]->handle == ev.handle)
					dmr = mrs[j];
			fn(&ev, dmr, arg);
			done++;
		}
		/* More queued? Never wait for a second one. */
	} while (n == 1 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN));
	return done;
}
