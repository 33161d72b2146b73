// SPDX-License-Identifier: GPL-2.0
/*
 * Seeing pins: what /proc/PID/fdinfo of a daxpin file shows its owner
 * (docs/ioctl.md, "fdinfo"), the tracepoints daxpin:pin, unpin, recall,
 * revoke and drain through tracefs, and daxpinctl. perf's view of the
 * tracepoints is perf.c's.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Once per kernel: fdinfo, tracepoints and daxpinctl: what the kernel's
 * tracing and page references give differs by kernel, not by file system.
 */
DAXPIN_RUNS_ON(kernel);

#define FILE_SIZE	(4 * 1024 * 1024UL)
/* Pins in the upper half: a truncate to half the size recalls them. */
#define PIN_OFF		(3 * 1024 * 1024UL)
#define PROMPT_MS	10000
#define LONG_DEADLINE	60000

/* One daxpin-pin line of fdinfo. */
struct fdinfo_pin {
	unsigned int handle, maj, min, reason;
	unsigned long long ino, off, len, age_ms;
	long long left_ms;
	int vmas;
	unsigned int dmabufs;
	char access[8], state[16];
	char holders[64];	/* pids, comma-separated, or "-" */
};

struct fdinfo {
	unsigned int pins;
	unsigned long long bytes;
	unsigned long events;
	int nr_lines;	/* daxpin-pin lines */
	int bad_lines;	/* daxpin- lines that do not parse */
	struct fdinfo_pin line[8];
};

/* Parse /proc/self/fdinfo/@fd: 0, or -1 if it cannot be read. */
static int read_fdinfo(int fd, struct fdinfo *fi)
{
	char path[64], buf[8192], *line, *save = NULL;
	int have = 0;

	memset(fi, 0, sizeof(*fi));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_small_file(path, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct fdinfo_pin *p = &fi->line[fi->nr_lines];
		int end = 0;

		if (sscanf(line, "daxpin-pins:\t%u%n", &fi->pins, &end) == 1 &&
		    !line[end]) {
			have |= 1;
		} else if (sscanf(line, "daxpin-pinned-bytes:\t%llu%n",
				  &fi->bytes, &end) == 1 && !line[end]) {
			have |= 2;
		} else if (sscanf(line, "daxpin-pending-events:\t%lu%n",
				  &fi->events, &end) == 1 && !line[end]) {
			have |= 4;
		} else if (!strncmp(line, "daxpin-pin:\t", 12)) {
			if (fi->nr_lines < 8 &&
			    sscanf(line, "daxpin-pin:\thandle=%u dev=%u:%u ino=%llu offset=%llx length=%llx access=%7s state=%15s deadline_left_ms=%lld revoke_reason=%u age_ms=%llu vmas=%d dmabufs=%u holders=%63s%n",
				   &p->handle, &p->maj, &p->min, &p->ino,
				   &p->off, &p->len, p->access, p->state,
				   &p->left_ms, &p->reason, &p->age_ms,
				   &p->vmas, &p->dmabufs, p->holders,
				   &end) == 14 &&
			    !line[end])
				fi->nr_lines++;
			else
				fi->bad_lines++;
		} else if (!strncmp(line, "daxpin", 6)) {
			fi->bad_lines++;
		}
	}
	/* The three counts are always there. */
	if (have != 7)
		fi->bad_lines++;
	return 0;
}

static const struct fdinfo_pin *fdinfo_find(const struct fdinfo *fi,
					    unsigned int handle)
{
	int i;

	for (i = 0; i < fi->nr_lines; i++)
		if (fi->line[i].handle == handle)
			return &fi->line[i];
	return NULL;
}

FIXTURE(admin) {
	int dfd;
	int ffd;
	char path[4096];
	struct stat st;
};

FIXTURE_SETUP(admin)
{
	const char *dir = env_or_die("DAXPIN_DAX_DIR");

	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(dir, "admin-test", FILE_SIZE, self->path,
			      sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	ASSERT_EQ(0, fill_file(self->ffd, 'a', FILE_SIZE));
	ASSERT_EQ(0, fstat(self->ffd, &self->st));
}

FIXTURE_TEARDOWN(admin)
{
	close(self->dfd);
	close(self->ffd);
	unlink(self->path);
}

/* The line of a pin names its file, range, access and state. */
static void check_line(struct __test_metadata *_metadata,
		       const struct fdinfo_pin *p, const struct stat *st,
		       uint64_t off, uint64_t len, const char *access,
		       const char *state)
{
	ASSERT_NE(NULL, p);
	EXPECT_EQ(major(st->st_dev), p->maj);
	EXPECT_EQ(minor(st->st_dev), p->min);
	EXPECT_EQ((unsigned long long)st->st_ino, p->ino);
	EXPECT_EQ(off, p->off);
	EXPECT_EQ(len, p->len);
	EXPECT_STREQ(access, p->access);
	EXPECT_STREQ(state, p->state);
}

/* A daxpin file shows its own pins, counts and bytes; UNPIN takes one away. */
TEST_F(admin, fdinfo_lists_own_pins)
{
	struct daxpin_pin a, b;
	struct fdinfo fi;
	int other;

	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	EXPECT_EQ(0u, fi.pins);
	EXPECT_EQ(0ull, fi.bytes);
	EXPECT_EQ(0, fi.nr_lines);

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &a));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 16 * PAGE, 3 * PAGE, 0,
			       LONG_DEADLINE, &b));
	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	EXPECT_EQ(2u, fi.pins);
	EXPECT_EQ(4 * PAGE, fi.bytes);
	EXPECT_EQ(0ul, fi.events);
	EXPECT_EQ(2, fi.nr_lines);
	check_line(_metadata, fdinfo_find(&fi, a.out_handle), &self->st, 0,
		   PAGE, "rw", "active");
	check_line(_metadata, fdinfo_find(&fi, b.out_handle), &self->st,
		   16 * PAGE, 3 * PAGE, "ro", "active");
	EXPECT_EQ(-1, fdinfo_find(&fi, a.out_handle)->left_ms);
	EXPECT_EQ(0u, fdinfo_find(&fi, a.out_handle)->reason);
	/* Made a moment ago: an age well under a minute. */
	EXPECT_GT(60000ull, fdinfo_find(&fi, a.out_handle)->age_ms);

	/* Another daxpin file of the same process has none of them. */
	other = daxpin_open();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, read_fdinfo(other, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	EXPECT_EQ(0u, fi.pins);
	EXPECT_EQ(0, fi.nr_lines);
	close(other);

	ASSERT_EQ(0, unpin(self->dfd, a.out_handle));
	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	EXPECT_EQ(1u, fi.pins);
	EXPECT_EQ(3 * PAGE, fi.bytes);
	EXPECT_EQ(1, fi.nr_lines);
	EXPECT_EQ(NULL, fdinfo_find(&fi, a.out_handle));
	check_line(_metadata, fdinfo_find(&fi, b.out_handle), &self->st,
		   16 * PAGE, 3 * PAGE, "ro", "active");
	ASSERT_EQ(0, unpin(self->dfd, b.out_handle));
	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0u, fi.pins);
	EXPECT_EQ(0, fi.nr_lines);
}

/* fdinfo's vmas and dmabufs of one pin, -1 each if it is not listed. */
static void fdinfo_exposure(struct __test_metadata *_metadata, int dfd,
			    unsigned int handle, int *vmas, int *dmabufs)
{
	const struct fdinfo_pin *p;
	struct fdinfo fi;

	*vmas = -1;
	*dmabufs = -1;
	ASSERT_EQ(0, read_fdinfo(dfd, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	p = fdinfo_find(&fi, handle);
	ASSERT_NE(NULL, p);
	*vmas = p->vmas;
	*dmabufs = (int)p->dmabufs;
}

/*
 * How daxpin exposes a pin: fdinfo counts the VMAs mapping it now (split
 * ones too, a child's copy not: it maps nothing) and its dma-bufs.
 */
TEST_F(admin, fdinfo_counts_mappings_and_dmabufs)
{
	int vmas, dmabufs, pipefd[2], status, buf_fd;
	struct daxpin_pin pin;
	pid_t child;
	char *p;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, 4 * PAGE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &pin));
	fdinfo_exposure(_metadata, self->dfd, pin.out_handle, &vmas, &dmabufs);
	EXPECT_EQ(0, vmas);
	EXPECT_EQ(0, dmabufs);

	p = daxpin_map(self->dfd, pin.out_handle, 0, 4 * PAGE,
		       PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, p);
	fdinfo_exposure(_metadata, self->dfd, pin.out_handle, &vmas, &dmabufs);
	EXPECT_EQ(1, vmas);
	/* Split in three. */
	ASSERT_EQ(0, mprotect(p + PAGE, PAGE, PROT_READ));
	fdinfo_exposure(_metadata, self->dfd, pin.out_handle, &vmas, &dmabufs);
	EXPECT_EQ(3, vmas);

	/*
	 * A child's copy of the mapping is not counted: it maps nothing.
	 * 7.2 refuses MADV_DOFORK on the pin's mapping (VM_PFNMAP from 6.15
	 * on, driver/compat.h): no copy to count there.
	 */
	if (madvise(p, 4 * PAGE, MADV_DOFORK)) {
		ASSERT_EQ(EINVAL, errno);
		TH_LOG("MADV_DOFORK refused: no child's copy to count");
	} else {
		ASSERT_EQ(0, pipe(pipefd));
		child = fork();
		ASSERT_LE(0, child);
		if (child == 0) {
			char c;

			close(pipefd[1]);
			_exit(read(pipefd[0], &c, 1) == 0 ? 0 : 1);
		}
		close(pipefd[0]);
		fdinfo_exposure(_metadata, self->dfd, pin.out_handle, &vmas,
				&dmabufs);
		EXPECT_EQ(3, vmas);
		close(pipefd[1]);
		ASSERT_EQ(child, waitpid(child, &status, 0));
		EXPECT_EQ(0, status);
	}

	ASSERT_EQ(0, munmap(p, 4 * PAGE));
	fdinfo_exposure(_metadata, self->dfd, pin.out_handle, &vmas, &dmabufs);
	EXPECT_EQ(0, vmas);

	buf_fd = daxpin_export_dmabuf(self->dfd, pin.out_handle, 0, 2 * PAGE,
				      DAXPIN_EXPORT_DMABUF_CLOEXEC);
	ASSERT_LE(0, buf_fd) TH_LOG("export: %s", strerror(-buf_fd));
	fdinfo_exposure(_metadata, self->dfd, pin.out_handle, &vmas, &dmabufs);
	EXPECT_EQ(0, vmas);
	EXPECT_EQ(1, dmabufs);
	/* The last reference goes with the close (its fput runs before). */
	close(buf_fd);
	fdinfo_exposure(_metadata, self->dfd, pin.out_handle, &vmas, &dmabufs);
	EXPECT_EQ(0, dmabufs);
	ASSERT_EQ(0, unpin(self->dfd, pin.out_handle));
}

/* Lines of @path that start with @prefix (and are ours, if @pid_first). */
static long count_lines(const char *path, const char *prefix, int pid_first)
{
	char *line = NULL;
	size_t cap = 0;
	long n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		if (pid_first ? atoi(line) == pid_first :
		    !strncmp(line, prefix, strlen(prefix)))
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

/*
 * Listings of a file with many pins: every pin listed once, in fdinfo and
 * in /proc/daxpin. The walks pause (daxpin_walk_pause()) whenever the
 * scheduler wants the CPU; on the debug kernel lockdep and
 * DEBUG_ATOMIC_SLEEP check that they sleep under no spinlock. Nothing
 * forces a pause: a busy thread on the same CPU did, but the guests then
 * crashed under emulation in later tests (docs/bench.md). As many pins as
 * MANY_PINS_S seconds make, up to MANY_PINS (the debug kernel under
 * emulation makes far fewer).
 */
#define MANY_PINS	20000
#define MANY_PINS_S	10
TEST_F_TIMEOUT(admin, listings_of_many_pins, 300)
{
	uint64_t t0 = now_ns(), end = t0 + MANY_PINS_S * 1000000000ull;
	unsigned int pins = 0;
	char path[64], line[128];
	long lines;
	FILE *f;
	int n;

	for (n = 0; n < MANY_PINS && (n < 200 || now_ns() < end); n++)
		ASSERT_EQ(0, pin_range(self->dfd, self->ffd,
				       (n % (FILE_SIZE / PAGE)) * PAGE, PAGE, 0,
				       LONG_DEADLINE, NULL)) TH_LOG("pin %d", n);
	TH_LOG("%d pins in %.1f s", n, (now_ns() - t0) / 1e9);

	t0 = now_ns();
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", self->dfd);
	lines = count_lines(path, "daxpin-pin:\t", 0);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "daxpin-pins:\t%u", &pins) == 1)
			break;
	fclose(f);
	EXPECT_EQ(n, lines);
	EXPECT_EQ((unsigned int)n, pins);
	EXPECT_EQ(n, count_lines("/proc/daxpin", NULL, getpid()));
	TH_LOG("fdinfo twice and /proc/daxpin once: %.1f s",
	       (now_ns() - t0) / 1e9);
}

/*
 * A truncate recalls the pin: fdinfo shows it recalled with its time left
 * and the event pending; past the deadline it is revoked, holds no bytes,
 * and both events are pending until read.
 */
TEST_F(admin, fdinfo_recall_and_revoke)
{
	const unsigned int deadline = 1500;
	struct pollfd pfd = { .fd = self->dfd, .events = POLLIN };
	const struct fdinfo_pin *p;
	struct daxpin_event ev;
	struct daxpin_pin pin;
	struct fdinfo fi;
	pid_t child;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_OFF, 2 * PAGE,
			       DAXPIN_PIN_WRITE, deadline, &pin));
	child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, child);
	ASSERT_EQ(1, poll(&pfd, 1, PROMPT_MS));

	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	EXPECT_EQ(1ul, fi.events);
	p = fdinfo_find(&fi, pin.out_handle);
	check_line(_metadata, p, &self->st, PIN_OFF, 2 * PAGE, "rw",
		   "recalled");
	EXPECT_LE(0, p->left_ms);
	EXPECT_GE((long long)deadline, p->left_ms);
	EXPECT_EQ(2 * PAGE, fi.bytes);

	/* The truncate goes on once the pin is revoked. */
	EXPECT_EQ(0, wait_child(child, deadline + PROMPT_MS));
	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	EXPECT_EQ(1u, fi.pins);
	EXPECT_EQ(0ull, fi.bytes);
	EXPECT_EQ(2ul, fi.events);
	p = fdinfo_find(&fi, pin.out_handle);
	check_line(_metadata, p, &self->st, PIN_OFF, 2 * PAGE, "rw",
		   "revoked");
	EXPECT_EQ(-1, p->left_ms);
	EXPECT_EQ((unsigned int)DAXPIN_REVOKE_DEADLINE, p->reason);

	ASSERT_EQ(0, next_event(self->dfd, 0, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	ASSERT_EQ(0, next_event(self->dfd, 0, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);
	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0ul, fi.events);
	ASSERT_EQ(0, unpin(self->dfd, pin.out_handle));
}

/* ---- tracepoints --------------------------------------------------- */

#define TRACEFS		"/sys/kernel/tracing"
/* A trace instance of our own: its buffer is ours alone. */
#define INSTANCE	TRACEFS "/instances/daxpin-selftest"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

/* Mount tracefs if need be: 0, or why not in @why. */
static int tracefs_ready(char *why, size_t len)
{
	struct stat st;

	if (stat(TRACEFS "/events", &st) &&
	    mount("tracefs", TRACEFS, "tracefs", 0, NULL)) {
		snprintf(why, len, "cannot mount tracefs on %s: %s", TRACEFS,
			 strerror(errno));
		return -1;
	}
	if (stat(TRACEFS "/events/daxpin", &st)) {
		snprintf(why, len, "%s/events/daxpin is missing", TRACEFS);
		return -1;
	}
	return 0;
}

/* The whole trace buffer of the instance, NUL-terminated, malloc()ed. */
static char *read_trace(void)
{
	size_t cap = 1 << 20, done = 0;
	char *buf = malloc(cap);
	int fd = open(INSTANCE "/trace", O_RDONLY);
	ssize_t n;

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + done, cap - 1 - done)) > 0)
		done += n;
	close(fd);
	buf[done] = 0;
	return buf;
}

/*
 * The first line of @buf with event @event of the pin that also holds
 * @extra (if not NULL), or NULL.
 */
static const char *find_event_with(const char *buf, const char *event,
				   const struct stat *st, unsigned int handle,
				   const char *extra)
{
	char want[128], key[160];
	const char *p;

	snprintf(want, sizeof(want), "dev=%u:%u ino=%llu ", major(st->st_dev),
		 minor(st->st_dev), (unsigned long long)st->st_ino);
	snprintf(key, sizeof(key), " %s: %s", event, want);
	for (p = strstr(buf, key); p; p = strstr(p + 1, key)) {
		const char *eol = strchrnul(p, '\n');
		char h[32];
		const char *hp;

		snprintf(h, sizeof(h), "handle=%u ", handle);
		hp = strstr(p, h);
		if (!hp || hp >= eol)
			continue;
		hp = extra ? strstr(p, extra) : p;
		if (hp && hp < eol)
			return p;
	}
	return NULL;
}

static const char *find_event(const char *buf, const char *event,
			      const struct stat *st, unsigned int handle)
{
	return find_event_with(buf, event, st, handle, NULL);
}

/*
 * pin, recall (in the truncating task, with its pid and the deadline),
 * revoke (reason 1, deadline) and unpin fire, each once, naming the pin.
 */
TEST_F(admin, tracepoints_fire)
{
	const unsigned int deadline = 1000;
	struct daxpin_pin pin;
	char why[256], want[64];
	const char *line;
	pid_t child;
	char *buf;

	if (tracefs_ready(why, sizeof(why)))
		SKIP(return, "%s", why);
	rmdir(INSTANCE);
	ASSERT_EQ(0, mkdir(INSTANCE, 0700)) TH_LOG("mkdir %s: %s", INSTANCE,
						   strerror(errno));
	ASSERT_EQ(0, write_str(INSTANCE "/events/daxpin/enable", "1"));

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_OFF, PAGE,
			       DAXPIN_PIN_WRITE, deadline, &pin));
	child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, child);
	EXPECT_EQ(0, wait_child(child, deadline + PROMPT_MS));
	ASSERT_EQ(0, unpin(self->dfd, pin.out_handle));
	ASSERT_EQ(0, write_str(INSTANCE "/events/daxpin/enable", "0"));

	buf = read_trace();
	ASSERT_NE(NULL, buf);
	line = find_event(buf, "pin", &self->st, pin.out_handle);
	EXPECT_NE(NULL, line);
	if (line) {
		snprintf(want, sizeof(want), "owner=%d ", getpid());
		EXPECT_NE(NULL, strstr(line, want));
		EXPECT_NE(NULL, strstr(line, "access=rw "));
	}
	line = find_event(buf, "recall", &self->st, pin.out_handle);
	EXPECT_NE(NULL, line);
	if (line) {
		snprintf(want, sizeof(want), "recaller=%d ", child);
		EXPECT_NE(NULL, strstr(line, want));
		EXPECT_NE(NULL, strstr(line, "deadline_ms=1000"));
	}
	line = find_event(buf, "revoke", &self->st, pin.out_handle);
	EXPECT_NE(NULL, line);
	if (line)
		EXPECT_NE(NULL, strstr(line, "reason=1"));
	EXPECT_NE(NULL, find_event(buf, "unpin", &self->st, pin.out_handle));
	if (_metadata->passed == 0)
		TH_LOG("trace:\n%s", buf);
	free(buf);
	EXPECT_EQ(0, rmdir(INSTANCE));
}

/*
 * Splice the first page of @map (a pin's mapping) into a new pipe @p, which
 * then holds a reference on it, unmap it and UNPIN the pin: it drains
 * until the pipe lets the page go. 0, or -1.
 */
static int splice_and_unpin(int dfd, uint32_t handle, char *map, int p[2])
{
	struct iovec iov = { .iov_base = map, .iov_len = PAGE };

	if (pipe(p) || vmsplice(p[1], &iov, 1, 0) != (ssize_t)PAGE)
		return -1;
	munmap(map, PAGE);
	return unpin(dfd, handle);
}

/*
 * drain: a pipe holds a reference on a page of the pin's mapping
 * (vmsplice), as an RDMA registration would; UNPIN ends the pin, which
 * drains (busy=1) until the pipe is read, and is released then (busy=0).
 * fdinfo no longer lists the handle meanwhile.
 */
TEST_F(admin, drain_tracepoint_fires)
{
	int p[2], registrable = map_registrable(), i;
	const char *busy;
	bool idle = false;
	struct daxpin_pin pin;
	struct fdinfo fi;
	char why[256];
	char *map, *buf = NULL;

	ASSERT_LE(0, registrable);
	if (!registrable)
		SKIP(return, "%s: nothing outside daxpin can take a page reference through the mapping",
		     NO_MAP_REGISTRATION);
	if (tracefs_ready(why, sizeof(why)))
		SKIP(return, "%s", why);
	rmdir(INSTANCE);
	ASSERT_EQ(0, mkdir(INSTANCE, 0700));
	ASSERT_EQ(0, write_str(INSTANCE "/events/daxpin/drain/enable", "1"));

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_OFF, PAGE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &pin));
	map = daxpin_map(self->dfd, pin.out_handle, 0, PAGE, PROT_READ);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, splice_and_unpin(self->dfd, pin.out_handle, map, p));
	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0u, fi.pins);

	buf = read_trace();
	ASSERT_NE(NULL, buf);
	busy = find_event_with(buf, "drain", &self->st, pin.out_handle,
			       " busy=1");
	EXPECT_NE(NULL, busy) TH_LOG("trace:\n%s", buf);
	free(buf);

	/* The pipe lets the page go: released within a few polls. */
	{
		char page[PAGE];

		ASSERT_EQ((ssize_t)PAGE, read(p[0], page, PAGE));
	}
	for (i = 0; i < 100 && !idle; i++) {
		usleep(50000);
		buf = read_trace();
		ASSERT_NE(NULL, buf);
		idle = find_event_with(buf, "drain", &self->st,
				       pin.out_handle, " busy=0") != NULL;
		free(buf);
	}
	EXPECT_TRUE(idle);
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(0, write_str(INSTANCE "/events/daxpin/drain/enable", "0"));
	EXPECT_EQ(0, rmdir(INSTANCE));
}

/* The /proc/daxpin line of pin @handle on inode @ino: 0, or -1 if none. */
static int proc_line_of(unsigned long long ino, unsigned int handle,
			char *buf, size_t len)
{
	unsigned long long i;
	unsigned int h;
	int found = -1;
	FILE *f = fopen("/proc/daxpin", "r");

	if (!f)
		return -1;
	while (found && fgets(buf, len, f))
		if (sscanf(buf, "%*d %u %*s %*u:%*u:%llu", &h, &i) == 2 &&
		    h == handle && i == ino)
			found = 0;
	fclose(f);
	return found;
}

/*
 * Whom a pin's pages wait for. A pin mapped by this process lists it as
 * its holder (fdinfo, /proc/daxpin); after UNPIN, with a page of it
 * spliced into a pipe, the pin drains, and /proc/daxpin names the process
 * that made it (never pid 0) and this process as the holder, until the
 * pipe lets the page go.
 */
TEST_F(admin, draining_pin_names_its_holder)
{
	char line[4400], holders[64], state[16], self_pid[16], page[PAGE];
	int p[2], registrable = map_registrable(), i, pid = 0;
	const struct fdinfo_pin *fp;
	struct daxpin_pin pin;
	struct fdinfo fi;
	bool gone = false;
	char *map;

	ASSERT_LE(0, registrable);
	if (!registrable)
		SKIP(return, "%s: nothing outside daxpin can take a page reference through the mapping",
		     NO_MAP_REGISTRATION);
	snprintf(self_pid, sizeof(self_pid), "%d", getpid());
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_OFF, PAGE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &pin));
	map = daxpin_map(self->dfd, pin.out_handle, 0, PAGE, PROT_READ);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, read_fdinfo(self->dfd, &fi));
	EXPECT_EQ(0, fi.bad_lines);
	fp = fdinfo_find(&fi, pin.out_handle);
	ASSERT_NE(NULL, fp);
	EXPECT_STREQ(self_pid, fp->holders);

	ASSERT_EQ(0, splice_and_unpin(self->dfd, pin.out_handle, map, p));

	/* pid handle state dev:ino ... dmabufs holders */
	ASSERT_EQ(0, proc_line_of(self->st.st_ino, pin.out_handle, line,
				  sizeof(line)));
	ASSERT_EQ(2, sscanf(line, "%d %*u %15s", &pid, state));
	EXPECT_STREQ("draining", state);
	EXPECT_EQ(getpid(), pid) TH_LOG("line: %s", line);
	ASSERT_EQ(1, sscanf(strrchr(line, ' ') + 1, "%63s", holders));
	EXPECT_STREQ(self_pid, holders) TH_LOG("line: %s", line);

	/* The pipe lets the page go: the pin is released within a few polls. */
	ASSERT_EQ((ssize_t)PAGE, read(p[0], page, PAGE));
	for (i = 0; i < 100 && !gone; i++) {
		usleep(50000);
		gone = proc_line_of(self->st.st_ino, pin.out_handle, line,
				    sizeof(line)) < 0;
	}
	EXPECT_TRUE(gone);
	close(p[0]);
	close(p[1]);
}

/* ---- daxpinctl ------------------------------------------------------ */

/* build/userlib/daxpinctl, next to this program's build/selftests. */
static int daxpinctl_path(char *buf, size_t len)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	snprintf(buf, len, "%s/../userlib/daxpinctl", exe);
	return access(buf, X_OK);
}

/*
 * Run daxpinctl with @args (up to 6), then python3's JSON parser on what
 * it printed, through @script (which reads the file named by sys.argv[1]):
 * what the script prints goes to @out. The exit status of the first that
 * fails, or 0; *@why says which.
 */
static int daxpinctl_json(const char *base, char *const args[],
			  const char *script, char *out, size_t outlen,
			  const char **why)
{
	char ctl[4200], json[4200], res[4200];
	char *argv[10];
	int i, n = 0, status;

	if (daxpinctl_path(ctl, sizeof(ctl))) {
		*why = "no daxpinctl";
		return -ENOENT;
	}
	snprintf(json, sizeof(json), "%s.json", base);
	snprintf(res, sizeof(res), "%s.res", base);
	argv[n++] = ctl;
	for (i = 0; args[i] && n < 8; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	*why = "daxpinctl";
	status = run_prog(argv, json);
	if (!status) {
		char *const py[] = { "python3", "-c", (char *)script, json,
				     NULL };

		*why = "python3";
		status = run_prog(py, res);
	}
	if (read_small_file(status ? (*why[0] == 'd' ? json : res) : res,
			    out, outlen) < 0)
		out[0] = 0;
	unlink(json);
	unlink(res);
	return status;
}

/* One pin of daxpinctl's JSON as a line: every column, in this order. */
static const char py_pins[] =
	"import json, sys\n"
	"d = json.load(open(sys.argv[1]))\n"
	"key = 'pins' if 'pins' in d else 'waits_for'\n"
	"for p in d[key]:\n"
	"    v = [p[k] for k in ('pid', 'command', 'handle', 'state',\n"
	"         'access', 'dev', 'inode', 'start', 'end', 'length',\n"
	"         'deadline_left_ms', 'age_ms', 'revoke_reason',\n"
	"         'mem_bytes', 'via', 'vmas', 'dmabufs', 'path')]\n"
	"    print(' '.join('null' if x is None else str(x) for x in v))\n";

struct ctl_pin {
	int pid;
	char command[32], state[16], access[8], dev[32], left[32], via[16];
	unsigned int handle, reason, vmas, dmabufs;
	unsigned long long ino, start, end, length, age, mem;
	char path[4096];
};

/* Parse the lines py_pins printed: how many, or -1 if one is malformed. */
static int parse_ctl_pins(char *buf, struct ctl_pin *p, int max)
{
	char *line, *save = NULL;
	int n = 0;

	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (n == max)
			return -1;
		if (sscanf(line, "%d %31s %u %15s %7s %31s %llu %llu %llu %llu %31s %llu %u %llu %15s %u %u %4095s",
			   &p[n].pid, p[n].command, &p[n].handle, p[n].state,
			   p[n].access, p[n].dev, &p[n].ino, &p[n].start,
			   &p[n].end, &p[n].length, p[n].left, &p[n].age,
			   &p[n].reason, &p[n].mem, p[n].via, &p[n].vmas,
			   &p[n].dmabufs, p[n].path) != 18)
			return -1;
		n++;
	}
	return n;
}

static void check_ctl_pin(struct __test_metadata *_metadata,
			  const struct ctl_pin *p, const struct stat *st,
			  const char *path, unsigned int handle,
			  uint64_t off, uint64_t len, const char *access,
			  const char *state)
{
	char dev[32];

	snprintf(dev, sizeof(dev), "%u:%u", major(st->st_dev),
		 minor(st->st_dev));
	EXPECT_EQ(getpid(), p->pid);
	/* The selftest program's own name, from /proc/PID/comm. */
	EXPECT_STREQ("admin", p->command);
	EXPECT_EQ(handle, p->handle);
	EXPECT_STREQ(state, p->state);
	EXPECT_STREQ(access, p->access);
	EXPECT_STREQ(dev, p->dev);
	EXPECT_EQ((unsigned long long)st->st_ino, p->ino);
	EXPECT_EQ(off, p->start);
	EXPECT_EQ(off + len - 1, p->end);
	EXPECT_EQ(len, p->length);
	EXPECT_GT(60000ull, p->age);
	EXPECT_LT(0ull, p->mem);
	EXPECT_STREQ(path, p->path);
}

/* daxpinctl --json -p PID lists exactly our pins, every field right. */
TEST_F(admin, daxpinctl_json_lists_pins)
{
	char pidstr[16], out[16384];
	char *args[] = { "--json", "-p", pidstr, NULL };
	struct ctl_pin cp[4];
	struct daxpin_pin a, b;
	const char *why;
	int n, status, i, buf_fd;
	void *map;

	snprintf(pidstr, sizeof(pidstr), "%d", getpid());
	if (access("/usr/bin/python3", X_OK))
		SKIP(return, "no python3 to parse daxpinctl's JSON");
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &a));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 16 * PAGE, 3 * PAGE, 0,
			       LONG_DEADLINE, &b));
	status = daxpinctl_json(self->path, args, py_pins, out, sizeof(out),
				&why);
	ASSERT_EQ(0, status) TH_LOG("%s: %s", why, out);
	n = parse_ctl_pins(out, cp, 4);
	ASSERT_EQ(2, n) TH_LOG("daxpinctl: %s", out);
	i = cp[0].handle == a.out_handle ? 0 : 1;
	check_ctl_pin(_metadata, &cp[i], &self->st, self->path, a.out_handle,
		      0, PAGE, "rw", "active");
	check_ctl_pin(_metadata, &cp[1 - i], &self->st, self->path,
		      b.out_handle, 16 * PAGE, 3 * PAGE, "ro", "active");
	EXPECT_STREQ("null", cp[0].left);
	EXPECT_EQ(0u, cp[0].reason);
	for (i = 0; i < 2; i++) {
		EXPECT_STREQ("-", cp[i].via);
		EXPECT_EQ(0u, cp[i].vmas);
		EXPECT_EQ(0u, cp[i].dmabufs);
	}

	/* a mapped, b exported: how each reaches a device. */
	map = daxpin_map(self->dfd, a.out_handle, 0, PAGE, PROT_READ);
	ASSERT_NE(NULL, map);
	buf_fd = daxpin_export_dmabuf(self->dfd, b.out_handle, 0, PAGE,
				      DAXPIN_EXPORT_DMABUF_CLOEXEC);
	ASSERT_LE(0, buf_fd) TH_LOG("export: %s", strerror(-buf_fd));
	status = daxpinctl_json(self->path, args, py_pins, out, sizeof(out),
				&why);
	ASSERT_EQ(0, status) TH_LOG("%s: %s", why, out);
	ASSERT_EQ(2, parse_ctl_pins(out, cp, 4)) TH_LOG("daxpinctl: %s", out);
	i = cp[0].handle == a.out_handle ? 0 : 1;
	EXPECT_STREQ("map", cp[i].via);
	EXPECT_EQ(1u, cp[i].vmas);
	EXPECT_EQ(0u, cp[i].dmabufs);
	EXPECT_STREQ("dmabuf", cp[1 - i].via);
	EXPECT_EQ(0u, cp[1 - i].vmas);
	EXPECT_EQ(1u, cp[1 - i].dmabufs);
	close(buf_fd);
	ASSERT_EQ(0, munmap(map, PAGE));

	/* Unpinned: gone from the listing. */
	ASSERT_EQ(0, unpin(self->dfd, a.out_handle));
	status = daxpinctl_json(self->path, args, py_pins, out, sizeof(out),
				&why);
	ASSERT_EQ(0, status) TH_LOG("%s: %s", why, out);
	ASSERT_EQ(1, parse_ctl_pins(out, cp, 4));
	EXPECT_EQ(b.out_handle, cp[0].handle);
	ASSERT_EQ(0, unpin(self->dfd, b.out_handle));
}

/*
 * daxpinctl why FILE names the recalled pin a truncate of FILE waits for,
 * with its owner and time left; nothing once the truncate is done.
 */
TEST_F(admin, daxpinctl_why_names_recalled_pin)
{
	char *args[] = { "why", "--json", self->path, NULL };
	struct ctl_pin cp[4];
	struct daxpin_event ev;
	struct daxpin_pin pin, other;
	char out[16384], opath[4096];
	const char *why;
	long long left;
	int status, ofd;
	pid_t child;

	if (access("/usr/bin/python3", X_OK))
		SKIP(return, "no python3 to parse daxpinctl's JSON");
	/*
	 * A pin of another file is not listed. (Not one of this file out of
	 * the truncate's range: XFS unmaps the whole file for a truncate,
	 * which recalls every pin of it.)
	 */
	ofd = make_file(env_or_die("DAXPIN_DAX_DIR"), "admin-other", PAGE,
			opath, sizeof(opath));
	ASSERT_LE(0, ofd);
	/* Written: a read-only pin of a hole is refused (ENODATA). */
	ASSERT_EQ(0, fill_file(ofd, 'o', PAGE));
	ASSERT_EQ(0, pin_range(self->dfd, ofd, 0, PAGE, 0, LONG_DEADLINE,
			       &other));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_OFF, 2 * PAGE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &pin));
	status = daxpinctl_json(self->path, args, py_pins, out, sizeof(out),
				&why);
	ASSERT_EQ(0, status) TH_LOG("%s: %s", why, out);
	EXPECT_EQ(0, parse_ctl_pins(out, cp, 4)) TH_LOG("%s", out);

	child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, child);
	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	ASSERT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	status = daxpinctl_json(self->path, args, py_pins, out, sizeof(out),
				&why);
	EXPECT_EQ(0, status) TH_LOG("%s: %s", why, out);
	if (!status) {
		EXPECT_EQ(1, parse_ctl_pins(out, cp, 4)) TH_LOG("%s", out);
		check_ctl_pin(_metadata, &cp[0], &self->st, self->path,
			      pin.out_handle, PIN_OFF, 2 * PAGE, "rw",
			      "recalled");
		left = strtoll(cp[0].left, NULL, 10);
		EXPECT_LE(0, left);
		EXPECT_GE(LONG_DEADLINE, left);
	}
	EXPECT_EQ(0, unpin(self->dfd, pin.out_handle));
	EXPECT_EQ(0, wait_child(child, PROMPT_MS));
	status = daxpinctl_json(self->path, args, py_pins, out, sizeof(out),
				&why);
	ASSERT_EQ(0, status) TH_LOG("%s: %s", why, out);
	EXPECT_EQ(0, parse_ctl_pins(out, cp, 4)) TH_LOG("%s", out);
	EXPECT_EQ(0, unpin(self->dfd, other.out_handle));
	close(ofd);
	unlink(opath);
}

/* daxpinctl status --json: the module, a parameter, the node, memlock. */
TEST_F(admin, daxpinctl_status_json)
{
	static const char py_status[] =
		"import json, sys\n"
		"d = json.load(open(sys.argv[1]))\n"
		"m = d['memlock']['soft']\n"
		"print(d['module']['loaded'], d['parameters']['max_pins'],\n"
		"      d['parameters']['default_deadline_ms'],\n"
		"      d['device']['mode'], d['device']['exists'],\n"
		"      'null' if m is None else m, d['module']['version'])\n";
	char *args[] = { "status", "--json", NULL };
	char out[4096], want[256], limit[32], version[64];
	struct rlimit rl;
	struct stat st;
	const char *why;
	int status;

	if (access("/usr/bin/python3", X_OK))
		SKIP(return, "no python3 to parse daxpinctl's JSON");
	ASSERT_EQ(0, stat(DAXPIN_DEVICE_PATH, &st));
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &rl));
	/* MODULE_VERSION, dkms.conf's release (the host tests compare). */
	ASSERT_LT(0, read_small_file("/sys/module/daxpin/version", version,
				     sizeof(version)));
	version[strcspn(version, "\n")] = 0;
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(limit, sizeof(limit), "null");
	else
		snprintf(limit, sizeof(limit), "%llu",
			 (unsigned long long)rl.rlim_cur);
	snprintf(want, sizeof(want), "True %ld %ld %04o True %s %s\n",
		 module_param_read("max_pins"),
		 module_param_read("default_deadline_ms"),
		 st.st_mode & 07777, limit, version);
	status = daxpinctl_json(self->path, args, py_status, out, sizeof(out),
				&why);
	ASSERT_EQ(0, status) TH_LOG("%s: %s", why, out);
	EXPECT_STREQ(want, out);
}

/*
 * daxpinctl watch -J -p PID -c 2 prints our pin and its recall, one JSON
 * object a line, as they happen, and leaves no trace instance behind.
 */
TEST_F_TIMEOUT(admin, daxpinctl_watch_sees_pin_and_recall, 200)
{
	char ctl[4200], inst[128], enable[200], why[256], buf[4096], want[64];
	char out[] = "/tmp/daxpinctl-watch.out", pidarg[16];
	const unsigned int deadline = 1000;
	struct daxpin_pin pin;
	char *argv[9];
	uint64_t end;
	pid_t watcher, child;
	int status, fd, lines = 0;
	ssize_t n;

	if (tracefs_ready(why, sizeof(why)))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, daxpinctl_path(ctl, sizeof(ctl)));
	snprintf(pidarg, sizeof(pidarg), "%d", getpid());
	argv[0] = ctl;
	argv[1] = "-J";
	argv[2] = "-p";
	argv[3] = pidarg;
	argv[4] = "-c";
	argv[5] = "2";
	argv[6] = "watch";
	argv[7] = NULL;
	watcher = start_prog(argv, out);
	ASSERT_LT(0, watcher);
	/* Its instance's recall event on: from then on nothing is missed. */
	snprintf(inst, sizeof(inst), TRACEFS "/instances/daxpinctl-%d",
		 watcher);
	snprintf(enable, sizeof(enable), "%s/events/daxpin/recall/enable",
		 inst);
	/* A new instance makes a file per event: slow on the debug kernel. */
	end = now_ns() + 6 * PROMPT_MS * 1000000ull;
	while ((read_small_file(enable, buf, sizeof(buf)) < 0 || buf[0] != '1') &&
	       now_ns() < end)
		usleep(10000);
	ASSERT_EQ('1', buf[0]) TH_LOG("daxpinctl watch never enabled %s",
				      enable);

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_OFF, PAGE,
			       DAXPIN_PIN_WRITE, deadline, &pin));
	child = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, child);
	EXPECT_EQ(0, wait_child(child, deadline + PROMPT_MS));
	/*
	 * After its second event it turns its events off and removes its
	 * instance: tracepoints are unpatched on every CPU (text_poke_bp),
	 * which took over 10 s on the debug kernel.
	 */
	status = wait_child(watcher, 6 * PROMPT_MS);
	EXPECT_EQ(0, unpin(self->dfd, pin.out_handle));
	fd = open(out, O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	TH_LOG("daxpinctl watch printed:\n%s", buf);
	ASSERT_LE(0, status) TH_LOG("daxpinctl watch did not end after 2 events");
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_LT(0, n);
	EXPECT_NE(NULL, strstr(buf, "{\"time\": "));
	EXPECT_NE(NULL, strstr(buf, "\"event\": \"pin\""));
	EXPECT_NE(NULL, strstr(buf, "\"event\": \"recall\""));
	snprintf(want, sizeof(want), "\"owner\": %d,", getpid());
	EXPECT_NE(NULL, strstr(buf, want));
	snprintf(want, sizeof(want), "\"recaller\": %d,", child);
	EXPECT_NE(NULL, strstr(buf, want));
	snprintf(want, sizeof(want), "\"handle\": %u,", pin.out_handle);
	EXPECT_NE(NULL, strstr(buf, want));
	/* Two lines, two events: -c 2 stopped it. */
	for (n = 0; buf[n]; n++)
		lines += buf[n] == '\n';
	EXPECT_EQ(2, lines);
	EXPECT_NE(0, access(inst, F_OK)) TH_LOG("%s is left behind", inst);
	unlink(out);
}

TEST_HARNESS_MAIN
