/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Detection-rule matching, shared by the BPF exec hook and by userspace (the
 * start-up /proc scan and the unit tests), so both judge a name the same way.
 * Plain C with bounded loops: it compiles for -target bpf and for the host.
 */
#ifndef MW_MATCH_H
#define MW_MATCH_H

#include "mcpwarden.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* What a name buffer holds beyond the name: a suffix is compared in place. */
#define MW_NAME_BUF		(2 * MW_NAME_MAX)

static __always_inline __u64 mw_load64(const char *p)
{
	__u64 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Does @name (a basename, @len bytes, in a buffer of MW_NAME_BUF bytes)
 * match rule @r? Exact, prefix ("mcp-server-*") or suffix ("*-mcp-server").
 * Eight bytes a compare, the last word masked to the pattern's length
 * (little-endian: the first byte is the lowest): six compares where a byte
 * loop took 48, and what the verifier walks once per call site.
 */
static __always_inline int mw_rule_match(const struct mw_detect_rule *r,
					 const char *name, __u32 len)
{
	__u32 rlen = r->len, off, b, w;
	__u64 m;

	if (rlen == 0 || rlen > MW_PATTERN_MAX || rlen > len ||
	    len >= MW_NAME_MAX)
		return 0;
	switch (r->kind) {
	case MW_MATCH_EXACT:
		if (len != rlen)
			return 0;
		off = 0;
		break;
	case MW_MATCH_PREFIX:
		off = 0;
		break;
	case MW_MATCH_SUFFIX:
		off = len - rlen;
		break;
	default:
		return 0;
	}
	off &= MW_NAME_MAX - 1;
	for (w = 0; w < MW_PATTERN_MAX / 8; w++) {
		b = w * 8;
		if (b >= rlen)
			break;
		m = rlen - b >= 8 ? ~0ULL : (1ULL << (8 * (rlen - b))) - 1;
		if ((mw_load64(name + off + b) ^ mw_load64(r->pattern + b)) & m)
			return 0;
	}
	return 1;
}

/* The start of the last path component of @s[0..len). */
static __always_inline __u32 mw_basename_off(const char *s, __u32 len)
{
	__u32 i, base = 0;

	for (i = 0; i < MW_ARGS_MAX; i++) {
		if (i >= len)
			break;
		if (s[i] == '/')
			base = i + 1;
	}
	return base;
}

#endif /* MW_MATCH_H */
