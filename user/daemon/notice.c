// SPDX-License-Identifier: GPL-2.0-only
/*
 * A refused exec or open in a wrapped server's tree, said on the server's
 * stderr:
 * what an MCP client shows of a server that failed to start. The wrapper
 * can say it only of its own exec (wrapper/wrapper.c); a launcher's child
 * refused later (npx running a package from a project under /tmp) would
 * leave the client "Operation not permitted" and nothing else.
 *
 * The wrapper's registration hands the agent a copy of the server's
 * stderr (pidfd_getfd), held until the server exits, and a little longer
 * while the fence owes records: a refusal's record may come after the
 * exit of a server that gave up at once. Only a pipe or a unix stream socket (a client's stderr), never
 * the object the server's stdout is (the protocol), nor a terminal or a
 * file; a few lines per server.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "daemon/notice.h"
#include "lib/time.h"

#define NOTICES_PER_SERVER	4
/* The longest a server's stderr is held after its exit for owed records. */
#define NOTICE_LINGER_NS	(1000 * 1000000ULL)

static void slot_free(struct notice_slot *s)
{
	if (s->pid && s->fd >= 0)
		close(s->fd);
	if (s->pid && s->pidfd >= 0)
		close(s->pidfd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->pidfd = -1;
}

void notices_init(struct notices *n)
{
	size_t i;

	memset(n, 0, sizeof(*n));
	for (i = 0; i < NOTICE_SERVERS; i++) {
		n->s[i].fd = -1;
		n->s[i].pidfd = -1;
	}
}

void notices_free(struct notices *n)
{
	size_t i;

	for (i = 0; i < NOTICE_SERVERS; i++)
		slot_free(&n->s[i]);
}

static struct notice_slot *slot_of(struct notices *n, __u32 pid)
{
	size_t i;

	if (pid && pid == n->last_pid &&
	    (!n->last || n->last->pid == pid))
		return n->last;
	n->last_pid = pid;
	n->last = NULL;
	for (i = 0; pid && i < NOTICE_SERVERS; i++)
		if (n->s[i].pid == pid)
			return n->last = &n->s[i];
	return NULL;
}

/* Is @fd of process @pidfd the object @st? */
static bool same_fd(int pidfd, int fd, const struct stat *st)
{
	struct stat o;
	int dup = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	bool same;

	if (dup < 0)
		return false;
	same = !fstat(dup, &o) && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
	close(dup);
	return same;
}

/* A client's stderr: a pipe or a unix stream socket (Node's spawn()). */
static bool clients(int fd, const struct stat *st)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);

	if (S_ISFIFO(st->st_mode))
		return true;
	return S_ISSOCK(st->st_mode) &&
	       !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) &&
	       !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) &&
	       domain == AF_UNIX && type == SOCK_STREAM;
}

/*
 * A description of our own for the stderr @fd of the server: a pipe's
 * reopened non-blocking (the server's is shared, and blocking); a
 * socket's is written with MSG_DONTWAIT. -1 if not a client's.
 */
static int own_copy(int fd)
{
	char path[32];
	struct stat st;
	int own;

	if (fstat(fd, &st) || !clients(fd, &st))
		return -1;
	if (S_ISSOCK(st.st_mode))
		return dup(fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	return own;
}

void notice_track(struct notices *n, __u32 pid, int peer_pidfd)
{
	struct notice_slot *s = slot_of(n, pid);
	int pidfd, err = -1, fd = -1;
	struct stat st;
	size_t i, old = 0;

	if (s)
		slot_free(s);	/* a reused pid */
	/* The peer's own pidfd: not another process that got its pid. */
	pidfd = peer_pidfd >= 0 ? fcntl(peer_pidfd, F_DUPFD_CLOEXEC, 0) :
		syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return;
	err = syscall(SYS_pidfd_getfd, pidfd, 2, 0);
	if (err >= 0 && !fstat(err, &st) && !same_fd(pidfd, 1, &st))
		fd = own_copy(err);
	if (err >= 0)
		close(err);
	if (fd < 0) {
		close(pidfd);
		return;
	}
	for (i = 0; i < NOTICE_SERVERS; i++) {
		if (!n->s[i].pid) {
			old = i;
			break;
		}
		if (n->s[i].seq < n->s[old].seq)
			old = i;
	}
	s = &n->s[old];
	slot_free(s);
	s->pid = pid;
	n->last_pid = 0;	/* a pid without a slot may have one now */
	s->fd = fd;
	s->pidfd = pidfd;
	s->seq = ++n->seq;
}

/* One line, never blocking the agent, at most PIPE_BUF: written whole. */
static void say(const struct notice_slot *s, char *line)
{
	struct stat st;
	char *c;

	/* A path with a newline in it must not make a line of its own. */
	for (c = line; *c; c++)
		if ((unsigned char)*c < 0x20 && c[1])
			*c = '?';
	if (fstat(s->fd, &st))
		return;
	if (S_ISSOCK(st.st_mode))
		send(s->fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	else if (write(s->fd, line, strlen(line)) < 0)
		errno = 0;	/* full (EAGAIN) or gone: dropped */
}

void notice_event(struct notices *n, const struct event_meta *m)
{
	const char *action = event_action_str(m->action), *path;
	struct notice_slot *s;
	char line[PIPE_BUF];
	size_t len;
	int pid = m->pid;

	if (!m->type || !(s = slot_of(n, m->server_pid)))
		return;
	if (!strcmp(m->type, "process_exit") && m->pid == s->pid) {
		s->exited_ns = time_boot_ns();
		n->waiting = true;
		return;
	}
	/* A summary repeats what its first event said. */
	if (!action || !m->rule || m->summary || s->lines >= NOTICES_PER_SERVER ||
	    (m->action != MW_ACTION_DENY && m->action != MW_ACTION_KILL))
		return;
	if (!strcmp(m->type, "process_exec")) {
		path = m->path ? m->path : m->exe;
		snprintf(line, sizeof(line),
			 "mcpwarden: the agent's policy %s the exec of \"%s\" (pid %d): %s\n",
			 m->action != MW_ACTION_KILL ? "refused" : "killed, at its start,",
			 path ? path : "?", pid, m->rule);
	} else if (!strcmp(m->type, "file_open")) {
		path = m->path;
		if (!path)
			return;
		len = strlen(path);
		/* npm goes on without it, silently: on the public registry. */
		snprintf(line, sizeof(line),
			 "mcpwarden: the agent's policy refused the open of \"%s\" (pid %d): %s%s\n",
			 path, pid, m->rule, len >= 7 && !strcmp(path + len - 7, "/.npmrc") ?
			 "; npm runs without this configuration (registry, token, proxy): docs/clients.md says how to let a profile read it" : "");
	} else {
		return;
	}
	s->lines++;
	say(s, line);
}

void notice_settle(struct notices *n, bool reports_owed)
{
	__u64 now = time_boot_ns();
	size_t i;

	n->waiting = false;
	for (i = 0; i < NOTICE_SERVERS; i++) {
		if (!n->s[i].pid || !n->s[i].exited_ns)
			continue;
		if (!reports_owed || now - n->s[i].exited_ns > NOTICE_LINGER_NS)
			slot_free(&n->s[i]);
		else
			n->waiting = true;
	}
}

void notice_poll(struct notices *n)
{
	__u64 now = time_boot_ns();
	size_t i;

	for (i = 0; i < NOTICE_SERVERS; i++) {
		struct notice_slot *s = &n->s[i];
		struct pollfd p = { .fd = s->pidfd, .events = POLLIN };

		/* Its exit event may be lost (it is not a verdict): the pidfd. */
		if (s->pid && !s->exited_ns && poll(&p, 1, 0) == 1) {
			s->exited_ns = now;
			n->waiting = true;
		}
	}
}
