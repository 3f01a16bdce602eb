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
#include "daemon/control.h"
#include "mw_ident.h"
#include "daemon/daemon.h"
#include "output/events.h"
#include "kernel/fence.h"
#include "lib/hostpath.h"
#include "lib/log.h"
#include "daemon/loop.h"
#include "kernel/maps.h"
#include "output/metrics.h"
#include "output/ocsf.h"
#include "policy/policy.h"
#include "lib/proc.h"
#include "kernel/scan.h"
#include "output/sink.h"

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

/* Every program of the object, how it attaches and when it is loaded. */
enum prog_kind { P_TRACING, P_CGROUP, P_LSM, P_CGROUP_UNIX };
#define L_MAX	24

#define WATCH_MAX	1024	/* rule paths watched for changes */

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
	struct {
		int wd;
		char name[256];
	} watch[WATCH_MAX];		/* (directory, next component) of rules */
	size_t nwatch;
	bool out;			/* the outputs are open */
	struct sinks sinks;
	struct metrics metrics;
	struct ocsf_ctx ocsf;
	char hostname[256];
	int epfd, sigfd, timerfd, inofd, cgroup_fd;
	int policy_wd, resolv_wd, k8s_wd;
	struct ep_src src_rb, src_sig, src_timer, src_ino;
	char cgroup_path[PATH_MAX];
	char resolv_buf[PATH_MAX];
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

/* Worth a syslog WARNING: a refusal, a loss, a failed reload. */
static bool notable(json_object *o, const char *type)
{
	json_object *a;
	const char *s;

	if (type && (!strcmp(type, "events_lost") || !strcmp(type, "policy_error")))
		return true;
	if (!json_object_object_get_ex(o, "action", &a))
		return false;
	s = json_object_get_string(a);
	return s && (!strcmp(s, "deny") || !strcmp(s, "kill"));
}

static void emit(struct daemon *d, json_object *o)
{
	json_object *v, *x = NULL;
	const char *line, *type = NULL, *time = NULL;

	if (!o)
		return;
	metrics_observe(&d->metrics, o);
	if (json_object_object_get_ex(o, "type", &v))
		type = json_object_get_string(v);
	if (json_object_object_get_ex(o, "time", &v))
		time = json_object_get_string(v);
	if (d->o->ocsf)
		x = ocsf_from_native(o, &d->ocsf);
	line = json_object_to_json_string_ext(x ? x : o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	sinks_write(&d->sinks, line, strlen(line), type, time, notable(o, type));
	d->lines++;
	json_object_put(x);
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

	return rule_ids_name(&d->maps.rules, id);
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
 * Watch, for every path an exec, file or unix rule names, the nearest
 * directory that exists, for the next component of the path: a package
 * upgrade replaces /usr/bin/curl by a rename, and ~/.aws may be created
 * after the agent started. Either makes the policy compile again.
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
	if (wd >= 0)
		d->watch[d->nwatch++].wd = wd;
}

static void watch_rule_paths(struct daemon *d)
{
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
}

static bool watch_hit(struct daemon *d, int wd, const char *name)
{
	size_t i;

	for (i = 0; i < d->nwatch; i++)
		if (d->watch[i].wd == wd && !strcmp(d->watch[i].name, name))
			return true;
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
	watch_rule_paths(d);
}

static void on_fence_hit(void *arg, const struct fence_hit *h)
{
	struct daemon *d = arg;

	/* What the kernel reported before this request goes out first. */
	ring_buffer__consume(d->rb);
	emit(d, event_user_exec(&d->ev, h->exec && !h->file_rule, h->pid,
				&h->t.server, h->path,
				major(h->st_dev), minor(h->st_dev), h->ino,
				h->action, h->rule_id));
}

static bool policy_has_k8s(const struct policy *p)
{
	size_t i;

	for (i = 0; p && i < p->nprofiles; i++)
		if (p->profiles[i].has_k8s)
			return true;
	return false;
}

static bool policy_has_cgroups(const struct policy *p)
{
	size_t i;

	for (i = 0; p && i < p->nprofiles; i++)
		if (p->profiles[i].ncgroups)
			return true;
	return false;
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
	/* Newly selected cgroups: their running processes are tracked now. */
	if (policy_has_k8s(p) || policy_has_cgroups(p))
		scan_proc(&d->maps, NULL, d->cgroup_root);
	o = event_new(&d->ev, "policy_load", 0);
	json_object_object_add(o, "policy", policy_json(p));
	json_object_object_add(o, "generation",
			       json_object_new_int(d->maps.active_gen));
	emit(d, o);
}

/* A counter that rose is an events_lost event; @sink names an output. */
static void report_lost(struct daemon *d, __u64 now, __u64 *seen,
			const char *reason, const char *sink)
{
	json_object *o, *l;

	if (now <= *seen)
		return;
	o = event_new(&d->ev, "events_lost", 0);
	l = json_object_new_object();
	json_object_object_add(l, "count", json_object_new_int64(now - *seen));
	json_object_object_add(l, "total", json_object_new_int64(now));
	json_object_object_add(l, "reason", json_object_new_string(reason));
	if (sink)
		json_object_object_add(l, "sink", json_object_new_string(sink));
	json_object_object_add(o, "lost", l);
	/* Before the emit: an output that drops this line reports it later. */
	*seen = now;
	emit(d, o);
}


/* Counters that rose since the last look become events: never silent. */
static void check_counters(struct daemon *d)
{
	__u64 c[MW_CNT_MAX];

	for (size_t i = 0; i < d->sinks.n; i++) {
		struct sink *s = &d->sinks.v[i];

		report_lost(d, s->lost_full, &s->seen_full, "sink_full",
			    s->name);
		report_lost(d, s->lost_error, &s->seen_error, "sink_error",
			    s->name);
	}

	if (maps_counters(&d->maps, c))
		return;
	report_lost(d, c[MW_CNT_RINGBUF_FULL], &d->seen_drops, "ring_buffer_full",
		    NULL);
	report_lost(d, c[MW_CNT_TRACK_FULL], &d->seen_track_full,
		    "tracked_map_full", NULL);
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

/*
 * What the wrapper applies itself (confine.c): seccomp always; Landlock for
 * allow-lists only where BPF-LSM is missing: where it runs, its hooks
 * enforce them and report each refusal, which Landlock would do silently.
 */
static void confinement_json(const struct profile *pr, bool lsm,
			     json_object *resp)
{
	json_object *a;
	size_t k;

	if (pr->exec_allowlist && !lsm) {
		a = json_object_new_array();
		for (k = 0; k < pr->nexec; k++)
			if (pr->exec[k].action == MW_ACTION_ALLOW)
				json_object_array_add(a, json_object_new_string(
							      pr->exec[k].path));
		json_object_object_add(resp, "exec_allow", a);
	}
	if (pr->files_allowlist && !lsm) {
		a = json_object_new_array();
		for (k = 0; k < pr->nfiles; k++)
			if (pr->files[k].action == MW_ACTION_ALLOW)
				json_object_array_add(a, json_object_new_string(
							      pr->files[k].path));
		json_object_object_add(resp, "files_allow", a);
	}
	if (pr->nsyscalls) {
		a = json_object_new_array();
		for (k = 0; k < pr->nsyscalls; k++)
			json_object_array_add(a, json_object_new_string(
						      pr->syscalls[k]));
		json_object_object_add(resp, "syscalls_deny", a);
	}
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
	/*
	 * With a pidfd, the peer was alive after the read: not a reused pid.
	 * Signal 0 checks existence; EPERM (no CAP_KILL) still means alive.
	 */
	if (peer->pidfd >= 0 &&
	    syscall(SYS_pidfd_send_signal, peer->pidfd, 0, NULL, 0) &&
	    errno == ESRCH)
		return err_response("the peer exited");
	if (!maps_tracked_get(&d->maps, peer->pid, &t) &&
	    mw_same_start(t.start_time, pi.start_time)) {
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
	if (pr)
		confinement_json(pr, d->exec_lsm, resp);
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
		[MW_CNT_EVENTS] = "events", [MW_CNT_RINGBUF_FULL] = "ring_buffer_full",
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

#define MW_BPF_CGROUP_UNIX_CONNECT	49	/* Linux 6.7; libbpf 1.1 lacks it */

struct prog_def {
	struct bpf_program *prog;
	enum prog_kind kind;
};

static size_t prog_defs(struct daemon *d, struct prog_def *defs)
{
	struct mcpwarden_bpf *sk = d->skel;
	struct prog_def v[] = {
		{ sk->progs.handle_fork, P_TRACING },
		{ sk->progs.handle_exec, P_TRACING },
		{ sk->progs.handle_exit, P_TRACING },
		{ sk->progs.handle_connect4, P_CGROUP },
		{ sk->progs.handle_connect6, P_CGROUP },
		{ sk->progs.handle_sendmsg4, P_CGROUP },
		{ sk->progs.handle_sendmsg6, P_CGROUP },
		{ sk->progs.handle_sock_create, P_CGROUP },
		{ sk->progs.handle_connect_unix, P_CGROUP_UNIX },
		{ sk->progs.handle_bprm_check, P_LSM },
		{ sk->progs.handle_mmap_file, P_LSM },
		{ sk->progs.handle_file_open, P_LSM },
		{ sk->progs.handle_unix_connect, P_LSM },
		{ sk->progs.handle_ptrace, P_LSM },
		{ sk->progs.handle_bpf, P_LSM },
		{ sk->progs.handle_perf_event_open, P_LSM },
		{ sk->progs.handle_mount, P_LSM },
		{ sk->progs.handle_umount, P_LSM },
		{ sk->progs.handle_load_data, P_LSM },
		{ sk->progs.handle_read_file, P_LSM },
		{ sk->progs.handle_key_alloc, P_LSM },
		{ sk->progs.handle_userns_create, P_LSM },
	};
	size_t n = sizeof(v) / sizeof(v[0]);

	memcpy(defs, v, sizeof(v));
	return n;
}

/* Between open and load: which programs this kernel and backend get. */
static void prog_select(struct daemon *d)
{
	struct prog_def defs[L_MAX];
	size_t i, n = prog_defs(d, defs);

	for (i = 0; i < n; i++) {
		switch (defs[i].kind) {
		case P_LSM:
			bpf_program__set_autoload(defs[i].prog, d->exec_lsm);
			break;
		case P_CGROUP_UNIX:
			bpf_program__set_type(defs[i].prog,
					      BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
			bpf_program__set_expected_attach_type(defs[i].prog,
				(enum bpf_attach_type)MW_BPF_CGROUP_UNIX_CONNECT);
			bpf_program__set_autoload(defs[i].prog,
						  d->feat.cgroup_connect_unix.ok);
			break;
		default:
			break;
		}
	}
}

static int attach(struct daemon *d)
{
	struct prog_def defs[L_MAX];
	size_t i, n = prog_defs(d, defs);
	const char *name;
	int err;

	for (i = 0; i < n; i++) {
		if (!bpf_program__autoload(defs[i].prog))
			continue;
		if (defs[i].kind == P_CGROUP || defs[i].kind == P_CGROUP_UNIX)
			d->links[i] = bpf_program__attach_cgroup(defs[i].prog,
								 d->cgroup_fd);
		else
			d->links[i] = bpf_program__attach(defs[i].prog);
		name = bpf_program__name(defs[i].prog);
		if (!d->links[i]) {
			err = -errno;
			log_msg("attaching %s: %s", name, strerror(-err));
			return err;
		}
		err = pin_link(d, d->links[i], name + strlen("handle_"));
		if (err)
			log_msg("pinning the %s link under \"%s\": %s, ignoring",
				name, d->o->pin_dir, strerror(-err));
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
		prog_select(d);
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
	/* A hybrid node: --cgroup /sys/fs/cgroup means its v2 part. */
	if (!fs_is(d->cgroup_path, CGROUP2_SUPER_MAGIC)) {
		char v2[PATH_MAX];

		snprintf(v2, sizeof(v2), "%.*s/unified", PATH_MAX - 16,
			 d->cgroup_path);
		if (fs_is(v2, CGROUP2_SUPER_MAGIC)) {
			log_msg("--cgroup \"%s\": cgroup v1 with v2 at \"%s\": using that",
				d->cgroup_path, v2);
			snprintf(d->cgroup_path, sizeof(d->cgroup_path), "%s", v2);
		}
	}
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
	char kpath[PATH_MAX];
	char dir[PATH_MAX], *slash;
	const char *resolv = d->popts.resolv_conf;

	d->k8s_wd = -1;
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
	/* The kubelet's container links: select.k8s follows them. */
	d->k8s_wd = inotify_add_watch(d->inofd, host_path("/var/log/containers",
							  kpath),
				      IN_CREATE | IN_DELETE | IN_MOVED_TO |
				      IN_MOVED_FROM | IN_ONLYDIR);
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
			if (watch_hit(d, ie->wd, ie->name))
				d->reload = true;
			if (ie->wd == d->k8s_wd && policy_has_k8s(d->policy))
				d->reload = true;
		}
	}
}

/* What /metrics asks of the daemon at each scrape. */
static void metrics_gauges(void *arg, struct metrics_gauges *g)
{
	struct daemon *d = arg;
	struct bpf_program *prog;
	size_t i, want = 0, have = 0;

	if (d->skel) {
		bpf_object__for_each_program(prog, d->skel->obj)
			want += bpf_program__autoload(prog);
		for (i = 0; i < L_MAX; i++)
			have += d->links[i] != NULL;
		g->attached = want && have == want;
		g->tracked = maps_tracked_count(&d->maps);
		g->tracked_max = bpf_map__max_entries(d->skel->maps.mw_tracked);
		g->generation = d->maps.active_gen;
	}
	g->fanotify = d->fence.fd >= 0;
	g->fanotify_allowed = d->fence.allowed;
	g->fanotify_denied = d->fence.denied;
	for (i = 0; i < d->sinks.n && i < 8; i++) {
		g->sink_name[i] = d->sinks.v[i].name;
		g->sink_queued[i] = sink_queued(&d->sinks.v[i]);
	}
	g->sinks = i;
}

/* The outputs (--output, --format) and the metrics endpoint. */
static int open_output(struct daemon *d)
{
	char err[512];
	size_t i;
	int ret;

	gethostname(d->hostname, sizeof(d->hostname) - 1);
	d->ocsf.hostname = d->hostname;
	d->ocsf.version = MW_VERSION;
	metrics_init(&d->metrics, metrics_gauges, d);
	for (i = 0; i < d->o->noutputs || (!i && !d->o->noutputs); i++) {
		ret = sinks_add(&d->sinks, d->o->noutputs ? d->o->outputs[i] : "-",
				d->o->rotate_size, d->o->queue_size, err,
				sizeof(err));
		if (ret) {
			log_msg("%s", err);
			return ret;
		}
	}
	ret = sinks_open(&d->sinks, d->epfd, err, sizeof(err));
	if (ret) {
		log_msg("%s", err);
		return ret;
	}
	d->out = true;
	if (d->o->metrics_addr) {
		ret = metrics_start(&d->metrics, d->o->metrics_addr, d->epfd);
		if (ret)
			return ret;
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
	sinks_flush(&d->sinks);
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
	sinks_flush(&d->sinks);
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
					/* A new cgroup a pattern selects. */
					if (maps_cgroups_changed(&d->maps, d->policy))
						d->reload = true;
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
			case EP_SINK:
				sink_on_event((struct sink *)src, evs[i].events);
				break;
			case EP_METRICS:
				metrics_loop(&d->metrics);
				break;
			case EP_FANOTIFY:
				fence_on_report(&d->fence, on_fence_hit, d);
				break;
			case EP_FENCE_INOTIFY:
				fence_on_inotify(&d->fence);
				break;
			}
		}
		ring_buffer__consume(d->rb);	/* cheap when empty */
		if (d->reload) {
			d->reload = false;
			reload(d);
		}
		sinks_tick(&d->sinks);
		sinks_flush(&d->sinks);
		metrics_loop(&d->metrics);
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
	struct stat hst;
	int ret, scanned;

	d->ctl.fd = -1;
	d->fence.fd = -1;
	d->fence.inofd = -1;
	d->fence.report[0] = d->fence.report[1] = -1;
	d->fence.wake[0] = d->fence.wake[1] = -1;
	/* The node's resolver, also from a pod (--host-root). */
	/* From the first instruction: a stop during start-up is handled by
	 * the loop, with the cleanup, instead of killing us mid-way. */
	{
		sigset_t mask;

		sigemptyset(&mask);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGHUP);
		sigprocmask(SIG_BLOCK, &mask, NULL);
	}
	d->popts.resolv_conf = o->resolv_conf ? o->resolv_conf :
			       host_path("/etc/resolv.conf", d->resolv_buf);
	log_setup_libbpf();
	if (geteuid() != 0) {
		log_msg("run: must run as root (it loads BPF programs)");
		return 1;
	}
	if (host_root && (stat(host_root, &hst) || !S_ISDIR(hst.st_mode))) {
		ret = -ENOTDIR;
		log_msg("--host-root \"%s\": not a directory", host_root);
		goto out;
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
	d->ev.cgroup_root = d->cgroup_root;
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
		.files = bpf_map__fd(d->skel->maps.mw_file_rules),
		.unix_inodes = bpf_map__fd(d->skel->maps.mw_unix_rules),
		.unix_paths = bpf_map__fd(d->skel->maps.mw_unix_paths),
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
		ret = fence_init(&d->fence, d->epfd, &d->maps);
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
	metrics_stop(&d->metrics);
	sinks_drain(&d->sinks);
	sinks_close(&d->sinks);
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
