/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_DAEMON_H
#define MW_DAEMON_H

#include <stdbool.h>
#include <linux/types.h>
#include "kernel/features.h"
#include "output/output.h"

#define PIN_DIR_DEFAULT		"/sys/fs/bpf/mcpwarden"

struct run_opts {
	const char *policy_path;	/* NULL: the built-in policy */
	struct output_opts out;		/* --output, --format, --metrics, ... */
	const char *socket_path;
	const char *cgroup;		/* NULL: the cgroup v2 root */
	const char *pin_dir;
	const char *state_dir;		/* the guard's socket, state.json */
	bool cleanup_on_exit;		/* stop = uninstall: nothing stays */
	const char *guard_cgroup;	/* the fanotify guard's (relative: to
					 * the v2 root), or NULL */
	const char *resolv_conf;	/* NULL: /etc/resolv.conf */
	enum backend_req backend;
	int stats_interval_ms;
	__u32 ringbuf_size;		/* bytes, power of two; 0: the default */
	__u64 agg_window_ns;		/* aggregation window; 0: off */
};

/* `mcpwarden run`: returns the process exit status. */
int daemon_run(const struct run_opts *o);

#endif /* MW_DAEMON_H */
