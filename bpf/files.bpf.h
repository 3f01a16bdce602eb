/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File fence (BPF-LSM). The walk that builds the path for the event finds
 * the rule too (lib/path.bpf.h, MW_CHECK_FILES).
 */
#ifndef MW_FILES_BPF_H
#define MW_FILES_BPF_H

#include "mcpwarden.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/task.bpf.h"
#include "lib/emit.bpf.h"
#include "lib/path.bpf.h"
#include "unix.bpf.h"

/*
 * The rule on @f's name in its directory (mw_file_names), or NULL: a file
 * renamed over a protected one has that rule before any reload names its
 * inode.
 */
static __always_inline struct mw_rule_value *mw_name_rule(struct dentry *d,
							  __u32 gen,
							  __u32 profile)
{
	struct mw_name_key key = { .gen = gen, .profile = profile };
	struct dentry *parent;
	__u32 len = BPF_CORE_READ(d, d_name.len);

	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d || len >= MW_FNAME_MAX)
		return NULL;
	key.dev = BPF_CORE_READ(parent, d_sb, s_dev);
	key.ino = BPF_CORE_READ(parent, d_inode, i_ino);
	if (bpf_probe_read_kernel_str(key.name, sizeof(key.name),
				      BPF_CORE_READ(d, d_name.name)) < 0)
		return NULL;
	return bpf_map_lookup_elem(&mw_file_names, &key);
}

/*
 * Every open of a tracked process whose profile has file rules: the nearest
 * rule on the file (its inode, or its name in its directory) or a
 * directory above it decides; with an allow-list, what no allow rule
 * covers is refused. EACCES, as a permission would.
 */
SEC("lsm/file_open")
int BPF_PROG(handle_file_open, struct file *file, int ret)
{
	struct mw_rule_value *rule, *named;
	struct mw_event_file *ev;
	struct mw_path_buf *pb;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u32 zero = 0, gen, plen;
	__u64 start, now;
	__u8 action;

	if (ret)
		return ret;
	p = mw_current_profile(&t, &start, &gen);
	if (!p || !p->has_files)
		return 0;
	pb = mw_path_walk(file, gen, t->server.profile, MW_CHECK_FILES);
	if (!pb)
		return 0;
	rule = pb->matched ? &pb->match : NULL;
	if (!pb->matched_self) {
		named = mw_name_rule(BPF_CORE_READ(file, f_path.dentry), gen,
				     t->server.profile);
		/* Nearest, unless a readonly name under a deny. */
		if (named && !(named->readonly && rule && !rule->readonly &&
			       rule->action == MW_ACTION_DENY))
			rule = named;
	}
	if (rule && rule->readonly &&
	    !(BPF_CORE_READ(file, f_mode) & MW_FMODE_WRITE) &&
	    !(BPF_CORE_READ(file, f_flags) & MW_O_TRUNC))
		action = MW_ACTION_ALLOW;	/* files.readonly: reading is fine */
	else if (rule)
		action = rule->action;
	else if (!pb->done)
		action = MW_ACTION_DENY;	/* a rule may be above: unjudged */
	else
		action = p->files_allowlist ? MW_ACTION_DENY : MW_ACTION_ALLOW;
	if (action == MW_ACTION_ALLOW)
		return 0;
	action = mw_mode_action(p, action);
	ev = bpf_map_lookup_elem(&mw_file_scratch, &zero);
	if (ev) {
		plen = mw_path_copy(ev->path, pb);
		ev->path_len = plen;
		ev->ino = BPF_CORE_READ(file, f_inode, i_ino);
		ev->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
		ev->rule_id = rule ? rule->rule_id :
			      !pb->done ? MW_RULE_UNJUDGED : MW_RULE_DEFAULT;
		ev->action = action;
		ev->op = MW_FILE_OP_OPEN;
		ev->pad2 = 0;
		mw_fill_current(&ev->proc, start);
		mw_server_copy(&ev->server, t);
		now = bpf_ktime_get_boot_ns();
		if (!mw_agg_inode(&ev->server, MW_EVENT_FILE, ev->rule_id,
				  action, MW_FILE_OP_OPEN, ev->dev, ev->ino,
				  &ev->proc, now))
			mw_emit_at(ev, MW_EVENT_FILE,
				   offsetof(struct mw_event_file, path) + plen,
				   1, now);
	}
	mw_count_verdict(action);
	return action == MW_ACTION_AUDIT ? 0 : -EACCES;
}

/* ---- Renames, links, removals (BPF-LSM) ---------------------------- */

struct mw_dwalk {
	__u64 dentry;		/* struct dentry *, climbing */
	__u32 gen, profile;
	__u32 matched, self;
	struct mw_rule_value v;
};

static long mw_dwalk_step(__u32 i, struct mw_dwalk *c)
{
	struct dentry *d = (struct dentry *)c->dentry, *parent;
	struct mw_inode_key key = { .gen = c->gen, .profile = c->profile };
	struct mw_rule_value *v;

	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	key.ino = BPF_CORE_READ(d, d_inode, i_ino);	/* 0: a negative dentry */
	v = key.ino ? bpf_map_lookup_elem(&mw_file_rules, &key) : NULL;
	if (v && (v->is_dir || i == 0)) {
		c->v = *v;
		c->matched = 1;
		c->self = i == 0;
		return 1;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d)
		return 1;	/* the root of its file system */
	c->dentry = (__u64)parent;
	return 0;
}

/*
 * The action of the nearest file rule on @d (its inode, its name in its
 * directory, a directory above it in its file system), or 0. The walk does
 * not climb out of @d's mount (an inode hook has no vfsmount): a rule on a
 * directory above the mount root is not seen here.
 */
static __always_inline __u8 mw_dentry_rule(struct dentry *d, __u32 gen,
					   __u32 profile, __u32 *rule_id)
{
	struct mw_dwalk c = { .dentry = (__u64)d, .gen = gen,
			      .profile = profile };
	struct mw_rule_value *named;

	bpf_loop(MW_PATH_DEPTH, mw_dwalk_step, &c, 0);
	if (!c.self) {
		named = mw_name_rule(d, gen, profile);
		if (named) {
			*rule_id = named->rule_id;
			return named->action;
		}
	}
	if (!c.matched)
		return 0;
	*rule_id = c.v.rule_id;
	return c.v.action;
}

/* The file_change event and the verdict of a change hook. */
static __always_inline int mw_change_verdict(const struct mw_profile *p,
					     const struct mw_tracked *t,
					     __u64 start, struct dentry *hit,
					     __u32 rule_id, __u8 action,
					     __u8 op)
{
	struct mw_event_file *ev;
	__u32 zero = 0;

	action = mw_mode_action(p, action);
	ev = bpf_map_lookup_elem(&mw_file_scratch, &zero);
	if (ev) {
		ev->path_len = 0;
		ev->path[0] = '\0';
		ev->ino = BPF_CORE_READ(hit, d_inode, i_ino);
		ev->dev = BPF_CORE_READ(hit, d_sb, s_dev);
		ev->rule_id = rule_id;
		ev->action = action;
		ev->op = op;
		ev->pad2 = 0;
		mw_fill_current(&ev->proc, start);
		mw_server_copy(&ev->server, t);
		mw_emit(ev, MW_EVENT_FILE,
			offsetof(struct mw_event_file, path), 1);
	}
	mw_count_verdict(action);
	return action == MW_ACTION_AUDIT ? 0 : -EPERM;
}

/*
 * A tracked process renaming, linking or removing what a deny or audit
 * rule covers (@a: the object, or the place it goes, @b: the other side,
 * or NULL): moving a protected object out from under its rule (a name
 * nothing protects, a depth the walks do not climb), linking it out,
 * putting a file of its own in its place or into a protected directory,
 * deleting it. EPERM, and a file_change event.
 */
static __always_inline int mw_change_check(struct dentry *a, struct dentry *b,
					   __u8 op)
{
	struct mw_profile *p;
	struct mw_tracked *t;
	__u32 gen, rule_id = 0, rule_b = 0;
	__u64 start;
	__u8 action, action_b;
	struct dentry *hit = a;

	p = mw_current_profile(&t, &start, &gen);
	if (!p || !p->has_files)
		return 0;
	action = mw_dentry_rule(a, gen, t->server.profile, &rule_id);
	/* Both sides: an audited source does not excuse a denied target. */
	if (action < MW_ACTION_DENY && b) {
		action_b = mw_dentry_rule(b, gen, t->server.profile, &rule_b);
		if (action_b > action) {
			hit = b;
			action = action_b;
			rule_id = rule_b;
		}
	}
	if (action < MW_ACTION_AUDIT)
		return 0;
	return mw_change_verdict(p, t, start, hit, rule_id, action, op);
}

/*
 * A tracked process renaming or removing a directory above a file rule's
 * path (mw_file_guards): mv ~/.config ~/.c0, then mkdir ~/.config/git,
 * would make the path anew where no rule is until the reload.
 */
static __always_inline int mw_guard_check(struct dentry *d, __u8 op)
{
	struct mw_inode_key key = {};
	struct mw_rule_value *v;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;

	p = mw_current_profile(&t, &start, &key.gen);
	if (!p || !p->has_files)
		return 0;
	key.profile = t->server.profile;
	key.dev = BPF_CORE_READ(d, d_sb, s_dev);
	key.ino = BPF_CORE_READ(d, d_inode, i_ino);
	v = key.ino ? bpf_map_lookup_elem(&mw_file_guards, &key) : NULL;
	if (!v || v->action < MW_ACTION_AUDIT)
		return 0;
	return mw_change_verdict(p, t, start, d, v->rule_id, v->action, op);
}

/*
 * A tracked process renaming or linking a socket a unix rule covers, by
 * its own inode or its directory's: /tmp/tmux-0/default moved to /tmp/t
 * would leave the directory rule behind (lsm/unix_stream_connect looks up
 * the socket's parent).
 */
static __always_inline int mw_unix_change_check(struct dentry *d, __u8 op)
{
	struct mw_inode_key key = {};
	struct mw_rule_value *v;
	struct mw_profile *p;
	struct mw_tracked *t;
	__u64 start;
	__u16 mode;

	p = mw_current_profile(&t, &start, &key.gen);
	if (!p || !p->has_unix)
		return 0;
	mode = BPF_CORE_READ(d, d_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	key.profile = t->server.profile;
	v = mw_unix_rule_of(d, &key);
	if (!v || v->action < MW_ACTION_AUDIT)
		return 0;
	return mw_change_verdict(p, t, start, d, v->rule_id, v->action, op);
}

SEC("lsm/inode_rename")
int BPF_PROG(handle_file_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry)
{
	/* The target's name: a protected one, or one in a protected tree. */
	/* A directory renamed over an empty guarded one removes it too. */
	return mw_unix_change_check(old_dentry, MW_FILE_OP_RENAME) ?:
	       mw_guard_check(old_dentry, MW_FILE_OP_RENAME) ?:
	       mw_guard_check(new_dentry, MW_FILE_OP_RENAME) ?:
	       mw_change_check(old_dentry, new_dentry, MW_FILE_OP_RENAME);
}

SEC("lsm/inode_link")
int BPF_PROG(handle_file_link, struct dentry *old_dentry, struct inode *dir,
	     struct dentry *new_dentry)
{
	return mw_unix_change_check(old_dentry, MW_FILE_OP_LINK) ?:
	       mw_change_check(old_dentry, new_dentry, MW_FILE_OP_LINK);
}

SEC("lsm/inode_unlink")
int BPF_PROG(handle_file_unlink, struct inode *dir, struct dentry *dentry)
{
	return mw_change_check(dentry, NULL, MW_FILE_OP_UNLINK);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(handle_file_rmdir, struct inode *dir, struct dentry *dentry)
{
	return mw_guard_check(dentry, MW_FILE_OP_UNLINK) ?:
	       mw_change_check(dentry, NULL, MW_FILE_OP_UNLINK);
}

/*
 * Making a file, directory, symlink or node where a rule covers the name
 * (in a protected directory: ~/.ssh/config as a symlink to a file of the
 * server's, with a ProxyCommand). An open(O_CREAT) is refused here before
 * the file exists, not after by lsm/file_open.
 */
SEC("lsm/inode_create")
int BPF_PROG(handle_file_create, struct inode *dir, struct dentry *dentry)
{
	return mw_change_check(dentry, NULL, MW_FILE_OP_CREATE);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(handle_file_mkdir, struct inode *dir, struct dentry *dentry)
{
	return mw_change_check(dentry, NULL, MW_FILE_OP_CREATE);
}

SEC("lsm/inode_symlink")
int BPF_PROG(handle_file_symlink, struct inode *dir, struct dentry *dentry)
{
	return mw_change_check(dentry, NULL, MW_FILE_OP_CREATE);
}

SEC("lsm/inode_mknod")
int BPF_PROG(handle_file_mknod, struct inode *dir, struct dentry *dentry)
{
	return mw_change_check(dentry, NULL, MW_FILE_OP_CREATE);
}

/*
 * Changing a covered file without opening it: truncate(2) empties a
 * persistence file no write open could reach; chmod and chown change who
 * may read a secret. (ftruncate needs a descriptor open for writing, which
 * lsm/file_open judged.)
 */
SEC("lsm/path_truncate")
int BPF_PROG(handle_file_truncate, const struct path *path)
{
	return mw_change_check(BPF_CORE_READ(path, dentry), NULL,
			       MW_FILE_OP_TRUNCATE);
}

SEC("lsm/path_chmod")
int BPF_PROG(handle_file_chmod, const struct path *path)
{
	return mw_change_check(BPF_CORE_READ(path, dentry), NULL,
			       MW_FILE_OP_CHMOD);
}

SEC("lsm/path_chown")
int BPF_PROG(handle_file_chown, const struct path *path)
{
	return mw_change_check(BPF_CORE_READ(path, dentry), NULL,
			       MW_FILE_OP_CHOWN);
}

/*
 * The fanotify fence's verdicts (kernels without BPF-LSM): the answering
 * process judged a request and hands its record here, by BPF_PROG_TEST_RUN,
 * so that it joins the kernel's own records in the one ring buffer, in
 * order, with the same wake-up and the same loss counter, even while no
 * agent reads. Sleepable: the record is copied from the caller's memory.
 */
SEC("syscall")
int handle_fence_report(struct mw_fence_report_args *ctx)
{
	struct mw_event_fanotify *ev;
	__u32 zero = 0, size = ctx->size;

	ev = bpf_map_lookup_elem(&mw_fanotify_scratch, &zero);
	if (!ev)
		return -ENOMEM;
	if (size < offsetof(struct mw_event_fanotify, path) ||
	    size > sizeof(*ev))
		return -EINVAL;
	if (bpf_copy_from_user(ev, size, (void *)ctx->record))
		return -EFAULT;
	if (ev->action != MW_ACTION_DENY && ev->action != MW_ACTION_AUDIT)
		return -EINVAL;
	mw_count_verdict(ev->action);
	/* ev->server.calls: the answerer read them when it judged. */
	if (mw_agg_inode(&ev->server, MW_EVENT_FANOTIFY, ev->rule_id,
			 ev->action, ev->kind, ev->dev, ev->ino, &ev->proc,
			 bpf_ktime_get_boot_ns()))
		return 0;
	return mw_emit_at(ev, MW_EVENT_FANOTIFY, size, 1, ev->hdr.time) ?
	       -ENOSPC : 0;
}

#endif /* MW_FILES_BPF_H */
