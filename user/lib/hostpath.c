// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include "lib/hostpath.h"

const char *host_root;

static size_t root_len(void)
{
	if (!host_root || !strcmp(host_root, "/"))
		return 0;
	return strlen(host_root);
}

const char *host_path(const char *path, char buf[PATH_MAX])
{
	if (!root_len())
		return path;
	snprintf(buf, PATH_MAX, "%s%s", host_root, path);
	return buf;
}

const char *host_unpath(const char *path)
{
	size_t n = root_len();

	if (n && !strncmp(path, host_root, n) && path[n] == '/')
		return path + n;
	return path;
}
