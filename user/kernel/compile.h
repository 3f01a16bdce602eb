/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A policy compiled into the map entries of one generation: pure data, no
 * file descriptors. Compiling reads the machine (stat of rule paths, cgroup
 * globs, the kubelet's container links); kernel/maps.c writes the result.
 */
#ifndef MW_COMPILE_H
#define MW_COMPILE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "kernel/ids.h"
#include "mcpwarden.h"
#include "policy/policy.h"

struct mw_cgroup_sel {
	__u64 id;
	__u32 profile;
};

/* An exec, file or unix socket rule resolved to the inode it names now. */
struct inode_sel {
	const char *path;	/* borrowed from the policy */
	__u64 st_dev;		/* userspace dev_t, as stat() gives it */
	__u64 ino;
	bool is_dir;
	bool mount_root;	/* a directory that is the root of its mount */
	__u32 profile;
	__u8 action;
	bool readonly;		/* files.readonly: writes and changes only */
	__u32 rule_id;
	int fd;			/* files: O_PATH on the object, which it holds
				 * (a rename keeps it; see maps.c), else -1 */
	bool moved;		/* its path names another object now, or none */
	bool exec_only;		/* exec: a dynamic loader (exec.writable): not
				 * marked, not judged at mmap */
	bool link;		/* a file with another name beneath a directory
				 * rule (links_add): by its inode, never carried */
	__u64 seq;		/* when the agent first had it (maps.c) */
};

/*
 * A file rule by its name in its directory (mw_file_names): for a path
 * that is a file or not there yet, whose directory is.
 */
struct name_sel {
	const char *path;	/* the rule's, borrowed from the policy */
	__u64 dir_dev, dir_ino;	/* userspace dev_t */
	int dir_fd;		/* O_PATH on the directory, for its mark */
	bool busy_dir;		/* /etc, /usr, a home ...: no fanotify mark */
	char name[MW_FNAME_MAX];
	__u32 profile;
	__u8 action;
	bool readonly;
	__u32 rule_id;
};

struct compiled {
	struct mw_detect_rule detect[MW_DETECT_MAX];
	size_t ndetect;
	struct mw_profile profiles[MW_PROFILES_MAX];
	struct mw_net_key *net_keys;
	struct mw_net_value *net_vals;
	size_t nnet;
	struct mw_tool_key *tool_keys;	/* mw_tool_rules */
	struct mw_tool_value *tool_vals;
	size_t ntools;
	__u32 nfences;			/* fence ids MW_FENCE_FIRST.. in use */
	struct mw_cgroup_sel *cgroups;
	size_t ncgroups;
	struct inode_sel *exec;		/* mw_exec_rules, and the fanotify marks */
	size_t nexec;
	struct inode_sel *launchers;	/* mw_exec_rules of profile 0: no mark */
	size_t nlaunchers;
	struct inode_sel *files;	/* mw_file_rules, and the fanotify marks */
	size_t nfiles;
	struct name_sel *names;		/* mw_file_names, and the marks */
	size_t nnames;
	struct inode_sel *guards;	/* mw_file_guards: directories above */
	size_t nguards;
	struct inode_sel *unix_inodes;	/* mw_unix_rules (BPF-LSM) */
	size_t nunix_inodes;
	struct mw_unix_key *unix_keys;	/* mw_unix_paths (cgroup/connect_unix) */
	struct mw_rule_value *unix_vals;
	size_t nunix_paths;
	struct mw_applet_key *applet_keys;	/* mw_applet_rules */
	struct mw_rule_value *applet_vals;
	size_t napplets;
};

/*
 * Compile @p for generation @gen into @out. Assigns ids in @ids and @rules
 * to new names. Cgroup paths that do not exist are reported through @warn
 * and skipped. On error @err says why and @out is empty.
 */
int compile_policy(const struct policy *p, __u32 gen, struct profile_ids *ids,
		   struct rule_ids *rules, char *err, size_t errlen,
		   void (*warn)(const char *msg, void *arg), void *warn_arg,
		   struct compiled *out);
/* Free what @c holds; a zeroed struct is a no-op. */
void compiled_free(struct compiled *c);
/* Do the policy's cgroup patterns match a cgroup that @c lacks? */
bool compile_cgroups_changed(const struct compiled *c,
			     const struct profile_ids *ids,
			     const struct policy *p);
/* The kernel's dev_t (major << 20 | minor) of a userspace one. */
__u32 kdev(__u64 st_dev);
struct mw_inode_key inode_key(__u32 gen, const struct inode_sel *e);
/* The enum mw_escape class a system call name belongs to, or -1. */
int escape_class(const char *name);

#endif /* MW_COMPILE_H */
