// SPDX-License-Identifier: GPL-2.0-only
/*
 * What makes the policy compile again: the policy file, resolv.conf (the
 * "nameservers" set), the kubelet's container links (select.k8s), and the
 * paths of exec, file and unix rules. A package upgrade replaces
 * /usr/bin/curl by a rename, and ~/.aws may be created after the agent
 * started.
 */
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon/state.h"
#include "lib/fs.h"
#include "lib/hostpath.h"
#include "lib/log.h"
#include "output/agent_events.h"

static bool watch_hit(struct daemon *d, int wd, const char *name)
{
	size_t i;

	for (i = 0; i < d->nwatch; i++)
		if (d->watch[i].wd == wd && !strcmp(d->watch[i].name, name))
			return true;
	return false;
}

/*
 * Watch the nearest directory of @path that exists, for the next component
 * of the path.
 */
static void watch_path(struct daemon *d, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;
	int wd;

	snprintf(dir, sizeof(dir), "%s", path);
	/* The host's directories: stat() and watch them through the root. */
	if (host_root && strcmp(host_root, "/"))
		snprintf(dir, sizeof(dir), "%s%s", host_root, path);
	for (;;) {
		slash = strrchr(dir, '/');
		if (!slash)
			return;
		if (d->nwatch >= WATCH_MAX)
			return;
		snprintf(d->watch[d->nwatch].name, sizeof(d->watch[0].name),
			 "%s", slash + 1);
		slash[slash == dir] = '\0';
		if (!stat(dir, &st))
			break;
	}
	wd = inotify_add_watch(d->inofd, dir, IN_CREATE | IN_MOVED_TO |
			       IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
	/* Rules share directories (~/.config/...): one entry each pair. */
	if (wd >= 0 && !watch_hit(d, wd, d->watch[d->nwatch].name))
		d->watch[d->nwatch++].wd = wd;
}

void watch_rule_paths(struct daemon *d)
{
	const struct compiled *c;
	size_t i, k;

	if (d->inofd < 0)
		return;
	d->nwatch = 0;	/* inotify keeps one watch a directory: re-adding is cheap */
	for (i = 0; i < d->policy->nprofiles; i++) {
		const struct profile *pr = &d->policy->profiles[i];

		for (k = 0; k < pr->nexec; k++)
			watch_path(d, pr->exec[k].path);
		for (k = 0; k < pr->nfiles; k++)
			watch_path(d, pr->files[k].path);
		for (k = 0; k < pr->nunix; k++)
			watch_path(d, pr->unix_rules[k].path);
	}
	/* Launchers too: an upgraded wrapper is a new inode. */
	c = maps_active(&d->maps);
	for (k = 0; c && k < c->nlaunchers; k++)
		if (c->launchers[k].path[0] == '/' &&
		    strncmp(c->launchers[k].path, "/proc/", 6))
			watch_path(d, c->launchers[k].path);
}

/* The directory of @file, watched for a replacement by rename; or -1. */
static int watch_dir_of(struct daemon *d, const char *file, __u32 mask)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", file);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0';
	return inotify_add_watch(d->inofd, dir, mask);
}

void watch_files(struct daemon *d)
{
	char kpath[PATH_MAX];
	const char *slash;

	d->policy_wd = d->resolv_wd = d->k8s_wd = d->pin_wd = -1;
	d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inofd < 0)
		return;
	/* Watch directories: editors and resolvconf replace files by rename. */
	if (d->o->policy_path)
		d->policy_wd = watch_dir_of(d, d->o->policy_path,
					    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	/* The kubelet's container links: select.k8s follows them. */
	d->k8s_wd = inotify_add_watch(d->inofd, host_path("/var/log/containers",
							  kpath),
				      IN_CREATE | IN_DELETE | IN_MOVED_TO |
				      IN_MOVED_FROM | IN_ONLYDIR);
	slash = strrchr(d->resolv_conf, '/');
	if (slash && slash != d->resolv_conf)
		d->resolv_wd = watch_dir_of(d, d->resolv_conf,
					    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	/* A pin removed while we run (rm by a root server): pinned again. */
	d->pin_wd = inotify_add_watch(d->inofd, d->o->pin_dir,
				      IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
	ep_add(d, d->inofd, &d->src_ino, EP_INOTIFY);
}

static void repinned(const char *name, int ret, void *arg)
{
	struct daemon *d = arg;

	log_msg("%s/%s was removed while the agent runs: %s", d->o->pin_dir,
		name, ret > 0 ? "pinned again" : strerror(-ret));
	daemon_emit(d, agent_event_tamper(&d->ev, name, ret > 0 ? 0 : ret));
}

static void watch_repin(struct daemon *d, const char *name)
{
	int ret = loader_repin(&d->bpf, name);

	if (ret)
		repinned(name, ret, d);
}

void watch_on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	ssize_t n;
	char *p;

	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			/* Events were lost: any rule path or pin may have gone. */
			if (ie->mask & IN_Q_OVERFLOW) {
				d->reload = true;
				loader_repin_all(&d->bpf, repinned, d);
			}
			if (!ie->len)
				continue;
			if (ie->wd == d->policy_wd && d->o->policy_path &&
			    !strcmp(ie->name, base_name(d->o->policy_path)))
				d->reload = true;
			if (ie->wd == d->resolv_wd &&
			    !strcmp(ie->name, base_name(d->resolv_conf)))
				d->reload = true;
			if (watch_hit(d, ie->wd, ie->name))
				d->reload = true;
			if (ie->wd == d->k8s_wd && policy_has_k8s(d->policy))
				d->reload = true;
			if (ie->wd == d->pin_wd)
				watch_repin(d, ie->name);
		}
	}
}
