// SPDX-License-Identifier: GPL-2.0-only
/*
 * A profile's "exec": binaries and directories it may not (or only may)
 * run, and what happens to programs run from memory (fileless).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "policy/walk.h"

struct exec_walk {
	struct profile *prof;
	size_t cap;			/* of prof->exec */
	__u8 action;			/* of the list being walked */
};

static int exec_element(struct ctx *c, struct json_object *e, const char *s,
			void *arg)
{
	struct exec_walk *w = arg;
	struct profile *prof = w->prof;
	char q[QUOTE_BUF];
	struct path_rule *r;
	size_t k;
	__u32 id;
	int err;

	err = check_abs_path(c, s);
	if (err)
		return err;
	for (k = 0; k < prof->nexec; k++)
		if (!strcmp(prof->exec[k].path, s))
			return ctx_fail(c, -EINVAL,
					"%s is listed twice in this profile's exec rules",
					quote(s, q, sizeof(q)));
	err = new_rule_id(c, e, &id);
	if (err)
		return err;
	r = grow(prof->exec, &w->cap, prof->nexec, sizeof(*prof->exec));
	if (!r)
		return ctx_nomem(c);
	prof->exec = r;
	r = &prof->exec[prof->nexec];
	r->path = strdup(s);
	if (!r->path)
		return ctx_nomem(c);
	r->action = w->action;
	r->id = id;
	prof->nexec++;
	return 0;
}

static int exec_list(struct ctx *c, const char *key, struct json_object *list,
		     void *arg)
{
	struct exec_walk *w = arg;
	int err;

	w->action = list_action(key);
	err = walk_strings(c, list, exec_element, w);
	if (!err && w->action == MW_ACTION_ALLOW)
		err = check_allowlist(c, list, "exec",
				      &w->prof->exec_allowlist);
	return err;
}

/* exec.fileless and exec.writable: an action. */
static int exec_action(struct ctx *c, const char *key, struct json_object *v,
		       void *arg)
{
	static const struct enum_name actions[] = {
		{ "deny", MW_ACTION_DENY },
		{ "allow", MW_ACTION_ALLOW },
		{ "audit", MW_ACTION_AUDIT },
		{ NULL, 0 },
	};
	struct exec_walk *w = arg;

	return get_enum(c, v, actions, !strcmp(key, "writable") ?
			&w->prof->writable : &w->prof->fileless);
}

int parse_exec(struct ctx *c, const char *key, struct json_object *ex,
	       void *prof)
{
	static const struct key_handler keys[] = {
		{ "deny", exec_list, false },
		{ "allow", exec_list, false },
		{ "audit", exec_list, false },
		{ "fileless", exec_action, false },
		{ "writable", exec_action, false },
		{ NULL },
	};
	struct exec_walk w = { .prof = prof };

	return walk_object(c, ex, keys, WALK_DOCUMENT, &w);
}
