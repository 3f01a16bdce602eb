/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mcp.serialize_calls: while a tool call runs, the interposer holds the
 * client's next tools/call requests back, whole lines in arrival order,
 * and passes the first on when no call runs any more, so that the kernel
 * sees one call at a time and every event's attribution is exact. Only
 * tools/call requests wait: everything else the client sends (responses
 * to the server's own requests, notifications, other requests) goes on at
 * once, so a server that asks the client something during a call does not
 * wait forever. A held call the client cancels is dropped (the cancel
 * goes on, for a call the server never saw). Memory is bounded: at most
 * SERIAL_HELD_MAX calls and SERIAL_BYTES_MAX bytes wait (and the kept
 * arguments of each, fewer bytes than its line). A call that does
 * not fit (a line longer than the interposer's buffer, or past the
 * bounds) runs at once, with the others: its events are ambiguous, as
 * without the option. The client is read on whatever waits: its answer to
 * a question of the running call's is never stuck behind held calls.
 */
#ifndef MW_WRAPPER_SERIAL_H
#define MW_WRAPPER_SERIAL_H
#include <stdbool.h>
#include <stddef.h>
#include "wrapper/jsonrpc.h"

#define SERIAL_HELD_MAX		64
#define SERIAL_BYTES_MAX	(1 << 20)

struct serial_call {
	struct rpc_msg m;	/* as scanned: begun in the page when passed on */
	char *bytes;		/* the line, its newline too */
	size_t n;
	char *args;		/* m.args' copy, or NULL */
};

struct serial {
	struct serial_call q[SERIAL_HELD_MAX];	/* ring, oldest at head */
	unsigned int head, n;
	size_t bytes;
	/* The call passed on last: written before anything else. */
	char *out, *out_args;
	size_t out_head, out_len;
};

/* Calls waiting, or the last one's bytes not all written. */
bool serial_busy(const struct serial *s);
/* Hold @m, whose line is @b (@n bytes); false if it does not fit. */
bool serial_hold(struct serial *s, const struct rpc_msg *m, const char *b,
		 size_t n);
/* Drop the held call of id @id (@is_str: a string id); true if one was. */
bool serial_cancel(struct serial *s, const char *id, bool is_str);
/*
 * The oldest held call, passed on: its message into *@m (its args valid
 * until the next call), its bytes to be written (serial_out()); false if
 * none waits or the last is not written.
 */
bool serial_next(struct serial *s, struct rpc_msg *m);
/* The passed-on bytes left to write: *@n of them, or NULL. */
const char *serial_out(const struct serial *s, size_t *n);
/* @n of them written. */
void serial_wrote(struct serial *s, size_t n);
/* Everything dropped and freed (the server is gone). */
void serial_clear(struct serial *s);
#endif /* MW_WRAPPER_SERIAL_H */
