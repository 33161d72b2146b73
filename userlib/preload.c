// SPDX-License-Identifier: LGPL-2.1-or-later OR MIT
/*
 * libdaxpin-preload: an LD_PRELOAD shim with which an unchanged program can
 * register memory of a file on a DAX mount for RDMA (daxpin-preload(7)).
 *
 * Stock kernels refuse ibv_reg_mr() of a mapping of a DAX file
 * (EOPNOTSUPP). The shim interposes libibverbs' address-based registration
 * entry points. Each calls the real one first, so that ordinary memory
 * costs one more function call. Only when that fails with EOPNOTSUPP, and
 * only for a range the program maps MAP_SHARED from a file on a DAX mount,
 * it pins the range through daxpin (which holds the file system off the
 * blocks and recalls the pin when a layout change needs them) and registers
 * it by the first path that works here, the program's pointers valid
 * throughout:
 *
 *   pin-mapping  (kernels before 6.15) the pin's mapping replaces the
 *                program's own at the same addresses, in one
 *                mmap(MAP_FIXED); then the program's call, repeated,
 *                registers it. Both mappings reach the same blocks.
 *   odp          the program's own mapping, registered with
 *                IBV_ACCESS_ON_DEMAND while the pin holds the blocks.
 *   dmabuf       the pin exported as a dma-buf, registered at the
 *                program's iova; the program's mapping stays.
 *
 * State is kept in *holds*: a pin, with (pin-mapping path) the program's
 * addresses its mapping was put over. Records of MRs name the holds they
 * use; a hold ends with the last MR that uses it: the MR is deregistered,
 * the program's mapping of the file put back, and then the pin ended.
 *
 * A recall is handled by a thread of the shim's own, started with the first
 * pin: it logs the recall, and puts the program's mapping of the file back
 * at once (so that the revocation's zap, at the deadline, never reaches the
 * program's pointers); daxpin revokes the pin at the deadline.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "libdaxpin-verbs.h"

/* The functions of these names are ours here, not verbs.h's macros. */
#undef ibv_reg_mr
#undef ibv_reg_mr_iova

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the real entry points ------------------------------------------- */

typedef struct ibv_mr *(*reg_mr_fn)(struct ibv_pd *, void *, size_t, int);
typedef struct ibv_mr *(*reg_mr_iova_fn)(struct ibv_pd *, void *, size_t,
					 uint64_t, int);
typedef struct ibv_mr *(*reg_mr_iova2_fn)(struct ibv_pd *, void *, size_t,
					  uint64_t, unsigned int);
typedef int (*rereg_mr_fn)(struct ibv_mr *, int, struct ibv_pd *, void *,
			   size_t, int);
typedef int (*dereg_mr_fn)(struct ibv_mr *);

static struct {
	reg_mr_fn reg_mr;
	reg_mr_iova_fn reg_mr_iova;
	reg_mr_iova2_fn reg_mr_iova2;
	rereg_mr_fn rereg_mr;
	dereg_mr_fn dereg_mr;
} real;

/*
 * The real functions and the settings, once: at load, or at the first
 * call if another library's constructor registers memory before ours ran.
 */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void preload_init(void);

/*
 * Nonzero while this thread is inside the shim. Inside libibverbs,
 * ibv_reg_mr() and ibv_reg_mr_iova() reach ibv_reg_mr_iova2() through the
 * PLT, that is through the shim again, and the shim's own calls do too:
 * those go straight to the real function.
 */
static _Thread_local int in_shim;

/* ---- state ----------------------------------------------------------- */

/* Flags of the program's mapping, from /proc/self/smaps, to put back. */
enum {
	VMF_SYNC = 1 << 0,		/* sf: MAP_SYNC */
	VMF_LOCKED = 1 << 1,		/* lo: mlock() */
	VMF_LOCKONFAULT = 1 << 2,	/* lf: mlock2(MLOCK_ONFAULT) */
	VMF_DONTCOPY = 1 << 3,		/* dc: MADV_DONTFORK */
	VMF_DONTDUMP = 1 << 4,		/* dd: MADV_DONTDUMP */
};

struct span {
	uintptr_t lo, hi;
	int prot;
};

/* Pieces of a pin's mapping found before fork(), put back in the child. */
#define HOLD_FORK_SPANS	4

struct hold {
	struct hold *next;
	unsigned int refs;		/* records of MRs that name it */
	enum daxpin_reg_path path;
	uint32_t handle;
	uint64_t mmap_offset;		/* the pin's, on the daxpin file */
	int file_fd;			/* to map the file back */
	uintptr_t lo, hi;		/* the program's, page-aligned */
	uint64_t file_off;		/* the file offset at @lo */
	int prot;			/* the program's mapping's */
	unsigned int vmflags;		/* VMF_* of the program's */
	bool replaced;			/* the pin mapped at [lo, hi) */
	bool stuck;			/* not mapped back: never unpinned */
	dev_t dev;
	ino_t ino;
	unsigned int nr_fork;
	struct span fork_spans[HOLD_FORK_SPANS];
	char name[256];			/* the file, for the log */
};

/* What an MR uses: its own hold, and those of others its range overlaps. */
#define REC_HOLDS	4

struct mr_rec {
	struct mr_rec *next;
	struct ibv_mr *mr;
	unsigned int access;		/* the program's, for rereg */
	enum daxpin_reg_path path;	/* of the hold made for it; 0: none */
	unsigned int nr;
	struct hold *holds[REC_HOLDS];
};

static struct {
	/*
	 * Guards the lists, the daxpin file, and every change the shim makes
	 * to the program's address space, so that no two of those race.
	 * Never held across a PIN or a registration (either may take long).
	 */
	pthread_mutex_t lock;
	int dfd;			/* -1 until the first pin */
	bool dfd_failed;		/* said once why it cannot be opened */
	uint64_t features;
	dev_t ddev;			/* /dev/daxpin, as maps shows it */
	ino_t dino;
	struct hold *holds;
	struct mr_rec *mrs;
	bool thread;
	/* Read without the lock: zero keeps ordinary memory on a fast path. */
	unsigned int nr_recs;
	unsigned int nr_replaced;	/* holds with .replaced */
	/* Settings (environment), read at load. */
	uintptr_t page;
	int log;
	uint32_t deadline_ms;
	uint32_t paths;
} shim = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.dfd = -1,
	.log = 1,
	.paths = DAXPIN_REG_ANY,
};

static unsigned int load(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void add(unsigned int *p, int d)
{
	__atomic_add_fetch(p, d, __ATOMIC_RELEASE);
}

/* ---- log ------------------------------------------------------------- */

/*
 * One write(2) per line, so that lines from several threads (and the
 * program's own stderr output) do not interleave; errno is kept.
 */
__attribute__((format(printf, 2, 3)))
static void say(int level, const char *fmt, ...)
{
	const int max = 1023;	/* and the newline */
	int saved = errno, n, m;
	char buf[max + 1];
	va_list ap;

	if (shim.log < level)
		return;
	n = snprintf(buf, max, "libdaxpin-preload[%d]: ", (int)getpid());
	va_start(ap, fmt);
	m = vsnprintf(buf + n, max - n, fmt, ap);
	va_end(ap);
	/* vsnprintf() says what it would have written: cut at the buffer. */
	n = m < 0 ? n : n + m < max ? n + m : max - 1;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* Nowhere else to say it. */
	}
	errno = saved;
}

/* ---- the program's mappings: /proc/self/maps ------------------------- */

struct vma {
	uintptr_t start, end;
	int prot;
	bool shared;
	uint64_t offset;
	unsigned int major, minor;
	unsigned long ino;
	unsigned int vmflags;
	char path[PATH_MAX + 32];
};

/* Called for each mapping meeting the range; nonzero stops the walk. */
typedef int (*vma_fn)(const struct vma *v, void *arg);

static bool parse_header(const char *line, struct vma *v)
{
	unsigned long long start, end, off;
	char perms[8];
	int n = -1;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %lu %n", &start, &end,
		   perms, &off, &v->major, &v->minor, &v->ino, &n) < 7 ||
	    strlen(perms) != 4)
		return false;
	v->start = start;
	v->end = end;
	v->offset = off;
	v->prot = (perms[0] == 'r' ? PROT_READ : 0) |
		  (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	v->shared = perms[3] == 's';
	v->vmflags = 0;
	snprintf(v->path, sizeof(v->path), "%s", n >= 0 ? line + n : "");
	return true;
}

static unsigned int parse_vmflags(const char *s)
{
	static const struct {
		char name[3];
		unsigned int flag;
	} known[] = {
		{ "sf", VMF_SYNC }, { "lo", VMF_LOCKED },
		{ "lf", VMF_LOCKONFAULT }, { "dc", VMF_DONTCOPY },
		{ "dd", VMF_DONTDUMP },
	};
	unsigned int flags = 0;
	size_t i;

	for (; *s; s++) {
		if (s[0] == ' ' || !s[1])
			continue;
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (s[0] == known[i].name[0] &&
			    s[1] == known[i].name[1] && (!s[2] || s[2] == ' '))
				flags |= known[i].flag;
		while (s[1] && s[1] != ' ')
			s++;
	}
	return flags;
}

struct walk {
	uintptr_t lo, hi;
	vma_fn fn;
	void *arg;
	bool pending;			/* smaps: @v awaits its VmFlags */
	struct vma v;
};

/* Hand @w->v to the callback if it meets the range; 1 past the range. */
static int walk_emit(struct walk *w)
{
	w->pending = false;
	if (w->v.end <= w->lo)
		return 0;
	if (w->v.start >= w->hi)
		return 1;
	return w->fn(&w->v, w->arg);
}

/*
 * A mapping's line starts "start-end"; smaps' fields do not, though some
 * ("Anonymous:") start with a hex digit.
 */
static bool is_header(const char *line)
{
	const char *p = line;

	while (isxdigit((unsigned char)*p))
		p++;
	return p > line && *p == '-';
}

static int walk_line(struct walk *w, const char *line, bool smaps)
{
	int ret = 0;

	if (w->pending && !strncmp(line, "VmFlags:", 8)) {
		w->v.vmflags = parse_vmflags(line + 8);
		return walk_emit(w);
	}
	if (!is_header(line))
		return 0;		/* a field of smaps */
	if (w->pending)
		ret = walk_emit(w);
	if (ret || !parse_header(line, &w->v))
		return ret;
	if (smaps)
		w->pending = true;
	else
		ret = walk_emit(w);
	return ret;
}

/*
 * Call @fn for each mapping of this process that meets [@lo, @hi), in
 * address order, from /proc/self/maps, or /proc/self/smaps with @smaps
 * (which gives the mapping's flags too, but costs a walk of the page tables
 * of every mapping before the range). Returns 0 or -errno.
 */
static int walk_vmas(uintptr_t lo, uintptr_t hi, bool smaps, vma_fn fn,
		     void *arg)
{
	struct walk *w = malloc(sizeof(*w));
	char buf[8192], *line, *nl;
	size_t len = 0;
	int fd, ret = 0;
	ssize_t n;

	if (!w)
		return -ENOMEM;
	fd = open(smaps ? "/proc/self/smaps" : "/proc/self/maps",
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(w);
		return -errno;
	}
	w->lo = lo;
	w->hi = hi;
	w->fn = fn;
	w->arg = arg;
	w->pending = false;
	while (!ret) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		len += n;
		buf[len] = 0;
		line = buf;
		while (!ret && (nl = memchr(line, '\n', buf + len - line))) {
			*nl = 0;
			ret = walk_line(w, line, smaps);
			line = nl + 1;
		}
		len -= line - buf;
		memmove(buf, line, len);
		/* No line of maps is this long: something else is wrong. */
		if (!ret && len == sizeof(buf) - 1)
			ret = -EOVERFLOW;
	}
	if (!ret && w->pending)
		ret = walk_emit(w);
	close(fd);
	free(w);
	return ret < 0 ? ret : 0;
}

/* ---- holds ----------------------------------------------------------- */

static bool is_dfd_mapping(const struct vma *v)
{
	return shim.dfd >= 0 && v->ino == shim.dino &&
	       v->major == major(shim.ddev) && v->minor == minor(shim.ddev);
}

/* Whether @v is (part of) @h's pin mapping, at the place it was put. */
static bool is_pin_piece(const struct hold *h, const struct vma *v)
{
	return is_dfd_mapping(v) && v->start >= h->lo && v->end <= h->hi &&
	       v->offset == h->mmap_offset + (v->start - h->lo);
}

/* The hold whose pin mapping @v is, or NULL. Under the lock. */
static struct hold *pin_piece_hold(const struct vma *v)
{
	struct hold *h;

	if (!is_dfd_mapping(v))
		return NULL;
	for (h = shim.holds; h; h = h->next)
		if (h->replaced && is_pin_piece(h, v))
			return h;
	return NULL;
}

static void link_hold_locked(struct hold *h)
{
	h->next = shim.holds;
	shim.holds = h;
}

static void unlink_hold_locked(struct hold *h)
{
	struct hold **p;

	for (p = &shim.holds; *p; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			h->next = NULL;
			return;
		}
	}
}

static struct hold *find_hold_locked(uint32_t handle)
{
	struct hold *h;

	for (h = shim.holds; h; h = h->next)
		if (h->handle == handle)
			return h;
	return NULL;
}

/*
 * A mapping of the file at @s, as the program had it before @h, with
 * those of the program's VMF_* flags that @keep keeps.
 */
static int map_file_at(const struct hold *h, const struct span *s,
		       unsigned int keep)
{
	unsigned int vmflags = h->vmflags & keep;
	int flags = MAP_SHARED | MAP_FIXED;
	size_t len = s->hi - s->lo;
	void *p;

	if (vmflags & VMF_SYNC)
		flags = MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED;
	p = mmap((void *)s->lo, len, s->prot, flags, h->file_fd,
		 h->file_off + (s->lo - h->lo));
	if (p == MAP_FAILED)
		return -errno;
	/*
	 * What the program had asked of its mapping, and lost with it when
	 * the pin's mapping replaced it. Advice only: failures are logged.
	 */
	if ((vmflags & VMF_LOCKED) && mlock(p, len))
		say(2, "mlock of %p: %s", p, strerror(errno));
	if ((vmflags & VMF_LOCKONFAULT) && mlock2(p, len, MLOCK_ONFAULT))
		say(2, "mlock2 of %p: %s", p, strerror(errno));
	if (vmflags & VMF_DONTCOPY)
		madvise(p, len, MADV_DONTFORK);
	if (vmflags & VMF_DONTDUMP)
		madvise(p, len, MADV_DONTDUMP);
	return 0;
}

#define RESTORE_SPANS	16

struct span_walk {
	const struct hold *h;
	unsigned int nr, max;
	bool more;
	struct span *spans;
};

static int collect_pin_pieces(const struct vma *v, void *arg)
{
	struct span_walk *sw = arg;

	if (!is_pin_piece(sw->h, v))
		return 0;
	if (sw->nr == sw->max) {
		sw->more = true;
		return 1;
	}
	sw->spans[sw->nr++] = (struct span){ v->start, v->end, v->prot };
	return 0;
}

/*
 * Put the program's mapping of the file back wherever @h's pin mapping
 * still is in [lo, hi): one mmap(MAP_FIXED) per piece, which replaces the
 * pin's mapping without a moment in which the addresses map nothing.
 * Pieces the program unmapped or mapped over are left as they are. Under
 * the lock. 0, or -errno: then the pin must not end (the pointers would
 * fault).
 */
static int restore_locked(struct hold *h)
{
	struct span spans[RESTORE_SPANS];
	struct span_walk sw;
	unsigned int i;
	int err;

	if (!h->replaced)
		return 0;
	do {
		sw = (struct span_walk){ .h = h, .max = RESTORE_SPANS,
					 .spans = spans };
		err = walk_vmas(h->lo, h->hi, false, collect_pin_pieces, &sw);
		for (i = 0; !err && i < sw.nr; i++)
			err = map_file_at(h, &spans[i], ~0u);
	} while (!err && sw.more);
	if (err) {
		say(1, "cannot map %s back at [%#lx, %#lx): %s; its pin stays until exit",
		    h->name, (unsigned long)h->lo, (unsigned long)h->hi,
		    strerror(-err));
		return err;
	}
	h->replaced = false;
	add(&shim.nr_replaced, -1);
	return 0;
}

/* End holds that no MR uses any more, already unlinked and restored. */
static void end_holds(struct hold *dead)
{
	struct hold *h;
	int err;

	while ((h = dead)) {
		dead = h->next;
		err = daxpin_unpin(shim.dfd, h->handle);
		if (err)
			say(2, "unpin %u: %s", h->handle, strerror(-err));
		else
			say(2, "unpinned %u (%s)", h->handle, h->name);
		if (h->file_fd >= 0)
			close(h->file_fd);
		free(h);
	}
}

/*
 * Drop @rec's references; a hold whose last went is restored and moved to
 * *@dead, or stays, stuck, if it cannot be restored. Under the lock.
 */
static void drop_holds_locked(struct mr_rec *rec, struct hold **dead)
{
	unsigned int i;

	for (i = 0; i < rec->nr; i++) {
		struct hold *h = rec->holds[i];

		if (--h->refs)
			continue;
		if (restore_locked(h)) {
			h->stuck = true;
			continue;
		}
		unlink_hold_locked(h);
		h->next = *dead;
		*dead = h;
	}
	rec->nr = 0;
}

static struct mr_rec *find_rec_locked(const struct ibv_mr *mr)
{
	struct mr_rec *rec;

	for (rec = shim.mrs; rec; rec = rec->next)
		if (rec->mr == mr)
			return rec;
	return NULL;
}

static void unlink_rec_locked(struct mr_rec *rec)
{
	struct mr_rec **p;

	for (p = &shim.mrs; *p; p = &(*p)->next) {
		if (*p == rec) {
			*p = rec->next;
			add(&shim.nr_recs, -1);
			return;
		}
	}
}

/*
 * Record what @mr, just registered over [@lo, @hi), uses: @h, the hold made
 * for it (or NULL), and every hold whose pin mapping it overlaps: the real
 * call registered that mapping's pages, so the pin must outlive the MR.
 * Under the lock.
 */
static void track_locked(struct ibv_mr *mr, uintptr_t lo, uintptr_t hi,
			 struct hold *h, unsigned int access)
{
	struct hold *use[REC_HOLDS], *p;
	struct mr_rec *rec;
	unsigned int n = 0, i;

	if (h)
		use[n++] = h;
	for (p = shim.holds; p && n < REC_HOLDS; p = p->next)
		if (p != h && p->replaced && p->lo < hi && lo < p->hi)
			use[n++] = p;
	if (!n)
		return;
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		say(1, "out of memory: the pins under the MR at %p stay until exit",
		    (void *)lo);
		return;
	}
	rec->mr = mr;
	rec->access = access;
	rec->path = h ? h->path : 0;
	rec->nr = n;
	for (i = 0; i < n; i++) {
		rec->holds[i] = use[i];
		use[i]->refs++;
	}
	rec->next = shim.mrs;
	shim.mrs = rec;
	add(&shim.nr_recs, 1);
}

/* ---- the recall thread ----------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static const char *revoke_reason(uint32_t reason)
{
	switch (reason) {
	case DAXPIN_REVOKE_DEADLINE:
		return "deadline passed";
	case DAXPIN_REVOKE_BLOCKS_TAKEN:
		return "the file system took the blocks without waiting";
	}
	return "unknown reason";
}

static void on_event_locked(const struct daxpin_event *ev)
{
	struct hold *h = find_hold_locked(ev->handle);
	uint64_t now = now_ns();

	if (!h)
		return;		/* its MRs were deregistered meanwhile */
	switch (ev->type) {
	case DAXPIN_EVENT_RECALL:
		say(1, "recall: a layout change of %s waits for the pin of its bytes [%#llx, %#llx), registered at [%#lx, %#lx) (%s); daxpin revokes it in %llu ms unless the program deregisters its MRs",
		    h->name, (unsigned long long)h->file_off,
		    (unsigned long long)(h->file_off + (h->hi - h->lo)),
		    (unsigned long)h->lo, (unsigned long)h->hi,
		    daxpin_reg_path_name(h->path),
		    (unsigned long long)(ev->deadline_ns > now ?
			(ev->deadline_ns - now) / 1000000 : 0));
		break;
	case DAXPIN_EVENT_REVOKED:
		say(1, "revoked (%s): the pin of %s [%#llx, %#llx); %s",
		    revoke_reason(ev->reason), h->name,
		    (unsigned long long)h->file_off,
		    (unsigned long long)(h->file_off + (h->hi - h->lo)),
		    h->path == DAXPIN_REG_PIN_MAPPING ?
		    "its MR still holds the pages, so the layout change waits for ibv_dereg_mr()" :
		    "the MR now reaches whatever the file holds there: RDMA beyond a truncation fails");
		break;
	default:
		return;	/* a write(2) to the file: nothing moves */
	}
	/*
	 * The program's mapping of the file goes back under its pointers now,
	 * before the deadline: revocation zaps the pin's mapping, which would
	 * leave them faulting. The MR keeps the pages, the pin the blocks.
	 */
	if (h->replaced && !restore_locked(h))
		say(1, "%s is mapped at [%#lx, %#lx) again, as the program mapped it",
		    h->name, (unsigned long)h->lo, (unsigned long)h->hi);
	if (h->stuck && !h->replaced && !h->refs) {
		/* Its MRs are gone; only the mapping kept it. */
		unlink_hold_locked(h);
		h->next = NULL;
		pthread_mutex_unlock(&shim.lock);
		end_holds(h);
		pthread_mutex_lock(&shim.lock);
	}
}

static void *recall_main(void *arg)
{
	int dfd = (int)(intptr_t)arg, n, i;
	struct daxpin_event ev[16];

	for (;;) {
		n = daxpin_read_events(dfd, ev, ARRAY_SIZE(ev));
		if (n == -EINTR)
			continue;
		if (n < 0) {
			say(1, "cannot read daxpin events: %s; recalls are no longer handled",
			    strerror(-n));
			return NULL;
		}
		pthread_mutex_lock(&shim.lock);
		for (i = 0; i < n; i++)
			on_event_locked(&ev[i]);
		pthread_mutex_unlock(&shim.lock);
	}
}

/* The recall thread, once; it takes no signal of the program's. */
static void start_thread_locked(void)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t t;
	int err;

	if (shim.thread)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, recall_main,
			     (void *)(intptr_t)shim.dfd);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		say(1, "no recall thread (%s): recalls are not logged, and revocation leaves the program's pointers faulting",
		    strerror(err));
		return;
	}
	pthread_setname_np(t, "daxpin-recall");
	shim.thread = true;
}

/* ---- registering ----------------------------------------------------- */

static int open_daxpin_locked(void)
{
	struct daxpin_info info;
	struct stat st;
	int fd, err;

	if (shim.dfd >= 0)
		return 0;
	fd = daxpin_open();
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	err = daxpin_get_info(fd, &info);
	if (!err && fstat(fd, &st))
		err = -errno;
	if (err) {
		close(fd);
		goto fail;
	}
	shim.dfd = fd;
	shim.features = info.features;
	shim.ddev = st.st_dev;
	shim.dino = st.st_ino;
	return 0;
fail:
	if (!shim.dfd_failed)
		say(1, "cannot open %s (%s): DAX file mappings stay unregistrable",
		    DAXPIN_DEVICE_PATH, strerror(-err));
	shim.dfd_failed = true;
	return err;
}

/* What the mappings over a range are, as far as the shim can use them. */
struct range_walk {
	uintptr_t lo, hi;
	uintptr_t next;			/* where the next piece starts */
	bool bad;
	int prot;
	unsigned int major, minor;
	unsigned long ino;
	uint64_t file_off;		/* at @lo */
	unsigned int vmflags;
	bool have_file;			/* a piece maps the file: */
	uintptr_t fstart, fend;		/* that mapping, for map_files */
	char path[PATH_MAX + 32];
};

/*
 * Every piece must be shared, readable, not executable, of one protection,
 * and map one file at consecutive offsets: the file itself, or a pin's
 * mapping the shim put there for an earlier registration of that file.
 */
static int range_piece(const struct vma *v, void *arg)
{
	struct range_walk *w = arg;
	uintptr_t a = v->start > w->lo ? v->start : w->lo;
	bool first = w->next == w->lo;
	unsigned int major, minor, vmflags;
	unsigned long ino;
	struct hold *h;
	uint64_t off;

	if (v->start > w->next || !v->shared || !(v->prot & PROT_READ) ||
	    (v->prot & PROT_EXEC) || (!first && v->prot != w->prot))
		goto bad;
	h = pin_piece_hold(v);
	if (h) {
		major = major(h->dev);
		minor = minor(h->dev);
		ino = h->ino;
		off = h->file_off + (a - h->lo);
		vmflags = h->vmflags;
	} else {
		/* Not anonymous memory, not a pseudo file such as [heap]. */
		if (!v->ino || v->path[0] != '/')
			goto bad;
		major = v->major;
		minor = v->minor;
		ino = v->ino;
		off = v->offset + (a - v->start);
		vmflags = v->vmflags;
		if (!w->have_file) {
			w->have_file = true;
			w->fstart = v->start;
			w->fend = v->end;
			snprintf(w->path, sizeof(w->path), "%s", v->path);
		}
	}
	if (first) {
		w->prot = v->prot;
		w->major = major;
		w->minor = minor;
		w->ino = ino;
		w->file_off = off;
		w->vmflags = vmflags;
	} else if (major != w->major || minor != w->minor || ino != w->ino ||
		   off != w->file_off + (a - w->lo)) {
		goto bad;
	}
	w->next = v->end;
	return w->next >= w->hi;
bad:
	w->bad = true;
	return 1;
}

/* Under the lock (it looks at the holds). 0, or -EOPNOTSUPP, or -errno. */
static int find_range_locked(uintptr_t lo, uintptr_t hi, bool smaps,
			     struct range_walk *w)
{
	int err;

	memset(w, 0, offsetof(struct range_walk, path));
	w->path[0] = 0;
	w->lo = lo;
	w->hi = hi;
	w->next = lo;
	err = walk_vmas(lo, hi, smaps, range_piece, w);
	if (err)
		return err;
	return w->bad || w->next < hi || !w->have_file ? -EOPNOTSUPP : 0;
}

static bool same_range(const struct range_walk *a, const struct range_walk *b)
{
	return a->prot == b->prot && a->major == b->major &&
	       a->minor == b->minor && a->ino == b->ino &&
	       a->file_off == b->file_off;
}

/*
 * An fd of the file the program maps: through /proc/self/map_files (the
 * mapping's own file, whatever became of its name; needs
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN), else by the name the mapping
 * shows, if that still names the same inode. O_PATH first: nothing is
 * opened for real (a device's open could do something) before it is known
 * to be a regular file.
 */
static int open_mapped_file(const struct range_walk *w, int flags)
{
	char p[64];
	struct stat st;
	int pfd, fd, err;

	snprintf(p, sizeof(p), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)w->fstart, (unsigned long)w->fend);
	pfd = open(p, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		pfd = open(w->path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	if (fstat(pfd, &st) || !S_ISREG(st.st_mode) ||
	    major(st.st_dev) != w->major || minor(st.st_dev) != w->minor ||
	    st.st_ino != w->ino) {
		close(pfd);
		return -ENOENT;
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pfd);
	fd = open(p, flags | O_CLOEXEC);
	err = errno;
	close(pfd);
	return fd < 0 ? -err : fd;
}

/* @path for the log: its end, the part that tells, if it is long. */
static void log_name(char *buf, size_t size, const char *path)
{
	size_t len = strlen(path);

	if (len < size) {
		memcpy(buf, path, len + 1);
		return;
	}
	memcpy(buf, "...", 3);
	memcpy(buf + 3, path + len - (size - 4), size - 3);
}

/* Whether @fd is in DAX state; if the kernel cannot say, yes: PIN decides. */
static bool is_dax(int fd)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, 0, &stx) ||
	    !(stx.stx_attributes_mask & STATX_ATTR_DAX))
		return true;
	return stx.stx_attributes & STATX_ATTR_DAX;
}

/* The access bits for which the kernel pins pages writable. */
static bool writable(unsigned int access)
{
	return access & (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			 IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_MW_BIND);
}

/*
 * A path that does not apply here, so that the next is tried: as
 * libdaxpin-verbs' daxpin_reg_mr() judges them.
 */
static bool not_here(int err)
{
	return err == -EOPNOTSUPP || err == -ENOSYS ||
	       err == -EPROTONOSUPPORT || err == -EFAULT || err == -EMSGSIZE;
}

enum entry { REG_MR, REG_MR_IOVA, REG_MR_IOVA2 };

/* The program's call, to repeat once its range is ready. */
struct attempt {
	struct ibv_mr *mr;		/* ibv_rereg_mr()'s, or NULL */
	enum entry entry;		/* else which registration */
	int flags;			/* rereg: IBV_REREG_MR_* */
	struct ibv_pd *pd;		/* the PD the MR is (to be) in */
	struct ibv_pd *pd_arg;		/* rereg: the program's */
	void *addr;
	size_t length;
	uint64_t iova;
	unsigned int access;
	bool access_known;		/* not always, for rereg */
	struct ibv_mr *out;		/* the new MR */
	int rereg_ret;			/* the last real rereg's return */
};

static struct ibv_mr *call_reg(enum entry entry, struct ibv_pd *pd, void *addr,
			       size_t length, uint64_t iova,
			       unsigned int access)
{
	switch (entry) {
	case REG_MR:
		return real.reg_mr(pd, addr, length, (int)access);
	case REG_MR_IOVA:
		return real.reg_mr_iova(pd, addr, length, iova, (int)access);
	case REG_MR_IOVA2:
		break;
	}
	return real.reg_mr_iova2(pd, addr, length, iova, access);
}

/* The program's call again, on-demand with @odp. 0 or -errno. */
static int try_real(struct attempt *a, bool odp)
{
	unsigned int access = a->access | (odp ? IBV_ACCESS_ON_DEMAND : 0);
	int flags = a->flags | (odp ? IBV_REREG_MR_CHANGE_ACCESS : 0);

	errno = 0;
	if (!a->mr) {
		a->out = call_reg(a->entry, a->pd, a->addr, a->length, a->iova,
				  access);
		return a->out ? 0 : -(errno ? errno : EINVAL);
	}
	a->rereg_ret = real.rereg_mr(a->mr, flags, a->pd_arg, a->addr,
				     a->length,
				     flags & IBV_REREG_MR_CHANGE_ACCESS ?
				     (int)access : 0);
	return a->rereg_ret ? -(errno ? errno : EINVAL) : 0;
}

/*
 * Map @h's pin over the program's addresses: the old mapping goes and the
 * new one comes under one hold of the mmap lock, so no access of another
 * thread sees neither, and both reach the same blocks. A MAP_FIXED mmap()
 * that fails after the kernel unmapped the old mapping leaves the range
 * empty: then the file goes back at once. That is the one window in which
 * the program's pointers can fault here; it needs daxpin to refuse a live
 * pin's mapping (a revocation racing the registration) or an allocation
 * to fail.
 */
static int map_pin_locked(struct hold *h)
{
	struct span all = { h->lo, h->hi, h->prot };
	void *p;
	int err;

	h->replaced = true;
	add(&shim.nr_replaced, 1);
	p = mmap((void *)h->lo, h->hi - h->lo, h->prot, MAP_SHARED | MAP_FIXED,
		 shim.dfd, h->mmap_offset);
	if (p != MAP_FAILED)
		return 0;
	err = -errno;
	h->replaced = false;
	add(&shim.nr_replaced, -1);
	if (msync((void *)h->lo, h->hi - h->lo, MS_ASYNC) && errno == ENOMEM &&
	    map_file_at(h, &all, ~0u))
		say(1, "lost the mapping of %s at [%#lx, %#lx)", h->name,
		    (unsigned long)h->lo, (unsigned long)h->hi);
	return err;
}

static int path_pin_mapping(struct attempt *a, struct hold *h,
			    const struct range_walk *w0)
{
	struct range_walk *w;
	int err;

	if (!(shim.features & DAXPIN_FEATURE_MAP_REGISTRABLE))
		return -EOPNOTSUPP;
	w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_lock(&shim.lock);
	/* The program may have changed its mapping while the PIN ran. */
	err = find_range_locked(h->lo, h->hi, false, w);
	if (!err && !same_range(w, w0))
		err = -EBUSY;
	if (!err)
		err = map_pin_locked(h);
	if (!err) {
		link_hold_locked(h);
		start_thread_locked();
	}
	pthread_mutex_unlock(&shim.lock);
	free(w);
	if (err)
		return err;

	err = try_real(a, false);
	if (!err)
		return 0;
	pthread_mutex_lock(&shim.lock);
	if (restore_locked(h))
		h->stuck = true;	/* stays linked, and pinned */
	else
		unlink_hold_locked(h);
	pthread_mutex_unlock(&shim.lock);
	return err;
}

static int path_odp(struct attempt *a, struct hold *h)
{
	struct ibv_sge sge;
	int err;

	if (!a->access_known)
		return -EOPNOTSUPP;
	err = daxpin_odp_check(a->pd, (int)a->access, a->addr, a->iova);
	if (err)
		return err;
	pthread_mutex_lock(&shim.lock);
	link_hold_locked(h);
	start_thread_locked();
	pthread_mutex_unlock(&shim.lock);
	err = try_real(a, true);
	if (err) {
		pthread_mutex_lock(&shim.lock);
		unlink_hold_locked(h);
		pthread_mutex_unlock(&shim.lock);
		return err;
	}
	/* Fault the range in now if the provider can; it is only advice. */
	sge.addr = (uintptr_t)a->addr;
	sge.length = a->length > UINT32_MAX ? UINT32_MAX : a->length;
	sge.lkey = a->mr ? a->mr->lkey : a->out->lkey;
	(void)ibv_advise_mr(a->pd, writable(a->access) ?
			    IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE :
			    IBV_ADVISE_MR_ADVICE_PREFETCH,
			    IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1);
	return 0;
}

static int path_dmabuf(struct attempt *a, struct hold *h)
{
	struct ibv_mr *mr;
	int fd, err;

	/* libibverbs re-registers no dma-buf MR; nor is an MR made one. */
	if (a->mr || !(shim.features & DAXPIN_FEATURE_DMABUF))
		return -EOPNOTSUPP;
	fd = daxpin_export_dmabuf(shim.dfd, h->handle, 0, h->hi - h->lo,
				  DAXPIN_EXPORT_DMABUF_CLOEXEC);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&shim.lock);
	link_hold_locked(h);
	start_thread_locked();
	pthread_mutex_unlock(&shim.lock);
	errno = 0;
	mr = ibv_reg_dmabuf_mr(a->pd, (uintptr_t)a->addr - h->lo, a->length,
			       a->iova, fd, (int)a->access);
	err = mr ? 0 : -(errno ? errno : EINVAL);
	/* The registration holds the dma-buf; the fd is no longer needed. */
	close(fd);
	if (err) {
		pthread_mutex_lock(&shim.lock);
		unlink_hold_locked(h);
		pthread_mutex_unlock(&shim.lock);
		return err;
	}
	/* libibverbs leaves the dma-buf offset here; the program gave this. */
	mr->addr = a->addr;
	a->out = mr;
	return 0;
}

static const enum daxpin_reg_path path_order[] = {
	DAXPIN_REG_PIN_MAPPING, DAXPIN_REG_ODP, DAXPIN_REG_DMABUF,
};

static int try_path(struct attempt *a, struct hold *h,
		    const struct range_walk *w)
{
	switch (h->path) {
	case DAXPIN_REG_PIN_MAPPING:
		return path_pin_mapping(a, h, w);
	case DAXPIN_REG_ODP:
		return path_odp(a, h);
	case DAXPIN_REG_DMABUF:
		return path_dmabuf(a, h);
	}
	return -EINVAL;
}

/*
 * The real call refused @a with EOPNOTSUPP. If its range is a shared
 * mapping of a DAX file, pin it and register it by the first path that
 * works; *@out is then the hold, linked, which the caller gives to the
 * MR's record. -EOPNOTSUPP where the shim cannot help (the refusal
 * stands), or the -errno of what failed.
 */
static int fallback(struct attempt *a, struct hold **out)
{
	int fd, err, refusal = -EOPNOTSUPP, open_flags;
	struct range_walk *w;
	uintptr_t lo, hi, last;
	struct hold *h;
	size_t i;

	/* A program that asks for on-demand paging itself got its answer. */
	if ((a->access & IBV_ACCESS_ON_DEMAND) || !a->addr || !a->length ||
	    __builtin_add_overflow((uintptr_t)a->addr, a->length - 1, &last) ||
	    (last | (shim.page - 1)) == UINTPTR_MAX)
		return -EOPNOTSUPP;
	lo = (uintptr_t)a->addr & ~(shim.page - 1);
	hi = (last | (shim.page - 1)) + 1;
	w = malloc(sizeof(*w));
	if (!w)
		return -EOPNOTSUPP;
	pthread_mutex_lock(&shim.lock);
	err = find_range_locked(lo, hi, true, w);
	pthread_mutex_unlock(&shim.lock);
	if (err || (writable(a->access) && !(w->prot & PROT_WRITE))) {
		free(w);
		return -EOPNOTSUPP;
	}
	open_flags = w->prot & PROT_WRITE ? O_RDWR : O_RDONLY;
	fd = open_mapped_file(w, open_flags);
	if (fd >= 0 && !is_dax(fd)) {
		close(fd);
		fd = -ENODEV;
	}
	/* The daxpin file only now, for a program that maps DAX files. */
	if (fd >= 0) {
		pthread_mutex_lock(&shim.lock);
		err = open_daxpin_locked();
		pthread_mutex_unlock(&shim.lock);
		if (err) {
			close(fd);
			fd = err;
		}
	}
	if (fd < 0) {
		if (fd != -ENODEV)
			say(2, "cannot use %s (%s)", w->path, strerror(-fd));
		free(w);
		return -EOPNOTSUPP;
	}

	/* From here on the range is a DAX file's: what fails is said. */
	h = calloc(1, sizeof(*h));
	if (!h) {
		err = -ENOMEM;
		goto out_close;
	}
	h->file_fd = fd;
	h->lo = lo;
	h->hi = hi;
	h->file_off = w->file_off;
	h->prot = w->prot;
	h->vmflags = w->vmflags;
	h->dev = makedev(w->major, w->minor);
	h->ino = w->ino;
	log_name(h->name, sizeof(h->name), w->path);
	err = daxpin_pin(shim.dfd, fd, h->file_off, hi - lo,
			 w->prot & PROT_WRITE ? DAXPIN_PIN_WRITE : 0,
			 shim.deadline_ms, &h->handle, &h->mmap_offset);
	if (err)
		goto out_free;
	/*
	 * A writable pin allocated the range's holes through a mapping of its
	 * own. MAP_SYNC promises that a write fault's allocation is durable
	 * when the fault returns; keep that promise for the blocks the PIN
	 * allocated.
	 */
	if ((w->vmflags & VMF_SYNC) && (w->prot & PROT_WRITE) && fdatasync(fd))
		say(1, "fdatasync of %s: %s", h->name, strerror(errno));

	for (i = 0; i < ARRAY_SIZE(path_order); i++) {
		if (!(shim.paths & path_order[i]))
			continue;
		h->path = path_order[i];
		err = try_path(a, h, w);
		if (!err) {
			/*
			 * Only a pin's mapping needs the file to be put back
			 * (the recall thread may have done so already).
			 */
			pthread_mutex_lock(&shim.lock);
			if (!h->replaced) {
				close(h->file_fd);
				h->file_fd = -1;
			}
			pthread_mutex_unlock(&shim.lock);
			say(2, "registered [%p, +%#zx) of %s (bytes [%#llx, %#llx)) by the %s path, pin %u",
			    a->addr, a->length, h->name,
			    (unsigned long long)h->file_off,
			    (unsigned long long)(h->file_off + (hi - lo)),
			    daxpin_reg_path_name(h->path), h->handle);
			free(w);
			*out = h;
			return 0;
		}
		if (h->stuck) {
			/* Its mapping stays: so must the pin, and the fd. */
			say(1, "cannot register %s: %s", h->name,
			    strerror(-err));
			free(w);
			return err;
		}
		say(2, "%s path: %s", daxpin_reg_path_name(h->path),
		    strerror(-err));
		if (!not_here(err))
			break;
		/* A refusal as unsafe says more than "not supported". */
		if (err == -EMSGSIZE)
			refusal = err;
	}
	if (i == ARRAY_SIZE(path_order))
		err = refusal;
	daxpin_unpin(shim.dfd, h->handle);
out_free:
	/* Not a DAX file after all (the kernel could not say before). */
	if (err == -ENODEV)
		err = -EOPNOTSUPP;
	else
		say(1, "cannot register [%p, +%#zx) of %s: %s", a->addr,
		    a->length, h->name, strerror(-err));
	free(h);
out_close:
	close(fd);
	free(w);
	return err;
}

/* ---- the entry points ------------------------------------------------ */

static uintptr_t page_lo(const void *addr)
{
	return (uintptr_t)addr & ~(shim.page - 1);
}

static uintptr_t page_hi(const void *addr, size_t length)
{
	return ((uintptr_t)addr + length + shim.page - 1) & ~(shim.page - 1);
}

static struct ibv_mr *reg(enum entry entry, struct ibv_pd *pd, void *addr,
			  size_t length, uint64_t iova, unsigned int access)
{
	struct attempt a = {
		.entry = entry, .pd = pd, .addr = addr, .length = length,
		.iova = iova, .access = access, .access_known = true,
	};
	struct ibv_mr *mr;
	struct hold *h;
	int err, saved;

	if (in_shim)
		return call_reg(entry, pd, addr, length, iova, access);
	in_shim++;
	errno = 0;
	mr = call_reg(entry, pd, addr, length, iova, access);
	if (mr) {
		/* Over a pin's mapping the shim made? That pin must stay. */
		if (load(&shim.nr_replaced)) {
			pthread_mutex_lock(&shim.lock);
			track_locked(mr, page_lo(addr), page_hi(addr, length),
				     NULL, access);
			pthread_mutex_unlock(&shim.lock);
		}
		in_shim--;
		return mr;
	}
	saved = errno;
	if (saved == EOPNOTSUPP) {
		err = fallback(&a, &h);
		if (!err) {
			mr = a.out;
			pthread_mutex_lock(&shim.lock);
			track_locked(mr, page_lo(addr), page_hi(addr, length),
				     h, access);
			pthread_mutex_unlock(&shim.lock);
		}
		saved = -err;
	}
	in_shim--;
	errno = saved;
	return mr;
}

struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			  int access)
{
	pthread_once(&init_once, preload_init);
	if (!real.reg_mr) {
		errno = ENOSYS;
		return NULL;
	}
	return reg(REG_MR, pd, addr, length, (uintptr_t)addr,
		   (unsigned int)access);
}

struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length,
			       uint64_t iova, int access)
{
	pthread_once(&init_once, preload_init);
	if (!real.reg_mr_iova) {
		errno = ENOSYS;
		return NULL;
	}
	return reg(REG_MR_IOVA, pd, addr, length, iova, (unsigned int)access);
}

struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access)
{
	pthread_once(&init_once, preload_init);
	if (!real.reg_mr_iova2) {
		errno = ENOSYS;
		return NULL;
	}
	return reg(REG_MR_IOVA2, pd, addr, length, iova, access);
}

int ibv_dereg_mr(struct ibv_mr *mr)
{
	struct hold *dead = NULL;
	struct mr_rec *rec;
	int ret;

	pthread_once(&init_once, preload_init);
	if (!real.dereg_mr)
		return ENOSYS;
	if (in_shim || !load(&shim.nr_recs))
		return real.dereg_mr(mr);
	pthread_mutex_lock(&shim.lock);
	rec = find_rec_locked(mr);
	pthread_mutex_unlock(&shim.lock);
	if (!rec)
		return real.dereg_mr(mr);
	in_shim++;
	ret = real.dereg_mr(mr);
	in_shim--;
	/* The NIC may still use the range: nothing else may go. */
	if (ret)
		return ret;
	/* Deregistered; now the mapping of the file back, then the pins. */
	pthread_mutex_lock(&shim.lock);
	unlink_rec_locked(rec);
	drop_holds_locked(rec, &dead);
	pthread_mutex_unlock(&shim.lock);
	end_holds(dead);
	free(rec);
	return 0;
}

/*
 * @mr covers [@addr, +@length) now, made with @h (or by the real call
 * alone, NULL): the holds of its old range go with it.
 */
static void retranslated(struct ibv_mr *mr, struct mr_rec *rec, void *addr,
			 size_t length, struct hold *h, unsigned int access)
{
	struct hold *dead = NULL;

	pthread_mutex_lock(&shim.lock);
	if (rec) {
		unlink_rec_locked(rec);
		drop_holds_locked(rec, &dead);
	}
	track_locked(mr, page_lo(addr), page_hi(addr, length), h, access);
	pthread_mutex_unlock(&shim.lock);
	end_holds(dead);
	free(rec);
}

static int rereg(struct mr_rec *rec, struct ibv_mr *mr, int flags,
		 struct ibv_pd *pd, void *addr, size_t length, int access)
{
	bool odp = rec && rec->path == DAXPIN_REG_ODP;
	struct attempt a = {
		.mr = mr, .flags = flags,
		.pd = flags & IBV_REREG_MR_CHANGE_PD ? pd : mr->pd,
		.pd_arg = pd, .addr = addr, .length = length,
		.iova = (uintptr_t)addr,
		.access = flags & IBV_REREG_MR_CHANGE_ACCESS ?
			  (unsigned int)access : rec ? rec->access : 0,
		.access_known = (flags & IBV_REREG_MR_CHANGE_ACCESS) || rec,
	};
	struct hold *h;
	int ret, err;

	if (!(flags & IBV_REREG_MR_CHANGE_TRANSLATION)) {
		/* The pin holds an ODP MR's blocks, not pages: it stays one. */
		if (odp && (flags & IBV_REREG_MR_CHANGE_ACCESS))
			access |= IBV_ACCESS_ON_DEMAND;
		ret = real.rereg_mr(mr, flags, pd, addr, length, access);
		if (!ret && rec && (flags & IBV_REREG_MR_CHANGE_ACCESS))
			rec->access = a.access;
		return ret;
	}
	/* New memory, which the program did not ask to be on-demand. */
	if (odp && !(flags & IBV_REREG_MR_CHANGE_ACCESS)) {
		flags |= IBV_REREG_MR_CHANGE_ACCESS;
		access = (int)rec->access;
		a.flags = flags;
	}
	errno = 0;
	ret = real.rereg_mr(mr, flags, pd, addr, length, access);
	if (!ret) {
		retranslated(mr, rec, addr, length, NULL, a.access);
		return 0;
	}
	if (ret != IBV_REREG_MR_ERR_CMD || errno != EOPNOTSUPP)
		return ret;
	/*
	 * A provider takes the new range's pages before it changes the MR
	 * (mlx5 makes the new umem first), so the MR is as it was: the same
	 * command can be given again once the range is pinned. One that left
	 * the MR unusable fails the second command as well.
	 */
	a.rereg_ret = ret;
	err = fallback(&a, &h);
	if (err) {
		errno = -err;
		return a.rereg_ret;
	}
	retranslated(mr, rec, addr, length, h, a.access);
	return 0;
}

int ibv_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
		 size_t length, int access)
{
	struct mr_rec *rec = NULL;
	int ret, saved;

	pthread_once(&init_once, preload_init);
	if (!real.rereg_mr) {
		errno = ENOSYS;
		return IBV_REREG_MR_ERR_INPUT;
	}
	if (in_shim)
		return real.rereg_mr(mr, flags, pd, addr, length, access);
	if (load(&shim.nr_recs)) {
		pthread_mutex_lock(&shim.lock);
		rec = find_rec_locked(mr);
		pthread_mutex_unlock(&shim.lock);
	}
	/* An ordinary MR that stays on its memory: nothing of the shim's. */
	if (!rec && !(flags & IBV_REREG_MR_CHANGE_TRANSLATION))
		return real.rereg_mr(mr, flags, pd, addr, length, access);
	in_shim++;
	ret = rereg(rec, mr, flags, pd, addr, length, access);
	saved = errno;
	in_shim--;
	errno = saved;
	return ret;
}

/* ---- fork ------------------------------------------------------------ */

static int collect_fork_pieces(const struct vma *v, void *arg)
{
	struct hold *h = arg;

	if (!is_pin_piece(h, v))
		return 0;
	if (h->nr_fork == HOLD_FORK_SPANS)
		return 1;
	h->fork_spans[h->nr_fork++] = (struct span){ v->start, v->end,
						     v->prot };
	return 0;
}

/*
 * A pin's mapping is not inherited (VM_DONTCOPY): in the child, the
 * program's pointers into it would fault where the program's own mapping
 * of the file would have been copied (unless the program had asked
 * MADV_DONTFORK of it). Find where the pins' mappings are, under the lock
 * (which the fork keeps held in the child).
 */
static void fork_prepare(void)
{
	struct hold *h;

	pthread_mutex_lock(&shim.lock);
	for (h = shim.holds; h; h = h->next) {
		h->nr_fork = 0;
		if (h->replaced && !(h->vmflags & VMF_DONTCOPY))
			walk_vmas(h->lo, h->hi, false, collect_fork_pieces, h);
	}
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&shim.lock);
}

/*
 * In the child: the file mapped where the pins' mappings were (the
 * parent's pins hold the blocks: the child sees what the parent does, as
 * with the shared mapping it would have inherited), then nothing of the
 * parent's: its pins and MRs are the parent's to end, the daxpin file and
 * the file fds the parent's to close, and the recall thread did not fork.
 */
static void fork_child(void)
{
	struct hold *h;
	unsigned int i;

	/* A child inherits no memory lock. */
	for (h = shim.holds; h; h = h->next)
		for (i = 0; h->file_fd >= 0 && i < h->nr_fork; i++)
			map_file_at(h, &h->fork_spans[i],
				    VMF_SYNC | VMF_DONTDUMP);
	for (h = shim.holds; h; h = h->next)
		if (h->file_fd >= 0)
			close(h->file_fd);
	if (shim.dfd >= 0)
		close(shim.dfd);
	shim.dfd = -1;
	shim.dfd_failed = false;
	shim.holds = NULL;
	shim.mrs = NULL;
	shim.thread = false;
	__atomic_store_n(&shim.nr_recs, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&shim.nr_replaced, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&shim.lock);
}

/* ---- load ------------------------------------------------------------ */

/*
 * The next definition after the shim (another interposer's, or
 * libibverbs'); else libibverbs' own, should the shim be loaded otherwise
 * than by LD_PRELOAD.
 */
static void *real_sym(const char *name, const char *version)
{
	void *sym = dlvsym(RTLD_NEXT, name, version), *lib;

	if (!sym) {
		lib = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_NOLOAD);
		if (lib) {
			sym = dlvsym(lib, name, version);
			dlclose(lib);
		}
	}
	if (!sym)
		say(1, "libibverbs has no %s@%s: calls to it fail (ENOSYS)",
		    name, version);
	return sym;
}

static void parse_paths(const char *s)
{
	static const enum daxpin_reg_path all[] = {
		DAXPIN_REG_PIN_MAPPING, DAXPIN_REG_ODP, DAXPIN_REG_DMABUF,
	};
	uint32_t paths = 0;
	size_t i, n;

	while (*s) {
		n = strcspn(s, ",");
		for (i = 0; i < ARRAY_SIZE(all); i++) {
			const char *name = daxpin_reg_path_name(all[i]);

			if (strlen(name) == n && !strncmp(s, name, n))
				paths |= all[i];
		}
		s += n + !!s[n];
	}
	if (paths)
		shim.paths = paths;
	else
		say(1, "DAXPIN_PRELOAD_PATHS names no path (pin-mapping, odp, dmabuf): all are tried");
}

static void preload_init(void)
{
	const char *v;

	shim.page = (uintptr_t)sysconf(_SC_PAGESIZE);
	v = getenv("DAXPIN_PRELOAD_LOG");
	if (v && *v)
		shim.log = atoi(v);
	v = getenv("DAXPIN_PRELOAD_DEADLINE_MS");
	if (v && *v)
		shim.deadline_ms = strtoul(v, NULL, 0);
	v = getenv("DAXPIN_PRELOAD_PATHS");
	if (v && *v)
		parse_paths(v);
	real.reg_mr = (reg_mr_fn)real_sym("ibv_reg_mr", "IBVERBS_1.1");
	real.reg_mr_iova = (reg_mr_iova_fn)real_sym("ibv_reg_mr_iova",
						     "IBVERBS_1.7");
	real.reg_mr_iova2 = (reg_mr_iova2_fn)real_sym("ibv_reg_mr_iova2",
						       "IBVERBS_1.8");
	real.rereg_mr = (rereg_mr_fn)real_sym("ibv_rereg_mr", "IBVERBS_1.1");
	real.dereg_mr = (dereg_mr_fn)real_sym("ibv_dereg_mr", "IBVERBS_1.1");
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((constructor))
static void preload_load(void)
{
	pthread_once(&init_once, preload_init);
}
