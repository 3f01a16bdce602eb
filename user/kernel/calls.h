/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The log of an MCP session page (mcpwarden.h, struct mw_session): the
 * interposer writes a call's entry and the inflight list between two
 * increments of their seq (odd meanwhile); the agent reads a consistent
 * copy. One writer per page, any number of readers.
 */
#ifndef MW_CALLS_H
#define MW_CALLS_H

#include <stdbool.h>
#include "mcpwarden.h"

/* What an mmap of a page takes: its value, to whole pages. */
#define SESSION_PAGE_BYTES	((sizeof(struct mw_session) + 4095) & ~(size_t)4095)
/* ... and of a page with the arguments' slots, each an entry of its map. */
#define SESSION_ARGS_BYTES	(((1 + MW_ARGS_SLOTS) * sizeof(struct mw_session) + \
				  4095) & ~(size_t)4095)

/* What a mapping of a page takes, with its arguments' slots or not. */
#define SESSION_MAP_BYTES(args)	((args) ? SESSION_ARGS_BYTES : SESSION_PAGE_BYTES)

_Static_assert(sizeof(struct mw_call_args) <= sizeof(struct mw_session),
	       "an arguments slot is an entry of the page's map");
_Static_assert(sizeof(struct mw_session) % 8 == 0,
	       "entries of an array map are 8-byte aligned");

/*
 * Map the page of map fd @fd read-write, with its arguments' slots if its
 * map has them (*@args): MAP_FAILED if it cannot be mapped at all.
 */
void *session_page_map(int fd, bool *args);
/*
 * A consistent copy of call @number of @page into @out: false if the log
 * no longer holds it (MW_CALL_LOG calls began since).
 */
bool session_call(const struct mw_session *page, __u32 number,
		  struct mw_call *out);
/*
 * The calls @page runs now into @out, as the hooks read them
 * (bpf/lib/calls.bpf.h): none if @page is not @session's generation.
 */
void session_calls_read(const struct mw_session *page, __u32 session,
			struct mw_calls *out);
/* The writer's side: @c into its place in @page's log. */
void session_call_put(struct mw_session *page, const struct mw_call *c);
/* The writer's side: @page's inflight list becomes @n numbers of @calls. */
void session_inflight_set(struct mw_session *page, const __u32 *calls,
			  __u32 n);

/*
 * The arguments of call @number, from the slots that follow @page in a
 * mapping of SESSION_ARGS_BYTES, into @out (its text NUL-terminated):
 * false if the slot holds another call's by now.
 */
bool session_args(const struct mw_session *page, __u32 number,
		  struct mw_call_args *out);
/* The writer's side: @len bytes of @text (@flags) as call @number's. */
void session_args_put(struct mw_session *page, __u32 number,
		      const char *text, size_t len, __u32 flags);

#endif /* MW_CALLS_H */
