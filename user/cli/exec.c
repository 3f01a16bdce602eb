// SPDX-License-Identifier: GPL-2.0-only
/* `mcpwarden exec`: flags, then the wrapper (user/wrapper/). */
#include "cli/cli.h"
#include "daemon/control.h"
#include "wrapper/wrapper.h"

int cmd_exec(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "no-interpose", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *profile = "default", *sock = CONTROL_SOCKET_DEFAULT;
	bool no_interpose = false;
	int c, bad = 0;

	/* '+': stop at the first non-option, the server's own flags are its. */
	while ((c = next_opt("exec", argc, argv, "+:p:s:h", longs, &bad)) != -1) {
		switch (c) {
		case 'p':
			profile = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'n':
			no_interpose = true;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		}
	}
	if (bad)
		return EXIT_WRAPPER;
	if (optind >= argc) {
		bad_usage("exec", "no command given: mcpwarden exec [--profile NAME] -- CMD [ARGS...]");
		return EXIT_WRAPPER;
	}
	return wrapper_run(&(struct wrapper_opts){
		.profile = profile, .socket = sock, .argv = &argv[optind],
		.no_interpose = no_interpose,
	});
}
