/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The path of a struct path, built in the kernel by walking dentries and
 * mounts up to the root of the mount tree (bpf_d_path is not available to
 * raw tracepoints). Written backwards into a per-CPU buffer.
 */
#ifndef MW_PATH_BPF_H
#define MW_PATH_BPF_H

#define MW_PATH_DEPTH	64

enum { MW_CHECK_NONE = 0, MW_CHECK_EXEC = 1, MW_CHECK_FILES = 2 };

/*
 * The walk's state lives in the per-CPU map value, not on the stack: the
 * verifier then sees the same callback state every iteration and converges.
 */
struct mw_path_buf {
	__u64 dentry;		/* struct dentry * */
	__u64 mnt;		/* struct mount * */
	__u32 pos;		/* start of the path built so far in buf */
	__u32 base_pos;		/* start of the last component */
	__u32 base_len;
	__u32 truncated;
	/* Exec rules: checked on the file and each ancestor, if check. */
	struct mw_inode_key key;	/* gen and profile set by the caller */
	__u32 check;
	__u32 matched;
	struct mw_rule_value match;	/* the nearest rule: most specific */
	char buf[2 * MW_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mw_path_buf);
} mw_path_scratch SEC(".maps");

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
	if (pb->check && !pb->matched) {
		struct mw_rule_value *v;

		pb->key.dev = BPF_CORE_READ(d, d_sb, s_dev);
		pb->key.ino = BPF_CORE_READ(d, d_inode, i_ino);
		v = pb->check == MW_CHECK_FILES ?
		    bpf_map_lookup_elem(&mw_file_rules, &pb->key) :
		    bpf_map_lookup_elem(&mw_exec_rules, &pb->key);
		if (v && (v->is_dir || i == 0)) {
			pb->match = *v;
			pb->matched = 1;
		}
	}
	if (d == BPF_CORE_READ(m, mnt.mnt_root)) {
		mp = BPF_CORE_READ(m, mnt_parent);
		if (mp == m)
			return 1;	/* the root of the mount tree */
		pb->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		pb->mnt = (__u64)mp;
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	/* A root: done, unless it is a pseudo file (memfd) with no path yet. */
	if (parent == d && pb->base_len)
		return 1;
	len = BPF_CORE_READ(d, d_name.len) & 255;
	name = BPF_CORE_READ(d, d_name.name);
	pos = pb->pos;
	if (pos < len + 2 || pos >= MW_PATH_MAX) {
		pb->truncated = 1;
		return 1;
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
	return parent == d;	/* "/memfd:name": the pseudo file alone */
}

/*
 * Build the path of @f in mw_path_scratch: the NUL-terminated path starts at
 * buf[pos], its last component at buf[base_pos] (base_len bytes). With
 * @profile, also find the nearest exec rule of (@gen, @profile) on the file
 * or an ancestor directory (pb->matched, pb->match).
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
	pb->buf[MW_PATH_MAX - 1] = '\0';
	bpf_loop(MW_PATH_DEPTH, mw_path_step, NULL, 0);
	if (pb->pos >= MW_PATH_MAX - 1) {
		pb->pos = MW_PATH_MAX - 2;
		pb->buf[MW_PATH_MAX - 2] = '/';
	}
	return pb;
}

/* The path of @f, and with @profile the nearest exec rule on it. */
static __always_inline struct mw_path_buf *mw_file_path(struct file *f,
							 __u32 gen,
							 __u32 profile)
{
	return mw_path_walk(f, gen, profile, MW_CHECK_EXEC);
}

#endif /* MW_PATH_BPF_H */
