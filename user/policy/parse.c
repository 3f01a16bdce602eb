// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy: JSON text in, a validated struct policy out. Every rule is checked
 * before anything uses it; unknown keys are errors, so a typo cannot quietly
 * disable a rule. Errors are one line, "source:line: json.path: reason".
 *
 * What policy_parse guarantees to its users (maps.c):
 *  - profile ids are the index in policy->profiles plus one (1..63);
 *  - profile->net holds live rules only (duplicates and rules that can never
 *    match are dropped, with a warning), the rules of one prefix adjacent and
 *    in the order the BPF side must try them (mw_net_value.rules: most
 *    specific first), at most MW_NET_PORTS of them per prefix;
 *  - at most MW_DETECT_MAX patterns, MW_CGROUPS_MAX / 2 cgroups and
 *    MW_NET_RULES_MAX / 2 distinct (profile, prefix) pairs in the whole policy:
 *    the maps hold two generations during a reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <nettle/sha2.h>
#include <seccomp.h>
#include "policy/pathsets.h"

#include "policy/jsonpos.h"
#include "policy/policy.h"
#include "policy/sets.h"

#define POLICY_FILE_MAX		(4 << 20)
#define POLICY_NAME_MAX		63
#define POLICY_PATTERN_MAX	(MW_PATTERN_MAX - 1)
#define POLICY_RULE_IDS		MW_RULE_IDS_MAX
#define POLICY_CGROUPS_MAX	(MW_CGROUPS_MAX / 2)
#define POLICY_PREFIXES_MAX	(MW_NET_RULES_MAX / 2)
#define POLICY_QUOTE_MAX	64
#define POLICY_LINE_MAX		POLICY_ERR_MAX

#define DEFAULT_RESOLV_CONF	"/etc/resolv.conf"
#define DEFAULT_CGROUP_ROOT	"/sys/fs/cgroup"

extern const char mw_default_policy[], mw_default_policy_end[];

struct uset {				/* a set from the top-level "sets" */
	const char *name;		/* borrowed from the document */
	struct cidr *cidrs;
	size_t n;
	bool used;
};

struct seen {				/* a detect pattern or cgroup, once */
	const char *what;		/* borrowed */
	char where[128];		/* its path, for the duplicate's message */
};

struct ctx {
	const char *text;
	size_t len;
	const char *source;
	const struct policy_opts *opts;
	char *err;
	size_t errlen;
	void (*warn_cb)(const char *msg, void *arg);
	void *warn_arg;

	struct jpath path;		/* of the value being checked */
	struct policy *p;

	struct uset *usets;
	size_t nusets;
	struct cidr *ns;		/* the nameservers set, once read */
	size_t nns;
	int ns_err;
	bool ns_loaded;

	struct jpath *items;		/* the path of each rule id */
	size_t items_cap;
	size_t rule_names_cap;

	struct seen detect[MW_DETECT_MAX];
	size_t ndetect;
	struct seen *cgroups;
	size_t ncgroups;
	size_t nprefixes;

	char **homes;			/* for "~/", read once */
	size_t nhomes;
	bool homes_loaded;
};

/* Messages */

static const char *json_type_desc(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:	return "null";
	case json_type_boolean:	return "a boolean";
	case json_type_double:	return "a number";
	case json_type_int:	return "an integer";
	case json_type_object:	return "an object";
	case json_type_array:	return "an array";
	case json_type_string:	return "a string";
	}
	return "something else";
}

/* @s as a double-quoted string, unprintable bytes as '?', long ones cut. */
static const char *quote(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; s[i] && o + 5 < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == POLICY_QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* "source:line: path: msg" for @where into @out. */
static void ctx_vformat(const struct ctx *c, const struct jpath *where,
			int path_depth, char *out, size_t outlen,
			const char *fmt, va_list ap)
{
	char path[256], msg[POLICY_LINE_MAX];
	struct jpath shown = *where;
	unsigned long line;
	size_t i;

	line = jsonpos_line(c->text, c->len, where);
	if (path_depth >= 0 && path_depth < shown.depth)
		shown.depth = path_depth;
	jpath_format(&shown, path, sizeof(path));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(out, outlen, "%s:%lu: %s: %s", c->source, line, path, msg);
	for (i = 0; out[i]; i++)	/* one line, whatever the input */
		if (out[i] == '\n' || out[i] == '\r')
			out[i] = ' ';
}

__attribute__((format(printf, 3, 4)))
static int ctx_fail(struct ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (!c->err || !c->errlen)
		return err;
	va_start(ap, fmt);
	ctx_vformat(c, &c->path, -1, c->err, c->errlen, fmt, ap);
	va_end(ap);
	return err;
}

/* An error about member @key itself (a bad name): path of the parent. */
__attribute__((format(printf, 3, 4)))
static int ctx_fail_key(struct ctx *c, const char *key, const char *fmt, ...)
{
	int depth = c->path.depth;
	va_list ap;

	if (!c->err || !c->errlen)
		return -EINVAL;
	jpath_push_key(&c->path, key);
	va_start(ap, fmt);
	ctx_vformat(c, &c->path, depth, c->err, c->errlen, fmt, ap);
	va_end(ap);
	jpath_pop(&c->path);
	return -EINVAL;
}

__attribute__((format(printf, 3, 4)))
static void ctx_warn_at(struct ctx *c, const struct jpath *where,
			const char *fmt, ...)
{
	char msg[POLICY_LINE_MAX];
	va_list ap;

	if (!c->warn_cb)
		return;
	va_start(ap, fmt);
	ctx_vformat(c, where, -1, msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->warn_cb(msg, c->warn_arg);
}

static int ctx_nomem(struct ctx *c)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->source);
	return -ENOMEM;
}

/* Types and keys */

static int expect_type(struct ctx *c, struct json_object *o, enum json_type t)
{
	static const char *const want[] = {
		[json_type_boolean] = "a boolean",
		[json_type_int] = "an integer",
		[json_type_object] = "an object",
		[json_type_array] = "an array",
		[json_type_string] = "a string",
	};

	if (json_object_is_type(o, t))
		return 0;
	return ctx_fail(c, -EINVAL, "expected %s, got %s", want[t],
			json_type_desc(o));
}

/* A string without NUL bytes inside: what every string value must be. */
static int get_string(struct ctx *c, struct json_object *o, const char **s)
{
	int err = expect_type(c, o, json_type_string);

	if (err)
		return err;
	*s = json_object_get_string(o);
	if (strlen(*s) != (size_t)json_object_get_string_len(o))
		return ctx_fail(c, -EINVAL, "string contains a NUL character");
	return 0;
}

static int check_keys(struct ctx *c, struct json_object *obj,
		      const char *const *allowed)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);
	const char *key;
	size_t i;

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (!allowed[i]) {
			jpath_push_key(&c->path, key);
			return ctx_fail(c, -EINVAL, "unknown key");
		}
	}
	return 0;
}

/* One of @names (NULL-terminated): its index, else an error listing them. */
static int get_enum(struct ctx *c, struct json_object *o,
		    const char *const *names, int *idx)
{
	char q[POLICY_QUOTE_MAX + 8], list[128] = "";
	const char *s;
	size_t off = 0;
	int err, i;

	err = get_string(c, o, &s);
	if (err)
		return err;
	for (i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*idx = i;
			return 0;
		}
		off += snprintf(list + off, sizeof(list) - off, "%s\"%s\"",
				i ? ", " : "", names[i]);
		if (off >= sizeof(list))
			break;
	}
	return ctx_fail(c, -EINVAL, "%s is not one of %s",
			quote(s, q, sizeof(q)), list);
}

static bool name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > POLICY_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-'))
			return false;
	}
	return true;
}

static void *grow(void *ptr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return ptr;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(ptr, ncap * size);
	if (p)
		*cap = ncap;
	return p;
}

/* Addresses and sets */

/* The error for a string that is neither an address, a CIDR nor a set. */
static int bad_destination(struct ctx *c, const char *s)
{
	char q[POLICY_QUOTE_MAX + 8];
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
	char q[POLICY_QUOTE_MAX + 8], fixed[CIDR_STR_MAX];
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

static const char *resolv_conf(const struct ctx *c)
{
	return c->opts && c->opts->resolv_conf ? c->opts->resolv_conf :
	       DEFAULT_RESOLV_CONF;
}

static int load_nameservers(struct ctx *c)
{
	int err;

	if (c->ns_loaded)
		return 0;
	err = sets_read_nameservers(resolv_conf(c), &c->ns, &c->nns,
				    &c->ns_err);
	if (err)
		return ctx_nomem(c);
	c->ns_loaded = true;
	return 0;
}

/*
 * Resolve one destination @s into a list of prefixes: *tmp holds a parsed
 * literal, or *list points into a set. Warns if a set is empty.
 */
static int resolve_dest(struct ctx *c, const char *s, struct cidr *tmp,
			const struct cidr **list, size_t *n,
			struct cidr **owned)
{
	const struct set_builtin *b;
	char q[POLICY_QUOTE_MAX + 8];
	struct cidr *v;
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
		v = calloc(b->nentries, sizeof(*v));
		if (!v)
			return ctx_nomem(c);
		for (i = 0; i < b->nentries; i++)
			if (cidr_parse(b->entries[i].cidr, v[i].addr,
				       &v[i].plen)) {
				free(v);	/* a broken table: tests catch it */
				return ctx_fail(c, -EINVAL,
						"built-in set \"%s\" is broken",
						b->name);
			}
		*owned = v;
		*list = v;
		*n = b->nentries;
		return 0;
	}
	if (b) {		/* nameservers */
		err = load_nameservers(c);
		if (err)
			return err;
		*list = c->ns;
		*n = c->nns;
		if (!c->nns && c->ns_err)
			ctx_warn_at(c, &c->path,
				    "set \"nameservers\" is empty (cannot read %s: %s): this entry matches nothing",
				    resolv_conf(c), strerror(c->ns_err));
		else if (!c->nns)
			ctx_warn_at(c, &c->path,
				    "set \"nameservers\" is empty (no nameserver line in %s): this entry matches nothing",
				    resolv_conf(c));
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

static int parse_sets(struct ctx *c, struct json_object *sets)
{
	struct json_object_iterator it, end;
	struct json_object *list, *e;
	char q[POLICY_QUOTE_MAX + 8];
	struct uset *u;
	__u8 addr[16], plen;
	const char *name, *s;
	size_t i, n;
	int err;

	err = expect_type(c, sets, json_type_object);
	if (err)
		return err;
	n = (size_t)json_object_object_length(sets);
	c->usets = calloc(n ? n : 1, sizeof(*c->usets));
	if (!c->usets)
		return ctx_nomem(c);
	it = json_object_iter_begin(sets);
	end = json_object_iter_end(sets);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		list = json_object_iter_peek_value(&it);
		if (!name_valid(name))
			return ctx_fail_key(c, name,
					    "%s is not a valid set name ([A-Za-z0-9_.-], 1..%d characters)",
					    quote(name, q, sizeof(q)),
					    POLICY_NAME_MAX);
		if (sets_builtin(name))
			return ctx_fail_key(c, name,
					    "%s is a built-in set and cannot be redefined",
					    quote(name, q, sizeof(q)));
		if (!cidr_parse_raw(name, addr, &plen))
			return ctx_fail_key(c, name,
					    "%s is an address, not a set name",
					    quote(name, q, sizeof(q)));
		jpath_push_key(&c->path, name);
		err = expect_type(c, list, json_type_array);
		if (err)
			return err;
		u = &c->usets[c->nusets++];
		u->name = name;
		n = json_object_array_length(list);
		u->cidrs = calloc(n ? n : 1, sizeof(*u->cidrs));
		if (!u->cidrs)
			return ctx_nomem(c);
		for (i = 0; i < n; i++) {
			jpath_push_index(&c->path, (long)i);
			e = json_object_array_get_idx(list, i);
			err = get_string(c, e, &s);
			if (err)
				return err;
			if (parse_cidr(c, s, &u->cidrs[u->n]))
				return bad_destination(c, s);
			u->n++;
			jpath_pop(&c->path);
		}
		jpath_pop(&c->path);
	}
	return 0;
}

/* Selection */

static int check_pattern(struct ctx *c, const char *s)
{
	char q[POLICY_QUOTE_MAX + 8];
	size_t i, n = strlen(s), stars = 0, slashes = 0;
	const char *star;

	quote(s, q, sizeof(q));
	if (n == 0)
		return ctx_fail(c, -EINVAL, "empty pattern");
	if (n > POLICY_PATTERN_MAX)
		return ctx_fail(c, -EINVAL, "%s is longer than %d characters",
				q, POLICY_PATTERN_MAX);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= ' ' || ch == 0x7f)
			return ctx_fail(c, -EINVAL,
					"%s contains a space or a control character",
					q);
		stars += ch == '*';
		slashes += ch == '/';
	}
	if (stars > 1)
		return ctx_fail(c, -EINVAL, "%s has more than one '*'", q);
	star = strchr(s, '*');
	if (star && star != s && star != s + n - 1)
		return ctx_fail(c, -EINVAL,
				"%s: '*' may only start or end a pattern", q);
	if (n == 1 && stars)
		return ctx_fail(c, -EINVAL, "%s would match every program", q);
	/*
	 * Patterns match a file name, so no '/', except in an npm scoped
	 * package name: "@scope/name" or "@scope/prefix*".
	 */
	if (slashes && (slashes > 1 || s[0] != '@' || s[1] == '/' ||
			s[n - 1] == '/' || (stars && s[n - 2] == '/')))
		return ctx_fail(c, -EINVAL,
				"%s contains '/' (only an npm scope, \"@scope/name\", may)",
				q);
	return 0;
}

static int seen_check(struct ctx *c, struct seen *seen, size_t n,
		      const char *what)
{
	char q[POLICY_QUOTE_MAX + 8];
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(seen[i].what, what))
			return ctx_fail(c, -EINVAL, "%s is already used by %s",
					quote(what, q, sizeof(q)),
					seen[i].where);
	return 0;
}

static int parse_detect(struct ctx *c, struct profile *prof,
			struct json_object *list)
{
	struct json_object *e;
	const char *s;
	size_t i, n;
	int err;

	err = expect_type(c, list, json_type_array);
	if (err)
		return err;
	n = json_object_array_length(list);
	prof->detect = calloc(n ? n : 1, sizeof(*prof->detect));
	if (!prof->detect)
		return ctx_nomem(c);
	for (i = 0; i < n; i++) {
		jpath_push_index(&c->path, (long)i);
		e = json_object_array_get_idx(list, i);
		err = get_string(c, e, &s);
		if (!err)
			err = check_pattern(c, s);
		if (!err)
			err = seen_check(c, c->detect, c->ndetect, s);
		if (err)
			return err;
		if (c->ndetect == MW_DETECT_MAX)
			return ctx_fail(c, -EINVAL,
					"more than %d detection patterns in the policy",
					MW_DETECT_MAX);
		c->detect[c->ndetect].what = s;
		jpath_format(&c->path, c->detect[c->ndetect].where,
			     sizeof(c->detect[0].where));
		c->ndetect++;
		prof->detect[prof->ndetect] = strdup(s);
		if (!prof->detect[prof->ndetect])
			return ctx_nomem(c);
		prof->ndetect++;
		jpath_pop(&c->path);
	}
	return 0;
}

/* The cgroup path @s, joined to the cgroup root if relative, in *out. */
static int cgroup_join(struct ctx *c, const char *s, char **out)
{
	const char *root = c->opts && c->opts->cgroup_root ?
			   c->opts->cgroup_root : DEFAULT_CGROUP_ROOT;
	char q[POLICY_QUOTE_MAX + 8], *p;
	size_t rlen = strlen(root), n;
	const char *x;

	quote(s, q, sizeof(q));
	if (!*s)
		return ctx_fail(c, -EINVAL, "empty cgroup path");
	for (x = s; (x = strstr(x, "..")); x += 2)
		if ((x == s || x[-1] == '/') && (x[2] == '/' || !x[2]))
			return ctx_fail(c, -EINVAL,
					"%s contains a \"..\" component", q);
	if (!rlen) {
		root = "/";
		rlen = 1;
	}
	while (rlen > 1 && root[rlen - 1] == '/')
		rlen--;
	if (s[0] == '/') {
		p = strdup(s);
	} else {
		n = rlen + 1 + strlen(s) + 1;
		p = malloc(n);
		if (p)
			snprintf(p, n, "%.*s%s%s", (int)rlen, root,
				 root[rlen - 1] == '/' ? "" : "/", s);
	}
	if (!p)
		return ctx_nomem(c);
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if (n >= PATH_MAX) {
		free(p);
		return ctx_fail(c, -EINVAL, "%s is longer than %d bytes", q,
				PATH_MAX - 1);
	}
	*out = p;
	return 0;
}

static int parse_cgroups(struct ctx *c, struct profile *prof,
			 struct json_object *list)
{
	struct json_object *e;
	const char *s;
	size_t i, n;
	char *path = NULL;
	int err;

	err = expect_type(c, list, json_type_array);
	if (err)
		return err;
	n = json_object_array_length(list);
	prof->cgroups = calloc(n ? n : 1, sizeof(*prof->cgroups));
	if (!prof->cgroups)
		return ctx_nomem(c);
	for (i = 0; i < n; i++) {
		jpath_push_index(&c->path, (long)i);
		e = json_object_array_get_idx(list, i);
		err = get_string(c, e, &s);
		if (!err)
			err = cgroup_join(c, s, &path);
		if (err)
			return err;
		prof->cgroups[prof->ncgroups++] = path;
		err = seen_check(c, c->cgroups, c->ncgroups, path);
		if (err)
			return err;
		if (c->ncgroups == POLICY_CGROUPS_MAX)
			return ctx_fail(c, -EINVAL,
					"more than %d cgroups in the policy",
					POLICY_CGROUPS_MAX);
		c->cgroups[c->ncgroups].what = path;
		jpath_format(&c->path, c->cgroups[c->ncgroups].where,
			     sizeof(c->cgroups[0].where));
		c->ncgroups++;
		jpath_pop(&c->path);
	}
	return 0;
}

/* select.k8s: {"namespace", "pod", "container"}: shell patterns. */
static int parse_k8s(struct ctx *c, struct profile *prof, struct json_object *o)
{
	static const char *const keys[] = {
		"namespace", "pod", "container", NULL,
	};
	char **slot[] = { &prof->k8s_namespace, &prof->k8s_pod,
			  &prof->k8s_container };
	struct json_object *v;
	const char *s;
	int err, i, n = 0;

	err = expect_type(c, o, json_type_object);
	if (!err)
		err = check_keys(c, o, keys);
	if (err)
		return err;
	for (i = 0; keys[i]; i++) {
		if (!json_object_object_get_ex(o, keys[i], &v))
			continue;
		jpath_push_key(&c->path, keys[i]);
		err = get_string(c, v, &s);
		if (!err && (!*s || strlen(s) > 253))
			err = ctx_fail(c, -EINVAL, "a pattern of 1 to 253 characters");
		if (err)
			return err;
		*slot[i] = strdup(s);
		if (!*slot[i])
			return ctx_nomem(c);
		n++;
		jpath_pop(&c->path);
	}
	if (!n)
		return ctx_fail(c, -EINVAL, "names none of \"namespace\", \"pod\", \"container\"");
	prof->has_k8s = true;
	return 0;
}

static int parse_select(struct ctx *c, struct profile *prof,
			struct json_object *sel)
{
	static const char *const keys[] = { "detect", "cgroups", "k8s", NULL };
	struct json_object *v;
	int err;

	err = expect_type(c, sel, json_type_object);
	if (!err)
		err = check_keys(c, sel, keys);
	if (err)
		return err;
	if (json_object_object_get_ex(sel, "k8s", &v)) {
		jpath_push_key(&c->path, "k8s");
		err = parse_k8s(c, prof, v);
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	if (json_object_object_get_ex(sel, "detect", &v)) {
		jpath_push_key(&c->path, "detect");
		err = parse_detect(c, prof, v);
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	if (json_object_object_get_ex(sel, "cgroups", &v)) {
		jpath_push_key(&c->path, "cgroups");
		err = parse_cgroups(c, prof, v);
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

/* Network rules */

struct port_range {
	__u16 lo, hi;
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

static int parse_ports(struct ctx *c, struct json_object *list,
		       struct port_range **out, size_t *nout)
{
	char q[POLICY_QUOTE_MAX + 8];
	struct json_object *e;
	struct port_range *r;
	size_t i, n;
	int64_t v;
	int err;

	err = expect_type(c, list, json_type_array);
	if (err)
		return err;
	n = json_object_array_length(list);
	if (!n)
		return ctx_fail(c, -EINVAL,
				"empty list (leave \"ports\" out for any port)");
	r = calloc(n, sizeof(*r));
	if (!r)
		return ctx_nomem(c);
	*out = r;
	for (i = 0; i < n; i++) {
		jpath_push_index(&c->path, (long)i);
		e = json_object_array_get_idx(list, i);
		if (json_object_is_type(e, json_type_int)) {
			v = json_object_get_int64(e);
			if (v < 1 || v > 65535)
				return ctx_fail(c, -EINVAL,
						"%lld is not a port (1..65535)",
						(long long)v);
			r[i].lo = r[i].hi = (__u16)v;
		} else if (json_object_is_type(e, json_type_string)) {
			const char *s;

			err = get_string(c, e, &s);
			if (err)
				return err;
			if (!port_str(s, &r[i]))
				return ctx_fail(c, -EINVAL,
						"%s is not a port or a port range (\"N\" or \"LO-HI\", 1..65535, LO <= HI)",
						quote(s, q, sizeof(q)));
		} else {
			return ctx_fail(c, -EINVAL,
					"expected an integer or a string, got %s",
					json_type_desc(e));
		}
		*nout = i + 1;
		jpath_pop(&c->path);
	}
	return 0;
}

static int add_rule(struct ctx *c, struct profile *prof, size_t *cap,
		    const struct cidr *d, const struct port_range *pr,
		    __u8 proto, __u8 action, __u32 id)
{
	struct net_rule *r;

	r = grow(prof->net, cap, prof->nnet, sizeof(*prof->net));
	if (!r)
		return ctx_nomem(c);
	prof->net = r;
	r = &prof->net[prof->nnet++];
	memset(r, 0, sizeof(*r));
	memcpy(r->addr, d->addr, 16);
	r->plen = d->plen;
	r->action = action;
	r->protocol = proto;
	r->port_lo = pr ? pr->lo : 0;
	r->port_hi = pr ? pr->hi : 65535;
	r->id = id;
	return 0;
}

/* Allocate a rule id named after the current path and @to. */
static int new_rule_id(struct ctx *c, struct json_object *to, __u32 *id)
{
	char path[256], name[POLICY_LINE_MAX], q[POLICY_QUOTE_MAX + 8];
	struct policy *p = c->p;
	struct json_object *e;
	size_t off, i, n;
	char **names;
	void *items;

	if (p->nrule_names >= POLICY_RULE_IDS)
		return ctx_fail(c, -EINVAL,
				"more than %d rules in the policy",
				POLICY_RULE_IDS);
	jpath_format(&c->path, path, sizeof(path));
	off = (size_t)snprintf(name, sizeof(name), "%s (", path);
	n = json_object_is_type(to, json_type_array) ?
	    json_object_array_length(to) : 1;
	for (i = 0; i < n && off < sizeof(name); i++) {
		e = json_object_is_type(to, json_type_array) ?
		    json_object_array_get_idx(to, i) : to;
		quote(json_object_get_string(e), q, sizeof(q));
		q[strlen(q) - 1] = '\0';	/* the name unquoted */
		off += (size_t)snprintf(name + off, sizeof(name) - off, "%s%s",
					i ? ", " : "", q + 1);
	}
	if (off < sizeof(name))
		snprintf(name + off, sizeof(name) - off, ")");

	names = grow(p->rule_names, &c->rule_names_cap, p->nrule_names,
		     sizeof(*names));
	if (!names)
		return ctx_nomem(c);
	p->rule_names = names;
	items = grow(c->items, &c->items_cap, p->nrule_names,
		     sizeof(*c->items));
	if (!items)
		return ctx_nomem(c);
	c->items = items;
	names[p->nrule_names] = strdup(name);
	if (!names[p->nrule_names])
		return ctx_nomem(c);
	c->items[p->nrule_names] = c->path;
	*id = (__u32)p->nrule_names++;
	return 0;
}

/* One element of network.allow/deny/audit, at c->path. */
static int parse_net_item(struct ctx *c, struct profile *prof, size_t *cap,
			  struct json_object *item, __u8 action)
{
	static const char *const keys[] = { "to", "ports", "protocol", NULL };
	static const char *const protos[] = { "any", "tcp", "udp", NULL };
	static const __u8 proto_num[] = { 0, 6, 17 };
	struct port_range *ports = NULL;
	struct json_object *to, *v, *e;
	const struct cidr *dests = NULL;
	struct cidr tmp, *owned;
	size_t nports = 0, ndest = 0, i, j, k, nto;
	const char *s;
	__u8 proto = 0;
	int err, idx, pushed;
	__u32 id = 0;

	if (json_object_is_type(item, json_type_string)) {
		to = item;
	} else if (json_object_is_type(item, json_type_object)) {
		err = check_keys(c, item, keys);
		if (err)
			return err;
		if (!json_object_object_get_ex(item, "to", &to)) {
			jpath_push_key(&c->path, "to");
			return ctx_fail(c, -EINVAL, "required key is missing");
		}
		jpath_push_key(&c->path, "to");
		if (json_object_is_type(to, json_type_array)) {
			if (!json_object_array_length(to))
				return ctx_fail(c, -EINVAL, "empty list");
			for (i = 0; i < json_object_array_length(to); i++) {
				jpath_push_index(&c->path, (long)i);
				err = get_string(c,
						 json_object_array_get_idx(to, i),
						 &s);
				if (err)
					return err;
				jpath_pop(&c->path);
			}
		} else if (!json_object_is_type(to, json_type_string)) {
			return ctx_fail(c, -EINVAL,
					"expected a string or an array, got %s",
					json_type_desc(to));
		}
		jpath_pop(&c->path);
		if (json_object_object_get_ex(item, "protocol", &v)) {
			jpath_push_key(&c->path, "protocol");
			err = get_enum(c, v, protos, &idx);
			if (err)
				return err;
			proto = proto_num[idx];
			jpath_pop(&c->path);
		}
		if (json_object_object_get_ex(item, "ports", &v)) {
			jpath_push_key(&c->path, "ports");
			err = parse_ports(c, v, &ports, &nports);
			if (err)
				goto out;
			jpath_pop(&c->path);
		}
	} else {
		return ctx_fail(c, -EINVAL,
				"expected a string or an object, got %s",
				json_type_desc(item));
	}
	err = get_string(c, json_object_is_type(to, json_type_array) ?
			 json_object_array_get_idx(to, 0) : to, &s);
	if (err)
		goto out;
	err = new_rule_id(c, to, &id);
	if (err)
		goto out;

	nto = json_object_is_type(to, json_type_array) ?
	      json_object_array_length(to) : 1;
	for (i = 0; i < nto; i++) {
		pushed = 0;
		if (to != item) {
			jpath_push_key(&c->path, "to");
			pushed++;
		}
		if (json_object_is_type(to, json_type_array)) {
			jpath_push_index(&c->path, (long)i);
			pushed++;
		}
		e = json_object_is_type(to, json_type_array) ?
		    json_object_array_get_idx(to, i) : to;
		err = get_string(c, e, &s);
		if (!err)
			err = resolve_dest(c, s, &tmp, &dests, &ndest, &owned);
		if (err)
			goto out;
		for (j = 0; j < ndest && !err; j++) {
			if (!nports)
				err = add_rule(c, prof, cap, &dests[j], NULL,
					       proto, action, id);
			for (k = 0; k < nports && !err; k++)
				err = add_rule(c, prof, cap, &dests[j],
					       &ports[k], proto, action, id);
		}
		free(owned);
		if (err)
			goto out;
		while (pushed--)
			jpath_pop(&c->path);
	}
out:
	free(ports);
	return err;
}

static int parse_net_list(struct ctx *c, struct profile *prof, size_t *cap,
			  struct json_object *list, __u8 action)
{
	size_t i;
	int err;

	err = expect_type(c, list, json_type_array);
	if (err)
		return err;
	for (i = 0; i < json_object_array_length(list); i++) {
		jpath_push_index(&c->path, (long)i);
		err = parse_net_item(c, prof, cap,
				     json_object_array_get_idx(list, i), action);
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

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

struct item_stat {
	size_t total;
	size_t dead;
	__u32 shadow;		/* the rule id that decides first */
	bool one_shadow;	/* ... for all of the dead ones */
	struct net_rule example;
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

/*
 * Sort @prof's rules into their evaluation order, drop those that can never
 * match (warning about them), and enforce the per-prefix and policy limits.
 * The profile's rule ids are first_id..c->p->nrule_names-1.
 */
static int finalize_net(struct ctx *c, struct profile *prof, __u32 first_id)
{
	struct net_rule live[MW_NET_PORTS + 1];
	struct item_stat *st = NULL;
	char prefix[CIDR_STR_MAX];
	size_t nids = c->p->nrule_names - first_id;
	size_t i, g, nlive, out = 0;
	int err = 0;

	if (!prof->nnet)
		return 0;
	qsort(prof->net, prof->nnet, sizeof(*prof->net), cmp_rule);
	st = calloc(nids ? nids : 1, sizeof(*st));
	if (!st)
		return ctx_nomem(c);
	for (g = 0; g < prof->nnet; g = i) {
		struct net_rule key = prof->net[g];

		nlive = 0;
		for (i = g; i < prof->nnet && !cmp_prefix(&key, &prof->net[i]);
		     i++) {
			struct net_rule *r = &prof->net[i];
			struct item_stat *s = &st[r->id - first_id];
			const struct net_rule *by;
			bool dead;

			dead = nlive &&
			       ports_covered(live, nlive, r,
					     r->protocol ? r->protocol : 6) &&
			       ports_covered(live, nlive, r,
					     r->protocol ? r->protocol : 17);
			s->total++;
			if (!dead) {
				live[nlive++] = *r;
				prof->net[out++] = *r;
				if (nlive <= MW_NET_PORTS)
					continue;
				for (i = 0; i < nlive; i++)
					if (live[i].id > r->id)
						r = &live[i];
				cidr_format(r->addr, r->plen, prefix,
					    sizeof(prefix));
				c->path = c->items[r->id];
				err = ctx_fail(c, -EINVAL,
					       "more than %d port rules for %s in one profile",
					       MW_NET_PORTS, prefix);
				goto out;
			}
			by = shadow_of(live, nlive, r);
			if (by->id == r->id) {	/* the item repeats itself */
				s->total--;
				continue;
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
		c->nprefixes++;
		if (c->nprefixes > POLICY_PREFIXES_MAX) {
			c->path = c->items[key.id];
			err = ctx_fail(c, -EINVAL,
				       "more than %d network prefixes in the policy",
				       POLICY_PREFIXES_MAX);
			goto out;
		}
	}
	prof->nnet = out;
	for (i = 0; i < nids; i++)
		if (st[i].dead)
			warn_dead(c, &st[i], first_id + (__u32)i);
out:
	free(st);
	return err;
}

static int parse_network(struct ctx *c, struct profile *prof,
			 struct json_object *net)
{
	static const char *const keys[] = {
		"default", "allow", "deny", "audit", "raw_sockets", NULL,
	};
	static const char *const defaults[] = { "allow", "deny", "audit", NULL };
	static const __u8 default_action[] = {
		MW_ACTION_ALLOW, MW_ACTION_DENY, MW_ACTION_AUDIT,
	};
	static const char *const raw[] = { "deny", "allow", NULL };
	struct json_object_iterator it, end;
	struct json_object *v;
	__u32 first_id = (__u32)c->p->nrule_names;
	const char *key;
	size_t cap = 0;
	int err, idx;

	err = expect_type(c, net, json_type_object);
	if (!err)
		err = check_keys(c, net, keys);
	if (err)
		return err;
	it = json_object_iter_begin(net);
	end = json_object_iter_end(net);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		jpath_push_key(&c->path, key);
		if (!strcmp(key, "default")) {
			err = get_enum(c, v, defaults, &idx);
			if (!err)
				prof->net_default = default_action[idx];
		} else if (!strcmp(key, "raw_sockets")) {
			err = get_enum(c, v, raw, &idx);
			if (!err)
				prof->deny_raw = idx == 0;
		} else {
			err = parse_net_list(c, prof, &cap, v,
					     !strcmp(key, "allow") ? MW_ACTION_ALLOW :
					     !strcmp(key, "deny") ? MW_ACTION_DENY :
					     MW_ACTION_AUDIT);
		}
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return finalize_net(c, prof, first_id);
}

/* Exec rules */

static int parse_exec_list(struct ctx *c, struct profile *prof, size_t *cap,
			   struct json_object *list, __u8 action)
{
	char q[POLICY_QUOTE_MAX + 8];
	struct exec_rule *r;
	struct json_object *e;
	const char *s;
	size_t i, n, k;
	__u32 id;
	int err;

	err = expect_type(c, list, json_type_array);
	if (err)
		return err;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		jpath_push_index(&c->path, (long)i);
		e = json_object_array_get_idx(list, i);
		err = get_string(c, e, &s);
		if (err)
			return err;
		if (s[0] != '/')
			return ctx_fail(c, -EINVAL, "%s is not an absolute path",
					quote(s, q, sizeof(q)));
		if (strlen(s) >= PATH_MAX)
			return ctx_fail(c, -EINVAL, "path longer than %d bytes",
					PATH_MAX - 1);
		for (k = 0; k < prof->nexec; k++)
			if (!strcmp(prof->exec[k].path, s))
				return ctx_fail(c, -EINVAL,
						"%s is listed twice in this profile's exec rules",
						quote(s, q, sizeof(q)));
		err = new_rule_id(c, e, &id);
		if (err)
			return err;
		r = grow(prof->exec, cap, prof->nexec, sizeof(*prof->exec));
		if (!r)
			return ctx_nomem(c);
		prof->exec = r;
		r = &prof->exec[prof->nexec];
		r->path = strdup(s);
		if (!r->path)
			return ctx_nomem(c);
		r->action = action;
		r->id = id;
		prof->nexec++;
		jpath_pop(&c->path);
	}
	return 0;
}

static int parse_exec(struct ctx *c, struct profile *prof,
		      struct json_object *ex)
{
	static const char *const keys[] = {
		"deny", "allow", "audit", "fileless", NULL,
	};
	static const char *const fileless[] = { "deny", "allow", "audit", NULL };
	static const __u8 fileless_action[] = {
		MW_ACTION_DENY, MW_ACTION_ALLOW, MW_ACTION_AUDIT,
	};
	struct json_object_iterator it, end;
	struct json_object *v;
	const char *key;
	size_t cap = 0;
	int err, idx;

	err = expect_type(c, ex, json_type_object);
	if (!err)
		err = check_keys(c, ex, keys);
	if (err)
		return err;
	it = json_object_iter_begin(ex);
	end = json_object_iter_end(ex);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		jpath_push_key(&c->path, key);
		if (!strcmp(key, "fileless")) {
			err = get_enum(c, v, fileless, &idx);
			if (!err)
				prof->fileless = fileless_action[idx];
		} else {
			err = parse_exec_list(c, prof, &cap, v,
					      !strcmp(key, "allow") ? MW_ACTION_ALLOW :
					      !strcmp(key, "deny") ? MW_ACTION_DENY :
					      MW_ACTION_AUDIT);
			if (!err && !strcmp(key, "allow")) {
				if (!json_object_array_length(v))
					err = ctx_fail(c, -EINVAL,
						       "an empty allow list would forbid every exec; leave \"allow\" out to allow all");
				prof->exec_allowlist = true;
			}
		}
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

/* File rules, unix socket rules, system calls */

static int add_file_rule(struct ctx *c, struct file_rule **v, size_t *n,
			 size_t *cap, const char *path, __u8 action, __u32 id)
{
	struct file_rule *r;
	size_t k;

	for (k = 0; k < *n; k++) {
		if (strcmp((*v)[k].path, path))
			continue;
		/* Named twice (a set and a path): the stricter rule stays. */
		if (action > (*v)[k].action) {
			(*v)[k].action = action;
			(*v)[k].id = id;
		}
		return 0;
	}
	r = grow(*v, cap, *n, sizeof(**v));
	if (!r)
		return ctx_nomem(c);
	*v = r;
	r = &(*v)[*n];
	r->path = strdup(path);
	if (!r->path)
		return ctx_nomem(c);
	r->action = action;
	r->id = id;
	(*n)++;
	return 0;
}

/*
 * Add @s (a path, "~/path" or the path set @set_ok, NULL for none) expanded,
 * as rule @id.
 */
static int expand_path(struct ctx *c, struct file_rule **v, size_t *n,
		       size_t *cap, const char *s, __u8 action, __u32 id,
		       const char *set_ok)
{
	char q[POLICY_QUOTE_MAX + 8], path[PATH_MAX];
	const struct pathset *set;
	size_t i;
	int err;

	if (s[0] == '/')
		return add_file_rule(c, v, n, cap, s, action, id);
	if (s[0] == '~' && (s[1] == '/' || !s[1])) {
		if (!c->homes_loaded) {
			c->homes_loaded = true;
			err = pathsets_homes(c->opts ? c->opts->passwd : NULL,
					     &c->homes, &c->nhomes);
			if (err == -ENOMEM)
				return ctx_nomem(c);
		}
		for (i = 0; i < c->nhomes; i++) {
			snprintf(path, sizeof(path), "%s%s", c->homes[i], s + 1);
			err = add_file_rule(c, v, n, cap, path, action, id);
			if (err)
				return err;
		}
		return 0;
	}
	set = set_ok && !strcmp(s, set_ok) ? pathsets_get(s) : NULL;
	if (!set)
		return ctx_fail(c, -EINVAL,
				"%s is not an absolute path, a ~/path or the path set \"%s\"",
				quote(s, q, sizeof(q)), set_ok ? set_ok : "");
	for (i = 0; i < set->n; i++) {
		err = expand_path(c, v, n, cap, set->entries[i].path, action, id,
				  NULL);
		if (err)
			return err;
	}
	return 0;
}

static int parse_path_list(struct ctx *c, struct file_rule **v, size_t *n,
			   size_t *cap, struct json_object *list, __u8 action,
			   const char *set_ok)
{
	struct json_object *e;
	const char *s;
	size_t i, len;
	__u32 id;
	int err;

	err = expect_type(c, list, json_type_array);
	if (err)
		return err;
	len = json_object_array_length(list);
	for (i = 0; i < len; i++) {
		jpath_push_index(&c->path, (long)i);
		e = json_object_array_get_idx(list, i);
		err = get_string(c, e, &s);
		if (!err && strlen(s) >= PATH_MAX / 2)
			err = ctx_fail(c, -EINVAL, "path longer than %d bytes",
				       PATH_MAX / 2);
		if (!err)
			err = new_rule_id(c, e, &id);
		if (!err)
			err = expand_path(c, v, n, cap, s, action, id, set_ok);
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

static __u8 list_action(const char *key)
{
	return !strcmp(key, "allow") ? MW_ACTION_ALLOW :
	       !strcmp(key, "deny") ? MW_ACTION_DENY : MW_ACTION_AUDIT;
}

static int parse_files(struct ctx *c, struct profile *prof,
		       struct json_object *obj, bool unix_sockets)
{
	static const char *const file_keys[] = { "deny", "audit", "allow", NULL };
	static const char *const unix_keys[] = { "deny", "audit", NULL };
	struct json_object_iterator it, end;
	struct json_object *v;
	const char *key;
	size_t cap = 0;
	int err;

	err = expect_type(c, obj, json_type_object);
	if (!err)
		err = check_keys(c, obj, unix_sockets ? unix_keys : file_keys);
	if (err)
		return err;
	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		jpath_push_key(&c->path, key);
		if (unix_sockets)
			err = parse_path_list(c, &prof->unix_rules, &prof->nunix,
					      &cap, v, list_action(key),
					      "container_runtimes");
		else
			err = parse_path_list(c, &prof->files, &prof->nfiles,
					      &cap, v, list_action(key), "secrets");
		if (!err && !strcmp(key, "allow")) {
			if (!json_object_array_length(v))
				err = ctx_fail(c, -EINVAL,
					       "an empty allow list would forbid every open; leave \"allow\" out to allow all");
			prof->files_allowlist = true;
		}
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

static int parse_syscalls(struct ctx *c, struct profile *prof,
			  struct json_object *obj)
{
	static const char *const keys[] = { "deny", NULL };
	char q[POLICY_QUOTE_MAX + 8];
	struct json_object *list, *e;
	const char *s;
	size_t i, k, n;
	int err;

	err = expect_type(c, obj, json_type_object);
	if (!err)
		err = check_keys(c, obj, keys);
	if (err || !json_object_object_get_ex(obj, "deny", &list))
		return err;
	jpath_push_key(&c->path, "deny");
	err = expect_type(c, list, json_type_array);
	if (!err)
		err = new_rule_id(c, list, &prof->syscalls_id);
	if (err)
		return err;
	n = json_object_array_length(list);
	prof->syscalls = calloc(n ? n : 1, sizeof(*prof->syscalls));
	if (!prof->syscalls)
		return ctx_nomem(c);
	for (i = 0; i < n; i++) {
		jpath_push_index(&c->path, (long)i);
		e = json_object_array_get_idx(list, i);
		err = get_string(c, e, &s);
		if (err)
			return err;
		if (seccomp_syscall_resolve_name(s) == __NR_SCMP_ERROR)
			return ctx_fail(c, -EINVAL, "%s is not a system call name",
					quote(s, q, sizeof(q)));
		for (k = 0; k < prof->nsyscalls; k++)
			if (!strcmp(prof->syscalls[k], s))
				return ctx_fail(c, -EINVAL, "%s is listed twice",
						quote(s, q, sizeof(q)));
		prof->syscalls[prof->nsyscalls] = strdup(s);
		if (!prof->syscalls[prof->nsyscalls])
			return ctx_nomem(c);
		prof->nsyscalls++;
		jpath_pop(&c->path);
	}
	jpath_pop(&c->path);
	return 0;
}

/* Profiles */

static int parse_profile(struct ctx *c, struct profile *prof,
			 struct json_object *obj)
{
	static const char *const keys[] = {
		"mode", "select", "network", "exec", "files", "syscalls",
		"unix", NULL,
	};
	static const char *const modes[] = { "enforce", "monitor", NULL };
	struct json_object_iterator it, end;
	struct json_object *v;
	const char *key;
	int err, idx;

	prof->mode = MW_MODE_ENFORCE;
	prof->net_default = MW_ACTION_ALLOW;
	prof->deny_raw = true;
	prof->fileless = MW_ACTION_DENY;
	err = expect_type(c, obj, json_type_object);
	if (!err)
		err = check_keys(c, obj, keys);
	if (err)
		return err;
	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		v = json_object_iter_peek_value(&it);
		jpath_push_key(&c->path, key);
		if (!strcmp(key, "mode")) {
			err = get_enum(c, v, modes, &idx);
			if (!err)
				prof->mode = idx ? MW_MODE_MONITOR :
					     MW_MODE_ENFORCE;
		} else if (!strcmp(key, "select")) {
			err = parse_select(c, prof, v);
		} else if (!strcmp(key, "exec")) {
			err = parse_exec(c, prof, v);
		} else if (!strcmp(key, "files")) {
			err = parse_files(c, prof, v, false);
		} else if (!strcmp(key, "unix")) {
			err = parse_files(c, prof, v, true);
		} else if (!strcmp(key, "syscalls")) {
			err = parse_syscalls(c, prof, v);
		} else {
			err = parse_network(c, prof, v);
		}
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

static int parse_profiles(struct ctx *c, struct json_object *profiles)
{
	struct json_object_iterator it, end;
	char q[POLICY_QUOTE_MAX + 8];
	struct policy *p = c->p;
	struct profile *prof;
	const char *name;
	int err;

	err = expect_type(c, profiles, json_type_object);
	if (err)
		return err;
	if (!json_object_object_length(profiles))
		return ctx_fail(c, -EINVAL, "at least one profile is required");
	p->profiles = calloc(MW_PROFILES_MAX - 1, sizeof(*p->profiles));
	if (!p->profiles)
		return ctx_nomem(c);
	it = json_object_iter_begin(profiles);
	end = json_object_iter_end(profiles);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		name = json_object_iter_peek_name(&it);
		if (!name_valid(name))
			return ctx_fail_key(c, name,
					    "%s is not a valid profile name ([A-Za-z0-9_.-], 1..%d characters)",
					    quote(name, q, sizeof(q)),
					    POLICY_NAME_MAX);
		if (p->nprofiles == MW_PROFILES_MAX - 1)
			return ctx_fail_key(c, name,
					    "more than %d profiles",
					    MW_PROFILES_MAX - 1);
		prof = &p->profiles[p->nprofiles++];
		prof->name = strdup(name);
		if (!prof->name)
			return ctx_nomem(c);
		jpath_push_key(&c->path, name);
		err = parse_profile(c, prof, json_object_iter_peek_value(&it));
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

/* The document */

static int parse_json(struct ctx *c, struct json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	struct json_object *root;
	size_t end, i;
	int err = 0;

	*out = NULL;
	for (i = 0; i < c->len; i++)
		if (c->text[i] == '\0')
			break;
	if (i < c->len) {
		snprintf(c->err, c->errlen, "%s:%lu: syntax error: NUL byte",
			 c->source, jsonpos_offset_line(c->text, c->len, i));
		return -EINVAL;
	}
	if (c->len > INT_MAX) {
		snprintf(c->err, c->errlen, "%s: document too large",
			 c->source);
		return -EFBIG;
	}
	tok = json_tokener_new();
	if (!tok)
		return ctx_nomem(c);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, c->text, (int)c->len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		for (i = 0; i < c->len; i++)
			if (!strchr(" \t\r\n", c->text[i]))
				break;
		snprintf(c->err, c->errlen, "%s:%lu: syntax error: %s",
			 c->source,
			 jsonpos_offset_line(c->text, c->len, c->len),
			 i == c->len ? "empty document" :
			 "unexpected end of document");
		err = -EINVAL;
		goto out;
	}
	if (jerr != json_tokener_success) {
		snprintf(c->err, c->errlen, "%s:%lu: syntax error: %s",
			 c->source, jsonpos_offset_line(c->text, c->len, end),
			 json_tokener_error_desc(jerr));
		err = -EINVAL;
		goto out;
	}
	for (i = end; i < c->len; i++)
		if (!strchr(" \t\r\n", c->text[i]))
			break;
	if (i < c->len) {
		snprintf(c->err, c->errlen,
			 "%s:%lu: syntax error: unexpected data after the document",
			 c->source, jsonpos_offset_line(c->text, c->len, i));
		err = -EINVAL;
		goto out;
	}
	*out = root;
	root = NULL;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return err;
}

static int parse_root(struct ctx *c, struct json_object *root)
{
	static const char *const keys[] = {
		"version", "sets", "profiles", NULL,
	};
	char dpath[256], dkey[128], q[POLICY_QUOTE_MAX + 8];
	struct json_object *v;
	unsigned long line;
	size_t i;
	int err;

	err = jsonpos_find_dup(c->text, c->len, dpath, sizeof(dpath), dkey,
			       sizeof(dkey), &line);
	if (err == -EINVAL) {
		snprintf(c->err, c->errlen,
			 "%s:%lu: syntax error: not strict JSON", c->source,
			 line);
		return err;
	}
	if (err < 0)
		return ctx_nomem(c);
	if (err) {
		snprintf(c->err, c->errlen, "%s:%lu: %s: duplicate key %s",
			 c->source, line, dpath, quote(dkey, q, sizeof(q)));
		return -EINVAL;
	}
	err = expect_type(c, root, json_type_object);
	if (!err)
		err = check_keys(c, root, keys);
	if (err)
		return err;

	jpath_push_key(&c->path, "version");
	if (!json_object_object_get_ex(root, "version", &v))
		return ctx_fail(c, -EINVAL, "required key is missing");
	err = expect_type(c, v, json_type_int);
	if (err)
		return err;
	if (json_object_get_int64(v) != POLICY_VERSION)
		return ctx_fail(c, -EINVAL,
				"%lld is not a supported version (expected %d)",
				(long long)json_object_get_int64(v),
				POLICY_VERSION);
	c->p->version = POLICY_VERSION;
	jpath_pop(&c->path);

	if (json_object_object_get_ex(root, "sets", &v)) {
		jpath_push_key(&c->path, "sets");
		err = parse_sets(c, v);
		if (err)
			return err;
		jpath_pop(&c->path);
	}

	jpath_push_key(&c->path, "profiles");
	if (!json_object_object_get_ex(root, "profiles", &v))
		return ctx_fail(c, -EINVAL, "required key is missing");
	err = parse_profiles(c, v);
	if (err)
		return err;
	jpath_pop(&c->path);

	for (i = 0; i < c->nusets; i++) {
		if (c->usets[i].used)
			continue;
		jpath_push_key(&c->path, "sets");
		jpath_push_key(&c->path, c->usets[i].name);
		ctx_warn_at(c, &c->path, "set is never used");
		jpath_pop(&c->path);
		jpath_pop(&c->path);
	}
	return 0;
}

static int policy_digest(const char *text, size_t len, char hex[65])
{
	unsigned char md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	unsigned int i;

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)text);
	sha256_digest(&ctx, sizeof(md), md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int policy_parse(const char *text, size_t len, const char *source,
		 const struct policy_opts *opts, struct policy **out,
		 char *err, size_t errlen,
		 void (*warn_cb)(const char *msg, void *arg), void *warn_arg)
{
	char dummy[POLICY_ERR_MAX];
	struct ctx c = {
		.text = text,
		.len = len,
		.source = source ? source : "policy",
		.opts = opts,
		.err = err && errlen ? err : dummy,
		.errlen = err && errlen ? errlen : sizeof(dummy),
		.warn_cb = warn_cb,
		.warn_arg = warn_arg,
	};
	struct json_object *root = NULL;
	size_t i;
	int ret;

	*out = NULL;
	c.err[0] = '\0';
	if (!text) {
		snprintf(c.err, c.errlen, "%s: no policy text", c.source);
		return -EINVAL;
	}
	c.p = calloc(1, sizeof(*c.p));
	c.cgroups = calloc(POLICY_CGROUPS_MAX, sizeof(*c.cgroups));
	if (!c.p || !c.cgroups) {
		ret = ctx_nomem(&c);
		goto out;
	}
	ret = parse_json(&c, &root);
	if (!ret)
		ret = parse_root(&c, root);
	if (ret)
		goto out;
	ret = policy_digest(text, len, c.p->digest);
	if (ret) {
		snprintf(c.err, c.errlen, "%s: cannot compute the digest",
			 c.source);
		goto out;
	}
	c.p->source = strdup(c.source);
	c.p->cgroup_root = strdup(opts && opts->cgroup_root ? opts->cgroup_root :
				  "/sys/fs/cgroup");
	if (!c.p->source || !c.p->cgroup_root) {
		ret = ctx_nomem(&c);
		goto out;
	}
	*out = c.p;
	c.p = NULL;
out:
	policy_free(c.p);
	json_object_put(root);
	for (i = 0; i < c.nusets; i++)
		free(c.usets[i].cidrs);
	free(c.usets);
	free(c.ns);
	free(c.items);
	free(c.cgroups);
	for (size_t h = 0; h < c.nhomes; h++)
		free(c.homes[h]);
	free(c.homes);
	return ret;
}

int policy_load_file(const char *path, const struct policy_opts *opts,
		     struct policy **out, char *err, size_t errlen,
		     void (*warn_cb)(const char *msg, void *arg), void *warn_arg)
{
	char *buf = NULL;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto fail;
	}
	if (st.st_size > POLICY_FILE_MAX) {
		ret = -EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	fd = -1;
	buf[off] = '\0';
	ret = policy_parse(buf, off, path, opts, out, err, errlen, warn_cb,
			   warn_arg);
	free(buf);
	return ret;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

const char *policy_default_text(size_t *len)
{
	if (len)
		*len = (size_t)(mw_default_policy_end - mw_default_policy);
	return mw_default_policy;
}

int policy_load_default(const struct policy_opts *opts, struct policy **out,
			char *err, size_t errlen)
{
	size_t len;
	const char *text = policy_default_text(&len);

	return policy_parse(text, len, "built-in", opts, out, err, errlen,
			    NULL, NULL);
}

const struct profile *policy_profile(const struct policy *p, const char *name)
{
	size_t i;

	if (!p || !name)
		return NULL;
	for (i = 0; i < p->nprofiles; i++)
		if (!strcmp(p->profiles[i].name, name))
			return &p->profiles[i];
	return NULL;
}

void policy_free(struct policy *p)
{
	struct profile *prof;
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < p->nprofiles; i++) {
		prof = &p->profiles[i];
		free(prof->name);
		for (j = 0; j < prof->ndetect; j++)
			free(prof->detect[j]);
		free(prof->detect);
		for (j = 0; j < prof->ncgroups; j++)
			free(prof->cgroups[j]);
		free(prof->cgroups);
		free(prof->net);
		for (j = 0; j < prof->nexec; j++)
			free(prof->exec[j].path);
		free(prof->exec);
		for (j = 0; j < prof->nfiles; j++)
			free(prof->files[j].path);
		free(prof->files);
		for (j = 0; j < prof->nunix; j++)
			free(prof->unix_rules[j].path);
		free(prof->unix_rules);
		for (j = 0; j < prof->nsyscalls; j++)
			free(prof->syscalls[j]);
		free(prof->syscalls);
		free(prof->k8s_namespace);
		free(prof->k8s_pod);
		free(prof->k8s_container);
	}
	free(p->profiles);
	for (i = 0; i < p->nrule_names; i++)
		free(p->rule_names[i]);
	free(p->rule_names);
	free(p->source);
	free(p->cgroup_root);
	free(p);
}
