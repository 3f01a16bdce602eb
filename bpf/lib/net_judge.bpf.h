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

struct mw_verdict {
	__u8 action;
	__u8 form;
	__u16 pad;
	__u32 rule_id;
	__u8 checked[16];
};

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
 * One lookup: the verdict of the address (@hi, @lo: its 16 bytes) for what
 * @ask says (MW_NET_ASK), as rule_id << 8 | action, MW_ACTION_NONE if
 * none. A global function, so the verifier checks its loops once per
 * program, not once for every path that reaches them: connect6 alone took
 * 75 ms of every start.
 */
__noinline long mw_net_lookup(__u64 ask, __u64 hi, __u64 lo)
{
	struct mw_net_key key = {
		.prefixlen = MW_NET_KEY_FIXED_BITS + 128,
		.gen = (ask >> 40) & 1,
		.profile = (ask >> 32) & (MW_PROFILES_MAX - 1),
	};
	__u32 port = ask & 0xffff, proto = (ask >> 16) & 0xff;
	struct mw_net_value *v;
	int i, j;

	__builtin_memcpy(key.addr, &hi, 8);
	__builtin_memcpy(key.addr + 8, &lo, 8);
	for (i = 0; i < MW_NET_FALLBACK; i++) {
		v = bpf_map_lookup_elem(&mw_net_rules, &key);
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
		key.prefixlen = MW_NET_KEY_FIXED_BITS + v->plen - 1;
	}
	return MW_ACTION_NONE;
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
 * Judge @addr (16 bytes, IPv6 or mapped IPv4). IPv4 hidden in NAT64, 6to4,
 * IPv4-compatible (::a.b.c.d, but not ::1) and SIIT (::ffff:0:a.b.c.d)
 * forms is judged as IPv4 too, and the stricter verdict wins; 0.0.0.0 and
 * :: are judged as the loopback they reach.
 */
static __always_inline void mw_net_judge(struct mw_verdict *vd, __u32 gen,
					 __u32 profile, const __u8 *addr,
					 __u16 port, __u8 proto, __u8 def)
{
	__u8 alt[16];
	__u32 rule = MW_RULE_DEFAULT, alt_rule = MW_RULE_DEFAULT, ip4;
	__u8 action, alt_action = MW_ACTION_NONE, alt_form = MW_FORM_NATIVE;
	int has_alt = 0;

	__builtin_memcpy(vd->checked, addr, 16);
	vd->form = MW_FORM_NATIVE;
	__builtin_memcpy(&ip4, addr + 12, 4);
	if (mw_zero(addr, 10) && addr[10] == 0xff &&
	    addr[11] == 0xff) {
		if (ip4 == 0) {		/* ::ffff:0.0.0.0 */
			vd->form = MW_FORM_UNSPEC;
			vd->checked[12] = 127;
			vd->checked[15] = 1;
		}
	} else if (mw_zero(addr, 12) && ip4 == 0) {
		vd->form = MW_FORM_UNSPEC;	/* :: */
		vd->checked[15] = 1;
	} else if (mw_zero(addr, 12) && ip4 != bpf_htonl(1)) {
		mw_addr_v4(alt, ip4);		/* ::a.b.c.d */
		alt_form = MW_FORM_COMPAT;
		has_alt = 1;
	} else if (mw_zero(addr, 8) && addr[8] == 0xff && addr[9] == 0xff &&
		   addr[10] == 0 && addr[11] == 0) {
		mw_addr_v4(alt, ip4);		/* ::ffff:0:a.b.c.d */
		alt_form = MW_FORM_SIIT;
		has_alt = 1;
	} else if (addr[0] == 0x00 && addr[1] == 0x64 && addr[2] == 0xff &&
		   addr[3] == 0x9b && mw_zero(addr + 4, 8)) {
		mw_addr_v4(alt, ip4);
		alt_form = MW_FORM_NAT64;
		has_alt = 1;
	} else if (addr[0] == 0x20 && addr[1] == 0x02) {
		__builtin_memcpy(&ip4, addr + 2, 4);
		mw_addr_v4(alt, ip4);
		alt_form = MW_FORM_6TO4;
		has_alt = 1;
	}
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
