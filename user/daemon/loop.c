// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's one loop: the ring buffer, signals, a timer, inotify, the
 * control socket, the sinks, /metrics and the fanotify fence's reports.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "daemon/state.h"
#include "lib/log.h"
#include "lib/time.h"
#include "output/agent_events.h"

#define DRAIN_MS		100	/* latest delivery of a routine event */
/*
 * While records keep coming, the loop lets them gather this long before it
 * reads again: a verdict waits at most a millisecond more, and a flood
 * costs a wake-up and a write per batch, not per event (the kernel wakes a
 * reader that has caught up for each verdict).
 */
#define COALESCE_NS		(1000 * 1000)

static int on_record(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;
	const struct mw_event_hdr *h = data;
	__u32 i;

	/* Records come in the order they were committed: read up to here. */
	if (size >= sizeof(*h) && h->time > d->horizon)
		d->horizon = h->time;
	if (event_write(&d->ev, data, size, &d->line, &d->meta)) {
		if (!d->bad_records++)
			log_msg("malformed event record (%zu bytes), ignoring",
				size);
		return 0;
	}
	/* The calls it may name, begun or ended since: their events first. */
	if (d->meta.session)
		daemon_scan_calls(d, d->meta.session);
	daemon_emit_record(d);
	if (d->meta.session && (d->meta.action == MW_ACTION_DENY ||
				d->meta.action == MW_ACTION_KILL))
		for (i = 0; i < d->meta.ncalls; i++)
			sessions_count_deny(&d->sessions, d->meta.session,
					    d->meta.calls[i],
					    d->meta.count ? d->meta.count : 1);
	/* A server's root gone: its last calls, then its session page. */
	if (d->meta.session && d->meta.pid == d->meta.server_pid &&
	    !strcmp(d->meta.type, "process_exit"))
		daemon_session_end(d, d->meta.session);
	return 0;
}

/* A counter that rose is an events_lost event; @sink names an output. */
static void report_lost(struct daemon *d, __u64 now, __u64 *seen,
			const char *reason, const char *sink)
{
	__u64 was = *seen;

	if (now <= was)
		return;
	/* Before the emit: an output that drops this line reports it later. */
	*seen = now;
	daemon_emit(d, agent_event_lost(&d->ev, now - was, now, reason, sink));
}

void loop_check_counters(struct daemon *d)
{
	struct state_seen was;
	__u64 c[MW_CNT_MAX];

	for (size_t i = 0; i < d->out.sinks.n; i++) {
		struct sink *s = &d->out.sinks.v[i];

		report_lost(d, s->lost_full, &s->seen_full, "sink_full",
			    s->name);
		report_lost(d, s->lost_error, &s->seen_error, "sink_error",
			    s->name);
		report_lost(d, s->lost_rotated, &s->seen_rotated, "rotated",
			    s->name);
	}
	if (fence_active(&d->fence)) {
		struct fence_counts fc;

		fence_counts(&d->fence, &fc);
		report_lost(d, fc.reports_lost, &d->seen_fence_lost,
			    "fence_report", NULL);
	}
	if (maps_counters(&d->maps, c))
		return;
	was = d->seen;
	report_lost(d, c[MW_CNT_RINGBUF_FULL], &d->seen.ringbuf_full,
		    "ring_buffer_full", NULL);
	report_lost(d, c[MW_CNT_TRACK_FULL], &d->seen.tracked_full,
		    "tracked_map_full", NULL);
	report_lost(d, c[MW_CNT_RINGBUF_ROUTINE], &d->seen.ringbuf_routine,
		    "ring_buffer_routine", NULL);
	/* The counters are pinned: the next agent reports only the rest. */
	if (memcmp(&was, &d->seen, sizeof(was)))
		daemon_save_state(d);
}

/*
 * Summarise the aggregation windows that closed (@force: all, at a stop
 * or a start) and read what they count; the ring has them after this.
 */
bool loop_agg_sweep(struct daemon *d, bool force)
{
	__u64 inserted = loader_agg_inserted(&d->bpf), now = time_boot_ns();
	__u64 due = d->agg.due;
	struct mw_agg_flush_args a;
	int ret;

	/*
	 * Nothing due: no window closes, no entry is idle past its grace
	 * (a walk of a full map costs milliseconds). An entry made since the
	 * last sweep began closes a window after it.
	 */
	if (inserted != d->agg_inserted &&
	    d->agg_swept + d->o->agg_window_ns < due)
		due = d->agg_swept + d->o->agg_window_ns;
	if (!force && now < due)
		return true;
	ret = loader_agg_flush(&d->bpf, force, &a);
	if (ret) {
		if (!d->agg_errors++)
			log_msg("sweeping the aggregation map: %s, ignoring (repeats stay counted in it)",
				strerror(-ret));
		return false;
	}
	d->agg = a;
	d->agg_inserted = inserted;
	d->agg_swept = now;
	d->agg_summaries += a.flushed - a.kept;
	return true;
}

void loop_agg_drain(struct daemon *d)
{
	/*
	 * The ring first, so the summaries find room; again while some found
	 * none and the last sweep wrote some (a ring smaller than the map's
	 * summaries takes several turns).
	 */
	do {
		ring_buffer__consume(d->rb);
		if (!loop_agg_sweep(d, true))
			break;
	} while (d->agg.kept && d->agg.flushed > d->agg.kept);
	ring_buffer__consume(d->rb);
}

void loop_sync(struct daemon *d)
{
	ring_buffer__consume(d->rb);
	if (fence_active(&d->fence))
		fence_on_inotify(&d->fence);
	loop_check_counters(d);
	sinks_flush(&d->out.sinks);
}

void loop_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
}

int loop_setup(struct daemon *d)
{
	struct itimerspec its = {};
	sigset_t mask;
	int ret;

	loop_signals(&mask);
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
	d->rb = ring_buffer__new(loader_ringbuf_fd(&d->bpf), on_record, d, NULL);
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

static void on_timer(struct daemon *d)
{
	__u64 ticks;

	if (read(d->timerfd, &ticks, sizeof(ticks)) <= 0)
		return;
	loop_agg_sweep(d, false);
	daemon_scan_calls(d, 0);
	loop_check_counters(d);
	loader_clock(&d->bpf);
	control_expire(&d->ctl);
	notice_poll(&d->notices);
	/* A new cgroup a pattern selects. */
	if (compile_cgroups_changed(maps_active(&d->maps), &d->maps.ids,
				    d->policy))
		d->reload = true;
}

static void dispatch(struct daemon *d, struct ep_src *src, __u32 events)
{
	switch (src->kind) {
	case EP_RINGBUF:
		/* Woken by a verdict, or a quarter-full ring: a flood, maybe. */
		d->consumed += ring_buffer__consume(d->rb);
		d->woken = true;
		d->loop_counts.ring_wakeups++;
		break;
	case EP_SIGNAL:
		on_signal(d);
		break;
	case EP_TIMER:
		on_timer(d);
		break;
	case EP_INOTIFY:
		watch_on_inotify(d);
		break;
	case EP_CONTROL_LISTEN:
		control_on_listen(&d->ctl);
		break;
	case EP_CONTROL_CLIENT:
		control_on_client(&d->ctl, (struct control_client *)src);
		break;
	case EP_SINK:
		sink_on_event((struct sink *)src, events);
		break;
	case EP_METRICS:
		metrics_loop(&d->out.metrics);
		break;
	case EP_GUARD:
		fence_on_guard(&d->fence);
		loader_guard(&d->bpf, MW_GUARDED_GUARD, d->fence.guard_pid);
		break;
	case EP_FENCE_INOTIFY:
		fence_on_inotify(&d->fence);
		break;
	}
}

/*
 * Set the bell for the wait to come (mw_ring_bell()): a verdict rings us
 * on the tick, any record while we sleep on an empty ring. A tick that
 * found the ring empty puts us to sleep, instead of waking ten times a
 * second for nothing; records read (the bell or a verdict woke us) bring
 * the tick back. Records committed before the bell was set rang nobody:
 * the ring is read once more after it, so each is read or rings.
 */
static void doze(struct daemon *d, bool quiet_tick)
{
	bool read = d->consumed > 0 || d->woken;
	enum mw_bell want;
	int got;

	/* Woken by the ring: the record that rang took the bell. */
	if (d->woken)
		d->bell = MW_BELL_NONE;
	want = !read && (d->bell == MW_BELL_ANY ||
			 (quiet_tick && sinks_idle(&d->out.sinks))) ?
	       MW_BELL_ANY : MW_BELL_VERDICT;
	if (want == d->bell || loader_consumer_bell(&d->bpf, want))
		return;
	d->bell = want;
	d->loop_counts.sleeps += want == MW_BELL_ANY;
	got = ring_buffer__consume(d->rb);
	if (got <= 0)
		return;
	d->consumed += got;
	if (want == MW_BELL_ANY &&
	    !loader_consumer_bell(&d->bpf, MW_BELL_VERDICT))
		d->bell = MW_BELL_VERDICT;
}

void loop_run(struct daemon *d)
{
	static const struct timespec coalesce = { .tv_nsec = COALESCE_NS };
	struct epoll_event evs[32];
	__u64 drained;
	bool owed;
	int n, i;

	while (!d->stop_signal) {
		if (d->woken && d->consumed > 0)
			nanosleep(&coalesce, NULL);
		d->woken = false;
		/* Routine events do not ring us (mw_ring_write()): a tick drains. */
		n = epoll_wait(d->epfd, evs, 32, d->bell == MW_BELL_ANY ? -1 : DRAIN_MS);
		if (n < 0 && errno != EINTR) {
			log_msg("epoll_wait: %s", strerror(errno));
			break;
		}
		d->consumed = 0;
		d->loop_counts.ticks += n == 0;
		for (i = 0; i < n; i++)
			dispatch(d, evs[i].data.ptr, evs[i].events);
		drained = time_boot_ns();
		owed = fence_reports_owed(&d->fence);	/* before the read */
		d->consumed += ring_buffer__consume(d->rb);	/* cheap when empty */
		/* Servers gone: their refusals' records are read, or owed. */
		if (d->notices.waiting)
			notice_settle(&d->notices, owed);
		/* All that was committed before is read. */
		if (drained > d->horizon)
			d->horizon = drained;
		if (d->reload) {
			d->reload = false;
			reload_run(d);
		}
		doze(d, n == 0);
		output_tick(&d->out);
	}
	/*
	 * What is left, the repeats counted so far with it, before the stop
	 * event. With --cleanup-on-exit the map goes with the pins: nothing
	 * may be counted after this sweep.
	 */
	if (d->o->cleanup_on_exit)
		loader_agg_window(&d->bpf, 0);
	loop_agg_drain(d);
	loop_check_counters(d);
}
