/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exec fence: every exec of a tracked process is reported with its path and
 * argv, and judged against the profile's exec rules. With BPF-LSM the exec
 * is refused before it commits (bprm_check_security) and the loader trick
 * is closed (mmap_file); without it the tracepoint kills the new image.
 */
#ifndef MW_EXEC_BPF_H
#define MW_EXEC_BPF_H

#include "mcpwarden.h"
#include "mw_ident.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/task.bpf.h"
#include "lib/emit.bpf.h"
#include "lib/path.bpf.h"
#include "tracking.bpf.h"

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
 * Judge an exec of @f for profile @p after the walk of @f with its exec
 * rules (mw_path_walk(f, gen, profile, MW_CHECK_EXEC)): fileless first,
 * then the nearest rule on the file or a directory above it, then the
 * profile's allow-list.
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
	} else if (!pb->done) {
		/* Deeper than a walk climbs: a rule may be above. */
		v->action = MW_ACTION_DENY;
		v->rule_id = MW_RULE_UNJUDGED;
	} else if (p->exec_allowlist) {
		v->action = MW_ACTION_DENY;
	}
	v->action = mw_mode_action(p, v->action);
}

/* The scratch record is reused: every field a hook does not set, reset. */
static __always_inline void mw_exec_reset(struct mw_event_exec *ev, __u8 hook)
{
	ev->exe_len = 0;
	ev->args_len = 0;
	ev->args_truncated = 0;
	ev->exe_ino = 0;
	ev->exe_dev = 0;
	ev->action = MW_ACTION_NONE;
	ev->hook = hook;
	ev->fileless = 0;
	ev->rule_id = MW_RULE_DEFAULT;
}

static __always_inline void mw_exec_inode(struct mw_event_exec *ev,
					  struct file *f)
{
	ev->exe_ino = BPF_CORE_READ(f, f_inode, i_ino);
	ev->exe_dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
}

/* The tracepoint comes after the exec has committed: a deny kills. */
static __always_inline void mw_exec_verdict_tp(struct mw_event_exec *ev,
					       const struct mw_exec_verdict *vd)
{
	ev->action = vd->action;
	ev->rule_id = vd->rule_id;
	ev->fileless = vd->fileless;
	if (vd->action == MW_ACTION_DENY) {
		/* The new image has not run an instruction yet. */
		bpf_send_signal(SIGKILL);
		ev->action = MW_ACTION_KILL;
	}
	mw_count_verdict(vd->action);
}

static __always_inline void mw_exec_judge_tp(struct mw_event_exec *ev,
					     const struct mw_profile *p,
					     const struct mw_path_buf *pb,
					     struct file *f)
{
	struct mw_exec_verdict vd = {};

	mw_exec_judge(&vd, p, pb, f);
	mw_exec_verdict_tp(ev, &vd);
}

/*
 * The mw_applet_rules key of @f's binary in @profile, with an empty name,
 * if the binary has applets with rules there; else NULL.
 */
static __always_inline struct mw_applet_key *
mw_applet_bin(struct file *f, __u32 gen, __u32 profile)
{
	struct mw_applet_key *k;
	__u32 zero = 0;

	k = bpf_map_lookup_elem(&mw_applet_scratch, &zero);
	if (!k)
		return NULL;
	__builtin_memset(k, 0, sizeof(*k));
	k->gen = gen;
	k->profile = profile;
	k->dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	k->ino = BPF_CORE_READ(f, f_inode, i_ino);
	return bpf_map_lookup_elem(&mw_applet_rules, k) ? k : NULL;
}

/* CLOCK_REALTIME minus CLOCK_BOOTTIME, ns: the agent sets it (loader.c). */
volatile __s64 mw_boot_to_real;

/* struct inode's ctime: i_ctime_sec/nsec from 6.11, __i_ctime from 6.6. */
struct inode___ctime_611 {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));
struct inode___ctime_66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));
struct inode___ctime_61 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline __s64 mw_inode_ctime_ns(struct inode *in)
{
	struct inode___ctime_611 *a = (void *)in;
	struct inode___ctime_66 *b = (void *)in;
	struct inode___ctime_61 *c = (void *)in;

	/*
	 * Since 6.13 (multigrain timestamps) bit 31 of i_ctime_nsec says a
	 * stat() has seen the ctime (I_CTIME_QUERIED): not time. Read as
	 * nanoseconds it made every binary stat()ed within 2.1 s before the
	 * server started look changed since.
	 */
	if (bpf_core_field_exists(a->i_ctime_sec))
		return BPF_CORE_READ(a, i_ctime_sec) * 1000000000LL +
		       (BPF_CORE_READ(a, i_ctime_nsec) & ~(1U << 31));
	if (bpf_core_field_exists(b->__i_ctime))
		return BPF_CORE_READ(b, __i_ctime.tv_sec) * 1000000000LL +
		       BPF_CORE_READ(b, __i_ctime.tv_nsec);
	return BPF_CORE_READ(c, i_ctime.tv_sec) * 1000000000LL +
	       BPF_CORE_READ(c, i_ctime.tv_nsec);
}

/*
 * exec.writable applies to @f, run by @task of server @t: a binary its
 * user may write, by owning it (root's own files are the system's: not
 * those) or by its mode (group-writable for its group, writable by
 * anyone), made or changed since the server started (its ctime: a copy, a
 * download, a write, a chmod all set it, and no one can set it back).
 * The real ids: a setuid binary of another user is not the user's.
 */
static __always_inline bool mw_exec_writable(const struct mw_profile *p,
					     struct file *f,
					     struct task_struct *task,
					     const struct mw_tracked *t)
{
	struct inode *in = BPF_CORE_READ(f, f_inode);
	__u32 uid, gid;
	__u16 mode;

	if (p->writable < MW_ACTION_AUDIT)
		return false;
	mode = BPF_CORE_READ(in, i_mode);
	uid = BPF_CORE_READ(in, i_uid.val);
	gid = BPF_CORE_READ(in, i_gid.val);
	if (!(mode & S_IWOTH) &&
	    !((mode & S_IWGRP) && gid == BPF_CORE_READ(task, cred, gid.val)) &&
	    !(uid && uid == BPF_CORE_READ(task, cred, uid.val)))
		return false;
	return mw_inode_ctime_ns(in) >
	       (__s64)t->server.start_time + mw_boot_to_real;
}

/* argv of @task into ev->data[plen...]; its length, args_truncated set. */
static __always_inline __u32 mw_exec_read_args(struct task_struct *task,
					       struct mw_event_exec *ev,
					       __u32 plen)
{
	__u64 arg_start, arg_end;
	__u32 alen;

	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	alen = arg_end > arg_start ? arg_end - arg_start : 0;
	if (alen > MW_ARGS_MAX - 1) {
		alen = MW_ARGS_MAX - 1;
		ev->args_truncated = 1;
	}
	mw_barrier_var(alen);
	alen &= MW_ARGS_MAX - 1;
	if (alen && bpf_probe_read_user(&ev->data[plen & (MW_PATH_MAX - 1)],
					alen, (void *)arg_start)) {
		mw_count(MW_CNT_READ_ERRS);
		alen = 0;
	}
	ev->args_len = alen;
	return alen;
}

/* The tracepoint's exec event: path and argv in ev->data. */
static __always_inline void mw_exec_emit_tp(struct mw_event_exec *ev,
					    struct task_struct *task,
					    const struct mw_tracked *t,
					    __u32 plen, __u32 alen)
{
	__u32 size;

	mw_fill_process(&ev->proc, task);
	mw_server_copy(&ev->server, t);
	size = offsetof(struct mw_event_exec, data) + plen + alen;
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	mw_emit(ev, MW_EVENT_EXEC, size, ev->action >= MW_ACTION_AUDIT);
}

/* Is the image of @ev a launcher: profile 0's entry in mw_exec_rules? */
static __always_inline bool mw_launcher(__u32 gen,
					const struct mw_event_exec *ev)
{
	struct mw_inode_key key = {
		.gen = gen, .dev = ev->exe_dev, .ino = ev->exe_ino,
	};

	return ev->exe_ino && bpf_map_lookup_elem(&mw_exec_rules, &key);
}

/*
 * Here, not in tracking.bpf.h: it builds and judges the exec event. About
 * 120 lines, on purpose: with the detection (the !t block) moved into a
 * helper, or the image read into one that hands offsets back, the verifier
 * explores three times the states and stops at its 1M-instruction limit
 * (368K processed as it is, on 6.18). Measure before you split it.
 */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct mw_exec_scratch *s;
	struct mw_event_exec *ev;
	struct mw_path_buf *pb = NULL;
	struct mw_profile *p;
	struct mw_tracked *t;
	struct mw_gen *g;
	struct file *exe;
	__u64 start;
	__u32 zero = 0, tgid, gen, alen, plen, profile;
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
	mw_exec_reset(ev, MW_HOOK_EXEC_TP);
	profile = t ? t->server.profile : 0;
	p = profile ? mw_profile_get(gen, profile) : NULL;

	/* The image the kernel runs: the interpreter, for a script. */
	exe = BPF_CORE_READ(task, mm, exe_file);
	s->reported_bprm = 0;
	/*
	 * busybox with applet rules, or a binary exec.writable covers:
	 * handle_exec_late judges and reports (exec_late.bpf.h).
	 */
	s->handoff_bprm = 0;
	if (exe && p && p->present &&
	    ((p->has_applets && mw_applet_bin(exe, gen, profile)) ||
	     mw_exec_writable(p, exe, task, t))) {
		s->handoff_bprm = (__u64)bprm;
		return 0;
	}
	if (exe) {
		pb = mw_path_walk(exe, gen, p && p->has_exec ? profile : 0, MW_CHECK_EXEC);
		if (pb) {
			w_pos = pb->pos & (MW_PATH_MAX - 1);
			base_pos = pb->base_pos;
			base_len = pb->base_len;
			ev->exe_len = mw_path_copy(ev->data, pb);
		}
		ev->exe_ino = BPF_CORE_READ(exe, f_inode, i_ino);
		ev->exe_dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	}

	plen = ev->exe_len & (MW_PATH_MAX - 1);
	alen = mw_exec_read_args(task, ev, plen);

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

		/* A launcher (env, sudo, the wrapper) is not the server. */
		if (dc.ndetect && !mw_launcher(gen, ev)) {
			/* The executable's own name, then argv elements. */
			s->cand_start[0] = base_pos - w_pos;
			s->cand_len[0] = ev->exe_len > 1 ? base_len : 0;
			s->cand_start[1] = 0;
			s->cand_len[1] = 0;
			dc.ncand = 2;
			if (alen)
				bpf_loop(MW_ARGS_MAX, mw_detect_step, &dc, 0);
			bpf_loop(MW_DETECT_CANDS, mw_detect_cand, &dc, 0);
		}
		if (!dc.profile) {
			dc.profile = mw_cgroup_profile(task, gen);
			server.source = MW_SOURCE_CGROUP;
		}
		if (!dc.profile)
			return 0;
		server.profile = dc.profile;
		if (mw_track(tgid, start, &server)) {
			bpf_send_signal(SIGKILL);	/* not untracked: killed */
			return 0;
		}
		t = bpf_map_lookup_elem(&mw_tracked, &tgid);
		if (!t)
			return 0;
		profile = dc.profile;
		p = mw_profile_get(gen, profile);
		/* A new server is judged too: walk again, with its rules. */
		if (exe && p && p->has_exec)
			pb = mw_path_walk(exe, gen, profile, MW_CHECK_EXEC);
	}

	if (exe && pb && p && p->present)
		mw_exec_judge_tp(ev, p, pb, exe);

	s->reported_bprm = (__u64)bprm;
	mw_exec_emit_tp(ev, task, t, plen, alen);
	return 0;
}

/* bpf_loop state of mw_exec_call_args: the argv array execve() was given. */
struct mw_argv_ctx {
	__u64 argv;		/* user pointer to argv[] */
	__u32 base;		/* the strings go to ev.data[base + off] */
	__u32 off;
	__u8 truncated;
};

/*
 * argv[i] into the scratch event. At most MW_ARGV_ROOM bytes each and the
 * last one starting before MW_ARGV_ROOM: base (a path length, < 4096) +
 * off + MW_ARGV_ROOM stays inside ev.data, which the verifier checks.
 */
#define MW_ARGV_ROOM	(MW_ARGS_MAX / 2)

static long mw_argv_step(__u32 i, struct mw_argv_ctx *c)
{
	struct mw_exec_scratch *s;
	__u32 zero = 0, off = c->off;
	__u64 arg = 0;
	long n;

	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!s || bpf_probe_read_user(&arg, sizeof(arg),
				      (void *)(c->argv + (__u64)i * 8)) || !arg)
		return 1;
	if (off >= MW_ARGV_ROOM) {
		c->truncated = 1;
		return 1;
	}
	off &= MW_ARGV_ROOM - 1;
	n = bpf_probe_read_user_str(&s->ev.data[(c->base & (MW_PATH_MAX - 1)) + off],
				    MW_ARGV_ROOM, (void *)arg);
	if (n <= 0)
		return 1;
	if (n == MW_ARGV_ROOM)
		c->truncated = 1;
	c->off = off + n;
	return 0;
}

/*
 * The argv of the execve() being refused, from the caller's memory (its
 * old image: the exec has not committed), into ev->data[plen...]. x86-64
 * only: there the syscall and its argv are in the task's user registers.
 */
static __always_inline __u32 mw_exec_call_args(struct mw_event_exec *ev,
					       __u32 plen)
{
#if defined(__TARGET_ARCH_x86)
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(
		bpf_get_current_task_btf());
	struct mw_argv_ctx c = { .base = plen };

	if (!regs)
		return 0;
	switch (BPF_CORE_READ(regs, orig_ax)) {
	case 59:	/* execve(path, argv, envp) */
		c.argv = BPF_CORE_READ(regs, si);
		break;
	case 322:	/* execveat(dirfd, path, argv, envp, flags) */
		c.argv = BPF_CORE_READ(regs, dx);
		break;
	default:
		return 0;
	}
	if (!c.argv)
		return 0;
	bpf_loop(MW_ARGS_MAX, mw_argv_step, &c, 0);
	ev->args_truncated = c.truncated;
	ev->args_len = c.off & (MW_ARGS_MAX - 1);
	return ev->args_len;
#else
	(void)ev;
	(void)plen;
	return 0;
#endif
}

/*
 * An LSM hook's verdict on @f; the argv the refused execve() was given,
 * at bprm_check (the exec has not committed: the image is the caller's).
 */
static __always_inline void mw_exec_lsm_emit(struct mw_event_exec *ev,
					     struct file *f,
					     struct mw_path_buf *pb,
					     const struct mw_exec_verdict *vd,
					     __u8 hook,
					     const struct mw_tracked *t,
					     __u64 start)
{
	__u32 size;

	mw_exec_reset(ev, hook);
	if (pb)
		ev->exe_len = mw_path_copy(ev->data, pb);
	mw_exec_inode(ev, f);
	ev->action = vd->action;
	ev->rule_id = vd->rule_id;
	ev->fileless = vd->fileless;
	mw_fill_current(&ev->proc, start);
	mw_server_copy(&ev->server, t);
	size = ev->exe_len & (MW_PATH_MAX - 1);
	if (hook == MW_HOOK_BPRM_CHECK)
		size += mw_exec_call_args(ev, size);
	size += offsetof(struct mw_event_exec, data);
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	mw_emit(ev, MW_EVENT_EXEC, size, 1);
}

/*
 * BPF-LSM backend: judge every binfmt pass of an exec (a script, then its
 * interpreter) before anything is committed; EACCES fails the execve(),
 * as a noexec mount or a missing x bit would: every runtime handles that
 * one (Node's spawn() throws on EPERM instead of reporting an error).
 */
SEC("lsm/bprm_check_security")
int BPF_PROG(handle_bprm_check, struct linux_binprm *bprm, int ret)
{
	struct mw_exec_verdict vd = {};
	struct mw_exec_scratch *s;
	struct mw_path_buf *pb;
	struct mw_profile *p;
	struct mw_tracked *t;
	struct file *f;
	__u64 start;
	__u32 zero = 0, gen;

	if (ret)
		return ret;
	p = mw_current_profile(&t, &start, &gen);
	if (!p || !p->has_exec)
		return 0;
	f = BPF_CORE_READ(bprm, file);
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!f || !s)
		return 0;
	pb = mw_path_walk(f, gen, t->server.profile, MW_CHECK_EXEC);
	if (!pb)
		return 0;
	mw_exec_judge(&vd, p, pb, f);
	if (vd.action == MW_ACTION_ALLOW)
		return 0;	/* reported by the exec tracepoint, with argv */
	mw_exec_lsm_emit(&s->ev, f, pb, &vd, MW_HOOK_BPRM_CHECK, t, start);
	mw_count_verdict(vd.action);
	return vd.action == MW_ACTION_DENY ? -EACCES : 0;
}

/*
 * The loader trick: "ld.so /usr/bin/curl" maps the binary without an exec.
 * A tracked process may not map a denied binary executable.
 */
SEC("lsm/mmap_file")
int BPF_PROG(handle_mmap_file, struct file *file, unsigned long reqprot,
	     unsigned long prot, unsigned long flags, int ret)
{
	struct mw_exec_verdict vd = {};
	struct mw_exec_scratch *s;
	struct mw_rule_value *v;
	struct mw_inode_key key;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
	__u32 zero = 0, gen;

	if (ret || !file || !(prot & PROT_EXEC))
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
	if (v && !v->is_dir && v->action == MW_ACTION_DENY && !v->exec_only) {
		vd.rule_id = v->rule_id;
	} else if (p->has_applets && mw_applet_bin(file, gen, key.profile) &&
		   BPF_CORE_READ(file, f_inode) !=
		   BPF_CORE_READ(bpf_get_current_task_btf(), mm, exe_file,
				 f_inode)) {
		/* busybox mapped by a loader: which applet runs is unknown. */
		vd.rule_id = MW_RULE_UNJUDGED;
	} else {
		return 0;	/* libraries: only named binaries are refused */
	}
	vd.action = mw_mode_action(p, MW_ACTION_DENY);
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (s)
		mw_exec_lsm_emit(&s->ev, file,
				 mw_path_walk(file, gen, 0, MW_CHECK_NONE),
				 &vd, MW_HOOK_MMAP_FILE, t, start);
	mw_count_verdict(vd.action);
	return vd.action == MW_ACTION_DENY ? -EPERM : 0;
}

#endif /* MW_EXEC_BPF_H */
