// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper: "memfd-exec SRC [ARGS...]" copies the program SRC into a
 * memfd and runs it from there (execveat(memfd, "", ..., AT_EMPTY_PATH), as
 * fexecve does): a fileless exec, the file has no name and no link. argv[0]
 * is SRC. On failure prints "memfd-exec: STEP: errno N (text)" and exits 126.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int die(const char *step)
{
	int err = errno;

	printf("memfd-exec: %s: errno %d (%s)\n", step, err, strerror(err));
	return 126;
}

int main(int argc, char **argv)
{
	char buf[65536];
	ssize_t n, w, off;
	int in, fd;

	if (argc < 2) {
		fprintf(stderr, "usage: memfd-exec SRC [ARGS...]\n");
		return 2;
	}
	in = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return die("open");
	fd = memfd_create("memfd-exec", MFD_CLOEXEC);
	if (fd < 0)
		return die("memfd_create");
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += w) {
			w = write(fd, buf + off, n - off);
			if (w < 0)
				return die("write");
		}
	}
	if (n < 0)
		return die("read");
	close(in);
	syscall(SYS_execveat, fd, "", &argv[1], environ, AT_EMPTY_PATH);
	return die("execveat");
}
