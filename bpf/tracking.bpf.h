/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracking: mw_tracked (tgid -> server identity) kept in step with the
 * process tree. A fork inherits its parent's entry, an exit ends it; a
 * process becomes a server by its cgroup (at fork and exec) or by the
 * detection rules in mw_detect (at exec: handle_exec in exec.bpf.h uses
 * mw_detect_name() and mw_detect_step()).
 */
#ifndef MW_TRACKING_BPF_H
#define MW_TRACKING_BPF_H

#include "mcpwarden.h"
#include "mw_ident.h"
#include "mw_match.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/task.bpf.h"
#include "lib/emit.bpf.h"

/* Is the cgroup of @task, or one of its ancestors, selected in @gen? */
static __always_inline __u32 mw_cgroup_profile(struct task_struct *task,
					       __u32 gen)
{
	struct mw_cgroup_key key = { .gen = gen };
	struct mw_gen *g = bpf_map_lookup_elem(&mw_gens, &gen);
	struct cgroup *cg;
	__u32 *profile;
	int level, i;

	if (!g || !g->ncgroups)
		return 0;
	cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	level = BPF_CORE_READ(cg, level);
	for (i = 0; i < MW_CGROUP_DEPTH; i++) {
		struct cgroup *anc;

		if (level - i < 0)
			break;
		anc = BPF_CORE_READ(cg, ancestors[(level - i) & 255]);
		key.cgroup_id = BPF_CORE_READ(anc, kn, id);
		profile = bpf_map_lookup_elem(&mw_cgroups, &key);
		if (profile)
			return *profile;
	}
	return 0;
}

static __always_inline int mw_track(__u32 tgid, __u64 start,
				    const struct mw_server *server)
{
	struct mw_tracked t = { .start_time = start, .server = *server };

	if (bpf_map_update_elem(&mw_tracked, &tgid, &t, BPF_ANY)) {
		mw_count(MW_CNT_TRACK_FULL);
		return -1;
	}
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u64 cstart = BPF_CORE_READ(child, start_boottime);
	struct mw_server server = {};
	struct mw_tracked *t;
	__u32 profile;

	if (ctgid == ptgid)	/* a thread: it counts as its process */
		return 0;
	t = bpf_map_lookup_elem(&mw_tracked, &ptgid);
	if (t && mw_same_start(t->start_time, BPF_CORE_READ(parent, group_leader,
							    start_boottime))) {
		/*
		 * No room (an allocation failure: the map is sized for every
		 * process there can be): the server dies rather than having
		 * an untracked child.
		 */
		if (mw_track(ctgid, cstart, &t->server))
			bpf_send_signal(SIGKILL);
		return 0;
	}
	profile = mw_cgroup_profile(child, mw_active_gen());
	if (!profile)
		return 0;
	server.pid = ctgid;
	server.profile = profile;
	server.start_time = cstart;
	server.source = MW_SOURCE_CGROUP;
	mw_track(ctgid, cstart, &server);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct mw_event_exit ev = {};
	struct mw_tracked *t;
	__u32 tgid;

	/* Only the last thread of the process ends it. */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	t = bpf_map_lookup_elem(&mw_tracked, &tgid);
	if (!t)
		return 0;
	if (!mw_same_start(t->start_time,
			   BPF_CORE_READ(task, group_leader, start_boottime))) {
		bpf_map_delete_elem(&mw_tracked, &tgid);
		return 0;
	}
	mw_fill_process(&ev.proc, task);
	mw_server_copy(&ev.server, t);
	ev.exit_code = BPF_CORE_READ(task, exit_code);
	/* No verdict in it: the agent's tick picks it up. */
	mw_emit(&ev, MW_EVENT_EXIT, sizeof(ev), 0);
	bpf_map_delete_elem(&mw_tracked, &tgid);
	return 0;
}

/* ---- Detection at exec ------------------------------------------------- */

/* bpf_loop state: the callbacks read the names from mw_exec_scratch. */
struct mw_detect_ctx {
	__u32 off;		/* argv starts at ev.data[off] */
	__u32 len;		/* bytes of argv */
	__u32 base;		/* start of the current element's basename */
	__u32 base2;		/* start of its last two components */
	__u32 nelem;
	__u32 ncand;		/* candidates noted in the scratch map */
	__u32 gen;
	__u32 ndetect;
	__u32 profile;		/* the match, 0 if none */
};

struct mw_rule_ctx {
	__u32 gen;
	__u32 len;
	__u32 depth;
	__u32 profile;
};

static long mw_rule_step(__u32 r, struct mw_rule_ctx *c)
{
	struct mw_exec_scratch *s;
	struct mw_detect_rule *rule;
	__u32 zero = 0, idx;

	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!s || r >= MW_DETECT_MAX)
		return 1;
	idx = c->gen * MW_DETECT_MAX + r;
	rule = bpf_map_lookup_elem(&mw_detect, &idx);
	if (rule && rule->depth == c->depth &&
	    mw_rule_match(rule, s->name, c->len)) {
		c->profile = rule->profile;
		return 1;
	}
	return 0;
}

/*
 * Test ev.data[start..start+len), the last @depth path components of a name,
 * against the detection rules of that depth.
 */
static __always_inline __u32 mw_detect_name(struct mw_exec_scratch *s,
					    __u32 start, __u32 len, __u32 depth,
					    __u32 gen, __u32 ndetect)
{
	struct mw_rule_ctx rc = { .gen = gen, .len = len, .depth = depth };

	if (len == 0 || len >= MW_NAME_MAX ||
	    start >= sizeof(s->ev.data) - MW_NAME_MAX)
		return 0;
	mw_barrier_var(len);
	len &= MW_NAME_MAX - 1;
	if (bpf_probe_read_kernel(s->name, len, &s->ev.data[start]))
		return 0;
	bpf_loop(ndetect < MW_DETECT_MAX ? ndetect : MW_DETECT_MAX,
		 mw_rule_step, &rc, 0);
	return rc.profile;
}

/*
 * The first pass over argv only notes where each of the first
 * MW_DETECT_ARGS elements' names lie; the rules are tried in a second pass
 * (mw_detect_cand). Trying them here, a loop in a loop in a loop, cost the
 * verifier 340K instructions and a second of every agent start.
 */
static long mw_detect_step(__u32 i, struct mw_detect_ctx *c)
{
	struct mw_exec_scratch *s;
	__u32 zero = 0, pos, k;
	char ch;

	if (i >= c->len || c->nelem >= MW_DETECT_ARGS)
		return 1;
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!s)
		return 1;
	pos = c->off + i;
	if (pos >= sizeof(s->ev.data))
		return 1;
	ch = s->ev.data[pos];
	if (ch == '/') {
		c->base2 = c->base;
		c->base = pos + 1;
	} else if (ch == '\0') {
		k = c->ncand & (MW_DETECT_CANDS - 1);
		s->cand_start[k] = c->base;
		s->cand_len[k] = pos - c->base;
		k = (k + 1) & (MW_DETECT_CANDS - 1);
		s->cand_start[k] = c->base2;
		s->cand_len[k] = c->base2 != c->base ? pos - c->base2 : 0;
		c->ncand += 2;
		c->base = pos + 1;
		c->base2 = pos + 1;
		c->nelem++;
	}
	return 0;
}

/*
 * Candidate @i: the executable's basename (0; 1 is empty), then for each
 * argv element its basename (depth 1, even) and last two components (odd).
 */
static long mw_detect_cand(__u32 i, struct mw_detect_ctx *c)
{
	struct mw_exec_scratch *s;
	__u32 zero = 0, k = i & (MW_DETECT_CANDS - 1);

	if (i >= c->ncand)
		return 1;
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!s)
		return 1;
	if (!s->cand_len[k])
		return 0;
	c->profile = mw_detect_name(s, s->cand_start[k], s->cand_len[k],
				    (k & 1) + 1, c->gen, c->ndetect);
	return c->profile != 0;
}

#endif /* MW_TRACKING_BPF_H */
