// SPDX-License-Identifier: GPL-2.0-only
/*
 * A profile's tool fences: "tools" (a fence per tool name or prefix*) and
 * "idle", each a "network" object of its own that can only narrow the
 * profile's (mcpwarden.h, mw_tool_rules). Parsed after the rest of the
 * profile, so that a fence rule that would widen it is told about whatever
 * the order of the keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/walk.h"

/* A tool name the kernel can compare: its page keeps 63 bytes. */
#define TOOL_PATTERN_MAX	(MW_CALL_TOOL_MAX - 1)

static int check_pattern(struct ctx *c, const char *s)
{
	char q[QUOTE_BUF];
	size_t n = strlen(s), i;

	quote(s, q, sizeof(q));

	if (!n)
		return ctx_fail_name(c, "empty tool name");
	if (n > TOOL_PATTERN_MAX)
		return ctx_fail_name(c, "%s: longer than %d bytes, the longest tool name the kernel compares",
				     q, TOOL_PATTERN_MAX);
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return ctx_fail_name(c, "%s: a tool name is printable ASCII without spaces",
					     q);
		if (strchr("?[]", s[i]) || (s[i] == '*' && i != n - 1))
			return ctx_fail_name(c, "%s: a pattern is a tool name, or a prefix and a final '*'",
					     q);
	}
	return 0;
}

/* Do the first @plen bits of @a and @b agree? */
static bool prefix_match(const __u8 *a, const __u8 *b, unsigned int plen)
{
	unsigned int n = plen / 8, rest = plen % 8;

	if (memcmp(a, b, n))
		return false;
	return !rest || !((a[n] ^ b[n]) & (0xff << (8 - rest)));
}

/*
 * Does rule @a cover all of what @r asks (its prefix, protocol and ports)?
 * And does it share any of it (a prefix inside the other's, or around it)?
 */
static bool rule_covers(const struct net_rule *a, const struct net_rule *r)
{
	return a->plen <= r->plen && prefix_match(a->addr, r->addr, a->plen) &&
	       (!a->protocol || a->protocol == r->protocol) &&
	       a->port_lo <= r->port_lo && a->port_hi >= r->port_hi;
}

static bool rule_overlaps(const struct net_rule *a, const struct net_rule *r)
{
	return prefix_match(a->addr, r->addr, a->plen < r->plen ? a->plen : r->plen) &&
	       (!a->protocol || !r->protocol || a->protocol == r->protocol) &&
	       a->port_lo <= r->port_hi && a->port_hi >= r->port_lo;
}

/*
 * A fence rule that lets through (allow, audit) what the profile stops for
 * all of its destinations would widen the profile if it worked: an error,
 * at the rule, naming the profile's rule that decides.
 */
static int check_narrows(struct ctx *c, const struct profile *prof,
			 const struct profile *f)
{
	const struct net_rule *r, *best, *a;
	__u8 action;
	size_t i, k;

	for (i = 0; i < f->nnet; i++) {
		r = &f->net[i];
		if (r->action == MW_ACTION_DENY)
			continue;
		best = NULL;
		for (k = 0; k < prof->nnet; k++) {
			a = &prof->net[k];
			if (rule_covers(a, r) && (!best || a->plen > best->plen))
				best = a;
		}
		action = best ? best->action : prof->net_default;
		if (action <= r->action)
			continue;
		for (k = 0; k < prof->nnet; k++) {
			a = &prof->net[k];
			if (a->action <= r->action && rule_overlaps(a, r))
				break;
		}
		if (k < prof->nnet)
			continue;	/* the profile lets part of it through */
		c->path = c->items[r->id];
		return ctx_fail(c, -EINVAL, "widens the profile: %s %s it; a tool fence only narrows",
				best ? c->p->rule_names[best->id] :
				       "its network.default",
				action == MW_ACTION_DENY ? "denies" : "audits");
	}
	return 0;
}

static const char *action_name(__u8 a)
{
	return a == MW_ACTION_DENY ? "deny" : a == MW_ACTION_AUDIT ? "audit" :
	       "allow";
}

static int fence_section(struct ctx *c, const char *key,
			 struct json_object *v, void *arg)
{
	return ctx_fail(c, -EINVAL, "a tool fence narrows the network only (its \"network\" key); \"%s\" is the profile's",
			key);
}

struct fence_walk {
	struct profile *prof;
	struct profile net;		/* the fence's rules, parsed */
	__u32 default_id;
	struct json_object *default_v;
};

static int fence_network(struct ctx *c, const char *key,
			 struct json_object *v, void *arg)
{
	struct fence_walk *w = arg;
	int err;

	err = parse_fence_network(c, key, v, &w->net, &w->default_id);
	if (err)
		return err;
	if (w->default_id != ~0u && w->net.net_default < w->prof->net_default) {
		jpath_push_key(&c->path, "default");
		err = ctx_fail(c, -EINVAL, "widens the profile: its network.default is \"%s\"; a tool fence only narrows",
			       action_name(w->prof->net_default));
		jpath_pop(&c->path);
		return err;
	}
	return check_narrows(c, w->prof, &w->net);
}

/* One fence: tools.PATTERN or idle, into @out. */
static int fence_parse(struct ctx *c, struct profile *prof,
		       struct json_object *obj, struct tool_fence *out)
{
	static const struct key_handler keys[] = {
		{ "network", fence_network, false },
		{ "exec", fence_section, false },
		{ "files", fence_section, false },
		{ "unix", fence_section, false },
		{ "syscalls", fence_section, false },
		{ "mode", fence_section, false },
		{ "select", fence_section, false },
		{ NULL },
	};
	struct fence_walk w = { .prof = prof, .default_id = ~0u };
	int err;

	w.net.net_default = MW_ACTION_ALLOW;
	err = walk_object(c, obj, keys, WALK_DOCUMENT, &w);
	out->net_default = w.net.net_default;
	out->default_id = w.default_id;
	out->net = w.net.net;
	out->nnet = w.net.nnet;
	return err;
}

static size_t fences_count(const struct policy *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->nprofiles; i++)
		n += p->profiles[i].ntools + !!p->profiles[i].idle;
	return n;
}

static int tool_member(struct ctx *c, const char *name,
		       struct json_object *obj, void *arg)
{
	struct profile *prof = arg;
	struct tool_fence *f;
	int err;

	err = check_pattern(c, name);
	if (err)
		return err;
	if (fences_count(c->p) >= MW_FENCES_MAX)
		return ctx_fail_name(c, "more than %d tool fences in the policy",
				     MW_FENCES_MAX);
	f = &prof->tools[prof->ntools++];
	f->pattern = strdup(name);
	if (!f->pattern)
		return ctx_nomem(c);
	return fence_parse(c, prof, obj, f);
}

static int tools_parse(struct ctx *c, struct json_object *tools,
		       struct profile *prof)
{
	size_t n;
	int err;

	err = expect_type(c, tools, json_type_object);
	if (err)
		return err;
	n = (size_t)json_object_object_length(tools);
	if (!n)
		return ctx_fail(c, -EINVAL, "no tools: leave \"tools\" out");
	prof->tools = calloc(n, sizeof(*prof->tools));
	if (!prof->tools)
		return ctx_nomem(c);
	return walk_members(c, tools, tool_member, prof);
}

int parse_tool_fences(struct ctx *c, struct json_object *obj,
		      struct profile *prof)
{
	struct json_object *v;
	int err = 0;

	if (json_object_object_get_ex(obj, "tools", &v)) {
		jpath_push_key(&c->path, "tools");
		err = tools_parse(c, v, prof);
		jpath_pop(&c->path);
	}
	if (!err && json_object_object_get_ex(obj, "idle", &v)) {
		jpath_push_key(&c->path, "idle");
		if (fences_count(c->p) >= MW_FENCES_MAX)
			err = ctx_fail(c, -EINVAL, "more than %d tool fences in the policy",
				       MW_FENCES_MAX);
		else if (!(prof->idle = calloc(1, sizeof(*prof->idle))))
			err = ctx_nomem(c);
		else
			err = fence_parse(c, prof, v, prof->idle);
		jpath_pop(&c->path);
	}
	return err;
}
