/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent's own events (docs/events.md, "Agent events"). */
#ifndef MW_AGENT_EVENTS_H
#define MW_AGENT_EVENTS_H

#include <linux/types.h>
#include <json-c/json.h>
#include "output/events.h"
#include "policy/policy.h"

struct agent_start_info {
	const char *kernel;
	json_object *backend;		/* consumed */
	const char *cgroup, *pin_dir, *socket;
	__u64 tracked;			/* entries in the tracked map */
	__u32 tracked_capacity;		/* its max_entries */
	int found_by_scan;
	const char *adopted;		/* "none", "maps", "all" */
	bool cleanup_on_exit;
	const struct policy *policy;
};

/* {"source", "digest", "profiles"} of @p. */
json_object *agent_policy_json(const struct policy *p);
json_object *agent_event_start(const struct events *e,
			       const struct agent_start_info *i);
json_object *agent_event_stop(const struct events *e, int signal,
			      __u64 lines, bool left_in_force);
json_object *agent_event_policy_load(const struct events *e,
				     const struct policy *p, __u32 gen);
/* A reload refused: @running stays in force (NULL: none yet). */
json_object *agent_event_policy_error(const struct events *e, const char *err,
				      const struct policy *running);
json_object *agent_event_policy_warning(const struct events *e,
					const char *msg);
/*
 * agent_tamper: the pinned @object was removed from the pin directory by
 * someone; @err 0: the agent pinned it again, else why it could not.
 */
json_object *agent_event_tamper(const struct events *e, const char *object,
				int err);
/* @count lost since the last report, @total since start; @sink or NULL. */
json_object *agent_event_lost(const struct events *e, __u64 count,
			      __u64 total, const char *reason,
			      const char *sink);

#endif /* MW_AGENT_EVENTS_H */
