/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside policy/ only: the state of one parse, its one-line messages, the
 * JSON type checks, and the walkers that visit an object's members or an
 * array's elements with the JSON path kept right, so that every error names
 * the value it is about ("source:line: json.path: reason").
 */
#ifndef MW_POLICY_WALK_H
#define MW_POLICY_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "lib/cidr.h"
#include "policy/jsonpos.h"
#include "policy/policy.h"

#define POLICY_NAME_MAX		63
#define POLICY_PATTERN_MAX	(MW_PATTERN_MAX - 1)
#define POLICY_RULE_IDS		MW_RULE_IDS_MAX
#define POLICY_CGROUPS_MAX	(MW_CGROUPS_MAX / 2)
#define POLICY_PREFIXES_MAX	(MW_NET_RULES_MAX / 2)
#define POLICY_QUOTE_MAX	64
#define POLICY_LINE_MAX		POLICY_ERR_MAX
/* A buffer for quote(): the string cut at POLICY_QUOTE_MAX, "...", quotes. */
#define QUOTE_BUF		(POLICY_QUOTE_MAX + 8)

struct uset {				/* a set from the top-level "sets" */
	const char *name;		/* borrowed from the document */
	struct cidr *cidrs;
	size_t n, cap;
	bool used;
};

struct seen {				/* a detect pattern or cgroup, once */
	const char *what;		/* borrowed */
	char where[128];		/* its path, for the duplicate's message */
};

struct ctx {
	const char *text;
	size_t len;
	const char *source;
	const struct policy_env *env;	/* never NULL */
	const char *cgroup_root;	/* env's, or the default */
	char *err;
	size_t errlen;
	void (*warn_cb)(const char *msg, void *arg);
	void *warn_arg;

	struct jpath path;		/* of the value being checked */
	struct policy *p;

	struct uset *usets;
	size_t nusets, usets_cap;

	struct jpath *items;		/* the path of each rule id */
	size_t items_cap;
	size_t rule_names_cap;

	struct seen detect[MW_DETECT_MAX];
	size_t ndetect;
	struct seen *cgroups;
	size_t ncgroups;
	size_t nprefixes;
};

/*
 * Messages, "source:line: json.path: reason". The errors go to c->err and
 * return their errno, to be written `return ctx_fail(c, -EINVAL, ...)`.
 */

/* @s as a double-quoted string, unprintable bytes as '?', long ones cut. */
const char *quote(const char *s, char *buf, size_t len);
/* "a string", "an array": what @o is, for "expected X, got Y". */
const char *json_type_desc(struct json_object *o);
/* An error about the value at c->path. */
__attribute__((format(printf, 3, 4)))
int ctx_fail(struct ctx *c, int err, const char *fmt, ...);
/*
 * An error about the name of the member at c->path (a bad set or profile
 * name): the line of the member, the path of the object holding it.
 */
__attribute__((format(printf, 2, 3)))
int ctx_fail_name(struct ctx *c, const char *fmt, ...);
/* A warning about the value at @where (a rule's item), to c->warn_cb. */
__attribute__((format(printf, 3, 4)))
void ctx_warn_at(struct ctx *c, const struct jpath *where, const char *fmt,
		 ...);
/* "source: out of memory": no path, none is needed to fix it. */
int ctx_nomem(struct ctx *c);

/* Values */

int expect_type(struct ctx *c, struct json_object *o, enum json_type t);
/* A string without NUL bytes inside: what every string value must be. */
int get_string(struct ctx *c, struct json_object *o, const char **s);
struct enum_name {
	const char *name;	/* NULL: the end of the table */
	__u8 value;
};

/* One of @names: its value in *ret, else an error listing them in order. */
int get_enum(struct ctx *c, struct json_object *o,
	     const struct enum_name *names, __u8 *ret);
/* @name, the member at c->path, as a set or profile name (@what). */
int check_name(struct ctx *c, const char *name, const char *what);
/* @s as a path rule's: absolute, shorter than PATH_MAX. */
int check_abs_path(struct ctx *c, const char *s);
/* "allow" makes @list an allowlist of @what: one that may not be empty. */
int check_allowlist(struct ctx *c, struct json_object *list,
		    const char *what, bool *allowlist);
/* The action of the list called @key: "allow", "deny" or "audit". */
__u8 list_action(const char *key);
/* @ptr with room for element @n of @size bytes: *cap doubles, NULL if not. */
void *grow(void *ptr, size_t *cap, size_t n, size_t size);
/* A rule id named after c->path and the string(s) @to: "path (a, b)". */
int new_rule_id(struct ctx *c, struct json_object *to, __u32 *id);

/* Walkers: each pushes the member's key or the element's index on c->path. */

struct key_handler {
	const char *key;	/* NULL: the end of the table */
	int (*fn)(struct ctx *c, const char *key, struct json_object *v,
		  void *arg);
	bool required;		/* missing: "required key is missing" */
};

enum walk_order {
	WALK_DOCUMENT,		/* the members as they stand in the text */
	WALK_TABLE,		/* the table's keys in the table's order */
};

/*
 * The object @obj: an object whose keys are all in @handlers (the first
 * unknown key in the document is the error), each member handed to its
 * handler in @order. The order decides which error a document with several
 * is told about first; a missing required key is found in its turn in the
 * table, or before any member in document order.
 */
int walk_object(struct ctx *c, struct json_object *obj,
		const struct key_handler *handlers, enum walk_order order,
		void *arg);
/* Every member of the object @obj, in document order, any key: a map. */
int walk_members(struct ctx *c, struct json_object *obj,
		 int (*fn)(struct ctx *c, const char *key,
			   struct json_object *v, void *arg),
		 void *arg);
/* Every element of the array @list. */
int walk_array(struct ctx *c, struct json_object *list,
	       int (*fn)(struct ctx *c, struct json_object *e, void *arg),
	       void *arg);
/* Every element of the array @list, each a string; @fn NULL: check only. */
int walk_strings(struct ctx *c, struct json_object *list,
		 int (*fn)(struct ctx *c, struct json_object *e, const char *s,
			   void *arg),
		 void *arg);

/*
 * The parts of a document, one file each, as key handlers. A profile's
 * parts take the struct profile as @arg.
 */

/* network.c: the top-level "sets", and a profile's "network" */
int parse_sets(struct ctx *c, const char *key, struct json_object *sets,
	       void *arg);
int parse_network(struct ctx *c, const char *key, struct json_object *net,
		  void *prof);
/* netlint.c: order the network rules, drop and warn of the dead ones */
int finalize_net(struct ctx *c, struct profile *prof, __u32 first_id);
int parse_fence_network(struct ctx *c, const char *key,
			struct json_object *net, struct profile *prof,
			__u32 *default_id);
/* "tools" and "idle", after the rest of @prof (tools.c). */
int parse_tool_fences(struct ctx *c, struct json_object *obj,
		      struct profile *prof);
/* mcp.c: a profile's "mcp" */
int parse_mcp(struct ctx *c, const char *key, struct json_object *mcp,
	      void *prof);
/* select.c: a profile's "select", and the top-level "launchers" */
int parse_select(struct ctx *c, const char *key, struct json_object *sel,
		 void *prof);
int parse_launchers(struct ctx *c, const char *key, struct json_object *list,
		    void *arg);
/* exec.c */
int parse_exec(struct ctx *c, const char *key, struct json_object *ex,
	       void *prof);
/* files.c: "files" and "unix" (@key), "syscalls" */
int parse_files(struct ctx *c, const char *key, struct json_object *obj,
		void *prof);
int parse_syscalls(struct ctx *c, const char *key, struct json_object *obj,
		   void *prof);

#endif /* MW_POLICY_WALK_H */
