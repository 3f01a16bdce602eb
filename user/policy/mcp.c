// SPDX-License-Identifier: GPL-2.0-only
/*
 * A profile's "mcp": what the interposer of `mcpwarden exec` does with the
 * session it passes on (serialize_calls), and what the tool-call events
 * say of a call's arguments (arguments, redact; docs/policy.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "policy/walk.h"

#define REDACT_MAX	64	/* patterns in mcp.redact */

/* Key names whose values a start event never shows, unless "redact" says. */
static const char *const redact_default[] = {
	"*password*", "*passwd*", "*secret*", "*token*", "*api_key*",
	"*apikey*", "*authorization*", "*cookie*", "*credential*",
	"*private_key*", NULL,
};

struct mcp_walk {
	struct profile *prof;
	size_t cap;
	bool redact_given;
};

static int mcp_serialize(struct ctx *c, const char *key, struct json_object *v,
			 void *arg)
{
	struct mcp_walk *w = arg;
	int err = expect_type(c, v, json_type_boolean);

	if (!err)
		w->prof->serialize_calls = json_object_get_boolean(v);
	return err;
}

static int mcp_arguments(struct ctx *c, const char *key, struct json_object *v,
			 void *arg)
{
	static const struct enum_name kinds[] = {
		{ "digest", 0 },
		{ "full", 1 },
		{ NULL, 0 },
	};
	struct mcp_walk *w = arg;
	__u8 full;
	int err = get_enum(c, v, kinds, &full);

	if (!err)
		w->prof->arguments_full = full;
	return err;
}

static int redact_add(struct mcp_walk *w, struct ctx *c, const char *s)
{
	char **v, *copy = strdup(s);

	if (!copy)
		return ctx_nomem(c);
	v = grow(w->prof->redact, &w->cap, w->prof->nredact, sizeof(*v));
	if (!v) {
		free(copy);
		return ctx_nomem(c);
	}
	w->prof->redact = v;
	v[w->prof->nredact++] = copy;
	return 0;
}

static int redact_element(struct ctx *c, struct json_object *e, const char *s,
			  void *arg)
{
	struct mcp_walk *w = arg;
	const unsigned char *p;

	if (!*s)
		return ctx_fail(c, -EINVAL, "a key pattern may not be empty");
	if (strlen(s) > POLICY_NAME_MAX)
		return ctx_fail(c, -EINVAL, "longer than %d bytes",
				POLICY_NAME_MAX);
	for (p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return ctx_fail(c, -EINVAL,
					"a key pattern may not hold control characters");
	if (w->prof->nredact == REDACT_MAX)
		return ctx_fail(c, -E2BIG, "more than %d key patterns",
				REDACT_MAX);
	return redact_add(w, c, s);
}

static int mcp_redact(struct ctx *c, const char *key, struct json_object *v,
		      void *arg)
{
	struct mcp_walk *w = arg;
	int err = expect_type(c, v, json_type_array);

	w->redact_given = true;
	return err ? err : walk_strings(c, v, redact_element, w);
}

int parse_mcp(struct ctx *c, const char *key, struct json_object *v,
	      void *arg)
{
	static const struct key_handler keys[] = {
		{ "serialize_calls", mcp_serialize, false },
		{ "arguments", mcp_arguments, false },
		{ "redact", mcp_redact, false },
		{ NULL },
	};
	struct mcp_walk w = { .prof = arg };
	size_t i;
	int err;

	err = walk_object(c, v, keys, WALK_DOCUMENT, &w);
	if (err)
		return err;
	if (w.redact_given && !w.prof->arguments_full)
		return ctx_fail(c, -EINVAL,
				"\"redact\" has no effect unless \"arguments\" is \"full\"");
	for (i = 0; w.prof->arguments_full && !w.redact_given &&
	     redact_default[i]; i++)
		if ((err = redact_add(&w, c, redact_default[i])))
			return err;
	return 0;
}
