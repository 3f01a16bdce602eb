/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_SCAN_H
#define MW_SCAN_H

#include <stddef.h>
#include <linux/types.h>
#include "kernel/maps.h"

/* Which profile, if any, the detection rules give a process (0: none). */
__u32 scan_detect(const struct compiled *c, const char *exe,
		  json_object *args);

/*
 * Track the servers that were running before the agent, and their
 * descendants, found in /proc. Entries already in mw_tracked stay.
 * Returns the number of processes it began to track, or -errno.
 */
int scan_proc(struct mw_maps *m, const char *proc_root,
	      const char *cgroup_root);

#endif /* MW_SCAN_H */
