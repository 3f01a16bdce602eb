// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include "lib/fs.h"

const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path;
}
