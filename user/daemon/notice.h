/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_NOTICE_H
#define MW_NOTICE_H

#include <linux/types.h>
#include <stdbool.h>
#include "output/events.h"

#define NOTICE_SERVERS	256

/* The stderr of wrapped servers, held to say their refused execs on. */
struct notices {
	struct notice_slot {
		__u32 pid;		/* the server's root; 0: free */
		int fd;			/* a copy of its stderr */
		int pidfd;		/* the root: readable once it exited */
		unsigned int lines;
		__u64 exited_ns;	/* its exit seen, CLOCK_BOOTTIME; 0: alive */
		__u64 seq;
	} s[NOTICE_SERVERS];
	__u64 seq;
	bool waiting;		/* a slot's server exited: notice_settle() */
	/* The last lookup's answer: events come in runs of one server. */
	__u32 last_pid;
	struct notice_slot *last;	/* NULL: @last_pid has no slot */
};

void notices_init(struct notices *n);
/*
 * Wrapped server @pid started (@pidfd: the control peer's, or -1): hold
 * its stderr if it is a client's.
 */
void notice_track(struct notices *n, __u32 pid, int pidfd);
/*
 * Event @m, about to be written: a refused exec or open in a wrapped
 * server's tree is said in a line on the server's stderr. A server's exit
 * marks it @n->waiting, for notice_settle().
 */
void notice_event(struct notices *n, const struct event_meta *m);
/*
 * Let go of the stderr of servers that exited, at once unless the fence
 * owes records (@reports_owed: a refusal's record may come after the exit
 * of a server that gave up on it), then at most NOTICE_LINGER_NS later.
 * The client sees its end of the pipe close only then. @reports_owed is
 * read before the ring is drained, this is called after: a refusal's
 * record the fence no longer owed was in the ring, and is read.
 */
void notice_settle(struct notices *n, bool reports_owed);
/* Each tick: mark the servers whose exit event was lost (their pidfds). */
void notice_poll(struct notices *n);
void notices_free(struct notices *n);

#endif /* MW_NOTICE_H */
