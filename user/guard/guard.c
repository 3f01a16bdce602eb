// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guard process (guard.h). Single-threaded: it polls the fanotify group
 * and its socket, answers requests as they come, and every ANSWER_POLL_MS
 * looks for requests the agent's answerer holds too long. It opens nothing
 * but procfs and bpffs files, so it never waits on a mark of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <json-c/json.h>
#include "guard/guard.h"
#include "kernel/answer.h"
#include "kernel/loader.h"
#include "lib/log.h"
#include "lib/time.h"

#define ANSWER_POLL_MS		50	/* the watchdog's period */
#define PINS_CHECK_MS		1000	/* uninstalled behind our back? */
#define GUARD_CLIENTS_MAX	4

struct guard {
	const struct guard_opts *o;
	struct answerer a;
	int listen_fd;
	int clients[GUARD_CLIENTS_MAX];
	char object[65];
	bool stop;
};

static int listen_on(const char *state_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", state_dir,
		     GUARD_SOCKET) >= (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A guard that answers is running: we are not needed. */
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(sa.sun_path, 0600) || listen(fd, 4)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Only root, and no tracked process: a server must not get the group. */
static bool peer_ok(struct guard *g, int fd)
{
	struct mw_tracked t;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	__u32 pid;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    cred.uid != 0)
		return false;
	pid = cred.pid;
	return bpf_map_lookup_elem(g->a.fds.tracked, &pid, &t) != 0;
}

/* One line of JSON and our two fds. */
static void hello(struct guard *g, int fd, int shm)
{
	char line[256], cbuf[CMSG_SPACE(2 * sizeof(int))] = {};
	struct iovec iov = { .iov_base = line };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fds[2] = { g->a.group, shm };

	iov.iov_len = snprintf(line, sizeof(line),
			       "{\"pid\":%d,\"object\":\"%s\",\"version\":\"%s\"}\n",
			       getpid(), g->object, MW_VERSION);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void on_listen(struct guard *g, int shm)
{
	int fd, i;

	while ((fd = accept4(g->listen_fd, NULL, NULL,
			     SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (!peer_ok(g, fd)) {
			close(fd);
			continue;
		}
		hello(g, fd, shm);
		for (i = 0; i < GUARD_CLIENTS_MAX && g->clients[i] >= 0; i++)
			;
		if (i == GUARD_CLIENTS_MAX) {
			close(fd);
			continue;
		}
		g->clients[i] = fd;
	}
}

/* A client says "exit" (an uninstall) or goes away. */
static void on_client(struct guard *g, int i)
{
	char buf[64];
	ssize_t n = recv(g->clients[i], buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		buf[n] = '\0';
		if (!strncmp(buf, "exit", 4))
			g->stop = true;
		return;
	}
	close(g->clients[i]);
	g->clients[i] = -1;
}

static bool pins_gone(const struct guard_opts *o)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/mw_meta", o->pin_dir);
	return access(path, F_OK) && errno == ENOENT;
}

static void loop(struct guard *g, int shm)
{
	struct pollfd pfd[2 + GUARD_CLIENTS_MAX];
	__u64 next_check = time_mono_ms() + PINS_CHECK_MS;
	int i, n;

	while (!g->stop) {
		pfd[0] = (struct pollfd){ .fd = g->a.group, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = g->listen_fd, .events = POLLIN };
		for (i = 0; i < GUARD_CLIENTS_MAX; i++)
			pfd[2 + i] = (struct pollfd){ .fd = g->clients[i],
						      .events = POLLIN };
		n = poll(pfd, 2 + GUARD_CLIENTS_MAX, ANSWER_POLL_MS);
		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			while (answer_pending(&g->a) > 0)
				;
		answer_watchdog(&g->a);
		if (pfd[1].revents & POLLIN)
			on_listen(g, shm);
		for (i = 0; i < GUARD_CLIENTS_MAX; i++)
			if (g->clients[i] >= 0 && pfd[2 + i].revents)
				on_client(g, i);
		if (time_mono_ms() >= next_check) {
			next_check = time_mono_ms() + PINS_CHECK_MS;
			if (pins_gone(g->o)) {
				log_msg("guard: the pins under \"%s\" are gone: stopping",
					g->o->pin_dir);
				break;
			}
		}
	}
}

/*
 * Out of the agent's cgroup, so that what ends the agent's unit or pod
 * (killing its cgroup) leaves the guard: first into the host's cgroup
 * namespace (a pod has its own, and cannot leave its subtree from it),
 * then into @dir, made if needed.
 */
static int move_to_cgroup(const char *dir)
{
	char path[PATH_MAX];
	int ns;
	FILE *f;

	ns = open("/proc/1/ns/cgroup", O_RDONLY | O_CLOEXEC);
	if (ns >= 0) {
		setns(ns, CLONE_NEWCGROUP);	/* already there: a no-op */
		close(ns);
	}
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "%d\n", getpid());
	return fclose(f) ? -errno : 0;
}

static int guard_setup(struct guard *g, int *shm)
{
	const struct guard_opts *o = g->o;
	__u8 digest[32];
	int ret, i;

	loader_object_digest(digest);
	for (i = 0; i < 32; i++)
		snprintf(g->object + 2 * i, 3, "%02x", digest[i]);
	ret = answer_fds_open(o->pin_dir, &g->a.fds);
	if (ret) {
		log_msg("guard: the pinned maps under \"%s\": %s", o->pin_dir,
			strerror(-ret));
		return ret;
	}
	g->a.group = o->group >= 0 ? o->group :
		     fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
				   O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	*shm = o->shm >= 0 ? o->shm : answer_shared_create();
	if (g->a.group < 0 || *shm < 0) {
		ret = g->a.group < 0 ? -errno : *shm;
		log_msg("guard: the fanotify group: %s", strerror(-ret));
		return ret;
	}
	g->a.shm = answer_shared_map(*shm, o->shm < 0);
	if (!g->a.shm)
		return -errno;
	g->a.side = SIDE_GUARD;
	g->a.shm->pid[SIDE_GUARD] = getpid();
	g->listen_fd = listen_on(o->state_dir);
	if (g->listen_fd < 0) {
		log_msg("guard: listening on %s/%s: %s", o->state_dir,
			GUARD_SOCKET, strerror(-g->listen_fd));
		return g->listen_fd;
	}
	return 0;
}

int guard_main(const struct guard_opts *o)
{
	struct guard g = { .o = o, .listen_fd = -1 };
	char path[PATH_MAX];
	int shm = -1, ret, i;

	/* Only an uninstall stops it ("exit" on its socket). */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < GUARD_CLIENTS_MAX; i++)
		g.clients[i] = -1;
	if (o->cgroup && (ret = move_to_cgroup(o->cgroup)))
		log_msg("guard: --cgroup \"%s\": %s, ignoring", o->cgroup,
			strerror(-ret));
	ret = guard_setup(&g, &shm);
	if (o->ready >= 0) {
		if (!ret && write(o->ready, "r", 1) != 1)
			ret = -errno;
		close(o->ready);
	}
	if (!ret)
		loop(&g, shm);
	if (g.a.shm)
		g.a.shm->pid[SIDE_GUARD] = 0;
	for (i = 0; i < GUARD_CLIENTS_MAX; i++)
		if (g.clients[i] >= 0)
			close(g.clients[i]);
	if (g.listen_fd >= 0) {
		snprintf(path, sizeof(path), "%s/%s", o->state_dir, GUARD_SOCKET);
		unlink(path);
		close(g.listen_fd);
	}
	answer_shared_unmap(g.a.shm);
	answer_fds_close(&g.a.fds);
	/* With the agent's copy gone too, the group and its marks go. */
	if (g.a.group >= 0)
		close(g.a.group);
	return ret ? 1 : 0;
}
