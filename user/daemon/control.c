// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "daemon/control.h"
#include "lib/fdpass.h"
#include "lib/time.h"
#include "lib/log.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static int sockaddr_fill(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int mkdir_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int control_listen(struct control *c, const char *path, int epfd,
		   control_handler handler, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_un sa;
	int ret;

	memset(c, 0, sizeof(*c));
	c->src.kind = EP_CONTROL_LISTEN;
	c->inited = true;
	c->fd = -1;
	c->epfd = epfd;
	c->handler = handler;
	c->arg = arg;
	ret = sockaddr_fill(&sa, path);
	if (ret)
		return ret;
	ret = mkdir_parent(path);
	if (ret)
		return ret;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	/* A stale socket of an agent that died; a live one refuses below. */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(c->fd);
		c->fd = -1;
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0666) || listen(c->fd, 64)) {
		ret = -errno;
		close(c->fd);
		c->fd = -1;
		return ret;
	}
	c->path = strdup(path);
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		ret = -errno;
		control_close(c);
		return ret;
	}
	return 0;
}

static void client_drop(struct control *c, struct control_client *cl)
{
	int i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	free(cl);
}

/*
 * A free slot; when all are taken, the one of the peer that has waited
 * longest: a silent peer cannot lock others out, and a real request is
 * answered within a loop iteration of its arrival.
 */
static int client_slot(struct control *c)
{
	int i, oldest = 0;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		if (!c->clients[i])
			return i;
		if (c->clients[i]->since_ms < c->clients[oldest]->since_ms)
			oldest = i;
	}
	client_drop(c, c->clients[oldest]);
	return oldest;
}

void control_on_listen(struct control *c)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct control_client *cl;
	int fd, i;

	for (;;) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		i = client_slot(c);
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->src.kind = EP_CONTROL_CLIENT;
		cl->fd = fd;
		cl->since_ms = time_mono_ms();
		ev.data.ptr = cl;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(cl);
			continue;
		}
		c->clients[i] = cl;
	}
}

static void client_reply(struct control_client *cl, json_object *resp, int fd)
{
	const char *s = json_object_to_json_string_ext(resp,
						       JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s), off = 0;
	ssize_t n;

	/* Responses are small; a peer that does not read loses its answer. */
	while (off < len) {
		n = off ? send(cl->fd, s + off, len - off,
			       MSG_NOSIGNAL | MSG_DONTWAIT) :
			  send_with_fd(cl->fd, s, len, fd,
				       MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			return;
		off += n;
	}
	send(cl->fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static json_object *error_response(const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

void control_on_client(struct control *c, struct control_client *cl)
{
	struct control_peer peer = { .pidfd = -1 };
	struct ucred cred;
	socklen_t sl = sizeof(cred);
	json_object *req = NULL, *resp;
	enum json_tokener_error jerr;
	int fd = -1;
	char *nl;
	ssize_t n;

	n = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop(c, cl);
		return;
	}
	cl->len += n;
	cl->buf[cl->len] = '\0';
	nl = memchr(cl->buf, '\n', cl->len);
	if (!nl) {
		if (cl->len < sizeof(cl->buf) - 1)
			return;		/* wait for the rest */
		resp = error_response("request longer than 4096 bytes");
		goto reply;
	}
	*nl = '\0';
	if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl)) {
		resp = error_response("cannot identify the peer");
		goto reply;
	}
	peer.pid = cred.pid;
	peer.uid = cred.uid;
	peer.gid = cred.gid;
	sl = sizeof(peer.pidfd);
	if (getsockopt(cl->fd, SOL_SOCKET, SO_PEERPIDFD, &peer.pidfd, &sl))
		peer.pidfd = -1;
	req = json_tokener_parse_verbose(cl->buf, &jerr);
	if (!req || !json_object_is_type(req, json_type_object)) {
		resp = error_response("request is not a JSON object");
		goto reply;
	}
	resp = c->handler(&peer, req, c->arg, &fd);
reply:
	client_reply(cl, resp, fd);
	if (fd >= 0)
		close(fd);
	json_object_put(resp);
	if (req)
		json_object_put(req);
	if (peer.pidfd >= 0)
		close(peer.pidfd);
	client_drop(c, cl);
}

void control_expire(struct control *c)
{
	unsigned long long now = time_mono_ms();
	int i;

	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i] &&
		    now - c->clients[i]->since_ms > CONTROL_IDLE_MS)
			client_drop(c, c->clients[i]);
}

void control_close(struct control *c)
{
	int i;

	if (!c->inited)
		return;
	for (i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i])
			client_drop(c, c->clients[i]);
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->path) {
		unlink(c->path);
		free(c->path);
		c->path = NULL;
	}
	c->inited = false;
}

int control_request(const char *path, json_object *req, json_object **resp,
		    int timeout_ms)
{
	int fd, ret = control_request_fd(path, req, resp, timeout_ms, &fd);

	if (fd >= 0)
		close(fd);
	return ret;
}

/* The fd of an SCM_RIGHTS message in @mh, or -1 (extra ones closed). */
static int fd_of(struct msghdr *mh)
{
	struct cmsghdr *cm;
	int got = -1, fds[8];
	size_t i, n;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > 8)
			n = 8;
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (got < 0)
				got = fds[i];
			else
				close(fds[i]);
		}
	}
	return got;
}

int control_request_fd(const char *path, json_object *req, json_object **resp,
		       int timeout_ms, int *rfd)
{
	char cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct sockaddr_un sa;
	struct pollfd pfd;
	struct msghdr mh;
	struct iovec iov;
	char buf[65536];
	const char *s;
	size_t len = 0;
	ssize_t n;
	int fd, ret, got;

	*resp = NULL;
	*rfd = -1;
	ret = sockaddr_fill(&sa, path);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		goto out;
	}
	s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		ret = -errno;
		goto out;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (len < sizeof(buf) - 1) {
		ret = poll(&pfd, 1, timeout_ms);
		if (ret == 0) {
			ret = -ETIMEDOUT;
			goto out;
		}
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		iov = (struct iovec){ .iov_base = buf + len,
				      .iov_len = sizeof(buf) - 1 - len };
		mh = (struct msghdr){ .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		got = fd_of(&mh);
		if (got >= 0 && *rfd < 0)
			*rfd = got;
		else if (got >= 0)
			close(got);
		if (n == 0)
			break;
		len += n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	*resp = json_tokener_parse(buf);
	ret = *resp ? 0 : -EPROTO;
out:
	close(fd);
	if (ret && *rfd >= 0) {
		close(*rfd);
		*rfd = -1;
	}
	return ret;
}
