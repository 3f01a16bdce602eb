/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Network verdicts: destinations normalized to IPv6 (IPv4 as ::ffff:a.b.c.d),
 * looked up in the profile's LPM trie; the most specific prefix whose port
 * rules match decides. Apart from the hooks (network.bpf.h), so that a test
 * program can include the judge alone.
 */
#ifndef MW_NET_JUDGE_BPF_H
#define MW_NET_JUDGE_BPF_H

#include "mcpwarden.h"
#include "lib/maps.bpf.h"	/* mw_net_rules */

static __always_inline void mw_addr_v4(__u8 *out, __u32 ip4 /* net order */)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &ip4, 4);
}

static __always_inline int mw_zero(const __u8 *p, int n)
{
	int i;

	for (i = 0; i < 12; i++)
		if (i < n && p[i])
			return 0;
	return 1;
}

/*
 * What one lookup asks, in one argument (a global function takes five):
 * generation, profile, protocol and port.
 */
#define MW_NET_ASK(gen, profile, proto, port) \
	((__u64)(gen) << 40 | (__u64)(profile) << 32 | (__u64)(proto) << 16 | \
	 (port))

/*
 * The verdict of @key (its gen, profile and address set, prefixlen the
 * full length) for @proto and @port, as rule_id << 8 | action,
 * MW_ACTION_NONE if none; @key's prefixlen is spent on the way.
 */
static __always_inline long mw_net_walk(struct mw_net_key *key, __u32 port,
					__u32 proto)
{
	struct mw_net_value *v;
	int i, j;

	for (i = 0; i < MW_NET_FALLBACK; i++) {
		v = bpf_map_lookup_elem(&mw_net_rules, key);
		if (!v)
			return MW_ACTION_NONE;
		for (j = 0; j < MW_NET_PORTS; j++) {
			struct mw_port_rule *r = &v->rules[j];

			if (j >= v->nrules)
				break;
			if (r->protocol && r->protocol != proto)
				continue;
			if (port < r->port_lo || port > r->port_hi)
				continue;
			return (long)r->rule_id << 8 | r->action;
		}
		if (v->plen == 0)
			return MW_ACTION_NONE;
		key->prefixlen = MW_NET_KEY_FIXED_BITS + v->plen - 1;
	}
	return MW_ACTION_NONE;
}

/*
 * One lookup: the verdict of the address (@hi, @lo: its 16 bytes) for what
 * @ask says (MW_NET_ASK), as mw_net_walk(). A global function, so the
 * verifier checks its loops once per program, not once for every path
 * that reaches them: connect6 alone took 75 ms of every start.
 */
__noinline long mw_net_lookup(__u64 ask, __u64 hi, __u64 lo)
{
	struct mw_net_key key = {
		.prefixlen = MW_NET_KEY_FIXED_BITS + 128,
		.gen = (ask >> 40) & 1,
		.profile = (ask >> 32) & 0xff,	/* a profile or a fence id */
	};

	__builtin_memcpy(key.addr, &hi, 8);
	__builtin_memcpy(key.addr + 8, &lo, 8);
	return mw_net_walk(&key, ask & 0xffff, (ask >> 16) & 0xff);
}

static __always_inline __u8 mw_net_lookup_addr(__u32 gen, __u32 profile,
					       const __u8 *addr, __u16 port,
					       __u8 proto, __u32 *rule_id)
{
	__u64 hi, lo;
	long r;

	__builtin_memcpy(&hi, addr, 8);
	__builtin_memcpy(&lo, addr + 8, 8);
	r = mw_net_lookup(MW_NET_ASK(gen, profile, proto, port), hi, lo);
	if ((r & 0xff) != MW_ACTION_NONE)
		*rule_id = r >> 8;
	return r & 0xff;
}

/*
 * The forms @addr (16 bytes, IPv6 or mapped IPv4) is judged in: @checked
 * (0.0.0.0 and :: as the loopback they reach) and, for IPv4 hidden in
 * NAT64, 6to4, IPv4-compatible (::a.b.c.d, but not ::1) and SIIT
 * (::ffff:0:a.b.c.d) forms, @alt, the IPv4 itself; returns whether there
 * is an @alt.
 */
static __always_inline int mw_net_forms(const __u8 *addr, __u8 *checked,
					__u8 *form, __u8 *alt, __u8 *alt_form)
{
	__u32 ip4;

	__builtin_memcpy(checked, addr, 16);
	*form = MW_FORM_NATIVE;
	__builtin_memcpy(&ip4, addr + 12, 4);
	if (mw_zero(addr, 10) && addr[10] == 0xff &&
	    addr[11] == 0xff) {
		if (ip4 == 0) {		/* ::ffff:0.0.0.0 */
			*form = MW_FORM_UNSPEC;
			checked[12] = 127;
			checked[15] = 1;
		}
	} else if (mw_zero(addr, 12) && ip4 == 0) {
		*form = MW_FORM_UNSPEC;	/* :: */
		checked[15] = 1;
	} else if (mw_zero(addr, 12) && ip4 != bpf_htonl(1)) {
		mw_addr_v4(alt, ip4);		/* ::a.b.c.d */
		*alt_form = MW_FORM_COMPAT;
		return 1;
	} else if (mw_zero(addr, 8) && addr[8] == 0xff && addr[9] == 0xff &&
		   addr[10] == 0 && addr[11] == 0) {
		mw_addr_v4(alt, ip4);		/* ::ffff:0:a.b.c.d */
		*alt_form = MW_FORM_SIIT;
		return 1;
	} else if (addr[0] == 0x00 && addr[1] == 0x64 && addr[2] == 0xff &&
		   addr[3] == 0x9b && mw_zero(addr + 4, 8)) {
		mw_addr_v4(alt, ip4);
		*alt_form = MW_FORM_NAT64;
		return 1;
	} else if (addr[0] == 0x20 && addr[1] == 0x02) {
		__builtin_memcpy(&ip4, addr + 2, 4);
		mw_addr_v4(alt, ip4);
		*alt_form = MW_FORM_6TO4;
		return 1;
	}
	return 0;
}

/*
 * Judge @addr in the forms mw_net_forms() finds: the stricter verdict
 * wins.
 */
static __always_inline void mw_net_judge(struct mw_verdict *vd, __u32 gen,
					 __u32 profile, const __u8 *addr,
					 __u16 port, __u8 proto, __u8 def)
{
	__u8 alt[16];
	__u32 rule = MW_RULE_DEFAULT, alt_rule = MW_RULE_DEFAULT;
	__u8 action, alt_action = MW_ACTION_NONE, alt_form = MW_FORM_NATIVE;
	int has_alt;

	has_alt = mw_net_forms(addr, vd->checked, &vd->form, alt, &alt_form);
	action = mw_net_lookup_addr(gen, profile, vd->checked, port, proto, &rule);
	if (has_alt)
		alt_action = mw_net_lookup_addr(gen, profile, alt, port, proto,
						&alt_rule);
	if (action == MW_ACTION_NONE)
		action = def;
	if (alt_action > action) {
		action = alt_action;
		rule = alt_rule;
		vd->form = alt_form;
		__builtin_memcpy(vd->checked, alt, 16);
	}
	vd->action = action;
	vd->rule_id = rule;
}

#endif /* MW_NET_JUDGE_BPF_H */
