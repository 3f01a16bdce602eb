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
 * @vd, or fence @fence's verdict on the connect or send @s->q (in the
 * forms mw_net_judge() judges) if stricter; @def: its default action << 32
 * | the rule id of that default. Global: checked once; its verdict in @s,
 * not on a hook's full stack.
 */
__noinline int mw_fence_judge(struct mw_verdict *vd, struct mw_tool_scratch *s,
			      __u32 fence, __u64 def)
{
	struct mw_verdict *f;

	if (!vd || !s)
		return 0;
	f = &s->fence;
	f->rule_id = (__u32)def;
	f->action = mw_net_lookup_addr(s->q.gen, fence, s->q.checked,
				       s->q.port, s->q.proto, &f->rule_id);
	if (f->action == MW_ACTION_NONE)
		f->action = (__u8)(def >> 32);
	f->form = s->q.form;
	__builtin_memcpy(f->checked, s->q.checked, 16);
	if (s->q.has_alt) {
		__u32 rule = (__u32)def;
		__u8 a = mw_net_lookup_addr(s->q.gen, fence, s->q.alt,
					    s->q.port, s->q.proto, &rule);

		if (a > f->action) {
			f->action = a;
			f->rule_id = rule;
			f->form = s->q.alt_form;
			__builtin_memcpy(f->checked, s->q.alt, 16);
		}
	}
	if (f->action > vd->action)
		*vd = *f;
	return 0;
}

/*
 * The fence of tool call @number of page @p for @s->key's profile: its
 * mw_tool_rules entry, or NULL; -1 when the log entry is not that call.
 */
static __always_inline int mw_call_fence(struct mw_session *p, __u32 number,
					 struct mw_tool_scratch *s,
					 struct mw_tool_value **v)
{
	struct mw_call *c = &p->log[(number - 1) & (MW_CALL_LOG - 1)];
	__u32 seq = MW_READ_ONCE(c->seq);

	if ((seq & 1) || MW_READ_ONCE(c->number) != number)
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
 * The fences of the calls page @p says run, judged into @vd; 1 when none
 * runs, -1 when they could not be read. Judged as they are read, into
 * @s->calls: kept only if the page did not change meanwhile.
 */
static __always_inline int mw_calls_fence(struct mw_verdict *vd,
					  struct mw_tool_scratch *s,
					  struct mw_session *p)
{
	struct mw_tool_value *v;
	__u32 seq, n, i;
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
		s->calls = *vd;
		for (i = 0; i < MW_CALLS_INFLIGHT && i < n; i++) {
			if (mw_call_fence(p, MW_READ_ONCE(p->inflight[i]), s,
					  &v))
				break;
			if (v)
				mw_fence_judge(&s->calls, s, v->fence,
					       (__u64)v->net_default << 32 |
					       v->default_rule);
		}
		asm volatile("" ::: "memory");
		if (i < n || MW_READ_ONCE(p->seq) != seq)
			continue;
		*vd = s->calls;
		return 0;
	}
	return -1;
}

/*
 * Narrow @vd, a profile's verdict on @s->q, by the tool fences of
 * @session; @idle: the profile's idle fence << 40 | its default << 32 |
 * the default's rule id.
 */
static __always_inline int mw_tools_judge(struct mw_verdict *vd, struct mw_tool_scratch *s,
			      __u32 session, __u64 idle)
{
	struct mw_session *p;
	int r;

	if (!vd || !s)
		return 0;
	s->key.gen = s->q.gen;
	s->key.profile = s->q.profile;
	p = mw_session_of(session);
	r = p ? mw_calls_fence(vd, s, p) : 1;
	if (r < 0) {
		vd->action = MW_ACTION_DENY;
		vd->rule_id = MW_RULE_CALLS_TORN;
	} else if (r > 0 && (idle >> 40)) {
		mw_fence_judge(vd, s, idle >> 40, idle & 0xffffffffffull);
	}
	return 0;
}

#endif /* MW_TOOLS_BPF_H */
