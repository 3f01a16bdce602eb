// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mcpwarden guard`: the fanotify guard process (user/guard/). Started by
 * the agent, never by hand; not in the usage text.
 */
#include <stdlib.h>
#include "cli/cli.h"
#include "guard/guard.h"

static int parse_fd(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s < '0' || *s > '9' || *end || v > 1 << 20)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_guard(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "group-fd", required_argument, NULL, 'g' },
		{ "shm-fd", required_argument, NULL, 'm' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "guard-bell-fd", required_argument, NULL, 'b' },
		{ "agent-bell-fd", required_argument, NULL, 'B' },
		{}
	};
	struct guard_opts o = { .group = -1, .shm = -1, .ready = -1,
				.bell = { -1, -1 } };
	int c, bad = 0, *fd, i;

	while ((c = next_opt("guard", argc, argv, ":", longs, &bad)) != -1) {
		fd = c == 'g' ? &o.group : c == 'm' ? &o.shm :
		     c == 'r' ? &o.ready : c == 'b' ? &o.bell[0] :
		     c == 'B' ? &o.bell[1] : NULL;
		for (i = 0; fd && longs[i].name && longs[i].val != c; i++)
			;
		if (fd && parse_fd(optarg, fd))
			return bad_usage("guard", "--%s \"%s\": not a file descriptor",
					 longs[i].name, optarg);
		if (c == 'P')
			o.pin_dir = optarg;
		else if (c == 'S')
			o.state_dir = optarg;
		else if (c == 'c')
			o.cgroup = optarg;
	}
	if (bad)
		return bad;
	if (!o.pin_dir || !o.state_dir || (o.group < 0) != (o.shm < 0) ||
	    (o.bell[0] < 0) != (o.bell[1] < 0) || (o.bell[0] >= 0 && o.group < 0))
		return bad_usage("guard", "needs --pin-dir and --state-dir (and --group-fd with --shm-fd, the bells with both)");
	return guard_main(&o);
}
