// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime and privilege: a daxpin file passed to another process with
 * SCM_RIGHTS keeps its pins after the pinning process exits; an ordinary
 * user pins only what it can open; a pinned file keeps its file system
 * mounted; extents shared with another file are refused.
 */
#include <sys/mount.h>
#include <linux/fs.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: reflink and dedupe exist on XFS only;
 * lifetimes follow the kernel.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE	(4 * 1024 * 1024UL)
#define PROMPT_MS	5000

static int send_fd(int sock, int fd)
{
	char data = 'f', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

FIXTURE(lifetime) {
	int ffd;
	char path[4096];
};

FIXTURE_SETUP(lifetime)
{
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "lifetime-test",
			      FILE_SIZE, self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
}

FIXTURE_TEARDOWN(lifetime)
{
	close(self->ffd);
	unlink(self->path);
}

/*
 * The pinning process sends its daxpin file away and exits: the pins live
 * on in the receiver, recall reaches it, and it can unpin.
 */
TEST_F(lifetime, scm_rights_outlives_the_pinner)
{
	struct daxpin_event ev;
	struct daxpin_query q;
	int sv[2], dfd, status;
	pid_t pinner, op;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pinner = fork();
	ASSERT_LE(0, pinner);
	if (pinner == 0) {
		int fd = daxpin_open();

		if (fd < 0 || pin_range(fd, self->ffd, 0, FILE_SIZE,
					DAXPIN_PIN_WRITE, 60000, NULL))
			_exit(1);
		_exit(send_fd(sv[1], fd) ? 2 : 0);
	}
	dfd = recv_fd(sv[0]);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(pinner, waitpid(pinner, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, query(dfd, 1, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
	op = spawn_op(self->path, OP_TRUNCATE, FILE_SIZE);
	ASSERT_LT(0, op);
	ASSERT_EQ(0, next_event(dfd, PROMPT_MS, &ev));
	EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	EXPECT_EQ(-ETIMEDOUT, wait_child(op, 300));
	EXPECT_EQ(0, unpin(dfd, 1));
	EXPECT_EQ(0, wait_child(op, PROMPT_MS));
	close(dfd);
	close(sv[0]);
	close(sv[1]);
}

/*
 * An ordinary user given a daxpin file pins only what it can open for the
 * access it asks: the pin maps the file through the user's own descriptor.
 */
TEST_F(lifetime, unprivileged_needs_file_access)
{
	char buf[PAGE];
	int dfd, status;
	pid_t pid;

	memset(buf, 'd', sizeof(buf));
	ASSERT_EQ((ssize_t)PAGE, pwrite(self->ffd, buf, PAGE, 0));
	ASSERT_EQ(0, fchmod(self->ffd, 0644));	/* root's, readable by all */
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct daxpin_pin p;
		int ro;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (open(self->path, O_RDWR) >= 0 || errno != EACCES)
			_exit(11);
		ro = open(self->path, O_RDONLY);
		if (ro < 0)
			_exit(12);
		if (pin_range(dfd, ro, 0, PAGE, DAXPIN_PIN_WRITE, 0, NULL) != -EACCES)
			_exit(13);
		if (pin_range(dfd, ro, 0, PAGE, 0, 0, &p))
			_exit(14);
		_exit(unpin(dfd, p.out_handle) ? 15 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(dfd);
}

/* daxpin holds the pinned file: its file system cannot be unmounted. */
TEST_F(lifetime, pinned_file_keeps_fs_mounted)
{
	struct daxpin_pin p;
	int dfd = daxpin_open();

	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, pin_range(dfd, self->ffd, 0, PAGE, DAXPIN_PIN_WRITE, 0, &p));
	close(self->ffd);
	self->ffd = -1;
	EXPECT_EQ(-1, umount2(env_or_die("DAXPIN_DAX_DIR"), 0));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(0, unpin(dfd, p.out_handle));
	close(dfd);
}

/*
 * Reflink and dedupe onto a pinned file where the file system cannot share
 * extents (ext4): both are refused and the pin stays active. Where it can
 * (XFS made with reflink, mkfs's default), recall.clone_onto, clone_from
 * and dedupe_onto show them waiting for the pin like truncate.
 */
TEST_F(lifetime, reflink_and_dedupe_refused_without_reflink)
{
	struct file_dedupe_range *dr;
	struct daxpin_query q;
	struct daxpin_pin p;
	char src_path[4096], buf[PAGE];
	int dfd, src, ret;

	if (fs_shares_extents(env_or_die("DAXPIN_DAX_DIR")))
		SKIP(return, "%s shares extents: the recall.clone_* tests apply",
		     getenv("DAXPIN_FS"));
	memset(buf, 's', sizeof(buf));
	src = make_file(env_or_die("DAXPIN_DAX_DIR"), "lifetime-src", PAGE,
			src_path, sizeof(src_path));
	ASSERT_LE(0, src);
	ASSERT_EQ((ssize_t)PAGE, pwrite(src, buf, PAGE, 0));
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, pin_range(dfd, self->ffd, 0, PAGE, DAXPIN_PIN_WRITE, 0, &p));

	ret = ioctl(self->ffd, FICLONE, src);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EOPNOTSUPP, errno);

	dr = calloc(1, sizeof(*dr) + sizeof(struct file_dedupe_range_info));
	ASSERT_NE(NULL, dr);
	dr->src_offset = 0;
	dr->src_length = PAGE;
	dr->dest_count = 1;
	dr->info[0].dest_fd = self->ffd;
	dr->info[0].dest_offset = 0;
	ret = ioctl(src, FIDEDUPERANGE, dr);
	EXPECT_TRUE(ret == -1 ? errno == EOPNOTSUPP || errno == EINVAL :
		    dr->info[0].status < 0)
		TH_LOG("FIDEDUPERANGE: ret %d errno %d status %d", ret, errno,
		       dr->info[0].status);
	free(dr);

	ASSERT_EQ(0, query(dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
	EXPECT_EQ(0, unpin(dfd, p.out_handle));
	close(dfd);
	close(src);
	unlink(src_path);
}

/*
 * Blocks shared with another file (after a reflink) cannot be pinned: a
 * store through the pin would reach the other file. PIN refuses them, read
 * or write, before it faults anything in; unsharing them first
 * (FALLOC_FL_UNSHARE_RANGE) makes the range pinnable, and stores through
 * the pin then stay out of the clone.
 */
TEST_F(lifetime, shared_extents_refused)
{
	char clone_path[4096], buf[PAGE];
	struct daxpin_pin p;
	char *map;
	int dfd, clone;

	if (!fs_shares_extents(env_or_die("DAXPIN_DAX_DIR")))
		SKIP(return, "%s cannot share extents", getenv("DAXPIN_FS"));
	ASSERT_EQ(0, fill_file(self->ffd, 'a', 2 * PAGE));
	clone = make_file(env_or_die("DAXPIN_DAX_DIR"), "lifetime-clone", 0,
			  clone_path, sizeof(clone_path));
	ASSERT_LE(0, clone);
	ASSERT_EQ(0, ioctl(clone, FICLONE, self->ffd));
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);

	EXPECT_EQ(-ENODATA, pin_range(dfd, self->ffd, 0, PAGE, 0, 0, NULL));
	EXPECT_EQ(-ENODATA, pin_range(dfd, self->ffd, PAGE, PAGE,
				      DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(0, vm_pinned_kb());

	ASSERT_EQ(0, fallocate(self->ffd, FALLOC_FL_UNSHARE_RANGE, 0, PAGE));
	ASSERT_EQ(0, pin_range(dfd, self->ffd, 0, PAGE, DAXPIN_PIN_WRITE, 0,
			       &p));
	map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, dfd,
		   p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ('a', map[0]);
	memset(map, 'b', PAGE);
	ASSERT_EQ((ssize_t)PAGE, pread(clone, buf, PAGE, 0));
	EXPECT_EQ('a', buf[0]);
	EXPECT_EQ('a', buf[PAGE - 1]);
	ASSERT_EQ((ssize_t)PAGE, pread(self->ffd, buf, PAGE, 0));
	EXPECT_EQ('b', buf[0]);
	/* The second page is still shared. */
	EXPECT_EQ(-ENODATA, pin_range(dfd, self->ffd, 0, 2 * PAGE,
				      DAXPIN_PIN_WRITE, 0, NULL));

	munmap(map, PAGE);
	EXPECT_EQ(0, unpin(dfd, p.out_handle));
	close(dfd);
	close(clone);
	unlink(clone_path);
}

/*
 * PINs racing a process that keeps sharing blocks with the file (a reflink
 * onto it, or from it) and now and then rewrites it unshared. FIEMAP's
 * check for shared extents runs before PIN takes i_rwsem, so a reflink can
 * land in between: the populate must then meet shared (DAX copy-on-write)
 * pages without the kernel crashing (6.1 with CONFIG_DEBUG_VM: BUG in
 * GUP), spinning (6.12: GUP's unshare fault loops) or pinning a page that
 * is not the file's. Every PIN ends, as a pin, ENODATA (shared blocks) or
 * ENXIO (the file was cut short); pins that were made hold pages of the
 * file at their index (the driver checks).
 */
FIXTURE(reflink_race) {
	int ffd;
	char path[4096];
};

FIXTURE_VARIANT(reflink_race) {
	enum layout_op op;
	uint32_t flags;
};

FIXTURE_VARIANT_ADD(reflink_race, clone_onto_read) {
	.op = OP_CLONE_ONTO, .flags = 0,
};

FIXTURE_VARIANT_ADD(reflink_race, clone_onto_write) {
	.op = OP_CLONE_ONTO, .flags = DAXPIN_PIN_WRITE,
};

FIXTURE_VARIANT_ADD(reflink_race, clone_from_write) {
	.op = OP_CLONE_FROM, .flags = DAXPIN_PIN_WRITE,
};

FIXTURE_SETUP(reflink_race)
{
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "reflink-race", 0,
			      self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	ASSERT_EQ(0, fill_file(self->ffd, 'f', RACE_FILE));
}

FIXTURE_TEARDOWN(reflink_race)
{
	close(self->ffd);
	unlink(self->path);
}

/*
 * The race runs RACE_SECONDS, and on until both sides have succeeded at
 * least once (PIN of unshared blocks, a sharing operation), for at most
 * six times that: on a loaded host the debug kernel's PINs are few, and
 * all of them could meet shared blocks.
 */
TEST_F_TIMEOUT(reflink_race, pin_meets_shared_blocks_cleanly, 120)
{
	uint64_t start = now_ns(), end = start + RACE_SECONDS * 1000000000ull,
		 cap = start + 6 * RACE_SECONDS * 1000000000ull, t;
	unsigned int pinned = 0, refused = 0, short_file = 0;
	struct race_shared *race = race_shared_new(cap);
	struct daxpin_pin p;
	int dfd, ret, status;
	pid_t child;

	if (!fs_shares_extents(env_or_die("DAXPIN_DAX_DIR")))
		SKIP(return, "%s cannot share extents", getenv("DAXPIN_FS"));
	ASSERT_NE(NULL, race);
	dfd = daxpin_open();
	ASSERT_LE(0, dfd);
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		close(dfd);
		share_race_child(self->path, variant->op, race);
	}
	while ((t = now_ns()) < cap &&
	       (t < end || !pinned ||
		!__atomic_load_n(&race->shares, __ATOMIC_RELAXED))) {
		ret = pin_range(dfd, self->ffd, 0, RACE_LEN, variant->flags, 50,
				&p);
		if (ret == -ENODATA) {
			refused++;
			continue;
		}
		/* The child truncates the file before refilling it. */
		if (ret == -ENXIO) {
			short_file++;
			continue;
		}
		ASSERT_EQ(0, ret);
		pinned++;
		ASSERT_EQ(0, unpin(dfd, p.out_handle));
	}
	race_set_end(race, 0);
	close(dfd);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, status);
	TH_LOG("%.1f s: %u pins made, %u refused (shared), %u beyond EOF, %lu shares done",
	       (now_ns() - start) / 1e9, pinned, refused, short_file,
	       race->shares);
	/* Both sides ran, or the race was not tried. */
	EXPECT_LT(0U, pinned);
	EXPECT_LT(0UL, race->shares);
	EXPECT_EQ(0, vm_pinned_kb());
	munmap(race, sizeof(*race));
}

TEST_HARNESS_MAIN
