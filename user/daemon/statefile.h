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

#include <stdbool.h>
#include <linux/types.h>
#include "kernel/ids.h"

#define STATE_DIR_DEFAULT	"/run/mcpwarden-state"

struct state_seen {
	__u64 ringbuf_full;	/* MW_CNT_RINGBUF_FULL already reported */
	__u64 tracked_full;	/* MW_CNT_TRACK_FULL */
	__u64 ringbuf_routine;	/* MW_CNT_RINGBUF_ROUTINE */
};

/*
 * The objects the file rules were put on, by file handle: a rename while
 * no agent ran (or before this one) does not take the next one's rules off
 * them (kernel/maps.c, files_carry()).
 */
struct state_held {
	char *profile, *path;
	__u8 action;
	bool moved;		/* away from the rule's path (kept, in order) */
	bool readonly;		/* of a files.readonly rule */
	__u64 seq;		/* first seen: the order they are kept in */
	__u32 kdev;
	unsigned int type, nbytes;
	char *handle;		/* hex */
};

struct state_held_list {
	struct state_held *v;
	size_t n;
};

void state_held_free(struct state_held_list *l);

/*
 * Make @dir, or take the one there: a directory (not a link) of ours,
 * mode 0700 (tightened if looser).
 */
int state_dir_prepare(const char *dir);
/*
 * Read @dir/state.json into @rules (empty), @seen and @held (empty);
 * -ENOENT if none.
 */
int state_load(const char *dir, struct rule_ids *rules, struct state_seen *seen,
	       struct state_held_list *held);
int state_save(const char *dir, const struct rule_ids *rules,
	       const struct state_seen *seen,
	       const struct state_held_list *held);
void state_remove(const char *dir);

#endif /* MW_STATEFILE_H */
