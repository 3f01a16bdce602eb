// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the control socket's requests do (daemon/control.c carries them):
 * "track" opts the caller in, "status" reports. The daemon's state stays
 * in daemon/; this file only reads and asks it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "daemon/precheck.h"
#include "daemon/state.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "mw_ident.h"
#include "output/agent_events.h"

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
 * What the wrapper applies itself (wrapper/confine.c): seccomp always;
 * Landlock for allow-lists only where BPF-LSM is missing: where it runs,
 * its hooks enforce them and report each refusal, which Landlock would do
 * silently.
 */
static json_object *allowed_paths(const struct path_rule *v, size_t n)
{
	json_object *a = json_object_new_array();
	size_t k;

	for (k = 0; k < n; k++)
		if (v[k].action == MW_ACTION_ALLOW)
			json_object_array_add(a, json_object_new_string(v[k].path));
	return a;
}

static void confinement_json(const struct profile *pr, bool lsm,
			     json_object *resp)
{
	json_object *a;
	size_t k;

	if (pr->exec_allowlist && !lsm)
		json_object_object_add(resp, "exec_allow",
				       allowed_paths(pr->exec, pr->nexec));
	if (pr->files_allowlist && !lsm)
		json_object_object_add(resp, "files_allow",
				       allowed_paths(pr->files, pr->nfiles));
	if (pr->nsyscalls) {
		a = json_object_new_array();
		for (k = 0; k < pr->nsyscalls; k++)
			json_object_array_add(a, json_object_new_string(
						      pr->syscalls[k]));
		json_object_object_add(resp, "syscalls_deny", a);
	}
}

/*
 * The server identity @peer gets: its own entry if it is tracked already
 * (a tracked process cannot change its profile), else a new root.
 */
static json_object *track_peer(struct daemon *d, const struct control_peer *peer,
			       __u32 id, struct mw_server *server, int *fd)
{
	struct mw_tracked t;
	struct proc_info pi;
	int ret;

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
		*server = t.server;
		return NULL;
	}
	server->pid = peer->pid;
	server->profile = id;
	server->start_time = pi.start_time;
	/* The wrapper's interposer maps the page (fd): before the tracking. */
	if (fd && (ret = sessions_new(&d->sessions, server,
				      daemon_profile_args(d, id),
				      &server->session, fd)))
		log_msg("pid %d: no MCP session page: %s; its events name no tool call",
			peer->pid, strerror(-ret));
	ret = maps_track(&d->maps, NULL, peer->pid, pi.start_time,
			 server, 1);
	if (ret) {
		sessions_end(&d->sessions, server->session, NULL, NULL, NULL);
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return err_response("tracking pid %d: %s", peer->pid,
				    strerror(-ret));
	}
	return NULL;
}

/*
 * "exec_refused" if profile @profile will refuse the exec the wrapper's
 * @files describe: the wrapper says so on its stderr, for the client.
 */
static void refusal_json(struct daemon *d, __u32 profile, json_object *files,
			 json_object *resp)
{
	struct precheck pc;
	const char *rule;
	json_object *o;
	char buf[160];

	if (!precheck_exec(maps_active(&d->maps), profile, files, &pc))
		return;
	/* Named as the kernel's event of the refusal will name it. */
	rule = event_rule_name(&d->ev, pc.rule_id, profile, "exec", pc.action,
			       buf, sizeof(buf));
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string(pc.path));
	json_object_object_add(o, "rule", json_object_new_string(rule));
	json_object_object_add(resp, "exec_refused", o);
}

/* Opting into restriction is always allowed; opting out never is. */
static json_object *on_track(struct daemon *d, const struct control_peer *peer,
			     json_object *req, int *fd)
{
	const struct compiled *c = maps_active(&d->maps);
	struct mw_server server = { .source = MW_SOURCE_WRAPPER };
	const struct profile *pr;
	json_object *jp, *resp;
	const char *profile = "default";
	bool interpose;
	__u32 id;

	json_object_object_foreach(req, key, val) {
		(void)val;
		if (strcmp(key, "op") && strcmp(key, "profile") &&
		    strcmp(key, "exec") && strcmp(key, "interpose"))
			return err_response("unknown key \"%s\"", key);
	}
	interpose = false;
	if (json_object_object_get_ex(req, "interpose", &jp)) {
		if (!json_object_is_type(jp, json_type_boolean))
			return err_response("\"interpose\" must be true or false");
		interpose = json_object_get_boolean(jp);
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
	resp = track_peer(d, peer, id, &server, interpose ? fd : NULL);
	if (resp)
		return resp;
	if (server.pid == (__u32)peer->pid)	/* a new server's root */
		notice_track(&d->notices, peer->pid, peer->pidfd);
	if (interpose && *fd >= 0)
		daemon_session_flags(d);	/* before the page is handed on */
	resp = ok_response();
	pr = policy_profile(d->policy, profile_ids_name(&d->maps.ids,
							 server.profile));
	if (pr)
		confinement_json(pr, d->exec_lsm, resp);
	json_object_object_add(resp, "pid", json_object_new_int(peer->pid));
	json_object_object_add(resp, "profile", json_object_new_string(profile));
	json_object_object_add(resp, "server_pid",
			       json_object_new_int(server.pid));
	/* Its page goes with the response (SCM_RIGHTS). */
	if (interpose)
		json_object_object_add(resp, "session",
				       json_object_new_boolean(*fd >= 0));
	if (json_object_object_get_ex(req, "exec", &jp))
		refusal_json(d, server.profile, jp, resp);
	return resp;
}

/* Each output and what it lost: what events_lost reported, in one place. */
static json_object *outputs_json(struct daemon *d)
{
	json_object *a = json_object_new_array(), *o;
	size_t i;

	for (i = 0; i < d->out.sinks.n; i++) {
		const struct sink *s = &d->out.sinks.v[i];

		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(s->name));
		json_object_object_add(o, "queued",
				       json_object_new_int64(sink_queued(s)));
		json_object_object_add(o, "lost_full",
				       json_object_new_int64(s->lost_full));
		json_object_object_add(o, "lost_error",
				       json_object_new_int64(s->lost_error));
		json_object_object_add(o, "lost_rotated",
				       json_object_new_int64(s->lost_rotated));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *on_status(struct daemon *d)
{
	json_object *resp = ok_response(), *cnt = json_object_new_object();
	__u64 c[MW_CNT_MAX] = {};
	static const char *const names[] = {
		[MW_CNT_EVENTS] = "events", [MW_CNT_RINGBUF_FULL] = "ring_buffer_full",
		[MW_CNT_TRACK_FULL] = "tracked_map_full", [MW_CNT_DENIES] = "denies",
		[MW_CNT_AUDITS] = "audits", [MW_CNT_READ_ERRS] = "read_errors",
		[MW_CNT_RINGBUF_ROUTINE] = "ring_buffer_routine",
		[MW_CNT_AGG_FULL] = "aggregation_full",
	};
	json_object *agg = json_object_new_object();
	json_object *lp = json_object_new_object();
	size_t i;

	loop_sync(d);
	maps_counters(&d->maps, c);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i])
			json_object_object_add(cnt, names[i],
					       json_object_new_int64(c[i]));
	json_object_object_add(cnt, "lines_written",
			       json_object_new_int64(d->out.lines));
	json_object_object_add(resp, "version", json_object_new_string(MW_VERSION));
	json_object_object_add(resp, "pid", json_object_new_int(getpid()));
	json_object_object_add(resp, "policy", agent_policy_json(d->policy));
	json_object_object_add(resp, "generation",
			       json_object_new_int(d->maps.active_gen));
	json_object_object_add(resp, "tracked", json_object_new_int64(
				       maps_tracked_count(&d->maps)));
	json_object_object_add(resp, "counters", cnt);
	json_object_object_add(agg, "window_ms", json_object_new_int64(
				       d->o->agg_window_ns / 1000000));
	json_object_object_add(agg, "entries",
			       json_object_new_int64(d->agg.entries));
	json_object_object_add(agg, "max_entries",
			       json_object_new_int64(MW_AGG_MAX));
	json_object_object_add(agg, "summaries",
			       json_object_new_int64(d->agg_summaries));
	json_object_object_add(agg, "full", json_object_new_int64(
				       c[MW_CNT_AGG_FULL]));
	json_object_object_add(resp, "aggregation", agg);
	/* How often the loop woke, and why (docs/mcpwarden.8). */
	json_object_object_add(lp, "ticks",
			       json_object_new_int64(d->loop_counts.ticks));
	json_object_object_add(lp, "ring_wakeups",
			       json_object_new_int64(d->loop_counts.ring_wakeups));
	json_object_object_add(lp, "sleeps",
			       json_object_new_int64(d->loop_counts.sleeps));
	json_object_object_add(resp, "loop", lp);
	json_object_object_add(resp, "cgroup",
			       json_object_new_string(d->cgroup_path));
	json_object_object_add(resp, "outputs", outputs_json(d));
	if (fence_active(&d->fence)) {
		json_object *f = json_object_new_object();
		struct fence_counts fc;

		fence_counts(&d->fence, &fc);
		json_object_object_add(f, "guard_pid",
				       json_object_new_int(d->fence.guard_pid));
		json_object_object_add(f, "guard_restarts",
				       json_object_new_int64(d->fence.guard_restarts));
		json_object_object_add(f, "allowed", json_object_new_int64(fc.allowed));
		json_object_object_add(f, "denied", json_object_new_int64(fc.denied));
		json_object_object_add(f, "reports_lost",
				       json_object_new_int64(fc.reports_lost));
		json_object_object_add(f, "taken_over",
				       json_object_new_int64(fc.taken_over));
		json_object_object_add(f, "unjudged",
				       json_object_new_int64(fc.unjudged));
		json_object_object_add(f, "fd_clash",
				       json_object_new_int64(fc.fd_clash));
		json_object_object_add(resp, "fanotify", f);
	}
	return resp;
}

json_object *handlers_on_control(const struct control_peer *peer,
				 json_object *req, void *arg, int *fd)
{
	struct daemon *d = arg;
	json_object *op;
	const char *s;

	if (!json_object_object_get_ex(req, "op", &op) ||
	    !json_object_is_type(op, json_type_string))
		return err_response("\"op\" missing or not a string");
	s = json_object_get_string(op);
	if (!strcmp(s, "track"))
		return on_track(d, peer, req, fd);
	if (!strcmp(s, "status"))
		return on_status(d);
	return err_response("unknown op \"%s\"", s);
}
