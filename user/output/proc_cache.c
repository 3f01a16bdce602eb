// SPDX-License-Identifier: GPL-2.0-only
/*
 * exe and argv of the processes events name, by pid and start time: filled
 * from exec events and from /proc once per process, never per event.
 */
#include <errno.h>
#include <stdlib.h>
#include "mw_ident.h"
#include "output/proc_cache.h"

#define CACHE_BUCKETS	4096

struct proc_node {
	struct proc_info info;
	struct proc_node *next;
};

struct proc_cache {
	struct proc_node *b[CACHE_BUCKETS];
	size_t count;
};

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
			proc_info_clear(&n->info);
			free(n);
		}
	}
	free(c);
}

static struct proc_node **proc_cache_slot(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = &c->b[pid % CACHE_BUCKETS];

	while (*pp && (*pp)->info.pid != pid)
		pp = &(*pp)->next;
	return pp;
}

int proc_cache_put(struct proc_cache *c, __u32 pid, __u64 start_time,
		   char *exe, json_object *args)
{
	struct proc_node **pp = proc_cache_slot(c, pid), *n = *pp;

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			free(exe);
			if (args)
				json_object_put(args);
			return -ENOMEM;
		}
		n->info.pid = pid;
		*pp = n;
		c->count++;
	}
	proc_info_clear(&n->info);
	n->info.start_time = start_time;
	n->info.exe = exe;
	n->info.args = args;
	return 0;
}

const struct proc_info *proc_cache_get(struct proc_cache *c, __u32 pid,
				       __u64 start_time)
{
	struct proc_node *n = *proc_cache_slot(c, pid);

	if (!n || !mw_same_start(n->info.start_time, start_time))
		return NULL;
	return &n->info;
}

const struct proc_info *proc_cache_get_pid(struct proc_cache *c, __u32 pid)
{
	struct proc_node *n = *proc_cache_slot(c, pid);

	return n ? &n->info : NULL;
}

void proc_cache_del(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = proc_cache_slot(c, pid), *n = *pp;

	if (!n)
		return;
	*pp = n->next;
	proc_info_clear(&n->info);
	free(n);
	c->count--;
}

size_t proc_cache_count(const struct proc_cache *c)
{
	return c->count;
}
