/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_DAEMON_H
#define MW_DAEMON_H

#include <stdbool.h>
#include <linux/types.h>
#include "kernel/features.h"

#define PIN_DIR_DEFAULT		"/sys/fs/bpf/mcpwarden"
#define RUN_OUTPUTS_MAX		8

struct run_opts {
	const char *policy_path;	/* NULL: the built-in policy */
	const char *outputs[RUN_OUTPUTS_MAX];	/* none: stdout ("-") */
	size_t noutputs;
	__u64 rotate_size;		/* file outputs; 0: never rotate */
	__u32 queue_size;		/* per socket or pipe output, bytes */
	bool ocsf;			/* --format ocsf */
	const char *metrics_addr;	/* NULL: no HTTP endpoint */
	const char *socket_path;
	const char *cgroup;		/* NULL: the cgroup v2 root */
	const char *pin_dir;
	const char *resolv_conf;	/* NULL: /etc/resolv.conf */
	enum backend_req backend;
	int stats_interval_ms;
	__u32 ringbuf_size;		/* bytes, power of two; 0: the default */
};

/* `mcpwarden run`: returns the process exit status. */
int daemon_run(const struct run_opts *o);

/* Mount what the agent needs where it is missing: bpffs, securityfs. */
void daemon_mount_fs(void);
/* The cgroup v2 mount point, mounting one under /run if there is none. */
int cgroup2_root(char *buf, size_t len);

#endif /* MW_DAEMON_H */
