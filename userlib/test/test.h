/* SPDX-License-Identifier: LGPL-2.1-or-later OR MIT */
/*
 * libdaxpin's own tests: what every one of them shares.
 *
 * A test exits T_PASS, T_FAIL or T_SKIP (automake's 77), and says why on
 * one line when it skips. CHECK() reports every failed expectation, with
 * its line, and the test goes on, so that one run shows them all.
 */
#ifndef DAXPIN_TEST_H
#define DAXPIN_TEST_H

#include <stdio.h>
#include <stdlib.h>

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

static int t_failed;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: not true: %s: ", __FILE__,	\
			__LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		t_failed = 1;						\
	}								\
} while (0)

/* A call that returns 0 or a negative errno returned @want. */
#define CHECK_RET(call, want) do {					\
	long t_ret = (long)(call);					\
	CHECK(t_ret == (long)(want), "%s returned %ld, not %ld",	\
	      #call, t_ret, (long)(want));				\
} while (0)

static inline int t_skip(const char *why)
{
	printf("SKIP: %s\n", why);
	return T_SKIP;
}

static inline int t_end(void)
{
	return t_failed ? T_FAIL : T_PASS;
}

#endif /* DAXPIN_TEST_H */
