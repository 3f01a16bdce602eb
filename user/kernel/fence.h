/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The exec fence where BPF-LSM is missing: fanotify permission marks on the
 * inodes of denied binaries (FAN_OPEN_EXEC_PERM, and FAN_OPEN_PERM for
 * "ld.so BINARY") and directories (children's execs), answered at once from
 * the tracked-process map: a tracked process whose profile denies the file
 * gets EPERM, every other process is allowed.
 *
 * The agent must never block while a request waits, nor open a marked file
 * itself. If it dies, the kernel allows pending requests and drops the marks.
 */
#ifndef MW_FENCE_H
#define MW_FENCE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include "daemon/loop.h"
#include "kernel/maps.h"

struct fence_mark {
	int fd;			/* O_PATH: the marked inode, even if renamed */
	__u64 st_dev, ino;
	__u64 mask;		/* FAN_* bits */
	bool mount;		/* FAN_MARK_MOUNT on a mount root */
	int wd;			/* inotify watch of a marked directory, or -1 */
	char *path;		/* for new subdirectories' paths */
};

/*
 * Requests are answered by a thread of their own, never by the event loop:
 * the agent's own opens (a directory walk, a policy file, /etc/passwd) of
 * a marked inode wait for an answer, and so do other agents' (a test runs
 * several). A thread that does nothing but answer cannot wait on itself.
 * It reports denials to the loop through a pipe (EP_FANOTIFY).
 */
struct fence {
	struct ep_src src;	/* EP_FANOTIFY: the report pipe */
	struct ep_src src_ino;	/* EP_FENCE_INOTIFY: new subdirectories */
	int fd, inofd;
	int report[2];		/* answering thread -> loop */
	int wake[2];		/* loop -> answering thread: stop */
	pthread_t thread;
	bool inited;		/* fence_init() ran: the fds below are ours */
	bool running;
	struct mw_maps *maps;
	struct fence_mark *marks;
	size_t nmarks;
	__u64 allowed, denied;	/* answers given (the thread's) */
	__u64 reports_lost;	/* reports the full pipe refused */
};

/* What one permission request was about: a record of the report pipe. */
struct fence_hit {
	pid_t pid;
	bool exec;		/* FAN_OPEN_EXEC_PERM; else FAN_OPEN_PERM */
	bool file_rule;		/* decided by a file rule, not an exec rule */
	__u8 action;		/* MW_ACTION_DENY or MW_ACTION_AUDIT */
	__u32 rule_id;
	__u64 st_dev, ino;
	struct mw_tracked t;
	char path[3072];	/* the record fits PIPE_BUF: writes are atomic */
};

typedef void (*fence_report)(void *arg, const struct fence_hit *h);

/* Create the group and start the answering thread, which judges with @m. */
int fence_init(struct fence *f, int epfd, struct mw_maps *m);
/* Does the fanotify group exist (fence_init() succeeded)? */
bool fence_active(const struct fence *f);
/*
 * Mark what @c denies or audits, then unmark what it no longer names: new
 * marks are in place before old ones go.
 */
int fence_apply(struct fence *f, const struct compiled *c,
		void (*warn)(const char *msg, void *arg), void *warn_arg);
/* A marked directory got a new subdirectory: mark it too. */
void fence_on_inotify(struct fence *f);
/* Hand the answering thread's reports to @report. */
void fence_on_report(struct fence *f, fence_report report, void *arg);
/* Stop the thread, drop the marks, close the group; a zeroed fence is a no-op. */
void fence_close(struct fence *f);

#endif /* MW_FENCE_H */
