// SPDX-License-Identifier: GPL-2.0
/*
 * The LD_PRELOAD shim, libdaxpin-preload.so (daxpin-preload(7)), with a
 * program that knows nothing of daxpin: it maps a file of the DAX file
 * system MAP_SHARED, closes the fd (as perftest's --mmap does) and calls
 * plain ibv_reg_mr(). Without the shim the kernel refuses (EOPNOTSUPP).
 * With it the registration works; an RDMA WRITE from another process (this
 * test) lands in the file at its place and nowhere else; the program's
 * pointers see it, and stay valid, and write into the file, through
 * ibv_dereg_mr(); pins and charges are gone after it; ordinary memory
 * registers as before, without daxpin. A truncate over the range recalls
 * the pin: the shim logs it, the program's mapping of the file is back
 * under its pointers, the pin is revoked at its deadline, and the truncate
 * finishes once the MR no longer holds the blocks.
 *
 * The program is this binary again, run with DAXPIN_PRELOAD_CHILD set
 * (child_main(), before the harness's main()): the bench runs every
 * executable of build/selftests as a test, so it cannot be a program of
 * its own there. The shim is $DAXPIN_PRELOAD_LIB, else
 * ../userlib/libdaxpin-preload.so from this binary's directory (the
 * bench's build/selftests and build/userlib).
 *
 * The bench promises the RDMA device: if it is missing, these tests fail.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "common.h"
#include "verbs.h"

/*
 * Once per kernel: the shim's registration path follows the kernel (ODP
 * from 6.15).
 */
DAXPIN_RUNS_ON(kernel);

#define FILE_SIZE	(1024 * 1024UL)
/* The program maps [MAP_OFF, MAP_OFF + MAP_LEN) of the file. */
#define MAP_OFF		(256 * 1024UL)
#define MAP_LEN		(512 * 1024UL)
/* It registers from REG_OFF in its mapping (unaligned variants: + 1000). */
#define REG_OFF		(64 * 1024UL)
#define REG_LEN		(256 * 1024UL)
#define UNALIGNED_HEAD	1000UL
#define UNALIGNED_TAIL	3000UL
/*
 * The RDMA WRITE lands at WRITE_OFF of the mapping, whole pages: rxe's
 * on-demand paging (the path on 7.2) misplaces bytes of packets smaller
 * than a page (shared kernel facts, section 6).
 */
#define WRITE_OFF	(128 * 1024UL)
#define WRITE_LEN	(64 * 1024UL)
/* The program's own stores, before and after ibv_dereg_mr(). */
#define MARK1_OFF	(200 * 1024UL + 123)
#define MARK2_OFF	(250 * 1024UL + 9)
#define MARK_LEN	300UL
#define IOVA_BASE	0x7e5700000000ull

#define BG_SEED		1
#define WRITE_SEED	2
#define MARK1_SEED	3
#define MARK2_SEED	4

#define ACCESS		(IBV_ACCESS_LOCAL_WRITE | \
			 IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define CQ_TIMEOUT_MS	10000
/* How long the program may take to answer a request. */
#define STEP_MS		20000
#define PROMPT_MS	5000
#define WAITS_MS	500
#define RECALL_DEADLINE_MS 1500

/* The byte of pattern @seed at file offset @pos: misplaced bytes differ. */
static unsigned char pat(uint32_t seed, uint64_t pos)
{
	return (unsigned char)((seed * 0x9e3779b9u + pos) * 2654435761u >> 13);
}

static void fill_pat(unsigned char *buf, size_t len, uint32_t seed,
		     uint64_t pos)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pat(seed, pos + i);
}

/*
 * What the file must hold at [@pos, @pos + @len) after the steps that
 * @marks says were done (1: the RDMA WRITE, 2: mark 1, 4: mark 2): compare
 * @buf with it; the offset of the first difference, or -1.
 */
enum { DONE_WRITE = 1, DONE_MARK1 = 2, DONE_MARK2 = 4 };

static long first_wrong(const unsigned char *buf, uint64_t pos, size_t len,
			unsigned int marks)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint64_t p = pos + i, m = p - MAP_OFF;
		uint32_t seed = BG_SEED;

		if ((marks & DONE_WRITE) && p >= MAP_OFF &&
		    m >= WRITE_OFF && m < WRITE_OFF + WRITE_LEN)
			seed = WRITE_SEED;
		if ((marks & DONE_MARK1) && p >= MAP_OFF &&
		    m >= MARK1_OFF && m < MARK1_OFF + MARK_LEN)
			seed = MARK1_SEED;
		if ((marks & DONE_MARK2) && p >= MAP_OFF &&
		    m >= MARK2_OFF && m < MARK2_OFF + MARK_LEN)
			seed = MARK2_SEED;
		if (buf[i] != pat(seed, p))
			return (long)i;
	}
	return -1;
}

/* ---- verbs, for both ends -------------------------------------------- */

/* One end of the loopback: the test's, or the program's. */
struct end {
	struct verbs_port vp;
	struct ibv_qp *qp;
};

/* Port 1 of device @name with an RC QP (RESET): 0 or -errno. */
static int end_open(struct end *e, const char *name)
{
	int ret = verbs_port_open(&e->vp, name, 16, false, 5000);

	if (ret)
		return ret;
	e->qp = verbs_rc_qp(&e->vp, 8);
	return e->qp ? 0 : -ENOMEM;
}

static void end_close(struct end *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	verbs_port_close(&e->vp);
	e->qp = NULL;
}

/* Connect to QP @dqpn at @dgid: 0 or -errno. */
static int end_connect(struct end *e, uint32_t dqpn, const union ibv_gid *dgid)
{
	static const struct verbs_rc rc = {
		.timeout = 14, .retry_cnt = 7, .rd_atomic = 1,
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	};

	return verbs_rc_connect(&e->vp, e->qp, dqpn, dgid, &rc);
}

struct hello {
	uint32_t qpn;
	union ibv_gid gid;
};

enum kind { KIND_NONE, KIND_FILE, KIND_DAXPIN, KIND_OTHER };

static const char *kind_name(int kind)
{
	static const char * const names[] = {
		"nothing", "the file", "/dev/daxpin", "something else",
	};

	return kind >= 0 && kind <= KIND_OTHER ? names[kind] : "?";
}

/* The program's answer to registration. */
struct report {
	int32_t anon_err;	/* ibv_reg_mr() of anonymous memory */
	int32_t anon_daxpin;	/* that opened /dev/daxpin or mapped it */
	int32_t map_files_err;	/* opening /proc/self/map_files */
	int32_t reg_err;	/* of the file mapping */
	uint32_t qpn;
	uint32_t rkey;
	uint64_t raddr;		/* the MR's address of WRITE_OFF */
	uint64_t mr_addr, mr_len;
	uint64_t addr;		/* what the program passed */
	int32_t kind;		/* what maps its registered range now */
	int64_t pinned_kb[2];	/* VmPin before, and with the MR */
	char bound[96];		/* the file ibv_reg_mr resolves to */
};

enum cmd { CMD_CHECK = 1, CMD_KIND, CMD_DEREG, CMD_EXIT };

struct request {
	uint32_t cmd;
	uint32_t marks;		/* DONE_*: what the file holds by now */
	int32_t touch;		/* read through the pointers too */
};

struct answer {
	int32_t err;		/* CMD_DEREG: ibv_dereg_mr()'s */
	int32_t kind;
	int64_t wrong;		/* first wrong byte, via the pointers */
	int64_t pinned_kb;
	int32_t daxpin_maps;	/* mappings of /dev/daxpin left */
};

/* One message on the SOCK_SEQPACKET pair within @ms: 0 or -errno. */
static int recv_msg(int fd, void *msg, size_t len, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, ms) != 1)
		return -ETIMEDOUT;
	n = recv(fd, msg, len, 0);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EPROTO;
}

static int send_msg(int fd, const void *msg, size_t len)
{
	return send(fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* ---- the program ----------------------------------------------------- */

/* What maps @addr in this process (@ino: the file's inode). */
static int kind_at(const void *addr, ino_t ino)
{
	unsigned long lo, hi, inode;
	int kind = KIND_NONE;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi,
			   &inode) != 3)
			continue;
		if ((uintptr_t)addr < lo || (uintptr_t)addr >= hi)
			continue;
		kind = strstr(line, "/dev/daxpin") ? KIND_DAXPIN :
		       inode == ino ? KIND_FILE : KIND_OTHER;
		break;
	}
	fclose(f);
	return kind;
}

static int count_daxpin_maps(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, "/dev/daxpin");
	fclose(f);
	return n;
}

/* Whether this process has /dev/daxpin open. */
static int daxpin_open_here(void)
{
	char path[300], target[64];
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int found = 0;
	ssize_t n;

	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			found |= !strcmp(target, DAXPIN_DEVICE_PATH);
		}
	}
	closedir(dir);
	return found;
}

/* Drop what opening /proc/self/map_files needs, to test the shim without it. */
static int drop_map_files_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	const int caps[] = { CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE };
	size_t i;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	for (i = 0; i < 2; i++) {
		data[caps[i] / 32].effective &= ~(1u << (caps[i] % 32));
		data[caps[i] / 32].permitted &= ~(1u << (caps[i] % 32));
	}
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

static const char *child_env(const char *name)
{
	const char *v = getenv(name);

	return v ? v : "";
}

/* ibv_reg_mr() as the variant says: each binds a different symbol. */
static struct ibv_mr *child_reg(struct ibv_pd *pd, void *addr, size_t len,
				const char *call)
{
	if (!strcmp(call, "reg_mr_iova"))
		/* ibv_reg_mr_iova@IBVERBS_1.7: constant access flags */
		return ibv_reg_mr_iova(pd, addr, len, IOVA_BASE, ACCESS);
	if (!strcmp(call, "reg_mr_var")) {
		/*
		 * ibv_reg_mr_iova2@IBVERBS_1.8, what perftest's buffer takes:
		 * flags the compiler cannot see as constant.
		 */
		int access = atoi(child_env("DAXPIN_PRELOAD_CHILD_ACCESS"));

		return ibv_reg_mr(pd, addr, len, access);
	}
	/* ibv_reg_mr@IBVERBS_1.1: constant access flags */
	return ibv_reg_mr(pd, addr, len, ACCESS);
}

/*
 * The program: stdout is not the harness's, so it says nothing there; it
 * answers the test on the socket in DAXPIN_PRELOAD_CHILD_FD and exits 0,
 * or non-zero where it could not go on.
 */
static int child_main(const char *call)
{
	int sock = atoi(child_env("DAXPIN_PRELOAD_CHILD_FD"));
	bool unaligned = atoi(child_env("DAXPIN_PRELOAD_CHILD_UNALIGNED"));
	const char *path = child_env("DAXPIN_PRELOAD_CHILD_FILE");
	size_t reg_off = REG_OFF + (unaligned ? UNALIGNED_HEAD : 0);
	size_t reg_len = REG_LEN - (unaligned ? UNALIGNED_TAIL : 0);
	struct report rep = { 0 };
	struct request req;
	struct answer ans;
	struct ibv_mr *mr, *anon_mr;
	struct end e = { 0 };
	struct hello hello;
	struct stat st;
	unsigned char *map;
	void *anon;
	Dl_info info;
	int fd, err;

	if (atoi(child_env("DAXPIN_PRELOAD_CHILD_NOCAPS")) &&
	    drop_map_files_caps())
		return 10;
	err = end_open(&e, child_env("DAXPIN_RDMA_DEV"));
	if (err)
		return 11;
	if (recv_msg(sock, &hello, sizeof(hello), STEP_MS))
		return 12;
	if (end_connect(&e, hello.qpn, &hello.gid))
		return 13;
	if (dladdr((void *)ibv_reg_mr, &info) && info.dli_fname)
		snprintf(rep.bound, sizeof(rep.bound), "%s", info.dli_fname);

	/* Ordinary memory first: it must not even wake daxpin. */
	anon = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return 14;
	errno = 0;
	anon_mr = ibv_reg_mr(e.vp.pd, anon, 16 * PAGE, ACCESS);
	rep.anon_err = anon_mr ? 0 : errno;
	rep.anon_daxpin = daxpin_open_here() || count_daxpin_maps();
	if (anon_mr)
		ibv_dereg_mr(anon_mr);

	/* The file, as perftest --mmap has it: the fd closed at once. */
	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		return 15;
	map = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   MAP_OFF);
	close(fd);
	if (map == MAP_FAILED)
		return 16;
	if (atoi(child_env("DAXPIN_PRELOAD_CHILD_NOCAPS"))) {
		char mf[64];

		snprintf(mf, sizeof(mf), "/proc/self/map_files/%lx-%lx",
			 (unsigned long)map, (unsigned long)map + MAP_LEN);
		fd = open(mf, O_RDONLY);
		rep.map_files_err = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
	}

	rep.pinned_kb[0] = vm_pinned_kb();
	rep.addr = (uintptr_t)map + reg_off;
	errno = 0;
	mr = child_reg(e.vp.pd, map + reg_off, reg_len, call);
	rep.reg_err = mr ? 0 : errno;
	rep.pinned_kb[1] = vm_pinned_kb();
	rep.qpn = e.qp->qp_num;
	rep.kind = kind_at(map + reg_off, st.st_ino);
	if (mr) {
		rep.rkey = mr->rkey;
		rep.mr_addr = (uintptr_t)mr->addr;
		rep.mr_len = mr->length;
		rep.raddr = (!strcmp(call, "reg_mr_iova") ? IOVA_BASE :
			     (uintptr_t)map + reg_off) + (WRITE_OFF - reg_off);
	}
	if (send_msg(sock, &rep, sizeof(rep)))
		return 17;

	for (;;) {
		if (recv_msg(sock, &req, sizeof(req), 120000))
			return 18;
		memset(&ans, 0, sizeof(ans));
		ans.wrong = -1;
		switch (req.cmd) {
		case CMD_CHECK:
			/* The peer's WRITE, through the program's pointers. */
			ans.wrong = first_wrong(map, MAP_OFF, MAP_LEN,
						req.marks);
			/* The program's own store, into the file. */
			fill_pat(map + MARK1_OFF, MARK_LEN, MARK1_SEED,
				 MAP_OFF + MARK1_OFF);
			ans.kind = kind_at(map + reg_off, st.st_ino);
			break;
		case CMD_KIND:
			ans.kind = kind_at(map + reg_off, st.st_ino);
			if (req.touch)
				ans.wrong = first_wrong(map, MAP_OFF,
							MAP_LEN / 2, req.marks);
			break;
		case CMD_DEREG:
			ans.err = mr ? ibv_dereg_mr(mr) : -1;
			mr = NULL;
			ans.kind = kind_at(map + reg_off, st.st_ino);
			ans.daxpin_maps = count_daxpin_maps();
			ans.pinned_kb = vm_pinned_kb();
			if (req.touch) {
				/* The pointers still reach the file. */
				ans.wrong = first_wrong(map, MAP_OFF, MAP_LEN,
							req.marks);
				fill_pat(map + MARK2_OFF, MARK_LEN, MARK2_SEED,
					 MAP_OFF + MARK2_OFF);
			}
			break;
		case CMD_EXIT:
			return 0;
		default:
			return 19;
		}
		if (send_msg(sock, &ans, sizeof(ans)))
			return 20;
	}
}

/* Before the harness: this binary is the program when the test runs it so. */
__attribute__((constructor))
static void maybe_child(void)
{
	const char *call = getenv("DAXPIN_PRELOAD_CHILD");

	if (call && *call)
		_exit(child_main(call));
}

/* ---- the test's side ------------------------------------------------- */

struct child {
	pid_t pid;
	int sock;
	int errfd;			/* its stderr */
	char log[16384];		/* what it wrote there */
	size_t loglen;
};

/* Read what the child wrote to stderr so far, without waiting. */
static void child_drain(struct child *c)
{
	ssize_t n;

	while (c->errfd >= 0 && c->loglen < sizeof(c->log) - 1) {
		n = read(c->errfd, c->log + c->loglen,
			 sizeof(c->log) - 1 - c->loglen);
		if (n <= 0)
			break;
		c->loglen += n;
	}
	c->log[c->loglen] = 0;
}

/* Wait up to @ms for @text in the child's stderr: true if it came. */
static bool child_said(struct child *c, const char *text, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000;

	do {
		child_drain(c);
		if (strstr(c->log, text))
			return true;
		usleep(10000);
	} while (now_ns() < end);
	return false;
}

/*
 * Run the program: this binary, with @call's registration, the shim
 * preloaded if @shim is not NULL, and @extra ("NAME=value", or NULL) in
 * its environment. Everything else of ours is taken out of the
 * environment it inherits, LD_PRELOAD too.
 */
static int child_start(struct child *c, const char *call, const char *shim,
		       const char *file, bool unaligned, bool nocaps,
		       const char *extra)
{
	char vars[8][4200], **envp;
	extern char **environ;
	int sv[2], ep[2], nenv = 0, nvars = 0, i;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (pipe2(ep, O_CLOEXEC)) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	for (i = 0; environ[i]; i++)
		;
	envp = calloc(i + 10, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	for (i = 0; environ[i]; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) &&
		    strncmp(environ[i], "DAXPIN_PRELOAD_", 15))
			envp[nenv++] = environ[i];
	snprintf(vars[nvars++], sizeof(vars[0]), "DAXPIN_PRELOAD_CHILD=%s", call);
	snprintf(vars[nvars++], sizeof(vars[0]), "DAXPIN_PRELOAD_CHILD_FD=%d", sv[1]);
	snprintf(vars[nvars++], sizeof(vars[0]), "DAXPIN_PRELOAD_CHILD_FILE=%s", file);
	snprintf(vars[nvars++], sizeof(vars[0]), "DAXPIN_PRELOAD_CHILD_UNALIGNED=%d", unaligned);
	snprintf(vars[nvars++], sizeof(vars[0]), "DAXPIN_PRELOAD_CHILD_NOCAPS=%d", nocaps);
	snprintf(vars[nvars++], sizeof(vars[0]), "DAXPIN_PRELOAD_CHILD_ACCESS=%d", ACCESS);
	if (shim)
		snprintf(vars[nvars++], sizeof(vars[0]), "LD_PRELOAD=%s", shim);
	if (extra)
		snprintf(vars[nvars++], sizeof(vars[0]), "%s", extra);
	for (i = 0; i < nvars; i++)
		envp[nenv++] = vars[i];
	envp[nenv] = NULL;

	c->pid = fork();
	if (c->pid == 0) {
		char *argv[] = { "daxpin-preload-program", NULL };

		/* Its socket end survives the exec; its stderr is our pipe. */
		if (dup2(sv[1], sv[0]) < 0 || fcntl(sv[0], F_SETFD, 0) ||
		    dup2(ep[1], STDERR_FILENO) < 0)
			_exit(99);
		/* The child's fd number is sv[0] now: say so. */
		snprintf(vars[1], sizeof(vars[0]), "DAXPIN_PRELOAD_CHILD_FD=%d",
			 sv[0]);
		execve("/proc/self/exe", argv, envp);
		_exit(98);
	}
	free(envp);
	close(sv[1]);
	close(ep[1]);
	if (c->pid < 0) {
		close(sv[0]);
		close(ep[0]);
		return -errno;
	}
	c->sock = sv[0];
	c->errfd = ep[0];
	fcntl(c->errfd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Tell the program to exit, and reap it: its exit status, or -errno. */
static int child_stop(struct child *c)
{
	struct request req = { .cmd = CMD_EXIT };
	int status;

	if (c->pid <= 0)
		return 0;
	send_msg(c->sock, &req, sizeof(req));
	status = wait_child(c->pid, PROMPT_MS);
	if (status == -ETIMEDOUT) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &status, 0);
	}
	c->pid = 0;
	child_drain(c);
	close(c->sock);
	close(c->errfd);
	c->errfd = -1;
	return status;
}

static int child_ask(struct child *c, uint32_t cmd, uint32_t marks, int touch,
		     struct answer *ans)
{
	struct request req = { .cmd = cmd, .marks = marks, .touch = touch };
	int err = send_msg(c->sock, &req, sizeof(req));

	return err ? err : recv_msg(c->sock, ans, sizeof(*ans), STEP_MS);
}

/* What the test needs: its end of the RDMA, the file, the shim, the program. */
struct rig {
	struct end e;
	void *src;
	struct ibv_mr *src_mr;
	int ffd;
	char path[4096];
	char shim[4096];
	struct child c;
	pid_t trunc;
};

static void rig_setup(struct __test_metadata *_metadata, struct rig *r)
{
	unsigned char *buf;
	int err;

	r->ffd = -1;
	r->c.errfd = -1;
	ASSERT_EQ(0, preload_shim_path(r->shim, sizeof(r->shim)))
		TH_LOG("no shim at %s: set DAXPIN_PRELOAD_LIB", r->shim);
	err = end_open(&r->e, env_or_die("DAXPIN_RDMA_DEV"));
	ASSERT_EQ(0, err) TH_LOG("RDMA device %s: %s",
				 getenv("DAXPIN_RDMA_DEV"), strerror(-err));
	r->src = mmap(NULL, WRITE_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r->src);
	r->src_mr = ibv_reg_mr(r->e.vp.pd, r->src, WRITE_LEN,
			       IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, r->src_mr);

	/* The file, the background pattern written before anything maps it. */
	r->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "preload-test",
			   FILE_SIZE, r->path, sizeof(r->path));
	ASSERT_LE(0, r->ffd);
	buf = malloc(FILE_SIZE);
	ASSERT_NE(NULL, buf);
	fill_pat(buf, FILE_SIZE, BG_SEED, 0);
	ASSERT_EQ((ssize_t)FILE_SIZE, pwrite(r->ffd, buf, FILE_SIZE, 0));
	free(buf);
}

static void rig_teardown(struct __test_metadata *_metadata, struct rig *r)
{
	int status = child_stop(&r->c);

	if (r->c.loglen)
		TH_LOG("the program's stderr (exit status %#x):\n%s", status,
		       r->c.log);
	if (r->trunc > 0 && wait_child(r->trunc, PROMPT_MS) == -ETIMEDOUT) {
		kill(r->trunc, SIGKILL);
		waitpid(r->trunc, NULL, 0);
	}
	if (r->src_mr)
		ibv_dereg_mr(r->src_mr);
	end_close(&r->e);
	if (r->src)
		munmap(r->src, WRITE_LEN);
	if (r->ffd >= 0) {
		close(r->ffd);
		unlink(r->path);
	}
}

/* Start the program and have it register; its report. */
static void start_and_register(struct __test_metadata *_metadata,
			       struct rig *r, const char *call, bool shim,
			       bool unaligned, bool nocaps, const char *extra,
			       struct report *rep)
{
	struct hello hello = { .qpn = r->e.qp->qp_num, .gid = r->e.vp.gid };
	int err;

	err = child_start(&r->c, call, shim ? r->shim : NULL, r->path,
			  unaligned, nocaps, extra);
	ASSERT_EQ(0, err) TH_LOG("starting the program: %s", strerror(-err));
	ASSERT_EQ(0, send_msg(r->c.sock, &hello, sizeof(hello)));
	err = recv_msg(r->c.sock, rep, sizeof(*rep), STEP_MS);
	if (err) {
		int status = child_stop(&r->c);

		ASSERT_EQ(0, err) TH_LOG("no report from the program (exit status %#x): %s",
					 status, strerror(-err));
	}
	TH_LOG("%s: ibv_reg_mr resolves to %s; registration: %s; the range maps %s; VmPin %lld -> %lld kB",
	       call, rep->bound, rep->reg_err ? strerror(rep->reg_err) : "done",
	       kind_name(rep->kind), (long long)rep->pinned_kb[0],
	       (long long)rep->pinned_kb[1]);
}

/* The kind of mapping the shim's path leaves under the program's pointers. */
static int expected_kind(struct __test_metadata *_metadata)
{
	int reg = map_registrable();

	EXPECT_LE(0, reg);
	return reg == 1 ? KIND_DAXPIN : KIND_FILE;
}

/* ---- the tests ------------------------------------------------------- */

/* The shim exports libibverbs' entry points, versioned; nothing of daxpin. */
TEST(exports_versioned_entry_points)
{
	static const char * const syms[][2] = {
		{ "ibv_reg_mr", "IBVERBS_1.1" },
		{ "ibv_reg_mr_iova", "IBVERBS_1.7" },
		{ "ibv_reg_mr_iova2", "IBVERBS_1.8" },
		{ "ibv_rereg_mr", "IBVERBS_1.1" },
		{ "ibv_dereg_mr", "IBVERBS_1.1" },
	};
	char shim[4096], real_shim[4096];
	Dl_info info;
	void *h, *sym;
	size_t i;

	ASSERT_EQ(0, preload_shim_path(shim, sizeof(shim)))
		TH_LOG("no shim at %s: set DAXPIN_PRELOAD_LIB", shim);
	ASSERT_NE(NULL, realpath(shim, real_shim));
	h = dlopen(shim, RTLD_NOW | RTLD_LOCAL);
	ASSERT_NE(NULL, h) TH_LOG("dlopen: %s", dlerror());
	for (i = 0; i < ARRAY_SIZE(syms); i++) {
		char found[4096];

		sym = dlvsym(h, syms[i][0], syms[i][1]);
		ASSERT_NE(NULL, sym) TH_LOG("%s@%s missing", syms[i][0],
					    syms[i][1]);
		ASSERT_NE(0, dladdr(sym, &info));
		ASSERT_NE(NULL, realpath(info.dli_fname, found));
		EXPECT_STREQ(real_shim, found)
			TH_LOG("%s@%s comes from %s", syms[i][0], syms[i][1],
			       info.dli_fname);
	}
	/* libdaxpin is linked in, its symbols local. */
	EXPECT_EQ(NULL, dlsym(h, "daxpin_pin"));
	EXPECT_EQ(NULL, dlsym(h, "daxpin_odp_check"));
	dlclose(h);
}

FIXTURE(shim) {
	struct rig r;
};

FIXTURE_SETUP(shim)
{
	rig_setup(_metadata, &self->r);
}

FIXTURE_TEARDOWN(shim)
{
	rig_teardown(_metadata, &self->r);
}

/* Without the shim: the kernel's refusal, the problem itself. */
TEST_F_TIMEOUT(shim, refused_without_it, 60)
{
	struct report rep;

	start_and_register(_metadata, &self->r, "reg_mr", false, false, false,
			   NULL, &rep);
	EXPECT_EQ(0, rep.anon_err) TH_LOG("anonymous memory: %s",
					  strerror(rep.anon_err));
	EXPECT_EQ(EOPNOTSUPP, rep.reg_err)
		TH_LOG("ibv_reg_mr of a DAX file mapping: %s",
		       rep.reg_err ? strerror(rep.reg_err) : "registered");
	EXPECT_EQ(KIND_FILE, rep.kind);
	EXPECT_EQ(NULL, strstr(rep.bound, "libdaxpin-preload"));
}

/*
 * A truncate over the registered range recalls the pin. The shim logs the
 * recall and puts the program's mapping of the file back under its
 * pointers; at the deadline daxpin revokes the pin (logged too). With the
 * pin's mapping registered (kernels before 6.15) the MR holds the blocks:
 * the truncate waits until the program deregisters. With on-demand paging
 * (7.2) the MR holds nothing: the truncate goes on at the revocation.
 */
TEST_F_TIMEOUT(shim, recall_logged_and_truncate_waits, 120)
{
	char extra[64];
	struct report rep;
	struct answer ans;
	int kind = expected_kind(_metadata), status;
	uint64_t t0;

	snprintf(extra, sizeof(extra), "DAXPIN_PRELOAD_DEADLINE_MS=%d",
		 RECALL_DEADLINE_MS);
	start_and_register(_metadata, &self->r, "reg_mr", true, false, false,
			   extra, &rep);
	ASSERT_EQ(0, rep.reg_err) TH_LOG("ibv_reg_mr with the shim: %s",
					 strerror(rep.reg_err));
	EXPECT_EQ(kind, rep.kind);

	/* To half the file: [512 KiB, 1 MiB) is pinned ([320, 576) KiB). */
	t0 = now_ns();
	self->r.trunc = spawn_op(self->r.path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, self->r.trunc);
	ASSERT_TRUE(child_said(&self->r.c, "recall:", PROMPT_MS))
		TH_LOG("no recall logged");
	TH_LOG("recall logged %llu ms after the truncate started",
	       (unsigned long long)((now_ns() - t0) / 1000000));
	/*
	 * The shim logs the recall first and then maps the file back under
	 * the program's pointers, saying so: wait for that line, or a slow
	 * kernel (the debug one) shows the pin's mapping still in place.
	 */
	if (kind == KIND_DAXPIN)
		ASSERT_TRUE(child_said(&self->r.c, "again, as the program mapped it",
				       PROMPT_MS))
			TH_LOG("the shim did not say it mapped the file back");
	/*
	 * The file mapped under the pointers again. Read through them only
	 * where a mapping takes no page references (6.x): on 7.2 a page
	 * mapped during the wait holds the truncate (design, section 10).
	 */
	ASSERT_EQ(0, child_ask(&self->r.c, CMD_KIND, 0, kind == KIND_DAXPIN,
			       &ans));
	EXPECT_EQ(KIND_FILE, ans.kind) TH_LOG("the range maps %s after the recall",
					      kind_name(ans.kind));
	EXPECT_EQ(-1, ans.wrong);
	ASSERT_EQ(-ETIMEDOUT, wait_child(self->r.trunc, 10))
		TH_LOG("the truncate did not wait for the pin");

	ASSERT_TRUE(child_said(&self->r.c, "revoked (deadline passed)",
			       RECALL_DEADLINE_MS + PROMPT_MS))
		TH_LOG("no revocation logged");
	if (kind == KIND_DAXPIN) {
		/* The MR holds the pages: the truncate waits for it. */
		usleep(WAITS_MS * 1000);
		ASSERT_EQ(-ETIMEDOUT, wait_child(self->r.trunc, 10))
			TH_LOG("the truncate went on under a registration");
		ASSERT_EQ(0, child_ask(&self->r.c, CMD_DEREG, 0, 0, &ans));
		EXPECT_EQ(0, ans.err);
		t0 = now_ns();
		status = wait_child(self->r.trunc, PROMPT_MS);
		TH_LOG("the truncate finished %llu ms after ibv_dereg_mr()",
		       (unsigned long long)((now_ns() - t0) / 1000000));
	} else {
		status = wait_child(self->r.trunc, PROMPT_MS);
		ASSERT_EQ(0, child_ask(&self->r.c, CMD_DEREG, 0, 0, &ans));
		EXPECT_EQ(0, ans.err);
	}
	ASSERT_NE(-ETIMEDOUT, status) TH_LOG("the truncate still waits");
	self->r.trunc = 0;
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(0, ans.daxpin_maps);
	EXPECT_EQ(rep.pinned_kb[0], ans.pinned_kb);
}

FIXTURE(preload) {
	struct rig r;
};

/* How the program registers; the shim must behave the same for each. */
FIXTURE_VARIANT(preload) {
	const char *call;
	bool unaligned;
	bool nocaps;
};

/* ibv_reg_mr@IBVERBS_1.1, page-aligned */
FIXTURE_VARIANT_ADD(preload, reg_mr) {
	.call = "reg_mr",
};

/* ibv_reg_mr_iova2@IBVERBS_1.8 (as perftest), neither end page-aligned */
FIXTURE_VARIANT_ADD(preload, iova2_unaligned) {
	.call = "reg_mr_var",
	.unaligned = true,
};

/* ibv_reg_mr_iova@IBVERBS_1.7, the peer addressing by the iova */
FIXTURE_VARIANT_ADD(preload, reg_mr_iova) {
	.call = "reg_mr_iova",
};

/* Without the capability /proc/self/map_files needs: the file by name */
FIXTURE_VARIANT_ADD(preload, without_map_files) {
	.call = "reg_mr",
	.nocaps = true,
};

FIXTURE_SETUP(preload)
{
	rig_setup(_metadata, &self->r);
}

FIXTURE_TEARDOWN(preload)
{
	rig_teardown(_metadata, &self->r);
}

TEST_F_TIMEOUT(preload, write_lands_and_pointers_stay, 120)
{
	size_t reg_len = REG_LEN - (variant->unaligned ? UNALIGNED_TAIL : 0);
	struct rig *r = &self->r;
	unsigned char *file;
	struct report rep;
	struct answer ans;
	struct ibv_wc wc;

	start_and_register(_metadata, r, variant->call, true,
			   variant->unaligned, variant->nocaps, NULL, &rep);
	EXPECT_NE(NULL, strstr(rep.bound, "libdaxpin-preload"));
	/* Ordinary memory: registered by the real call, daxpin untouched. */
	EXPECT_EQ(0, rep.anon_err);
	EXPECT_EQ(0, rep.anon_daxpin)
		TH_LOG("registering anonymous memory opened or mapped /dev/daxpin");
	if (variant->nocaps)
		EXPECT_EQ(EPERM, rep.map_files_err)
			TH_LOG("map_files: %s: the variant does not test the fallback",
			       strerror(rep.map_files_err));
	if (!strcmp(variant->call, "reg_mr_iova") && map_registrable() == 0) {
		/*
		 * 6.15 on the shim's path is on-demand paging, and rxe's
		 * takes the iova for the address (reading past its page
		 * list, in the kernel): the shim must refuse, not register.
		 */
		EXPECT_EQ(EOPNOTSUPP, rep.reg_err);
		EXPECT_EQ(rep.pinned_kb[0], rep.pinned_kb[1]);
		return;
	}
	ASSERT_EQ(0, rep.reg_err) TH_LOG("ibv_reg_mr with the shim: %s",
					 strerror(rep.reg_err));
	/* The MR is exactly what the program asked for. */
	EXPECT_EQ(rep.addr, rep.mr_addr);
	EXPECT_EQ(reg_len, rep.mr_len);
	EXPECT_EQ(expected_kind(_metadata), rep.kind);

	/* The peer's RDMA WRITE into the program's MR. */
	ASSERT_EQ(0, end_connect(&r->e, rep.qpn, &r->e.vp.gid));
	fill_pat(r->src, WRITE_LEN, WRITE_SEED, MAP_OFF + WRITE_OFF);
	ASSERT_EQ(0, verbs_post_rdma(r->e.qp, IBV_WR_RDMA_WRITE, 1, r->src_mr,
				     r->src, WRITE_LEN, rep.raddr, rep.rkey));
	ASSERT_EQ(0, verbs_poll_one(r->e.vp.cq, CQ_TIMEOUT_MS, &wc))
		TH_LOG("no completion of the RDMA WRITE");
	ASSERT_EQ(IBV_WC_SUCCESS, (int)wc.status)
		TH_LOG("RDMA WRITE: %s", ibv_wc_status_str(wc.status));

	/* The program sees it through its pointers, and stores itself. */
	ASSERT_EQ(0, child_ask(&r->c, CMD_CHECK, DONE_WRITE, 0, &ans));
	EXPECT_EQ(-1, ans.wrong) TH_LOG("through the program's pointers, byte %lld of its mapping is wrong",
					(long long)ans.wrong);
	/* In the file, at its place; every other byte as it was. */
	file = malloc(FILE_SIZE);
	ASSERT_NE(NULL, file);
	ASSERT_EQ((ssize_t)FILE_SIZE, pread(r->ffd, file, FILE_SIZE, 0));
	EXPECT_EQ(-1, first_wrong(file, 0, FILE_SIZE, DONE_WRITE | DONE_MARK1))
		TH_LOG("file byte %ld is wrong",
		       first_wrong(file, 0, FILE_SIZE,
				   DONE_WRITE | DONE_MARK1));

	/* Deregistered: the file mapped again, nothing pinned, pointers fine */
	ASSERT_EQ(0, child_ask(&r->c, CMD_DEREG, DONE_WRITE | DONE_MARK1, 1,
			       &ans));
	EXPECT_EQ(0, ans.err) TH_LOG("ibv_dereg_mr: %s", strerror(ans.err));
	EXPECT_EQ(KIND_FILE, ans.kind) TH_LOG("after ibv_dereg_mr the range maps %s",
					      kind_name(ans.kind));
	EXPECT_EQ(0, ans.daxpin_maps);
	EXPECT_EQ(rep.pinned_kb[0], ans.pinned_kb);
	EXPECT_EQ(-1, ans.wrong) TH_LOG("after ibv_dereg_mr, byte %lld of the mapping is wrong",
					(long long)ans.wrong);
	ASSERT_EQ((ssize_t)FILE_SIZE, pread(r->ffd, file, FILE_SIZE, 0));
	EXPECT_EQ(-1, first_wrong(file, 0, FILE_SIZE,
				  DONE_WRITE | DONE_MARK1 | DONE_MARK2));
	free(file);
	EXPECT_EQ(0, child_stop(&r->c));
}

TEST_HARNESS_MAIN
