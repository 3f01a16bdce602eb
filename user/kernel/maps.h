/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The maps the programs read: the generation swap that puts a compiled
 * policy in force without a moment in which a rule is missing, and the
 * tracked-process map.
 */
#ifndef MW_MAPS_H
#define MW_MAPS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "mcpwarden.h"
#include "kernel/compile.h"
#include "kernel/ids.h"
#include "policy/policy.h"

struct mw_map_fds {
	int tracked, cgroups, detect, config, gens, profiles, profile_names,
	    net, sync, counters, exec, files, names, unix_inodes, unix_paths,
	    applets, guards, tools;
};

/* An object an earlier agent's file rule was put on (maps_seed_file()). */
struct maps_seed {
	char *profile, *path;
	__u8 action;
	bool readonly, moved;
	__u64 seq;
	int fd;
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
	struct maps_seed *seed;		/* for the first maps_apply() */
	size_t nseed;
	__u64 next_seq;			/* of file-rule objects */
};

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
/*
 * Before the first maps_apply(): @fd (O_PATH, ours now) is an object that
 * profile @profile's file rule (@path, @action) was put on by an earlier
 * agent. The first apply keeps it protected if the rule is still there,
 * wherever the object is now (see files_carry()).
 */
int maps_seed_file(struct mw_maps *m, const struct maps_seed *seed);
void maps_read_lock(struct mw_maps *m);
void maps_read_unlock(struct mw_maps *m);

int maps_track(struct mw_maps *m, const char *proc_root, __u32 pid,
	       __u64 start, const struct mw_server *server, int replace);
int maps_tracked_get(struct mw_maps *m, __u32 pid, struct mw_tracked *out);
int maps_untrack(struct mw_maps *m, __u32 pid);
size_t maps_tracked_count(struct mw_maps *m);
int maps_counters(struct mw_maps *m, __u64 out[MW_CNT_MAX]);

#endif /* MW_MAPS_H */
