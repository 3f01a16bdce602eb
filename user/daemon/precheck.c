// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the exec fence will say of the wrapper's command, asked before it
 * execs: the wrapper prints the refusal on its stderr, which the MCP
 * client shows, because a server killed at its exec cannot say anything.
 * Advisory only: the kernel still judges the exec, and reports it.
 *
 * The wrapper names the objects (device and inode of the file and of each
 * directory above it), which it stat()ed itself: the agent, root, opens
 * and stats nothing on a peer's behalf (no file the peer could not reach,
 * no FIFO or hung mount to stall the agent's loop on).
 */
#include <string.h>
#include "daemon/precheck.h"

/* @profile's exec rule on object @dev/@ino (a directory's, if @dir). */
static const struct inode_sel *rule_on(const struct compiled *c,
				       __u32 profile, __u64 dev, __u64 ino,
				       bool dir)
{
	size_t i;

	for (i = 0; i < c->nexec; i++) {
		const struct inode_sel *e = &c->exec[i];

		if (e->profile == profile && e->st_dev == dev && e->ino == ino &&
		    (!dir || e->is_dir) && !e->exec_only)
			return e;
	}
	return NULL;
}

/* [st_dev, ino] of @pair, or false. */
static bool object_of(json_object *pair, __u64 *dev, __u64 *ino)
{
	json_object *d, *i;

	if (!json_object_is_type(pair, json_type_array) ||
	    json_object_array_length(pair) != 2)
		return false;
	d = json_object_array_get_idx(pair, 0);
	i = json_object_array_get_idx(pair, 1);
	if (!json_object_is_type(d, json_type_int) ||
	    !json_object_is_type(i, json_type_int))
		return false;
	*dev = (__u64)json_object_get_int64(d);
	*ino = (__u64)json_object_get_int64(i);
	return true;
}

/* The nearest rule on a chain: the file's own, else a directory's above. */
static int verdict(const struct compiled *c, __u32 profile, json_object *file,
		   struct precheck *out)
{
	const struct mw_profile *p = &c->profiles[profile];
	const struct inode_sel *e = NULL;
	json_object *chain, *path;
	size_t k, n;
	__u64 dev, ino;

	if (!json_object_object_get_ex(file, "path", &path) ||
	    !json_object_is_type(path, json_type_string) ||
	    !json_object_object_get_ex(file, "chain", &chain) ||
	    !json_object_is_type(chain, json_type_array))
		return 0;
	n = json_object_array_length(chain);
	if (!n || n > PRECHECK_DEPTH)
		return 0;
	for (k = 0; k < n && !e; k++) {
		if (!object_of(json_object_array_get_idx(chain, k), &dev, &ino))
			return 0;
		e = rule_on(c, profile, dev, ino, k > 0);
	}
	out->action = e ? e->action :
		      p->exec_allowlist ? MW_ACTION_DENY : MW_ACTION_ALLOW;
	out->rule_id = e ? e->rule_id : MW_RULE_DEFAULT;
	out->path = json_object_get_string(path);
	if (out->action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		out->action = MW_ACTION_AUDIT;
	return out->action == MW_ACTION_DENY;
}

int precheck_exec(const struct compiled *c, __u32 profile, json_object *files,
		  struct precheck *out)
{
	size_t k, n;

	memset(out, 0, sizeof(*out));
	if (!c || profile >= MW_PROFILES_MAX || !c->profiles[profile].present ||
	    !c->profiles[profile].has_exec ||
	    !json_object_is_type(files, json_type_array))
		return 0;
	n = json_object_array_length(files);
	for (k = 0; k < n && k < PRECHECK_FILES; k++)
		if (verdict(c, profile, json_object_array_get_idx(files, k), out))
			return 1;
	return 0;
}
