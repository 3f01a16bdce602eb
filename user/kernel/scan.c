// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mw_match.h"
#include "lib/log.h"
#include "mw_ident.h"
#include "lib/proc.h"
#include "kernel/scan.h"

/* Match the last @depth components of @s against the rules of that depth. */
static __u32 detect_tail(const struct compiled *c, const char *s, int depth)
{
	char name[MW_NAME_BUF] = {};
	const char *base = s + strlen(s);
	size_t len, i;
	int slashes = 0;

	while (base > s) {
		if (base[-1] == '/' && ++slashes == depth)
			break;
		base--;
	}
	if (depth == 2 && slashes < 1)
		return 0;	/* no second component */
	len = strlen(base);
	if (!len || len >= MW_NAME_MAX)
		return 0;
	memcpy(name, base, len);
	for (i = 0; i < c->ndetect; i++)
		if (c->detect[i].depth == depth &&
		    mw_rule_match(&c->detect[i], name, len))
			return c->detect[i].profile;
	return 0;
}

static __u32 detect_name(const struct compiled *c, const char *s)
{
	__u32 profile = detect_tail(c, s, 1);

	return profile ? profile : detect_tail(c, s, 2);
}

__u32 scan_detect(const struct compiled *c, const char *exe, json_object *args)
{
	size_t i, n;
	__u32 profile = 0;

	if (!c || !c->ndetect)
		return 0;
	if (exe)
		profile = detect_tail(c, exe, 1);	/* as the BPF side */
	n = args ? json_object_array_length(args) : 0;
	for (i = 0; !profile && i < n && i < MW_DETECT_ARGS; i++)
		profile = detect_name(c, json_object_get_string(
					json_object_array_get_idx(args, i)));
	return profile;
}

/* The profile of the cgroup of @pid or of one of its ancestors, or 0. */
static __u32 scan_cgroup(const struct compiled *c, const char *proc_root,
			 const char *cgroup_root, __u32 pid)
{
	char path[PATH_MAX], line[PATH_MAX], *rel, *slash;
	struct stat st;
	size_t i;
	FILE *f;
	int depth;

	if (!c->ncgroups)
		return 0;
	snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	rel = NULL;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			rel = line + 3;
			rel[strcspn(rel, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	if (!rel)
		return 0;
	for (depth = 0; depth < MW_CGROUP_DEPTH; depth++) {
		snprintf(path, sizeof(path), "%s%s", cgroup_root, rel);
		if (!stat(path, &st))
			for (i = 0; i < c->ncgroups; i++)
				if (c->cgroups[i].id == (__u64)st.st_ino)
					return c->cgroups[i].profile;
		slash = strrchr(rel, '/');
		if (!slash || !*rel)
			break;
		*slash = '\0';
	}
	return 0;
}

struct scan_proc {
	__u32 pid, ppid;
	__u64 start;
	int tracked;		/* 1: the kernel knows it; 2: to add */
	struct mw_server server;
};

/* What the kernel, the detection rules or the cgroup say of @pi. */
static void scan_classify(struct mw_maps *m, const struct compiled *c,
			  const char *proc_root, const char *cgroup_root,
			  const struct proc_info *pi, struct scan_proc *sp)
{
	struct mw_tracked t;
	__u32 profile;

	memset(sp, 0, sizeof(*sp));
	sp->pid = pi->pid;
	sp->ppid = pi->ppid;
	sp->start = pi->start_time;
	if (!maps_tracked_get(m, pi->pid, &t) &&
	    mw_same_start(t.start_time, pi->start_time)) {
		sp->tracked = 1;
		sp->server = t.server;
		return;
	}
	if (!c || !pi->exe || !pi->args || !json_object_array_length(pi->args))
		return;
	profile = scan_detect(c, pi->exe, pi->args);
	sp->server.source = MW_SOURCE_SCAN;
	if (!profile) {
		profile = scan_cgroup(c, proc_root, cgroup_root, pi->pid);
		sp->server.source = MW_SOURCE_CGROUP;
	}
	if (profile) {
		sp->tracked = 2;	/* a new root */
		sp->server.pid = pi->pid;
		sp->server.profile = profile;
		sp->server.start_time = pi->start_time;
	}
}

/* Descendants inherit their tracked ancestor's identity. */
static void scan_inherit(struct scan_proc *ps, size_t n)
{
	size_t i, j;
	int changed;

	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (ps[i].tracked)
				continue;
			for (j = 0; j < n; j++) {
				if (ps[j].tracked && ps[j].pid == ps[i].ppid &&
				    ps[j].start <= ps[i].start) {
					ps[i].tracked = 2;
					ps[i].server = ps[j].server;
					changed = 1;
					break;
				}
			}
		}
	} while (changed);
}

int scan_proc(struct mw_maps *m, const char *proc_root,
	      const char *cgroup_root)
{
	const struct compiled *c = maps_active(m);
	struct scan_proc *ps = NULL, *tmp;
	size_t n = 0, cap = 0, i;
	struct proc_info pi;
	struct dirent *de;
	__u32 self = getpid(), pid;
	int added = 0;
	DIR *d;

	if (!proc_root)
		proc_root = "/proc";
	d = opendir(proc_root);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtoul(de->d_name, NULL, 10);
		if (pid == self || proc_read(proc_root, pid, &pi))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 512;
			tmp = realloc(ps, cap * sizeof(*ps));
			if (!tmp) {
				proc_info_clear(&pi);
				break;
			}
			ps = tmp;
		}
		scan_classify(m, c, proc_root, cgroup_root, &pi, &ps[n++]);
		proc_info_clear(&pi);
	}
	closedir(d);
	scan_inherit(ps, n);
	for (i = 0; i < n; i++) {
		if (ps[i].tracked != 2)
			continue;
		if (!maps_track(m, proc_root, ps[i].pid, ps[i].start,
				&ps[i].server, 0)) {
			added++;
			log_debug("scan: tracking pid %u (server %u)", ps[i].pid,
				  ps[i].server.pid);
		}
	}
	free(ps);
	return added;
}
