/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus metrics and a health check over HTTP (libmicrohttpd), served
 * from the agent's own epoll loop: MHD runs without a thread of its own,
 * its epoll fd sits in the daemon's (docs/outputs.md lists the metrics).
 */
#ifndef MW_METRICS_H
#define MW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>
#include <json-c/json.h>
#include "daemon/loop.h"

#define METRICS_SERIES_MAX	64
#define METRICS_REASONS_MAX	12
#define METRICS_STALE_MS	5000	/* a loop quiet so long is not healthy */

/* What only the daemon knows, asked for at each scrape. */
struct metrics_gauges {
	__u64 tracked, tracked_max;
	__u32 generation;
	bool fanotify;			/* the fanotify fence is in use */
	__u64 fanotify_allowed, fanotify_denied;
	__u64 fanotify_taken_over, fanotify_unjudged;
	bool attached;			/* every BPF link is in place */
	__u64 agg_window_ms;		/* 0: aggregation off */
	__u64 agg_entries, agg_max;	/* mw_agg, at the last sweep */
	__u64 agg_summaries, agg_full;
	size_t sinks;
	const char *sink_name[8];
	size_t sink_queued[8];
};

typedef void (*metrics_gauges_fn)(void *arg, struct metrics_gauges *g);

struct metrics_series {
	char type[32];
	char action[8];
	__u64 n;
	__u64 decisions;		/* the sum of the events' counts */
	const char *type_ptr, *action_ptr; /* static strings that name it */
};

struct metrics_reason {
	char reason[24];
	__u64 n;
};

struct MHD_Daemon;

struct metrics {
	struct ep_src src;		/* EP_METRICS */
	struct MHD_Daemon *mhd;
	struct metrics_series ev[METRICS_SERIES_MAX];
	size_t nev;
	/* The last series counted, by the static strings that named it. */
	const char *hit_type, *hit_action;
	struct metrics_series *hit;
	bool hit_static;		/* the names are static strings */
	struct metrics_reason lost[METRICS_REASONS_MAX];
	size_t nlost;
	__u64 policy_loads, policy_errors;
	__u64 last_loop_ms;
	metrics_gauges_fn gauges;
	void *arg;
};

/* "127.0.0.1:9464" or "[::1]:9464": numeric, no name lookup. */
int metrics_parse_addr(const char *s, struct sockaddr_storage *ss,
		       socklen_t *len);
void metrics_init(struct metrics *m, metrics_gauges_fn fn, void *arg);
/* Listen on @addr; the MHD epoll fd joins @epfd. */
int metrics_start(struct metrics *m, const char *addr, int epfd);
/* Count one native event (before any format conversion). */
void metrics_observe(struct metrics *m, json_object *native);
/* Count an event by its type and action (NULL: none). */
void metrics_count(struct metrics *m, const char *type, const char *action,
		   __u64 decisions);
/* Each loop turn: the loop is alive; serve what is ready. */
void metrics_loop(struct metrics *m);
/* The Prometheus text page; free() it. */
int metrics_render(struct metrics *m, char **buf, size_t *len);
bool metrics_healthy(struct metrics *m);
void metrics_stop(struct metrics *m);

#endif /* MW_METRICS_H */
