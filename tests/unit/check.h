/*
 * check.h — the tiny assertion kit of the unit tests.
 * CHECK(cond) records a failure and goes on; CHECK_STR/CHECK_INT compare and
 * print both sides; check_done() prints "N passed, N failed" and returns the
 * exit status for main().
 */
#ifndef MBFS_CHECK_H
#define MBFS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_pass_count, check_fail_count;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (cond) {                                                  \
			check_pass_count++;                                  \
		} else {                                                     \
			check_fail_count++;                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
		}                                                            \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *check_a_ = (a), *check_b_ = (b);                 \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) { \
			check_pass_count++;                                  \
		} else {                                                     \
			check_fail_count++;                                  \
			fprintf(stderr, "%s:%d: %s == %s: \"%s\" != \"%s\"\n", \
				__FILE__, __LINE__, #a, #b,                  \
				check_a_ ? check_a_ : "(null)",              \
				check_b_ ? check_b_ : "(null)");             \
		}                                                            \
	} while (0)

#define CHECK_INT(a, b)                                                      \
	do {                                                                 \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ == check_b_) {                                  \
			check_pass_count++;                                  \
		} else {                                                     \
			check_fail_count++;                                  \
			fprintf(stderr, "%s:%d: %s == %s: %lld != %lld\n",  \
				__FILE__, __LINE__, #a, #b, check_a_,        \
				check_b_);                                   \
		}                                                            \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_pass_count, check_fail_count);
	return check_fail_count ? 1 : 0;
}

#endif
