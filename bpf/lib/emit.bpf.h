/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How a verdict leaves the kernel: softened by the profile's mode, counted,
 * and reported through mw_emit(), the one way into the ring buffer.
 */
#ifndef MW_EMIT_BPF_H
#define MW_EMIT_BPF_H

#include "mcpwarden.h"
#include "lib/maps.bpf.h"

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
 * Wake the agent only for what is urgent (a verdict against a process) or
 * when the ring is a quarter full; it drains the rest on a 100 ms tick. A
 * wake-up per event costs a self-IPI, about a microsecond in a VM.
 *
 * Urgent, by event: exec from the tracepoint when judged audit or stricter;
 * exec from bprm_check and mmap_file, and file, always (they report only
 * verdicts); net and socket unless allowed; unix and escape always, allows
 * of a unix rule included; exit never.
 */
static __always_inline __u64 mw_wakeup(int urgent)
{
	if (urgent || bpf_ringbuf_query(&mw_events, BPF_RB_AVAIL_DATA) * 4 >
		      bpf_ringbuf_query(&mw_events, BPF_RB_RING_SIZE))
		return 0;
	return BPF_RB_NO_WAKEUP;
}

/*
 * Stamp the header of @ev and copy its @size bytes to the ring. Every byte
 * is written first: records that fit the 512-byte stack live there and
 * start zeroed (= {}), so no stack bytes beyond a string's NUL reach
 * userspace; the others live in per-CPU scratch maps, whose callers write
 * every field, padding included, because a scratch record still holds the
 * last event. A copy, not a reservation: the variable-size events
 * need one anyway, and the fixed ones cost a memcpy of at most 232 bytes.
 */
static __always_inline int mw_emit_at(void *ev, __u32 type, __u32 size,
				      int urgent, __u64 time)
{
	struct mw_event_hdr *h = ev;

	h->type = type;
	h->size = size;
	h->time = time;
	if (bpf_ringbuf_output(&mw_events, ev, size, mw_wakeup(urgent))) {
		mw_count(MW_CNT_RINGBUF_FULL);
		return -1;
	}
	mw_count(MW_CNT_EVENTS);
	return 0;
}

static __always_inline int mw_emit(void *ev, __u32 type, __u32 size,
				   int urgent)
{
	return mw_emit_at(ev, type, size, urgent, bpf_ktime_get_boot_ns());
}

#endif /* MW_EMIT_BPF_H */
