// SPDX-License-Identifier: GPL-2.0-only
/*
 * Floods of decisions for the event-pipeline tests and bench/run's events
 * mode, each outcome counted so that what the agent accounts can be
 * compared with what was done. IPv4 only; loopback or a test's namespace.
 *
 *   flood connect ADDR PORT N       N TCP connects to ADDR:PORT
 *   flood connect-distinct ADDR N   N connects, each to another address
 *                                   (ADDR + i) and port (1 + i % 60000)
 *   flood send ADDR PORT N          N UDP sendto()s to ADDR:PORT .. PORT+N-1
 *                                   (distinct ports, one socket)
 *   flood send-deny ADDR PORT N DADDR DPORT
 *                                   as send, with one connect to DADDR:DPORT
 *                                   in the middle; prints "deny E" with its
 *                                   errno as well
 *   flood exec N                    N fork + execve("/bin/true", [true, i])
 *
 * Prints "done N ok O eperm P other X" (exec: "done N ok O failed F").
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static long ok, eperm, other;

static void outcome(int ret)
{
	if (!ret)
		ok++;
	else if (ret == -EPERM)
		eperm++;
	else
		other++;
}

static int connect_to(__u_int addr, unsigned int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		ret = -errno;
	close(fd);
	/* Nobody listens: refused is an allowed connect that reached it. */
	return ret == -ECONNREFUSED ? 0 : ret;
}

static __u_int addr_of(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "flood: %s: not an IPv4 address\n", s);
		exit(2);
	}
	return ntohl(a.s_addr);
}

static int sends(__u_int addr, unsigned int port, long n, const char *daddr,
		 unsigned int dport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(addr) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), deny = 0;
	long i;

	if (fd < 0)
		return 1;
	for (i = 0; i < n; i++) {
		if (daddr && i == n / 2)
			deny = connect_to(addr_of(daddr), dport);
		sa.sin_port = htons(1 + (port + i - 1) % 65535);
		outcome(sendto(fd, "x", 1, 0, (struct sockaddr *)&sa,
			       sizeof(sa)) < 0 ? -errno : 0);
	}
	close(fd);
	printf("done %ld ok %ld eperm %ld other %ld", n, ok, eperm, other);
	if (daddr)
		printf(" deny %d", -deny);
	printf("\n");
	return 0;
}

static int execs(long n)
{
	long i, failed = 0;
	char arg[24];
	int st;

	for (i = 0; i < n; i++) {
		pid_t pid;

		snprintf(arg, sizeof(arg), "%ld", i);
		pid = fork();
		if (pid < 0)
			return 1;
		if (!pid) {
			execl("/bin/true", "true", arg, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		    !WEXITSTATUS(st))
			ok++;
		else
			failed++;
	}
	printf("done %ld ok %ld failed %ld\n", n, ok, failed);
	return 0;
}

int main(int argc, char **argv)
{
	long n, i;

	if (argc == 5 && !strcmp(argv[1], "connect")) {
		__u_int a = addr_of(argv[2]);

		n = atol(argv[4]);
		for (i = 0; i < n; i++)
			outcome(connect_to(a, atoi(argv[3])));
	} else if (argc == 4 && !strcmp(argv[1], "connect-distinct")) {
		__u_int a = addr_of(argv[2]);

		n = atol(argv[3]);
		for (i = 0; i < n; i++)
			outcome(connect_to(a + i, 1 + i % 60000));
	} else if (argc == 5 && !strcmp(argv[1], "send")) {
		return sends(addr_of(argv[2]), atoi(argv[3]), atol(argv[4]),
			     NULL, 0);
	} else if (argc == 7 && !strcmp(argv[1], "send-deny")) {
		return sends(addr_of(argv[2]), atoi(argv[3]), atol(argv[4]),
			     argv[5], atoi(argv[6]));
	} else if (argc == 3 && !strcmp(argv[1], "exec")) {
		return execs(atol(argv[2]));
	} else {
		fprintf(stderr, "usage: flood connect|connect-distinct|send|send-deny|exec ...\n");
		return 2;
	}
	printf("done %ld ok %ld eperm %ld other %ld\n", n, ok, eperm, other);
	return 0;
}
