// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fanotify marks: which inodes the fence's group watches. Marks belong
 * to the group, not to a process: the guard holds the group, the agent
 * places and removes its marks (marks_apply) and, on adopting a group
 * whose marks an earlier agent placed, learns them from the group's
 * fdinfo (marks_inherit) so that it can take away the ones no longer
 * wanted.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "kernel/marks.h"
#include "lib/hostpath.h"
#include "mw_ident.h"

#define EXEC_FILE	(FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)
#define EXEC_DIR	(FAN_OPEN_EXEC_PERM | FAN_EVENT_ON_CHILD)
#define PROTECT_FILE	(FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)
#define PROTECT_DIR	(FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM | \
			 FAN_EVENT_ON_CHILD | FAN_ONDIR)
#define SUBDIRS_MAX	4096	/* per directory rule; deeper: see below */

static int mark_set(struct marks *ms, const struct fence_mark *mk,
		    unsigned int op, __u64 mask)
{
	char path[32];

	/* Through the O_PATH fd: the inode we stat'ed, even if renamed. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mk->fd);
	return fanotify_mark(ms->group, op | (mk->mount ? FAN_MARK_MOUNT : 0),
			     mask, AT_FDCWD, path) ? -errno : 0;
}

static struct fence_mark *mark_find(struct fence_mark *marks, size_t n,
				    __u64 st_dev, __u64 ino, bool mount)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (marks[i].st_dev == st_dev && marks[i].ino == ino &&
		    marks[i].mount == mount)
			return &marks[i];
	return NULL;
}

static void mark_free(struct marks *ms, struct fence_mark *mk)
{
	if (mk->wd >= 0 && ms->inofd >= 0)
		inotify_rm_watch(ms->inofd, mk->wd);
	close(mk->fd);
	free(mk->path);
}

struct mark_list {
	struct fence_mark *v;
	size_t n;
	int err;
	size_t subdirs;
	__u64 mask;		/* for walk_dir */
	bool truncated;
};

/* Add @path with @mask; an inode named twice gets both masks. */
static void list_add(struct mark_list *l, const char *path, __u64 mask,
		     bool mount)
{
	struct fence_mark *v;
	struct stat st;
	int fd;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return;		/* gone since the rules were compiled */
	}
	v = mark_find(l->v, l->n, st.st_dev, st.st_ino, mount);
	if (v) {
		v->mask |= mask;
		close(fd);
		return;
	}
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		close(fd);
		l->err = -ENOMEM;
		return;
	}
	l->v = v;
	l->v[l->n++] = (struct fence_mark){ .fd = fd, .st_dev = st.st_dev,
		.ino = st.st_ino, .mask = mask, .mount = mount, .wd = -1,
		.path = S_ISDIR(st.st_mode) ? strdup(path) : NULL };
}

static struct mark_list *walk_list;

static int walk_dir(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	if (type != FTW_D || ftw->level == 0)
		return 0;
	if (walk_list->subdirs++ >= SUBDIRS_MAX) {
		walk_list->truncated = true;
		return 1;
	}
	list_add(walk_list, path, walk_list->mask, false);
	return 0;
}

/* A directory rule: the directory and, unless a mount mark, its tree. */
static void list_tree(struct mark_list *l, const struct inode_sel *e,
		      __u64 mask, bool mount)
{
	char hp[PATH_MAX];
	const char *path = host_path(e->path, hp);

	list_add(l, path, mask, mount);
	if (mount)
		return;
	l->subdirs = 0;
	l->mask = mask;
	walk_list = l;
	nftw(path, walk_dir, 16, FTW_PHYS | FTW_MOUNT);
	walk_list = NULL;
}

/* The marks @c asks for: what its exec and file rules deny or audit. */
static void marks_wanted(const struct compiled *c, struct mark_list *l)
{
	char hp[PATH_MAX];
	size_t i;

	for (i = 0; c && i < c->nexec; i++) {
		const struct inode_sel *e = &c->exec[i];

		if (e->action == MW_ACTION_ALLOW)
			continue;
		/*
		 * A directory alone, not its tree: a mount mark where it is
		 * the root of its mount, else the execs of its own entries.
		 * Deeper ones the exec tracepoint kills before their first
		 * instruction (docs/policy.md); marking /tmp's whole tree
		 * cost seconds at start and left every untracked exec there
		 * waiting on us.
		 */
		if (e->is_dir)
			list_add(l, host_path(e->path, hp), e->mount_root ?
				 FAN_OPEN_EXEC_PERM : EXEC_DIR, e->mount_root);
		else
			list_add(l, host_path(e->path, hp), EXEC_FILE, false);
	}
	for (i = 0; c && i < c->nfiles; i++) {
		const struct inode_sel *e = &c->files[i];

		if (e->action == MW_ACTION_ALLOW)
			continue;
		/* Inode marks only: a mount mark would stop every open. */
		if (e->is_dir)
			list_tree(l, e, PROTECT_DIR, false);
		else
			list_add(l, host_path(e->path, hp), PROTECT_FILE, false);
	}
}

/*
 * Put the marks of @l in place, new ones first: at no moment is a denied
 * inode unmarked. Returns how many failed, the first error in *first_err.
 */
static size_t marks_add(struct marks *ms, struct mark_list *l, int *first_err)
{
	struct fence_mark *old;
	size_t i, failed = 0;
	int ret;

	for (i = 0; i < l->n; i++) {
		old = mark_find(ms->v, ms->n, l->v[i].st_dev, l->v[i].ino,
				l->v[i].mount);
		if (old && old->mask == l->v[i].mask) {
			l->v[i].wd = old->wd;	/* the watch carries over */
			old->wd = -1;
			continue;
		}
		ret = mark_set(ms, &l->v[i], FAN_MARK_ADD, l->v[i].mask);
		if (!ret && old && (old->mask & ~l->v[i].mask))
			mark_set(ms, old, FAN_MARK_REMOVE,
				 old->mask & ~l->v[i].mask);
		if (ret && !failed++)
			*first_err = ret;
		if (old) {
			l->v[i].wd = old->wd;
			old->wd = -1;
		}
	}
	/* Watch marked directories for new subdirectories. */
	for (i = 0; i < l->n && ms->inofd >= 0; i++)
		if (l->v[i].path && l->v[i].wd < 0 && !l->v[i].mount &&
		    (l->v[i].mask & FAN_EVENT_ON_CHILD))
			l->v[i].wd = inotify_add_watch(ms->inofd, l->v[i].path,
						       IN_CREATE | IN_MOVED_TO |
						       IN_ONLYDIR);
	return failed;
}

int marks_apply(struct marks *ms, const struct compiled *c,
		void (*warn)(const char *msg, void *arg), void *warn_arg)
{
	struct mark_list l = {};
	size_t i, failed;
	int first_err = 0;
	char msg[512];

	marks_wanted(c, &l);
	if (l.truncated && warn) {
		snprintf(msg, sizeof(msg), "fanotify: a directory rule has more than %d subdirectories; deeper ones are judged after the fact for execs, not at all for opens",
			 SUBDIRS_MAX);
		warn(msg, warn_arg);
	}
	if (l.err) {
		for (i = 0; i < l.n; i++)
			mark_free(ms, &l.v[i]);
		free(l.v);
		return l.err;
	}
	failed = marks_add(ms, &l, &first_err);
	if (failed && warn) {
		snprintf(msg, sizeof(msg), "fanotify: %zu of %zu marks failed (%s); execs there are stopped after the fact (SIGKILL) instead",
			 failed, l.n, strerror(-first_err));
		warn(msg, warn_arg);
	}
	/* Then the old ones that @c no longer names go. */
	for (i = 0; i < ms->n; i++) {
		if (!mark_find(l.v, l.n, ms->v[i].st_dev, ms->v[i].ino,
			       ms->v[i].mount))
			mark_set(ms, &ms->v[i], FAN_MARK_REMOVE,
				 ms->v[i].mask);
		mark_free(ms, &ms->v[i]);
	}
	free(ms->v);
	ms->v = l.v;
	ms->n = l.n;
	return 0;
}

void marks_on_inotify(struct marks *ms)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	struct mark_list l = {};
	char path[PATH_MAX];
	struct fence_mark *v;
	ssize_t n;
	size_t i;
	char *p;

	while ((n = read(ms->inofd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			if (!(ie->mask & IN_ISDIR) || !ie->len)
				continue;
			for (i = 0; i < ms->n; i++)
				if (ms->v[i].wd == ie->wd)
					break;
			if (i == ms->n)
				continue;
			snprintf(path, sizeof(path), "%s/%s", ms->v[i].path,
				 ie->name);
			list_add(&l, path, ms->v[i].mask, false);
		}
	}
	for (i = 0; i < l.n; i++) {
		if (mark_find(ms->v, ms->n, l.v[i].st_dev, l.v[i].ino,
			      false) ||
		    mark_set(ms, &l.v[i], FAN_MARK_ADD, l.v[i].mask)) {
			mark_free(ms, &l.v[i]);
			continue;
		}
		l.v[i].wd = inotify_add_watch(ms->inofd, l.v[i].path,
					      IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
		v = realloc(ms->v, (ms->n + 1) * sizeof(*v));
		if (!v) {
			mark_free(ms, &l.v[i]);
			continue;
		}
		ms->v = v;
		ms->v[ms->n++] = l.v[i];
	}
	free(l.v);
}

void marks_free(struct marks *ms)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		mark_free(ms, &ms->v[i]);
	free(ms->v);
	ms->v = NULL;
	ms->n = 0;
}

/* An O_PATH fd on the mount of @dev (a mount point from mountinfo). */
static int mount_fd_of(__u32 kdev)
{
	unsigned int maj, mnr;
	char line[4096], dir[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd = -1;

	if (!f)
		return -1;
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		/* "36 35 98:0 /mnt1 /mnt2 ..." */
		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &mnr, dir) != 3)
			continue;
		if (mw_kdev(maj, mnr) == kdev)
			fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	fclose(f);
	return fd;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One "fanotify ino:... sdev:... mask:... fhandle-bytes:... f_handle:..." */
static void inherit_line(struct marks *ms, const char *line)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	unsigned char *fb = (unsigned char *)h.buf + sizeof(struct file_handle);
	unsigned int ino_hex, type, nbytes, i;
	unsigned long long sdev, mask;
	struct fence_mark *v;
	const char *hex;
	struct stat st;
	int mfd, fd;

	if (sscanf(line, "fanotify ino:%x sdev:%llx mflags:%*x mask:%llx ignored_mask:%*x fhandle-bytes:%x fhandle-type:%x",
		   &ino_hex, &sdev, &mask, &nbytes, &type) != 5 ||
	    nbytes > MAX_HANDLE_SZ || !(hex = strstr(line, "f_handle:")))
		return;
	hex += strlen("f_handle:");
	for (i = 0; i < nbytes; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return;
		fb[i] = hi << 4 | lo;
	}
	h.fh.handle_bytes = nbytes;
	h.fh.handle_type = type;
	mfd = mount_fd_of(sdev);
	if (mfd < 0)
		return;
	fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
	close(mfd);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	v = realloc(ms->v, (ms->n + 1) * sizeof(*v));
	if (!v) {
		close(fd);
		return;
	}
	ms->v = v;
	ms->v[ms->n++] = (struct fence_mark){ .fd = fd, .st_dev = st.st_dev,
		.ino = st.st_ino, .mask = mask, .wd = -1 };
}

int marks_inherit(struct marks *ms)
{
	char path[64], line[1024];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", ms->group);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "fanotify ino:", 13))
			inherit_line(ms, line);
	fclose(f);
	return 0;
}
