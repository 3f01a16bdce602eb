// SPDX-License-Identifier: GPL-2.0-only
/*
 * A tool call's arguments for its start event (output/arguments.c): the
 * values of the keys mcp.redact names replaced wherever they are, any
 * case; what is not whole JSON left out, with the reason; and the
 * policy's mcp.arguments and mcp.redact, with the default list.
 */
#include <stdlib.h>
#include <string.h>
#include "output/arguments.h"
#include "policy/policy.h"
#include "unit.h"

static struct mw_call_args *raw_of(const char *text, __u32 flags)
{
	struct mw_call_args *r = calloc(1, sizeof(*r));

	r->number = 1;
	r->len = strlen(text);
	r->flags = flags;
	memcpy(r->text, text, r->len);
	return r;
}

UNIT_TEST(keys_redacted_at_any_depth_and_case)
{
	char *const redact[] = { "*token*", "*api_key*", "password" };
	struct mw_call_args *r = raw_of(
		"{\"path\":\"/srv/a\",\"Token\":\"t0p\",\"auth\":{\"X_API_KEY\":\"k3y\","
		"\"list\":[{\"password\":\"pw\",\"passwords\":\"kept\"}]},"
		"\"secret_token\":{\"nested\":\"n3st\"}}", 0);
	struct call_args a;

	call_args_build(&a, r, redact, 3);
	CHECK(a.json && !a.omitted && !a.truncated);
	CHECK(a.redacted == 4);
	CHECK_STR(a.json, "{\"path\":\"/srv/a\",\"Token\":\"[redacted]\","
		  "\"auth\":{\"X_API_KEY\":\"[redacted]\",\"list\":[{\"password\":"
		  "\"[redacted]\",\"passwords\":\"kept\"}]},\"secret_token\":"
		  "\"[redacted]\"}");
	CHECK(!strstr(a.json, "t0p") && !strstr(a.json, "k3y") &&
	      !strstr(a.json, "\"pw\"") && !strstr(a.json, "n3st"));
	call_args_release(&a);
	free(r);
}

/* Keys as json-c decodes them: escapes, repeats, and keys cut short. */
UNIT_TEST(no_key_spelling_gets_past)
{
	char *const redact[] = { "*token" };
	char text[1024], key[300];
	struct mw_call_args *r;
	struct call_args a;

	r = raw_of("{\"api_to\\u006Ben\":\"e1\",\"token\":\"d1\",\"token\":\"d2\","
		   "\"TOKEN\":[\"u1\"]}", 0);
	call_args_build(&a, r, redact, 1);
	CHECK(a.json && !strstr(a.json, "e1") && !strstr(a.json, "d1") &&
	      !strstr(a.json, "d2") && !strstr(a.json, "u1"));
	call_args_release(&a);
	free(r);
	/* The interposer keeps keys whole: a long one still ends in _token. */
	memset(key, 'k', 280);
	strcpy(key + 280, "_token");
	snprintf(text, sizeof(text), "{\"%s\":\"c1\",\"short\":\"kept\"}", key);
	r = raw_of(text, 0);
	call_args_build(&a, r, redact, 1);
	CHECK(a.json && !strstr(a.json, "c1") && strstr(a.json, "kept") &&
	      a.redacted == 1);
	call_args_release(&a);
	call_args_build(&a, r, NULL, 0);	/* redact []: nothing hidden */
	CHECK(a.json && strstr(a.json, "c1") && !a.redacted);
	call_args_release(&a);
	free(r);
}

UNIT_TEST(what_is_not_whole_json_is_left_out)
{
	static const struct { const char *text; __u32 flags; const char *omitted; }
	cases[] = {
		{ "{\"a\":", 0, "not_json" },
		{ "{\"a\":1} x", 0, "not_json" },
		{ "{\"a\":1}{}", 0, "not_json" },
		{ "{\"a\":[1,NaN]}", 0, "not_json" },
		{ "{\"a\":-Infinity}", 0, "not_json" },
		{ "", 0, "not_json" },
		{ "", MW_ARGS_OVER, "too_large" },
		{ "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		  0, "not_json" },	/* deeper than ARGS_DEPTH_MAX */
	};
	struct mw_call_args *r;
	struct call_args a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = raw_of(cases[i].text, cases[i].flags);
		call_args_build(&a, r, NULL, 0);
		CHECK(!a.json);
		CHECK(a.omitted && !strcmp(a.omitted, cases[i].omitted));
		call_args_release(&a);
		free(r);
	}
	call_args_build(&a, NULL, NULL, 0);
	CHECK(!a.json && a.omitted && !strcmp(a.omitted, "lost"));
	call_args_release(&a);
	r = raw_of("[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]", 0);	/* 24 deep */
	call_args_build(&a, r, NULL, 0);
	CHECK(a.json != NULL);
	call_args_release(&a);
	free(r);
	r = raw_of("null", 0);
	call_args_build(&a, r, NULL, 0);
	CHECK(a.json && !strcmp(a.json, "null"));
	call_args_release(&a);
	free(r);
	r = raw_of("{\"content\":\"cut sh\"}", MW_ARGS_CUT);
	call_args_build(&a, r, NULL, 0);
	CHECK(a.json && a.truncated && !a.redacted);
	CHECK_STR(a.json, "{\"content\":\"cut sh\"}");
	call_args_release(&a);
	free(r);
}

static const struct profile *parsed(const char *mcp, struct policy **p)
{
	char text[512], err[POLICY_ERR_MAX];

	snprintf(text, sizeof(text),
		 "{\"version\":1,\"profiles\":{\"default\":{\"mcp\":%s}}}", mcp);
	*p = NULL;
	if (policy_parse(text, strlen(text), "test.json", NULL, err,
			 sizeof(err), NULL, NULL, p))
		return NULL;
	return policy_profile(*p, "default");
}

UNIT_TEST(the_policy_says_which_and_redacts_by_default)
{
	const struct profile *pr;
	struct policy *p;
	size_t i;
	bool token = false;

	pr = parsed("{}", &p);
	CHECK(pr && !pr->arguments_full && !pr->nredact);
	policy_free(p);
	pr = parsed("{\"arguments\":\"full\"}", &p);
	CHECK(pr && pr->arguments_full && pr->nredact >= 8);
	for (i = 0; pr && i < pr->nredact; i++)
		token |= !strcmp(pr->redact[i], "*token*");
	CHECK(token);
	policy_free(p);
	pr = parsed("{\"arguments\":\"full\",\"redact\":[]}", &p);
	CHECK(pr && pr->arguments_full && !pr->nredact);	/* none, as asked */
	policy_free(p);
	pr = parsed("{\"redact\":[\"x\"],\"arguments\":\"full\"}", &p);
	CHECK(pr && pr->nredact == 1 && !strcmp(pr->redact[0], "x"));
	policy_free(p);
}

UNIT_MAIN("arguments")
