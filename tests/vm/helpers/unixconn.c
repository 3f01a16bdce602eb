// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper: "unixconn PATH" connects a unix stream socket to PATH and
 * prints "ok" (and what the server said, on the next line), or
 * "errno N (text)" and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char buf[64];
	ssize_t n;
	int s;

	if (argc != 2 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: unixconn PATH\n");
		return 2;
	}
	strcpy(a.sun_path, argv[1]);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a))) {
		printf("errno %d (%s)\n", errno, strerror(errno));
		return 1;
	}
	printf("ok\n");
	n = read(s, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		fputs(buf, stdout);
	}
	return 0;
}
