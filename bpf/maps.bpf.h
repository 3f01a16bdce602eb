/* SPDX-License-Identifier: GPL-2.0-only */
/* Maps shared by every mcpwarden program, and the helpers that read them. */
#ifndef MW_MAPS_BPF_H
#define MW_MAPS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_TRACKED_MAX);
	__type(key, __u32);
	__type(value, struct mw_tracked);
} mw_tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_CGROUPS_MAX);
	__type(key, struct mw_cgroup_key);
	__type(value, __u32);
} mw_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MW_DETECT_MAX);
	__type(key, __u32);
	__type(value, struct mw_detect_rule);
} mw_detect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_config);
} mw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct mw_gen);
} mw_gens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * MW_PROFILES_MAX);
	__type(key, __u32);
	__type(value, struct mw_profile);
} mw_profiles SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MW_NET_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_net_key);
	__type(value, struct mw_net_value);
} mw_net_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_EXEC_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_inode_key);
	__type(value, struct mw_rule_value);
} mw_exec_rules SEC(".maps");

/* File rules: the same keys as exec rules, another map. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_FILE_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_inode_key);
	__type(value, struct mw_rule_value);
} mw_file_rules SEC(".maps");

/* Unix socket rules: by inode (LSM) ... */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_UNIX_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_inode_key);
	__type(value, struct mw_rule_value);
} mw_unix_rules SEC(".maps");

/* ... and by the path a connect() gives (cgroup/connect_unix). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_UNIX_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_unix_key);
	__type(value, struct mw_rule_value);
} mw_unix_paths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} mw_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} mw_events SEC(".maps");

/*
 * Updating an element of a map-of-maps from userspace waits for every running
 * BPF program to finish (maybe_wait_bpf_programs()). A policy reload uses it
 * after the generation flip, before it clears the old generation.
 */
struct mw_sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct mw_sync_inner);
} mw_sync SEC(".maps");

static __always_inline void mw_count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&mw_counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline __u32 mw_active_gen(void)
{
	__u32 zero = 0;
	struct mw_config *cfg = bpf_map_lookup_elem(&mw_config, &zero);

	return cfg ? (cfg->active_gen & 1) : 0;
}

static __always_inline struct mw_profile *mw_profile_get(__u32 gen, __u32 id)
{
	__u32 idx = gen * MW_PROFILES_MAX + (id & (MW_PROFILES_MAX - 1));

	return bpf_map_lookup_elem(&mw_profiles, &idx);
}

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

#endif /* MW_MAPS_BPF_H */
