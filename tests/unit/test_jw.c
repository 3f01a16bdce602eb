// SPDX-License-Identifier: GPL-2.0-only
/*
 * The JSON writer of the event path (lib/jw.c) prints what json-c prints
 * for the same members: strings of any bytes, numbers, nesting.
 */
#include <stdlib.h>
#include <string.h>
#include "lib/jsonstr.h"
#include "lib/jw.h"
#include "unit.h"

static const char *jsonc(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

UNIT_TEST(strings_as_json_c)
{
	unsigned int seed = 1, i, k;
	char s[64];
	size_t n;

	for (i = 0; i < 20000; i++) {
		struct jw w = {};
		json_object *o = json_object_new_object();

		n = rand_r(&seed) % sizeof(s);
		for (k = 0; k < n; k++) {
			/* Mostly the bytes that need care: controls, quotes, UTF-8. */
			unsigned int r = rand_r(&seed);

			s[k] = r % 4 ? (char)(r >> 8) : "a\"\\/\n\x01\xc3\xa9"[r % 8];
		}
		json_object_object_add(o, "k", json_string_bytes(s, n));
		jw_open(&w, NULL, '{');
		jw_strn(&w, "k", s, n);
		jw_close(&w, '}');
		CHECK(jw_cstr(&w) != NULL);
		CHECK_STR(w.buf, jsonc(o));
		json_object_put(o);
		jw_free(&w);
	}
}

UNIT_TEST(members_and_numbers)
{
	struct jw w = {};
	json_object *o;

	jw_open(&w, NULL, '{');
	jw_int(&w, "a", 0);
	jw_int(&w, "b", -9223372036854775807LL - 1);
	jw_int(&w, "c", 18446744073709551615ULL >> 1);
	jw_bool(&w, "d", true);
	jw_open(&w, "e", '[');
	jw_open(&w, NULL, '{');
	jw_close(&w, '}');
	jw_str(&w, NULL, "x");
	jw_close(&w, ']');
	jw_str(&w, "absent", NULL);
	jw_args(&w, "args", "node\0\xff\0", 7);
	jw_raw(&w, "raw", "[1]", 3);
	jw_close(&w, '}');
	CHECK(jw_cstr(&w) != NULL);
	CHECK_STR(w.buf, "{\"a\":0,\"b\":-9223372036854775808,"
			 "\"c\":9223372036854775807,\"d\":true,\"e\":[{},\"x\"],"
			 "\"args\":[\"node\",\"\xef\xbf\xbd\"],\"raw\":[1]}");
	o = jw_parse(&w);
	CHECK(o != NULL);
	json_object_put(o);
	w.len--;		/* a truncated line is not an event */
	CHECK(jw_parse(&w) == NULL);
	jw_free(&w);
}
UNIT_MAIN("jw")
