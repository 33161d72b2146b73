// SPDX-License-Identifier: GPL-2.0
/*
 * Seeing pins: what /proc/PID/fdinfo of a daxpin file shows its owner
 * (docs/ioctl.md, "fdinfo").
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "common.h"

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
	char access[8], state[16];
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
			    sscanf(line, "daxpin-pin:\thandle=%u dev=%u:%u ino=%llu offset=%llx length=%llx access=%7s state=%15s deadline_left_ms=%lld revoke_reason=%u age_ms=%llu%n",
				   &p->handle, &p->maj, &p->min, &p->ino,
				   &p->off, &p->len, p->access, p->state,
				   &p->left_ms, &p->reason, &p->age_ms,
				   &end) == 11 && !line[end])
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

TEST_HARNESS_MAIN
