// SPDX-License-Identifier: GPL-2.0-only
/*
 * Network rules: the top-level "sets", and a profile's "network" object,
 * each destination expanded (a literal, a built-in or user set) into one
 * rule per prefix and port range. netlint.c then orders them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy/sets.h"
#include "policy/walk.h"

/* Addresses and sets */

/* The error for a string that is neither an address, a CIDR nor a set. */
static int bad_destination(struct ctx *c, const char *s)
{
	char q[QUOTE_BUF];
	size_t i;
	bool addrish = true;

	quote(s, q, sizeof(q));
	if (strchr(s, '/'))
		return ctx_fail(c, -EINVAL, "%s is not a CIDR", q);
	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
			addrish = false;
	if (strchr(s, ':') || (addrish && s[0]))
		return ctx_fail(c, -EINVAL, "%s is not an IP address", q);
	return ctx_fail(c, -EINVAL,
			"%s is not an address, a CIDR or a known set", q);
}

/* Parse an address or CIDR, warning about host bits; -EINVAL if not one. */
static int parse_cidr(struct ctx *c, const char *s, struct cidr *out)
{
	char q[QUOTE_BUF], fixed[CIDR_STR_MAX];
	__u8 raw[16];

	if (cidr_parse_raw(s, raw, &out->plen))
		return -EINVAL;
	memcpy(out->addr, raw, 16);
	cidr_mask(out->addr, out->plen);
	if (memcmp(raw, out->addr, 16)) {
		cidr_format(out->addr, out->plen, fixed, sizeof(fixed));
		ctx_warn_at(c, &c->path, "%s has host bits set, using %s",
			    quote(s, q, sizeof(q)), fixed);
	}
	return 0;
}

/* The prefixes of the built-in set @b from its table, in *owned. */
static int builtin_set(struct ctx *c, const struct set_builtin *b,
		       struct cidr **owned)
{
	struct cidr *v;
	size_t i;

	v = calloc(b->nentries, sizeof(*v));
	if (!v)
		return ctx_nomem(c);
	for (i = 0; i < b->nentries; i++)
		if (cidr_parse(b->entries[i].cidr, v[i].addr, &v[i].plen)) {
			free(v);	/* a broken table: tests catch it */
			return ctx_fail(c, -EINVAL,
					"built-in set \"%s\" is broken",
					b->name);
		}
	*owned = v;
	return 0;
}

/* The nameservers set: what the caller read of the host's resolv.conf. */
static void nameservers(struct ctx *c, const struct cidr **list, size_t *n)
{
	const struct policy_env *env = c->env;

	*list = env->nameservers;
	*n = env->nnameservers;
	if (*n)
		return;
	if (!env->resolv_conf)
		ctx_warn_at(c, &c->path,
			    "set \"nameservers\" is empty (no resolv.conf read): this entry matches nothing");
	else if (env->resolv_err)
		ctx_warn_at(c, &c->path,
			    "set \"nameservers\" is empty (cannot read %s: %s): this entry matches nothing",
			    env->resolv_conf, strerror(env->resolv_err));
	else
		ctx_warn_at(c, &c->path,
			    "set \"nameservers\" is empty (no nameserver line in %s): this entry matches nothing",
			    env->resolv_conf);
}

/*
 * Resolve one destination @s into a list of prefixes: *tmp holds a parsed
 * literal, or *list points into a set (in *owned if made for it, to free).
 * Warns if a set is empty.
 */
static int resolve_dest(struct ctx *c, const char *s, struct cidr *tmp,
			const struct cidr **list, size_t *n,
			struct cidr **owned)
{
	const struct set_builtin *b;
	char q[QUOTE_BUF];
	size_t i;
	int err;

	*owned = NULL;
	if (!parse_cidr(c, s, tmp)) {
		*list = tmp;
		*n = 1;
		return 0;
	}
	b = sets_builtin(s);
	if (b && b->entries) {
		err = builtin_set(c, b, owned);
		*list = *owned;
		*n = b->nentries;
		return err;
	}
	if (b) {
		nameservers(c, list, n);
		return 0;
	}
	for (i = 0; i < c->nusets; i++) {
		if (strcmp(c->usets[i].name, s))
			continue;
		c->usets[i].used = true;
		*list = c->usets[i].cidrs;
		*n = c->usets[i].n;
		if (!*n)
			ctx_warn_at(c, &c->path,
				    "set %s is empty: this entry matches nothing",
				    quote(s, q, sizeof(q)));
		return 0;
	}
	return bad_destination(c, s);
}

static int set_element(struct ctx *c, struct json_object *e, const char *s,
		       void *arg)
{
	struct uset *u = arg;
	struct cidr *v;

	v = grow(u->cidrs, &u->cap, u->n, sizeof(*u->cidrs));
	if (!v)
		return ctx_nomem(c);
	u->cidrs = v;
	if (parse_cidr(c, s, &u->cidrs[u->n]))
		return bad_destination(c, s);
	u->n++;
	return 0;
}

/* sets.NAME: a list of addresses and CIDRs. */
static int set_member(struct ctx *c, const char *name, struct json_object *list,
		      void *arg)
{
	char q[QUOTE_BUF];
	struct uset *u;
	__u8 addr[16], plen;
	int err;

	err = check_name(c, name, "set");
	if (err)
		return err;
	if (sets_builtin(name))
		return ctx_fail_name(c, "%s is a built-in set and cannot be redefined",
				     quote(name, q, sizeof(q)));
	if (!cidr_parse_raw(name, addr, &plen))
		return ctx_fail_name(c, "%s is an address, not a set name",
				     quote(name, q, sizeof(q)));
	u = grow(c->usets, &c->usets_cap, c->nusets, sizeof(*c->usets));
	if (!u)
		return ctx_nomem(c);
	c->usets = u;
	u = &c->usets[c->nusets++];
	memset(u, 0, sizeof(*u));
	u->name = name;
	return walk_strings(c, list, set_element, u);
}

int parse_sets(struct ctx *c, const char *key, struct json_object *sets,
	       void *arg)
{
	return walk_members(c, sets, set_member, NULL);
}

/* Rules */

struct port_range {
	__u16 lo, hi;
};

struct net_walk {			/* one profile's "network" */
	struct profile *prof;
	size_t cap;			/* of prof->net */
	__u8 action;			/* of the list being walked */
	__u32 *default_id;		/* a fence's: its default's rule id */
};

struct net_item {			/* one element of that list */
	struct net_walk *w;
	struct json_object *to;		/* a string, or an array of them */
	struct port_range *ports;	/* none: any port */
	size_t nports, ports_cap;
	__u8 proto;
	__u32 id;
};

/* "N" or "LO-HI": digits only, 1..65535. */
static bool port_str(const char *s, struct port_range *r)
{
	unsigned long v[2] = { 0, 0 };
	int k = 0, digits = 0;

	for (; *s; s++) {
		if (*s == '-' && k == 0 && digits) {
			k = 1;
			digits = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || ++digits > 5)
			return false;
		v[k] = v[k] * 10 + (unsigned long)(*s - '0');
	}
	if (!digits)
		return false;
	if (k == 0)
		v[1] = v[0];
	if (v[0] < 1 || v[1] > 65535 || v[0] > v[1])
		return false;
	r->lo = (__u16)v[0];
	r->hi = (__u16)v[1];
	return true;
}

/* One element of "ports": 443 or "443" or "8000-8080". */
static int port_element(struct ctx *c, struct json_object *e, void *arg)
{
	struct net_item *it = arg;
	struct port_range *r;
	char q[QUOTE_BUF];
	const char *s;
	int64_t v;
	int err;

	r = grow(it->ports, &it->ports_cap, it->nports, sizeof(*r));
	if (!r)
		return ctx_nomem(c);
	it->ports = r;
	r = &it->ports[it->nports];
	if (json_object_is_type(e, json_type_int)) {
		v = json_object_get_int64(e);
		if (v < 1 || v > 65535)
			return ctx_fail(c, -EINVAL,
					"%lld is not a port (1..65535)",
					(long long)v);
		r->lo = r->hi = (__u16)v;
	} else if (json_object_is_type(e, json_type_string)) {
		err = get_string(c, e, &s);
		if (err)
			return err;
		if (!port_str(s, r))
			return ctx_fail(c, -EINVAL,
					"%s is not a port or a port range (\"N\" or \"LO-HI\", 1..65535, LO <= HI)",
					quote(s, q, sizeof(q)));
	} else {
		return ctx_fail(c, -EINVAL,
				"expected an integer or a string, got %s",
				json_type_desc(e));
	}
	it->nports++;
	return 0;
}

static int item_ports(struct ctx *c, const char *key, struct json_object *v,
		      void *arg)
{
	struct net_item *it = arg;
	int err;

	err = walk_array(c, v, port_element, it);
	if (!err && !it->nports)
		err = ctx_fail(c, -EINVAL,
			       "empty list (leave \"ports\" out for any port)");
	return err;
}

static int item_protocol(struct ctx *c, const char *key, struct json_object *v,
			 void *arg)
{
	static const struct enum_name protos[] = {
		{ "any", 0 },
		{ "tcp", IPPROTO_TCP },
		{ "udp", IPPROTO_UDP },
		{ NULL, 0 },
	};
	struct net_item *it = arg;

	return get_enum(c, v, protos, &it->proto);
}

/* "to": one destination or a non-empty list of them, checked as strings. */
static int item_to(struct ctx *c, const char *key, struct json_object *to,
		   void *arg)
{
	struct net_item *it = arg;
	int err;

	it->to = to;
	if (json_object_is_type(to, json_type_array)) {
		err = walk_strings(c, to, NULL, NULL);
		if (!err && !json_object_array_length(to))
			err = ctx_fail(c, -EINVAL, "empty list");
		return err;
	}
	if (!json_object_is_type(to, json_type_string))
		return ctx_fail(c, -EINVAL,
				"expected a string or an array, got %s",
				json_type_desc(to));
	return 0;
}

static int add_rule(struct ctx *c, struct net_item *it, const struct cidr *d,
		    const struct port_range *pr)
{
	struct profile *prof = it->w->prof;
	struct net_rule *r;

	r = grow(prof->net, &it->w->cap, prof->nnet, sizeof(*prof->net));
	if (!r)
		return ctx_nomem(c);
	prof->net = r;
	r = &prof->net[prof->nnet++];
	memset(r, 0, sizeof(*r));
	memcpy(r->addr, d->addr, 16);
	r->plen = d->plen;
	r->action = it->w->action;
	r->protocol = it->proto;
	r->port_lo = pr ? pr->lo : 0;
	r->port_hi = pr ? pr->hi : 65535;
	r->id = it->id;
	return 0;
}

/* The rules of destination @s of the item: one per prefix and port range. */
static int item_dest(struct ctx *c, struct json_object *e, const char *s,
		     void *arg)
{
	struct net_item *it = arg;
	const struct cidr *dests = NULL;
	struct cidr tmp, *owned;
	size_t ndest = 0, j, k;
	int err;

	err = resolve_dest(c, s, &tmp, &dests, &ndest, &owned);
	for (j = 0; j < ndest && !err; j++) {
		if (!it->nports)
			err = add_rule(c, it, &dests[j], NULL);
		for (k = 0; k < it->nports && !err; k++)
			err = add_rule(c, it, &dests[j], &it->ports[k]);
	}
	free(owned);
	return err;
}

/*
 * The keys of an item in the order they are checked: a missing or broken
 * "to" is told about before the protocol, the protocol before the ports.
 */
static const struct key_handler item_keys[] = {
	{ "to", item_to, true },
	{ "protocol", item_protocol, false },
	{ "ports", item_ports, false },
	{ NULL },
};

/* One element of network.allow/deny/audit: "dest", or {"to": ...}. */
static int net_item(struct ctx *c, struct json_object *item, void *arg)
{
	struct net_item it = { .w = arg, .to = item };
	bool is_list;
	const char *s;
	int err;

	if (json_object_is_type(item, json_type_object))
		err = walk_object(c, item, item_keys, WALK_TABLE, &it);
	else if (json_object_is_type(item, json_type_string))
		err = 0;
	else
		return ctx_fail(c, -EINVAL,
				"expected a string or an object, got %s",
				json_type_desc(item));
	is_list = json_object_is_type(it.to, json_type_array);
	/* A lone string, in "to" or as the item, is checked here: at the item. */
	if (!err)
		err = get_string(c, is_list ?
				 json_object_array_get_idx(it.to, 0) : it.to,
				 &s);
	if (!err)
		err = new_rule_id(c, it.to, &it.id);
	if (!err && it.to != item)
		jpath_push_key(&c->path, "to");
	if (!err && is_list)
		err = walk_strings(c, it.to, item_dest, &it);
	else if (!err)
		err = item_dest(c, it.to, s, &it);
	if (!err && it.to != item)
		jpath_pop(&c->path);
	free(it.ports);
	return err;
}

static int net_list(struct ctx *c, const char *key, struct json_object *list,
		    void *arg)
{
	struct net_walk *w = arg;

	w->action = list_action(key);
	return walk_array(c, list, net_item, w);
}

static int net_default(struct ctx *c, const char *key, struct json_object *v,
		       void *arg)
{
	static const struct enum_name actions[] = {
		{ "allow", MW_ACTION_ALLOW },
		{ "deny", MW_ACTION_DENY },
		{ "audit", MW_ACTION_AUDIT },
		{ NULL, 0 },
	};
	struct net_walk *w = arg;
	int err;

	err = get_enum(c, v, actions, &w->prof->net_default);
	if (!err && w->default_id)
		err = new_rule_id(c, v, w->default_id);
	return err;
}

static int net_raw(struct ctx *c, const char *key, struct json_object *v,
		   void *arg)
{
	static const struct enum_name deny[] = {
		{ "deny", true },
		{ "allow", false },
		{ NULL, 0 },
	};
	struct net_walk *w = arg;
	__u8 v8;
	int err;

	err = get_enum(c, v, deny, &v8);
	if (!err)
		w->prof->deny_raw = v8;
	return err;
}

static const struct key_handler net_keys[] = {
	{ "default", net_default, false },
	{ "allow", net_list, false },
	{ "deny", net_list, false },
	{ "audit", net_list, false },
	{ "raw_sockets", net_raw, false },
	{ NULL },
};

/* A "network" object, its keys @keys, into @prof's rules. */
static int net_object(struct ctx *c, struct json_object *net,
		      const struct key_handler *keys, struct profile *prof,
		      __u32 *default_id)
{
	struct net_walk w = { .prof = prof, .default_id = default_id };
	__u32 first_id = (__u32)c->p->nrule_names;
	int err;

	err = walk_object(c, net, keys, WALK_DOCUMENT, &w);
	return err ? err : finalize_net(c, prof, first_id);
}

int parse_network(struct ctx *c, const char *key, struct json_object *net,
		  void *prof)
{
	return net_object(c, net, net_keys, prof, NULL);
}

/* A tool fence's "network": @prof holds its rules, no raw_sockets. */
int parse_fence_network(struct ctx *c, const char *key,
			struct json_object *net, struct profile *prof,
			__u32 *default_id)
{
	static const struct key_handler keys[] = {
		{ "default", net_default, false },
		{ "allow", net_list, false },
		{ "deny", net_list, false },
		{ "audit", net_list, false },
		{ NULL },
	};

	return net_object(c, net, keys, prof, default_id);
}
