// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fence.h"
#include "log.h"
#include "proc.h"

#define FILE_MASK	(FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)
#define DIR_MASK	(FAN_OPEN_EXEC_PERM | FAN_EVENT_ON_CHILD)
#define SUBDIRS_MAX	4096	/* per directory rule; deeper: the SIGKILL backstop */

int fence_init(struct fence *f, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = f };

	memset(f, 0, sizeof(*f));
	f->src.kind = EP_FANOTIFY;
	f->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, f->fd, &ev)) {
		int err = -errno;

		close(f->fd);
		f->fd = -1;
		return err;
	}
	return 0;
}

static int mark_set(struct fence *f, const struct fence_mark *mk,
		    unsigned int op)
{
	unsigned int flags = op | (mk->mount ? FAN_MARK_MOUNT : 0);
	__u64 mask = mk->mount ? FAN_OPEN_EXEC_PERM :
		     mk->is_dir ? DIR_MASK : FILE_MASK;

	char path[32];

	/* Through the O_PATH fd: the inode we stat'ed, even if renamed. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mk->fd);
	return fanotify_mark(f->fd, flags, mask, AT_FDCWD, path) ? -errno : 0;
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

struct mark_list {
	struct fence_mark *v;
	size_t n;
	int err;
	size_t subdirs;
};

static void list_add(struct mark_list *l, const char *path, bool is_dir,
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
	if (mark_find(l->v, l->n, st.st_dev, st.st_ino, mount)) {
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
		.ino = st.st_ino, .is_dir = is_dir, .mount = mount };
}

static struct mark_list *walk_list;

static int walk_dir(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	if (type != FTW_D || ftw->level == 0)
		return 0;
	if (walk_list->subdirs++ >= SUBDIRS_MAX)
		return 1;
	list_add(walk_list, path, true, false);
	return 0;
}

int fence_apply(struct fence *f, const struct compiled *c,
		void (*warn)(const char *msg, void *arg), void *warn_arg)
{
	struct mark_list l = {};
	size_t i, failed = 0;
	int ret, first_err = 0;
	char msg[512];

	for (i = 0; c && i < c->nexec; i++) {
		const struct exec_sel *e = &c->exec[i];

		if (e->action == MW_ACTION_ALLOW)
			continue;
		list_add(&l, e->path, e->is_dir, e->mount_root);
		if (e->is_dir && !e->mount_root) {
			l.subdirs = 0;
			walk_list = &l;
			ret = nftw(e->path, walk_dir, 16, FTW_PHYS | FTW_MOUNT);
			walk_list = NULL;
			if (ret == 1 && warn) {
				snprintf(msg, sizeof(msg), "exec rule \"%s\": more than %d subdirectories; execs deeper are stopped after the exec (SIGKILL), not refused",
					 e->path, SUBDIRS_MAX);
				warn(msg, warn_arg);
			}
		}
	}
	if (l.err)
		goto fail;
	/* New marks first: at no moment is a denied inode unmarked. */
	for (i = 0; i < l.n; i++) {
		struct fence_mark *old = mark_find(f->marks, f->nmarks,
						   l.v[i].st_dev, l.v[i].ino,
						   l.v[i].mount);

		if (old && old->is_dir == l.v[i].is_dir)
			continue;
		ret = mark_set(f, &l.v[i], FAN_MARK_ADD);
		if (ret && !failed++)
			first_err = ret;
	}
	if (failed && warn) {
		snprintf(msg, sizeof(msg), "fanotify: %zu of %zu marks failed (%s); execs there are stopped after the fact (SIGKILL) instead",
			 failed, l.n, strerror(-first_err));
		warn(msg, warn_arg);
	}
	for (i = 0; i < f->nmarks; i++) {
		if (!mark_find(l.v, l.n, f->marks[i].st_dev, f->marks[i].ino,
			       f->marks[i].mount))
			mark_set(f, &f->marks[i], FAN_MARK_REMOVE);
		close(f->marks[i].fd);
	}
	free(f->marks);
	f->marks = l.v;
	f->nmarks = l.n;
	return 0;
fail:
	for (i = 0; i < l.n; i++)
		close(l.v[i].fd);
	free(l.v);
	return l.err;
}

/*
 * The rule of @profile that applies to the file behind @fd: its own inode,
 * else (for an exec) the nearest directory above it.
 */
static const struct exec_sel *rule_for(const struct compiled *c, __u32 profile,
				       struct fence_hit *h)
{
	char dir[PATH_MAX], *slash;
	struct stat st;
	size_t i;

	for (i = 0; i < c->nexec; i++)
		if (c->exec[i].profile == profile && !c->exec[i].is_dir &&
		    c->exec[i].st_dev == h->st_dev && c->exec[i].ino == h->ino)
			return &c->exec[i];
	if (!h->exec || h->path[0] != '/')
		return NULL;
	snprintf(dir, sizeof(dir), "%s", h->path);
	while ((slash = strrchr(dir, '/'))) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		/* stat() of a directory is not an open: no request of ours. */
		if (!stat(dir, &st))
			for (i = 0; i < c->nexec; i++)
				if (c->exec[i].profile == profile &&
				    c->exec[i].is_dir &&
				    c->exec[i].st_dev == st.st_dev &&
				    c->exec[i].ino == st.st_ino)
					return &c->exec[i];
		if (slash == dir)
			break;
	}
	return NULL;
}

static __u32 judge(struct mw_maps *m, const struct fanotify_event_metadata *md,
		   struct fence_hit *h)
{
	const struct compiled *c = maps_active(m);
	const struct mw_profile *p;
	__u64 start;
	char link[64];
	struct stat st;
	ssize_t n;

	memset(h, 0, sizeof(*h));
	h->pid = md->pid;
	h->exec = md->mask & FAN_OPEN_EXEC_PERM;
	/* Every untracked process: one map lookup, then allowed. */
	if (!c || maps_tracked_get(m, md->pid, &h->t))
		return FAN_ALLOW;
	/* Only /proc/PID/stat: it takes no lock the waiting exec holds. */
	if (proc_start_time(NULL, md->pid, &start))
		return FAN_ALLOW;	/* gone: nothing to protect */
	if (start / MW_TICK_NS != h->t.start_time / MW_TICK_NS)
		return FAN_ALLOW;	/* a stale entry of a reused pid */
	p = &c->profiles[h->t.server.profile & (MW_PROFILES_MAX - 1)];
	if (!p->present || fstat(md->fd, &st))
		return FAN_ALLOW;
	h->st_dev = st.st_dev;
	h->ino = st.st_ino;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", md->fd);
	n = readlink(link, h->path, sizeof(h->path) - 1);
	h->path[n > 0 ? n : 0] = '\0';
	h->rule = rule_for(c, h->t.server.profile, h);
	if (!h->rule || h->rule->action == MW_ACTION_ALLOW)
		return FAN_ALLOW;
	h->action = h->rule->action;
	if (h->action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		h->action = MW_ACTION_AUDIT;
	return h->action == MW_ACTION_DENY ? FAN_DENY : FAN_ALLOW;
}

void fence_on_event(struct fence *f, struct mw_maps *m, fence_report report,
		    void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	const struct fanotify_event_metadata *md;
	struct fanotify_response resp;
	struct fence_hit h;
	ssize_t len;

	for (;;) {
		len = read(f->fd, buf, sizeof(buf));
		if (len <= 0)
			return;
		for (md = (void *)buf; FAN_EVENT_OK(md, len);
		     md = FAN_EVENT_NEXT(md, len)) {
			if (md->vers != FANOTIFY_METADATA_VERSION || md->fd < 0)
				continue;
			resp.fd = md->fd;
			resp.response = FAN_ALLOW;
			h.action = MW_ACTION_NONE;
			if (md->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM))
				resp.response = judge(m, md, &h);
			if (write(f->fd, &resp, sizeof(resp)) != sizeof(resp))
				log_msg("fanotify: answering a request: %s",
					strerror(errno));
			if (resp.response == FAN_DENY)
				f->denied++;
			else
				f->allowed++;
			if (resp.response == FAN_DENY || h.action == MW_ACTION_AUDIT)
				report(arg, &h);
			close(md->fd);
		}
	}
}

void fence_close(struct fence *f)
{
	size_t i;

	for (i = 0; i < f->nmarks; i++)
		close(f->marks[i].fd);
	free(f->marks);
	f->marks = NULL;
	f->nmarks = 0;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
