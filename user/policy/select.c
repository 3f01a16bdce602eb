// SPDX-License-Identifier: GPL-2.0-only
/*
 * A profile's "select": which processes it applies to, by program name
 * ("detect"), cgroup ("cgroups") or Kubernetes names ("k8s"). A pattern or
 * cgroup may select one profile only, across the whole policy.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/walk.h"

static int check_pattern(struct ctx *c, const char *s)
{
	char q[QUOTE_BUF];
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

/*
 * Note @what at c->path as used, in @seen (*n of @max so far); an error if
 * it already is, or if that makes more than @max: @too_many says of what.
 */
static int seen_add(struct ctx *c, struct seen *seen, size_t *n, size_t max,
		    const char *what, const char *too_many)
{
	char q[QUOTE_BUF];
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(seen[i].what, what))
			return ctx_fail(c, -EINVAL, "%s is already used by %s",
					quote(what, q, sizeof(q)),
					seen[i].where);
	if (*n == max)
		return ctx_fail(c, -EINVAL, "more than %zu %s in the policy",
				max, too_many);
	seen[*n].what = what;
	jpath_format(&c->path, seen[*n].where, sizeof(seen[0].where));
	(*n)++;
	return 0;
}

/* Append @s to the string list *v of *n (room by grow() in *cap). */
static int strv_add(struct ctx *c, char ***v, size_t *n, size_t *cap,
		    char *s)
{
	char **p;

	p = grow(*v, cap, *n, sizeof(**v));
	if (!p) {
		free(s);
		return ctx_nomem(c);
	}
	*v = p;
	p[(*n)++] = s;
	return 0;
}

struct strv_walk {
	struct profile *prof;
	size_t cap;
};

static int detect_element(struct ctx *c, struct json_object *e, const char *s,
			  void *arg)
{
	struct strv_walk *w = arg;
	struct profile *prof = w->prof;
	char *copy;
	int err;

	err = check_pattern(c, s);
	if (!err)
		err = seen_add(c, c->detect, &c->ndetect, MW_DETECT_MAX, s,
			       "detection patterns");
	if (err)
		return err;
	copy = strdup(s);
	if (!copy)
		return ctx_nomem(c);
	return strv_add(c, &prof->detect, &prof->ndetect, &w->cap, copy);
}

static int select_detect(struct ctx *c, const char *key,
			 struct json_object *list, void *prof)
{
	struct strv_walk w = { .prof = prof };

	return walk_strings(c, list, detect_element, &w);
}

/* The cgroup path @s, joined to the cgroup root if relative, in *out. */
static int cgroup_join(struct ctx *c, const char *s, char **out)
{
	const char *root = c->cgroup_root;
	char q[QUOTE_BUF], *p;
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

static int cgroup_element(struct ctx *c, struct json_object *e, const char *s,
			  void *arg)
{
	struct strv_walk *w = arg;
	struct profile *prof = w->prof;
	char *path = NULL;
	int err;

	err = cgroup_join(c, s, &path);
	if (!err)	/* the profile owns it from here on, error or not */
		err = strv_add(c, &prof->cgroups, &prof->ncgroups, &w->cap,
			       path);
	if (!err)
		err = seen_add(c, c->cgroups, &c->ncgroups, POLICY_CGROUPS_MAX,
			       path, "cgroups");
	return err;
}

static int select_cgroups(struct ctx *c, const char *key,
			  struct json_object *list, void *prof)
{
	struct strv_walk w = { .prof = prof };

	return walk_strings(c, list, cgroup_element, &w);
}

/* select.k8s.namespace, .pod or .container: a shell pattern. */
static int k8s_pattern(struct ctx *c, const char *key, struct json_object *v,
		       void *arg)
{
	struct profile *prof = arg;
	char **slot = !strcmp(key, "namespace") ? &prof->k8s_namespace :
		      !strcmp(key, "pod") ? &prof->k8s_pod :
		      &prof->k8s_container;
	const char *s;
	int err;

	err = get_string(c, v, &s);
	if (!err && (!*s || strlen(s) > 253))
		err = ctx_fail(c, -EINVAL, "a pattern of 1 to 253 characters");
	if (err)
		return err;
	*slot = strdup(s);
	return *slot ? 0 : ctx_nomem(c);
}

static int select_k8s(struct ctx *c, const char *key, struct json_object *o,
		      void *arg)
{
	/* In this order, whatever the document's: the first error told. */
	static const struct key_handler keys[] = {
		{ "namespace", k8s_pattern, false },
		{ "pod", k8s_pattern, false },
		{ "container", k8s_pattern, false },
		{ NULL },
	};
	struct profile *prof = arg;
	int err;

	err = walk_object(c, o, keys, WALK_TABLE, prof);
	if (err)
		return err;
	if (!prof->k8s_namespace && !prof->k8s_pod && !prof->k8s_container)
		return ctx_fail(c, -EINVAL, "names none of \"namespace\", \"pod\", \"container\"");
	prof->has_k8s = true;
	return 0;
}

int parse_select(struct ctx *c, const char *key, struct json_object *sel,
		 void *prof)
{
	/* In this order, whatever the document's: the first error told. */
	static const struct key_handler keys[] = {
		{ "k8s", select_k8s, false },
		{ "detect", select_detect, false },
		{ "cgroups", select_cgroups, false },
		{ NULL },
	};

	return walk_object(c, sel, keys, WALK_TABLE, prof);
}

/*
 * The top-level "launchers": programs that start another (env, sudo, the
 * wrapper itself) and so name the server in their argv without being it.
 * Detection passes them by; the program they exec is judged instead.
 */
struct launcher_walk {
	struct policy *p;
	size_t cap;
};

static int launcher_element(struct ctx *c, struct json_object *e,
			    const char *s, void *arg)
{
	struct launcher_walk *w = arg;
	char q[QUOTE_BUF], *copy;
	size_t k;
	int err;

	(void)e;
	err = check_abs_path(c, s);
	if (err)
		return err;
	for (k = 0; k < w->p->nlaunchers; k++)
		if (!strcmp(w->p->launchers[k], s))
			return ctx_fail(c, -EINVAL, "%s is listed twice",
					quote(s, q, sizeof(q)));
	if (w->p->nlaunchers == POLICY_LAUNCHERS_MAX)
		return ctx_fail(c, -EINVAL, "more than %d launchers",
				POLICY_LAUNCHERS_MAX);
	copy = strdup(s);
	if (!copy)
		return ctx_nomem(c);
	return strv_add(c, &w->p->launchers, &w->p->nlaunchers, &w->cap, copy);
}

int parse_launchers(struct ctx *c, const char *key, struct json_object *list,
		    void *arg)
{
	struct launcher_walk w = { .p = c->p };

	(void)key;
	(void)arg;
	c->p->has_launchers = true;
	return walk_strings(c, list, launcher_element, &w);
}
