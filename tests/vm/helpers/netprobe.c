// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper, one network attempt; prints "ok" or "errno N (text)":
 *   netprobe ping ADDR          an ICMP echo through a ping socket
 *                               (SOCK_DGRAM), "ok" once the reply is in
 *   netprobe connect ADDR PORT  a TCP connect (IPv6 if ADDR has a ':')
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int result(int err)
{
	if (err)
		printf("errno %d (%s)\n", err, strerror(err));
	else
		printf("ok\n");
	return 0;
}

static socklen_t addr_of(const char *s, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (strchr(s, ':')) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		return inet_pton(AF_INET6, s, &a6->sin6_addr) == 1 ? sizeof(*a6) : 0;
	}
	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	return inet_pton(AF_INET, s, &a4->sin_addr) == 1 ? sizeof(*a4) : 0;
}

int main(int argc, char **argv)
{
	unsigned char echo[16] = { 8, 0, 0, 0, 0, 0, 0, 1, 'm', 'w' }, buf[64];
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len;
	int fd, six;

	if (argc < 3 || !(len = addr_of(argv[2], argc > 3 ? atoi(argv[3]) : 0, &ss))) {
		fprintf(stderr, "usage: netprobe ping ADDR | connect ADDR PORT\n");
		return 2;
	}
	six = ss.ss_family == AF_INET6;
	if (!strcmp(argv[1], "ping")) {
		if (six)
			echo[0] = 128;	/* ICMPv6 echo request */
		fd = socket(ss.ss_family, SOCK_DGRAM,
			    six ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		if (fd < 0)
			return result(errno);
		if (sendto(fd, echo, sizeof(echo), 0, (struct sockaddr *)&ss, len) < 0)
			return result(errno);
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 5000) != 1)
			return result(ETIMEDOUT);
		return result(recv(fd, buf, sizeof(buf), 0) < 0 ? errno : 0);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return result(errno);
	return result(connect(fd, (struct sockaddr *)&ss, len) ? errno : 0);
}
