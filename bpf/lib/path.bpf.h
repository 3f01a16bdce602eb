/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The path of a struct path, built in the kernel by walking dentries and
 * mounts up to the root of the mount tree (bpf_d_path is not available to
 * raw tracepoints). Written backwards into a per-CPU buffer.
 */
#ifndef MW_PATH_BPF_H
#define MW_PATH_BPF_H

#include "mcpwarden.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"	/* struct mw_path_buf, mw_path_scratch */

/*
 * Directory levels a walk climbs: a rule is looked for on each. A walk
 * that does not reach the root (deeper, a read that failed) is not done
 * (pb->done), and the fences refuse what they could not judge.
 */
#define MW_PATH_DEPTH	512

/* The rules a walk looks up: none, mw_exec_rules, mw_file_rules. */
enum { MW_CHECK_NONE = 0, MW_CHECK_EXEC = 1, MW_CHECK_FILES = 2 };

static long mw_path_step(__u32 i, void *unused)
{
	struct mw_path_buf *pb;
	struct dentry *d, *parent;
	struct mount *m, *mp;
	const unsigned char *name;
	__u32 zero = 0, len, pos;

	pb = bpf_map_lookup_elem(&mw_path_scratch, &zero);
	if (!pb)
		return 1;
	d = (struct dentry *)pb->dentry;
	m = (struct mount *)pb->mnt;
	/* Past a readonly rule: a deny above it still wins (it is stricter). */
	if (pb->check && (!pb->matched || pb->match.readonly)) {
		struct mw_rule_value *v;

		pb->key.dev = BPF_CORE_READ(d, d_sb, s_dev);
		pb->key.ino = BPF_CORE_READ(d, d_inode, i_ino);
		v = pb->check == MW_CHECK_FILES ?
		    bpf_map_lookup_elem(&mw_file_rules, &pb->key) :
		    bpf_map_lookup_elem(&mw_exec_rules, &pb->key);
		if (v && (v->is_dir || i == 0) &&
		    (!pb->matched ||
		     (v->action == MW_ACTION_DENY && !v->readonly))) {
			pb->matched_self = !pb->matched && i == 0;
			pb->match = *v;
			pb->matched = 1;
		}
	}
	if (d == BPF_CORE_READ(m, mnt.mnt_root)) {
		mp = BPF_CORE_READ(m, mnt_parent);
		if (mp == m) {
			pb->done = 1;
			return 1;	/* the root of the mount tree */
		}
		pb->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		pb->mnt = (__u64)mp;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	/* A root: done, unless it is a pseudo file (memfd) with no path yet. */
	if (parent == d && pb->base_len) {
		pb->done = 1;
		return 1;
	}
	len = BPF_CORE_READ(d, d_name.len) & 255;
	name = BPF_CORE_READ(d, d_name.name);
	pos = pb->pos;
	if (pb->truncated || pos < len + 2 || pos >= MW_PATH_MAX) {
		/* The path is cut here; the rules above are still looked for. */
		pb->truncated = 1;
		pb->dentry = (__u64)parent;
		pb->done = parent == d;
		return parent == d;
	}
	pos -= len;
	if (bpf_probe_read_kernel(&pb->buf[pos & (MW_PATH_MAX - 1)], len, name))
		return 1;
	pos--;
	pb->buf[pos & (MW_PATH_MAX - 1)] = '/';
	if (pb->base_len == 0) {
		pb->base_pos = pos + 1;
		pb->base_len = len;
	}
	pb->pos = pos;
	pb->dentry = (__u64)parent;
	pb->done = parent == d;
	return parent == d;	/* "/memfd:name": the pseudo file alone */
}

/*
 * Build the path of @f in mw_path_scratch: the NUL-terminated path starts at
 * buf[pos], its last component at buf[base_pos] (base_len bytes). With
 * @profile, also find the nearest rule of (@gen, @profile) in the map @check
 * names, on the file or an ancestor directory (pb->matched, pb->match).
 */
static __always_inline struct mw_path_buf *mw_path_walk(struct file *f,
							 __u32 gen,
							 __u32 profile,
							 __u32 check)
{
	struct mw_path_buf *pb;
	__u32 zero = 0;

	pb = bpf_map_lookup_elem(&mw_path_scratch, &zero);
	if (!pb)
		return NULL;
	pb->check = profile ? check : MW_CHECK_NONE;
	pb->matched = 0;
	pb->matched_self = 0;
	pb->key.gen = gen;
	pb->key.profile = profile;
	pb->key.pad = 0;
	pb->dentry = (__u64)BPF_CORE_READ(f, f_path.dentry);
	pb->mnt = (__u64)container_of(BPF_CORE_READ(f, f_path.mnt),
				      struct mount, mnt);
	pb->pos = MW_PATH_MAX - 1;
	pb->base_pos = pb->pos;
	pb->base_len = 0;
	pb->truncated = 0;
	pb->done = 0;
	pb->buf[MW_PATH_MAX - 1] = '\0';
	bpf_loop(MW_PATH_DEPTH, mw_path_step, NULL, 0);
	if (pb->pos >= MW_PATH_MAX - 1) {
		pb->pos = MW_PATH_MAX - 2;
		pb->buf[MW_PATH_MAX - 2] = '/';
	}
	return pb;
}

/*
 * Copy the path a walk built in @pb to @dst (MW_PATH_MAX bytes); returns its
 * length with the NUL, 0 if it could not be read.
 */
static __always_inline __u32 mw_path_copy(char *dst,
					  const struct mw_path_buf *pb)
{
	__u32 w_pos = pb->pos & (MW_PATH_MAX - 1), plen;

	plen = MW_PATH_MAX - w_pos;	/* with the NUL */
	mw_barrier_var(plen);
	plen &= MW_PATH_MAX - 1;	/* pos >= 1: no-op */
	if (plen && !bpf_probe_read_kernel(dst, plen, &pb->buf[w_pos]))
		return plen;
	return 0;
}

#endif /* MW_PATH_BPF_H */
