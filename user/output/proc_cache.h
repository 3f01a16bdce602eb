/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exe and argv of processes, by pid and start time, to enrich events: from
 * exec events and /proc, once per process.
 */
#ifndef MW_PROC_CACHE_H
#define MW_PROC_CACHE_H

#include <stddef.h>
#include <linux/types.h>
#include "lib/proc.h"

struct proc_cache;

struct proc_cache *proc_cache_new(void);
void proc_cache_free(struct proc_cache *c);
/* Takes ownership of @exe and @args. Replaces an older entry of the pid. */
int proc_cache_put(struct proc_cache *c, __u32 pid, __u64 start_time,
		   char *exe, json_object *args);
/* The entry of @pid if its start time agrees (to the /proc tick), or NULL. */
const struct proc_info *proc_cache_get(struct proc_cache *c, __u32 pid,
				       __u64 start_time);
/* The entry of @pid, whatever its start time, or NULL. */
const struct proc_info *proc_cache_get_pid(struct proc_cache *c, __u32 pid);
void proc_cache_del(struct proc_cache *c, __u32 pid);
size_t proc_cache_count(const struct proc_cache *c);

#endif /* MW_PROC_CACHE_H */
