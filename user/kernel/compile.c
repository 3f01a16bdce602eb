// SPDX-License-Identifier: GPL-2.0-only
/*
 * A validated policy into the map entries of one generation: paths to the
 * inodes they name now, cgroup paths and patterns to cgroup ids, select.k8s
 * to the cgroups of matching containers, network rules to LPM trie entries.
 * Pure data out (struct compiled); kernel/maps.c writes it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "kernel/compile.h"
#include "lib/hostpath.h"
#include "lib/k8s.h"
#include "mw_ident.h"

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

void compiled_free(struct compiled *c)
{
	size_t i;

	for (i = 0; i < c->nfiles; i++)
		if (c->files[i].fd >= 0)
			close(c->files[i].fd);
	free(c->files);
	for (i = 0; i < c->nnames; i++)
		close(c->names[i].dir_fd);
	free(c->names);
	free(c->unix_inodes);
	free(c->unix_keys);
	free(c->unix_vals);
	free(c->guards);
	free(c->applet_keys);
	free(c->applet_vals);
	free(c->exec);
	free(c->launchers);
	free(c->net_keys);
	free(c->net_vals);
	free(c->tool_keys);
	free(c->tool_vals);
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

/* Does @v hold a selection of the object @st for @profile? */
static bool sel_find(const struct inode_sel *v, size_t n, __u32 profile,
		     const struct stat *st)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].profile == profile && v[i].st_dev == st->st_dev &&
		    v[i].ino == st->st_ino)
			return true;
	return false;
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
	e->fd = -1;
	return 0;
}

/*
 * Is @hp (host path, a regular file @st) busybox? Its usage text says so:
 * "BusyBox is a multi-call binary". Read only for a rule path that is a
 * symlink or a hard link, the shapes an applet has.
 */
static bool read_busybox(const char *hp, const struct stat *st)
{
	static const char sig[] = "BusyBox is a multi-call binary";
	const size_t n = sizeof(sig) - 1;
	char buf[65536 + sizeof(sig)];
	size_t have = 0;
	bool found = false;
	ssize_t r;
	int fd;

	if (!S_ISREG(st->st_mode) || st->st_size > 64 << 20)
		return false;
	fd = open(hp, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	while (!found && (r = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += r;
		found = memmem(buf, have, sig, n) != NULL;
		/* Keep the tail: the text may straddle two reads. */
		if (have > n) {
			memmove(buf, buf + have - n, n);
			have = n;
		}
	}
	close(fd);
	return found;
}

/* The same, remembered per binary: every reload asks again. */
static bool is_busybox(const char *hp, const struct stat *st)
{
	static __thread struct {
		dev_t dev;
		ino_t ino;
		struct timespec mtime;
		bool yes;
	} seen[8];
	static __thread unsigned int next;
	unsigned int i;

	for (i = 0; i < 8; i++)
		if (seen[i].ino == st->st_ino && seen[i].dev == st->st_dev &&
		    seen[i].mtime.tv_sec == st->st_mtim.tv_sec &&
		    seen[i].mtime.tv_nsec == st->st_mtim.tv_nsec)
			return seen[i].yes;
	i = next++ % 8;
	seen[i].dev = st->st_dev;
	seen[i].ino = st->st_ino;
	seen[i].mtime = st->st_mtim;
	seen[i].yes = read_busybox(hp, st);
	return seen[i].yes;
}

/*
 * An exec rule on @path that names an applet of busybox (@st, what @path
 * resolves to: a symlink or a hard link to the binary, by another name)
 * as the applet name into @name. A rule on busybox by its own name is on
 * the whole binary.
 */
static bool applet_of(const char *path, const char *hp, const struct stat *st,
		      char name[MW_APPLET_NAME_MAX])
{
	const char *base = strrchr(path, '/');
	struct stat lst;

	base = base ? base + 1 : path;
	if (!*base || strlen(base) >= MW_APPLET_NAME_MAX ||
	    !strncmp(base, "busybox", 7) || lstat(hp, &lst) ||
	    (!S_ISLNK(lst.st_mode) && lst.st_nlink < 2) || !is_busybox(hp, st))
		return false;
	memset(name, 0, MW_APPLET_NAME_MAX);
	memcpy(name, base, strlen(base));
	return true;
}

/*
 * Enter applet @name of the binary @st for profile @id (@gen), the
 * stricter of two rules on the same applet, and the binary's entry with
 * an empty name that says it has applets with rules.
 */
static int applet_add(struct compiled *out, __u32 gen, __u32 id,
		      const struct stat *st, const char *name, __u8 action,
		      __u32 rule_id)
{
	struct mw_applet_key key = { .gen = gen, .profile = id,
				     .dev = kdev(st->st_dev), .ino = st->st_ino };
	struct mw_rule_value val = { .action = action, .rule_id = rule_id };
	struct mw_applet_key *kk;
	struct mw_rule_value *vv;
	int pass;
	size_t i;

	for (pass = 0; pass < 2; pass++) {
		memset(key.name, 0, sizeof(key.name));
		if (pass)
			memcpy(key.name, name, strlen(name));
		for (i = 0; i < out->napplets; i++)
			if (!memcmp(&out->applet_keys[i], &key, sizeof(key)))
				break;
		if (i < out->napplets) {
			if (pass && action > out->applet_vals[i].action)
				out->applet_vals[i] = val;
			continue;
		}
		kk = realloc(out->applet_keys, (i + 1) * sizeof(*kk));
		if (kk)
			out->applet_keys = kk;
		vv = realloc(out->applet_vals, (i + 1) * sizeof(*vv));
		if (vv)
			out->applet_vals = vv;
		if (!kk || !vv)
			return -ENOMEM;
		out->applet_keys[i] = key;
		out->applet_vals[i] = pass ? val :
			(struct mw_rule_value){ .action = MW_ACTION_NONE };
		out->napplets++;
	}
	out->profiles[id].has_applets = 1;
	return 0;
}

/*
 * Resolve the exec rules of profile @pr (id @id) to the inodes their paths
 * name now; paths that do not exist are named in one warning. A deny or
 * audit rule on an applet of busybox is a rule on the applet, not on every
 * applet the binary has (bpf/exec_late.bpf.h).
 */
static int exec_compile(const struct profile *pr, __u32 id, __u32 gen,
			const __u32 *rid, struct compiled *out,
			void (*warn)(const char *msg, void *arg), void *warn_arg)
{
	char name[MW_APPLET_NAME_MAX], hbuf_g[PATH_MAX];
	char missing[400] = "";
	size_t k, nmissing = 0, off = 0;
	struct stat st;
	int ret;

	for (k = 0; k < pr->nexec; k++) {
		const struct path_rule *r = &pr->exec[k];
		char hbuf[PATH_MAX];
		const char *hp = host_path(r->path, hbuf);

		if (stat(hp, &st)) {
			if (nmissing++ < 6)
				off += snprintf(missing + off, sizeof(missing) - off,
						"%s%s", off ? ", " : "", r->path);
			if (off >= sizeof(missing))
				off = sizeof(missing) - 1;
			continue;
		}
		if (r->action != MW_ACTION_ALLOW &&
		    applet_of(r->path, hp, &st, name))
			ret = applet_add(out, gen, id, &st, name, r->action,
					 rid[r->id]);
		else
			ret = sel_add(&out->exec, &out->nexec, r->path, &st, id,
				      r->action, rid[r->id]);
		if (ret)
			return ret;
	}
	/*
	 * exec.writable judges the image the kernel runs: "ld.so ~/curl" runs
	 * the loader, so a tracked process may not run a loader as a command
	 * (ldd does; the kernel's own loading of one is not an exec of it).
	 */
	for (k = 0; pr->writable >= MW_ACTION_AUDIT && k < 3; k++) {
		static const char *const loaders[] = {
			"/lib*/ld-linux*.so*", "/lib*/*/ld-linux*.so*",
			"/lib*/ld-musl*.so*",
		};
		glob_t g;
		size_t j;

		if (glob(host_path(loaders[k], hbuf_g), 0, NULL, &g))
			continue;
		for (j = 0; j < g.gl_pathc; j++) {
			if (stat(g.gl_pathv[j], &st) || !S_ISREG(st.st_mode) ||
			    sel_find(out->exec, out->nexec, id, &st))
				continue;
			ret = sel_add(&out->exec, &out->nexec, "ld.so", &st, id,
				      pr->writable, MW_RULE_WRITABLE);
			if (ret) {
				globfree(&g);
				return ret;
			}
			out->exec[out->nexec - 1].exec_only = true;
		}
		globfree(&g);
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
 * Launchers when the policy names none ("launchers" in docs/policy.md):
 * programs that exec the command in their argv, in the same process or a
 * child, and do nothing of their own worth fencing. Shells and
 * interpreters are not among them: "sh mcp-server-x.sh" is the server.
 */
static const char *const launchers_builtin[] = {
	"/usr/bin/env", "/usr/bin/timeout", "/usr/bin/nice", "/usr/bin/ionice",
	"/usr/bin/nohup", "/usr/bin/setsid", "/usr/bin/stdbuf",
	"/usr/bin/taskset", "/usr/bin/chrt", "/usr/bin/prlimit",
	"/usr/bin/setpriv", "/usr/bin/unshare", "/usr/bin/nsenter",
	"/usr/bin/flock", "/usr/bin/sudo", "/usr/bin/doas", "/usr/bin/su",
	"/usr/sbin/runuser", "/usr/sbin/chroot", "/usr/bin/systemd-run",
	"/usr/bin/ip", "/usr/sbin/ip", "/bin/ip", "/sbin/ip",
	"/usr/local/bin/mcpwarden", "/usr/bin/mcpwarden", NULL,
};

/* Launcher @st (@path), once: an entry of profile 0, which no profile is. */
static int launcher_sel(struct compiled *out, const char *path,
			const struct stat *st)
{
	if (sel_find(out->launchers, out->nlaunchers, 0, st))
		return 0;
	return sel_add(&out->launchers, &out->nlaunchers, path, st, 0,
		       MW_ACTION_NONE, MW_RULE_LAUNCHER);
}

static int launcher_add(struct compiled *out, const char *path)
{
	char hbuf[PATH_MAX];
	const char *hp = host_path(path, hbuf);
	struct stat st;

	/*
	 * Root's and written by root alone: one a tracked server could write
	 * over, keeping its inode, would make what it writes undetected.
	 * busybox is every applet, a shell among them: never a launcher.
	 */
	if (stat(hp, &st) || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || is_busybox(hp, &st))
		return 0;
	return launcher_sel(out, path, &st);
}

/* A shell or an interpreter: "sh x-mcp-server.sh" is the server. */
static bool interpreter_name(const char *path)
{
	static const char *const names[] = {
		"sh", "bash", "dash", "zsh", "ksh", "fish", "busybox", "python",
		"node", "nodejs", "deno", "bun", "ruby", "perl", "php", "java",
		"lua", "uv", "uvx", "npx", "npm", NULL,
	};
	const char *base = strrchr(path, '/');
	size_t i, n;

	base = base ? base + 1 : path;
	for (i = 0; names[i]; i++) {
		n = strlen(names[i]);
		/* python3, python3.11, perl5.36 */
		if (!strncmp(base, names[i], n) &&
		    strspn(base + n, "0123456789.") == strlen(base + n))
			return true;
	}
	return false;
}

/*
 * The launchers of @p, and the agent's own binary (the wrapper is a
 * launcher too), as mw_exec_rules entries of profile 0: handle_exec
 * skips detection for them.
 */
static int launchers_compile(const struct policy *p, struct compiled *out,
			     void (*warn)(const char *msg, void *arg),
			     void *warn_arg)
{
	size_t k, n = p->has_launchers ? p->nlaunchers :
		      sizeof(launchers_builtin) / sizeof(*launchers_builtin) - 1;
	struct stat st;
	char msg[PATH_MAX + 160];
	int ret;

	for (k = 0; k < n; k++) {
		const char *l = p->has_launchers ? p->launchers[k] :
				launchers_builtin[k];

		if (p->has_launchers && warn && interpreter_name(l)) {
			snprintf(msg, sizeof(msg), "launchers[%zu]: \"%s\" runs programs of its own: servers it runs are not detected by its argv (\"sh mcp-server-x.sh\")",
				 k, l);
			warn(msg, warn_arg);
		}
		ret = launcher_add(out, l);
		if (ret)
			return ret;
	}
	/* Not through host_path(): the agent's binary is its own. */
	if (stat("/proc/self/exe", &st) || !S_ISREG(st.st_mode))
		return 0;
	return launcher_sel(out, "/proc/self/exe", &st);
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

/* One of those, or the root: every process opens entries of them. */
static bool system_dir(const char *dir)
{
	size_t k;

	for (k = 0; confine_base[k]; k++)
		if (!strcmp(dir, confine_base[k]))
			return true;
	return !strcmp(dir, "/");
}

/*
 * Out of descriptors or memory: the apply fails (the policy in force
 * stays) rather than dropping a rule as if its path were missing.
 */
static bool out_of(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* The name rule of @r on (the directory of @hp, its last component). */
static int name_add_one(struct compiled *out, const struct path_rule *r,
			const char *hp, bool no_mark, __u32 id, __u32 rule_id)
{
	char dir[PATH_MAX];
	const char *base = strrchr(hp, '/');
	struct name_sel *v, *e;
	struct stat st;
	size_t len;
	int fd;

	if (!base || !(len = strlen(base + 1)) || len >= MW_FNAME_MAX ||
	    !strcmp(base + 1, ".") || !strcmp(base + 1, ".."))
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", base == hp ? 1 : (int)(base - hp),
		 hp);
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)	/* gone: its creation reloads */
		return out_of(errno) ? -errno : 0;
	if (fstat(fd, &st) || !(v = realloc(out->names, (out->nnames + 1) *
						       sizeof(*v)))) {
		close(fd);
		return -ENOMEM;
	}
	out->names = v;
	e = &out->names[out->nnames++];
	memset(e, 0, sizeof(*e));
	e->path = r->path;
	e->dir_dev = st.st_dev;
	e->dir_ino = st.st_ino;
	e->dir_fd = fd;
	e->busy_dir = no_mark || system_dir(host_unpath(dir));
	memcpy(e->name, base + 1, len);
	e->profile = id;
	e->action = r->action;
	e->readonly = r->readonly;
	e->rule_id = rule_id;
	return 0;
}

/*
 * A deny or readonly path that is not there: the first of its components
 * that is missing, by its name in the deepest directory that exists, so
 * that a tracked server cannot make it (~/.zshenv, ~/.config/systemd for
 * ~/.config/systemd/user) before the reload that its making triggers. For
 * BPF-LSM's change hooks: no fanotify mark (fanotify cannot refuse a
 * creation, and an open of what is not there needs no answer).
 */
static int name_add_missing(struct compiled *out, const struct path_rule *r,
			    const char *hp, __u32 id, __u32 rule_id)
{
	char q[PATH_MAX], dir[PATH_MAX], *slash;
	struct stat st;

	snprintf(q, sizeof(q), "%s", hp);
	for (;;) {
		slash = strrchr(q, '/');
		if (!slash || slash == q)
			return 0;
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - q), q);
		if (!stat(dir, &st))
			return S_ISDIR(st.st_mode) ?
			       name_add_one(out, r, q, true, id, rule_id) : 0;
		if (errno != ENOENT)
			return out_of(errno) ? -errno : 0;
		*slash = '\0';
	}
}

/*
 * The name rules of @r (host path @hp, which holds @st, or NULL: it could
 * not be opened, for @err), for a path that is a file now: its own name
 * and, through symlinks, its target's (the file an editor replaces). A
 * deny or readonly path that is missing: name_add_missing(). None for a
 * directory rule (what is beneath it is not found by name) or an allow rule
 * (a file renamed to an allowed name must not be readable by that name).
 * Names of MW_FNAME_MAX bytes or more are matched by inode only.
 */
static int name_add(struct compiled *out, const struct path_rule *r,
		    const char *hp, const struct stat *st, int err, __u32 id,
		    __u32 rule_id)
{
	char real[PATH_MAX];
	int ret;

	if (r->action == MW_ACTION_ALLOW)
		return 0;
	if (!st)	/* @err: why @hp could not be opened */
		return err == ENOENT && r->action == MW_ACTION_DENY ?
		       name_add_missing(out, r, hp, id, rule_id) : 0;
	if (!S_ISREG(st->st_mode))
		return 0;
	ret = name_add_one(out, r, hp, r->in_home, id, rule_id);
	if (!ret && realpath(hp, real) && strcmp(real, hp))
		ret = name_add_one(out, r, real, false, id, rule_id);
	return ret;
}


/* How far links_add() looks into a protected directory, per rule. */
#define LINKS_DEPTH	16
#define LINKS_ENTRIES	4096

/*
 * The files with more than one name beneath the protected directory @dir_fd
 * (rule @r, on one file system), as inode rules of their own: a hard link
 * made elsewhere before the agent started (ln ~/.ssh/id_ed25519 ~/k) has
 * ancestors the directory rule does not know. Returns 0 or -ENOMEM; what
 * cannot be read is skipped.
 */
static int links_add(struct compiled *out, int dir_fd, const struct stat *top,
		     const struct path_rule *r, __u32 id, __u32 rule_id)
{
	DIR *stack[LINKS_DEPTH];
	struct dirent *de;
	struct stat st;
	int depth = 0, fd, ret = 0;
	size_t seen = 0;

	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(stack[0] = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (depth >= 0 && !ret) {
		de = readdir(stack[depth]);
		if (!de) {
			closedir(stack[depth--]);
			continue;
		}
		if (++seen > LINKS_ENTRIES)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd(stack[depth]), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) || st.st_dev != top->st_dev)
			continue;
		if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			/* Held, so that its marks are on this inode. */
			fd = openat(dirfd(stack[depth]), de->d_name,
				    O_PATH | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				continue;
			ret = sel_add(&out->files, &out->nfiles, r->path, &st, id,
				      r->action, rule_id);
			if (ret) {
				close(fd);
				break;
			}
			out->files[out->nfiles - 1].fd = fd;
			out->files[out->nfiles - 1].readonly = r->readonly;
			out->files[out->nfiles - 1].link = true;
			out->files[out->nfiles - 1].moved = true;	/* not at r->path */
		} else if (S_ISDIR(st.st_mode) && depth + 1 < LINKS_DEPTH) {
			fd = openat(dirfd(stack[depth]), de->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				    O_CLOEXEC);
			if (fd >= 0 && (stack[depth + 1] = fdopendir(fd)))
				depth++;
			else if (fd >= 0)
				close(fd);
		}
	}
	while (depth >= 0)
		closedir(stack[depth--]);
	return ret;
}

/*
 * The directories above @r's path, to the root or --host-root (not it):
 * renaming ~/.config away and making ~/.config/git anew would put a path
 * no rule names yet where a rule's was, until the reload.
 */
static int guards_add(struct compiled *out, const struct path_rule *r,
		      __u32 id, __u32 rule_id)
{
	char dir[PATH_MAX], hbuf[PATH_MAX], *slash;
	struct stat st;
	int ret;

	if (r->action == MW_ACTION_ALLOW)
		return 0;
	snprintf(dir, sizeof(dir), "%s", r->path);
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (stat(host_path(dir, hbuf), &st) || !S_ISDIR(st.st_mode) ||
		    sel_find(out->guards, out->nguards, id, &st))
			continue;
		ret = sel_add(&out->guards, &out->nguards, r->path, &st, id,
			      r->readonly ? MW_ACTION_DENY : r->action, rule_id);
		if (ret)
			return ret;
		out->guards[out->nguards - 1].is_dir = false;	/* this one only */
	}
	return 0;
}

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
		const struct path_rule *r = &pr->files[k];
		char hbuf[PATH_MAX];
		const char *hp = host_path(r->path, hbuf);
		int fd = open(hp, O_PATH | O_CLOEXEC), err = fd < 0 ? errno : 0;

		if (fd >= 0 && fstat(fd, &st)) {
			err = errno;
			close(fd);
			fd = -1;
		}
		if (fd < 0 && out_of(err))
			return -err;
		/* What the fd holds: one object for its inode and name rules. */
		ret = name_add(out, r, hp, fd >= 0 ? &st : NULL, err, id,
			       rid[r->id]);
		if (!ret)
			ret = guards_add(out, r, id, rid[r->id]);
		if (ret) {
			if (fd >= 0)
				close(fd);
			return ret;
		}
		if (fd < 0)
			continue;
		ret = sel_add(&out->files, &out->nfiles, r->path, &st, id,
			      r->action, rid[r->id]);
		if (ret) {
			close(fd);
			return ret;
		}
		out->files[out->nfiles - 1].fd = fd;
		out->files[out->nfiles - 1].readonly = r->readonly;
		if (S_ISDIR(st.st_mode) && r->action != MW_ACTION_ALLOW) {
			ret = links_add(out, fd, &st, r, id, rid[r->id]);
			if (ret)
				return ret;
		}
	}
	for (k = 0; pr->files_allowlist && confine_base[k]; k++) {
		char hp[PATH_MAX];

		/* Not where the policy says something of it. */
		if (stat(host_path(confine_base[k], hp), &st) ||
		    sel_find(out->files, out->nfiles, id, &st))
			continue;
		ret = sel_add(&out->files, &out->nfiles, confine_base[k], &st,
			      id, MW_ACTION_ALLOW, MW_RULE_DEFAULT);
		if (ret)
			return ret;
	}
	for (k = 0; k < pr->nunix; k++) {
		const struct path_rule *r = &pr->unix_rules[k];
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

bool compile_cgroups_changed(const struct compiled *c,
			     const struct profile_ids *ids, const struct policy *p)
{
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
					profile_ids_get(ids, p->profiles[i].name),
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
		{ "open_by_handle_at", MW_ESC_HANDLE },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, name))
			return map[i].bit;
	return -1;
}

/*
 * One trie entry per (profile or fence, prefix). policy/ hands each one's
 * rules with the rules of a prefix adjacent and in the order the BPF side
 * tries them (policy/netlint.c), so they are copied in order, never sorted
 * again.
 */
static int net_add(const struct policy *p, const struct net_rule *rules,
		   size_t n, __u32 id, const __u32 *rid, __u32 gen,
		   struct compiled *out, char *err, size_t errlen)
{
	struct mw_net_key *key = NULL;
	struct mw_net_value *v = NULL;
	size_t k;

	for (k = 0; k < n; k++) {
		const struct net_rule *r = &rules[k];

		if (!key || key->prefixlen != (__u32)MW_NET_KEY_FIXED_BITS + r->plen ||
		    memcmp(key->addr, r->addr, 16)) {
			key = &out->net_keys[out->nnet];
			v = &out->net_vals[out->nnet];
			out->nnet++;
			key->prefixlen = MW_NET_KEY_FIXED_BITS + r->plen;
			key->gen = gen;
			key->profile = id;
			memcpy(key->addr, r->addr, 16);
			v->plen = r->plen;
		}
		if (v->nrules >= MW_NET_PORTS) {
			snprintf(err, errlen, "%s: more than %d port rules on one prefix",
				 p->rule_names[r->id], MW_NET_PORTS);
			return -E2BIG;
		}
		v->rules[v->nrules++] = (struct mw_port_rule){
			.port_lo = r->port_lo, .port_hi = r->port_hi,
			.protocol = r->protocol, .action = r->action,
			.rule_id = rid[r->id],
		};
	}
	return 0;
}

/* Fence @f of profile @pid: its id, its rules, its tool name's entry. */
static int fence_compile(const struct policy *p, const struct tool_fence *f,
			 __u32 pid, const __u32 *rid, __u32 gen,
			 struct compiled *out, char *err, size_t errlen)
{
	__u32 id = MW_FENCE_FIRST + out->nfences++;
	__u32 def = f->default_id == ~0u ? MW_RULE_DEFAULT : rid[f->default_id];
	struct mw_profile *mp = &out->profiles[pid];
	struct mw_tool_key *key;
	struct mw_tool_value *v;
	size_t len;

	if (out->nfences > MW_FENCES_MAX) {
		snprintf(err, errlen, "more than %d tool fences", MW_FENCES_MAX);
		return -E2BIG;
	}
	mp->has_tools = 1;
	if (!f->pattern) {
		mp->idle_fence = (__u16)id;
		mp->idle_default = f->net_default;
		mp->idle_rule = def;
	} else {
		key = &out->tool_keys[out->ntools];
		v = &out->tool_vals[out->ntools++];
		len = strlen(f->pattern);
		/* "name": its bytes and the NUL; "prefix*": the prefix. */
		if (f->pattern[len - 1] == '*')
			len--;
		else
			len++;
		key->prefixlen = MW_TOOL_KEY_FIXED_BITS + 8 * (__u32)len;
		key->gen = gen;
		key->profile = pid;
		memcpy(key->name, f->pattern, len);
		v->fence = id;
		v->default_rule = def;
		v->net_default = f->net_default;
	}
	return net_add(p, f->net, f->nnet, id, rid, gen, out, err, errlen);
}

static int net_compile(const struct policy *p, const __u32 *pids,
		       const __u32 *rid, __u32 gen,
		       struct compiled *out, char *err, size_t errlen)
{
	const struct profile *pr;
	size_t i, k, n = 0, nt = 0;
	int ret = 0;

	for (i = 0; i < p->nprofiles; i++) {
		pr = &p->profiles[i];
		n += pr->nnet + (pr->idle ? pr->idle->nnet : 0);
		for (k = 0; k < pr->ntools; k++)
			n += pr->tools[k].nnet;
		nt += pr->ntools;
	}
	out->net_keys = calloc(n ? n : 1, sizeof(*out->net_keys));
	out->net_vals = calloc(n ? n : 1, sizeof(*out->net_vals));
	out->tool_keys = calloc(nt ? nt : 1, sizeof(*out->tool_keys));
	out->tool_vals = calloc(nt ? nt : 1, sizeof(*out->tool_vals));
	if (!out->net_keys || !out->net_vals || !out->tool_keys ||
	    !out->tool_vals)
		return -ENOMEM;
	for (i = 0; i < p->nprofiles && !ret; i++) {
		pr = &p->profiles[i];
		ret = net_add(p, pr->net, pr->nnet, pids[i], rid, gen, out,
			      err, errlen);
		for (k = 0; k < pr->ntools && !ret; k++)
			ret = fence_compile(p, &pr->tools[k], pids[i], rid, gen,
					    out, err, errlen);
		if (!ret && pr->idle)
			ret = fence_compile(p, pr->idle, pids[i], rid, gen, out,
					    err, errlen);
	}
	return ret;
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

static void profile_compile(const struct profile *pr, struct mw_profile *mp)
{
	size_t k;

	mp->present = 1;
	mp->mode = pr->mode;
	mp->net_default = pr->net_default;
	mp->deny_raw = pr->deny_raw;
	mp->exec_allowlist = pr->exec_allowlist;
	mp->fileless = pr->fileless;
	mp->writable = pr->writable;
	mp->has_exec = pr->nexec || pr->exec_allowlist ||
		       pr->fileless != MW_ACTION_ALLOW ||
		       pr->writable != MW_ACTION_ALLOW;
	mp->has_files = pr->nfiles || pr->files_allowlist;
	mp->files_allowlist = pr->files_allowlist;
	mp->has_unix = pr->nunix != 0;
	for (k = 0; k < pr->nsyscalls; k++)
		if (escape_class(pr->syscalls[k]) >= 0)
			mp->escape_deny |= 1u << escape_class(pr->syscalls[k]);
}

/* select: detection patterns, select.k8s and select.cgroups of @pr (@id). */
static int select_compile(const struct policy *p, const struct profile *pr,
			  __u32 id, char *err, size_t errlen,
			  void (*warn)(const char *msg, void *arg),
			  void *warn_arg, struct compiled *out)
{
	char msg[512];
	size_t k;
	int ret;

	for (k = 0; k < pr->ndetect; k++) {
		if (out->ndetect >= MW_DETECT_MAX) {
			snprintf(err, errlen, "profiles.%s.select.detect: more than %d patterns in the policy",
				 pr->name, MW_DETECT_MAX);
			return -E2BIG;
		}
		ret = detect_compile(pr->detect[k], id, &out->detect[out->ndetect]);
		if (ret) {
			snprintf(err, errlen, "profiles.%s.select.detect[%zu]: \"%s\" is not a pattern",
				 pr->name, k, pr->detect[k]);
			return ret;
		}
		out->ndetect++;
	}
	if (pr->has_k8s) {
		struct k8s_sel ks = { .pr = pr, .id = id,
				      .cgroot = p->cgroup_root, .out = out };

		k8s_each(k8s_select, &ks);
		if (ks.err)
			return ks.err;
	}
	for (k = 0; k < pr->ncgroups; k++) {
		ret = cgroups_add(pr->cgroups[k], id, &out->cgroups,
				  &out->ncgroups);
		if (ret == -ENOMEM)
			return ret;
		if (ret && warn && !has_glob(pr->cgroups[k])) {
			snprintf(msg, sizeof(msg), "profiles.%s.select.cgroups[%zu]: \"%s\": %s, ignoring",
				 pr->name, k, pr->cgroups[k], strerror(-ret));
			warn(msg, warn_arg);
		}
	}
	return 0;
}

int compile_policy(const struct policy *p, __u32 gen, struct profile_ids *ids,
		   struct rule_ids *rules, char *err, size_t errlen,
		   void (*warn)(const char *msg, void *arg), void *warn_arg,
		   struct compiled *out)
{
	__u32 pids[MW_PROFILES_MAX], *rid;
	size_t i;
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

		ret = profile_ids_assign(ids, pr->name, &pids[i]);
		if (ret) {
			snprintf(err, errlen, "profiles.%s: no profile id left (%d names since start); restart the agent",
				 pr->name, MW_PROFILES_MAX - 1);
			goto fail;
		}
		profile_compile(pr, &out->profiles[pids[i]]);
		ret = exec_compile(pr, pids[i], gen, rid, out, warn, warn_arg);
		if (!ret) {
			ret = files_compile(pr, pids[i], gen, rid, out);
			if (ret)
				snprintf(err, errlen, "profiles.%s.files: %s",
					 pr->name, strerror(-ret));
		}
		if (!ret)
			ret = select_compile(p, pr, pids[i], err, errlen, warn,
					     warn_arg, out);
		if (ret)
			goto fail;
	}
	ret = net_compile(p, pids, rid, gen, out, err, errlen);
	if (ret)
		goto fail;
	ret = launchers_compile(p, out, warn, warn_arg);
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
