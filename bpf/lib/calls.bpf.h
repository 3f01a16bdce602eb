/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The MCP tool calls a tracked tree runs now, read from its session page
 * (mcpwarden.h, mw_sessions), for the event of a decision. The interposer
 * changes the page's inflight list between two increments of its seq; a
 * read that saw seq odd or changed says so (MW_CALLS_TORN): the agent then
 * reports the attribution as ambiguous, never as exact.
 */
#ifndef MW_CALLS_BPF_H
#define MW_CALLS_BPF_H

#include "mcpwarden.h"
#include "lib/maps.bpf.h"

#define MW_READ_ONCE(x)	(*(volatile typeof(x) *)&(x))

static __always_inline struct mw_session *mw_session_of(__u32 session)
{
	__u32 slot = MW_SESSION_SLOT(session), zero = 0;
	struct mw_session *p;
	void *page;

	if (!session)
		return NULL;
	page = bpf_map_lookup_elem(&mw_sessions, &slot);
	if (!page)
		return NULL;
	p = bpf_map_lookup_elem(page, &zero);
	/* A slot used again since: another server's page. */
	if (!p || MW_READ_ONCE(p->gen) != MW_SESSION_GEN(session))
		return NULL;
	return p;
}

/*
 * The calls @session's page runs now into @out (none: zero). Global: the
 * verifier checks it once, not at every event site of every program.
 */
__noinline int mw_calls_fill(struct mw_calls *out, __u32 session)
{
	struct mw_session *p;
	__u32 seq, n;

	if (!out)
		return 0;
	out->n = 0;
	out->call[0] = out->call[1] = out->call[2] = 0;
	p = mw_session_of(session);
	if (!p)
		return 0;
	seq = MW_READ_ONCE(p->seq);
	asm volatile("" ::: "memory");
	n = MW_READ_ONCE(p->ninflight);
	out->call[0] = MW_READ_ONCE(p->inflight[0]);
	out->call[1] = MW_READ_ONCE(p->inflight[1]);
	out->call[2] = MW_READ_ONCE(p->inflight[2]);
	asm volatile("" ::: "memory");
	if ((seq & 1) || MW_READ_ONCE(p->seq) != seq)
		n |= MW_CALLS_TORN;
	out->n = n;
	return 0;
}

/* An event's server: @t's identity and the calls running now. */
static __always_inline void mw_server_copy(struct mw_server *dst,
					   const struct mw_tracked *t)
{
	*dst = t->server;
	mw_calls_fill(&dst->calls, dst->session);
}

#endif /* MW_CALLS_BPF_H */
