/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `mcpwarden exec`: what happens between the client starting us and the
 * server's first instruction. Put the interposer on stdio (interpose.h),
 * ask the agent to track this process, apply the confinement it answers
 * with, exec the server.
 */
#ifndef MW_WRAPPER_H
#define MW_WRAPPER_H

#include <stdbool.h>

struct wrapper_opts {
	const char *profile;
	const char *socket;
	bool no_interpose;	/* stdio straight to the server */
	char **argv;		/* the server's command, NULL-terminated */
};

/* Returns only on failure: the exit status (125 ours, 126/127 exec's). */
int wrapper_run(const struct wrapper_opts *o);

#endif /* MW_WRAPPER_H */
