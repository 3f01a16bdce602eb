/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The file systems the agent needs (bpffs, securityfs, cgroup v2) and the
 * cgroup its socket programs attach to. Finding never mounts: only
 * mounts_ensure() and cgroup2_mount() change the machine.
 */
#ifndef MW_MOUNTS_H
#define MW_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

bool fs_is(const char *path, long magic);
/* Mount what the agent needs where it is missing: bpffs, securityfs. */
void mounts_ensure(void);
/* The cgroup v2 mount point from /proc/self/mounts; -ENOENT if none. */
int cgroup2_find(char *buf, size_t len);
/* The same, mounting one under /run/mcpwarden if there is none. */
int cgroup2_mount(char *buf, size_t len);
/*
 * The cgroup v2 directory the socket programs attach to: @want, or the
 * root @root; a v1 directory with its v2 part at "unified" (a hybrid
 * node) means that part. Opens it into *fd; the path into @path.
 */
int cgroup_attach_dir(const char *want, const char *root, char *path,
		      size_t len, int *fd);

/*
 * An O_PATH fd on the root of the mount of id @mnt_id, or of the first
 * mount of (kernel) device @kdev when @mnt_id is negative; -1 if none.
 * Mounts of the namespace policy paths are in (lib/hostpath.h).
 */
int mount_open(int mnt_id, __u32 kdev);
/*
 * File handles, as fanotify's fdinfo and state.json spell them (hex):
 * an O_PATH fd on the object of handle @hex (@nbytes bytes, of @type) on
 * device @kdev, or -1; the handle of @fd into @hex, 0 or -errno.
 */
int handle_open(__u32 kdev, unsigned int type, const char *hex,
		unsigned int nbytes);
int handle_of(int fd, unsigned int *type, char *hex, size_t len);

#endif /* MW_MOUNTS_H */
