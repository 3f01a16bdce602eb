/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named sets of paths a policy's file and unix-socket rules can use. "~/"
 * means every user's home: the homes come from the host (lib/hostenv.h),
 * through struct policy_env.
 */
#ifndef MW_PATHSETS_H
#define MW_PATHSETS_H

#include <stddef.h>

struct pathset_entry {
	const char *path;	/* absolute, or "~/..." for every home */
	const char *what;	/* whose secret, for the documentation */
};

struct pathset {
	const char *name;
	const struct pathset_entry *entries;
	size_t n;
};

/* The built-in path set called @name ("secrets", "container_runtimes"). */
const struct pathset *pathsets_get(const char *name);
const struct pathset *pathsets_all(size_t *n);

#endif /* MW_PATHSETS_H */
