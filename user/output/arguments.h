/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tool call's arguments for its start event (mcp.arguments "full",
 * docs/events.md): the text the interposer kept, parsed (json-c, as deep
 * as ARGS_DEPTH_MAX), the value of every object key that matches a
 * pattern of mcp.redact (fnmatch(3), any case) replaced by "[redacted]",
 * written back compact. The text comes from the user's side of the page:
 * it is bounded, and what does not parse is left out, never passed on.
 */
#ifndef MW_OUTPUT_ARGUMENTS_H
#define MW_OUTPUT_ARGUMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "mcpwarden.h"

/* Within an event, inside json-c's default depth (32) of its readers. */
#define ARGS_DEPTH_MAX	24
#define ARGS_REDACTED	"[redacted]"

struct call_args {
	const char *json;	/* the arguments, redacted; NULL: see omitted */
	size_t len;
	const char *omitted;	/* why none: "too_large", "lost", "not_json" */
	bool truncated;		/* strings were cut short (MW_ARGS_CUT) */
	unsigned int redacted;	/* values replaced */
	json_object *obj;	/* json's owner */
};

/*
 * @a from @raw, the slot as read (NULL: it held another call's by then),
 * redacted by the @n patterns of @redact; call_args_release() after.
 */
void call_args_build(struct call_args *a, const struct mw_call_args *raw,
		     char *const *redact, size_t n);
void call_args_release(struct call_args *a);

#endif /* MW_OUTPUT_ARGUMENTS_H */
