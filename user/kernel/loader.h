/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF object and its pinned state. Everything that enforces (the maps
 * with the policy and the tracked processes, the ring buffer, the links)
 * is pinned under the pin directory and outlives the agent: the next agent
 * adopts it (docs/deploy.md, "What a restart leaves in force"). Only an
 * uninstall (loader_remove) takes it down.
 */
#ifndef MW_LOADER_H
#define MW_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "kernel/maps.h"

#define LOADER_LINKS_MAX	48

struct loader_opts {
	const char *pin_dir;
	__u32 ringbuf_size;		/* bytes, power of two; 0: the default */
	bool lsm;			/* load the BPF-LSM programs */
	bool connect_unix;		/* load cgroup/connect_unix (Linux 6.7+) */
	bool fence;			/* the fanotify fence's report program */
	__u64 cgroup_id;		/* where the socket programs attach */
};

/* What loader_open() found pinned. */
enum loader_adopt {
	ADOPT_NONE = 0,		/* nothing: a first start */
	ADOPT_MAPS,		/* maps of this ABI: new programs replace the old */
	ADOPT_ALL,		/* this very object, attached where we want it */
};

struct loader {
	struct mcpwarden_bpf *skel;
	struct bpf_link *links[LOADER_LINKS_MAX];
	char pin_dir[256];
	enum loader_adopt adopted;
	struct loader_opts opts;	/* as given to loader_open() */
	__u64 cgroup_id;
	__u64 pinned_cgroup_id;		/* where the pinned links attach */
	__u8 object[32];		/* sha256 of our BPF object */
	int fence_prog_fd;		/* handle_fence_report, or -1 */
};

/*
 * Open and load the object, reusing what is pinned: maps of another ABI
 * are refused with a message naming the way out (-EPROTO).
 */
int loader_open(struct loader *l, const struct loader_opts *o);
/*
 * Attach every loaded program (the cgroup ones to @cgroup_fd), each in the
 * place of the pinned link of its name, and pin it; with ADOPT_ALL, open
 * the pinned links instead. Records what is installed (mw_meta).
 */
int loader_attach(struct loader *l, int cgroup_fd);
/* No tracked process may signal @tgid (0: nobody) as @who (mw_guarded). */
void loader_guard(const struct loader *l, enum mw_guarded_idx who, pid_t tgid);
void loader_map_fds(const struct loader *l, struct mw_map_fds *out);
/*
 * The programs' CLOCK_REALTIME - CLOCK_BOOTTIME (exec.writable compares a
 * file's ctime with a server's start): at load, and again on every tick,
 * for the clock steps NTP makes.
 */
void loader_clock(struct loader *l);
/*
 * @name (an entry of the pin directory) was removed or renamed away while
 * we run: pin what we hold by that name again. 1 if it was ours and is
 * pinned again, 0 if not ours (or back already), -errno.
 */
int loader_repin(struct loader *l, const char *name);
/* The same for every pin (a lost inotify event); @cb for each it tried. */
int loader_repin_all(struct loader *l,
		     void (*cb)(const char *name, int ret, void *arg), void *arg);
int loader_ringbuf_fd(const struct loader *l);
/* mw_sessions, the MCP session pages (kernel/sessions.h). */
int loader_sessions_fd(const struct loader *l);
/* The aggregation window the hooks use (0: every decision an event). */
int loader_agg_window(const struct loader *l, __u64 window_ns);
/*
 * Set the agent's bell (mw_consumer): which record rings it awake next.
 * Followed by a full barrier.
 */
int loader_consumer_bell(const struct loader *l, enum mw_bell bell);
/* Entries the hooks made in mw_agg, ever (a sweep finds none otherwise). */
__u64 loader_agg_inserted(const struct loader *l);
/*
 * Sweep mw_agg: summarise the windows that closed (@force: open ones too,
 * at a stop), remove idle entries; @out says what it found.
 */
int loader_agg_flush(const struct loader *l, bool force,
		     struct mw_agg_flush_args *out);
/* Are all loaded programs attached? */
bool loader_attached(const struct loader *l);
__u32 loader_tracked_max(const struct loader *l);
__u32 loader_tracked_short(const struct loader *l);
/* Close our fds: what is pinned stays in force. A zeroed loader: no-op. */
void loader_close(struct loader *l);
/* sha256 of the BPF object this binary carries. */
void loader_object_digest(__u8 out[32]);
/* Take down everything pinned under @pin_dir: links, maps, programs. */
int loader_remove(const char *pin_dir);

#endif /* MW_LOADER_H */
