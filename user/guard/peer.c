// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "guard/peer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD	77	/* Linux 6.5 */
#endif
#define CAP_SYS_ADMIN_BIT	21

int pidfd_exited(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) != 0;
}

/* The peer's pidfd: from the socket itself where the kernel has it. */
static int peer_pidfd(int sock, pid_t pid)
{
	socklen_t len = sizeof(int);
	int fd;

	if (!getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len))
		return fd;
	/* Older kernels: the pid could be reused in between; see below. */
	fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : fd;
}

/* uid 0 (all four ids) and CAP_SYS_ADMIN effective, per /proc/PID/status. */
static bool status_admin(pid_t pid)
{
	char path[64], line[256];
	unsigned int r, e, s, f;
	unsigned long long cap;
	bool uid0 = false, admin = false;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	fp = fopen(path, "re");
	if (!fp)
		return false;
	while (fgets(line, sizeof(line), fp)) {
		if (sscanf(line, "Uid: %u %u %u %u", &r, &e, &s, &f) == 4)
			uid0 = !r && !e && !s && !f;
		else if (sscanf(line, "CapEff: %llx", &cap) == 1)
			admin = cap & (1ULL << CAP_SYS_ADMIN_BIT);
	}
	fclose(fp);
	return uid0 && admin;
}

static bool same_userns(pid_t pid)
{
	struct stat ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
	return !stat("/proc/self/ns/user", &ours) && !stat(path, &theirs) &&
	       ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

int peer_admin(int sock, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int pidfd;

	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	if (cred.uid != 0 || cred.pid <= 0)
		return -EPERM;
	pidfd = peer_pidfd(sock, cred.pid);
	if (pidfd < 0)
		return pidfd;
	/*
	 * /proc/PID is that process as long as it has not exited: checked
	 * after reading, so a pid reused meanwhile is refused.
	 */
	if (!status_admin(cred.pid) || !same_userns(cred.pid) ||
	    pidfd_exited(pidfd)) {
		close(pidfd);
		return -EPERM;
	}
	*pid = cred.pid;
	return pidfd;
}
