/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's part of the fanotify fence (kernels without BPF-LSM). The
 * group is the guard's (user/guard/): the agent takes a copy of it, places
 * the marks its policy asks for (kernel/marks.h) and answers requests on a
 * thread of its own beside the guard (kernel/answer.h), so that either one
 * stopped stalls no process. If the guard dies, the agent's copy keeps the
 * group and its marks alive, and it starts another guard with that copy.
 *
 * The answering thread never blocks on the event loop, and the agent never
 * opens a marked file while nobody could answer: its own opens (a
 * directory walk, a policy file) are answered by the guard or the thread.
 */
#ifndef MW_FENCE_H
#define MW_FENCE_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include "daemon/loop.h"
#include "kernel/answer.h"
#include "kernel/compile.h"
#include "kernel/marks.h"

struct fence_opts {
	const char *pin_dir;
	const char *state_dir;
	const char *guard_cgroup;	/* the guard's cgroup, or NULL */
	struct answer_fds fds;		/* the agent's map fds (borrowed) */
};

struct fence {
	struct ep_src src_ino;		/* EP_FENCE_INOTIFY: new subdirectories */
	struct ep_src src_guard;	/* EP_GUARD: the guard's pidfd */
	bool inited;			/* fence_init() ran: the fds are ours */
	bool running;			/* the answering thread */
	struct fence_opts o;
	int shm_fd, guard_pidfd, wake[2], epfd;
	pid_t guard_pid;
	bool inherited;			/* the group has an earlier agent's marks */
	bool new_shm;			/* no guard: the page is ours, new */
	struct answerer a;		/* a.group: our copy of the group */
	struct marks marks;
	pthread_t thread;
	__u64 guard_restarts;
};

/*
 * Find the guard (or start one) and take a copy of its group, then start
 * the answering thread. Registers the inotify and guard fds with @epfd.
 */
int fence_init(struct fence *f, int epfd, const struct fence_opts *o);
/* Does the fanotify group exist (fence_init() succeeded)? */
bool fence_active(const struct fence *f);
/* Put the marks of @c in place (marks_apply). */
int fence_apply(struct fence *f, const struct compiled *c,
		void (*warn)(const char *msg, void *arg), void *warn_arg);
void fence_on_inotify(struct fence *f);
/* The guard exited: start another with our copy of the group. */
void fence_on_guard(struct fence *f);
/* What both answerers did, summed (status, metrics, loss reports). */
struct fence_counts {
	__u64 allowed, denied;
	__u64 reports_lost;	/* records the ring refused, or never handed */
	__u64 taken_over;	/* answered for the other, stopped or gone */
	__u64 unjudged;		/* tracked requests refused without a rule */
	__u64 fd_clash;		/* request fds on the other side's numbers */
};
void fence_counts(const struct fence *f, struct fence_counts *out);
/* Verdicts answered whose records are not in the ring buffer yet. */
bool fence_reports_owed(const struct fence *f);
/*
 * Stop the answering thread and close our copy; with @remove, stop the
 * guard too, and the group and its marks go. A zeroed fence is a no-op.
 */
void fence_close(struct fence *f, bool remove);

#endif /* MW_FENCE_H */
