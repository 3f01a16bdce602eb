/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every map of the object, and the plain lookups of the shared ones.
 * Userspace reaches the maps through the skeleton by these names (and pins
 * mw_tracked): a name, type, key, value or size here is ABI.
 * The per-CPU scratch maps at the end hold what the 512-byte stack cannot.
 */
#ifndef MW_MAPS_BPF_H
#define MW_MAPS_BPF_H

#include "mcpwarden.h"

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

/* Userspace's only: what the pinned state is, and the profiles' names. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_meta);
} mw_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_PROFILES_MAX);
	__type(key, __u32);
	__type(value, struct mw_profile_name);
} mw_profile_names SEC(".maps");

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

/* Tool fences: a tool name to its fence (mcpwarden.h, lib/tools.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MW_TOOL_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_tool_key);
	__type(value, struct mw_tool_value);
} mw_tool_rules SEC(".maps");

/*
 * What judging by tool fences needs, too big for a hook's stack; per CPU:
 * a hook runs to its end on one (lib/tools.bpf.h).
 */
struct mw_net_q {			/* one connect or send */
	__u8 checked[16];		/* its forms: lib/net_judge.bpf.h */
	__u8 alt[16];
	__u8 form, alt_form, has_alt, proto;
	__u16 port;
	__u16 pad;
	__u32 gen;
	__u32 profile;
};

struct mw_verdict {
	__u8 action;
	__u8 form;
	__u16 pad;
	__u32 rule_id;
	__u8 checked[16];
};

struct mw_tool_scratch {
	__u64 owner;			/* whose judging: another hook's on this */
					/* CPU (preempted) makes it deny */
	struct mw_net_q q;
	struct mw_tool_key key;
	struct mw_net_key net_key;	/* a fence's rules' lookup */
	struct mw_verdict fence;	/* one fence's verdict */
	struct mw_verdict verdict;	/* the strictest so far */
	__u32 nfences;			/* the fences that judge it */
	__u32 fence_id[MW_CALLS_INFLIGHT];
	__u64 fence_def[MW_CALLS_INFLIGHT];	/* default << 32 | its rule */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_tool_scratch);
} mw_tool_scratches SEC(".maps");

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

/* File rules by (directory, name): mw_name_key. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_FILE_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_name_key);
	__type(value, struct mw_rule_value);
} mw_file_names SEC(".maps");

/*
 * The directories above a file rule's path (~/.config above
 * ~/.config/git): a tracked process may not rename or remove them, and so
 * make the path anew where no rule is yet (files.bpf.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_FILE_GUARDS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_inode_key);
	__type(value, struct mw_rule_value);
} mw_file_guards SEC(".maps");

/* Exec rules on applets: handle_exec_late (exec_late.bpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_APPLET_RULES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_applet_key);
	__type(value, struct mw_rule_value);
} mw_applet_rules SEC(".maps");

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
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MW_GUARDED_MAX);
	__type(key, __u32);
	__type(value, __u32);
} mw_guarded SEC(".maps");

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

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_consumer);
} mw_consumer SEC(".maps");

/*
 * MCP sessions (mcpwarden.h): a page per wrapped server with an
 * interposer, which maps it; the agent makes each and puts it here. The
 * page is entry 0; a session with arguments has their slots after it
 * (BPF_F_INNER_MAP: maps of either size fit).
 */
struct mw_session_page {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	/* Sizes, not types: the agent makes the pages without BTF. */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct mw_session));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MW_SESSIONS_MAX);
	__type(key, __u32);
	__array(values, struct mw_session_page);
} mw_sessions SEC(".maps");

/*
 * Aggregation: a decision's repeats within a window, counted (emit.bpf.h).
 * Not preallocated (memory as used). The sweep removes only entries idle a
 * second past their window, so no hook still counts into one.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MW_AGG_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mw_agg_key);
	__type(value, struct mw_agg_value);
} mw_agg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_agg_config);
} mw_agg_config SEC(".maps");

/* Off the 512-byte stack: a hook's new entry, the sweep's summary. */
struct mw_agg_scratch {
	struct mw_agg_value value;
	struct mw_event_agg ev;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_agg_scratch);
} mw_agg_scratch SEC(".maps");

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

/*
 * The path walk's state lives in the per-CPU map value, not on the stack:
 * the verifier then sees the same bpf_loop callback state every iteration
 * and converges (lib/path.bpf.h).
 */
struct mw_path_buf {
	__u64 dentry;		/* struct dentry * */
	__u64 mnt;		/* struct mount * */
	__u32 pos;		/* start of the path built so far in buf */
	__u32 base_pos;		/* start of the last component */
	__u32 base_len;
	__u32 truncated;	/* the path did not fit buf: climbing went on */
	__u32 done;		/* the walk reached the root of the mount tree */
	/* Rules: checked on the file and each ancestor, if check. */
	struct mw_inode_key key;	/* gen and profile set by the caller */
	__u32 check;		/* MW_CHECK_*: which rule map */
	__u32 matched;
	__u32 matched_self;	/* on the file's own inode */
	struct mw_rule_value match;	/* the nearest rule: most specific */
	char buf[2 * MW_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_path_buf);
} mw_path_scratch SEC(".maps");

/*
 * An exec event (6 KiB, far past the stack) and the name detection compares;
 * the bpf_loop callbacks of detection find both here.
 */
/* Names detection tests: the basename and last two components of argv[i]. */
#define MW_DETECT_CANDS	32	/* 2 + 2 * MW_DETECT_ARGS, a power of two */

struct mw_exec_scratch {
	struct mw_event_exec ev;
	char name[MW_NAME_BUF];
	__u32 cand_start[MW_DETECT_CANDS];	/* in ev.data */
	__u32 cand_len[MW_DETECT_CANDS];	/* 0: none */
	__u64 reported_bprm;	/* handle_exec reported the exec of this bprm */
	__u64 handoff_bprm;	/* handle_exec left it to handle_exec_late */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_exec_scratch);
} mw_exec_scratch SEC(".maps");

/* A fanotify verdict on its way from userspace to the ring. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_event_fanotify);
} mw_fanotify_scratch SEC(".maps");

/* A file event: 4 KiB of path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_event_file);
} mw_file_scratch SEC(".maps");

/* The mw_applet_rules key the exec programs build. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_applet_key);
} mw_applet_scratch SEC(".maps");

/* The mw_unix_paths key handle_connect_unix builds. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_unix_key);
} mw_unix_scratch SEC(".maps");

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

#endif /* MW_MAPS_BPF_H */
