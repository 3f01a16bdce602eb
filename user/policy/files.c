// SPDX-License-Identifier: GPL-2.0-only
/*
 * A profile's "files" and "unix" (paths, "~/" for every home, a named path
 * set) and its "syscalls".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seccomp.h>
#include "policy/pathsets.h"
#include "policy/walk.h"

struct path_walk {
	struct profile *prof;
	struct path_rule **v;		/* prof->files or prof->unix_rules */
	size_t *n;
	size_t cap;
	__u8 action;			/* of the list being walked */
	bool readonly;			/* files.readonly */
	const char *const *set_ok;	/* the path sets the lists may name */
	struct json_object *except;	/* "except", applied after the lists */
	bool excepting;			/* expanding it: paths are removed */
	size_t removed;			/* by the current "except" entry */
};

/* An "except" entry's @path: the rule on it goes, whichever list had it. */
static void remove_rule(struct path_walk *w, const char *path)
{
	struct path_rule *v = *w->v;
	size_t k;

	for (k = 0; k < *w->n; k++) {
		if (strcmp(v[k].path, path))
			continue;
		free(v[k].path);
		memmove(&v[k], &v[k + 1], (*w->n - k - 1) * sizeof(*v));
		(*w->n)--;
		w->removed++;
		return;
	}
}

static int add_file_rule(struct ctx *c, struct path_walk *w, const char *path,
			 __u32 id, bool in_home)
{
	struct path_rule *r;
	size_t k;

	if (w->excepting) {
		remove_rule(w, path);
		return 0;
	}
	for (k = 0; k < *w->n; k++) {
		r = &(*w->v)[k];
		if (strcmp(r->path, path))
			continue;
		/* Named twice (a set and a path): the stricter rule stays. */
		if (path_rule_strictness(w->action, w->readonly) >
		    path_rule_strictness(r->action, r->readonly)) {
			r->action = w->action;
			r->readonly = w->readonly;
			r->id = id;
		}
		return 0;
	}
	r = grow(*w->v, &w->cap, *w->n, sizeof(**w->v));
	if (!r)
		return ctx_nomem(c);
	*w->v = r;
	r = &(*w->v)[*w->n];
	r->path = strdup(path);
	if (!r->path)
		return ctx_nomem(c);
	r->action = w->action;
	r->readonly = w->readonly;
	r->in_home = in_home;
	r->id = id;
	(*w->n)++;
	return 0;
}

/* @s with every "{uid}" in it replaced by @uid, into @out. */
static int subst_uid(struct ctx *c, const char *s, unsigned int uid,
		     char *out, size_t outlen)
{
	const char *p;
	size_t n = 0;
	int k;

	while ((p = strstr(s, "{uid}"))) {
		k = snprintf(out + n, outlen - n, "%.*s%u", (int)(p - s), s,
			     uid);
		if (k < 0 || (size_t)k >= outlen - n)
			return ctx_fail(c, -EINVAL, "path longer than %d bytes",
					PATH_MAX);
		n += k;
		s = p + 5;
	}
	if ((size_t)snprintf(out + n, outlen - n, "%s", s) >= outlen - n)
		return ctx_fail(c, -EINVAL, "path longer than %d bytes",
				PATH_MAX);
	return 0;
}

/* The path set named @s if @set_ok (NULL-terminated) lists it. */
static const struct pathset *set_named(const char *const *set_ok,
				       const char *s)
{
	for (; set_ok && *set_ok; set_ok++)
		if (!strcmp(s, *set_ok))
			return pathsets_get(s);
	return NULL;
}

/*
 * Add @s (a path, "~/path", a path with "{uid}" or one of the path sets
 * @set_ok, NULL for none) expanded, as rule @id.
 */
static int expand_path(struct ctx *c, struct path_walk *w, const char *s,
		       __u32 id, const char *const *set_ok)
{
	const struct policy_env *env = c->env;
	char q[QUOTE_BUF], path[PATH_MAX], sets[128] = "";
	const struct pathset *set;
	size_t i, n = 0;
	int err;

	if ((s[0] == '/' || s[0] == '~') && strstr(s, "{uid}")) {
		for (i = 0; i < env->nuids; i++) {
			err = subst_uid(c, s, env->uids[i], path, sizeof(path));
			if (!err)
				err = expand_path(c, w, path, id, NULL);
			if (err)
				return err;
		}
		return 0;
	}
	if (s[0] == '/')
		return add_file_rule(c, w, s, id, false);
	if (s[0] == '~' && (s[1] == '/' || !s[1])) {
		for (i = 0; i < env->nhomes; i++) {
			snprintf(path, sizeof(path), "%s%s", env->homes[i],
				 s + 1);
			err = add_file_rule(c, w, path, id,
					    s[1] && !strchr(s + 2, '/'));
			if (err)
				return err;
		}
		return 0;
	}
	set = set_named(set_ok, s);
	if (!set) {
		for (i = 0; set_ok && set_ok[i] && n < sizeof(sets); i++)
			n += snprintf(sets + n, sizeof(sets) - n, "%s\"%s\"",
				      i ? ", " : "", set_ok[i]);
		return ctx_fail(c, -EINVAL,
				"%s is not an absolute path, a ~/path or %s %s",
				quote(s, q, sizeof(q)),
				set_ok && set_ok[0] && set_ok[1] ?
				"one of the path sets" : "the path set", sets);
	}
	for (i = 0; i < set->n; i++) {
		err = expand_path(c, w, set->entries[i].path, id, NULL);
		if (err)
			return err;
	}
	return 0;
}

static int path_element(struct ctx *c, struct json_object *e, const char *s,
			void *arg)
{
	struct path_walk *w = arg;
	__u32 id;
	int err;

	if (strlen(s) >= PATH_MAX / 2)
		return ctx_fail(c, -EINVAL, "path longer than %d bytes",
				PATH_MAX / 2);
	err = new_rule_id(c, e, &id);
	if (!err)
		err = expand_path(c, w, s, id, w->set_ok);
	return err;
}

static int path_list(struct ctx *c, const char *key, struct json_object *list,
		     void *arg)
{
	struct path_walk *w = arg;
	static const char *const persistence[] = { "persistence", NULL };
	const char *const *set_ok = w->set_ok;
	int err;

	w->readonly = !strcmp(key, "readonly");
	w->action = w->readonly ? MW_ACTION_DENY : list_action(key);
	if (w->readonly)
		w->set_ok = persistence;
	err = walk_strings(c, list, path_element, w);
	w->set_ok = set_ok;
	w->readonly = false;
	return err;
}

/*
 * "except": entries to leave out of what the lists named, a path set's
 * most often ("secrets" but not "~/.npmrc" for a profile whose servers
 * need the user's npm configuration). Kept for after the lists.
 */
static int except_list(struct ctx *c, const char *key, struct json_object *list,
		       void *arg)
{
	struct path_walk *w = arg;
	int err;

	err = walk_strings(c, list, NULL, NULL);
	if (!err && !json_object_array_length(list))
		err = ctx_fail(c, -EINVAL, "an empty list excepts nothing");
	if (!err)
		w->except = list;
	return err;
}

static int except_element(struct ctx *c, struct json_object *e, const char *s,
			  void *arg)
{
	struct path_walk *w = arg;
	char q[QUOTE_BUF];
	int err;

	(void)e;
	if (s[0] != '/' && s[0] != '~')
		return ctx_fail(c, -EINVAL, "%s is not an absolute path or a ~/path",
				quote(s, q, sizeof(q)));
	w->removed = 0;
	err = expand_path(c, w, s, 0, NULL);
	if (!err && !w->removed)
		err = ctx_fail(c, -EINVAL, "%s is not one of the paths the lists above name",
			       quote(s, q, sizeof(q)));
	return err;
}

static int apply_except(struct ctx *c, struct path_walk *w)
{
	int err;

	if (!w->except)
		return 0;
	jpath_push_key(&c->path, "except");
	w->excepting = true;
	err = walk_strings(c, w->except, except_element, w);
	w->excepting = false;
	if (!err)
		jpath_pop(&c->path);
	return err;
}

/* files.allow, and only that, makes the profile a confinement. */
static int files_allow(struct ctx *c, const char *key, struct json_object *list,
		       void *arg)
{
	struct path_walk *w = arg;
	int err;

	err = path_list(c, key, list, w);
	if (!err)
		err = check_allowlist(c, list, "open",
				      &w->prof->files_allowlist);
	return err;
}

int parse_files(struct ctx *c, const char *key, struct json_object *obj,
		void *arg)
{
	static const struct key_handler file_keys[] = {
		{ "deny", path_list, false },
		{ "audit", path_list, false },
		{ "allow", files_allow, false },
		{ "readonly", path_list, false },
		{ "except", except_list, false },
		{ NULL },
	};
	/* Unix sockets: no allowlist, a connect is not an open. */
	static const struct key_handler unix_keys[] = {
		{ "deny", path_list, false },
		{ "audit", path_list, false },
		{ "except", except_list, false },
		{ NULL },
	};
	static const char *const unix_sets[] = { "container_runtimes",
						 "command_runners", NULL };
	static const char *const file_sets[] = { "secrets", NULL };
	struct profile *prof = arg;
	bool unix_sockets = !strcmp(key, "unix");
	struct path_walk w = {
		.prof = prof,
		.v = unix_sockets ? &prof->unix_rules : &prof->files,
		.n = unix_sockets ? &prof->nunix : &prof->nfiles,
		.set_ok = unix_sockets ? unix_sets : file_sets,
	};

	int err;

	err = walk_object(c, obj, unix_sockets ? unix_keys : file_keys,
			  WALK_DOCUMENT, &w);
	return err ? err : apply_except(c, &w);
}

static int syscall_element(struct ctx *c, struct json_object *e,
			   const char *s, void *arg)
{
	struct profile *prof = arg;
	char q[QUOTE_BUF];
	size_t k;

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
	return 0;
}

/* syscalls.deny: one rule, named before its elements are checked. */
static int syscalls_deny(struct ctx *c, const char *key,
			 struct json_object *list, void *arg)
{
	struct profile *prof = arg;
	size_t n;
	int err;

	err = expect_type(c, list, json_type_array);
	if (!err)
		err = new_rule_id(c, list, &prof->syscalls_id);
	if (err)
		return err;
	n = json_object_array_length(list);
	prof->syscalls = calloc(n ? n : 1, sizeof(*prof->syscalls));
	if (!prof->syscalls)
		return ctx_nomem(c);
	return walk_strings(c, list, syscall_element, prof);
}

int parse_syscalls(struct ctx *c, const char *key, struct json_object *obj,
		   void *prof)
{
	static const struct key_handler keys[] = {
		{ "deny", syscalls_deny, false },
		{ NULL },
	};

	return walk_object(c, obj, keys, WALK_DOCUMENT, prof);
}
