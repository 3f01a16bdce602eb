/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The running agent, shared by the files of daemon/: daemon.c (start and
 * stop), loop.c (the epoll loop), reload.c (policy reloads), watch.c
 * (inotify), handlers.c (control-socket requests).
 */
#ifndef MW_DAEMON_STATE_H
#define MW_DAEMON_STATE_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <linux/types.h>
#include "daemon/control.h"
#include "daemon/notice.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "daemon/statefile.h"
#include "kernel/features.h"
#include "kernel/fence.h"
#include "kernel/loader.h"
#include "kernel/maps.h"
#include "kernel/sessions.h"
#include "output/events.h"
#include "output/output.h"
#include "policy/policy.h"

#define WATCH_MAX	1024	/* rule paths watched for changes */

struct watch {
	int wd;
	char name[256];		/* the next component of a rule's path */
};

struct daemon {
	const struct run_opts *o;
	struct loader bpf;
	struct mw_maps maps;
	struct policy *policy;
	const char *resolv_conf;	/* host_path()'ed, or --resolv-conf */
	struct events ev;
	struct jw line;			/* the record being written */
	struct mw_agg_flush_args agg;	/* what the last sweep found */
	int consumed;			/* records this loop turn read */
	bool woken;			/* by the ring buffer, this turn */
	/* As we last set it (NONE: unknown); ANY: asleep, no tick. */
	enum mw_bell bell;
	struct {
		__u64 ticks;		/* turns that timed out: the tick */
		__u64 ring_wakeups;	/* turns the ring woke */
		__u64 sleeps;		/* times it slept on an empty ring */
	} loop_counts;			/* status "loop" */
	__u64 agg_summaries;		/* summaries the sweeps wrote */
	__u64 agg_inserted;		/* mw_agg_config.inserted, last sweep */
	__u64 agg_swept;		/* boot ns the last sweep began */
	unsigned int agg_errors;
	struct event_meta meta;
	struct ring_buffer *rb;
	struct control ctl;
	struct features feat;
	bool exec_lsm;			/* exec fence: BPF-LSM, else fanotify */
	struct fence fence;
	struct watch watch[WATCH_MAX];	/* (directory, next component) of rules */
	size_t nwatch;
	struct output out;
	struct notices notices;		/* refused execs said on stderr */
	struct sessions sessions;	/* MCP session pages (kernel/sessions.h) */
	struct jw call_line;		/* an mcp_tool_call event being written */
	struct event_meta call_meta;
	__u64 calls_lost;		/* calls a page's log lost before a scan */
	__u64 calls_lost_seen;		/* of them, reported */
	__u64 horizon;			/* the ring is read up to this (boot ns) */
	int epfd, sigfd, timerfd, inofd, cgroup_fd;
	int policy_wd, resolv_wd, k8s_wd, pin_wd;
	struct ep_src src_rb, src_sig, src_timer, src_ino;
	char cgroup_path[PATH_MAX];
	char resolv_buf[PATH_MAX];
	char cgroup_root[PATH_MAX];
	char guard_cgroup[PATH_MAX];	/* --guard-cgroup, made absolute */
	struct state_seen seen;		/* kernel losses reported, persisted */
	__u64 bad_records;
	__u64 seen_fence_lost;		/* fence records reported lost */
	int stop_signal;
	bool reload;
};

/* The outputs take @o (consumed, NULL ignored). */
void daemon_emit(struct daemon *d, json_object *o);
/* The same for a kernel record that event_write() left in d->line. */
void daemon_emit_record(struct daemon *d);
/*
 * The tool calls that began or ended in @session (0: every session),
 * written as mcp_tool_call events; before a kernel event of the session,
 * so that its call's start comes first.
 */
void daemon_scan_calls(struct daemon *d, __u32 session);
/* @session's server root exited: its last calls, then its page goes. */
void daemon_session_end(struct daemon *d, __u32 session);
/* Each session page's flags from its server's profile (mcp options). */
void daemon_session_flags(struct daemon *d);
/* Profile @profile wants its calls' arguments (mcp.arguments "full"). */
bool daemon_profile_args(const struct daemon *d, __u32 profile);
/* state.json for the next agent: rule names, losses reported. */
void daemon_save_state(struct daemon *d);
int ep_add(struct daemon *d, int fd, struct ep_src *src, int kind);

/* loop.c */
/* The signals the loop reads from its signalfd (stop, reload). */
void loop_signals(sigset_t *mask);
int loop_setup(struct daemon *d);
void loop_run(struct daemon *d);
/* Kernel counters and sink drops that rose become events_lost. */
void loop_check_counters(struct daemon *d);
/* Sweep the aggregation map (@force: every window, a start or a stop). */
bool loop_agg_sweep(struct daemon *d, bool force);
/* Drain the ring and write every counted repeat (a start, a stop). */
void loop_agg_drain(struct daemon *d);
/*
 * Bring every output up to now: what the kernel and the fence reported,
 * new subdirectories marked, losses counted, sinks flushed. A status
 * request does this first, so its answer, and the output it follows, are
 * a consistent point (the tests' barrier).
 */
void loop_sync(struct daemon *d);

/* reload.c */
int reload_load(struct daemon *d, struct policy **out, char *err,
		size_t errlen, bool quiet);
void reload_apply_exec(struct daemon *d, void (*warn)(const char *, void *));
void reload_run(struct daemon *d);
void reload_warn_stderr(const char *msg, void *arg);
bool policy_has_k8s(const struct policy *p);

/* watch.c */
void watch_files(struct daemon *d);
void watch_rule_paths(struct daemon *d);
void watch_on_inotify(struct daemon *d);

/* handlers.c */
json_object *handlers_on_control(const struct control_peer *peer,
				 json_object *req, void *arg, int *fd);

#endif /* MW_DAEMON_STATE_H */
