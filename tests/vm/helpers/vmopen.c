// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lane helper: "vmopen MODE PATH" opens PATH for reading by one of the
 * routes a file fence must cover, and copies it to stdout:
 *   read     open(PATH, O_RDONLY)
 *   procfd   open(PATH, O_PATH), then open("/proc/self/fd/N", O_RDONLY):
 *            the reopen of a descriptor that was never opened for reading
 *   openat2  openat2(AT_FDCWD, PATH, {O_RDONLY, RESOLVE_NO_SYMLINKS})
 *   trunc    open(PATH, O_RDONLY | O_TRUNC): a read-only open that truncates
 *   handle   name_to_handle_at(PATH), then open_by_handle_at() on the
 *            mount of /tmp, where the cases' files are
 * On failure prints "vmopen: MODE PATH: errno N (text)" and exits 1.
 * "vmopen until STOP PATH" opens PATH over and over until STOP exists and
 * prints "ok A denied D other O".
 * "vmopen deep DIR N NAME make|read|remove [MARK]": N directories named NAME
 * below DIR, through directory fds (no path: deeper than PATH_MAX), with a
 * file "key" at the bottom: made (holding MARK), read to stdout, removed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int failed(const char *mode, const char *what, const char *path)
{
	int err = errno;

	printf("vmopen: %s %s %s: errno %d (%s)\n", mode, what, path, err,
	       strerror(err));
	return 1;
}

static int deep(const char *dir, int n, const char *name, const char *op,
		const char *mark)
{
	int *fds = calloc(n + 1, sizeof(int)), i, fd, ret = 0;
	char buf[4096];
	ssize_t r;

	if (!fds || (fds[0] = open(dir, O_PATH | O_DIRECTORY)) < 0)
		return failed("deep", "open", dir);
	for (i = 0; i < n; i++) {
		if (!strcmp(op, "make") && mkdirat(fds[i], name, 0755) &&
		    errno != EEXIST)
			return failed("deep", "mkdir", name);
		fds[i + 1] = openat(fds[i], name, O_PATH | O_DIRECTORY);
		if (fds[i + 1] < 0)
			return failed("deep", "open", name);
	}
	if (!strcmp(op, "make")) {
		fd = openat(fds[n], "key", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dprintf(fd, "%s\n", mark ? mark : "") < 0)
			return failed("deep", "write", "key");
		close(fd);
	} else if (!strcmp(op, "read")) {
		fd = openat(fds[n], "key", O_RDONLY);
		if (fd < 0)
			return failed("deep", "open", "key");
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			if (write(1, buf, r) != r)
				return failed("deep", "write", "stdout");
		close(fd);
	} else {
		unlinkat(fds[n], "key", 0);
		for (i = n; i > 0; i--)
			if (unlinkat(fds[i - 1], name, AT_REMOVEDIR))
				ret = failed("deep", "rmdir", name);
	}
	for (i = 0; i <= n; i++)
		close(fds[i]);
	free(fds);
	return ret;
}

int main(int argc, char **argv)
{
	char buf[4096], proc[64];
	struct open_how how;
	int fd, pfd;
	ssize_t n;

	if (argc >= 6 && !strcmp(argv[1], "deep"))
		return deep(argv[2], atoi(argv[3]), argv[4], argv[5],
			    argc > 6 ? argv[6] : NULL);
	if (argc == 4 && !strcmp(argv[1], "until")) {
		long ok = 0, denied = 0, other = 0, i;

		for (i = 0; i % 64 || access(argv[2], F_OK); i++) {
			fd = open(argv[3], O_RDONLY);
			if (fd >= 0) {
				ok++;
				close(fd);
			} else if (errno == EACCES || errno == EPERM) {
				denied++;
			} else {
				other++;
			}
		}
		printf("ok %ld denied %ld other %ld\n", ok, denied, other);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: vmopen read|procfd|openat2|trunc|handle PATH | vmopen until STOP PATH\n");
		return 2;
	}
	if (!strcmp(argv[1], "read")) {
		fd = open(argv[2], O_RDONLY);
	} else if (!strcmp(argv[1], "procfd")) {
		pfd = open(argv[2], O_PATH);
		if (pfd < 0)
			return failed(argv[1], "O_PATH", argv[2]);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
		fd = open(proc, O_RDONLY);
	} else if (!strcmp(argv[1], "trunc")) {
		fd = open(argv[2], O_RDONLY | O_TRUNC);
	} else if (!strcmp(argv[1], "handle")) {
		union {
			struct file_handle fh;
			char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
		} h;
		int mnt, root;

		h.fh.handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, argv[2], &h.fh, &mnt, 0))
			return failed(argv[1], "name_to_handle_at", argv[2]);
		root = open("/tmp", O_RDONLY | O_DIRECTORY);
		fd = open_by_handle_at(root, &h.fh, O_RDONLY);
	} else if (!strcmp(argv[1], "openat2")) {
		memset(&how, 0, sizeof(how));
		how.flags = O_RDONLY;
		how.resolve = RESOLVE_NO_SYMLINKS;
		fd = syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof(how));
	} else {
		fprintf(stderr, "vmopen: unknown mode %s\n", argv[1]);
		return 2;
	}
	if (fd < 0)
		return failed(argv[1], "open", argv[2]);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, n) != n)
			return failed(argv[1], "write", argv[2]);
	if (n < 0)
		return failed(argv[1], "read", argv[2]);
	return 0;
}
