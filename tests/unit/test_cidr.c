// SPDX-License-Identifier: GPL-2.0-only
/* CIDR parsing, normalization to the IPv6 form, and address formatting. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/cidr.h"
#include "policy/sets.h"
#include "unit.h"

/* Parse @s and format it back as "addr/plen" in IPv6-form bits. */
static int roundtrip(const char *s, char *buf, size_t len)
{
	char a[46];
	__u8 addr[16], plen;
	int err;

	err = cidr_parse(s, addr, &plen);
	if (err)
		return err;
	addr_format(addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, plen);
	return 0;
}

UNIT_TEST(ipv4_host)
{
	__u8 addr[16], plen;
	static const __u8 want[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254,
	};

	CHECK(cidr_parse("169.254.169.254", addr, &plen) == 0);
	CHECK(plen == 128);
	CHECK(!memcmp(addr, want, 16));
}

UNIT_TEST(ipv4_prefix)
{
	char buf[64];

	CHECK(roundtrip("10.0.0.0/8", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "10.0.0.0/104");
	CHECK(roundtrip("0.0.0.0/0", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "0.0.0.0/96");
	CHECK(roundtrip("192.168.1.7/32", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "192.168.1.7/128");
	CHECK(roundtrip("100.64.0.0/10", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "100.64.0.0/106");
}

UNIT_TEST(host_bits_zeroed)
{
	char buf[64];
	__u8 addr[16], plen;

	CHECK(roundtrip("10.1.2.3/8", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "10.0.0.0/104");
	CHECK(roundtrip("172.31.255.255/12", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "172.16.0.0/108");
	CHECK(roundtrip("2001:db8:ffff::1/32", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "2001:db8::/32");
	CHECK(roundtrip("fe80::a9fe:a9fe/10", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "fe80::/10");
	CHECK(roundtrip("ffff::1/0", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "::/0");
	/* cidr_parse_raw keeps them */
	CHECK(cidr_parse_raw("10.1.2.3/8", addr, &plen) == 0);
	CHECK(addr[13] == 1 && addr[15] == 3 && plen == 104);
}

UNIT_TEST(ipv6)
{
	char buf[64];

	CHECK(roundtrip("fd00:ec2::254", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "fd00:ec2::254/128");
	CHECK(roundtrip("::1", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "::1/128");
	CHECK(roundtrip("::/128", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "::/128");
	CHECK(roundtrip("FC00::/7", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "fc00::/7");
	CHECK(roundtrip("64:ff9b:1::/48", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "64:ff9b:1::/48");
}

UNIT_TEST(mapped_equals_v4)
{
	__u8 a[16], b[16], la, lb;

	CHECK(cidr_parse("::ffff:10.1.2.3", a, &la) == 0);
	CHECK(cidr_parse("10.1.2.3", b, &lb) == 0);
	CHECK(la == lb && !memcmp(a, b, 16));
	CHECK(cidr_parse("::ffff:a01:203", a, &la) == 0);
	CHECK(la == lb && !memcmp(a, b, 16));
	CHECK(cidr_parse("::ffff:10.0.0.0/104", a, &la) == 0);
	CHECK(cidr_parse("10.0.0.0/8", b, &lb) == 0);
	CHECK(la == lb && !memcmp(a, b, 16));
	CHECK(addr_is_v4(a));
	CHECK(cidr_parse("::10.0.0.1", a, &la) == 0);	/* compat: not v4 */
	CHECK(!addr_is_v4(a));
}

UNIT_TEST(rejects)
{
	static const char *const bad[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/08", "10.0.0.0/8/8", "10.0.0.0 /8",
		"10.0.0.0/ 8", " 10.0.0.0", "10.0.0.0 ", "+10.0.0.0",
		"10.0.0.256", "10.0.0", "10.0.0.0.0", "010.0.0.1", "1.2.3.4a",
		"::/129", "::1/1000", "fe80::1%eth0", "fe80:::1", "::g",
		"junk", "metadata", "10.0.0.0/8x", "0x0a.0.0.1", "10.0.0.0/4294967304",
		"1:2:3:4:5:6:7:8:9", "::ffff:1.2.3.4.5",
	};
	__u8 addr[16], plen;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = cidr_parse(bad[i], addr, &plen);

		if (err != -EINVAL)
			printf("    accepted \"%s\"\n", bad[i]);
		CHECK(err == -EINVAL);
	}
	CHECK(cidr_parse(NULL, addr, &plen) == -EINVAL);
}

UNIT_TEST(limits)
{
	__u8 addr[16], plen;

	CHECK(cidr_parse("0.0.0.0/32", addr, &plen) == 0 && plen == 128);
	CHECK(cidr_parse("1.2.3.4/0", addr, &plen) == 0 && plen == 96);
	CHECK(addr[12] == 0 && addr[10] == 0xff);
	CHECK(cidr_parse("::/0", addr, &plen) == 0 && plen == 0);
	CHECK(cidr_parse("::1/128", addr, &plen) == 0 && plen == 128);
	CHECK(cidr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
			 addr, &plen) == 0);
}

UNIT_TEST(format)
{
	__u8 addr[16], plen;
	char buf[64];

	CHECK(cidr_parse("127.0.0.1", addr, &plen) == 0);
	addr_format(addr, buf, sizeof(buf));
	CHECK_STR(buf, "127.0.0.1");
	cidr_format(addr, plen, buf, sizeof(buf));
	CHECK_STR(buf, "127.0.0.1/32");
	CHECK(cidr_parse("2001:DB8:0:0:0:0:0:1", addr, &plen) == 0);
	addr_format(addr, buf, sizeof(buf));
	CHECK_STR(buf, "2001:db8::1");
	cidr_format(addr, 64, buf, sizeof(buf));
	CHECK_STR(buf, "2001:db8::1/64");
	/* a short buffer: truncated or empty, never overrun */
	addr_format(addr, buf, 4);
	CHECK(strlen(buf) < 4);
	CHECK(cidr_parse("255.255.255.255", addr, &plen) == 0);
	addr_format(addr, buf, 8);
	CHECK(strlen(buf) == 7);
	addr_format(addr, buf, 0);	/* no write at all */
}

UNIT_TEST(builtin_sets_normalized)
{
	const struct set_builtin *b;
	__u8 addr[16], raw[16], plen;
	size_t n, i, j;

	b = sets_builtins(&n);
	CHECK(n == 4);
	for (i = 0; i < n; i++) {
		for (j = 0; j < b[i].nentries; j++) {
			const char *s = b[i].entries[j].cidr;

			CHECK(cidr_parse(s, addr, &plen) == 0);
			CHECK(cidr_parse_raw(s, raw, &plen) == 0);
			if (memcmp(addr, raw, 16))
				printf("    host bits in %s\n", s);
			CHECK(!memcmp(addr, raw, 16));
			CHECK(b[i].entries[j].source &&
			      strlen(b[i].entries[j].source) > 5);
		}
	}
	CHECK(sets_builtin("metadata") && sets_builtin("private") &&
	      sets_builtin("loopback") && sets_builtin("nameservers"));
	CHECK(!sets_builtin("Metadata"));
}

UNIT_MAIN("cidr")
