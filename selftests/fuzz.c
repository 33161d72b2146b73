// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz: a fuzzer of /dev/daxpin, in the manner of syzkaller, as a selftest.
 *
 * Several worker processes (DAXPIN_FUZZ_WORKERS, 4) each issue random and
 * mutated operations for DAXPIN_TEST_SECONDS, else DAXPIN_FUZZ_SECONDS
 * (the bench sets 150 on its debug kernel), else 20 seconds on a few daxpin
 * files and a few files of the DAX file system (one private to no worker,
 * "fuzz-shared", so that workers race on it): every ioctl, valid and with
 * bad sizes, flags, reserved fields, handles, offsets, lengths, file
 * descriptors and pointers, and ioctl numbers that are not daxpin's; mmap
 * of pins and what a process can do to those mappings (munmap, mremap,
 * madvise, mprotect, mlock, msync, mincore, mseal, loads and stores); fork
 * (the child runs a few operations, then exits, execs or is killed), close
 * and reopen of daxpin files, read and poll of events, SET_EVENTFD, SIGIO;
 * truncate, fallocate, reflink and dedupe of the pinned files, and writes
 * that refill them.
 *
 * Every worker prints its seed. DAXPIN_FUZZ_SEED=S gives worker i the seed
 * S + i, so DAXPIN_FUZZ_SEED=<a worker's seed> DAXPIN_FUZZ_WORKERS=1 runs
 * that worker's sequence again (timing and the other workers aside);
 * DAXPIN_FUZZ_SKIP=OP,OP (names as in the counts printed at the end)
 * leaves operations out, to narrow a failure down. Each failure prints the
 * call, its arguments, what came back and the process's last operations;
 * so does a kernel report (WARNING, KASAN, ...) seen in the kernel log
 * right after an operation.
 *
 * The oracle, each part a test of its own:
 *  - errno: a call that fails, fails with an errno docs/ioctl.md lists for
 *    it (for plain system calls: one of their manual page's);
 *  - precise: a request with one bad field gets that field's errno, a valid
 *    one on a file nobody changes succeeds, QUERY agrees with PIN, handles
 *    are not reused, events and /proc/daxpin are well-formed, a failed PIN
 *    charges nothing;
 *  - safety: a pin that is unpinned or revoked cannot be reached (SIGBUS,
 *    no new mapping), no mapping of a pin is executable, writable when the
 *    pin is read-only, or inherited across fork, and a word stored through
 *    a pin of one file never shows up in another file;
 *  - the run: every worker and child ends in time, no call takes longer
 *    than WATCHDOG_MS, no layout change longer than LAYOUT_BOUND_MS (every
 *    pin of a file that changes has a deadline of at most 500 ms), VmPin
 *    returns to 0 once a worker's pins are gone, and /proc/daxpin lists no
 *    pin of ours afterwards.
 * The bench adds the kernel's own: any warning, KASAN, lockdep, kmemleak
 * or hung-task report in the guest fails the run.
 */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>

#include "kselftest.h"
#include "common.h"

/*
 * The debug kernel: random, so where a finding matters most: KASAN,
 * lockdep, kmemleak.
 */
DAXPIN_RUNS_ON(debug);

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef __NR_mseal
#define __NR_mseal		462
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT		1
#endif

#define DEFAULT_SECONDS		20
#define DEFAULT_WORKERS		4
#define MAX_WORKERS		16
/* After the run: a worker's wind-down (children, unpinning, scans). */
#define GRACE_S			90
/* No single call may take longer: every pin's deadline is short. */
#define WATCHDOG_MS		30000
/* A layout change waits for pins of deadlines <= 500 ms: this long is a hang. */
#define LAYOUT_BOUND_MS		10000
/* A child lives for a few operations; this long is a hang. */
#define CHILD_MAX_S		45
/* Settling of /proc/daxpin and VmPin after the end. */
#define SETTLE_MS		5000

#define NSLOTS			4	/* daxpin files per worker */
#define NFILES			5	/* DAX files a worker uses */
#define F_SHARED		3	/* every worker's */
#define F_STABLE		4	/* nobody changes its layout */
/*
 * In a store's signature: through a mapping that may name any pin of the
 * worker's daxpin file (mapped from the offset of a pin a child could have
 * unpinned, an offset a newer pin of any file may have taken since).
 */
#define F_ANY			0xff
#define NFDS			3	/* open files per DAX file */
#define NPINS			64
#define NPIECES			64
#define MAX_PIECES		40
#define ARENA_SIZE		(64UL << 20)
#define PRIV_MAX		(1UL << 20)
#define SHARED_MAX		(2UL << 20)
#define STABLE_SIZE		(256UL << 10)
#define MAX_PIN_PAGES		64
#define NERR			134	/* errno slots; the last one: others */
#define NLOG			16
#define MAX_MSGS		6	/* failures printed in full per worker and kind */

/* ---- operations and their errnos ------------------------------------ */

#define FOR_OPS(X)							\
	X(INFO) X(PIN) X(UNPIN) X(QUERY) X(SET_EVENTFD) X(EXPORT_DMABUF) \
	X(BAD_IOCTL)							\
	X(MMAP) X(MUNMAP) X(MREMAP) X(MADVISE) X(MPROTECT) X(MLOCK)	\
	X(MSYNC) X(MINCORE) X(MSEAL) X(TOUCH)				\
	X(READ) X(POLL) X(EPOLL) X(WRITE_DFD) X(FCNTL) X(EVENTFD_READ)	\
	X(CLOSE_DFD) X(OPEN_DFD) X(REOPEN_FILE)				\
	X(TRUNCATE) X(FTRUNCATE) X(FALLOC_ALLOC) X(FALLOC_PUNCH)	\
	X(FALLOC_ZERO) X(FALLOC_COLLAPSE) X(FALLOC_INSERT)		\
	X(FALLOC_UNSHARE) X(PWRITE) X(PREAD) X(CLONE_ONTO) X(CLONE_FROM) \
	X(DEDUPE) X(SETFLAGS) X(FORK) X(KILL_CHILD) X(EXEC) X(PROC) X(SCAN)

#define OP_ENUM(n) FZ_##n,
enum { FOR_OPS(OP_ENUM) NOPS };
#define OP_NAME(n) #n,
static const char *const op_names[NOPS] = { FOR_OPS(OP_NAME) };

#define ERRS(...)	((const int[]){ __VA_ARGS__, 0 })
/* docs/ioctl.md, "Rules common to every command". */
#define IOCTL_COMMON	EFAULT, EINVAL, E2BIG, EOPNOTSUPP
#define FALLOC_ERRS	ERRS(EBADF, EFBIG, EINTR, EINVAL, ENODEV, ENOSPC, \
			     EOPNOTSUPP, EPERM, ETXTBSY)
#define REMAP_ERRS	ERRS(EBADF, EINVAL, EISDIR, EOPNOTSUPP, EPERM, \
			     ETXTBSY, EXDEV, EINTR, ENOSPC, EFBIG)

/*
 * What each call may fail with: the ioctls and mmap()/read() of a daxpin
 * file as docs/ioctl.md documents them, the rest as their manual pages do.
 * A call may add one or two errnos its context makes usual (EBADF for a
 * closed descriptor, EEXIST for MAP_FIXED_NOREPLACE, ...).
 */
static const int *const op_errnos[NOPS] = {
	[FZ_INFO] = ERRS(IOCTL_COMMON),
	[FZ_PIN] = ERRS(IOCTL_COMMON, EBADF, EOVERFLOW, ENODEV, EACCES, ENXIO,
			ENODATA, ENOMEM, ENOSPC, EINTR, EPERM, EAGAIN),
	[FZ_UNPIN] = ERRS(IOCTL_COMMON, ENOENT, EINTR),
	[FZ_QUERY] = ERRS(IOCTL_COMMON, ENOENT),
	[FZ_SET_EVENTFD] = ERRS(IOCTL_COMMON, EBADF),
	[FZ_EXPORT_DMABUF] = ERRS(IOCTL_COMMON, ENOENT, ENXIO, EMFILE, ENOSPC,
				  ENOMEM, EPERM, EINTR),
	[FZ_BAD_IOCTL] = ERRS(ENOTTY),
	/* docs/ioctl.md, and what mm/mmap.c says before the driver is asked */
	[FZ_MMAP] = ERRS(EINVAL, EPERM, EACCES, ENXIO, ENOMEM, EOVERFLOW, EAGAIN),
	[FZ_MUNMAP] = ERRS(EINVAL, ENOMEM, EPERM),
	[FZ_MREMAP] = ERRS(EFAULT, EINVAL, ENOMEM, EAGAIN, EPERM),
	[FZ_MADVISE] = ERRS(EINVAL, EACCES, EAGAIN, EBADF, EFAULT, EIO, ENOMEM,
			    EPERM, EINTR),
	[FZ_MPROTECT] = ERRS(EACCES, EINVAL, ENOMEM, EPERM),
	[FZ_MLOCK] = ERRS(EAGAIN, EINVAL, ENOMEM, EPERM),
	[FZ_MSYNC] = ERRS(EBUSY, EINVAL, ENOMEM),
	[FZ_MINCORE] = ERRS(EAGAIN, EFAULT, EINVAL, ENOMEM),
	[FZ_MSEAL] = ERRS(ENOSYS, EINVAL, ENOMEM, EPERM),
	[FZ_READ] = ERRS(EINVAL, EAGAIN, EINTR, EFAULT),
	[FZ_POLL] = ERRS(EFAULT, EINTR, EINVAL, ENOMEM),
	[FZ_EPOLL] = ERRS(EBADF, EEXIST, ENOENT, EINVAL, EINTR, EPERM, ENOMEM,
			  EFAULT),
	[FZ_WRITE_DFD] = ERRS(EINVAL, EBADF),
	[FZ_FCNTL] = ERRS(EBADF, EINVAL, EPERM),
	[FZ_EVENTFD_READ] = ERRS(EAGAIN),
	[FZ_CLOSE_DFD] = ERRS(EBADF),
	[FZ_OPEN_DFD] = ERRS(ENOMEM, EMFILE, ENFILE),
	[FZ_REOPEN_FILE] = ERRS(EPERM, EMFILE, ENFILE, ENOMEM),
	[FZ_TRUNCATE] = ERRS(EINTR, EINVAL, EFBIG, EPERM, EACCES, ETXTBSY,
			     ENOSPC),
	[FZ_FTRUNCATE] = ERRS(EINTR, EINVAL, EFBIG, EPERM, EBADF, ETXTBSY,
			      ENOSPC),
	[FZ_FALLOC_ALLOC] = FALLOC_ERRS,
	[FZ_FALLOC_PUNCH] = FALLOC_ERRS,
	[FZ_FALLOC_ZERO] = FALLOC_ERRS,
	[FZ_FALLOC_COLLAPSE] = FALLOC_ERRS,
	[FZ_FALLOC_INSERT] = FALLOC_ERRS,
	[FZ_FALLOC_UNSHARE] = FALLOC_ERRS,
	[FZ_PWRITE] = ERRS(EFAULT, EINTR, EINVAL, ENOSPC, EFBIG, EPERM, EBADF),
	[FZ_PREAD] = ERRS(EFAULT, EINTR, EINVAL, EBADF),
	[FZ_CLONE_ONTO] = REMAP_ERRS,
	[FZ_CLONE_FROM] = REMAP_ERRS,
	[FZ_DEDUPE] = REMAP_ERRS,
	[FZ_SETFLAGS] = ERRS(EPERM, EINVAL, EOPNOTSUPP, ENOTTY, EBADF),
	[FZ_FORK] = ERRS(EAGAIN, ENOMEM),
	[FZ_KILL_CHILD] = ERRS(ESRCH),
	[FZ_EXEC] = ERRS(ENOENT, EACCES, ENOMEM, E2BIG, ETXTBSY),
};

/* How often each operation runs, in a worker and in a forked child. */
static const unsigned char weight_worker[NOPS] = {
	[FZ_INFO] = 3, [FZ_PIN] = 16, [FZ_UNPIN] = 7, [FZ_QUERY] = 8,
	[FZ_SET_EVENTFD] = 2, [FZ_EXPORT_DMABUF] = 2, [FZ_BAD_IOCTL] = 3,
	[FZ_MMAP] = 12, [FZ_MUNMAP] = 4, [FZ_MREMAP] = 3, [FZ_MADVISE] = 4,
	[FZ_MPROTECT] = 3, [FZ_MLOCK] = 1, [FZ_MSYNC] = 1, [FZ_MINCORE] = 1,
	[FZ_MSEAL] = 1, [FZ_TOUCH] = 14,
	[FZ_READ] = 5, [FZ_POLL] = 2, [FZ_EPOLL] = 1, [FZ_WRITE_DFD] = 1,
	[FZ_FCNTL] = 1, [FZ_EVENTFD_READ] = 1,
	[FZ_CLOSE_DFD] = 1, [FZ_OPEN_DFD] = 2, [FZ_REOPEN_FILE] = 1,
	[FZ_TRUNCATE] = 1, [FZ_FTRUNCATE] = 1, [FZ_FALLOC_ALLOC] = 1,
	[FZ_FALLOC_PUNCH] = 1, [FZ_FALLOC_ZERO] = 1, [FZ_FALLOC_COLLAPSE] = 1,
	[FZ_FALLOC_INSERT] = 1, [FZ_FALLOC_UNSHARE] = 1,
	[FZ_PWRITE] = 5, [FZ_PREAD] = 2, [FZ_CLONE_ONTO] = 1,
	[FZ_CLONE_FROM] = 1, [FZ_DEDUPE] = 1, [FZ_SETFLAGS] = 1,
	[FZ_FORK] = 2, [FZ_KILL_CHILD] = 1, [FZ_PROC] = 1, [FZ_SCAN] = 1,
};

/* Operations DAXPIN_FUZZ_SKIP names (to narrow a reproducer down). */
static bool op_skipped[NOPS];

static const unsigned char weight_child[NOPS] = {
	[FZ_INFO] = 1, [FZ_PIN] = 6, [FZ_UNPIN] = 4, [FZ_QUERY] = 3,
	[FZ_SET_EVENTFD] = 1, [FZ_EXPORT_DMABUF] = 1, [FZ_BAD_IOCTL] = 1,
	[FZ_MMAP] = 5, [FZ_MUNMAP] = 2, [FZ_MREMAP] = 1, [FZ_MADVISE] = 2,
	[FZ_MPROTECT] = 1, [FZ_MSEAL] = 1, [FZ_TOUCH] = 5,
	[FZ_READ] = 3, [FZ_POLL] = 1,
	[FZ_CLOSE_DFD] = 1, [FZ_OPEN_DFD] = 1,
	[FZ_TRUNCATE] = 2, [FZ_FTRUNCATE] = 3, [FZ_FALLOC_ALLOC] = 1,
	[FZ_FALLOC_PUNCH] = 2, [FZ_FALLOC_ZERO] = 1, [FZ_FALLOC_COLLAPSE] = 1,
	[FZ_FALLOC_INSERT] = 1, [FZ_FALLOC_UNSHARE] = 1,
	[FZ_PWRITE] = 3, [FZ_PREAD] = 1, [FZ_CLONE_ONTO] = 1,
	[FZ_CLONE_FROM] = 1, [FZ_DEDUPE] = 1, [FZ_PROC] = 1,
};

/* ---- what the workers share with the main process ------------------- */

enum { C_ERRNO, C_PRECISE, C_SAFETY, C_HANG, C_END, NCAT };
static const char *const cat_names[NCAT] = {
	"undocumented errno", "precise", "safety", "hang", "end",
};

enum { X_SIGBUS, X_SIGSEGV, X_TOUCH_OK, X_EVENTS, X_CHILDREN, X_INHERITED,
       X_DOFORK_EMPTY, X_STALE_OFFSET_REUSED, X_TIMER_EINTR, X_SCANNED_KB,
       X_SIGIO, NX };
static const char *const x_names[NX] = {
	"touches that got SIGBUS", "touches that got SIGSEGV",
	"touches that went through", "events read", "children forked",
	"mappings inherited across fork",
	"empty copies after MADV_DOFORK (SIGBUS, as documented)",
	"mmap of an unpinned pin's offset that now names a newer pin",
	"calls interrupted by a deliberate timer",
	"kB scanned for stray stores", "SIGIOs received",
};

struct wshared {
	uint64_t runs[NOPS];
	uint64_t ns[NOPS];		/* time spent in each */
	uint64_t max_ns[NOPS];		/* the longest one */
	uint64_t err[NOPS][NERR + 1];	/* [0]: succeeded */
	uint64_t fails[NCAT];
	uint64_t x[NX];
	uint64_t seed;
	uint64_t cur_start;
	long vmpin_kb;
	uint64_t wind_down_ns;	/* the end of its run took this long */
	int done;
	int tainted;		/* saw a kernel report */
	int printed[NCAT];	/* failures printed in full, children's too */
	char cur[400];
	/*
	 * The first failure of each kind, repeated next to its verdict at the
	 * end: the full reports scroll by during the run, and CI shows only
	 * the lines just above a failed result.
	 */
	char first_fail[NCAT][320];
};

static struct wshared *shared_stats;
static struct wshared *ST;	/* this worker's */
static int W;			/* this worker's index */
static bool in_child;
static int child_failures;

static uint64_t end_ns;
static const char *dax_dir, *nodax_dir;
static long max_deadline_ms = 300000, default_deadline_ms = 10000;

static inline void bump(uint64_t *p, uint64_t n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

/* ---- randomness ----------------------------------------------------- */

static uint64_t rng;

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool pct(unsigned int p)
{
	return below(100) < p;
}

/* ---- output --------------------------------------------------------- */

/* Print @text as TAP diagnostics ("# " before each line), in one write. */
static void out_text(const char *text)
{
	static char buf[16384];
	size_t n = 0;
	const char *p = text;

	while (*p && n < sizeof(buf) - 4) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > sizeof(buf) - n - 4)
			len = sizeof(buf) - n - 4;
		buf[n++] = '#';
		buf[n++] = ' ';
		memcpy(buf + n, p, len);
		n += len;
		buf[n++] = '\n';
		p += len;
		if (*p == '\n')
			p++;
	}
	if (write(1, buf, n) < 0)
		_exit(3);
}

static void __attribute__((format(printf, 1, 2))) out(const char *fmt, ...)
{
	char text[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	out_text(text);
}

static const char *en(int e)
{
	const char *n;

	if (!e)
		return "success";
	n = strerrorname_np(e);
	return n ? n : "E?";
}

/* The call under way (for messages, and for the main process on a hang). */
static char cur[400];
static char oplog[NLOG][440];
static unsigned int oplog_n;

static void __attribute__((format(printf, 1, 2))) desc(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cur, sizeof(cur), fmt, ap);
	va_end(ap);
	if (!in_child) {
		memcpy(ST->cur, cur, sizeof(cur));
		ST->cur_start = now_ns();
	}
}

static void log_result(const char *res)
{
	snprintf(oplog[oplog_n++ % NLOG], sizeof(oplog[0]), "%s -> %s",
		 cur, res);
}

static void __attribute__((format(printf, 2, 3))) fail(int cat, const char *fmt, ...)
{
	char msg[2048], text[12288];
	size_t n;
	unsigned int i;
	va_list ap;

	bump(&ST->fails[cat], 1);
	if (in_child)
		child_failures++;
	if (__atomic_fetch_add(&ST->printed[cat], 1, __ATOMIC_RELAXED) >= MAX_MSGS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!ST->first_fail[cat][0])
		snprintf(ST->first_fail[cat], sizeof(ST->first_fail[cat]),
			 "%s%.290s", in_child ? "(in a child) " : "", msg);
	n = snprintf(text, sizeof(text),
		     "FAIL (%s) in worker %d%s (pid %d, seed %#" PRIx64 "): %s\nlast operations of this process, oldest first:",
		     cat_names[cat], W, in_child ? "'s child" : "", getpid(),
		     ST->seed, msg);
	for (i = oplog_n > NLOG ? oplog_n - NLOG : 0; i < oplog_n; i++)
		n += snprintf(text + n, sizeof(text) - n, "\n  %s",
			      oplog[i % NLOG]);
	out_text(text);
}

static void count(int op, int err)
{
	bump(&ST->runs[op], 1);
	bump(&ST->err[op][err < 0 || err >= NERR ? NERR : err], 1);
}

/* Count the result of @op and judge its errno against the documented ones. */
static void done(int op, int err, int extra1, int extra2)
{
	const int *p;

	count(op, err);
	log_result(en(err));
	if (!err || err == extra1 || err == extra2)
		return;
	for (p = op_errnos[op]; p && *p; p++)
		if (*p == err)
			return;
	fail(C_ERRNO, "%s failed with %s, which is not documented for %s",
	     cur, en(err), op_names[op]);
}

/* A precise expectation: this call must have given @want. */
static void want(int err, int want_err, const char *why)
{
	if (err != want_err)
		fail(C_PRECISE, "%s gave %s; %s: want %s", cur, en(err), why,
		     en(want_err));
}

/* ---- timers: the watchdog and deliberate interruptions ---------------- */

/*
 * SIGALRM (without SA_RESTART) ends a blocking call with EINTR: after
 * WATCHDOG_MS, so that no call blocks for ever (run_ops() measures how
 * long each operation took and fails it past WATCHDOG_MS), or after a few
 * ms when an operation wants to be interrupted on purpose.
 */
static volatile sig_atomic_t timer_kind;	/* 0, 1 short, 2 watchdog */
static volatile sig_atomic_t short_fired;

static void set_timer(long ms, long every_ms)
{
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 },
		.it_interval = { .tv_usec = every_ms * 1000 },
	};

	setitimer(ITIMER_REAL, &it, NULL);
}

static void on_alarm(int sig)
{
	if (timer_kind == 1)
		short_fired = 1;
}

static void arm_watchdog(void)
{
	short_fired = 0;
	timer_kind = 2;
	set_timer(WATCHDOG_MS, 0);
}

/*
 * Interrupt the next blocking call after 1..@max_ms ms, and again every
 * 10 ms in case it had not started to block yet.
 */
static void arm_short(long max_ms)
{
	timer_kind = 1;
	set_timer(1 + below(max_ms), 10);
}

static void disarm(void)
{
	timer_kind = 0;
	set_timer(0, 0);
}

/* ---- touching memory that may be gone -------------------------------- */

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_armed, fault_sig;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (fault_armed) {
		fault_armed = 0;
		fault_sig = sig;
		siglongjmp(fault_jmp, 1);
	}
	/* Not ours to catch: die of it when the access runs again. */
	signal(sig, SIG_DFL);
}

/* Load (or store @val to) the word at @p: 0, SIGBUS or SIGSEGV. */
static int __attribute__((noinline)) touch_word(volatile uint64_t *p, int store,
						uint64_t val)
{
	fault_sig = 0;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		fault_armed = 1;
		if (store)
			*p = val;
		else
			(void)*p;
		fault_armed = 0;
	}
	return fault_sig;
}

/* Copy @n bytes that may sit in a pin's mapping: 0 or the signal. */
static int __attribute__((noinline)) copy_guarded(volatile char *dst,
						  volatile const char *src,
						  size_t n)
{
	fault_sig = 0;
	if (sigsetjmp(fault_jmp, 1) == 0) {
		size_t i;

		fault_armed = 1;
		for (i = 0; i < n; i++)
			dst[i] = src[i];
		fault_armed = 0;
	}
	return fault_sig;
}

/* ---- the model: files, daxpin files, pins, mappings ------------------ */

struct dfile {
	char path[4096];
	int fd[NFDS];
	int acc[NFDS];
	size_t max;
	bool append_flag;
	int append_ops;		/* operations left before it is cleared */
};

struct slot {
	int fd;
	int acc;
	unsigned int gen;
	uint32_t last_handle;
	bool exposed;		/* a child shared it */
	bool lost_pins;		/* it has pins whose handle we never read */
	int sealed;		/* sealed mappings of it: never closed */
};

enum { P_FREE, P_LIVE, P_REVOKED, P_UNPINNED, P_ORPHAN };

struct pin {
	int state;
	int slot;
	unsigned int gen;
	uint32_t handle;
	uint64_t moff;
	int file;
	uint64_t off, len;
	uint32_t flags;
	uint32_t dl_ms;
	bool exposed;		/* a child could have unpinned it */
};

struct piece {
	bool used;
	bool sealed;
	bool dofork;		/* MADV_DOFORK went through on it */
	uintptr_t a, b;
	int pin;		/* -1: a mapping of no pin we know */
	int slot;
	unsigned int gen;
	uint64_t delta;		/* offset into the pin of @a */
	int prot;
	/*
	 * Mapped when a child could have unpinned @pin: its mmap offset may
	 * have gone to a newer pin (offsets are reused), which this maps.
	 */
	bool maybe_newer;
};

static struct dfile files[NFILES];
static struct slot slots[NSLOTS];
static struct pin pins[NPINS];
static struct piece pieces[NPIECES];
static int nodax_fd = -1, dir_fd = -1, pipe_fd[2] = { -1, -1 };
static int efd = -1, devnull_fd = -1, opath_fd = -1, epfd = -1;
static int scratch_fd = -1, scratch_child_fd = -1;
static char scratch_path[4096], scratch_child_path[4096];
static char nodax_path[4096];
static char *arena;
static unsigned char *argpages;	/* rw, none, ro, none */
static pid_t child_pid;
static uint64_t child_t0;
static unsigned int slot_gen_next = 1;
static volatile sig_atomic_t sigio_count;

static bool child_alive(void)
{
	return child_pid > 0;
}

static uint64_t sig_word(int w, int f)
{
	uint64_t check = (uint8_t)(0x5a ^ (w * 29) ^ (f * 113));

	return 0xc3a5e1b7d9ull | (uint64_t)w << 40 | (uint64_t)f << 48 |
	       check << 56;
}

static bool sig_decode(uint64_t v, int *w, int *f)
{
	if ((v & 0xffffffffffull) != 0xc3a5e1b7d9ull)
		return false;
	*w = (v >> 40) & 0xff;
	*f = (v >> 48) & 0xff;
	return v == sig_word(*w, *f);
}

static off_t file_size(int f)
{
	struct stat st;

	if (fstat(files[f].fd[0], &st))
		return 0;
	return st.st_size;
}

static int bad_fd(void)
{
	int fd = 900 + below(100);

	while (fcntl(fd, F_GETFD) != -1)
		fd++;
	return fd;
}

static bool slot_ok(int s)
{
	return s >= 0 && s < NSLOTS && slots[s].fd >= 0;
}

/* An open slot (or -1), mostly; now and then any slot. */
static int pick_slot(void)
{
	int i, s = below(NSLOTS);

	for (i = 0; i < NSLOTS; i++)
		if (slot_ok((s + i) % NSLOTS))
			return (s + i) % NSLOTS;
	return -1;
}

static struct pin *pin_find(int s, unsigned int gen, uint32_t h)
{
	int i;

	for (i = 0; i < NPINS; i++)
		if (pins[i].state != P_FREE && pins[i].slot == s &&
		    pins[i].gen == gen && pins[i].handle == h)
			return &pins[i];
	return NULL;
}

static int pieces_of_pin(int pi)
{
	int i, n = 0;

	for (i = 0; i < NPIECES; i++)
		n += pieces[i].used && pieces[i].pin == pi;
	return n;
}

static int npieces(void)
{
	int i, n = 0;

	for (i = 0; i < NPIECES; i++)
		n += pieces[i].used;
	return n;
}

/* A pin of the current daxpin file of @s that may still have a handle. */
static int pick_pin_of(int s)
{
	int i, n = 0, cand[NPINS];

	for (i = 0; i < NPINS; i++)
		if ((pins[i].state == P_LIVE || pins[i].state == P_REVOKED) &&
		    slot_ok(s) && pins[i].slot == s &&
		    pins[i].gen == slots[s].gen)
			cand[n++] = i;
	return n ? cand[below(n)] : -1;
}

static int pick_any_pin(void)
{
	int i, n = 0, cand[NPINS];

	for (i = 0; i < NPINS; i++)
		if (pins[i].state != P_FREE)
			cand[n++] = i;
	return n ? cand[below(n)] : -1;
}

static bool strict_pin(const struct pin *pn)
{
	return !in_child && !child_alive() && !pn->exposed &&
	       slot_ok(pn->slot) && slots[pn->slot].gen == pn->gen;
}

/* Mark an arena range reserved again once nothing is mapped there. */
static void arena_reserve(uintptr_t a, uintptr_t b)
{
	uintptr_t lo = (uintptr_t)arena, hi = lo + ARENA_SIZE;

	if (a < lo)
		a = lo;
	if (b > hi)
		b = hi;
	if (a >= b)
		return;
	if (mmap((void *)a, b - a, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		fail(C_END, "re-reserving the arena at %#lx+%#lx: %s",
		     (unsigned long)a, (unsigned long)(b - a), en(errno));
}

static bool in_arena(uintptr_t a, uintptr_t b)
{
	return a >= (uintptr_t)arena && b <= (uintptr_t)arena + ARENA_SIZE;
}

static int piece_new(void)
{
	int i;

	for (i = 0; i < NPIECES; i++)
		if (!pieces[i].used)
			return i;
	return -1;
}

/* Split the piece holding @x (if any) at @x. */
static void piece_split(uintptr_t x)
{
	int i, n;

	for (i = 0; i < NPIECES; i++) {
		struct piece *p = &pieces[i];

		if (!p->used || x <= p->a || x >= p->b)
			continue;
		n = piece_new();
		if (n < 0)
			return;	/* cannot happen: MAX_PIECES < NPIECES */
		pieces[n] = *p;
		pieces[n].a = x;
		pieces[n].delta = p->delta + (x - p->a);
		p->b = x;
		return;
	}
}

/* [a, b) is no longer mapped. */
static void model_unmap(uintptr_t a, uintptr_t b)
{
	int i;

	piece_split(a);
	piece_split(b);
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].used && pieces[i].a >= a && pieces[i].b <= b) {
			if (pieces[i].sealed && slot_ok(pieces[i].slot) &&
			    slots[pieces[i].slot].gen == pieces[i].gen)
				slots[pieces[i].slot].sealed--;
			pieces[i].used = false;
		}
}

static void model_protect(uintptr_t a, uintptr_t b, int prot)
{
	int i;

	piece_split(a);
	piece_split(b);
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].used && pieces[i].a >= a && pieces[i].b <= b)
			pieces[i].prot = prot;
}

/* mremap() moved [old, old + oldlen) to [new, new + newlen). */
static void model_move(uintptr_t old, size_t oldlen, uintptr_t new,
		       size_t newlen)
{
	int i;

	piece_split(old);
	piece_split(old + oldlen);
	if (newlen < oldlen) {
		model_unmap(old + newlen, old + oldlen);
		oldlen = newlen;
	}
	if (new == old)
		return;
	model_unmap(new, new + newlen);
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].used && pieces[i].a >= old &&
		    pieces[i].b <= old + oldlen) {
			pieces[i].a = pieces[i].a - old + new;
			pieces[i].b = pieces[i].b - old + new;
		}
}

static int piece_add(uintptr_t a, size_t len, int pi, int s, uint64_t delta,
		     int prot)
{
	int n = piece_new();

	if (n < 0)
		return -1;
	pieces[n] = (struct piece){
		.used = true, .a = a, .b = a + len, .pin = pi, .slot = s,
		.gen = slot_ok(s) ? slots[s].gen : 0, .delta = delta,
		.prot = prot,
	};
	return n;
}

static int pick_piece(void)
{
	int i, n = 0, cand[NPIECES];

	for (i = 0; i < NPIECES; i++)
		if (pieces[i].used)
			cand[n++] = i;
	return n ? cand[below(n)] : -1;
}

/* A random page-aligned sub-range of piece @i. */
static void piece_range(int i, uintptr_t *a, size_t *len)
{
	struct piece *p = &pieces[i];
	size_t pages = (p->b - p->a) / PAGE, first, n;

	if (pct(50) || npieces() > MAX_PIECES) {
		*a = p->a;
		*len = p->b - p->a;
		return;
	}
	first = below(pages);
	n = 1 + below(pages - first);
	*a = p->a + first * PAGE;
	*len = n * PAGE;
}

/* A page-aligned arena range of @len bytes that holds no sealed piece. */
static uintptr_t arena_target(size_t len)
{
	int tries, i;

	if (len > ARENA_SIZE / 2)
		return 0;
	for (tries = 0; tries < 8; tries++) {
		uintptr_t a = (uintptr_t)arena +
			      below((ARENA_SIZE - len) / PAGE) * PAGE;
		bool ok = true;

		for (i = 0; i < NPIECES; i++)
			if (pieces[i].used && pieces[i].sealed &&
			    pieces[i].a < a + len && pieces[i].b > a)
				ok = false;
		if (ok)
			return a;
	}
	return 0;
}

/* ---- argument placement: good, bad and borrowed pointers ------------ */

enum { AB_NORMAL, AB_NULL, AB_GUARD, AB_KERNEL, AB_RDONLY, AB_STRADDLE,
       AB_PIN, AB_N };
static const char *const ab_names[AB_N] = {
	"stack", "NULL", "guard page", "kernel address", "read-only page",
	"straddling a guard page", "a pin's mapping",
};

/* A piece we may load and store through, or -1. */
static int pick_rw_piece(size_t need)
{
	int i, n = 0, cand[NPIECES];

	for (i = 0; i < NPIECES; i++)
		if (pieces[i].used && pieces[i].pin >= 0 &&
		    (pieces[i].prot & (PROT_READ | PROT_WRITE)) ==
		    (PROT_READ | PROT_WRITE) &&
		    pieces[i].b - pieces[i].a >= need)
			cand[n++] = i;
	return n ? cand[below(n)] : -1;
}

/*
 * Where a struct of @len bytes goes for a call: *@kind says how (it falls
 * back to AB_NORMAL), the return value is the pointer to pass; @buf holds
 * the struct and gets back what the kernel wrote (see arg_back()).
 */
static bool arg_pin_firm;

static void *arg_place(int *kind, void *buf, size_t len, size_t *cut)
{
	unsigned char *p;
	int i;

	arg_pin_firm = true;
	switch (*kind) {
	case AB_NULL:
		return NULL;
	case AB_GUARD:
		return argpages + PAGE + below(PAGE - len);
	case AB_KERNEL:
		return (void *)(0xffff888000000000ull + below(1 << 20) * 8);
	case AB_RDONLY:
		p = argpages + 3 * PAGE - len - below(64) * 8;
		mprotect(argpages + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE);
		memcpy(p, buf, len);
		mprotect(argpages + 2 * PAGE, PAGE, PROT_READ);
		return p;
	case AB_STRADDLE:
		/* The first *cut bytes readable, the rest in the guard page. */
		*cut = 4 + below(len - 4);
		p = argpages + PAGE - *cut;
		memcpy(p, buf, *cut);
		return p;
	case AB_PIN:
		i = pick_rw_piece(len);
		if (i >= 0) {
			struct piece *pc = &pieces[i];
			struct pin *pn = &pins[pc->pin];

			p = (unsigned char *)pc->a +
			    below((pc->b - pc->a - len) / 8) * 8;
			/* Only a stable pin nobody else can end stays mapped. */
			arg_pin_firm = pn->file == F_STABLE &&
				       pn->state == P_LIVE && strict_pin(pn);
			if (!copy_guarded((char *)p, buf, len))
				return p;
		}
		*kind = AB_NORMAL;
		return buf;
	default:
		*kind = AB_NORMAL;
		return buf;
	}
}

/* Copy back what a call wrote to the struct at @arg. 0, or -1 if lost. */
static int arg_back(int kind, void *arg, void *buf, size_t len)
{
	if (kind == AB_PIN)
		return copy_guarded(buf, arg, len) ? -1 : 0;
	return kind == AB_NORMAL ? 0 : -1;
}

static int pick_arg_kind(void)
{
	if (pct(88))
		return AB_NORMAL;
	return 1 + below(AB_N - 1);
}

/* ---- events ---------------------------------------------------------- */

static void unpin_quiet(struct pin *pn);
static int recalled[NPINS], n_recalled;

static void check_event(int s, const struct daxpin_event *ev)
{
	struct pin *pn = slot_ok(s) ? pin_find(s, slots[s].gen, ev->handle) :
		NULL;
	uint64_t dl = pn ? (pn->dl_ms ? pn->dl_ms : default_deadline_ms) :
		max_deadline_ms;

	bump(&ST->x[X_EVENTS], 1);
	if (ev->type < DAXPIN_EVENT_RECALL || ev->type > DAXPIN_EVENT_WRITE_BREAK ||
	    ev->__reserved || !ev->handle ||
	    (ev->type == DAXPIN_EVENT_REVOKED) !=
	    (ev->reason != DAXPIN_REVOKE_NONE) ||
	    ev->reason == DAXPIN_REVOKE_KEEPER_LOST ||
	    (ev->type == DAXPIN_EVENT_RECALL) != (ev->deadline_ns != 0)) {
		fail(C_PRECISE, "%s: malformed event {type %u handle %u reason %u reserved %u deadline_ns %llu}",
		     cur, ev->type, ev->handle, ev->reason, ev->__reserved,
		     (unsigned long long)ev->deadline_ns);
		return;
	}
	if (ev->type == DAXPIN_EVENT_RECALL &&
	    ev->deadline_ns > now_ns() + dl * 1000000 + 10000000)
		fail(C_PRECISE, "%s: RECALL of handle %u says revocation at %llu, more than the pin's %llu ms from now (%llu)",
		     cur, ev->handle, (unsigned long long)ev->deadline_ns,
		     (unsigned long long)dl, (unsigned long long)now_ns());
	if (!pn)
		return;
	if (pn->state == P_UNPINNED)
		fail(C_PRECISE, "%s: event type %u for handle %u, which this process unpinned (UNPIN drops a pin's events)",
		     cur, ev->type, ev->handle);
	if (pn->file == F_STABLE && ev->type != DAXPIN_EVENT_WRITE_BREAK)
		fail(C_PRECISE, "%s: event type %u for handle %u, a pin of a file whose layout nobody changes",
		     cur, ev->type, ev->handle);
	if (ev->type == DAXPIN_EVENT_REVOKED && pn->state == P_LIVE)
		pn->state = P_REVOKED;
	/* A well-behaved holder, half of the time (after the batch). */
	if (ev->type == DAXPIN_EVENT_RECALL && pn->state == P_LIVE &&
	    pct(50) && n_recalled < NPINS)
		recalled[n_recalled++] = pn - pins;
}

/* Unpin what check_event() chose to, once a batch of events is checked. */
static void unpin_recalled(void)
{
	int i;

	for (i = 0; i < n_recalled; i++)
		if (pins[recalled[i]].state == P_LIVE)
			unpin_quiet(&pins[recalled[i]]);
	n_recalled = 0;
}

/* ---- ioctls ----------------------------------------------------------- */

/*
 * Mutate the size field of a struct of @ksize bytes in a buffer of
 * @bufsize: smaller than the first version (EINVAL), larger with a zero
 * tail (fine) or a non-zero one (E2BIG). Returns the errno it calls for.
 * The tail is cleared first: a request may be mutated more than once, and
 * an earlier mutation's non-zero byte beyond the final size is not the
 * kernel's to check, nor to have written (the 300 s `make fuzz` failure
 * of d8d1b3d: size 50 after a size with a non-zero byte further on).
 */
static int mutate_size(void *buf, uint32_t *size, size_t ksize, size_t bufsize)
{
	unsigned char *b = buf;
	size_t extra;

	memset(b + ksize, 0, bufsize - ksize);
	switch (below(3)) {
	case 0:
		*size = below(ksize);
		return EINVAL;
	case 1:
		extra = 1 + below(bufsize - ksize);
		*size = ksize + extra;
		return 0;
	default:
		extra = 1 + below(bufsize - ksize);
		*size = ksize + extra;
		b[ksize + below(extra)] = 1 + below(255);
		return E2BIG;
	}
}

/* Where an ioctl goes: a daxpin file mostly, else a closed or foreign fd. */
static int ioctl_target(int s, int *extra, bool *daxpin)
{
	*daxpin = false;
	if (slot_ok(s) && pct(95)) {
		*daxpin = true;
		*extra = 0;
		return slots[s].fd;
	}
	if (pct(50)) {
		*extra = EBADF;
		return bad_fd();
	}
	*extra = ENOTTY;
	switch (below(4)) {
	case 0:
		return files[below(NFILES)].fd[0];
	case 1:
		return efd;
	case 2:
		return pipe_fd[0];
	default:
		return dir_fd;
	}
}

/* What a non-daxpin target must answer. */
static void want_target(int err, int extra, bool daxpin)
{
	if (!daxpin)
		want(err, extra, extra == EBADF ? "not an open file" :
		     "not a daxpin file");
}

static void op_info(void)
{
	struct {
		struct daxpin_info i;
		unsigned char tail[64];
	} b;
	int s = pick_slot(), kind = AB_NORMAL, extra, err, expect = 0;
	const char *why = "a valid INFO";
	size_t cut = 0;
	bool daxpin;
	void *arg;
	int fd = ioctl_target(s, &extra, &daxpin);

	memset(&b, 0, sizeof(b));
	b.i.size = sizeof(b.i);
	switch (below(9)) {
	case 0:
		b.i.flags = 1u << below(32);
		expect = EOPNOTSUPP;
		why = "an unknown flag";
		break;
	case 1:
		b.i.__reserved = 1 + below(0xffffffff);
		expect = EINVAL;
		why = "__reserved not 0";
		break;
	case 2:
		expect = mutate_size(&b, &b.i.size, sizeof(b.i), sizeof(b));
		why = "a mutated size";
		break;
	case 3:
		/* Outputs given as garbage are ignored. */
		b.i.api_version = rnd();
		b.i.features = rnd();
		break;
	case 4:
		kind = 1 + below(AB_N - 1);
		expect = kind == AB_PIN ? 0 : EFAULT;
		why = "a bad pointer";
		break;
	default:
		break;
	}
	arg = arg_place(&kind, &b, sizeof(b), &cut);
	if (kind == AB_STRADDLE && cut >= b.i.size)
		expect = 0;
	desc("INFO(fd %d, {size %u flags %#x reserved %#x}, arg %s)", fd,
	     b.i.size, b.i.flags, b.i.__reserved, ab_names[kind]);
	err = ioctl(fd, DAXPIN_INFO, arg) ? errno : 0;
	done(FZ_INFO, err, extra, 0);
	want_target(err, extra, daxpin);
	if (!daxpin || !arg_pin_firm)
		return;
	want(err, expect, why);
	if (!err && !arg_back(kind, arg, &b, sizeof(b)) &&
	    (b.i.api_version != DAXPIN_API_VERSION ||
	     (b.i.features & (DAXPIN_FEATURE_PIN | DAXPIN_FEATURE_EVENTFD)) !=
	     (DAXPIN_FEATURE_PIN | DAXPIN_FEATURE_EVENTFD)))
		fail(C_PRECISE, "%s: api_version %u features %#llx", cur,
		     b.i.api_version, (unsigned long long)b.i.features);
}

static uint32_t short_deadline(void)
{
	uint64_t r = below(100);

	if (r < 60)
		return 30 + below(70);
	if (r < 90)
		return 100 + below(200);
	return 300 + below(200);
}

static long vmpin_or_zero(void)
{
	long kb = vm_pinned_kb();

	return kb < 0 ? 0 : kb;
}

static void model_add_pin(int s, const struct daxpin_pin *p, int file)
{
	struct pin *pn = NULL;
	int i;

	if (p->out_handle <= slots[s].last_handle)
		fail(C_PRECISE, "%s: handle %u after handle %u on the same daxpin file: handles must not be reused",
		     cur, p->out_handle, slots[s].last_handle);
	slots[s].last_handle = p->out_handle;
	if (!p->out_handle || p->out_mmap_offset % PAGE)
		fail(C_PRECISE, "%s: handle %u, mmap offset %#llx", cur,
		     p->out_handle, (unsigned long long)p->out_mmap_offset);
	for (i = 0; i < NPINS && !pn; i++)
		if (pins[i].state == P_FREE ||
		    ((pins[i].state == P_UNPINNED ||
		      pins[i].state == P_ORPHAN) && !pieces_of_pin(i)))
			pn = &pins[i];
	if (!pn) {
		/* The model is full: let the pin go again. */
		if (unpin(slots[s].fd, p->out_handle))
			fail(C_PRECISE, "%s: UNPIN of the handle just made failed",
			     cur);
		return;
	}
	*pn = (struct pin){
		.state = P_LIVE, .slot = s, .gen = slots[s].gen,
		.handle = p->out_handle, .moff = p->out_mmap_offset,
		.file = file, .off = p->offset, .len = p->length,
		.flags = p->flags, .dl_ms = p->deadline_ms,
		/* A child that shares the daxpin file can unpin it. */
		.exposed = child_alive(),
	};
}

/* Which of our files (or -1) an fd is. */
static int file_of_fd(int fd)
{
	int f, k;

	for (f = 0; f < NFILES; f++)
		for (k = 0; k < NFDS; k++)
			if (files[f].fd[k] == fd)
				return f;
	return -1;
}

/*
 * PIN. Three kinds: a natural request (a random file and range, sometimes
 * with random damage: only the documented errnos count); a request on the
 * stable file with exactly one thing wrong (that thing's errno); and a
 * valid request on the stable file (it must succeed).
 */
static void op_pin(void)
{
	struct {
		struct daxpin_pin p;
		unsigned char tail[64];
	} b;
	int s = pick_slot(), kind = AB_NORMAL, extra, err, f, k, mode;
	bool daxpin, precise = false, write;
	const char *why = "a valid PIN of the stable file";
	int expect = 0;
	size_t cut = 0;
	long vm_before = -1;
	uint64_t npages, off, len;
	void *arg;
	int fd = ioctl_target(s, &extra, &daxpin);

	memset(&b, 0, sizeof(b));
	b.p.size = sizeof(b.p);
	mode = below(10);
	if (mode < 6) {
		/* Natural. */
		f = below(NFILES);
		k = below(NFDS);
		b.p.file_fd = files[f].fd[k];
		if (b.p.file_fd < 0)
			b.p.file_fd = files[f].fd[0];
		if (pct(5)) {
			f = -1;
			b.p.file_fd = nodax_fd;
		}
		write = pct(60);
		b.p.flags = write ? DAXPIN_PIN_WRITE : 0;
		npages = (f < 0 ? STABLE_SIZE : (uint64_t)file_size(f)) / PAGE;
		off = below(npages + 2);
		len = 1 + below(npages > off ? (npages - off < MAX_PIN_PAGES ?
						npages - off : MAX_PIN_PAGES) : 2);
		if (pct(5))
			len += below(8);	/* beyond the end */
		b.p.offset = off * PAGE;
		b.p.length = len * PAGE;
		b.p.deadline_ms = f == F_STABLE && pct(30) ?
			(pct(50) ? 0 : below(max_deadline_ms + 1)) :
			short_deadline();
		if (pct(20)) {
			int n = 1 + below(3);

			while (n--) {
				switch (below(9)) {
				case 0:
					b.p.flags |= 1u << (1 + below(31));
					break;
				case 1:
					b.p.__reserved = rnd();
					break;
				case 2:
					mutate_size(&b, &b.p.size, sizeof(b.p),
						    sizeof(b));
					break;
				case 3:
					b.p.offset += 1 + below(PAGE - 1);
					break;
				case 4:
					b.p.length = pct(50) ? 0 :
						     rnd() & ~(PAGE - 1);
					break;
				case 5:
					b.p.offset = rnd() & ~(PAGE - 1);
					break;
				case 6:
					b.p.deadline_ms = max_deadline_ms + 1 +
							  below(1000);
					break;
				case 7:
					b.p.file_fd = pct(50) ? bad_fd() :
						(int)below(64);
					break;
				default:
					b.p.length += PAGE * (1 + below(4));
					break;
				}
			}
			/* A damaged request may still be valid: keep it short. */
			if (b.p.deadline_ms > 500 &&
			    b.p.deadline_ms <= max_deadline_ms &&
			    file_of_fd(b.p.file_fd) != F_STABLE)
				b.p.deadline_ms = 500;
			if (!b.p.deadline_ms &&
			    file_of_fd(b.p.file_fd) != F_STABLE)
				b.p.deadline_ms = 100;
		}
		kind = pick_arg_kind();
	} else {
		/* On the stable file: valid, or exactly one thing wrong. */
		write = pct(50);
		f = F_STABLE;
		b.p.flags = write ? DAXPIN_PIN_WRITE : 0;
		b.p.file_fd = files[F_STABLE].fd[write || pct(50) ? 0 : 1];
		npages = STABLE_SIZE / PAGE;
		off = below(npages);
		len = 1 + below(npages - off < 16 ? npages - off : 16);
		b.p.offset = off * PAGE;
		b.p.length = len * PAGE;
		b.p.deadline_ms = pct(20) ? 0 : 1 + below(max_deadline_ms);
		precise = daxpin;
		if (mode < 9) {
			switch (below(20)) {
			case 0:
				b.p.flags |= 1u << (1 + below(31));
				expect = EOPNOTSUPP;
				why = "an unknown flag";
				break;
			case 1:
				b.p.__reserved = 1 + below(0xffffffff);
				expect = EINVAL;
				why = "__reserved not 0";
				break;
			case 2:
				expect = mutate_size(&b, &b.p.size, sizeof(b.p),
						     sizeof(b));
				why = "a mutated size";
				break;
			case 3:
				b.p.length = 0;
				expect = EINVAL;
				why = "length 0";
				break;
			case 4:
				b.p.offset += 1 + below(PAGE - 1);
				expect = EINVAL;
				why = "offset not page-aligned";
				break;
			case 5:
				b.p.length -= 1 + below(PAGE - 1);
				expect = EINVAL;
				why = "length not page-aligned";
				break;
			case 6:
				b.p.offset = -(uint64_t)PAGE * (1 + below(4));
				b.p.length = PAGE * 8;
				expect = EOVERFLOW;
				why = "offset + length overflows";
				break;
			case 7:
				b.p.offset = 0;
				b.p.length = (1ull << 40) + PAGE * (1 + below(8));
				expect = EOVERFLOW;
				why = "length over 1 TiB";
				break;
			case 8:
				b.p.offset = (1ull << 63) + below(1 << 20) * PAGE;
				expect = EOVERFLOW;
				why = "beyond the largest file size";
				break;
			case 9:
				b.p.offset = STABLE_SIZE + below(64) * PAGE;
				expect = ENXIO;
				why = "range beyond the file's size";
				break;
			case 10:
				b.p.deadline_ms = max_deadline_ms + 1 +
						  below(0x7fffffff);
				expect = EINVAL;
				why = "deadline_ms over max_deadline_ms";
				break;
			case 11:
				b.p.file_fd = pct(30) ? -1 : pct(50) ?
					bad_fd() : opath_fd;
				expect = EBADF;
				why = "file_fd not an open file";
				break;
			case 12: {
				int nr[] = { dir_fd, pipe_fd[0], efd, devnull_fd,
					     slots[s < 0 ? 0 : s].fd };

				b.p.file_fd = nr[below(5)];
				if (b.p.file_fd < 0)
					b.p.file_fd = dir_fd;
				expect = EINVAL;
				why = "file_fd not a regular file";
				break;
			}
			case 13:
				b.p.file_fd = nodax_fd;
				expect = ENODEV;
				why = "a file that is not DAX";
				break;
			case 14:
				b.p.flags = DAXPIN_PIN_WRITE;
				b.p.file_fd = files[F_STABLE].fd[1];
				expect = EACCES;
				why = "a writable pin of a file open read-only";
				break;
			case 15:
				b.p.file_fd = files[F_STABLE].fd[2];
				expect = EACCES;
				why = "a file open write-only";
				break;
			case 16:
				b.p.out_handle = rnd();
				b.p.out_mmap_offset = rnd();
				why = "garbage in the output fields";
				break;
			default:
				kind = 1 + below(AB_N - 1);
				expect = kind == AB_PIN ? 0 : EFAULT;
				why = "a bad pointer";
				break;
			}
		}
	}
	if (daxpin && pct(10))
		vm_before = vmpin_or_zero();
	arg = arg_place(&kind, &b, sizeof(b), &cut);
	if (kind == AB_STRADDLE && precise && expect == EFAULT &&
	    cut >= sizeof(b.p))
		expect = 0;
	desc("PIN(fd %d, {size %u flags %#x file_fd %d deadline_ms %u offset %#llx length %#llx reserved %#x}, arg %s)",
	     fd, b.p.size, b.p.flags, b.p.file_fd, b.p.deadline_ms,
	     (unsigned long long)b.p.offset, (unsigned long long)b.p.length,
	     b.p.__reserved, ab_names[kind]);
	if (!precise && pct(20))
		arm_short(50);
	err = ioctl(fd, DAXPIN_PIN, arg) ? errno : 0;
	if (err == EINTR && short_fired)
		bump(&ST->x[X_TIMER_EINTR], 1);
	done(FZ_PIN, err, extra, 0);
	want_target(err, extra, daxpin);
	if (precise && arg_pin_firm)
		want(err, expect, why);
	if (err) {
		if (vm_before >= 0 && vmpin_or_zero() > vm_before)
			fail(C_PRECISE, "%s failed with %s but VmPin grew from %ld to %ld kB",
			     cur, en(err), vm_before, vmpin_or_zero());
		return;
	}
	if (!daxpin)
		return;
	if (arg_back(kind, arg, &b, sizeof(b))) {
		/*
		 * The handle is lost: the end of the run unpins it. Its mmap
		 * offset may be one an unpinned pin of ours had.
		 */
		slots[s].lost_pins = true;
		return;
	}
	if (b.tail[0] || memcmp(b.tail, b.tail + 1, sizeof(b.tail) - 1))
		if (b.p.size > sizeof(b.p))
			fail(C_PRECISE, "%s: the kernel wrote beyond its struct into the caller's larger one",
			     cur);
	model_add_pin(s, &b.p, file_of_fd(b.p.file_fd));
}

/* UNPIN the model's pin @pn; it must work when nobody else could have. */
static void unpin_quiet(struct pin *pn)
{
	char saved[sizeof(cur)];
	int err;

	memcpy(saved, cur, sizeof(cur));
	desc("UNPIN(fd %d, handle %u) after its RECALL", slots[pn->slot].fd,
	     pn->handle);
	err = unpin(slots[pn->slot].fd, pn->handle);
	err = -err;
	done(FZ_UNPIN, err, 0, 0);
	if (strict_pin(pn))
		want(err, 0, "UNPIN of a pin of ours");
	if (!err)
		pn->state = P_UNPINNED;
	else if (err == ENOENT)	/* a child's UNPIN, maybe still under way */
		pn->state = child_alive() ? P_ORPHAN : P_UNPINNED;
	memcpy(cur, saved, sizeof(cur));
}

/* A handle to name on slot @s: a pin's of ours, another file's, or made up. */
static uint32_t pick_handle(int s, struct pin **known)
{
	int pi;

	*known = NULL;
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return pct(50) ? 0x7fffffff - below(16) : 0x80000000u + below(1000);
	case 2:
		return 1 + below(slots[s < 0 ? 0 : s].last_handle + 4);
	case 3:
		pi = pick_any_pin();
		return pi >= 0 ? pins[pi].handle : 1;
	default:
		pi = pick_pin_of(s);
		if (pi < 0)
			return 1 + below(64);
		*known = &pins[pi];
		return pins[pi].handle;
	}
}

/* Someone's pin with handle @h on the daxpin file of @s went. */
static void handle_gone(int s, uint32_t h)
{
	struct pin *pn = slot_ok(s) ? pin_find(s, slots[s].gen, h) : NULL;

	if (pn && pn->state != P_ORPHAN)
		pn->state = P_UNPINNED;
}

static void op_unpin(void)
{
	struct {
		struct daxpin_unpin u;
		unsigned char tail[64];
	} b;
	int s = pick_slot(), kind = AB_NORMAL, extra, err, expect = 0;
	const char *why = "UNPIN of a pin of ours";
	struct pin *pn;
	bool daxpin, bad = true;
	size_t cut = 0;
	void *arg;
	int fd = ioctl_target(s, &extra, &daxpin);

	memset(&b, 0, sizeof(b));
	b.u.size = sizeof(b.u);
	b.u.handle = pick_handle(s, &pn);
	switch (below(10)) {
	case 0:
		b.u.flags = 1u << below(32);
		expect = EOPNOTSUPP;
		why = "an unknown flag";
		break;
	case 1:
		b.u.__reserved = 1 + below(0xffffffff);
		expect = EINVAL;
		why = "__reserved not 0";
		break;
	case 2:
		expect = mutate_size(&b, &b.u.size, sizeof(b.u), sizeof(b));
		why = "a mutated size";
		break;
	case 3:
		kind = 1 + below(AB_N - 1);
		/* UNPIN reads its struct only: a read-only one is fine. */
		expect = kind == AB_PIN || kind == AB_RDONLY ? 0 : EFAULT;
		why = "a bad pointer";
		break;
	default:
		bad = false;
		break;
	}
	arg = arg_place(&kind, &b, sizeof(b), &cut);
	if (kind == AB_STRADDLE && cut >= b.u.size && expect == EFAULT)
		expect = 0;
	desc("UNPIN(fd %d, {size %u flags %#x handle %u reserved %#x}, arg %s)",
	     fd, b.u.size, b.u.flags, b.u.handle, b.u.__reserved,
	     ab_names[kind]);
	err = ioctl(fd, DAXPIN_UNPIN, arg) ? errno : 0;
	done(FZ_UNPIN, err, extra, 0);
	want_target(err, extra, daxpin);
	if (!daxpin || !arg_pin_firm) {
		if (!err && daxpin)
			handle_gone(s, b.u.handle);
		return;
	}
	if (expect == EFAULT || (pn && strict_pin(pn)))
		want(err, expect, why);
	else if ((!b.u.handle || b.u.handle >= 0x7fffff00) && !expect)
		want(err, ENOENT, "a handle never handed out");
	if (!err)
		handle_gone(s, b.u.handle);
	/* A failed UNPIN changes nothing: the pin is still there. */
	if (err && bad && pn && strict_pin(pn)) {
		struct daxpin_query q;

		if (query(fd, pn->handle, &q))
			fail(C_PRECISE, "%s failed (%s), but then QUERY of the handle failed: the pin went",
			     cur, en(err));
	}
}

static void check_query(struct pin *pn, const struct daxpin_query *q)
{
	uint64_t dl = pn->dl_ms ? pn->dl_ms : default_deadline_ms;

	if (q->out_offset != pn->off || q->out_length != pn->len ||
	    q->out_mmap_offset != pn->moff || q->out_pin_flags != pn->flags)
		fail(C_PRECISE, "%s: QUERY says offset %#llx length %#llx mmap offset %#llx flags %#x; PIN said %#llx %#llx %#llx %#x",
		     cur, (unsigned long long)q->out_offset,
		     (unsigned long long)q->out_length,
		     (unsigned long long)q->out_mmap_offset, q->out_pin_flags,
		     (unsigned long long)pn->off, (unsigned long long)pn->len,
		     (unsigned long long)pn->moff, pn->flags);
	if (q->out_state < DAXPIN_STATE_ACTIVE ||
	    q->out_state > DAXPIN_STATE_REVOKED ||
	    (q->out_state == DAXPIN_STATE_RECALLED) != (q->out_deadline_ns != 0) ||
	    (q->out_state == DAXPIN_STATE_REVOKED) !=
	    (q->out_revoke_reason != DAXPIN_REVOKE_NONE) ||
	    q->out_revoke_reason == DAXPIN_REVOKE_KEEPER_LOST)
		fail(C_PRECISE, "%s: state %u deadline_ns %llu revoke_reason %u do not go together",
		     cur, q->out_state, (unsigned long long)q->out_deadline_ns,
		     q->out_revoke_reason);
	if (q->out_state == DAXPIN_STATE_RECALLED &&
	    q->out_deadline_ns > now_ns() + dl * 1000000 + 10000000)
		fail(C_PRECISE, "%s: revocation at %llu is more than the pin's deadline (%llu ms) from now (%llu)",
		     cur, (unsigned long long)q->out_deadline_ns,
		     (unsigned long long)dl, (unsigned long long)now_ns());
	if (pn->state == P_REVOKED && q->out_state != DAXPIN_STATE_REVOKED)
		fail(C_SAFETY, "%s: state %u after the pin was seen revoked",
		     cur, q->out_state);
	if (pn->file == F_STABLE && q->out_state != DAXPIN_STATE_ACTIVE)
		fail(C_PRECISE, "%s: state %u, but nobody changes the layout of this file",
		     cur, q->out_state);
	if (q->out_state == DAXPIN_STATE_REVOKED && pn->state == P_LIVE)
		pn->state = P_REVOKED;
}

static void op_query(void)
{
	struct {
		struct daxpin_query q;
		unsigned char tail[64];
	} b;
	int s = pick_slot(), kind = AB_NORMAL, extra, err, expect = 0;
	const char *why = "QUERY of a pin of ours";
	struct pin *pn;
	bool daxpin;
	size_t cut = 0;
	void *arg;
	int fd = ioctl_target(s, &extra, &daxpin);

	memset(&b, 0, sizeof(b));
	b.q.size = sizeof(b.q);
	b.q.handle = pick_handle(s, &pn);
	switch (below(10)) {
	case 0:
		b.q.flags = 1u << below(32);
		expect = EOPNOTSUPP;
		why = "an unknown flag";
		break;
	case 1:
		expect = mutate_size(&b, &b.q.size, sizeof(b.q), sizeof(b));
		why = "a mutated size";
		break;
	case 2:
		kind = 1 + below(AB_N - 1);
		expect = kind == AB_PIN ? 0 : EFAULT;
		why = "a bad pointer";
		break;
	case 3:
		/* Outputs given as garbage are overwritten. */
		b.q.out_state = rnd();
		b.q.out_offset = rnd();
		b.q.out_deadline_ns = rnd();
		break;
	default:
		break;
	}
	arg = arg_place(&kind, &b, sizeof(b), &cut);
	if (kind == AB_STRADDLE && cut >= b.q.size && expect == EFAULT)
		expect = 0;
	desc("QUERY(fd %d, {size %u flags %#x handle %u}, arg %s)", fd,
	     b.q.size, b.q.flags, b.q.handle, ab_names[kind]);
	err = ioctl(fd, DAXPIN_QUERY, arg) ? errno : 0;
	done(FZ_QUERY, err, extra, 0);
	want_target(err, extra, daxpin);
	if (!daxpin || !arg_pin_firm)
		return;
	if ((expect == EFAULT && kind != AB_RDONLY) || (pn && strict_pin(pn)))
		want(err, expect, why);
	else if ((!b.q.handle || b.q.handle >= 0x7fffff00) && !expect)
		want(err, ENOENT, "a handle never handed out");
	if (err == ENOENT && pn && !expect && pn->state == P_LIVE &&
	    !strict_pin(pn))
		pn->state = P_ORPHAN;	/* a child unpinned it, perhaps */
	if (err || arg_back(kind, arg, &b, sizeof(b)))
		return;
	if (b.q.size > sizeof(b.q) &&
	    (b.tail[0] || memcmp(b.tail, b.tail + 1, sizeof(b.tail) - 1)))
		fail(C_PRECISE, "%s: the kernel wrote beyond its struct into the caller's larger one",
		     cur);
	pn = slot_ok(s) ? pin_find(s, slots[s].gen, b.q.handle) : NULL;
	if (pn && pn->state != P_UNPINNED)
		check_query(pn, &b.q);
	else if (pn)
		fail(C_PRECISE, "%s: QUERY of a handle this process unpinned succeeded",
		     cur);
}

static void op_set_eventfd(void)
{
	struct {
		struct daxpin_set_eventfd e;
		unsigned char tail[64];
	} b;
	int s = pick_slot(), kind = AB_NORMAL, extra, err, expect = 0;
	const char *why = "a valid SET_EVENTFD";
	bool daxpin;
	size_t cut = 0;
	void *arg;
	int fd = ioctl_target(s, &extra, &daxpin);

	memset(&b, 0, sizeof(b));
	b.e.size = sizeof(b.e);
	b.e.eventfd = pct(70) ? efd : -1;
	switch (below(12)) {
	case 0:
		b.e.flags = 1u << below(32);
		expect = EOPNOTSUPP;
		why = "an unknown flag";
		break;
	case 1:
		b.e.__reserved = 1 + below(0xffffffff);
		expect = EINVAL;
		why = "__reserved not 0";
		break;
	case 2:
		expect = mutate_size(&b, &b.e.size, sizeof(b.e), sizeof(b));
		why = "a mutated size";
		break;
	case 3:
		b.e.eventfd = pct(50) ? bad_fd() : -2 - (int)below(1000);
		expect = EBADF;
		why = "neither -1 nor an open file";
		break;
	case 4: {
		int nr[] = { pipe_fd[1], dir_fd, devnull_fd, files[0].fd[0],
			     slot_ok(s) ? slots[s].fd : dir_fd };

		b.e.eventfd = nr[below(5)];
		expect = EINVAL;
		why = "an open file that is not an eventfd";
		break;
	}
	case 5:
		kind = 1 + below(AB_N - 1);
		expect = kind == AB_PIN || kind == AB_RDONLY ? 0 : EFAULT;
		why = "a bad pointer";
		break;
	default:
		break;
	}
	arg = arg_place(&kind, &b, sizeof(b), &cut);
	if (kind == AB_STRADDLE && cut >= b.e.size && expect == EFAULT)
		expect = 0;
	desc("SET_EVENTFD(fd %d, {size %u flags %#x eventfd %d reserved %#x}, arg %s)",
	     fd, b.e.size, b.e.flags, b.e.eventfd, b.e.__reserved,
	     ab_names[kind]);
	err = ioctl(fd, DAXPIN_SET_EVENTFD, arg) ? errno : 0;
	done(FZ_SET_EVENTFD, err, extra, 0);
	want_target(err, extra, daxpin);
	if (daxpin && arg_pin_firm)
		want(err, expect, why);
}

/*
 * EXPORT_DMABUF of a pin (or a handle never handed out), mostly of a valid
 * part. A dma-buf made is checked (its size) and closed at once: one kept
 * would keep its pin and daxpin file alive past what the model expects
 * (dmabuf.c tests that on purpose). The struct is always readable and
 * writable: a bad pointer could hide a new descriptor from us.
 */
static void op_export_dmabuf(void)
{
	struct daxpin_export_dmabuf e;
	int s = pick_slot(), extra, err, expect = 0;
	const char *why = "EXPORT_DMABUF of a live pin of ours";
	uint64_t pin_len;
	struct pin *pn;
	bool daxpin;
	int fd = ioctl_target(s, &extra, &daxpin);

	memset(&e, 0, sizeof(e));
	e.size = sizeof(e);
	e.out_fd = -1;
	e.handle = pick_handle(s, &pn);
	pin_len = pn ? pn->len : MAX_PIN_PAGES * PAGE;
	e.offset = below(pin_len / PAGE) * PAGE;
	e.length = (1 + below((pin_len - e.offset) / PAGE)) * PAGE;
	if (pct(50))
		e.flags = DAXPIN_EXPORT_DMABUF_CLOEXEC;
	switch (below(10)) {
	case 0:
		e.flags |= 1u << (1 + below(31));
		expect = EOPNOTSUPP;
		why = "an unknown flag";
		break;
	case 1:
		if (pct(50))
			e.__reserved = 1 + below(0xffffffff);
		else
			e.__reserved2 = 1 + below(0xffffffff);
		expect = EINVAL;
		why = "a __reserved field not 0";
		break;
	case 2:
		switch (below(4)) {
		case 0:
			e.length = 0;
			break;
		case 1:
			e.offset += 1 + below(PAGE - 1);
			break;
		case 2:
			e.length += 1 + below(PAGE - 1);
			break;
		default:
			e.offset = pin_len + below(4) * PAGE;
			break;
		}
		expect = EINVAL;
		why = "a part not page-aligned or not within the pin";
		break;
	default:
		break;
	}
	desc("EXPORT_DMABUF(fd %d, {flags %#x handle %u offset %#llx length %#llx reserved %#x %#x})",
	     fd, e.flags, e.handle, (unsigned long long)e.offset,
	     (unsigned long long)e.length, e.__reserved, e.__reserved2);
	err = ioctl(fd, DAXPIN_EXPORT_DMABUF, &e) ? errno : 0;
	done(FZ_EXPORT_DMABUF, err, extra, 0);
	want_target(err, extra, daxpin);
	if (!err) {
		if (e.out_fd < 0 || lseek(e.out_fd, 0, SEEK_END) != (off_t)e.length)
			fail(C_PRECISE, "%s: the dma-buf (fd %d) is not %llu bytes",
			     cur, e.out_fd, (unsigned long long)e.length);
		if (e.out_fd >= 0)
			close(e.out_fd);
	}
	if (!daxpin)
		return;
	/*
	 * Known pins only: a bad argument wins over the pin's state, and a
	 * pin live as far as we know may have been revoked since (ENXIO).
	 */
	if (pn && strict_pin(pn) &&
	    (pn->state == P_LIVE || pn->state == P_REVOKED)) {
		if (expect)
			want(err, expect, why);
		else if (pn->state == P_REVOKED)
			want(err, ENXIO, "EXPORT_DMABUF of a revoked pin");
		else if (err != ENXIO)
			want(err, 0, why);
	} else if ((!e.handle || e.handle >= 0x7fffff00) && !expect) {
		want(err, ENOENT, "a handle never handed out");
	}
}

/* Types whose commands the VFS answers itself on any file: not ours to try. */
static bool vfs_ioctl_type(unsigned int type)
{
	return type == 0 || type == 'T' || type == 'X' || type == 'f' ||
	       type == 0x94 || type == 0x12 || type == 0x15;
}

static void op_bad_ioctl(void)
{
	static const unsigned int types[] = { DAXPIN_TYPE, DAXPIN_TYPE, 0xd9,
					      0xdb, 0x5a, 0x01, 0xff, 0x5b };
	unsigned int type, nr, dir, size, cmd;
	int s = pick_slot(), err;
	void *arg;

	if (!slot_ok(s))
		return;
	do {
		type = types[below(sizeof(types) / sizeof(types[0]))];
		switch (below(3)) {
		case 0:	/* a daxpin number with direction or size bits */
			nr = DAXPIN_CMD_INFO + below(5);
			dir = below(4);
			size = below(1 << 14);
			break;
		case 1:	/* a number daxpin does not have */
			nr = pct(50) ? below(DAXPIN_CMD_INFO) :
			     DAXPIN_CMD_INFO + 5 + below(256 - DAXPIN_CMD_INFO - 5);
			dir = pct(70) ? 0 : below(4);
			size = dir ? below(1 << 14) : 0;
			break;
		default:
			nr = below(256);
			dir = below(4);
			size = below(1 << 14);
			break;
		}
		cmd = _IOC(dir, type, nr, size);
	} while (vfs_ioctl_type(type) ||
		 (type == DAXPIN_TYPE && !dir && !size &&
		  nr >= DAXPIN_CMD_INFO && nr <= DAXPIN_CMD_EXPORT_DMABUF));
	arg = pct(50) ? (void *)argpages : (void *)(uintptr_t)rnd();
	desc("ioctl(fd %d, %#x (type %#x nr %#x dir %u size %u), %p)",
	     slots[s].fd, cmd, type, nr, dir, size, arg);
	err = ioctl(slots[s].fd, cmd, arg) ? errno : 0;
	done(FZ_BAD_IOCTL, err, 0, 0);
	want(err, ENOTTY, "not a daxpin command");
}

/* ---- mappings of pins ------------------------------------------------ */

static void op_mmap(void)
{
	int s = pick_slot(), pi = -1, prot, flags, err, fd, nfaults = 0;
	int extra1 = 0, extra2 = 0, expect = 0;
	bool exec = false, priv = false, beyond = false, wro = false;
	bool unaligned = false, fixed = false;
	bool validate = false;
	const char *why = "a valid mmap of a pin";
	struct pin *pn = NULL;
	uint64_t off, plen, delta, len, mo, span;
	uintptr_t target = 0;
	void *addr;
	int i;

	if (npieces() >= MAX_PIECES)
		return;
	fd = slot_ok(s) ? slots[s].fd : bad_fd();
	if (!slot_ok(s))
		extra1 = EBADF;
	switch (below(10)) {
	case 0:	/* an offset that is nobody's, or someone else's */
		pi = pick_any_pin();
		off = pi >= 0 && pct(50) ? pins[pi].moff :
		      pct(50) ? (below(64) << 40) : (rnd() & ~(PAGE - 1));
		plen = pi >= 0 ? pins[pi].len : PAGE * (1 + below(8));
		pi = -1;
		break;
	default:
		pi = slot_ok(s) ? pick_pin_of(s) : -1;
		if (pi < 0 && pct(50)) {
			/* An unpinned or orphaned one, to check it stays gone. */
			for (i = 0; i < NPINS; i++)
				if (pins[i].state == P_UNPINNED &&
				    slot_ok(pins[i].slot) &&
				    pins[i].gen == slots[pins[i].slot].gen) {
					pi = i;
					break;
				}
			if (pi >= 0) {
				s = pins[pi].slot;
				fd = slots[s].fd;
				extra1 = 0;
			}
		}
		if (pi < 0)
			return;
		pn = &pins[pi];
		off = pn->moff;
		plen = pn->len;
		break;
	}
	delta = below(plen / PAGE);
	len = 1 + below(plen / PAGE - delta);
	if (pct(8)) {
		len = plen / PAGE - delta + 1 + below(4);
		beyond = pn != NULL;	/* else a made-up length */
		nfaults++;
	}
	delta *= PAGE;
	len *= PAGE;
	prot = PROT_READ;
	if (pn && (pn->flags & DAXPIN_PIN_WRITE) && pct(60))
		prot |= PROT_WRITE;
	if (pct(8)) {
		prot |= PROT_EXEC;
		exec = true;
		nfaults++;
	}
	if (pct(4))
		prot = exec ? PROT_EXEC : PROT_NONE;
	if (pn && !(pn->flags & DAXPIN_PIN_WRITE) && pct(8)) {
		prot |= PROT_WRITE;
		wro = true;
		nfaults++;
	}
	flags = MAP_SHARED;
	if (pct(5)) {
		flags = MAP_PRIVATE;
		priv = true;
		nfaults++;
	} else if (pct(4)) {
		flags = MAP_SHARED_VALIDATE | (pct(50) ? MAP_SYNC : 0);
		validate = true;
		extra2 = EOPNOTSUPP;
		nfaults += 2;	/* never precise */
	}
	if (pct(8))
		flags |= MAP_POPULATE;
	if (pct(3))
		flags |= MAP_LOCKED;
	if (pct(3)) {
		len = pct(50) ? 0 : len - 1 - below(PAGE - 1);
		nfaults += 2;
	}
	if (pct(3)) {
		unaligned = true;
		nfaults += 2;
	}
	mo = off + delta + (unaligned ? 1 + below(PAGE - 1) : 0);
	if (pct(50)) {
		target = arena_target(len ? len : PAGE);
		if (target) {
			fixed = true;
			if (pct(10) && !validate) {
				flags |= MAP_FIXED_NOREPLACE;
				extra2 = EEXIST;
				nfaults += 2;
			} else {
				flags |= MAP_FIXED;
			}
		}
	}
	desc("mmap(%#lx, %#llx, prot %#x, flags %#x, fd %d, offset %#llx) of pin %d (handle %u state %d, length %#llx, %s)",
	     (unsigned long)target, (unsigned long long)len, prot, flags, fd,
	     (unsigned long long)mo, pi,
	     pn ? pn->handle : 0, pn ? pn->state : -1,
	     (unsigned long long)plen,
	     pn ? (pn->flags & DAXPIN_PIN_WRITE ? "writable" : "read-only") :
		  "no pin we know");
	addr = mmap((void *)target, len, prot, flags, fd, mo);
	err = addr == MAP_FAILED ? errno : 0;
	done(FZ_MMAP, err, extra1, extra2);
	if (slot_ok(s) && (slots[s].acc == O_WRONLY ||
			   (slots[s].acc == O_RDONLY && (prot & PROT_WRITE)))) {
		nfaults++;
		expect = EACCES;
		why = "a daxpin file not open for the access";
	}
	/* One thing wrong, on a pin nobody else can end: its errno. */
	if (pn && pn->state == P_LIVE && pn->file == F_STABLE &&
	    strict_pin(pn) && nfaults <= 1) {
		if (exec) {
			expect = EPERM;
			why = "PROT_EXEC";
		} else if (priv) {
			expect = EINVAL;
			why = "not MAP_SHARED";
		} else if (beyond) {
			expect = EINVAL;
			why = "delta + len beyond the pin";
		} else if (wro) {
			expect = EACCES;
			why = "PROT_WRITE on a read-only pin";
		}
		want(err, expect, why);
	}
	/* What the kernel maps or unmaps: whole pages. */
	span = len ? (len + PAGE - 1) & ~(PAGE - 1) : PAGE;
	if (err) {
		if (fixed && !(flags & MAP_FIXED_NOREPLACE)) {
			/* A failed MAP_FIXED may have unmapped the range. */
			if (!munmap((void *)target, span)) {
				model_unmap(target, target + span);
				arena_reserve(target, target + span);
			}
		}
		return;
	}
	/*
	 * A revoked pin keeps its offset until it is unpinned; after that the
	 * offset may name a newer pin (below). Only a child could have
	 * unpinned it without this process knowing.
	 */
	if (pn && pn->state == P_REVOKED && strict_pin(pn))
		fail(C_SAFETY, "%s: a revoked pin was mapped", cur);
	if (pn && pn->state == P_UNPINNED) {
		/*
		 * mmap offsets are reused once a pin is gone (handles are
		 * not): the offset may name a newer pin of this file now.
		 */
		int now_pi = -1;

		for (i = 0; i < NPINS; i++)
			if (pins[i].state != P_FREE && pins[i].state != P_UNPINNED &&
			    pins[i].slot == s && pins[i].gen == slots[s].gen &&
			    pins[i].moff == off)
				now_pi = i;
		if (now_pi >= 0) {
			bump(&ST->x[X_STALE_OFFSET_REUSED], 1);
			pi = now_pi;
			pn = &pins[pi];
			beyond = delta + len > pn->len;
			wro = (prot & PROT_WRITE) &&
			      !(pn->flags & DAXPIN_PIN_WRITE);
			if (pn->state == P_REVOKED && strict_pin(pn))
				fail(C_SAFETY, "%s: a revoked pin was mapped", cur);
		} else {
			if (!slots[s].exposed && !slots[s].lost_pins)
				fail(C_SAFETY, "%s: the mmap offset of an unpinned pin was mapped (it names no pin of this file)",
				     cur);
			pn = NULL;
			pi = -1;
			beyond = wro = false;
		}
	}
	if (exec)
		fail(C_SAFETY, "%s: a pin was mapped executable", cur);
	/* Likewise: the offset may name a newer, writable pin. */
	if (pn && wro && strict_pin(pn))
		fail(C_SAFETY, "%s: a read-only pin was mapped writable", cur);
	/*
	 * Beyond the pin: unless a child could have unpinned it, and its
	 * offset gone to a newer, longer pin.
	 */
	if (priv || (beyond && strict_pin(pn)))
		fail(C_PRECISE, "%s succeeded: %s", cur,
		     priv ? "not MAP_SHARED" : "beyond the pin");
	if (fixed)
		model_unmap((uintptr_t)addr, (uintptr_t)addr + span);
	if (len) {
		int n = piece_add((uintptr_t)addr, span, pi, s, delta, prot);

		if (n < 0)
			munmap(addr, len);
		else
			pieces[n].maybe_newer = pn && !strict_pin(pn);
	}
}

static void op_munmap(void)
{
	int i = pick_piece(), err;
	uintptr_t a;
	size_t len;

	if (i < 0)
		return;
	piece_range(i, &a, &len);
	if (pct(5) && in_arena(a - PAGE, a + len + PAGE)) {
		a -= PAGE;
		len += 2 * PAGE;
	}
	desc("munmap(%#lx, %#lx) of piece [%#lx, %#lx) pin %d%s",
	     (unsigned long)a, (unsigned long)len,
	     (unsigned long)pieces[i].a, (unsigned long)pieces[i].b,
	     pieces[i].pin, pieces[i].sealed ? " sealed" : "");
	err = munmap((void *)a, len) ? errno : 0;
	done(FZ_MUNMAP, err, 0, 0);
	if (!err) {
		model_unmap(a, a + len);
		arena_reserve(a, a + len);
	}
}

static void op_mremap(void)
{
	int i = pick_piece(), flags = 0, err;
	uintptr_t a, target = 0;
	size_t oldlen, newlen;
	void *r;

	if (i < 0)
		return;
	a = pieces[i].a;
	oldlen = pieces[i].b - a;
	newlen = oldlen;
	switch (below(6)) {
	case 0:	/* shrink in place */
		if (oldlen > PAGE)
			newlen = PAGE * (1 + below(oldlen / PAGE - 1));
		break;
	case 1:	/* grow: a pin's mapping does not expand */
		newlen = oldlen + PAGE * (1 + below(4));
		flags = pct(50) ? MREMAP_MAYMOVE : 0;
		break;
	case 2:
		flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
		break;
	case 3:	/* a second mapping of the same pages */
		oldlen = 0;
		newlen = PAGE;
		flags = MREMAP_MAYMOVE;
		break;
	default:
		if (pct(30) && oldlen > PAGE)
			newlen = PAGE * (1 + below(oldlen / PAGE - 1));
		target = arena_target(newlen);
		flags = MREMAP_MAYMOVE;
		if (target && !(target < a + oldlen && target + newlen > a))
			flags |= MREMAP_FIXED;
		else
			target = 0;
		break;
	}
	desc("mremap(%#lx, %#lx, %#lx, flags %#x, %#lx) of pin %d",
	     (unsigned long)a, (unsigned long)oldlen, (unsigned long)newlen,
	     flags, (unsigned long)target, pieces[i].pin);
	r = mremap((void *)a, oldlen, newlen, flags, (void *)target);
	err = r == MAP_FAILED ? errno : 0;
	done(FZ_MREMAP, err, 0, 0);
	if (err && (flags & MREMAP_FIXED)) {
		/*
		 * A failed move may have unmapped the target already, and the
		 * tail of the source: make sure of both.
		 */
		if (!munmap((void *)target, newlen)) {
			model_unmap(target, target + newlen);
			arena_reserve(target, target + newlen);
		}
		if (newlen < oldlen && !munmap((void *)(a + newlen), oldlen - newlen)) {
			model_unmap(a + newlen, a + oldlen);
			arena_reserve(a + newlen, a + oldlen);
		}
	}
	if (err)
		return;
	if (newlen > oldlen && oldlen)
		fail(C_SAFETY, "%s: a pin's mapping grew", cur);
	if (!oldlen) {
		int n = piece_add((uintptr_t)r, newlen, pieces[i].pin,
				  pieces[i].slot, pieces[i].delta,
				  pieces[i].prot);

		if (n < 0)
			munmap(r, newlen);
		else
			pieces[n].maybe_newer = pieces[i].maybe_newer;
		return;
	}
	model_move(a, oldlen, (uintptr_t)r, newlen);
	if ((uintptr_t)r != a)
		arena_reserve(a, a + oldlen);
	else if (newlen < oldlen)
		arena_reserve(a + newlen, a + oldlen);
}

static void op_madvise(void)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_DONTFORK, MADV_DOFORK, MADV_WILLNEED,
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_REMOVE,
		MADV_DONTDUMP, MADV_DODUMP, MADV_MERGEABLE, MADV_UNMERGEABLE,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_FREE, MADV_COLD,
		MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
		MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_COLLAPSE,
		MADV_DONTFORK, MADV_DOFORK, MADV_DONTNEED,
	};
	int i = pick_piece(), adv, err;
	uintptr_t a;
	size_t len;

	if (i < 0)
		return;
	piece_range(i, &a, &len);
	adv = advice[below(sizeof(advice) / sizeof(advice[0]))];
	desc("madvise(%#lx, %#lx, %d) of pin %d prot %#x", (unsigned long)a,
	     (unsigned long)len, adv, pieces[i].pin, pieces[i].prot);
	err = madvise((void *)a, len, adv) ? errno : 0;
	/* MADV_REMOVE asks the daxpin file to fallocate(). */
	done(FZ_MADVISE, err, adv == MADV_REMOVE ? ENODEV : 0,
	     adv == MADV_REMOVE ? EOPNOTSUPP : 0);
	if (!err && (adv == MADV_DOFORK || adv == MADV_DONTFORK)) {
		int k;

		piece_split(a);
		piece_split(a + len);
		for (k = 0; k < NPIECES; k++)
			if (pieces[k].used && pieces[k].a >= a &&
			    pieces[k].b <= a + len)
				pieces[k].dofork = adv == MADV_DOFORK;
	}
}

static void op_mprotect(void)
{
	static const int prots[] = {
		PROT_NONE, PROT_READ, PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
		PROT_READ, PROT_READ | PROT_WRITE,
	};
	int i = pick_piece(), prot, err, pi;
	uintptr_t a;
	size_t len;

	if (i < 0)
		return;
	piece_range(i, &a, &len);
	prot = prots[below(sizeof(prots) / sizeof(prots[0]))];
	pi = pieces[i].pin;
	desc("mprotect(%#lx, %#lx, %#x) of pin %d (%s)", (unsigned long)a,
	     (unsigned long)len, prot, pi,
	     pi < 0 ? "unknown" : pins[pi].flags & DAXPIN_PIN_WRITE ?
	     "writable" : "read-only");
	err = mprotect((void *)a, len, prot) ? errno : 0;
	done(FZ_MPROTECT, err, 0, 0);
	if (err)
		return;
	if (prot & PROT_EXEC)
		fail(C_SAFETY, "%s: a pin's mapping became executable", cur);
	/*
	 * Only for a pin no child could have unpinned: else its mmap offset
	 * may have gone to a newer, writable pin that this mapping maps.
	 */
	if ((prot & PROT_WRITE) && pi >= 0 &&
	    !(pins[pi].flags & DAXPIN_PIN_WRITE) && strict_pin(&pins[pi]))
		fail(C_SAFETY, "%s: a read-only pin's mapping became writable",
		     cur);
	model_protect(a, a + len, prot);
}

static void op_mlock(void)
{
	int i = pick_piece(), err, how = below(3);
	uintptr_t a;
	size_t len;

	if (i < 0)
		return;
	piece_range(i, &a, &len);
	desc("%s(%#lx, %#lx) of pin %d",
	     how == 0 ? "mlock" : how == 1 ? "munlock" : "mlock2(ONFAULT)",
	     (unsigned long)a, (unsigned long)len, pieces[i].pin);
	if (how == 0)
		err = mlock((void *)a, len);
	else if (how == 1)
		err = munlock((void *)a, len);
	else
		err = mlock2((void *)a, len, MLOCK_ONFAULT);
	done(FZ_MLOCK, err ? errno : 0, 0, 0);
}

static void op_msync(void)
{
	static const int fl[] = { MS_SYNC, MS_ASYNC, MS_INVALIDATE,
				  MS_SYNC | MS_INVALIDATE, MS_SYNC | MS_ASYNC };
	int i = pick_piece(), flags;
	uintptr_t a;
	size_t len;

	if (i < 0)
		return;
	piece_range(i, &a, &len);
	flags = fl[below(5)];
	desc("msync(%#lx, %#lx, %#x) of pin %d", (unsigned long)a,
	     (unsigned long)len, flags, pieces[i].pin);
	done(FZ_MSYNC, msync((void *)a, len, flags) ? errno : 0, 0, 0);
}

static void op_mincore(void)
{
	unsigned char vec[MAX_PIN_PAGES * 2];
	int i = pick_piece();
	uintptr_t a;
	size_t len;

	if (i < 0)
		return;
	piece_range(i, &a, &len);
	if (len / PAGE > sizeof(vec))
		len = sizeof(vec) * PAGE;
	desc("mincore(%#lx, %#lx) of pin %d", (unsigned long)a,
	     (unsigned long)len, pieces[i].pin);
	done(FZ_MINCORE, mincore((void *)a, len, vec) ? errno : 0, 0, 0);
}

static void op_mseal(void)
{
	int i = pick_piece(), err, n = 0, k;

	for (k = 0; k < NPIECES; k++)
		n += pieces[k].used && pieces[k].sealed;
	/*
	 * Only mappings of an open daxpin file, which then stays open: a
	 * sealed mapping keeps its daxpin file, and so its pins, until exit.
	 */
	if (i < 0 || n >= 3 || pieces[i].sealed || !slot_ok(pieces[i].slot) ||
	    slots[pieces[i].slot].gen != pieces[i].gen)
		return;
	desc("mseal(%#lx, %#lx) of pin %d", (unsigned long)pieces[i].a,
	     (unsigned long)(pieces[i].b - pieces[i].a), pieces[i].pin);
	err = syscall(__NR_mseal, pieces[i].a, pieces[i].b - pieces[i].a, 0) ?
	      errno : 0;
	done(FZ_MSEAL, err, 0, 0);
	if (err)
		return;
	pieces[i].sealed = true;
	if (slot_ok(pieces[i].slot) && slots[pieces[i].slot].gen == pieces[i].gen)
		slots[pieces[i].slot].sealed++;
}

/*
 * Load or store through a pin's mapping. It must fault with SIGSEGV where
 * the protection forbids the access, with SIGBUS once the pin is unpinned
 * or revoked, and must go through while a pin that nobody else can end
 * is active.
 */
static void op_touch(void)
{
	int i = pick_piece(), sig, must = -1, pi, store;
	struct daxpin_query q;
	struct pin *pn;
	uintptr_t a;
	const char *why = "";

	if (i < 0)
		return;
	pi = pieces[i].pin;
	pn = pi >= 0 ? &pins[pi] : NULL;
	a = pieces[i].a + below((pieces[i].b - pieces[i].a) / 8) * 8;
	store = (pieces[i].prot & PROT_WRITE) ? pct(60) : pct(5);
	if (pn && strict_pin(pn) && pn->state == P_LIVE &&
	    pn->file != F_SHARED && pct(70)) {
		int qerr;

		desc("QUERY(fd %d, handle %u) before a touch",
		     slots[pn->slot].fd, pn->handle);
		qerr = -query(slots[pn->slot].fd, pn->handle, &q);
		done(FZ_QUERY, qerr, 0, 0);
		if (qerr) {
			fail(C_PRECISE, "%s: QUERY of a pin of ours failed", cur);
		} else {
			check_query(pn, &q);
			if (q.out_state == DAXPIN_STATE_ACTIVE) {
				must = 0;
				why = "the pin is active and nobody else can end it";
			}
		}
	}
	if (pn && (pn->state == P_UNPINNED || pn->state == P_REVOKED) &&
	    !pieces[i].maybe_newer) {
		must = SIGBUS;
		why = pn->state == P_UNPINNED ? "the pin was unpinned" :
			"the pin was revoked";
	}
	if (!(pieces[i].prot & (store ? PROT_WRITE : PROT_READ | PROT_WRITE))) {
		must = SIGSEGV;
		why = "the protection forbids it";
	}
	desc("%s %#lx (pin %d handle %u state %d, prot %#x, file %d)",
	     store ? "store to" : "load from", (unsigned long)a, pi,
	     pn ? pn->handle : 0, pn ? pn->state : -1, pieces[i].prot,
	     pn ? pn->file : -1);
	/*
	 * A word only the file's own pins store (see op_scan()), or, through
	 * a mapping that may name a newer pin, only this worker's pins.
	 */
	sig = touch_word((volatile uint64_t *)a, store,
			 pn && pn->file >= 0 ?
			 sig_word(W, pieces[i].maybe_newer ? F_ANY : pn->file) :
			 0x1122334455667788ull);
	count(FZ_TOUCH, 0);
	log_result(sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "ok");
	bump(&ST->x[sig == SIGBUS ? X_SIGBUS : sig == SIGSEGV ? X_SIGSEGV :
		    X_TOUCH_OK], 1);
	if (must >= 0 && sig != must)
		fail(must == SIGBUS || must == SIGSEGV ? C_SAFETY : C_PRECISE,
		     "%s got %s: want %s, since %s", cur,
		     sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" :
		     "through", must == SIGBUS ? "SIGBUS" : must == SIGSEGV ?
		     "SIGSEGV" : "no signal", why);
	if (sig == SIGSEGV && must != SIGSEGV)
		fail(C_SAFETY, "%s: SIGSEGV where the protection allows the access",
		     cur);
}

/* ---- events: read, poll, eventfd, SIGIO ------------------------------ */

static void op_read(void)
{
	struct daxpin_event evs[16], copy[16];
	int s = pick_slot(), kind, err, fl, i, pi;
	size_t count_ = sizeof(struct daxpin_event) * (1 + below(8));
	char *buf = (char *)evs;
	ssize_t n;

	if (!slot_ok(s))
		return;
	switch (below(10)) {
	case 0:
		count_ = below(sizeof(struct daxpin_event));
		break;
	case 1:
		count_ += 1 + below(sizeof(struct daxpin_event) - 1);
		break;
	default:
		break;
	}
	kind = pct(85) ? AB_NORMAL : 1 + below(AB_N - 1);
	switch (kind) {
	case AB_NULL:
		buf = NULL;
		break;
	case AB_GUARD:
		buf = (char *)argpages + PAGE;
		break;
	case AB_KERNEL:
		buf = (char *)0xffff888000000000ull;
		break;
	case AB_RDONLY:
		buf = (char *)argpages + 2 * PAGE;
		break;
	case AB_STRADDLE:
		/* Room for one record, then the guard page. */
		buf = (char *)argpages + PAGE - sizeof(struct daxpin_event);
		count_ = sizeof(struct daxpin_event) * (2 + below(4));
		break;
	case AB_PIN:
		pi = pick_rw_piece(count_);
		if (pi >= 0) {
			buf = (char *)pieces[pi].a;
			break;
		}
		kind = AB_NORMAL;
		break;
	default:
		break;
	}
	fl = fcntl(slots[s].fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		arm_short(30);	/* a blocking read waits for an event */
	desc("read(fd %d%s, %s, %zu)", slots[s].fd,
	     fl >= 0 && (fl & O_NONBLOCK) ? " nonblocking" : "",
	     ab_names[kind], count_);
	n = read(slots[s].fd, buf, count_);
	err = n < 0 ? errno : 0;
	if (err == EINTR && short_fired)
		bump(&ST->x[X_TIMER_EINTR], 1);
	done(FZ_READ, err, slots[s].acc == O_WRONLY ? EBADF : 0, 0);
	if (slots[s].acc == O_WRONLY) {
		want(err, EBADF, "a daxpin file open write-only");
		return;
	}
	if (count_ < sizeof(struct daxpin_event) && kind == AB_NORMAL)
		want(err, EINVAL, "a buffer too small for one record");
	if (n <= 0)
		return;
	if (n % sizeof(struct daxpin_event) || (size_t)n > count_) {
		fail(C_PRECISE, "%s returned %zd", cur, n);
		return;
	}
	if (kind != AB_NORMAL && kind != AB_PIN && kind != AB_STRADDLE) {
		fail(C_PRECISE, "%s returned %zd into a bad buffer", cur, n);
		return;
	}
	if (copy_guarded((char *)copy, buf, n))
		return;
	for (i = 0; i < n / (ssize_t)sizeof(struct daxpin_event); i++)
		check_event(s, &copy[i]);
	unpin_recalled();
}

/* Read what is queued on @s without waiting (after a layout change). */
static void drain_events(int s)
{
	struct daxpin_event evs[16];
	int i, rounds;
	ssize_t n;

	if (!slot_ok(s) || slots[s].acc == O_WRONLY)
		return;
	/* Others' writes keep queuing WRITE_BREAKs: a few rounds only. */
	for (rounds = 0; rounds < 4; rounds++) {
		struct pollfd pfd = { .fd = slots[s].fd, .events = POLLIN };

		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLIN))
			return;
		arm_short(20);
		desc("read(fd %d, %zu) after POLLIN", slots[s].fd, sizeof(evs));
		n = read(slots[s].fd, evs, sizeof(evs));
		arm_watchdog();
		done(FZ_READ, n < 0 ? errno : 0, 0, 0);
		if (n <= 0)
			return;
		for (i = 0; i < n / (ssize_t)sizeof(evs[0]); i++)
			check_event(s, &evs[i]);
		unpin_recalled();
	}
}

static void op_poll(void)
{
	struct pollfd pfd[NSLOTS + 1];
	int n = 0, s, err, r, timeout = below(10);
	bool bad = pct(5);

	for (s = 0; s < NSLOTS; s++)
		if (slot_ok(s) && pct(70)) {
			pfd[n].fd = slots[s].fd;
			pfd[n++].events = POLLIN | (pct(20) ? POLLOUT : 0);
		}
	if (pct(10)) {
		pfd[n].fd = bad_fd();
		pfd[n++].events = POLLIN;
	}
	desc("poll(%d fds, %d ms)%s", n, timeout, bad ? " bad pointer" : "");
	if (bad)
		r = poll((struct pollfd *)(argpages + PAGE), n ? n : 1, 0);
	else
		r = poll(pfd, n, timeout);
	err = r < 0 ? errno : 0;
	done(FZ_POLL, err, 0, 0);
	if (bad)
		want(err, EFAULT, "a bad pointer");
	else if (r > 0)
		for (s = 0; s < NSLOTS; s++)
			if (slot_ok(s) && pct(50))
				drain_events(s);
}

static void op_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[8];
	int s = pick_slot(), err, r, what = below(4);
	int fd = slot_ok(s) ? slots[s].fd : bad_fd();

	ev.data.u32 = s;
	if (what == 3) {
		desc("epoll_wait(%d, %d ms)", epfd, (int)(rnd() % 5));
		r = epoll_wait(epfd, evs, 1 + below(8), below(5));
		err = r < 0 ? errno : 0;
	} else {
		static const int ops[] = { EPOLL_CTL_ADD, EPOLL_CTL_DEL,
					   EPOLL_CTL_MOD };

		if (pct(20))
			ev.events |= EPOLLET | (pct(50) ? EPOLLONESHOT : 0);
		desc("epoll_ctl(%d, %d, fd %d, %#x)", epfd, ops[what], fd,
		     ev.events);
		err = epoll_ctl(epfd, ops[what], fd, &ev) ? errno : 0;
	}
	done(FZ_EPOLL, err, 0, 0);
}

static void op_write_dfd(void)
{
	int s = pick_slot(), err;
	char buf[64] = { 0 };

	if (!slot_ok(s))
		return;
	desc("write(fd %d, 64) to a daxpin file", slots[s].fd);
	err = write(slots[s].fd, buf, sizeof(buf)) < 0 ? errno : 0;
	done(FZ_WRITE_DFD, err, 0, 0);
	want(err, slots[s].acc == O_RDONLY ? EBADF : EINVAL,
	     "a daxpin file cannot be written");
}

static void op_fcntl(void)
{
	int s = pick_slot(), fl, err;

	if (!slot_ok(s))
		return;
	fl = fcntl(slots[s].fd, F_GETFL);
	switch (below(3)) {
	case 0:
		desc("fcntl(fd %d, F_SETFL, O_NONBLOCK toggled)", slots[s].fd);
		err = fcntl(slots[s].fd, F_SETFL, fl ^ O_NONBLOCK) ? errno : 0;
		break;
	case 1:
		desc("fcntl(fd %d, F_SETOWN, self) and O_ASYNC toggled",
		     slots[s].fd);
		err = fcntl(slots[s].fd, F_SETOWN, getpid()) ? errno : 0;
		if (!err)
			err = fcntl(slots[s].fd, F_SETFL, fl ^ O_ASYNC) ? errno : 0;
		break;
	default:
		desc("fcntl(fd %d, F_SETOWN, 0)", slots[s].fd);
		err = fcntl(slots[s].fd, F_SETOWN, 0) ? errno : 0;
		break;
	}
	done(FZ_FCNTL, err, 0, 0);
}

static void op_eventfd_read(void)
{
	uint64_t v;
	int err;

	desc("read(eventfd %d)", efd);
	err = read(efd, &v, sizeof(v)) < 0 ? errno : 0;
	done(FZ_EVENTFD_READ, err, 0, 0);
}

static void op_close_dfd(void)
{
	int s = pick_slot(), err, i;
	bool ctx_lives;

	if (!slot_ok(s) || slots[s].sealed)
		return;
	ctx_lives = child_alive();
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].used && pieces[i].slot == s &&
		    pieces[i].gen == slots[s].gen)
			ctx_lives = true;
	desc("close(daxpin fd %d)%s", slots[s].fd,
	     ctx_lives ? " while mapped or shared" : "");
	err = close(slots[s].fd) ? errno : 0;
	done(FZ_CLOSE_DFD, err, 0, 0);
	for (i = 0; i < NPINS; i++)
		if (pins[i].state != P_FREE && pins[i].slot == s &&
		    pins[i].gen == slots[s].gen && pins[i].state != P_UNPINNED)
			pins[i].state = ctx_lives ? P_ORPHAN : P_UNPINNED;
	slots[s].fd = -1;
}

static void open_slot(int s)
{
	int acc = pct(80) ? O_RDWR : pct(50) ? O_RDONLY : O_WRONLY;
	int flags = acc | (pct(70) ? O_CLOEXEC : 0) | (pct(30) ? O_NONBLOCK : 0);
	int fd, err;

	desc("open(%s, %#x)", DAXPIN_DEVICE_PATH, flags);
	fd = open(DAXPIN_DEVICE_PATH, flags);
	err = fd < 0 ? errno : 0;
	done(FZ_OPEN_DFD, err, 0, 0);
	if (fd < 0)
		return;
	slots[s] = (struct slot){ .fd = fd, .acc = acc, .gen = slot_gen_next++ };
}

static void op_open_dfd(void)
{
	int s;

	for (s = 0; s < NSLOTS; s++)
		if (!slot_ok(s)) {
			open_slot(s);
			return;
		}
}

static void op_reopen_file(void)
{
	int f = below(F_STABLE), k = 1 + below(NFDS - 1), fd, err;
	int acc = pct(40) ? O_RDWR : pct(60) ? O_RDONLY : O_WRONLY;
	int flags = acc | O_CLOEXEC | (pct(15) ? O_APPEND : 0);

	if (files[f].fd[k] >= 0)
		close(files[f].fd[k]);
	desc("open(%s, %#x)", files[f].path, flags);
	fd = open(files[f].path, flags);
	err = fd < 0 ? errno : 0;
	done(FZ_REOPEN_FILE, err, 0, 0);
	files[f].fd[k] = fd;
	files[f].acc[k] = acc;
}

/* ---- layout changes and refills of the files -------------------------- */

static int layout_file(void)
{
	return below(F_STABLE);
}

/* The watchdog, or (now and then) a deliberate interruption. */
static uint64_t layout_t0;

static void layout_timer(void)
{
	if (pct(15))
		arm_short(300);
	layout_t0 = now_ns();
}

/*
 * Every pin of a file whose layout changes has a deadline of at most 500
 * ms (only the stable file's have longer ones), so a layout change waits
 * at most that long plus the time to revoke (product.md, 3).
 */
static void after_layout(int err)
{
	uint64_t took = now_ns() - layout_t0;
	int s;

	if (timer_kind != 1 && took > LAYOUT_BOUND_MS * 1000000ull)
		fail(C_HANG, "%s took %llu ms: longer than any pin's deadline (at most 500 ms) and its revocation",
		     cur, (unsigned long long)(took / 1000000));

	if (err == EINTR && short_fired)
		bump(&ST->x[X_TIMER_EINTR], 1);
	if (!in_child)
		for (s = 0; s < NSLOTS; s++)
			if (pct(50))
				drain_events(s);
}

static uint64_t rand_size(int f)
{
	uint64_t max = files[f].max;

	switch (below(6)) {
	case 0:
		return 0;
	case 1:
		return below(max);	/* not page-aligned */
	default:
		return below(max / PAGE + 1) * PAGE;
	}
}

static void op_truncate(bool by_fd)
{
	int f = layout_file(), k = pct(80) ? 0 : below(NFDS), err;
	uint64_t size = rand_size(f);

	layout_timer();
	if (by_fd) {
		desc("ftruncate(%s fd %d, %#llx)", files[f].path,
		     files[f].fd[k], (unsigned long long)size);
		err = ftruncate(files[f].fd[k], size) ? errno : 0;
		done(FZ_FTRUNCATE, err, 0, 0);
	} else {
		desc("truncate(%s, %#llx)", files[f].path,
		     (unsigned long long)size);
		err = truncate(files[f].path, size) ? errno : 0;
		done(FZ_TRUNCATE, err, 0, 0);
	}
	after_layout(err);
}

static void op_fallocate(int op)
{
	int f = layout_file(), err, mode;
	uint64_t max = files[f].max, off, len;

	switch (op) {
	case FZ_FALLOC_ALLOC:
		mode = pct(50) ? FALLOC_FL_KEEP_SIZE : 0;
		break;
	case FZ_FALLOC_PUNCH:
		mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		break;
	case FZ_FALLOC_ZERO:
		mode = FALLOC_FL_ZERO_RANGE | (pct(50) ? FALLOC_FL_KEEP_SIZE : 0);
		break;
	case FZ_FALLOC_COLLAPSE:
		mode = FALLOC_FL_COLLAPSE_RANGE;
		break;
	case FZ_FALLOC_INSERT:
		mode = FALLOC_FL_INSERT_RANGE;
		break;
	default:
		mode = FALLOC_FL_UNSHARE_RANGE;
		break;
	}
	off = below(max / PAGE) * PAGE;
	len = (1 + below(MAX_PIN_PAGES)) * PAGE;
	if (op == FZ_FALLOC_INSERT && (uint64_t)file_size(f) + len > max)
		len = PAGE;
	if (pct(5))
		off += 1 + below(PAGE - 1);
	if (off + len > max)
		len = max - off > PAGE ? (max - off) & ~(PAGE - 1) : PAGE;
	layout_timer();
	desc("fallocate(%s, mode %#x, %#llx, %#llx)", files[f].path, mode,
	     (unsigned long long)off, (unsigned long long)len);
	err = fallocate(files[f].fd[0], mode, off, len) ? errno : 0;
	done(op, err, 0, 0);
	after_layout(err);
}

static char filler[256 << 10];

static void op_pwrite(void)
{
	int f = layout_file(), k = pct(80) ? 0 : below(NFDS), err, i;
	uint64_t off = below(files[f].max / PAGE) * PAGE, len;
	const char *src = filler;
	const char *what = "a buffer";
	ssize_t n;

	len = (1 + below(MAX_PIN_PAGES)) * PAGE;
	if (pct(20))
		off += below(PAGE);
	if (off + len > files[f].max)
		len = files[f].max - off;
	if (pct(10)) {
		/*
		 * From a pin's mapping of the same file (one that surely
		 * maps that pin: see sig_allowed()).
		 */
		for (i = 0; i < NPIECES; i++)
			if (pieces[i].used && pieces[i].pin >= 0 &&
			    !pieces[i].maybe_newer &&
			    pins[pieces[i].pin].file == f &&
			    (pieces[i].prot & PROT_READ)) {
				src = (const char *)pieces[i].a;
				if (len > pieces[i].b - pieces[i].a)
					len = pieces[i].b - pieces[i].a;
				what = "a pin's mapping";
				break;
			}
	} else if (pct(3)) {
		src = (const char *)argpages + PAGE;
		what = "a guard page";
	}
	desc("pwrite(%s fd %d, %s, %#llx, %#llx)", files[f].path,
	     files[f].fd[k], what, (unsigned long long)len,
	     (unsigned long long)off);
	n = pwrite(files[f].fd[k], src, len, off);
	err = n < 0 ? errno : 0;
	done(FZ_PWRITE, err, 0, 0);
	if (!in_child && f != F_SHARED && pct(30))
		for (i = 0; i < NSLOTS; i++)
			drain_events(i);
}

static void op_pread(void)
{
	int f = layout_file(), err, i;
	uint64_t off = below(files[f].max / PAGE) * PAGE, len;
	static char sink[128 << 10];
	const char *what = "a buffer";
	char *dst = sink;
	ssize_t n;

	len = (1 + below(16)) * PAGE;
	if (pct(40)) {
		/* Into a pin's mapping of the same file, surely that pin's. */
		for (i = 0; i < NPIECES; i++)
			if (pieces[i].used && pieces[i].pin >= 0 &&
			    !pieces[i].maybe_newer &&
			    pins[pieces[i].pin].file == f &&
			    (pieces[i].prot & PROT_WRITE)) {
				dst = (char *)pieces[i].a;
				if (len > pieces[i].b - pieces[i].a)
					len = pieces[i].b - pieces[i].a;
				what = "a pin's mapping";
				break;
			}
	}
	desc("pread(%s, %s, %#llx, %#llx)", files[f].path, what,
	     (unsigned long long)len, (unsigned long long)off);
	n = pread(files[f].fd[0], dst, len, off);
	err = n < 0 ? errno : 0;
	done(FZ_PREAD, err, 0, 0);
}

/* The kernel unmaps a file's old block at a copy-on-write write (6.2 on). */
static bool cow_invalidates;

static int scratch(void)
{
	return in_child ? scratch_child_fd : scratch_fd;
}

static void op_remap(int op)
{
	int f = layout_file(), err = 0, sfd = scratch();
	uint64_t len = (1 + below(16)) * PAGE;
	uint64_t off = below(files[f].max / PAGE) * PAGE;
	static char buf[16 * 4096];
	struct file_clone_range fcr = { 0 };

	if (off + len > files[f].max)
		off = files[f].max - len;
	layout_timer();
	switch (op) {
	case FZ_CLONE_ONTO:
		/* The scratch file's blocks, fresh filler, onto the file. */
		if (pwrite(sfd, filler, len, 0) != (ssize_t)len) {
			disarm();
			return;
		}
		fcr.src_fd = sfd;
		fcr.src_length = len;
		fcr.dest_offset = off;
		desc("FICLONERANGE(%s at %#llx <- scratch, %#llx)",
		     files[f].path, (unsigned long long)off,
		     (unsigned long long)len);
		err = ioctl(files[f].fd[0], FICLONERANGE, &fcr) ? errno : 0;
		break;
	case FZ_CLONE_FROM:
		fcr.src_fd = files[f].fd[0];
		fcr.src_offset = off;
		fcr.src_length = len;
		desc("FICLONERANGE(scratch <- %s at %#llx, %#llx)",
		     files[f].path, (unsigned long long)off,
		     (unsigned long long)len);
		err = ioctl(sfd, FICLONERANGE, &fcr) ? errno : 0;
		break;
	default: {
		struct {
			struct file_dedupe_range r;
			struct file_dedupe_range_info i;
		} d;
		ssize_t n = pread(files[f].fd[0], buf, len, off);

		if (n <= 0 || pwrite(sfd, buf, n, 0) != n) {
			disarm();
			return;
		}
		memset(&d, 0, sizeof(d));
		d.r.src_length = n;
		d.r.dest_count = 1;
		d.i.dest_fd = files[f].fd[0];
		d.i.dest_offset = off;
		desc("FIDEDUPERANGE(scratch -> %s at %#llx, %#llx)",
		     files[f].path, (unsigned long long)off,
		     (unsigned long long)n);
		err = ioctl(sfd, FIDEDUPERANGE, &d) ? errno : 0;
		if (!err && d.i.status < 0)
			/* -512: the kernel's ERESTARTSYS after a signal */
			err = d.i.status == -512 ? EINTR : -d.i.status;
		break;
	}
	}
	done(op, err, 0, 0);
	/*
	 * Before 6.2 a copy-on-write write of a shared block left the written
	 * file's DAX entries on the old block (dax_kernel's
	 * cow_write_leaves_mapping_on_old_block_before_6_2). Once the scratch
	 * file let go of that block and another file's pin took it, a
	 * truncate of the first file warned (fs/dax.c:398, 404) about the
	 * other file's page. That is the kernel's bug, shown there: here the
	 * scratch file takes blocks of its own at once, and no block stays
	 * shared.
	 */
	if (!err && !cow_invalidates)
		fallocate(sfd, FALLOC_FL_UNSHARE_RANGE, 0, len);
	after_layout(err);
}

/* Toggle append-only on private file @f. */
static void setflags(int f)
{
	int err, flags = 0;

	desc("FS_IOC_SETFLAGS(%s, append-only %s)", files[f].path,
	     files[f].append_flag ? "off" : "on");
	err = ioctl(files[f].fd[0], FS_IOC_GETFLAGS, &flags) ? errno : 0;
	if (!err) {
		flags ^= FS_APPEND_FL;
		err = ioctl(files[f].fd[0], FS_IOC_SETFLAGS, &flags) ? errno : 0;
	}
	done(FZ_SETFLAGS, err, 0, 0);
	if (!err)
		files[f].append_flag = !!(flags & FS_APPEND_FL);
	/* Not for long: it turns most layout changes into EPERM. */
	files[f].append_ops = 20;
}

static void op_setflags(void)
{
	int f = below(F_SHARED);

	if (!files[f].append_flag)
		setflags(f);
}

/* ---- /proc/daxpin and stray stores ---------------------------------- */

static char procbuf[1 << 20];

static ssize_t read_proc(void)
{
	ssize_t n, done_ = 0;
	int fd = open("/proc/daxpin", O_RDONLY);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, procbuf + done_, sizeof(procbuf) - 1 - done_)) > 0)
		done_ += n;
	close(fd);
	if (n < 0)
		return -EIO;
	procbuf[done_] = 0;
	return done_;
}

/* Check every line of /proc/daxpin; call @fn(pid, handle) for each live one. */
static int parse_proc(void (*fn)(int pid, unsigned int handle))
{
	char *line, *save = NULL;
	int nlines = 0;

	line = strtok_r(procbuf, "\n", &save);
	if (!line || strncmp(line, "pid", 3)) {
		fail(C_PRECISE, "%s: no header line", cur);
		return -1;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		char state[32], access[16];
		unsigned int handle, maj, min, reason;
		unsigned long ino, mem;
		unsigned long long off, len, age;
		long long left;
		int pid, pos = 0, tail = 0, vmas;
		unsigned int dmabufs;
		char holders[256];

		nlines++;
		if (sscanf(line, "%d %u %31s %u:%u:%lu %llx %llx %15s %lld %u %lu %n",
			   &pid, &handle, state, &maj, &min, &ino, &off, &len,
			   access, &left, &reason, &mem, &pos) != 12 || !pos) {
			fail(C_PRECISE, "%s: malformed line '%s'", cur, line);
			continue;
		}
		/* The escaped path, then the appended columns, nothing more. */
		if (sscanf(line + pos, "%*s %llu %d %u %255s%n", &age, &vmas,
			   &dmabufs, holders, &tail) != 4 || line[pos + tail] ||
		    vmas < 0 || strspn(holders, "-0123456789,") != strlen(holders)) {
			fail(C_PRECISE, "%s: line '%s' lacks path, age_ms, vmas, dmabufs or holders",
			     cur, line);
			continue;
		}
		if ((strcmp(state, "active") && strcmp(state, "recalled") &&
		     strcmp(state, "revoked") && strcmp(state, "draining")) ||
		    (strcmp(access, "rw") && strcmp(access, "ro")) ||
		    pid <= 0 ||
		    (!strcmp(state, "recalled") ? left < 0 : left != -1) ||
		    (!strcmp(state, "revoked") ? reason == 0 :
		     strcmp(state, "draining") && reason != 0) ||
		    !len || off % PAGE || len % PAGE || !mem)
			fail(C_PRECISE, "%s: line '%s' is not as docs/ioctl.md describes",
			     cur, line);
		/* A draining pin's handle is gone: its pid made it, no more. */
		if (fn && strcmp(state, "draining"))
			fn(pid, handle);
	}
	return nlines;
}

static void op_proc(void)
{
	ssize_t n;

	desc("read(/proc/daxpin)");
	n = read_proc();
	count(FZ_PROC, n < 0 ? -n : 0);
	log_result(n < 0 ? en(-n) : "ok");
	if (n < 0) {
		fail(C_PRECISE, "%s: %s", cur, en(-n));
		return;
	}
	parse_proc(NULL);
}

/* Whether a word stored through a pin of (@w, @f) may be in @in (-1: scratch). */
static bool sig_allowed(int in, int w, int f)
{
	if (f == F_ANY)
		return in == F_SHARED || w == W;
	if (in < 0)
		return w == W || f == F_SHARED;
	if (in == F_SHARED)
		return f == F_SHARED;
	return w == W && f == in;
}

static void scan_file(int fd, int in, const char *path)
{
	static uint64_t buf[8192];
	off_t pos = 0;
	ssize_t n;
	int w, f, reported = 0;
	size_t i;

	while ((n = pread(fd, buf, sizeof(buf), pos)) > 0) {
		for (i = 0; i < (size_t)n / 8; i++)
			if (sig_decode(buf[i], &w, &f) && !sig_allowed(in, w, f) &&
			    reported++ < 3)
				fail(C_SAFETY, "%s at offset %#llx holds a word stored through a pin of worker %d's file %d: a store landed in another file's block",
				     path, (unsigned long long)(pos + i * 8), w, f);
		pos += n;
		bump(&ST->x[X_SCANNED_KB], n / 1024);
	}
}

static void scan_one(int f)
{
	if (f < NFILES)
		scan_file(files[f].fd[0], f, files[f].path);
	else if (f == NFILES)
		scan_file(scratch_fd, -1, scratch_path);
	else if (f == NFILES + 1)
		scan_file(scratch_child_fd, -1, scratch_child_path);
	else
		scan_file(nodax_fd, -2, nodax_path);
}

/* Look for stray stores in one file (@all: every file). */
static void op_scan_files(bool all)
{
	int f;

	desc("scan %s for stray stores", all ? "every file" : "a file");
	if (all)
		for (f = 0; f < NFILES + 3; f++)
			scan_one(f);
	else
		scan_one(below(NFILES + 3));
	count(FZ_SCAN, 0);
	log_result("ok");
}

static void op_scan(void)
{
	op_scan_files(false);
}

/*
 * A kernel report (WARNING, BUG, KASAN, lockdep, ...) during the run: the
 * process that finds it in the kernel log right after one of its
 * operations prints its last operations. The culprit is likely among
 * them when the report names this process's pid (it is printed first).
 */
static const char *const report_pat[] = {
	"WARNING:", "BUG:", "Oops", "KASAN", "UBSAN", "circular locking",
	"recursive locking", "lock state", "RCU usage", "blocked for more",
	"unreferenced object",
};
static int kmsg_fd = -1;

static void kmsg_open(void)
{
	if (kmsg_fd >= 0)
		close(kmsg_fd);
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/*
 * Kernel warnings that are the kernel's own, shown without daxpin
 * (selftests/dax_kernel.c), by kernel. On 6.1, reflinks racing DAX faults
 * make fs/dax.c's "associate" check warn (line 380), and a truncate then
 * its "foreign" check (line 404), with plain mmap() faults as much as with
 * daxpin's populate. On 7.2 a copy-on-write write of a block some process
 * maps makes dax_folio_put() warn (line 452), plain mmap() too. The fuzzer
 * reflinks, maps and writes, so those are expected (bench/report.sh is
 * told too). The "truncate-ref" check (a truncated page still referenced,
 * 6.1's line 398) stays a failure: the kernel gives it for a block another
 * file shares too, but it is also what a layout change taking pinned
 * pages looks like, and a pin never holds shared blocks.
 */
static const struct {
	const char *release;	/* uname -r prefix */
	const char *lines[2];	/* as the WARNING line has them */
	const char *mark;	/* the same, for bench/report.sh */
} kernel_own_warnings[] = {
	{ "6.1.", { "at fs/dax.c:380 ", "at fs/dax.c:404 " },
	  "expect-warning at fs/dax\\.c:(380|404) " },
	{ "7.2.", { "fs/dax.c:452 ", NULL },
	  "expect-warning fs/dax\\.c:452 " },
};
/* This kernel's entry of kernel_own_warnings[], if the fuzzer reflinks. */
static int kernel_own_warning = -1;

static bool is_report(const char *text)
{
	size_t i;

	for (i = 0; kernel_own_warning >= 0 && i < 2; i++) {
		const char *l = kernel_own_warnings[kernel_own_warning].lines[i];

		if (l && strstr(text, l))
			return false;
	}

	for (i = 0; i < sizeof(report_pat) / sizeof(report_pat[0]); i++)
		if (strstr(text, report_pat[i]))
			return true;
	return false;
}

static void check_kmsg(void)
{
	char rec[1024], text[12288], *t, *nl;
	unsigned int i;
	ssize_t r;
	size_t n;

	while (kmsg_fd >= 0 && (r = read(kmsg_fd, rec, sizeof(rec) - 1)) > 0) {
		rec[r] = 0;
		t = strchr(rec, ';');
		if (!t || !is_report(++t))
			continue;
		nl = strchr(t, '\n');
		if (nl)
			*nl = 0;
		n = snprintf(text, sizeof(text),
			     "kernel report right after an operation of worker %d%s (pid %d, seed %#" PRIx64 "): %s\nthe process's last operations, oldest first:",
			     W, in_child ? "'s child" : "", getpid(), ST->seed, t);
		for (i = oplog_n > NLOG ? oplog_n - NLOG : 0; i < oplog_n; i++)
			n += snprintf(text + n, sizeof(text) - n, "\n  %s",
				      oplog[i % NLOG]);
		out_text(text);
		ST->tainted = 1;
	}
}

/* ---- processes -------------------------------------------------------- */

static void run_ops(const unsigned char *weights, int n);

static void reap_child(bool wait_for_it)
{
	uint64_t end = now_ns() + 10000000000ull;
	int status;
	pid_t r;

	if (!child_alive())
		return;
	do {
		r = waitpid(child_pid, &status, WNOHANG);
		if (r == child_pid)
			break;
		if (r < 0) {
			child_pid = 0;
			return;
		}
		if (!wait_for_it) {
			if (now_ns() - child_t0 > CHILD_MAX_S * 1000000000ull) {
				fail(C_HANG, "child %d still runs after %d s: killing it",
				     child_pid, CHILD_MAX_S);
				kill(child_pid, SIGKILL);
				wait_for_it = true;
				end = now_ns() + 10000000000ull;
				continue;
			}
			return;
		}
		usleep(2000);
	} while (now_ns() < end);
	if (r != child_pid) {
		fail(C_HANG, "child %d did not end within 10 s of SIGKILL", child_pid);
		child_pid = 0;
		return;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		fail(C_HANG, "child %d died of signal %d (%s)", child_pid,
		     WTERMSIG(status), strsignal(WTERMSIG(status)));
	child_pid = 0;
}

/*
 * The child: no mapping of a pin came along (mincore() finds nothing
 * there, or after MADV_DOFORK an empty copy that faults SIGBUS), then a
 * few operations of its own on the shared daxpin files and
 * files, then an exit, an exec or a wait for SIGKILL.
 */
static void child_main(void)
{
	unsigned char vec[MAX_PIN_PAGES * 2];
	int i, n;

	in_child = true;
	child_pid = 0;
	kmsg_open();
	for (i = 0; i < NPIECES; i++) {
		struct piece *p = &pieces[i];
		size_t len = p->b - p->a;

		if (!p->used)
			continue;
		if (len / PAGE > sizeof(vec))
			len = sizeof(vec) * PAGE;
		desc("mincore(%#lx, %#lx) in a child: the parent's mapping of pin %d",
		     (unsigned long)p->a, (unsigned long)len, p->pin);
		/*
		 * After MADV_DOFORK the child gets the VMA, but a copy that
		 * maps nothing (docs/ioctl.md): every access faults, SIGBUS
		 * (or SIGSEGV where the parent's protection forbids it).
		 */
		if (p->pin >= 0 && p->dofork &&
		    !mincore((void *)p->a, len, vec) &&
		    touch_word((volatile uint64_t *)p->a, 0, 0) &&
		    touch_word((volatile uint64_t *)p->a, 1, 0)) {
			bump(&ST->x[X_DOFORK_EMPTY], 1);
		} else if (p->pin >= 0 && (!mincore((void *)p->a, len, vec) ||
					   errno != ENOMEM)) {
			bump(&ST->x[X_INHERITED], 1);
			fail(C_SAFETY, "%s: the mapping came along across fork (docs/ioctl.md: mappings of pins are not inherited)%s",
			     cur, p->dofork ? "; the parent had called madvise(MADV_DOFORK) on it, which cleared VM_DONTCOPY" :
			     "; the parent had not called MADV_DOFORK on it");
		}
		/* Make the model the child's: nothing of the parent's mapped. */
		if (in_arena(p->a, p->b)) {
			if (mmap((void *)p->a, p->b - p->a, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
				 MAP_NORESERVE, -1, 0) == MAP_FAILED) {
				p->pin = -1;	/* sealed and inherited */
				continue;
			}
		} else if (munmap((void *)p->a, p->b - p->a)) {
			p->pin = -1;
			continue;
		}
		p->used = false;
	}
	for (i = 0; i < NSLOTS; i++)
		slots[i].sealed = 0;
	n = 1 + below(24);
	run_ops(weight_child, n);
	disarm();
	if (pct(10) && now_ns() < end_ns) {
		char *argv[] = { "true", NULL };

		desc("execve(/bin/true)");
		count(FZ_EXEC, 0);
		execv("/bin/true", argv);
		bump(&ST->err[FZ_EXEC][0], -1);
		done(FZ_EXEC, errno, 0, 0);
		bump(&ST->runs[FZ_EXEC], -1);
	} else if (pct(10)) {
		/* Linger, with its pins and mappings, until killed. */
		uint64_t t = now_ns() + 2000000000ull;

		while (now_ns() < t)
			usleep(10000);
	}
	_exit(child_failures ? 1 : 0);
}

static void op_fork(void)
{
	uint64_t child_seed = rnd();
	pid_t pid;
	int i;

	if (child_alive())
		return;
	desc("fork()");
	disarm();
	pid = fork();
	if (pid == 0) {
		rng = splitmix(child_seed) | 1;
		child_main();
	}
	arm_watchdog();
	done(FZ_FORK, pid < 0 ? errno : 0, 0, 0);
	if (pid < 0)
		return;
	bump(&ST->x[X_CHILDREN], 1);
	child_pid = pid;
	child_t0 = now_ns();
	for (i = 0; i < NSLOTS; i++)
		if (slot_ok(i))
			slots[i].exposed = true;
	for (i = 0; i < NPINS; i++)
		if (pins[i].state != P_FREE)
			pins[i].exposed = true;
}

static void op_kill_child(void)
{
	int err;

	if (!child_alive())
		return;
	desc("kill(child %d, SIGKILL)", child_pid);
	err = kill(child_pid, SIGKILL) ? errno : 0;
	done(FZ_KILL_CHILD, err, 0, 0);
	reap_child(true);
}

static void fz_run_op(int op)
{
	switch (op) {
	case FZ_INFO: op_info(); break;
	case FZ_PIN: op_pin(); break;
	case FZ_UNPIN: op_unpin(); break;
	case FZ_QUERY: op_query(); break;
	case FZ_SET_EVENTFD: op_set_eventfd(); break;
	case FZ_EXPORT_DMABUF: op_export_dmabuf(); break;
	case FZ_BAD_IOCTL: op_bad_ioctl(); break;
	case FZ_MMAP: op_mmap(); break;
	case FZ_MUNMAP: op_munmap(); break;
	case FZ_MREMAP: op_mremap(); break;
	case FZ_MADVISE: op_madvise(); break;
	case FZ_MPROTECT: op_mprotect(); break;
	case FZ_MLOCK: op_mlock(); break;
	case FZ_MSYNC: op_msync(); break;
	case FZ_MINCORE: op_mincore(); break;
	case FZ_MSEAL: op_mseal(); break;
	case FZ_TOUCH: op_touch(); break;
	case FZ_READ: op_read(); break;
	case FZ_POLL: op_poll(); break;
	case FZ_EPOLL: op_epoll(); break;
	case FZ_WRITE_DFD: op_write_dfd(); break;
	case FZ_FCNTL: op_fcntl(); break;
	case FZ_EVENTFD_READ: op_eventfd_read(); break;
	case FZ_CLOSE_DFD: op_close_dfd(); break;
	case FZ_OPEN_DFD: op_open_dfd(); break;
	case FZ_REOPEN_FILE: op_reopen_file(); break;
	case FZ_TRUNCATE: op_truncate(false); break;
	case FZ_FTRUNCATE: op_truncate(true); break;
	case FZ_FALLOC_ALLOC: case FZ_FALLOC_PUNCH: case FZ_FALLOC_ZERO:
	case FZ_FALLOC_COLLAPSE: case FZ_FALLOC_INSERT: case FZ_FALLOC_UNSHARE:
		op_fallocate(op);
		break;
	case FZ_PWRITE: op_pwrite(); break;
	case FZ_PREAD: op_pread(); break;
	case FZ_CLONE_ONTO: case FZ_CLONE_FROM: case FZ_DEDUPE:
		op_remap(op);
		break;
	case FZ_SETFLAGS: op_setflags(); break;
	case FZ_FORK: op_fork(); break;
	case FZ_KILL_CHILD: op_kill_child(); break;
	case FZ_PROC: op_proc(); break;
	case FZ_SCAN: op_scan(); break;
	default: break;
	}
}

/* Run @n operations (or until the end of the run if @n is 0). */
static void run_ops(const unsigned char *weights, int n)
{
	unsigned int total = 0, r;
	uint64_t t0;
	int op, i, f;

	for (op = 0; op < NOPS; op++)
		total += op_skipped[op] ? 0 : weights[op];
	for (i = 0; !n || i < n; i++) {
		if (now_ns() >= end_ns || !total)
			break;
		if (!in_child) {
			reap_child(false);
			for (f = 0; f < F_SHARED; f++)
				if (files[f].append_flag && !--files[f].append_ops)
					setflags(f);
		}
		r = below(total);
		for (op = 0; op_skipped[op] || r >= weights[op]; op++)
			if (!op_skipped[op])
				r -= weights[op];
		t0 = now_ns();
		arm_watchdog();
		fz_run_op(op);
		disarm();
		t0 = now_ns() - t0;
		bump(&ST->ns[op], t0);
		if (t0 > ST->max_ns[op])
			ST->max_ns[op] = t0;	/* a child's may race: no matter */
		if (t0 > WATCHDOG_MS * 1000000ull)
			fail(C_HANG, "a %s operation took %llu ms, longer than %d ms (its last call: %s)",
			     op_names[op], (unsigned long long)(t0 / 1000000),
			     WATCHDOG_MS, cur);
		check_kmsg();
	}
}

/* ---- a worker's life -------------------------------------------------- */

static void on_sigio(int sig)
{
	sigio_count++;
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_sigaction = on_fault,
				.sa_flags = SA_SIGINFO };

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: calls get EINTR */
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_sigio;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGIO, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int must_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0) {
		out("worker %d: cannot open %s: %s", W, path, strerror(errno));
		exit(4);
	}
	return fd;
}

static void worker_setup(void)
{
	char path[4096];
	int f, k;

	memset(filler, 'f', sizeof(filler));
	for (f = 0; f < NFILES; f++) {
		struct dfile *df = &files[f];

		if (f == F_SHARED)
			snprintf(df->path, sizeof(df->path), "%s/fuzz-shared",
				 dax_dir);
		else if (f == F_STABLE)
			snprintf(df->path, sizeof(df->path), "%s/fuzz-w%d-stable",
				 dax_dir, W);
		else
			snprintf(df->path, sizeof(df->path), "%s/fuzz-w%d-f%d",
				 dax_dir, W, f);
		df->max = f == F_SHARED ? SHARED_MAX : f == F_STABLE ?
			  STABLE_SIZE : PRIV_MAX;
		if (f != F_SHARED) {
			df->fd[0] = make_file(dax_dir, strrchr(df->path, '/') + 1,
					      f == F_STABLE ? STABLE_SIZE :
					      (1 + below(PRIV_MAX / PAGE)) * PAGE,
					      path, sizeof(path));
			if (df->fd[0] < 0) {
				out("worker %d: cannot make %s: %s", W,
				    df->path, strerror(-df->fd[0]));
				exit(4);
			}
		} else {
			df->fd[0] = must_open(df->path, O_RDWR);
		}
		df->acc[0] = O_RDWR;
		if (f == F_STABLE) {
			if (fill_file(df->fd[0], 'f', STABLE_SIZE))
				exit(4);
			df->fd[1] = must_open(df->path, O_RDONLY);
			df->acc[1] = O_RDONLY;
			df->fd[2] = must_open(df->path, O_WRONLY);
			df->acc[2] = O_WRONLY;
		} else {
			/* Some data, some holes. */
			for (k = 0; k < 8; k++)
				if (pwrite(df->fd[0], filler,
					   (1 + below(16)) * PAGE,
					   below(file_size(f) / PAGE) * PAGE) < 0)
					break;
			for (k = 1; k < NFDS; k++) {
				df->acc[k] = k == 1 ? O_RDONLY : O_RDWR;
				df->fd[k] = must_open(df->path, df->acc[k]);
			}
		}
	}
	snprintf(scratch_path, sizeof(scratch_path), "%s/fuzz-w%d-scratch",
		 dax_dir, W);
	scratch_fd = must_open(scratch_path, O_RDWR | O_CREAT | O_TRUNC);
	snprintf(scratch_child_path, sizeof(scratch_child_path),
		 "%s/fuzz-w%d-scratch-child", dax_dir, W);
	scratch_child_fd = must_open(scratch_child_path,
				     O_RDWR | O_CREAT | O_TRUNC);
	snprintf(nodax_path, sizeof(nodax_path), "%s/fuzz-w%d-nodax",
		 nodax_dir, W);
	nodax_fd = make_file(nodax_dir, strrchr(nodax_path, '/') + 1,
			     STABLE_SIZE, path, sizeof(path));
	if (nodax_fd < 0 || fill_file(nodax_fd, 'f', STABLE_SIZE)) {
		out("worker %d: cannot make %s", W, nodax_path);
		exit(4);
	}
	dir_fd = must_open(dax_dir, O_RDONLY | O_DIRECTORY);
	devnull_fd = must_open("/dev/null", O_RDWR);
	opath_fd = must_open(files[F_STABLE].path, O_PATH);
	if (pipe2(pipe_fd, O_CLOEXEC | O_NONBLOCK))
		exit(4);
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (efd < 0 || epfd < 0)
		exit(4);
	arena = mmap(NULL, ARENA_SIZE, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	argpages = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED || argpages == MAP_FAILED)
		exit(4);
	mprotect(argpages + PAGE, PAGE, PROT_NONE);
	mprotect(argpages + 2 * PAGE, PAGE, PROT_READ);
	mprotect(argpages + 3 * PAGE, PAGE, PROT_NONE);
	for (k = 0; k < NSLOTS; k++)
		slots[k].fd = -1;
	open_slot(0);
	open_slot(1);
	if (!slot_ok(0) && !slot_ok(1)) {
		out("worker %d: cannot open %s", W, DAXPIN_DEVICE_PATH);
		exit(4);
	}
}

static int unpin_listed_pid;

static void unpin_listed(int pid, unsigned int handle)
{
	int s;

	if (pid != unpin_listed_pid)
		return;
	for (s = 0; s < NSLOTS; s++)
		if (slot_ok(s)) {
			desc("UNPIN(fd %d, handle %u) at the end, as /proc/daxpin lists it",
			     slots[s].fd, handle);
			done(FZ_UNPIN, -unpin(slots[s].fd, handle), 0, 0);
		}
}

/*
 * The end of a worker's run: its child goes, every pin of its daxpin files
 * is unpinned (its own, and its children's that /proc/daxpin lists), every
 * mapping and file is closed, and then its VmPin must come back to 0.
 */
static void worker_finish(void)
{
	uint64_t t;
	long kb;
	int i, s;

	disarm();
	timer_kind = 0;
	if (child_alive()) {
		kill(child_pid, SIGKILL);
		reap_child(true);
	}
	op_scan_files(true);
	for (i = 0; i < NPINS; i++)
		if ((pins[i].state == P_LIVE || pins[i].state == P_REVOKED) &&
		    slot_ok(pins[i].slot) && pins[i].gen == slots[pins[i].slot].gen) {
			desc("UNPIN(fd %d, handle %u) at the end",
			     slots[pins[i].slot].fd, pins[i].handle);
			done(FZ_UNPIN, -unpin(slots[pins[i].slot].fd,
					      pins[i].handle), 0, 0);
			pins[i].state = P_UNPINNED;
		}
	desc("read(/proc/daxpin) at the end");
	unpin_listed_pid = getpid();
	if (read_proc() > 0)
		parse_proc(unpin_listed);
	for (i = 0; i < NPIECES; i++)
		if (pieces[i].used && !pieces[i].sealed) {
			munmap((void *)pieces[i].a, pieces[i].b - pieces[i].a);
			pieces[i].used = false;
		}
	for (s = 0; s < NSLOTS; s++)
		if (slot_ok(s)) {
			close(slots[s].fd);
			slots[s].fd = -1;
		}
	t = now_ns() + SETTLE_MS * 1000000ull;
	while ((kb = vm_pinned_kb()) != 0 && now_ns() < t)
		usleep(20000);
	ST->vmpin_kb = kb;
	if (kb != 0)
		fail(C_END, "VmPin is %ld kB after every pin of the worker ended (want 0)",
		     kb);
	for (i = 0; i < F_SHARED; i++)
		if (files[i].append_flag) {
			int flags = 0;

			if (!ioctl(files[i].fd[0], FS_IOC_GETFLAGS, &flags)) {
				flags &= ~FS_APPEND_FL;
				ioctl(files[i].fd[0], FS_IOC_SETFLAGS, &flags);
			}
		}
}

static void __attribute__((noreturn)) worker_main(int w, uint64_t seed,
						  uint64_t end)
{
	W = w;
	ST = &shared_stats[w];
	ST->seed = seed;
	rng = splitmix(seed) | 1;
	end_ns = end;
	setup_signals();
	worker_setup();
	kmsg_open();
	run_ops(weight_worker, 0);
	ST->wind_down_ns = now_ns();
	bump(&ST->x[X_SIGIO], sigio_count);
	worker_finish();
	check_kmsg();
	ST->wind_down_ns = now_ns() - ST->wind_down_ns;
	ST->done = 1;
	exit(0);
}

/* ---- the main process ------------------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* Print what the workers did: how often each call ran and how it failed. */
static void print_counts(int nw, double secs)
{
	uint64_t total = 0, runs, per[NERR + 1], ns, max;
	char line[2048];
	int w, op, e, x;
	size_t n;

	for (op = 0; op < NOPS; op++) {
		runs = 0;
		memset(per, 0, sizeof(per));
		for (w = 0; w < nw; w++) {
			runs += shared_stats[w].runs[op];
			for (e = 0; e <= NERR; e++)
				per[e] += shared_stats[w].err[op][e];
		}
		total += runs;
		for (w = 0, ns = 0, max = 0; w < nw; w++) {
			ns += shared_stats[w].ns[op];
			if (shared_stats[w].max_ns[op] > max)
				max = shared_stats[w].max_ns[op];
		}
		n = snprintf(line, sizeof(line), "%-16s %7llu ran (%6.2f ms each, at most %7.1f), %7llu ok",
			     op_names[op], (unsigned long long)runs,
			     runs ? ns / 1e6 / runs : 0.0, max / 1e6,
			     (unsigned long long)per[0]);
		for (e = 1; e <= NERR; e++)
			if (per[e])
				n += snprintf(line + n, sizeof(line) - n, ", %s %llu",
					      e == NERR ? "other" : en(e),
					      (unsigned long long)per[e]);
		out("%s", line);
	}
	for (x = 0; x < NX; x++) {
		uint64_t v = 0;

		for (w = 0; w < nw; w++)
			v += shared_stats[w].x[x];
		out("%s: %llu", x_names[x], (unsigned long long)v);
	}
	out("%llu operations in %.1f s (%.0f per second) by %d workers and their children",
	    (unsigned long long)total, secs, total / secs, nw);
}

static uint64_t total_fails(int nw, int cat)
{
	uint64_t v = 0;
	int w;

	for (w = 0; w < nw; w++)
		v += shared_stats[w].fails[cat];
	return v;
}

/* Each worker's first failure of kind @cat, just above the verdict. */
static void show_first_fails(int nw, int cat)
{
	int w;

	for (w = 0; w < nw; w++)
		if (shared_stats[w].fails[cat])
			out("worker %d: %llu %s failures, the first: %s", w,
			    (unsigned long long)shared_stats[w].fails[cat],
			    cat_names[cat], shared_stats[w].first_fail[cat]);
}

static void cleanup_files(int nw)
{
	char path[4096];
	int w, f;

	for (w = 0; w < nw; w++) {
		for (f = 0; f < NFILES; f++) {
			if (f == F_SHARED || f == F_STABLE)
				continue;
			snprintf(path, sizeof(path), "%s/fuzz-w%d-f%d", dax_dir,
				 w, f);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/fuzz-w%d-stable", dax_dir, w);
		unlink(path);
		snprintf(path, sizeof(path), "%s/fuzz-w%d-scratch", dax_dir, w);
		unlink(path);
		snprintf(path, sizeof(path), "%s/fuzz-w%d-scratch-child",
			 dax_dir, w);
		unlink(path);
		snprintf(path, sizeof(path), "%s/fuzz-w%d-nodax", nodax_dir, w);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/fuzz-shared", dax_dir);
	unlink(path);
}

/* Pins in /proc/daxpin on files of ours: the lines, or "" if none. */
static int our_pins(char *lines, size_t len)
{
	char *line, *save = NULL;
	size_t n = 0;
	int found = 0;
	char needle[4200];

	snprintf(needle, sizeof(needle), "%s/fuzz-", dax_dir);
	lines[0] = 0;
	if (read_proc() < 0)
		return -1;
	for (line = strtok_r(procbuf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strstr(line, needle)) {
			found++;
			if (n + strlen(line) + 2 < len)
				n += snprintf(lines + n, len - n, "%s\n", line);
		}
	return found;
}

/*
 * The kernel's reports during the run (the bench fails the run on them):
 * show them here too, with the worker whose pid they name.
 */
static void show_kernel_reports(int kmsg, const pid_t *pids, int nw)
{
	char rec[2048];
	int shown = 0, w;
	ssize_t n;

	if (kmsg < 0)
		return;
	while (shown < 30 && (n = read(kmsg, rec, sizeof(rec) - 1)) > 0) {
		char *text = strchr(rec, ';'), *nl, *pidp;

		rec[n] = 0;
		if (!text)
			continue;
		text++;
		nl = strchr(text, '\n');
		if (nl)
			*nl = 0;
		if (!is_report(text) && !strstr(text, " PID: "))
			continue;
		shown++;
		pidp = strstr(text, " PID: ");
		for (w = 0; pidp && w < nw; w++)
			if (atoi(pidp + 6) == pids[w])
				break;
		if (pidp && w < nw)
			out("kernel: %s  <- worker %d", text, w);
		else
			out("kernel: %s", text);
	}
}

static void show_hung_worker(int w, pid_t pid)
{
	char path[64], buf[4096];

	out("worker %d (pid %d, seed %#llx) has not finished; it is in: %s (for %.1f s)",
	    w, pid, (unsigned long long)shared_stats[w].seed,
	    shared_stats[w].cur,
	    (now_ns() - shared_stats[w].cur_start) / 1e9);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small_file(path, buf, sizeof(buf)) > 0)
		out("stat: %s", buf);
	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	if (read_small_file(path, buf, sizeof(buf)) > 0)
		out("wchan: %s", buf);
	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	if (read_small_file(path, buf, sizeof(buf)) > 0) {
		out("kernel stack:\n%s", buf);
	} else {
		/* Running, not sleeping: the CPUs' backtraces go to the log. */
		int fd = open("/proc/sysrq-trigger", O_WRONLY);

		if (fd >= 0 && write(fd, "l", 1) == 1)
			out("it is running: sysrq 'l' put every CPU's backtrace in the kernel log");
		if (fd >= 0)
			close(fd);
		sleep(1);
	}
}

int main(void)
{
	uint64_t seconds, base, start, deadline;
	pid_t pids[MAX_WORKERS];
	bool exited[MAX_WORKERS] = { false };
	int nw, w, status, left, bad_exit = 0, leftover, kmsg;
	char lines[8192], path[4096];
	struct daxpin_info info = { .size = sizeof(info) };
	struct utsname uts;
	double secs;
	long v;
	int fd;

	ksft_print_header();
	ksft_set_plan(7);
	dax_dir = env_or_die("DAXPIN_DAX_DIR");
	nodax_dir = env_or_die("DAXPIN_NODAX_DIR");
	seconds = env_u64("DAXPIN_TEST_SECONDS",
			  env_u64("DAXPIN_FUZZ_SECONDS", DEFAULT_SECONDS));
	if (!seconds)
		seconds = DEFAULT_SECONDS;
	nw = env_u64("DAXPIN_FUZZ_WORKERS", DEFAULT_WORKERS);
	if (nw < 1 || nw > MAX_WORKERS)
		nw = DEFAULT_WORKERS;
	base = env_u64("DAXPIN_FUZZ_SEED", splitmix(now_ns() ^ getpid()));
	if (getenv("DAXPIN_FUZZ_SKIP")) {
		char list[1024], *tok, *save = NULL;
		int op;

		snprintf(list, sizeof(list), "%s", getenv("DAXPIN_FUZZ_SKIP"));
		for (tok = strtok_r(list, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save))
			for (op = 0; op < NOPS; op++)
				if (!strcasecmp(tok, op_names[op]))
					op_skipped[op] = true;
	}
	v = module_param_read("max_deadline_ms");
	if (v > 0)
		max_deadline_ms = v;
	v = module_param_read("default_deadline_ms");
	if (v > 0)
		default_deadline_ms = v;

	fd = daxpin_open();
	if (fd < 0 || ioctl(fd, DAXPIN_INFO, &info)) {
		ksft_print_msg("cannot use %s: %s\n", DAXPIN_DEVICE_PATH,
			       strerror(fd < 0 ? -fd : errno));
		ksft_exit_fail();
	}
	close(fd);
	fd = make_file(dax_dir, "fuzz-shared", SHARED_MAX / 2, path,
		       sizeof(path));
	if (fd < 0 || fill_file(fd, 'f', SHARED_MAX / 2)) {
		ksft_print_msg("cannot make %s\n", path);
		ksft_exit_fail();
	}
	close(fd);
	shared_stats = mmap(NULL, sizeof(*shared_stats) * nw,
			    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			    -1, 0);
	if (shared_stats == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));

	out("fuzz: %d workers for %llu s on %s (%s); max_deadline_ms %ld",
	    nw, (unsigned long long)seconds, getenv("DAXPIN_FS") ?: "?",
	    dax_dir, max_deadline_ms);
	for (w = 0; w < nw; w++)
		out("worker %d: seed %#llx (replay it alone: DAXPIN_FUZZ_SEED=%#llx DAXPIN_FUZZ_WORKERS=1)",
		    w, (unsigned long long)(base + w),
		    (unsigned long long)(base + w));
	fflush(stdout);

	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	for (w = 0; !uname(&uts) && !op_skipped[FZ_CLONE_ONTO] &&
		    w < (int)(sizeof(kernel_own_warnings) /
			      sizeof(kernel_own_warnings[0])); w++)
		if (!strncmp(uts.release, kernel_own_warnings[w].release,
			     strlen(kernel_own_warnings[w].release))) {
			kernel_own_warning = w;
			kmsg_mark(kernel_own_warnings[w].mark);
		}
	cow_invalidates = kernel_at_least(6, 2) == 1;
	start = now_ns();
	for (w = 0; w < nw; w++) {
		pids[w] = fork();
		if (pids[w] < 0)
			ksft_exit_fail_msg("fork: %s\n", strerror(errno));
		if (!pids[w])
			worker_main(w, base + w, start + seconds * 1000000000ull);
	}

	/* Wait for them, within the run and its grace. */
	deadline = start + (seconds + GRACE_S) * 1000000000ull;
	for (left = nw; left && now_ns() < deadline;) {
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r <= 0) {
			usleep(50000);
			continue;
		}
		for (w = 0; w < nw; w++)
			if (pids[w] == r && !exited[w]) {
				exited[w] = true;
				left--;
				if (!WIFEXITED(status) || WEXITSTATUS(status)) {
					bad_exit++;
					out("worker %d (pid %d, seed %#llx) %s %d; it was in: %s",
					    w, r, (unsigned long long)(base + w),
					    WIFSIGNALED(status) ? "died of signal" :
					    "exited with", WIFSIGNALED(status) ?
					    WTERMSIG(status) : WEXITSTATUS(status),
					    shared_stats[w].cur);
				}
			}
	}
	for (w = 0; w < nw; w++) {
		uint64_t t;

		if (exited[w])
			continue;
		bad_exit++;
		show_hung_worker(w, pids[w]);
		kill(pids[w], SIGKILL);
		for (t = now_ns() + 10000000000ull; now_ns() < t;) {
			if (waitpid(pids[w], &status, WNOHANG) == pids[w])
				break;
			usleep(50000);
		}
		if (waitpid(pids[w], &status, WNOHANG) == 0)
			out("worker %d did not die of SIGKILL within 10 s", w);
	}
	secs = (now_ns() - start) / 1e9;
	print_counts(nw, secs);
	for (w = 0; w < nw; w++)
		out("worker %d: seed %#llx, wound down in %.1f s%s", w,
		    (unsigned long long)shared_stats[w].seed,
		    shared_stats[w].wind_down_ns / 1e9,
		    shared_stats[w].tainted ? "; it saw a kernel report" : "");
	show_kernel_reports(kmsg, pids, nw);
	if (kernel_own_warning >= 0)
		kmsg_mark("expect-warning-end");

	/* After the run: no pin of ours may be left. */
	deadline = now_ns() + SETTLE_MS * 1000000ull;
	while ((leftover = our_pins(lines, sizeof(lines))) > 0 &&
	       now_ns() < deadline)
		usleep(50000);
	if (leftover)
		out("/proc/daxpin after the run (%d pins of ours):\n%s",
		    leftover, lines);

	{
		uint64_t total = 0;
		int op;

		for (w = 0; w < nw; w++)
			for (op = 0; op < NOPS; op++)
				total += shared_stats[w].runs[op];
		ksft_test_result(total >= 20 * seconds,
				 "fuzz: %llu operations in %llu s (at least %llu)\n",
				 (unsigned long long)total,
				 (unsigned long long)seconds,
				 (unsigned long long)(20 * seconds));
	}
	show_first_fails(nw, C_ERRNO);
	ksft_test_result(!total_fails(nw, C_ERRNO),
			 "fuzz: every failing call failed with an errno documented for it (%llu did not)\n",
			 (unsigned long long)total_fails(nw, C_ERRNO));
	show_first_fails(nw, C_PRECISE);
	ksft_test_result(!total_fails(nw, C_PRECISE),
			 "fuzz: one bad field gives its errno, valid calls succeed, QUERY, events and /proc/daxpin agree (%llu failures)\n",
			 (unsigned long long)total_fails(nw, C_PRECISE));
	show_first_fails(nw, C_SAFETY);
	ksft_test_result(!total_fails(nw, C_SAFETY),
			 "fuzz: ended pins unreachable, no executable, writable read-only or inherited mapping, no stray store (%llu failures)\n",
			 (unsigned long long)total_fails(nw, C_SAFETY));
	show_first_fails(nw, C_HANG);
	ksft_test_result(!bad_exit && !total_fails(nw, C_HANG),
			 "fuzz: workers and children ended cleanly and in time, no call took %d s (%d bad exits, %llu hangs)\n",
			 WATCHDOG_MS / 1000, bad_exit,
			 (unsigned long long)total_fails(nw, C_HANG));
	show_first_fails(nw, C_END);
	ksft_test_result(!total_fails(nw, C_END),
			 "fuzz: VmPin back to 0 in every worker once its pins ended\n");
	ksft_test_result(leftover == 0,
			 "fuzz: /proc/daxpin lists no pin of ours after the run (%d)\n",
			 leftover);
	cleanup_files(nw);
	ksft_finished();
	return 0;
}
