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

#define ANSWER_POLL_MS	50	/* the thread's watchdog period */

/* Answer what comes, and what the guard holds too long. */
static void *answer_thread(void *arg)
{
	struct fence *f = arg;
	struct pollfd pfd[2] = {
		{ .fd = f->a.group, .events = POLLIN },
		{ .fd = f->wake[0], .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, ANSWER_POLL_MS) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;		/* fence_close() */
		if (pfd[0].revents & POLLIN)
			while (answer_pending(&f->a) > 0)
				;
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

/*
 * The guard of our state directory, with a copy of its group: an earlier
 * one (its marks are the last agent's), replaced if it is of another
 * build, or a new one.
 */
static int find_guard(struct fence *f)
{
	struct guard_conn c;
	char ours[65];
	pid_t pid;
	int ret;

	object_hex(ours);
	ret = guard_connect(f->o.state_dir, &c);
	if (!ret && strcmp(c.object, ours)) {
		/* Ours answers meanwhile: we hold the group. */
		log_msg("guard %d is of another build: replacing it", c.pid);
		guard_stop(f->o.state_dir);
		pid = guard_spawn(f->o.pin_dir, f->o.state_dir, f->o.guard_cgroup,
				  c.group, c.shm);
		if (pid < 0) {
			guard_conn_close(&c);
			return pid;
		}
		c.pid = pid;
	} else if (ret) {
		pid = guard_spawn(f->o.pin_dir, f->o.state_dir, f->o.guard_cgroup,
				  -1, -1);
		if (pid < 0)
			return pid;
		ret = guard_connect(f->o.state_dir, &c);
		if (ret)
			return ret;
	} else {
		f->inherited = true;
	}
	f->guard_pid = c.pid;
	f->a.group = c.group;
	f->shm_fd = c.shm;
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
	f->wake[0] = f->wake[1] = -1;
	f->marks.inofd = -1;
	f->a.fds = o->fds;
	f->a.side = SIDE_AGENT;
	err = find_guard(f);
	if (err)
		goto fail;
	f->a.shm = answer_shared_map(f->shm_fd, false);
	if (!f->a.shm)
		goto fail_errno;
	f->a.shm->pid[SIDE_AGENT] = getpid();
	f->marks.group = f->a.group;
	if (f->inherited)
		marks_inherit(&f->marks);
	f->marks.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f->marks.inofd < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, f->marks.inofd, &ev) ||
	    pipe2(f->wake, O_CLOEXEC))
		goto fail_errno;
	err = watch_guard(f);
	if (err)
		log_msg("fanotify guard %d: pidfd: %s; a dead guard will not be replaced",
			f->guard_pid, strerror(-err));
	err = pthread_create(&f->thread, NULL, answer_thread, f);
	if (err) {
		err = -err;
		goto fail;
	}
	f->running = true;
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
			  f->a.group, f->shm_fd);
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

void fence_counts(const struct fence *f, __u64 *allowed, __u64 *denied,
		  __u64 *report_lost)
{
	const struct answer_shared *s = f->a.shm;
	int i;

	*allowed = *denied = *report_lost = 0;
	for (i = 0; s && i < ANSWER_SIDES; i++) {
		*allowed += s->allowed[i];
		*denied += s->denied[i];
		*report_lost += s->report_lost[i];
	}
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
	if (f->a.shm)
		f->a.shm->pid[SIDE_AGENT] = 0;
	if (remove && f->guard_pid > 0)
		guard_stop(f->o.state_dir);
	marks_free(&f->marks);
	if (f->marks.inofd >= 0)
		close(f->marks.inofd);
	answer_shared_unmap(f->a.shm);
	f->a.shm = NULL;
	for (i = 0; i < 2; i++)
		if (f->wake[i] >= 0)
			close(f->wake[i]);
	if (f->guard_pidfd >= 0)
		close(f->guard_pidfd);
	if (f->shm_fd >= 0)
		close(f->shm_fd);
	if (f->a.group >= 0)
		close(f->a.group);
	f->a.group = -1;
	f->inited = false;
}
