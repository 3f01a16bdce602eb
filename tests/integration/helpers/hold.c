// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hold an answerer at the moment it answers: the agent-life tests kill it
 * there, with a request read and published but not answered.
 *
 *   hold PID COMM [exit]
 *                   seizes the thread of PID named COMM, lets it run until
 *                   it enters write() on its fanotify group (a response),
 *                   or with "exit" until that write has returned, prints
 *                   "held" and keeps it in that stop: until the thread is
 *                   gone (killed), or with "exit" until a line on stdin,
 *                   then lets it go. Exits 0, 1 on error. Prints "seized"
 *                   once attached.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t thread_named(pid_t pid, const char *comm)
{
	char path[300], name[64];
	struct dirent *de;
	pid_t tid = -1;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && tid < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", pid,
			 de->d_name);
		f = fopen(path, "re");
		if (f && fgets(name, sizeof(name), f) &&
		    !strncmp(name, comm, strlen(comm)) &&
		    name[strlen(comm)] == '\n')
			tid = atoi(de->d_name);
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return tid;
}

static int fanotify_fd(pid_t pid)
{
	char path[300], link[64];
	struct dirent *de;
	int fd = -1;
	ssize_t n;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	while (d && fd < 0 && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (!strcmp(link, "anon_inode:[fanotify]"))
				fd = atoi(de->d_name);
		}
	}
	if (d)
		closedir(d);
	return fd;
}

int main(int argc, char **argv)
{
	struct __ptrace_syscall_info si;
	int st, group, sig = 0, at_exit, entered = 0;
	pid_t pid, tid;

	if (argc != 3 && (argc != 4 || strcmp(argv[3], "exit"))) {
		fprintf(stderr, "usage: hold PID COMM [exit]\n");
		return 1;
	}
	at_exit = argc == 4;
	pid = atoi(argv[1]);
	tid = thread_named(pid, argv[2]);
	group = fanotify_fd(pid);
	if (tid < 0 || group < 0) {
		fprintf(stderr, "hold: no thread %s or no fanotify fd in %d\n",
			argv[2], pid);
		return 1;
	}
	if (ptrace(PTRACE_SEIZE, tid, 0, PTRACE_O_TRACESYSGOOD) ||
	    ptrace(PTRACE_INTERRUPT, tid, 0, 0)) {
		perror("hold: ptrace");
		return 1;
	}
	printf("seized\n");
	fflush(stdout);
	for (;;) {
		if (waitpid(tid, &st, __WALL) < 0) {
			perror("hold: waitpid");
			return 1;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			fprintf(stderr, "hold: the thread ended before it answered\n");
			return 1;
		}
		sig = 0;
		if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof(si), &si) <= 0)
				si.op = PTRACE_SYSCALL_INFO_NONE;
			if (si.op == PTRACE_SYSCALL_INFO_EXIT && entered)
				break;
			if (si.op == PTRACE_SYSCALL_INFO_ENTRY &&
			    si.entry.nr == SYS_write &&
			    (int)si.entry.args[0] == group) {
				if (!at_exit)
					break;
				entered = 1;
			}
		} else if (st >> 16 == 0 && WSTOPSIG(st) != SIGTRAP &&
			   WSTOPSIG(st) != SIGSTOP) {
			sig = WSTOPSIG(st);	/* a signal for it: pass it on */
		}
		ptrace(PTRACE_SYSCALL, tid, 0, sig);
	}
	printf("held\n");
	fflush(stdout);
	if (at_exit) {
		char line[8];

		if (!fgets(line, sizeof(line), stdin))
			return 1;
		return ptrace(PTRACE_DETACH, tid, 0, 0) ? 1 : 0;
	}
	/* Left in the stop: only SIGKILL takes it out. */
	for (;;) {
		if (waitpid(tid, &st, __WALL) < 0)
			return errno == ECHILD ? 0 : 1;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return 0;
	}
}
