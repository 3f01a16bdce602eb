/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Named address sets a policy can refer to: the built-in ones (metadata,
 * private, loopback, nameservers) and the CIDR helpers they share with
 * policy.c.
 */
#ifndef MW_SETS_H
#define MW_SETS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* "255.255.255.255/32" or a full IPv6 CIDR, with the NUL. */
#define CIDR_STR_MAX		(46 + 5)

struct cidr {
	__u8 addr[16];		/* IPv6 form, host bits zero */
	__u8 plen;		/* IPv6 bits */
};

struct set_entry {
	const char *cidr;	/* as written in the policy: "10.0.0.0/8" */
	const char *source;	/* where the entry comes from */
};

struct set_builtin {
	const char *name;
	const char *what;
	const struct set_entry *entries; /* NULL: read at load (nameservers) */
	size_t nentries;
};

/* The built-in set called @name, or NULL. */
const struct set_builtin *sets_builtin(const char *name);
/* The built-in sets, for tests and documentation: *n of them. */
const struct set_builtin *sets_builtins(size_t *n);
/*
 * The nameserver lines of @path as /32 or /128 prefixes, without duplicates.
 * A file that cannot be read gives an empty set and its errno in *read_err.
 * Returns 0 or -ENOMEM; free *out with free().
 */
int sets_read_nameservers(const char *path, struct cidr **out, size_t *n,
			  int *read_err);

/* cidr_parse without zeroing the host bits. */
int cidr_parse_raw(const char *s, __u8 addr[16], __u8 *plen);
/* Zero the bits of @addr after the first @plen. */
void cidr_mask(__u8 addr[16], __u8 plen);
bool addr_is_v4(const __u8 addr[16]);
/* "a.b.c.d/n" for IPv4-mapped prefixes, "v6/n" otherwise. */
void cidr_format(const __u8 addr[16], __u8 plen, char *buf, size_t len);

#endif /* MW_SETS_H */
