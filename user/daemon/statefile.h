/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What an agent leaves the next one besides the pinned maps: the names of
 * its rule ids (records in the ring buffer still carry them) and how much
 * of each loss counter it has reported. A JSON file in the state directory
 * (/run/mcpwarden), replaced by rename, so a crash leaves the last one.
 */
#ifndef MW_STATEFILE_H
#define MW_STATEFILE_H

#include <linux/types.h>
#include "kernel/ids.h"

#define STATE_DIR_DEFAULT	"/run/mcpwarden"

struct state_seen {
	__u64 ringbuf_full;	/* MW_CNT_RINGBUF_FULL already reported */
	__u64 tracked_full;	/* MW_CNT_TRACK_FULL */
};

/* Read @dir/state.json into @rules (empty) and @seen; -ENOENT if none. */
int state_load(const char *dir, struct rule_ids *rules, struct state_seen *seen);
int state_save(const char *dir, const struct rule_ids *rules,
	       const struct state_seen *seen);
void state_remove(const char *dir);

#endif /* MW_STATEFILE_H */
