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
#include "lib/proc.h"
#include "output/proc_cache.h"

struct events {
	struct proc_cache *cache;
	const char *proc_root;		/* NULL: /proc */
	const char *cgroup_root;	/* cgroup v2 mount: ids to pods */
	__s64 boot_to_real;		/* CLOCK_REALTIME - CLOCK_BOOTTIME, ns */
	/* Names of profile and rule ids; may return NULL. */
	const char *(*profile_name)(void *arg, __u32 id);
	const char *(*rule_name)(void *arg, __u32 id);
	void *arg;
};

/* A new event with "time" and "type"; @boot_ns 0 means now. */
json_object *event_new(const struct events *e, const char *type, __u64 boot_ns);
/* Decode one ring-buffer record; NULL with *err set if it is malformed. */
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
