/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named sets of paths a policy's file and unix-socket rules can use, and the
 * expansion of "~/" to every user's home directory.
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

/*
 * The home directories of the users in @passwd (NULL: /etc/passwd) that
 * exist as directories, without duplicates and without "/". Returns 0 or
 * -errno; free each string and the array.
 */
int pathsets_homes(const char *passwd, char ***out, size_t *n);

#endif /* MW_PATHSETS_H */
