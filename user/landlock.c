// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/landlock.h>
#include "landlock.h"

/* The ELF interpreter is opened for execution too: it must be allowed. */
static const char *const loaders[] = {
	"/lib64/ld-linux-x86-64.so.2",
	"/lib/ld-linux-aarch64.so.1",
	"/lib/ld-linux.so.2",
	NULL,
};

static int add_path(int ruleset, const char *path)
{
	struct landlock_path_beneath_attr pb = {
		.allowed_access = LANDLOCK_ACCESS_FS_EXECUTE,
	};
	int ret;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return -errno;
	ret = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
		      &pb, 0) ? -errno : 0;
	close(pb.parent_fd);
	return ret;
}

int landlock_exec_allow(json_object *allow, char *err, size_t errlen)
{
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE,
	};
	size_t i, n = json_object_array_length(allow);
	int ruleset, ret = 0;
	const char *path;

	ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0) {
		ret = -errno;
		snprintf(err, errlen, "Landlock is not available (%s)",
			 strerror(-ret));
		return ret;
	}
	for (i = 0; i < n; i++) {
		path = json_object_get_string(json_object_array_get_idx(allow, i));
		/* A path missing here cannot be executed anyway. */
		if (path && (ret = add_path(ruleset, path)) && ret != -ENOENT) {
			snprintf(err, errlen, "Landlock rule for \"%s\": %s", path,
				 strerror(-ret));
			goto out;
		}
	}
	for (i = 0; loaders[i]; i++)
		add_path(ruleset, loaders[i]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0)) {
		ret = -errno;
		snprintf(err, errlen, "applying the Landlock rule set: %s",
			 strerror(-ret));
		goto out;
	}
	ret = 0;
out:
	close(ruleset);
	return ret;
}
