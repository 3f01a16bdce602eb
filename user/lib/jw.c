// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "lib/jsonstr.h"
#include "lib/jw.h"

static bool grow(struct jw *w, size_t n)
{
	size_t cap;
	char *b;

	if (w->oom)
		return false;
	for (cap = w->cap ? w->cap : 1024; cap < w->len + n; cap *= 2)
		;
	b = realloc(w->buf, cap);
	if (!b) {
		w->oom = true;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

static inline bool room(struct jw *w, size_t n)
{
	return w->len + n <= w->cap || grow(w, n);
}

static inline void put(struct jw *w, const char *s, size_t n)
{
	if (room(w, n)) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

static inline void putc_(struct jw *w, char c)
{
	if (room(w, 1))
		w->buf[w->len++] = c;
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->comma = false;
	w->oom = false;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	*w = (struct jw){};
}

/* ',' if a member precedes, then "key": for an object member. */
static inline void member(struct jw *w, const char *key)
{
	size_t k = key ? strlen(key) : 0;
	char *p;

	if (!room(w, k + 4))
		return;
	p = w->buf + w->len;
	if (w->comma)
		*p++ = ',';
	w->comma = true;
	if (key) {
		*p++ = '"';
		memcpy(p, key, k);
		p += k;
		*p++ = '"';
		*p++ = ':';
	}
	w->len = p - w->buf;
}

void jw_open(struct jw *w, const char *key, char bracket)
{
	member(w, key);
	putc_(w, bracket);
	w->comma = false;
}

void jw_close(struct jw *w, char bracket)
{
	putc_(w, bracket);
	w->comma = true;
}

/* Bytes a string cannot carry as they are: controls, '"', '\\', non-ASCII. */
static const bool special[256] = {
	[0 ... 0x1f] = true, ['"'] = true, ['\\'] = true, [0x80 ... 0xff] = true,
};

/* The escapes json-c writes; other control bytes as \u00XX. */
static void escaped(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run, seq;
	char e[6];

	/* Worst case six bytes for one: reserve once, write without checks. */
	if (!room(w, n * 6 + 2))
		return;
	w->buf[w->len++] = '"';
	while (i < n) {
		for (run = i; run < n && !special[u[run]]; run++)
			;
		memcpy(w->buf + w->len, s + i, run - i);
		w->len += run - i;
		if ((i = run) >= n)
			break;
		if (u[i] >= 0x80) {
			seq = utf8_seq_len(u + i, n - i);
			if (seq) {
				memcpy(w->buf + w->len, s + i, seq);
				w->len += seq;
				i += seq;
			} else {
				memcpy(w->buf + w->len, "\xef\xbf\xbd", 3);
				w->len += 3;
				i++;
			}
			continue;
		}
		e[0] = '\\';
		switch (u[i]) {
		case '"': e[1] = '"'; break;
		case '\\': e[1] = '\\'; break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default:
			memcpy(e + 1, "u00", 3);
			e[4] = hex[u[i] >> 4];
			e[5] = hex[u[i] & 15];
			memcpy(w->buf + w->len, e, 6);
			w->len += 6;
			i++;
			continue;
		}
		memcpy(w->buf + w->len, e, 2);
		w->len += 2;
		i++;
	}
	w->buf[w->len++] = '"';
}

const char *jw_cstr(struct jw *w)
{
	if (!room(w, 1))
		return NULL;
	w->buf[w->len] = 0;
	return w->buf;
}

void jw_strn(struct jw *w, const char *key, const char *s, size_t n)
{
	member(w, key);
	escaped(w, s, n);
}

void jw_safe(struct jw *w, const char *key, const char *s)
{
	size_t n;

	if (!s)
		return;
	n = strlen(s);
	member(w, key);
	if (!room(w, n + 2))
		return;
	w->buf[w->len++] = '"';
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len++] = '"';
}

void jw_str(struct jw *w, const char *key, const char *s)
{
	if (s)
		jw_strn(w, key, s, strlen(s));
}

void jw_int(struct jw *w, const char *key, __s64 v)
{
	char b[24], *p = b + sizeof(b);
	__u64 u = v < 0 ? -(__u64)v : (__u64)v;

	member(w, key);
	do
		*--p = '0' + u % 10;
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	put(w, p, b + sizeof(b) - p);
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	member(w, key);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_raw(struct jw *w, const char *key, const char *json, size_t n)
{
	member(w, key);
	put(w, json, n);
}

void jw_args(struct jw *w, const char *key, const char *buf, size_t len)
{
	size_t i = 0, start;

	jw_open(w, key, '[');
	while (i < len) {
		start = i;
		while (i < len && buf[i])
			i++;
		jw_strn(w, NULL, buf + start, i - start);
		i++;	/* the NUL */
	}
	jw_close(w, ']');
}

struct json_object *jw_parse(const struct jw *w)
{
	struct json_tokener *tok;
	json_object *o;

	if (w->oom || !w->len)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, w->buf, w->len);
	if (o && json_tokener_get_parse_end(tok) != w->len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}
