// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper: "sys NAME [DIR]" performs one escape primitive, in a form
 * that succeeds for root in the VM, and prints "ok" or "errno N (text)"
 * (exit 0 or 1):
 *   ptrace           fork a child, PTRACE_ATTACH to it, detach, kill it
 *   traceme          PTRACE_TRACEME (the parent becomes the tracer)
 *   truncate PATH    truncate(2) to 0 bytes: no open
 *   mount            mount a tmpfs on DIR (then unmount it)
 *   unshare          unshare(CLONE_NEWUSER)
 *   bpf              bpf(BPF_MAP_CREATE) of a one-entry array
 *   perf_event_open  a software task-clock counter on itself
 *   unlink PATH      unlink(PATH) (a pin: unpinning)
 *   rename OLD NEW   rename(OLD, NEW)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int do_ptrace(void)
{
	pid_t child = fork();
	int st, ret = 0, err = 0;

	if (child < 0)
		return -1;
	if (!child) {
		for (;;)
			pause();
	}
	if (ptrace(PTRACE_ATTACH, child, 0, 0)) {
		err = errno;
		ret = -1;
	} else if (waitpid(child, &st, __WALL) == child) {
		ptrace(PTRACE_DETACH, child, 0, 0);
	}
	kill(child, SIGKILL);
	waitpid(child, &st, __WALL);
	errno = err;
	return ret;
}

static int do_mount(const char *dir)
{
	if (!dir) {
		errno = EINVAL;
		return -1;
	}
	if (mount("none", dir, "tmpfs", 0, "size=64k"))
		return -1;
	if (umount2(dir, 0))
		return -1;
	return 0;
}

static int do_bpf(void)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int do_perf(void)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_TASK_CLOCK;
	attr.disabled = 1;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *n = argc > 1 ? argv[1] : "";
	int ret;

	if (!strcmp(n, "ptrace"))
		ret = do_ptrace();
	else if (!strcmp(n, "truncate") && argc > 2)
		ret = truncate(argv[2], 0);
	else if (!strcmp(n, "traceme"))
		ret = ptrace(PTRACE_TRACEME, 0, 0, 0) ? -1 : 0;
	else if (!strcmp(n, "mount"))
		ret = do_mount(argc > 2 ? argv[2] : NULL);
	else if (!strcmp(n, "unshare"))
		ret = unshare(CLONE_NEWUSER);
	else if (!strcmp(n, "bpf"))
		ret = do_bpf();
	else if (!strcmp(n, "perf_event_open"))
		ret = do_perf();
	else if (!strcmp(n, "unlink") && argc > 2)
		ret = unlink(argv[2]);
	else if (!strcmp(n, "rename") && argc > 3)
		ret = rename(argv[2], argv[3]);
	else {
		fprintf(stderr, "usage: sys ptrace|traceme|truncate PATH|mount DIR|unshare|bpf|perf_event_open|unlink PATH|rename OLD NEW\n");
		return 2;
	}
	if (ret) {
		printf("errno %d (%s)\n", errno, strerror(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}
