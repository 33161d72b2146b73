/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the daxpin selftests. The bench (bench/guest/init.sh)
 * runs every test program with:
 *   DAXPIN_DAX_DIR    a directory on the DAX file system under test
 *   DAXPIN_NODAX_DIR  the same file system type, mounted without DAX
 *   DAXPIN_FS         xfs or ext4
 *   DAXPIN_RDMA_DEV   the soft-RoCE device (rxe0)
 * and, for the RDMA tests under valgrind, DAXPIN_TEST_SLOW (test_slowdown()).
 */
#ifndef DAXPIN_SELFTEST_COMMON_H
#define DAXPIN_SELFTEST_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/daxpin.h>
#include "libdaxpin.h"

/*
 * Where `make check` runs this program (docs/bench.md, "Where each test
 * runs"). Every test program says it once, at file scope:
 *   DAXPIN_RUNS_ON(every)   every kernel and file system of
 *                           bench/kernels.list: its outcome can differ by
 *                           kernel or by file system (a row of
 *                           docs/compatibility.md);
 *   DAXPIN_RUNS_ON(kernel)  every kernel, on the first file system of its
 *                           line: it can differ by kernel, not by file
 *                           system;
 *   DAXPIN_RUNS_ON(one)     one configuration, the first kernel's first file
 *                           system: its outcome cannot differ (argument
 *                           checking, measurements of userspace);
 *   DAXPIN_RUNS_ON(debug)   the debug kernels only (KASAN, lockdep,
 *                           kmemleak, fault injection).
 * `make check-full` runs every program everywhere; T=NAME runs the programs
 * it names wherever it is asked to. The bench reads the string from the
 * binary (bench/lib.sh, program_runs_on); the selftests' Makefile refuses a
 * program that says none.
 */
#define DAXPIN_RUNS_ON(where)						\
	static const char daxpin_runs_on[] __attribute__((used)) =	\
		"daxpin-runs-on=" #where ";"

static inline const char *env_or_die(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		fprintf(stderr, "# %s is not set: run this test from the bench\n",
			name);
		exit(1);
	}
	return v;
}

/* Read a small file into @buf, NUL-terminated: its length, or -1. */
static inline ssize_t read_small_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

/*
 * Write a line to the kernel log, for the bench's judge (bench/report.sh):
 * "expect-warning REGEX" opens a window in which kernel WARNINGs whose
 * line matches REGEX are expected (and listed, not counted as failures);
 * "expect-warning-end" closes it. Any other report inside still fails.
 */
static inline void kmsg_mark(const char *text)
{
	char line[256];
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd < 0)
		return;
	snprintf(line, sizeof(line), "daxpin-selftest: %s\n", text);
	if (write(fd, line, strlen(line)) < 0)
		perror("/dev/kmsg");
	close(fd);
}

/* Whether the running kernel is at least @major.@minor. */
/*
 * How many times longer than usual a step may take: $DAXPIN_TEST_SLOW, set
 * by the bench where the tests run under valgrind; else 1.
 */
static inline int test_slowdown(void)
{
	const char *v = getenv("DAXPIN_TEST_SLOW");
	int n = v ? atoi(v) : 1;

	return n > 1 ? n : 1;
}

/*
 * The LD_PRELOAD shim: $DAXPIN_PRELOAD_LIB, else
 * ../userlib/libdaxpin-preload.so next to this binary (the bench's
 * build/selftests and build/userlib). 0, or -errno if it is not there.
 */
#define PRELOAD_SHIM_REL	"/../userlib/libdaxpin-preload.so"

static inline int preload_shim_path(char *buf, size_t len)
{
	const char *v = getenv("DAXPIN_PRELOAD_LIB");
	char exe[4096], *slash;
	ssize_t n;

	if (v && *v) {
		snprintf(buf, len, "%s", v);
	} else {
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return -errno;
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		if (strlen(exe) + sizeof(PRELOAD_SHIM_REL) > len)
			return -ENAMETOOLONG;
		strcpy(buf, exe);
		strcat(buf, PRELOAD_SHIM_REL);
	}
	return access(buf, R_OK) ? -errno : 0;
}

static inline int kernel_at_least(int major, int minor)
{
	struct utsname uts;
	int ma = 0, mi = 0;

	if (uname(&uts) || sscanf(uts.release, "%d.%d", &ma, &mi) != 2)
		return -1;
	return ma > major || (ma == major && mi >= minor);
}

/*
 * Whether a pin's mapping takes a pinning (non-ODP) ibv_reg_mr():
 * DAXPIN_FEATURE_MAP_REGISTRABLE, kernels before 6.15.
 */
static inline int map_registrable(void)
{
	struct daxpin_info info;
	int fd = daxpin_open(), ret;

	if (fd < 0)
		return fd;
	ret = daxpin_get_info(fd, &info);
	close(fd);
	if (ret)
		return ret;
	return !!(info.features & DAXPIN_FEATURE_MAP_REGISTRABLE);
}

#define NO_MAP_REGISTRATION \
	"a pin's mapping takes no pinning registration on this kernel (no DAXPIN_FEATURE_MAP_REGISTRABLE)"

/* Read a module parameter as an unsigned number, or -1. */
static inline long module_param_read(const char *name)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/module/daxpin/parameters/%s", name);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return -1;
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	return strtol(buf, NULL, 0);
}

/* Write a module parameter: 0 or -errno. */
static inline int module_param_write(const char *name, const char *value)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/daxpin/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

/*
 * 7.x refuses a pin of a dma-buf to an importer that cannot be revoked (a
 * static one, as the test importer is without DTI_ATTACH_DYNAMIC) unless
 * the admin lets it (unrevocable_importers): the tests that map one let it
 * around the mapping. 0 or -errno.
 */
static inline int let_unrevocable_importers(int on)
{
	return module_param_write("unrevocable_importers", on ? "1" : "0");
}

/* ioctl() that returns -errno, so EXPECT_EQ(-EINVAL, ...) reads well. */
static inline int ioctl_err(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* ---- pins ---------------------------------------------------------- */
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/fs.h>

#define PAGE 4096UL

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* A new file of @size bytes in @dir (left holes: pins allocate). */
static inline int make_file(const char *dir, const char *name, size_t size,
			    char *path, size_t pathlen)
{
	int fd;

	snprintf(path, pathlen, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Write @len bytes of @c from the start of @fd: 0 or -errno. */
static inline int fill_file(int fd, int c, size_t len)
{
	char buf[64 * 1024];
	size_t done, n;

	memset(buf, c, sizeof(buf));
	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (pwrite(fd, buf, n, done) != (ssize_t)n)
			return -errno;
	}
	return 0;
}

static inline int pin_range(int dfd, int ffd, uint64_t off, uint64_t len,
			    uint32_t flags, uint32_t deadline_ms,
			    struct daxpin_pin *out)
{
	struct daxpin_pin p = {
		.size = sizeof(p), .flags = flags, .file_fd = ffd,
		.deadline_ms = deadline_ms, .offset = off, .length = len,
	};
	int ret = ioctl_err(dfd, DAXPIN_PIN, &p);

	if (out)
		*out = p;
	return ret;
}

static inline int unpin(int dfd, uint32_t handle)
{
	struct daxpin_unpin u = { .size = sizeof(u), .handle = handle };

	return ioctl_err(dfd, DAXPIN_UNPIN, &u);
}

static inline int query(int dfd, uint32_t handle, struct daxpin_query *q)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->handle = handle;
	return ioctl_err(dfd, DAXPIN_QUERY, q);
}

/* Wait up to @ms for an event and read one. 0, -ETIMEDOUT or -errno. */
static inline int next_event(int dfd, int ms, struct daxpin_event *ev)
{
	struct pollfd pfd = { .fd = dfd, .events = POLLIN };
	int n = poll(&pfd, 1, ms);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	if (read(dfd, ev, sizeof(*ev)) != sizeof(*ev))
		return -errno;
	return 0;
}

/*
 * The first of daxpin's keeper windows in this process (its address range
 * in /proc/self/maps): 0, or -1 if there is none.
 */
static inline int find_keeper_window(unsigned long *start, unsigned long *end)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	int ret = -1;

	if (!maps)
		return -1;
	while (ret && fgets(line, sizeof(line), maps))
		if (strstr(line, "[daxpin-keeper]") &&
		    sscanf(line, "%lx-%lx", start, end) == 2)
			ret = 0;
	fclose(maps);
	return ret;
}

/*
 * The next event that is not a WRITE_BREAK: reflink and dedupe break
 * daxpin's layout lease (XFS reports it as for a write) before they recall.
 */
static inline int next_event_skip_breaks(int dfd, int ms,
					 struct daxpin_event *ev)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	int ret;

	do {
		uint64_t now = now_ns();

		ret = next_event(dfd, now < end ? (end - now) / 1000000 : 0, ev);
	} while (!ret && ev->type == DAXPIN_EVENT_WRITE_BREAK);
	return ret;
}

/*
 * Fork a child that runs a layout-changing @op on @path and exits with 0
 * on success or the errno. The parent gets the pid.
 */
enum layout_op {
	OP_TRUNCATE, OP_PUNCH, OP_COLLAPSE, OP_INSERT, OP_ZERO, OP_PWRITE,
	/* Extent sharing (XFS with reflink): see share_op(). */
	OP_CLONE_ONTO, OP_CLONE_FROM, OP_DEDUPE,
};

/* The scratch file an extent-sharing op on @path uses. */
static inline void share_path(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s.share", path);
}

/*
 * The extent-sharing ops, on the first @len bytes of @fd (the file at
 * @path), with a scratch file: clone the scratch file's blocks onto it,
 * clone its blocks into the scratch file, or dedupe it against a scratch
 * copy of its data. The first two change its block map, the third makes
 * its blocks shared. Returns 0 or an errno.
 */
static inline int share_op(const char *path, int fd, enum layout_op op,
			   off_t len)
{
	struct file_clone_range fcr = { .src_length = len };
	struct file_dedupe_range *dr;
	char other[4200], *buf;
	int ofd, ret = 0;

	share_path(other, sizeof(other), path);
	ofd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0644);
	buf = malloc(len);
	if (ofd < 0 || !buf) {
		ret = ofd < 0 ? errno : ENOMEM;
		goto out;
	}
	if (op == OP_DEDUPE) {
		if (pread(fd, buf, len, 0) != len)
			ret = EIO;
	} else {
		memset(buf, 'd', len);
	}
	if (!ret && op != OP_CLONE_FROM && pwrite(ofd, buf, len, 0) != len)
		ret = EIO;
	if (ret)
		goto out;

	switch (op) {
	case OP_CLONE_ONTO:
		fcr.src_fd = ofd;
		ret = ioctl(fd, FICLONERANGE, &fcr) ? errno : 0;
		break;
	case OP_CLONE_FROM:
		ret = ioctl(ofd, FICLONE, fd) ? errno : 0;
		break;
	default:
		dr = calloc(1, sizeof(*dr) + sizeof(dr->info[0]));
		if (!dr) {
			ret = ENOMEM;
			break;
		}
		dr->src_length = len;
		dr->dest_count = 1;
		dr->info[0].dest_fd = fd;
		if (ioctl(ofd, FIDEDUPERANGE, dr))
			ret = errno;
		else if (dr->info[0].status == -512)
			/* A signal: the kernel's ERESTARTSYS leaks out here. */
			ret = EINTR;
		else if (dr->info[0].status < 0)
			ret = -dr->info[0].status;
		else if (dr->info[0].status == FILE_DEDUPE_RANGE_DIFFERS)
			ret = EBADE;
		else if (dr->info[0].bytes_deduped != (__u64)len)
			ret = ERANGE;
		free(dr);
		break;
	}
out:
	free(buf);
	if (ofd >= 0)
		close(ofd);
	unlink(other);
	return ret;
}

/* Whether the file system holding @dir can share extents (reflink). */
static inline int fs_shares_extents(const char *dir)
{
	char path[4096];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/reflink-probe", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 0;
	ret = ftruncate(fd, PAGE) == 0 && share_op(path, fd, OP_CLONE_FROM,
						   PAGE) == 0;
	close(fd);
	unlink(path);
	return ret;
}

/*
 * A race of extent sharing against faults or PINs of a file of RACE_FILE
 * bytes: share_race_child() shares its first RACE_LEN bytes (reflink onto
 * or from it, or dedupe) over and over, and every eighth time truncates it
 * and writes it anew, so that freed blocks are reused.
 */
#define RACE_FILE	(1024 * 1024UL)
#define RACE_LEN	(256 * 1024UL)
#define RACE_SECONDS	5

/*
 * What the racing child and its parent share: the child counts the
 * sharing operations that succeeded, and runs until the parent's end (a
 * CLOCK_MONOTONIC time in ns), which the parent may move: later while the
 * race has not been tried both ways (a loaded host is slow), or to 0 to
 * stop it.
 */
struct race_shared {
	unsigned long shares;
	uint64_t end_ns;
};

static inline void race_set_end(struct race_shared *race, uint64_t end_ns)
{
	__atomic_store_n(&race->end_ns, end_ns, __ATOMIC_RELAXED);
}

/* The child: share blocks with the file until the parent's end. */
static inline void share_race_child(const char *path, enum layout_op op,
				    struct race_shared *race)
{
	int fd = open(path, O_RDWR), n;

	if (fd < 0)
		_exit(1);
	for (n = 1; now_ns() < __atomic_load_n(&race->end_ns, __ATOMIC_RELAXED);
	     n++) {
		if (share_op(path, fd, op, RACE_LEN) == 0)
			__atomic_add_fetch(&race->shares, 1, __ATOMIC_RELAXED);
		if (n % 8 == 0 && (ftruncate(fd, 0) ||
				   fill_file(fd, 'f', RACE_FILE)))
			_exit(2);
	}
	_exit(0);
}

/* The memory the child and its parent share, ending at @end_ns. */
static inline struct race_shared *race_shared_new(uint64_t end_ns)
{
	struct race_shared *race = mmap(NULL, sizeof(*race),
					PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (race == MAP_FAILED)
		return NULL;
	race->shares = 0;
	race->end_ns = end_ns;
	return race;
}

static inline int run_op(const char *path, enum layout_op op, off_t size)
{
	int fd = open(path, O_RDWR);
	int ret = 0;

	if (fd < 0)
		return errno;
	switch (op) {
	case OP_TRUNCATE:
		ret = ftruncate(fd, size / 2);
		break;
	case OP_PUNCH:
		ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				0, size / 2);
		break;
	case OP_COLLAPSE:
		ret = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, size / 2);
		break;
	case OP_INSERT:
		ret = fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, size / 2);
		break;
	case OP_ZERO:
		ret = fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, size / 2);
		break;
	case OP_PWRITE:
		ret = pwrite(fd, "x", 1, 0) == 1 ? 0 : -1;
		break;
	case OP_CLONE_ONTO:
	case OP_CLONE_FROM:
	case OP_DEDUPE:
		ret = share_op(path, fd, op, size / 2);
		close(fd);
		return ret;
	}
	ret = ret ? errno : 0;
	close(fd);
	return ret;
}

/*
 * The child closes what it inherited: a daxpin file it kept open would
 * keep the very pins it waits for alive.
 */
static inline pid_t spawn_op(const char *path, enum layout_op op, off_t size)
{
	pid_t pid = fork();

	if (pid == 0) {
		closefrom(3);
		_exit(run_op(path, op, size));
	}
	return pid;
}

/* Start @argv[0] with stdout and stderr to @out: its pid, or -errno. */
static inline pid_t start_prog(char *const argv[], const char *out)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		closefrom(3);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Run @argv[0] to its end, output to @out: its wait status, or -errno. */
static inline int run_prog(char *const argv[], const char *out)
{
	pid_t pid = start_prog(argv, out);
	int status;

	if (pid < 0)
		return pid;
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return status;
}

/* waitpid() with a timeout: the exit status, or -ETIMEDOUT. */
static inline int wait_child(pid_t pid, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	int status;

	do {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0)
			return -errno;
		usleep(2000);
	} while (now_ns() < end);
	return -ETIMEDOUT;
}

/* A process's user+system CPU time in clock ticks, from /proc. */
static inline long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

/*
 * Whether touching @p (reading, or writing a byte with @write) raises
 * SIGBUS: 1 if it does, 0 if the access went through.
 */
#include <setjmp.h>
static sigjmp_buf touch_jmp;

static inline void touch_on_sigbus(int sig)
{
	siglongjmp(touch_jmp, 1);
}

static inline int touch_sigbus(volatile char *p, int write)
{
	struct sigaction sa = { .sa_handler = touch_on_sigbus }, old;
	int hit = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(touch_jmp, 1))
		hit = 1;
	else if (write)
		*p = 1;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return hit;
}

/* VmPin of /proc/self/status in kB, or -1. */
static inline long vm_pinned_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ---- 2 MiB DAX entries ----------------------------------------------- */
#include <sys/resource.h>
#include <linux/fiemap.h>

#define PMD_BYTES	(2UL << 20)

/*
 * How many 2 MiB-aligned 2 MiB chunks of [@off, @off + @len) of @fd lie in
 * one extent whose block is 2 MiB-aligned at that chunk (file offset and
 * physical address congruent modulo 2 MiB): the chunks the file system can
 * map with a 2 MiB DAX entry. Physically adjacent extents count as one.
 * -1 with errno if FIEMAP fails.
 */
static inline long aligned_chunks(int fd, uint64_t off, uint64_t len)
{
	const unsigned int max = 256;
	struct fiemap *fm = calloc(1, sizeof(*fm) +
				   max * sizeof(struct fiemap_extent));
	uint64_t c, first = (off + PMD_BYTES - 1) & ~(PMD_BYTES - 1);
	long n = 0;
	unsigned int i;

	if (!fm)
		return -1;
	fm->fm_start = off;
	fm->fm_length = len;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = max;
	if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
		free(fm);
		return -1;
	}
	for (c = first; c + PMD_BYTES <= off + len; c += PMD_BYTES) {
		for (i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];
			uint64_t lo = e->fe_logical, hi = lo + e->fe_length;
			uint64_t phys = e->fe_physical;
			unsigned int j = i;

			/* Merge the physically adjacent extents after it. */
			while (j + 1 < fm->fm_mapped_extents &&
			       fm->fm_extents[j + 1].fe_logical == hi &&
			       fm->fm_extents[j + 1].fe_physical ==
			       phys + (hi - lo)) {
				j++;
				hi += fm->fm_extents[j].fe_length;
			}
			if (lo <= c && c + PMD_BYTES <= hi &&
			    !((phys + (c - lo)) & (PMD_BYTES - 1))) {
				n++;
				break;
			}
		}
	}
	free(fm);
	return n;
}

/* This process's minor faults so far (GUP's faults in system calls too). */
static inline long minor_faults(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_minflt;
}

/*
 * The corruption checks' refill: after blocks were freed, fill the file
 * system with files @dir/@prefix-N of 'R' until it is full, so that a
 * stale store into the freed blocks lands in one of them. How many files
 * (the last one partial), or -ENOMEM.
 */
#define REFILL_FILE	(8 * 1024 * 1024UL)

static inline int refill_fs(const char *dir, const char *prefix)
{
	char path[4096], *buf = malloc(REFILL_FILE);
	int i, fd;

	if (!buf)
		return -ENOMEM;
	memset(buf, 'R', REFILL_FILE);
	for (i = 0; i < 1000; i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s-%d", dir, prefix, i);
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

/* How often @needle (@len bytes) is in the refill files; removes them. */
static inline long refill_scan_and_remove(const char *dir, const char *prefix,
					  int nfiles, const void *needle,
					  size_t len)
{
	char path[4096], *buf = malloc(REFILL_FILE);
	long hits = 0;
	int i, fd;

	for (i = 0; buf && i < nfiles; i++) {
		ssize_t n;
		char *p;

		snprintf(path, sizeof(path), "%s/%s-%d", dir, prefix, i);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, REFILL_FILE);
		close(fd);
		unlink(path);
		for (p = buf; n > 0 && (p = memmem(p, buf + n - p, needle, len));
		     p += len)
			hits++;
	}
	free(buf);
	return hits;
}

#endif /* DAXPIN_SELFTEST_COMMON_H */
