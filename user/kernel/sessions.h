/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's side of the MCP session pages (mcpwarden.h): one for each
 * server the wrapper starts with an interposer, made here, put into the
 * pinned mw_sessions at a free slot, handed to the wrapper (its fd) and
 * mapped here too, to read the calls' details for the events. A new agent
 * adopts the pages it finds in the pinned map; a page goes when its
 * server's root exits. A slot used again gets another generation, which
 * the hooks compare, so a late child of the old server never reads the
 * new one's calls.
 */
#ifndef MW_SESSIONS_H
#define MW_SESSIONS_H

#include <stdbool.h>
#include <linux/types.h>
#include "mcpwarden.h"

#define SESSION_TRACK_MAX	MW_CALL_LOG	/* calls reported begun, not yet ended */

/* The calls of a session whose start the agent reported, not yet the end. */
struct session_open {
	__u32 number;
	__u64 denies;			/* deny and kill events naming it */
};

struct session {
	int fd;				/* the page's map */
	__u32 gen;
	struct mw_session *page;	/* mapped; NULL: the slot is free */
	bool args;			/* the arguments' slots follow it */
	struct mw_server server;	/* whose (calls zero) */
	__u32 reported;			/* calls 1..reported: start written */
	__u32 nopen;
	struct session_open *open;	/* SESSION_TRACK_MAX of them */
	__u64 lost;			/* calls the log no longer held */
};

/*
 * A call's start (@end false) or end, for its event; @unfinished: the
 * server's root exited with the call open.
 */
typedef void (*session_call_fn)(void *arg, const struct session *s,
				const struct mw_call *c, bool end,
				__u64 denies, bool unfinished);

struct sessions {
	int outer;			/* mw_sessions */
	__u32 next_gen;
	unsigned int used;
	struct session slot[MW_SESSIONS_MAX];
};

/* Pages of pinned map @outer, none adopted yet. A zeroed one closes. */
int sessions_init(struct sessions *ss, int outer);
/*
 * A page for the server rooted at @pid (started @start), with the slots
 * of its calls' arguments if @args: its session id into *@session and a
 * new fd of its map into *@fd (the caller's, to hand over). -ENOSPC when
 * every slot is taken.
 */
int sessions_new(struct sessions *ss, const struct mw_server *server,
		 bool args, __u32 *session, int *fd);
/*
 * The page of @server's session, which an earlier agent made (a tracked
 * process names it): mapped, its running calls followed. 0, or -errno.
 */
int sessions_adopt(struct sessions *ss, const struct mw_server *server);
/*
 * The calls of @session (0: of every session) that began, or ended by
 * @horizon (CLOCK_BOOTTIME: every record of the ring up to it has been
 * read, so every deny of the call counted), since the last scan, to @fn,
 * in order; what the log lost meanwhile is added to *@lost.
 */
void sessions_scan(struct sessions *ss, __u32 session, __u64 horizon,
		   session_call_fn fn, void *arg, __u64 *lost);
/* @count deny or kill decisions named call @number of @session. */
void sessions_count_deny(struct sessions *ss, __u32 session, __u32 number,
			 __u64 count);
/* The page of @session, NULL if it is none of ours (or gone). */
const struct mw_session *sessions_page(const struct sessions *ss,
				       __u32 session);
/*
 * The root of @session's server exited: what its page still tells is
 * scanned (open calls end unfinished), then the page goes.
 */
void sessions_end(struct sessions *ss, __u32 session, session_call_fn fn,
		  void *arg, __u64 *lost);
/*
 * Each page's flags (MW_SESSION_*) to what @fn says of its session: the
 * interposer reads them at each call, so a reload changes them at once.
 */
void sessions_flags(struct sessions *ss,
		    __u32 (*fn)(void *arg, const struct session *s),
		    void *arg);
void sessions_close(struct sessions *ss);

#endif /* MW_SESSIONS_H */
