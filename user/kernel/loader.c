// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <nettle/sha2.h>
#include "mcpwarden.skel.h"
#include "kernel/loader.h"
#include "lib/log.h"

#define MW_BPF_CGROUP_UNIX_CONNECT	49	/* Linux 6.7; libbpf 1.1 lacks it */
#define FENCE_PROG_PIN			"prog_fence_report"

/*
 * The maps that hold what is in force; pinned, so they outlive the agent.
 * Not the per-CPU scratch maps nor mw_sync: each object has its own.
 */
static const char *const pinned_maps[] = {
	"mw_tracked", "mw_cgroups", "mw_detect", "mw_config", "mw_gens",
	"mw_meta", "mw_profile_names", "mw_profiles", "mw_net_rules",
	"mw_exec_rules", "mw_file_rules", "mw_file_names", "mw_unix_rules",
	"mw_unix_paths", "mw_applet_rules", "mw_file_guards",
	"mw_counters", "mw_events", "mw_guarded", "mw_agg", "mw_agg_config",
	"mw_consumer", "mw_sessions", "mw_tool_rules", NULL,
};

/*
 * How a program attaches and when it is loaded: P_FALLBACK is a tracing
 * program for kernels without BPF-LSM, where an LSM hook does its job.
 */
enum prog_kind { P_TRACING, P_CGROUP, P_LSM, P_CGROUP_UNIX, P_FALLBACK };

struct prog_def {
	struct bpf_program *prog;
	enum prog_kind kind;
};

/* Every attached program of the object; a new one is added here. */
static size_t prog_defs(const struct loader *l, struct prog_def *defs)
{
	struct mcpwarden_bpf *sk = l->skel;
	struct prog_def v[] = {
		{ sk->progs.handle_fork, P_TRACING },
		{ sk->progs.handle_exec, P_TRACING },
		{ sk->progs.handle_exec_late, P_TRACING },
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
		{ sk->progs.handle_ptrace_traceme, P_LSM },
		{ sk->progs.handle_bpf, P_LSM },
		{ sk->progs.handle_perf_event_open, P_LSM },
		{ sk->progs.handle_mount, P_LSM },
		{ sk->progs.handle_umount, P_LSM },
		{ sk->progs.handle_load_data, P_LSM },
		{ sk->progs.handle_read_file, P_LSM },
		{ sk->progs.handle_key_alloc, P_LSM },
		{ sk->progs.handle_userns_create, P_LSM },
		{ sk->progs.handle_capable, P_LSM },
		{ sk->progs.handle_task_kill, P_LSM },
		{ sk->progs.handle_inode_unlink, P_LSM },
		{ sk->progs.handle_inode_rmdir, P_LSM },
		{ sk->progs.handle_inode_rename, P_LSM },
		{ sk->progs.handle_file_rename, P_LSM },
		{ sk->progs.handle_file_link, P_LSM },
		{ sk->progs.handle_file_unlink, P_LSM },
		{ sk->progs.handle_file_rmdir, P_LSM },
		{ sk->progs.handle_file_create, P_LSM },
		{ sk->progs.handle_file_mkdir, P_LSM },
		{ sk->progs.handle_file_symlink, P_LSM },
		{ sk->progs.handle_file_mknod, P_LSM },
		{ sk->progs.handle_file_truncate, P_LSM },
		{ sk->progs.handle_file_chmod, P_LSM },
		{ sk->progs.handle_file_chown, P_LSM },
		{ sk->progs.handle_signal_generate, P_FALLBACK },
	};
	size_t n = sizeof(v) / sizeof(v[0]);

	_Static_assert(sizeof(v) / sizeof(v[0]) <= LOADER_LINKS_MAX,
		       "LOADER_LINKS_MAX");
	memcpy(defs, v, sizeof(v));
	return n;
}

/*
 * Does this kernel have the LSM hook @prog attaches to? The path_* hooks
 * need CONFIG_SECURITY_PATH (Debian and most distributions enable it for
 * AppArmor); without one, that program is left out, not the backend.
 */
static bool lsm_hook_exists(const struct bpf_program *prog)
{
	static struct btf *btf;
	static bool tried;
	const char *sec = bpf_program__section_name(prog);
	char fn[128];

	if (strncmp(sec, "lsm/", 4))
		return true;
	if (!tried) {
		tried = true;
		btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(btf))
			btf = NULL;
	}
	snprintf(fn, sizeof(fn), "bpf_lsm_%s", sec + 4);
	return !btf || btf__find_by_name_kind(btf, fn, BTF_KIND_FUNC) >= 0;
}

static bool prog_wanted(const struct prog_def *d, const struct loader_opts *o)
{
	return d->kind == P_LSM ? o->lsm && lsm_hook_exists(d->prog) :
	       d->kind == P_FALLBACK ? !o->lsm :
	       d->kind == P_CGROUP_UNIX ? o->connect_unix : true;
}

static bool is_cgroup(enum prog_kind kind)
{
	return kind == P_CGROUP || kind == P_CGROUP_UNIX;
}

static void pin_path(const struct loader *l, const char *name, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s/%s", l->pin_dir, name);
}

/* "link_fork" for handle_fork. */
static void link_path(const struct loader *l, struct bpf_program *prog,
		      char *buf, size_t len)
{
	snprintf(buf, len, "%s/link_%s", l->pin_dir,
		 bpf_program__name(prog) + strlen("handle_"));
}

int loader_repin_all(struct loader *l,
		     void (*cb)(const char *name, int ret, void *arg), void *arg)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	size_t i, n = prog_defs(l, defs);
	char path[PATH_MAX];
	int ret, done = 0;

	for (i = 0; i < n + 1; i++) {
		const char *name = i < n ? NULL : FENCE_PROG_PIN;

		if (i < n) {
			if (!l->links[i])
				continue;
			link_path(l, defs[i].prog, path, sizeof(path));
			name = strrchr(path, '/') + 1;
		}
		ret = loader_repin(l, name);
		if (ret && cb)
			cb(name, ret, arg);
		done += ret > 0;
	}
	for (i = 0; pinned_maps[i]; i++) {
		ret = loader_repin(l, pinned_maps[i]);
		if (ret && cb)
			cb(pinned_maps[i], ret, arg);
		done += ret > 0;
	}
	return done;
}

int loader_repin(struct loader *l, const char *name)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	size_t i, n = prog_defs(l, defs);
	char path[PATH_MAX], mine[PATH_MAX];
	struct bpf_map *map;
	int fd = -1;

	if (!l->skel || strchr(name, '/') ||
	    snprintf(path, sizeof(path), "%s/%s", l->pin_dir, name) >=
	    (int)sizeof(path) || !access(path, F_OK))
		return 0;
	for (i = 0; i < n && fd < 0; i++) {
		link_path(l, defs[i].prog, mine, sizeof(mine));
		if (l->links[i] && !strcmp(mine, path))
			fd = bpf_link__fd(l->links[i]);
	}
	for (i = 0; pinned_maps[i] && fd < 0; i++)
		if (!strcmp(pinned_maps[i], name) &&
		    (map = bpf_object__find_map_by_name(l->skel->obj, name)))
			fd = bpf_map__fd(map);
	if (fd < 0 && !strcmp(name, "mw_events"))
		fd = bpf_map__fd(l->skel->maps.mw_events);
	if (fd < 0 && !strcmp(name, FENCE_PROG_PIN))
		fd = l->fence_prog_fd;
	if (fd < 0)
		return 0;
	return bpf_obj_pin(fd, path) ? -errno : 1;
}

void loader_clock(struct loader *l)
{
	struct timespec real, boot;

	if (!l->skel || !l->skel->bss || clock_gettime(CLOCK_REALTIME, &real) ||
	    clock_gettime(CLOCK_BOOTTIME, &boot))
		return;
	l->skel->bss->mw_boot_to_real =
		(real.tv_sec - boot.tv_sec) * 1000000000LL +
		(real.tv_nsec - boot.tv_nsec);
}

void loader_object_digest(__u8 out[32])
{
	struct sha256_ctx ctx;
	const void *elf;
	size_t sz;

	elf = mcpwarden_bpf__elf_bytes(&sz);
	sha256_init(&ctx);
	sha256_update(&ctx, sz, elf);
	sha256_digest(&ctx, 32, out);
}

/* mw_meta of what is pinned; -ENOENT if nothing is. */
static int read_meta(const struct loader *l, struct mw_meta *meta)
{
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, ret = 0;

	pin_path(l, "mw_meta", path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_map_lookup_elem(fd, &zero, meta))
		ret = -errno;
	close(fd);
	return ret;
}

/* A pinned cgroup link that still attaches to cgroup @id. */
static bool link_on_cgroup(const char *path, __u64 id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path);
	bool ok;

	if (fd < 0)
		return false;
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	     info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == id;
	close(fd);
	return ok;
}

/*
 * May the links pinned be used as they are? Only the same object, wholly
 * attached, to the same cgroup (a removed cgroup detaches its links), with
 * a pinned link for every program we would load.
 */
static bool links_adoptable(struct loader *l, const struct loader_opts *o,
			    const struct mw_meta *meta)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	char path[PATH_MAX];
	size_t i, n;

	if (memcmp(meta->object, l->object, sizeof(l->object)) ||
	    meta->state != MW_META_ATTACHED || meta->cgroup_id != o->cgroup_id)
		return false;
	n = prog_defs(l, defs);
	for (i = 0; i < n; i++) {
		link_path(l, defs[i].prog, path, sizeof(path));
		if (prog_wanted(&defs[i], o) != !access(path, F_OK))
			return false;
		if (prog_wanted(&defs[i], o) && is_cgroup(defs[i].kind) &&
		    !link_on_cgroup(path, o->cgroup_id))
			return false;
	}
	pin_path(l, FENCE_PROG_PIN, path, sizeof(path));
	return !o->fence || !access(path, F_OK);
}

/*
 * Maps pinned with no record of an attach (a load that stopped before it,
 * or an uninstall that stopped half-way): nothing to adopt, and maybe of
 * another layout. Unpinned, so the load makes new ones; the links stay and
 * keep enforcing until ours replace them.
 */
static void maps_unpin(struct loader *l)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; pinned_maps[i]; i++) {
		pin_path(l, pinned_maps[i], path, sizeof(path));
		unlink(path);
	}
	pin_path(l, "mw_events", path, sizeof(path));
	unlink(path);
}

/* Between open and load: which programs this kernel and backend get. */
static void prog_select(struct loader *l, const struct loader_opts *o)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	size_t i, n = prog_defs(l, defs);
	bool load = l->adopted != ADOPT_ALL;

	for (i = 0; i < n; i++) {
		if (defs[i].kind == P_CGROUP_UNIX) {
			bpf_program__set_type(defs[i].prog,
					      BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
			bpf_program__set_expected_attach_type(defs[i].prog,
				(enum bpf_attach_type)MW_BPF_CGROUP_UNIX_CONNECT);
		}
		bpf_program__set_autoload(defs[i].prog,
					  load && prog_wanted(&defs[i], o));
	}
	bpf_program__set_autoload(l->skel->progs.handle_fence_report,
				  load && o->fence);
	/* Run, never attached: ours even beside adopted programs. */
	bpf_program__set_autoload(l->skel->progs.handle_agg_flush, true);
}

/*
 * Room for every process the kernel can have at once: a live process has a
 * pid and at least one task, so min(pid_max, threads-max) entries cannot
 * fill (an exit removes its entry; maps_track() removes what it added for
 * a process already gone). Allocated per entry, not up front.
 */
static __u32 tracked_capacity(void)
{
	__u64 pid_max = 0, threads_max = 0, n;
	FILE *f;

	f = fopen("/proc/sys/kernel/pid_max", "re");
	if (f) {
		if (fscanf(f, "%llu", &pid_max) != 1)
			pid_max = 0;
		fclose(f);
	}
	f = fopen("/proc/sys/kernel/threads-max", "re");
	if (f) {
		if (fscanf(f, "%llu", &threads_max) != 1)
			threads_max = 0;
		fclose(f);
	}
	if (!pid_max || !threads_max)
		return MW_TRACKED_MAX;
	n = pid_max < threads_max ? pid_max : threads_max;
	return n < MW_TRACKED_MIN ? MW_TRACKED_MIN :
	       n > MW_TRACKED_LIMIT ? MW_TRACKED_LIMIT : (__u32)n;
}

/* A pinned @name keeps its size and flags: it is reused, not remade. */
static bool pinned_shape(struct loader *l, const char *name,
			 struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	char path[PATH_MAX];
	int fd, err;

	memset(info, 0, sizeof(*info));
	pin_path(l, name, path, sizeof(path));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	err = bpf_obj_get_info_by_fd(fd, info, &len);
	close(fd);
	return !err;
}

/* Pin the maps that hold what is in force; pinned ones keep their size. */
static void maps_pin_paths(struct loader *l, const struct loader_opts *o)
{
	struct bpf_map *tracked = l->skel->maps.mw_tracked;
	struct bpf_map_info info;
	char path[PATH_MAX];
	struct bpf_map *map;
	size_t i;

	for (i = 0; pinned_maps[i]; i++) {
		map = bpf_object__find_map_by_name(l->skel->obj, pinned_maps[i]);
		pin_path(l, pinned_maps[i], path, sizeof(path));
		bpf_map__set_pin_path(map, path);
	}
	if (pinned_shape(l, "mw_tracked", &info)) {
		bpf_map__set_max_entries(tracked, info.max_entries);
		bpf_map__set_map_flags(tracked, info.map_flags);
	} else {
		bpf_map__set_max_entries(tracked, tracked_capacity());
		bpf_map__set_map_flags(tracked, BPF_F_NO_PREALLOC);
	}
	if (o->ringbuf_size)
		bpf_map__set_max_entries(l->skel->maps.mw_events, o->ringbuf_size);
	if (!pinned_shape(l, "mw_events", &info))
		return;
	if (o->ringbuf_size && o->ringbuf_size != info.max_entries)
		log_msg("--ring-buffer %u: the pinned ring buffer has %u bytes and keeps them (the events in it stay); uninstall to resize, ignoring",
			o->ringbuf_size, info.max_entries);
	bpf_map__set_max_entries(l->skel->maps.mw_events, info.max_entries);
}

/*
 * pid_max or threads-max raised since the tracked map was made (or it is
 * an earlier build's): enough processes could fill it. 0 if it has room.
 */
__u32 loader_tracked_short(const struct loader *l)
{
	__u32 want = tracked_capacity(), have = loader_tracked_max(l);

	return have && have < want ? want : 0;
}

static int what_is_pinned(struct loader *l, const struct loader_opts *o)
{
	struct mw_meta meta;
	int ret;

	ret = read_meta(l, &meta);
	if (ret && ret != -ENOENT) {
		log_msg("pinned state under \"%s\": reading mw_meta: %s",
			l->pin_dir, strerror(-ret));
		return ret;
	}
	if (ret == -ENOENT || meta.abi == 0) {
		maps_unpin(l);
		return 0;
	}
	if (meta.abi != MW_ABI_VERSION) {
		log_msg("pinned state under \"%s\" is of another mcpwarden (ABI %u, this one is %u): 'mcpwarden uninstall --pin-dir %s' removes it (and the fence it holds)",
			l->pin_dir, meta.abi, MW_ABI_VERSION, l->pin_dir);
		return -EPROTO;
	}
	l->pinned_cgroup_id = meta.cgroup_id;
	l->adopted = links_adoptable(l, o, &meta) ? ADOPT_ALL : ADOPT_MAPS;
	return 0;
}

int loader_open(struct loader *l, const struct loader_opts *o)
{
	char path[PATH_MAX];
	int err;

	memset(l, 0, sizeof(*l));
	l->opts = *o;
	l->opts.pin_dir = NULL;		/* the caller's: l->pin_dir is ours */
	l->fence_prog_fd = -1;
	l->cgroup_id = o->cgroup_id;
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", o->pin_dir);
	loader_object_digest(l->object);
	if (mkdir(o->pin_dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_msg("--pin-dir \"%s\": %s", o->pin_dir, strerror(-err));
		return err;
	}
	l->skel = mcpwarden_bpf__open();
	if (!l->skel)
		return -errno;
	err = what_is_pinned(l, o);
	if (err)
		return err;
	maps_pin_paths(l, o);
	prog_select(l, o);
	err = mcpwarden_bpf__load(l->skel);
	if (err) {
		if (l->adopted)
			log_msg("the maps pinned under \"%s\" do not fit this build (same ABI %u, other layout?): 'mcpwarden uninstall --pin-dir %s' removes them",
				l->pin_dir, MW_ABI_VERSION, l->pin_dir);
		return err;
	}
	loader_clock(l);
	pin_path(l, FENCE_PROG_PIN, path, sizeof(path));
	if (o->fence && l->adopted == ADOPT_ALL) {
		l->fence_prog_fd = bpf_obj_get(path);
		if (l->fence_prog_fd < 0)
			return -errno;
	} else if (o->fence) {
		/* The one that answering processes started later will use. */
		unlink(path);
		if (bpf_program__pin(l->skel->progs.handle_fence_report, path))
			return -errno;
		l->fence_prog_fd = bpf_program__fd(
			l->skel->progs.handle_fence_report);
	}
	return 0;
}

/*
 * Attach @d in the place of the link pinned at @path, if any: a cgroup
 * link takes the new program in one step (BPF_LINK_UPDATE); a tracing link
 * cannot, so the new one is attached first and the old one goes after:
 * for that moment both run, on the same maps.
 */
static int attach_one(struct loader *l, const struct prog_def *d, int cgroup_fd,
		      const char *path, struct bpf_link **out)
{
	struct bpf_link *old = access(path, F_OK) ? NULL : bpf_link__open(path);
	struct bpf_link *link;
	/* Updated in place only where it still attaches to our cgroup. */
	bool same_cgroup = old && is_cgroup(d->kind) &&
			   link_on_cgroup(path, l->cgroup_id);
	char tmp[PATH_MAX];
	int err;

	if (old && same_cgroup && !bpf_link__update_program(old, d->prog)) {
		*out = old;
		return 0;
	}
	link = is_cgroup(d->kind) ?
	       bpf_program__attach_cgroup(d->prog, cgroup_fd) :
	       bpf_program__attach(d->prog);
	if (!link) {
		err = -errno;
		bpf_link__destroy(old);	/* its pin keeps it attached */
		return err;
	}
	/*
	 * The new pin replaces the old in one rename: never neither. (A
	 * name in bpffs may not hold a dot.)
	 */
	err = snprintf(tmp, sizeof(tmp), "%s_new", path) >= (int)sizeof(tmp) ?
	      -ENAMETOOLONG : 0;
	if (!err) {
		unlink(tmp);
		err = bpf_link__pin(link, tmp);
	}
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		bpf_link__destroy(link);
		bpf_link__destroy(old);
		return err;
	}
	bpf_link__destroy(old);		/* unpinned: the old program goes */
	*out = link;
	return 0;
}

static int write_meta(struct loader *l, enum mw_meta_state state)
{
	struct mw_meta meta = { .abi = MW_ABI_VERSION, .state = state,
				.cgroup_id = l->cgroup_id };
	__u32 zero = 0;

	memcpy(meta.object, l->object, sizeof(meta.object));
	return bpf_map_update_elem(bpf_map__fd(l->skel->maps.mw_meta), &zero,
				   &meta, BPF_ANY) ? -errno : 0;
}

int loader_attach(struct loader *l, int cgroup_fd)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	size_t i, n = prog_defs(l, defs);
	char path[PATH_MAX];
	const char *name;
	int err;

	/* A crash from here on leaves a mix: the next agent adopts no link. */
	if (l->adopted != ADOPT_ALL && (err = write_meta(l, MW_META_ATTACHING)))
		return err;
	for (i = 0; i < n; i++) {
		name = bpf_program__name(defs[i].prog);
		link_path(l, defs[i].prog, path, sizeof(path));
		if (l->adopted == ADOPT_ALL) {
			if (!prog_wanted(&defs[i], &l->opts))
				continue;
			l->links[i] = bpf_link__open(path);
			if (!l->links[i]) {
				err = -errno;
				log_msg("opening the pinned %s link: %s", name,
					strerror(-err));
				return err;
			}
			continue;
		}
		if (!bpf_program__autoload(defs[i].prog)) {
			unlink(path);	/* an earlier backend's: not ours now */
			continue;
		}
		err = attach_one(l, &defs[i], cgroup_fd, path, &l->links[i]);
		if (err) {
			log_msg("attaching %s: %s", name, strerror(-err));
			return err;
		}
	}
	return l->adopted == ADOPT_ALL ? 0 : write_meta(l, MW_META_ATTACHED);
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
		.profile_names = bpf_map__fd(sk->maps.mw_profile_names),
		.net = bpf_map__fd(sk->maps.mw_net_rules),
		.tools = bpf_map__fd(sk->maps.mw_tool_rules),
		.sync = bpf_map__fd(sk->maps.mw_sync),
		.counters = bpf_map__fd(sk->maps.mw_counters),
		.exec = bpf_map__fd(sk->maps.mw_exec_rules),
		.files = bpf_map__fd(sk->maps.mw_file_rules),
		.names = bpf_map__fd(sk->maps.mw_file_names),
		.unix_inodes = bpf_map__fd(sk->maps.mw_unix_rules),
		.unix_paths = bpf_map__fd(sk->maps.mw_unix_paths),
		.applets = bpf_map__fd(sk->maps.mw_applet_rules),
		.guards = bpf_map__fd(sk->maps.mw_file_guards),
	};
}

void loader_guard(const struct loader *l, enum mw_guarded_idx who, pid_t tgid)
{
	__u32 key = who, v = tgid > 0 ? (__u32)tgid : 0;

	if (l->skel)
		bpf_map_update_elem(bpf_map__fd(l->skel->maps.mw_guarded), &key,
				    &v, BPF_ANY);
}

int loader_agg_window(const struct loader *l, __u64 window_ns)
{
	int fd = bpf_map__fd(l->skel->maps.mw_agg_config);
	struct mw_agg_config c = {};
	__u32 zero = 0;

	/* The count of entries made goes on: a sweep compares it. */
	if (bpf_map_lookup_elem(fd, &zero, &c))
		return -errno;
	c.window_ns = window_ns;
	return bpf_map_update_elem(fd, &zero, &c, BPF_ANY) ? -errno : 0;
}

int loader_consumer_bell(const struct loader *l, enum mw_bell bell)
{
	struct mw_consumer c = { .bell = bell };
	__u32 zero = 0;
	int ret;

	ret = bpf_map_update_elem(bpf_map__fd(l->skel->maps.mw_consumer),
				  &zero, &c, BPF_ANY) ? -errno : 0;
	/* The kernel's store before our next read of the ring (Dekker). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ret;
}

__u64 loader_agg_inserted(const struct loader *l)
{
	struct mw_agg_config c = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.mw_agg_config), &zero,
			    &c);
	return c.inserted;
}

int loader_agg_flush(const struct loader *l, bool force,
		     struct mw_agg_flush_args *out)
{
	struct mw_agg_flush_args args = { .force = force };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args,
		    .ctx_size_in = sizeof(args));
	int ret;

	ret = bpf_prog_test_run_opts(
		bpf_program__fd(l->skel->progs.handle_agg_flush), &opts);
	if (ret)
		return -errno;
	if (out)
		*out = args;
	return opts.retval ? (int)opts.retval : 0;
}

int loader_sessions_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_sessions);
}

int loader_ringbuf_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.mw_events);
}

bool loader_attached(const struct loader *l)
{
	struct prog_def defs[LOADER_LINKS_MAX];
	size_t i, n, want = 0, have = 0;

	if (!l->skel)
		return false;
	n = prog_defs(l, defs);
	for (i = 0; i < n; i++) {
		want += l->adopted == ADOPT_ALL ?
			prog_wanted(&defs[i], &l->opts) :
			bpf_program__autoload(defs[i].prog);
		have += l->links[i] != NULL;
	}
	return want && have == want;
}

__u32 loader_tracked_max(const struct loader *l)
{
	return l->skel ? bpf_map__max_entries(l->skel->maps.mw_tracked) : 0;
}

void loader_close(struct loader *l)
{
	size_t i;

	/* The links are pinned: closing our fds leaves them attached. */
	for (i = 0; i < LOADER_LINKS_MAX; i++) {
		bpf_link__destroy(l->links[i]);
		l->links[i] = NULL;
	}
	if (l->fence_prog_fd >= 0 && l->adopted == ADOPT_ALL)
		close(l->fence_prog_fd);
	l->fence_prog_fd = -1;
	mcpwarden_bpf__destroy(l->skel);
	l->skel = NULL;
}

int loader_remove(const char *pin_dir)
{
	struct dirent *de;
	char path[PATH_MAX];
	int ret = 0;
	DIR *d;

	d = opendir(pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	/* Links first: with their pins gone nothing enforces any more. */
	for (int pass = 0; pass < 2; pass++) {
		rewinddir(d);
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.' || !strcmp(de->d_name, "mw_meta") ||
			    !strncmp(de->d_name, "link_", 5) != !pass)
				continue;
			snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
			if (unlink(path) && !ret)
				ret = -errno;
		}
	}
	closedir(d);
	/* Last: while maps are left, they are known to be ours. */
	snprintf(path, sizeof(path), "%s/mw_meta", pin_dir);
	if (unlink(path) && errno != ENOENT && !ret)
		ret = -errno;
	if (rmdir(pin_dir) && errno != ENOENT && !ret)
		ret = -errno;
	return ret;
}
