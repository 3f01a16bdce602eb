/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The last stage: a native event object to the configured format (native or
 * OCSF), counted by /metrics, written as one line to every sink.
 */
#ifndef MW_OUTPUT_H
#define MW_OUTPUT_H

#include <stdbool.h>
#include <linux/types.h>
#include <json-c/json.h>
#include "output/events.h"
#include "output/metrics.h"
#include "output/ocsf.h"
#include "output/sink.h"

#define OUTPUT_SPECS_MAX	SINK_MAX

struct output_opts {
	const char *specs[OUTPUT_SPECS_MAX];	/* none: stdout ("-") */
	size_t nspecs;
	__u64 rotate_size;		/* file sinks; 0: never rotate */
	__u32 queue_size;		/* per socket or pipe sink, bytes */
	bool ocsf;			/* --format ocsf */
	const char *metrics_addr;	/* NULL: no HTTP endpoint */
};

struct output {
	bool open;
	bool ocsf;
	struct sinks sinks;
	struct metrics metrics;
	struct ocsf_ctx ocsf_ctx;
	char hostname[256];
	__u64 lines;			/* lines written since start */
};

/*
 * Open the sinks and, with an address, the metrics endpoint, registering
 * both with @epfd; @gauges is asked for what only the daemon knows.
 */
int output_open(struct output *out, const struct output_opts *o, int epfd,
		metrics_gauges_fn gauges, void *arg);
/* Write native event @o (consumed; NULL is ignored). */
void output_emit(struct output *out, json_object *o);
/* Write kernel record @w, as event_write() left it with @m. */
void output_emit_record(struct output *out, const struct jw *w,
			const struct event_meta *m);
/* What the loop does every turn: reconnect, flush, serve /metrics. */
void output_tick(struct output *out);
/* At stop: write what is queued, then close. A zeroed output is a no-op. */
void output_close(struct output *out);

#endif /* MW_OUTPUT_H */
