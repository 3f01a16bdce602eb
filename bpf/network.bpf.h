/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Network fence: cgroup sock_addr hooks judge every connect and unconnected
 * UDP send of a tracked process (lib/net_judge.bpf.h); other processes pay
 * one hash lookup. Raw and packet sockets, which no address hook sees, are
 * refused at creation.
 */
#ifndef MW_NETWORK_BPF_H
#define MW_NETWORK_BPF_H

#include "mcpwarden.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/task.bpf.h"
#include "lib/emit.bpf.h"
#include "lib/net_judge.bpf.h"
#include "lib/tools.bpf.h"

/* Narrow @vd by the tool fences of @t's calls (lib/tools.bpf.h). */
static __always_inline void mw_sock_tools(struct mw_verdict *vd,
					  const struct mw_profile *p,
					  const struct mw_tracked *t,
					  const __u8 *addr, __u16 port,
					  __u8 proto, __u32 gen)
{
	struct mw_tool_scratch *s;
	__u32 zero = 0, i;
	__u64 owner;

	s = bpf_map_lookup_elem(&mw_tool_scratches, &zero);
	if (!s) {
		vd->action = MW_ACTION_DENY;	/* cannot happen: never guess */
		vd->rule_id = MW_RULE_CALLS_TORN;
		return;
	}
	/*
	 * Preemptible hooks may share this CPU's scratch: a hook that finds
	 * another's mark on it when done was overwritten, and denies.
	 */
	owner = bpf_get_prandom_u32() | (__u64)bpf_ktime_get_ns() << 32;
	s->owner = owner;
	s->q.has_alt = mw_net_forms(addr, s->q.checked, &s->q.form, s->q.alt,
				    &s->q.alt_form);
	s->q.gen = gen;
	s->q.profile = t->server.profile;
	s->q.port = port;
	s->q.proto = proto;
	if (mw_tools_fences(t->server.session,
			    (__u64)p->idle_fence << 40 |
			    (__u64)p->idle_default << 32 | p->idle_rule) < 0) {
		vd->action = MW_ACTION_DENY;
		vd->rule_id = MW_RULE_CALLS_TORN;
		return;
	}
	s->verdict = *vd;
	for (i = 0; i < MW_CALLS_INFLIGHT; i++) {
		if (i >= s->nfences)
			break;
		mw_fence_judge(i);
	}
	*vd = s->verdict;
	asm volatile("" ::: "memory");
	if (MW_READ_ONCE(s->owner) != owner) {
		vd->action = MW_ACTION_DENY;
		vd->rule_id = MW_RULE_CALLS_TORN;
	}
}

/*
 * Judge a connect or send of the current process; 1 lets it through. The
 * event is built in its ring reservation: the hooks' stack is near the
 * 512 bytes the verifier allows (6.1 rounds each frame up to 32).
 */
static __always_inline int mw_sock_addr(struct bpf_sock_addr *ctx, __u8 op,
					const __u8 *addr)
{
	struct mw_event_net *ev;
	struct mw_process proc;
	struct mw_agg_key k;
	struct mw_verdict vd;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start, now, flags;
	__u32 gen;
	__u16 port;
	__u8 proto;

	t = mw_current_tracked(&start);
	if (!t)
		return 1;
	gen = mw_active_gen();
	p = mw_profile_get(gen, t->server.profile);
	port = bpf_ntohs(ctx->user_port);
	proto = ctx->protocol;
	if (!p || !p->present) {
		/* A profile without rules in force: deny, never guess. */
		vd.action = MW_ACTION_DENY;
		vd.form = MW_FORM_NATIVE;
		vd.rule_id = MW_RULE_DEFAULT;
		__builtin_memcpy(vd.checked, addr, 16);
	} else {
		mw_net_judge(&vd, gen, t->server.profile, addr, port, proto,
			     p->net_default);
		if (p->has_tools)
			mw_sock_tools(&vd, p, t, addr, port, proto, gen);
		vd.action = mw_mode_action(p, vd.action);
	}
	mw_count_verdict(vd.action);

	mw_fill_current(&proc, start);
	now = bpf_ktime_get_boot_ns();
	/* The key's server is the event's: the calls are read once. */
	mw_agg_key_init(&k, &t->server, MW_EVENT_NET, vd.rule_id, vd.action,
			op);
	mw_calls_fill(&k.server.calls, k.server.session);
	k.protocol = proto;
	k.family = ctx->family;
	k.port = port;
	__builtin_memcpy(k.addr, addr, 16);
	if (mw_agg_repeat(&k, &proc, vd.checked, vd.form, now))
		return vd.action == MW_ACTION_DENY ? 0 : 1;
	ev = mw_ring_reserve(MW_EVENT_NET, sizeof(*ev),
			     vd.action != MW_ACTION_ALLOW, now, &flags);
	if (ev) {
		ev->proc = proc;
		ev->server = k.server;
		__builtin_memcpy(ev->daddr, addr, 16);
		__builtin_memcpy(ev->checked, vd.checked, 16);
		ev->dport = port;
		ev->family = ctx->family;
		ev->protocol = proto;
		ev->op = op;
		ev->action = vd.action;
		ev->form = vd.form;
		ev->pad = 0;
		ev->rule_id = vd.rule_id;
		ev->pad2 = 0;
		mw_ring_submit(ev, flags, vd.action != MW_ACTION_ALLOW);
	}
	return vd.action == MW_ACTION_DENY ? 0 : 1;
}

static __always_inline int mw_sock_addr4(struct bpf_sock_addr *ctx, __u8 op)
{
	__u8 addr[16];

	mw_addr_v4(addr, ctx->user_ip4);
	return mw_sock_addr(ctx, op, addr);
}

static __always_inline int mw_sock_addr6(struct bpf_sock_addr *ctx, __u8 op)
{
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	return mw_sock_addr(ctx, op, (__u8 *)a);
}

SEC("cgroup/connect4")
int handle_connect4(struct bpf_sock_addr *ctx)
{
	return mw_sock_addr4(ctx, MW_NET_CONNECT);
}

SEC("cgroup/connect6")
int handle_connect6(struct bpf_sock_addr *ctx)
{
	return mw_sock_addr6(ctx, MW_NET_CONNECT);
}

SEC("cgroup/sendmsg4")
int handle_sendmsg4(struct bpf_sock_addr *ctx)
{
	return mw_sock_addr4(ctx, MW_NET_SENDMSG);
}

SEC("cgroup/sendmsg6")
int handle_sendmsg6(struct bpf_sock_addr *ctx)
{
	return mw_sock_addr6(ctx, MW_NET_SENDMSG);
}

/* Raw and packet sockets bypass every address hook: refuse them. */
static __always_inline bool mw_ping_socket(const struct bpf_sock *sk)
{
	return sk->type == SOCK_DGRAM &&
	       ((sk->family == AF_INET && sk->protocol == IPPROTO_ICMP) ||
		(sk->family == AF_INET6 && sk->protocol == IPPROTO_ICMPV6));
}

SEC("cgroup/sock_create")
int handle_sock_create(struct bpf_sock *sk)
{
	struct mw_event_socket ev = {};
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
	__u8 action;

	/*
	 * Raw and packet sockets bypass the connect hooks; so do ping
	 * sockets (SOCK_DGRAM + ICMP, unprivileged where ping_group_range
	 * allows): cgroup/sendmsg runs for UDP only, so an echo sent with
	 * sendto() reaches any address. They count as raw sockets here.
	 */
	if (sk->type != SOCK_RAW && sk->type != SOCK_PACKET &&
	    sk->family != AF_PACKET && !mw_ping_socket(sk))
		return 1;
	t = mw_current_tracked(&start);
	if (!t)
		return 1;
	p = mw_profile_get(mw_active_gen(), t->server.profile);
	action = MW_ACTION_DENY;	/* no rules in force: never guess */
	if (p && p->present)
		action = p->deny_raw ? mw_mode_action(p, MW_ACTION_DENY) :
				       MW_ACTION_ALLOW;
	mw_count_verdict(action);

	mw_fill_current(&ev.proc, start);
	mw_server_copy(&ev.server, t);
	ev.family = sk->family;
	ev.type = sk->type;
	ev.protocol = sk->protocol;
	ev.action = action;
	mw_emit(&ev, MW_EVENT_SOCKET, sizeof(ev), action != MW_ACTION_ALLOW);
	return action == MW_ACTION_DENY ? 0 : 1;
}

#endif /* MW_NETWORK_BPF_H */
