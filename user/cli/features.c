// SPDX-License-Identifier: GPL-2.0-only
/* `mcpwarden features`: what this kernel supports, per hook. */
#include <stdio.h>
#include <unistd.h>
#include "cli/cli.h"
#include "kernel/features.h"
#include "kernel/mounts.h"

int cmd_features(int argc, char **argv)
{
	struct features f;
	json_object *o;

	if (argc > 1)
		return bad_usage("features", "unexpected argument \"%s\"", argv[1]);
	if (geteuid() == 0)
		mounts_ensure();
	features_probe(&f);
	o = features_json(&f);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}
