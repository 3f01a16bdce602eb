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

#endif /* MW_CALLS_H */
