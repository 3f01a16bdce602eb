// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mcpwarden uninstall`: what a stop leaves in force (the pinned links and
 * maps, the fanotify guard) is removed. Run it with no agent running; a
 * running agent keeps its own fds, and its stop leaves nothing pinned.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "daemon/daemon.h"
#include "daemon/statefile.h"
#include "guard/guard.h"
#include "kernel/loader.h"
#include "kernel/mounts.h"

int cmd_uninstall(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{}
	};
	const char *pin_dir = PIN_DIR_DEFAULT, *state_dir = STATE_DIR_DEFAULT;
	char path[PATH_MAX];
	int c, bad = 0, ret;

	while ((c = next_opt("uninstall", argc, argv, ":", longs, &bad)) != -1) {
		if (c == 'P')
			pin_dir = optarg;
		else if (c == 'S')
			state_dir = optarg;
	}
	if (bad)
		return bad;
	if (optind < argc)
		return bad_usage("uninstall", "unexpected argument \"%s\"",
				 argv[optind]);
	if (pin_dir[0] != '/' || state_dir[0] != '/')
		return bad_usage("uninstall", "--pin-dir and --state-dir must be absolute paths");
	if (geteuid() != 0) {
		fprintf(stderr, "mcpwarden uninstall: must run as root\n");
		return 1;
	}
	mounts_ensure();
	/* The guard first: with it the fanotify group and its marks go. */
	ret = guard_stop(state_dir);
	if (ret)
		fprintf(stderr, "mcpwarden uninstall: stopping the guard of \"%s\": %s\n",
			state_dir, strerror(-ret));
	/* A guard killed (it was stopped) leaves its socket behind. */
	if (!ret && snprintf(path, sizeof(path), "%s/%s", state_dir,
			     GUARD_SOCKET) < (int)sizeof(path))
		unlink(path);
	ret = loader_remove(pin_dir);
	state_remove(state_dir);
	rmdir(state_dir);	/* if empty: nothing of ours is left in it */
	if (ret) {
		fprintf(stderr, "mcpwarden uninstall: removing \"%s\": %s\n",
			pin_dir, strerror(-ret));
		return 1;
	}
	return 0;
}
