/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent defends itself: no tracked process may signal the agent or its
 * fanotify guard (mw_guarded). Under BPF-LSM lsm/task_kill refuses the
 * signal; without it raw_tp/signal_generate sees it as it is sent and
 * kills the sender (the signal itself arrives: a stop leaves the fence in
 * force, a stopped answerer is answered for, a killed guard is replaced).
 */
#ifndef MW_SELF_BPF_H
#define MW_SELF_BPF_H

#include "mcpwarden.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/task.bpf.h"
#include "lib/emit.bpf.h"

static __always_inline bool mw_guarded_is(__u32 idx, __u32 tgid)
{
	__u32 *v = bpf_map_lookup_elem(&mw_guarded, &idx);

	return v && *v && *v == tgid;
}

/* Which of mw_guarded @tgid is, or -1 (unrolled: 6.1 rejects the loop). */
static __always_inline int mw_guarded_who(__u32 tgid)
{
	_Static_assert(MW_GUARDED_MAX == 2, "mw_guarded_who");
	return mw_guarded_is(MW_GUARDED_AGENT, tgid) ? MW_GUARDED_AGENT :
	       mw_guarded_is(MW_GUARDED_GUARD, tgid) ? MW_GUARDED_GUARD : -1;
}

/* A tracked sender of @sig to @tgid, if that is ours: the event, and true. */
static __always_inline bool mw_signal_check(__u32 tgid, int sig, __u8 action,
					    __u8 hook)
{
	struct mw_event_signal ev = {};
	struct mw_tracked *t;
	__u64 start;
	int who;

	if (sig <= 0)
		return false;	/* 0 probes for existence: harmless */
	who = mw_guarded_who(tgid);
	if (who < 0)
		return false;
	t = mw_current_tracked(&start);
	if (!t)
		return false;
	mw_fill_current(&ev.proc, start);
	mw_server_copy(&ev.server, t);
	ev.target = tgid;
	ev.sig = sig;
	ev.who = who;
	ev.action = action;
	ev.hook = hook;
	mw_emit(&ev, MW_EVENT_SIGNAL, sizeof(ev), 1);
	mw_count_verdict(action);
	return true;
}

SEC("lsm/task_kill")
int BPF_PROG(handle_task_kill, struct task_struct *p, struct kernel_siginfo *info,
	     int sig, const struct cred *cred)
{
	return mw_signal_check(p->tgid, sig, MW_ACTION_DENY, 0) ? -EPERM : 0;
}

SEC("raw_tp/signal_generate")
int BPF_PROG(handle_signal_generate, int sig, struct kernel_siginfo *info,
	     struct task_struct *task, int group, int result)
{
	if (mw_signal_check(BPF_CORE_READ(task, tgid), sig, MW_ACTION_KILL, 1))
		bpf_send_signal(SIGKILL);
	return 0;
}

#endif /* MW_SELF_BPF_H */
