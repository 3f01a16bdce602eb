/* SPDX-License-Identifier: GPL-2.0-only */
/* What an epoll registration points at: every source starts with its kind. */
#ifndef MW_LOOP_H
#define MW_LOOP_H

enum ep_kind {
	EP_RINGBUF = 1,
	EP_SIGNAL,
	EP_TIMER,
	EP_INOTIFY,
	EP_CONTROL_LISTEN,
	EP_CONTROL_CLIENT,
	EP_GUARD,
	EP_FENCE_INOTIFY,
	EP_SINK,
	EP_METRICS,
};

struct ep_src {
	int kind;
};

#endif /* MW_LOOP_H */
