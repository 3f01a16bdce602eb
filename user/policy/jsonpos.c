// SPDX-License-Identifier: GPL-2.0-only
/*
 * A read-only JSON scanner for error positions. It never trusts its input:
 * every read is bounds-checked, nesting is capped, and any surprise ends the
 * scan with the best position found so far.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/jsonpos.h"

#define JSCAN_DEPTH	128

struct jscan {
	const char *s;
	size_t len;
	size_t pos;
};

void jpath_push_key(struct jpath *p, const char *key)
{
	if (p->depth >= 0 && p->depth < JPATH_MAX) {
		p->e[p->depth].key = key;
		p->e[p->depth].index = 0;
	}
	p->depth++;
}

void jpath_push_index(struct jpath *p, long index)
{
	if (p->depth >= 0 && p->depth < JPATH_MAX) {
		p->e[p->depth].key = NULL;
		p->e[p->depth].index = index;
	}
	p->depth++;
}

void jpath_pop(struct jpath *p)
{
	if (p->depth > 0)
		p->depth--;
}

/* Append @s to buf[*off..len) with unprintable bytes as '?'. */
static void jpath_append(char *buf, size_t len, size_t *off, const char *s)
{
	for (; *s && *off + 1 < len; s++) {
		unsigned char c = (unsigned char)*s;

		buf[(*off)++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[*off] = '\0';
}

void jpath_format(const struct jpath *p, char *buf, size_t len)
{
	char num[32];
	size_t off = 0;
	int i, n;

	if (!len)
		return;
	buf[0] = '\0';
	if (p->depth <= 0) {
		jpath_append(buf, len, &off, "(top level)");
		return;
	}
	n = p->depth < JPATH_MAX ? p->depth : JPATH_MAX;
	for (i = 0; i < n; i++) {
		if (p->e[i].key) {
			if (i)
				jpath_append(buf, len, &off, ".");
			jpath_append(buf, len, &off, p->e[i].key);
		} else {
			snprintf(num, sizeof(num), "[%ld]", p->e[i].index);
			jpath_append(buf, len, &off, num);
		}
	}
	if (p->depth > JPATH_MAX)
		jpath_append(buf, len, &off, "...");
}

unsigned long jsonpos_offset_line(const char *text, size_t len, size_t off)
{
	unsigned long line = 1;
	size_t i;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static void jscan_ws(struct jscan *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->pos++;
	}
}

static int jscan_peek(const struct jscan *sc)
{
	return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at s[pos..]; -1 if not. */
static long jscan_hex4(const struct jscan *sc, size_t pos)
{
	long v = 0;
	int i, h;

	if (pos + 4 > sc->len)
		return -1;
	for (i = 0; i < 4; i++) {
		h = hexval(sc->s[pos + i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The string at sc->pos (a '"'): decoded into a new NUL-terminated buffer in
 * *out (if @out), its decoded length in *outlen. Moves past the closing quote.
 */
static int jscan_string(struct jscan *sc, char **out, size_t *outlen)
{
	size_t start, end, i, n = 0;
	char *buf = NULL;

	if (jscan_peek(sc) != '"')
		return -EINVAL;
	start = ++sc->pos;
	for (end = start; end < sc->len && sc->s[end] != '"'; end++)
		if (sc->s[end] == '\\')
			end++;
	if (end >= sc->len)
		return -EINVAL;
	sc->pos = end + 1;
	if (!out)
		return 0;
	/* Decoding never makes a string longer. */
	buf = malloc(end - start + 1);
	if (!buf)
		return -ENOMEM;
	for (i = start; i < end; i++) {
		char c = sc->s[i];
		long cp, lo;

		if (c != '\\') {
			buf[n++] = c;
			continue;
		}
		c = sc->s[++i];	/* i < end: the scan above skipped it */
		switch (c) {
		case 'b': buf[n++] = '\b'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'r': buf[n++] = '\r'; break;
		case 't': buf[n++] = '\t'; break;
		case 'u':
			cp = jscan_hex4(sc, i + 1);
			if (cp < 0 || i + 5 > end)
				goto bad;
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < end &&
			    sc->s[i + 1] == '\\' && sc->s[i + 2] == 'u') {
				lo = jscan_hex4(sc, i + 3);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					     (lo - 0xdc00);
					i += 6;
				}
			}
			n += utf8_put(buf + n, (unsigned long)cp);
			break;
		default:
			buf[n++] = c;
			break;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/*
 * Past the '{' or '[' at sc->pos: 0 if @close follows at once (and past it
 * too), 1 if a member or an element does.
 */
static int jscan_open(struct jscan *sc, int close)
{
	sc->pos++;
	jscan_ws(sc);
	if (jscan_peek(sc) != close)
		return 1;
	sc->pos++;
	return 0;
}

/* After a member or an element: 1 past a ',', 0 past @close, or -EINVAL. */
static int jscan_next(struct jscan *sc, int close)
{
	jscan_ws(sc);
	if (jscan_peek(sc) == ',') {
		sc->pos++;
		return 1;
	}
	if (jscan_peek(sc) != close)
		return -EINVAL;
	sc->pos++;
	return 0;
}

/* A member's key and its ':'; the key decoded in *name if @name. */
static int jscan_key(struct jscan *sc, char **name, size_t *len)
{
	int err;

	jscan_ws(sc);
	err = jscan_string(sc, name, len);
	if (err)
		return err;
	jscan_ws(sc);
	if (jscan_peek(sc) == ':') {
		sc->pos++;
		return 0;
	}
	if (name)
		free(*name);
	return -EINVAL;
}

static bool jscan_word(const struct jscan *sc, const char *w)
{
	size_t n = strlen(w);

	return sc->len - sc->pos >= n && !memcmp(sc->s + sc->pos, w, n);
}

/* Skip the value at sc->pos (after whitespace). */
static int jscan_skip(struct jscan *sc, int depth)
{
	int c, close, more, err;
	size_t start;

	jscan_ws(sc);
	c = jscan_peek(sc);
	if (c < 0 || depth > JSCAN_DEPTH)
		return -EINVAL;
	if (c == '"')
		return jscan_string(sc, NULL, NULL);
	if (c == '{' || c == '[') {
		close = c == '{' ? '}' : ']';
		for (more = jscan_open(sc, close); more > 0;
		     more = jscan_next(sc, close)) {
			err = c == '{' ? jscan_key(sc, NULL, NULL) : 0;
			if (!err)
				err = jscan_skip(sc, depth + 1);
			if (err)
				return err;
		}
		return more;
	}
	/* A literal or a number: up to the next delimiter. */
	start = sc->pos;
	if (c != '-' && (c < '0' || c > '9') &&
	    !jscan_word(sc, "true") && !jscan_word(sc, "false") &&
	    !jscan_word(sc, "null"))
		return -EINVAL;
	while (sc->pos < sc->len) {
		c = (unsigned char)sc->s[sc->pos];
		if (c == ',' || c == '}' || c == ']' || c == ' ' ||
		    c == '\t' || c == '\n' || c == '\r' || c == '"' ||
		    c == '{' || c == '[' || c == ':')
			break;
		sc->pos++;
	}
	return sc->pos > start ? 0 : -EINVAL;
}

/* Move to the value of member @key of the object at sc->pos; 0 if found. */
static int jscan_member(struct jscan *sc, const char *key)
{
	size_t klen = strlen(key), n;
	char *name;
	bool match;
	int err;

	jscan_ws(sc);
	if (jscan_peek(sc) != '{')
		return -EINVAL;
	sc->pos++;
	for (;;) {
		err = jscan_key(sc, &name, &n);
		if (err)
			return err;
		match = n == klen && !memcmp(name, key, n);
		free(name);
		jscan_ws(sc);
		if (match)
			return 0;
		err = jscan_skip(sc, 0);
		if (err)
			return err;
		if (jscan_next(sc, '}') != 1)
			return -ENOENT;
	}
}

/* Move to element @index of the array at sc->pos; 0 if found. */
static int jscan_element(struct jscan *sc, long index)
{
	long i;
	int err;

	jscan_ws(sc);
	if (jscan_peek(sc) != '[')
		return -EINVAL;
	sc->pos++;
	jscan_ws(sc);
	if (jscan_peek(sc) == ']')
		return -ENOENT;
	for (i = 0; i < index; i++) {
		err = jscan_skip(sc, 0);
		if (err)
			return err;
		if (jscan_next(sc, ']') != 1)
			return -ENOENT;
	}
	jscan_ws(sc);
	return 0;
}

unsigned long jsonpos_line(const char *text, size_t len,
			   const struct jpath *path)
{
	struct jscan sc = { .s = text, .len = len };
	size_t best;
	int i, n, err;

	if (!text)
		return 1;
	jscan_ws(&sc);
	best = sc.pos;
	n = path->depth < JPATH_MAX ? path->depth : JPATH_MAX;
	for (i = 0; i < n; i++) {
		if (path->e[i].key)
			err = jscan_member(&sc, path->e[i].key);
		else
			err = jscan_element(&sc, path->e[i].index);
		if (err)
			break;
		best = sc.pos;
	}
	return jsonpos_offset_line(text, len, best);
}

struct jkey {
	char *name;
	size_t len;
	size_t off;		/* where the key starts */
};

struct jdup {
	struct jscan sc;
	struct jpath path;
	char *out_path;
	size_t pathlen;
	char *out_key;
	size_t keylen;
	unsigned long line;
};

static int jkey_cmp(const void *a, const void *b)
{
	const struct jkey *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->name, y->name, n);

	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int jdup_value(struct jdup *d, int depth);

static void jdup_report(struct jdup *d, const struct jkey *k)
{
	jpath_format(&d->path, d->out_path, d->pathlen);
	snprintf(d->out_key, d->keylen, "%s", k->name);
	d->line = jsonpos_offset_line(d->sc.s, d->sc.len, k->off);
}

static int jdup_object(struct jdup *d, int depth)
{
	struct jscan *sc = &d->sc;
	struct jkey *keys = NULL, *k;
	size_t nkeys = 0, cap = 0, i;
	int err = 0, more;

	for (more = jscan_open(sc, '}'); more > 0; more = jscan_next(sc, '}')) {
		if (nkeys == cap) {
			size_t ncap = cap ? cap * 2 : 8;

			k = realloc(keys, ncap * sizeof(*k));
			if (!k) {
				err = -ENOMEM;
				goto out;
			}
			keys = k;
			cap = ncap;
		}
		jscan_ws(sc);
		k = &keys[nkeys];
		k->off = sc->pos;
		err = jscan_key(sc, &k->name, &k->len);
		if (err)
			goto out;
		nkeys++;
		jpath_push_key(&d->path, k->name);
		err = jdup_value(d, depth + 1);
		jpath_pop(&d->path);
		if (err)
			goto out;
	}
	err = more;
	if (err || nkeys < 2)
		goto out;
	qsort(keys, nkeys, sizeof(*keys), jkey_cmp);
	for (i = 1; i < nkeys; i++) {
		if (keys[i].len == keys[i - 1].len &&
		    !memcmp(keys[i].name, keys[i - 1].name, keys[i].len)) {
			jdup_report(d, &keys[i]);
			err = 1;
			break;
		}
	}
out:
	for (i = 0; i < nkeys; i++)
		free(keys[i].name);
	free(keys);
	return err;
}

static int jdup_value(struct jdup *d, int depth)
{
	struct jscan *sc = &d->sc;
	long index = 0;
	int err, more;

	jscan_ws(sc);
	if (depth > JSCAN_DEPTH)
		return -EINVAL;
	if (jscan_peek(sc) == '{')
		return jdup_object(d, depth);
	if (jscan_peek(sc) != '[')
		return jscan_skip(sc, depth);
	for (more = jscan_open(sc, ']'); more > 0; more = jscan_next(sc, ']')) {
		jpath_push_index(&d->path, index++);
		err = jdup_value(d, depth + 1);
		jpath_pop(&d->path);
		if (err)
			return err;
	}
	return more;
}

int jsonpos_find_dup(const char *text, size_t len, char *path, size_t pathlen,
		     char *key, size_t keylen, unsigned long *line)
{
	struct jdup d = {
		.sc = { .s = text, .len = len },
		.out_path = path,
		.pathlen = pathlen,
		.out_key = key,
		.keylen = keylen,
	};
	int err;

	if (!text)
		return 0;
	err = jdup_value(&d, 0);
	if (err == 1)
		*line = d.line;
	if (!err) {
		jscan_ws(&d.sc);
		if (d.sc.pos < len)
			err = -EINVAL;
	}
	if (err == -EINVAL)
		*line = jsonpos_offset_line(text, len, d.sc.pos);
	return err;
}
