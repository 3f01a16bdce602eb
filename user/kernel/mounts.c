// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "kernel/mounts.h"
#include "lib/log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC		0xcafe4a11
#endif
#ifndef SECURITYFS_MAGIC
#define SECURITYFS_MAGIC	0x73636673
#endif
#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif

#define CGROUP2_FALLBACK	"/run/mcpwarden/cgroup2"

bool fs_is(const char *path, long magic)
{
	struct statfs s;

	return !statfs(path, &s) && s.f_type == magic;
}

void mounts_ensure(void)
{
	if (!fs_is("/sys/fs/bpf", BPF_FS_MAGIC) &&
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		log_msg("mounting bpffs on /sys/fs/bpf: %s", strerror(errno));
	if (!fs_is("/sys/kernel/security", SECURITYFS_MAGIC) &&
	    mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL))
		log_debug("mounting securityfs: %s, ignoring", strerror(errno));
}

int cgroup2_find(char *buf, size_t len)
{
	struct mntent *me;
	FILE *f = setmntent("/proc/self/mounts", "re");

	if (!f)
		return -errno;
	while ((me = getmntent(f))) {
		if (!strcmp(me->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", me->mnt_dir);
			endmntent(f);
			return 0;
		}
	}
	endmntent(f);
	return -ENOENT;
}

int cgroup2_mount(char *buf, size_t len)
{
	if (!cgroup2_find(buf, len))
		return 0;
	if (mkdir("/run/mcpwarden", 0755) && errno != EEXIST)
		return -errno;
	if (mkdir(CGROUP2_FALLBACK, 0755) && errno != EEXIST)
		return -errno;
	if (!fs_is(CGROUP2_FALLBACK, CGROUP2_SUPER_MAGIC) &&
	    mount("cgroup2", CGROUP2_FALLBACK, "cgroup2", 0, NULL))
		return -errno;
	snprintf(buf, len, "%s", CGROUP2_FALLBACK);
	return 0;
}

int cgroup_attach_dir(const char *want, const char *root, char *path,
		      size_t len, int *fd)
{
	char v2[PATH_MAX];
	int ret;

	snprintf(path, len, "%s", want ? want : root);
	/* A hybrid node: --cgroup /sys/fs/cgroup means its v2 part. */
	if (!fs_is(path, CGROUP2_SUPER_MAGIC)) {
		snprintf(v2, sizeof(v2), "%.*s/unified", PATH_MAX - 16, path);
		if (fs_is(v2, CGROUP2_SUPER_MAGIC)) {
			log_msg("--cgroup \"%s\": cgroup v1 with v2 at \"%s\": using that",
				path, v2);
			snprintf(path, len, "%s", v2);
		}
	}
	if (!fs_is(path, CGROUP2_SUPER_MAGIC)) {
		log_msg("--cgroup \"%s\": not a cgroup v2 directory", path);
		return -EINVAL;
	}
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		ret = -errno;
		log_msg("--cgroup \"%s\": %s", path, strerror(-ret));
		return ret;
	}
	return 0;
}
