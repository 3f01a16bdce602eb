/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's sweep of mw_agg (the counting is in lib/emit.bpf.h): every
 * window that closed with repeats is summarised, entries idle past their
 * window are removed. The only writer of
 * summaries: one agent, so the scratch record is its alone. Run by the
 * agent with BPF_PROG_TEST_RUN on its 1 s timer when an entry is due (it
 * says when), and at its stop; while no agent runs, the hooks go on
 * counting, and the next agent's sweep writes what they counted.
 */
#ifndef MW_AGGREGATE_BPF_H
#define MW_AGGREGATE_BPF_H

#include "mcpwarden.h"
#include "lib/maps.bpf.h"
#include "lib/emit.bpf.h"

struct mw_agg_sweep {
	__u64 now, window;
	__u64 entries, flushed, kept, due;
	struct mw_event_agg *ev;
	bool force;
};

static long mw_agg_sweep_one(struct bpf_map *map, struct mw_agg_key *k,
			     struct mw_agg_value *v, struct mw_agg_sweep *sw)
{
	__s64 age = sw->now - v->window_start;
	__u64 due;

	if (sw->force || age >= (__s64)sw->window) {
		/*
		 * The window stays closed: the next such decision is written
		 * at once and opens the next one (an alert after a summary is
		 * an alert).
		 */
		if (v->repeats) {
			sw->flushed++;
			mw_agg_summary(k, v, sw->ev, &sw->kept);
		} else if (age >= (__s64)(sw->window + MW_AGG_GRACE_NS)) {
			/*
			 * A hook that looked the entry up counts into it only
			 * within its window; past it plus a grace, none is
			 * left that could.
			 */
			bpf_map_delete_elem(map, k);
			return 0;
		}
	}
	/*
	 * When it next needs a sweep: its window's close; once closed, the
	 * end of its grace, or at once if a summary found no room.
	 */
	sw->entries++;		/* what is left after the sweep */
	due = v->window_start + sw->window;
	if (age >= (__s64)sw->window && !v->repeats)
		due += MW_AGG_GRACE_NS;
	if (due < sw->due)
		sw->due = due;
	return 0;
}

SEC("syscall")
int handle_agg_flush(struct mw_agg_flush_args *ctx)
{
	struct mw_agg_scratch *s = mw_agg_scratch_get();
	struct mw_agg_config *c;
	struct mw_agg_sweep sw = {};
	__u32 zero = 0;

	if (!s)
		return -ENOMEM;
	c = bpf_map_lookup_elem(&mw_agg_config, &zero);
	sw.now = bpf_ktime_get_boot_ns();
	sw.window = c ? c->window_ns : 0;
	sw.ev = &s->ev;
	sw.force = ctx->force;
	sw.due = ~0ULL;
	bpf_for_each_map_elem(&mw_agg, mw_agg_sweep_one, &sw, 0);
	ctx->entries = sw.entries;
	ctx->flushed = sw.flushed;
	ctx->kept = sw.kept;
	ctx->due = sw.due;
	return 0;
}

#endif /* MW_AGGREGATE_BPF_H */
