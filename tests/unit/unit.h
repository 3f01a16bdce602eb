/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal unit-test harness: each test_*.c defines its cases with
 * UNIT_TEST(name) and ends with UNIT_MAIN(). Output per case:
 * "ok <file>/<case>" or "FAIL <file>/<case>: <where>: <what>", then
 * "N passed, N failed" (tests/run sums these lines).
 */
#ifndef MW_UNIT_H
#define MW_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_case {
	const char *name;
	void (*fn)(int *failed);
};

#define UNIT_MAX_CASES 256
static struct unit_case unit_cases[UNIT_MAX_CASES];
static int unit_ncases;

#define UNIT_TEST(n)							\
	static void unit_##n(int *unit_failed);				\
	__attribute__((constructor)) static void unit_reg_##n(void)	\
	{								\
		if (unit_ncases < UNIT_MAX_CASES)			\
			unit_cases[unit_ncases++] =			\
				(struct unit_case){ #n, unit_##n };	\
	}								\
	static void unit_##n(int *unit_failed)

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			printf("    %s:%d: CHECK(%s)\n", __FILE__,	\
			       __LINE__, #cond);			\
			*unit_failed = 1;				\
		}							\
	} while (0)

#define CHECK_STR(a, b)							\
	do {								\
		const char *_a = (a), *_b = (b);			\
		if (!_a || !_b || strcmp(_a, _b)) {			\
			printf("    %s:%d: \"%s\" != \"%s\"\n",		\
			       __FILE__, __LINE__, _a ? _a : "(null)",	\
			       _b ? _b : "(null)");			\
			*unit_failed = 1;				\
		}							\
	} while (0)

#define UNIT_MAIN(suite)						\
	int main(void)							\
	{								\
		int i, passed = 0, failed = 0;				\
									\
		for (i = 0; i < unit_ncases; i++) {			\
			int f = 0;					\
									\
			unit_cases[i].fn(&f);				\
			printf("%s %s/%s\n", f ? "FAIL" : "ok", suite,	\
			       unit_cases[i].name);			\
			if (f)						\
				failed++;				\
			else						\
				passed++;				\
		}							\
		printf("%d passed, %d failed\n", passed, failed);	\
		return failed ? 1 : 0;					\
	}

#endif /* MW_UNIT_H */
