// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mcpwarden.skel.h"
#include "kernel/loader.h"
#include "lib/log.h"

#define MW_BPF_CGROUP_UNIX_CONNECT	49	/* Linux 6.7; libbpf 1.1 lacks it */

/* How a program attaches and when it is loaded. */
enum prog_kind { P_TRACING, P_CGROUP, P_LSM, P_CGROUP_UNIX };

struct prog_def {
	struct bpf_program *prog;
	enum prog_kind kind;
};

/* Every program of the object; a new one is added here. */
static size_t prog_defs(const struct loader *l, struct prog_def *defs)
{
	struct mcpwarden_bpf *sk = l->skel;
	struct prog_def v[] = {
		{ sk->progs.handle_fork, P_TRACING },
		{ sk->progs.handle_exec, P_TRACING },
		{ sk->progs.handle_exit, P_TRACING },
		{ sk->progs.handle_connect4, P_CGROUP },
		{ sk->progs.handle_connect6, P_CGROUP },
		{ sk->progs.handle_sendmsg4, P_CGROUP },
		{ sk->progs.handle_sendmsg6, P_CGROUP },
		{ sk->progs.handle_sock_create, P_CGROUP },
		{ sk->progs.handle_connect_unix, P_CGROUP_UNIX },
		{ sk->progs.handle_bprm_check, P_LSM },
		{ sk->progs.handle_mmap_file, P_LSM },
		{ sk->progs.handle_file_open, P_LSM },
		{ sk->progs.handle_unix_connect, P_LSM },
		{ sk->progs.handle_ptrace, P_LSM },
		{ sk->progs.handle_bpf, P_LSM },
		{ sk->progs.handle_perf_event_open, P_LSM },
		{ sk->progs.handle_mount, P_LSM },
		{ sk->progs.handle_umount, P_LSM },
		{ sk->progs.handle_load_data, P_LSM },
		{ sk->progs.handle_read_file, P_LSM },
		{ sk->progs.handle_key_alloc, P_LSM },
		{ sk->progs.handle_userns_create, P_LSM },
	};
	size_t n = sizeof(v) / sizeof(v[0]);

	_Static_assert(sizeof(v) / sizeof(v[0]) <= LOADER_LINKS_MAX,
		       "LOADER_LINKS_MAX");
	memcpy(defs, v, sizeof(v));
	return n;
}

/* Between open and load: which programs this kernel and backend get. */
static void prog_select(struct loader *l, const struct loader_opts *o)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	size_t i, n = prog_defs(l, defs);

	for (i = 0; i < n; i++) {
		switch (defs[i].kind) {
		case P_LSM:
			bpf_program__set_autoload(defs[i].prog, o->lsm);
			break;
		case P_CGROUP_UNIX:
			bpf_program__set_type(defs[i].prog,
					      BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
			bpf_program__set_expected_attach_type(defs[i].prog,
				(enum bpf_attach_type)MW_BPF_CGROUP_UNIX_CONNECT);
			bpf_program__set_autoload(defs[i].prog, o->connect_unix);
			break;
		default:
			break;
		}
	}
}

int loader_open(struct loader *l, const struct loader_opts *o)
{
	char path[PATH_MAX];
	int err = 0;

	memset(l, 0, sizeof(*l));
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", o->pin_dir);
	snprintf(path, sizeof(path), "%s/mw_tracked", o->pin_dir);
	for (int attempt = 0; attempt < 2; attempt++) {
		l->skel = mcpwarden_bpf__open();
		if (!l->skel)
			return -errno;
		/* Tracking survives an agent restart through this pin. */
		bpf_map__set_pin_path(l->skel->maps.mw_tracked, path);
		if (o->ringbuf_size)
			bpf_map__set_max_entries(l->skel->maps.mw_events,
						 o->ringbuf_size);
		/* LSM programs fail to load where BPF-LSM is off. */
		prog_select(l, o);
		err = mcpwarden_bpf__load(l->skel);
		if (!err)
			return 0;
		mcpwarden_bpf__destroy(l->skel);
		l->skel = NULL;
		if (attempt == 0 && !access(path, F_OK)) {
			log_msg("pinned map \"%s\" does not fit this version, replacing it",
				path);
			unlink(path);
			continue;
		}
	}
	return err;
}

static int pin_link(struct loader *l, struct bpf_link *link, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/link_%s", l->pin_dir, name);
	unlink(path);	/* an earlier agent's link: the new one is in place */
	return bpf_link__pin(link, path);
}

int loader_attach(struct loader *l, int cgroup_fd)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	size_t i, n = prog_defs(l, defs);
	const char *name;
	int err;

	for (i = 0; i < n; i++) {
		if (!bpf_program__autoload(defs[i].prog))
			continue;
		if (defs[i].kind == P_CGROUP || defs[i].kind == P_CGROUP_UNIX)
			l->links[i] = bpf_program__attach_cgroup(defs[i].prog,
								 cgroup_fd);
		else
			l->links[i] = bpf_program__attach(defs[i].prog);
		name = bpf_program__name(defs[i].prog);
		if (!l->links[i]) {
			err = -errno;
			log_msg("attaching %s: %s", name, strerror(-err));
			return err;
		}
		err = pin_link(l, l->links[i], name + strlen("handle_"));
		if (err)
			log_msg("pinning the %s link under \"%s\": %s, ignoring",
				name, l->pin_dir, strerror(-err));
	}
	return 0;
}

void loader_map_fds(const struct loader *l, struct mw_map_fds *out)
{
	const struct mcpwarden_bpf *sk = l->skel;

	*out = (struct mw_map_fds){
		.tracked = bpf_map__fd(sk->maps.mw_tracked),
		.cgroups = bpf_map__fd(sk->maps.mw_cgroups),
		.detect = bpf_map__fd(sk->maps.mw_detect),
		.config = bpf_map__fd(sk->maps.mw_config),
		.gens = bpf_map__fd(sk->maps.mw_gens),
		.profiles = bpf_map__fd(sk->maps.mw_profiles),
		.net = bpf_map__fd(sk->maps.mw_net_rules),
		.sync = bpf_map__fd(sk->maps.mw_sync),
		.counters = bpf_map__fd(sk->maps.mw_counters),
		.exec = bpf_map__fd(sk->maps.mw_exec_rules),
		.files = bpf_map__fd(sk->maps.mw_file_rules),
		.unix_inodes = bpf_map__fd(sk->maps.mw_unix_rules),
		.unix_paths = bpf_map__fd(sk->maps.mw_unix_paths),
	};
}

int loader_ringbuf_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_events);
}

bool loader_attached(const struct loader *l)
{
	struct bpf_program *prog;
	size_t i, want = 0, have = 0;

	if (!l->skel)
		return false;
	bpf_object__for_each_program(prog, l->skel->obj)
		want += bpf_program__autoload(prog);
	for (i = 0; i < LOADER_LINKS_MAX; i++)
		have += l->links[i] != NULL;
	return want && have == want;
}

__u32 loader_tracked_max(const struct loader *l)
{
	return l->skel ? bpf_map__max_entries(l->skel->maps.mw_tracked) : 0;
}

void loader_close(struct loader *l)
{
	size_t i;

	for (i = 0; i < LOADER_LINKS_MAX; i++) {
		if (!l->links[i])
			continue;
		bpf_link__unpin(l->links[i]);
		bpf_link__destroy(l->links[i]);
		l->links[i] = NULL;
	}
	if (l->skel) {
		bpf_map__unpin(l->skel->maps.mw_tracked, NULL);
		mcpwarden_bpf__destroy(l->skel);
		l->skel = NULL;
	}
	if (l->pin_dir[0])
		rmdir(l->pin_dir);
}
