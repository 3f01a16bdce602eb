/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Addresses and prefixes in the one form the BPF side uses: 16 bytes of IPv6,
 * IPv4 as ::ffff:a.b.c.d with the prefix length counted in IPv6 bits. Shared
 * by the policy (its rules), lib/hostenv (resolv.conf) and the events.
 */
#ifndef MW_CIDR_H
#define MW_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* "255.255.255.255/32" or a full IPv6 CIDR, with the NUL. */
#define CIDR_STR_MAX		(46 + 5)

struct cidr {
	__u8 addr[16];		/* IPv6 form, host bits zero */
	__u8 plen;		/* IPv6 bits */
};

/* Parse "a.b.c.d[/n]" or "v6[/n]" into IPv6 form; 0 or -EINVAL. */
int cidr_parse(const char *s, __u8 addr[16], __u8 *plen);
/* cidr_parse without zeroing the host bits. */
int cidr_parse_raw(const char *s, __u8 addr[16], __u8 *plen);
/* Zero the bits of @addr after the first @plen. */
void cidr_mask(__u8 addr[16], __u8 plen);
bool addr_is_v4(const __u8 addr[16]);
/* "a.b.c.d/n" for IPv4-mapped prefixes, "v6/n" otherwise. */
void cidr_format(const __u8 addr[16], __u8 plen, char *buf, size_t len);
/* Format an IPv6-form address: IPv4-mapped ones as dotted quads. */
void addr_format(const __u8 addr[16], char *buf, size_t len);

#endif /* MW_CIDR_H */
