// SPDX-License-Identifier: GPL-2.0-only
#include <fnmatch.h>
#include <math.h>
#include <string.h>
#include "output/arguments.h"

static bool redacted_key(const char *key, char *const *redact, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!fnmatch(redact[i], key, FNM_CASEFOLD))
			return true;
	return false;
}

/*
 * Every value under @o whose key matches: replaced. The tokener bounds
 * depth. False if a number is NaN or infinite (JSON has none: json-c
 * reads them, and would write them back).
 */
static bool redact_walk(json_object *o, char *const *redact, size_t n,
			unsigned int *count)
{
	size_t i, len;

	if (json_object_is_type(o, json_type_double))
		return isfinite(json_object_get_double(o));
	if (json_object_is_type(o, json_type_array)) {
		len = json_object_array_length(o);
		for (i = 0; i < len; i++)
			if (!redact_walk(json_object_array_get_idx(o, i),
					 redact, n, count))
				return false;
		return true;
	}
	if (!json_object_is_type(o, json_type_object))
		return true;
	json_object_object_foreach(o, key, v) {
		if (!redacted_key(key, redact, n)) {
			if (!redact_walk(v, redact, n, count))
				return false;
			continue;
		}
		/* The key's entry keeps its place: the walk goes on. */
		json_object_object_add(o, key,
				       json_object_new_string(ARGS_REDACTED));
		(*count)++;
	}
	return true;
}

void call_args_build(struct call_args *a, const struct mw_call_args *raw,
		     char *const *redact, size_t n)
{
	struct json_tokener *tok;
	bool ok;

	memset(a, 0, sizeof(*a));
	if (!raw) {
		a->omitted = "lost";
		return;
	}
	a->truncated = raw->flags & MW_ARGS_CUT;
	if (raw->flags & MW_ARGS_OVER) {
		a->omitted = "too_large";
		return;
	}
	a->omitted = "not_json";
	tok = json_tokener_new_ex(ARGS_DEPTH_MAX);
	if (!tok)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* With its NUL: a number at the end ends there. */
	a->obj = json_tokener_parse_ex(tok, raw->text, (int)raw->len + 1);
	ok = json_tokener_get_error(tok) == json_tokener_success &&
	     json_tokener_get_parse_end(tok) == raw->len;
	json_tokener_free(tok);
	/* All of it one value: a text cut in the middle is none. */
	if (!ok) {
		json_object_put(a->obj);
		a->obj = NULL;
		return;
	}
	if (!a->obj) {
		a->json = "null";
		a->len = 4;
		a->omitted = NULL;
		return;
	}
	if (!redact_walk(a->obj, redact, n, &a->redacted)) {
		json_object_put(a->obj);
		a->obj = NULL;
		a->redacted = 0;
		return;
	}
	a->json = json_object_to_json_string_length(a->obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
		&a->len);
	if (a->json)
		a->omitted = NULL;
}

void call_args_release(struct call_args *a)
{
	json_object_put(a->obj);
	memset(a, 0, sizeof(*a));
}
