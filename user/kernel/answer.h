/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Answering fanotify permission requests (kernels without BPF-LSM): the
 * verdict from the pinned maps alone (tracked processes, the active
 * generation's profiles and inode rules), the answer at once, the record
 * into the ring buffer through handle_fence_report.
 *
 * Two answerers read the same group, each in its own process: the guard
 * (user/guard/), which outlives agents, and the agent's answering thread.
 * Whichever is free takes a request. A request one of them read and has
 * not answered for ANSWER_STALL_MS (it is stopped, frozen, starved) is
 * answered by the other: each publishes what it holds in a shared page,
 * and a compare-and-swap decides which one writes the response. So a
 * stopped agent or a stopped guard stalls nobody; only both stopped do.
 */
#ifndef MW_ANSWER_H
#define MW_ANSWER_H

#include <limits.h>
#include <stdbool.h>
#include <linux/types.h>

#define ANSWER_BATCH		8	/* requests read at once, per answerer */
#define ANSWER_STALL_MS		200	/* held longer: the other answers */
#define ANSWER_POLL_MS		50	/* the watchdog's period, while needed */
#define ANSWER_SIDES		2
/*
 * The kernel matches a response to a request by the number the reader's
 * fd table gave the request's fd, whoever reads: two readers must never
 * hold the same number. The guard keeps its fds below ANSWER_FD_SPLIT (it
 * has a dozen); the agent fills every free number below it before it
 * opens anything (answer_reserve_fds), so its requests land above.
 */
#define ANSWER_FD_SPLIT		64
/* Directories climbed above a file before the walk gives up (and denies). */
#define ANSWER_DEPTH_MAX	1024

enum answer_side { SIDE_GUARD = 0, SIDE_AGENT = 1 };

/*
 * A request an answerer holds: fd number and pid, 0 word when free. The
 * word says who may write its response:
 *   seq << 32 | fd + 1            its reader, judging
 *   ... | ANSWER_CLAIMED          its reader, writing the response
 *   ... | ANSWER_TAKING(side)     another answerer (the other side, or a
 *                                 successor of a dead reader), writing
 * The writer frees the slot after its write. A reader that finds its slot
 * taken keeps the request's fd open (so that its number goes to no other
 * request) until the taker has written: the kernel matches a response by
 * number, and a late response must find nothing, never a newer request.
 */
#define ANSWER_CLAIMED		(1ULL << 31)
#define ANSWER_TAKING(side)	(1ULL << (29 + (side)))	/* bits 29, 30 */
#define ANSWER_STATE_BITS	(ANSWER_CLAIMED | ANSWER_TAKING(0) | ANSWER_TAKING(1))
#define ANSWER_FD_MASK		(ANSWER_TAKING(0) - 1)

struct answer_slot {
	__u64 word;		/* see ANSWER_CLAIMED; 0: free */
	__u32 pid;
	__u32 mask;		/* FAN_OPEN_PERM, FAN_OPEN_EXEC_PERM */
	__u64 read_ns;		/* CLOCK_BOOTTIME when it was read */
	__u64 ino;		/* the file's, for the other side's verdict */
	__u32 dev;		/* kernel encoding */
	__u32 pad;
};

/* The page both answerers map (a sealed memfd the guard makes). */
struct answer_shared {
	__u32 magic;		/* ANSWER_MAGIC: also the layout's version */
	__u32 seq;		/* the slot words' sequence, both sides' */
	__s32 pid[ANSWER_SIDES];	/* of each answerer, 0 if none */
	__u64 start[ANSWER_SIDES];	/* its start time: a reused pid is not it */
	struct answer_slot slot[ANSWER_SIDES][ANSWER_BATCH];
	__u64 allowed[ANSWER_SIDES];
	__u64 denied[ANSWER_SIDES];
	__u64 taken_over[ANSWER_SIDES];	/* answered for the other side */
	__u64 report_lost[ANSWER_SIDES];	/* records the ring refused */
	__u64 report_due[ANSWER_SIDES];		/* answered, record owed */
	__u64 report_done[ANSWER_SIDES];	/* and handed to the ring */
	__u64 fd_clash[ANSWER_SIDES];	/* a request fd on the other's side */
	__u64 unjudged[ANSWER_SIDES];	/* tracked, judged without a path */
	/*
	 * Each side's watchdog sleeps while the other holds nothing; it says
	 * so here, and the other rings its bell when it takes a request.
	 */
	__u32 asleep[ANSWER_SIDES];
};

#define ANSWER_MAGIC	0x6d776633u	/* "mwf3" */

/* What an answerer judges with: fds of the pinned maps and program. */
struct answer_fds {
	int tracked, config, profiles, exec, files, names;
	int report;		/* handle_fence_report */
	int sessions;		/* mw_sessions, or -1 (pins of an older build) */
};

/* A session page the answerer mapped (read-only), by mw_sessions slot. */
struct answer_page {
	__u32 id;		/* its map's id; 0: none */
	const void *page;
};

/* A slot of ours another answerer took: its request's fd, kept open. */
struct answer_park {
	int fd;			/* -1: the slot is not parked */
	__u32 response;		/* ours, in case the taker dies unwritten */
	__u64 word;		/* as we published it */
};

struct answerer {
	int group;		/* the fanotify group */
	struct answer_fds fds;
	struct answer_shared *shm;
	enum answer_side side;
	struct answer_park park[ANSWER_BATCH];	/* by slot */
	struct answer_page *pages;	/* MW_SESSIONS_MAX, made when needed */
	/*
	 * Each side's bell (an eventfd, -1 if none): the side polls its own
	 * and rings the other's. They travel with the group and the page.
	 */
	int bell[ANSWER_SIDES];
	char cgroup2[PATH_MAX];	/* where cgroup v2 is mounted; "" not yet */
};

/*
 * Fill every free fd number below ANSWER_FD_SPLIT (close-on-exec), and
 * raise the soft limit of open files to the hard one. First thing in the
 * agent's main(), before anything it closes again is opened.
 */
int answer_reserve_fds(void);
/*
 * Take our @side of the shared page: record our pid, and first answer
 * what a dead predecessor on this side left (so that no request of ours
 * shares a number with one of its).
 */
int answer_attach(struct answerer *a, enum answer_side side);
/* Leave it: our pid goes; what we hold the other side answers at once. */
void answer_detach(struct answerer *a);

/*
 * Map the shared page of memfd @fd (set up if @create); NULL with errno
 * EPROTO if it is not of this layout.
 */
struct answer_shared *answer_shared_map(int fd, bool create);
void answer_shared_unmap(struct answer_shared *shm);
/* A sealed memfd for the shared page (it can neither shrink nor grow). */
int answer_shared_create(void);
/* The two bells, non-blocking eventfds; -errno. */
int answer_bells_create(int bell[ANSWER_SIDES]);

/*
 * Read what the group has (without blocking), judge, answer and report
 * every request. Returns the number answered, or -errno.
 */
int answer_pending(struct answerer *a);
/*
 * Answer the other side's requests held longer than ANSWER_STALL_MS, or
 * at once if it is gone. Without walking the file's path (a walk that
 * stalled it could stall us): the file's own rule, else a tracked
 * requester is refused.
 */
void answer_watchdog(struct answerer *a);
/*
 * The timeout of our next poll (our bell among its fds): ANSWER_POLL_MS
 * while the watchdog has work (the other side holds requests, or holds
 * ours), else -1: we say we are asleep, and the other side rings our
 * bell when it takes one. Without bells, always ANSWER_POLL_MS.
 */
int answer_timeout(struct answerer *a);
/* After that poll: awake again, the bell emptied. */
void answer_woken(struct answerer *a);
/* Open the pinned maps and program under @pin_dir into @fds. */
int answer_fds_open(const char *pin_dir, struct answer_fds *fds);
void answer_fds_close(struct answer_fds *fds);

#endif /* MW_ANSWER_H */
