// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mcpwarden run`: start-up in the order that keeps every step safe to
 * undo, the loop, and the stop. The steps are in the other files of
 * daemon/ and in kernel/ and output/.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/time.h"
#include "daemon/state.h"
#include "kernel/calls.h"
#include "kernel/mounts.h"
#include "kernel/scan.h"
#include "lib/hostpath.h"
#include "lib/log.h"
#include "output/agent_events.h"

/* The objects the file rules are on, by handle, for the next agent. */
static void held_collect(struct daemon *d, struct state_held_list *l)
{
	const struct compiled *c = maps_active(&d->maps);
	char hex[2 * MAX_HANDLE_SZ + 1];
	struct state_held *v;
	const struct inode_sel *e;
	const char *name;
	unsigned int type;
	size_t i;

	for (i = 0; c && i < c->nfiles; i++) {
		e = &c->files[i];
		name = profile_ids_name(&d->maps.ids, e->profile);
		if (e->fd < 0 || e->link || !name ||
		    handle_of(e->fd, &type, hex, sizeof(hex)))
			continue;	/* no handles on this file system */
		v = realloc(l->v, (l->n + 1) * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		v[l->n] = (struct state_held){
			.profile = strdup(name), .path = strdup(e->path),
			.action = e->action, .moved = e->moved,
			.readonly = e->readonly, .seq = e->seq,
			.kdev = kdev(e->st_dev),
			.type = type, .nbytes = strlen(hex) / 2,
			.handle = strdup(hex),
		};
		if (v[l->n].profile && v[l->n].path && v[l->n].handle) {
			l->n++;
		} else {
			free(v[l->n].profile);
			free(v[l->n].path);
			free(v[l->n].handle);
		}
	}
}

/* An earlier agent's objects, for the first policy apply (maps.h). */
static void held_seed(struct daemon *d, const struct state_held_list *l)
{
	size_t i;
	int fd;

	for (i = 0; i < l->n; i++) {
		fd = handle_open(l->v[i].kdev, l->v[i].type, l->v[i].handle,
				 l->v[i].nbytes);
		if (fd >= 0)
			maps_seed_file(&d->maps, &(struct maps_seed){
				.profile = l->v[i].profile,
				.path = l->v[i].path,
				.action = l->v[i].action,
				.readonly = l->v[i].readonly,
				.moved = l->v[i].moved, .seq = l->v[i].seq,
				.fd = fd });
	}
}

/*
 * Not fatal: without it the next agent names old events' rules by number,
 * and forgets where renamed protected objects went.
 */
void daemon_save_state(struct daemon *d)
{
	struct state_held_list held = {};
	int ret;

	held_collect(d, &held);
	ret = state_save(d->o->state_dir, &d->maps.rules, &d->seen, &held);
	state_held_free(&held);
	if (ret)
		log_msg("writing %s/state.json: %s, ignoring", d->o->state_dir,
			strerror(-ret));
}

void daemon_emit(struct daemon *d, json_object *o)
{
	output_emit(&d->out, o);
}

void daemon_emit_record(struct daemon *d)
{
	/* A server's exit: settled once the ring is read (loop_run()). */
	notice_event(&d->notices, &d->meta);
	output_emit_record(&d->out, &d->line, &d->meta);
}

static const struct profile *profile_of(const struct daemon *d, __u32 id)
{
	return policy_profile(d->policy, profile_ids_name(&d->maps.ids, id));
}

static void on_call(void *arg, const struct session *s, const struct mw_call *c,
		    bool end, __u64 denies, bool unfinished)
{
	static struct mw_call_args raw;	/* 16 KiB: not on the stack */
	struct daemon *d = arg;
	const struct profile *pr;
	struct call_args a;
	bool args;

	/* Shown only while the profile (a reload too) still asks for them. */
	args = !end && s->args && (c->flags & MW_CALL_ARGS_TEXT) &&
	       (pr = profile_of(d, s->server.profile)) && pr->arguments_full;
	if (args)
		call_args_build(&a, session_args(s->page, c->number, &raw) ?
				&raw : NULL, pr->redact, pr->nredact);
	event_tool_call(&d->ev, &d->call_line, &d->call_meta, &s->server,
			s->page, c, args ? &a : NULL, end, denies, unfinished);
	if (args)
		call_args_release(&a);
	output_emit_record(&d->out, &d->call_line, &d->call_meta);
}

static void calls_lost_report(struct daemon *d)
{
	if (d->calls_lost > d->calls_lost_seen) {
		daemon_emit(d, agent_event_lost(&d->ev,
						d->calls_lost - d->calls_lost_seen,
						d->calls_lost, "call_log", NULL));
		d->calls_lost_seen = d->calls_lost;
	}
}

void daemon_scan_calls(struct daemon *d, __u32 session)
{
	if (!d->sessions.used)
		return;
	sessions_scan(&d->sessions, session, d->horizon, on_call, d,
		      &d->calls_lost);
	calls_lost_report(d);
}

void daemon_session_end(struct daemon *d, __u32 session)
{
	sessions_end(&d->sessions, session, on_call, d, &d->calls_lost);
	calls_lost_report(d);
}

bool daemon_profile_args(const struct daemon *d, __u32 profile)
{
	const struct profile *pr = profile_of(d, profile);

	return pr && pr->arguments_full;
}

static __u32 profile_session_flags(void *arg, const struct session *s)
{
	struct daemon *d = arg;
	const struct profile *pr = profile_of(d, s->server.profile);

	if (!pr)
		return 0;
	return (pr->serialize_calls ? MW_SESSION_SERIAL : 0) |
	       (pr->arguments_full && s->args ? MW_SESSION_ARGS : 0);
}

void daemon_session_flags(struct daemon *d)
{
	sessions_flags(&d->sessions, profile_session_flags, d);
}

int ep_add(struct daemon *d, int fd, struct ep_src *src, int kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };

	/*
	 * The ring rings only when the kernel wakes its readers (a verdict,
	 * a quarter full, the bell): level-triggered, any record found at
	 * an epoll_wait() would count as a wake-up, and a trickle of routine
	 * records (an exec a millisecond) would keep the loop at a wake-up
	 * a millisecond instead of its 100 ms tick.
	 */
	if (kind == EP_RINGBUF)
		ev.events |= EPOLLET;
	src->kind = kind;
	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
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

/* Pages an earlier agent made: those the tracked processes name. */
static void adopt_sessions(struct daemon *d)
{
	int fd = d->maps.fd.tracked;
	struct mw_tracked t;
	__u32 key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &t) && t.server.session)
			sessions_adopt(&d->sessions, &t.server);
	}
}

static const struct mw_session *session_page(void *arg, __u32 session)
{
	struct daemon *d = arg;

	return sessions_page(&d->sessions, session);
}

/* What /metrics asks of the daemon at each scrape. */
static void metrics_gauges(void *arg, struct metrics_gauges *g)
{
	struct daemon *d = arg;
	struct fence_counts fc;
	size_t i;

	if (d->bpf.skel) {
		g->attached = loader_attached(&d->bpf);
		g->tracked = maps_tracked_count(&d->maps);
		g->tracked_max = loader_tracked_max(&d->bpf);
		g->generation = d->maps.active_gen;
	}
	if (d->bpf.skel) {
		__u64 c[MW_CNT_MAX] = {};

		maps_counters(&d->maps, c);
		g->agg_full = c[MW_CNT_AGG_FULL];
		g->agg_max = MW_AGG_MAX;
	}
	g->agg_window_ms = d->o->agg_window_ns / 1000000;
	g->agg_entries = d->agg.entries;
	g->agg_summaries = d->agg_summaries;
	g->fanotify = fence_active(&d->fence);
	fence_counts(&d->fence, &fc);
	g->fanotify_allowed = fc.allowed;
	g->fanotify_denied = fc.denied;
	g->fanotify_taken_over = fc.taken_over;
	g->fanotify_unjudged = fc.unjudged;
	for (i = 0; i < d->out.sinks.n && i < 8; i++) {
		g->sink_name[i] = d->out.sinks.v[i].name;
		g->sink_queued[i] = sink_queued(&d->out.sinks.v[i]);
	}
	g->sinks = i;
}

static void emit_start(struct daemon *d, int scanned)
{
	__u32 want;
	struct agent_start_info i = {
		.kernel = d->feat.kernel,
		.backend = features_backend_json(&d->feat, d->o->backend),
		.cgroup = d->cgroup_path,
		.pin_dir = d->o->pin_dir,
		.socket = d->o->socket_path,
		.tracked = maps_tracked_count(&d->maps),
		.tracked_capacity = loader_tracked_max(&d->bpf),
		.found_by_scan = scanned < 0 ? 0 : scanned,
		.adopted = d->bpf.adopted == ADOPT_ALL ? "all" :
			   d->bpf.adopted == ADOPT_MAPS ? "maps" : "none",
		.cleanup_on_exit = d->o->cleanup_on_exit,
		.policy = d->policy,
	};

	want = loader_tracked_short(&d->bpf);
	if (want)
		log_msg("the pinned tracked-process map holds %u processes, this kernel allows %u (pid_max, threads-max): 'mcpwarden uninstall' and a start make it fit",
			i.tracked_capacity, want);
	daemon_emit(d, agent_event_start(&d->ev, &i));
	sinks_flush(&d->out.sinks);
}

static void emit_stop(struct daemon *d)
{
	daemon_emit(d, agent_event_stop(&d->ev, d->stop_signal,
					d->out.lines + 1,
					!d->o->cleanup_on_exit));
	sinks_flush(&d->out.sinks);
}

/* Root, the cgroup, the policy and the backend: nothing changed yet. */
static int check_setup(struct daemon *d)
{
	char err[POLICY_ERR_MAX];
	struct stat hst;
	int ret;

	if (geteuid() != 0) {
		log_msg("run: must run as root (it loads BPF programs)");
		return -EPERM;
	}
	if (host_root && (stat(host_root, &hst) || !S_ISDIR(hst.st_mode))) {
		log_msg("--host-root \"%s\": not a directory", host_root);
		return -ENOTDIR;
	}
	ret = cgroup2_mount(d->cgroup_root, sizeof(d->cgroup_root));
	if (ret) {
		log_msg("no cgroup v2 hierarchy, and mounting one failed: %s",
			strerror(-ret));
		return ret;
	}
	ret = cgroup_attach_dir(d->o->cgroup, d->cgroup_root, d->cgroup_path,
				sizeof(d->cgroup_path), &d->cgroup_fd);
	if (ret)
		return ret;
	ret = reload_load(d, &d->policy, err, sizeof(err), false);
	if (ret) {
		log_msg("%s", err);
		return ret;
	}
	mounts_ensure();
	features_probe(&d->feat);
	ret = backend_check(&d->feat, d->o->backend, err, sizeof(err));
	if (ret) {
		log_msg("%s", err);
		return ret;
	}
	d->exec_lsm = backend_exec_lsm(&d->feat, d->o->backend);
	return 0;
}

/* The control socket first, so that a second agent stops here. */
static int open_endpoints(struct daemon *d)
{
	const struct run_opts *o = d->o;
	int ret;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return -errno;
	ret = control_listen(&d->ctl, o->socket_path, d->epfd,
			     handlers_on_control, d);
	if (ret) {
		log_msg("--socket \"%s\": %s%s", o->socket_path, strerror(-ret),
			ret == -EADDRINUSE ? " (another agent is running)" : "");
		return ret;
	}
	ret = output_open(&d->out, &o->out, d->epfd, metrics_gauges, d);
	if (ret)
		return ret;
	return 0;
}

/* Load the programs and put the policy in force, not yet attached. */
static __u64 cgroup_id_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

/*
 * Load the programs, or adopt what an earlier agent left pinned; deliver
 * what the kernel wrote while no agent ran (named with that agent's rule
 * ids), then put our policy in force. Not yet attached.
 */
static int load_bpf(struct daemon *d)
{
	struct loader_opts lo = {
		.pin_dir = d->o->pin_dir,
		.ringbuf_size = d->o->ringbuf_size,
		.lsm = d->exec_lsm,
		.connect_unix = d->feat.cgroup_connect_unix.ok,
		.fence = !d->exec_lsm,
		.cgroup_id = cgroup_id_of(d->cgroup_fd),
	};
	char err[POLICY_ERR_MAX];
	struct mw_map_fds fds;
	int ret;

	d->ev.cache = proc_cache_new();
	d->ev.boot_to_real = time_boot_to_real();
	d->ev.cgroup_root = d->cgroup_root;
	d->ev.profile_name = name_profile;
	d->ev.rule_name = name_rule;
	d->ev.session_page = session_page;
	d->ev.arg = d;
	ret = state_dir_prepare(d->o->state_dir);
	if (ret) {
		log_msg("--state-dir \"%s\": %s", d->o->state_dir,
			strerror(-ret));
		return ret;
	}
	ret = loader_open(&d->bpf, &lo);
	if (ret) {
		log_msg("loading the BPF programs: %s", strerror(-ret));
		return ret;
	}
	loader_map_fds(&d->bpf, &fds);
	ret = maps_init(&d->maps, &fds);
	if (ret) {
		log_msg("creating maps: %s", strerror(-ret));
		return ret;
	}
	sessions_init(&d->sessions, loader_sessions_fd(&d->bpf));
	adopt_sessions(d);
	if (d->bpf.adopted) {
		struct state_held_list held = {};

		if (state_load(d->o->state_dir, &d->maps.rules, &d->seen,
			       &held) == -EINVAL)
			log_msg("%s/state.json: not a state file of this version, ignoring (rules of events from before the restart are named by number)",
				d->o->state_dir);
		held_seed(d, &held);
		state_held_free(&held);
	}
	ret = loop_setup(d);
	if (ret) {
		log_msg("setting up the event loop: %s", strerror(-ret));
		return ret;
	}
	ret = loader_agg_window(&d->bpf, d->o->agg_window_ns);
	if (ret) {
		log_msg("setting the aggregation window: %s", strerror(-ret));
		return ret;
	}
	loop_agg_drain(d);	/* the gap's events and counts, before ours */
	loop_check_counters(d);
	ret = maps_apply(&d->maps, d->policy, err, sizeof(err),
			 reload_warn_stderr, d);
	if (ret) {
		log_msg("%s", err);
		return ret;
	}
	daemon_session_flags(d);	/* adopted pages, by this policy */
	daemon_save_state(d);
	return 0;
}

/* Fence, attach, then scan. */
static int start_enforcing(struct daemon *d)
{
	int ret, scanned;

	/* Relative: beneath the v2 root (a hybrid node's is not /sys/fs/cgroup). */
	if (d->o->guard_cgroup && d->o->guard_cgroup[0] == '/')
		snprintf(d->guard_cgroup, sizeof(d->guard_cgroup), "%s",
			 d->o->guard_cgroup);
	else if (d->o->guard_cgroup)
		snprintf(d->guard_cgroup, sizeof(d->guard_cgroup), "%.*s/%s",
			 PATH_MAX / 2, d->cgroup_root, d->o->guard_cgroup);
	if (!d->exec_lsm) {
		ret = fence_init(&d->fence, d->epfd, &(struct fence_opts){
			.pin_dir = d->o->pin_dir, .state_dir = d->o->state_dir,
			.guard_cgroup = d->guard_cgroup[0] ? d->guard_cgroup : NULL,
			.fds = {
				.tracked = d->maps.fd.tracked,
				.config = d->maps.fd.config,
				.profiles = d->maps.fd.profiles,
				.exec = d->maps.fd.exec,
				.files = d->maps.fd.files,
				.names = d->maps.fd.names,
				.report = d->bpf.fence_prog_fd,
				.sessions = loader_sessions_fd(&d->bpf),
			},
		});
		if (ret)
			log_msg("exec fence: fanotify: %s; execs are stopped after the fact (SIGKILL) only",
				strerror(-ret));
	}
	reload_apply_exec(d, reload_warn_stderr);
	ret = loader_attach(&d->bpf, d->cgroup_fd);
	if (ret)
		return ret;
	loader_guard(&d->bpf, MW_GUARDED_AGENT, getpid());
	loader_guard(&d->bpf, MW_GUARDED_GUARD, d->fence.guard_pid);
	scanned = scan_proc(&d->maps, NULL, d->cgroup_root);
	if (scanned > 0)	/* children forked while we scanned */
		scanned += scan_proc(&d->maps, NULL, d->cgroup_root);
	emit_start(d, scanned);
	log_msg("running: %s policy \"%s\", socket hooks on %s, control socket %s",
		d->o->policy_path ? "file" : "built-in", d->policy->source,
		d->cgroup_path, d->o->socket_path);
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * What is pinned stays in force for the next agent, unless this stop is an
 * uninstall (--cleanup-on-exit).
 */
static void teardown(struct daemon *d)
{
	int ret;

	fence_close(&d->fence, d->o->cleanup_on_exit);
	control_close(&d->ctl);
	/* Our pid may go to anyone now; the guard's stays guarded. */
	loader_guard(&d->bpf, MW_GUARDED_AGENT, 0);
	loader_close(&d->bpf);
	if (d->o->cleanup_on_exit) {
		ret = loader_remove(d->o->pin_dir);
		if (ret)
			log_msg("removing \"%s\": %s", d->o->pin_dir,
				strerror(-ret));
		state_remove(d->o->state_dir);
	}
	ring_buffer__free(d->rb);
	sessions_close(&d->sessions);
	jw_free(&d->call_line);
	maps_free(&d->maps);
	policy_free(d->policy);
	proc_cache_free(d->ev.cache);
	jw_free(&d->line);
	notices_free(&d->notices);
	output_close(&d->out);
	close_fd(&d->cgroup_fd);
	close_fd(&d->epfd);
	close_fd(&d->sigfd);
	close_fd(&d->timerfd);
	close_fd(&d->inofd);
}

int daemon_run(const struct run_opts *o)
{
	struct daemon dd = { .o = o, .epfd = -1, .sigfd = -1, .timerfd = -1,
			     .inofd = -1, .cgroup_fd = -1 };
	struct daemon *d = &dd;
	sigset_t mask;
	int ret;

	/*
	 * From the first instruction: a stop during start-up is handled by
	 * the loop, with the cleanup, instead of killing us mid-way.
	 */
	loop_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	notices_init(&d->notices);
	/* The node's resolver, also from a pod (--host-root). */
	d->resolv_conf = o->resolv_conf ? o->resolv_conf :
			       host_path("/etc/resolv.conf", d->resolv_buf);
	log_setup_libbpf();
	ret = check_setup(d);
	if (!ret)
		ret = open_endpoints(d);
	if (!ret)
		ret = load_bpf(d);
	if (!ret)
		ret = start_enforcing(d);
	if (!ret) {
		loop_run(d);
		emit_stop(d);
	}
	teardown(d);
	return ret ? 1 : 0;
}
