// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mcpwarden.skel.h"
#include "control.h"
#include "daemon.h"
#include "events.h"
#include "fence.h"
#include "log.h"
#include "loop.h"
#include "maps.h"
#include "policy.h"
#include "proc.h"
#include "scan.h"

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
#define DRAIN_MS		100	/* latest delivery of a routine event */

enum { L_FORK, L_EXEC, L_EXIT, L_CONNECT4, L_CONNECT6, L_SENDMSG4,
       L_SENDMSG6, L_SOCK_CREATE, L_BPRM_CHECK, L_MMAP_FILE, L_MAX };

#define EXEC_WATCH_MAX	256	/* directories watched for replaced binaries */

struct daemon {
	const struct run_opts *o;
	struct mcpwarden_bpf *skel;
	struct mw_maps maps;
	struct policy *policy;
	struct policy_opts popts;
	struct events ev;
	struct ring_buffer *rb;
	struct control ctl;
	struct features feat;
	bool exec_lsm;			/* exec fence: BPF-LSM, else fanotify */
	struct fence fence;
	struct bpf_link *links[L_MAX];
	int exec_wd[EXEC_WATCH_MAX];	/* parents of exec rule paths */
	size_t nexec_wd;
	FILE *out;
	int epfd, sigfd, timerfd, inofd, cgroup_fd;
	int policy_wd, resolv_wd;
	struct ep_src src_rb, src_sig, src_timer, src_ino;
	char cgroup_path[PATH_MAX];
	char cgroup_root[PATH_MAX];
	__u64 seen_drops, seen_track_full, lines, bad_records;
	int stop_signal;
	bool reload;
};

static bool fs_is(const char *path, long magic)
{
	struct statfs s;

	return !statfs(path, &s) && s.f_type == magic;
}

void daemon_mount_fs(void)
{
	if (!fs_is("/sys/fs/bpf", BPF_FS_MAGIC) &&
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		log_msg("mounting bpffs on /sys/fs/bpf: %s", strerror(errno));
	if (!fs_is("/sys/kernel/security", SECURITYFS_MAGIC) &&
	    mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL))
		log_debug("mounting securityfs: %s, ignoring", strerror(errno));
}

int cgroup2_root(char *buf, size_t len)
{
	struct mntent *me;
	FILE *f = setmntent("/proc/self/mounts", "re");

	if (f) {
		while ((me = getmntent(f))) {
			if (!strcmp(me->mnt_type, "cgroup2")) {
				snprintf(buf, len, "%s", me->mnt_dir);
				endmntent(f);
				return 0;
			}
		}
		endmntent(f);
	}
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

static void emit(struct daemon *d, json_object *o)
{
	if (!o)
		return;
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE),
	      d->out);
	fputc('\n', d->out);
	d->lines++;
	json_object_put(o);
}

static const char *name_profile(void *arg, __u32 id)
{
	struct daemon *d = arg;

	return profile_ids_name(&d->maps.ids, id);
}

static const char *name_rule(void *arg, __u32 id)
{
	struct daemon *d = arg;

	return d->policy && id < d->policy->nrule_names ?
	       d->policy->rule_names[id] : NULL;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	json_object *o;
	int err;

	o = event_from_record(&d->ev, data, size, &err);
	if (!o) {
		if (!d->bad_records++)
			log_msg("malformed event record (%zu bytes), ignoring",
				size);
		return 0;
	}
	emit(d, o);
	return 0;
}

static json_object *policy_json(const struct policy *p)
{
	json_object *o = json_object_new_object(), *names = json_object_new_array();
	size_t i;

	json_object_object_add(o, "source", json_object_new_string(p->source));
	json_object_object_add(o, "digest", json_object_new_string(p->digest));
	for (i = 0; i < p->nprofiles; i++)
		json_object_array_add(names,
				      json_object_new_string(p->profiles[i].name));
	json_object_object_add(o, "profiles", names);
	return o;
}

static void warn_event(const char *msg, void *arg)
{
	struct daemon *d = arg;
	json_object *o;

	log_msg("policy: %s", msg);
	if (!d->out)
		return;
	o = event_new(&d->ev, "policy_warning", 0);
	json_object_object_add(o, "message", json_object_new_string(msg));
	emit(d, o);
}

static void warn_stderr(const char *msg, void *arg)
{
	log_msg("policy: %s", msg);
}

static int load_policy(struct daemon *d, struct policy **out, char *err,
		       size_t errlen, bool quiet)
{
	if (!d->o->policy_path)
		return policy_load_default(&d->popts, out, err, errlen);
	return policy_load_file(d->o->policy_path, &d->popts, out, err, errlen,
				quiet ? NULL : warn_stderr, d);
}

/*
 * Watch the directories of the exec rules' paths: a package upgrade
 * replaces /usr/bin/curl by a rename, and the new inode must be fenced too.
 */
static void watch_exec_dirs(struct daemon *d)
{
	char dir[PATH_MAX], *slash;
	size_t i, k;
	int wd;

	for (i = 0; d->inofd >= 0 && i < d->policy->nprofiles; i++) {
		const struct profile *pr = &d->policy->profiles[i];

		for (k = 0; k < pr->nexec; k++) {
			snprintf(dir, sizeof(dir), "%s", pr->exec[k].path);
			slash = strrchr(dir, '/');
			if (!slash)
				continue;
			slash[slash == dir] = '\0';
			wd = inotify_add_watch(d->inofd, dir, IN_CREATE | IN_MOVED_TO |
					       IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR);
			if (wd < 0)
				continue;
			for (size_t j = 0; j < d->nexec_wd; j++)
				if (d->exec_wd[j] == wd)
					wd = -1;
			if (wd >= 0 && d->nexec_wd < EXEC_WATCH_MAX)
				d->exec_wd[d->nexec_wd++] = wd;
		}
	}
}

/* Does @name in the directory watched by @wd name an exec rule's path? */
static bool exec_watch_hit(struct daemon *d, int wd, const char *name)
{
	size_t i, k;
	bool ours = false;

	for (i = 0; i < d->nexec_wd; i++)
		ours |= d->exec_wd[i] == wd;
	for (i = 0; ours && i < d->policy->nprofiles; i++) {
		const struct profile *pr = &d->policy->profiles[i];

		for (k = 0; k < pr->nexec; k++) {
			const char *b = strrchr(pr->exec[k].path, '/');

			if (b && !strcmp(b + 1, name))
				return true;
		}
	}
	return false;
}

/* The exec fence for the policy just put in force. */
static void apply_exec(struct daemon *d, void (*warn)(const char *, void *))
{
	int ret;

	if (!d->exec_lsm && d->fence.fd >= 0) {
		ret = fence_apply(&d->fence, maps_active(&d->maps), warn, d);
		if (ret)
			log_msg("exec fence: marking the policy's files: %s; execs are stopped after the fact (SIGKILL) only",
				strerror(-ret));
	}
	watch_exec_dirs(d);
}

static void on_fence_hit(void *arg, const struct fence_hit *h)
{
	struct daemon *d = arg;

	/* What the kernel reported before this request goes out first. */
	ring_buffer__consume(d->rb);
	emit(d, event_user_exec(&d->ev, h->exec, h->pid, &h->t.server, h->path,
				major(h->st_dev), minor(h->st_dev), h->ino,
				h->action, h->rule ? h->rule->rule_id :
				MW_RULE_DEFAULT));
}

/* SIGHUP, or the policy file or resolv.conf changed. */
static void reload(struct daemon *d)
{
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX];
	json_object *o;
	int ret;

	ret = load_policy(d, &p, err, sizeof(err), true);
	if (!ret)
		ret = maps_apply(&d->maps, p, err, sizeof(err), warn_event, d);
	if (ret) {
		log_msg("policy reload failed, the running policy stays: %s", err);
		o = event_new(&d->ev, "policy_error", 0);
		json_object_object_add(o, "error", json_object_new_string(err));
		json_object_object_add(o, "policy", d->policy ?
				       policy_json(d->policy) : NULL);
		emit(d, o);
		policy_free(p);
		return;
	}
	policy_free(d->policy);
	d->policy = p;
	apply_exec(d, warn_event);
	o = event_new(&d->ev, "policy_load", 0);
	json_object_object_add(o, "policy", policy_json(p));
	json_object_object_add(o, "generation",
			       json_object_new_int(d->maps.active_gen));
	emit(d, o);
}

static void report_lost(struct daemon *d, __u64 now, __u64 *seen,
			const char *reason)
{
	json_object *o, *l;

	if (now <= *seen)
		return;
	o = event_new(&d->ev, "events_lost", 0);
	l = json_object_new_object();
	json_object_object_add(l, "count", json_object_new_int64(now - *seen));
	json_object_object_add(l, "total", json_object_new_int64(now));
	json_object_object_add(l, "reason", json_object_new_string(reason));
	json_object_object_add(o, "lost", l);
	emit(d, o);
	*seen = now;
}

/* Counters that rose since the last look become events: never silent. */
static void check_counters(struct daemon *d)
{
	__u64 c[MW_CNT_MAX];

	if (maps_counters(&d->maps, c))
		return;
	report_lost(d, c[MW_CNT_RB_DROPS], &d->seen_drops, "ring_buffer_full");
	report_lost(d, c[MW_CNT_TRACK_FULL], &d->seen_track_full,
		    "tracked_map_full");
}

static json_object *ok_response(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

static json_object *err_response(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static json_object *err_response(const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(buf));
	return o;
}

/* Opting into restriction is always allowed; opting out never is. */
static json_object *on_track(struct daemon *d, const struct control_peer *peer,
			     json_object *req)
{
	const struct compiled *c = maps_active(&d->maps);
	struct mw_server server = { .source = MW_SOURCE_WRAPPER };
	const struct profile *pr;
	json_object *jp, *resp;
	struct mw_tracked t;
	struct proc_info pi;
	const char *profile = "default";
	__u32 id;
	int ret;

	json_object_object_foreach(req, key, val) {
		(void)val;
		if (strcmp(key, "op") && strcmp(key, "profile"))
			return err_response("unknown key \"%s\"", key);
	}
	if (json_object_object_get_ex(req, "profile", &jp)) {
		if (!json_object_is_type(jp, json_type_string))
			return err_response("\"profile\" must be a string");
		profile = json_object_get_string(jp);
	}
	id = profile_ids_get(&d->maps.ids, profile);
	if (!id || !c || !c->profiles[id].present)
		return err_response("no profile \"%s\" in the running policy",
				    profile);
	if (peer->pid <= 0)
		return err_response("the peer has no pid in the agent's namespace");
	ret = proc_read(NULL, peer->pid, &pi);
	if (ret)
		return err_response("reading /proc/%d: %s", peer->pid,
				    strerror(-ret));
	proc_info_clear(&pi);
	/* With a pidfd, the peer was alive after the read: not a reused pid. */
	if (peer->pidfd >= 0 &&
	    syscall(SYS_pidfd_send_signal, peer->pidfd, 0, NULL, 0))
		return err_response("the peer exited");
	if (!maps_tracked_get(&d->maps, peer->pid, &t) &&
	    t.start_time / MW_TICK_NS == pi.start_time / MW_TICK_NS) {
		if (t.server.profile != id)
			return err_response("pid %d is already tracked under profile \"%s\"; a tracked process cannot change its profile",
					    peer->pid,
					    profile_ids_name(&d->maps.ids, t.server.profile) ?: "?");
		server = t.server;
	} else {
		server.pid = peer->pid;
		server.profile = id;
		server.start_time = pi.start_time;
		ret = maps_track(&d->maps, peer->pid, pi.start_time, &server, 1);
		if (ret)
			return err_response("tracking pid %d: %s", peer->pid,
					    strerror(-ret));
	}
	resp = ok_response();
	pr = policy_profile(d->policy, profile_ids_name(&d->maps.ids,
							 server.profile));
	if (pr && pr->exec_allowlist) {
		json_object *allow = json_object_new_array();

		for (size_t k = 0; k < pr->nexec; k++)
			if (pr->exec[k].action == MW_ACTION_ALLOW)
				json_object_array_add(allow, json_object_new_string(
							      pr->exec[k].path));
		json_object_object_add(resp, "exec_allow", allow);
	}
	json_object_object_add(resp, "pid", json_object_new_int(peer->pid));
	json_object_object_add(resp, "profile", json_object_new_string(profile));
	json_object_object_add(resp, "server_pid",
			       json_object_new_int(server.pid));
	return resp;
}

static json_object *on_status(struct daemon *d)
{
	json_object *resp = ok_response(), *cnt = json_object_new_object();
	__u64 c[MW_CNT_MAX] = {};
	static const char *const names[] = {
		[MW_CNT_EVENTS] = "events", [MW_CNT_RB_DROPS] = "ring_buffer_drops",
		[MW_CNT_TRACK_FULL] = "tracked_map_full", [MW_CNT_DENIES] = "denies",
		[MW_CNT_AUDITS] = "audits", [MW_CNT_READ_ERRS] = "read_errors",
	};
	size_t i;

	maps_counters(&d->maps, c);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i])
			json_object_object_add(cnt, names[i],
					       json_object_new_int64(c[i]));
	json_object_object_add(cnt, "lines_written",
			       json_object_new_int64(d->lines));
	json_object_object_add(resp, "version", json_object_new_string(MW_VERSION));
	json_object_object_add(resp, "pid", json_object_new_int(getpid()));
	json_object_object_add(resp, "policy", policy_json(d->policy));
	json_object_object_add(resp, "generation",
			       json_object_new_int(d->maps.active_gen));
	json_object_object_add(resp, "tracked", json_object_new_int64(
				       maps_tracked_count(&d->maps)));
	json_object_object_add(resp, "counters", cnt);
	json_object_object_add(resp, "cgroup",
			       json_object_new_string(d->cgroup_path));
	return resp;
}

static json_object *on_control(const struct control_peer *peer,
			       json_object *req, void *arg)
{
	struct daemon *d = arg;
	json_object *op;
	const char *s;

	if (!json_object_object_get_ex(req, "op", &op) ||
	    !json_object_is_type(op, json_type_string))
		return err_response("\"op\" missing or not a string");
	s = json_object_get_string(op);
	if (!strcmp(s, "track"))
		return on_track(d, peer, req);
	if (!strcmp(s, "status"))
		return on_status(d);
	return err_response("unknown op \"%s\"", s);
}

static int pin_link(struct daemon *d, struct bpf_link *link, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/link_%s", d->o->pin_dir, name);
	unlink(path);	/* an earlier agent's link: the new one is in place */
	return bpf_link__pin(link, path);
}

static int attach(struct daemon *d)
{
	static const char *const names[L_MAX] = {
		"fork", "exec", "exit", "connect4", "connect6", "sendmsg4",
		"sendmsg6", "sock_create", "bprm_check", "mmap_file",
	};
	struct bpf_program *progs[L_MAX] = {
		d->skel->progs.handle_fork, d->skel->progs.handle_exec,
		d->skel->progs.handle_exit, d->skel->progs.handle_connect4,
		d->skel->progs.handle_connect6, d->skel->progs.handle_sendmsg4,
		d->skel->progs.handle_sendmsg6, d->skel->progs.handle_sock_create,
		d->skel->progs.handle_bprm_check, d->skel->progs.handle_mmap_file,
	};
	int i, err;

	for (i = 0; i < L_MAX; i++) {
		if (!bpf_program__autoload(progs[i]))
			continue;
		if (i >= L_CONNECT4 && i <= L_SOCK_CREATE)
			d->links[i] = bpf_program__attach_cgroup(progs[i],
								 d->cgroup_fd);
		else
			d->links[i] = bpf_program__attach(progs[i]);
		if (!d->links[i]) {
			err = -errno;
			log_msg("attaching %s: %s", bpf_program__name(progs[i]),
				strerror(-err));
			return err;
		}
		err = pin_link(d, d->links[i], names[i]);
		if (err)
			log_msg("pinning the %s link under \"%s\": %s, ignoring",
				names[i], d->o->pin_dir, strerror(-err));
	}
	return 0;
}

static void detach(struct daemon *d)
{
	int i;

	for (i = 0; i < L_MAX; i++) {
		if (!d->links[i])
			continue;
		bpf_link__unpin(d->links[i]);
		bpf_link__destroy(d->links[i]);
		d->links[i] = NULL;
	}
}

static int open_load(struct daemon *d)
{
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/mw_tracked", d->o->pin_dir);
	for (int attempt = 0; attempt < 2; attempt++) {
		d->skel = mcpwarden_bpf__open();
		if (!d->skel)
			return -errno;
		/* Tracking survives an agent restart through this pin. */
		bpf_map__set_pin_path(d->skel->maps.mw_tracked, path);
		if (d->o->ringbuf_size)
			bpf_map__set_max_entries(d->skel->maps.mw_events,
						 d->o->ringbuf_size);
		/* LSM programs fail to load where BPF-LSM is off. */
		bpf_program__set_autoload(d->skel->progs.handle_bprm_check,
					  d->exec_lsm);
		bpf_program__set_autoload(d->skel->progs.handle_mmap_file,
					  d->exec_lsm);
		err = mcpwarden_bpf__load(d->skel);
		if (!err)
			return 0;
		mcpwarden_bpf__destroy(d->skel);
		d->skel = NULL;
		if (attempt == 0 && !access(path, F_OK)) {
			log_msg("pinned map \"%s\" does not fit this version, replacing it",
				path);
			unlink(path);
			continue;
		}
	}
	return err;
}

static int setup_cgroup(struct daemon *d)
{
	int ret;

	ret = cgroup2_root(d->cgroup_root, sizeof(d->cgroup_root));
	if (ret) {
		log_msg("no cgroup v2 hierarchy, and mounting one failed: %s",
			strerror(-ret));
		return ret;
	}
	snprintf(d->cgroup_path, sizeof(d->cgroup_path), "%s",
		 d->o->cgroup ? d->o->cgroup : d->cgroup_root);
	if (!fs_is(d->cgroup_path, CGROUP2_SUPER_MAGIC)) {
		log_msg("--cgroup \"%s\": not a cgroup v2 directory",
			d->cgroup_path);
		return -EINVAL;
	}
	d->cgroup_fd = open(d->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->cgroup_fd < 0) {
		ret = -errno;
		log_msg("--cgroup \"%s\": %s", d->cgroup_path, strerror(-ret));
		return ret;
	}
	return 0;
}

static int ep_add(struct daemon *d, int fd, struct ep_src *src, int kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

	src->kind = kind;
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static void watch_files(struct daemon *d)
{
	char dir[PATH_MAX], *slash;
	const char *resolv = d->popts.resolv_conf;

	d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->inofd < 0)
		return;
	d->policy_wd = d->resolv_wd = -1;
	/* Watch directories: editors and resolvconf replace files by rename. */
	if (d->o->policy_path) {
		snprintf(dir, sizeof(dir), "%s", d->o->policy_path);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			strcpy(dir, ".");
		d->policy_wd = inotify_add_watch(d->inofd, dir[0] ? dir : "/",
			IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	}
	snprintf(dir, sizeof(dir), "%s", resolv);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		d->resolv_wd = inotify_add_watch(d->inofd, dir,
			IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	}
	ep_add(d, d->inofd, &d->src_ino, EP_INOTIFY);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static void on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	ssize_t n;
	char *p;

	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			if (!ie->len)
				continue;
			if (ie->wd == d->policy_wd && d->o->policy_path &&
			    !strcmp(ie->name, base_name(d->o->policy_path)))
				d->reload = true;
			if (ie->wd == d->resolv_wd &&
			    !strcmp(ie->name, base_name(d->popts.resolv_conf)))
				d->reload = true;
			if (exec_watch_hit(d, ie->wd, ie->name))
				d->reload = true;
		}
	}
}

static int open_output(struct daemon *d)
{
	int fd;

	if (!d->o->output || !strcmp(d->o->output, "-")) {
		d->out = stdout;
		return 0;
	}
	fd = open(d->o->output, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || !(d->out = fdopen(fd, "a"))) {
		int err = -errno;

		log_msg("--output \"%s\": %s", d->o->output, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return 0;
}

static void emit_start(struct daemon *d, int scanned)
{
	json_object *o = event_new(&d->ev, "agent_start", 0);
	json_object *a = json_object_new_object();

	json_object_object_add(a, "version", json_object_new_string(MW_VERSION));
	json_object_object_add(a, "pid", json_object_new_int(getpid()));
	json_object_object_add(a, "kernel", json_object_new_string(d->feat.kernel));
	json_object_object_add(a, "backend",
			       features_backend_json(&d->feat, d->o->backend));
	json_object_object_add(a, "cgroup", json_object_new_string(d->cgroup_path));
	json_object_object_add(a, "pin_dir", json_object_new_string(d->o->pin_dir));
	json_object_object_add(a, "socket",
			       json_object_new_string(d->o->socket_path));
	json_object_object_add(a, "tracked_at_start", json_object_new_int64(
				       maps_tracked_count(&d->maps)));
	json_object_object_add(a, "found_by_scan", json_object_new_int(scanned));
	json_object_object_add(a, "fail_open", json_object_new_string(
		"if the agent stops, pinned links keep the network fence and tracking in force until the next start; a clean stop removes them"));
	json_object_object_add(o, "agent", a);
	json_object_object_add(o, "policy", policy_json(d->policy));
	emit(d, o);
	fflush(d->out);
}

static void emit_stop(struct daemon *d)
{
	json_object *o = event_new(&d->ev, "agent_stop", 0);
	json_object *a = json_object_new_object();

	json_object_object_add(a, "signal", json_object_new_string(
				       strsignal(d->stop_signal)));
	json_object_object_add(a, "lines_written",
			       json_object_new_int64(d->lines + 1));
	json_object_object_add(o, "agent", a);
	emit(d, o);
	fflush(d->out);
}

static int setup_loop(struct daemon *d)
{
	struct itimerspec its = {};
	sigset_t mask;
	int ret;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0)
		return -errno;
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timerfd < 0)
		return -errno;
	its.it_interval.tv_sec = d->o->stats_interval_ms / 1000;
	its.it_interval.tv_nsec = (d->o->stats_interval_ms % 1000) * 1000000L;
	its.it_value = its.it_interval;
	timerfd_settime(d->timerfd, 0, &its, NULL);
	d->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.mw_events), on_record,
				 d, NULL);
	if (!d->rb)
		return -errno;
	if ((ret = ep_add(d, ring_buffer__epoll_fd(d->rb), &d->src_rb, EP_RINGBUF)) ||
	    (ret = ep_add(d, d->sigfd, &d->src_sig, EP_SIGNAL)) ||
	    (ret = ep_add(d, d->timerfd, &d->src_timer, EP_TIMER)))
		return ret;
	watch_files(d);
	return 0;
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			d->reload = true;
		else
			d->stop_signal = si.ssi_signo;
	}
}

static void loop(struct daemon *d)
{
	struct epoll_event evs[32];
	__u64 ticks;
	int n, i;

	while (!d->stop_signal) {
		/* Routine events do not wake us (mw_wakeup()): drain on a tick. */
		n = epoll_wait(d->epfd, evs, 32, DRAIN_MS);
		if (n < 0 && errno != EINTR) {
			log_msg("epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			struct ep_src *src = evs[i].data.ptr;

			switch (src->kind) {
			case EP_RINGBUF:
				ring_buffer__consume(d->rb);
				break;
			case EP_SIGNAL:
				on_signal(d);
				break;
			case EP_TIMER:
				if (read(d->timerfd, &ticks, sizeof(ticks)) > 0) {
					check_counters(d);
					control_expire(&d->ctl);
				}
				break;
			case EP_INOTIFY:
				on_inotify(d);
				break;
			case EP_CONTROL_LISTEN:
				control_on_listen(&d->ctl);
				break;
			case EP_CONTROL_CLIENT:
				control_on_client(&d->ctl,
					(struct control_client *)src);
				break;
			case EP_FANOTIFY:
				fence_on_event(&d->fence, &d->maps,
					       on_fence_hit, d);
				break;
			}
		}
		ring_buffer__consume(d->rb);	/* cheap when empty */
		if (d->reload) {
			d->reload = false;
			reload(d);
		}
		fflush(d->out);
	}
	ring_buffer__consume(d->rb);	/* what is left, before the stop event */
	check_counters(d);
}

int daemon_run(const struct run_opts *o)
{
	struct daemon dd = { .o = o, .epfd = -1, .sigfd = -1, .timerfd = -1,
			     .inofd = -1, .cgroup_fd = -1 };
	struct daemon *d = &dd;
	char err[POLICY_ERR_MAX];
	int ret, scanned;

	d->ctl.fd = -1;
	d->fence.fd = -1;
	d->popts.resolv_conf = o->resolv_conf ? o->resolv_conf : "/etc/resolv.conf";
	log_setup_libbpf();
	if (geteuid() != 0) {
		log_msg("run: must run as root (it loads BPF programs)");
		return 1;
	}
	ret = setup_cgroup(d);
	if (ret)
		goto out;
	d->popts.cgroup_root = d->cgroup_root;
	ret = load_policy(d, &d->policy, err, sizeof(err), false);
	if (ret) {
		log_msg("%s", err);
		goto out;
	}
	daemon_mount_fs();
	features_probe(&d->feat);
	ret = backend_check(&d->feat, o->backend, err, sizeof(err));
	if (ret) {
		log_msg("%s", err);
		goto out;
	}
	d->exec_lsm = backend_exec_lsm(&d->feat, o->backend);
	/* First, so that a second agent stops before it touches anything. */
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		ret = -errno;
		goto out;
	}
	ret = control_listen(&d->ctl, o->socket_path, d->epfd, on_control, d);
	if (ret) {
		log_msg("--socket \"%s\": %s%s", o->socket_path, strerror(-ret),
			ret == -EADDRINUSE ? " (another agent is running)" : "");
		goto out;
	}
	ret = open_output(d);
	if (ret)
		goto out;
	if (mkdir(o->pin_dir, 0700) && errno != EEXIST) {
		ret = -errno;
		log_msg("--pin-dir \"%s\": %s", o->pin_dir, strerror(-ret));
		goto out;
	}
	d->ev.cache = proc_cache_new();
	d->ev.boot_to_real = events_clock_offset();
	d->ev.profile_name = name_profile;
	d->ev.rule_name = name_rule;
	d->ev.arg = d;
	ret = open_load(d);
	if (ret) {
		log_msg("loading the BPF programs: %s", strerror(-ret));
		goto out;
	}
	ret = maps_init(&d->maps, &(struct mw_map_fds){
		.tracked = bpf_map__fd(d->skel->maps.mw_tracked),
		.cgroups = bpf_map__fd(d->skel->maps.mw_cgroups),
		.detect = bpf_map__fd(d->skel->maps.mw_detect),
		.config = bpf_map__fd(d->skel->maps.mw_config),
		.gens = bpf_map__fd(d->skel->maps.mw_gens),
		.profiles = bpf_map__fd(d->skel->maps.mw_profiles),
		.net = bpf_map__fd(d->skel->maps.mw_net_rules),
		.sync = bpf_map__fd(d->skel->maps.mw_sync),
		.counters = bpf_map__fd(d->skel->maps.mw_counters),
		.exec = bpf_map__fd(d->skel->maps.mw_exec_rules),
	});
	if (ret) {
		log_msg("creating maps: %s", strerror(-ret));
		goto out;
	}
	ret = maps_apply(&d->maps, d->policy, err, sizeof(err), warn_stderr, d);
	if (ret) {
		log_msg("%s", err);
		goto out;
	}
	/* The ring buffer is read from here on: attach, then scan. */
	ret = setup_loop(d);
	if (ret) {
		log_msg("setting up the event loop: %s", strerror(-ret));
		goto out;
	}
	if (!d->exec_lsm) {
		ret = fence_init(&d->fence, d->epfd);
		if (ret)
			log_msg("exec fence: fanotify: %s; execs are stopped after the fact (SIGKILL) only",
				strerror(-ret));
	}
	apply_exec(d, warn_stderr);
	ret = attach(d);
	if (ret)
		goto out;
	scanned = scan_proc(&d->maps, NULL, d->cgroup_root);
	if (scanned > 0)	/* children forked while we scanned */
		scanned += scan_proc(&d->maps, NULL, d->cgroup_root);
	emit_start(d, scanned < 0 ? 0 : scanned);
	log_msg("running: %s policy \"%s\", socket hooks on %s, control socket %s",
		o->policy_path ? "file" : "built-in", d->policy->source,
		d->cgroup_path, o->socket_path);
	loop(d);
	emit_stop(d);
	ret = 0;
out:
	fence_close(&d->fence);
	control_close(&d->ctl);
	detach(d);
	if (d->skel) {
		bpf_map__unpin(d->skel->maps.mw_tracked, NULL);
		mcpwarden_bpf__destroy(d->skel);
	}
	if (o->pin_dir)
		rmdir(o->pin_dir);
	ring_buffer__free(d->rb);
	maps_free(&d->maps);
	policy_free(d->policy);
	proc_cache_free(d->ev.cache);
	if (d->out && d->out != stdout)
		fclose(d->out);
	else if (d->out)
		fflush(d->out);
	if (d->cgroup_fd >= 0)
		close(d->cgroup_fd);
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->inofd >= 0)
		close(d->inofd);
	return ret ? 1 : 0;
}
