/* SPDX-License-Identifier: GPL-2.0-only */
/* Readers of /proc/PID: what the kernel says of a process. */
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

/* Read /proc/@pid (under @proc_root, NULL for /proc); 0 or -errno. */
int proc_read(const char *proc_root, __u32 pid, struct proc_info *out);
void proc_info_clear(struct proc_info *p);
/* The same without exe and args: /proc/@pid/stat and status, no links. */
int proc_read_ids(const char *proc_root, __u32 pid, struct proc_info *out);
/* The start time alone (ns, tick precision), from /proc/@pid/stat. */
int proc_start_time(const char *proc_root, __u32 pid, __u64 *out);

#endif /* MW_PROC_H */
