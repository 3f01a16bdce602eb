// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper: "unixsrv PATH [SECONDS]" listens on the unix stream
 * socket PATH (removing a stale one first), prints "listening" once it
 * does, and answers every connection with "hello" until SECONDS (default
 * 120) have passed: it never outlives a case by much even if left behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s, c;

	if (argc < 2 || strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "usage: unixsrv PATH [SECONDS]\n");
		return 2;
	}
	strcpy(a.sun_path, argv[1]);
	alarm(argc > 2 ? atoi(argv[2]) : 120);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(argv[1]);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s, 16)) {
		printf("unixsrv: %s: errno %d (%s)\n", argv[1], errno,
		       strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (write(c, "hello\n", 6) != 6)
			perror("unixsrv: write");
		close(c);
	}
}
