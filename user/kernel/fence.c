// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kernel/fence.h"
#include "mw_ident.h"
#include "lib/hostpath.h"
#include "lib/log.h"
#include "lib/proc.h"

#define EXEC_FILE	(FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)
#define EXEC_DIR	(FAN_OPEN_EXEC_PERM | FAN_EVENT_ON_CHILD)
#define PROTECT_FILE	(FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)
#define PROTECT_DIR	(FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM | \
			 FAN_EVENT_ON_CHILD | FAN_ONDIR)
#define SUBDIRS_MAX	4096	/* per directory rule; deeper: see below */

static void *answer_thread(void *arg);

int fence_init(struct fence *f, int epfd, struct mw_maps *m)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	memset(f, 0, sizeof(*f));
	f->inited = true;
	f->src.kind = EP_FANOTIFY;
	f->src_ino.kind = EP_FENCE_INOTIFY;
	f->inofd = f->report[0] = f->report[1] = f->wake[0] = f->wake[1] = -1;
	f->maps = m;
	f->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	if (pipe2(f->report, O_CLOEXEC | O_NONBLOCK) ||
	    pipe2(f->wake, O_CLOEXEC))
		goto fail;
	ev.data.ptr = &f->src;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, f->report[0], &ev))
		goto fail;
	f->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ev.data.ptr = &f->src_ino;
	if (f->inofd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, f->inofd, &ev))
		goto fail;
	errno = pthread_create(&f->thread, NULL, answer_thread, f);
	if (errno)
		goto fail;
	f->running = true;
	return 0;
fail:
	err = -errno;
	fence_close(f);
	return err;
}

static int mark_set(struct fence *f, const struct fence_mark *mk,
		    unsigned int op, __u64 mask)
{
	char path[32];

	/* Through the O_PATH fd: the inode we stat'ed, even if renamed. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mk->fd);
	return fanotify_mark(f->fd, op | (mk->mount ? FAN_MARK_MOUNT : 0),
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

static void mark_free(struct fence *f, struct fence_mark *mk)
{
	if (mk->wd >= 0 && f->inofd >= 0)
		inotify_rm_watch(f->inofd, mk->wd);
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
static size_t marks_add(struct fence *f, struct mark_list *l, int *first_err)
{
	struct fence_mark *old;
	size_t i, failed = 0;
	int ret;

	for (i = 0; i < l->n; i++) {
		old = mark_find(f->marks, f->nmarks, l->v[i].st_dev, l->v[i].ino,
				l->v[i].mount);
		if (old && old->mask == l->v[i].mask) {
			l->v[i].wd = old->wd;	/* the watch carries over */
			old->wd = -1;
			continue;
		}
		ret = mark_set(f, &l->v[i], FAN_MARK_ADD, l->v[i].mask);
		if (!ret && old && (old->mask & ~l->v[i].mask))
			mark_set(f, old, FAN_MARK_REMOVE,
				 old->mask & ~l->v[i].mask);
		if (ret && !failed++)
			*first_err = ret;
		if (old) {
			l->v[i].wd = old->wd;
			old->wd = -1;
		}
	}
	/* Watch marked directories for new subdirectories. */
	for (i = 0; i < l->n && f->inofd >= 0; i++)
		if (l->v[i].path && l->v[i].wd < 0 && !l->v[i].mount &&
		    (l->v[i].mask & FAN_EVENT_ON_CHILD))
			l->v[i].wd = inotify_add_watch(f->inofd, l->v[i].path,
						       IN_CREATE | IN_MOVED_TO |
						       IN_ONLYDIR);
	return failed;
}

int fence_apply(struct fence *f, const struct compiled *c,
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
			mark_free(f, &l.v[i]);
		free(l.v);
		return l.err;
	}
	failed = marks_add(f, &l, &first_err);
	if (failed && warn) {
		snprintf(msg, sizeof(msg), "fanotify: %zu of %zu marks failed (%s); execs there are stopped after the fact (SIGKILL) instead",
			 failed, l.n, strerror(-first_err));
		warn(msg, warn_arg);
	}
	/* Then the old ones that @c no longer names go. */
	for (i = 0; i < f->nmarks; i++) {
		if (!mark_find(l.v, l.n, f->marks[i].st_dev, f->marks[i].ino,
			       f->marks[i].mount))
			mark_set(f, &f->marks[i], FAN_MARK_REMOVE,
				 f->marks[i].mask);
		mark_free(f, &f->marks[i]);
	}
	free(f->marks);
	f->marks = l.v;
	f->nmarks = l.n;
	return 0;
}

void fence_on_inotify(struct fence *f)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	struct mark_list l = {};
	char path[PATH_MAX];
	struct fence_mark *v;
	ssize_t n;
	size_t i;
	char *p;

	while ((n = read(f->inofd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			if (!(ie->mask & IN_ISDIR) || !ie->len)
				continue;
			for (i = 0; i < f->nmarks; i++)
				if (f->marks[i].wd == ie->wd)
					break;
			if (i == f->nmarks)
				continue;
			snprintf(path, sizeof(path), "%s/%s", f->marks[i].path,
				 ie->name);
			list_add(&l, path, f->marks[i].mask, false);
		}
	}
	for (i = 0; i < l.n; i++) {
		if (mark_find(f->marks, f->nmarks, l.v[i].st_dev, l.v[i].ino,
			      false) ||
		    mark_set(f, &l.v[i], FAN_MARK_ADD, l.v[i].mask)) {
			mark_free(f, &l.v[i]);
			continue;
		}
		l.v[i].wd = inotify_add_watch(f->inofd, l.v[i].path,
					      IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
		v = realloc(f->marks, (f->nmarks + 1) * sizeof(*v));
		if (!v) {
			mark_free(f, &l.v[i]);
			continue;
		}
		f->marks = v;
		f->marks[f->nmarks++] = l.v[i];
	}
	free(l.v);
}

/*
 * The rule of @profile in @v that applies to the file of @h: one on its own
 * inode, else the nearest directory above it. The directories are looked up
 * through /proc/PID/root, in the process's own mount namespace: a bind
 * mount or a chroot there is not ours. (stat() of a directory is not an
 * open: no request of ours, and the answering thread would allow it.)
 */
static bool nearest(const struct inode_sel *v, size_t n, __u32 profile,
		    const struct fence_hit *h, bool dirs, __u8 *action,
		    __u32 *rule_id)
{
	char dir[sizeof(h->path) + 32], *slash, *base;
	struct stat st;
	size_t i;
	int len;

	for (i = 0; i < n; i++)
		if (v[i].profile == profile && v[i].st_dev == h->st_dev &&
		    v[i].ino == h->ino)
			goto found;
	if (!dirs || h->path[0] != '/')
		return false;
	len = snprintf(dir, sizeof(dir), "/proc/%d/root", h->pid);
	base = dir + len;
	snprintf(base, sizeof(dir) - len, "%s", h->path);
	while ((slash = strrchr(base, '/'))) {
		slash[slash == base] = '\0';
		if (!stat(dir, &st))
			for (i = 0; i < n; i++)
				if (v[i].profile == profile && v[i].is_dir &&
				    v[i].st_dev == st.st_dev &&
				    v[i].ino == st.st_ino)
					goto found;
		if (slash == base)
			break;
	}
	return false;
found:
	*action = v[i].action;
	*rule_id = v[i].rule_id;
	return true;
}

static __u32 judge(struct mw_maps *m, const struct fanotify_event_metadata *md,
		   struct fence_hit *h)
{
	const struct compiled *c = maps_active(m);
	const struct mw_profile *p;
	__u8 ea = 0, fa = 0;
	__u32 profile, er_id, fr_id;
	bool er, fr;
	__u64 start;
	char link[64];
	struct stat st;
	ssize_t n;

	memset(h, 0, offsetof(struct fence_hit, path));
	h->path[0] = '\0';
	h->pid = md->pid;
	h->exec = md->mask & FAN_OPEN_EXEC_PERM;
	/* Every untracked process (the agent too): one map lookup, allowed. */
	if (!c || maps_tracked_get(m, md->pid, &h->t))
		return FAN_ALLOW;
	/* Only /proc/PID/stat: it takes no lock the waiting exec holds. */
	if (proc_start_time(NULL, md->pid, &start))
		return FAN_ALLOW;	/* gone: nothing to protect */
	if (!mw_same_start(start, h->t.start_time))
		return FAN_ALLOW;	/* a stale entry of a reused pid */
	profile = h->t.server.profile;
	p = &c->profiles[profile & (MW_PROFILES_MAX - 1)];
	if (!p->present || fstat(md->fd, &st))
		return FAN_ALLOW;
	h->st_dev = st.st_dev;
	h->ino = st.st_ino;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", md->fd);
	n = readlink(link, h->path, sizeof(h->path) - 1);
	h->path[n > 0 ? n : 0] = '\0';
	/* Exec rules: binaries for any open, directories for execs. */
	er = nearest(c->exec, c->nexec, profile, h, h->exec, &ea, &er_id);
	if (er && !h->exec && ea != MW_ACTION_DENY)
		er = false;	/* reading an audited binary is no exec */
	fr = nearest(c->files, c->nfiles, profile, h, true, &fa, &fr_id);
	if (er) {
		h->action = ea;
		h->rule_id = er_id;
	}
	if (fr && (!er || fa > ea)) {
		h->action = fa;
		h->rule_id = fr_id;
		h->file_rule = true;
	}
	if (!er && !fr)
		return FAN_ALLOW;
	if (h->action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		h->action = MW_ACTION_AUDIT;
	return h->action == MW_ACTION_DENY ? FAN_DENY : FAN_ALLOW;
}

/* Answer every request at once; nothing else happens on this thread. */
static void *answer_thread(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	const struct fanotify_event_metadata *md;
	struct fanotify_response resp;
	struct fence *f = arg;
	struct pollfd pfd[2] = {
		{ .fd = f->fd, .events = POLLIN },
		{ .fd = f->wake[0], .events = POLLIN },
	};
	struct fence_hit h;
	ssize_t len;

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;		/* fence_close() */
		if (!(pfd[0].revents & POLLIN))
			continue;
		len = read(f->fd, buf, sizeof(buf));
		if (len <= 0)
			continue;
		for (md = (void *)buf; FAN_EVENT_OK(md, len);
		     md = FAN_EVENT_NEXT(md, len)) {
			if (md->vers != FANOTIFY_METADATA_VERSION || md->fd < 0)
				continue;
			resp.fd = md->fd;
			resp.response = FAN_ALLOW;
			h.action = MW_ACTION_NONE;
			if (md->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)) {
				maps_read_lock(f->maps);
				resp.response = judge(f->maps, md, &h);
				maps_read_unlock(f->maps);
			}
			if (write(f->fd, &resp, sizeof(resp)) != sizeof(resp))
				log_msg("fanotify: answering a request: %s",
					strerror(errno));
			__atomic_add_fetch(resp.response == FAN_DENY ? &f->denied :
					   &f->allowed, 1, __ATOMIC_RELAXED);
			if ((resp.response == FAN_DENY ||
			     h.action == MW_ACTION_AUDIT) &&
			    write(f->report[1], &h, sizeof(h)) != sizeof(h))
				__atomic_add_fetch(&f->reports_lost, 1,
						   __ATOMIC_RELAXED);
			close(md->fd);
		}
	}
	return NULL;
}

void fence_on_report(struct fence *f, fence_report report, void *arg)
{
	struct fence_hit h;

	while (read(f->report[0], &h, sizeof(h)) == sizeof(h))
		report(arg, &h);
}

bool fence_active(const struct fence *f)
{
	return f->inited && f->fd >= 0;
}

void fence_close(struct fence *f)
{
	size_t i;

	if (!f->inited)
		return;
	if (f->running) {
		if (write(f->wake[1], "x", 1) == 1)
			pthread_join(f->thread, NULL);
		f->running = false;
	}
	for (i = 0; i < f->nmarks; i++)
		mark_free(f, &f->marks[i]);
	free(f->marks);
	f->marks = NULL;
	f->nmarks = 0;
	for (i = 0; i < 2; i++) {
		if (f->report[i] >= 0)
			close(f->report[i]);
		if (f->wake[i] >= 0)
			close(f->wake[i]);
		f->report[i] = f->wake[i] = -1;
	}
	if (f->inofd >= 0)
		close(f->inofd);
	f->inofd = -1;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->inited = false;
}
