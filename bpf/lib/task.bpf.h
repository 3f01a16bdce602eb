/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The running process as the programs see it: its tracking entry, the
 * profile in force for it, and its identity as events record it.
 */
#ifndef MW_TASK_BPF_H
#define MW_TASK_BPF_H

#include "mcpwarden.h"
#include "mw_ident.h"
#include "lib/maps.bpf.h"

/*
 * The tracking entry of the current process, or NULL. An entry whose start
 * time is not the process's own belongs to an earlier process with the same
 * pid: it is stale and never applies.
 */
static __always_inline struct mw_tracked *mw_current_tracked(__u64 *start)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct mw_tracked *t = bpf_map_lookup_elem(&mw_tracked, &tgid);
	struct task_struct *task;

	if (!t)
		return NULL;
	task = (struct task_struct *)bpf_get_current_task();
	*start = BPF_CORE_READ(task, group_leader, start_boottime);
	if (!mw_same_start(t->start_time, *start))
		return NULL;
	return t;
}

/*
 * The current process's tracking entry and the profile in force for it,
 * or NULL (untracked, or a profile no policy has: the LSM hooks allow).
 */
static __always_inline struct mw_profile *mw_current_profile(struct mw_tracked **t,
							     __u64 *start,
							     __u32 *gen)
{
	struct mw_profile *p;

	*t = mw_current_tracked(start);
	if (!*t)
		return NULL;
	*gen = mw_active_gen();
	p = mw_profile_get(*gen, (*t)->server.profile);
	return p && p->present ? p : NULL;
}

static __always_inline void mw_fill_process(struct mw_process *p,
					    struct task_struct *task)
{
	p->pid = BPF_CORE_READ(task, tgid);
	p->tid = BPF_CORE_READ(task, pid);
	p->ppid = BPF_CORE_READ(task, real_parent, tgid);
	p->uid = BPF_CORE_READ(task, cred, uid.val);
	p->gid = BPF_CORE_READ(task, cred, gid.val);
	p->pad = 0;
	p->start_time = BPF_CORE_READ(task, group_leader, start_boottime);
	p->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	BPF_CORE_READ_STR_INTO(&p->comm, task, comm);
}

/*
 * The same for the current task, from helpers where they exist: two kernel
 * reads instead of a dozen on the hot path of a tracked process.
 */
static __always_inline void mw_fill_current(struct mw_process *p, __u64 start)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid(), ug = bpf_get_current_uid_gid();

	p->pid = id >> 32;
	p->tid = (__u32)id;
	p->ppid = BPF_CORE_READ(task, real_parent, tgid);
	p->uid = (__u32)ug;
	p->gid = ug >> 32;
	p->pad = 0;
	p->start_time = start;
	p->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(p->comm, sizeof(p->comm));
}

#endif /* MW_TASK_BPF_H */
