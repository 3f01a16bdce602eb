// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mcpwarden.h"
#include "mw_ident.h"
#include "lib/proc.h"

#define CACHE_BUCKETS	4096

struct proc_node {
	struct proc_info info;
	struct proc_node *next;
};

struct proc_cache {
	struct proc_node *b[CACHE_BUCKETS];
	size_t count;
};

struct proc_cache *proc_cache_new(void)
{
	return calloc(1, sizeof(struct proc_cache));
}

void proc_info_clear(struct proc_info *p)
{
	free(p->exe);
	p->exe = NULL;
	if (p->args)
		json_object_put(p->args);
	p->args = NULL;
}

void proc_cache_free(struct proc_cache *c)
{
	struct proc_node *n, *next;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < CACHE_BUCKETS; i++) {
		for (n = c->b[i]; n; n = next) {
			next = n->next;
			proc_info_clear(&n->info);
			free(n);
		}
	}
	free(c);
}

static struct proc_node **proc_cache_slot(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = &c->b[pid % CACHE_BUCKETS];

	while (*pp && (*pp)->info.pid != pid)
		pp = &(*pp)->next;
	return pp;
}

int proc_cache_put(struct proc_cache *c, __u32 pid, __u64 start_time,
		   char *exe, json_object *args)
{
	struct proc_node **pp = proc_cache_slot(c, pid), *n = *pp;

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			free(exe);
			if (args)
				json_object_put(args);
			return -ENOMEM;
		}
		n->info.pid = pid;
		*pp = n;
		c->count++;
	}
	proc_info_clear(&n->info);
	n->info.start_time = start_time;
	n->info.exe = exe;
	n->info.args = args;
	return 0;
}

const struct proc_info *proc_cache_get(struct proc_cache *c, __u32 pid,
				       __u64 start_time)
{
	struct proc_node *n = *proc_cache_slot(c, pid);

	if (!n || !mw_same_start(n->info.start_time, start_time))
		return NULL;
	return &n->info;
}

void proc_cache_del(struct proc_cache *c, __u32 pid)
{
	struct proc_node **pp = proc_cache_slot(c, pid), *n = *pp;

	if (!n)
		return;
	*pp = n->next;
	proc_info_clear(&n->info);
	free(n);
	c->count--;
}

size_t proc_cache_count(const struct proc_cache *c)
{
	return c->count;
}

/* Length of the valid UTF-8 sequence at @s (at most @len bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

json_object *json_string_bytes(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, n;
	json_object *j;
	char *buf;

	for (i = 0; i < len; i += n) {
		n = utf8_seq(u + i, len - i);
		if (!n)
			break;
	}
	if (i >= len)
		return json_object_new_string_len(s, len);
	buf = malloc(len * 3 + 1);	/* each bad byte becomes 3 bytes */
	if (!buf)
		return NULL;
	for (i = 0; i < len; i += n) {
		n = utf8_seq(u + i, len - i);
		if (n) {
			memcpy(buf + o, s + i, n);
			o += n;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		}
	}
	j = json_object_new_string_len(buf, o);
	free(buf);
	return j;
}

json_object *proc_args_json(const char *buf, size_t len)
{
	json_object *arr = json_object_new_array();
	size_t i = 0, start;

	if (!arr)
		return NULL;
	while (i < len) {
		start = i;
		while (i < len && buf[i])
			i++;
		json_object_array_add(arr, json_string_bytes(buf + start,
							     i - start));
		i++;	/* the NUL */
	}
	return arr;
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

int proc_read(const char *proc_root, __u32 pid, struct proc_info *out)
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
