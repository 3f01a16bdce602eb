// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper: "fexec PATH [ARGS...]" opens PATH with O_PATH and runs it
 * with execveat(fd, "", [PATH, ARGS...], environ, AT_EMPTY_PATH): an exec
 * through a file descriptor, no path for the kernel to look up. On failure
 * prints "fexec: execveat PATH: errno N (text)" and exits 126.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int fd, err;

	if (argc < 2) {
		fprintf(stderr, "usage: fexec PATH [ARGS...]\n");
		return 2;
	}
	fd = open(argv[1], O_PATH);
	if (fd < 0) {
		err = errno;
		printf("fexec: open %s: errno %d (%s)\n", argv[1], err,
		       strerror(err));
		return 126;
	}
	syscall(SYS_execveat, fd, "", &argv[1], environ, AT_EMPTY_PATH);
	err = errno;
	printf("fexec: execveat %s: errno %d (%s)\n", argv[1], err,
	       strerror(err));
	return 126;
}
