// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/jsonstr.h"
#include "lib/proc.h"
#include "mcpwarden.h"

void proc_info_clear(struct proc_info *p)
{
	free(p->exe);
	p->exe = NULL;
	if (p->args)
		json_object_put(p->args);
	p->args = NULL;
}

static ssize_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)total < size) {
		n = read(fd, buf + total, size - total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		total += n;
	}
	close(fd);
	return total;
}

/* Parse /proc/PID/stat: comm, ppid and start time (field 22). */
static int stat_parse(const char *proc_root, __u32 pid, struct proc_info *out)
{
	char path[PATH_MAX], buf[4096], *p, *end;
	unsigned long long start;
	unsigned int ppid;
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "%s/%u/stat", proc_root, pid);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return n;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold ')' and spaces. */
	p = strchr(buf, '(');
	end = strrchr(buf, ')');
	if (!p || !end || end < p)
		return -EINVAL;
	snprintf(out->comm, sizeof(out->comm), "%.*s", (int)(end - p - 1), p + 1);
	p = end + 2;		/* the state field */
	if (sscanf(p, "%*c %u", &ppid) != 1)
		return -EINVAL;
	for (i = 0; i < 19 && p; i++) {	/* fields 3..21 */
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return -EINVAL;
	out->ppid = ppid;
	out->start_time = (__u64)start * MW_TICK_NS;
	return 0;
}

int proc_start_time(const char *proc_root, __u32 pid, __u64 *out)
{
	struct proc_info pi = {};
	int ret = stat_parse(proc_root ? proc_root : "/proc", pid, &pi);

	if (!ret)
		*out = pi.start_time;
	return ret;
}

int proc_read_ids(const char *proc_root, __u32 pid, struct proc_info *out)
{
	char path[PATH_MAX], buf[4096], *p;
	ssize_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	if (!proc_root)
		proc_root = "/proc";
	ret = stat_parse(proc_root, pid, out);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/%u/status", proc_root, pid);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		p = strstr(buf, "\nUid:");
		if (p)
			out->uid = strtoul(p + 5, NULL, 10);
		p = strstr(buf, "\nGid:");
		if (p)
			out->gid = strtoul(p + 5, NULL, 10);
	}
	return 0;
}

int proc_read(const char *proc_root, __u32 pid, struct proc_info *out)
{
	char path[PATH_MAX], buf[4096];
	ssize_t n;
	int ret;

	if (!proc_root)
		proc_root = "/proc";
	ret = proc_read_ids(proc_root, pid, out);
	if (ret)
		return ret;

	snprintf(path, sizeof(path), "%s/%u/exe", proc_root, pid);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		out->exe = strdup(buf);
	}

	/* Empty for a zombie or a kernel thread: unknown, not "no args". */
	snprintf(path, sizeof(path), "%s/%u/cmdline", proc_root, pid);
	n = read_file(path, buf, sizeof(buf));
	if (n > 0)
		out->args = proc_args_json(buf, n);
	return 0;
}
