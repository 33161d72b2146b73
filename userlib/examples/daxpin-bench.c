/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * daxpin-bench: what `make benchmark` runs in a guest. Not a test: it
 * prints figures, each against baselines measured in the same guest boot,
 * because the machines are shared and noisy and only ratios mean anything.
 *
 *   1. Registration cost, 4 KiB to 1 GiB, 2 MiB-aligned offsets and not:
 *        A  ibv_reg_mr + ibv_dereg_mr of pre-faulted anonymous 4 KiB pages
 *        B  the same, THP-backed (2 MiB-aligned, MADV_HUGEPAGE)
 *        C  the same on a device-DAX mapping (when the guest has one)
 *        D  daxpin, each step timed: PIN, mmap of the pin, ibv_reg_mr on
 *           the mapping, dereg, munmap, UNPIN; PIN then UNPIN with no
 *           mapping; and PIN then UNPIN of a new (cold) file
 *      D runs on a 2 MiB-aligned file system and on an unaligned one.
 *      The phases are interleaved (A B C D A B C D ...), each run of every
 *      phase is one sample, and the tables give medians. For each phase it
 *      prints the fault counters it moved: this process's minor faults
 *      (getrusage; GUP's faults count too), thp_fault_alloc and
 *      thp_fault_fallback from /proc/vmstat (fs/dax.c counts a PMD fault
 *      that falls back there too), and from tracefs the fs_dax PMD and PTE
 *      fault tracepoints; and for every file range how much of it sits on
 *      2 MiB-aligned blocks (FIEMAP).
 *   2. Recall latency (truncate() called -> holder's poll() returns)
 *      against a pipe wake-up between the same two processes: p50, p99.
 *   3. PIN+UNPIN of one 4 KiB pin with 10 and with 100,000 pins on the
 *      daxpin file, interleaved in batches: p50, p99.
 *   4. Memory: the module's own count of a pin's bytes (mem_bytes of
 *      /proc/daxpin) for a 4 KiB pin and a 1 GiB pin, aligned and not;
 *      and a system-wide estimate from /proc/meminfo, labelled as such.
 *   5. Truncate of a file nobody pinned, with daxpin loaded and with it
 *      unloaded (the bench unloads and reloads it), rounds alternating.
 *   6. RDMA WRITE and READ bandwidth (RC, 64 KiB messages) into a daxpin
 *      mapping and into anonymous memory, rounds interleaved (it runs
 *      before 5, which needs every daxpin file closed).
 *
 * Environment (bench/guest/init.sh sets it):
 *   DAXPIN_DAX_DIR            the 2 MiB-aligned DAX file system (required)
 *   DAXPIN_BENCH_UNALIGNED_DIR  an unaligned DAX file system (optional)
 *   DAXPIN_RDMA_DEV           the RDMA device, rxe0 in the bench (required)
 *   DAXPIN_DEVDAX             a device-DAX node, /dev/daxN.M (optional)
 *   DAXPIN_DEVDAX_ERR         why there is none (printed instead of C)
 *   DAXPIN_BENCH_RUNS         timed runs of every phase (default 5)
 *   DAXPIN_BENCH_MAX_MB       largest size in MiB (default 1024)
 *   DAXPIN_BENCH_COMMIT, DAXPIN_BENCH_FS  printed in the header
 *   DAXPIN_BENCH_SECTIONS     the sections to run, as digits ("15"); unset: all
 *   DAXPIN_BENCH_TRUNC_ROUNDS rounds per state of section 5 (default 20)
 *   DAXPIN_KO                 daxpin.ko, for section 5 (optional: without
 *                             it section 5 says it did not run)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "libdaxpin.h"

#define KIB 1024UL
#define MIB (1024UL * 1024)
#define HUGE (2 * MIB)
#define MAX_RUNS 31
/* Every buffer and file holds the largest range at the largest offset. */
#define SLACK (4 * MIB)
#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		   IBV_ACCESS_REMOTE_READ)

static const size_t sizes[] = { 4 * KIB, 64 * KIB, 2 * MIB, 32 * MIB,
				256 * MIB, 1024 * MIB };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
/* Offsets into buffers and files: 2 MiB-aligned, and 4 KiB past that. */
static const size_t offsets[] = { HUGE, HUGE + 4 * KIB };
#define NOFFS 2

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "daxpin-bench: %s: %s\n", what, strerror(err));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @q quantile (0.5: median) of @n samples, nearest rank; -1 if none. */
static double quantile(const double *v, int n, double q)
{
	double *s, r;
	int i;

	if (n <= 0)
		return -1;
	s = malloc(n * sizeof(*s));
	if (!s)
		die("malloc", ENOMEM);
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	if (q == 0.5 && n % 2 == 0) {
		r = (s[n / 2 - 1] + s[n / 2]) / 2;
	} else {
		i = (int)(q * n + 0.999999) - 1;
		r = s[i < 0 ? 0 : i >= n ? n - 1 : i];
	}
	free(s);
	return r;
}

static double median(const double *v, int n)
{
	return quantile(v, n, 0.5);
}

/* ---- fault counters ---------------------------------------------------- */

struct counters {
	double minflt;	  /* this process's minor faults (GUP's included) */
	double thp_alloc; /* /proc/vmstat thp_fault_alloc: anonymous 2 MiB faults */
	double thp_fb;	  /* thp_fault_fallback: a 2 MiB fault (anon or DAX) fell back */
	double pmd_ok;	  /* fs_dax:dax_pmd_fault_done, mapped 2 MiB */
	double pmd_fb;	  /* fs_dax:dax_pmd_fault_done, fell back to 4 KiB */
	double pte;	  /* fs_dax:dax_pte_fault_done */
};

static long vmstat_field(const char *buf, const char *name)
{
	size_t len = strlen(name);
	const char *p = buf;

	while ((p = strstr(p, name))) {
		if ((p == buf || p[-1] == '\n') && p[len] == ' ')
			return atol(p + len + 1);
		p += len;
	}
	return -1;
}

/* Read a small file whole into @buf (NUL-terminated); 0 or -1. */
static int read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(fd);
	return 0;
}

/*
 * fs_dax tracepoint counts, from hist triggers keyed by the fault's
 * result: a PMD fault that returns VM_FAULT_FALLBACK mapped nothing, the
 * kernel retried with 4 KiB faults. The triggers cost time on every fault,
 * so they are only armed in the warm-up round, whose times are not kept.
 */
#define VM_FAULT_FALLBACK_BIT 0x800
static char trace_dir[64];
static int tracing_armed;

static int trigger(const char *event, const char *cmd)
{
	char path[192];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/events/fs_dax/%s/trigger", trace_dir, event);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * Arm the triggers once, pause them after the warm-up round, and never
 * remove them. Adding or removing the first trigger registers or
 * unregisters tracepoint probes (the fs_dax ones and trace-events'
 * sched_wakeup probe), and the kernel patches those call sites live
 * (text_poke_bp). Under QEMU's multi-threaded TCG the other vCPU once hit
 * a stale int3 at trace_sched_wakeup in ttwu_do_activate and the 6.12
 * guest died ("Oops: int3") when the triggers were removed. Pausing patches
 * nothing. DAXPIN_BENCH_TRACE=0 leaves tracing alone altogether.
 */
static void tracing_arm(int on)
{
	static int added;
	const char *cmd = on ? (added ? "hist:keys=result:continue" : "hist:keys=result")
			     : "hist:keys=result:pause";
	const char *env = getenv("DAXPIN_BENCH_TRACE");

	if (!trace_dir[0] || (env && !strcmp(env, "0")) || (!on && !added))
		return;
	if (trigger("dax_pmd_fault_done", cmd) || trigger("dax_pte_fault_done", cmd)) {
		if (on)
			printf("note: fs_dax hist triggers not available in %s (%s)\n",
			       trace_dir, strerror(errno));
		tracing_armed = 0;
		return;
	}
	added = 1;
	tracing_armed = on;
}

/* Sum the hits of @event's histogram: all, and those with @bit in result. */
static void hist_hits(const char *event, unsigned long bit, double *all,
		      double *with_bit)
{
	static char buf[16384];
	char path[192], *line;
	long result, hits;

	*all = *with_bit = 0;
	snprintf(path, sizeof(path), "%s/events/fs_dax/%s/hist", trace_dir, event);
	if (read_small(path, buf, sizeof(buf)))
		return;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (sscanf(line, " { result: %ld } hitcount: %ld", &result, &hits) != 2)
			continue;
		*all += hits;
		if ((unsigned long)result & bit)
			*with_bit += hits;
	}
}

static void counters_read(struct counters *c)
{
	static char buf[16384];
	struct rusage ru;
	double all, fb;

	memset(c, 0, sizeof(*c));
	getrusage(RUSAGE_SELF, &ru);
	c->minflt = ru.ru_minflt;
	if (!read_small("/proc/vmstat", buf, sizeof(buf))) {
		c->thp_alloc = vmstat_field(buf, "thp_fault_alloc");
		c->thp_fb = vmstat_field(buf, "thp_fault_fallback");
	}
	if (tracing_armed) {
		hist_hits("dax_pmd_fault_done", VM_FAULT_FALLBACK_BIT, &all, &fb);
		c->pmd_ok = all - fb;
		c->pmd_fb = fb;
		hist_hits("dax_pte_fault_done", 0, &all, &fb);
		c->pte = all;
	}
}

static void counters_sub(struct counters *d, const struct counters *a,
			 const struct counters *b)
{
	d->minflt = b->minflt - a->minflt;
	d->thp_alloc = b->thp_alloc - a->thp_alloc;
	d->thp_fb = b->thp_fb - a->thp_fb;
	d->pmd_ok = b->pmd_ok - a->pmd_ok;
	d->pmd_fb = b->pmd_fb - a->pmd_fb;
	d->pte = b->pte - a->pte;
}

/* ---- samples: one cell per (phase, size, offset, file system) ----------- */

enum phase {
	P_A_REG, P_A_DEREG, P_B_REG, P_B_DEREG, P_C_REG, P_C_DEREG,
	/* D, warm range: the whole sequence a user runs */
	P_PIN, P_MMAP, P_REG, P_DEREG, P_MUNMAP, P_UNPIN,
	/* D, warm range, no mapping */
	P_PO_PIN, P_PO_UNPIN,
	/* D, a new file: fallocate()d, never written */
	P_COLD_PIN, P_COLD_UNPIN,
	NPHASES
};

static const char *const phase_names[NPHASES] = {
	"A reg", "A dereg", "B reg", "B dereg", "C reg", "C dereg",
	"D PIN", "D mmap", "D reg", "D dereg", "D munmap", "D UNPIN",
	"D PIN (no map)", "D UNPIN (no map)", "D PIN cold", "D UNPIN cold",
};

struct cell {
	double us[MAX_RUNS];
	struct counters cnt[MAX_RUNS];
	struct counters traced;	/* from the warm-up round */
	int n;
};

#define NFS 2
static struct cell cells[NPHASES][NSIZES][NOFFS][NFS];
static int runs = 5;
static int round_no;	/* 0: warm-up (traced, times not kept) */

struct probe {
	struct counters c;
	double t;
};

static void probe_start(struct probe *p)
{
	counters_read(&p->c);
	p->t = now_us();
}

static void probe_stop(struct probe *p, enum phase ph, unsigned int si,
		       unsigned int oi, unsigned int fi)
{
	double t = now_us();
	struct cell *c = &cells[ph][si][oi][fi];
	struct counters end, d;

	counters_read(&end);
	counters_sub(&d, &p->c, &end);
	if (round_no == 0) {
		c->traced = d;
		return;
	}
	c->us[c->n] = t - p->t;
	c->cnt[c->n] = d;
	c->n++;
}

static double cell_median(enum phase ph, unsigned int si, unsigned int oi,
			  unsigned int fi)
{
	struct cell *c = &cells[ph][si][oi][fi];

	return median(c->us, c->n);
}

/* The median over runs of the sum of phases @from..@to (one run's total). */
static double sum_median(enum phase from, enum phase to, unsigned int si,
			 unsigned int oi, unsigned int fi)
{
	double v[MAX_RUNS];
	int r, n = cells[from][si][oi][fi].n;
	int ph;

	for (r = 0; r < n; r++) {
		v[r] = 0;
		for (ph = from; ph <= (int)to; ph++)
			v[r] += cells[ph][si][oi][fi].us[r];
	}
	return median(v, n);
}

/* ---- FIEMAP: is a file range on 2 MiB-aligned blocks? ------------------ */

struct align {
	int chunks;	/* 2 MiB-aligned 2 MiB chunks of the file range */
	int aligned;	/* of those, on one 2 MiB-aligned physical run */
	int extents;	/* extents of the range (adjacent ones merged) */
	int unwritten;	/* of those, unwritten */
};

#define MAX_EXT 4096
struct run { uint64_t log, phys, len; unsigned int flags; };

/* Extents of [@off, @off + @len) of @fd, physically adjacent ones merged. */
static int fiemap_runs(int fd, uint64_t off, uint64_t len, struct run *out,
		       int max)
{
	const unsigned int batch = 256;
	struct fiemap *fm = calloc(1, sizeof(*fm) + batch * sizeof(struct fiemap_extent));
	uint64_t pos = off, end = off + len;
	int n = 0, last = 0;
	unsigned int i;

	if (!fm)
		die("calloc", ENOMEM);
	while (pos < end && !last) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = pos;
		fm->fm_length = end - pos;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = batch;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			n = -errno;
			break;
		}
		if (!fm->fm_mapped_extents)
			break;
		for (i = 0; i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];
			unsigned int fl = e->fe_flags & FIEMAP_EXTENT_UNWRITTEN;

			if (n && out[n - 1].log + out[n - 1].len == e->fe_logical &&
			    out[n - 1].phys + out[n - 1].len == e->fe_physical &&
			    out[n - 1].flags == fl) {
				out[n - 1].len += e->fe_length;
			} else if (n < max) {
				out[n].log = e->fe_logical;
				out[n].phys = e->fe_physical;
				out[n].len = e->fe_length;
				out[n].flags = fl;
				n++;
			}
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				last = 1;
			pos = e->fe_logical + e->fe_length;
		}
	}
	free(fm);
	return n;
}

static struct align range_alignment(int fd, uint64_t off, uint64_t len)
{
	static struct run r[MAX_EXT];
	struct align a = { 0, 0, 0, 0 };
	uint64_t c;
	int n = fiemap_runs(fd, off, len, r, MAX_EXT), i;

	if (n < 0) {
		a.extents = n;
		return a;
	}
	a.extents = n;
	for (i = 0; i < n; i++)
		a.unwritten += !!r[i].flags;
	for (c = (off + HUGE - 1) / HUGE * HUGE; c + HUGE <= off + len; c += HUGE) {
		a.chunks++;
		for (i = 0; i < n; i++) {
			if (r[i].log <= c && c + HUGE <= r[i].log + r[i].len) {
				a.aligned += (r[i].phys + (c - r[i].log)) % HUGE == 0;
				break;
			}
		}
	}
	return a;
}

static void print_extents(int fd, const char *what, uint64_t len)
{
	static struct run r[MAX_EXT];
	int n = fiemap_runs(fd, 0, len, r, MAX_EXT), i;

	printf("   %s: %d extent(s) (physically adjacent ones merged)%s\n",
	       what, n, n > 8 ? ", the first 8:" : ":");
	for (i = 0; i < n && i < 8; i++)
		printf("     file %10llu KiB  dev %10llu KiB  %9llu KiB  dev %% 2 MiB = %4llu KiB%s\n",
		       (unsigned long long)(r[i].log / KIB),
		       (unsigned long long)(r[i].phys / KIB),
		       (unsigned long long)(r[i].len / KIB),
		       (unsigned long long)(r[i].phys % HUGE / KIB),
		       r[i].flags ? "  unwritten" : "");
}

/* ---- the subjects ------------------------------------------------------ */

struct rdma {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
};

static void rdma_open(struct rdma *r)
{
	const char *name = getenv("DAXPIN_RDMA_DEV");
	struct ibv_device **list;
	int n, i;

	if (!name)
		die("DAXPIN_RDMA_DEV", EINVAL);
	list = ibv_get_device_list(&n);
	if (!list)
		die("ibv_get_device_list", errno);
	r->ctx = NULL;
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			r->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!r->ctx)
		die(name, ENODEV);
	r->pd = ibv_alloc_pd(r->ctx);
	if (!r->pd)
		die("ibv_alloc_pd", errno);
}

static void rdma_close(struct rdma *r)
{
	ibv_dealloc_pd(r->pd);
	ibv_close_device(r->ctx);
}

/*
 * Write one byte in every 4 KiB page of [p, p + len). volatile: the old
 * bench wrote p[i] = p[i] through a plain char *, and GCC -O2 deleted the
 * loop, so its "fault-in" measured mmap+munmap only. A store, not a load
 * and a store: a load of untouched anonymous memory maps the zero page,
 * and the store after it then takes a second, 4 KiB fault even where THP
 * would have given a 2 MiB one.
 */
static void touch(void *p, size_t len)
{
	volatile char *v = p;
	size_t i;

	for (i = 0; i < len; i += 4096)
		v[i] = 1;
}

/* AnonHugePages (KiB) of the mapping that contains @addr, or -1. */
static long anon_huge_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	int in = 0;
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

/* A pre-faulted anonymous buffer; @huge: 2 MiB-aligned with MADV_HUGEPAGE. */
static char *anon_buffer(size_t len, int huge)
{
	size_t map_len = len + HUGE;
	char *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;
	struct counters c0, c1, d;

	if (p == MAP_FAILED)
		die("mmap anonymous", errno);
	/* Trim to a 2 MiB-aligned start, so that THP can back all of it. */
	a = (char *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (a > p)
		munmap(p, a - p);
	if (a + len < p + map_len)
		munmap(a + len, p + map_len - (a + len));
	if (madvise(a, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
		die("madvise", errno);
	counters_read(&c0);
	touch(a, len);
	counters_read(&c1);
	counters_sub(&d, &c0, &c1);
	printf("   %s: %zu MiB at %p, pre-faulted: %.0f minor faults, thp_fault_alloc +%.0f, thp_fault_fallback +%.0f, AnonHugePages %ld kB\n",
	       huge ? "B, THP" : "A, 4 KiB pages", len / MIB, (void *)a, d.minflt,
	       d.thp_alloc, d.thp_fb, anon_huge_kib(a));
	return a;
}

/* Register [p, p + len) and deregister it, each step timed. */
static void reg_dereg(struct rdma *r, char *p, size_t len, enum phase reg,
		      unsigned int si, unsigned int oi)
{
	struct ibv_mr *mr;
	struct probe pr;

	probe_start(&pr);
	mr = ibv_reg_mr(r->pd, p, len, MR_ACCESS);
	probe_stop(&pr, reg, si, oi, 0);
	if (!mr)
		die("ibv_reg_mr", errno);
	probe_start(&pr);
	if (ibv_dereg_mr(mr))
		die("ibv_dereg_mr", errno);
	probe_stop(&pr, reg + 1, si, oi, 0);
}

struct dfs {
	const char *dir;	/* NULL: not in this run */
	const char *label;
	int misalign;		/* files allocated 4 KiB off (make_file()) */
	char path[4096];	/* the warm file */
	int ffd;
	struct align warm[NSIZES][NOFFS], cold[NSIZES][NOFFS];
};

/*
 * A file of @len bytes, allocated. @misalign: the unaligned case. File
 * systems align a large allocation's physical start (ext4's mballoc even
 * without a stripe, as the first ext4 run showed: the "unaligned" 1 GiB
 * file came out 2 MiB-aligned), so the blocks are allocated from file
 * offset 4 KiB on, in one piece, then the first page: every 2 MiB chunk
 * of the file is then 4 KiB off its blocks' alignment.
 */
static int make_file(const char *path, size_t len, int misalign)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		die(path, errno);
	if (misalign && len > 4 * KIB) {
		if (fallocate(fd, 0, 4 * KIB, len - 4 * KIB) ||
		    fallocate(fd, 0, 0, 4 * KIB))
			die(path, errno);
	} else if (fallocate(fd, 0, 0, len)) {
		die(path, errno);
	}
	return fd;
}

static void pin(int dfd, int ffd, size_t off, size_t len, uint32_t *h,
		uint64_t *moff)
{
	int ret = daxpin_pin(dfd, ffd, off, len, DAXPIN_PIN_WRITE, 0, h, moff);

	if (ret)
		die("DAXPIN_PIN", -ret);
}

static void unpin(int dfd, uint32_t h)
{
	int ret = daxpin_unpin(dfd, h);

	if (ret)
		die("DAXPIN_UNPIN", -ret);
}

/* D: the whole sequence, PIN then UNPIN alone, and a cold PIN. */
static void run_d(struct rdma *r, int dfd, struct dfs *fs, unsigned int fi,
		  unsigned int si, unsigned int oi)
{
	size_t len = sizes[si], off = offsets[oi];
	char cold_path[4200];
	struct ibv_mr *mr;
	struct probe pr;
	uint64_t moff;
	uint32_t h;
	void *map;
	int cfd;

	probe_start(&pr);
	pin(dfd, fs->ffd, off, len, &h, &moff);
	probe_stop(&pr, P_PIN, si, oi, fi);
	probe_start(&pr);
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, moff);
	probe_stop(&pr, P_MMAP, si, oi, fi);
	if (map == MAP_FAILED)
		die("mmap of the pin", errno);
	probe_start(&pr);
	mr = ibv_reg_mr(r->pd, map, len, MR_ACCESS);
	probe_stop(&pr, P_REG, si, oi, fi);
	if (!mr)
		die("ibv_reg_mr on the daxpin mapping", errno);
	probe_start(&pr);
	if (ibv_dereg_mr(mr))
		die("ibv_dereg_mr", errno);
	probe_stop(&pr, P_DEREG, si, oi, fi);
	probe_start(&pr);
	munmap(map, len);
	probe_stop(&pr, P_MUNMAP, si, oi, fi);
	probe_start(&pr);
	unpin(dfd, h);
	probe_stop(&pr, P_UNPIN, si, oi, fi);

	probe_start(&pr);
	pin(dfd, fs->ffd, off, len, &h, NULL);
	probe_stop(&pr, P_PO_PIN, si, oi, fi);
	probe_start(&pr);
	unpin(dfd, h);
	probe_stop(&pr, P_PO_UNPIN, si, oi, fi);

	/* Cold: blocks allocated (unwritten) but never faulted or pinned. */
	snprintf(cold_path, sizeof(cold_path), "%s/daxpin-bench-cold", fs->dir);
	cfd = make_file(cold_path, off + len, fs->misalign);
	fs->cold[si][oi] = range_alignment(cfd, off, len);
	probe_start(&pr);
	pin(dfd, cfd, off, len, &h, NULL);
	probe_stop(&pr, P_COLD_PIN, si, oi, fi);
	probe_start(&pr);
	unpin(dfd, h);
	probe_stop(&pr, P_COLD_UNPIN, si, oi, fi);
	close(cfd);
	unlink(cold_path);
}

static size_t max_size(void)
{
	const char *s = getenv("DAXPIN_BENCH_MAX_MB");

	return s ? strtoul(s, NULL, 10) * MIB : 1024 * MIB;
}

static void fmt_us(char *buf, size_t n, double v)
{
	if (v < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.0f", v);
}

static void fmt_ratio(char *buf, size_t n, double a, double b)
{
	if (a < 0 || b <= 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.3g", a / b);
}

static const char *size_name(size_t s)
{
	static char buf[4][24];
	static int i;

	i = (i + 1) % 4;
	if (s >= MIB)
		snprintf(buf[i], sizeof(buf[i]), "%zu MiB", s / MIB);
	else
		snprintf(buf[i], sizeof(buf[i]), "%zu KiB", s / KIB);
	return buf[i];
}

static const char *align_name(const struct align *a)
{
	static char buf[4][32];
	static int i;

	i = (i + 1) % 4;
	if (a->extents < 0)
		snprintf(buf[i], sizeof(buf[i]), "FIEMAP %s", strerror(-a->extents));
	else if (!a->chunks)
		snprintf(buf[i], sizeof(buf[i]), "n/a (<2M)");
	else
		snprintf(buf[i], sizeof(buf[i]), "%d/%d", a->aligned, a->chunks);
	return buf[i];
}

static void registration_cost(int dfd, struct dfs *fs)
{
	const char *devdax = getenv("DAXPIN_DEVDAX");
	const char *devdax_err = getenv("DAXPIN_DEVDAX_ERR");
	size_t top = max_size(), buf_len;
	unsigned int si, oi, fi, nsizes = 0;
	char *a_buf, *b_buf, *c_buf = NULL;
	struct rdma r;
	int ph, xfd = -1;

	while (nsizes < NSIZES && sizes[nsizes] <= top)
		nsizes++;
	buf_len = sizes[nsizes - 1] + SLACK;
	rdma_open(&r);
	printf("\n1. Registration cost: A/B/C baselines and daxpin (D), %d timed runs each, interleaved\n",
	       runs);
	a_buf = anon_buffer(buf_len, 0);
	b_buf = anon_buffer(buf_len, 1);
	if (devdax) {
		xfd = open(devdax, O_RDWR | O_CLOEXEC);
		if (xfd < 0)
			die(devdax, errno);
		c_buf = mmap(NULL, buf_len, PROT_READ | PROT_WRITE, MAP_SHARED, xfd, 0);
		if (c_buf == MAP_FAILED)
			die("mmap of the device-DAX node", errno);
		{
			struct counters c0, c1, d;

			counters_read(&c0);
			touch(c_buf, buf_len);
			counters_read(&c1);
			counters_sub(&d, &c0, &c1);
			printf("   C, device-DAX %s: %zu MiB at %p, pre-faulted: %.0f minor faults\n",
			       devdax, buf_len / MIB, (void *)c_buf, d.minflt);
		}
	} else {
		printf("   C, device-DAX: NOT MEASURED: %s\n",
		       devdax_err ? devdax_err : "no DAXPIN_DEVDAX in the environment");
	}
	for (fi = 0; fi < NFS; fi++) {
		if (!fs[fi].dir)
			continue;
		snprintf(fs[fi].path, sizeof(fs[fi].path), "%s/daxpin-bench", fs[fi].dir);
		fs[fi].ffd = make_file(fs[fi].path, buf_len, fs[fi].misalign);
		print_extents(fs[fi].ffd, fs[fi].label, buf_len);
		/* Write the blocks once (PIN converts unwritten extents), so
		 * every warm PIN is of allocated, written blocks. */
		{
			uint32_t h;

			pin(dfd, fs[fi].ffd, 0, buf_len, &h, NULL);
			unpin(dfd, h);
		}
		for (si = 0; si < nsizes; si++)
			for (oi = 0; oi < NOFFS; oi++)
				fs[fi].warm[si][oi] = range_alignment(fs[fi].ffd,
								      offsets[oi], sizes[si]);
	}

	/* Round 0 warms up and counts tracepoints; rounds 1..runs are timed. */
	for (round_no = 0; round_no <= runs; round_no++) {
		if (round_no <= 1)
			tracing_arm(round_no == 0);
		for (si = 0; si < nsizes; si++) {
			for (oi = 0; oi < NOFFS; oi++) {
				size_t off = offsets[oi], len = sizes[si];

				reg_dereg(&r, a_buf + off, len, P_A_REG, si, oi);
				reg_dereg(&r, b_buf + off, len, P_B_REG, si, oi);
				if (c_buf)
					reg_dereg(&r, c_buf + off, len, P_C_REG, si, oi);
				for (fi = 0; fi < NFS; fi++)
					if (fs[fi].dir)
						run_d(&r, dfd, &fs[fi], fi, si, oi);
			}
		}
		fprintf(stderr, "daxpin-bench: round %d of %d done\n", round_no, runs);
	}
	printf("   after the runs: B's AnonHugePages %ld kB (of %zu)\n",
	       anon_huge_kib(b_buf), buf_len / KIB);

	printf("\n1a. Every phase: median, min and max of %d runs (us); fault counters: median\n"
	       "    per run of this process's minor faults and of /proc/vmstat thp_fault_alloc\n"
	       "    and thp_fault_fallback; fs_dax tracepoints counted in the warm-up round:\n"
	       "    dax_pmd_fault_done that mapped 2 MiB (pmd) or fell back (pmd-fb), dax_pte_fault_done (pte)\n",
	       runs);
	printf("%-8s %-7s %-9s %-17s %10s %10s %10s %8s %6s %6s %6s %6s %7s\n",
	       "size", "offset", "fs", "phase", "median", "min", "max", "minflt",
	       "thp-al", "thp-fb", "pmd", "pmd-fb", "pte");
	for (si = 0; si < nsizes; si++) {
		for (oi = 0; oi < NOFFS; oi++) {
			for (ph = 0; ph < NPHASES; ph++) {
				for (fi = 0; fi < NFS; fi++) {
					struct cell *c = &cells[ph][si][oi][fi];
					double mf[MAX_RUNS], ta[MAX_RUNS], tf[MAX_RUNS];
					int k;

					if (!c->n)
						continue;
					for (k = 0; k < c->n; k++) {
						mf[k] = c->cnt[k].minflt;
						ta[k] = c->cnt[k].thp_alloc;
						tf[k] = c->cnt[k].thp_fb;
					}
					printf("%-8s %-7s %-9s %-17s %10.0f %10.0f %10.0f %8.0f %6.0f %6.0f %6.0f %6.0f %7.0f\n",
					       size_name(sizes[si]), oi ? "+4 KiB" : "2 MiB",
					       ph < P_PIN ? "-" : fs[fi].label, phase_names[ph],
					       median(c->us, c->n), quantile(c->us, c->n, 0),
					       quantile(c->us, c->n, 1), median(mf, c->n),
					       median(ta, c->n), median(tf, c->n),
					       c->traced.pmd_ok, c->traced.pmd_fb, c->traced.pte);
				}
			}
		}
	}

	printf("\n1b. Ratios of medians. A, B, C = reg+dereg of the same size and offset;\n"
	       "    PIN = PIN with no mapping (warm); seq = PIN+mmap+reg, median of per-run sums;\n"
	       "    aligned = 2 MiB file chunks of the range on 2 MiB-aligned blocks (FIEMAP)\n");
	for (fi = 0; fi < NFS; fi++) {
		if (!fs[fi].dir)
			continue;
		printf("   file system: %s (%s)\n", fs[fi].label, fs[fi].dir);
		printf("%-8s %-7s %9s %9s %9s %10s %10s %10s %8s %8s %8s %9s %10s %10s %10s\n",
		       "size", "offset", "A us", "B us", "C us", "PIN us", "seq us",
		       "cold us", "PIN/A", "seq/A", "seq/C", "UNPIN/PIN",
		       "cold/A", "aligned", "cold-alnd");
		for (si = 0; si < nsizes; si++) {
			for (oi = 0; oi < NOFFS; oi++) {
				double a = sum_median(P_A_REG, P_A_DEREG, si, oi, 0);
				double b = sum_median(P_B_REG, P_B_DEREG, si, oi, 0);
				double c = c_buf ? sum_median(P_C_REG, P_C_DEREG, si, oi, 0) : -1;
				double p = cell_median(P_PO_PIN, si, oi, fi);
				double u = cell_median(P_PO_UNPIN, si, oi, fi);
				double s = sum_median(P_PIN, P_REG, si, oi, fi);
				double cold = cell_median(P_COLD_PIN, si, oi, fi);
				char t[9][24];

				fmt_us(t[0], 24, c);
				fmt_ratio(t[1], 24, p, a);
				fmt_ratio(t[2], 24, s, a);
				fmt_ratio(t[3], 24, s, c);
				fmt_ratio(t[4], 24, u, p);
				fmt_ratio(t[5], 24, cold, a);
				printf("%-8s %-7s %9.0f %9.0f %9s %10.0f %10.0f %10.0f %8s %8s %8s %9s %10s %10s %10s\n",
				       size_name(sizes[si]), oi ? "+4 KiB" : "2 MiB",
				       a, b, t[0], p, s, cold, t[1], t[2], t[3], t[4], t[5],
				       align_name(&fs[fi].warm[si][oi]),
				       align_name(&fs[fi].cold[si][oi]));
			}
		}
	}

	/* The goals of issue 7 that this section measures, at 1 GiB. */
	if (sizes[nsizes - 1] == 1024 * MIB) {
		unsigned int l = nsizes - 1;
		double a = sum_median(P_A_REG, P_A_DEREG, l, 0, 0);
		double c = c_buf ? sum_median(P_C_REG, P_C_DEREG, l, 0, 0) : -1;

		printf("\n1c. Issue 7 goals at 1 GiB, 2 MiB-aligned offset (ratio, goal, verdict)\n");
		for (fi = 0; fi < NFS; fi++) {
			double p, s, u;

			if (!fs[fi].dir)
				continue;
			p = cell_median(P_PO_PIN, l, 0, fi);
			u = cell_median(P_PO_UNPIN, l, 0, fi);
			s = sum_median(P_PIN, P_REG, l, 0, fi);
			printf("   %-10s PIN/A          %8.3g  <= %-4s %s\n", fs[fi].label,
			       p / a, fi ? "1.0" : "0.1",
			       p / a <= (fi ? 1.0 : 0.1) ? "met" : "MISSED");
			if (c > 0)
				printf("   %-10s (PIN+mmap+reg)/C %6.3g  <= 1.0  %s\n",
				       fs[fi].label, s / c, s / c <= 1.0 ? "met" : "MISSED");
			else
				printf("   %-10s (PIN+mmap+reg)/C      -  <= 1.0  not measured (no device-DAX)\n",
				       fs[fi].label);
			printf("   %-10s UNPIN/PIN      %8.3g  <= 0.1  %s\n", fs[fi].label,
			       u / p, u / p <= 0.1 ? "met" : "MISSED");
		}
	}

	for (fi = 0; fi < NFS; fi++) {
		if (!fs[fi].dir)
			continue;
		close(fs[fi].ffd);
		unlink(fs[fi].path);
	}
	munmap(a_buf, buf_len);
	munmap(b_buf, buf_len);
	if (c_buf) {
		munmap(c_buf, buf_len);
		close(xfd);
	}
	rdma_close(&r);
}

/* ---- recall latency ---------------------------------------------------- */

static void recall_latency(int dfd, const char *dir)
{
	const char *s = getenv("DAXPIN_BENCH_RECALL_ROUNDS");
	int rounds = s ? atoi(s) : 100, r;
	double *recall, *pipe_us;
	char path[4200];
	int ffd;

	if (rounds < 5)
		rounds = 5;
	recall = calloc(rounds, sizeof(*recall));
	pipe_us = calloc(rounds, sizeof(*pipe_us));
	if (!recall || !pipe_us)
		die("calloc", ENOMEM);
	snprintf(path, sizeof(path), "%s/daxpin-bench-recall", dir);
	ffd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ffd < 0)
		die(path, errno);
	for (r = 0; r < rounds; r++) {
		struct pollfd pfd = { .fd = dfd, .events = POLLIN };
		struct daxpin_event ev;
		int tp[2], pp[2], status;
		double t_call, t_ret;
		uint32_t h;
		pid_t pid;

		if (ftruncate(ffd, 4 * MIB))
			die("ftruncate", errno);
		pin(dfd, ffd, 0, 4 * MIB, &h, NULL);
		if (pipe(tp) || pipe(pp))
			die("pipe", errno);
		pid = fork();
		if (pid < 0)
			die("fork", errno);
		if (pid == 0) {
			char c;

			/* Baseline: a pipe wake-up to the parent. */
			if (read(pp[0], &c, 1) != 1)
				_exit(1);
			t_call = now_us();
			if (write(tp[1], &t_call, sizeof(t_call)) < 0)
				_exit(1);
			usleep(50 * 1000);
			/* The measured path: truncate() until poll() returns. */
			t_call = now_us();
			if (write(tp[1], &t_call, sizeof(t_call)) < 0)
				_exit(1);
			_exit(truncate(path, 0) ? 1 : 0);
		}
		{
			struct pollfd p2 = { .fd = tp[0], .events = POLLIN };

			if (write(pp[1], "g", 1) != 1 || poll(&p2, 1, 5000) != 1)
				die("pipe poll", errno);
			t_ret = now_us();
			if (read(tp[0], &t_call, sizeof(t_call)) != sizeof(t_call))
				die("read", errno);
			pipe_us[r] = t_ret - t_call;
		}
		/* Only the RECALL counts: a WRITE_BREAK may come first on XFS. */
		do {
			if (poll(&pfd, 1, 5000) != 1)
				die("poll", ETIMEDOUT);
			t_ret = now_us();
			if (daxpin_read_events(dfd, &ev, 1) != 1)
				die("read event", errno);
		} while (ev.type != DAXPIN_EVENT_RECALL);
		if (read(tp[0], &t_call, sizeof(t_call)) != sizeof(t_call))
			die("read", errno);
		recall[r] = t_ret - t_call;
		unpin(dfd, h);
		waitpid(pid, &status, 0);
		close(tp[0]); close(tp[1]); close(pp[0]); close(pp[1]);
	}
	printf("\n2. Recall latency, %d rounds (each: a pipe wake-up, then a truncate)\n", rounds);
	printf("   %-46s %10s %10s\n", "", "p50 us", "p99 us");
	printf("   %-46s %10.0f %10.0f\n", "truncate() called -> holder's poll() returns",
	       median(recall, rounds), quantile(recall, rounds, 0.99));
	printf("   %-46s %10.0f %10.0f\n", "pipe write -> other process's poll() returns",
	       median(pipe_us, rounds), quantile(pipe_us, rounds, 0.99));
	printf("   ratio recall / pipe: p50 %.2f (goal <= 1.5: %s), p99 %.2f (goal <= 3: %s)\n",
	       median(recall, rounds) / median(pipe_us, rounds),
	       median(recall, rounds) / median(pipe_us, rounds) <= 1.5 ? "met" : "MISSED",
	       quantile(recall, rounds, 0.99) / quantile(pipe_us, rounds, 0.99),
	       quantile(recall, rounds, 0.99) / quantile(pipe_us, rounds, 0.99) <= 3 ? "met" : "MISSED");
	close(ffd);
	unlink(path);
	free(recall);
	free(pipe_us);
}

/* ---- many pins --------------------------------------------------------- */

/* /proc/meminfo field in kB, or -1. */
static long meminfo_kb(const char *name)
{
	static char buf[8192];
	size_t len = strlen(name);
	char *p;

	if (read_small("/proc/meminfo", buf, sizeof(buf)))
		return -1;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, len) && p[len] == ':')
			return atol(p + len + 1);
	return -1;
}

/* Kernel memory that daxpin's allocations land in (slab and vmalloc). */
static long kernel_kb(void)
{
	return meminfo_kb("Slab") + meminfo_kb("VmallocUsed");
}

/*
 * mem_bytes of this process's pin @h in /proc/daxpin (docs/ioctl.md), or
 * -1 if it is not listed.
 */
static long proc_mem_bytes(uint32_t h)
{
	FILE *f = fopen("/proc/daxpin", "r");
	char line[4400];
	long mem = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int handle;
		long bytes;
		int pid;

		if (sscanf(line, "%d %u %*s %*s %*s %*s %*s %*d %*u %ld",
			   &pid, &handle, &bytes) == 3 &&
		    pid == getpid() && handle == h)
			mem = bytes;
	}
	fclose(f);
	return mem;
}

static void many_pins(const char *dir)
{
	static const int counts[2] = { 10, 100000 };
	const int batches = 11, per_batch = 200;
	double *samples[2];
	int dfd[2], c, b, i, n = 0;
	long kb0, kb1, mem4k;
	char path[4200];
	int ffd;

	snprintf(path, sizeof(path), "%s/daxpin-bench-many", dir);
	ffd = make_file(path, 1 * MIB, 0);
	for (c = 0; c < 2; c++) {
		samples[c] = calloc(batches * per_batch, sizeof(double));
		if (!samples[c])
			die("calloc", ENOMEM);
	}
	kb0 = kernel_kb();
	for (c = 0; c < 2; c++) {
		uint32_t h;

		dfd[c] = daxpin_open();
		if (dfd[c] < 0)
			die("open", -dfd[c]);
		for (i = 0; i < counts[c]; i++)
			pin(dfd[c], ffd, (i % 256) * 4096, 4096, &h, NULL);
	}
	kb1 = kernel_kb();
	{
		uint32_t h;

		pin(dfd[0], ffd, 0, 4096, &h, NULL);
		mem4k = proc_mem_bytes(h);
		unpin(dfd[0], h);
	}
	/* Interleaved batches: 10 pins, 100,000 pins, 10 pins, ... */
	for (b = 0; b < batches; b++) {
		for (c = 0; c < 2; c++) {
			for (i = 0; i < per_batch; i++) {
				double t = now_us();
				uint32_t h;

				pin(dfd[c], ffd, (i % 64) * 4096, 4096, &h, NULL);
				unpin(dfd[c], h);
				samples[c][b * per_batch + i] = now_us() - t;
			}
		}
		n += per_batch;
	}
	printf("\n3. PIN+UNPIN of one 4 KiB pin, %d samples each, in %d interleaved batches\n",
	       n, batches);
	printf("   %-36s %10s %10s\n", "", "p50 us", "p99 us");
	for (c = 0; c < 2; c++)
		printf("   with %6d pins on the daxpin file     %10.1f %10.1f\n", counts[c],
		       median(samples[c], n), quantile(samples[c], n, 0.99));
	printf("   ratio p50: %.2f (goal <= 1.5: %s)\n",
	       median(samples[1], n) / median(samples[0], n),
	       median(samples[1], n) / median(samples[0], n) <= 1.5 ? "met" : "MISSED");
	printf("\n4. Memory (goal: <= 128 B per pin + <= 1 B per pinned 4 KiB page, aligned)\n"
	       "   module count (mem_bytes of /proc/daxpin: the pin's structure and its runs)\n"
	       "   of one 4 KiB pin: %ld B\n"
	       "   System-wide estimate (Slab + VmallocUsed of /proc/meminfo, anything else\n"
	       "   the kernel allocated meanwhile included, keeper windows too): %ld kB for\n"
	       "   %d 4 KiB pins = %.0f B per pin\n",
	       mem4k, kb1 - kb0, counts[0] + counts[1],
	       (kb1 - kb0) * 1024.0 / (counts[0] + counts[1]));
	for (c = 0; c < 2; c++) {
		close(dfd[c]);
		free(samples[c]);
	}
	close(ffd);
	unlink(path);
}

/*
 * What one pin of @len at offset 0 of a new file in @dir costs: the
 * module's count (mem_bytes), and Slab + VmallocUsed while it is held,
 * median of runs.
 */
static void pin_memory(int dfd, const char *dir, const char *label,
		       size_t len)
{
	double d[MAX_RUNS];
	char path[4200];
	long mem = -1;
	int ffd, r;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/daxpin-bench-mem", dir);
	ffd = make_file(path, len, !strcmp(label, "unaligned"));
	for (r = 0; r < runs; r++) {
		long kb0 = kernel_kb(), kb1;
		uint32_t h;

		pin(dfd, ffd, 0, len, &h, NULL);
		kb1 = kernel_kb();
		mem = proc_mem_bytes(h);
		unpin(dfd, h);
		d[r] = kb1 - kb0;
	}
	printf("   one pin of %s, %s file system: module count %ld B = %.3f B per 4 KiB page;\n"
	       "      system-wide estimate %.0f kB (median of %d) = %.2f B per 4 KiB page\n",
	       size_name(len), label, mem, mem / (len / 4096.0), median(d, runs), runs,
	       median(d, runs) * 1024 / (len / 4096));
	close(ffd);
	unlink(path);
}

/* ---- RDMA bandwidth into a pin ----------------------------------------- */

#define BW_TARGET	(64 * MIB)	/* each target buffer */
#define BW_BYTES	(256 * MIB)	/* moved per run */
#define BW_MSG		(64 * KIB)
#define BW_DEPTH	16

struct bw {
	struct rdma r;
	struct ibv_cq *cq;
	struct ibv_qp *qa, *qb;	/* qa posts, qb answers */
	char *src;
	struct ibv_mr *src_mr;
};

static struct ibv_qp *bw_qp(struct bw *b)
{
	struct ibv_qp_init_attr a = {
		.send_cq = b->cq, .recv_cq = b->cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = BW_DEPTH, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_qp *qp = ibv_create_qp(b->r.pd, &a);

	if (!qp)
		die("ibv_create_qp", errno);
	return qp;
}

/* INIT, RTR to @dest on this port's RoCE v2 GID, RTS: loopback. */
static void bw_connect(struct ibv_qp *qp, uint32_t dest, int gid_index,
		       const union ibv_gid *gid, enum ibv_mtu mtu, int rd_atom)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .port_num = 1,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE |
				   IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ,
	};

	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			  IBV_QP_PORT | IBV_QP_ACCESS_FLAGS))
		die("ibv_modify_qp INIT", errno);
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = mtu;
	a.dest_qp_num = dest;
	a.max_dest_rd_atomic = rd_atom;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.sgid_index = gid_index;
	a.ah_attr.grh.hop_limit = 1;
	a.ah_attr.port_num = 1;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			  IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		die("ibv_modify_qp RTR", errno);
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = rd_atom;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			  IBV_QP_MAX_QP_RD_ATOMIC))
		die("ibv_modify_qp RTS", errno);
}

static void bw_open(struct bw *b)
{
	struct ibv_device_attr dattr;
	struct ibv_port_attr pattr;
	struct ibv_gid_entry e;
	union ibv_gid gid;
	int i, gi = 0, rd;

	rdma_open(&b->r);
	if (ibv_query_device(b->r.ctx, &dattr) ||
	    ibv_query_port(b->r.ctx, 1, &pattr))
		die("ibv_query_device/port", errno);
	for (i = 0; i < pattr.gid_tbl_len; i++)
		if (!ibv_query_gid_ex(b->r.ctx, 1, i, &e, 0) &&
		    e.gid_type == IBV_GID_TYPE_ROCE_V2) {
			gi = i;
			break;
		}
	if (ibv_query_gid(b->r.ctx, 1, gi, &gid))
		die("ibv_query_gid", errno);
	rd = dattr.max_qp_rd_atom < BW_DEPTH ? dattr.max_qp_rd_atom : BW_DEPTH;
	b->cq = ibv_create_cq(b->r.ctx, 2 * BW_DEPTH, NULL, NULL, 0);
	if (!b->cq)
		die("ibv_create_cq", errno);
	b->qa = bw_qp(b);
	b->qb = bw_qp(b);
	bw_connect(b->qa, b->qb->qp_num, gi, &gid, pattr.active_mtu, rd);
	bw_connect(b->qb, b->qa->qp_num, gi, &gid, pattr.active_mtu, rd);
	b->src = anon_buffer(BW_TARGET, 0);
	memset(b->src, 0x5a, BW_TARGET);
	b->src_mr = ibv_reg_mr(b->r.pd, b->src, BW_TARGET, MR_ACCESS);
	if (!b->src_mr)
		die("ibv_reg_mr (source)", errno);
}

static void bw_close(struct bw *b)
{
	ibv_dereg_mr(b->src_mr);
	munmap(b->src, BW_TARGET);
	ibv_destroy_qp(b->qa);
	ibv_destroy_qp(b->qb);
	ibv_destroy_cq(b->cq);
	rdma_close(&b->r);
}

/* Move BW_BYTES by @op between the source and @dst (MR @mr): MB/s. */
static double bw_run(struct bw *b, enum ibv_wr_opcode op, char *dst,
		     struct ibv_mr *mr)
{
	size_t posted = 0, done = 0;
	struct ibv_wc wc[BW_DEPTH];
	int inflight = 0, n, i;
	double t0 = now_us();

	while (done < BW_BYTES) {
		while (inflight < BW_DEPTH && posted < BW_BYTES) {
			size_t off = posted % BW_TARGET;
			struct ibv_sge sge = {
				.addr = (uintptr_t)b->src + off,
				.length = BW_MSG, .lkey = b->src_mr->lkey,
			};
			struct ibv_send_wr wr = {
				.sg_list = &sge, .num_sge = 1, .opcode = op,
				.send_flags = IBV_SEND_SIGNALED,
			}, *bad;

			wr.wr.rdma.remote_addr = (uintptr_t)dst + off;
			wr.wr.rdma.rkey = mr->rkey;
			if (ibv_post_send(b->qa, &wr, &bad))
				die("ibv_post_send", errno);
			posted += BW_MSG;
			inflight++;
		}
		n = ibv_poll_cq(b->cq, BW_DEPTH, wc);
		if (n < 0)
			die("ibv_poll_cq", EIO);
		for (i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				fprintf(stderr, "daxpin-bench: %s\n",
					ibv_wc_status_str(wc[i].status));
				die("RDMA work completion", EIO);
			}
			done += BW_MSG;
			inflight--;
		}
	}
	return BW_BYTES / (now_us() - t0);	/* bytes per us = MB/s */
}

/*
 * The same verbs path perftest's ib_write_bw and ib_read_bw take (RC, 64
 * KiB messages), into a daxpin mapping and into anonymous memory, rounds
 * interleaved. perftest itself cannot register a daxpin range until it
 * is told how (issue 9's preload shim).
 */
static void rdma_bandwidth(int dfd, const char *dir)
{
	double v[4][MAX_RUNS];	/* anon W, pin W, anon R, pin R */
	static const char *const name[4] = {
		"WRITE into anonymous memory", "WRITE into a daxpin pin",
		"READ from anonymous memory", "READ from a daxpin pin",
	};
	struct ibv_mr *amr, *pmr;
	char path[4200], *anon, *map;
	uint64_t moff;
	struct bw b;
	uint32_t h;
	int ffd, r, k;

	printf("\n6. RDMA bandwidth over %s, loopback RC QPs, %lu KiB messages, %d in flight, %lu MiB per run, %d runs\n",
	       getenv("DAXPIN_RDMA_DEV"), BW_MSG / KIB, BW_DEPTH,
	       BW_BYTES / MIB, runs);
	bw_open(&b);
	anon = anon_buffer(BW_TARGET, 0);
	amr = ibv_reg_mr(b.r.pd, anon, BW_TARGET, MR_ACCESS);
	if (!amr)
		die("ibv_reg_mr (anonymous)", errno);
	snprintf(path, sizeof(path), "%s/daxpin-bench-bw", dir);
	ffd = make_file(path, BW_TARGET, 0);
	pin(dfd, ffd, 0, BW_TARGET, &h, &moff);
	map = mmap(NULL, BW_TARGET, PROT_READ | PROT_WRITE, MAP_SHARED, dfd,
		   moff);
	if (map == MAP_FAILED)
		die("mmap of the pin", errno);
	pmr = ibv_reg_mr(b.r.pd, map, BW_TARGET, MR_ACCESS);
	if (!pmr)
		die("ibv_reg_mr (daxpin mapping)", errno);
	/* Warm-up, and proof that the WRITEs land in the file. */
	bw_run(&b, IBV_WR_RDMA_WRITE, map, pmr);
	if (map[0] != 0x5a || map[BW_TARGET - 1] != 0x5a)
		die("RDMA WRITE into the pin did not land", EIO);
	bw_run(&b, IBV_WR_RDMA_WRITE, anon, amr);
	for (r = 0; r < runs; r++) {
		/* Every other round the pin goes first. */
		for (k = 0; k < 4; k++) {
			int j = r % 2 ? k ^ 1 : k;

			v[j][r] = bw_run(&b, j < 2 ? IBV_WR_RDMA_WRITE :
					 IBV_WR_RDMA_READ,
					 j % 2 ? map : anon, j % 2 ? pmr : amr);
		}
	}
	printf("   %-32s %10s %10s %10s\n", "", "MB/s p50", "min", "max");
	for (k = 0; k < 4; k++)
		printf("   %-32s %10.0f %10.0f %10.0f\n", name[k],
		       median(v[k], runs), quantile(v[k], runs, 0),
		       quantile(v[k], runs, 1));
	for (k = 0; k < 4; k += 2) {
		double ratio = median(v[k + 1], runs) / median(v[k], runs);

		printf("   %s: pin / anonymous %.3f (goal >= 0.95: %s)\n",
		       k ? "READ " : "WRITE", ratio,
		       ratio >= 0.95 ? "met" : "MISSED");
	}
	ibv_dereg_mr(pmr);
	munmap(map, BW_TARGET);
	unpin(dfd, h);
	close(ffd);
	unlink(path);
	ibv_dereg_mr(amr);
	munmap(anon, BW_TARGET);
	bw_close(&b);
}

/* ---- truncate with daxpin loaded and not ------------------------------ */

#define TRUNC_FILE	(8 * MIB)
#define TRUNC_ROUNDS_MAX	100	/* per state, alternating */
#define TRUNC_PER_ROUND	10
#define TRUNC_SETTLE_MS	500

/* Unload daxpin (nothing of the bench's may hold it): 0 or -errno. */
static int daxpin_unload(void)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (!syscall(SYS_delete_module, "daxpin", O_NONBLOCK))
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EBUSY)
			return -errno;
		usleep(50 * 1000);
	}
	return -EBUSY;
}

static int daxpin_load(const char *ko)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * One sample: an 8 MiB file, allocated, written through a shared mapping
 * (so the file has DAX entries and is mapped, the truncate's full path:
 * zap, busy-page scan, freeing), truncated to 0 while mapped.
 */
static double truncate_once(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	double t0, t1;
	void *p;

	if (fd < 0)
		die(path, errno);
	if (fallocate(fd, 0, 0, TRUNC_FILE))
		die("fallocate", errno);
	p = mmap(NULL, TRUNC_FILE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap", errno);
	touch(p, TRUNC_FILE);
	t0 = now_us();
	if (ftruncate(fd, 0))
		die("ftruncate", errno);
	t1 = now_us();
	munmap(p, TRUNC_FILE);
	close(fd);
	return t1 - t0;
}

static void truncate_overhead(const char *dir)
{
	static double with[TRUNC_ROUNDS_MAX * TRUNC_PER_ROUND];
	static double without[TRUNC_ROUNDS_MAX * TRUNC_PER_ROUND];
	static double odd[TRUNC_ROUNDS_MAX * TRUNC_PER_ROUND / 2 + TRUNC_PER_ROUND];
	static double even[TRUNC_ROUNDS_MAX * TRUNC_PER_ROUND / 2 + TRUNC_PER_ROUND];
	static double pair[TRUNC_ROUNDS_MAX];
	const char *ko = getenv("DAXPIN_KO");
	const char *s = getenv("DAXPIN_BENCH_TRUNC_ROUNDS");
	int rounds = s ? atoi(s) : 20, r, i, nw = 0, nwo = 0, no = 0, ne = 0;
	double round_med[2] = { 0, 0 }, ratio, aa;
	char path[4200];
	int ret;

	if (rounds < 2 || rounds > TRUNC_ROUNDS_MAX)
		rounds = 20;
	printf("\n5. Truncate of an unpinned 8 MiB file (mapped, every page written), daxpin loaded and not\n");
	if (!ko) {
		printf("   not measured: DAXPIN_KO is not set\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/daxpin-bench-truncate", dir);
	truncate_once(path);	/* warm-up, loaded */
	/*
	 * Rounds alternate: unloaded, loaded, unloaded, ... so that the last
	 * leaves daxpin loaded. Each round: one untimed truncate, then
	 * TRUNC_PER_ROUND timed ones.
	 */
	for (r = 0; r < 2 * rounds; r++) {
		int loaded = r % 2;
		double one[TRUNC_PER_ROUND];

		ret = loaded ? daxpin_load(ko) : daxpin_unload();
		if (ret) {
			/* A failed load leaves daxpin out: the bench's rmmod check fails. */
			printf("   not measured: %s daxpin failed: %s\n",
			       loaded ? "loading" : "unloading", strerror(-ret));
			unlink(path);
			return;
		}
		/* Let what a load or unload leaves behind (work, RCU) settle. */
		usleep(TRUNC_SETTLE_MS * 1000);
		for (i = 0; i < 3; i++)
			truncate_once(path);
		for (i = 0; i < TRUNC_PER_ROUND; i++) {
			one[i] = truncate_once(path);
			if (loaded) {
				with[nw++] = one[i];
			} else {
				without[nwo++] = one[i];
				if ((r / 2) % 2)
					odd[no++] = one[i];
				else
					even[ne++] = one[i];
			}
		}
		round_med[loaded] = median(one, TRUNC_PER_ROUND);
		if (loaded)
			pair[r / 2] = round_med[1] / round_med[0];
	}
	unlink(path);
	ratio = median(with, nw) / median(without, nwo);
	aa = median(odd, no) / median(even, ne);
	printf("   %d rounds per state, %d truncates timed per round (after %d ms and 3 untimed), rounds alternating\n",
	       rounds, TRUNC_PER_ROUND, TRUNC_SETTLE_MS);
	printf("   %-34s %10s %10s %10s %6s\n", "", "p50 us", "min us", "max us", "n");
	printf("   %-34s %10.0f %10.0f %10.0f %6d\n", "daxpin loaded", median(with, nw),
	       quantile(with, nw, 0), quantile(with, nw, 1), nw);
	printf("   %-34s %10.0f %10.0f %10.0f %6d\n", "daxpin not loaded", median(without, nwo),
	       quantile(without, nwo, 0), quantile(without, nwo, 1), nwo);
	printf("   median of the per-round ratios (loaded round / the unloaded round before it): %.3f\n",
	       median(pair, rounds));
	printf("   the method's own spread: not loaded, alternate rounds against each other: %.3f\n",
	       aa);
	printf("   ratio p50 loaded / not loaded: %.3f (goal 1.00 +- 0.03: %s)\n",
	       ratio, ratio >= 0.97 && ratio <= 1.03 ? "met" : "MISSED");
}

/* Whether DAXPIN_BENCH_SECTIONS (digits, e.g. "25"; unset: all) has @n. */
static int section(int n)
{
	const char *s = getenv("DAXPIN_BENCH_SECTIONS");

	return !s || !*s || strchr(s, '0' + n);
}

static void header(void)
{
	const char *commit = getenv("DAXPIN_BENCH_COMMIT");
	const char *fsname = getenv("DAXPIN_BENCH_FS");
	char thp[256] = "?";
	struct utsname u;
	size_t l;

	uname(&u);
	if (!read_small("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp))) {
		l = strlen(thp);
		if (l && thp[l - 1] == '\n')
			thp[l - 1] = 0;
	}
	printf("daxpin-bench: kernel %s, file system %s, commit %s\n", u.release,
	       fsname ? fsname : "?", commit ? commit : "?");
	printf("   THP enabled: %s; %d timed runs per phase after one warm-up round\n", thp, runs);
	if (!access("/sys/kernel/tracing/events/fs_dax", F_OK))
		snprintf(trace_dir, sizeof(trace_dir), "/sys/kernel/tracing");
	else if (!access("/sys/kernel/debug/tracing/events/fs_dax", F_OK))
		snprintf(trace_dir, sizeof(trace_dir), "/sys/kernel/debug/tracing");
	else
		printf("   fs_dax tracepoints: not available (no tracefs): pmd/pte columns are 0\n");
}

int main(void)
{
	const char *dir = getenv("DAXPIN_DAX_DIR");
	const char *udir = getenv("DAXPIN_BENCH_UNALIGNED_DIR");
	const char *s = getenv("DAXPIN_BENCH_RUNS");
	static struct dfs fs[NFS];
	int dfd;

	if (!dir)
		die("DAXPIN_DAX_DIR", EINVAL);
	if (s)
		runs = atoi(s);
	if (runs < 1 || runs >= MAX_RUNS)
		die("DAXPIN_BENCH_RUNS", ERANGE);
	/* Output goes to a pipe (tee): keep each line whole and in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	header();
	dfd = daxpin_open();
	if (dfd < 0)
		die("open /dev/daxpin", -dfd);
	fs[0].dir = dir;
	fs[0].label = "aligned";
	fs[1].dir = udir;
	fs[1].label = "unaligned";
	fs[1].misalign = 1;
	if (section(1))
		registration_cost(dfd, fs);
	if (section(2))
		recall_latency(dfd, dir);
	if (section(3))
		many_pins(dir);
	if (section(4)) {
		pin_memory(dfd, dir, "aligned",
			   max_size() < 1024 * MIB ? max_size() : 1024 * MIB);
		pin_memory(dfd, udir, "unaligned",
			   max_size() < 1024 * MIB ? max_size() : 1024 * MIB);
	}
	if (section(6))
		rdma_bandwidth(dfd, dir);
	close(dfd);
	if (section(5))
		truncate_overhead(dir);
	return 0;
}
