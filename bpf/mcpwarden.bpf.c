// SPDX-License-Identifier: GPL-2.0-only
/*
 * mcpwarden: track MCP server process trees and fence their network access.
 *
 * Tracking: raw_tp/sched_process_{fork,exec,exit} keep mw_tracked (tgid ->
 * server identity) in step with the process tree; exec also auto-detects
 * servers from the rules in mw_detect and cgroup selection from mw_cgroups.
 * Enforcement: cgroup sock_addr hooks judge every connect and unconnected
 * UDP send of a tracked process; other processes pay one hash lookup.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "mcpwarden.h"
#include "mw_abi.h"
#include "mw_ident.h"
#include "mw_match.h"
#include "maps.bpf.h"
#include "path.bpf.h"
#include "net.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET		2
#define AF_INET6	10
#define AF_PACKET	17
#define SOCK_RAW	3
#define SOCK_PACKET	10

/* Keep the verifier's bounds on @v: clang must not reuse an older copy. */
#define mw_barrier_var(v)	asm volatile("" : "+r"(v))

struct mw_exec_scratch {
	struct mw_event_exec ev;
	char name[MW_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_exec_scratch);
} mw_exec_scratch SEC(".maps");

static __always_inline void mw_hdr(struct mw_event_hdr *h, __u32 type,
				   __u32 size)
{
	h->type = type;
	h->size = size;
	h->time = bpf_ktime_get_boot_ns();
}

/*
 * Wake the agent only for what is urgent (a verdict against a process) or
 * when the ring is a quarter full; it drains the rest on a 100 ms tick. A
 * wake-up per event costs a self-IPI, about a microsecond in a VM.
 */
static __always_inline __u64 mw_wakeup(int urgent)
{
	if (urgent || bpf_ringbuf_query(&mw_events, BPF_RB_AVAIL_DATA) * 4 >
		      bpf_ringbuf_query(&mw_events, BPF_RB_RING_SIZE))
		return 0;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline int mw_emit(void *ev, __u64 size, int urgent)
{
	if (bpf_ringbuf_output(&mw_events, ev, size, mw_wakeup(urgent))) {
		mw_count(MW_CNT_RINGBUF_FULL);
		return -1;
	}
	mw_count(MW_CNT_EVENTS);
	return 0;
}

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
		mw_track(ctgid, cstart, &t->server);
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

struct mw_detect_ctx {
	__u32 off;		/* argv starts at ev.data[off] */
	__u32 len;		/* bytes of argv */
	__u32 base;		/* start of the current element's basename */
	__u32 base2;		/* start of its last two components */
	__u32 nelem;
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

static long mw_detect_step(__u32 i, struct mw_detect_ctx *c)
{
	struct mw_exec_scratch *s;
	__u32 zero = 0, pos;
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
		c->profile = mw_detect_name(s, c->base, pos - c->base, 1,
					    c->gen, c->ndetect);
		if (!c->profile && c->base2 != c->base)
			c->profile = mw_detect_name(s, c->base2, pos - c->base2,
						    2, c->gen, c->ndetect);
		if (c->profile)
			return 1;
		c->base = pos + 1;
		c->base2 = pos + 1;
		c->nelem++;
	}
	return 0;
}

/* A file with no name: memfd, O_TMPFILE, or deleted after it was opened. */
static __always_inline int mw_fileless(struct file *f)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);

	if (BPF_CORE_READ(d, d_inode, __i_nlink) == 0)
		return 1;
	/* d_unlinked(): unhashed and not a root */
	return !BPF_CORE_READ(d, d_hash.pprev) && BPF_CORE_READ(d, d_parent) != d;
}

struct mw_exec_verdict {
	__u8 action;
	__u8 fileless;
	__u32 rule_id;
};

/*
 * Judge an exec of @f for profile @p after mw_file_path(f, gen, profile):
 * fileless first, then the nearest rule on the file or a directory above
 * it, then the profile's allow-list.
 */
static __always_inline void mw_exec_judge(struct mw_exec_verdict *v,
					  const struct mw_profile *p,
					  const struct mw_path_buf *pb,
					  struct file *f)
{
	v->action = MW_ACTION_ALLOW;
	v->rule_id = MW_RULE_DEFAULT;
	v->fileless = mw_fileless(f);
	if (v->fileless && p->fileless != MW_ACTION_ALLOW) {
		v->action = p->fileless;
		v->rule_id = MW_RULE_FILELESS;
	} else if (pb->matched) {
		v->action = pb->match.action;
		v->rule_id = pb->match.rule_id;
	} else if (p->exec_allowlist) {
		v->action = MW_ACTION_DENY;
	}
	if (v->action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		v->action = MW_ACTION_AUDIT;
}

/* Copy the path built in @pb to ev->data; returns its length with NUL. */
static __always_inline __u32 mw_copy_path(struct mw_event_exec *ev,
					  struct mw_path_buf *pb)
{
	__u32 w_pos = pb->pos & (MW_PATH_MAX - 1), plen;

	plen = MW_PATH_MAX - w_pos;	/* with the NUL */
	mw_barrier_var(plen);
	plen &= MW_PATH_MAX - 1;	/* pos >= 1: no-op */
	if (plen && !bpf_probe_read_kernel(ev->data, plen, &pb->buf[w_pos]))
		return plen;
	return 0;
}

static __always_inline void mw_exec_reset(struct mw_event_exec *ev)
{
	ev->exe_len = 0;
	ev->args_len = 0;
	ev->args_truncated = 0;
	ev->exe_ino = 0;
	ev->exe_dev = 0;
	ev->action = MW_ACTION_NONE;
	ev->hook = MW_HOOK_EXEC_TP;
	ev->fileless = 0;
	ev->rule_id = MW_RULE_DEFAULT;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct mw_exec_verdict vd = {};
	struct mw_exec_scratch *s;
	struct mw_event_exec *ev;
	struct mw_path_buf *pb = NULL;
	struct mw_profile *p;
	struct mw_tracked *t;
	struct mw_gen *g;
	struct file *exe;
	__u64 arg_start, arg_end, start;
	__u32 zero = 0, tgid, gen, alen, plen, size, profile;
	__u32 w_pos = 0, base_pos = 0, base_len = 0;

	tgid = BPF_CORE_READ(task, tgid);
	start = BPF_CORE_READ(task, group_leader, start_boottime);
	t = bpf_map_lookup_elem(&mw_tracked, &tgid);
	if (t && !mw_same_start(t->start_time, start))
		t = NULL;
	gen = mw_active_gen();
	g = bpf_map_lookup_elem(&mw_gens, &gen);
	if (!t && (!g || (!g->ndetect && !g->ncgroups)))
		return 0;	/* nothing can make this process tracked */

	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!s)
		return 0;
	ev = &s->ev;
	mw_exec_reset(ev);
	profile = t ? t->server.profile : 0;
	p = profile ? mw_profile_get(gen, profile) : NULL;

	/* The image the kernel runs: the interpreter, for a script. */
	exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe) {
		pb = mw_file_path(exe, gen, p && p->has_exec ? profile : 0);
		if (pb) {
			w_pos = pb->pos & (MW_PATH_MAX - 1);
			base_pos = pb->base_pos;
			base_len = pb->base_len;
			ev->exe_len = mw_copy_path(ev, pb);
		}
		ev->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
		ev->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	}

	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	alen = arg_end > arg_start ? arg_end - arg_start : 0;
	if (alen > MW_ARGS_MAX - 1) {
		alen = MW_ARGS_MAX - 1;
		ev->args_truncated = 1;
	}
	plen = ev->exe_len & (MW_PATH_MAX - 1);
	mw_barrier_var(alen);
	alen &= MW_ARGS_MAX - 1;
	if (alen && bpf_probe_read_user(&ev->data[plen], alen,
					(void *)arg_start)) {
		mw_count(MW_CNT_READ_ERRS);
		alen = 0;
	}
	ev->args_len = alen;

	if (!t) {
		struct mw_detect_ctx dc = {
			.off = plen, .len = alen, .base = plen, .base2 = plen,
			.gen = gen,
			.ndetect = g ? g->ndetect : 0,
		};
		struct mw_server server = {
			.pid = tgid, .start_time = start,
			.source = MW_SOURCE_DETECT,
		};

		if (dc.ndetect) {
			/* The executable's own name, then argv elements. */
			if (ev->exe_len > 1 && base_len)
				dc.profile = mw_detect_name(s, base_pos - w_pos,
							    base_len, 1, gen,
							    dc.ndetect);
			if (!dc.profile && alen)
				bpf_loop(MW_ARGS_MAX, mw_detect_step, &dc, 0);
		}
		if (!dc.profile) {
			dc.profile = mw_cgroup_profile(task, gen);
			server.source = MW_SOURCE_CGROUP;
		}
		if (!dc.profile)
			return 0;
		server.profile = dc.profile;
		if (mw_track(tgid, start, &server))
			return 0;
		t = bpf_map_lookup_elem(&mw_tracked, &tgid);
		if (!t)
			return 0;
		profile = dc.profile;
		p = mw_profile_get(gen, profile);
		/* A new server is judged too: walk again, with its rules. */
		if (exe && p && p->has_exec)
			pb = mw_file_path(exe, gen, profile);
	}

	if (exe && pb && p && p->present) {
		mw_exec_judge(&vd, p, pb, exe);
		ev->action = vd.action;
		ev->rule_id = vd.rule_id;
		ev->fileless = vd.fileless;
		if (vd.action == MW_ACTION_DENY) {
			/* The new image has not run an instruction yet. */
			bpf_send_signal(9);
			ev->action = MW_ACTION_KILL;
			mw_count(MW_CNT_DENIES);
		} else if (vd.action == MW_ACTION_AUDIT) {
			mw_count(MW_CNT_AUDITS);
		}
	}

	mw_fill_process(&ev->proc, task);
	ev->server = t->server;
	size = offsetof(struct mw_event_exec, data) + plen + alen;
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	mw_hdr(&ev->hdr, MW_EVENT_EXEC, size);
	mw_emit(ev, size, ev->action >= MW_ACTION_AUDIT);
	return 0;
}

/*
 * BPF-LSM backend: judge every binfmt pass of an exec (a script, then its
 * interpreter) before anything is committed; EPERM fails the execve().
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(handle_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct mw_exec_verdict vd = {};
	struct mw_exec_scratch *s;
	struct mw_event_exec *ev;
	struct mw_path_buf *pb;
	struct mw_profile *p;
	struct mw_tracked *t;
	struct file *f;
	__u64 start;
	__u32 zero = 0, gen, size;

	if (ret)
		return ret;
	p = mw_current_profile(&t, &start, &gen);
	if (!p || !p->has_exec)
		return 0;
	f = BPF_CORE_READ(bprm, file);
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!f || !s)
		return 0;
	pb = mw_file_path(f, gen, t->server.profile);
	if (!pb)
		return 0;
	mw_exec_judge(&vd, p, pb, f);
	if (vd.action == MW_ACTION_ALLOW)
		return 0;	/* reported by the exec tracepoint, with argv */
	ev = &s->ev;
	mw_exec_reset(ev);
	ev->exe_len = mw_copy_path(ev, pb);
	ev->exe_ino = BPF_CORE_READ(f, f_inode, i_ino);
	ev->exe_dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	ev->action = vd.action;
	ev->rule_id = vd.rule_id;
	ev->fileless = vd.fileless;
	ev->hook = MW_HOOK_BPRM_CHECK;
	mw_fill_current(&ev->proc, start);
	ev->server = t->server;
	size = offsetof(struct mw_event_exec, data) + (ev->exe_len & (MW_PATH_MAX - 1));
	mw_hdr(&ev->hdr, MW_EVENT_EXEC, size);
	mw_emit(ev, size, 1);
	if (vd.action == MW_ACTION_DENY) {
		mw_count(MW_CNT_DENIES);
		return -1;	/* -EPERM */
	}
	mw_count(MW_CNT_AUDITS);
	return 0;
}

#define MW_PROT_EXEC	0x4

/*
 * The loader trick: "ld.so /usr/bin/curl" maps the binary without an exec.
 * A tracked process may not map a denied binary executable.
 */
SEC("lsm/mmap_file")
int BPF_PROG(handle_mmap_file, struct file *file, unsigned long reqprot,
	     unsigned long prot, unsigned long flags, int ret)
{
	struct mw_exec_scratch *s;
	struct mw_event_exec *ev;
	struct mw_rule_value *v;
	struct mw_inode_key key;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
	__u32 zero = 0, gen, size;
	__u8 action;

	if (ret || !file || !(prot & MW_PROT_EXEC))
		return ret;
	p = mw_current_profile(&t, &start, &gen);
	if (!p || !p->has_exec)
		return 0;
	key.gen = gen;
	key.profile = t->server.profile;
	key.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	key.pad = 0;
	key.ino = BPF_CORE_READ(file, f_inode, i_ino);
	v = bpf_map_lookup_elem(&mw_exec_rules, &key);
	if (!v || v->is_dir || v->action != MW_ACTION_DENY)
		return 0;	/* libraries: only named binaries are refused */
	action = p->mode == MW_MODE_MONITOR ? MW_ACTION_AUDIT : MW_ACTION_DENY;
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (s) {
		struct mw_path_buf *pb = mw_file_path(file, gen, 0);

		ev = &s->ev;
		mw_exec_reset(ev);
		if (pb)
			ev->exe_len = mw_copy_path(ev, pb);
		ev->exe_ino = key.ino;
		ev->exe_dev = key.dev;
		ev->action = action;
		ev->rule_id = v->rule_id;
		ev->hook = MW_HOOK_MMAP_FILE;
		mw_fill_current(&ev->proc, start);
		ev->server = t->server;
		size = offsetof(struct mw_event_exec, data) +
		       (ev->exe_len & (MW_PATH_MAX - 1));
		mw_hdr(&ev->hdr, MW_EVENT_EXEC, size);
		mw_emit(ev, size, 1);
	}
	if (action == MW_ACTION_AUDIT)
		return 0;
	mw_count(MW_CNT_DENIES);
	return -1;	/* -EPERM */
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *task)
{
	struct mw_event_exit *ev;
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
	ev = bpf_ringbuf_reserve(&mw_events, sizeof(*ev), 0);
	if (ev) {
		mw_hdr(&ev->hdr, MW_EVENT_EXIT, sizeof(*ev));
		mw_fill_process(&ev->proc, task);
		ev->server = t->server;
		ev->exit_code = BPF_CORE_READ(task, exit_code);
		ev->pad = 0;
		bpf_ringbuf_submit(ev, mw_wakeup(0));
		mw_count(MW_CNT_EVENTS);
	} else {
		mw_count(MW_CNT_RINGBUF_FULL);
	}
	bpf_map_delete_elem(&mw_tracked, &tgid);
	return 0;
}

/* Judge a connect or send of the current process; 1 lets it through. */
static __always_inline int mw_sock_addr(struct bpf_sock_addr *ctx, __u8 op,
					const __u8 *addr)
{
	struct mw_event_net *ev;
	struct mw_verdict vd;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
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
		if (vd.action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
			vd.action = MW_ACTION_AUDIT;
	}
	if (vd.action == MW_ACTION_DENY)
		mw_count(MW_CNT_DENIES);
	else if (vd.action == MW_ACTION_AUDIT)
		mw_count(MW_CNT_AUDITS);

	ev = bpf_ringbuf_reserve(&mw_events, sizeof(*ev), 0);
	if (ev) {
		mw_hdr(&ev->hdr, MW_EVENT_NET, sizeof(*ev));
		mw_fill_current(&ev->proc, start);
		ev->server = t->server;
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
		bpf_ringbuf_submit(ev, mw_wakeup(vd.action != MW_ACTION_ALLOW));
		mw_count(MW_CNT_EVENTS);
	} else {
		mw_count(MW_CNT_RINGBUF_FULL);
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
SEC("cgroup/sock_create")
int handle_sock_create(struct bpf_sock *sk)
{
	struct mw_event_socket *ev;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
	__u8 action;

	if (sk->type != SOCK_RAW && sk->type != SOCK_PACKET &&
	    sk->family != AF_PACKET)
		return 1;
	t = mw_current_tracked(&start);
	if (!t)
		return 1;
	p = mw_profile_get(mw_active_gen(), t->server.profile);
	action = MW_ACTION_DENY;
	if (p && p->present) {
		if (!p->deny_raw)
			action = MW_ACTION_ALLOW;
		else if (p->mode == MW_MODE_MONITOR)
			action = MW_ACTION_AUDIT;
	}
	if (action == MW_ACTION_DENY)
		mw_count(MW_CNT_DENIES);
	ev = bpf_ringbuf_reserve(&mw_events, sizeof(*ev), 0);
	if (ev) {
		mw_hdr(&ev->hdr, MW_EVENT_SOCKET, sizeof(*ev));
		mw_fill_current(&ev->proc, start);
		ev->server = t->server;
		ev->family = sk->family;
		ev->type = sk->type;
		ev->protocol = sk->protocol;
		ev->action = action;
		__builtin_memset(ev->pad, 0, sizeof(ev->pad));
		bpf_ringbuf_submit(ev, mw_wakeup(action != MW_ACTION_ALLOW));
		mw_count(MW_CNT_EVENTS);
	} else {
		mw_count(MW_CNT_RINGBUF_FULL);
	}
	return action == MW_ACTION_DENY ? 0 : 1;
}

/* ---- File fence (BPF-LSM) --------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_event_file);
} mw_file_scratch SEC(".maps");

/*
 * Every open of a tracked process whose profile has file rules: the nearest
 * rule on the file or a directory above it decides; with an allow-list,
 * what no allow rule covers is refused. EACCES, as a permission would.
 */
SEC("lsm/file_open")
int BPF_PROG(handle_file_open, struct file *file, int ret)
{
	struct mw_event_file *ev;
	struct mw_path_buf *pb;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u32 zero = 0, gen, w_pos, plen, size;
	__u64 start;
	__u8 action;

	if (ret)
		return ret;
	p = mw_current_profile(&t, &start, &gen);
	if (!p || !p->has_files)
		return 0;
	pb = mw_path_walk(file, gen, t->server.profile, MW_CHECK_FILES);
	if (!pb)
		return 0;
	if (pb->matched)
		action = pb->match.action;
	else
		action = p->files_allowlist ? MW_ACTION_DENY : MW_ACTION_ALLOW;
	if (action == MW_ACTION_ALLOW)
		return 0;
	if (action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		action = MW_ACTION_AUDIT;
	ev = bpf_map_lookup_elem(&mw_file_scratch, &zero);
	if (ev) {
		w_pos = pb->pos & (MW_PATH_MAX - 1);
		plen = MW_PATH_MAX - w_pos;
		mw_barrier_var(plen);
		plen &= MW_PATH_MAX - 1;
		if (!plen || bpf_probe_read_kernel(ev->path, plen, &pb->buf[w_pos]))
			plen = 0;
		ev->path_len = plen;
		ev->ino = BPF_CORE_READ(file, f_inode, i_ino);
		ev->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
		ev->rule_id = pb->matched ? pb->match.rule_id : MW_RULE_DEFAULT;
		ev->action = action;
		ev->pad = 0;
		ev->pad2 = 0;
		mw_fill_current(&ev->proc, start);
		ev->server = t->server;
		size = offsetof(struct mw_event_file, path) + plen;
		mw_hdr(&ev->hdr, MW_EVENT_FILE, size);
		mw_emit(ev, size & 0x1fff, 1);
	}
	if (action == MW_ACTION_AUDIT) {
		mw_count(MW_CNT_AUDITS);
		return 0;
	}
	mw_count(MW_CNT_DENIES);
	return -13;	/* -EACCES */
}

/* ---- Unix sockets: container runtime APIs -------------------------------- */

static __always_inline void mw_unix_event(struct mw_tracked *t, __u64 start,
					  const struct mw_rule_value *v,
					  __u8 action, __u8 hook, __u64 ino,
					  __u32 dev, const char *path)
{
	struct mw_event_unix *ev;

	ev = bpf_ringbuf_reserve(&mw_events, sizeof(*ev), 0);
	if (!ev) {
		mw_count(MW_CNT_RINGBUF_FULL);
		return;
	}
	mw_hdr(&ev->hdr, MW_EVENT_UNIX, sizeof(*ev));
	mw_fill_current(&ev->proc, start);
	ev->server = t->server;
	ev->ino = ino;
	ev->dev = dev;
	ev->rule_id = v ? v->rule_id : MW_RULE_DEFAULT;
	ev->action = action;
	ev->hook = hook;
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	__builtin_memset(ev->pad3, 0, sizeof(ev->pad3));
	if (bpf_probe_read_kernel_str(ev->path, sizeof(ev->path), path) < 0)
		ev->path[0] = '\0';
	bpf_ringbuf_submit(ev, 0);
	mw_count(MW_CNT_EVENTS);
}

/* Linux 6.2+; weak: 6.1 lacks it, and there the program is not loaded. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_unix_key);
} mw_unix_scratch SEC(".maps");

/*
 * Linux 6.7+: the path as the caller gave it (the socket is not resolved
 * yet, so a symlink of another name is not seen here; BPF-LSM judges the
 * socket inode in handle_unix_connect).
 */
SEC("cgroup/connect_unix")
int handle_connect_unix(struct bpf_sock_addr *ctx)
{
	struct bpf_sock_addr_kern *sa;
	struct mw_rule_value *v;
	struct mw_unix_key *key;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u32 zero = 0, gen;
	__u64 start;
	__u8 action;

	p = mw_current_profile(&t, &start, &gen);
	if (!p || !p->has_unix)
		return 1;
	key = bpf_map_lookup_elem(&mw_unix_scratch, &zero);
	if (!key)
		return 1;
	sa = bpf_cast_to_kern_ctx(ctx);
	__builtin_memset(key, 0, sizeof(*key));
	key->gen = gen;
	key->profile = t->server.profile;
	/* sun_path follows the 2-byte family in struct sockaddr_un */
	if (bpf_probe_read_kernel_str(key->path, sizeof(key->path),
				      (char *)BPF_CORE_READ(sa, uaddr) + 2) < 0)
		return 1;
	v = bpf_map_lookup_elem(&mw_unix_paths, key);
	if (!v)
		return 1;
	action = v->action;
	if (action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		action = MW_ACTION_AUDIT;
	mw_unix_event(t, start, v, action, 0, 0, 0, key->path);
	if (action != MW_ACTION_DENY)
		return 1;
	mw_count(MW_CNT_DENIES);
	return 0;
}

/* BPF-LSM: the listening socket the connect reached, by its inode. */
SEC("lsm/unix_stream_connect")
int BPF_PROG(handle_unix_connect, struct sock *sock, struct sock *other,
	     struct sock *newsk, int ret)
{
	struct unix_sock *u = (struct unix_sock *)other;
	struct mw_rule_value *v;
	struct mw_inode_key key = {};
	struct mw_profile *p;
	struct mw_tracked *t;
	struct dentry *d;
	__u64 start;
	__u8 action;

	if (ret)
		return ret;
	p = mw_current_profile(&t, &start, &key.gen);
	if (!p || !p->has_unix)
		return 0;
	d = BPF_CORE_READ(u, path.dentry);
	if (!d)
		return 0;	/* abstract socket */
	key.profile = t->server.profile;
	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	key.ino = BPF_CORE_READ(d, d_inode, i_ino);
	v = bpf_map_lookup_elem(&mw_unix_rules, &key);
	if (!v)
		return 0;
	action = v->action;
	if (action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		action = MW_ACTION_AUDIT;
	mw_unix_event(t, start, v, action, 1, key.ino, key.dev,
		      (const char *)BPF_CORE_READ(d, d_name.name));
	if (action != MW_ACTION_DENY)
		return 0;
	mw_count(MW_CNT_DENIES);
	return -1;	/* -EPERM */
}

/* ---- Escape primitives (BPF-LSM) ---------------------------------------- */

static __always_inline int mw_escape_check(__u32 sys)
{
	struct mw_event_escape *ev;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
	__u32 gen;
	__u8 action;

	p = mw_current_profile(&t, &start, &gen);
	if (!p || !(p->escape_deny & (1u << sys)))
		return 0;
	action = p->mode == MW_MODE_MONITOR ? MW_ACTION_AUDIT : MW_ACTION_DENY;
	ev = bpf_ringbuf_reserve(&mw_events, sizeof(*ev), 0);
	if (ev) {
		mw_hdr(&ev->hdr, MW_EVENT_ESCAPE, sizeof(*ev));
		mw_fill_current(&ev->proc, start);
		ev->server = t->server;
		ev->escape = sys;
		ev->rule_id = MW_RULE_DEFAULT;
		ev->action = action;
		__builtin_memset(ev->pad, 0, sizeof(ev->pad));
		bpf_ringbuf_submit(ev, 0);
		mw_count(MW_CNT_EVENTS);
	} else {
		mw_count(MW_CNT_RINGBUF_FULL);
	}
	if (action == MW_ACTION_AUDIT)
		return 0;
	mw_count(MW_CNT_DENIES);
	return -1;	/* -EPERM */
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(handle_ptrace, struct task_struct *child, unsigned int mode)
{
	return mw_escape_check(MW_ESC_PTRACE);
}

SEC("lsm/bpf")
int BPF_PROG(handle_bpf, int cmd)
{
	return mw_escape_check(MW_ESC_BPF);
}

SEC("lsm/perf_event_open")
int BPF_PROG(handle_perf_event_open, struct perf_event_attr *attr, int type)
{
	return mw_escape_check(MW_ESC_PERF_EVENT);
}

SEC("lsm/sb_mount")
int BPF_PROG(handle_mount, const char *dev_name)
{
	return mw_escape_check(MW_ESC_MOUNT);
}

SEC("lsm/sb_umount")
int BPF_PROG(handle_umount, struct vfsmount *mnt, int flags)
{
	return mw_escape_check(MW_ESC_UMOUNT);
}

SEC("lsm/kernel_load_data")
int BPF_PROG(handle_load_data, enum kernel_load_data_id id)
{
	return mw_escape_check(id == LOADING_KEXEC_IMAGE ? MW_ESC_KEXEC :
			    MW_ESC_MODULE);
}

SEC("lsm/kernel_read_file")
int BPF_PROG(handle_read_file, struct file *file, enum kernel_read_file_id id)
{
	if (id == READING_MODULE)
		return mw_escape_check(MW_ESC_MODULE);
	if (id == READING_KEXEC_IMAGE || id == READING_KEXEC_INITRAMFS)
		return mw_escape_check(MW_ESC_KEXEC);
	return 0;
}

SEC("lsm/key_alloc")
int BPF_PROG(handle_key_alloc, struct key *key)
{
	return mw_escape_check(MW_ESC_KEYS);
}

SEC("lsm/userns_create")
int BPF_PROG(handle_userns_create, const struct cred *cred)
{
	return mw_escape_check(MW_ESC_USERNS);
}
