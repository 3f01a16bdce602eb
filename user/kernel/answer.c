// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <bpf/bpf.h>
#include "kernel/answer.h"
#include "kernel/calls.h"
#include "kernel/mounts.h"
#include "lib/proc.h"
#include "lib/time.h"
#include "mw_ident.h"

#define SHARED_SIZE	4096
#define SHARED_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define DRAIN_MAX	16	/* batches per answer_pending() */
#define JUDGE_TRIES	4	/* judgements that a reload overtook */
_Static_assert(sizeof(struct answer_shared) <= SHARED_SIZE, "answer_shared");

int answer_reserve_fds(void)
{
	struct rlimit rl;
	int null, fd;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0)
		return -errno;
	for (fd = 0; fd < ANSWER_FD_SPLIT; fd++)
		if (fd != null && fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    dup3(null, fd, O_CLOEXEC) < 0)
			return -errno;
	if (null >= ANSWER_FD_SPLIT)
		close(null);
	return 0;
}

int answer_shared_create(void)
{
	int fd = memfd_create("mcpwarden-answer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int err;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, SHARED_SIZE) || fcntl(fd, F_ADD_SEALS, SHARED_SEALS)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int answer_bells_create(int bell[ANSWER_SIDES])
{
	int i, err;

	for (i = 0; i < ANSWER_SIDES; i++) {
		bell[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (bell[i] < 0) {
			err = -errno;
			while (i--)
				close(bell[i]);
			bell[0] = bell[1] = -1;
			return err;
		}
	}
	return 0;
}

/*
 * The other side's watchdog, asleep, must look now: we hold requests.
 * Our slot words are stored before we read its word, and it stores its
 * word before it reads our slots (answer_timeout()): one of us sees the
 * other's store.
 */
static void ring_other(struct answerer *a)
{
	enum answer_side other = !a->side;
	__u64 one = 1;
	ssize_t n;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (a->bell[other] < 0 ||
	    !__atomic_load_n(&a->shm->asleep[other], __ATOMIC_RELAXED))
		return;
	/* Fails only on a counter at its maximum: rung anyway. */
	n = write(a->bell[other], &one, sizeof(one));
	(void)n;
}

struct answer_shared *answer_shared_map(int fd, bool create)
{
	struct answer_shared *shm;
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	/* Unsealed, it could be truncated under us: SIGBUS. */
	if (seals < 0 || (seals & SHARED_SEALS) != SHARED_SEALS ||
	    fstat(fd, &st) || st.st_size != SHARED_SIZE) {
		errno = EPROTO;
		return NULL;
	}
	shm = mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED)
		return NULL;
	if (create) {
		memset(shm, 0, SHARED_SIZE);
		shm->magic = ANSWER_MAGIC;
	} else if (shm->magic != ANSWER_MAGIC) {
		munmap(shm, SHARED_SIZE);
		errno = EPROTO;
		return NULL;
	}
	return shm;
}

void answer_shared_unmap(struct answer_shared *shm)
{
	if (shm)
		munmap(shm, SHARED_SIZE);
}

int answer_fds_open(const char *pin_dir, struct answer_fds *fds)
{
	static const char *const names[] = {
		"mw_tracked", "mw_config", "mw_profiles", "mw_exec_rules",
		"mw_file_rules", "mw_file_names", "prog_fence_report",
	};
	int *slot[] = { &fds->tracked, &fds->config, &fds->profiles,
			&fds->exec, &fds->files, &fds->names, &fds->report };
	char path[PATH_MAX];
	size_t i;

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
		       sizeof(slot) / sizeof(slot[0]), "answer_fds_open");
	for (i = 0; i < sizeof(slot) / sizeof(slot[0]); i++)
		*slot[i] = -1;
	fds->sessions = -1;
	for (i = 0; i < sizeof(slot) / sizeof(slot[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, names[i]);
		*slot[i] = bpf_obj_get(path);
		if (*slot[i] < 0) {
			int err = -errno;

			answer_fds_close(fds);
			return err;
		}
	}
	/* Without it, verdicts name no tool call. */
	snprintf(path, sizeof(path), "%s/mw_sessions", pin_dir);
	fds->sessions = bpf_obj_get(path);
	return 0;
}

void answer_fds_close(struct answer_fds *fds)
{
	int *slot[] = { &fds->tracked, &fds->config, &fds->profiles,
			&fds->exec, &fds->files, &fds->names, &fds->report };
	size_t i;

	for (i = 0; i < sizeof(slot) / sizeof(slot[0]); i++) {
		if (*slot[i] >= 0)
			close(*slot[i]);
		*slot[i] = -1;
	}
	if (fds->sessions >= 0)
		close(fds->sessions);
	fds->sessions = -1;
}

/* One request, judged. */
struct verdict {
	__u32 response;		/* FAN_ALLOW or FAN_DENY */
	bool report;		/* a deny or an audit */
	struct mw_event_fanotify rec;
};

/* A request as both sides know it: the slot's fields. */
struct request {
	__u32 pid, mask;
	__u32 dev;		/* the file's, kernel encoding */
	__u64 ino;
	__u64 read_ns;
	const char *fdpath;	/* /proc/.../fd/N, NULL if out of reach */
	bool walk;		/* ours: the directories above may be climbed */
};

struct judge_ctx {
	const struct answerer *a;
	const struct request *r;
	__u32 gen, profile;
	bool exec;
	const char *path;	/* the file's, from our view of the fd */
};

/* Device and inode of @fd (or of @name under it), from the inode cache. */
static int stat_id(int fd, const char *name, __u32 *dev, __u64 *ino)
{
	struct statx sx;

	if (statx(fd, name, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW |
		  AT_STATX_DONT_SYNC, STATX_INO, &sx))
		return -errno;
	*dev = mw_kdev(sx.stx_dev_major, sx.stx_dev_minor);
	*ino = sx.stx_ino;
	return 0;
}

/*
 * Open @path under @dirfd as an O_PATH directory, from the dentry cache
 * only: a lookup that would have to ask a filesystem (a FUSE server that
 * never answers) fails with EAGAIN instead of stalling the answerer.
 */
static int open_cached(int dirfd, const char *path, __u64 flags,
		       __u64 resolve)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | flags,
		.resolve = RESOLVE_CACHED | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_SYMLINKS | resolve,
	};

	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/*
 * The directory the requested file is in, as an O_PATH fd, or -1. Our
 * view of the fd names it for our root (a chroot of the requester is
 * inside it), or for the requester's mount namespace (a container): the
 * candidate is taken only if its entry of that name is the very inode
 * requested, so a path renamed or swapped for a symlink meanwhile is no
 * parent.
 */
static int parent_fd(const struct judge_ctx *c)
{
	char dir[PATH_MAX], root[32];
	const char *base;
	__u32 dev = 0;
	__u64 ino = 0;
	int rfd, dfd, efd, i;

	base = strrchr(c->path, '/');
	if (c->path[0] != '/' || !base || !base[1])
		return -1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - c->path) ?: 1, c->path);
	base++;
	for (i = 0; i < 2; i++) {
		rfd = AT_FDCWD;
		if (i) {
			snprintf(root, sizeof(root), "/proc/%u/root", c->r->pid);
			rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (rfd < 0)
				break;
		}
		dfd = open_cached(rfd, dir, O_DIRECTORY, i ? RESOLVE_IN_ROOT : 0);
		if (rfd >= 0)
			close(rfd);
		if (dfd < 0)
			continue;
		efd = open_cached(dfd, base, O_NOFOLLOW, RESOLVE_BENEATH);
		if (efd >= 0 && !stat_id(efd, "", &dev, &ino) &&
		    dev == c->r->dev && ino == c->r->ino) {
			close(efd);
			return dfd;
		}
		if (efd >= 0)
			close(efd);
		close(dfd);
	}
	return -1;
}

struct nearest {
	bool want_exec, want_files;	/* still looking for */
	bool has_exec, has_files;
	struct mw_rule_value exec, files;
};

static void lookup(const struct judge_ctx *c, struct nearest *n, __u32 dev,
		   __u64 ino, bool dir)
{
	struct mw_inode_key key = { .gen = c->gen, .profile = c->profile,
				    .dev = dev, .ino = ino };
	struct mw_rule_value v;

	if (n->want_exec && !bpf_map_lookup_elem(c->a->fds.exec, &key, &n->exec) &&
	    (!dir || n->exec.is_dir)) {
		n->has_exec = true;
		n->want_exec = false;
	}
	if (n->want_files &&
	    !bpf_map_lookup_elem(c->a->fds.files, &key, &v) &&
	    (!dir || v.is_dir) &&
	    (!n->has_files || (v.action == MW_ACTION_DENY && !v.readonly))) {
		n->files = v;
		n->has_files = true;
		/* Past a readonly rule: a deny above it still wins. */
		n->want_files = v.readonly;
	}
}

/*
 * The file's name rule, in its directory @dev/@ino (verified by
 * parent_fd()): a file renamed over a protected one, before a reload
 * names its inode.
 */
static void lookup_name(const struct judge_ctx *c, struct nearest *n,
			__u32 dev, __u64 ino)
{
	struct mw_name_key key = { .gen = c->gen, .profile = c->profile,
				   .dev = dev, .ino = ino };
	const char *base = strrchr(c->path, '/');
	size_t len = base ? strlen(base + 1) : 0;

	if (!n->want_files || !len || len >= MW_FNAME_MAX)
		return;
	memcpy(key.name, base + 1, len);
	if (!bpf_map_lookup_elem(c->a->fds.names, &key, &n->files)) {
		n->has_files = true;
		n->want_files = n->files.readonly;	/* a deny above wins */
	}
}

/*
 * The rules of the file itself (its inode, then its name in its
 * directory), then of the nearest directories above it
 * (exec rules: only for an exec): climbed by "..", the way the kernel's
 * own walk goes, to the root of the requester's mount namespace. False if
 * the walk was needed and could not be done: no verified parent, a lookup
 * the cache did not hold, deeper than ANSWER_DEPTH_MAX.
 */
static bool rules_of(const struct judge_ctx *c, struct nearest *n)
{
	__u32 dev, pdev;
	__u64 ino, pino;
	int dfd, up, depth;

	*n = (struct nearest){ .want_exec = true, .want_files = true };
	lookup(c, n, c->r->dev, c->r->ino, false);
	if (n->has_exec && !c->exec && n->exec.action != MW_ACTION_DENY) {
		n->has_exec = false;	/* reading an audited binary is no exec */
		n->want_exec = false;
	}
	n->want_exec = n->want_exec && c->exec;
	if (!n->want_exec && !n->want_files)
		return true;
	if (!c->r->walk || (dfd = parent_fd(c)) < 0)
		return false;
	for (depth = 0; depth < ANSWER_DEPTH_MAX; depth++) {
		if (stat_id(dfd, "", &dev, &ino))
			break;
		if (!depth)
			lookup_name(c, n, dev, ino);
		lookup(c, n, dev, ino, true);
		if (!n->want_exec && !n->want_files)
			break;
		up = open_cached(dfd, "..", O_DIRECTORY, 0);
		if (up < 0 || stat_id(up, "", &pdev, &pino)) {
			if (up >= 0)
				close(up);
			break;
		}
		close(dfd);
		dfd = up;
		if (pdev == dev && pino == ino) {	/* the root */
			close(dfd);
			return true;
		}
	}
	close(dfd);
	return !n->want_exec && !n->want_files;
}


/*
 * The calls @s's session runs now, as a hook would read them: at the
 * judgement, while the requester waits, not at the report after the
 * answer, when its call may have ended. The page is mapped once.
 */
static void calls_now(const struct answerer *ac, struct mw_server *s)
{
	struct answerer *a = (struct answerer *)ac;
	__u32 slot = MW_SESSION_SLOT(s->session), id;
	struct answer_page *p;
	void *m;
	int fd;

	memset(&s->calls, 0, sizeof(s->calls));
	if (!s->session || a->fds.sessions < 0 || slot >= MW_SESSIONS_MAX ||
	    bpf_map_lookup_elem(a->fds.sessions, &slot, &id))
		return;
	if (!a->pages && !(a->pages = calloc(MW_SESSIONS_MAX, sizeof(*a->pages))))
		return;
	p = &a->pages[slot];
	if (p->id != id) {
		if (p->page)
			munmap((void *)p->page, SESSION_PAGE_BYTES);
		p->page = NULL;
		p->id = 0;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			return;
		m = mmap(NULL, SESSION_PAGE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			return;
		p->page = m;
		p->id = id;
	}
	session_calls_read(p->page, s->session, &s->calls);
}

/* What the requester is: the record's process and the tracked entry. */
static bool requester(const struct answerer *a, __u32 pid,
		      struct mw_event_fanotify *rec)
{
	struct mw_tracked t;
	struct proc_info pi;

	/* Every untracked process (the agents too): one lookup, allowed. */
	if (bpf_map_lookup_elem(a->fds.tracked, &pid, &t))
		return false;
	/* /proc/PID/stat and status only: no lock the waiting exec holds. */
	if (proc_read_ids(NULL, pid, &pi) ||
	    !mw_same_start(pi.start_time, t.start_time))
		return false;	/* gone, or a stale entry of a reused pid */
	rec->proc.pid = pid;
	rec->proc.tid = pid;
	rec->proc.ppid = pi.ppid;
	rec->proc.uid = pi.uid;
	rec->proc.gid = pi.gid;
	rec->proc.start_time = t.start_time;
	memcpy(rec->proc.comm, pi.comm, sizeof(rec->proc.comm));
	rec->server = t.server;
	calls_now(a, &rec->server);
	return true;
}

/* The id of process @pid's cgroup v2 (its directory's inode), or 0. */
static __u64 cgroup_of(struct answerer *a, __u32 pid)
{
	char path[64], line[PATH_MAX + 8], dir[2 * PATH_MAX + 8];
	struct stat st;
	__u64 id = 0;
	FILE *f;

	if (!a->cgroup2[0] && cgroup2_find(a->cgroup2, sizeof(a->cgroup2)))
		a->cgroup2[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if (!a->cgroup2[0] || !(f = fopen(path, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			/* Outside our cgroup namespace: not under our mount. */
			if (!strncmp(line + 3, "/..", 3))
				break;
			snprintf(dir, sizeof(dir), "%s%s", a->cgroup2, line + 3);
			if (!stat(dir, &st))
				id = st.st_ino;
			break;
		}
	fclose(f);
	return id;
}

/*
 * The requester's image and cgroup into a record, read while it waits for
 * our answer: a short-lived child (a spawn() whose exec we refuse) is gone
 * by the time the agent writes the event. For deny and audit records
 * only. /proc/PID/exe takes the task's lock alone, no lock a waiting exec
 * or open holds; /proc/PID/cgroup takes cgroup_mutex, which they do not
 * hold either (a host busy making cgroups delays the answer, briefly).
 * Not its argv: /proc/PID/cmdline reads its memory under its mmap lock,
 * which another thread of it may hold or queue for; the agent has the
 * argv its exec captured, or its parent's for a fork that never exec'd.
 */
static void requester_image(struct answerer *a, __u32 pid,
			    struct mw_event_fanotify *rec)
{
	char path[64], *at = rec->path + rec->path_len;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, at, MW_PATH_MAX - 1);
	if (n > 0) {
		at[n] = '\0';
		rec->exe_len = n + 1;
	}
	rec->proc.cgroup_id = cgroup_of(a, pid);
}

/*
 * The rule that decides, of the active generation: exec rules decide a
 * binary on any open and a directory's entries on exec; file rules the
 * file and the directories above it; the stricter wins. A reload that
 * switched generations meanwhile (and may have cleared the one we read)
 * makes us judge again. False: no rule decides, or none could be found.
 */
static int decide(const struct judge_ctx *base, struct mw_event_fanotify *rec,
		  __u8 *mode)
{
	struct judge_ctx c = *base;
	struct mw_config cfg, after;
	struct mw_profile p;
	struct nearest n;
	__u32 zero = 0, key;
	bool walked = false;
	int tries;

	for (tries = 0; tries < JUDGE_TRIES; tries++) {
		if (bpf_map_lookup_elem(c.a->fds.config, &zero, &cfg))
			return -1;
		c.gen = cfg.active_gen & 1;
		key = c.gen * MW_PROFILES_MAX + c.profile;
		if (bpf_map_lookup_elem(c.a->fds.profiles, &key, &p) ||
		    !p.present)
			return 0;	/* as the kernel's hooks: no profile */
		*mode = p.mode;
		walked = rules_of(&c, &n);
		if (bpf_map_lookup_elem(c.a->fds.config, &zero, &after))
			return -1;
		if (after.switches == cfg.switches)
			break;
	}
	if (tries == JUDGE_TRIES)
		return -1;
	/* files.readonly: the request may be a read (fanotify cannot say). */
	if (n.has_files && n.files.readonly)
		n.files.action = MW_ACTION_ALLOW;
	if (n.has_files && (!n.has_exec || n.files.action > n.exec.action)) {
		rec->action = n.files.action;
		rec->rule_id = n.files.rule_id;
		rec->kind = MW_FAN_OPEN;
	} else if (n.has_exec) {
		rec->action = n.exec.action;
		rec->rule_id = n.exec.rule_id;
		rec->kind = c.exec ? MW_FAN_EXEC : MW_FAN_EXEC_OPEN;
	} else {
		return walked ? 0 : -1;
	}
	return 1;
}

/*
 * The verdict on request @r. Untracked requesters are allowed after one
 * lookup. For a tracked one, a request that could not be judged (its path
 * out of reach, a walk that could not finish) is refused: the file is
 * marked, or in a marked directory, and we cannot say which rule allows
 * it (MW_RULE_UNJUDGED).
 */
static void judge(struct answerer *a, const struct request *r,
		  struct verdict *v)
{
	struct mw_event_fanotify *rec = &v->rec;
	struct judge_ctx c = { .a = a, .r = r, .path = rec->path,
			       .exec = r->mask & FAN_OPEN_EXEC_PERM };
	__u8 mode = MW_MODE_ENFORCE;
	ssize_t n = -1;
	int ret;

	v->response = FAN_ALLOW;
	v->report = false;
	memset(rec, 0, offsetof(struct mw_event_fanotify, path));
	rec->path[0] = '\0';
	if (!requester(a, r->pid, rec))
		return;
	c.profile = rec->server.profile & (MW_PROFILES_MAX - 1);
	if (r->fdpath)
		n = readlink(r->fdpath, rec->path, MW_PATH_MAX - 1);
	rec->path[n > 0 ? n : 0] = '\0';
	ret = decide(&c, rec, &mode);
	if (!ret)
		return;
	if (ret < 0) {
		rec->action = MW_ACTION_DENY;
		rec->rule_id = MW_RULE_UNJUDGED;
		rec->kind = c.exec ? MW_FAN_EXEC : MW_FAN_OPEN;
	}
	if (rec->action == MW_ACTION_DENY && mode == MW_MODE_MONITOR)
		rec->action = MW_ACTION_AUDIT;
	v->response = rec->action == MW_ACTION_DENY ? FAN_DENY : FAN_ALLOW;
	v->report = rec->action == MW_ACTION_DENY ||
		    rec->action == MW_ACTION_AUDIT;
	rec->ino = r->ino;
	rec->dev = r->dev;
	rec->path_len = rec->path[0] ? strlen(rec->path) + 1 : 0;
	rec->hdr.time = r->read_ns;
	if (v->report)
		requester_image(a, r->pid, rec);
}

/* Into the ring buffer, in order with the kernel's records. */
static void report(struct answerer *a, struct verdict *v,
		   enum answer_side counted)
{
	struct mw_fence_report_args args = {
		.record = (__u64)(unsigned long)&v->rec,
		.size = offsetof(struct mw_event_fanotify, path) + v->rec.path_len +
			v->rec.exe_len + v->rec.args_len,
	};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args,
		    .ctx_size_in = sizeof(args));

	/* A full ring is counted by the program itself (ring_buffer_full). */
	if (bpf_prog_test_run_opts(a->fds.report, &run) ||
	    (run.retval && run.retval != (__u32)-ENOSPC))
		__atomic_add_fetch(&a->shm->report_lost[a->side], 1,
				   __ATOMIC_RELAXED);
	__atomic_add_fetch(&a->shm->report_done[counted], 1, __ATOMIC_RELEASE);
}

/*
 * Answer, then report: the requester waits for the one, not the other. A
 * record owed and never handed over (we died in between) the next
 * answerer of this side counts as lost.
 */
static bool respond(struct answerer *a, int fd, struct verdict *v,
		    enum answer_side counted)
{
	struct fanotify_response resp = { .fd = fd, .response = v->response };

	if (v->report)
		__atomic_add_fetch(&a->shm->report_due[counted], 1,
				   __ATOMIC_RELEASE);
	if (write(a->group, &resp, sizeof(resp)) != sizeof(resp)) {
		/* ENOENT: the other side answered it (see ANSWER_CLAIMED) */
		if (v->report)
			__atomic_add_fetch(&a->shm->report_done[counted], 1,
					   __ATOMIC_RELEASE);
		return false;
	}
	__atomic_add_fetch(v->response == FAN_DENY ? &a->shm->denied[counted] :
			   &a->shm->allowed[counted], 1, __ATOMIC_RELAXED);
	if (v->rec.rule_id == MW_RULE_UNJUDGED)
		__atomic_add_fetch(&a->shm->unjudged[a->side], 1,
				   __ATOMIC_RELAXED);
	if (v->report)
		report(a, v, counted);
	return true;
}

/* Slot @s from @word to @to if it still holds @word. */
static bool slot_swap(struct answer_slot *s, __u64 word, __u64 to)
{
	return __atomic_compare_exchange_n(&s->word, &word, to, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static bool fd_ours(const struct answerer *a, int fd)
{
	return a->side == SIDE_GUARD ? fd < ANSWER_FD_SPLIT :
	       fd >= ANSWER_FD_SPLIT;
}

static int word_fd(__u64 word)
{
	return (int)(word & ANSWER_FD_MASK) - 1;
}

/* The side whose ANSWER_TAKING bit @word has, or -1. */
static int word_taker(__u64 word)
{
	return word & ANSWER_TAKING(SIDE_GUARD) ? SIDE_GUARD :
	       word & ANSWER_TAKING(SIDE_AGENT) ? SIDE_AGENT : -1;
}

static bool side_alive(const struct answer_shared *shm, enum answer_side side);

/* Slot @k is taken from us: keep @fd (its number) until the taker wrote. */
static void park(struct answerer *a, int k, int fd, __u64 word, __u32 response)
{
	a->park[k] = (struct answer_park){ .fd = fd, .word = word,
					   .response = response };
}

/*
 * Parked slots whose taker has written (the slot is free, or holds
 * another word) give their fds back. A taker that died before writing
 * leaves the slot to us again: our response, late, and the slot freed.
 */
static void unpark(struct answerer *a)
{
	struct answer_slot *slots = a->shm->slot[a->side];
	struct fanotify_response resp;
	struct answer_park *p;
	__u64 word;
	int k, taker;

	for (k = 0; k < ANSWER_BATCH; k++) {
		p = &a->park[k];
		if (p->fd < 0)
			continue;
		word = __atomic_load_n(&slots[k].word, __ATOMIC_ACQUIRE);
		taker = word_taker(word);
		if ((word & ~ANSWER_STATE_BITS) == p->word && taker >= 0) {
			if (side_alive(a->shm, taker))
				continue;	/* writing, or stopped: wait */
			resp = (struct fanotify_response){
				.fd = word_fd(p->word), .response = p->response };
			if (!slot_swap(&slots[k], word,
				       p->word | ANSWER_TAKING(a->side)))
				continue;
			if (write(a->group, &resp, sizeof(resp)) == sizeof(resp))
				__atomic_add_fetch(&a->shm->taken_over[a->side],
						   1, __ATOMIC_RELAXED);
			__atomic_store_n(&slots[k].word, 0, __ATOMIC_RELEASE);
		}
		close(p->fd);
		p->fd = -1;
	}
}

/* One read of the group into our free slots: each request answered. */
static int answer_batch(struct answerer *a)
{
	char buf[ANSWER_BATCH * sizeof(struct fanotify_event_metadata)]
		__attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	const struct fanotify_event_metadata *md;
	struct answer_slot *slots = a->shm->slot[a->side];
	__u64 words[ANSWER_BATCH], claimed;
	struct request r = { .walk = true };
	int n = 0, i, k, nfree = 0, free_k[ANSWER_BATCH];
	struct verdict v;
	char fdpath[32];
	ssize_t len, left;

	unpark(a);
	for (k = 0; k < ANSWER_BATCH; k++)
		if (a->park[k].fd < 0 &&
		    !__atomic_load_n(&slots[k].word, __ATOMIC_ACQUIRE))
			free_k[nfree++] = k;
	if (!nfree)
		return 0;	/* all taken, their takers writing */
	/* Metadata only (no info records): exactly nfree requests fit. */
	len = read(a->group, buf, nfree * sizeof(*md));
	if (len < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	r.read_ns = time_boot_ns();
	/* First say what we hold: if we stop now, the other answers it. */
	i = 0;
	left = len;	/* FAN_EVENT_NEXT() counts it down */
	for (md = (void *)buf; FAN_EVENT_OK(md, left) && i < nfree;
	     md = FAN_EVENT_NEXT(md, left), i++) {
		k = free_k[i];
		words[i] = 0;
		if (md->fd < 0)
			continue;	/* FAN_Q_OVERFLOW: cannot happen, unlimited */
		if (!fd_ours(a, md->fd))
			__atomic_add_fetch(&a->shm->fd_clash[a->side], 1,
					   __ATOMIC_RELAXED);
		slots[k].pid = md->pid;
		slots[k].mask = md->mask;
		slots[k].read_ns = r.read_ns;
		if (stat_id(md->fd, "", &slots[k].dev, &slots[k].ino))
			slots[k].dev = 0, slots[k].ino = 0;
		words[i] = (__u64)__atomic_add_fetch(&a->shm->seq, 1,
						     __ATOMIC_RELAXED) << 32 |
			   (__u32)(md->fd + 1);
		__atomic_store_n(&slots[k].word, words[i], __ATOMIC_RELEASE);
	}
	ring_other(a);
	i = 0;
	left = len;
	for (md = (void *)buf; FAN_EVENT_OK(md, left) && i < nfree;
	     md = FAN_EVENT_NEXT(md, left), i++) {
		k = free_k[i];
		if (!words[i])
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", md->fd);
		r.pid = md->pid;
		r.mask = md->mask;
		r.dev = slots[k].dev;
		r.ino = slots[k].ino;
		r.fdpath = fdpath;
		judge(a, &r, &v);
		n++;
		/* Claimed, not freed, until the response is written. */
		claimed = words[i] | ANSWER_CLAIMED;
		if (slot_swap(&slots[k], words[i], claimed)) {
			respond(a, md->fd, &v, a->side);
			if (slot_swap(&slots[k], claimed, 0)) {
				close(md->fd);
				continue;
			}
		}
		park(a, k, md->fd, words[i], v.response);	/* taken */
	}
	return n;
}

int answer_pending(struct answerer *a)
{
	int i, n, total = 0;

	/* Bounded: a flood must not keep the caller from its other work. */
	for (i = 0; i < DRAIN_MAX; i++) {
		n = answer_batch(a);
		if (n < 0)
			return total ? total : n;
		if (!n)
			break;
		total += n;
	}
	return total;
}

/* Is the answerer of @side there (not exited, its pid not reused)? */
static bool side_alive(const struct answer_shared *shm, enum answer_side side)
{
	__s32 pid = __atomic_load_n(&shm->pid[side], __ATOMIC_ACQUIRE);
	__u64 start;

	return pid > 0 && !proc_start_time(NULL, pid, &start) &&
	       start == shm->start[side];
}

/*
 * The request in slot @k of @side, judged without a walk (see answer.h);
 * the path, for the record, from the reader's fd if @reachable.
 */
static void judge_slot(struct answerer *a, enum answer_side side, int k,
		       bool reachable, struct verdict *v)
{
	const struct answer_slot *s = &a->shm->slot[side][k];
	char fdpath[48];
	struct request r = { .pid = s->pid, .mask = s->mask, .dev = s->dev,
			     .ino = s->ino, .read_ns = s->read_ns,
			     .fdpath = reachable ? fdpath : NULL };

	snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d", a->shm->pid[side],
		 word_fd(__atomic_load_n(&s->word, __ATOMIC_ACQUIRE)));
	judge(a, &r, v);
}

/*
 * Answer the requests of @side's slots: all of them if @side is gone,
 * else those held longer than ANSWER_STALL_MS. Judged without a walk (see
 * answer.h); the path, for the record, from its fd if it can be reached.
 */
static void take_over(struct answerer *a, enum answer_side side, bool gone)
{
	struct answer_slot *slots = a->shm->slot[side];
	__u64 now = time_boot_ns(), word, mine;
	struct verdict v;
	int k, taker;

	for (k = 0; k < ANSWER_BATCH; k++) {
		word = __atomic_load_n(&slots[k].word, __ATOMIC_ACQUIRE);
		taker = word_taker(word);
		if (!word || (taker >= 0 && side_alive(a->shm, taker)) ||
		    (!gone && taker < 0 &&
		     now - slots[k].read_ns < ANSWER_STALL_MS * 1000000ULL))
			continue;
		judge_slot(a, side, k, !gone, &v);
		/*
		 * Claimed by its reader or not, held too long or its reader
		 * gone: ours, marked so until we have written (see
		 * ANSWER_CLAIMED). A reader that writes too finds nothing.
		 */
		mine = (word & ~ANSWER_STATE_BITS) | ANSWER_TAKING(a->side);
		if (!slot_swap(&slots[k], word, mine))
			continue;	/* it woke up and answered */
		/* The group matches a response by fd number: any reader may. */
		if (respond(a, word_fd(word), &v, side))
			__atomic_add_fetch(&a->shm->taken_over[a->side], 1,
					   __ATOMIC_RELAXED);
		slot_swap(&slots[k], mine, 0);
	}
}

/*
 * Slots of our side another answerer is writing for (a dead
 * predecessor's): their numbers are ours to hold until it has written,
 * so that no request we read gets one. A placeholder on each free number;
 * one in use here already cannot go to a request anyway.
 */
static void hold_taken(struct answerer *a)
{
	struct answer_slot *slots = a->shm->slot[a->side];
	struct verdict v;
	__u64 word;
	int k, fd, null;

	for (k = 0; k < ANSWER_BATCH; k++) {
		word = __atomic_load_n(&slots[k].word, __ATOMIC_ACQUIRE);
		if (word_taker(word) < 0)
			continue;
		fd = word_fd(word);
		null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0 && null != fd && fcntl(fd, F_GETFD) < 0 &&
		    errno == EBADF) {
			fd = dup3(null, fd, O_CLOEXEC);
			close(null);
			null = fd;
		}
		judge_slot(a, a->side, k, false, &v);
		park(a, k, null, word & ~ANSWER_STATE_BITS, v.response);
	}
}

static bool slots_busy(const struct answer_shared *shm, enum answer_side side)
{
	int k;

	for (k = 0; k < ANSWER_BATCH; k++)
		if (__atomic_load_n(&shm->slot[side][k].word, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

/* Records a dead answerer of @side owed: lost, and counted so. */
static void settle_reports(struct answer_shared *shm, enum answer_side side)
{
	__u64 due = __atomic_load_n(&shm->report_due[side], __ATOMIC_ACQUIRE);
	__u64 done = __atomic_load_n(&shm->report_done[side], __ATOMIC_ACQUIRE);

	if (due > done &&
	    __atomic_compare_exchange_n(&shm->report_done[side], &done, due,
					false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		__atomic_add_fetch(&shm->report_lost[side], due - done,
				   __ATOMIC_RELAXED);
}

void answer_watchdog(struct answerer *a)
{
	enum answer_side other = !a->side;
	bool gone;

	unpark(a);
	if (!slots_busy(a->shm, other))
		return;
	gone = !side_alive(a->shm, other);
	/*
	 * Its unsent records are settled by its successor (answer_attach),
	 * not here: a successor attaching meanwhile has records in flight
	 * that would pass for lost.
	 */
	take_over(a, other, gone);
}

int answer_attach(struct answerer *a, enum answer_side side)
{
	__u64 start = 0;
	int k;

	a->side = side;
	if (side_alive(a->shm, side) && a->shm->pid[side] != getpid())
		return -EBUSY;
	for (k = 0; k < ANSWER_BATCH; k++)
		a->park[k].fd = -1;
	/* A dead predecessor's requests: answered before we read ours. */
	take_over(a, side, true);
	hold_taken(a);
	settle_reports(a->shm, side);
	proc_start_time(NULL, getpid(), &start);
	a->shm->start[side] = start;
	__atomic_store_n(&a->shm->pid[side], getpid(), __ATOMIC_RELEASE);
	return 0;
}

void answer_detach(struct answerer *a)
{
	if (a->shm && a->shm->pid[a->side] == getpid()) {
		__atomic_store_n(&a->shm->pid[a->side], 0, __ATOMIC_RELEASE);
		if (slots_busy(a->shm, a->side))
			ring_other(a);	/* it answers what we hold, at once */
	}
}

int answer_timeout(struct answerer *a)
{
	int k;

	if (a->bell[a->side] < 0)
		return ANSWER_POLL_MS;
	for (k = 0; k < ANSWER_BATCH; k++)
		if (a->park[k].fd >= 0)
			return ANSWER_POLL_MS;	/* unpark() retries */
	__atomic_store_n(&a->shm->asleep[a->side], 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (slots_busy(a->shm, !a->side)) {
		__atomic_store_n(&a->shm->asleep[a->side], 0, __ATOMIC_RELAXED);
		return ANSWER_POLL_MS;
	}
	return -1;
}

void answer_woken(struct answerer *a)
{
	__u64 n;

	if (a->bell[a->side] < 0)
		return;
	__atomic_store_n(&a->shm->asleep[a->side], 0, __ATOMIC_RELAXED);
	while (read(a->bell[a->side], &n, sizeof(n)) == sizeof(n))
		;
}
