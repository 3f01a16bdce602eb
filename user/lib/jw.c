// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "lib/digits.h"
#include "lib/jsonstr.h"
#include "lib/jw.h"

bool jw_grow(struct jw *w, size_t n)
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

void jw_raw_v(struct jw *w, const char *s, size_t n)
{
	if (jw_room(w, n)) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

static inline void putc_(struct jw *w, char c)
{
	if (jw_room(w, 1))
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

void jw_open_v(struct jw *w, char bracket)
{
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
void jw_strn_v(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run, seq;
	char e[6];

	/* Worst case six bytes for one: reserve once, write without checks. */
	if (!jw_room(w, n * 6 + 2))
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
	if (!jw_room(w, 1))
		return NULL;
	w->buf[w->len] = 0;
	return w->buf;
}

void jw_safe_v(struct jw *w, const char *s, size_t n)
{
	if (!jw_room(w, n + 2))
		return;
	w->buf[w->len++] = '"';
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len++] = '"';
}

void jw_int_v(struct jw *w, __s64 v)
{
	static const __u64 pow10[19] = {
		1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
		1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 10000000000000000000ULL,
	};
	__u64 u = v < 0 ? -(__u64)v : (__u64)v;
	size_t d = 1, n;
	char *p;

	while (d < 20 && u >= pow10[d - 1])
		d++;
	n = d + (v < 0);
	if (!jw_room(w, n))
		return;
	/* Backwards from the last digit, straight into the line. */
	w->len += n;
	p = w->buf + w->len;
	while (u >= 100) {
		p -= 2;
		memcpy(p, mw_digits2 + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, mw_digits2 + 2 * u, 2);
	} else {
		*--p = '0' + u;
	}
	if (v < 0)
		*--p = '-';
}

void jw_args_v(struct jw *w, const char *buf, size_t len)
{
	size_t i = 0, start;

	jw_open_v(w, '[');
	while (i < len) {
		start = i;
		while (i < len && buf[i])
			i++;
		jw_member(w, NULL);
		jw_strn_v(w, buf + start, i - start);
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
