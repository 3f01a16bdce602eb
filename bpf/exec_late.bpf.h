/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exec verdicts that need what only the committed exec has, judged on
 * the exec tracepoint after handle_exec; a deny kills the new image before
 * it runs an instruction. Two of them:
 *
 * - Multi-call binaries: busybox is one inode for nc, wget, sh and cat,
 *   and it runs what its argv names. An exec rule on an applet (/bin/nc, a
 *   symlink to busybox) is a rule on the binary's inode and the applet
 *   name, which only argv gives.
 * - exec.writable: a binary the server's user may write, made or changed
 *   since the server started (a copied curl, a download, one the server
 *   wrote): handle_exec is at the verifier's limit.
 *
 * handle_exec leaves the execs these may judge to this program, which
 * reports them as it would.
 */
#ifndef MW_EXEC_LATE_BPF_H
#define MW_EXEC_LATE_BPF_H

#include "exec.bpf.h"

/* How far "busybox busybox ... APPLET" is followed; deeper is refused. */
#define MW_APPLET_DEPTH	8

struct mw_applet_ctx {
	__u32 off;		/* argv is ev.data[off..off+len) */
	__u32 len;
	__u32 base;		/* the current component starts here */
	__u32 clen;		/* and has this many bytes so far */
	__u64 head;		/* its first 7 bytes, little-endian */
	__u32 elem;		/* the element's index in argv */
	__u32 name;		/* the applet: ev.data[name..name+name_len) */
	__u32 name_len;
	__u8 done;		/* the applet name was found */
	__u8 too_deep;
};

/* "busybox" as mw_applet_ctx.head holds it. */
#define MW_BUSYBOX_HEAD	0x786f6279737562ull

/*
 * The name busybox runs as (libbb/appletlib.c): the last component of
 * argv[0], one leading '-' dropped (a login shell); a name that begins
 * with "busybox" is busybox itself, which runs the last component of the
 * next element. One step per byte of argv; what the step keeps is never an
 * index (the verifier would tell every value apart, iteration by
 * iteration), only ev.data[off + i] is read.
 */
static long mw_applet_step(__u32 i, struct mw_applet_ctx *c)
{
	struct mw_exec_scratch *s;
	__u32 zero = 0, pos;
	__u8 ch;

	if (i >= c->len)
		return 1;
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!s)
		return 1;
	pos = c->off + i;
	if (pos >= sizeof(s->ev.data))
		return 1;
	ch = s->ev.data[pos];
	if (ch == '/' ||
	    (ch == '-' && c->elem == 0 && pos == c->off)) {
		c->base = pos + 1;
		c->clen = 0;
		c->head = 0;
		return 0;
	}
	if (ch) {
		if (c->clen < 7)
			c->head |= (__u64)ch << (8 * c->clen);
		c->clen++;
		return 0;
	}
	if (c->clen >= 7 && c->head == MW_BUSYBOX_HEAD) {
		if (++c->elem >= MW_APPLET_DEPTH) {
			c->too_deep = 1;
			return 1;
		}
		c->base = pos + 1;
		c->clen = 0;
		c->head = 0;
		return 0;
	}
	c->name = c->base;
	c->name_len = c->clen;
	c->done = 1;
	return 1;
}

/*
 * The rule of the applet argv names (ev.data[plen..plen+alen) of
 * mw_exec_scratch) for the binary in mw_applet_scratch (mw_applet_bin()):
 * its action | rule id << 8, or 0 for none. An argv that ends before it
 * names an applet while it still says "busybox" runs no applet (0), unless
 * it was cut at MW_ARGS_MAX (@truncated) or chains deeper than
 * MW_APPLET_DEPTH: then the applet is unknown, and refused. A global
 * function: the verifier checks the loop once, not in every state of the
 * caller's path walk.
 */
__noinline long mw_applet_rule(__u32 plen, __u32 alen, __u32 truncated)
{
	struct mw_applet_ctx c = { .off = plen, .len = alen, .base = plen };
	struct mw_exec_scratch *s;
	struct mw_applet_key *k;
	struct mw_rule_value *v;
	__u32 zero = 0, n;

	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	k = bpf_map_lookup_elem(&mw_applet_scratch, &zero);
	if (!s || !k)
		return 0;
	/*
	 * Zeros the verifier cannot see through: k->pad is 0 (mw_applet_bin()
	 * zeroed it), but a map value is unknown to it (head: in all 64 bits). With clen, head and
	 * elem starting as constants, Linux 6.1 (Debian 12's kernel, the VM
	 * lane) ran the step as if "busybox" never matched: "busybox nc" was
	 * no applet (the verifier hard-wires branches it finds constant, and
	 * its pass over the callback saw them so).
	 */
	c.clen = k->pad;
	c.head = (__u64)k->pad << 32 | k->pad;
	c.elem = k->pad;
	/* argv holds at least "" (the kernel sees to it): none was read. */
	if (!alen)
		return MW_ACTION_DENY | (__u64)MW_RULE_UNJUDGED << 8;
	bpf_loop(MW_ARGS_MAX, mw_applet_step, &c, 0);
	if (!c.done)
		return c.too_deep || truncated ?
		       MW_ACTION_DENY | (__u64)MW_RULE_UNJUDGED << 8 : 0;
	n = c.name_len;
	if (n >= MW_APPLET_NAME_MAX || c.name >= sizeof(s->ev.data))
		return 0;	/* longer than any name a rule has */
	mw_barrier_var(n);
	n &= MW_APPLET_NAME_MAX - 1;
	__builtin_memset(k->name, 0, sizeof(k->name));
	if (bpf_probe_read_kernel(k->name, n, &s->ev.data[c.name]))
		return 0;
	v = bpf_map_lookup_elem(&mw_applet_rules, k);
	if (!v || v->action == MW_ACTION_NONE)
		return 0;
	return v->action | (__u64)v->rule_id << 8;
}

/* The stricter of the binary's verdict @vd and its applet's rule. */
static __always_inline void mw_applet_judge(struct mw_exec_verdict *vd,
					    const struct mw_profile *p,
					    __u32 plen, __u32 alen,
					    __u32 truncated)
{
	long r = mw_applet_rule(plen, alen, truncated);
	__u8 action = mw_mode_action(p, r & 0xff);

	if (r && action > vd->action) {
		vd->action = action;
		vd->rule_id = (__u64)r >> 8;
	}
}

/*
 * After handle_exec, for the verdicts it leaves here: a busybox applet's
 * (argv names it) and exec.writable's (handle_exec is at the verifier's
 * limit). It reports the exec when handle_exec did not, and adds an event
 * when it is stricter than what handle_exec reported.
 */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(handle_exec_late, struct task_struct *task, pid_t old_pid,
	     struct linux_binprm *bprm)
{
	struct mw_exec_verdict vd = {};
	struct mw_exec_scratch *s;
	struct mw_applet_key *k = NULL;
	struct mw_event_exec *ev;
	struct mw_path_buf *pb;
	struct mw_profile *p;
	struct mw_tracked *t;
	struct file *exe;
	__u32 zero = 0, tgid, gen, plen, alen, profile;
	bool writable, handed, reported;
	__u64 start;

	tgid = BPF_CORE_READ(task, tgid);
	start = BPF_CORE_READ(task, group_leader, start_boottime);
	t = bpf_map_lookup_elem(&mw_tracked, &tgid);
	if (!t || !mw_same_start(t->start_time, start))
		return 0;
	s = bpf_map_lookup_elem(&mw_exec_scratch, &zero);
	if (!s)
		return 0;
	/* handle_exec left it here: report it even if a reload came between. */
	handed = s->handoff_bprm == (__u64)bprm;
	reported = s->reported_bprm == (__u64)bprm;
	s->handoff_bprm = 0;	/* never again for a later exec at this address */
	s->reported_bprm = 0;
	gen = mw_active_gen();
	profile = t->server.profile;
	p = mw_profile_get(gen, profile);
	if (!p || !p->present ||
	    (!p->has_applets && p->writable < MW_ACTION_AUDIT && !handed))
		return 0;
	exe = BPF_CORE_READ(task, mm, exe_file);
	if (!exe)
		return 0;
	writable = mw_exec_writable(p, exe, task, t);
	if (p->has_applets)
		k = mw_applet_bin(exe, gen, profile);
	if (!k && !writable && !handed)
		return 0;
	ev = &s->ev;
	mw_exec_reset(ev, MW_HOOK_EXEC_TP);
	mw_exec_inode(ev, exe);
	/* The binary's own rules first, as handle_exec judges them. */
	pb = mw_path_walk(exe, gen, p->has_exec ? profile : 0, MW_CHECK_EXEC);
	if (!pb)
		return 0;
	ev->exe_len = mw_path_copy(ev->data, pb);
	mw_exec_judge(&vd, p, pb, exe);
	/* exec.allow names it: allowed, whoever may write it. */
	if (writable && !(pb->matched && pb->match.action == MW_ACTION_ALLOW) &&
	    mw_mode_action(p, p->writable) > vd.action) {
		vd.action = mw_mode_action(p, p->writable);
		vd.rule_id = MW_RULE_WRITABLE;
	}
	plen = ev->exe_len & (MW_PATH_MAX - 1);
	alen = mw_exec_read_args(task, ev, plen);
	if (k)
		mw_applet_judge(&vd, p, plen, alen, ev->args_truncated);
	/* handle_exec reported it: only a stricter verdict adds an event. */
	if (reported && vd.action == MW_ACTION_ALLOW)
		return 0;
	mw_exec_verdict_tp(ev, &vd);
	mw_exec_emit_tp(ev, task, t, plen, alen);
	return 0;
}

#endif /* MW_EXEC_LATE_BPF_H */
