// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: walk every unwind path of DAXPIN_PIN and of
 * DAXPIN_EXPORT_DMABUF. With the kernel's
 * fault injection (CONFIG_FAULT_INJECTION: the bench's debug kernel) and
 * the module loaded with test_hooks=1, writing N to
 * /proc/thread-self/fail-nth fails the Nth fault point this thread passes,
 * daxpin's or the kernel's. For N = 1, 2, ... until a PIN passes them all,
 * the PIN must fail cleanly: an error, nothing charged, no handle used,
 * nothing listed. kmemleak then checks that nothing leaked.
 */
#include "kselftest_harness.h"
#include "common.h"

/*
 * The debug kernel: fault injection (CONFIG_FAULT_INJECTION): only the
 * debug kernel has it.
 */
DAXPIN_RUNS_ON(debug);

#define FAIL_NTH	"/proc/thread-self/fail-nth"

/*
 * The kernel's own fault points (failslab, fail_page_alloc) count for
 * fail-nth too: keep their injected failures out of the kernel log, which
 * the bench judges (a stack dump each, by default).
 */
static void quiet_kernel_fault_points(void)
{
	static const char *const knobs[] = {
		"/sys/kernel/debug/failslab/verbose",
		"/sys/kernel/debug/fail_page_alloc/verbose",
	};
	unsigned int i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		int fd = open(knobs[i], O_WRONLY);

		if (fd < 0)
			continue;
		if (write(fd, "0", 1) != 1)
			perror(knobs[i]);
		close(fd);
	}
}

/* Arm the Nth fault point of this thread (0 disarms): 0 or -errno. */
static int fail_nth_set(unsigned int n)
{
	char v[16];
	int fd, ret = 0;

	fd = open(FAIL_NTH, O_WRONLY);
	if (fd < 0)
		return -errno;
	snprintf(v, sizeof(v), "%u", n);
	if (write(fd, v, strlen(v)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* How many fault points are left before the armed one, or -1. */
static long fail_nth_left(void)
{
	char buf[32];

	if (read_small_file(FAIL_NTH, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* Lines of /proc/daxpin owned by this process. */
static int proc_pins_of_self(void)
{
	char line[4400];
	int n = 0, pid;
	FILE *f = fopen("/proc/daxpin", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d", &pid) == 1 && pid == getpid())
			n++;
	fclose(f);
	return n;
}

/*
 * The failures left no handle behind: with max_pins at 1, one pin can be
 * made and a second is refused. (Handles are allocated cyclically, so the
 * handle's value says nothing.)
 */
static void no_handle_left_behind(struct __test_metadata *_metadata,
				  const char *dir, int dfd)
{
	struct daxpin_pin p, p2;
	char path[4096], old[32];
	int ffd = make_file(dir, "fault-test", 64 * PAGE, path, sizeof(path));

	ASSERT_LE(0, ffd);
	snprintf(old, sizeof(old), "%ld", module_param_read("max_pins"));
	ASSERT_EQ(0, module_param_write("max_pins", "1"));
	EXPECT_EQ(0, pin_range(dfd, ffd, 0, PAGE, DAXPIN_PIN_WRITE, 0, &p));
	EXPECT_EQ(-ENOSPC, pin_range(dfd, ffd, PAGE, PAGE, DAXPIN_PIN_WRITE,
				     0, &p2));
	EXPECT_EQ(0, module_param_write("max_pins", old));
	EXPECT_EQ(0, unpin(dfd, p.out_handle));
	close(ffd);
	unlink(path);
}

FIXTURE(fault) {
};

FIXTURE_SETUP(fault)
{
}

FIXTURE_TEARDOWN(fault)
{
}

/*
 * Hundreds of PINs, each on a new file, on the KASAN kernel under
 * emulation: a generous bound.
 */
TEST_F_TIMEOUT(fault, pin_walks_every_unwind, 600)
{
	const char *dir = env_or_die("DAXPIN_DAX_DIR");
	struct daxpin_pin p;
	int dfd, nth, points = 0, tolerated = 0;

	ASSERT_EQ(1, module_param_read("test_hooks"));
	if (access(FAIL_NTH, W_OK))
		SKIP(return, "kernel without CONFIG_FAULT_INJECTION (no %s): the debug kernel runs this",
		     FAIL_NTH);
	quiet_kernel_fault_points();
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	for (nth = 1; nth < 300; nth++) {
		long before = vm_pinned_kb(), left;
		char path[4096];
		int ffd, ret;

		/* A new file each time: the inode and keeper paths run too. */
		ffd = make_file(dir, "fault-test", 64 * PAGE, path, sizeof(path));
		ASSERT_LE(0, ffd);
		ASSERT_EQ(0, fail_nth_set(nth));
		ret = pin_range(dfd, ffd, 0, 16 * PAGE, DAXPIN_PIN_WRITE, 0, &p);
		left = fail_nth_left();
		ASSERT_EQ(0, fail_nth_set(0));
		if (ret == 0) {
			EXPECT_EQ(0, unpin(dfd, p.out_handle));
			close(ffd);
			unlink(path);
			/* No fault point was left to fail: all walked. */
			if (left > 0)
				break;
			/*
			 * A kernel fault point whose failure the kernel
			 * handles (an xarray's GFP_NOWAIT node allocation
			 * retried with GFP_KERNEL): PIN is right to succeed.
			 */
			tolerated++;
			continue;
		}
		points++;
		/* Mostly daxpin's points (ENOMEM); the kernel's may differ. */
		EXPECT_GT(0, ret) TH_LOG("failure point %d", nth);
		if (ret != -ENOMEM)
			TH_LOG("failure point %d: %s", nth, strerror(-ret));
		EXPECT_EQ(0, left);
		EXPECT_EQ(before, vm_pinned_kb()) TH_LOG("failure point %d", nth);
		EXPECT_EQ(0, proc_pins_of_self()) TH_LOG("failure point %d", nth);
		close(ffd);
		unlink(path);
	}
	TH_LOG("PIN failed cleanly at %d fault points; %d more (the kernel's) it rightly survived",
	       points, tolerated);
	EXPECT_LE(10, points);
	EXPECT_GT(300, nth);
	no_handle_left_behind(_metadata, dir, dfd);
	close(dfd);
}

/* Open file descriptors of this process. */
static int open_fds(void)
{
	int n = 0, fd;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

/*
 * DAXPIN_EXPORT_DMABUF, each fault point failed in turn: an error, no file
 * descriptor, nothing counted against the pin (with max_dmabufs_per_pin
 * at 1, one export can be made afterwards and a second is refused).
 */
TEST_F_TIMEOUT(fault, export_dmabuf_walks_every_unwind, 300)
{
	const char *dir = env_or_die("DAXPIN_DAX_DIR");
	int dfd, ffd, fd, nth, points = 0, tolerated = 0;
	struct daxpin_export_dmabuf e;
	struct daxpin_pin p;
	char path[4096], old[32];

	ASSERT_EQ(1, module_param_read("test_hooks"));
	if (access(FAIL_NTH, W_OK))
		SKIP(return, "kernel without CONFIG_FAULT_INJECTION (no %s): the debug kernel runs this",
		     FAIL_NTH);
	quiet_kernel_fault_points();
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	ffd = make_file(dir, "fault-test", 64 * PAGE, path, sizeof(path));
	ASSERT_LE(0, ffd);
	ASSERT_EQ(0, pin_range(dfd, ffd, 0, 16 * PAGE, DAXPIN_PIN_WRITE, 0, &p));
	/*
	 * One export first: it records this process among the pin's
	 * mappers, an allocation the later exports do not make, so that
	 * each N below reaches the same fault point every time.
	 */
	fd = daxpin_export_dmabuf(dfd, p.out_handle, 0, PAGE, 0);
	ASSERT_LE(0, fd);
	close(fd);
	for (nth = 1; nth < 100; nth++) {
		int fds = open_fds(), ret;
		long left;

		memset(&e, 0, sizeof(e));
		e.size = sizeof(e);
		e.handle = p.out_handle;
		e.length = 16 * PAGE;
		e.out_fd = -1;
		ASSERT_EQ(0, fail_nth_set(nth));
		ret = ioctl_err(dfd, DAXPIN_EXPORT_DMABUF, &e);
		left = fail_nth_left();
		ASSERT_EQ(0, fail_nth_set(0));
		if (ret == 0) {
			close(e.out_fd);
			if (left > 0)
				break;
			tolerated++;
			continue;
		}
		points++;
		EXPECT_GT(0, ret) TH_LOG("failure point %d", nth);
		if (ret != -ENOMEM)
			TH_LOG("failure point %d: %s", nth, strerror(-ret));
		EXPECT_EQ(0, left);
		/* No descriptor installed, and the dma-buf (if made) gone. */
		EXPECT_EQ(fds, open_fds()) TH_LOG("failure point %d", nth);
	}
	TH_LOG("EXPORT_DMABUF failed cleanly at %d fault points; %d more (the kernel's) it rightly survived",
	       points, tolerated);
	/* daxpin's: after the allocation, before the export, before the reply. */
	EXPECT_LE(3, points);
	EXPECT_GT(100, nth);

	snprintf(old, sizeof(old), "%ld", module_param_read("max_dmabufs_per_pin"));
	ASSERT_EQ(0, module_param_write("max_dmabufs_per_pin", "1"));
	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.handle = p.out_handle;
	e.length = PAGE;
	EXPECT_EQ(0, ioctl_err(dfd, DAXPIN_EXPORT_DMABUF, &e));
	fd = e.out_fd;
	EXPECT_EQ(-ENOSPC, ioctl_err(dfd, DAXPIN_EXPORT_DMABUF, &e));
	EXPECT_EQ(0, module_param_write("max_dmabufs_per_pin", old));
	close(fd);
	EXPECT_EQ(0, unpin(dfd, p.out_handle));
	close(ffd);
	unlink(path);
	close(dfd);
}

TEST_HARNESS_MAIN
