/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * exe and argv of processes, by pid and start time, to enrich events: from
 * exec events and /proc, once per process. argv is kept as the JSON array
 * events print, written once.
 */
#ifndef MW_PROC_CACHE_H
#define MW_PROC_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "lib/proc.h"
#include "mcpwarden.h"

struct proc_cache;

struct proc_entry {
	__u32 pid;
	__u64 start_time;	/* ns; from /proc to the tick */
	char *exe;		/* NULL if unknown */
	char *args;		/* a JSON array, or NULL if unknown */
	size_t args_len;
	/* The "process" object last written for it, and of what it was. */
	char *memo;
	size_t memo_len;
	struct mw_process memo_of;
	bool memo_truncated;
};

struct proc_cache *proc_cache_new(void);
void proc_cache_free(struct proc_cache *c);
/*
 * @exe (@exe_len bytes, NULL: unknown) and @argv, NUL-separated bytes
 * (NULL: unknown), are copied.
 * Replaces an older entry of the pid. An entry with neither says the
 * process could not be read, so that it is not read again.
 */
int proc_cache_put(struct proc_cache *c, __u32 pid, __u64 start_time,
		   const char *exe, size_t exe_len, const char *argv,
		   size_t argv_len);
/* The same from what proc_read() found (@pi's exe and args are taken). */
int proc_cache_put_info(struct proc_cache *c, __u32 pid, __u64 start_time,
			struct proc_info *pi);
/* The entry of @pid if its start time agrees (to the /proc tick), or NULL. */
const struct proc_entry *proc_cache_get(struct proc_cache *c, __u32 pid,
					__u64 start_time);
/* The entry of @pid, whatever its start time, or NULL. */
const struct proc_entry *proc_cache_get_pid(struct proc_cache *c, __u32 pid);
void proc_cache_del(struct proc_cache *c, __u32 pid);
/*
 * Keep @json as the "process" object of @e for @p (a copy). @e is what
 * proc_cache_get() gave, with no put or removal of its pid since.
 */
void proc_cache_memo(const struct proc_entry *e, const struct mw_process *p,
		     bool truncated, const char *json, size_t len);
/*
 * Process @pid exited: its entry is kept for the last CACHE_EXITED exits
 * (events about it may follow), then removed.
 */
void proc_cache_exit(struct proc_cache *c, __u32 pid, __u64 start_time);
size_t proc_cache_count(const struct proc_cache *c);

#endif /* MW_PROC_CACHE_H */
