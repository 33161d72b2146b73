// SPDX-License-Identifier: GPL-2.0
/*
 * DAXPIN_PIN, DAXPIN_UNPIN, DAXPIN_QUERY and mmap() of pins: the good
 * paths, every refusal of semantics 5, accounting and handles.
 */
#include <sys/resource.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Every kernel and file system: what a pin allocates and refuses is the
 * file system's.
 */
DAXPIN_RUNS_ON(every);

#define FILE_SIZE (4 * 1024 * 1024UL)

FIXTURE(pin) {
	int dfd;
	int ffd;
	char path[4096];
};

FIXTURE_SETUP(pin)
{
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(env_or_die("DAXPIN_DAX_DIR"), "pin-test",
			      FILE_SIZE, self->path, sizeof(self->path));
	ASSERT_LE(0, self->ffd);
}

FIXTURE_TEARDOWN(pin)
{
	close(self->dfd);
	close(self->ffd);
	unlink(self->path);
}

TEST_F(pin, pin_query_unpin)
{
	struct daxpin_pin p;
	struct daxpin_query q;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PAGE, 16 * PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	EXPECT_NE(0u, p.out_handle);
	EXPECT_NE(0ull, p.out_mmap_offset);
	EXPECT_EQ(0ull, p.out_mmap_offset % PAGE);

	ASSERT_EQ(0, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ((__u32)DAXPIN_STATE_ACTIVE, q.out_state);
	EXPECT_EQ(PAGE, q.out_offset);
	EXPECT_EQ(16 * PAGE, q.out_length);
	EXPECT_EQ(p.out_mmap_offset, q.out_mmap_offset);
	EXPECT_EQ(0ull, q.out_deadline_ns);
	EXPECT_EQ((__u32)DAXPIN_PIN_WRITE, q.out_pin_flags);
	EXPECT_EQ((__u32)DAXPIN_REVOKE_NONE, q.out_revoke_reason);

	ASSERT_EQ(0, unpin(self->dfd, p.out_handle));
	EXPECT_EQ(-ENOENT, query(self->dfd, p.out_handle, &q));
	EXPECT_EQ(-ENOENT, unpin(self->dfd, p.out_handle));
}

/* Stores through the daxpin mapping land in the file, and the reverse. */
TEST_F(pin, map_reaches_the_file)
{
	struct daxpin_pin p;
	char buf[64];
	char *map;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, 8 * PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	map = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dfd, p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);

	strcpy(map + 3 * PAGE + 5, "through daxpin");
	ASSERT_EQ(64, pread(self->ffd, buf, 64, 3 * PAGE + 5));
	EXPECT_STREQ("through daxpin", buf);

	ASSERT_EQ(9, pwrite(self->ffd, "via file", 9, 7 * PAGE));
	EXPECT_STREQ("via file", map + 7 * PAGE);

	/* Part of a pin, from an offset inside it. */
	munmap(map, 8 * PAGE);
	map = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, self->dfd,
		   p.out_mmap_offset + 3 * PAGE);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_STREQ("through daxpin", map + 5);
	munmap(map, 2 * PAGE);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

/* mmap() and unmap at once: 0 if it mapped, else the errno. */
static int map_errno(int dfd, size_t len, int prot, int flags, uint64_t off)
{
	void *m = mmap(NULL, len, prot, flags, dfd, off);

	if (m == MAP_FAILED)
		return errno;
	munmap(m, len);
	return 0;
}

TEST_F(pin, map_refusals)
{
	struct daxpin_pin rw, ro;
	int other = daxpin_open();

	ASSERT_LE(0, other);
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, 8 * PAGE,
			       DAXPIN_PIN_WRITE, 0, &rw));	/* allocates */
	ASSERT_EQ(0, unpin(self->dfd, rw.out_handle));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, 4 * PAGE,
			       DAXPIN_PIN_WRITE, 0, &rw));
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 4 * PAGE, 4 * PAGE, 0, 0,
			       &ro));
	/* Past the end of the pin. */
	EXPECT_EQ(EINVAL, map_errno(self->dfd, 5 * PAGE, PROT_READ, MAP_SHARED,
				    rw.out_mmap_offset));
	/* Private mappings. */
	EXPECT_EQ(EINVAL, map_errno(self->dfd, PAGE, PROT_READ, MAP_PRIVATE,
				    rw.out_mmap_offset));
	/* Writable mapping of a read-only pin, and mprotect to writable. */
	EXPECT_EQ(EACCES, map_errno(self->dfd, PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED, ro.out_mmap_offset));
	{
		void *m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->dfd,
			       ro.out_mmap_offset);

		ASSERT_NE(MAP_FAILED, m);
		EXPECT_EQ(-1, mprotect(m, PAGE, PROT_READ | PROT_WRITE));
		EXPECT_EQ(EACCES, errno);
		munmap(m, PAGE);
	}
	/* Another daxpin file's pin, and an offset no pin has. */
	EXPECT_EQ(EINVAL, map_errno(other, PAGE, PROT_READ, MAP_SHARED,
				    rw.out_mmap_offset));
	EXPECT_EQ(EINVAL, map_errno(self->dfd, PAGE, PROT_READ, MAP_SHARED, 0));
	close(other);
}

TEST_F(pin, unpin_zaps_mappings)
{
	struct daxpin_pin p;
	char *map;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, 4 * PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	map = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
		   self->dfd, p.out_mmap_offset);
	ASSERT_NE(MAP_FAILED, map);
	map[0] = 1;
	EXPECT_EQ(0, touch_sigbus(map, 0));
	ASSERT_EQ(0, unpin(self->dfd, p.out_handle));
	EXPECT_EQ(1, touch_sigbus(map, 0));
	EXPECT_EQ(1, touch_sigbus(map + 3 * PAGE, 0));
	/* A new mapping of the old offset is refused. */
	EXPECT_EQ(EINVAL, map_errno(self->dfd, PAGE, PROT_READ, MAP_SHARED,
				    p.out_mmap_offset));
	munmap(map, 4 * PAGE);
}

/* Holes are allocated by a writable pin: the block map is static. */
TEST_F(pin, write_pin_allocates)
{
	struct daxpin_pin p;
	struct stat st;

	ASSERT_EQ(0, fstat(self->ffd, &st));
	EXPECT_EQ(0, st.st_blocks);
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, 64 * PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	ASSERT_EQ(0, fstat(self->ffd, &st));
	EXPECT_LE(64 * PAGE / 512, (unsigned long)st.st_blocks);
	/* SEEK_HOLE finds no hole inside the pinned range. */
	EXPECT_LE((off_t)(64 * PAGE), lseek(self->ffd, 0, SEEK_HOLE));
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

/* A read-only pin cannot allocate: a hole is refused, data is fine. */
TEST_F(pin, read_pin_needs_written_blocks)
{
	struct daxpin_pin p;
	char buf[PAGE];
	int ro;

	memset(buf, 0x5a, sizeof(buf));
	ASSERT_EQ((ssize_t)PAGE, pwrite(self->ffd, buf, PAGE, 0));
	fsync(self->ffd);
	ro = open(self->path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-ENODATA, pin_range(self->dfd, ro, PAGE, PAGE, 0, 0, NULL));
	ASSERT_EQ(0, pin_range(self->dfd, ro, 0, PAGE, 0, 0, &p));
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	close(ro);
}

TEST_F(pin, bad_input)
{
	struct daxpin_pin p = { .size = sizeof(p), .file_fd = self->ffd,
				.length = PAGE, .flags = DAXPIN_PIN_WRITE };
	char nodax[4096];
	int fd, ro, dir;
	unsigned int bit;

	/* Unknown flags, reserved field. */
	for (bit = 1; bit < 32; bit++) {
		p.flags = DAXPIN_PIN_WRITE | (1u << bit);
		EXPECT_EQ(-EOPNOTSUPP, ioctl_err(self->dfd, DAXPIN_PIN, &p));
	}
	p.flags = DAXPIN_PIN_WRITE;
	p.__reserved = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->dfd, DAXPIN_PIN, &p));
	p.__reserved = 0;

	EXPECT_EQ(-EINVAL, pin_range(self->dfd, self->ffd, 0, 0, DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(-EINVAL, pin_range(self->dfd, self->ffd, 1, PAGE, DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(-EINVAL, pin_range(self->dfd, self->ffd, 0, PAGE + 1, DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(-EOVERFLOW, pin_range(self->dfd, self->ffd, -PAGE, 2 * PAGE,
					DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(-ENXIO, pin_range(self->dfd, self->ffd, FILE_SIZE - PAGE,
				    2 * PAGE, DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(-ENXIO, pin_range(self->dfd, self->ffd, FILE_SIZE, PAGE,
				    DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(-EINVAL, pin_range(self->dfd, self->ffd, 0, PAGE, DAXPIN_PIN_WRITE,
				     module_param_read("max_deadline_ms") + 1, NULL));
	EXPECT_EQ(-EBADF, pin_range(self->dfd, -1, 0, PAGE, 0, 0, NULL));
	EXPECT_EQ(-EBADF, pin_range(self->dfd, 4000, 0, PAGE, 0, 0, NULL));

	/* A directory, a non-DAX file, the daxpin device itself. */
	dir = open(env_or_die("DAXPIN_DAX_DIR"), O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, dir);
	EXPECT_EQ(-EINVAL, pin_range(self->dfd, dir, 0, PAGE, 0, 0, NULL));
	close(dir);
	EXPECT_EQ(-EINVAL, pin_range(self->dfd, self->dfd, 0, PAGE, 0, 0, NULL));
	fd = make_file(env_or_die("DAXPIN_NODAX_DIR"), "pin-nodax", FILE_SIZE,
		       nodax, sizeof(nodax));
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENODEV, pin_range(self->dfd, fd, 0, PAGE, DAXPIN_PIN_WRITE, 0, NULL));
	close(fd);
	unlink(nodax);

	/* The access asked must be the access the file was opened for. */
	ro = open(self->path, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EACCES, pin_range(self->dfd, ro, 0, PAGE, DAXPIN_PIN_WRITE, 0, NULL));
	close(ro);
	fd = open(self->path, O_WRONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EACCES, pin_range(self->dfd, fd, 0, PAGE, 0, 0, NULL));
	close(fd);

	/* Handles: never made, zero. */
	EXPECT_EQ(-ENOENT, unpin(self->dfd, 12345));
	EXPECT_EQ(-ENOENT, unpin(self->dfd, 0));
}

/* Refusals change nothing: no handle, no charge, no blocks. */
TEST_F(pin, refusal_changes_nothing)
{
	long before = vm_pinned_kb();
	struct daxpin_pin p;
	struct stat st;

	EXPECT_EQ(-ENXIO, pin_range(self->dfd, self->ffd, 0, FILE_SIZE + PAGE,
				    DAXPIN_PIN_WRITE, 0, NULL));
	EXPECT_EQ(before, vm_pinned_kb());
	ASSERT_EQ(0, fstat(self->ffd, &st));
	EXPECT_EQ(0, st.st_blocks);
	/* The first handle is still 1: nothing was allocated. */
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE, DAXPIN_PIN_WRITE, 0, &p));
	EXPECT_EQ(1u, p.out_handle);
}

TEST_F(pin, handles_are_per_file)
{
	struct daxpin_pin p;
	struct daxpin_query q;
	int other = daxpin_open();

	ASSERT_LE(0, other);
	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE, DAXPIN_PIN_WRITE, 0, &p));
	EXPECT_EQ(-ENOENT, query(other, p.out_handle, &q));
	EXPECT_EQ(-ENOENT, unpin(other, p.out_handle));
	EXPECT_EQ(0, query(self->dfd, p.out_handle, &q));
	close(other);
}

TEST_F(pin, accounting)
{
	long before = vm_pinned_kb();
	struct daxpin_pin p[4];
	int i;

	ASSERT_LE(0, before);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pin_range(self->dfd, self->ffd, i * 64 * PAGE,
				       64 * PAGE, DAXPIN_PIN_WRITE, 0, &p[i]));
	EXPECT_EQ(before + 4 * 64 * 4, vm_pinned_kb());
	EXPECT_EQ(0, unpin(self->dfd, p[0].out_handle));
	EXPECT_EQ(before + 3 * 64 * 4, vm_pinned_kb());
	/* Closing the daxpin file ends the rest. */
	close(self->dfd);
	self->dfd = daxpin_open();
	EXPECT_EQ(before, vm_pinned_kb());
}

/* RLIMIT_MEMLOCK applies without CAP_IPC_LOCK, as for ibv_reg_mr(). */
TEST_F(pin, memlock_limit)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl = { 16 * PAGE, 16 * PAGE };
		struct daxpin_pin p;

		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(10);
		/* Drop every capability but keep the open files. */
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(11);
		if (pin_range(self->dfd, self->ffd, 0, 17 * PAGE,
			      DAXPIN_PIN_WRITE, 0, NULL) != -ENOMEM)
			_exit(12);
		if (pin_range(self->dfd, self->ffd, 0, 16 * PAGE,
			      DAXPIN_PIN_WRITE, 0, &p))
			_exit(13);
		if (pin_range(self->dfd, self->ffd, 16 * PAGE, PAGE,
			      DAXPIN_PIN_WRITE, 0, NULL) != -ENOMEM)
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_F(pin, max_pins)
{
	long max = module_param_read("max_pins");
	struct daxpin_pin p;
	char old[32];
	int i;

	ASSERT_LT(0, max);
	ASSERT_EQ(0, module_param_write("max_pins", "3"));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, pin_range(self->dfd, self->ffd, i * PAGE, PAGE,
				       DAXPIN_PIN_WRITE, 0, &p));
	EXPECT_EQ(-ENOSPC, pin_range(self->dfd, self->ffd, 3 * PAGE, PAGE,
				     DAXPIN_PIN_WRITE, 0, NULL));
	snprintf(old, sizeof(old), "%ld", max);
	ASSERT_EQ(0, module_param_write("max_pins", old));
	EXPECT_EQ(0, pin_range(self->dfd, self->ffd, 3 * PAGE, PAGE,
			       DAXPIN_PIN_WRITE, 0, NULL));
}

/*
 * Per user: max_pins_per_user pins in all its daxpin files, and
 * max_windows_per_user keeper windows (one per GiB of a file with pins),
 * so that no user can take all of the module's mmap offsets or the host
 * mm's VMAs. Another user has its own count; a pin given back counts no
 * more.
 */
TEST_F(pin, limits_per_user)
{
	long pins_max = module_param_read("max_pins_per_user");
	long windows_max = module_param_read("max_windows_per_user");
	const bool xfs = !strcmp(getenv("DAXPIN_FS") ?: "", "xfs");
	struct daxpin_pin p, q;
	char path[4096], value[32];
	int dfd2, sparse, status, ret;
	long scratch_max;
	pid_t child;

	ASSERT_LT(0, pins_max) TH_LOG("no max_pins_per_user parameter");
	ASSERT_LT(0, windows_max) TH_LOG("no max_windows_per_user parameter");
	/* Blocks: read-only pins need them. */
	ASSERT_EQ(0, fill_file(self->ffd, 'u', 8 * PAGE));
	dfd2 = daxpin_open();
	ASSERT_LE(0, dfd2);
	ASSERT_EQ(0, module_param_write("max_pins_per_user", "3"));
	EXPECT_EQ(0, pin_range(self->dfd, self->ffd, 0, PAGE, 0, 0, &p));
	EXPECT_EQ(0, pin_range(self->dfd, self->ffd, PAGE, PAGE, 0, 0, NULL));
	EXPECT_EQ(0, pin_range(dfd2, self->ffd, 2 * PAGE, PAGE, 0, 0, NULL));
	EXPECT_EQ(-ENOSPC, pin_range(dfd2, self->ffd, 3 * PAGE, PAGE, 0, 0,
				     NULL));
	/* Another user counts its own. */
	ASSERT_EQ(0, fchmod(self->ffd, 0644));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		int ro;

		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		ro = open(self->path, O_RDONLY);
		_exit(ro < 0 ? 11 :
		      pin_range(dfd2, ro, 4 * PAGE, PAGE, 0, 0, NULL) ? 12 : 0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("another user's PIN");
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
	EXPECT_EQ(0, pin_range(dfd2, self->ffd, 3 * PAGE, PAGE, 0, 0, NULL));
	snprintf(value, sizeof(value), "%ld", pins_max);
	ASSERT_EQ(0, module_param_write("max_pins_per_user", value));
	close(dfd2);
	/* Every pin of this user goes, and with them their windows. */
	close(self->dfd);
	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);

	/* Windows: a page at 0 and one at 1 GiB of a sparse file take two. */
	sparse = make_file(env_or_die("DAXPIN_DAX_DIR"), "pin-limits-sparse",
			   (1UL << 30) + 2 * PAGE, path, sizeof(path));
	ASSERT_LE(0, sparse);
	ASSERT_EQ(0, module_param_write("max_windows_per_user", "1"));
	EXPECT_EQ(0, pin_range(self->dfd, sparse, 0, PAGE, DAXPIN_PIN_WRITE,
			       0, &q));
	EXPECT_EQ(-ENOSPC, pin_range(self->dfd, sparse, 1UL << 30, PAGE,
				     DAXPIN_PIN_WRITE, 0, NULL));
	/* The same window again costs nothing. */
	EXPECT_EQ(0, pin_range(self->dfd, sparse, PAGE, PAGE,
			       DAXPIN_PIN_WRITE, 0, NULL));
	snprintf(value, sizeof(value), "%ld", windows_max);
	ASSERT_EQ(0, module_param_write("max_windows_per_user", value));
	EXPECT_EQ(0, pin_range(self->dfd, sparse, 1UL << 30, PAGE,
			       DAXPIN_PIN_WRITE, 0, NULL));
	close(sparse);
	unlink(path);

	/*
	 * PIN's check for shared blocks (FIEMAP on a worker; on XFS only,
	 * ext4 shares no blocks): a user with max_scratch_calls_per_user of
	 * them under way gets ENOSPC. At 0, every check is over the limit.
	 */
	scratch_max = module_param_read("max_scratch_calls_per_user");
	ASSERT_LT(0, scratch_max)
		TH_LOG("no max_scratch_calls_per_user parameter");
	ASSERT_EQ(0, module_param_write("max_scratch_calls_per_user", "0"));
	ret = pin_range(self->dfd, self->ffd, 4 * PAGE, PAGE, 0, 0, NULL);
	snprintf(value, sizeof(value), "%ld", scratch_max);
	ASSERT_EQ(0, module_param_write("max_scratch_calls_per_user", value));
	EXPECT_EQ(xfs ? -ENOSPC : 0, ret);
	EXPECT_EQ(0, pin_range(self->dfd, self->ffd, 5 * PAGE, PAGE, 0, 0,
			       NULL));
}

/* Many pins, overlapping, from two daxpin files and two processes. */
/* Functional, not a benchmark: the KASAN kernel under emulation is slow. */
TEST_F_TIMEOUT(pin, many_overlapping, 300)
{
	struct daxpin_pin p;
	pid_t pid;
	int i, status;

	for (i = 0; i < 500; i++)
		ASSERT_EQ(0, pin_range(self->dfd, self->ffd, (i % 50) * PAGE,
				       8 * PAGE, DAXPIN_PIN_WRITE, 0, &p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int dfd = daxpin_open();

		for (i = 0; i < 200; i++)
			if (pin_range(dfd, self->ffd, (i % 40) * PAGE, 16 * PAGE,
				      DAXPIN_PIN_WRITE, 0, NULL))
				_exit(1);
		_exit(0);	/* exit ends them all */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	for (i = 1; i <= 500; i += 7)
		EXPECT_EQ(0, unpin(self->dfd, i));
}

/* /proc/daxpin lists every pin with its owner, file, range and state. */
TEST_F(pin, proc_listing)
{
	char want[4200], line[4400];
	struct daxpin_pin p;
	int found = 0;
	FILE *f;

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, 2 * PAGE, 4 * PAGE,
			       DAXPIN_PIN_WRITE, 0, &p));
	/* The path, then the age (appended after it, docs/ioctl.md). */
	snprintf(want, sizeof(want), "%s ", self->path);
	f = fopen("/proc/daxpin", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		int pid;
		unsigned int handle;
		char state[16];
		unsigned long long off, len, mem;

		if (!strstr(line, want))
			continue;
		ASSERT_EQ(6, sscanf(line, "%d %u %15s %*s %llx %llx %*s %*d %*u %llu",
				    &pid, &handle, state, &off, &len, &mem));
		EXPECT_EQ(getpid(), pid);
		EXPECT_EQ(p.out_handle, handle);
		EXPECT_STREQ("active", state);
		EXPECT_EQ(2 * PAGE, off);
		EXPECT_EQ(4 * PAGE, len);
		/* Its structure and a few runs of pages: well below a page. */
		EXPECT_LT(0ULL, mem);
		EXPECT_GT(PAGE, mem);
		found++;
	}
	fclose(f);
	EXPECT_EQ(1, found);
	EXPECT_EQ(0, unpin(self->dfd, p.out_handle));
}

TEST_HARNESS_MAIN
