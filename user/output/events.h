/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel event records and agent events to JSON objects (docs/events.md). */
#ifndef MW_EVENTS_H
#define MW_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <json-c/json.h>
#include "mcpwarden.h"
#include "lib/jsonstr.h"
#include "lib/jw.h"
#include "lib/proc.h"
#include "output/arguments.h"
#include "output/proc_cache.h"

struct events {
	struct proc_cache *cache;
	const char *proc_root;		/* NULL: /proc */
	const char *cgroup_root;	/* cgroup v2 mount: ids to pods */
	__s64 boot_to_real;		/* CLOCK_REALTIME - CLOCK_BOOTTIME, ns */
	/* Names of profile and rule ids; may return NULL. */
	const char *(*profile_name)(void *arg, __u32 id);
	const char *(*rule_name)(void *arg, __u32 id);
	/* The MCP session page of a server's session id; may return NULL. */
	const struct mw_session *(*session_page)(void *arg, __u32 session);
	void *arg;
};

/*
 * What the stages after the line need to know of an event without parsing
 * it (metrics, syslog, the notices on a server's stderr); pointers stay
 * valid until the next record.
 */
struct event_meta {
	const char *type;		/* "network_connect" */
	__u8 action;			/* MW_ACTION_NONE: no verdict */
	__u32 pid, server_pid;
	const char *rule;		/* NULL: no verdict */
	const char *path;		/* the exec's or file's path, or NULL */
	const char *exe;		/* the process's image, or NULL */
	__u32 session;			/* the server's MCP session, or 0 */
	__u32 ncalls;			/* the calls "mcp" names */
	__u32 calls[MW_CALLS_EVENT];
	bool summary;			/* a window's repeats (MW_EVENT_AGG) */
	__u64 count;			/* the decisions it stands for */
	char time[40];
	char rule_buf[160];
};

/*
 * One ring-buffer record as one JSON line in @w (docs/events.md), with
 * @m filled in; -EINVAL if it is malformed. The fast path: no tree.
 */
/*
 * mcp_tool_call: the start of call @c of @s's session @page (with its
 * @args, NULL: the digest only), or (@end) its end with the @denies its
 * events counted; @unfinished: the server's root exited first. Into @w,
 * for output_emit_record() with @m.
 */
void event_tool_call(struct events *e, struct jw *w, struct event_meta *m,
		     const struct mw_server *s, const struct mw_session *page,
		     const struct mw_call *c, const struct call_args *args,
		     bool end, __u64 denies, bool unfinished);
int event_write(struct events *e, const void *data, size_t size,
		struct jw *w, struct event_meta *m);
/* A new event with "time" and "type"; @boot_ns 0 means now. */
json_object *event_new(const struct events *e, const char *type, __u64 boot_ns);
/* The same as an object (the tests, OCSF); NULL with *err set. */
json_object *event_from_record(struct events *e, const void *data,
			       size_t size, int *err);
const char *event_action_str(__u8 action);
/*
 * The "rule" of a verdict: the policy rule's name, or the profile's
 * default, fileless, writable or unjudged, in @buf if it must be made.
 */
const char *event_rule_name(const struct events *e, __u32 rule_id,
			    __u32 profile, const char *section, __u8 action,
			    char *buf, size_t len);
const char *event_source_str(__u32 source);

#endif /* MW_EVENTS_H */
