/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tool fences (mcpwarden.h, mw_tool_rules): a connect or send of a tracked
 * tree judged again by the fence of every MCP tool call its session page
 * says runs now, or by the profile's idle fence when none runs (or the tree
 * has no session), the strictest verdict winning. Calls that cannot be
 * read (a page changing MW_TOOL_TRIES times in a row, more calls than the
 * page lists, a call whose log entry was reused) deny: never the laxer
 * guess.
 */
#ifndef MW_TOOLS_BPF_H
#define MW_TOOLS_BPF_H

#include "mcpwarden.h"
#include "lib/maps.bpf.h"
#include "lib/calls.bpf.h"
#include "lib/net_judge.bpf.h"

/*
 * mw_net_lookup() of @addr (in @s) for fence @fence, with its key in @s:
 * no call deeper, and no key on the stack, below a hook's frame.
 */
static __always_inline long mw_fence_lookup(struct mw_tool_scratch *s,
					    __u32 fence, const __u8 *addr)
{
	s->net_key.prefixlen = MW_NET_KEY_FIXED_BITS + 128;
	s->net_key.gen = s->q.gen & 1;
	s->net_key.profile = fence & 0xff;
	__builtin_memcpy(s->net_key.addr, addr, 16);
	return mw_net_walk(&s->net_key, s->q.port, s->q.proto);
}

/*
 * Narrow @s->verdict to the verdict of fence @i of this CPU's scratch
 * (s->fence_id[i], default s->fence_def[i]: action << 32 | rule id) on the
 * connect or send @s->q, in the forms mw_net_judge() judges, if stricter.
 * Global: checked once; its state in the scratch, not on a hook's full
 * stack. @i is 64-bit: 6.1 loses the bound of a 32-bit argument the
 * compiler zero-extends into a second register.
 */
__noinline int mw_fence_judge(__u64 i)
{
	struct mw_tool_scratch *s;
	struct mw_verdict *f;
	__u32 zero = 0;
	long r;

	/* Looked up here: a map value, which 6.1 takes as a lookup key. */
	s = bpf_map_lookup_elem(&mw_tool_scratches, &zero);
	if (!s || i >= MW_CALLS_INFLIGHT)
		return 0;
	f = &s->fence;
	r = mw_fence_lookup(s, s->fence_id[i], s->q.checked);
	f->action = r & 0xff;
	f->rule_id = r >> 8;
	if (f->action == MW_ACTION_NONE) {
		f->action = (__u8)(s->fence_def[i] >> 32);
		f->rule_id = (__u32)s->fence_def[i];
	}
	f->form = s->q.form;
	__builtin_memcpy(f->checked, s->q.checked, 16);
	if (s->q.has_alt) {
		r = mw_fence_lookup(s, s->fence_id[i], s->q.alt);
		if ((r & 0xff) > f->action) {
			f->action = r & 0xff;
			f->rule_id = r >> 8;
			f->form = s->q.alt_form;
			__builtin_memcpy(f->checked, s->q.alt, 16);
		}
	}
	if (f->action > s->verdict.action)
		s->verdict = *f;
	return 0;
}

/*
 * The fence of tool call @number of page @p for @s->key's profile: its
 * mw_tool_rules entry, or NULL; -1 when the log entry is not that call, or
 * the call's tool name was too long (or empty) to be compared.
 */
static __always_inline int mw_call_fence(struct mw_session *p, __u32 number,
					 struct mw_tool_scratch *s,
					 struct mw_tool_value **v)
{
	struct mw_call *c = &p->log[(number - 1) & (MW_CALL_LOG - 1)];
	__u32 seq = MW_READ_ONCE(c->seq);

	if ((seq & 1) || MW_READ_ONCE(c->number) != number ||
	    (MW_READ_ONCE(c->flags) & MW_CALL_TOOL_CUT))
		return -1;
	asm volatile("" ::: "memory");
	__builtin_memcpy(s->key.name, c->tool, MW_CALL_TOOL_MAX);
	asm volatile("" ::: "memory");
	if (MW_READ_ONCE(c->seq) != seq)
		return -1;
	s->key.name[MW_CALL_TOOL_MAX - 1] = '\0';
	s->key.prefixlen = MW_TOOL_KEY_FIXED_BITS + 8 * MW_CALL_TOOL_MAX;
	*v = bpf_map_lookup_elem(&mw_tool_rules, &s->key);
	return 0;
}

/*
 * The fences of the calls page @p says run, into @s->fences: 1 when none
 * runs, -1 when they could not be read. Kept only if the page did not
 * change meanwhile.
 */
static __always_inline int mw_calls_fences(struct mw_tool_scratch *s,
					   struct mw_session *p)
{
	struct mw_tool_value *v;
	__u32 seq, n, i, k;
	int tries;

	for (tries = 0; tries < MW_TOOL_TRIES; tries++) {
		seq = MW_READ_ONCE(p->seq);
		if (seq & 1)
			continue;
		asm volatile("" ::: "memory");
		n = MW_READ_ONCE(p->ninflight);
		if (n > MW_CALLS_INFLIGHT)
			return -1;	/* calls the page does not list */
		if (!n)
			return 1;
		k = 0;
		for (i = 0; i < MW_CALLS_INFLIGHT && i < n; i++) {
			if (mw_call_fence(p, MW_READ_ONCE(p->inflight[i]), s,
					  &v))
				break;
			if (v && k < MW_CALLS_INFLIGHT) {
				s->fence_id[k] = v->fence;
				s->fence_def[k] = (__u64)v->net_default << 32 |
						  v->default_rule;
				k++;
			}
		}
		asm volatile("" ::: "memory");
		if (i < n || MW_READ_ONCE(p->seq) != seq)
			continue;
		s->nfences = k;
		return 0;
	}
	return -1;
}

/*
 * The fences that judge a connect of @session now, into this CPU's
 * scratch (nfences, fence_id, fence_def); @idle: the profile's idle fence
 * << 40 | its default << 32 | the default's rule id. -1: the calls could
 * not be read. Global: its frame beside the hook's, never under a fence
 * judge's (6.1 counts 512 bytes for the chain).
 */
__noinline int mw_tools_fences(__u32 session, __u64 idle)
{
	struct mw_tool_scratch *s;
	struct mw_session *p;
	__u32 zero = 0;
	int r;

	/* Looked up here: a map value, which 6.1 takes as a lookup key. */
	s = bpf_map_lookup_elem(&mw_tool_scratches, &zero);
	if (!s)
		return -1;
	s->nfences = 0;
	s->key.gen = s->q.gen;
	s->key.profile = s->q.profile;
	p = mw_session_of(session);
	r = p ? mw_calls_fences(s, p) : 1;
	if (r > 0 && (idle >> 40)) {
		s->fence_id[0] = idle >> 40;
		s->fence_def[0] = idle & 0xffffffffffull;
		s->nfences = 1;
	}
	return r < 0 ? -1 : 0;
}

#endif /* MW_TOOLS_BPF_H */
