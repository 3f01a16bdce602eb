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

bool jw_grow(struct jw *w, size_t n);

static inline bool jw_room(struct jw *w, size_t n)
{
	return w->len + n <= w->cap || jw_grow(w, n);
}

/*
 * ',' if a member precedes, then "key": (none for NULL, an array's
 * element). Inline at each writer's call, so that a literal key's copy
 * is a constant's: the values are written out of line, by jw_*_v().
 */
static inline void jw_member(struct jw *w, const char *key)
{
	size_t k = key ? __builtin_strlen(key) : 0;
	char *p;

	if (!jw_room(w, k + 4))
		return;
	p = w->buf + w->len;
	if (w->comma)
		*p++ = ',';
	w->comma = true;
	if (key) {
		*p++ = '"';
		__builtin_memcpy(p, key, k);
		p += k;
		*p++ = '"';
		*p++ = ':';
	}
	w->len = p - w->buf;
}

void jw_open_v(struct jw *w, char bracket);
void jw_strn_v(struct jw *w, const char *s, size_t n);
void jw_safe_v(struct jw *w, const char *s, size_t n);
void jw_int_v(struct jw *w, __s64 v);
void jw_raw_v(struct jw *w, const char *json, size_t n);
void jw_args_v(struct jw *w, const char *buf, size_t len);

/* An object or array, the member @key of the enclosing object (or NULL). */
static inline void jw_open(struct jw *w, const char *key, char bracket)
{
	jw_member(w, key);
	jw_open_v(w, bracket);
}

void jw_close(struct jw *w, char bracket);

static inline void jw_strn(struct jw *w, const char *key, const char *s,
			   size_t n)
{
	jw_member(w, key);
	jw_strn_v(w, s, n);
}

/* NULL: no member. */
static inline void jw_str(struct jw *w, const char *key, const char *s)
{
	if (s)
		jw_strn(w, key, s, __builtin_strlen(s));
}

/*
 * A string the caller made and knows needs no escape (ASCII, no control,
 * quote or backslash): a time, an address, a name from a fixed table.
 * NULL: no member.
 */
static inline void jw_safe(struct jw *w, const char *key, const char *s)
{
	if (!s)
		return;
	jw_member(w, key);
	jw_safe_v(w, s, __builtin_strlen(s));
}

static inline void jw_int(struct jw *w, const char *key, __s64 v)
{
	jw_member(w, key);
	jw_int_v(w, v);
}

/* @json is a whole JSON value already written (a cached argv array). */
static inline void jw_raw(struct jw *w, const char *key, const char *json,
			  size_t n)
{
	jw_member(w, key);
	jw_raw_v(w, json, n);
}

static inline void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_raw(w, key, v ? "true" : "false", v ? 4 : 5);
}

/* The buffer with a NUL after the line (not counted), or NULL. */
const char *jw_cstr(struct jw *w);
/* The line as a json-c object (the slow path: OCSF, tests), or NULL. */
struct json_object *jw_parse(const struct jw *w);

/* NUL-separated argv bytes as an array of strings. */
static inline void jw_args(struct jw *w, const char *key, const char *buf,
			   size_t len)
{
	jw_member(w, key);
	jw_args_v(w, buf, len);
}

#endif /* MW_JW_H */
