// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stable ids: a profile name and a rule name keep their id for the life of
 * the agent, across reloads, so an event decoded after a reload still names
 * what decided it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kernel/ids.h"

__u32 profile_ids_get(const struct profile_ids *ids, const char *name)
{
	__u32 i;

	for (i = 1; i < MW_PROFILES_MAX; i++)
		if (ids->names[i] && !strcmp(ids->names[i], name))
			return i;
	return 0;
}

const char *profile_ids_name(const struct profile_ids *ids, __u32 id)
{
	return id && id < MW_PROFILES_MAX ? ids->names[id] : NULL;
}

void profile_ids_free(struct profile_ids *ids)
{
	__u32 i;

	for (i = 0; i < MW_PROFILES_MAX; i++) {
		free(ids->names[i]);
		ids->names[i] = NULL;
	}
}

int profile_ids_assign(struct profile_ids *ids, const char *name, __u32 *id)
{
	__u32 i = profile_ids_get(ids, name);

	if (i) {
		*id = i;
		return 0;
	}
	/* Ids are never reused: a tracked process keeps its profile's id. */
	for (i = 1; i < MW_PROFILES_MAX; i++) {
		if (!ids->names[i]) {
			ids->names[i] = strdup(name);
			if (!ids->names[i])
				return -ENOMEM;
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

static __u32 name_hash(const char *s)
{
	__u32 h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

__u32 rule_ids_get(struct rule_ids *r, const char *name)
{
	size_t i, k;
	__u32 *slots;
	char **names;

	if (r->n * 2 >= r->nslots) {	/* grow and rehash */
		size_t ns = r->nslots ? r->nslots * 2 : 256;

		slots = calloc(ns, sizeof(*slots));
		if (!slots)
			return ~0u;
		for (i = 0; i < r->n; i++) {
			for (k = name_hash(r->names[i]) % ns; slots[k];
			     k = (k + 1) % ns)
				;
			slots[k] = i + 1;
		}
		free(r->slots);
		r->slots = slots;
		r->nslots = ns;
	}
	for (k = name_hash(name) % r->nslots; r->slots[k];
	     k = (k + 1) % r->nslots)
		if (!strcmp(r->names[r->slots[k] - 1], name))
			return r->slots[k] - 1;
	if (r->n >= MW_RULE_IDS_MAX)
		return ~0u;
	if (r->n == r->cap) {
		names = realloc(r->names, (r->cap ? r->cap * 2 : 64) *
				sizeof(*names));
		if (!names)
			return ~0u;
		r->names = names;
		r->cap = r->cap ? r->cap * 2 : 64;
	}
	r->names[r->n] = strdup(name);
	if (!r->names[r->n])
		return ~0u;
	r->slots[k] = ++r->n;
	return r->n - 1;
}

const char *rule_ids_name(const struct rule_ids *r, __u32 id)
{
	return id < r->n ? r->names[id] : NULL;
}

void rule_ids_free(struct rule_ids *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}
