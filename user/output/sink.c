// SPDX-License-Identifier: GPL-2.0-only
/*
 * Output sinks. Every sink owns a queue of whole frames (a JSON line and its
 * newline, or one octet-counted syslog message). Files and terminals are
 * written with blocking writes at the end of each loop turn; sockets and
 * pipes are non-blocking, registered for EPOLLOUT while their queue holds
 * something, and drop (counting) what does not fit in the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "lib/time.h"
#include "lib/hostport.h"
#include "lib/log.h"
#include "output/sink.h"

#define BLOCKING_QUEUE	(64U << 10)	/* batch for files and terminals */
#define SYSLOG_HDR_MAX	512

static bool is_socket(const struct sink *s)
{
	return s->kind == SINK_UNIX || s->kind == SINK_TCP ||
	       s->kind == SINK_SYSLOG;
}

static int parse_hostport(struct sink *s, const char *hp, char *err,
			  size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256], port[8];
	int ret;

	if (hostport_split(hp, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "--output \"%s\": expected HOST:PORT (an IPv6 address in brackets)",
			 s->name);
		return -EINVAL;
	}
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "--output \"%s\": cannot resolve \"%s\": %s",
			 s->name, host, gai_strerror(ret));
		return -EINVAL;
	}
	memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
	s->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int sink_parse(struct sink *s, const char *spec, __u64 rotate_size,
	       size_t queue, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&s->addr;
	const char *rest = spec;
	size_t n;
	int ret;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->epfd = -1;
	s->rotate_size = rotate_size;
	s->qcap = queue ? queue : SINK_QUEUE_DEFAULT;
	s->backoff_ms = SINK_BACKOFF_MIN_MS;
	s->name = strdup(spec);
	if (!s->name)
		return -ENOMEM;
	if (!strcmp(spec, "-")) {
		s->kind = SINK_STDOUT;
		return 0;
	}
	if (!strncmp(spec, "file:", 5)) {
		s->kind = SINK_FILE;
		rest = spec + 5;
	} else if (!strncmp(spec, "unix:", 5)) {
		s->kind = SINK_UNIX;
		rest = spec + 5;
	} else if (!strncmp(spec, "tcp:", 4)) {
		s->kind = SINK_TCP;
		rest = spec + 4;
	} else if (!strncmp(spec, "syslog+tcp:", 11)) {
		s->kind = SINK_SYSLOG;
		rest = spec + 11;
	} else {
		/* "udp:..." is a typo rather than a file name: say so. */
		n = strspn(spec, "abcdefghijklmnopqrstuvwxyz0123456789+");
		if (n && spec[n] == ':') {
			snprintf(err, errlen, "--output \"%s\": unknown kind \"%.*s:\" (one of file:, unix:, tcp:, syslog+tcp:; write ./%s for a file so named)",
				 spec, (int)n, spec, spec);
			return -EINVAL;
		}
		s->kind = SINK_FILE;
	}
	if (!*rest) {
		snprintf(err, errlen, "--output \"%s\": empty %s", spec,
			 s->kind == SINK_FILE ? "file name" :
			 s->kind == SINK_UNIX ? "socket path" : "address");
		return -EINVAL;
	}
	switch (s->kind) {
	case SINK_FILE:
		s->path = strdup(rest);
		return s->path ? 0 : -ENOMEM;
	case SINK_UNIX:
		if (strlen(rest) >= sizeof(sun->sun_path)) {
			snprintf(err, errlen, "--output \"%s\": socket path longer than %zu bytes",
				 spec, sizeof(sun->sun_path) - 1);
			return -ENAMETOOLONG;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, rest);
		s->addrlen = sizeof(*sun);
		s->path = strdup(rest);
		return s->path ? 0 : -ENOMEM;
	default:
		ret = parse_hostport(s, rest, err, errlen);
		if (ret)
			return ret;
		gethostname(s->hostname, sizeof(s->hostname) - 1);
		s->pid = getpid();
		return 0;
	}
}

/* Where the frame starting at @off ends. */
static size_t frame_end(const struct sink *s, size_t off)
{
	const char *p = s->q + off, *end = s->q + s->tail, *nl;
	size_t len = 0;

	if (s->kind == SINK_SYSLOG) {
		while (p < end && *p >= '0' && *p <= '9')
			len = len * 10 + (*p++ - '0');
		off = (p - s->q) + 1 + len;
		return off < s->tail ? off : s->tail;
	}
	nl = memchr(p, '\n', end - p);
	return nl ? (size_t)(nl - s->q) + 1 : s->tail;
}

static void advance(struct sink *s, size_t n)
{
	size_t e;

	s->head += n;
	/* All written (the usual case): every frame is whole, none sought. */
	if (s->head == s->tail) {
		s->lines[0] += s->nframes;
		s->nframes = 0;
		s->head = s->tail = s->fstart = 0;
		return;
	}
	while (s->fstart < s->head) {
		e = frame_end(s, s->fstart);
		if (e > s->head)
			break;
		s->fstart = e;
		s->lines[0]++;
		s->nframes--;
	}
}

/* Drop everything queued (a dead pipe, a failing disk). */
static void drop_queue(struct sink *s)
{
	s->lost_error += s->nframes;
	s->nframes = 0;
	s->head = s->tail = s->fstart = 0;
}

static void ep_update(struct sink *s)
{
	struct epoll_event ev = { .data.ptr = s };
	__u32 want;

	if (s->fd < 0 || s->epfd < 0 || s->blocking)
		return;
	want = (is_socket(s) ? EPOLLIN : 0) |
	       (s->connecting || s->tail > s->head ? EPOLLOUT : 0);
	if (s->registered && want == s->ep_events)
		return;
	ev.events = want;
	if (!epoll_ctl(s->epfd, s->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
		       s->fd, &ev)) {
		s->registered = true;
		s->ep_events = want;
	}
}

static void close_fd(struct sink *s)
{
	if (s->fd < 0)
		return;
	if (s->registered)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->registered = false;
	s->ep_events = 0;
	if (s->kind != SINK_STDOUT)
		close(s->fd);
	s->fd = -1;
	s->connecting = false;
}

/* The peer went away (@err 0: it closed) or never came: retry later. */
static void conn_lost(struct sink *s, int err)
{
	if (!s->warned)
		log_msg("--output \"%s\": %s, retrying in the background",
			s->name, err ? strerror(-err) : "closed by the peer");
	s->warned = true;
	close_fd(s);
	/* A frame half sent is useless to the next peer: skip its rest. */
	if (s->head > s->fstart) {
		s->head = frame_end(s, s->fstart);
		s->lost_error++;
		advance(s, 0);
	}
	s->retry_ms = time_mono_ms() + s->backoff_ms;
	s->backoff_ms = s->backoff_ms * 2 > SINK_BACKOFF_MAX_MS ?
			SINK_BACKOFF_MAX_MS : s->backoff_ms * 2;
}

static void connected(struct sink *s)
{
	s->connecting = false;
	if (s->warned)
		log_msg("--output \"%s\": connected", s->name);
	s->warned = false;
	s->backoff_ms = SINK_BACKOFF_MIN_MS;
}

static void sock_connect(struct sink *s)
{
	int fd, one = 1, err;

	fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		conn_lost(s, -errno);
		return;
	}
	if (s->kind != SINK_UNIX) {
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	s->fd = fd;
	if (!connect(fd, (struct sockaddr *)&s->addr, s->addrlen)) {
		connected(s);
	} else if (errno == EINPROGRESS) {
		s->connecting = true;
	} else {
		err = -errno;
		conn_lost(s, err);
		return;
	}
	ep_update(s);
}

/*
 * Open FILE for appending. Only a regular file rotates: renaming a device
 * (--output /dev/null) or a fifo away breaks it for everyone.
 */
static int file_open(struct sink *s)
{
	struct stat st;

	s->fd = open(s->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (s->fd < 0)
		return -errno;
	if (fstat(s->fd, &st))
		return -errno;
	s->rotatable = S_ISREG(st.st_mode);
	s->size = s->rotatable ? st.st_size : 0;
	s->lines[0] = 0;
	s->lines_known[0] = !s->size;
	return 0;
}

int sink_open(struct sink *s, int epfd, char *err, size_t errlen)
{
	struct stat st;
	int ret, fl;

	s->epfd = epfd;
	switch (s->kind) {
	case SINK_STDOUT:
		s->fd = STDOUT_FILENO;
		/* A pipe or socket may have a slow reader; a tty may not. */
		s->blocking = fstat(s->fd, &st) ||
			      !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
		if (!s->blocking) {
			fl = fcntl(s->fd, F_GETFL);
			if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK))
				s->blocking = true;
		}
		break;
	case SINK_FILE:
		s->blocking = true;
		ret = file_open(s);
		if (ret) {
			snprintf(err, errlen, "--output \"%s\": %s", s->name,
				 strerror(-ret));
			return ret;
		}
		break;
	default:
		break;
	}
	if (s->blocking)
		s->qcap = BLOCKING_QUEUE;
	s->q = malloc(s->qcap);
	if (!s->q)
		return -ENOMEM;
	if (is_socket(s))
		sock_connect(s);
	else
		ep_update(s);
	return 0;
}

size_t sink_queued(const struct sink *s)
{
	return s->tail - s->head;
}

static void file_rotate(struct sink *s);

/*
 * A write failed (a full disk, a file size limit): no half line may stay.
 * Cut a regular file back to the end of its last whole line (where that
 * fails, the next line starts on a line of its own). A full disk under a
 * rotating file is made room on by rotating: the oldest file goes (and is
 * said lost) rather than the newest events. True: write again.
 */
static bool write_failed(struct sink *s, int err, bool retried)
{
	size_t part = s->head - s->fstart;

	if (part && s->rotatable && !ftruncate(s->fd, s->size - part)) {
		s->size -= part;
		s->head = s->fstart;	/* that line again, whole */
		part = 0;
	}
	if (err == ENOSPC && s->rotatable && s->rotate_size && !retried &&
	    !part && s->size) {
		file_rotate(s);
		return true;
	}
	if (!s->warned)
		log_msg("--output \"%s\": %s, dropping lines", s->name,
			strerror(err));
	s->warned = true;
	if (part)
		s->need_newline = true;
	drop_queue(s);
	return false;
}

/* Files and terminals: write it all now. */
static void flush_blocking(struct sink *s)
{
	bool retried = false;
	ssize_t n;

	if (s->fd >= 0 && s->need_newline && s->head < s->tail) {
		if (write(s->fd, "\n", 1) != 1) {
			drop_queue(s);
			return;
		}
		s->size++;
		s->need_newline = false;
	}
	while (s->fd >= 0 && s->head < s->tail) {
		n = write(s->fd, s->q + s->head, s->tail - s->head);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (write_failed(s, n < 0 ? errno : EIO, retried)) {
				retried = true;
				continue;
			}
			return;
		}
		s->size += n;
		if (s->warned && s->head + n == s->tail)
			s->warned = false;	/* it writes again */
		advance(s, n);
	}
}

void sink_flush(struct sink *s)
{
	ssize_t n;

	if (s->blocking) {
		flush_blocking(s);
		return;
	}
	while (s->fd >= 0 && !s->connecting && s->head < s->tail) {
		if (is_socket(s))
			n = send(s->fd, s->q + s->head, s->tail - s->head,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		else
			n = write(s->fd, s->q + s->head, s->tail - s->head);
		if (n > 0) {
			advance(s, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (is_socket(s)) {
			conn_lost(s, n < 0 ? -errno : -EPIPE);
			return;
		}
		if (!s->warned)
			log_msg("--output \"%s\": %s, dropping lines", s->name,
				n < 0 ? strerror(errno) : "short write");
		s->warned = true;
		drop_queue(s);
		break;
	}
	ep_update(s);
}

/* Newlines in @path: the lines of a file an earlier run wrote. */
static __u64 count_lines(const char *path)
{
	char buf[65536];
	__u64 n = 0;
	ssize_t len, i;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	while ((len = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < len; i++)
			n += buf[i] == '\n';
	close(fd);
	return n;
}

/*
 * FILE becomes FILE.1, ... FILE.KEEP-1 becomes FILE.KEEP: what FILE.KEEP
 * held is gone, and said (events_lost, reason "rotated"), whether or not
 * a shipper read it.
 */
static void file_rotate(struct sink *s)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	struct stat st;
	int i, ret;

	snprintf(to, sizeof(to), "%s.%d", s->path, SINK_KEEP);
	if (!stat(to, &st) && S_ISREG(st.st_mode))
		s->lost_rotated += s->lines_known[SINK_KEEP] ?
				   s->lines[SINK_KEEP] : count_lines(to);
	for (i = SINK_KEEP - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", s->path, i);
		snprintf(to, sizeof(to), "%s.%d", s->path, i + 1);
		if (rename(from, to) && errno != ENOENT)
			log_debug("rotating \"%s\": %s", from, strerror(errno));
		s->lines[i + 1] = s->lines[i];
		s->lines_known[i + 1] = s->lines_known[i];
	}
	snprintf(to, sizeof(to), "%s.1", s->path);
	if (rename(s->path, to)) {
		if (!s->warned)
			log_msg("--output \"%s\": rotating: %s, appending",
				s->name, strerror(errno));
		s->warned = true;
		s->size = 0;	/* try again after another rotate_size */
		return;
	}
	s->lines[1] = s->lines[0];
	s->lines_known[1] = s->lines_known[0];
	close(s->fd);
	ret = file_open(s);
	if (ret)
		log_msg("--output \"%s\": reopening after rotation: %s",
			s->name, strerror(-ret));
}

static int syslog_header(char *hdr, size_t len, int pri, const char *time,
			 const char *host, int pid, const char *msgid)
{
	char ts[40] = "-", id[33], hn[256];
	size_t i, k, n;

	/* RFC 3339 with at most 6 fraction digits (RFC 5424 TIME-SECFRAC). */
	if (time && strlen(time) >= 20 && time[4] == '-' && time[10] == 'T' &&
	    time[19] != '\0') {
		memcpy(ts, time, 19);
		n = 19;
		if (time[19] == '.') {
			ts[n++] = '.';
			for (i = 20; i < 26 && time[i] >= '0' && time[i] <= '9'; i++)
				ts[n++] = time[i];
			if (n == 20)
				n--;
		}
		ts[n++] = 'Z';
		ts[n] = '\0';
	}
	/* PRINTUSASCII only, bounded: MSGID 32, HOSTNAME 255. */
	for (i = k = 0; msgid && msgid[i] && k < sizeof(id) - 1; i++)
		if (msgid[i] > 32 && msgid[i] < 127)
			id[k++] = msgid[i];
	id[k] = '\0';
	for (i = k = 0; host && host[i] && k < sizeof(hn) - 1; i++)
		if (host[i] > 32 && host[i] < 127)
			hn[k++] = host[i];
	hn[k] = '\0';
	return snprintf(hdr, len, "<%d>1 %s %s mcpwarden %d %s - ", pri, ts,
			hn[0] ? hn : "-", pid, id[0] ? id : "-");
}

int sink_syslog_frame(char *buf, size_t buflen, int pri, const char *time,
		      const char *host, int pid, const char *msgid,
		      const char *msg, size_t msglen)
{
	char hdr[SYSLOG_HDR_MAX];
	int hl, pl;

	hl = syslog_header(hdr, sizeof(hdr), pri, time, host, pid, msgid);
	pl = snprintf(buf, buflen, "%zu ", hl + msglen);
	if (pl < 0 || (size_t)pl + hl + msglen > buflen)
		return -ENOSPC;
	memcpy(buf + pl, hdr, hl);
	memcpy(buf + pl + hl, msg, msglen);
	return pl + hl + msglen;
}

/* Make room for @need bytes at the tail; false if the queue cannot. */
static bool reserve(struct sink *s, size_t need)
{
	if (need > s->qcap - (s->tail - s->head))
		return false;
	if (s->tail + need > s->qcap) {
		memmove(s->q, s->q + s->head, s->tail - s->head);
		s->tail -= s->head;
		s->fstart -= s->head;
		s->head = 0;
	}
	return true;
}

void sink_write(struct sink *s, const char *line, size_t len,
		const char *type, const char *time, bool warning)
{
	char hdr[SYSLOG_HDR_MAX], pre[24];
	size_t need;
	int hl = 0, pl = 0;

	if (!s->q)
		return;
	if (s->kind == SINK_SYSLOG) {
		hl = syslog_header(hdr, sizeof(hdr),
				   SINK_SYSLOG_FACILITY * 8 + (warning ? 4 : 6),
				   time, s->hostname, s->pid, type);
		pl = snprintf(pre, sizeof(pre), "%zu ", hl + len);
		need = pl + hl + len;
	} else {
		need = len + 1;
	}
	if (s->kind == SINK_FILE && s->rotatable && s->rotate_size && s->fd >= 0 &&
	    s->size + sink_queued(s) + need > s->rotate_size &&
	    s->size + sink_queued(s) > 0) {
		flush_blocking(s);
		file_rotate(s);
	}
	if (s->blocking && !reserve(s, need)) {
		flush_blocking(s);
		if (need > s->qcap) {
			/* One line larger than the batch: on its own. */
			char *big = malloc(need);

			if (!big) {
				s->lost_error++;
				return;
			}
			free(s->q);
			s->q = big;
			s->qcap = need;
		}
	}
	if (!reserve(s, need)) {
		s->lost_full++;
		return;
	}
	if (s->kind == SINK_SYSLOG) {
		memcpy(s->q + s->tail, pre, pl);
		memcpy(s->q + s->tail + pl, hdr, hl);
		memcpy(s->q + s->tail + pl + hl, line, len);
	} else {
		memcpy(s->q + s->tail, line, len);
		s->q[s->tail + len] = '\n';
	}
	s->tail += need;
	s->nframes++;
	if (s->blocking && s->qcap > BLOCKING_QUEUE) {
		/* Back to the usual batch after an oversized line. */
		flush_blocking(s);
		free(s->q);
		s->qcap = BLOCKING_QUEUE;
		s->q = malloc(s->qcap);
		s->head = s->tail = s->fstart = s->nframes = 0;
	}
}

void sink_on_event(struct sink *s, __u32 events)
{
	char buf[4096];
	socklen_t sl = sizeof(int);
	int soerr = 0;
	ssize_t n;

	if (s->fd < 0)
		return;
	if (is_socket(s) && s->connecting) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			conn_lost(s, soerr ? -soerr : -errno);
			return;
		}
		connected(s);
	}
	if (is_socket(s) && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
		/* A sink peer has nothing to say: read only to see it go. */
		for (;;) {
			n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0)
				continue;
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
			    !(events & (EPOLLERR | EPOLLHUP)))
				break;
			conn_lost(s, n < 0 && errno != EAGAIN ? -errno : 0);
			return;
		}
	}
	sink_flush(s);
}

void sink_tick(struct sink *s, __u64 now_ms)
{
	if (is_socket(s) && s->q && s->fd < 0 && now_ms >= s->retry_ms)
		sock_connect(s);
}

void sink_close(struct sink *s)
{
	close_fd(s);
	free(s->q);
	free(s->name);
	free(s->path);
	s->q = s->name = s->path = NULL;
}

int sinks_add(struct sinks *ss, const char *spec, __u64 rotate_size,
	      size_t queue, char *err, size_t errlen)
{
	int ret;

	if (ss->n >= SINK_MAX) {
		snprintf(err, errlen, "--output \"%s\": at most %d outputs",
			 spec, SINK_MAX);
		return -E2BIG;
	}
	ret = sink_parse(&ss->v[ss->n], spec, rotate_size, queue, err, errlen);
	if (ret) {
		sink_close(&ss->v[ss->n]);
		return ret;
	}
	ss->v[ss->n].src.kind = EP_SINK;
	ss->n++;
	return 0;
}

int sinks_open(struct sinks *ss, int epfd, char *err, size_t errlen)
{
	size_t i;
	int ret;

	for (i = 0; i < ss->n; i++) {
		ret = sink_open(&ss->v[i], epfd, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

void sinks_write(struct sinks *ss, const char *line, size_t len,
		 const char *type, const char *time, bool warning)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		sink_write(&ss->v[i], line, len, type, time, warning);
}

void sinks_flush(struct sinks *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		sink_flush(&ss->v[i]);
}

void sinks_tick(struct sinks *ss)
{
	__u64 now = time_mono_ms();
	size_t i;

	for (i = 0; i < ss->n; i++)
		sink_tick(&ss->v[i], now);
}

bool sinks_idle(const struct sinks *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		if (sink_queued(&ss->v[i]) ||
		    (is_socket(&ss->v[i]) && ss->v[i].fd < 0))
			return false;
	return true;
}

void sinks_drain(struct sinks *ss)
{
	__u64 deadline = time_mono_ms() + SINK_DRAIN_MS, now;
	struct pollfd pfd;
	size_t i;

	for (i = 0; i < ss->n; i++) {
		struct sink *s = &ss->v[i];

		sink_flush(s);
		while (s->fd >= 0 && sink_queued(s) &&
		       (now = time_mono_ms()) < deadline) {
			pfd = (struct pollfd){ .fd = s->fd, .events = POLLOUT };
			if (poll(&pfd, 1, deadline - now) <= 0)
				break;
			sink_on_event(s, s->connecting ? EPOLLOUT :
				      (pfd.revents & (POLLERR | POLLHUP) ?
				       EPOLLERR : EPOLLOUT));
		}
	}
}

void sinks_close(struct sinks *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		sink_close(&ss->v[i]);
	ss->n = 0;
}
