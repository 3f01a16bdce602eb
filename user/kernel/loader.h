/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF object: which programs this kernel and backend get, loading with
 * the tracked map pinned, attaching (the socket programs to one cgroup),
 * pinning the links, and taking it all down again.
 */
#ifndef MW_LOADER_H
#define MW_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "kernel/maps.h"

#define LOADER_LINKS_MAX	24

struct loader_opts {
	const char *pin_dir;
	__u32 ringbuf_size;		/* bytes, power of two; 0: the default */
	bool lsm;			/* load the BPF-LSM programs */
	bool connect_unix;		/* load cgroup/connect_unix (Linux 6.7+) */
};

struct loader {
	struct mcpwarden_bpf *skel;
	struct bpf_link *links[LOADER_LINKS_MAX];
	char pin_dir[256];
};

/* Open and load the object; a pinned tracked map of another layout is replaced. */
int loader_open(struct loader *l, const struct loader_opts *o);
/* Attach every loaded program (the cgroup ones to @cgroup_fd) and pin the links. */
int loader_attach(struct loader *l, int cgroup_fd);
void loader_map_fds(const struct loader *l, struct mw_map_fds *out);
int loader_ringbuf_fd(const struct loader *l);
/* Are all loaded programs attached? */
bool loader_attached(const struct loader *l);
__u32 loader_tracked_max(const struct loader *l);
/* Detach and unpin everything; a zeroed loader is a no-op. */
void loader_close(struct loader *l);

#endif /* MW_LOADER_H */
