// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guard process (guard.h). Single-threaded: it polls the fanotify group
 * and its socket, answers requests as they come, and while the agent's
 * answerer holds some, looks every ANSWER_POLL_MS for those it holds too
 * long (the agent rings its bell when it takes one). It opens nothing
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <json-c/json.h>
#include "guard/guard.h"
#include "guard/peer.h"
#include "kernel/answer.h"
#include "kernel/loader.h"
#include "lib/log.h"
#include "lib/time.h"

#define PINS_CHECK_MS		1000	/* uninstalled behind our back? */
#define GUARD_CLIENTS_MAX	4

struct guard {
	const struct guard_opts *o;
	struct answerer a;
	int listen_fd;
	int clients[GUARD_CLIENTS_MAX];
	char object[65];
	__u32 tracked_id;	/* of the pinned map we opened */
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

/*
 * An administrator of the host (guard/peer.h), and no tracked process: a
 * server must not get the group, even one running as root.
 */
static bool peer_ok(struct guard *g, int fd)
{
	struct mw_tracked t;
	pid_t pid;
	__u32 key;
	int pidfd = peer_admin(fd, &pid);
	bool ok;

	if (pidfd < 0)
		return false;
	key = pid;
	/* Alive after the lookup: not an exited one whose child asks. */
	ok = bpf_map_lookup_elem(g->a.fds.tracked, &key, &t) != 0 &&
	     !pidfd_exited(pidfd);
	close(pidfd);
	return ok;
}

/* One line of JSON and our four fds: the group, the page, the bells. */
static void hello(struct guard *g, int fd, int shm)
{
	char line[256], cbuf[CMSG_SPACE(4 * sizeof(int))] = {};
	struct iovec iov = { .iov_base = line };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int fds[4] = { g->a.group, shm, g->a.bell[0], g->a.bell[1] };

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

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/*
 * Uninstalled behind our back, or installed anew (the pins are other
 * maps than ours): our verdicts would come from maps nobody fills.
 */
static bool pins_changed(const struct guard *g)
{
	char path[PATH_MAX];
	__u32 id;
	int fd;

	snprintf(path, sizeof(path), "%s/mw_tracked", g->o->pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT;
	id = map_id(fd);
	close(fd);
	return id && id != g->tracked_id;
}

static void loop(struct guard *g, int shm)
{
	struct pollfd pfd[3 + GUARD_CLIENTS_MAX];
	__u64 next_check = time_mono_ms() + PINS_CHECK_MS, now;
	int i, n, timeout;

	while (!g->stop) {
		pfd[0] = (struct pollfd){ .fd = g->a.group, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = g->listen_fd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = g->a.bell[SIDE_GUARD],
					  .events = POLLIN };
		for (i = 0; i < GUARD_CLIENTS_MAX; i++)
			pfd[3 + i] = (struct pollfd){ .fd = g->clients[i],
						      .events = POLLIN };
		now = time_mono_ms();
		timeout = answer_timeout(&g->a);
		if (timeout < 0 || next_check - now < (__u64)timeout)
			timeout = next_check > now ? (int)(next_check - now) : 0;
		n = poll(pfd, 3 + GUARD_CLIENTS_MAX, timeout);
		answer_woken(&g->a);
		if (n < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			answer_pending(&g->a);
		answer_watchdog(&g->a);
		if (pfd[1].revents & POLLIN)
			on_listen(g, shm);
		for (i = 0; i < GUARD_CLIENTS_MAX; i++)
			if (g->clients[i] >= 0 && pfd[3 + i].revents)
				on_client(g, i);
		if (time_mono_ms() >= next_check) {
			next_check = time_mono_ms() + PINS_CHECK_MS;
			if (pins_changed(g)) {
				log_msg("guard: the pins under \"%s\" are gone or another install's: stopping",
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

/*
 * The guard is the part meant to outlive an agent the OOM killer takes;
 * it is a few hundred KiB. Best effort: lowering needs CAP_SYS_RESOURCE.
 */
static void oom_protect(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, "-1000", 5) != 5)
			log_msg("guard: oom_score_adj -1000: %s (CAP_SYS_RESOURCE?): the OOM killer may pick the guard",
				strerror(errno));
		close(fd);
	}
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
	g->tracked_id = map_id(g->a.fds.tracked);
	/* Unlimited: a full queue would have the kernel allow what overflows. */
	g->a.group = o->group >= 0 ? o->group :
		     fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK |
				   FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
				   O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (g->a.group < 0) {
		ret = -errno;
		log_msg("guard: the fanotify group: %s", strerror(-ret));
		return ret;
	}
	if (o->bell[0] >= 0) {
		g->a.bell[0] = o->bell[0];
		g->a.bell[1] = o->bell[1];
	} else if ((ret = answer_bells_create(g->a.bell))) {
		log_msg("guard: the bells: %s", strerror(-ret));
		return ret;
	}
	/* An earlier build's page (another layout): a new one, ours. */
	if (o->shm >= 0) {
		*shm = o->shm;
		g->a.shm = answer_shared_map(*shm, false);
		if (!g->a.shm) {
			close(*shm);
			*shm = -1;
		}
	}
	if (!g->a.shm) {
		*shm = answer_shared_create();
		if (*shm < 0) {
			log_msg("guard: the shared page: %s", strerror(-*shm));
			return *shm;
		}
		g->a.shm = answer_shared_map(*shm, true);
		if (!g->a.shm)
			return -errno;
	}
	ret = answer_attach(&g->a, SIDE_GUARD);
	if (ret) {
		log_msg("guard: another guard (pid %d) answers this group",
			g->a.shm->pid[SIDE_GUARD]);
		return ret;
	}
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
	struct guard g = { .o = o, .listen_fd = -1,
			   .a = { .bell = { -1, -1 } } };
	char path[PATH_MAX];
	int shm = -1, ret, i;

	/* Only an uninstall stops it ("exit" on its socket). */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Nobody reads our memory through /proc, and the OOM killer spares us. */
	prctl(PR_SET_DUMPABLE, 0);
	oom_protect();
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
	answer_detach(&g.a);
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
	for (i = 0; i < ANSWER_SIDES; i++)
		if (g.a.bell[i] >= 0)
			close(g.a.bell[i]);
	/* With the agent's copy gone too, the group and its marks go. */
	if (g.a.group >= 0)
		close(g.a.group);
	return ret ? 1 : 0;
}
