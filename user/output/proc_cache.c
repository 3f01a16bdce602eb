// SPDX-License-Identifier: GPL-2.0-only
/*
 * exe and argv of the processes events name, by pid and start time: filled
 * from exec events and from /proc once per process, never per event.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "lib/jw.h"
#include "mw_ident.h"
#include "output/proc_cache.h"

#define CACHE_BUCKETS	4096
/*
 * Processes that exited stay this many exits longer: a summary of their
 * repeated decisions (docs/events.md) comes a window after their exit.
 */
#define CACHE_EXITED	4096

/* One allocation a process: the entry, then its exe and args' text. */
struct proc_node {
	struct proc_entry e;
	struct proc_node *next;
	char text[];
};

struct proc_cache {
	struct proc_node *b[CACHE_BUCKETS];
	size_t count;
	struct {
		__u32 pid;
		__u64 start_time;
	} exited[CACHE_EXITED];
	size_t nexited;			/* exits so far; the ring's head */
	struct jw args;			/* argv as JSON, before it is copied */
};

static void node_free(struct proc_node *n)
{
	free(n->e.memo);
	free(n);
}

struct proc_cache *proc_cache_new(void)
{
	return calloc(1, sizeof(struct proc_cache));
}

void proc_cache_free(struct proc_cache *c)
{
	struct proc_node *n, *next;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < CACHE_BUCKETS; i++) {
		for (n = c->b[i]; n; n = next) {
			next = n->next;
			node_free(n);
		}
	}
	jw_free(&c->args);
	free(c);
}

static struct proc_node **proc_cache_slot(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = &c->b[pid % CACHE_BUCKETS];

	while (*pp && (*pp)->e.pid != pid)
		pp = &(*pp)->next;
	return pp;
}

/* A new entry for @pid, in place of its older one if any. */
static int put(struct proc_cache *c, __u32 pid, __u64 start_time,
	       const char *exe, size_t exe_len, const char *args,
	       size_t args_len)
{
	struct proc_node **pp = proc_cache_slot(c, pid), *old = *pp, *n;
	size_t size = sizeof(*n) + (exe ? exe_len + 1 : 0) +
		      (args ? args_len + 1 : 0);
	char *t;

	n = malloc(size);
	if (!n)
		return -ENOMEM;
	memset(n, 0, sizeof(*n));
	n->e.pid = pid;
	n->e.start_time = start_time;
	t = n->text;
	if (exe) {
		n->e.exe = t;
		memcpy(t, exe, exe_len);
		t[exe_len] = 0;
		t += exe_len + 1;
	}
	if (args) {
		n->e.args = t;
		n->e.args_len = args_len;
		memcpy(t, args, args_len);
		t[args_len] = 0;
	}
	if (old) {
		n->next = old->next;
		node_free(old);
	} else {
		c->count++;
	}
	*pp = n;
	return 0;
}

int proc_cache_put(struct proc_cache *c, __u32 pid, __u64 start_time,
		   const char *exe, size_t exe_len, const char *argv,
		   size_t argv_len)
{
	if (!argv)
		return put(c, pid, start_time, exe, exe_len, NULL, 0);
	jw_reset(&c->args);
	jw_args(&c->args, NULL, argv, argv_len);
	if (c->args.oom)
		return -ENOMEM;
	return put(c, pid, start_time, exe, exe_len, c->args.buf,
		   c->args.len);
}

int proc_cache_put_info(struct proc_cache *c, __u32 pid, __u64 start_time,
			struct proc_info *pi)
{
	const char *s = pi->args ? json_object_to_json_string_ext(pi->args,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	int ret;

	ret = put(c, pid, start_time, pi->exe, pi->exe ? strlen(pi->exe) : 0,
		  s, s ? strlen(s) : 0);
	proc_info_clear(pi);
	return ret;
}

const struct proc_entry *proc_cache_get(struct proc_cache *c, __u32 pid,
					__u64 start_time)
{
	struct proc_node *n = *proc_cache_slot(c, pid);

	if (!n || !mw_same_start(n->e.start_time, start_time))
		return NULL;
	return &n->e;
}

const struct proc_entry *proc_cache_get_pid(struct proc_cache *c, __u32 pid)
{
	struct proc_node *n = *proc_cache_slot(c, pid);

	return n ? &n->e : NULL;
}

/* The node at *@pp out of its chain, and freed. */
static void node_unlink(struct proc_cache *c, struct proc_node **pp)
{
	struct proc_node *n = *pp;

	*pp = n->next;
	node_free(n);
	c->count--;
}

void proc_cache_del(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = proc_cache_slot(c, pid);

	if (*pp)
		node_unlink(c, pp);
}

void proc_cache_memo(const struct proc_entry *e, const struct mw_process *p,
		     bool truncated, const char *json, size_t len)
{
	/* @e is an entry of ours (proc_cache_get()): no lookup again. */
	struct proc_node *n = (struct proc_node *)((char *)e -
						   offsetof(struct proc_node, e));
	char *m;

	/* A thread's object, a process's: of about the same length. */
	if (!(m = realloc(n->e.memo, len)))
		return;
	memcpy(m, json, len);
	n->e.memo = m;
	n->e.memo_len = len;
	n->e.memo_of = *p;
	n->e.memo_truncated = truncated;
}

void proc_cache_exit(struct proc_cache *c, __u32 pid, __u64 start_time)
{
	size_t i = c->nexited++ % CACHE_EXITED;
	struct proc_node **pp, *n;

	/* The oldest exit goes, unless its pid is another process's now. */
	if (c->nexited > CACHE_EXITED) {
		pp = proc_cache_slot(c, c->exited[i].pid);
		if ((n = *pp) &&
		    mw_same_start(n->e.start_time, c->exited[i].start_time))
			node_unlink(c, pp);
	}
	c->exited[i].pid = pid;
	c->exited[i].start_time = start_time;
}

size_t proc_cache_count(const struct proc_cache *c)
{
	return c->count;
}
