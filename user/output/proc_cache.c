// SPDX-License-Identifier: GPL-2.0-only
/*
 * exe and argv of the processes events name, by pid and start time: filled
 * from exec events and from /proc once per process, never per event.
 */
#include <errno.h>
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

struct proc_node {
	struct proc_entry e;
	struct proc_node *next;
};

struct proc_cache {
	struct proc_node *b[CACHE_BUCKETS];
	size_t count;
	struct {
		__u32 pid;
		__u64 start_time;
	} exited[CACHE_EXITED];
	size_t nexited;			/* exits so far; the ring's head */
};

static void entry_clear(struct proc_entry *e)
{
	free(e->exe);
	free(e->args);
	free(e->memo);
	e->exe = e->args = e->memo = NULL;
	e->args_len = e->memo_len = 0;
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
			entry_clear(&n->e);
			free(n);
		}
	}
	free(c);
}

static struct proc_node **proc_cache_slot(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = &c->b[pid % CACHE_BUCKETS];

	while (*pp && (*pp)->e.pid != pid)
		pp = &(*pp)->next;
	return pp;
}

static int put(struct proc_cache *c, __u32 pid, __u64 start_time, char *exe,
	       char *args, size_t args_len)
{
	struct proc_node **pp = proc_cache_slot(c, pid), *n = *pp;

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			free(exe);
			free(args);
			return -ENOMEM;
		}
		n->e.pid = pid;
		*pp = n;
		c->count++;
	}
	entry_clear(&n->e);
	n->e.start_time = start_time;
	n->e.exe = exe;
	n->e.args = args;
	n->e.args_len = args_len;
	return 0;
}

int proc_cache_put(struct proc_cache *c, __u32 pid, __u64 start_time,
		   char *exe, const char *argv, size_t argv_len)
{
	struct jw w = {};

	if (argv) {
		jw_args(&w, NULL, argv, argv_len);
		if (!jw_cstr(&w) || w.oom) {
			jw_free(&w);
			free(exe);
			return -ENOMEM;
		}
	}
	return put(c, pid, start_time, exe, w.buf, w.len);
}

int proc_cache_put_info(struct proc_cache *c, __u32 pid, __u64 start_time,
			struct proc_info *pi)
{
	const char *s = pi->args ? json_object_to_json_string_ext(pi->args,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
	char *args = s ? strdup(s) : NULL;
	char *exe = pi->exe;
	int ret;

	pi->exe = NULL;
	if (s && !args) {
		free(exe);
		proc_info_clear(pi);
		return -ENOMEM;
	}
	ret = put(c, pid, start_time, exe, args, args ? strlen(args) : 0);
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

void proc_cache_del(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = proc_cache_slot(c, pid), *n = *pp;

	if (!n)
		return;
	*pp = n->next;
	entry_clear(&n->e);
	free(n);
	c->count--;
}

void proc_cache_memo(struct proc_cache *c, const struct proc_entry *e,
		     const struct mw_process *p, bool truncated,
		     const char *json, size_t len)
{
	struct proc_node *n = *proc_cache_slot(c, e->pid);
	char *m;

	if (!n || &n->e != e || !(m = malloc(len)))
		return;
	memcpy(m, json, len);
	free(n->e.memo);
	n->e.memo = m;
	n->e.memo_len = len;
	n->e.memo_of = *p;
	n->e.memo_truncated = truncated;
}

void proc_cache_exit(struct proc_cache *c, __u32 pid, __u64 start_time)
{
	size_t i = c->nexited++ % CACHE_EXITED;
	const struct proc_entry *old;

	/* The oldest exit goes, unless its pid is another process's now. */
	if (c->nexited > CACHE_EXITED &&
	    (old = proc_cache_get(c, c->exited[i].pid, c->exited[i].start_time)))
		proc_cache_del(c, old->pid);
	c->exited[i].pid = pid;
	c->exited[i].start_time = start_time;
}

size_t proc_cache_count(const struct proc_cache *c)
{
	return c->count;
}
