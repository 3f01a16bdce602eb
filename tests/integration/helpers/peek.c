// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ptrace class of routes into another process, for the syscalls tests:
 *
 *   peek hold FILE         read FILE into memory and keep it open; print
 *                          "pid P addr A len N fd F", then wait for EOF on
 *                          stdin
 *   peek mem PID A N       pread N bytes at A of /proc/PID/mem
 *   peek vm PID A N        process_vm_readv() of N bytes at A
 *   peek getfd PID F       pidfd_getfd() of PID's fd F, read from offset 0
 *
 * Each reader prints what it read, or "peek: MODE: errno E (text)" and
 * exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static char held[4096];

static int failed(const char *mode)
{
	int err = errno;

	printf("peek: %s: errno %d (%s)\n", mode, err, strerror(err));
	return 1;
}

static int hold(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char c;

	if (fd < 0)
		return failed("hold");
	n = read(fd, held, sizeof(held) - 1);
	if (n <= 0)
		return failed("hold");
	printf("pid %d addr %lu len %zd fd %d\n", getpid(),
	       (unsigned long)held, n, fd);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

static int show(const char *buf, ssize_t n)
{
	fwrite(buf, 1, n, stdout);
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	char buf[4096];
	unsigned long addr;
	size_t len;
	ssize_t n;
	int fd, pidfd;

	if (argc == 3 && !strcmp(argv[1], "hold"))
		return hold(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "mem")) {
		char path[64];

		addr = strtoul(argv[3], NULL, 10);
		len = strtoul(argv[4], NULL, 10) % sizeof(buf);
		snprintf(path, sizeof(path), "/proc/%s/mem", argv[2]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return failed("mem open");
		n = pread(fd, buf, len, (off_t)addr);
		return n < 0 ? failed("mem read") : show(buf, n);
	}
	if (argc == 5 && !strcmp(argv[1], "vm")) {
		struct iovec local = { .iov_base = buf }, remote;

		addr = strtoul(argv[3], NULL, 10);
		len = strtoul(argv[4], NULL, 10) % sizeof(buf);
		local.iov_len = len;
		remote = (struct iovec){ .iov_base = (void *)addr, .iov_len = len };
		n = process_vm_readv(atoi(argv[2]), &local, 1, &remote, 1, 0);
		return n < 0 ? failed("vm") : show(buf, n);
	}
	if (argc == 4 && !strcmp(argv[1], "getfd")) {
		pidfd = syscall(SYS_pidfd_open, atoi(argv[2]), 0);
		if (pidfd < 0)
			return failed("getfd pidfd_open");
		fd = syscall(SYS_pidfd_getfd, pidfd, atoi(argv[3]), 0);
		if (fd < 0)
			return failed("getfd");
		n = pread(fd, buf, sizeof(buf), 0);
		return n < 0 ? failed("getfd read") : show(buf, n);
	}
	fprintf(stderr, "usage: peek hold FILE | peek mem|vm PID ADDR LEN | peek getfd PID FD\n");
	return 2;
}
