// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/daxpin itself: the node, open and close, the ioctl dispatcher's
 * checks (unknown commands, struct sizes, flags, reserved fields), the INFO
 * command, and module unload while a file is open.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * Once per kernel: the device node and module life: the kernel's, not the
 * file system's.
 */
DAXPIN_RUNS_ON(kernel);

#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))

/* Every command, for the checks that apply to all of them. */
static const struct {
	const char *name;
	unsigned long ioctl;
	size_t size;
	size_t min_size;
} commands[] = {
#define CMD(_ioctl, _struct, _last) \
	{ #_ioctl, _ioctl, sizeof(_struct), offsetofend(_struct, _last) }
	CMD(DAXPIN_INFO, struct daxpin_info, features),
	CMD(DAXPIN_PIN, struct daxpin_pin, out_mmap_offset),
	CMD(DAXPIN_UNPIN, struct daxpin_unpin, __reserved),
	CMD(DAXPIN_QUERY, struct daxpin_query, out_revoke_reason),
	CMD(DAXPIN_SET_EVENTFD, struct daxpin_set_eventfd, __reserved),
	CMD(DAXPIN_EXPORT_DMABUF, struct daxpin_export_dmabuf, __reserved2),
#undef CMD
};

FIXTURE(device) {
	int fd;
	uint8_t *pages;	/* a readable page, then an inaccessible one */
	long page_size;
};

/* A zeroed struct claiming @size bytes of which only the first 8 exist. */
static void *at_guard_page(FIXTURE_DATA(device) *self, size_t size)
{
	uint8_t *p = self->pages + self->page_size - 8;

	memset(p, 0, 8);
	memcpy(p, &(__u32){ size }, sizeof(__u32));
	return p;
}

FIXTURE_SETUP(device)
{
	self->fd = open(DAXPIN_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
	self->page_size = sysconf(_SC_PAGESIZE);
	self->pages = mmap(NULL, 2 * self->page_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->pages);
	ASSERT_EQ(0, mprotect(self->pages + self->page_size, self->page_size,
			      PROT_NONE));
}

FIXTURE_TEARDOWN(device)
{
	munmap(self->pages, 2 * self->page_size);
	close(self->fd);
}

TEST_F(device, info)
{
	struct daxpin_info info;

	ASSERT_EQ(0, daxpin_get_info(self->fd, &info));
	EXPECT_EQ((__u32)DAXPIN_API_VERSION, info.api_version);
	/* The bench loads the module with test_hooks=1. */
	EXPECT_EQ(module_param_read("test_hooks"),
		  (long)!!(info.features & DAXPIN_FEATURE_TEST_HOOKS));
	/*
	 * From 6.15 on a pin's mapping cannot be registered by a pinning
	 * ibv_reg_mr() (rdma.c shows both sides).
	 */
	ASSERT_LE(0, kernel_at_least(6, 15));
	EXPECT_EQ((__u64)(DAXPIN_FEATURE_PIN | DAXPIN_FEATURE_EVENTFD |
			  DAXPIN_FEATURE_DMABUF |
			  (kernel_at_least(6, 15) ? 0 :
			   DAXPIN_FEATURE_MAP_REGISTRABLE)),
		  info.features & ~(__u64)DAXPIN_FEATURE_TEST_HOOKS);
}

TEST_F(device, info_flags_and_reserved)
{
	struct daxpin_info info = { .size = sizeof(info) };
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		info.flags = 1u << bit;
		info.api_version = 0xdead;
		EXPECT_EQ(-EOPNOTSUPP, ioctl_err(self->fd, DAXPIN_INFO, &info));
		EXPECT_EQ(0xdeadu, info.api_version); /* nothing written */
	}
	info.flags = 0;
	info.__reserved = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(self->fd, DAXPIN_INFO, &info));
	EXPECT_EQ(0xdeadu, info.api_version);
	info.__reserved = 0;
	EXPECT_EQ(0, ioctl_err(self->fd, DAXPIN_INFO, &info));
	EXPECT_EQ((__u32)DAXPIN_API_VERSION, info.api_version);
}

/* The extensible-struct rules, for every command. */
TEST_F(device, command_lengths)
{
	union {
		struct daxpin_info info;
		uint8_t bytes[512];
	} buf;
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		size_t size = commands[i].size;
		int exact, bigger;

		TH_LOG("%s", commands[i].name);
		ASSERT_LT(size + 8, sizeof(buf));

		memset(&buf, 0, sizeof(buf));
		buf.info.size = 0;
		EXPECT_EQ(-EINVAL, ioctl_err(self->fd, commands[i].ioctl, &buf));
		buf.info.size = commands[i].min_size - 1;
		EXPECT_EQ(-EINVAL, ioctl_err(self->fd, commands[i].ioctl, &buf));

		memset(&buf, 0, sizeof(buf));
		buf.info.size = size;
		exact = ioctl_err(self->fd, commands[i].ioctl, &buf);
		/* Unknown trailing bytes that are zero change nothing ... */
		memset(&buf, 0, sizeof(buf));
		buf.info.size = size + 8;
		bigger = ioctl_err(self->fd, commands[i].ioctl, &buf);
		EXPECT_EQ(exact, bigger);
		/* ... and any that is not zero is refused. */
		memset(&buf, 0, sizeof(buf));
		buf.info.size = size + 8;
		buf.bytes[size + 7] = 1;
		EXPECT_EQ(-E2BIG, ioctl_err(self->fd, commands[i].ioctl, &buf));
		/* A struct that runs into unmapped memory is a fault. */
		EXPECT_EQ(-EFAULT, ioctl_err(self->fd, commands[i].ioctl,
					     at_guard_page(self, size + 8)));
		EXPECT_EQ(-EFAULT, ioctl_err(self->fd, commands[i].ioctl, NULL));
	}
}

TEST_F(device, unknown_commands_are_enotty)
{
	struct daxpin_info info = { .size = sizeof(info) };
	unsigned long bad[] = {
		_IO(DAXPIN_TYPE, DAXPIN_CMD_BASE - 1),
		_IO(DAXPIN_TYPE, DAXPIN_CMD_BASE + 0x40),
		_IO(DAXPIN_TYPE, 0),
		_IO(DAXPIN_TYPE, 0xff),
		_IO(DAXPIN_TYPE + 1, DAXPIN_CMD_INFO),
		/* The right number with the wrong direction or size bits. */
		_IOWR(DAXPIN_TYPE, DAXPIN_CMD_INFO, struct daxpin_info),
		_IOR(DAXPIN_TYPE, DAXPIN_CMD_INFO, __u32),
		/* Commands of other drivers. */
		FIONREAD, TCGETS,
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long cmd = bad[i];

		EXPECT_EQ(-ENOTTY, ioctl_err(self->fd, cmd, &info))
			TH_LOG("ioctl %#lx", cmd);
	}
}

TEST(open_close_many)
{
	int fds[256], i;

	for (i = 0; i < 256; i++) {
		fds[i] = daxpin_open();
		ASSERT_LE(0, fds[i]) TH_LOG("open %d: %s", i, strerror(-fds[i]));
	}
	for (i = 0; i < 256; i++)
		ASSERT_EQ(0, close(fds[i]));
}

TEST(device_node)
{
	long mode = module_param_read("dev_mode");
	struct stat st;

	ASSERT_EQ(0, stat(DAXPIN_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(10u, major(st.st_rdev)); /* a misc device */
	EXPECT_EQ(0u, st.st_uid);
	ASSERT_NE(-1, mode);
	EXPECT_EQ(0600, mode); /* the default */
	EXPECT_EQ(mode, (long)(st.st_mode & 07777));
}

/* With the default mode 0600 an ordinary user cannot open the device. */
TEST(unprivileged_open_refused)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		if (open(DAXPIN_DEVICE_PATH, O_RDWR) >= 0)
			_exit(3);
		_exit(errno == EACCES ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * An open file holds the module: delete_module() refuses with EWOULDBLOCK
 * and the module keeps working. (The bench unloads it for real at the end,
 * after every file is closed.)
 */
TEST(unload_refused_while_open)
{
	struct daxpin_info info;
	int fd = daxpin_open();

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "daxpin", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(0, access("/sys/module/daxpin", F_OK));
	EXPECT_EQ(0, daxpin_get_info(fd, &info));
	EXPECT_EQ(0, close(fd));
}

TEST_HARNESS_MAIN
