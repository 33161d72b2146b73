/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * daxpin-bench: what `make benchmark` runs in a guest. Not a test: it
 * prints figures, each with a baseline measured in the same run, because
 * the machines are shared and noisy and only ratios mean anything.
 *
 *   1. PIN and UNPIN cost, 4 KiB to 1 GiB, 2 MiB-aligned and not, against
 *      faulting the same range in through a plain mapping of the file;
 *   2. recall latency (truncate() called -> holder's poll() returns)
 *      against a pipe wake-up between the same two processes;
 *   3. PIN+UNPIN cost with 10 and with 100,000 pins on the daxpin file.
 *
 * Needs DAXPIN_DAX_DIR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libdaxpin.h"

#define MIB (1024UL * 1024)

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

/* Fault [off, off+len) in through a plain shared mapping, writing. */
static double plain_fault_us(int ffd, off_t off, size_t len)
{
	double t0 = now_us();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, off);
	size_t i;

	if (p == MAP_FAILED)
		die("mmap", errno);
	for (i = 0; i < len; i += 4096)
		p[i] = p[i];
	munmap(p, len);
	return now_us() - t0;
}

static void pin_cost(int dfd, int ffd)
{
	static const size_t sizes[] = { 4096, 64 * 1024, 2 * MIB, 32 * MIB,
					256 * MIB, 1024 * MIB };
	unsigned int i, a;

	printf("\n1. PIN and UNPIN cost (range already allocated), mean of n runs\n");
	printf("%-9s %-9s %5s %12s %12s %14s %12s\n", "size", "offset", "n",
	       "pin us", "unpin us", "plain fault us", "pin/plain");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (a = 0; a < 2; a++) {
			off_t off = a ? 2 * MIB + 4096 : 2 * MIB;
			int n = sizes[i] >= 256 * MIB ? 2 : sizes[i] >= 32 * MIB ? 5 : 50;
			double pin = 0, unpin = 0, plain = 0, t;
			uint32_t h;
			int r, ret;

			for (r = 0; r < n; r++) {
				t = now_us();
				ret = daxpin_pin(dfd, ffd, off, sizes[i],
						 DAXPIN_PIN_WRITE, 0, &h, NULL);
				if (ret)
					die("DAXPIN_PIN", -ret);
				pin += now_us() - t;
				t = now_us();
				daxpin_unpin(dfd, h);
				unpin += now_us() - t;
				plain += plain_fault_us(ffd, off, sizes[i]);
			}
			printf("%-9zu %-9s %5d %12.1f %12.1f %14.1f %12.2f\n",
			       sizes[i], a ? "+4 KiB" : "2 MiB", n, pin / n,
			       unpin / n, plain / n, pin / plain);
		}
	}
}

static void recall_latency(int dfd, int ffd, const char *path)
{
	double recall = 0, pipe_us = 0;
	int rounds = 20, r;

	for (r = 0; r < rounds; r++) {
		struct pollfd pfd = { .fd = dfd, .events = POLLIN };
		struct daxpin_event ev;
		int tp[2], pp[2], status;
		double t_call, t_ret;
		uint32_t h;
		pid_t pid;

		if (ftruncate(ffd, 4 * MIB) || daxpin_pin(dfd, ffd, 0, 4 * MIB,
							  DAXPIN_PIN_WRITE, 0, &h, NULL))
			die("setup", errno);
		if (pipe(tp) || pipe(pp))
			die("pipe", errno);
		pid = fork();
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
			pipe_us += t_ret - t_call;
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
		recall += t_ret - t_call;
		daxpin_unpin(dfd, h);
		waitpid(pid, &status, 0);
		close(tp[0]); close(tp[1]); close(pp[0]); close(pp[1]);
	}
	printf("\n2. Recall latency, mean of %d rounds\n", rounds);
	printf("   truncate() called -> holder's poll() returns: %10.1f us\n",
	       recall / rounds);
	printf("   pipe write -> other process's poll() returns: %10.1f us\n",
	       pipe_us / rounds);
	printf("   ratio recall / pipe: %.1f\n", recall / pipe_us);
}

static double pin_unpin_us(int dfd, int ffd, int n)
{
	double t0 = now_us();
	uint32_t h;
	int i;

	for (i = 0; i < n; i++) {
		if (daxpin_pin(dfd, ffd, (i % 64) * 4096, 4096, DAXPIN_PIN_WRITE,
			       0, &h, NULL))
			die("DAXPIN_PIN", errno);
		daxpin_unpin(dfd, h);
	}
	return (now_us() - t0) / n;
}

static void many_pins(int ffd)
{
	static const int counts[] = { 10, 100000 };
	double cost[2];
	unsigned int c;

	for (c = 0; c < 2; c++) {
		int dfd = daxpin_open(), i;
		uint32_t h;

		if (dfd < 0)
			die("open", -dfd);
		for (i = 0; i < counts[c]; i++)
			if (daxpin_pin(dfd, ffd, (i % 256) * 4096, 4096,
				       DAXPIN_PIN_WRITE, 0, &h, NULL))
				die("DAXPIN_PIN (filling)", errno);
		cost[c] = pin_unpin_us(dfd, ffd, 2000);
		close(dfd);
	}
	printf("\n3. PIN+UNPIN of one 4 KiB pin, mean of 2000\n");
	printf("   with %6d pins on the daxpin file: %8.1f us\n", counts[0], cost[0]);
	printf("   with %6d pins on the daxpin file: %8.1f us\n", counts[1], cost[1]);
	printf("   ratio: %.2f\n", cost[1] / cost[0]);
}

int main(void)
{
	const char *dir = getenv("DAXPIN_DAX_DIR");
	char path[4096];
	int dfd, ffd;

	if (!dir)
		die("DAXPIN_DAX_DIR", EINVAL);
	dfd = daxpin_open();
	if (dfd < 0)
		die("open /dev/daxpin", -dfd);
	snprintf(path, sizeof(path), "%s/daxpin-bench", dir);
	ffd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (ffd < 0 || fallocate(ffd, 0, 0, 1024 * MIB + 4 * MIB))
		die("create the file", errno);
	printf("daxpin-bench: %s\n", path);
	/* Convert the unwritten extents once, so every pin below is of
	 * allocated, written blocks. */
	{
		uint32_t h;

		if (daxpin_pin(dfd, ffd, 0, 1024 * MIB + 4 * MIB,
			       DAXPIN_PIN_WRITE, 0, &h, NULL))
			die("DAXPIN_PIN (warm-up)", errno);
		daxpin_unpin(dfd, h);
	}
	pin_cost(dfd, ffd);
	many_pins(ffd);
	recall_latency(dfd, ffd, path);
	close(ffd);
	unlink(path);
	close(dfd);
	return 0;
}
