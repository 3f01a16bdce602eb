// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kernel/calls.h"
#include "lib/time.h"
#include "wrapper/session.h"


bool session_writer_open(struct session_writer *w, int fd)
{
	void *p;

	memset(w, 0, sizeof(*w));
	p = session_page_map(fd, &w->args);
	close(fd);
	if (p == MAP_FAILED)
		return false;
	w->page = p;
	return true;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	memset(dst + n, 0, size - n);
}

static void inflight_publish(struct session_writer *w)
{
	__u32 nums[MW_CALLS_INFLIGHT];
	unsigned int i;

	for (i = 0; i < w->n && i < MW_CALLS_INFLIGHT; i++)
		nums[i] = w->open[i].number;
	session_inflight_set(w->page, nums, w->n);
}

static void call_begin(struct session_writer *w, const struct rpc_msg *m)
{
	struct mw_call c = {};

	c.number = __atomic_load_n(&w->page->started, __ATOMIC_RELAXED) + 1;
	if (!c.number)
		c.number = 1;	/* 2^32 calls later: 0 means none */
	c.start_ns = time_boot_ns();
	c.flags = (m->id_is_str ? MW_CALL_ID_STR : 0) |
		  (m->id_cut || strlen(m->id) >= sizeof(c.id) ? MW_CALL_ID_CUT : 0) |
		  (m->has_arguments ? MW_CALL_ARGS : 0) |
		  (!m->tool[0] || strlen(m->tool) >= sizeof(c.tool) ?
		   MW_CALL_TOOL_CUT : 0);
	copy_str(c.id, sizeof(c.id), m->id);
	copy_str(c.tool, sizeof(c.tool), m->tool);
	memcpy(c.args_sha256, m->arguments_sha256, sizeof(c.args_sha256));
	/* Before the call is in the log: the agent finds them with it. */
	if (m->args && session_args_on(w)) {
		session_args_put(w->page, c.number, m->args, m->args_len,
				 m->args_flags);
		c.flags |= MW_CALL_ARGS_TEXT;
	}
	session_call_put(w->page, &c);
	__atomic_store_n(&w->page->started, c.number, __ATOMIC_RELEASE);
	if (w->n == SESSION_OPEN_MAX)
		return;		/* counted in the log, never ended there */
	w->open[w->n++] = c;
	inflight_publish(w);
}

/* The open call whose id is @id (and a string id as @is_str). */
static int call_find(const struct session_writer *w, const char *id,
		     bool is_str)
{
	unsigned int i;

	for (i = 0; i < w->n; i++)
		/* The id as kept: a longer one matches by what fits. */
		if (!!(w->open[i].flags & MW_CALL_ID_STR) == is_str &&
		    !strncmp(w->open[i].id, id, sizeof(w->open[i].id) - 1))
			return i;
	return -1;
}

static void call_end(struct session_writer *w, int i, __u32 flags)
{
	struct mw_call c = w->open[i];

	/* Out of the list first: a decision from here on is not the call's. */
	memmove(&w->open[i], &w->open[i + 1], (w->n - i - 1) * sizeof(c));
	w->n--;
	inflight_publish(w);
	c.end_ns = time_boot_ns();
	c.flags |= MW_CALL_ENDED | flags;
	/* Its place in the log taken by a newer call: that one stays. */
	if (__atomic_load_n(&w->page->started, __ATOMIC_RELAXED) - c.number <
	    MW_CALL_LOG)
		session_call_put(w->page, &c);
}

bool session_serial(const struct session_writer *w)
{
	return w->page && (__atomic_load_n(&w->page->flags, __ATOMIC_RELAXED) &
			   MW_SESSION_SERIAL);
}

bool session_args_on(const struct session_writer *w)
{
	return w->page && w->args &&
	       (__atomic_load_n(&w->page->flags, __ATOMIC_RELAXED) &
		MW_SESSION_ARGS);
}

void session_on_msg(void *arg, enum interpose_dir dir, const struct rpc_msg *m)
{
	struct session_writer *w = arg;
	int i;

	if (!w->page)
		return;
	if (dir == FROM_CLIENT && rpc_is(m, RPC_REQUEST, "initialize")) {
		copy_str(w->page->client, sizeof(w->page->client), m->client);
		copy_str(w->page->client_version,
			 sizeof(w->page->client_version), m->client_version);
	} else if (dir == FROM_CLIENT && rpc_is(m, RPC_REQUEST, "tools/call")) {
		call_begin(w, m);
	} else if (dir == FROM_CLIENT &&
		   rpc_is(m, RPC_NOTIFICATION, "notifications/cancelled") &&
		   (i = call_find(w, m->request_id, m->request_id_is_str)) >= 0) {
		call_end(w, i, MW_CALL_CANCELLED);
	} else if (dir == FROM_SERVER && m->kind == RPC_RESPONSE &&
		   (i = call_find(w, m->id, m->id_is_str)) >= 0) {
		call_end(w, i, (m->error ? MW_CALL_ERROR : 0) |
			       (m->is_error ? MW_CALL_IS_ERROR : 0));
	}
}
