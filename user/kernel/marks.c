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
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "kernel/marks.h"
#include "kernel/mounts.h"
#include "lib/hostpath.h"
#include "mw_ident.h"

#define EXEC_FILE	(FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)
#define EXEC_DIR	(FAN_OPEN_EXEC_PERM | FAN_EVENT_ON_CHILD)
#define PROTECT_FILE	(FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)
#define PROTECT_DIR	(FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM | \
			 FAN_EVENT_ON_CHILD | FAN_ONDIR)
/*
 * The directory of a file rule's name (kernel/compile.h, name_sel): the
 * opens of its entries, for a file renamed over the protected one. Not a
 * tree: its new subdirectories are not marked.
 */
#define PROTECT_NAMES	(FAN_OPEN_PERM | FAN_EVENT_ON_CHILD)
#define SUBDIRS_MAX	4096	/* per directory rule; deeper: see below */

/* A mark whose new subdirectories get it too (a directory rule's tree). */
static bool mark_is_tree(const struct fence_mark *mk)
{
	return !mk->mount && (mk->mask & FAN_EVENT_ON_CHILD) &&
	       (mk->mask & (FAN_ONDIR | FAN_OPEN_EXEC_PERM));
}

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
	size_t missed;		/* wanted paths that could not be opened */
	char **missed_path;	/* [missed] */
	bool missed_any;	/* one for a reason other than ENOENT */
	bool truncated;
};

static void list_missed(struct mark_list *l, const char *path, int err)
{
	char **v = realloc(l->missed_path, (l->missed + 1) * sizeof(*v));
	char *copy = v ? strdup(path) : NULL;

	/* Not gone, or not remembered: any mark may be the one it names. */
	if (err != ENOENT || !copy)
		l->missed_any = true;
	if (v)
		l->missed_path = v;
	if (copy)
		v[l->missed++] = copy;
}

/*
 * An old mark to keep though @l does not name its inode: @l missed the
 * path it was placed for (renamed, or a full fd table), or missed a path
 * for a reason that may pass (EMFILE, EACCES, ENOMEM) and the mark has no
 * path (inherited). Better a mark too many than a hole.
 */
static bool mark_kept(const struct mark_list *l, const struct fence_mark *mk)
{
	size_t i;

	if (!mk->path)
		return l->missed_any;
	for (i = 0; i < l->missed; i++)
		if (!strcmp(l->missed_path[i], mk->path))
			return true;
	return false;
}

static void list_free_missed(struct mark_list *l)
{
	size_t i;

	for (i = 0; i < l->missed; i++)
		free(l->missed_path[i]);
	free(l->missed_path);
	l->missed_path = NULL;
	l->missed = 0;
	l->missed_any = false;
}

/*
 * Add the inode of O_PATH fd @fd (ours now) with @mask; an inode named
 * twice gets both masks. @path: what it was opened as, NULL if no string
 * names it (deeper than PATH_MAX). Returns its index, or -1.
 */
static ssize_t list_add_fd(struct mark_list *l, int fd, const char *path,
			   __u64 mask, bool mount)
{
	struct fence_mark *v;
	struct stat st;

	if (fstat(fd, &st)) {
		list_missed(l, path ? path : "", errno);
		close(fd);
		return -1;
	}
	v = mark_find(l->v, l->n, st.st_dev, st.st_ino, mount);
	if (v) {
		v->mask |= mask;
		close(fd);
		return v - l->v;
	}
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		close(fd);
		l->err = -ENOMEM;
		return -1;
	}
	l->v = v;
	l->v[l->n++] = (struct fence_mark){ .fd = fd, .st_dev = st.st_dev,
		.ino = st.st_ino, .mask = mask, .mount = mount, .wd = -1,
		.path = path ? strdup(path) : NULL };
	return l->n - 1;
}

static ssize_t list_add(struct mark_list *l, const char *path, __u64 mask,
			bool mount)
{
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0) {
		list_missed(l, path, errno);	/* gone since compiled, EMFILE */
		return -1;
	}
	return list_add_fd(l, fd, path, mask, mount);
}

/*
 * A file rule's object through the fd its selection holds (so a rename
 * keeps the mark on it); a moved one has no path that names it.
 */
static ssize_t list_add_sel(struct mark_list *l, const struct inode_sel *e,
			    __u64 mask)
{
	char hp[PATH_MAX];
	int fd;

	if (e->fd < 0)
		return list_add(l, host_path(e->path, hp), mask, false);
	fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		list_missed(l, e->path, errno);
		return -1;
	}
	return list_add_fd(l, fd, e->moved ? NULL : host_path(e->path, hp),
			   mask, false);
}

/*
 * Entry @k, just added, if it is on @dev: one on another mount is not
 * crossed into (FTW_MOUNT's rule) and is dropped again. False if dropped.
 */
static bool list_keep_fs(struct mark_list *l, ssize_t k, __u64 dev)
{
	if (k != (ssize_t)l->n - 1 || l->v[k].st_dev == dev)
		return true;
	close(l->v[k].fd);
	free(l->v[k].path);
	l->n--;
	return false;
}

/*
 * The directories in l->v[@i], appended to @l with its mask, through fds
 * (no path string, so no PATH_MAX: a tree deeper or longer than a path
 * can name is marked too), not crossing into other mounts; *@subdirs
 * counts them against SUBDIRS_MAX.
 */
static void list_children(struct mark_list *l, size_t i, size_t *subdirs)
{
	char name[PATH_MAX];
	struct dirent *de;
	__u64 dev = l->v[i].st_dev;
	ssize_t k;
	int dfd, fd;
	DIR *d;

	dfd = openat(l->v[i].fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) ||
		    !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		fd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;	/* not a directory, or gone */
		if ((*subdirs)++ >= SUBDIRS_MAX) {
			close(fd);
			l->truncated = true;
			break;
		}
		/* The path for display, while one fits. */
		if (!l->v[i].path ||
		    snprintf(name, sizeof(name), "%s/%s", l->v[i].path,
			     de->d_name) >= (int)sizeof(name))
			name[0] = '\0';
		k = list_add_fd(l, fd, name[0] ? name : NULL, l->v[i].mask,
				false);
		list_keep_fs(l, k, dev);
	}
	closedir(d);
}

/* The subdirectories of l->v[@top], breadth first, at most SUBDIRS_MAX. */
static void list_subdirs(struct mark_list *l, size_t top)
{
	size_t i, subdirs = 0;

	for (i = top; i < l->n && !l->truncated; i++)
		list_children(l, i, &subdirs);
}

/* A directory rule: the directory and, unless a mount mark, its tree. */
static void list_tree(struct mark_list *l, const struct inode_sel *e,
		      __u64 mask)
{
	size_t before = l->n;
	ssize_t top = list_add_sel(l, e, mask);

	/* A new entry (not an inode named before) is the top of its tree. */
	if (top < 0 || (size_t)top < before)
		return;
	list_subdirs(l, top);
}

/* The marks @c asks for: what its exec and file rules deny or audit. */
static void marks_wanted(const struct compiled *c, struct mark_list *l)
{
	char hp[PATH_MAX];
	size_t i;

	for (i = 0; c && i < c->nexec; i++) {
		const struct inode_sel *e = &c->exec[i];

		/* A loader: every dynamic exec opens it; the kernel judges it. */
		if (e->action == MW_ACTION_ALLOW || e->exec_only)
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

		/* readonly: fanotify cannot tell a read from a write open. */
		if (e->action == MW_ACTION_ALLOW || e->readonly)
			continue;
		/* Inode marks only: a mount mark would stop every open. */
		if (e->is_dir)
			list_tree(l, e, PROTECT_DIR);
		else
			list_add_sel(l, e, PROTECT_FILE);
	}
	for (i = 0; c && i < c->nnames; i++) {
		const struct name_sel *e = &c->names[i];
		int fd;

		/*
		 * /etc, /usr ...: every exec opens their entries; a home: every
		 * shell and git (policy.md). An answer an open costs ~40 us.
		 */
		if (e->action == MW_ACTION_ALLOW || e->readonly || e->busy_dir)
			continue;
		fd = fcntl(e->dir_fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			list_missed(l, e->path, errno);
		else
			list_add_fd(l, fd, NULL, PROTECT_NAMES, false);
	}
}

/* An inotify watch for new subdirectories of @mk, through its fd. */
static int watch_dir(struct marks *ms, const struct fence_mark *mk)
{
	char path[32];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mk->fd);
	return inotify_add_watch(ms->inofd, path, IN_CREATE | IN_MOVED_TO |
				 IN_ONLYDIR);
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
		if (l->v[i].wd < 0 && mark_is_tree(&l->v[i]))
			l->v[i].wd = watch_dir(ms, &l->v[i]);
	return failed;
}

/* Move @mk into @l as it is; -ENOMEM leaves it where it was. */
static int list_keep(struct mark_list *l, const struct fence_mark *mk)
{
	struct fence_mark *v = realloc(l->v, (l->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n++] = *mk;
	return 0;
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
		list_free_missed(&l);
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
		if (mark_find(l.v, l.n, ms->v[i].st_dev, ms->v[i].ino,
			      ms->v[i].mount)) {
			mark_free(ms, &ms->v[i]);
		} else if (mark_kept(&l, &ms->v[i])) {
			/* Into l.v, watch and all; else marked, untracked. */
			if (list_keep(&l, &ms->v[i]))
				mark_free(ms, &ms->v[i]);
		} else {
			mark_set(ms, &ms->v[i], FAN_MARK_REMOVE,
				 ms->v[i].mask);
			mark_free(ms, &ms->v[i]);
		}
	}
	list_free_missed(&l);
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
	size_t i, subdirs = 0;
	ssize_t n, k;
	char *p;
	int fd;

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
			/*
			 * Through its fd (the directory's path may be too
			 * long), not following a symlink that took the new
			 * directory's name meanwhile (mkdir, rmdir, ln -s /),
			 * within the parent's file system.
			 */
			fd = openat(ms->v[i].fd, ie->name, O_PATH | O_DIRECTORY |
				    O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d/%s",
				 ms->v[i].fd, ie->name);
			k = list_add_fd(&l, fd, path, ms->v[i].mask, false);
			if (!list_keep_fs(&l, k, ms->v[i].st_dev))
				continue;
			/* Named for display from its parent's path, if any. */
			if (k >= 0) {
				free(l.v[k].path);
				l.v[k].path = NULL;
				if (ms->v[i].path &&
				    asprintf(&l.v[k].path, "%s/%s", ms->v[i].path,
					     ie->name) < 0)
					l.v[k].path = NULL;
			}
		}
	}
	/*
	 * Each new directory marked and watched, then what is in it already
	 * (mkdir -p, cp -r, an archive unpacked: inotify tells of a tree's top
	 * only) listed to be marked in turn: what is made after the watch is
	 * an inotify event, what was made before it the listing finds.
	 */
	for (i = 0; i < l.n; i++) {
		if (mark_find(ms->v, ms->n, l.v[i].st_dev, l.v[i].ino,
			      false) ||
		    mark_set(ms, &l.v[i], FAN_MARK_ADD, l.v[i].mask)) {
			mark_free(ms, &l.v[i]);
			continue;
		}
		l.v[i].wd = watch_dir(ms, &l.v[i]);
		if (!l.truncated)
			list_children(&l, i, &subdirs);
		v = realloc(ms->v, (ms->n + 1) * sizeof(*v));
		if (!v) {
			mark_free(ms, &l.v[i]);
			continue;
		}
		ms->v = v;
		ms->v[ms->n++] = l.v[i];
	}
	free(l.v);
	list_free_missed(&l);
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

/* Remember the mark on the inode or mount root of @fd (ours now). */
static void inherit_fd(struct marks *ms, int fd, __u64 mask, bool mount)
{
	struct fence_mark *v;
	struct stat st;

	if (fd < 0)
		return;
	if (fstat(fd, &st) ||
	    !(v = realloc(ms->v, (ms->n + 1) * sizeof(*v)))) {
		close(fd);
		return;
	}
	ms->v = v;
	ms->v[ms->n++] = (struct fence_mark){ .fd = fd, .st_dev = st.st_dev,
		.ino = st.st_ino, .mask = mask, .mount = mount, .wd = -1 };
}

/* One "fanotify ino:... sdev:... mask:... fhandle-bytes:... f_handle:..." */
static void inherit_inode(struct marks *ms, const char *line)
{
	unsigned long long sdev, mask;
	unsigned int type, nbytes;
	unsigned long ino;
	const char *hex;

	if (sscanf(line, "fanotify ino:%lx sdev:%llx mflags:%*x mask:%llx ignored_mask:%*x fhandle-bytes:%x fhandle-type:%x",
		   &ino, &sdev, &mask, &nbytes, &type) != 5 ||
	    nbytes > MAX_HANDLE_SZ || !(hex = strstr(line, "f_handle:")))
		return;
	hex += strlen("f_handle:");
	inherit_fd(ms, handle_open(sdev, type, hex, nbytes), mask, false);
}

/* One "fanotify mnt_id:... mflags:... mask:... ignored_mask:..." */
static void inherit_mount(struct marks *ms, const char *line)
{
	unsigned long long mask;
	unsigned int id;

	if (sscanf(line, "fanotify mnt_id:%x mflags:%*x mask:%llx", &id,
		   &mask) != 2 || id > INT32_MAX)
		return;
	inherit_fd(ms, mount_open(id, 0), mask, true);
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
			inherit_inode(ms, line);
		else if (!strncmp(line, "fanotify mnt_id:", 16))
			inherit_mount(ms, line);
	fclose(f);
	return 0;
}
