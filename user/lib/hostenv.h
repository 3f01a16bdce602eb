/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a policy means on this host, read from the host's files: the
 * "nameservers" set (resolv.conf) and whose homes "~/" names (passwd). The
 * daemon reads it at every (re)load, `policy check` once; the policy parser
 * itself reads nothing (struct policy_env carries this data in).
 */
#ifndef MW_HOSTENV_H
#define MW_HOSTENV_H

#include <stddef.h>
#include "lib/cidr.h"

struct hostenv {
	char *resolv_conf;		/* the file read, a copy; NULL: none */
	struct cidr *nameservers;	/* its nameserver lines, once each */
	size_t nnameservers;
	int resolv_err;			/* errno of reading it, or 0 */
	char **homes;			/* home directories that exist */
	size_t nhomes;
	unsigned int *uids;		/* the uids of their users, once each */
	size_t nuids;
};

/*
 * The nameserver lines of @path as /32 or /128 prefixes, without duplicates.
 * A file that cannot be read gives an empty set and its errno in
 * *ret_read_err. Returns 0 or -ENOMEM; free *ret with free().
 */
int hostenv_nameservers(const char *path, struct cidr **ret, size_t *ret_n,
			int *ret_read_err);
/*
 * Add to @h the home directories of the users in @passwd that exist as
 * directories (looked up through host_path()), without duplicates and
 * without "/", and those users' uids (what "{uid}" in a path means).
 * Returns 0 or -errno; hostenv_free() frees what was added.
 */
int hostenv_homes(const char *passwd, struct hostenv *h);

/*
 * Read @resolv_conf and @passwd (either NULL: not read, that part stays
 * empty) into @h. A file that cannot be read is no error: resolv_err says
 * why for resolv.conf, an unreadable passwd means no homes. Returns 0 or
 * -ENOMEM (then @h is zeroed); hostenv_free() @h after use.
 */
int hostenv_read(struct hostenv *h, const char *resolv_conf,
		 const char *passwd);
/* Free what @h holds and zero it; a zeroed @h (or NULL) is a no-op. */
void hostenv_free(struct hostenv *h);

#endif /* MW_HOSTENV_H */
