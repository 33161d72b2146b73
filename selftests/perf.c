// SPDX-License-Identifier: GPL-2.0
/*
 * perf sees daxpin's tracepoints: `perf record -e daxpin:recall` of a
 * truncate of a pinned file records the recall, with the file and the
 * pin's handle (README.md, "Seeing pins"; docs/ioctl.md, "Tracepoints").
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "common.h"

/*
 * One configuration: perf reads the tracepoint through perf_event_open(),
 * an ABI no kernel changes; that the tracepoints fire on each kernel is
 * admin.tracepoints_fire's to show.
 */
DAXPIN_RUNS_ON(one);

#define FILE_SIZE	(4 * 1024 * 1024UL)
/* A pin in the upper half: a truncate to half the size recalls it. */
#define PIN_OFF		(3 * 1024 * 1024UL)
#define LONG_DEADLINE	60000

FIXTURE(perf) {
	int dfd;
	int ffd;
	char path[4096];
	struct stat st;
};

FIXTURE_SETUP(perf)
{
	const char *dir = env_or_die("DAXPIN_DAX_DIR");

	self->dfd = daxpin_open();
	ASSERT_LE(0, self->dfd);
	self->ffd = make_file(dir, "perf-test", FILE_SIZE, self->path,
			      sizeof(self->path));
	ASSERT_LE(0, self->ffd);
	ASSERT_EQ(0, fill_file(self->ffd, 'a', FILE_SIZE));
	ASSERT_EQ(0, fstat(self->ffd, &self->st));
}

FIXTURE_TEARDOWN(perf)
{
	close(self->dfd);
	close(self->ffd);
	unlink(self->path);
}

/*
 * `perf record -e daxpin:recall` of a truncate sees the recall: it fires
 * in the truncating task. Debian's perf comes from the host's root file
 * system, which the guest shares; it starts slowly under emulation (a
 * large program and its libraries over 9p: 45 to 110 s measured on a
 * loaded 2-CPU host), hence the long waits.
 */
TEST_F_TIMEOUT(perf, record_sees_recall, 400)
{
	char data[4200], log[4200], script[4200], want[128];
	char *const version_argv[] = { "perf", "version", NULL };
	char *const script_argv[] = { "perf", "script", "-i", data, NULL };
	struct daxpin_event ev;
	struct daxpin_pin pin;
	char buf[8192];
	pid_t child;
	int status;
	uint64_t t0;

	if (access("/usr/bin/perf", X_OK))
		SKIP(return, "no /usr/bin/perf (Debian's linux-perf)");
	snprintf(data, sizeof(data), "%s.perf.data", self->path);
	snprintf(log, sizeof(log), "%s.perf.log", self->path);
	snprintf(script, sizeof(script), "%s.perf.script", self->path);
	status = run_prog(version_argv, log);
	if (status) {
		read_small_file(log, buf, sizeof(buf));
		SKIP(return, "perf does not run here (status %#x): %.300s",
		     status, buf);
	}

	ASSERT_EQ(0, pin_range(self->dfd, self->ffd, PIN_OFF, PAGE,
			       DAXPIN_PIN_WRITE, LONG_DEADLINE, &pin));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		char size[32];
		char *const argv[] = {
			"perf", "record", "-q", "-e", "daxpin:recall",
			"-o", data, "--", "truncate", "-s", size, self->path,
			NULL
		};

		snprintf(size, sizeof(size), "%lu", FILE_SIZE / 2);
		_exit(run_prog(argv, log) ? 1 : 0);
	}
	/* The holder unpins as soon as it hears of the recall. */
	t0 = now_ns();
	status = next_event(self->dfd, 200000, &ev);
	EXPECT_EQ(0, status);
	if (!status)
		EXPECT_EQ((__u32)DAXPIN_EVENT_RECALL, ev.type);
	TH_LOG("perf record started the truncate in %llu ms",
	       (unsigned long long)(now_ns() - t0) / 1000000);
	EXPECT_EQ(0, unpin(self->dfd, pin.out_handle));
	status = wait_child(child, 120000);
	if (status) {
		if (read_small_file(log, buf, sizeof(buf)) < 0)
			strcpy(buf, "(no output)");
		TH_LOG("perf record: status %#x: %s", status, buf);
		if (status == -ETIMEDOUT)
			kill(child, SIGKILL);
	}
	ASSERT_EQ(0, status);
	ASSERT_EQ(0, run_prog(script_argv, script));
	ASSERT_LT(0, read_small_file(script, buf, sizeof(buf)));
	snprintf(want, sizeof(want), "daxpin:recall: dev=%u:%u ino=%llu ",
		 major(self->st.st_dev), minor(self->st.st_dev),
		 (unsigned long long)self->st.st_ino);
	EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("perf script:\n%s", buf);
	snprintf(want, sizeof(want), "handle=%u ", pin.out_handle);
	EXPECT_NE(NULL, strstr(buf, want));
	unlink(data);
	unlink(log);
	unlink(script);
}

TEST_HARNESS_MAIN
