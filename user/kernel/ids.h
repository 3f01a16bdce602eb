/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Stable ids for profile and rule names: a name keeps its id for the life
 * of the agent, across reloads.
 */
#ifndef MW_IDS_H
#define MW_IDS_H

#include <stddef.h>
#include <linux/types.h>
#include "mcpwarden.h"

/* Profile ids 1..MW_PROFILES_MAX-1; [0] unused. */
struct profile_ids {
	char *names[MW_PROFILES_MAX];
};

/*
 * Rule ids: a rule's name ("profiles.P.network.deny[2] (metadata)") keeps
 * its id across reloads, so an event written just before a reload and read
 * after it still names the rule that decided it. At most MW_RULE_IDS_MAX
 * names since the agent started.
 */
struct rule_ids {
	char **names;
	size_t n, cap;
	__u32 *slots;		/* open addressing: id + 1, 0 empty */
	size_t nslots;
};

__u32 profile_ids_get(const struct profile_ids *ids, const char *name);
/* The id of @name, a new one if it has none; 0, -ENOMEM or -ENOSPC. */
int profile_ids_assign(struct profile_ids *ids, const char *name, __u32 *id);
const char *profile_ids_name(const struct profile_ids *ids, __u32 id);
void profile_ids_free(struct profile_ids *ids);

__u32 rule_ids_get(struct rule_ids *r, const char *name); /* or ~0u: full */
const char *rule_ids_name(const struct rule_ids *r, __u32 id);
void rule_ids_free(struct rule_ids *r);

#endif /* MW_IDS_H */
