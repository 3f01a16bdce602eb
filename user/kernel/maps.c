// SPDX-License-Identifier: GPL-2.0-only
/*
 * The maps the programs read: the generation swap that puts a compiled
 * policy in force without a moment in which a rule is missing, and the
 * tracked-process map.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kernel/maps.h"
#include "lib/proc.h"
#include "mw_abi.h"
#include "mw_ident.h"

void maps_read_lock(struct mw_maps *m)
{
	pthread_rwlock_rdlock(&m->lock);
}

void maps_read_unlock(struct mw_maps *m)
{
	pthread_rwlock_unlock(&m->lock);
}

/* The profile names the pinned state knows, so that ids keep their names. */
static int names_load(struct mw_maps *m)
{
	struct mw_profile_name pn;
	__u32 id;

	for (id = 1; id < MW_PROFILES_MAX; id++) {
		if (bpf_map_lookup_elem(m->fd.profile_names, &id, &pn))
			return -errno;
		pn.name[sizeof(pn.name) - 1] = '\0';
		if (!pn.name[0])
			continue;
		m->ids.names[id] = strdup(pn.name);
		if (!m->ids.names[id])
			return -ENOMEM;
	}
	return 0;
}

static int names_store(struct mw_maps *m)
{
	struct mw_profile_name pn;
	__u32 id;

	for (id = 1; id < MW_PROFILES_MAX; id++) {
		memset(&pn, 0, sizeof(pn));
		if (m->ids.names[id])
			snprintf(pn.name, sizeof(pn.name), "%s", m->ids.names[id]);
		if (bpf_map_update_elem(m->fd.profile_names, &id, &pn, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* A generation in force already (the agent adopted pinned state)? */
static void gen_adopt(struct mw_maps *m)
{
	struct mw_config cfg;
	struct mw_profile p;
	__u32 zero = 0, i, key;

	if (bpf_map_lookup_elem(m->fd.config, &zero, &cfg))
		return;
	for (i = 1; i < MW_PROFILES_MAX; i++) {
		key = (cfg.active_gen & 1) * MW_PROFILES_MAX + i;
		if (!bpf_map_lookup_elem(m->fd.profiles, &key, &p) && p.present) {
			m->active_gen = cfg.active_gen & 1;
			m->applied = 1;	/* what it holds: unknown until ours */
			return;
		}
	}
}

int maps_init(struct mw_maps *m, const struct mw_map_fds *fds)
{
	int ret;

	memset(m, 0, sizeof(*m));
	pthread_rwlock_init(&m->lock, NULL);
	m->fd = *fds;
	m->sync_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mw_sync_inner",
					  sizeof(__u32), sizeof(__u32), 1, NULL);
	if (m->sync_inner_fd < 0)
		return -errno;
	ret = names_load(m);
	if (!ret)
		gen_adopt(m);
	return ret;
}

static void seeds_free(struct mw_maps *m)
{
	size_t i;

	for (i = 0; i < m->nseed; i++) {
		free(m->seed[i].profile);
		free(m->seed[i].path);
		close(m->seed[i].fd);
	}
	free(m->seed);
	m->seed = NULL;
	m->nseed = 0;
}

int maps_seed_file(struct mw_maps *m, const struct maps_seed *seed)
{
	struct maps_seed *v = realloc(m->seed, (m->nseed + 1) * sizeof(*v));
	struct maps_seed e = *seed;

	e.profile = strdup(seed->profile);
	e.path = strdup(seed->path);
	if (v)
		m->seed = v;
	if (!v || !e.profile || !e.path) {
		free(e.profile);
		free(e.path);
		close(seed->fd);
		return -ENOMEM;
	}
	m->seed[m->nseed++] = e;
	if (e.seq >= m->next_seq)
		m->next_seq = e.seq + 1;
	return 0;
}

/* The seeds as the selections of a generation before ours (fds borrowed). */
static int seeds_compiled(const struct mw_maps *m, struct compiled *out)
{
	struct inode_sel *e;
	struct stat st;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!m->nseed)
		return 0;
	out->files = calloc(m->nseed, sizeof(*out->files));
	if (!out->files)
		return -ENOMEM;
	for (i = 0; i < m->nseed; i++) {
		if (fstat(m->seed[i].fd, &st))
			continue;
		e = &out->files[out->nfiles++];
		e->path = m->seed[i].path;
		e->st_dev = st.st_dev;
		e->ino = st.st_ino;
		e->is_dir = S_ISDIR(st.st_mode);
		e->profile = profile_ids_get(&m->ids, m->seed[i].profile);
		e->action = m->seed[i].action;
		e->moved = m->seed[i].moved;
		e->readonly = m->seed[i].readonly;
		e->seq = m->seed[i].seq;
		e->fd = m->seed[i].fd;
		if (!e->profile)
			out->nfiles--;
	}
	return 0;
}

void maps_free(struct mw_maps *m)
{
	seeds_free(m);
	compiled_free(&m->gen[0]);
	compiled_free(&m->gen[1]);
	profile_ids_free(&m->ids);
	rule_ids_free(&m->rules);
	if (m->sync_inner_fd > 0)
		close(m->sync_inner_fd);
	m->sync_inner_fd = -1;
}

/*
 * Delete every entry of @fd whose key holds @gen at @gen_off: by what the
 * map holds, not by what this agent put there, so that a generation an
 * earlier agent filled (and maybe left half-filled) is cleared too.
 */
static void map_clear_gen(int fd, size_t key_size, size_t gen_off, __u32 gen)
{
	char key[sizeof(struct mw_unix_key)], next[sizeof(key)];
	char *keys = NULL, *tmp;
	size_t n = 0, cap = 0, i;
	__u32 g;
	int ret;

	for (ret = bpf_map_get_next_key(fd, NULL, next); !ret;
	     ret = bpf_map_get_next_key(fd, key, next)) {
		memcpy(key, next, key_size);
		memcpy(&g, key + gen_off, sizeof(g));
		if (g != gen)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(keys, cap * key_size);
			if (!tmp)
				break;
			keys = tmp;
		}
		memcpy(keys + n++ * key_size, key, key_size);
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
	free(keys);
}

/* Remove generation @gen's entries from the maps. Best effort. */
static void gen_clear(struct mw_maps *m, __u32 gen)
{
	struct mw_profile none = {};
	struct mw_gen g = {};
	__u32 idx, key;

	_Static_assert(sizeof(struct mw_unix_key) >= sizeof(struct mw_net_key) &&
		       sizeof(struct mw_unix_key) >= sizeof(struct mw_tool_key) &&
		       sizeof(struct mw_unix_key) >= sizeof(struct mw_inode_key) &&
		       sizeof(struct mw_unix_key) >= sizeof(struct mw_name_key) &&
		       sizeof(struct mw_unix_key) >= sizeof(struct mw_applet_key),
		       "map_clear_gen key buffer");
	bpf_map_update_elem(m->fd.gens, &gen, &g, BPF_ANY);
	map_clear_gen(m->fd.net, sizeof(struct mw_net_key),
		      offsetof(struct mw_net_key, gen), gen);
	map_clear_gen(m->fd.tools, sizeof(struct mw_tool_key),
		      offsetof(struct mw_tool_key, gen), gen);
	map_clear_gen(m->fd.cgroups, sizeof(struct mw_cgroup_key),
		      offsetof(struct mw_cgroup_key, gen), gen);
	map_clear_gen(m->fd.exec, sizeof(struct mw_inode_key),
		      offsetof(struct mw_inode_key, gen), gen);
	map_clear_gen(m->fd.files, sizeof(struct mw_inode_key),
		      offsetof(struct mw_inode_key, gen), gen);
	map_clear_gen(m->fd.names, sizeof(struct mw_name_key),
		      offsetof(struct mw_name_key, gen), gen);
	map_clear_gen(m->fd.unix_inodes, sizeof(struct mw_inode_key),
		      offsetof(struct mw_inode_key, gen), gen);
	map_clear_gen(m->fd.unix_paths, sizeof(struct mw_unix_key),
		      offsetof(struct mw_unix_key, gen), gen);
	map_clear_gen(m->fd.applets, sizeof(struct mw_applet_key),
		      offsetof(struct mw_applet_key, gen), gen);
	map_clear_gen(m->fd.guards, sizeof(struct mw_inode_key),
		      offsetof(struct mw_inode_key, gen), gen);
	for (idx = 0; idx < MW_PROFILES_MAX; idx++) {
		key = gen * MW_PROFILES_MAX + idx;
		bpf_map_update_elem(m->fd.profiles, &key, &none, BPF_ANY);
	}
}

/*
 * One entry an inode: two selections of it (two paths, a hard link, an
 * object moved to where an allow rule's path was) keep the stricter.
 */
static int sels_fill(int fd, __u32 gen, const struct inode_sel *v, size_t n)
{
	struct mw_rule_value cur;
	size_t i;

	for (i = 0; i < n; i++) {
		struct mw_inode_key k = inode_key(gen, &v[i]);
		struct mw_rule_value val = {
			.action = v[i].action, .is_dir = v[i].is_dir,
			.readonly = v[i].readonly, .rule_id = v[i].rule_id,
			.exec_only = v[i].exec_only,
		};

		if (!bpf_map_lookup_elem(fd, &k, &cur) &&
		    path_rule_strictness(cur.action, cur.readonly) >=
		    path_rule_strictness(val.action, val.readonly))
			continue;
		if (bpf_map_update_elem(fd, &k, &val, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int names_fill(int fd, __u32 gen, const struct name_sel *v, size_t n)
{
	struct mw_rule_value cur;
	size_t i;

	for (i = 0; i < n; i++) {
		struct mw_name_key k = { .gen = gen, .profile = v[i].profile,
					 .dev = kdev(v[i].dir_dev),
					 .ino = v[i].dir_ino };
		struct mw_rule_value val = { .action = v[i].action,
					     .readonly = v[i].readonly,
					     .rule_id = v[i].rule_id };

		memcpy(k.name, v[i].name, sizeof(k.name));
		if (!bpf_map_lookup_elem(fd, &k, &cur) &&
		    path_rule_strictness(cur.action, cur.readonly) >=
		    path_rule_strictness(val.action, val.readonly))
			continue;	/* two rules on one name: the stricter */
		if (bpf_map_update_elem(fd, &k, &val, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int gen_fill(struct mw_maps *m, __u32 gen, const struct compiled *c)
{
	struct mw_gen g = { .ndetect = c->ndetect, .ncgroups = c->ncgroups };
	size_t i;
	__u32 key;
	int ret;

	for (i = 0; i < MW_PROFILES_MAX; i++) {
		key = gen * MW_PROFILES_MAX + i;
		if (bpf_map_update_elem(m->fd.profiles, &key, &c->profiles[i],
					BPF_ANY))
			return -errno;
	}
	for (i = 0; i < c->ndetect; i++) {
		key = gen * MW_DETECT_MAX + i;
		if (bpf_map_update_elem(m->fd.detect, &key, &c->detect[i],
					BPF_ANY))
			return -errno;
	}
	for (i = 0; i < c->nnet; i++)
		if (bpf_map_update_elem(m->fd.net, &c->net_keys[i],
					&c->net_vals[i], BPF_ANY))
			return -errno;
	for (i = 0; i < c->ntools; i++)
		if (bpf_map_update_elem(m->fd.tools, &c->tool_keys[i],
					&c->tool_vals[i], BPF_ANY))
			return -errno;
	for (i = 0; i < c->ncgroups; i++) {
		struct mw_cgroup_key k = { .cgroup_id = c->cgroups[i].id,
					   .gen = gen };

		if (bpf_map_update_elem(m->fd.cgroups, &k,
					&c->cgroups[i].profile, BPF_ANY))
			return -errno;
	}
	ret = sels_fill(m->fd.exec, gen, c->exec, c->nexec);
	if (!ret)
		ret = sels_fill(m->fd.exec, gen, c->launchers, c->nlaunchers);
	if (!ret)
		ret = sels_fill(m->fd.files, gen, c->files, c->nfiles);
	if (!ret)
		ret = names_fill(m->fd.names, gen, c->names, c->nnames);
	if (!ret)
		ret = sels_fill(m->fd.guards, gen, c->guards, c->nguards);
	if (!ret)
		ret = sels_fill(m->fd.unix_inodes, gen, c->unix_inodes,
				c->nunix_inodes);
	if (ret)
		return ret;
	for (i = 0; i < c->nunix_paths; i++)
		if (bpf_map_update_elem(m->fd.unix_paths, &c->unix_keys[i],
					&c->unix_vals[i], BPF_ANY))
			return -errno;
	for (i = 0; i < c->napplets; i++)
		if (bpf_map_update_elem(m->fd.applets, &c->applet_keys[i],
					&c->applet_vals[i], BPF_ANY))
			return -errno;
	/* Last: the counts that make the entries above visible. */
	if (bpf_map_update_elem(m->fd.gens, &gen, &g, BPF_ANY))
		return -errno;
	return 0;
}

/* The rule of @p that put @s in force, if @p still has it. */
static const struct path_rule *file_rule(const struct mw_maps *m,
					 const struct policy *p,
					 const struct inode_sel *s)
{
	const char *name = profile_ids_name(&m->ids, s->profile);
	size_t i, k;

	for (i = 0; name && i < p->nprofiles; i++) {
		if (strcmp(p->profiles[i].name, name))
			continue;
		for (k = 0; k < p->profiles[i].nfiles; k++) {
			const struct path_rule *r = &p->profiles[i].files[k];

			if (r->action == s->action &&
			    r->readonly == s->readonly &&
			    !strcmp(r->path, s->path))
				return r;
		}
	}
	return NULL;
}

/*
 * Objects away from one rule's path that keep its rule, per kind: moved
 * ones still linked somewhere, the first ones the agent had (the rule's
 * own object, then what appeared at its path later: a server renaming
 * away directories it makes there cannot crowd the real one out), and
 * deleted ones, the last ones (a descriptor opened on a version an editor
 * then replaced reopens through /proc/self/fd as that inode).
 */
#define CARRY_MAX	32

static size_t moved_count(const struct compiled *c, __u32 profile,
			  const char *path, bool deleted)
{
	struct stat st;
	size_t i, n = 0;

	for (i = 0; i < c->nfiles; i++)
		n += c->files[i].moved && !c->files[i].link &&
		     c->files[i].profile == profile &&
		     c->files[i].path == path && c->files[i].fd >= 0 &&
		     !fstat(c->files[i].fd, &st) && !st.st_nlink == deleted;
	return n;
}

/* Does @c name @s's object with a rule at least as strict? */
static bool file_named(const struct compiled *c, const struct inode_sel *s)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		if (c->files[i].profile == s->profile &&
		    c->files[i].st_dev == s->st_dev &&
		    c->files[i].ino == s->ino &&
		    path_rule_strictness(c->files[i].action,
					 c->files[i].readonly) >=
		    path_rule_strictness(s->action, s->readonly))
			return true;
	return false;
}

/*
 * First seen: an object of @c that @old had keeps its number, a new one
 * takes the next. The carry's order stands on it, not on where an object
 * happens to be now (moved back to its path, it is still the first).
 */
static void seq_assign(struct mw_maps *m, const struct compiled *old,
		       struct compiled *c)
{
	size_t i, k;

	for (i = 0; i < c->nfiles; i++) {
		struct inode_sel *e = &c->files[i];

		for (k = 0; old && k < old->nfiles; k++)
			if (old->files[k].st_dev == e->st_dev &&
			    old->files[k].ino == e->ino && old->files[k].seq) {
				e->seq = old->files[k].seq;
				break;
			}
		if (!e->seq)
			e->seq = ++m->next_seq;
	}
}

static int seq_cmp(const void *a, const void *b)
{
	const struct inode_sel *x = *(const struct inode_sel *const *)a;
	const struct inode_sel *y = *(const struct inode_sel *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int carry_one(struct mw_maps *m, const struct policy *p,
		     const struct inode_sel *s, const struct path_rule *r,
		     struct compiled *c)
{
	struct inode_sel *v, *e;
	int fd = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	v = realloc(c->files, (c->nfiles + 1) * sizeof(*v));
	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	c->files = v;
	e = &c->files[c->nfiles++];
	*e = *s;
	e->path = r->path;	/* @old's policy is freed after us */
	e->rule_id = rule_ids_get(&m->rules, p->rule_names[r->id]);
	e->fd = fd;
	e->moved = true;
	return 0;
}

/*
 * A protected file or directory renamed away (mv ~/.ssh ~/.s), replaced
 * (an editor's rename over it) or deleted is still the object the rule was
 * put on: its selection in @old, with the fd that holds it, stays in force
 * in @c beside what the path names now, for as long as @p keeps the rule
 * (the same profile, path and action), within CARRY_MAX of each kind.
 */
static int files_carry(struct mw_maps *m, const struct policy *p,
		       const struct compiled *old, struct compiled *c)
{
	const struct inode_sel **cand;
	const struct path_rule *r;
	struct stat st;
	size_t i, n = 0;
	int ret = 0;
	bool deleted;

	seq_assign(m, old, c);
	if (!old || !old->nfiles)
		return 0;
	cand = calloc(old->nfiles, sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	for (i = 0; i < old->nfiles; i++)
		if (old->files[i].fd >= 0 && !old->files[i].link &&
		    !file_named(c, &old->files[i]))
			cand[n++] = &old->files[i];
	qsort(cand, n, sizeof(*cand), seq_cmp);
	/* Moved and linked: oldest first. Deleted: newest first. */
	for (i = 0; i < 2 * n && !ret; i++) {
		const struct inode_sel *s = i < n ? cand[i] : cand[2 * n - 1 - i];

		if (!(r = file_rule(m, p, s)) || fstat(s->fd, &st))
			continue;
		deleted = !st.st_nlink;
		if (deleted != (i >= n) ||
		    moved_count(c, s->profile, r->path, deleted) >= CARRY_MAX)
			continue;
		ret = carry_one(m, p, s, r, c);
	}
	free(cand);
	return ret;
}

int maps_apply(struct mw_maps *m, const struct policy *p, char *err,
	       size_t errlen, void (*warn)(const char *msg, void *arg),
	       void *warn_arg)
{
	__u32 gen = m->applied ? !m->active_gen : 0, old = m->active_gen, zero = 0;
	struct mw_config cfg = { .active_gen = gen }, cur;
	struct compiled c;
	int ret;

	ret = compile_policy(p, gen, &m->ids, &m->rules, err, errlen, warn,
			     warn_arg, &c);
	if (ret)
		return ret;
	/* An adopted generation has no compiled[] (applied, all empty). */
	ret = files_carry(m, p, m->applied ? &m->gen[old] : NULL, &c);
	if (!ret && m->nseed) {
		struct compiled seeded;

		ret = seeds_compiled(m, &seeded);
		if (!ret)
			ret = files_carry(m, p, &seeded, &c);
		free(seeded.files);	/* the fds are the seeds' */
	}
	if (ret) {
		snprintf(err, errlen, "keeping renamed protected files: %s",
			 strerror(-ret));
		compiled_free(&c);
		return ret;
	}
	ret = names_store(m);
	if (ret) {
		snprintf(err, errlen, "recording the profile names: %s",
			 strerror(-ret));
		compiled_free(&c);
		return ret;
	}
	gen_clear(m, gen);	/* what an interrupted reload may have left */
	ret = gen_fill(m, gen, &c);
	if (ret) {
		snprintf(err, errlen, "filling policy generation %u: %s", gen,
			 strerror(-ret));
		goto undo;
	}
	if (!bpf_map_lookup_elem(m->fd.config, &zero, &cur))
		cfg.switches = cur.switches + 1;
	if (bpf_map_update_elem(m->fd.config, &zero, &cfg, BPF_ANY)) {
		ret = -errno;
		snprintf(err, errlen, "switching to policy generation %u: %s",
			 gen, strerror(-ret));
		goto undo;
	}
	/* Programs that read the old generation finish before it goes. */
	if (bpf_map_update_elem(m->fd.sync, &zero, &m->sync_inner_fd, BPF_ANY))
		usleep(10000);	/* no map-in-map: a grace period is ~ms */
	if (m->applied)
		gen_clear(m, old);
	pthread_rwlock_wrlock(&m->lock);
	if (m->applied)
		compiled_free(&m->gen[old]);
	compiled_free(&m->gen[gen]);
	m->gen[gen] = c;
	m->active_gen = gen;
	m->applied = 1;
	pthread_rwlock_unlock(&m->lock);
	seeds_free(m);
	return 0;
undo:
	gen_clear(m, gen);
	compiled_free(&c);
	return ret;
}

const struct compiled *maps_active(const struct mw_maps *m)
{
	return m->applied ? &m->gen[m->active_gen] : NULL;
}

/*
 * The process may have exited before the entry went in: the kernel's exit
 * hook has run, and nothing would remove it. An entry of a process that
 * is gone is taken out again (if it is still ours), so the map never holds
 * more than the processes that are alive (its capacity, see the loader).
 */
int maps_track(struct mw_maps *m, const char *proc_root, __u32 pid,
	       __u64 start, const struct mw_server *server, int replace)
{
	struct mw_tracked t = { .start_time = start, .server = *server }, now;
	__u64 alive;

	if (bpf_map_update_elem(m->fd.tracked, &pid, &t,
				replace ? BPF_ANY : BPF_NOEXIST))
		return -errno;
	if (!proc_start_time(proc_root, pid, &alive) &&
	    mw_same_start(alive, start))
		return 0;
	if (!bpf_map_lookup_elem(m->fd.tracked, &pid, &now) &&
	    now.start_time == start && now.server.pid == server->pid)
		bpf_map_delete_elem(m->fd.tracked, &pid);
	return -ESRCH;
}

int maps_tracked_get(struct mw_maps *m, __u32 pid, struct mw_tracked *out)
{
	if (bpf_map_lookup_elem(m->fd.tracked, &pid, out))
		return -errno;
	return 0;
}

int maps_untrack(struct mw_maps *m, __u32 pid)
{
	if (bpf_map_delete_elem(m->fd.tracked, &pid))
		return -errno;
	return 0;
}

size_t maps_tracked_count(struct mw_maps *m)
{
	__u32 key, next;
	size_t n = 0;
	int ret;

	for (ret = bpf_map_get_next_key(m->fd.tracked, NULL, &next); !ret;
	     ret = bpf_map_get_next_key(m->fd.tracked, &key, &next)) {
		key = next;
		n++;
	}
	return n;
}

int maps_counters(struct mw_maps *m, __u64 out[MW_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 *vals;
	__u32 i;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < MW_CNT_MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(m->fd.counters, &i, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}
