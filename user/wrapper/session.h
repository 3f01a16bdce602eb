/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the interposer writes into its server's MCP session page
 * (mcpwarden.h, struct mw_session) from the messages that pass: the
 * client's name at initialize, each tools/call as it goes to the server
 * (in the log and the inflight list, before its bytes are written on), its
 * end when its response comes back or the client cancels it. The hooks
 * read the inflight list at every decision of the server's tree.
 */
#ifndef MW_WRAPPER_SESSION_H
#define MW_WRAPPER_SESSION_H

#include "mcpwarden.h"
#include "wrapper/interpose.h"

#define SESSION_OPEN_MAX	64	/* calls followed at once; more run untold */

struct session_writer {
	struct mw_session *page;	/* NULL: no page, nothing to write */
	bool args;			/* mapped with the arguments' slots */
	unsigned int n;			/* open calls */
	struct mw_call open[SESSION_OPEN_MAX];	/* oldest first */
};

/* Map the page of map fd @fd (closed); false if it cannot be. */
bool session_writer_open(struct session_writer *w, int fd);
/* mcp.serialize_calls is asked for (the agent sets it, a reload too). */
bool session_serial(const struct session_writer *w);
/* mcp.arguments "full" is, and the page has the slots for them. */
bool session_args_on(const struct session_writer *w);
/* An interpose_msg_fn, @arg the writer. */
void session_on_msg(void *arg, enum interpose_dir dir,
		    const struct rpc_msg *m);

#endif /* MW_WRAPPER_SESSION_H */
