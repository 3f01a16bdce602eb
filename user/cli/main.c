// SPDX-License-Identifier: GPL-2.0-only
/* mcpwarden: the command dispatch. Each command is a file of cli/. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		cli_usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		cli_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("mcpwarden %s\n", MW_VERSION);
		return 0;
	}
	argc--;
	argv++;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc, argv);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "features"))
		return cmd_features(argc, argv);
	if (!strcmp(cmd, "uninstall"))
		return cmd_uninstall(argc, argv);
	if (!strcmp(cmd, "guard"))
		return cmd_guard(argc, argv);
	fprintf(stderr, "mcpwarden: unknown command \"%s\" (see 'mcpwarden --help')\n",
		cmd);
	return 2;
}
