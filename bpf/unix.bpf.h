/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unix socket fence: container runtime APIs (docker.sock and the like),
 * judged by the path a connect() gives and, with BPF-LSM, by the inode of
 * the socket it reaches.
 */
#ifndef MW_UNIX_BPF_H
#define MW_UNIX_BPF_H

#include "mcpwarden.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/task.bpf.h"
#include "lib/emit.bpf.h"

/* mw_event_unix.hook */
enum { MW_UNIX_HOOK_CGROUP = 0, MW_UNIX_HOOK_LSM = 1 };

static __always_inline void mw_unix_event(const struct mw_tracked *t,
					  __u64 start, __u8 action,
					  __u32 rule_id, __u8 hook, __u64 ino,
					  __u32 dev, const char *path)
{
	struct mw_event_unix ev = {};

	mw_fill_current(&ev.proc, start);
	mw_server_copy(&ev.server, t);
	ev.ino = ino;
	ev.dev = dev;
	ev.rule_id = rule_id;
	ev.action = action;
	ev.hook = hook;
	if (bpf_probe_read_kernel_str(ev.path, sizeof(ev.path), path) < 0)
		ev.path[0] = '\0';
	/* Urgent even when allowed (the table at mw_wakeup()). */
	mw_emit(&ev, MW_EVENT_UNIX, sizeof(ev), 1);
}

/*
 * The unix rule on the socket @d in @key's profile and generation: by its
 * inode, or by its directory's (a directory rule covers the sockets
 * directly in it). @key's dev and ino are the socket's after.
 */
static __always_inline struct mw_rule_value *
mw_unix_rule_of(struct dentry *d, struct mw_inode_key *key)
{
	struct mw_rule_value *v;

	key->dev = BPF_CORE_READ(d, d_parent, d_sb, s_dev);
	key->ino = BPF_CORE_READ(d, d_parent, d_inode, i_ino);
	v = bpf_map_lookup_elem(&mw_unix_rules, key);
	key->dev = BPF_CORE_READ(d, d_sb, s_dev);
	key->ino = BPF_CORE_READ(d, d_inode, i_ino);
	return bpf_map_lookup_elem(&mw_unix_rules, key) ?: v;
}

/*
 * The length of the directory of @path, a string of @len bytes with its
 * NUL: 11 for "/tmp/tmux-0/default". 0 when there is none but "/" or the
 * path is relative: no directory rule can match.
 */
static __always_inline __u32 mw_unix_dirlen(const char *path, long len)
{
	__u32 i;

	if (len < 3 || len > MW_UNIX_PATH_MAX || path[0] != '/')
		return 0;
	for (i = len - 2; i > 0; i--) {
		/* An index the verifier bounds, not a pointer clang walks. */
		mw_barrier_var(i);
		if (i >= MW_UNIX_PATH_MAX)
			return 0;
		if (path[i] == '/')
			return i;
	}
	return 0;
}

/* Linux 6.2+; weak: 6.1 lacks it, and there the program is not loaded. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym __weak;

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
	__u32 zero = 0, gen, dlen, i;
	char *path;
	long len;
	struct mw_profile *p;
	struct mw_tracked *t;
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
	path = (char *)BPF_CORE_READ(sa, uaddr) + 2;
	len = bpf_probe_read_kernel_str(key->path, sizeof(key->path), path);
	if (len < 0)
		return 1;
	v = bpf_map_lookup_elem(&mw_unix_paths, key);
	/* A directory rule covers the sockets directly in it. */
	dlen = v ? 0 : mw_unix_dirlen(key->path, len);
	if (dlen) {
		for (i = 0; i < MW_UNIX_PATH_MAX; i++) {
			mw_barrier_var(i);	/* not a memset() */
			if (i >= dlen)
				key->path[i] = '\0';
		}
		v = bpf_map_lookup_elem(&mw_unix_paths, key);
	}
	if (!v)
		return 1;
	/* The event names the socket, not the directory that matched. */
	if (bpf_probe_read_kernel_str(key->path, sizeof(key->path), path) < 0)
		key->path[0] = '\0';
	action = mw_mode_action(p, v->action);
	mw_unix_event(t, start, action, v->rule_id, MW_UNIX_HOOK_CGROUP, 0, 0,
		      key->path);
	mw_count_verdict(action);
	return action == MW_ACTION_DENY ? 0 : 1;
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
	v = mw_unix_rule_of(d, &key);
	if (!v)
		return 0;
	action = mw_mode_action(p, v->action);
	mw_unix_event(t, start, action, v->rule_id, MW_UNIX_HOOK_LSM, key.ino,
		      key.dev, (const char *)BPF_CORE_READ(d, d_name.name));
	mw_count_verdict(action);
	return action == MW_ACTION_DENY ? -EPERM : 0;
}

#endif /* MW_UNIX_BPF_H */
