// SPDX-License-Identifier: GPL-2.0-only
/*
 * The messages, type checks and walkers every part of the parser uses. The
 * walkers are the one place that keeps c->path right: a handler sees the
 * path of the value it is given, and leaves it so on error (the message is
 * written at once, the path is not used again).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/walk.h"

/* Messages */

const char *json_type_desc(struct json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:	return "null";
	case json_type_boolean:	return "a boolean";
	case json_type_double:	return "a number";
	case json_type_int:	return "an integer";
	case json_type_object:	return "an object";
	case json_type_array:	return "an array";
	case json_type_string:	return "a string";
	}
	return "something else";
}

const char *quote(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	if (len < 8) {
		if (len)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; s[i] && o + 5 < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i == POLICY_QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		buf[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/*
 * "source:line: path: msg" for @where into @out; the path shown cut to
 * @path_depth elements if that is >= 0.
 */
static void ctx_vformat(const struct ctx *c, const struct jpath *where,
			int path_depth, char *out, size_t outlen,
			const char *fmt, va_list ap)
{
	char path[256], msg[POLICY_LINE_MAX];
	struct jpath shown = *where;
	unsigned long line;
	size_t i;

	line = jsonpos_line(c->text, c->len, where);
	if (path_depth >= 0 && path_depth < shown.depth)
		shown.depth = path_depth;
	jpath_format(&shown, path, sizeof(path));
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(out, outlen, "%s:%lu: %s: %s", c->source, line, path, msg);
	for (i = 0; out[i]; i++)	/* one line, whatever the input */
		if (out[i] == '\n' || out[i] == '\r')
			out[i] = ' ';
}

int ctx_fail(struct ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx_vformat(c, &c->path, -1, c->err, c->errlen, fmt, ap);
	va_end(ap);
	return err;
}

int ctx_fail_name(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx_vformat(c, &c->path, c->path.depth - 1, c->err, c->errlen, fmt,
		    ap);
	va_end(ap);
	return -EINVAL;
}

void ctx_warn_at(struct ctx *c, const struct jpath *where, const char *fmt,
		 ...)
{
	char msg[POLICY_LINE_MAX];
	va_list ap;

	if (!c->warn_cb)
		return;
	va_start(ap, fmt);
	ctx_vformat(c, where, -1, msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->warn_cb(msg, c->warn_arg);
}

int ctx_nomem(struct ctx *c)
{
	snprintf(c->err, c->errlen, "%s: out of memory", c->source);
	return -ENOMEM;
}

/* Values */

int expect_type(struct ctx *c, struct json_object *o, enum json_type t)
{
	static const char *const want[] = {
		[json_type_boolean] = "a boolean",
		[json_type_int] = "an integer",
		[json_type_object] = "an object",
		[json_type_array] = "an array",
		[json_type_string] = "a string",
	};

	if (json_object_is_type(o, t))
		return 0;
	return ctx_fail(c, -EINVAL, "expected %s, got %s", want[t],
			json_type_desc(o));
}

int get_string(struct ctx *c, struct json_object *o, const char **s)
{
	int err = expect_type(c, o, json_type_string);

	if (err)
		return err;
	*s = json_object_get_string(o);
	if (strlen(*s) != (size_t)json_object_get_string_len(o))
		return ctx_fail(c, -EINVAL, "string contains a NUL character");
	return 0;
}

int get_enum(struct ctx *c, struct json_object *o,
	     const struct enum_name *names, __u8 *ret)
{
	char q[QUOTE_BUF], list[128] = "";
	const char *s;
	size_t off = 0;
	int err, i;

	err = get_string(c, o, &s);
	if (err)
		return err;
	for (i = 0; names[i].name; i++) {
		if (!strcmp(s, names[i].name)) {
			*ret = names[i].value;
			return 0;
		}
		off += snprintf(list + off, sizeof(list) - off, "%s\"%s\"",
				i ? ", " : "", names[i].name);
		if (off >= sizeof(list))
			break;
	}
	return ctx_fail(c, -EINVAL, "%s is not one of %s",
			quote(s, q, sizeof(q)), list);
}

static bool name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > POLICY_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		      ch == '-'))
			return false;
	}
	return true;
}

int check_abs_path(struct ctx *c, const char *s)
{
	char q[QUOTE_BUF];

	if (s[0] != '/')
		return ctx_fail(c, -EINVAL, "%s is not an absolute path",
				quote(s, q, sizeof(q)));
	if (strlen(s) >= PATH_MAX)
		return ctx_fail(c, -EINVAL, "path longer than %d bytes",
				PATH_MAX - 1);
	return 0;
}

int check_name(struct ctx *c, const char *name, const char *what)
{
	char q[QUOTE_BUF];

	if (name_valid(name))
		return 0;
	return ctx_fail_name(c, "%s is not a valid %s name ([A-Za-z0-9_.-], 1..%d characters)",
			     quote(name, q, sizeof(q)), what, POLICY_NAME_MAX);
}

int check_allowlist(struct ctx *c, struct json_object *list,
		    const char *what, bool *allowlist)
{
	*allowlist = true;
	if (json_object_array_length(list))
		return 0;
	return ctx_fail(c, -EINVAL,
			"an empty allow list would forbid every %s; leave \"allow\" out to allow all",
			what);
}

__u8 list_action(const char *key)
{
	return !strcmp(key, "allow") ? MW_ACTION_ALLOW :
	       !strcmp(key, "deny") ? MW_ACTION_DENY : MW_ACTION_AUDIT;
}

void *grow(void *ptr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return ptr;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(ptr, ncap * size);
	if (p)
		*cap = ncap;
	return p;
}

/* "path (a, b)": the name of the rule at c->path on the string(s) @to. */
static void rule_name(const struct ctx *c, struct json_object *to,
		      char *name, size_t len)
{
	char path[256], q[QUOTE_BUF];
	struct json_object *e;
	const char *s;
	size_t off, i, n;

	jpath_format(&c->path, path, sizeof(path));
	off = (size_t)snprintf(name, len, "%s (", path);
	n = json_object_is_type(to, json_type_array) ?
	    json_object_array_length(to) : 1;
	for (i = 0; i < n && off < len; i++) {
		e = json_object_is_type(to, json_type_array) ?
		    json_object_array_get_idx(to, i) : to;
		/*
		 * syscalls.deny names its rule before its elements are
		 * checked: a null among them is told about right after.
		 */
		s = json_object_get_string(e);
		quote(s ? s : "null", q, sizeof(q));
		q[strlen(q) - 1] = '\0';	/* the name unquoted */
		off += (size_t)snprintf(name + off, len - off, "%s%s",
					i ? ", " : "", q + 1);
	}
	if (off < len)
		snprintf(name + off, len - off, ")");
}

int new_rule_id(struct ctx *c, struct json_object *to, __u32 *id)
{
	char name[POLICY_LINE_MAX];
	struct policy *p = c->p;
	char **names;
	void *items;

	if (p->nrule_names >= POLICY_RULE_IDS)
		return ctx_fail(c, -EINVAL,
				"more than %d rules in the policy",
				POLICY_RULE_IDS);
	rule_name(c, to, name, sizeof(name));
	names = grow(p->rule_names, &c->rule_names_cap, p->nrule_names,
		     sizeof(*names));
	if (!names)
		return ctx_nomem(c);
	p->rule_names = names;
	items = grow(c->items, &c->items_cap, p->nrule_names,
		     sizeof(*c->items));
	if (!items)
		return ctx_nomem(c);
	c->items = items;
	names[p->nrule_names] = strdup(name);
	if (!names[p->nrule_names])
		return ctx_nomem(c);
	c->items[p->nrule_names] = c->path;
	*id = (__u32)p->nrule_names++;
	return 0;
}

/* Walkers */

static const struct key_handler *handler_of(const struct key_handler *h,
					    const char *key)
{
	for (; h->key; h++)
		if (!strcmp(h->key, key))
			return h;
	return NULL;
}

/* The first key of @obj, in document order, that @h does not know. */
static int check_keys(struct ctx *c, struct json_object *obj,
		      const struct key_handler *h)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);
	const char *key;

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		if (!handler_of(h, key)) {
			jpath_push_key(&c->path, key);
			return ctx_fail(c, -EINVAL, "unknown key");
		}
	}
	return 0;
}

/* The member @key of @obj, if there is one, to @h; @v NULL is JSON null. */
static int walk_key(struct ctx *c, struct json_object *obj,
		    const struct key_handler *h, void *arg)
{
	struct json_object *v;
	int err;

	if (!json_object_object_get_ex(obj, h->key, &v)) {
		if (!h->required)
			return 0;
		jpath_push_key(&c->path, h->key);
		return ctx_fail(c, -EINVAL, "required key is missing");
	}
	jpath_push_key(&c->path, h->key);
	err = h->fn(c, h->key, v, arg);
	if (!err)
		jpath_pop(&c->path);
	return err;
}

/* The members of the object @obj in document order, without a type check. */
static int each_member(struct ctx *c, struct json_object *obj,
		       int (*fn)(struct ctx *c, const char *key,
				 struct json_object *v, void *arg),
		       void *arg)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);
	const char *key;
	int err;

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		key = json_object_iter_peek_name(&it);
		jpath_push_key(&c->path, key);
		err = fn(c, key, json_object_iter_peek_value(&it), arg);
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

struct dispatch {
	const struct key_handler *handlers;
	void *arg;
};

static int dispatch(struct ctx *c, const char *key, struct json_object *v,
		    void *arg)
{
	const struct dispatch *d = arg;

	return handler_of(d->handlers, key)->fn(c, key, v, d->arg);
}

int walk_object(struct ctx *c, struct json_object *obj,
		const struct key_handler *handlers, enum walk_order order,
		void *arg)
{
	struct dispatch d = { .handlers = handlers, .arg = arg };
	const struct key_handler *h;
	int err;

	err = expect_type(c, obj, json_type_object);
	if (!err)
		err = check_keys(c, obj, handlers);
	for (h = handlers; !err && h->key; h++) {
		if (order == WALK_TABLE)
			err = walk_key(c, obj, h, arg);
		else if (h->required && !json_object_object_get_ex(obj, h->key,
								    NULL))
			err = walk_key(c, obj, h, arg);	/* the error */
	}
	if (err || order == WALK_TABLE)
		return err;
	return each_member(c, obj, dispatch, &d);
}

int walk_members(struct ctx *c, struct json_object *obj,
		 int (*fn)(struct ctx *c, const char *key,
			   struct json_object *v, void *arg),
		 void *arg)
{
	int err = expect_type(c, obj, json_type_object);

	return err ? err : each_member(c, obj, fn, arg);
}

int walk_array(struct ctx *c, struct json_object *list,
	       int (*fn)(struct ctx *c, struct json_object *e, void *arg),
	       void *arg)
{
	size_t i;
	int err;

	err = expect_type(c, list, json_type_array);
	if (err)
		return err;
	for (i = 0; i < json_object_array_length(list); i++) {
		jpath_push_index(&c->path, (long)i);
		err = fn(c, json_object_array_get_idx(list, i), arg);
		if (err)
			return err;
		jpath_pop(&c->path);
	}
	return 0;
}

struct strings {
	int (*fn)(struct ctx *c, struct json_object *e, const char *s,
		  void *arg);
	void *arg;
};

static int string_element(struct ctx *c, struct json_object *e, void *arg)
{
	const struct strings *w = arg;
	const char *s;
	int err;

	err = get_string(c, e, &s);
	if (err || !w->fn)
		return err;
	return w->fn(c, e, s, w->arg);
}

int walk_strings(struct ctx *c, struct json_object *list,
		 int (*fn)(struct ctx *c, struct json_object *e, const char *s,
			   void *arg),
		 void *arg)
{
	struct strings w = { .fn = fn, .arg = arg };

	return walk_array(c, list, string_element, &w);
}
