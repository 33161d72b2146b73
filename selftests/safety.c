// SPDX-License-Identifier: GPL-2.0
/*
 * Safety against a hostile or broken holder (product semantics 8): what a
 * process can do with daxpin's mappings in its address space, with its
 * daxpin files and at exit, must hurt only its own pins, leave no wait
 * unbounded, and never make the kernel warn. Also the small contract
 * points that a careless implementation gets wrong: executable mappings,
 * O_RDONLY daxpin files, handle reuse, and events lost on EFAULT.
 *
 * Each test states what must hold; docs/safety-failing-first.md says how
 * the driver of its time (keeper windows in the holder's mm) failed them.
 */
#include <grp.h>
#include <pthread.h>
#include <linux/userfaultfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: the threat table, on every kernel and file
 * system.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(4 * 1024 * 1024UL)
#define HALF		(FILE_SIZE / 2)
#define PROMPT_MS	5000
/* A deadline no test waits out when the driver does the right thing. */
#define LONG_DEADLINE_MS	30000
/* A truncate that waited for nothing finishes well within this. */
#define TRUNCATE_BOUND_S	10
#define TIB		(1ULL << 40)
#define MIB		(1ULL << 20)
#define MAX_REGIONS	64
#define SYS_MSEAL	462

FIXTURE(safety) {
	int dfd;
	int ffd;
	char path[4096];
	struct stat st;
};

FIXTURE_SETUP(safety)
{
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "safety-test",
			      FILE_SIZE, self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	ASSERT_EQ(0, fchmod(self->ffd, 0644));	/* readable by everyone */
	ASSERT_EQ(0, fstat(self->ffd, &self->st));
}

FIXTURE_TEARDOWN(safety)
{
	/* window_made_during_a_zap_hears_its_own may have failed midway. */
	if (module_param_read("test_zap_stall_ms") > 0)
		module_param_write("test_zap_stall_ms", "0");
	if (self->dfd >= 0)
		close(self->dfd);
	if (self->ffd >= 0)
		close(self->ffd);
	unlink(self->path);
}

/* ---- what of the pinned file is mapped in this process ---------------- */

struct region {
	unsigned long start, end;
	char line[256];
};

/*
 * The mappings of this process that reach the file @st describes: daxpin
 * keeper windows (by name) and any mapping of the file's inode (device and
 * inode columns of /proc/self/maps). Up to @max into @r; returns how many
 * there are, or -1.
 */
static int file_regions(const struct stat *st, struct region *r, int max)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4352];
	int n = 0;

	if (!maps)
		return -1;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end, ino;
		unsigned int maj, min;
		int is_file;

		if (sscanf(line, "%lx-%lx %*s %*x %x:%x %lu", &start, &end,
			   &maj, &min, &ino) != 5)
			continue;
		is_file = ino == st->st_ino && maj == major(st->st_dev) &&
			  min == minor(st->st_dev);
		if (!is_file && !strstr(line, "daxpin-keeper"))
			continue;
		if (n < max) {
			size_t len = strcspn(line, "\n");

			if (len >= sizeof(r[n].line))
				len = sizeof(r[n].line) - 1;
			r[n].start = start;
			r[n].end = end;
			memcpy(r[n].line, line, len);
			r[n].line[len] = 0;
		}
		n++;
	}
	fclose(maps);
	return n;
}

/* ---- /proc/daxpin -------------------------------------------------- */

/*
 * Lines of /proc/daxpin whose owner is @pid (if @pid > 0) or whose file
 * is the one @st describes (if @st). -1 if it cannot be read.
 */
static int proc_pins(pid_t pid, const struct stat *st)
{
	FILE *f = fopen("/proc/daxpin", "r");
	char line[4400];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int handle, maj, min;
		unsigned long ino;
		char state[16];
		int owner;

		if (sscanf(line, "%d %u %15s %u:%u:%lu", &owner, &handle, state,
			   &maj, &min, &ino) != 6)
			continue;
		if (pid > 0 && owner == pid)
			n++;
		else if (st && ino == st->st_ino && maj == major(st->st_dev) &&
			 min == minor(st->st_dev))
			n++;
	}
	fclose(f);
	return n;
}

/* Wait up to @ms until /proc/daxpin lists nothing of @pid: what is left. */
static int wait_proc_pins_gone(pid_t pid, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	int n;

	while ((n = proc_pins(pid, NULL)) > 0 && now_ns() < end)
		usleep(50 * 1000);
	return n;
}

/* ---- events -------------------------------------------------------- */

struct ev_count {
	int recall, revoked, other;
	unsigned int revoke_reason;
};

/*
 * Take every event queued on @dfd, waiting up to @ms for each further one
 * (0: only those already there), and count those of @handle by type.
 */
static void drain_events(int dfd, uint32_t handle, int ms, struct ev_count *c)
{
	struct daxpin_event ev;

	memset(c, 0, sizeof(*c));
	while (!next_event(dfd, ms, &ev)) {
		if (ev.handle != handle)
			continue;
		if (ev.type == DAXPIN_EVENT_RECALL) {
			c->recall++;
		} else if (ev.type == DAXPIN_EVENT_REVOKED) {
			c->revoked++;
			c->revoke_reason = ev.reason;
		} else {
			c->other++;
		}
	}
}

/* Wait up to @ms for pin @handle to reach @state: 0 or -ETIMEDOUT. */
static int wait_state(int dfd, uint32_t handle, uint32_t state, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;
	struct daxpin_query q;

	do {
		if (!query(dfd, handle, &q) && q.out_state == state)
			return 0;
		usleep(2000);
	} while (now_ns() < end);
	return -ETIMEDOUT;
}

/* ---- the kernel log ------------------------------------------------ */

/* /dev/kmsg, positioned after everything the kernel logged so far; or -1. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

#define KMSG_KEEP	8

/*
 * Kernel reports (warning, BUG, KASAN, oops, allocation failure, OOM)
 * logged since kmsg_open(): their number; the first KMSG_KEEP lines go
 * into @lines.
 */
static int kmsg_reports(int fd, char lines[KMSG_KEEP][160])
{
	static const char *const what[] = {
		"WARNING:", "BUG:", "KASAN", "UBSAN", "Oops", "kernel BUG",
		"general protection fault", "Call Trace:", "vmalloc error",
		"page allocation failure", "invoked oom-killer",
	};
	char rec[8192];
	unsigned int i;
	ssize_t r;
	int n = 0;

	if (fd < 0)
		return 0;
	for (;;) {
		char *msg;

		r = read(fd, rec, sizeof(rec) - 1);
		if (r < 0 && errno == EPIPE)	/* overwritten: go on */
			continue;
		if (r <= 0)
			break;
		rec[r] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		msg[strcspn(msg, "\n")] = 0;
		for (i = 0; i < sizeof(what) / sizeof(what[0]); i++)
			if (strstr(msg, what[i]))
				break;
		if (i == sizeof(what) / sizeof(what[0]))
			continue;
		if (n < KMSG_KEEP) {
			size_t len = strlen(msg);

			if (len >= sizeof(lines[n]))
				len = sizeof(lines[n]) - 1;
			memcpy(lines[n], msg, len);
			lines[n][len] = 0;
		}
		n++;
	}
	return n;
}

/* Expect no kernel report since kmsg_open(); log those there are. */
#define EXPECT_KMSG_CLEAN(kmsg) do {					\
	char _lines[KMSG_KEEP][160];					\
	int _n = kmsg_reports(kmsg, _lines), _i;			\
									\
	EXPECT_EQ(0, _n) {						\
		TH_LOG("the kernel logged %d report line(s):", _n);	\
		for (_i = 0; _i < _n && _i < KMSG_KEEP; _i++)		\
			TH_LOG("  kernel: %s", _lines[_i]);		\
	}								\
} while (0)

/* ---- no daxpin mapping of the file in the holder ----------------- */

/*
 * Nothing daxpin maps into the holder's address space reaches the pinned
 * file: no keeper window, no mapping of its inode. (Anything there is a
 * handle the holder - or whoever it forks - can pull on: see
 * holder_cannot_touch_keepers and other_process_cannot_recall_by_madvise.)
 */
TEST_F_TIMEOUT(safety, no_keeper_in_holder_mm, 60)
{
	struct region r[MAX_REGIONS];
	struct daxpin_pin p;
	char *map;
	int i, n;

	ASSERT_EQ(0, fill_file(self->ffd, 'k', HALF));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, HALF,
			       DAXPIN_PIN_WRITE, 0, &p));
	n = file_regions(&self->st, r, MAX_REGIONS);
	EXPECT_EQ(0, n) {
		TH_LOG("after PIN, %d mapping(s) of this process reach the pinned file:", n);
		for (i = 0; i < n && i < MAX_REGIONS; i++)
			TH_LOG("  %s", r[i].line);
	}

	map = mmap(NULL, HALF, PROT_READ | PROT_WRITE, MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 'K';
	EXPECT_EQ('K', map[0]);
	n = file_regions(&self->st, r, MAX_REGIONS);
	EXPECT_EQ(0, n) {
		TH_LOG("after mmap of the pin, %d mapping(s) reach the pinned file:", n);
		for (i = 0; i < n && i < MAX_REGIONS; i++)
			TH_LOG("  %s", r[i].line);
	}
	munmap(map, HALF);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

/* ---- exit with a pin mapped -------------------------------------- */

static void on_alarm(int sig)
{
}

/*
 * A holder exits with its pin mapped and never unpins: its exit ends the
 * pin. Nothing daxpin holds may keep the dead process's address space -
 * and through the mapping its daxpin file, and through that the pin -
 * alive, or a truncate would wait out the whole deadline for a holder
 * that can never answer.
 */
TEST_F_TIMEOUT(safety, exit_with_pin_mapped_releases_it, 120)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	uint64_t t0, took_ms;
	int status, ret, err, left;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct daxpin_pin p;
		int dfd, ffd;
		char *map;

		close(self->dfd);
		dfd = daxpin_open();
		ffd = open(self->path, O_RDWR);
		if (dfd < 0 || ffd < 0)
			_exit(10);
		if (pin_range(dfd, ffd, 0, HALF, DAXPIN_PIN_WRITE,
			      LONG_DEADLINE_MS, &p))
			_exit(11);
		map = mmap(NULL, HALF, PROT_READ | PROT_WRITE, MAP_SHARED, dfd,
			   p.out_mmap_offset);
		if (map == MAP_FAILED)
			_exit(12);
		memset(map, 'x', HALF);
		_exit(0);	/* no munmap, no UNPIN, no close */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	left = wait_proc_pins_gone(pid, PROMPT_MS);
	EXPECT_EQ(0, left) {
		TH_LOG("%d s after the holder (pid %d) exited, /proc/daxpin still lists %d pin(s) of it",
		       PROMPT_MS / 1000, pid, left);
	}

	/* The truncate, bounded by an alarm: a signal ends the wait. */
	sa.sa_flags = 0;	/* no SA_RESTART */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, &old));
	t0 = now_ns();
	alarm(TRUNCATE_BOUND_S);
	ret = ftruncate(self->ffd, HALF / 2);
	err = errno;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	took_ms = (now_ns() - t0) / 1000000;
	TH_LOG("truncate after the holder's exit: %s after %llu ms (pin deadline %d ms)",
	       ret ? strerror(err) : "done", (unsigned long long)took_ms,
	       LONG_DEADLINE_MS);
	EXPECT_EQ(0, ret) {
		TH_LOG("the truncate was still waiting after %d s (%s)",
		       TRUNCATE_BOUND_S, strerror(err));
	}
	EXPECT_GT(TRUNCATE_BOUND_S * 1000ull, took_ms);

	/* Whatever was left goes at its deadline: leave a clean system. */
	left = wait_proc_pins_gone(pid, LONG_DEADLINE_MS + 15000);
	EXPECT_EQ(0, left) {
		TH_LOG("the dead holder's pin outlived its deadline too");
	}
	if (ret) {
		t0 = now_ns();
		EXPECT_EQ(0, ftruncate(self->ffd, HALF / 2));
		TH_LOG("after the dead holder's pin went, a truncate took %llu ms",
		       (unsigned long long)(now_ns() - t0) / 1000000);
	}
}

/* ---- another process's madvise ----------------------------------- */

struct madvise_report {
	int uid;		/* the uid it ran as */
	int pin_err;		/* its own read-only PIN: 0 or -errno */
	int regions;		/* mappings that reach the file */
	int keepers;		/* of which daxpin keeper windows */
	int madvised;		/* MADV_DONTNEED calls that succeeded */
	int madvise_err;	/* the first errno of one that failed */
};

/*
 * Process B, which may read the file but holds none of A's pins, pins a
 * disjoint range of its own and then throws away (MADV_DONTNEED) every
 * mapping in its address space that reaches the file. That may end or
 * recall B's own pin; A's pin must not notice.
 */
static void madvise_attacker(const char *path, const struct stat *st,
			     int report_fd)
{
	struct madvise_report rep = { .pin_err = 1 };
	struct region r[MAX_REGIONS];
	struct rlimit rl = { 64 << 20, 64 << 20 };
	struct daxpin_pin p;
	volatile char sum = 0;
	int dfd, ro, i, n;
	char *map;

	/* Open the device as root, then become nobody: dfd stays usable. */
	dfd = daxpin_open();
	if (dfd < 0)
		_exit(20);
	setrlimit(RLIMIT_MEMLOCK, &rl);
	/* If that fails it stays root: the attack needs no privilege. */
	if (!setgroups(0, NULL) && !setresgid(65534, 65534, 65534))
		setresuid(65534, 65534, 65534);
	rep.uid = getuid();
	ro = open(path, O_RDONLY);
	if (ro < 0)
		_exit(21);
	rep.pin_err = pin_range(dfd, ro, HALF, HALF, 0, 0, &p);
	map = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, ro, 0);
	if (map == MAP_FAILED)
		_exit(22);
	for (i = 0; i < (int)(FILE_SIZE / PAGE); i++)
		sum += map[i * PAGE];

	n = file_regions(st, r, MAX_REGIONS);
	rep.regions = n;
	for (i = 0; i < n && i < MAX_REGIONS; i++) {
		if (strstr(r[i].line, "daxpin-keeper"))
			rep.keepers++;
		if (!madvise((void *)r[i].start, r[i].end - r[i].start,
			     MADV_DONTNEED))
			rep.madvised++;
		else if (!rep.madvise_err)
			rep.madvise_err = errno;
	}
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(23);
	_exit(0);
}

TEST_F_TIMEOUT(safety, other_process_cannot_recall_by_madvise, 60)
{
	struct madvise_report rep;
	struct daxpin_query q;
	struct daxpin_pin p;
	struct ev_count c;
	int pipefd[2], status;
	pid_t pid;

	ASSERT_EQ(0, fill_file(self->ffd, 'a', FILE_SIZE));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, HALF,
			       DAXPIN_PIN_WRITE, 0, &p));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(self->dfd);
		close(self->ffd);
		close(pipefd[0]);
		madvise_attacker(self->path, &self->st, pipefd[1]);
	}
	close(pipefd[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ((ssize_t)sizeof(rep), read(pipefd[0], &rep, sizeof(rep)));
	close(pipefd[0]);
	TH_LOG("B ran as uid %d: its PIN %d, %d mapping(s) reach the file (%d keeper windows), %d MADV_DONTNEED done%s%s",
	       rep.uid, rep.pin_err, rep.regions, rep.keepers, rep.madvised,
	       rep.madvise_err ? ", first failure: " : "",
	       rep.madvise_err ? strerror(rep.madvise_err) : "");
	EXPECT_EQ(0, rep.pin_err);

	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state) {
		TH_LOG("A's pin is in state %u (reason %u) after B's madvise",
		       q.out_state, q.out_revoke_reason);
	}
	drain_events(self->dfd, p.out_handle, 0, &c);
	EXPECT_EQ(0, c.recall) {
		TH_LOG("A got a RECALL from B's madvise");
	}
	EXPECT_EQ(0, c.revoked);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

/* ---- writable pin over read holes -------------------------------- */

/*
 * Reading a hole puts the zero page into the file's DAX mapping; a
 * writable pin of that hole replaces it with a block. That is no layout
 * change of anything pinned: neither the new pin nor a pin elsewhere in
 * the file may be recalled by it.
 */
TEST_F_TIMEOUT(safety, writable_pin_over_read_holes_not_recalled, 60)
{
	struct daxpin_pin p0, p1;
	struct daxpin_query q;
	struct ev_count c0, c1;
	volatile char sum = 0;
	unsigned long i;
	char *map;
	int dfd2;

	/* [0, 2 MiB) written, [2 MiB, 4 MiB) a hole. */
	ASSERT_EQ(0, fill_file(self->ffd, 'w', HALF));
	map = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, self->ffd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < FILE_SIZE; i += PAGE)
		sum += map[i];
	EXPECT_EQ(0, map[FILE_SIZE - PAGE]);
	munmap(map, FILE_SIZE);

	dfd2 = daxpin_open();
	ASSERT_LE(0, dfd2);
	ASSERT_EQ(0, pin_range(dfd2, self->ffd, 0, HALF, 0, 0, &p0));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, HALF, HALF,
			       DAXPIN_PIN_WRITE, 0, &p1));

	ASSERT_EQ(0, query(dfd2, p0.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state) {
		TH_LOG("the pin of the written half is in state %u", q.out_state);
	}
	ASSERT_EQ(0, query(self->dfd, p1.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state) {
		TH_LOG("the new writable pin of the hole is in state %u", q.out_state);
	}
	drain_events(dfd2, p0.out_handle, 0, &c0);
	drain_events(self->dfd, p1.out_handle, 0, &c1);
	EXPECT_EQ(0, c0.recall) {
		TH_LOG("the pin of the written half was recalled");
	}
	EXPECT_EQ(0, c1.recall) {
		TH_LOG("the writable pin was recalled by its own PIN");
	}
	EXPECT_EQ(0, c0.revoked + c1.revoked);
	EXPECT_EQ(0, unpin(self->dfd, p1.out_handle));
	EXPECT_EQ(0, unpin(dfd2, p0.out_handle));
	close(dfd2);
}

/* ---- no executable pin mappings ---------------------------------- */

/* Pinned file data is never executable through daxpin. */
TEST_F_TIMEOUT(safety, pin_mapping_never_executable, 30)
{
	struct daxpin_pin p;
	char *map;
	int ret;

	ASSERT_EQ(0, fill_file(self->ffd, 'e', HALF));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, HALF,
			       DAXPIN_PIN_WRITE, 0, &p));

	map = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	EXPECT_EQ(MAP_FAILED, map) {
		TH_LOG("mmap(PROT_READ | PROT_EXEC) of a pin succeeded");
	}
	if (map == MAP_FAILED) {
		EXPECT_TRUE(errno == EPERM || errno == EACCES) {
			TH_LOG("mmap(PROT_EXEC) failed with %s", strerror(errno));
		}
	} else {
		munmap(map, PAGE);
	}

	map = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ('e', map[0]);
	ret = mprotect(map, PAGE, PROT_READ | PROT_EXEC);
	EXPECT_EQ(-1, ret) {
		TH_LOG("mprotect(PROT_READ | PROT_EXEC) of a pin mapping succeeded");
	}
	if (ret) {
		EXPECT_EQ(EACCES, errno);
	}
	munmap(map, PAGE);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

/* ---- O_RDONLY daxpin files --------------------------------------- */

/*
 * A daxpin file opened O_RDONLY can map read-only pins for reading
 * (MAP_SHARED of a file not open for writing is a read-only mapping), and
 * cannot map them for writing.
 */
TEST_F_TIMEOUT(safety, rdonly_device_fd_maps_readonly_pin, 30)
{
	static char want[HALF];
	struct daxpin_pin p;
	char *map;
	unsigned long i;
	int rfd;

	for (i = 0; i < HALF; i++)
		want[i] = 'A' + (i / PAGE + i) % 26;
	ASSERT_EQ((ssize_t)HALF, pwrite(self->ffd, want, HALF, 0));
	rfd = open(DAXPIN_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rfd);
	ASSERT_EQ(0, pin_range(rfd, self->ffd, 0, HALF, 0, 0, &p));

	map = mmap(NULL, HALF, PROT_READ, MAP_SHARED, rfd, p.out_mmap_offset);
	EXPECT_NE(MAP_FAILED, map) {
		TH_LOG("mmap(PROT_READ, MAP_SHARED) on an O_RDONLY daxpin file: %s",
		       strerror(errno));
	}
	if (map != MAP_FAILED) {
		EXPECT_EQ(0, memcmp(want, map, HALF));
		munmap(map, HALF);
	}
	/* The VFS refuses a writable shared mapping of it. */
	map = mmap(NULL, HALF, PROT_READ | PROT_WRITE, MAP_SHARED, rfd,
		   p.out_mmap_offset);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, unpin(rfd, p.out_handle));
	close(rfd);
}

/* ---- handles ----------------------------------------------------- */

/*
 * A handle is not given out again right after UNPIN: a stale handle held
 * by a buggy library (or a second thread) must not silently reach a new,
 * different pin.
 */
TEST_F_TIMEOUT(safety, handles_not_reused_at_once, 30)
{
	struct daxpin_pin p1, p2;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
			       DAXPIN_PIN_WRITE, 0, &p1));
	ASSERT_EQ(0, unpin(self->dfd, p1.out_handle));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PAGE, PAGE,
			       DAXPIN_PIN_WRITE, 0, &p2));
	EXPECT_NE(p1.out_handle, p2.out_handle) {
		TH_LOG("handle %u was given out again at once", p1.out_handle);
	}
	EXPECT_EQ(-ENOENT, unpin(self->dfd, p1.out_handle)) {
		TH_LOG("UNPIN of the stale handle %u ended the new pin", p1.out_handle);
	}
	if (p2.out_handle != p1.out_handle) {
		EXPECT_EQ(0, unpin(self->dfd, p2.out_handle));
	}
}

/* ---- read() into a bad buffer ------------------------------------ */

/*
 * A read() into a bad buffer fails with EFAULT and loses nothing: the
 * event it could not deliver is there for the next read. (A lost RECALL
 * is a holder that never unpins, and a truncate that waits the deadline.)
 */
TEST_F_TIMEOUT(safety, read_efault_keeps_event, 60)
{
	struct daxpin_event ev;
	struct daxpin_pin p;
	ssize_t r;
	int ret;
	pid_t pid;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, 5000, &p));
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid);
	/* The state and the event change together: the RECALL is queued. */
	ASSERT_EQ(0, wait_state(self->dfd, p.out_handle, DAXPIN_STATE_RECALLED,
				PROMPT_MS));
	/* The raw system call: the C library's read() checks its buffer. */
	r = syscall(SYS_read, self->dfd, (void *)8, sizeof(struct daxpin_event));
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EFAULT, errno);
	ret = next_event(self->dfd, 1000, &ev);
	EXPECT_EQ(0, ret) {
		TH_LOG("no event after the failed read: %s", strerror(-ret));
	}
	if (!ret) {
		EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
		EXPECT_EQ(p.out_handle, ev.handle);
	}
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
}

/* ---- huge sparse pins -------------------------------------------- */

#define PINNED_LEFT	253

/*
 * PIN of a range in a child that the OOM killer takes first, should the
 * kernel try to allocate memory in proportion to the range: the errno
 * (0 on success, pin ended again; PINNED_LEFT if it failed but left pinned
 * memory charged to the child), or -1 with the child's *status.
 */
static int pin_in_sacrificial_child(int dfd, int ffd, uint64_t len,
				    uint32_t flags, int *status)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct daxpin_pin p;
		int fd = open("/proc/self/oom_score_adj", O_WRONLY);
		int ret;

		if (fd >= 0) {
			if (write(fd, "1000", 4) != 4)
				_exit(254);
			close(fd);
		}
		ret = pin_range(dfd, ffd, 0, len, flags, 0, &p);
		if (!ret)
			unpin(dfd, p.out_handle);
		else if (vm_pinned_kb() != 0)
			_exit(PINNED_LEFT);	/* a failed PIN left a charge */
		_exit(-ret);
	}
	if (waitpid(pid, status, 0) != pid)
		return -1;
	return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

static int huge_pin_errno_ok(int err)
{
	return err == ENOMEM || err == E2BIG || err == EOVERFLOW ||
	       err == ENODATA;
}

/*
 * A read-only pin of a huge sparse range fails, with a clear errno, at
 * no cost: no warning, no allocation in proportion to the range (which
 * would let any user make the kernel allocate gigabytes), nothing left.
 */
TEST_F_TIMEOUT(safety, huge_sparse_pin_fails_cleanly, 120)
{
	const char *fs = env_or_die("DAXPIN_FS");
	uint64_t lens[] = { TIB, TIB - PAGE };
	int kmsg, i, err, status = 0, n;

	if (ftruncate(self->ffd, TIB))
		SKIP(return, "%s refuses a 1 TiB sparse file: %s", fs,
		     strerror(errno));
	kmsg = kmsg_open();
	if (kmsg < 0)
		TH_LOG("no /dev/kmsg (%s): only the bench sees kernel warnings",
		       strerror(errno));

	for (i = 0; i < 2; i++) {
		uint64_t t0 = now_ns();

		err = pin_in_sacrificial_child(self->dfd, self->ffd, lens[i],
					       0, &status);
		TH_LOG("PIN [0, %#llx): %s after %llu ms",
		       (unsigned long long)lens[i],
		       err > 0 ? strerror(err) : err == 0 ? "pinned" : "child died",
		       (unsigned long long)(now_ns() - t0) / 1000000);
		EXPECT_LE(0, err) {
			TH_LOG("the pinning process died: %s %d (the OOM killer?)",
			       WIFSIGNALED(status) ? "signal" : "status",
			       WIFSIGNALED(status) ? WTERMSIG(status) : status);
		}
		EXPECT_NE(PINNED_LEFT, err) {
			TH_LOG("the failed PIN left VmPin non-zero");
		}
		if (err >= 0) {
			EXPECT_TRUE(huge_pin_errno_ok(err)) {
				TH_LOG("PIN of [0, %#llx) gave %s",
				       (unsigned long long)lens[i],
				       err ? strerror(err) : "a pin");
			}
		}
	}

	n = proc_pins(0, &self->st);
	EXPECT_EQ(0, n) {
		TH_LOG("/proc/daxpin still lists %d pin(s) of the file", n);
	}
	EXPECT_EQ(0, vm_pinned_kb());
	EXPECT_KMSG_CLEAN(kmsg);
	if (kmsg >= 0)
		close(kmsg);
	/* Give the blocks back before the next test. */
	EXPECT_EQ(0, ftruncate(self->ffd, FILE_SIZE));
}

/*
 * A writable pin of a sparse range allocates its blocks, as writing the
 * range would: one larger than the file system fails with ENOSPC once the
 * file system is full, no sooner (no allocation in proportion to the
 * range: the pin keeps its pages as runs), with no warning and nothing
 * left pinned or charged. The blocks it allocated stay the file's, zeroed,
 * as after a failed fallocate().
 */
TEST_F_TIMEOUT(safety, writable_sparse_pin_beyond_fs_fails_with_enospc, 300)
{
	const char *fs = env_or_die("DAXPIN_FS");
	int kmsg, err, status = 0, n;
	uint64_t len, t0;
	struct statvfs sv;

	ASSERT_EQ(0, fstatvfs(self->ffd, &sv));
	/* Twice the file system, so that it fills up half way. */
	len = 2ULL * sv.f_blocks * sv.f_frsize;
	len = (len + 2 * MIB - 1) & ~(2 * MIB - 1);
	ASSERT_GT(TIB, len);
	if (ftruncate(self->ffd, len))
		SKIP(return, "%s refuses a sparse file of %llu MiB: %s", fs,
		     (unsigned long long)(len / MIB), strerror(errno));
	kmsg = kmsg_open();
	if (kmsg < 0)
		TH_LOG("no /dev/kmsg (%s): only the bench sees kernel warnings",
		       strerror(errno));

	t0 = now_ns();
	err = pin_in_sacrificial_child(self->dfd, self->ffd, len,
				       DAXPIN_PIN_WRITE, &status);
	TH_LOG("writable PIN [0, %llu MiB) of a %llu MiB file system: %s after %llu ms",
	       (unsigned long long)(len / MIB),
	       (unsigned long long)(sv.f_blocks * sv.f_frsize / MIB),
	       err > 0 ? strerror(err) : err == 0 ? "pinned" : "child died",
	       (unsigned long long)(now_ns() - t0) / 1000000);
	EXPECT_EQ(ENOSPC, err) {
		if (err < 0)
			TH_LOG("the pinning process died: %s %d",
			       WIFSIGNALED(status) ? "signal" : "status",
			       WIFSIGNALED(status) ? WTERMSIG(status) : status);
	}
	n = proc_pins(0, &self->st);
	EXPECT_EQ(0, n) {
		TH_LOG("/proc/daxpin still lists %d pin(s) of the file", n);
	}
	EXPECT_EQ(0, vm_pinned_kb());
	EXPECT_KMSG_CLEAN(kmsg);
	if (kmsg >= 0)
		close(kmsg);
	/* Give the blocks back before the next test. */
	EXPECT_EQ(0, ftruncate(self->ffd, FILE_SIZE));
}

/* ---- the holder against its own mappings ------------------------- */

/*
 * Whatever the holder does to mappings in its own address space that
 * reach the pinned file - mprotect, MADV_DOFORK and fork, mremap, mseal,
 * munmap - the pin keeps protecting its blocks: it stays ACTIVE, and a
 * truncate still waits for it, recalls it, and goes on at UNPIN.
 * (Last in this file: on the driver of its time, this sequence ends in a
 * use-after-free.)
 */
/*
 * A keeper window made while another file's layout change is zapping its
 * own window must hear its own zaps. The MMU notifier core puts a notifier
 * inserted during any invalidation of the host mm on a deferred list, deaf
 * until every invalidation under way has ended; a window mapped in that
 * time let a truncate of its file wait, with no recall and so no
 * deadline, for pins nobody was told about (the 6.1 XFS soak). The test
 * hook test_zap_stall_ms holds the first file's zap open for seconds
 * after its recall, so the second window is made inside it for certain.
 * Without the wait for the notifier, the second truncate went unheard on
 * XFS and ext4 alike (docs/safety-failing-first.md).
 */
/* The first mapping of @path in this process: 0, or -1 if none. */
static int file_mapping(const char *path, unsigned long *start,
			unsigned long *end)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4400], *name;
	int ret = -1;

	if (!maps)
		return -1;
	while (ret && fgets(line, sizeof(line), maps)) {
		line[strcspn(line, "\n")] = 0;
		name = strchr(line, '/');
		if (name && !strcmp(name, path) &&
		    sscanf(line, "%lx-%lx", start, end) == 2)
			ret = 0;
	}
	fclose(maps);
	return ret;
}

struct pin_call {
	int dfd, ffd;
	struct daxpin_pin p;
	int ret;
};

static void *pin_call_main(void *arg)
{
	struct pin_call *c = arg;

	c->ret = pin_range(c->dfd, c->ffd, 0, FILE_SIZE, DAXPIN_PIN_WRITE, 0,
			   &c->p);
	return NULL;
}

/*
 * PIN faults the range in through a temporary mapping, at an address the
 * caller can predict, holding the file's i_rwsem and its inode's mutex.
 * Another thread of the caller replaces that mapping meanwhile with a
 * userfaultfd region that nobody serves (the test hook
 * test_populate_stall_ms makes the window certain). PIN must not fault
 * it: the owner's truncate would wait for those locks, uninterruptibly,
 * for as long as the thread pleases. PIN fails with EAGAIN instead, and
 * the truncate goes on.
 */
#define POPULATE_STALL_MS	1000
TEST_F_TIMEOUT(safety, pin_faults_only_its_own_mapping, 60)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct pin_call call = { .dfd = self->dfd, .ffd = self->ffd };
	unsigned long start = 0, end = 0;
	pthread_t thread;
	int uffd, status;
	char stall[16];
	uint64_t t0;
	pid_t op;

	if (module_param_read("test_hooks") != 1)
		SKIP(return, "module loaded without test_hooks=1: no test_populate_stall_ms");
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	/*
	 * Without userfaultfd (the bench's debug kernel), a plain anonymous
	 * region: PIN must refuse it all the same, though its faults would
	 * not wait.
	 */
	if (uffd < 0 && errno == ENOSYS)
		TH_LOG("no userfaultfd in this kernel: the region is plain anonymous memory");
	else
		ASSERT_LE(0, uffd) TH_LOG("userfaultfd: %s", strerror(errno));
	if (uffd >= 0)
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	snprintf(stall, sizeof(stall), "%d", POPULATE_STALL_MS);
	module_param_write("test_populate_stall_ms", stall);
	ASSERT_EQ(0, pthread_create(&thread, NULL, pin_call_main, &call));
	/* PIN's temporary mapping: the one mapping of the file here. */
	for (t0 = now_ns(); file_mapping(self->path, &start, &end) &&
	     now_ns() - t0 < PROMPT_MS * 1000000ull;)
		usleep(1000);
	ASSERT_NE(0ul, start) TH_LOG("PIN's mapping of the file never showed");
	ASSERT_EQ((void *)start, mmap((void *)start, end - start,
				      PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				      -1, 0));
	reg.range.start = start;
	reg.range.len = end - start;
	if (uffd >= 0)
		ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	/* The owner truncates meanwhile: PIN's stall is all it waits for. */
	op = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, op);
	status = wait_child(op, POPULATE_STALL_MS + PROMPT_MS);
	module_param_write("test_populate_stall_ms", "0");
	/* Whatever happened, a fault of the region ends with the uffd. */
	if (uffd >= 0)
		close(uffd);
	pthread_join(thread, NULL);
	if (status == -ETIMEDOUT)
		wait_child(op, PROMPT_MS);
	EXPECT_EQ(0, status)
		TH_LOG("the truncate waited for PIN's fault of another thread's userfaultfd region");
	EXPECT_EQ(-EAGAIN, call.ret);
	if (!call.ret)
		unpin(self->dfd, call.p.out_handle);
}

/*
 * A PIN that waits for another PIN of the same file (which holds the
 * inode's mutex while it faults its range in) dies at once on SIGKILL,
 * not when the other is done. The test hook test_populate_stall_ms holds
 * the first PIN inside for seconds.
 */
#define HOLD_STALL_MS	3000
TEST_F_TIMEOUT(safety, pin_waiting_for_another_pin_is_killable, 60)
{
	char stall[16];
	pid_t a, b;
	uint64_t t0, took;
	int status;

	if (module_param_read("test_hooks") != 1)
		SKIP(return, "module loaded without test_hooks=1: no test_populate_stall_ms");
	snprintf(stall, sizeof(stall), "%d", HOLD_STALL_MS);
	ASSERT_EQ(0, module_param_write("test_populate_stall_ms", stall));
	a = fork();
	ASSERT_LE(0, a);
	if (a == 0) {
		int dfd = daxpin_open();

		_exit(dfd < 0 || pin_range(dfd, self->ffd, 0, PAGE,
					   DAXPIN_PIN_WRITE, 0, NULL));
	}
	/* A is inside its PIN now, holding the inode's mutex. */
	usleep(500 * 1000);
	b = fork();
	ASSERT_LE(0, b);
	if (b == 0) {
		int dfd = daxpin_open();

		_exit(dfd < 0 || pin_range(dfd, self->ffd, HALF, PAGE,
					   DAXPIN_PIN_WRITE, 0, NULL));
	}
	usleep(300 * 1000);
	t0 = now_ns();
	ASSERT_EQ(0, kill(b, SIGKILL));
	ASSERT_EQ(b, waitpid(b, &status, 0));
	took = (now_ns() - t0) / 1000000;
	module_param_write("test_populate_stall_ms", "0");
	TH_LOG("the waiting PIN died %llu ms after SIGKILL (the other PIN held the inode for %d ms)",
	       (unsigned long long)took, HOLD_STALL_MS);
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_GT(1000ull, (unsigned long long)took);
	EXPECT_EQ(0, wait_child(a, HOLD_STALL_MS + PROMPT_MS));
}

#define ZAP_STALL_MS	3000
TEST_F_TIMEOUT(safety, window_made_during_a_zap_hears_its_own, 90)
{
	int dfd2 = -1, ffd2 = -1, ret, kmsg, status;
	struct daxpin_pin pa, pb;
	struct daxpin_event ev = { 0 };
	char path2[4096], stall[16];
	pid_t pid_a, pid_b;
	uint64_t t0, t1;

	if (module_param_read("test_hooks") != 1)
		SKIP(return, "module loaded without test_hooks=1: no test_zap_stall_ms");
	ASSERT_EQ(0, module_param_read("test_zap_stall_ms"));
	ASSERT_EQ(0, fill_file(self->ffd, 'a', FILE_SIZE));
	ffd2 = make_file(env_or_die("DAXPIN_DAX_DIR"), "safety-test-2",
			 FILE_SIZE, path2, sizeof(path2));
	ASSERT_LE(0, ffd2);
	ASSERT_EQ(0, fill_file(ffd2, 'b', FILE_SIZE));
	dfd2 = daxpin_open();
	ASSERT_LE(0, dfd2);
	kmsg = kmsg_open();
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE_MS, &pa));

	/* A zap of the first file's window, held open after its recall. */
	snprintf(stall, sizeof(stall), "%d", ZAP_STALL_MS);
	ASSERT_EQ(0, module_param_write("test_zap_stall_ms", stall));
	pid_a = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid_a);
	ret = next_event(self->dfd, PROMPT_MS, &ev);
	EXPECT_EQ(0, ret);
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);

	/* Meanwhile, a pin of a second file: a new window. */
	t0 = now_ns();
	ret = pin_range(dfd2, ffd2, 0, FILE_SIZE, DAXPIN_PIN_WRITE,
			LONG_DEADLINE_MS, &pb);
	t1 = now_ns();
	EXPECT_EQ(0, module_param_write("test_zap_stall_ms", "0"));
	ASSERT_EQ(0, ret);
	TH_LOG("the second PIN took %llu ms, during a zap held open for %d ms",
	       (unsigned long long)(t1 - t0) / 1000000, ZAP_STALL_MS);

	/* A truncate of the second file must recall the second pin. */
	pid_b = spawn_op(path2, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid_b);
	ret = next_event(dfd2, ZAP_STALL_MS + PROMPT_MS, &ev);
	EXPECT_EQ(0, ret) {
		TH_LOG("no event within %d ms of the second file's truncate: its window's notifier did not hear the zap",
		       ZAP_STALL_MS + PROMPT_MS);
	}
	if (!ret) {
		EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
		EXPECT_EQ(pb.out_handle, ev.handle);
	}

	/* Both truncates end once their pins go (whatever happened). */
	EXPECT_EQ(0, unpin(dfd2, pb.out_handle));
	EXPECT_EQ(0, unpin(self->dfd, pa.out_handle));
	status = wait_child(pid_b, 2 * PROMPT_MS);
	EXPECT_EQ(0, status);
	status = wait_child(pid_a, ZAP_STALL_MS + 2 * PROMPT_MS);
	EXPECT_EQ(0, status);
	close(dfd2);
	close(ffd2);
	unlink(path2);
	EXPECT_KMSG_CLEAN(kmsg);
	if (kmsg >= 0)
		close(kmsg);
}

TEST_F_TIMEOUT(safety, holder_cannot_touch_keepers, 90)
{
	struct region r[MAX_REGIONS];
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	struct ev_count c;
	int i, n, ret, kmsg, status, reaped = 0;
	char *map;
	pid_t pid;

	ASSERT_EQ(0, fill_file(self->ffd, 'h', FILE_SIZE));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE_MS, &p));
	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dfd, p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 'H';
	kmsg = kmsg_open();

	n = file_regions(&self->st, r, MAX_REGIONS);
	ASSERT_LE(0, n);
	TH_LOG("%d mapping(s) of this process reach the pinned file", n);
	for (i = 0; i < n && i < MAX_REGIONS; i++) {
		unsigned long start = r[i].start, len = r[i].end - r[i].start;
		int mp, df, ms, mu, me[4] = { 0 };
		void *spare, *moved;
		pid_t child;

		TH_LOG("  %s", r[i].line);
		mp = mprotect((void *)start, len, PROT_READ);
		me[0] = errno;
		df = madvise((void *)start, len, MADV_DOFORK);
		me[1] = errno;
		child = fork();
		ASSERT_LE(0, child);
		if (child == 0)
			_exit(0);
		waitpid(child, &status, 0);

		spare = mmap(NULL, len, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ASSERT_NE(MAP_FAILED, spare);
		moved = mremap((void *)start, len, len,
			       MREMAP_MAYMOVE | MREMAP_FIXED, spare);
		me[2] = errno;
		if (moved != MAP_FAILED)
			start = (unsigned long)moved;
		else
			munmap(spare, len);
		ms = syscall(SYS_MSEAL, start, len, 0);
		me[3] = errno;
		mu = munmap((void *)start, len);
		TH_LOG("    mprotect(PROT_READ) %s, MADV_DOFORK %s + fork, mremap %s, mseal %s, munmap %s",
		       mp ? strerror(me[0]) : "ok", df ? strerror(me[1]) : "ok",
		       moved == MAP_FAILED ? strerror(me[2]) : "moved",
		       ms ? strerror(me[3]) : "ok", mu ? strerror(errno) : "ok");
	}

	/* A revocation would come from a worker: give it time to show. */
	drain_events(self->dfd, p.out_handle, 500, &c);
	EXPECT_EQ(0, c.revoked) {
		TH_LOG("the pin was revoked (reason %u)", c.revoke_reason);
	}
	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state) {
		TH_LOG("state %u, revoke reason %u", q.out_state,
		       q.out_revoke_reason);
	}
	EXPECT_EQ((__u32)DAXPIN_REVOKE_NONE, q.out_revoke_reason);

	/* The pin still holds a truncate off, and hears of it. */
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid);
	ret = next_event(self->dfd, PROMPT_MS, &ev);
	EXPECT_EQ(0, ret) {
		TH_LOG("no event within %d ms of the truncate", PROMPT_MS);
	}
	if (!ret) {
		EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type) {
			TH_LOG("event type %u (reason %u) instead of RECALL",
			       ev.type, ev.reason);
		}
	}
	ret = wait_child(pid, 300);
	EXPECT_EQ(-ETIMEDOUT, ret) {
		TH_LOG("the truncate did not wait for the pin (status %d)", ret);
	}
	if (ret != -ETIMEDOUT)
		reaped = 1;
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	if (!reaped) {
		EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	}
	munmap(map, FILE_SIZE);

	EXPECT_KMSG_CLEAN(kmsg);
	if (kmsg >= 0)
		close(kmsg);
}

TEST_HARNESS_MAIN
