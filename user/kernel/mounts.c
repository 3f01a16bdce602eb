// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
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
#include "lib/hostpath.h"
#include "mw_ident.h"
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

/*
 * The mount table of the namespace policy paths are in: with --host-root
 * /proc/N/root, /proc/N/mountinfo, whose paths are the host's (*@host);
 * else ours, whose paths we open as they are (a --host-root of another
 * form is a mount in our table already).
 */
static FILE *mountinfo_open(bool *host)
{
	char path[PATH_MAX];
	size_t n = host_root ? strlen(host_root) : 0;

	*host = n > 5 && !strcmp(host_root + n - 5, "/root") &&
		snprintf(path, sizeof(path), "%.*s/mountinfo", (int)(n - 5),
			 host_root) < (int)sizeof(path);
	return fopen(*host ? path : "/proc/self/mountinfo", "re");
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d = (s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0');
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

/*
 * An O_PATH fd on the root of the mount of id @mnt_id, or of the first
 * mount of device @kdev when @mnt_id is negative; -1 if none.
 */
int mount_open(int mnt_id, __u32 kdev)
{
	char line[4096], dir[PATH_MAX], hp[PATH_MAX];
	unsigned int maj, mnr;
	bool host;
	FILE *f = mountinfo_open(&host);
	int fd = -1, id;

	if (!f)
		return -1;
	while (fd < 0 && fgets(line, sizeof(line), f)) {
		/* "36 35 98:0 /mnt1 /mnt2 ..." */
		if (sscanf(line, "%d %*u %u:%u %*s %4095s", &id, &maj, &mnr,
			   dir) != 4)
			continue;
		if (mnt_id >= 0 ? id != mnt_id : mw_kdev(maj, mnr) != kdev)
			continue;
		unescape(dir);
		fd = open(host ? host_path(dir, hp) : dir,
			  O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	fclose(f);
	return fd;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A file handle of any file system's size. */
union handle {
	struct file_handle fh;
	char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
};

int handle_open(__u32 kdev, unsigned int type, const char *hex,
		unsigned int nbytes)
{
	union handle h;
	unsigned char *fb = h.fh.f_handle;
	unsigned int i;
	int mfd, fd;

	if (nbytes > MAX_HANDLE_SZ)
		return -1;
	for (i = 0; i < nbytes; i++) {
		int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		fb[i] = hi << 4 | lo;
	}
	h.fh.handle_bytes = nbytes;
	h.fh.handle_type = type;
	fd = mount_open(-1, kdev);
	if (fd < 0)
		return -1;
	/* open_by_handle_at() takes no O_PATH fd for the mount (EBADF). */
	mfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(fd);
	if (mfd < 0)
		return -1;
	fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
	close(mfd);
	return fd;
}

int handle_of(int fd, unsigned int *type, char *hex, size_t len)
{
	union handle h;
	unsigned char *fb = h.fh.f_handle;
	unsigned int i;
	int mnt;

	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &h.fh, &mnt, AT_EMPTY_PATH))
		return -errno;
	if (len < 2 * h.fh.handle_bytes + 1)
		return -ENAMETOOLONG;
	for (i = 0; i < h.fh.handle_bytes; i++)
		snprintf(hex + 2 * i, 3, "%02x", fb[i]);
	hex[2 * i] = '\0';
	*type = h.fh.handle_type;
	return 0;
}
