// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tight loops for the agent-life tests: each attempt's outcome counted,
 * so that events plus reported losses can be compared with attempts.
 *
 *   loops open PATH N      open(PATH) N times; prints "ok A denied D other O"
 *   loops exec PATH N      vfork + execve(PATH) N times, the same counts
 *                          (a child that ran counts as ok, a refused exec
 *                          or a child killed before it ran as denied)
 *   loops open-until STOP PATH
 *                          open(PATH) until STOP exists; the same counts
 *   loops probe STOP HOST PORT FILE BIN
 *                          until STOP exists: connect, open, exec; prints
 *                          "progress N" every 20 rounds and at the end
 *                          "rounds N connect A open B exec C" (successes)
 *   loops fork-hold N HOST PORT
 *                          fork N children that stay alive; print "forked F
 *                          forkerr E", wait for a line on stdin, then each
 *                          connects once and exits; prints "connected A
 *                          denied D other O"
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int try_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* 0: the child ran; -errno: refused; 1: killed before it could say so. */
static int try_exec(const char *path)
{
	char *argv[] = { (char *)path, NULL };
	volatile int err = 0;
	int st;
	pid_t pid;

	pid = vfork();
	if (pid == 0) {
		execve(path, argv, environ);
		err = errno;	/* vfork: the parent sees it */
		_exit(127);
	}
	if (pid < 0)
		return -errno;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	if (err)
		return -err;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		return 1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 2;
}

static int try_connect(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, ret = 0;

	inet_pton(AF_INET, host, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		ret = -errno;
	close(fd);
	return ret;
}

/* @n attempts, or (n < 0) until @stop exists, looked for every 64. */
static int count(int (*fn)(const char *), const char *path, long n,
		 const char *stop)
{
	long ok = 0, denied = 0, other = 0, i;
	int r;

	for (i = 0; n < 0 ? (i % 64 || access(stop, F_OK)) : i < n; i++) {
		r = fn(path);
		if (r == 0)
			ok++;
		else if (r == -EPERM || r == -EACCES || r == 1)
			denied++;
		else
			other++;
	}
	printf("ok %ld denied %ld other %ld\n", ok, denied, other);
	return 0;
}

static int probe(char **argv)
{
	long rounds = 0, okc = 0, oko = 0, oke = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (access(argv[0], F_OK)) {
		okc += try_connect(argv[1], atoi(argv[2])) == 0;
		oko += try_open(argv[3]) == 0;
		oke += try_exec(argv[4]) == 0;
		if (++rounds % 20 == 0)
			printf("progress %ld\n", rounds);
	}
	printf("rounds %ld connect %ld open %ld exec %ld\n", rounds, okc, oko,
	       oke);
	return 0;
}

/* The child's connect, as its exit status: 0 connected, 1 EPERM, 2 else. */
static int hold_then_connect(int rfd, const char *host, int port)
{
	char c;
	int r;

	while (read(rfd, &c, 1) < 0 && errno == EINTR)
		;
	r = try_connect(host, port);
	return r == 0 ? 0 : r == -EPERM ? 1 : 2;
}

static int fork_hold(long n, const char *host, int port)
{
	long forked = 0, forkerr = 0, res[3] = { 0 }, i;
	char line[16];
	int p[2], st;
	pid_t pid;

	if (pipe(p))
		return 1;
	for (i = 0; i < n; i++) {
		pid = fork();
		if (pid == 0) {
			close(p[1]);
			_exit(hold_then_connect(p[0], host, port));
		}
		if (pid < 0)
			forkerr++;
		else
			forked++;
	}
	close(p[0]);
	printf("forked %ld forkerr %ld\n", forked, forkerr);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	close(p[1]);		/* EOF: every child connects now */
	while ((pid = wait(&st)) > 0)
		res[WIFEXITED(st) && WEXITSTATUS(st) < 3 ? WEXITSTATUS(st) : 2]++;
	printf("connected %ld denied %ld other %ld\n", res[0], res[1], res[2]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "fork-hold"))
		return fork_hold(atol(argv[2]), argv[3], atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "open"))
		return count(try_open, argv[2], atol(argv[3]), NULL);
	if (argc == 4 && !strcmp(argv[1], "exec"))
		return count(try_exec, argv[2], atol(argv[3]), NULL);
	if (argc == 4 && !strcmp(argv[1], "open-until"))
		return count(try_open, argv[3], -1, argv[2]);
	if (argc == 7 && !strcmp(argv[1], "probe"))
		return probe(argv + 2);
	fprintf(stderr, "usage: loops open|exec PATH N | loops open-until STOP PATH | loops probe STOP HOST PORT FILE BIN | loops fork-hold N HOST PORT\n");
	return 2;
}
