/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A policy compiled into BPF map entries, and the generation swap that puts
 * it in force without a moment in which a rule is missing.
 */
#ifndef MW_MAPS_H
#define MW_MAPS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
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
	__u32 rule_id;
};

/* Map entries for one generation: pure data, no file descriptors. */
struct compiled {
	struct mw_detect_rule detect[MW_DETECT_MAX];
	size_t ndetect;
	struct mw_profile profiles[MW_PROFILES_MAX];
	struct mw_net_key *net_keys;
	struct mw_net_value *net_vals;
	size_t nnet;
	struct mw_cgroup_sel *cgroups;
	size_t ncgroups;
	struct inode_sel *exec;		/* mw_exec_rules, and the fanotify marks */
	size_t nexec;
	struct inode_sel *files;	/* mw_file_rules, and the fanotify marks */
	size_t nfiles;
	struct inode_sel *unix_inodes;	/* mw_unix_rules (BPF-LSM) */
	size_t nunix_inodes;
	struct mw_unix_key *unix_keys;	/* mw_unix_paths (cgroup/connect_unix) */
	struct mw_rule_value *unix_vals;
	size_t nunix_paths;
};

/* Stable profile ids: a name keeps its id across reloads. */
struct profile_ids {
	char *names[MW_PROFILES_MAX];	/* [0] unused */
};

/*
 * Stable rule ids: a rule's name ("profiles.P.network.deny[2] (metadata)")
 * keeps its id across reloads, so an event written just before a reload
 * and read after it still names the rule that decided it. At most
 * MW_RULE_IDS_MAX names since the agent started.
 */
struct rule_ids {
	char **names;
	size_t n, cap;
	__u32 *slots;		/* open addressing: id + 1, 0 empty */
	size_t nslots;
};

__u32 rule_ids_get(struct rule_ids *r, const char *name); /* or ~0u: full */
const char *rule_ids_name(const struct rule_ids *r, __u32 id);
void rule_ids_free(struct rule_ids *r);

struct mw_map_fds {
	int tracked, cgroups, detect, config, gens, profiles, net, sync,
	    counters, exec, files, unix_inodes, unix_paths;
};

struct mw_maps {
	/* The fence's answering thread reads gen[]: swaps hold it writing. */
	pthread_rwlock_t lock;
	struct mw_map_fds fd;
	struct profile_ids ids;
	struct rule_ids rules;
	__u32 active_gen;
	int applied;			/* a generation is in force */
	struct compiled gen[2];		/* what each generation holds */
	int sync_inner_fd;
};

__u32 profile_ids_get(const struct profile_ids *ids, const char *name);
const char *profile_ids_name(const struct profile_ids *ids, __u32 id);
void profile_ids_free(struct profile_ids *ids);

/*
 * Compile @p for generation @gen. Assigns ids in @ids to new profile names.
 * Cgroup paths that do not exist are reported through @warn and skipped.
 */
int maps_compile(const struct policy *p, struct profile_ids *ids,
		 struct rule_ids *rules, __u32 gen,
		 struct compiled *out, char *err, size_t errlen,
		 void (*warn)(const char *msg, void *arg), void *warn_arg);
void compiled_free(struct compiled *c);
/* The kernel's dev_t (major << 20 | minor) of a userspace one. */
__u32 kdev(__u64 st_dev);
struct mw_inode_key inode_key(__u32 gen, const struct inode_sel *e);
/* The enum mw_escape bit a system call name belongs to, or -1. */
int escape_class(const char *name);

int maps_init(struct mw_maps *m, const struct mw_map_fds *fds);
void maps_free(struct mw_maps *m);
/*
 * Put @p in force: fill the inactive generation, flip, wait for running
 * programs, clear the old one. On error nothing in force has changed.
 */
int maps_apply(struct mw_maps *m, const struct policy *p, char *err,
	       size_t errlen, void (*warn)(const char *msg, void *arg),
	       void *warn_arg);
const struct compiled *maps_active(const struct mw_maps *m);
/* Do the policy's cgroup patterns match a cgroup the maps lack? */
bool maps_cgroups_changed(struct mw_maps *m, const struct policy *p);
void maps_read_lock(struct mw_maps *m);
void maps_read_unlock(struct mw_maps *m);

int maps_track(struct mw_maps *m, __u32 pid, __u64 start,
	       const struct mw_server *server, int replace);
int maps_tracked_get(struct mw_maps *m, __u32 pid, struct mw_tracked *out);
int maps_untrack(struct mw_maps *m, __u32 pid);
size_t maps_tracked_count(struct mw_maps *m);
int maps_counters(struct mw_maps *m, __u64 out[MW_CNT_MAX]);

#endif /* MW_MAPS_H */
