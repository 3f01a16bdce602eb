// SPDX-License-Identifier: GPL-2.0-only
/*
 * Addresses and prefixes in the one form the BPF side uses: 16 bytes of IPv6,
 * IPv4 as ::ffff:a.b.c.d with the prefix length counted in IPv6 bits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/cidr.h"

static const __u8 v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

bool addr_is_v4(const __u8 addr[16])
{
	return !memcmp(addr, v4_mapped, sizeof(v4_mapped));
}

void cidr_mask(__u8 addr[16], __u8 plen)
{
	int i;

	for (i = 0; i < 16; i++) {
		int bits = (int)plen - i * 8;

		if (bits >= 8)
			continue;
		addr[i] &= bits <= 0 ? 0 : (__u8)(0xff << (8 - bits));
	}
}

/* Parse a prefix length: decimal, no sign, no leading zero, 0..max. */
static int cidr_parse_len(const char *s, unsigned int max, __u8 *plen)
{
	unsigned int v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*plen = (__u8)v;
	return 0;
}

int cidr_parse_raw(const char *s, __u8 addr[16], __u8 *plen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	__u8 len;
	int err;

	if (!s)
		return -EINVAL;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';

	if (!strchr(buf, ':')) {
		memcpy(addr, v4_mapped, sizeof(v4_mapped));
		if (inet_pton(AF_INET, buf, addr + 12) != 1)
			return -EINVAL;
		len = 32;
		if (slash) {
			err = cidr_parse_len(slash + 1, 32, &len);
			if (err)
				return err;
		}
		*plen = 96 + len;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return -EINVAL;
	len = 128;
	if (slash) {
		err = cidr_parse_len(slash + 1, 128, &len);
		if (err)
			return err;
	}
	*plen = len;
	return 0;
}

int cidr_parse(const char *s, __u8 addr[16], __u8 *plen)
{
	int err;

	err = cidr_parse_raw(s, addr, plen);
	if (err)
		return err;
	cidr_mask(addr, *plen);
	return 0;
}

void addr_format(const __u8 addr[16], char *buf, size_t len)
{
	if (!buf || !len)
		return;
	if (addr_is_v4(addr)) {
		char b[16], *p = b;
		int i;

		/* Without snprintf: an event path writes one per connect. */
		for (i = 12; i < 16; i++) {
			if (addr[i] >= 100)
				*p++ = '0' + addr[i] / 100;
			if (addr[i] >= 10)
				*p++ = '0' + addr[i] / 10 % 10;
			*p++ = '0' + addr[i] % 10;
			*p++ = i < 15 ? '.' : 0;
		}
		if (len < (size_t)(p - b)) {	/* truncated, as snprintf */
			p = b + len;
			b[len - 1] = 0;
		}
		memcpy(buf, b, p - b);
		return;
	}
	if (!inet_ntop(AF_INET6, addr, buf, (socklen_t)len))
		buf[0] = '\0';
}

void cidr_format(const __u8 addr[16], __u8 plen, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	unsigned int n = plen;

	addr_format(addr, a, sizeof(a));
	if (addr_is_v4(addr) && plen >= 96)
		n -= 96;
	else if (addr_is_v4(addr))
		/* a prefix shorter than ::ffff:0:0/96: keep the IPv6 form */
		inet_ntop(AF_INET6, addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, n);
}
