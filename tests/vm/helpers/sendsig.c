// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper: "sendsig PID SIG" probes PID (kill 0: "alive" or
 * "gone"), then sends it signal SIG; prints "sent" or "errno N (text)".
 * (Not the shell's kill: the VM's /bin/sh is busybox, which the built-in
 * policy's /bin/nc rule denies to a tracked process until issue 12's
 * multi-call work.)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	pid_t pid;

	if (argc != 3) {
		fprintf(stderr, "usage: sendsig PID SIG\n");
		return 2;
	}
	pid = atoi(argv[1]);
	printf("%s\n", kill(pid, 0) ? "gone" : "alive");
	if (kill(pid, atoi(argv[2])))
		printf("errno %d (%s)\n", errno, strerror(errno));
	else
		printf("sent\n");
	return 0;
}
