// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "lib/fdpass.h"
#include "wrapper/interpose.h"
#include "wrapper/serial.h"
#include "wrapper/session.h"

struct relay;

/* One direction: what was read and is not yet written. */
struct dir {
	enum interpose_dir d;
	int from, to;
	bool eof;		/* @from is at its end */
	bool dead;		/* @to refuses: what comes is dropped */
	size_t head, len;	/* buf[head, len) to write */
	struct rpc_scanner sc;
	struct relay *r;
	size_t seg_end;		/* scanning buf up to here */
	size_t cut;		/* bytes before it on_rpc took out (held) */
	bool mid_line;		/* the last byte written was no newline */
	bool mid_out;		/* ... of the call serial_pass() passed on */
	char buf[INTERPOSE_BUF];
};

struct relay {
	struct dir dirs[2];
	struct session_writer sw;
	struct serial ser;
};

/* Serialising, with a call running or waiting: the client's next waits. */
static bool serial_gate(struct relay *r)
{
	return session_serial(&r->sw) && (r->sw.n || serial_busy(&r->ser));
}

/*
 * No call runs (or the option went): the oldest held one goes on. Called
 * at the top of each turn of relay(), before its poll: a held call waits
 * for a response, a cancel or its forerunner's last byte, each of which
 * happens within a turn.
 */
static void serial_pass(struct relay *r)
{
	struct rpc_msg m;

	if (r->sw.n && session_serial(&r->sw))
		return;
	if (serial_next(&r->ser, &m))
		session_on_msg(&r->sw, FROM_CLIENT, &m);	/* begun first */
}

/*
 * A message's line ended at @d->seg_end. A tools/call that must wait is
 * taken out of the buffer whole, if none of it was written yet (the gate
 * holds partial lines back while serialising; a line longer than the
 * buffer was not).
 */
static void on_rpc(void *arg, const struct rpc_msg *m)
{
	struct dir *d = arg;
	struct relay *r = d->r;
	size_t start = d->seg_end - m->bytes;

	if (d->d == FROM_CLIENT && !d->dead &&
	    rpc_is(m, RPC_REQUEST, "tools/call") && serial_gate(r) &&
	    m->bytes <= d->seg_end && start >= d->head &&
	    serial_hold(&r->ser, m, d->buf + start, m->bytes)) {
		memmove(d->buf + start, d->buf + d->seg_end,
			d->len - d->seg_end);
		d->len -= m->bytes;
		d->cut = m->bytes;
		return;
	}
	if (d->d == FROM_CLIENT &&
	    rpc_is(m, RPC_NOTIFICATION, "notifications/cancelled"))
		serial_cancel(&r->ser, m->request_id, m->request_id_is_str);
	session_on_msg(&r->sw, d->d, m);
}

static void dir_compact(struct dir *d)
{
	memmove(d->buf, d->buf + d->head, d->len - d->head);
	d->len -= d->head;
	d->head = 0;
}

/* Scanned a line at a time: on_rpc may take the line it ends out. */
static void dir_read(struct dir *d)
{
	const char *nl;
	size_t pos;
	ssize_t n;

	if (d->head && d->len == sizeof(d->buf))
		dir_compact(d);
	n = read(d->from, d->buf + d->len, sizeof(d->buf) - d->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		d->eof = true;
		return;
	}
	if (d->dead) {
		rpc_feed(&d->sc, d->buf + d->len, n);
		return;
	}
	pos = d->len;
	d->len += n;
	/* mcp.arguments "full", which a reload may change. */
	d->sc.keep_args = d->d == FROM_CLIENT && session_args_on(&d->r->sw);
	while (pos < d->len) {
		nl = memchr(d->buf + pos, '\n', d->len - pos);
		d->seg_end = nl ? (size_t)(nl - d->buf) + 1 : d->len;
		d->cut = 0;
		rpc_feed(&d->sc, d->buf + pos, d->seg_end - pos);
		pos = d->seg_end - d->cut;
	}
}

/*
 * What may be written now (*@n bytes; NULL: nothing), and whether it is
 * the call serial_pass() passed on (*@held). The client's bytes keep
 * their order, and the passed call goes between two lines once the lines
 * before it are out. Serialising, the client's bytes go on to the end of
 * their last whole line, so that a tools/call behind it can still wait;
 * a line already begun, or one that fills the buffer, goes on as it is.
 */
static const char *dir_next(struct dir *d, size_t *n, bool *held)
{
	struct serial *ser = &d->r->ser;
	const char *nl, *out;
	size_t k;

	*held = false;
	*n = d->len - d->head;
	if (d->d != FROM_CLIENT ||
	    (!serial_busy(ser) && !serial_gate(d->r)))
		return *n ? d->buf + d->head : NULL;
	out = serial_out(ser, &k);
	if (out && d->mid_out) {
		*held = true;
		*n = k;
		return out;
	}
	nl = *n ? memrchr(d->buf + d->head, '\n', *n) : NULL;
	if (nl && !d->mid_line) {
		*n = (size_t)(nl - d->buf) + 1 - d->head;
		return d->buf + d->head;
	}
	if (out && !d->mid_line) {
		*held = true;
		*n = k;
		return out;
	}
	if (*n && d->mid_line) {
		/* The rest of the line begun: what follows may still wait. */
		nl = memchr(d->buf + d->head, '\n', *n);
		if (nl)
			*n = (size_t)(nl - d->buf) + 1 - d->head;
		return d->buf + d->head;
	}
	if (*n && !serial_gate(d->r))
		return d->buf + d->head;
	if (!*n || d->len < sizeof(d->buf))
		return NULL;
	if (d->head) {
		dir_compact(d);
		return NULL;
	}
	return d->buf;
}

static bool dir_ready(struct dir *d)
{
	size_t n;
	bool held;

	return dir_next(d, &n, &held) != NULL;
}

static void dir_write(struct dir *d)
{
	const char *b;
	size_t n;
	ssize_t w;
	bool held;

	b = dir_next(d, &n, &held);
	if (!b)
		return;
	/* At most PIPE_BUF after POLLOUT: a blocking pipe or tty does not block. */
	w = write(d->to, b, n < PIPE_BUF ? n : PIPE_BUF);
	if (w < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (w <= 0) {
		d->dead = true;		/* EPIPE: its reader is gone */
		d->head = d->len = 0;
		if (d->d == FROM_CLIENT)
			serial_clear(&d->r->ser);
		return;
	}
	d->mid_line = b[w - 1] != '\n';
	if (held) {
		serial_wrote(&d->r->ser, w);
		d->mid_out = d->mid_line;
		return;
	}
	d->head += w;
	if (d->head == d->len)
		d->head = d->len = 0;
}

/* Nothing left to write: held calls count, they are the client's. */
static bool dir_flushed(const struct dir *d)
{
	return d->dead || (d->head == d->len &&
			   (d->d != FROM_CLIENT || !serial_busy(&d->r->ser)));
}

/* What the client may send us that is the server's: passed on. */
static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1,
				 SIGUSR2, SIGWINCH, SIGALRM };

/* Our stdout, the client's: at its end, though we run on. */
static void stdout_end(void)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	if (null >= 0) {
		dup2(null, STDOUT_FILENO);
		close(null);
	}
}

/* After the server's exit: what it wrote before is in the pipe. */
static void drain_last(struct dir *d)
{
	struct pollfd p = { .fd = d->to, .events = POLLOUT };

	fcntl(d->from, F_SETFL, fcntl(d->from, F_GETFL) | O_NONBLOCK);
	for (;;) {
		while (!d->dead && d->head < d->len) {
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				return;
			dir_write(d);
		}
		if (d->eof || d->dead)
			return;
		d->head = d->len = 0;
		dir_read(d);
		if (d->len == 0)
			return;		/* empty (EAGAIN), or at its end */
	}
}

static void on_signal(int sfd, pid_t server, int *status, bool *exited)
{
	struct signalfd_siginfo si;

	/* Not once it is reaped: its pid may be another's by now. */
	while (!*exited && read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (waitpid(server, status, WNOHANG) == server)
				*exited = true;
		} else if (si.ssi_code != SI_KERNEL) {
			/* A terminal's (SI_KERNEL) reached the group already. */
			kill(server, si.ssi_signo);
		}
	}
}

/* The server's answer on @sock: its page, if it has one. */
static void session_take(int sock, struct session_writer *w)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { .iov_base = &b, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) > 0) {
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	}
	if (fd >= 0)
		session_writer_open(w, fd);
}

/* Relay until the server exits; its wait status. */
static int relay(int server_in, int server_out, int sfd, pid_t server,
		 int sock)
{
	static struct relay r;
	struct dir *dirs = r.dirs;
	struct dir *up = &dirs[FROM_CLIENT], *down = &dirs[FROM_SERVER];
	struct pollfd p[6];
	bool exited = false;
	int i, status = 0;

	for (i = 0; i < 2; i++) {
		memset(&dirs[i], 0, offsetof(struct dir, buf));
		dirs[i].d = i;
		dirs[i].r = &r;
		rpc_scanner_init(&dirs[i].sc, on_rpc, &dirs[i]);
	}
	up->from = STDIN_FILENO;
	up->to = server_in;
	down->from = server_out;
	down->to = STDOUT_FILENO;
	while (!exited) {
		/* A held call's turn: the last one written, or the option gone. */
		serial_pass(&r);
		/* No signalfd: the end of the server's stdout is its end. */
		if (sfd < 0 && down->eof && dir_flushed(down))
			break;
		/* The client's input ended: the server sees its end. */
		if (up->to >= 0 && ((up->eof && dir_flushed(up)) || up->dead)) {
			close(up->to);
			up->to = -1;
			/* Its reader gone: the client's writes fail, as without us. */
			if (up->dead && !up->eof) {
				close(up->from);
				up->eof = true;
			}
		}
		/* The client's stdout gone: so is the server's. */
		if (down->dead && down->from >= 0) {
			close(down->from);
			down->from = -1;
			down->eof = true;
		}
		/* The server closed its stdout and runs on: the client sees the end. */
		if (down->eof && !down->dead && down->to >= 0 && dir_flushed(down)) {
			stdout_end();
			down->to = -1;
		}
		for (i = 0; i < 2; i++) {
			struct dir *d = &dirs[i];

			/* The client's bytes wait for the session's page. */
			/* First: dir_ready() may make room to read into. */
			p[2 * i + 1] = (struct pollfd){
				.fd = d->to >= 0 && !d->dead && dir_ready(d) ?
				      d->to : -1,
				.events = POLLOUT };
			p[2 * i] = (struct pollfd){
				.fd = !d->eof && d->len < sizeof(d->buf) &&
				      (sock < 0 || d != up) ? d->from : -1,
				.events = POLLIN };
		}
		p[4] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[5] = (struct pollfd){ .fd = sock, .events = POLLIN };
		if (poll(p, 6, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (p[2 * i].revents)
				dir_read(&dirs[i]);
			/*
			 * The client's bytes go on at once, without a poll
			 * between: the server's pipe is ours, non-blocking (a
			 * full one says EAGAIN). The client's stdout may block,
			 * or be a terminal others share: written on POLLOUT.
			 */
			if ((p[2 * i + 1].revents ||
			     (p[2 * i].revents && &dirs[i] == up)) &&
			    dirs[i].to >= 0 && !dir_flushed(&dirs[i]))
				dir_write(&dirs[i]);
		}
		if (p[4].revents)
			on_signal(sfd, server, &status, &exited);
		if (p[5].revents) {
			session_take(sock, &r.sw);
			close(sock);
			sock = -1;
		}
	}
	if (!exited) {
		if (up->to >= 0)
			close(up->to);	/* it may wait for its stdin to end */
		if (waitpid(server, &status, 0) != server)
			status = 0;
	}
	serial_clear(&r.ser);	/* never passed on: the server is gone */
	if (down->from >= 0 && down->to >= 0)
		drain_last(down);
	return status;
}

/* The interposer, from the fork on: exits as the server did. */
static void interpose(pid_t server, int server_in, int server_out,
		      const sigset_t *mask, int sock)
{
	int sfd, status, sig;

	prctl(PR_SET_NAME, "mw-interpose");
	/* Same user as the server: not dumpable, so it cannot ptrace us. */
	prctl(PR_SET_DUMPABLE, 0);
	signal(SIGPIPE, SIG_IGN);
	fcntl(server_in, F_SETFL, fcntl(server_in, F_GETFL) | O_NONBLOCK);
	fcntl(server_out, F_SETFL, fcntl(server_out, F_GETFL) | O_NONBLOCK);
	sfd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		/* Relay we must: the server runs. Signals then are ours alone. */
		sigprocmask(SIG_UNBLOCK, mask, NULL);
	}
	status = relay(server_in, server_out, sfd, server, sock);
	if (WIFSIGNALED(status)) {
		sigset_t one;

		sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, mask, NULL);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		prctl(PR_SET_DUMPABLE, 0);
		raise(sig);
		_exit(128 + sig);
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

void interpose_give(int session, int fd)
{
	send_with_fd(session, fd >= 0 ? "s" : "n", 1, fd, MSG_NOSIGNAL);
	close(session);
}

int interpose_fork(int *session)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, chld;
	sigset_t mask, old;
	int in[2], out[2], sp[2], err;
	pid_t parent = getpid(), pid;
	size_t i;

	/* A closed stdio fd would be taken by a pipe: /dev/null holds it. */
	for (i = 0; i <= STDERR_FILENO; i++)
		if (fcntl(i, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR) < 0)
			return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp))
		return -errno;
	if (pipe2(in, O_CLOEXEC)) {
		err = -errno;
		goto close_sp;
	}
	if (pipe2(out, O_CLOEXEC)) {
		err = -errno;
		close(in[0]);
		close(in[1]);
		goto close_sp;
	}
	/* Blocked before the fork: none is lost before the signalfd reads. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	sigprocmask(SIG_BLOCK, &mask, &old);
	/* Ignored, SIGCHLD would not come (the kernel reaps): ours, default. */
	sigaction(SIGCHLD, &dfl, &chld);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		sigaction(SIGCHLD, &chld, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		goto close_sp;
	}
	if (pid > 0) {
		close(in[0]);
		close(out[1]);
		close(sp[1]);
		interpose(pid, in[1], out[0], &mask, sp[0]);
	}
	/* The server: dies with us; its stdio the pipes; the client's signals. */
	sigaction(SIGCHLD, &chld, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(125);	/* the interposer is gone already */
	if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
		_exit(125);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(sp[0]);
	*session = sp[1];
	return 0;
close_sp:
	close(sp[0]);
	close(sp[1]);
	return err;
}
