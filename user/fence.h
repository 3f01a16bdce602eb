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
#include <stdbool.h>
#include <sys/types.h>
#include "loop.h"
#include "maps.h"

struct fence_mark {
	int fd;			/* O_PATH: the marked inode, even if renamed */
	__u64 st_dev, ino;
	bool is_dir, mount;	/* mount: FAN_MARK_MOUNT on a mount root */
};

struct fence {
	struct ep_src src;	/* EP_FANOTIFY */
	int fd;
	struct fence_mark *marks;
	size_t nmarks;
	__u64 allowed, denied;	/* answers given */
};

/* What one permission request was about, for the event. */
struct fence_hit {
	pid_t pid;
	bool exec;		/* FAN_OPEN_EXEC_PERM; else FAN_OPEN_PERM */
	char path[PATH_MAX];
	__u64 st_dev, ino;
	struct mw_tracked t;
	const struct exec_sel *rule;
	__u8 action;		/* MW_ACTION_DENY or MW_ACTION_AUDIT */
};

typedef void (*fence_report)(void *arg, const struct fence_hit *h);

int fence_init(struct fence *f, int epfd);
/*
 * Mark what @c denies or audits, then unmark what it no longer names: new
 * marks are in place before old ones go.
 */
int fence_apply(struct fence *f, const struct compiled *c,
		void (*warn)(const char *msg, void *arg), void *warn_arg);
/* Answer every pending request; report denials and audits. */
void fence_on_event(struct fence *f, struct mw_maps *m, fence_report report,
		    void *arg);
void fence_close(struct fence *f);

#endif /* MW_FENCE_H */
