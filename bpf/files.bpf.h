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

/*
 * The rule on @f's name in its directory (mw_file_names), or NULL: a file
 * renamed over a protected one has that rule before any reload names its
 * inode.
 */
static __always_inline struct mw_rule_value *mw_name_rule(struct file *f,
							  __u32 gen,
							  __u32 profile)
{
	struct mw_name_key key = { .gen = gen, .profile = profile };
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry), *parent;
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
	rule = pb->matched ? &pb->match : NULL;
	if (!pb->matched_self) {
		named = mw_name_rule(file, gen, t->server.profile);
		if (named)
			rule = named;
	}
	if (rule)
		action = rule->action;
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
		ev->rule_id = rule ? rule->rule_id : MW_RULE_DEFAULT;
		ev->action = action;
		ev->pad = 0;
		ev->pad2 = 0;
		mw_fill_current(&ev->proc, start);
		ev->server = t->server;
		mw_emit(ev, MW_EVENT_FILE,
			offsetof(struct mw_event_file, path) + plen, 1);
	}
	mw_count_verdict(action);
	return action == MW_ACTION_AUDIT ? 0 : -EACCES;
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
	return mw_emit_at(ev, MW_EVENT_FANOTIFY, size, 1, ev->hdr.time) ?
	       -ENOSPC : 0;
}

#endif /* MW_FILES_BPF_H */
