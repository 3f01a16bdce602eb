// SPDX-License-Identifier: GPL-2.0-only
/*
 * Ways to open a file that a path-string check would miss, for the file
 * fence tests. Prints the first line of the file, or "errno NAME".
 *
 *   openers openat2 PATH      openat2(2) with RESOLVE_NO_SYMLINKS off
 *   openers uring PATH        IORING_OP_OPENAT through io_uring
 *   openers procfd PATH       open(O_PATH), then open("/proc/self/fd/N")
 *   openers procfd-later PATH the same, the reopen after a line on stdin
 *                             (the file may be replaced or deleted meanwhile);
 *                             prints "held" once it holds the O_PATH fd
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

static int show(int fd)
{
	char buf[256];
	ssize_t n;

	if (fd < 0) {
		printf("errno %s\n", fd == -EPERM ? "EPERM" : fd == -EACCES ?
		       "EACCES" : strerror(-fd));
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s\n", buf);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	struct open_how how = { .flags = O_RDONLY };
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char path[64];
	int fd;

	if (argc != 3)
		return 2;
	if (!strcmp(argv[1], "openat2")) {
		fd = syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how));
		return show(fd < 0 ? -errno : fd);
	}
	if (!strcmp(argv[1], "procfd") || !strcmp(argv[1], "procfd-later")) {
		fd = open(argv[2], O_PATH);
		if (fd < 0)
			return show(-errno);
		if (argv[1][6]) {
			printf("held\n");
			fflush(stdout);
			if (!fgets(path, sizeof(path), stdin))
				return 2;
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		fd = open(path, O_RDONLY);
		return show(fd < 0 ? -errno : fd);
	}
	if (!strcmp(argv[1], "uring")) {
		if (io_uring_queue_init(2, &ring, 0))
			return show(-errno);
		sqe = io_uring_get_sqe(&ring);
		io_uring_prep_openat(sqe, AT_FDCWD, argv[2], O_RDONLY, 0);
		io_uring_submit(&ring);
		if (io_uring_wait_cqe(&ring, &cqe))
			return show(-EIO);
		fd = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		io_uring_queue_exit(&ring);
		return show(fd);
	}
	return 2;
}
