// SPDX-License-Identifier: GPL-2.0
/*
 * Revocation at the deadline, what a revoked pin looks like, write(2) on a
 * pinned file, the event options (eventfd, SIGIO), fork, no keeper window
 * in the holder, and a PIN that comes while a layout change waits.
 */
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/time.h>

#include <sys/uio.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: revocation races each file system's layout
 * changes.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(4 * 1024 * 1024UL)
#define PROMPT_MS	5000
#define DEADLINE_MS	300
/* Revocation after the deadline takes at most this (emulated, KASAN). */
#define REVOKE_BOUND_MS	5000
/*
 * A layout change that does not wait for pins finishes within this, far
 * less than the 60 s deadline it would wait out if it did (xfs_io alone
 * takes seconds to start on the KASAN kernel under emulation).
 */
#define SWAPEXT_BOUND_MS	30000
/* Recall rounds in which the event must not overtake its SIGIO. */
#define SIGNAL_ROUNDS	20

FIXTURE(revoke) {
	int dfd;
	int ffd;
	char path[4096];
};

FIXTURE_SETUP(revoke)
{
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "revoke-test",
			      FILE_SIZE, self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
}

FIXTURE_TEARDOWN(revoke)
{
	if (self->dfd >= 0)
		close(self->dfd);
	close(self->ffd);
	unlink(self->path);
}

/* The holder ignores the recall: the truncate goes on after the deadline. */
TEST_F(revoke, deadline)
{
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	uint64_t t0, took;
	char *map;
	pid_t pid;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, DEADLINE_MS, &p));
	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dfd, p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, touch_sigbus(map + 5 * PAGE, 1));

	t0 = now_ns();
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	/* Still mapped and working during the grace period. */
	EXPECT_EQ(0, touch_sigbus(map + 6 * PAGE, 1));

	ASSERT_EQ(0, wait_child(pid, DEADLINE_MS + REVOKE_BOUND_MS));
	took = (now_ns() - t0) / 1000000;
	TH_LOG("truncate took %llu ms with a %d ms deadline",
	       (unsigned long long)took, DEADLINE_MS);
	EXPECT_LE((uint64_t)DEADLINE_MS, took);
	EXPECT_EQ((off_t)FILE_SIZE / 2, lseek(self->ffd, 0, SEEK_END));

	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);
	EXPECT_EQ(p.out_handle, ev.handle);
	EXPECT_EQ((__u32)DAXPIN_REVOKE_DEADLINE, ev.reason);
	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_REVOKED, q.out_state);
	EXPECT_EQ((__u32)DAXPIN_REVOKE_DEADLINE, q.out_revoke_reason);

	/* Revoked: no access, no new mapping, but the handle is there. */
	EXPECT_EQ(1, touch_sigbus(map + 6 * PAGE, 1));
	EXPECT_EQ(1, touch_sigbus(map + FILE_SIZE - PAGE, 1));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->dfd,
				   p.out_mmap_offset));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	EXPECT_EQ(-ENOENT, unpin(self->dfd, p.out_handle));
	munmap(map, FILE_SIZE);
}

/*
 * Whether this kernel's XFS breaks layout leases at all: it does only when
 * built with CONFIG_EXPORTFS_BLOCK_OPS (Debian's kernels are), otherwise
 * xfs_break_leased_layouts() is an empty inline and has no symbol.
 */
static int xfs_breaks_layout_leases(void)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " xfs_break_leased_layouts") != NULL;
	fclose(f);
	return found;
}

/*
 * write(2) does not wait for a pin: the pinned blocks do not move. XFS
 * breaks its layout lease on every write, which the holder hears of;
 * ext4 breaks no lease and says nothing.
 */
/* Whether /proc/locks lists a lease on the inode of @fd. */
static int has_lease(int fd, char *dump, size_t dumplen)
{
	char line[256], want[64];
	struct stat st;
	size_t used = 0;
	int found = 0;
	FILE *f;

	if (fstat(fd, &st))
		return -1;
	snprintf(want, sizeof(want), ":%lu ", (unsigned long)st.st_ino);
	f = fopen("/proc/locks", "r");
	if (!f)
		return -1;
	dump[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "LEASE") && strstr(line, want))
			found = 1;
		if (used + strlen(line) < dumplen) {
			strcpy(dump + used, line);
			used += strlen(line);
		}
	}
	fclose(f);
	return found;
}

TEST_F(revoke, write_does_not_wait)
{
	char locks[2048];
	const char *fs = env_or_die("DAXPIN_FS");
	int breaks = !strcmp(fs, "xfs") && xfs_breaks_layout_leases() == 1;
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	pid_t pid;
	int ret;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, 0, &p));
	/* The layout lease is in place (the caller owns the file). */
	EXPECT_EQ(1, has_lease(self->ffd, locks, sizeof(locks)))
		TH_LOG("/proc/locks:\n%s", locks);
	pid = spawn_op(self->path, OP_PWRITE, FILE_SIZE);
	ASSERT_LT(0, pid);
	EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	TH_LOG("%s %s layout leases on write", fs, breaks ? "breaks" : "does not break");
	ret = next_event(self->dfd, 500, &ev);
	if (breaks) {
		ASSERT_EQ(0, ret) {
			query(self->dfd, p.out_handle, &q);
			has_lease(self->ffd, locks, sizeof(locks));
			TH_LOG("state %u; /proc/locks:\n%s", q.out_state, locks);
		}
		EXPECT_EQ((__u32)DAXPIN_EVENT_WRITE_BREAK, ev.type);
		EXPECT_EQ(p.out_handle, ev.handle);
	} else {
		EXPECT_EQ(-ETIMEDOUT, ret);
	}
	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
	/* Writes keep working, and keep being reported, on the same pin. */
	pid = spawn_op(self->path, OP_PWRITE, FILE_SIZE);
	EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
	if (breaks) {
		uint64_t end = now_ns() + PROMPT_MS * 1000000ull;

		/* A worker takes the lease again, 100 ms after the last break. */
		while (!has_lease(self->ffd, locks, sizeof(locks)) &&
		       now_ns() < end)
			usleep(10 * 1000);
		EXPECT_EQ(1, has_lease(self->ffd, locks, sizeof(locks)));
		/* Drop what the second write may have queued. */
		while (!next_event(self->dfd, 0, &ev))
			;
		pid = spawn_op(self->path, OP_PWRITE, FILE_SIZE);
		EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
		EXPECT_EQ(0, next_event(self->dfd, 500, &ev));
		EXPECT_EQ((__u32)DAXPIN_EVENT_WRITE_BREAK, ev.type);
	}
}

static volatile sig_atomic_t got_sigio;

static void on_sigio(int sig)
{
	got_sigio = 1;
}

TEST_F(revoke, eventfd_and_sigio)
{
	struct daxpin_set_eventfd set = { .size = sizeof(set) };
	struct sigaction sa = { .sa_handler = SIG_IGN };
	struct daxpin_event ev;
	struct daxpin_pin p;
	uint64_t count = 0;
	int efd, i;
	pid_t pid;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	set.eventfd = efd;
	ASSERT_EQ(0, ioctl_err(self->dfd, DAXPIN_SET_EVENTFD, &set));
	sa.sa_handler = on_sigio;
	sigaction(SIGIO, &sa, NULL);
	ASSERT_EQ(0, fcntl(self->dfd, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(self->dfd, F_SETFL, fcntl(self->dfd, F_GETFL) | O_ASYNC));

	/*
	 * Whoever reads an event has the eventfd count and the SIGIO already.
	 * Repeated, because the holder may poll before the recall or while
	 * the notifier runs on another CPU.
	 */
	for (i = 0; i < SIGNAL_ROUNDS; i++) {
		ASSERT_EQ(0, ftruncate(self->ffd, FILE_SIZE));
		got_sigio = 0;
		ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
				       DAXPIN_PIN_WRITE, 60000, &p));
		pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
		ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
		EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
		EXPECT_EQ(8, read(efd, &count, sizeof(count)));
		EXPECT_LE(1ull, count);
		EXPECT_EQ(1, got_sigio) {
			TH_LOG("round %d: event read before its SIGIO", i);
		}
		EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
		EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
		/* Recalls after the one read count too: start from zero. */
		EXPECT_TRUE(read(efd, &count, sizeof(count)) == 8 ||
			    errno == EAGAIN);
	}

	/* Bad eventfds; -1 switches it off. */
	set.eventfd = self->ffd;
	EXPECT_EQ(-EINVAL, ioctl_err(self->dfd, DAXPIN_SET_EVENTFD, &set));
	set.eventfd = 9999;
	EXPECT_EQ(-EBADF, ioctl_err(self->dfd, DAXPIN_SET_EVENTFD, &set));
	set.eventfd = -1;
	EXPECT_EQ(0, ioctl_err(self->dfd, DAXPIN_SET_EVENTFD, &set));
	close(efd);
}

/* Events merge per pin and type: the queue cannot overflow. */
TEST_F(revoke, events_merge)
{
	struct daxpin_event evs[8];
	struct daxpin_pin p[3];
	ssize_t n;
	pid_t pid;
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pin_range(self->dfd, self->ffd, i * PAGE, PAGE,
				       DAXPIN_PIN_WRITE, 60000, &p[i]));
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	/* Let the truncate retry (and zap) a few times. */
	usleep(500 * 1000);
	EXPECT_EQ(-ETIMEDOUT, wait_child(pid, 10));
	n = read(self->dfd, evs, sizeof(evs));
	EXPECT_EQ((ssize_t)(3 * sizeof(evs[0])), n);
	for (i = 0; i < 3; i++)
		EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, evs[i].type);
	/* A buffer too small for one record. */
	EXPECT_EQ(-1, read(self->dfd, evs, sizeof(evs[0]) - 1));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, unpin(self->dfd, p[i].out_handle));
	EXPECT_EQ(0, wait_child(pid, PROMPT_MS));
}

/*
 * A forked child shares the daxpin file and its pins, but not the parent's
 * mappings of them (they are not inherited, like registered memory under
 * MADV_DONTFORK): it maps the pin itself.
 */
TEST_F(revoke, fork_child_view)
{
	struct daxpin_pin p;
	char *map;
	pid_t pid;
	int status;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct daxpin_query q;

		unsigned char vec;
		char *own;

		if (query(self->dfd, p.out_handle, &q) ||
		    q.out_state != DAXPIN_STATE_ACTIVE)
			_exit(1);
		if (mincore(map, PAGE, &vec) != -1 || errno != ENOMEM)
			_exit(2);	/* the parent's mapping came along */
		own = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
			   self->dfd, p.out_mmap_offset);
		if (own == MAP_FAILED)
			_exit(3);
		strcpy(own, "child");
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("child", map);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	munmap(map, PAGE);
}

/*
 * MADV_DOFORK clears VM_DONTCOPY on a pin's mapping, yet a child still
 * does not inherit access: its copy maps nothing and faults SIGBUS. Only a
 * process that mmap()s the pin itself reaches it (and is known to
 * kill_on_stuck). Where the mapping is VM_PFNMAP (6.15 on) the kernel
 * refuses MADV_DOFORK itself (EINVAL): the child has no copy at all, and
 * its touch is a SIGSEGV.
 */
TEST_F(revoke, dofork_child_gets_no_access)
{
	struct daxpin_pin p;
	int status, dofork;
	char *map;
	pid_t pid;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->dfd,
		   p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	strcpy(map, "parent");
	dofork = !madvise(map, PAGE, MADV_DOFORK);
	if (!dofork)
		ASSERT_EQ(EINVAL, errno);
	TH_LOG("MADV_DOFORK %s", dofork ? "done" : "refused (EINVAL)");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(touch_sigbus(map, 0) == 1 && touch_sigbus(map, 1) == 1 ?
		      0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (dofork) {
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status))
			TH_LOG("the child reached the pin through an inherited mapping");
	} else {
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
			TH_LOG("the child had a copy of the mapping (status %#x)",
			       status);
	}
	EXPECT_STREQ("parent", map);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	munmap(map, PAGE);
}

/*
 * daxpin's keeper windows are not in the holder's address space: nothing
 * the holder can unmap, move, advise or seal keeps its pinned file mapped.
 */
TEST_F(revoke, no_keeper_window_in_holder)
{
	unsigned long start = 0, end = 0;
	struct daxpin_query q;
	struct daxpin_pin p;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	EXPECT_EQ(-1, find_keeper_window(&start, &end));
	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

static void on_alarm(int sig)
{
}

/*
 * A PIN of a file whose truncate is waiting (for another pin's deadline)
 * waits for that truncate, interruptibly, and is made only after it: the
 * truncate is never held past the first pin's deadline by pins made while
 * it waited, whoever keeps making them.
 */
TEST_F_TIMEOUT(revoke, late_pin_waits_for_layout_change, 60)
{
	struct itimerval it = { .it_value.tv_usec = 300 * 1000 };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct daxpin_pin p, late;
	struct daxpin_event ev;
	uint64_t t0, took;
	int dfd2, ret;
	pid_t pid;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE,
			       DAXPIN_PIN_WRITE, 2000, &p));
	t0 = now_ns();
	pid = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	ASSERT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);

	dfd2 = daxpin_open();
	ASSERT_LE(0, dfd2);
	/* A signal ends the late PIN's wait: EINTR, nothing pinned. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	ret = pin_range(dfd2, self->ffd, PAGE, PAGE, DAXPIN_PIN_WRITE, 60000,
			&late);
	EXPECT_EQ(-EINTR, ret);
	EXPECT_EQ(-ETIMEDOUT, wait_child(pid, 0))
		TH_LOG("the truncate did not wait for the first pin");

	/* Without a signal it waits, and the truncate goes on first. */
	ret = pin_range(dfd2, self->ffd, PAGE, PAGE, DAXPIN_PIN_WRITE, 60000,
			&late);
	took = (now_ns() - t0) / 1000000;
	EXPECT_EQ(0, ret);
	EXPECT_LE(2000ull, took) TH_LOG("the late PIN was made before the deadline");
	ASSERT_EQ(0, wait_child(pid, PROMPT_MS))
		TH_LOG("the truncate waits for a pin made after it started");
	TH_LOG("late PIN made after %llu ms (first pin's deadline 2000 ms)",
	       (unsigned long long)took);
	EXPECT_EQ((off_t)FILE_SIZE / 2, lseek(self->ffd, 0, SEEK_END));
	EXPECT_EQ(0, unpin(dfd2, late.out_handle));
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	close(dfd2);
}

/*
 * Run xfs_io's swapext of @path with @donor: its exit status (0 even when
 * the ioctl fails), or -errno.
 */
static int xfs_io_swapext(const char *path, const char *donor, uint64_t *took)
{
	char cmd[9000];
	uint64_t t0;
	int status;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "xfs_io -c 'swapext %s' %s", donor, path);
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		closefrom(3);
		execlp("sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* Far less than the pin's 60 s deadline, which a wait would take. */
	status = wait_child(pid, SWAPEXT_BOUND_MS);
	*took = (now_ns() - t0) / 1000000;
	if (status == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return status;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* A file of FILE_SIZE bytes next to the pinned one, for a swap. */
static int make_donor(const char *path, char *donor, size_t len)
{
	int fd;

	snprintf(donor, len, "%s.donor", path);
	fd = open(donor, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	if (fill_file(fd, 'd', FILE_SIZE) || fsync(fd)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/*
 * The swapext tests' start: a donor next to the file, and the whole file
 * pinned (60 s deadline) and mapped. The mapping, or NULL.
 */
static char *swapext_setup(const char *path, int dfd, int ffd, char *donor,
			   size_t len, struct daxpin_pin *p)
{
	char *map;

	if (make_donor(path, donor, len) ||
	    pin_range(dfd, ffd, 0, FILE_SIZE, DAXPIN_PIN_WRITE, 60000, p))
		return NULL;
	map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd,
		   p->out_mmap_offset);
	return map == MAP_FAILED ? NULL : map;
}

/*
 * XFS_IOC_SWAPEXT (what xfs_fsr uses) would move a pinned file's blocks to
 * another inode without waiting for busy pages. daxpin's swap guard fails
 * it (EBUSY) before it unmaps or moves anything: the pin goes on, with no
 * event, and its mapping still reaches the file.
 */
TEST_F_TIMEOUT(revoke, swapext_fails_on_a_pinned_file, 90)
{
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	char donor[4200];
	uint64_t took;
	long refused;
	char *map;
	int ret;

	if (strcmp(getenv("DAXPIN_FS") ?: "", "xfs"))
		SKIP(return, "XFS_IOC_SWAPEXT is XFS's");
	map = swapext_setup(self->path, self->dfd, self->ffd, donor,
			    sizeof(donor), &p);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0, touch_sigbus(map, 1));
	refused = module_param_read("swaps_refused");
	ASSERT_LE(0, refused);

	/* xfs_io says "swapext: Device or resource busy", and exits 0. */
	ret = xfs_io_swapext(self->path, donor, &took);
	ASSERT_NE(-ETIMEDOUT, ret) TH_LOG("swapext waited for the pin");
	ASSERT_LE(0, ret) TH_LOG("xfs_io: %s", strerror(-ret));
	EXPECT_EQ(refused + 1, module_param_read("swaps_refused"))
		TH_LOG("the swap guard did not refuse the swapext");
	TH_LOG("swapext refused in %llu ms", (unsigned long long)took);

	EXPECT_EQ(-ETIMEDOUT, next_event_skip_breaks(self->dfd, PROMPT_MS, &ev))
		TH_LOG("event %u after a refused swapext", ev.type);
	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
	EXPECT_EQ(0, touch_sigbus(map, 1));
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	munmap(map, FILE_SIZE);
	unlink(donor);
}

/*
 * Should blocks leave a pin without a layout break all the same (a mover
 * the guard does not know; here swapext with the guard off by the test
 * hook), daxpin notices at once and revokes with its own reason: its flush
 * zaps the keeper windows, which recalls, and revoke_work, which checks
 * recalled pins' pages every 10 ms, sees them leave the file. The kernel
 * warns in dax_disassociate_entry() about the pinned pages it drops: that
 * warning is expected here.
 */
TEST_F_TIMEOUT(revoke, unguarded_swapext_revokes_at_once, 90)
{
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	char donor[4200];
	uint64_t took;
	char *map;
	int ret;

	if (strcmp(getenv("DAXPIN_FS") ?: "", "xfs"))
		SKIP(return, "XFS_IOC_SWAPEXT is XFS's");
	if (module_param_read("test_hooks") != 1)
		SKIP(return, "module loaded without test_hooks=1: no test_swap_guard_off");
	map = swapext_setup(self->path, self->dfd, self->ffd, donor,
			    sizeof(donor), &p);
	ASSERT_NE(NULL, map);
	EXPECT_EQ(0, touch_sigbus(map, 1));

	/*
	 * 7.2 warns in truncate too: XFS_IOC_SWAPEXT does not break the
	 * layout first, as the file systems must (mm/truncate.c says so).
	 */
	ASSERT_EQ(0, module_param_write("test_swap_guard_off", "1"));
	kmsg_mark("expect-warning dax_disassociate_entry|truncate_folio_batch_exceptionals");
	ret = xfs_io_swapext(self->path, donor, &took);
	/* The kernel warns, if at all, while swapext runs. */
	kmsg_mark("expect-warning-end");
	EXPECT_EQ(0, module_param_write("test_swap_guard_off", "0"));
	ASSERT_NE(-ETIMEDOUT, ret) TH_LOG("swapext waited for the pin");
	ASSERT_EQ(0, ret) TH_LOG("xfs_io swapext failed");
	TH_LOG("swapext took %llu ms (it does not wait for pins)",
	       (unsigned long long)took);

	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	ASSERT_EQ(0, next_event(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);
	EXPECT_EQ((__u32)DAXPIN_REVOKE_BLOCKS_TAKEN, ev.reason);
	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_REVOKED, q.out_state);
	EXPECT_EQ(1, touch_sigbus(map, 1));
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	munmap(map, FILE_SIZE);
	unlink(donor);
}

/*
 * A pin that ended (UNPIN) while a process still holds one of its pages (a
 * page spliced into a pipe it keeps, as an RDMA registration would) drains.
 * A truncate that comes later waits for that page; past the pin's
 * deadline, kill_on_stuck applies as it does to a revoked pin: the holder
 * is killed, and the truncate goes on. Without kill_on_stuck it waits.
 */
TEST_F_TIMEOUT(revoke, kill_on_stuck_ends_a_draining_holder, 60)
{
	const unsigned int deadline = 500;
	int ready[2], status;
	pid_t holder, op;
	char byte;

	if (!map_registrable())
		SKIP(return, "%s: nothing outside daxpin can take a page reference through the mapping",
		     NO_MAP_REGISTRATION);
	ASSERT_EQ(0, fill_file(self->ffd, 'k', FILE_SIZE));
	ASSERT_EQ(0, pipe(ready));
	holder = fork();
	ASSERT_LE(0, holder);
	if (holder == 0) {
		struct iovec iov = { .iov_len = PAGE };
		struct daxpin_pin p;
		int dfd = daxpin_open(), sp[2];

		if (dfd < 0 || pipe(sp) ||
		    pin_range(dfd, self->ffd, 0, FILE_SIZE, 0, deadline, &p))
			_exit(10);
		iov.iov_base = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, dfd,
				    p.out_mmap_offset);
		if (iov.iov_base == MAP_FAILED ||
		    vmsplice(sp[1], &iov, 1, 0) != (ssize_t)PAGE)
			_exit(11);
		if (unpin(dfd, p.out_handle))
			_exit(12);
		close(dfd);
		if (write(ready[1], "d", 1) != 1)
			_exit(13);
		/* Keeps the pipe, and with it a page of the pin. */
		for (;;)
			pause();
	}
	/* Only the holder may write: EOF if it failed. */
	close(ready[1]);
	if (read(ready[0], &byte, 1) != 1) {
		waitpid(holder, &status, 0);
		ASSERT_TRUE(0) TH_LOG("the holder's step %d failed",
				      WEXITSTATUS(status) - 10);
	}

	/* kill_on_stuck=N: the truncate waits for the page, past the deadline. */
	ASSERT_EQ(0, module_param_write("kill_on_stuck", "N"));
	op = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, op);
	EXPECT_EQ(-ETIMEDOUT, wait_child(op, deadline + 1000));
	EXPECT_EQ(0, kill(holder, 0)) TH_LOG("the holder died without kill_on_stuck");

	/* kill_on_stuck=Y: the next poll past the deadline kills the holder. */
	ASSERT_EQ(0, module_param_write("kill_on_stuck", "Y"));
	EXPECT_EQ(holder, waitpid(holder, &status, 0));
	module_param_write("kill_on_stuck", "N");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	EXPECT_EQ(0, wait_child(op, PROMPT_MS));
	close(ready[0]);
}

/* XFS_IOC_EXCHANGE_RANGE (6.10 on), from xfs_fs.h, which we do not need. */
struct test_xfs_exchange_range {
	__s32 file1_fd;
	__u32 pad;
	__u64 file1_offset;
	__u64 file2_offset;
	__u64 length;
	__u64 flags;
};

#define TEST_XFS_IOC_EXCHANGE_RANGE _IOW('X', 129, struct test_xfs_exchange_range)

/*
 * XFS_IOC_EXCHANGE_RANGE on a pinned file: whatever the kernel does -
 * no such ioctl (6.1), refuse it, wait for the pin as truncate does, or
 * take the blocks without waiting - the pin never stays ACTIVE over blocks
 * that left the file. Which one happened is logged.
 */
TEST_F_TIMEOUT(revoke, exchange_range_never_takes_pinned_blocks, 90)
{
	struct test_xfs_exchange_range xr = { .length = FILE_SIZE };
	struct daxpin_event ev;
	struct daxpin_query q;
	struct daxpin_pin p;
	char donor[4200];
	int dfd2, status;
	uint64_t t0;
	pid_t pid;

	if (strcmp(getenv("DAXPIN_FS") ?: "", "xfs"))
		SKIP(return, "XFS_IOC_EXCHANGE_RANGE is XFS's");
	snprintf(donor, sizeof(donor), "%s.donor", self->path);
	dfd2 = open(donor, O_RDWR | O_CREAT | O_TRUNC, 0644);
	ASSERT_LE(0, dfd2);
	ASSERT_EQ(0, fill_file(dfd2, 'd', FILE_SIZE));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, FILE_SIZE,
			       DAXPIN_PIN_WRITE, 1000, &p));

	kmsg_mark("expect-warning dax_disassociate_entry");
	t0 = now_ns();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = open(self->path, O_RDWR);

		xr.file1_fd = dfd2;
		if (fd < 0)
			_exit(255);
		_exit(ioctl(fd, TEST_XFS_IOC_EXCHANGE_RANGE, &xr) ? errno : 0);
	}
	status = wait_child(pid, 1000 + SWAPEXT_BOUND_MS);
	if (status == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	kmsg_mark("expect-warning-end");
	ASSERT_NE(-ETIMEDOUT, status) TH_LOG("exchange-range still waits");
	ASSERT_TRUE(WIFEXITED(status));
	close(dfd2);
	unlink(donor);
	if (WEXITSTATUS(status)) {
		/* Refused: nothing moved, nothing recalled. */
		TH_LOG("exchange-range refused: %s",
		       strerror(WEXITSTATUS(status)));
		EXPECT_EQ(-ETIMEDOUT, next_event_skip_breaks(self->dfd, 0, &ev));
		ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
		EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
		EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
		return;
	}
	ASSERT_EQ(0, next_event_skip_breaks(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	ASSERT_EQ(0, next_event_skip_breaks(self->dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_REVOKED, ev.type);
	TH_LOG("exchange-range took %llu ms; pin revoked, reason %u (%s)",
	       (unsigned long long)((now_ns() - t0) / 1000000), ev.reason,
	       ev.reason == DAXPIN_REVOKE_DEADLINE ? "it waited for the pin" :
	       "it took the blocks without waiting");
	EXPECT_TRUE(ev.reason == DAXPIN_REVOKE_DEADLINE ||
		    ev.reason == DAXPIN_REVOKE_BLOCKS_TAKEN);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

TEST_HARNESS_MAIN
