// SPDX-License-Identifier: GPL-2.0-only
/*
 * A profile's network rules after parsing: sorted into the order the BPF side
 * tries them (mw_net_value.rules: most specific first), the ones that can
 * never match dropped with a warning that names the rule deciding first,
 * and the per-prefix and per-policy limits enforced.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy/walk.h"

static int cmp_prefix(const struct net_rule *a, const struct net_rule *b)
{
	int r = memcmp(a->addr, b->addr, 16);

	if (r)
		return r;
	return (int)a->plen - (int)b->plen;
}

/*
 * The order the BPF side tries the rules of one prefix, first to last: a
 * narrower port range first, then a specific protocol before "any", then
 * the stricter action, then the order of the document.
 */
static int cmp_rule(const void *pa, const void *pb)
{
	const struct net_rule *a = pa, *b = pb;
	int r = cmp_prefix(a, b);

	if (r)
		return r;
	if (a->port_hi - a->port_lo != b->port_hi - b->port_lo)
		return (a->port_hi - a->port_lo) < (b->port_hi - b->port_lo) ?
		       -1 : 1;
	if (!a->protocol != !b->protocol)
		return a->protocol ? -1 : 1;
	if (a->action != b->action)
		return a->action > b->action ? -1 : 1;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	if (a->port_lo != b->port_lo)
		return a->port_lo < b->port_lo ? -1 : 1;
	return (int)a->protocol - (int)b->protocol;
}

static bool proto_covers(__u8 rule, __u8 proto)
{
	return !rule || rule == proto;
}

/* Do the @n rules in @live cover every port of @r for protocol @proto? */
static bool ports_covered(const struct net_rule *live, size_t n,
			  const struct net_rule *r, __u8 proto)
{
	unsigned int point = r->port_lo, best;
	size_t i;

	for (;;) {
		best = point;
		for (i = 0; i < n; i++)
			if (proto_covers(live[i].protocol, proto) &&
			    live[i].port_lo <= point &&
			    live[i].port_hi + 1u > best)
				best = live[i].port_hi + 1u;
		if (best == point)
			return false;
		if (best > r->port_hi)
			return true;
		point = best;
	}
}

/* The first of @n live rules that takes part of @r's traffic. */
static const struct net_rule *shadow_of(const struct net_rule *live, size_t n,
					const struct net_rule *r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((!live[i].protocol || !r->protocol ||
		     live[i].protocol == r->protocol) &&
		    live[i].port_lo <= r->port_hi &&
		    live[i].port_hi >= r->port_lo)
			return &live[i];
	return &live[0];
}

struct item_stat {			/* of one rule id of the profile */
	size_t total;
	size_t dead;
	__u32 shadow;		/* the rule id that decides first */
	bool one_shadow;	/* ... for all of the dead ones */
	struct net_rule example;
};

struct lint {
	struct profile *prof;
	struct item_stat *st;		/* by rule id - first_id */
	__u32 first_id;
	size_t out;			/* live rules kept in prof->net */
	struct net_rule live[MW_NET_PORTS + 1];	/* of the current prefix */
	size_t nlive;
};

static void warn_dead(struct ctx *c, const struct item_stat *st, __u32 id)
{
	char prefix[CIDR_STR_MAX];
	const char *by = c->p->rule_names[st->shadow];

	if (st->dead == st->total) {
		ctx_warn_at(c, &c->items[id],
			    "this rule can never match: %s%s decides first",
			    by, st->one_shadow ? "" : " (among others)");
		return;
	}
	cidr_format(st->example.addr, st->example.plen, prefix,
		    sizeof(prefix));
	ctx_warn_at(c, &c->items[id],
		    "%zu of its %zu entries can never match, e.g. %s, which %s decides first",
		    st->dead, st->total, prefix, by);
}

/* Keep @r, live; an error if its prefix now has too many rules. */
static int keep_live(struct ctx *c, struct lint *l, const struct net_rule *r)
{
	char prefix[CIDR_STR_MAX];
	size_t i;

	l->live[l->nlive++] = *r;
	l->prof->net[l->out++] = *r;
	if (l->nlive <= MW_NET_PORTS)
		return 0;
	/* Blame the rule written last of those the prefix holds. */
	for (i = 0; i < l->nlive; i++)
		if (l->live[i].id > r->id)
			r = &l->live[i];
	cidr_format(r->addr, r->plen, prefix, sizeof(prefix));
	c->path = c->items[r->id];
	return ctx_fail(c, -EINVAL,
			"more than %d port rules for %s in one profile",
			MW_NET_PORTS, prefix);
}

/* Count @r, dead: the live rules before it take all of its traffic. */
static void count_dead(struct lint *l, const struct net_rule *r)
{
	struct item_stat *s = &l->st[r->id - l->first_id];
	const struct net_rule *by = shadow_of(l->live, l->nlive, r);

	if (by->id == r->id) {	/* the item repeats itself */
		s->total--;
		return;
	}
	if (!s->dead) {
		s->shadow = by->id;
		s->one_shadow = true;
		s->example = *r;
	} else if (s->shadow != by->id) {
		s->one_shadow = false;
	}
	s->dead++;
}

/* The rules of one prefix, from prof->net[g]; *next: the first after. */
static int lint_prefix(struct ctx *c, struct lint *l, size_t g, size_t *next)
{
	/* A copy: keeping live rules writes over prof->net[out..i]. */
	const struct net_rule key = l->prof->net[g];
	const struct net_rule *r;
	size_t i;
	bool dead;
	int err;

	l->nlive = 0;
	for (i = g; i < l->prof->nnet && !cmp_prefix(&key, &l->prof->net[i]);
	     i++) {
		r = &l->prof->net[i];
		/* "any" is dead only if covered for tcp and for udp */
		dead = l->nlive &&
		       ports_covered(l->live, l->nlive, r,
				     r->protocol ? r->protocol : IPPROTO_TCP) &&
		       ports_covered(l->live, l->nlive, r,
				     r->protocol ? r->protocol : IPPROTO_UDP);
		l->st[r->id - l->first_id].total++;
		if (dead) {
			count_dead(l, r);
			continue;
		}
		err = keep_live(c, l, r);
		if (err)
			return err;
	}
	*next = i;
	c->nprefixes++;
	if (c->nprefixes <= POLICY_PREFIXES_MAX)
		return 0;
	c->path = c->items[key.id];
	return ctx_fail(c, -EINVAL, "more than %d network prefixes in the policy",
			POLICY_PREFIXES_MAX);
}

int finalize_net(struct ctx *c, struct profile *prof, __u32 first_id)
{
	size_t nids = c->p->nrule_names - first_id;
	struct lint l = { .prof = prof, .first_id = first_id };
	size_t g, i;
	int err = 0;

	if (!prof->nnet)
		return 0;
	qsort(prof->net, prof->nnet, sizeof(*prof->net), cmp_rule);
	l.st = calloc(nids ? nids : 1, sizeof(*l.st));
	if (!l.st)
		return ctx_nomem(c);
	for (g = 0; g < prof->nnet && !err; )
		err = lint_prefix(c, &l, g, &g);
	if (!err) {
		prof->nnet = l.out;
		for (i = 0; i < nids; i++)
			if (l.st[i].dead)
				warn_dead(c, &l.st[i], first_id + (__u32)i);
	}
	free(l.st);
	return err;
}
