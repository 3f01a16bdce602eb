/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fence's fanotify marks (kernels without BPF-LSM): the inodes of
 * denied binaries (FAN_OPEN_EXEC_PERM, and FAN_OPEN_PERM for "ld.so X"),
 * denied directories (their entries' execs) and protected files and trees
 * (FAN_OPEN_PERM). Untracked processes pay an answer per open of a marked
 * inode, so as little as possible is marked.
 */
#ifndef MW_MARKS_H
#define MW_MARKS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "kernel/compile.h"

struct fence_mark {
	int fd;			/* O_PATH: the marked inode, even if renamed */
	__u64 st_dev, ino;
	__u64 mask;		/* FAN_* bits */
	bool mount;		/* FAN_MARK_MOUNT on a mount root */
	int wd;			/* inotify watch of a marked directory, or -1 */
	char *path;		/* for new subdirectories' paths */
};

struct marks {
	int group;		/* the fanotify group (borrowed) */
	int inofd;		/* inotify: new subdirectories of marked trees */
	struct fence_mark *v;
	size_t n;
};

/*
 * Mark what @c denies or audits, then unmark what it no longer names: new
 * marks are in place before old ones go.
 */
int marks_apply(struct marks *ms, const struct compiled *c,
		void (*warn)(const char *msg, void *arg), void *warn_arg);
/* A marked directory got a new subdirectory: mark it too. */
void marks_on_inotify(struct marks *ms);
/*
 * The inode marks the group has already (an earlier agent's), from its
 * fdinfo, opened by file handle: marks_apply() then removes the unwanted.
 */
int marks_inherit(struct marks *ms);
/* Forget the marks (the group keeps them); a zeroed struct: no-op. */
void marks_free(struct marks *ms);

#endif /* MW_MARKS_H */
