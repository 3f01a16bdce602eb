/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A JSON writer: one line appended into a growing buffer, members in the
 * order they are written, no tree. What json-c's serializer would print for
 * the same members (JSON_C_TO_STRING_PLAIN | NOSLASHESCAPE), at a tenth of
 * the cost: the event path (output/events.c) writes every line with it.
 * Strings are bytes from the kernel: invalid UTF-8 becomes U+FFFD.
 */
#ifndef MW_JW_H
#define MW_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct jw {
	char *buf;
	size_t len, cap;
	bool comma;		/* a member precedes: write ',' first */
	bool oom;		/* an allocation failed: the line is void */
};

void jw_reset(struct jw *w);
void jw_free(struct jw *w);
/* An object or array, the member @key of the enclosing object (or NULL). */
void jw_open(struct jw *w, const char *key, char bracket);
void jw_close(struct jw *w, char bracket);
void jw_strn(struct jw *w, const char *key, const char *s, size_t n);
void jw_str(struct jw *w, const char *key, const char *s);	/* NULL: none */
/*
 * A string the caller made and knows needs no escape (ASCII, no control,
 * quote or backslash): a time, an address, a name from a fixed table.
 */
void jw_safe(struct jw *w, const char *key, const char *s);
void jw_int(struct jw *w, const char *key, __s64 v);
void jw_bool(struct jw *w, const char *key, bool v);
/* @json is a whole JSON value already written (a cached argv array). */
void jw_raw(struct jw *w, const char *key, const char *json, size_t n);
/* The buffer with a NUL after the line (not counted), or NULL. */
const char *jw_cstr(struct jw *w);
/* The line as a json-c object (the slow path: OCSF, tests), or NULL. */
struct json_object *jw_parse(const struct jw *w);
/* NUL-separated argv bytes as an array of strings. */
void jw_args(struct jw *w, const char *key, const char *buf, size_t len);

#endif /* MW_JW_H */
