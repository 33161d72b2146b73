// SPDX-License-Identifier: GPL-2.0
/*
 * A mixed load, for DAXPIN_TEST_SECONDS (default 30): holder processes pin
 * overlapping ranges of a few files with deadlines of 50-500 ms, map some
 * pins and store into them, and answer recalls - or ignore them, or die
 * with their pins mapped, or get killed - while changer processes
 * truncate, punch, zero and refill the same files.
 *
 * What must hold (semantics 3, 4 and 7):
 *   - no layout change blocks longer than the longest deadline in use plus
 *     REVOKE_BOUND_MS, and a recalled pin is revoked within
 *     REVOKE_BOUND_MS of its deadline (some holders ignore recalls for
 *     longer than that, so a revocation that does not come shows);
 *   - /proc/daxpin never lists a pin of a process that was reaped, and
 *     never a draining entry: nothing here registers memory for RDMA;
 *   - every process exits when told to;
 *   - once all have exited, /proc/daxpin lists nothing of ours and the
 *     module's refcount is 0;
 *   - after UNPIN, a store through the pin's mapping gets SIGBUS; events
 *     name only pins the holder still has, and a RECALL's deadline is the
 *     pin's.
 * Every blocking call has an alarm or a timeout: the test cannot hang on
 * a stuck kernel, it reports the stuck process and its kernel stack.
 *
 * The overlap tests after it are the smallest form of what the mixed load
 * found (STRESS-FINDINGS.md of the soak branch).
 */
#include <sched.h>
#include <stdarg.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: the mixed load that stalled XFS once:
 * every kernel and file system.
 */
DAXPIN_RUNS_ON(every);

#define NFILES		4
#define FILE_MAX	(4 * 1024 * 1024UL)
#define FILE_PAGES	(FILE_MAX / PAGE)
#define NHOLDERS	6
#define NCHANGERS	3
#define HOLDER_PINS	8
#define MIN_DEADLINE_MS	50
#define MAX_DEADLINE_MS	500
/* Revocation after a deadline, under emulation and load, takes at most. */
#define REVOKE_BOUND_MS	10000
/* No layout change may block longer than this. */
#define BOUND_MS	(MAX_DEADLINE_MS + REVOKE_BOUND_MS)
/* A call blocked this long is interrupted by an alarm (and has failed). */
#define ALARM_S		(BOUND_MS / 1000 + 5)
/* How long processes have to exit once told, and after SIGKILL. */
#define EXIT_BOUND_MS	(BOUND_MS + 5000)
/* How long /proc/daxpin and the refcount have to settle at the end. */
#define SETTLE_MS	10000
/*
 * In `make check` (every guest) and `make check-full`; `make soak` runs
 * 180. Not less: the test checks that each kind of holder's end (exit,
 * close, kill with pins mapped) happened, and in 15 s one did not (7.2).
 */
#define DEFAULT_SECONDS	30
#define MIN_SECONDS	10
#define MAX_SECONDS	7200
#define SAMPLE_MS	500
#define KILL_EVERY_MS	3000
/* Lives of holders, in ms; one in LONG_LIFE_ONE_IN outlives BOUND_MS. */
#define LIFE_MIN_MS	300
#define LIFE_MAX_MS	3000
#define LONG_LIFE_MIN_MS	(BOUND_MS + 2000)
#define LONG_LIFE_MAX_MS	(BOUND_MS + 8000)
#define LONG_LIFE_ONE_IN	5
/* The ticker: a SCHED_FIFO sleeper that notices when the guest stands still. */
#define TICK_MS		10
#define STALL_MS	500
#define MAX_STALLS	32
#define MAX_FAILS	16
#define PROC_BUF	(256 * 1024)

enum ch_op { CH_SHRINK, CH_GROW, CH_PUNCH, CH_ZERO, CH_WRITE, NR_CH_OPS };
static const char *const ch_op_name[NR_CH_OPS] = {
	"truncate down", "truncate up", "punch hole", "zero range", "write",
};

static const char *op_name(unsigned int op)
{
	return op < NR_CH_OPS ? ch_op_name[op] : "?";
}

static const unsigned int bucket_ms[] = {
	1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000,
};
#define NBUCKETS	(sizeof(bucket_ms) / sizeof(bucket_ms[0]) + 1)

/* Everything the processes share; counters are updated atomically. */
struct shared {
	volatile int stop;
	int nfail;
	char fail[MAX_FAILS][320];

	/* holders; one in a long life is not killed: it must outlive BOUND_MS */
	volatile int holder_long[NHOLDERS];
	unsigned long lives, long_lives, pins, pin_enxio, pin_eintr,
		      pin_enospc, maps, map_enxio, stores, sigbus, recalls, write_breaks,
		      revoked, unpin_at_once, unpin_late, ignored, unpins,
		      unpin_sigbus_checked, exits_mapped, closes_mapped;

	/* changers */
	struct {
		volatile uint64_t start_ns;	/* of the call under way, or 0 */
		volatile int op, file;
		int reported;
	} slot[NCHANGERS];
	unsigned long ops[NR_CH_OPS], op_errors[NR_CH_OPS];
	unsigned long hist[NR_CH_OPS][NBUCKETS];
	uint64_t max_ns[NR_CH_OPS];

	/* the ticker: when nothing ran, the guest's vCPUs did not */
	uint64_t t0_ns;
	uint64_t max_late_ns;
	int nstalls;
	struct {
		uint64_t at_ns, late_ns;
	} stall[MAX_STALLS];

	/* /proc/daxpin, read by a short-lived child */
	volatile long proc_len;
	char proc[PROC_BUF];
};

static struct shared *sh;
static char file_path[NFILES][4096];

#define ADD(field, n)	__atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)

static void note_max(uint64_t *p, uint64_t v)
{
	uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (v > old && !__atomic_compare_exchange_n(p, &old, v, false,
						       __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

/* A failure seen by any process: printed now, asserted by the parent. */
static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	int i = __atomic_fetch_add(&sh->nfail, 1, __ATOMIC_RELAXED);
	char buf[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# FAIL [pid %d]: %s\n", getpid(), buf);
	if (i < MAX_FAILS)
		memcpy(sh->fail[i], buf, sizeof(buf));
}

static uint64_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state >> 11);
}

static void rnd_seed(void)
{
	rnd_state = now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	if (!rnd_state)
		rnd_state = 1;
}

static void on_signal(int sig)
{
}

/* SIGUSR1 (stop) and SIGALRM interrupt blocking calls: no SA_RESTART. */
static void worker_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
}

static off_t fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/* ---- holders -------------------------------------------------------- */

struct hpin {
	uint32_t handle;	/* 0: free slot */
	uint32_t deadline_ms;
	uint64_t made_ns;
	char *map;
	size_t len;
	int revoked;
	uint64_t unpin_at_ns;	/* 0: not planned */
};

static struct hpin hp[HOLDER_PINS];

static struct hpin *hpin_find(uint32_t handle)
{
	int i;

	for (i = 0; i < HOLDER_PINS; i++)
		if (hp[i].handle == handle)
			return &hp[i];
	return NULL;
}

static int hpin_count(int mapped)
{
	int i, n = 0;

	for (i = 0; i < HOLDER_PINS; i++)
		n += hp[i].handle && (!mapped || hp[i].map);
	return n;
}

static void holder_unpin(int dfd, struct hpin *h)
{
	int err = unpin(dfd, h->handle);

	if (err)
		fail("UNPIN of handle %u: %s", h->handle, strerror(-err));
	ADD(sh->unpins, 1);
	if (h->map) {
		/* The mapping is zapped when UNPIN returns. */
		if (!(rnd() % 4)) {
			if (!touch_sigbus(h->map + (rnd() % h->len), 1))
				fail("a store through handle %u's mapping went through after UNPIN",
				     h->handle);
			ADD(sh->unpin_sigbus_checked, 1);
		}
		munmap(h->map, h->len);
	}
	memset(h, 0, sizeof(*h));
}

static void holder_pin(int dfd, const int *fds)
{
	struct hpin *h = hpin_find(0);
	struct daxpin_pin p;
	uint64_t off, len, pages, t0;
	uint32_t deadline = MIN_DEADLINE_MS +
			    rnd() % (MAX_DEADLINE_MS - MIN_DEADLINE_MS + 1);
	int f = rnd() % NFILES, err;
	off_t size = fd_size(fds[f]);

	if (!h || size < (off_t)PAGE)
		return;
	pages = size / PAGE;
	/* Half of the pins in the first quarter: they overlap more. */
	off = rnd() % (rnd() % 2 ? pages : (pages + 3) / 4);
	len = 1 + rnd() % (rnd() % 8 ? 64 : 256);
	if (len > pages - off)
		len = pages - off;
	alarm(ALARM_S);
	t0 = now_ns();	/* no recall of this pin can come before */
	err = pin_range(dfd, fds[f], off * PAGE, len * PAGE, DAXPIN_PIN_WRITE,
			deadline, &p);
	alarm(0);
	switch (err) {
	case 0:
		break;
	case -ENXIO:	/* the file shrank meanwhile */
		ADD(sh->pin_enxio, 1);
		return;
	case -ENOSPC:
		ADD(sh->pin_enospc, 1);
		return;
	case -EINTR:
		ADD(sh->pin_eintr, 1);
		if (!sh->stop)
			fail("PIN blocked over %d s (interrupted by the alarm)",
			     ALARM_S);
		return;
	default:
		fail("PIN of file %d [%llu, +%llu) pages: %s", f,
		     (unsigned long long)off, (unsigned long long)len,
		     strerror(-err));
		return;
	}
	ADD(sh->pins, 1);
	h->handle = p.out_handle;
	h->deadline_ms = deadline;
	h->made_ns = t0;
	h->len = len * PAGE;
	if (rnd() % 3) {
		void *map = mmap(NULL, h->len, PROT_READ | PROT_WRITE,
				 MAP_SHARED, dfd, p.out_mmap_offset);

		if (map != MAP_FAILED) {
			h->map = map;
			ADD(sh->maps, 1);
		} else if (errno == ENXIO) {	/* revoked already */
			ADD(sh->map_enxio, 1);
		} else {
			fail("mmap of handle %u: %s", h->handle,
			     strerror(errno));
		}
	}
}

static void holder_events(int dfd)
{
	struct daxpin_event ev;
	struct hpin *h;
	uint64_t now;

	while (read(dfd, &ev, sizeof(ev)) == sizeof(ev)) {
		now = now_ns();
		h = hpin_find(ev.handle);
		if (!h || !ev.handle) {
			fail("event %u for handle %u, which this holder does not have",
			     ev.type, ev.handle);
			continue;
		}
		switch (ev.type) {
		case DAXPIN_EVENT_RECALL:
			ADD(sh->recalls, 1);
			if (ev.deadline_ns > now + (uint64_t)h->deadline_ms * 1000000 ||
			    ev.deadline_ns < h->made_ns + (uint64_t)h->deadline_ms * 1000000)
				fail("RECALL of handle %u: deadline %lld ms from now, pin's deadline %u ms",
				     ev.handle,
				     (long long)((int64_t)(ev.deadline_ns - now) / 1000000),
				     h->deadline_ms);
			switch (rnd() % 5) {
			case 0: case 1: case 2:
				ADD(sh->unpin_at_once, 1);
				holder_unpin(dfd, h);
				break;
			case 3:	/* late: sometimes after the deadline */
				ADD(sh->unpin_late, 1);
				h->unpin_at_ns = now + (uint64_t)(rnd() % (h->deadline_ms * 2)) * 1000000;
				break;
			default:
				ADD(sh->ignored, 1);
				break;
			}
			break;
		case DAXPIN_EVENT_REVOKED:
			ADD(sh->revoked, 1);
			if (ev.reason != DAXPIN_REVOKE_DEADLINE)
				fail("REVOKED with reason %u", ev.reason);
			h->revoked = 1;
			/* Keep the revoked handle a while, sometimes. */
			if (!h->unpin_at_ns)
				h->unpin_at_ns = now + (uint64_t)(rnd() % 300) * 1000000;
			break;
		case DAXPIN_EVENT_WRITE_BREAK:
			ADD(sh->write_breaks, 1);
			break;
		default:
			fail("event of unknown type %u", ev.type);
		}
	}
	if (errno != EAGAIN && errno != EINTR)
		fail("read of events: %s", strerror(errno));
}

static void holder_stores(void)
{
	int i;

	for (i = 0; i < HOLDER_PINS; i++) {
		struct hpin *h = &hp[i];

		if (!h->map || rnd() % 2)
			continue;
		ADD(sh->stores, 1);
		/* SIGBUS is legal: the pin may be revoked. */
		if (touch_sigbus(h->map + (rnd() % h->len), 1))
			ADD(sh->sigbus, 1);
	}
}

/*
 * A holder lives (one daxpin file) for LIFE_MIN_MS-LIFE_MAX_MS, or one
 * time in LONG_LIFE_ONE_IN for longer than BOUND_MS: a recall it ignores
 * then holds a layout change off until the revocation, however long that
 * takes - a driver that failed to revoke would show here.
 */
static void __attribute__((noreturn)) holder_main(int id)
{
	int fds[NFILES], dfd, f, i;

	rnd_seed();
	worker_signals();
	for (f = 0; f < NFILES; f++) {
		fds[f] = open(file_path[f], O_RDWR | O_CLOEXEC);
		if (fds[f] < 0) {
			fail("open %s: %s", file_path[f], strerror(errno));
			_exit(1);
		}
	}
	while (!sh->stop) {
		int is_long = !(rnd() % LONG_LIFE_ONE_IN);
		uint64_t end = now_ns() + 1000000ull *
			(is_long ? LONG_LIFE_MIN_MS +
				   rnd() % (LONG_LIFE_MAX_MS - LONG_LIFE_MIN_MS) :
				   LIFE_MIN_MS + rnd() % (LIFE_MAX_MS - LIFE_MIN_MS));

		ADD(sh->lives, 1);
		ADD(sh->long_lives, is_long);
		sh->holder_long[id] = is_long;
		dfd = daxpin_open();
		if (dfd < 0) {
			fail("open /dev/daxpin: %s", strerror(-dfd));
			_exit(1);
		}
		fcntl(dfd, F_SETFL, O_NONBLOCK);
		memset(hp, 0, sizeof(hp));

		while (now_ns() < end && !sh->stop) {
			struct pollfd pfd = { .fd = dfd, .events = POLLIN };
			uint64_t now;

			poll(&pfd, 1, rnd() % 10);
			holder_events(dfd);
			now = now_ns();
			for (i = 0; i < HOLDER_PINS; i++)
				if (hp[i].handle && hp[i].unpin_at_ns &&
				    hp[i].unpin_at_ns <= now)
					holder_unpin(dfd, &hp[i]);
			if (rnd() % 3 == 0)
				holder_pin(dfd, fds);
			holder_stores();
			if (rnd() % 40 == 0 && hpin_count(0)) {
				i = rnd() % HOLDER_PINS;
				if (hp[i].handle)
					holder_unpin(dfd, &hp[i]);
			}
		}
		if (sh->stop)
			break;

		switch (rnd() % 3) {
		case 0:
			/* Die with pins (and mappings) in place. */
			if (hpin_count(1))
				ADD(sh->exits_mapped, 1);
			_exit(0);
		case 1:
			/* Close with pins mapped: they end at the last munmap. */
			if (hpin_count(1))
				ADD(sh->closes_mapped, 1);
			close(dfd);
			usleep(rnd() % 20000);
			for (i = 0; i < HOLDER_PINS; i++)
				if (hp[i].map)
					munmap(hp[i].map, hp[i].len);
			break;
		default:
			for (i = 0; i < HOLDER_PINS; i++)
				if (hp[i].handle)
					holder_unpin(dfd, &hp[i]);
			close(dfd);
			break;
		}
	}
	/* Told to stop: just go, pins and all. */
	_exit(0);
}

/* ---- the ticker ----------------------------------------------------- */

/*
 * Wake every TICK_MS at real-time priority and note each wakeup that
 * comes STALL_MS late or more: nothing in the guest (daxpin's waits
 * included: they sleep) keeps a SCHED_FIFO sleeper from running, except
 * the vCPUs not running at all (an overloaded host) or a kernel that spins
 * without preemption. A layout change that blocks while the ticker ticks
 * waited in the kernel; one that spans a stall may not have.
 */
static void __attribute__((noreturn)) ticker_main(void)
{
	struct sched_param sp = { .sched_priority = 50 };
	uint64_t t, late;
	int i;

	worker_signals();
	if (sched_setscheduler(0, SCHED_FIFO, &sp))
		fprintf(stderr, "# ticker: no SCHED_FIFO (%s): it ticks at normal priority\n",
			strerror(errno));
	while (!sh->stop) {
		t = now_ns();
		usleep(TICK_MS * 1000);
		late = now_ns() - t;
		late = late > TICK_MS * 1000000ull ? late - TICK_MS * 1000000ull : 0;
		note_max(&sh->max_late_ns, late);
		if (late >= STALL_MS * 1000000ull) {
			i = __atomic_fetch_add(&sh->nstalls, 1, __ATOMIC_RELAXED);
			if (i < MAX_STALLS) {
				sh->stall[i].at_ns = t;
				sh->stall[i].late_ns = late;
			}
		}
	}
	_exit(0);
}

/* How much of [@from, @to) the ticker saw the guest stand still. */
static uint64_t stalled_ns(uint64_t from, uint64_t to)
{
	int i, n = __atomic_load_n(&sh->nstalls, __ATOMIC_RELAXED);
	uint64_t sum = 0;

	for (i = 0; i < n && i < MAX_STALLS; i++) {
		uint64_t a = sh->stall[i].at_ns + TICK_MS * 1000000ull;
		uint64_t b = a + sh->stall[i].late_ns;

		a = a > from ? a : from;
		b = b < to ? b : to;
		sum += b > a ? b - a : 0;
	}
	return sum;
}

/* ---- changers ------------------------------------------------------- */

static int changer_op(int fd, enum ch_op op, off_t size)
{
	static char buf[256 * 1024];
	off_t off, len;

	switch (op) {
	case CH_SHRINK:
		/* Sometimes not page aligned: the tail page is zeroed. */
		off = size ? rnd() % size : 0;
		if (rnd() % 2)
			off &= ~(off_t)(PAGE - 1);
		return ftruncate(fd, off);
	case CH_GROW:
		return ftruncate(fd, FILE_MAX);
	case CH_PUNCH:
	case CH_ZERO:
		off = rnd() % FILE_PAGES * PAGE + (rnd() % 2 ? 0 : rnd() % PAGE);
		len = (1 + rnd() % 128) * PAGE;
		return fallocate(fd, (op == CH_PUNCH ? FALLOC_FL_PUNCH_HOLE :
				      FALLOC_FL_ZERO_RANGE) | FALLOC_FL_KEEP_SIZE,
				 off, len);
	default:
		off = rnd() % FILE_PAGES * PAGE;
		len = (1 + rnd() % 64) * PAGE;
		if (off + len > (off_t)FILE_MAX)
			len = FILE_MAX - off;
		memset(buf, 'a' + rnd() % 26, len);
		return pwrite(fd, buf, len, off) == len ? 0 : -1;
	}
}

static void __attribute__((noreturn)) changer_main(int id)
{
	int fds[NFILES], f;

	rnd_seed();
	worker_signals();
	for (f = 0; f < NFILES; f++) {
		fds[f] = open(file_path[f], O_RDWR | O_CLOEXEC);
		if (fds[f] < 0) {
			fail("open %s: %s", file_path[f], strerror(errno));
			_exit(1);
		}
	}
	while (!sh->stop) {
		enum ch_op op = rnd() % NR_CH_OPS;
		uint64_t t0, ns;
		off_t size;
		unsigned int b;
		int ret, err;

		f = rnd() % NFILES;
		size = fd_size(fds[f]);
		/* Shrink what is big, grow what is small. */
		if (op == CH_SHRINK && size == 0)
			op = CH_GROW;
		else if (op == CH_GROW && size == (off_t)FILE_MAX)
			op = CH_SHRINK;
		sh->slot[id].op = op;
		sh->slot[id].file = f;
		alarm(ALARM_S);
		t0 = now_ns();
		sh->slot[id].start_ns = t0;
		ret = changer_op(fds[f], op, size);
		err = errno;
		ns = now_ns() - t0;
		sh->slot[id].start_ns = 0;
		alarm(0);

		if (ret && err == EINTR && sh->stop)
			break;
		ADD(sh->ops[op], 1);
		for (b = 0; b < NBUCKETS - 1; b++)
			if (ns < bucket_ms[b] * 1000000ull)
				break;
		ADD(sh->hist[op][b], 1);
		note_max(&sh->max_ns[op], ns);
		if (ns > BOUND_MS * 1000000ull)
			fail("%s of file %d blocked %llu ms (bound %d ms) from t=%.1f s; the guest stood still %llu ms of it",
			     ch_op_name[op], f,
			     (unsigned long long)(ns / 1000000), BOUND_MS,
			     (t0 - sh->t0_ns) / 1e9,
			     (unsigned long long)(stalled_ns(t0, t0 + ns) / 1000000));
		if (ret) {
			ADD(sh->op_errors[op], 1);
			fail("%s of file %d: %s%s", ch_op_name[op], f,
			     strerror(err), err == EINTR ?
			     " (interrupted by the alarm)" : "");
		}
		usleep(rnd() % 10000);
	}
	_exit(0);
}

/* ---- the parent ----------------------------------------------------- */

enum role { HOLDER = 1, CHANGER, TICKER };

struct child {
	pid_t pid;	/* 0: none */
	enum role role;
	int id;
};

#define MAX_CHILDREN	(NHOLDERS + NCHANGERS + 1)

static struct child kids[MAX_CHILDREN];

static pid_t spawn(int slot, enum role role, int id)
{
	sigset_t usr1, old;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	/*
	 * The stop (SIGUSR1) may come before the child has its handler: it
	 * is held off until then, else it kills the child (seen once on
	 * 6.12 ext4: "holder died of signal 10").
	 */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	pid = fork();
	if (pid == 0) {
		worker_signals();
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (role == HOLDER)
			holder_main(id);
		if (role == TICKER)
			ticker_main();
		changer_main(id);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid > 0) {
		kids[slot].pid = pid;
		kids[slot].role = role;
		kids[slot].id = id;
	}
	return pid;
}

static int live_kid(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (kids[i].pid == pid)
			return i;
	return -1;
}

static int nr_kids(void)
{
	int i, n = 0;

	for (i = 0; i < MAX_CHILDREN; i++)
		n += kids[i].pid != 0;
	return n;
}

/* Print a stuck process's kernel stack, for the report. */
static void show_stack(pid_t pid, const char *why)
{
	char path[64], buf[4096], *line, *save;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fprintf(stderr, "# pid %d %s; kernel stack:\n", pid, why);
	if (read_small_file(path, buf, sizeof(buf)) < 0) {
		fprintf(stderr, "#   (unreadable)\n");
		return;
	}
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "#   %s\n", line);
}

/*
 * Once per run, at the first layout change blocked too long: have the
 * kernel log the stacks of every task in uninterruptible sleep (SysRq w),
 * so that what the change waits for - a worker, a PIN, a lock holder -
 * can be read in the guest's kernel log afterwards.
 */
static void show_blocked_tasks(void)
{
	static int shown;
	int fd;

	if (shown++)
		return;
	fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "w", 1) != 1)
		fprintf(stderr, "# SysRq w failed: %s\n", strerror(errno));
	else
		fprintf(stderr, "# the kernel log has the stacks of the blocked tasks (SysRq w)\n");
	if (fd >= 0)
		close(fd);
}

/*
 * Read /proc/daxpin into sh->proc, in a child, so that a read stuck in
 * the kernel cannot hang the test: the length, or -1.
 */
static long read_proc_daxpin(void)
{
	pid_t pid;
	int status;

	sh->proc_len = -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		int fd = open("/proc/daxpin", O_RDONLY);
		long n = 0, r = 1;

		while (fd >= 0 && r > 0 && n < PROC_BUF - 1) {
			r = read(fd, sh->proc + n, PROC_BUF - 1 - n);
			n += r > 0 ? r : 0;
		}
		sh->proc[n] = 0;
		sh->proc_len = fd < 0 || r < 0 ? -1 : n;
		_exit(0);
	}
	if (pid < 0)
		return -1;
	status = wait_child(pid, 5000);
	if (status == -ETIMEDOUT) {
		show_stack(pid, "reading /proc/daxpin for 5 s");
		fail("reading /proc/daxpin blocked over 5 s");
		kill(pid, SIGKILL);
		return -1;
	}
	return sh->proc_len;
}

struct proc_entry {
	int pid;
	unsigned int handle;
	char state[16];
	unsigned long long off, len;
	long long left_ms;
	char path[4096];
};

/* Parse one line of /proc/daxpin; 1 if it is a pin of our files. */
static int parse_entry(const char *line, struct proc_entry *e)
{
	int f;

	if (sscanf(line, "%d %u %15s %*s %llx %llx %*s %lld %*u %*u %4095s",
		   &e->pid, &e->handle, e->state, &e->off, &e->len,
		   &e->left_ms, e->path) != 7)
		return 0;
	for (f = 0; f < NFILES; f++)
		if (!strcmp(e->path, file_path[f]))
			return 1;
	return 0;
}

/* A recalled pin seen past its deadline, and since when. */
struct overdue {
	int pid;
	unsigned int handle;
	uint64_t since_ns;
	int seen;
};

struct watch {
	unsigned long samples, draining_samples, most_pins, most_draining;
	unsigned long overdue_seen;
	uint64_t longest_overdue_ns;
	struct overdue od[64];
	int reported_dead, reported_overdue;
	char first_draining[512];
};

/* One look at /proc/daxpin while the load runs. */
static void sample(struct watch *w)
{
	struct proc_entry e;
	unsigned long pins = 0, draining = 0;
	uint64_t now = now_ns();
	char *line, *save;
	int i;

	if (read_proc_daxpin() < 0)
		return;
	w->samples++;
	for (i = 0; i < 64; i++)
		w->od[i].seen = 0;
	line = strtok_r(sh->proc, "\n", &save);	/* the header */
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (!parse_entry(line, &e))
			continue;
		if (!strcmp(e.state, "draining")) {
			if (!w->first_draining[0])
				snprintf(w->first_draining,
					 sizeof(w->first_draining), "%.500s",
					 line);
			draining++;
			continue;
		}
		pins++;
		if (live_kid(e.pid) < 0 && w->reported_dead++ < 3)
			fail("/proc/daxpin lists a pin of pid %d, which was reaped: %s",
			     e.pid, line);
		if (strcmp(e.state, "recalled") || e.left_ms > 0)
			continue;
		/* Past its deadline: it must be revoked soon. */
		for (i = 0; i < 64; i++)
			if (w->od[i].since_ns && w->od[i].pid == e.pid &&
			    w->od[i].handle == e.handle)
				break;
		if (i == 64) {
			for (i = 0; i < 64 && w->od[i].since_ns; i++)
				;
			if (i == 64)
				continue;
			w->od[i].pid = e.pid;
			w->od[i].handle = e.handle;
			w->od[i].since_ns = now;
			w->overdue_seen++;
		}
		w->od[i].seen = 1;
		if (now - w->od[i].since_ns > w->longest_overdue_ns)
			w->longest_overdue_ns = now - w->od[i].since_ns;
		if (now - w->od[i].since_ns > REVOKE_BOUND_MS * 1000000ull &&
		    w->reported_overdue++ < 3)
			fail("pin %d/%u still recalled %llu ms past its deadline: %s",
			     e.pid, e.handle,
			     (unsigned long long)((now - w->od[i].since_ns) / 1000000),
			     line);
	}
	for (i = 0; i < 64; i++)
		if (!w->od[i].seen)
			w->od[i].since_ns = 0;
	if (pins > w->most_pins)
		w->most_pins = pins;
	if (draining > w->most_draining)
		w->most_draining = draining;
	w->draining_samples += draining > 0;
}

/* Lines of /proc/daxpin about our files; printed. */
static int our_entries(int print)
{
	struct proc_entry e;
	char *line, *save;
	int n = 0;

	if (read_proc_daxpin() < 0)
		return -1;
	line = strtok_r(sh->proc, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save)))
		if (parse_entry(line, &e)) {
			n++;
			if (print)
				fprintf(stderr, "#   %s\n", line);
		}
	return n;
}

static long module_refcnt(void)
{
	char buf[64];

	if (read_small_file("/sys/module/daxpin/refcnt", buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* Reap what exited; holders that died are replaced unless @stopping. */
static void reap(int stopping)
{
	pid_t pid;
	int status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		i = live_kid(pid);
		if (i < 0)
			continue;	/* a /proc reader */
		kids[i].pid = 0;
		if (kids[i].role != HOLDER) {
			if (!stopping)
				fail("%s (pid %d) ended early (status %#x)",
				     kids[i].role == TICKER ? "the ticker" :
				     "a changer", pid, status);
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status))
			fail("holder pid %d exited with %d", pid,
			     WEXITSTATUS(status));
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			fail("holder pid %d died of signal %d", pid,
			     WTERMSIG(status));
		if (!stopping)
			spawn(i, HOLDER, kids[i].id);
	}
}

/* Wait up to @ms for every child to be reaped: how many are left. */
static int reap_all(int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;

	do {
		reap(1);
		if (!nr_kids())
			return 0;
		usleep(10000);
	} while (now_ns() < end);
	return nr_kids();
}

static unsigned int test_seconds(void)
{
	const char *v = getenv("DAXPIN_TEST_SECONDS");
	unsigned long s = v && *v ? strtoul(v, NULL, 10) : DEFAULT_SECONDS;

	if (s < MIN_SECONDS)
		s = MIN_SECONDS;
	if (s > MAX_SECONDS)
		s = MAX_SECONDS;
	return s;
}

FIXTURE(stress) {
	struct shared *sh;
};

FIXTURE_SETUP(stress)
{
	const char *dir = env_or_die("DAXPIN_DAX_DIR");
	char name[64];
	int f, fd;

	self->sh = mmap(NULL, sizeof(*self->sh), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->sh);
	sh = self->sh;
	for (f = 0; f < NFILES; f++) {
		snprintf(name, sizeof(name), "stress-%d", f);
		fd = make_file(dir, name, FILE_MAX, file_path[f],
			       sizeof(file_path[f]));
		ASSERT_LE(0, fd);
		/* Half data, half holes: pins allocate some. */
		ASSERT_EQ(0, fill_file(fd, 'a' + f, FILE_MAX / 2));
		close(fd);
	}
	ASSERT_EQ(0, module_refcnt())
		TH_LOG("daxpin is in use before the test: it checks that the refcount returns to 0");
}

FIXTURE_TEARDOWN(stress)
{
	int i, f;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGKILL);
	reap_all(EXIT_BOUND_MS);
	for (f = 0; f < NFILES; f++)
		if (file_path[f][0])
			unlink(file_path[f]);
	if (self->sh != MAP_FAILED && self->sh)
		munmap(self->sh, sizeof(*self->sh));
}

static void print_histogram(struct __test_metadata *_metadata)
{
	char line[512], cell[16];
	unsigned int op, b;
	int n;

	n = snprintf(line, sizeof(line), "%-14s", "latency (ms)");
	for (b = 0; b < NBUCKETS - 1; b++) {
		snprintf(cell, sizeof(cell), "<%u", bucket_ms[b]);
		n += snprintf(line + n, sizeof(line) - n, " %7s", cell);
	}
	snprintf(cell, sizeof(cell), ">=%u", bucket_ms[NBUCKETS - 2]);
	snprintf(line + n, sizeof(line) - n, " %7s %8s", cell, "max");
	TH_LOG("%s", line);
	for (op = 0; op < NR_CH_OPS; op++) {
		n = snprintf(line, sizeof(line), "%-14s", ch_op_name[op]);
		for (b = 0; b < NBUCKETS; b++)
			n += snprintf(line + n, sizeof(line) - n, " %7lu",
				      sh->hist[op][b]);
		snprintf(line + n, sizeof(line) - n, " %8.1f",
			 sh->max_ns[op] / 1e6);
		TH_LOG("%s", line);
	}
}

TEST_F(stress, mixed_load)
{
	unsigned int seconds = test_seconds();
	uint64_t t0 = now_ns(), end = t0 + seconds * 1000000000ull;
	uint64_t next_sample = 0, next_kill = t0 + KILL_EVERY_MS * 1000000ull;
	uint64_t worst = 0, settle_t0;
	unsigned long kills = 0, total_ops = 0;
	struct watch w = { 0 };
	long refcnt = -1;
	int i, left, ours = -1, worst_op = 0;

	rnd_seed();

	TH_LOG("%u s (DAXPIN_TEST_SECONDS=%s), %d holders, %d changers, %d files of %lu KiB on %s, deadlines %d-%d ms, bound %d ms",
	       seconds, getenv("DAXPIN_TEST_SECONDS") ?: "unset", NHOLDERS,
	       NCHANGERS, NFILES, FILE_MAX / 1024, getenv("DAXPIN_FS") ?: "?",
	       MIN_DEADLINE_MS, MAX_DEADLINE_MS, BOUND_MS);

	sh->t0_ns = t0;
	ASSERT_LT(0, spawn(NCHANGERS + NHOLDERS, TICKER, 0));
	for (i = 0; i < NCHANGERS; i++)
		ASSERT_LT(0, spawn(i, CHANGER, i));
	for (i = 0; i < NHOLDERS; i++)
		ASSERT_LT(0, spawn(NCHANGERS + i, HOLDER, i));

	while (now_ns() < end) {
		uint64_t now;

		usleep(50000);
		reap(0);
		now = now_ns();
		/* A layout change under way for too long: show where. */
		for (i = 0; i < NCHANGERS; i++) {
			uint64_t s = sh->slot[i].start_ns;

			if (s && now > s && now - s > BOUND_MS * 1000000ull &&
			    !sh->slot[i].reported) {
				sh->slot[i].reported = 1;
				show_stack(kids[i].pid, "blocked in a layout change");
				show_blocked_tasks();
				fail("%s of file %d under way for %llu ms (bound %d ms) from t=%.1f s; the guest stood still %llu ms of it",
				     ch_op_name[sh->slot[i].op], sh->slot[i].file,
				     (unsigned long long)((now - s) / 1000000),
				     BOUND_MS, (s - t0) / 1e9,
				     (unsigned long long)(stalled_ns(s, now) / 1000000));
				our_entries(1);
			}
		}
		if (now >= next_sample) {
			sample(&w);
			next_sample = now_ns() + SAMPLE_MS * 1000000ull;
		}
		if (now >= next_kill) {
			int j, k, first = rnd() % NHOLDERS;
			bool killed = false;

			/*
			 * A holder chosen at random among those that may
			 * die (not a long-lived one, not between lives);
			 * none may just now: try again at the next round.
			 */
			for (j = 0; j < NHOLDERS && !killed; j++) {
				k = NCHANGERS + (first + j) % NHOLDERS;
				if (kids[k].pid > 0 &&
				    !sh->holder_long[kids[k].id] &&
				    !kill(kids[k].pid, SIGKILL))
					killed = true;
			}
			if (killed) {
				kills++;
				next_kill = now + (KILL_EVERY_MS / 2 +
						   rnd() % KILL_EVERY_MS) *
					    1000000ull;
			}
		}
	}

	/* Tell everyone to stop; each must be gone within EXIT_BOUND_MS. */
	sh->stop = 1;
	for (i = 0; i < MAX_CHILDREN; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGUSR1);
	left = reap_all(EXIT_BOUND_MS);
	if (left) {
		for (i = 0; i < MAX_CHILDREN; i++)
			if (kids[i].pid > 0) {
				show_stack(kids[i].pid, "did not exit when told");
				kill(kids[i].pid, SIGKILL);
			}
		fail("%d processes did not exit within %d ms of being told",
		     left, EXIT_BOUND_MS);
		left = reap_all(EXIT_BOUND_MS);
		if (left)
			fail("%d processes survived SIGKILL for %d ms", left,
			     EXIT_BOUND_MS);
	}

	/* Every daxpin file is closed: nothing of ours may stay listed. */
	settle_t0 = now_ns();
	if (!left) {
		do {
			ours = our_entries(0);
			refcnt = module_refcnt();
			if (!ours && !refcnt)
				break;
			usleep(100000);
		} while (now_ns() - settle_t0 < SETTLE_MS * 1000000ull);
	}

	for (i = 0; i < NR_CH_OPS; i++) {
		total_ops += sh->ops[i];
		if (sh->max_ns[i] > worst) {
			worst = sh->max_ns[i];
			worst_op = i;
		}
	}
	TH_LOG("holders: %lu lives (%lu longer than %d ms), %lu exited with pins mapped, %lu closed with pins mapped, %lu killed",
	       sh->lives, sh->long_lives, BOUND_MS, sh->exits_mapped, sh->closes_mapped, kills);
	TH_LOG("pins: %lu made (ENXIO %lu, EINTR %lu, ENOSPC %lu), %lu mapped (ENXIO %lu), %lu unpinned (%lu checked for SIGBUS after)",
	       sh->pins, sh->pin_enxio, sh->pin_eintr, sh->pin_enospc,
	       sh->maps, sh->map_enxio, sh->unpins, sh->unpin_sigbus_checked);
	TH_LOG("stores: %lu (%lu SIGBUS); events: %lu RECALL (%lu unpinned at once, %lu late, %lu ignored), %lu REVOKED, %lu WRITE_BREAK",
	       sh->stores, sh->sigbus, sh->recalls, sh->unpin_at_once,
	       sh->unpin_late, sh->ignored, sh->revoked, sh->write_breaks);
	TH_LOG("layout changes: %lu (truncate down %lu, up %lu, punch %lu, zero %lu, write %lu)",
	       total_ops, sh->ops[CH_SHRINK], sh->ops[CH_GROW],
	       sh->ops[CH_PUNCH], sh->ops[CH_ZERO], sh->ops[CH_WRITE]);
	print_histogram(_metadata);
	TH_LOG("worst: %.1f ms (%s), bound %d ms", worst / 1e6,
	       ch_op_name[worst_op], BOUND_MS);
	TH_LOG("/proc/daxpin: %lu samples, at most %lu pins and %lu draining entries of ours; draining entries in %lu samples; %lu recalled pins seen past their deadline, for at most %.1f ms",
	       w.samples, w.most_pins, w.most_draining, w.draining_samples,
	       w.overdue_seen, w.longest_overdue_ns / 1e6);
	TH_LOG("ticker: a %d ms SCHED_FIFO sleeper woke at most %.1f ms late; the guest stood still %d times for %d ms or more",
	       TICK_MS, sh->max_late_ns / 1e6, sh->nstalls, STALL_MS);
	for (i = 0; i < sh->nstalls && i < MAX_STALLS; i++)
		TH_LOG("  stall at t=%.1f s: %.1f ms",
		       (sh->stall[i].at_ns - t0) / 1e9, sh->stall[i].late_ns / 1e6);
	TH_LOG("after the stop: %d entries of ours in /proc/daxpin, refcnt %ld, %.1f s after the last exit",
	       ours, refcnt, (now_ns() - settle_t0) / 1e9);

	EXPECT_EQ(0, left);
	EXPECT_EQ(0, ours) {
		TH_LOG("still listed %d s after every process exited:", SETTLE_MS / 1000);
		our_entries(1);
	}
	EXPECT_EQ(0, refcnt);
	EXPECT_GE(BOUND_MS * 1000000ull, worst);
	/*
	 * Nothing here registers memory for RDMA: a pin that ended has no
	 * one but daxpin's own pins to wait for, and none may drain.
	 */
	EXPECT_EQ(0ul, w.draining_samples)
		TH_LOG("draining entries with no RDMA registration anywhere, first: %s",
		       w.first_draining);
	EXPECT_EQ(0, sh->nfail) {
		for (i = 0; i < sh->nfail && i < MAX_FAILS; i++)
			TH_LOG("failure: %s", sh->fail[i]);
	}
	/* The load was real: every path ran. */
	for (i = 0; i < NR_CH_OPS; i++)
		EXPECT_LT(0ul, sh->ops[i]) TH_LOG("no %s ran", op_name(i));
	EXPECT_LT(0ul, sh->pins);
	EXPECT_LT(0ul, sh->stores);
	EXPECT_LT(0ul, sh->recalls);
	EXPECT_LT(0ul, sh->unpin_at_once);
	EXPECT_LT(0ul, sh->revoked);
	EXPECT_LT(0ul, sh->exits_mapped);
	EXPECT_LT(0ul, sh->long_lives);
	EXPECT_LT(0ul, kills);
	EXPECT_LT(0ul, w.samples);
}

/*
 * What the mixed load showed, in its smallest form: two overlapping pins
 * of the same file. When one ends, its pages are still pinned - by the
 * other pin, which has keeper windows of its own - and nothing else holds
 * them. The ended pin must go, not drain; and with kill_on_stuck, a
 * holder that registered nothing must not be killed because another
 * process's overlapping pin outlives its own.
 */
#define OVL_PAGES	16
#define OVL_SHORT_MS	50
#define OVL_LONG_MS	3000
#define OVL_WAIT_MS	1000

FIXTURE(overlap) {
	int dfd[2];
	int ffd;
	char path[4096];
	pid_t holder, op;
};

FIXTURE_SETUP(overlap)
{
	self->dfd[0] = daxpin_open();
	self->dfd[1] = daxpin_open();
	ASSERT_LE(0, self->dfd[0]);
	ASSERT_LE(0, self->dfd[1]);
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "stress-overlap",
			      4 * OVL_PAGES * PAGE, self->path,
			      sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	/* The file's path, for our_entries() */
	snprintf(file_path[0], sizeof(file_path[0]), "%s", self->path);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
}

FIXTURE_TEARDOWN(overlap)
{
	module_param_write("kill_on_stuck", "N");
	if (self->holder > 0) {
		kill(self->holder, SIGKILL);
		waitpid(self->holder, NULL, 0);
	}
	close(self->dfd[0]);
	close(self->dfd[1]);
	if (self->op > 0 && wait_child(self->op, 10000) == -ETIMEDOUT) {
		kill(self->op, SIGKILL);
		waitpid(self->op, NULL, 0);
	}
	close(self->ffd);
	unlink(self->path);
	file_path[0][0] = 0;
	if (sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
}

/* Entries of /proc/daxpin for the fixture's file in @state. */
static int entries_in_state(const char *state)
{
	struct proc_entry e;
	char *line, *save;
	int n = 0;

	if (read_proc_daxpin() < 0)
		return -1;
	line = strtok_r(sh->proc, "\n", &save);
	while ((line = strtok_r(NULL, "\n", &save)))
		if (parse_entry(line, &e) && !strcmp(e.state, state)) {
			fprintf(stderr, "#   %s\n", line);
			n++;
		}
	return n;
}

TEST_F(overlap, ended_pin_does_not_drain)
{
	struct daxpin_pin a, b;
	uint64_t t0;
	int n;

	ASSERT_EQ(0, pin_range(self->dfd[0], self->ffd, 0, OVL_PAGES * PAGE,
			       DAXPIN_PIN_WRITE, 0, &a));
	ASSERT_EQ(0, pin_range(self->dfd[1], self->ffd, OVL_PAGES / 2 * PAGE,
			       OVL_PAGES * PAGE, DAXPIN_PIN_WRITE, 0, &b));
	ASSERT_EQ(0, unpin(self->dfd[0], a.out_handle));
	/* The drain poll would have let it go by now, were it idle. */
	usleep(500 * 1000);
	n = entries_in_state("draining");
	EXPECT_EQ(0, n) TH_LOG("the unpinned pin drains while only the other pin holds its pages");

	ASSERT_EQ(0, unpin(self->dfd[1], b.out_handle));
	t0 = now_ns();
	while (our_entries(0) > 0 && now_ns() - t0 < 5000000000ull)
		usleep(100 * 1000);
	EXPECT_EQ(0, our_entries(1));
}

TEST_F_TIMEOUT(overlap, kill_on_stuck_spares_holder_without_mr, 60)
{
	struct daxpin_event ev;
	struct daxpin_pin b;
	int sync[2], status, killed;
	char c;

	ASSERT_EQ(0, pipe(sync));
	self->holder = fork();
	ASSERT_LE(0, self->holder);
	if (self->holder == 0) {
		struct daxpin_pin a;
		char *map;

		if (pin_range(self->dfd[0], self->ffd, 0, OVL_PAGES * PAGE,
			      DAXPIN_PIN_WRITE, OVL_SHORT_MS, &a))
			_exit(1);
		map = mmap(NULL, OVL_PAGES * PAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED, self->dfd[0], a.out_mmap_offset);
		if (map == MAP_FAILED)
			_exit(2);
		map[0] = 1;
		if (write(sync[1], "p", 1) != 1)
			_exit(3);
		/* Ignores the recall; registers nothing. */
		for (;;)
			pause();
	}
	/* The child's pins live on dfd[0]: the parent lets go of it. */
	close(self->dfd[0]);
	self->dfd[0] = -1;
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	close(sync[1]);

	ASSERT_EQ(0, pin_range(self->dfd[1], self->ffd, 0, OVL_PAGES * PAGE,
			       DAXPIN_PIN_WRITE, OVL_LONG_MS, &b));
	ASSERT_EQ(0, module_param_write("kill_on_stuck", "Y"));
	self->op = spawn_op(self->path, OP_TRUNCATE, 4 * OVL_PAGES * PAGE);
	ASSERT_LT(0, self->op);
	ASSERT_EQ(0, next_event(self->dfd[1], 5000, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);

	/* The holder's pin is revoked at its deadline, long before ours. */
	usleep(OVL_WAIT_MS * 1000);
	status = wait_child(self->holder, 10);
	killed = status >= 0;
	if (killed)
		self->holder = 0;
	EXPECT_FALSE(killed)
		TH_LOG("kill_on_stuck killed a holder that registered nothing (status %#x): the other pin held its pages",
		       status);
	EXPECT_EQ(0, unpin(self->dfd[1], b.out_handle));
	status = wait_child(self->op, 10000);
	self->op = 0;
	ASSERT_LE(0, status) TH_LOG("the truncate still waits");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * The harness's timeout is fixed at build time; the test runs for
 * DAXPIN_TEST_SECONDS, so give it that plus time for the ending.
 */
int main(int argc, char **argv)
{
	_stress_mixed_load_object.timeout = test_seconds() +
		(2 * EXIT_BOUND_MS + SETTLE_MS) / 1000 + 60;
	return test_harness_run(argc, argv);
}
