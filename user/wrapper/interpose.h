/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The stdio interposer of `mcpwarden exec`: the process the client
 * started stays between the client and the server, which it forks. The
 * client's stdin and stdout stay the interposer's; the server gets a pipe
 * for each, and every byte passes unchanged, in both directions, as soon
 * as it is read, while the JSON-RPC scanner (jsonrpc.h) reads along. Each
 * direction has its own bounded buffer, so neither waits on the other, and
 * the interposer's memory is the same whatever passes.
 *
 * The server is the tracked one (it asks to be, after the fork), not the
 * interposer: the server's profile does not apply to it, and the server's
 * user cannot ptrace it (it is not dumpable). Signals the client sends it
 * go on to the server (a terminal's reach both already); the server dies
 * with it (PR_SET_PDEATHSIG). When the server exits, what it wrote is
 * written out, then the interposer exits with the server's status: the
 * client sees the end of the output before the exit, as without it.
 */
#ifndef MW_INTERPOSE_H
#define MW_INTERPOSE_H

#include <sys/types.h>
#include "wrapper/jsonrpc.h"

#define INTERPOSE_BUF	65536	/* per direction */

enum interpose_dir { FROM_CLIENT, FROM_SERVER };

/* Called with each message that passes, in the interposer. */
typedef void (*interpose_msg_fn)(void *arg, enum interpose_dir dir,
				 const struct rpc_msg *m);

/*
 * Fork the server: returns 0 in it, with fds 0 and 1 its pipes and in
 * *@session the socket on which it hands over its session page
 * (interpose_give()); in the caller's process, relays until the server is
 * gone and exits with its status (never returns). -errno, stdio
 * untouched, if it cannot.
 */
int interpose_fork(int *session);
/*
 * In the server, before it execs: the page's map fd @fd from the agent
 * (or -1: none) to the interposer, which passes no byte of the client's
 * on before it has the answer. Closes @session.
 */
void interpose_give(int session, int fd);

#endif /* MW_INTERPOSE_H */
