// SPDX-License-Identifier: GPL-2.0
/*
 * perftest (Debian's package, a program none of us wrote), unchanged,
 * through the LD_PRELOAD shim: ib_write_bw and ib_read_bw with
 * --mmap=FILE on the DAX file system, a server and a client process over
 * the guest's rxe0 (RDMA) and 127.0.0.1 (perftest's own TCP handshake).
 *
 * - Without the shim the file's registration is refused (EOPNOTSUPP:
 *   "Couldn't allocate MR"), so the shim is what makes it work.
 * - With it both ends register, perftest's transfer completes, the bytes
 *   are where perftest put them (after ib_write_bw the server's file
 *   holds the client's first SIZE bytes at SIZE; after ib_read_bw the
 *   client's file holds the server's bytes [SIZE, 2 * SIZE) at 0: perftest
 *   fills both buffers with rand() bytes first, see docs/preload.md), and
 *   the shim logs the registration and the unpin.
 * - The same run into anonymous memory (no --mmap) is the baseline: the
 *   test prints both bandwidths and their ratio (ROUNDS pairs, the
 *   baseline first in each). Nothing is asserted of the figures: the
 *   host is shared and noisy.
 * - --odp (7.2's rxe has on-demand paging): the file registers without
 *   the shim and without a pin; the test checks the bytes and prints the
 *   bandwidth. Skipped, with the reason, where the device has none.
 *
 * The bench promises perftest (bench/check.sh installs it) and rxe0: if
 * either is missing, these tests fail.
 */
#include <infiniband/verbs.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * One configuration: bandwidth through the shim, once: registration paths
 * per kernel are rdma's and preload's to test.
 */
DAXPIN_RUNS_ON(one);

/* perftest's message size; its buffer is 2 * SIZE (one QP). */
#define SIZE		65536UL
#define ITERS		"500"
#define FILE_LEN	(4 * SIZE)
#define ROUNDS		1
/* How long one perftest process may take, handshake to exit. */
#define RUN_MS		120000
#define LISTEN_MS	30000
#define BASE_PORT	18600

enum mode { ANON, SHIM, NO_SHIM, ODP };

static const char * const mode_name[] = {
	[ANON] = "anonymous", [SHIM] = "daxpin (shim)",
	[NO_SHIM] = "file, no shim", [ODP] = "file, --odp",
};

struct proc {
	pid_t pid;
	char out[64];		/* its stdout and stderr */
	int status;
};

FIXTURE(perftest) {
	char shim[4200];
	char dev[64];
	char gid[12];
	char server_file[4200];
	char client_file[4200];
	int port;
};

FIXTURE_VARIANT(perftest) {
	const char *prog;
	bool read;		/* ib_read_bw: the client reads */
};

FIXTURE_VARIANT_ADD(perftest, write_bw) {
	.prog = "ib_write_bw",
};

FIXTURE_VARIANT_ADD(perftest, read_bw) {
	.prog = "ib_read_bw",
	.read = true,
};

/* The first RoCE v2 GID index of @dev's port 1, as perftest's -x wants. */
static int roce_v2_gid(const char *dev)
{
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	struct ibv_port_attr pa;
	struct ibv_gid_entry ge;
	int i, n = 0, idx = -ENOENT;

	list = ibv_get_device_list(&n);
	if (!list)
		return -errno;
	for (i = 0; i < n && !ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx)
		return -ENODEV;
	if (!ibv_query_port(ctx, 1, &pa)) {
		for (i = 0; i < pa.gid_tbl_len && idx < 0; i++)
			if (!ibv_query_gid_ex(ctx, 1, i, &ge, 0) &&
			    ge.gid_type == IBV_GID_TYPE_ROCE_V2)
				idx = i;
	}
	ibv_close_device(ctx);
	return idx;
}

/* Whether @dev's RC transport has on-demand paging for WRITE and READ. */
static bool has_rc_odp(const char *dev)
{
	struct ibv_device_attr_ex attr = {};
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	uint32_t need = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV |
			IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ;
	bool ok = false;
	int i, n = 0;

	list = ibv_get_device_list(&n);
	if (!list)
		return false;
	for (i = 0; i < n && !ctx; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx)
		return false;
	if (!ibv_query_device_ex(ctx, NULL, &attr))
		ok = (attr.odp_caps.general_caps & IBV_ODP_SUPPORT) &&
		     (attr.odp_caps.per_transport_caps.rc_odp_caps & need) ==
		     need;
	ibv_close_device(ctx);
	return ok;
}

/*
 * Start @prog: the server if @peer is NULL, else the client of @peer.
 * The file of @mode SHIM, NO_SHIM and ODP is @file; the shim is preloaded
 * in mode SHIM only, with its log on. Output goes to a file of its own.
 */
static int start(struct proc *p, FIXTURE_DATA(perftest) *self,
		 const char *prog, enum mode mode, const char *file,
		 const char *peer, int port)
{
	char mmap_arg[4300], port_arg[16], pre[4300];
	const char *argv[20];
	int argc = 0, fd;

	snprintf(p->out, sizeof(p->out), "/tmp/perftest.%d.%s.out", port,
		 peer ? "client" : "server");
	snprintf(mmap_arg, sizeof(mmap_arg), "--mmap=%s", file);
	snprintf(port_arg, sizeof(port_arg), "%d", port);
	argv[argc++] = prog;
	argv[argc++] = "-d";
	argv[argc++] = self->dev;
	argv[argc++] = "-i";
	argv[argc++] = "1";
	argv[argc++] = "-x";
	argv[argc++] = self->gid;
	argv[argc++] = "-s";
	argv[argc++] = "65536";
	argv[argc++] = "-n";
	argv[argc++] = ITERS;
	argv[argc++] = "-F";
	argv[argc++] = "-p";
	argv[argc++] = port_arg;
	if (mode != ANON)
		argv[argc++] = mmap_arg;
	if (mode == ODP)
		argv[argc++] = "--odp";
	if (peer)
		argv[argc++] = peer;
	argv[argc] = NULL;

	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid)
		return 0;
	fd = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	unsetenv("LD_PRELOAD");
	if (mode == SHIM) {
		snprintf(pre, sizeof(pre), "%s", self->shim);
		setenv("LD_PRELOAD", pre, 1);
		setenv("DAXPIN_PRELOAD_LOG", "2", 1);
	}
	execvp(prog, (char **)argv);
	_exit(127);
}

/* Wait up to @ms for @p: 0 (p->status set), or -ETIMEDOUT (then killed). */
static int finish(struct proc *p, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;

	do {
		if (waitpid(p->pid, &p->status, WNOHANG) == p->pid)
			return 0;
		usleep(20000);
	} while (now_ns() < end);
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &p->status, 0);
	return -ETIMEDOUT;
}

static bool exited_ok(const struct proc *p)
{
	return WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0;
}

/* Whether a TCP socket listens on @port (IPv4 or IPv6, any address). */
static bool listening(int port)
{
	static const char * const tabs[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned int lport, state;
	char line[512];
	unsigned int t;
	bool found = false;

	for (t = 0; t < 2 && !found; t++) {
		FILE *f = fopen(tabs[t], "r");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x",
				   &lport, &state) == 2 &&
			    lport == (unsigned int)port && state == 0x0a)
				found = true;
		fclose(f);
	}
	return found;
}

static ssize_t read_out(const struct proc *p, char *buf, size_t len)
{
	return read_small_file(p->out, buf, len);
}

/* The client's "BW average[MB/sec]" for SIZE, or -1. */
static double bw_average(const struct proc *p)
{
	char buf[16384], *line, *save = NULL;
	unsigned long bytes, iters;
	double peak, avg;

	if (read_out(p, buf, sizeof(buf)) < 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, " %lu %lu %lf %lf", &bytes, &iters, &peak,
			   &avg) == 4 && bytes == SIZE)
			return avg;
	return -1;
}

/* Print the last lines of @p's output, for a failure's diagnosis. */
static void show(const struct proc *p, const char *who)
{
	char buf[16384];
	ssize_t n = read_out(p, buf, sizeof(buf));

	if (n < 0)
		return;
	buf[n] = 0;
	fprintf(stderr, "# --- %s (%s) ---\n", who, p->out);
	fprintf(stderr, "%s\n", n > 3000 ? buf + n - 3000 : buf);
}

/* Whether @p's output has @text. */
static bool said(const struct proc *p, const char *text)
{
	char buf[16384];
	ssize_t n = read_out(p, buf, sizeof(buf));

	if (n < 0)
		return false;
	buf[n] = 0;
	return strstr(buf, text);
}

/*
 * One perftest run, server and client: 0 with the client's bandwidth in
 * @bw, or -1 after saying why. The server's exit status is @p[0]'s.
 */
static int run_pair_once(struct __test_metadata *_metadata,
			 FIXTURE_DATA(perftest) *self, const char *prog,
			 enum mode mode, struct proc p[2], double *bw)
{
	uint64_t end;
	int port = self->port++;

	*bw = -1;
	if (start(&p[0], self, prog, mode, self->server_file, NULL, port))
		return -1;
	end = now_ns() + LISTEN_MS * 1000000ull;
	while (!listening(port) && now_ns() < end &&
	       waitpid(p[0].pid, &p[0].status, WNOHANG) == 0)
		usleep(20000);
	if (!listening(port)) {
		finish(&p[0], 1000);
		show(&p[0], "server");
		TH_LOG("%s %s: the server never listened on port %d",
		       prog, mode_name[mode], port);
		return -1;
	}
	if (start(&p[1], self, prog, mode, self->client_file, "127.0.0.1",
		  port)) {
		finish(&p[0], 0);
		return -1;
	}
	if (finish(&p[1], RUN_MS) | finish(&p[0], RUN_MS))
		TH_LOG("%s %s: timed out after %d s", prog, mode_name[mode],
		       RUN_MS / 1000);
	if (!exited_ok(&p[0]) || !exited_ok(&p[1])) {
		if (mode == NO_SHIM)	/* expected: the caller looks */
			return -1;
		show(&p[0], "server");
		show(&p[1], "client");
		TH_LOG("%s %s: server status %#x, client status %#x",
		       prog, mode_name[mode], p[0].status, p[1].status);
		return -1;
	}
	*bw = bw_average(&p[1]);
	if (*bw <= 0) {
		show(&p[1], "client");
		TH_LOG("%s %s: no bandwidth in the client's output",
		       prog, mode_name[mode]);
		return -1;
	}
	return 0;
}

/*
 * perftest converts its cycle counts with a CPU frequency it measures
 * first; on a loaded emulated CPU that measurement can fail ("Correlation
 * coefficient ... < 0.9"), and the run, complete, reports 0 MB/s. Such a
 * run is repeated, twice at most; any other failure is final.
 */
static int run_pair(struct __test_metadata *_metadata,
		    FIXTURE_DATA(perftest) *self, const char *prog,
		    enum mode mode, struct proc p[2], double *bw)
{
	int tries = 0, ret;

	for (;;) {
		ret = run_pair_once(_metadata, self, prog, mode, p, bw);
		if (!ret || mode == NO_SHIM || ++tries == 3 ||
		    !exited_ok(&p[1]) ||
		    !said(&p[1], "Correlation coefficient"))
			return ret;
		TH_LOG("%s %s: perftest could not measure its CPU's frequency; run again",
		       prog, mode_name[mode]);
	}
}

/*
 * The bytes moved where perftest put them: ib_write_bw, the client's
 * [0, SIZE) at the server's SIZE; ib_read_bw, the server's [SIZE,
 * 2 * SIZE) at the client's 0. 0, or -1 after saying where they differ.
 */
static int check_landed(struct __test_metadata *_metadata,
			FIXTURE_DATA(perftest) *self,
			const FIXTURE_VARIANT(perftest) *variant)
{
	static unsigned char s[2 * SIZE], c[2 * SIZE];
	int sfd, cfd, ret = -1;
	size_t i;

	sfd = open(self->server_file, O_RDONLY);
	cfd = open(self->client_file, O_RDONLY);
	if (sfd < 0 || cfd < 0 ||
	    pread(sfd, s, sizeof(s), 0) != (ssize_t)sizeof(s) ||
	    pread(cfd, c, sizeof(c), 0) != (ssize_t)sizeof(c)) {
		TH_LOG("reading the files back: %s", strerror(errno));
		goto out;
	}
	/*
	 * The two ends may seed rand() in the same second and fill alike;
	 * the source's two halves still differ (other places of one
	 * sequence), so the destination's bytes equal the source's only if
	 * the transfer put them there (were the halves equal, nothing could
	 * be shown).
	 */
	if (!memcmp(variant->read ? s : c, (variant->read ? s : c) + SIZE,
		    SIZE)) {
		TH_LOG("perftest's fill left two equal halves: no evidence");
		goto out;
	}
	for (i = 0; i < SIZE; i++)
		if (c[i] != s[SIZE + i])
			break;
	if (i < SIZE) {
		TH_LOG("%s: byte %zu of the %s differs (client %#x, server %#x)",
		       variant->prog, i, variant->read ?
		       "RDMA READ into the client's file" :
		       "RDMA WRITE into the server's file", c[i], s[SIZE + i]);
		goto out;
	}
	ret = 0;
out:
	if (sfd >= 0)
		close(sfd);
	if (cfd >= 0)
		close(cfd);
	return ret;
}

FIXTURE_SETUP(perftest)
{
	const char *dir = env_or_die("DAXPIN_DAX_DIR");
	int fd, gid;

	snprintf(self->dev, sizeof(self->dev), "%s",
		 env_or_die("DAXPIN_RDMA_DEV"));
	ASSERT_EQ(0, preload_shim_path(self->shim, sizeof(self->shim))) {
		TH_LOG("no shim at %s", self->shim);
	}
	ASSERT_EQ(0, system("command -v ib_write_bw ib_read_bw >/dev/null")) {
		TH_LOG("perftest is not installed (the bench installs it)");
	}
	gid = roce_v2_gid(self->dev);
	ASSERT_LE(0, gid) {
		TH_LOG("%s has no RoCE v2 GID: %s", self->dev, strerror(-gid));
	}
	snprintf(self->gid, sizeof(self->gid), "%d", gid);
	snprintf(self->server_file, sizeof(self->server_file),
		 "%s/perftest-server", dir);
	snprintf(self->client_file, sizeof(self->client_file),
		 "%s/perftest-client", dir);
	/* perftest checks no size: the file must hold its whole buffer. */
	fd = make_file(dir, "perftest-server", FILE_LEN, self->server_file,
		       sizeof(self->server_file));
	ASSERT_LE(0, fd);
	close(fd);
	fd = make_file(dir, "perftest-client", FILE_LEN, self->client_file,
		       sizeof(self->client_file));
	ASSERT_LE(0, fd);
	close(fd);
	self->port = BASE_PORT + (variant->read ? 100 : 0) + getpid() % 50;
}

FIXTURE_TEARDOWN(perftest)
{
	unlink(self->server_file);
	unlink(self->client_file);
}

/*
 * Without the shim: perftest cannot register its file mapping. The server
 * allocates its MR only once a client has connected, so both are run.
 */
TEST_F_TIMEOUT(perftest, refused_without_shim, 300)
{
	struct proc p[2] = {};
	double bw;

	ASSERT_NE(0, run_pair(_metadata, self, variant->prog, NO_SHIM, p,
			      &bw));
	if (exited_ok(&p[0]) || exited_ok(&p[1]) ||
	    !said(&p[0], "Couldn't allocate MR") ||
	    !said(&p[1], "Couldn't allocate MR")) {
		show(&p[0], "server");
		show(&p[1], "client");
	}
	EXPECT_FALSE(exited_ok(&p[0]));
	EXPECT_FALSE(exited_ok(&p[1]));
	EXPECT_TRUE(said(&p[0], "Couldn't allocate MR"));
	EXPECT_TRUE(said(&p[1], "Couldn't allocate MR"));
}

/*
 * With the shim: perftest runs unchanged on its DAX files, its bytes land,
 * and its bandwidth is printed next to the same run into anonymous memory.
 */
TEST_F_TIMEOUT(perftest, shim_vs_anonymous, 900)
{
	double bw, sum[2] = { 0, 0 };
	struct proc p[2];
	int r;

	for (r = 0; r < ROUNDS; r++) {
		ASSERT_EQ(0, run_pair(_metadata, self, variant->prog, ANON, p,
				      &bw));
		sum[0] += bw;
		ASSERT_EQ(0, run_pair(_metadata, self, variant->prog, SHIM, p,
				      &bw));
		sum[1] += bw;
		/* Each end registered its file through daxpin and let go. */
		EXPECT_TRUE(said(&p[0], "registered") && said(&p[1], "registered")) {
			show(&p[0], "server");
			show(&p[1], "client");
		}
		EXPECT_TRUE(said(&p[0], "unpinned") && said(&p[1], "unpinned"));
		ASSERT_EQ(0, check_landed(_metadata, self, variant));
	}
	TH_LOG("%s -s 65536 -n %s, %d rounds: anonymous %.1f MB/s, daxpin %.1f MB/s, ratio %.3f",
	       variant->prog, ITERS, ROUNDS, sum[0] / ROUNDS, sum[1] / ROUNDS,
	       sum[1] / sum[0]);
}

/* --odp: the file without the shim, where the device pages on demand. */
TEST_F_TIMEOUT(perftest, odp_vs_anonymous, 600)
{
	double bw[2];
	struct proc p[2];

	if (!has_rc_odp(self->dev))
		SKIP(return, "%s has no RC on-demand paging on this kernel (not 6.1 or 6.12: rxe gained it later)",
		     self->dev);
	ASSERT_EQ(0, run_pair(_metadata, self, variant->prog, ANON, p, &bw[0]));
	ASSERT_EQ(0, run_pair(_metadata, self, variant->prog, ODP, p, &bw[1]));
	ASSERT_EQ(0, check_landed(_metadata, self, variant));
	TH_LOG("%s --odp -s 65536 -n %s: anonymous %.1f MB/s, file on demand %.1f MB/s, ratio %.3f",
	       variant->prog, ITERS, bw[0], bw[1], bw[1] / bw[0]);
}

TEST_HARNESS_MAIN
