/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named address sets a policy can refer to: the built-in ones (metadata,
 * private, loopback, nameservers). The nameservers come from the host
 * (lib/hostenv.h), through struct policy_env.
 */
#ifndef MW_SETS_H
#define MW_SETS_H

#include <stddef.h>

struct set_entry {
	const char *cidr;	/* as written in the policy: "10.0.0.0/8" */
	const char *source;	/* where the entry comes from */
};

struct set_builtin {
	const char *name;
	const char *what;
	const struct set_entry *entries; /* NULL: the host's (nameservers) */
	size_t nentries;
};

/* The built-in set called @name, or NULL. */
const struct set_builtin *sets_builtin(const char *name);
/* The built-in sets, for tests and documentation: *n of them. */
const struct set_builtin *sets_builtins(size_t *n);

#endif /* MW_SETS_H */
