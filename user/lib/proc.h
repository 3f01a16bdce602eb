/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What userspace knows of processes: a cache of exe and argv (from exec
 * events and /proc) to enrich events, and readers of /proc.
 */
#ifndef MW_PROC_H
#define MW_PROC_H

#include <stddef.h>
#include <linux/types.h>
#include <json-c/json.h>

struct proc_info {
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u32 gid;
	__u64 start_time;	/* start_boottime, ns (tick precision from /proc) */
	char *exe;		/* NULL if unknown */
	json_object *args;	/* array of strings, owned; NULL if unknown */
	char comm[16];
};

struct proc_cache;

struct proc_cache *proc_cache_new(void);
void proc_cache_free(struct proc_cache *c);
/* Takes ownership of @exe and @args. Replaces an older entry of the pid. */
int proc_cache_put(struct proc_cache *c, __u32 pid, __u64 start_time,
		   char *exe, json_object *args);
/* The entry of @pid if its start time agrees (to the /proc tick), or NULL. */
const struct proc_info *proc_cache_get(struct proc_cache *c, __u32 pid,
				       __u64 start_time);
void proc_cache_del(struct proc_cache *c, __u32 pid);
size_t proc_cache_count(const struct proc_cache *c);

/* Read /proc/@pid (under @proc_root, NULL for /proc); 0 or -errno. */
int proc_read(const char *proc_root, __u32 pid, struct proc_info *out);
void proc_info_clear(struct proc_info *p);
/* The start time alone (ns, tick precision), from /proc/@pid/stat. */
int proc_start_time(const char *proc_root, __u32 pid, __u64 *out);
/* NUL-separated argv bytes to a JSON array; invalid UTF-8 becomes U+FFFD. */
json_object *proc_args_json(const char *buf, size_t len);
/* A JSON string from bytes, invalid UTF-8 replaced with U+FFFD. */
json_object *json_string_bytes(const char *s, size_t len);

#endif /* MW_PROC_H */
