// SPDX-License-Identifier: GPL-2.0-only
/* `mcpwarden status`: ask the running agent. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "daemon/control.h"

int cmd_status(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{}
	};
	const char *sock = CONTROL_SOCKET_DEFAULT;
	json_object *req, *resp;
	int c, bad = 0, ret;

	while ((c = next_opt("status", argc, argv, ":s:", longs, &bad)) != -1)
		if (c == 's')
			sock = optarg;
	if (bad)
		return bad;
	if (optind < argc)
		return bad_usage("status", "unexpected argument \"%s\"", argv[optind]);
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("status"));
	ret = control_request(sock, req, &resp, 5000);
	json_object_put(req);
	if (ret) {
		fprintf(stderr, "mcpwarden status: cannot reach the agent at \"%s\": %s\n",
			sock, strerror(-ret));
		return 1;
	}
	puts(json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(resp);
	return 0;
}
