/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How a verdict leaves the kernel: softened by the profile's mode, counted,
 * and reported through mw_emit(), the one way into the ring buffer.
 */
#ifndef MW_EMIT_BPF_H
#define MW_EMIT_BPF_H

#include "mcpwarden.h"
#include "lib/consts.bpf.h"
#include "lib/maps.bpf.h"
#include "lib/calls.bpf.h"

/* A profile in monitor mode reports what it would deny, and lets it be. */
static __always_inline __u8 mw_mode_action(const struct mw_profile *p,
					   __u8 action)
{
	if (action == MW_ACTION_DENY && p->mode == MW_MODE_MONITOR)
		return MW_ACTION_AUDIT;
	return action;
}

/* Every verdict that is not an allow is counted, by every hook. */
static __always_inline void mw_count_verdict(__u8 action)
{
	if (action == MW_ACTION_DENY)
		mw_count(MW_CNT_DENIES);
	else if (action == MW_ACTION_AUDIT)
		mw_count(MW_CNT_AUDITS);
}

/*
 * Stamp the header of @ev and copy its @size bytes to the ring. Every byte
 * is written first: records that fit the 512-byte stack live there and
 * start zeroed (= {}), so no stack bytes beyond a string's NUL reach
 * userspace; the others live in per-CPU scratch maps, whose callers write
 * every field, padding included, because a scratch record still holds the
 * last event. A copy, not a reservation: the variable-size events
 * need one anyway, and the fixed ones cost a memcpy of at most 232 bytes.
 *
 * Verdicts before chatter: a routine event (@verdict 0: an allow, an exec
 * or exit) is written only while the ring is under three quarters full,
 * so that no flood of them can cost a deny; each class counts its own
 * losses (ring_buffer_full for verdicts, ring_buffer_routine). A record
 * that is kept to be written again (a summary, @counted 0) is no loss.
 *
 * The agent is woken for a verdict (@wake) or when the ring is a quarter
 * full; it drains the rest on a 100 ms tick, and once a tick found the
 * ring empty it sleeps until the next record. The kernel wakes a reader
 * only for the record that finds it caught up: a verdict behind unread
 * routine records (an exec, then its denied connect) would wait for the
 * tick, so it rings the agent's bell. A wake-up per event costs a
 * self-IPI, about a microsecond in a VM: the bell rings once, then is
 * silent until the agent, awake and reading, sets it again.
 */
/*
 * Ring the bell (mw_consumer) of an agent on its tick (for a @verdict) or
 * asleep on an empty ring (any record). The output's commit before this
 * is a full barrier (an xchg), and so is the agent's setting of the bell
 * before it reads the ring again; so either it sees our record, or we see
 * its bell. The bell is a reservation discarded with a forced wake-up: no
 * record reaches the agent. Global: verified once.
 */
__noinline long mw_ring_bell(long verdict)
{
	struct mw_consumer *c;
	__u32 zero = 0;
	void *r;

	c = bpf_map_lookup_elem(&mw_consumer, &zero);
	if (!c || c->bell == MW_BELL_NONE ||
	    (!verdict && c->bell != MW_BELL_ANY))
		return 0;
	/* A routine record takes only the sleeper's bell, not the tick's. */
	if (verdict ? __sync_lock_test_and_set(&c->bell, MW_BELL_NONE) ==
		      MW_BELL_NONE :
		      __sync_val_compare_and_swap(&c->bell, MW_BELL_ANY,
						  MW_BELL_NONE) != MW_BELL_ANY)
		return 0;
	r = bpf_ringbuf_reserve(&mw_events, 8, 0);
	if (r)
		bpf_ringbuf_discard(r, BPF_RB_FORCE_WAKEUP);
	return 1;
}

/*
 * May a record of @size go into the ring? A routine record (not @verdict)
 * keeps out of its last quarter, left to verdicts. *@flags: the wake-up
 * to submit it with; @wake forces one.
 */
static __always_inline int mw_ring_admit(__u32 size, int verdict, int wake,
					 int counted, __u64 *flags)
{
	__u64 avail = bpf_ringbuf_query(&mw_events, BPF_RB_AVAIL_DATA);
	__u64 ring = bpf_ringbuf_query(&mw_events, BPF_RB_RING_SIZE);

	*flags = wake || avail * 4 > ring ? 0 : BPF_RB_NO_WAKEUP;
	if (!verdict && (avail + size) * 4 > ring * 3) {
		if (counted)
			mw_count(MW_CNT_RINGBUF_ROUTINE);
		return -1;
	}
	return 0;
}

static __always_inline void mw_ring_lost(int verdict, int counted)
{
	if (counted)
		mw_count(verdict ? MW_CNT_RINGBUF_FULL : MW_CNT_RINGBUF_ROUTINE);
}

static __always_inline void mw_ring_written(int wake)
{
	mw_count(MW_CNT_EVENTS);
	mw_ring_bell(wake);
}

static __always_inline int mw_ring_write(void *ev, __u32 type, __u32 size,
					 int verdict, int wake, __u64 time,
					 int counted)
{
	struct mw_event_hdr *h = ev;
	__u64 flags;

	h->type = type;
	h->size = size;
	h->time = time;
	if (mw_ring_admit(size, verdict, wake, counted, &flags))
		return -1;
	if (bpf_ringbuf_output(&mw_events, ev, size, flags)) {
		mw_ring_lost(verdict, counted);
		return -1;
	}
	mw_ring_written(wake);
	return 0;
}

/*
 * A record built in the ring itself, off the stack: reserved here (NULL:
 * not admitted or no room, counted as lost), written by the caller in
 * full (reserved memory is not zeroed), then mw_ring_submit().
 */
static __always_inline void *mw_ring_reserve(__u32 type, __u32 size,
					     int verdict, __u64 time,
					     __u64 *flags)
{
	struct mw_event_hdr *h;

	if (mw_ring_admit(size, verdict, verdict, 1, flags))
		return NULL;
	h = bpf_ringbuf_reserve(&mw_events, size, 0);
	if (!h) {
		mw_ring_lost(verdict, 1);
		return NULL;
	}
	h->type = type;
	h->size = size;
	h->time = time;
	return h;
}

/* @verdict as given to mw_ring_reserve(). */
static __always_inline void mw_ring_submit(void *r, __u64 flags, int verdict)
{
	bpf_ringbuf_submit(r, flags);
	mw_ring_written(verdict);
}

/*
 * @verdict: the event reports a judgement (audit or stricter, or an allow
 * by a rule that asks for it); verdicts wake the agent.
 *
 * By event: exec from the tracepoint when judged audit or stricter; exec
 * from bprm_check and mmap_file, file, escape and signal always (they
 * report only verdicts); net, socket and unix unless allowed; exit never.
 */
static __always_inline int mw_emit_at(void *ev, __u32 type, __u32 size,
				      int verdict, __u64 time)
{
	return mw_ring_write(ev, type, size, verdict, verdict, time, 1);
}

static __always_inline int mw_emit(void *ev, __u32 type, __u32 size,
				   int verdict)
{
	return mw_emit_at(ev, type, size, verdict, bpf_ktime_get_boot_ns());
}

static __always_inline struct mw_agg_scratch *mw_agg_scratch_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&mw_agg_scratch, &zero);
}

/*
 * Write the summary of @v's repeats of @k, if it has any. They are taken
 * off the count only once written: a full ring keeps them for the next
 * sweep, not counted as lost.
 */
static __always_inline void mw_agg_summary(const struct mw_agg_key *k,
					   struct mw_agg_value *v,
					   struct mw_event_agg *ev, __u64 *kept)
{
	__u64 n = v->repeats;

	if (!n)
		return;
	ev->proc = v->proc;
	ev->key = *k;
	ev->count = n;
	ev->last_time = v->last_time;
	ev->first_time = v->first_time ? v->first_time : v->last_time;
	__builtin_memcpy(ev->checked, v->checked, sizeof(ev->checked));
	ev->form = v->form;
	__builtin_memset(ev->pad, 0, sizeof(ev->pad));
	/* No wake-up: the agent's sweep writes them and reads the ring next. */
	if (mw_ring_write(ev, MW_EVENT_AGG, sizeof(*ev),
			  k->action != MW_ACTION_ALLOW, 0, ev->last_time, 0)) {
		if (kept)
			*kept += 1;
		return;
	}
	v->first_time = 0;
	__sync_fetch_and_add(&v->repeats, -n);
}

/* One more repeat of an entry's decision, by @proc at @now. */
static __always_inline void mw_agg_count(struct mw_agg_value *v,
					 const struct mw_process *proc,
					 __u64 now)
{
	__sync_fetch_and_add(&v->repeats, 1);
	if (!v->first_time) {
		v->first_time = now;
		v->proc = *proc;
	}
	v->last_time = now;
}

/*
 * Identical decisions are one event and a count. Is the decision @k (made
 * by @proc at @now) a repeat, counted instead of written? The first of a
 * window is written at once, so an alert is never delayed; the repeats
 * within the window are counted in mw_agg and summarised (MW_EVENT_AGG)
 * by the agent's sweep when the window has closed (handle_agg_flush),
 * which opens the next. An entry whose window closed with nothing to
 * summarise opens a new window: its decision is written at once again.
 * A full map degrades to an event per decision, counted (MW_CNT_AGG_FULL);
 * nothing is silenced. @k is on the stack: a per-CPU scratch could change
 * under a preempted hook, and the key decides what is counted. @now is the
 * clock's now,
 * never a record's older time: the sweep removes entries idle a second
 * past their window, and a stale now could count into one.
 */
static __always_inline bool mw_agg_repeat(const struct mw_agg_key *k,
					  const struct mw_process *proc,
					  const __u8 *checked, __u8 form,
					  __u64 now)
{
	struct mw_agg_scratch *s;
	struct mw_agg_value *nv;
	struct mw_agg_config *c;
	struct mw_agg_value *v;
	__u32 zero = 0;
	__u64 win;
	long err;

	c = bpf_map_lookup_elem(&mw_agg_config, &zero);
	if (!c || !(win = c->window_ns))
		return false;
	v = bpf_map_lookup_elem(&mw_agg, k);
	if (v) {
		/* Counted too when the sweep is about to summarise. */
		if ((__s64)(now - v->window_start) < (__s64)win || v->repeats) {
			mw_agg_count(v, proc, now);
			return true;
		}
		v->window_start = now;
		return false;
	}
	/*
	 * The new entry is built off the stack (the hooks' frames are full),
	 * right before the update: a hook preempted in between could only
	 * give another decision's process or address form to the summary.
	 */
	s = mw_agg_scratch_get();
	if (!s)
		return false;
	nv = &s->value;
	nv->window_start = now;
	nv->repeats = 0;
	nv->first_time = 0;
	nv->last_time = now;
	nv->proc = *proc;
	if (checked)
		__builtin_memcpy(nv->checked, checked, 16);
	else
		__builtin_memset(nv->checked, 0, 16);
	nv->form = form;
	__builtin_memset(nv->pad, 0, sizeof(nv->pad));
	err = bpf_map_update_elem(&mw_agg, k, nv, BPF_NOEXIST);
	if (!err) {
		__sync_fetch_and_add(&c->inserted, 1);
		return false;
	}
	/* Another CPU made it first: a repeat of its decision. */
	if (err == -EEXIST && (v = bpf_map_lookup_elem(&mw_agg, k))) {
		mw_agg_count(v, proc, now);
		return true;
	}
	mw_count(MW_CNT_AGG_FULL);
	return false;
}

/* The key's parts every decision has; the caller adds its object. */
static __always_inline void mw_agg_key_init(struct mw_agg_key *k,
					    const struct mw_server *server,
					    __u32 type, __u32 rule_id,
					    __u8 action, __u8 op)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->server = *server;
	k->type = type;
	k->rule_id = rule_id;
	k->action = action;
	k->op = op;
}

/* A decision on an inode (an open, an exec the fanotify fence refused). */
static __always_inline bool mw_agg_inode(const struct mw_server *server,
					 __u32 type, __u32 rule_id,
					 __u8 action, __u8 op, __u32 dev,
					 __u64 ino, const struct mw_process *proc,
					 __u64 now)
{
	struct mw_agg_key k;

	mw_agg_key_init(&k, server, type, rule_id, action, op);
	k.dev = dev;
	k.ino = ino;
	return mw_agg_repeat(&k, proc, NULL, 0, now);
}

#endif /* MW_EMIT_BPF_H */
