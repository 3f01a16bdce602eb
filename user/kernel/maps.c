// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/hostpath.h"
#include "mw_abi.h"
#include "mw_ident.h"
#include "lib/k8s.h"
#include "kernel/maps.h"

__u32 profile_ids_get(const struct profile_ids *ids, const char *name)
{
	__u32 i;

	for (i = 1; i < MW_PROFILES_MAX; i++)
		if (ids->names[i] && !strcmp(ids->names[i], name))
			return i;
	return 0;
}

const char *profile_ids_name(const struct profile_ids *ids, __u32 id)
{
	return id && id < MW_PROFILES_MAX ? ids->names[id] : NULL;
}

void profile_ids_free(struct profile_ids *ids)
{
	__u32 i;

	for (i = 0; i < MW_PROFILES_MAX; i++) {
		free(ids->names[i]);
		ids->names[i] = NULL;
	}
}

static int profile_ids_assign(struct profile_ids *ids, const char *name,
			      __u32 *id)
{
	__u32 i = profile_ids_get(ids, name);

	if (i) {
		*id = i;
		return 0;
	}
	/* Ids are never reused: a tracked process keeps its profile's id. */
	for (i = 1; i < MW_PROFILES_MAX; i++) {
		if (!ids->names[i]) {
			ids->names[i] = strdup(name);
			if (!ids->names[i])
				return -ENOMEM;
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

__u32 kdev(__u64 st_dev)
{
	return mw_kdev(major(st_dev), minor(st_dev));
}

struct mw_inode_key inode_key(__u32 gen, const struct inode_sel *e)
{
	struct mw_inode_key k = {
		.gen = gen, .profile = e->profile, .dev = kdev(e->st_dev),
		.ino = e->ino,
	};

	return k;
}

static __u32 name_hash(const char *s)
{
	__u32 h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

__u32 rule_ids_get(struct rule_ids *r, const char *name)
{
	size_t i, k;
	__u32 *slots;
	char **names;

	if (r->n * 2 >= r->nslots) {	/* grow and rehash */
		size_t ns = r->nslots ? r->nslots * 2 : 256;

		slots = calloc(ns, sizeof(*slots));
		if (!slots)
			return ~0u;
		for (i = 0; i < r->n; i++) {
			for (k = name_hash(r->names[i]) % ns; slots[k];
			     k = (k + 1) % ns)
				;
			slots[k] = i + 1;
		}
		free(r->slots);
		r->slots = slots;
		r->nslots = ns;
	}
	for (k = name_hash(name) % r->nslots; r->slots[k];
	     k = (k + 1) % r->nslots)
		if (!strcmp(r->names[r->slots[k] - 1], name))
			return r->slots[k] - 1;
	if (r->n >= MW_RULE_IDS_MAX)
		return ~0u;
	if (r->n == r->cap) {
		names = realloc(r->names, (r->cap ? r->cap * 2 : 64) *
				sizeof(*names));
		if (!names)
			return ~0u;
		r->names = names;
		r->cap = r->cap ? r->cap * 2 : 64;
	}
	r->names[r->n] = strdup(name);
	if (!r->names[r->n])
		return ~0u;
	r->slots[k] = ++r->n;
	return r->n - 1;
}

const char *rule_ids_name(const struct rule_ids *r, __u32 id)
{
	return id < r->n ? r->names[id] : NULL;
}

void rule_ids_free(struct rule_ids *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	free(r->slots);
	memset(r, 0, sizeof(*r));
}

void compiled_free(struct compiled *c)
{
	free(c->files);
	free(c->unix_inodes);
	free(c->unix_keys);
	free(c->unix_vals);
	free(c->exec);
	free(c->net_keys);
	free(c->net_vals);
	free(c->cgroups);
	memset(c, 0, sizeof(*c));
}

static int detect_compile(const char *pat, __u32 profile,
			  struct mw_detect_rule *r)
{
	size_t len = strlen(pat);

	memset(r, 0, sizeof(*r));
	r->profile = profile;
	r->kind = MW_MATCH_EXACT;
	if (len && pat[len - 1] == '*') {
		r->kind = MW_MATCH_PREFIX;
		len--;
	} else if (len && pat[0] == '*') {
		r->kind = MW_MATCH_SUFFIX;
		pat++;
		len--;
	}
	if (len == 0 || len > MW_PATTERN_MAX)
		return -EINVAL;
	r->depth = memchr(pat, '/', len) ? 2 : 1;
	memcpy(r->pattern, pat, len);
	r->len = len;
	return 0;
}

/* Is @path a mount point (its parent on another device, or "/")? */
static bool mount_root(const char *host, const struct stat *st)
{
	char parent[4096], hp[PATH_MAX];
	const char *path = host_path(host, hp);
	struct stat pst;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash)
		return false;
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &pst))
		return false;
	return pst.st_dev != st->st_dev || pst.st_ino == st->st_ino;
}

static int sel_add(struct inode_sel **v, size_t *n, const char *path,
		   const struct stat *st, __u32 profile, __u8 action,
		   __u32 rule_id)
{
	struct inode_sel *e = realloc(*v, (*n + 1) * sizeof(*e));

	if (!e)
		return -ENOMEM;
	*v = e;
	e = &e[(*n)++];
	memset(e, 0, sizeof(*e));
	e->path = path;
	e->st_dev = st->st_dev;
	e->ino = st->st_ino;
	e->is_dir = S_ISDIR(st->st_mode);
	e->mount_root = e->is_dir && mount_root(path, st);
	e->profile = profile;
	e->action = action;
	e->rule_id = rule_id;
	return 0;
}

/*
 * Resolve the exec rules of profile @pr (id @id) to the inodes their paths
 * name now; paths that do not exist are named in one warning.
 */
static int exec_compile(const struct profile *pr, __u32 id, const __u32 *rid,
			struct compiled *out,
			void (*warn)(const char *msg, void *arg), void *warn_arg)
{
	char missing[400] = "";
	size_t k, nmissing = 0, off = 0;
	struct stat st;
	int ret;

	for (k = 0; k < pr->nexec; k++) {
		const struct exec_rule *r = &pr->exec[k];
		char hp[PATH_MAX];

		if (stat(host_path(r->path, hp), &st)) {
			if (nmissing++ < 6)
				off += snprintf(missing + off, sizeof(missing) - off,
						"%s%s", off ? ", " : "", r->path);
			if (off >= sizeof(missing))
				off = sizeof(missing) - 1;
			continue;
		}
		ret = sel_add(&out->exec, &out->nexec, r->path, &st, id,
			      r->action, rid[r->id]);
		if (ret)
			return ret;
	}
	if (nmissing && warn) {
		char msg[600];

		snprintf(msg, sizeof(msg), "profiles.%s.exec: %zu path%s not on this machine (%s%s), ignoring until %s",
			 pr->name, nmissing, nmissing == 1 ? " is" : "s are",
			 missing, nmissing > 6 ? ", ..." : "",
			 nmissing == 1 ? "it appears" : "they appear");
		warn(msg, warn_arg);
	}
	return 0;
}

/*
 * What confinement (files.allow) lets every process open: the system's own
 * files, without which no program starts. Deny rules on paths beneath them
 * (/etc/shadow) are nearer, and win.
 */
static const char *const confine_base[] = {
	"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/sys",
	"/dev", NULL,
};

/*
 * File rules: paths that exist now (a missing secret is simply not there;
 * the agent watches for it to appear). Unix rules: by inode for BPF-LSM,
 * and by the path strings a connect() may give for cgroup/connect_unix.
 */
static int files_compile(const struct profile *pr, __u32 id, __u32 gen,
			 const __u32 *rid, struct compiled *out)
{
	char real[PATH_MAX];
	struct stat st;
	size_t k, j;
	int ret;

	for (k = 0; k < pr->nfiles; k++) {
		const struct file_rule *r = &pr->files[k];
		char hp[PATH_MAX];

		if (stat(host_path(r->path, hp), &st))
			continue;
		ret = sel_add(&out->files, &out->nfiles, r->path, &st, id,
			      r->action, rid[r->id]);
		if (ret)
			return ret;
	}
	for (k = 0; pr->files_allowlist && confine_base[k]; k++) {
		char hp[PATH_MAX];

		if (stat(host_path(confine_base[k], hp), &st))
			continue;
		for (j = 0; j < out->nfiles; j++)
			if (out->files[j].profile == id &&
			    out->files[j].st_dev == st.st_dev &&
			    out->files[j].ino == st.st_ino)
				break;
		if (j < out->nfiles)
			continue;	/* the policy says something of it */
		ret = sel_add(&out->files, &out->nfiles, confine_base[k], &st,
			      id, MW_ACTION_ALLOW, MW_RULE_DEFAULT);
		if (ret)
			return ret;
	}
	for (k = 0; k < pr->nunix; k++) {
		const struct file_rule *r = &pr->unix_rules[k];
		const char *spellings[2] = { r->path, NULL };
		struct mw_rule_value val = { .action = r->action,
					     .rule_id = rid[r->id] };

		char hp[PATH_MAX];

		if (!stat(host_path(r->path, hp), &st)) {
			ret = sel_add(&out->unix_inodes, &out->nunix_inodes,
				      r->path, &st, id, r->action, rid[r->id]);
			if (ret)
				return ret;
			if (realpath(hp, real) &&
			    strcmp(host_unpath(real), r->path))
				spellings[1] = host_unpath(real);
		}
		for (j = 0; j < 2 && spellings[j]; j++) {
			struct mw_unix_key *kk;
			struct mw_rule_value *vv;

			if (strlen(spellings[j]) >= MW_UNIX_PATH_MAX)
				continue;
			kk = realloc(out->unix_keys,
				     (out->nunix_paths + 1) * sizeof(*kk));
			if (kk)
				out->unix_keys = kk;
			vv = realloc(out->unix_vals,
				     (out->nunix_paths + 1) * sizeof(*vv));
			if (vv)
				out->unix_vals = vv;
			if (!kk || !vv)
				return -ENOMEM;
			kk = &out->unix_keys[out->nunix_paths];
			memset(kk, 0, sizeof(*kk));
			kk->gen = gen;
			kk->profile = id;
			memcpy(kk->path, spellings[j], strlen(spellings[j]));
			out->unix_vals[out->nunix_paths++] = val;
		}
	}
	return 0;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/*
 * The cgroup v2 directories @path names, a path or a shell pattern
 * ("/sys/fs/cgroup/mcp.slice/server-*.scope"), added as (id, @profile).
 * Returns 0, -ENOMEM, or for a plain path that is no directory -errno.
 */
static int cgroups_add(const char *path, __u32 profile,
		       struct mw_cgroup_sel **v, size_t *n)
{
	struct mw_cgroup_sel *cg;
	const char *one[1] = { path };
	char **paths = (char **)one;
	size_t i, count = 1;
	struct stat st;
	glob_t g = {};
	int ret = 0;

	if (has_glob(path)) {
		if (glob(path, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g))
			return 0;	/* no match (yet): the timer looks again */
		paths = g.gl_pathv;
		count = g.gl_pathc;
	}
	for (i = 0; i < count; i++) {
		if (stat(paths[i], &st) || !S_ISDIR(st.st_mode)) {
			ret = has_glob(path) ? 0 : (errno ? -errno : -ENOTDIR);
			continue;
		}
		cg = realloc(*v, (*n + 1) * sizeof(*cg));
		if (!cg) {
			ret = -ENOMEM;
			break;
		}
		*v = cg;
		cg[(*n)++] = (struct mw_cgroup_sel){ .id = st.st_ino,
						     .profile = profile };
	}
	if (has_glob(path))
		globfree(&g);
	return ret;
}

static int cg_cmp(const void *a, const void *b)
{
	const struct mw_cgroup_sel *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->profile < y->profile ? -1 : x->profile > y->profile;
}

bool maps_cgroups_changed(struct mw_maps *m, const struct policy *p)
{
	const struct compiled *c = maps_active(m);
	struct mw_cgroup_sel *now = NULL, *was;
	size_t n = 0, i, k;
	bool changed, globs = false;

	for (i = 0; p && i < p->nprofiles; i++)
		for (k = 0; k < p->profiles[i].ncgroups; k++)
			globs |= has_glob(p->profiles[i].cgroups[k]);
	if (!globs || !c)
		return false;
	for (i = 0; i < p->nprofiles; i++)
		for (k = 0; k < p->profiles[i].ncgroups; k++)
			if (cgroups_add(p->profiles[i].cgroups[k],
					profile_ids_get(&m->ids, p->profiles[i].name),
					&now, &n) == -ENOMEM) {
				free(now);
				return false;
			}
	/* The compiled list holds select.k8s cgroups too: compare ours. */
	was = malloc((c->ncgroups + 1) * sizeof(*was));
	if (!was) {
		free(now);
		return false;
	}
	memcpy(was, c->cgroups, c->ncgroups * sizeof(*was));
	qsort(now, n, sizeof(*now), cg_cmp);
	qsort(was, c->ncgroups, sizeof(*was), cg_cmp);
	changed = false;
	for (i = 0; i < n && !changed; i++)
		changed = !bsearch(&now[i], was, c->ncgroups, sizeof(*was),
				   cg_cmp);
	/* A selected cgroup removed: its entry is stale but harmless. */
	free(now);
	free(was);
	return changed;
}

struct k8s_sel {
	const struct profile *pr;
	__u32 id;
	const char *cgroot;
	struct compiled *out;
	int err;
};

static bool k8s_match(const char *pat, const char *s)
{
	return !pat || !fnmatch(pat, s, 0);
}

/* A container the node runs: select its cgroup if the profile names it. */
static void k8s_select(const struct k8s_info *i, void *arg)
{
	struct k8s_sel *a = arg;
	struct mw_cgroup_sel *cg;
	char dir[PATH_MAX];
	struct stat st;

	if (a->err || !k8s_match(a->pr->k8s_namespace, i->namespace) ||
	    !k8s_match(a->pr->k8s_pod, i->pod) ||
	    !k8s_match(a->pr->k8s_container, i->container))
		return;
	if (!k8s_cgroup_dir(a->cgroot, i->container_id, dir, sizeof(dir)) ||
	    stat(dir, &st))
		return;		/* not started yet: a later change reloads */
	cg = realloc(a->out->cgroups, (a->out->ncgroups + 1) * sizeof(*cg));
	if (!cg) {
		a->err = -ENOMEM;
		return;
	}
	a->out->cgroups = cg;
	cg[a->out->ncgroups++] = (struct mw_cgroup_sel){ .id = st.st_ino,
							 .profile = a->id };
}

int escape_class(const char *name)
{
	static const struct { const char *name; int bit; } map[] = {
		{ "ptrace", MW_ESC_PTRACE }, { "bpf", MW_ESC_BPF },
		{ "perf_event_open", MW_ESC_PERF_EVENT },
		{ "mount", MW_ESC_MOUNT }, { "fsmount", MW_ESC_MOUNT },
		{ "move_mount", MW_ESC_MOUNT }, { "umount", MW_ESC_UMOUNT },
		{ "umount2", MW_ESC_UMOUNT }, { "init_module", MW_ESC_MODULE },
		{ "finit_module", MW_ESC_MODULE }, { "kexec_load", MW_ESC_KEXEC },
		{ "kexec_file_load", MW_ESC_KEXEC }, { "add_key", MW_ESC_KEYS },
		{ "keyctl", MW_ESC_KEYS }, { "request_key", MW_ESC_KEYS },
		{ "unshare", MW_ESC_USERNS },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, name))
			return map[i].bit;
	return -1;
}

struct net_item {
	__u32 profile;
	const struct net_rule *r;
};

/* Order: by profile and prefix; within a prefix, most specific first. */
static int net_item_cmp(const void *a, const void *b)
{
	const struct net_item *x = a, *y = b;
	int c;

	if (x->profile != y->profile)
		return x->profile < y->profile ? -1 : 1;
	if (x->r->plen != y->r->plen)
		return x->r->plen < y->r->plen ? -1 : 1;
	c = memcmp(x->r->addr, y->r->addr, 16);
	if (c)
		return c;
	c = (x->r->port_hi - x->r->port_lo) - (y->r->port_hi - y->r->port_lo);
	if (c)
		return c;
	if (!x->r->protocol != !y->r->protocol)
		return x->r->protocol ? -1 : 1;
	if (x->r->action != y->r->action)
		return x->r->action > y->r->action ? -1 : 1;
	return x->r->id < y->r->id ? -1 : x->r->id > y->r->id;
}

static int net_compile(const struct policy *p, const __u32 *pids,
		       const __u32 *rid, __u32 gen,
		       struct compiled *out, char *err, size_t errlen)
{
	struct net_item *items;
	size_t i, n = 0, k;

	for (i = 0; i < p->nprofiles; i++)
		n += p->profiles[i].nnet;
	if (!n)
		return 0;
	items = calloc(n, sizeof(*items));
	out->net_keys = calloc(n, sizeof(*out->net_keys));
	out->net_vals = calloc(n, sizeof(*out->net_vals));
	if (!items || !out->net_keys || !out->net_vals) {
		free(items);
		return -ENOMEM;
	}
	n = 0;
	for (i = 0; i < p->nprofiles; i++)
		for (k = 0; k < p->profiles[i].nnet; k++)
			items[n++] = (struct net_item){ pids[i],
							&p->profiles[i].net[k] };
	qsort(items, n, sizeof(*items), net_item_cmp);
	for (i = 0; i < n; i++) {
		const struct net_rule *r = items[i].r;
		struct mw_net_key *key;
		struct mw_net_value *v;

		key = out->nnet ? &out->net_keys[out->nnet - 1] : NULL;
		if (!key || key->profile != items[i].profile ||
		    key->prefixlen != (__u32)MW_NET_KEY_FIXED_BITS + r->plen ||
		    memcmp(key->addr, r->addr, 16)) {
			key = &out->net_keys[out->nnet];
			v = &out->net_vals[out->nnet];
			out->nnet++;
			key->prefixlen = MW_NET_KEY_FIXED_BITS + r->plen;
			key->gen = gen;
			key->profile = items[i].profile;
			memcpy(key->addr, r->addr, 16);
			v->plen = r->plen;
		}
		v = &out->net_vals[out->nnet - 1];
		if (v->nrules >= MW_NET_PORTS) {
			snprintf(err, errlen, "%s: more than %d port rules on one prefix",
				 p->rule_names[r->id], MW_NET_PORTS);
			free(items);
			return -E2BIG;
		}
		v->rules[v->nrules++] = (struct mw_port_rule){
			.port_lo = r->port_lo, .port_hi = r->port_hi,
			.protocol = r->protocol, .action = r->action,
			.rule_id = rid[r->id],
		};
	}
	free(items);
	return 0;
}

/*
 * The stable id of each of the policy's rule ids (indices into
 * p->rule_names), or NULL: -ENOMEM, or -ENOSPC when ids ran out.
 */
static __u32 *stable_ids(const struct policy *p, struct rule_ids *rules,
			 int *err)
{
	__u32 *rid = calloc(p->nrule_names ? p->nrule_names : 1, sizeof(*rid));
	size_t i;

	*err = -ENOMEM;
	for (i = 0; rid && i < p->nrule_names; i++) {
		rid[i] = rule_ids_get(rules, p->rule_names[i]);
		if (rid[i] == ~0u) {
			*err = rules->n >= MW_RULE_IDS_MAX ? -ENOSPC : -ENOMEM;
			free(rid);
			return NULL;
		}
	}
	return rid;
}

int maps_compile(const struct policy *p, struct profile_ids *ids,
		 struct rule_ids *rules, __u32 gen,
		 struct compiled *out, char *err, size_t errlen,
		 void (*warn)(const char *msg, void *arg), void *warn_arg)
{
	__u32 pids[MW_PROFILES_MAX], *rid;
	char msg[512];
	size_t i, k;
	int ret;

	memset(out, 0, sizeof(*out));
	if (p->nprofiles >= MW_PROFILES_MAX) {
		snprintf(err, errlen, "%s: more than %d profiles", p->source,
			 MW_PROFILES_MAX - 1);
		return -E2BIG;
	}
	rid = stable_ids(p, rules, &ret);
	if (!rid) {
		snprintf(err, errlen, ret == -ENOSPC ?
			 "more than %d distinct rule names since start; restart the agent" :
			 "out of memory (%d)", MW_RULE_IDS_MAX);
		return ret;
	}
	for (i = 0; i < p->nprofiles; i++) {
		const struct profile *pr = &p->profiles[i];
		struct mw_profile *mp;

		ret = profile_ids_assign(ids, pr->name, &pids[i]);
		if (ret) {
			snprintf(err, errlen, "profiles.%s: no profile id left (%d names since start); restart the agent",
				 pr->name, MW_PROFILES_MAX - 1);
			goto fail;
		}
		mp = &out->profiles[pids[i]];
		mp->present = 1;
		mp->mode = pr->mode;
		mp->net_default = pr->net_default;
		mp->deny_raw = pr->deny_raw;
		mp->exec_allowlist = pr->exec_allowlist;
		mp->fileless = pr->fileless;
		mp->has_exec = pr->nexec || pr->exec_allowlist ||
			       pr->fileless != MW_ACTION_ALLOW;
		mp->has_files = pr->nfiles || pr->files_allowlist;
		mp->files_allowlist = pr->files_allowlist;
		mp->has_unix = pr->nunix != 0;
		for (k = 0; k < pr->nsyscalls; k++)
			if (escape_class(pr->syscalls[k]) >= 0)
				mp->escape_deny |= 1u << escape_class(pr->syscalls[k]);
		ret = exec_compile(pr, pids[i], rid, out, warn, warn_arg);
		if (!ret)
			ret = files_compile(pr, pids[i], gen, rid, out);
		if (ret)
			goto fail;
		for (k = 0; k < pr->ndetect; k++) {
			if (out->ndetect >= MW_DETECT_MAX) {
				snprintf(err, errlen, "profiles.%s.select.detect: more than %d patterns in the policy",
					 pr->name, MW_DETECT_MAX);
				ret = -E2BIG;
				goto fail;
			}
			ret = detect_compile(pr->detect[k], pids[i],
					     &out->detect[out->ndetect]);
			if (ret) {
				snprintf(err, errlen, "profiles.%s.select.detect[%zu]: \"%s\" is not a pattern",
					 pr->name, k, pr->detect[k]);
				goto fail;
			}
			out->ndetect++;
		}
		if (pr->has_k8s) {
			struct k8s_sel ks = { .pr = pr, .id = pids[i],
					      .cgroot = p->cgroup_root, .out = out };

			k8s_each(k8s_select, &ks);
			if (ks.err) {
				ret = ks.err;
				goto fail;
			}
		}
		for (k = 0; k < pr->ncgroups; k++) {
			ret = cgroups_add(pr->cgroups[k], pids[i], &out->cgroups,
					  &out->ncgroups);
			if (ret == -ENOMEM)
				goto fail;
			if (ret && warn && !has_glob(pr->cgroups[k])) {
				snprintf(msg, sizeof(msg), "profiles.%s.select.cgroups[%zu]: \"%s\": %s, ignoring",
					 pr->name, k, pr->cgroups[k], strerror(-ret));
				warn(msg, warn_arg);
			}
		}
	}
	ret = net_compile(p, pids, rid, gen, out, err, errlen);
	if (ret)
		goto fail;
	free(rid);
	return 0;
fail:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "%s", strerror(ENOMEM));
	free(rid);
	compiled_free(out);
	return ret;
}

void maps_read_lock(struct mw_maps *m)
{
	pthread_rwlock_rdlock(&m->lock);
}

void maps_read_unlock(struct mw_maps *m)
{
	pthread_rwlock_unlock(&m->lock);
}

int maps_init(struct mw_maps *m, const struct mw_map_fds *fds)
{
	memset(m, 0, sizeof(*m));
	pthread_rwlock_init(&m->lock, NULL);
	m->fd = *fds;
	m->sync_inner_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mw_sync_inner",
					  sizeof(__u32), sizeof(__u32), 1, NULL);
	if (m->sync_inner_fd < 0)
		return -errno;
	return 0;
}

void maps_free(struct mw_maps *m)
{
	compiled_free(&m->gen[0]);
	compiled_free(&m->gen[1]);
	profile_ids_free(&m->ids);
	rule_ids_free(&m->rules);
	if (m->sync_inner_fd > 0)
		close(m->sync_inner_fd);
	m->sync_inner_fd = -1;
}

static void sels_clear(int fd, __u32 gen, const struct inode_sel *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mw_inode_key k = inode_key(gen, &v[i]);

		bpf_map_delete_elem(fd, &k);
	}
}

/* Remove generation @gen's entries from the maps. Best effort. */
static void gen_clear(struct mw_maps *m, __u32 gen, const struct compiled *c)
{
	struct mw_profile none = {};
	struct mw_gen g = {};
	size_t i;
	__u32 idx;

	bpf_map_update_elem(m->fd.gens, &gen, &g, BPF_ANY);
	for (i = 0; i < c->nnet; i++)
		bpf_map_delete_elem(m->fd.net, &c->net_keys[i]);
	for (i = 0; i < c->ncgroups; i++) {
		struct mw_cgroup_key k = { .cgroup_id = c->cgroups[i].id,
					   .gen = gen };

		bpf_map_delete_elem(m->fd.cgroups, &k);
	}
	sels_clear(m->fd.exec, gen, c->exec, c->nexec);
	sels_clear(m->fd.files, gen, c->files, c->nfiles);
	sels_clear(m->fd.unix_inodes, gen, c->unix_inodes, c->nunix_inodes);
	for (i = 0; i < c->nunix_paths; i++)
		bpf_map_delete_elem(m->fd.unix_paths, &c->unix_keys[i]);
	for (idx = 0; idx < MW_PROFILES_MAX; idx++) {
		__u32 key = gen * MW_PROFILES_MAX + idx;

		bpf_map_update_elem(m->fd.profiles, &key, &none, BPF_ANY);
	}
}

static int sels_fill(int fd, __u32 gen, const struct inode_sel *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct mw_inode_key k = inode_key(gen, &v[i]);
		struct mw_rule_value val = {
			.action = v[i].action, .is_dir = v[i].is_dir,
			.rule_id = v[i].rule_id,
		};

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
	for (i = 0; i < c->ncgroups; i++) {
		struct mw_cgroup_key k = { .cgroup_id = c->cgroups[i].id,
					   .gen = gen };

		if (bpf_map_update_elem(m->fd.cgroups, &k,
					&c->cgroups[i].profile, BPF_ANY))
			return -errno;
	}
	ret = sels_fill(m->fd.exec, gen, c->exec, c->nexec);
	if (!ret)
		ret = sels_fill(m->fd.files, gen, c->files, c->nfiles);
	if (!ret)
		ret = sels_fill(m->fd.unix_inodes, gen, c->unix_inodes,
				c->nunix_inodes);
	if (ret)
		return ret;
	for (i = 0; i < c->nunix_paths; i++)
		if (bpf_map_update_elem(m->fd.unix_paths, &c->unix_keys[i],
					&c->unix_vals[i], BPF_ANY))
			return -errno;
	/* Last: the counts that make the entries above visible. */
	if (bpf_map_update_elem(m->fd.gens, &gen, &g, BPF_ANY))
		return -errno;
	return 0;
}

int maps_apply(struct mw_maps *m, const struct policy *p, char *err,
	       size_t errlen, void (*warn)(const char *msg, void *arg),
	       void *warn_arg)
{
	__u32 gen = m->applied ? !m->active_gen : 0, old = m->active_gen, zero = 0;
	struct mw_config cfg = { .active_gen = gen };
	struct compiled c;
	int ret;

	ret = maps_compile(p, &m->ids, &m->rules, gen, &c, err, errlen, warn,
			   warn_arg);
	if (ret)
		return ret;
	ret = gen_fill(m, gen, &c);
	if (ret) {
		snprintf(err, errlen, "filling policy generation %u: %s", gen,
			 strerror(-ret));
		goto undo;
	}
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
		gen_clear(m, old, &m->gen[old]);
	pthread_rwlock_wrlock(&m->lock);
	if (m->applied)
		compiled_free(&m->gen[old]);
	compiled_free(&m->gen[gen]);
	m->gen[gen] = c;
	m->active_gen = gen;
	m->applied = 1;
	pthread_rwlock_unlock(&m->lock);
	return 0;
undo:
	gen_clear(m, gen, &c);
	compiled_free(&c);
	return ret;
}

const struct compiled *maps_active(const struct mw_maps *m)
{
	return m->applied ? &m->gen[m->active_gen] : NULL;
}

int maps_track(struct mw_maps *m, __u32 pid, __u64 start,
	       const struct mw_server *server, int replace)
{
	struct mw_tracked t = { .start_time = start, .server = *server };

	if (bpf_map_update_elem(m->fd.tracked, &pid, &t,
				replace ? BPF_ANY : BPF_NOEXIST))
		return -errno;
	return 0;
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
