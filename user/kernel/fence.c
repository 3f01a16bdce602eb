// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "guard/guard.h"
#include "kernel/fence.h"
#include "kernel/loader.h"
#include "lib/log.h"

/* Answer what comes, and what the guard holds too long. */
static void *answer_thread(void *arg)
{
	struct fence *f = arg;
	struct pollfd pfd[3] = {
		{ .fd = f->a.group, .events = POLLIN },
		{ .fd = f->wake[0], .events = POLLIN },
		{ .fd = f->a.bell[SIDE_AGENT], .events = POLLIN },
	};
	int n;

	/* Named, for ps -L and the tests that find it (ptrace). */
	pthread_setname_np(pthread_self(), "mw-answer");
	for (;;) {
		n = poll(pfd, 3, answer_timeout(&f->a));
		answer_woken(&f->a);
		if (n < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;		/* fence_close() */
		if (pfd[0].revents & POLLIN)
			answer_pending(&f->a);
		answer_watchdog(&f->a);
	}
	return NULL;
}

static void object_hex(char out[65])
{
	__u8 d[32];
	int i;

	loader_object_digest(d);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int watch_guard(struct fence *f)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->src_guard };

	if (f->guard_pidfd >= 0) {
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, f->guard_pidfd, NULL);
		close(f->guard_pidfd);
	}
	f->guard_pidfd = syscall(SYS_pidfd_open, f->guard_pid, 0);
	if (f->guard_pidfd < 0)
		return -errno;
	return epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->guard_pidfd, &ev) ? -errno : 0;
}

/* No guard can be had: we hold the group alone, on a page of our own. */
static int go_alone(struct fence *f, struct guard_conn *c, int err)
{
	int shm = answer_shared_create(), i;

	if (shm < 0) {
		guard_conn_close(c);
		return shm;
	}
	/* Nobody rings ours: it lets the thread sleep while nothing is held. */
	for (i = 0; i < ANSWER_SIDES; i++) {
		if (c->bell[i] >= 0)
			close(c->bell[i]);
		c->bell[i] = -1;
	}
	if (answer_bells_create(f->a.bell))
		f->a.bell[0] = f->a.bell[1] = -1;
	log_msg("starting a fanotify guard failed: %s; the fence lasts as long as this agent",
		strerror(-err));
	if (c->shm >= 0)
		close(c->shm);
	f->guard_pid = 0;
	f->a.group = c->group;
	f->shm_fd = shm;
	f->new_shm = true;
	return 0;
}

/*
 * The guard of our state directory, with a copy of its group: an earlier
 * one (its marks are the last agent's), replaced if it is of another
 * build, or a new one.
 */
static int find_guard(struct fence *f)
{
	struct guard_conn c, n;
	char ours[65];
	pid_t pid;
	int ret;

	object_hex(ours);
	ret = guard_connect(f->o.state_dir, &c);
	if (ret == -EPERM)
		return ret;	/* not a guard of ours: leave it be, say so */
	if (ret) {
		pid = guard_spawn(f->o.pin_dir, f->o.state_dir, f->o.guard_cgroup,
				  -1, -1, NULL);
		if (pid < 0)
			return pid;
		ret = guard_connect(f->o.state_dir, &c);
		if (ret)
			return ret;
	} else if (strcmp(c.object, ours)) {
		/*
		 * Ours holds the group meanwhile (its marks stay); requests
		 * wait until the new guard answers, some milliseconds.
		 */
		log_msg("guard %d is of another build: replacing it", c.pid);
		f->inherited = true;
		guard_stop(f->o.state_dir);
		pid = guard_spawn(f->o.pin_dir, f->o.state_dir, f->o.guard_cgroup,
				  c.group, c.shm, c.bell);
		if (pid < 0)
			return go_alone(f, &c, pid);
		ret = guard_connect(f->o.state_dir, &n);
		if (ret)
			return go_alone(f, &c, ret);
		guard_conn_close(&c);
		c = n;
	} else {
		f->inherited = true;
	}
	f->guard_pid = c.pid;
	f->a.group = c.group;
	f->shm_fd = c.shm;
	f->a.bell[0] = c.bell[0];
	f->a.bell[1] = c.bell[1];
	return 0;
}

int fence_init(struct fence *f, int epfd, const struct fence_opts *o)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &f->src_ino };
	int err;

	memset(f, 0, sizeof(*f));
	f->inited = true;
	f->o = *o;
	f->epfd = epfd;
	f->src_ino.kind = EP_FENCE_INOTIFY;
	f->src_guard.kind = EP_GUARD;
	f->a.group = f->shm_fd = f->guard_pidfd = -1;
	f->a.bell[0] = f->a.bell[1] = -1;
	f->wake[0] = f->wake[1] = -1;
	f->marks.inofd = -1;
	f->a.fds = o->fds;
	err = find_guard(f);
	if (err)
		goto fail;
	f->a.shm = answer_shared_map(f->shm_fd, f->new_shm);
	if (!f->a.shm)
		goto fail_errno;
	err = answer_attach(&f->a, SIDE_AGENT);
	if (err) {
		log_msg("another agent answers the fanotify group of \"%s\" (pid %d)",
			o->state_dir, f->a.shm->pid[SIDE_AGENT]);
		goto fail;
	}
	f->marks.group = f->a.group;
	f->marks.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->marks.inofd < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, f->marks.inofd, &ev) ||
	    pipe2(f->wake, O_CLOEXEC))
		goto fail_errno;
	err = f->guard_pid > 0 ? watch_guard(f) : 0;
	if (err)
		log_msg("fanotify guard %d: pidfd: %s; a dead guard will not be replaced",
			f->guard_pid, strerror(-err));
	err = pthread_create(&f->thread, NULL, answer_thread, f);
	if (err) {
		err = -err;
		goto fail;
	}
	f->running = true;
	/*
	 * After the thread: reopening an inherited mark opens its mount's
	 * root, which a mark of the group itself may hold (a directory rule
	 * on a mount root): we answer that one ourselves.
	 */
	if (f->inherited)
		marks_inherit(&f->marks);
	return 0;
fail_errno:
	err = -errno;
fail:
	fence_close(f, false);	/* the guard, if one runs, keeps the group */
	return err;
}

bool fence_active(const struct fence *f)
{
	return f->inited && f->a.group >= 0;
}

int fence_apply(struct fence *f, const struct compiled *c,
		void (*warn)(const char *msg, void *arg), void *warn_arg)
{
	return marks_apply(&f->marks, c, warn, warn_arg);
}

void fence_on_inotify(struct fence *f)
{
	marks_on_inotify(&f->marks);
}

void fence_on_guard(struct fence *f)
{
	pid_t pid;

	waitpid(f->guard_pid, NULL, WNOHANG);	/* ours, if we started it */
	pid = guard_spawn(f->o.pin_dir, f->o.state_dir, f->o.guard_cgroup,
			  f->a.group, f->shm_fd, f->a.bell);
	if (pid < 0) {
		log_msg("fanotify guard %d exited, and starting another failed: %s; the fence lasts as long as this agent",
			f->guard_pid, strerror(-pid));
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, f->guard_pidfd, NULL);
		close(f->guard_pidfd);
		f->guard_pidfd = -1;
		return;
	}
	log_msg("fanotify guard %d exited: started guard %d with the same group",
		f->guard_pid, pid);
	f->guard_pid = pid;
	f->guard_restarts++;
	watch_guard(f);
}

void fence_counts(const struct fence *f, struct fence_counts *out)
{
	const struct answer_shared *s = f->a.shm;
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; s && i < ANSWER_SIDES; i++) {
		out->allowed += s->allowed[i];
		out->denied += s->denied[i];
		out->reports_lost += s->report_lost[i];
		out->taken_over += s->taken_over[i];
		out->unjudged += s->unjudged[i];
		out->fd_clash += s->fd_clash[i];
	}
}

bool fence_reports_owed(const struct fence *f)
{
	const struct answer_shared *s = f->a.shm;
	int i;

	for (i = 0; s && i < ANSWER_SIDES; i++)
		if (__atomic_load_n(&s->report_due[i], __ATOMIC_ACQUIRE) !=
		    __atomic_load_n(&s->report_done[i], __ATOMIC_ACQUIRE))
			return true;
	return false;
}

void fence_close(struct fence *f, bool remove)
{
	int i;

	if (!f->inited)
		return;
	if (f->running) {
		if (write(f->wake[1], "x", 1) == 1)
			pthread_join(f->thread, NULL);
		f->running = false;
	}
	answer_detach(&f->a);
	if (remove && f->guard_pid > 0)
		guard_stop(f->o.state_dir);
	marks_free(&f->marks);
	if (f->marks.inofd >= 0)
		close(f->marks.inofd);
	answer_shared_unmap(f->a.shm);
	f->a.shm = NULL;
	for (i = 0; i < 2; i++) {
		if (f->wake[i] >= 0)
			close(f->wake[i]);
		if (f->a.bell[i] >= 0)
			close(f->a.bell[i]);
		f->a.bell[i] = -1;
	}
	if (f->guard_pidfd >= 0)
		close(f->guard_pidfd);
	if (f->shm_fd >= 0)
		close(f->shm_fd);
	if (f->a.group >= 0)
		close(f->a.group);
	f->a.group = -1;
	f->inited = false;
}
