/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What an agent leaves the next one besides the pinned maps: the names of
 * its rule ids (records in the ring buffer still carry them) and how much
 * of each loss counter it has reported. A JSON file in the state directory
 * (/run/mcpwarden-state), replaced by rename, so a crash leaves the last
 * one. The directory also holds guard.sock; it is root's alone (0700), apart
 * from the control socket's directory, which pods and users may share.
 */
#ifndef MW_STATEFILE_H
#define MW_STATEFILE_H

#include <linux/types.h>
#include "kernel/ids.h"

#define STATE_DIR_DEFAULT	"/run/mcpwarden-state"

struct state_seen {
	__u64 ringbuf_full;	/* MW_CNT_RINGBUF_FULL already reported */
	__u64 tracked_full;	/* MW_CNT_TRACK_FULL */
};

/*
 * Make @dir, or take the one there: a directory (not a link) of ours,
 * mode 0700 (tightened if looser).
 */
int state_dir_prepare(const char *dir);
/* Read @dir/state.json into @rules (empty) and @seen; -ENOENT if none. */
int state_load(const char *dir, struct rule_ids *rules, struct state_seen *seen);
int state_save(const char *dir, const struct rule_ids *rules,
	       const struct state_seen *seen);
void state_remove(const char *dir);

#endif /* MW_STATEFILE_H */
