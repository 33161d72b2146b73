/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * daxpin-demo: what `make demo` runs in the guest.
 *
 *   1. the stock kernel refuses ibv_reg_mr() on a mapping of a DAX file;
 *   2. daxpin pins the range and its mapping registers (from 6.15 on,
 *      where no pinning registration of fsdax memory exists, the file's
 *      own mapping registers with on-demand paging, and the pin holds the
 *      blocks);
 *   3. a truncate from another process waits for the pin, the holder hears
 *      of it at once, and the truncate completes when the holder unpins.
 *
 * Needs DAXPIN_DAX_DIR (a DAX mount) and DAXPIN_RDMA_DEV (an RDMA device).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "libdaxpin.h"

#define SIZE (4UL << 20)

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

static struct ibv_pd *open_pd(const char *name, struct ibv_context **ctx)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_pd *pd = NULL;
	int i;

	for (i = 0; list && list[i]; i++) {
		if (strcmp(ibv_get_device_name(list[i]), name))
			continue;
		*ctx = ibv_open_device(list[i]);
		if (*ctx)
			pd = ibv_alloc_pd(*ctx);
		break;
	}
	ibv_free_device_list(list);
	return pd;
}

#define STEP(...) printf("daxpin-demo: " __VA_ARGS__)
#define FAIL(...) do { fprintf(stderr, "daxpin-demo: FAILED: " __VA_ARGS__); exit(1); } while (0)

int main(void)
{
	const char *dir = getenv("DAXPIN_DAX_DIR"), *dev = getenv("DAXPIN_RDMA_DEV");
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	struct ibv_context *ibctx = NULL;
	struct daxpin_info info;
	struct daxpin_event ev;
	struct pollfd pfd;
	struct timespec t0;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	uint32_t handle;
	char path[4096], buf[32];
	const char *what;
	int dfd, ffd, ret, status;
	char *plain, *map;
	pid_t child;

	if (!dir || !dev)
		FAIL("set DAXPIN_DAX_DIR and DAXPIN_RDMA_DEV\n");
	dfd = daxpin_open();
	if (dfd < 0)
		FAIL("open %s: %s\n", DAXPIN_DEVICE_PATH, strerror(-dfd));
	ret = daxpin_get_info(dfd, &info);
	if (ret)
		FAIL("DAXPIN_INFO: %s\n", strerror(-ret));
	STEP("%s is up, interface version %u, features %#llx\n",
	     DAXPIN_DEVICE_PATH, info.api_version,
	     (unsigned long long)info.features);

	pd = open_pd(dev, &ibctx);
	if (!pd)
		FAIL("cannot open RDMA device %s\n", dev);
	snprintf(path, sizeof(path), "%s/daxpin-demo", dir);
	ffd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (ffd < 0 || ftruncate(ffd, SIZE))
		FAIL("create %s: %s\n", path, strerror(errno));

	/* 1. What the stock kernel does. */
	plain = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	if (plain == MAP_FAILED)
		FAIL("mmap: %s\n", strerror(errno));
	mr = ibv_reg_mr(pd, plain, SIZE, access);
	STEP("ibv_reg_mr() on a plain mapping of %s: %s\n", path,
	     mr ? "succeeded (unexpected)" : strerror(errno));
	if (mr)
		ibv_dereg_mr(mr);

	/* 2. Through daxpin. */
	ret = daxpin_pin(dfd, ffd, 0, SIZE, DAXPIN_PIN_WRITE, 0, &handle, NULL);
	if (ret)
		FAIL("DAXPIN_PIN: %s\n", strerror(-ret));
	map = daxpin_map(dfd, handle, 0, SIZE, PROT_READ | PROT_WRITE);
	if (!map)
		FAIL("mmap of the pin: %s\n", strerror(errno));
	if (info.features & DAXPIN_FEATURE_MAP_REGISTRABLE) {
		mr = ibv_reg_mr(pd, map, SIZE, access);
		what = "its mapping";
	} else {
		mr = ibv_reg_mr(pd, plain, SIZE, access | IBV_ACCESS_ON_DEMAND);
		what = "the file's own mapping, on demand (ODP)";
	}
	if (!mr)
		FAIL("ibv_reg_mr() on %s: %s\n", what, strerror(errno));
	STEP("pinned 4 MiB as handle %u; ibv_reg_mr() on %s succeeded (rkey %#x)\n",
	     handle, what, mr->rkey);
	strcpy(map + 4096, "written through daxpin");
	if (pread(ffd, buf, sizeof(buf), 4096) < 0)
		FAIL("pread: %s\n", strerror(errno));
	STEP("the file reads back: \"%s\"\n", buf);

	/* 3. A truncate waits for the pin. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	child = fork();
	if (child == 0) {
		/* Another program, as an administrator would run it. */
		closefrom(3);
		execlp("truncate", "truncate", "-s", "2M", path, (char *)NULL);
		_exit(127);
	}
	pfd.fd = dfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1 || daxpin_read_events(dfd, &ev, 1) != 1)
		FAIL("no recall event\n");
	STEP("truncate() started in pid %d; recall event for handle %u after %.1f ms\n",
	     child, ev.handle, ms_since(&t0));
	usleep(300 * 1000);
	if (waitpid(child, &status, WNOHANG) != 0)
		FAIL("the truncate did not wait\n");
	STEP("truncate still waiting after %.0f ms; deregistering and unpinning\n",
	     ms_since(&t0));
	ibv_dereg_mr(mr);
	ret = daxpin_unpin(dfd, handle);
	if (ret)
		FAIL("DAXPIN_UNPIN: %s\n", strerror(-ret));
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		FAIL("truncate failed\n");
	STEP("truncate completed %.1f ms after it started; file size now %lld\n",
	     ms_since(&t0), (long long)lseek(ffd, 0, SEEK_END));
	munmap(map, SIZE);
	munmap(plain, SIZE);
	close(ffd);
	unlink(path);
	ibv_dealloc_pd(pd);
	ibv_close_device(ibctx);
	close(dfd);
	STEP("done\n");
	return 0;
}
