// SPDX-License-Identifier: GPL-2.0-only
/* The agent's side of the guard: find it, start it, stop it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdbool.h>
#include <sys/fanotify.h>
#include <json-c/json.h>
#include "guard/guard.h"
#include "guard/peer.h"

#define GUARD_WAIT_MS	5000

static int guard_addr(const char *state_dir, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", state_dir,
		     GUARD_SOCKET) >= (int)sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int guard_socket(const char *state_dir)
{
	struct timeval tv = { .tv_sec = GUARD_WAIT_MS / 1000 };
	struct sockaddr_un sa;
	int fd, ret;

	ret = guard_addr(state_dir, &sa);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Send too: a stopped guard's full backlog makes connect() wait. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* A fanotify group of the permission class, by its fdinfo. */
static bool content_group(int fd)
{
	char path[64], line[128];
	unsigned int flags;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!ok && fgets(line, sizeof(line), f))
		if (sscanf(line, "fanotify flags:%x", &flags) == 1)
			ok = (flags & (FAN_CLASS_CONTENT | FAN_CLASS_PRE_CONTENT)) ==
			     FAN_CLASS_CONTENT;
	fclose(f);
	return ok;
}

/* The fds of a control message, closed: what a bad hello carried. */
static void close_rights(struct msghdr *mh)
{
	struct cmsghdr *cm;
	size_t i, n;
	int fd;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

/*
 * The guard's first message on @fd: a line of JSON and its four fds (the
 * group, the page, the bells; two from a guard without bells), from
 * an administrator (the guard we started, not whoever bound the path),
 * whose hello names the pid the kernel gives for the peer.
 */
static int guard_hello(int fd, struct guard_conn *out)
{
	char line[256], cbuf[CMSG_SPACE(4 * sizeof(int))] = {};
	struct iovec iov = { .iov_base = line, .iov_len = sizeof(line) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	json_object *o, *v;
	pid_t peer;
	int fds[4] = { -1, -1, -1, -1 }, pidfd;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	out->group = out->shm = out->bell[0] = out->bell[1] = -1;
	pidfd = peer_admin(fd, &peer);
	if (pidfd < 0)
		return pidfd;
	close(pidfd);
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (!n || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || !cm ||
	    cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    (cm->cmsg_len != CMSG_LEN(sizeof(fds)) &&
	     cm->cmsg_len != CMSG_LEN(2 * sizeof(int))) || CMSG_NXTHDR(&mh, cm)) {
		close_rights(&mh);
		return -EPROTO;
	}
	memcpy(fds, CMSG_DATA(cm), cm->cmsg_len - CMSG_LEN(0));
	out->group = fds[0];
	out->shm = fds[1];
	out->bell[0] = fds[2];
	out->bell[1] = fds[3];
	line[n] = '\0';
	o = json_tokener_parse(line);
	if (o && json_object_object_get_ex(o, "pid", &v))
		out->pid = json_object_get_int(v);
	if (o && json_object_object_get_ex(o, "object", &v))
		snprintf(out->object, sizeof(out->object), "%s",
			 json_object_get_string(v));
	json_object_put(o);
	if (out->pid != peer || !content_group(out->group)) {
		guard_conn_close(out);
		return -EPROTO;
	}
	return 0;
}

int guard_connect(const char *state_dir, struct guard_conn *out)
{
	int fd = guard_socket(state_dir), ret;

	if (fd < 0) {
		memset(out, 0, sizeof(*out));
		out->group = out->shm = out->bell[0] = out->bell[1] = -1;
		return fd;
	}
	ret = guard_hello(fd, out);
	close(fd);
	return ret;
}

void guard_conn_close(struct guard_conn *c)
{
	if (c->group >= 0)
		close(c->group);
	if (c->shm >= 0)
		close(c->shm);
	for (int i = 0; i < 2; i++)
		if (c->bell[i] >= 0)
			close(c->bell[i]);
	c->group = c->shm = c->bell[0] = c->bell[1] = -1;
}

/* In the child: become the guard, a session of its own, not our child. */
static void exec_guard(const char *pin_dir, const char *state_dir,
		       const char *cgroup, int group, int shm,
		       const int bell[2], int ready)
{
	char gfd[16], sfd[16], rfd[16], bfd[2][16];
	const char *argv[20];
	int i = 0, null;

	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	argv[i++] = "mcpwarden";
	argv[i++] = "guard";
	argv[i++] = "--pin-dir";
	argv[i++] = pin_dir;
	argv[i++] = "--state-dir";
	argv[i++] = state_dir;
	if (cgroup) {
		argv[i++] = "--cgroup";
		argv[i++] = cgroup;
	}
	if (group >= 0) {
		fcntl(group, F_SETFD, 0);
		fcntl(shm, F_SETFD, 0);
		snprintf(gfd, sizeof(gfd), "%d", group);
		snprintf(sfd, sizeof(sfd), "%d", shm);
		argv[i++] = "--group-fd";
		argv[i++] = gfd;
		argv[i++] = "--shm-fd";
		argv[i++] = sfd;
	}
	for (int k = 0; group >= 0 && bell && bell[0] >= 0 && k < 2; k++) {
		fcntl(bell[k], F_SETFD, 0);
		snprintf(bfd[k], sizeof(bfd[k]), "%d", bell[k]);
		argv[i++] = k ? "--agent-bell-fd" : "--guard-bell-fd";
		argv[i++] = bfd[k];
	}
	fcntl(ready, F_SETFD, 0);
	snprintf(rfd, sizeof(rfd), "%d", ready);
	argv[i++] = "--ready-fd";
	argv[i++] = rfd;
	argv[i] = NULL;
	execv("/proc/self/exe", (char **)argv);
	_exit(127);
}

pid_t guard_spawn(const char *pin_dir, const char *state_dir,
		  const char *cgroup, int group, int shm, const int bell[2])
{
	struct pollfd pfd;
	int ready[2], err;
	pid_t pid;
	char c;

	if (pipe2(ready, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(ready[0]);
		close(ready[1]);
		return err;
	}
	if (pid == 0) {
		close(ready[0]);
		exec_guard(pin_dir, state_dir, cgroup, group, shm, bell,
			   ready[1]);
	}
	close(ready[1]);
	/* Its byte once it listens; EOF if it died first. */
	pfd = (struct pollfd){ .fd = ready[0], .events = POLLIN };
	err = poll(&pfd, 1, GUARD_WAIT_MS) == 1 && read(ready[0], &c, 1) == 1 ?
	      0 : -ECHILD;
	close(ready[0]);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return err;
	}
	return pid;
}

/* Wait up to GUARD_WAIT_MS for the process of @pidfd to exit. */
static bool exits(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, GUARD_WAIT_MS) == 1;
}

/*
 * "exit" on its socket; a guard that does not go (stopped, frozen) is
 * killed. Its pid comes from the socket, not from its hello: a stopped
 * guard sends none.
 */
int guard_stop(const char *state_dir)
{
	pid_t pid;
	int fd, pidfd, ret = 0;

	fd = guard_socket(state_dir);
	if (fd < 0)
		return fd == -ENOENT || fd == -ECONNREFUSED ? 0 : fd;
	pidfd = peer_admin(fd, &pid);
	if (pidfd < 0) {
		close(fd);
		return pidfd;
	}
	if (send(fd, "exit\n", 5, MSG_NOSIGNAL) != 5)
		ret = -errno;
	if (ret || !exits(pidfd)) {
		ret = syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) ?
		      -errno : 0;
		if (!ret && !exits(pidfd))
			ret = -ETIMEDOUT;
	}
	close(fd);
	close(pidfd);
	/* Ours to reap if we started it. */
	waitpid(pid, NULL, WNOHANG);
	return ret;
}
