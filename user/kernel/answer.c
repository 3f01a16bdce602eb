// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/answer.h"
#include "lib/proc.h"
#include "lib/time.h"
#include "mw_ident.h"

#define SHARED_SIZE	4096
_Static_assert(sizeof(struct answer_shared) <= SHARED_SIZE, "answer_shared");

int answer_shared_create(void)
{
	int fd = memfd_create("mcpwarden-answer", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, SHARED_SIZE)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct answer_shared *answer_shared_map(int fd, bool create)
{
	struct answer_shared *shm;

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
		"mw_file_rules", "prog_fence_report",
	};
	int *slot[] = { &fds->tracked, &fds->config, &fds->profiles,
			&fds->exec, &fds->files, &fds->report };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < 6; i++)
		*slot[i] = -1;
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, names[i]);
		*slot[i] = bpf_obj_get(path);
		if (*slot[i] < 0) {
			int err = -errno;

			answer_fds_close(fds);
			return err;
		}
	}
	return 0;
}

void answer_fds_close(struct answer_fds *fds)
{
	int *slot[] = { &fds->tracked, &fds->config, &fds->profiles,
			&fds->exec, &fds->files, &fds->report };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (*slot[i] >= 0)
			close(*slot[i]);
		*slot[i] = -1;
	}
}

/* One request, judged. */
struct verdict {
	__u32 response;		/* FAN_ALLOW or FAN_DENY */
	bool report;		/* a deny or an audit */
	struct mw_event_fanotify rec;
};

struct judge_ctx {
	const struct answerer *a;
	__u32 gen, profile, pid;
	__u32 dev;		/* the file's, kernel encoding */
	__u64 ino;
	const char *path;	/* as the requester's root sees it */
};

/*
 * The rule of @map on the file, else (with @dirs) on the nearest directory
 * above it. The directories are looked up through /proc/PID/root, in the
 * requester's own mount namespace: a bind mount or a chroot there is not
 * ours. (stat() is no open: no request of ours, none to wait for.)
 */
static bool nearest(const struct judge_ctx *c, int map, bool dirs,
		    struct mw_rule_value *v)
{
	struct mw_inode_key key = { .gen = c->gen, .profile = c->profile,
				    .dev = c->dev, .ino = c->ino };
	char dir[PATH_MAX + 32], *slash, *base;
	struct stat st;
	int len;

	if (!bpf_map_lookup_elem(map, &key, v))
		return true;
	if (!dirs || c->path[0] != '/')
		return false;
	len = snprintf(dir, sizeof(dir), "/proc/%u/root", c->pid);
	base = dir + len;
	snprintf(base, sizeof(dir) - len, "%s", c->path);
	while ((slash = strrchr(base, '/'))) {
		slash[slash == base] = '\0';
		if (!stat(dir, &st)) {
			key.dev = mw_kdev(major(st.st_dev), minor(st.st_dev));
			key.ino = st.st_ino;
			if (!bpf_map_lookup_elem(map, &key, v) && v->is_dir)
				return true;
		}
		if (slash == base)
			break;
	}
	return false;
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
	return true;
}

/*
 * The verdict on the request of @pid for the file at @fdpath (our event fd,
 * or the other answerer's through /proc/OTHER/fd/N): exec rules decide a
 * binary on any open and a directory's entries on exec; file rules decide
 * the file and the directories above it; the stricter wins.
 */
static void judge(const struct answerer *a, __u32 pid, __u32 mask,
		  const char *fdpath, __u64 read_ns, struct verdict *v)
{
	struct mw_event_fanotify *rec = &v->rec;
	struct mw_rule_value er, fr;
	struct judge_ctx c = { .a = a, .pid = pid };
	struct mw_config cfg;
	struct mw_profile p;
	struct stat st;
	bool exec = mask & FAN_OPEN_EXEC_PERM, has_er, has_fr;
	__u32 zero = 0, key;
	ssize_t n;

	v->response = FAN_ALLOW;
	v->report = false;
	memset(rec, 0, offsetof(struct mw_event_fanotify, path));
	if (!requester(a, pid, rec))
		return;
	if (bpf_map_lookup_elem(a->fds.config, &zero, &cfg))
		return;
	c.gen = cfg.active_gen & 1;
	c.profile = rec->server.profile & (MW_PROFILES_MAX - 1);
	key = c.gen * MW_PROFILES_MAX + c.profile;
	if (bpf_map_lookup_elem(a->fds.profiles, &key, &p) || !p.present ||
	    stat(fdpath, &st))
		return;
	c.dev = mw_kdev(major(st.st_dev), minor(st.st_dev));
	c.ino = st.st_ino;
	n = readlink(fdpath, rec->path, sizeof(rec->path) - 1);
	rec->path[n > 0 ? n : 0] = '\0';
	c.path = rec->path;
	has_er = nearest(&c, a->fds.exec, exec, &er);
	if (has_er && !exec && er.action != MW_ACTION_DENY)
		has_er = false;	/* reading an audited binary is no exec */
	has_fr = nearest(&c, a->fds.files, true, &fr);
	if (!has_er && !has_fr)
		return;
	if (has_fr && (!has_er || fr.action > er.action)) {
		rec->action = fr.action;
		rec->rule_id = fr.rule_id;
		rec->kind = MW_FAN_OPEN;
	} else {
		rec->action = er.action;
		rec->rule_id = er.rule_id;
		rec->kind = exec ? MW_FAN_EXEC : MW_FAN_EXEC_OPEN;
	}
	if (rec->action == MW_ACTION_DENY && p.mode == MW_MODE_MONITOR)
		rec->action = MW_ACTION_AUDIT;
	v->response = rec->action == MW_ACTION_DENY ? FAN_DENY : FAN_ALLOW;
	v->report = rec->action == MW_ACTION_DENY ||
		    rec->action == MW_ACTION_AUDIT;
	rec->ino = c.ino;
	rec->dev = c.dev;
	rec->path_len = strlen(rec->path) + 1;
	rec->hdr.time = read_ns;
}

/* Into the ring buffer, in order with the kernel's records. */
static void report(struct answerer *a, struct verdict *v)
{
	struct mw_fence_report_args args = {
		.record = (__u64)(unsigned long)&v->rec,
		.size = offsetof(struct mw_event_fanotify, path) + v->rec.path_len,
	};
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &args,
		    .ctx_size_in = sizeof(args));

	if (!v->report)
		return;
	/* A full ring is counted by the program itself (ring_buffer_full). */
	if (bpf_prog_test_run_opts(a->fds.report, &run) ||
	    (run.retval && run.retval != (__u32)-ENOSPC))
		__atomic_add_fetch(&a->shm->report_lost[a->side], 1,
				   __ATOMIC_RELAXED);
}

static void respond(struct answerer *a, int fd, struct verdict *v,
		    enum answer_side counted)
{
	struct fanotify_response resp = { .fd = fd, .response = v->response };

	if (write(a->group, &resp, sizeof(resp)) != sizeof(resp))
		return;		/* ENOENT: answered meanwhile */
	__atomic_add_fetch(v->response == FAN_DENY ? &a->shm->denied[counted] :
			   &a->shm->allowed[counted], 1, __ATOMIC_RELAXED);
}

/* Give up slot @s if it still holds @word: true if we may answer it. */
static bool slot_release(struct answer_slot *s, __u64 word)
{
	return __atomic_compare_exchange_n(&s->word, &word, 0, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

int answer_pending(struct answerer *a)
{
	char buf[ANSWER_BATCH * sizeof(struct fanotify_event_metadata)]
		__attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	const struct fanotify_event_metadata *md;
	struct answer_slot *slots = a->shm->slot[a->side];
	__u64 words[ANSWER_BATCH], now;
	struct verdict v;
	char fdpath[32];
	int n = 0, k;
	ssize_t len, left;

	len = read(a->group, buf, sizeof(buf));
	if (len < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	now = time_boot_ns();
	/* First say what we hold: if we stop now, the other answers it. */
	k = 0;
	left = len;	/* FAN_EVENT_NEXT() counts it down */
	for (md = (void *)buf; FAN_EVENT_OK(md, left) && k < ANSWER_BATCH;
	     md = FAN_EVENT_NEXT(md, left), k++) {
		words[k] = 0;
		if (md->vers != FANOTIFY_METADATA_VERSION || md->fd < 0)
			continue;
		slots[k].pid = md->pid;
		slots[k].mask = md->mask;
		slots[k].read_ns = now;
		words[k] = (__u64)++a->seq << 32 | (__u32)(md->fd + 1);
		__atomic_store_n(&slots[k].word, words[k], __ATOMIC_RELEASE);
	}
	k = 0;
	left = len;
	for (md = (void *)buf; FAN_EVENT_OK(md, left) && k < ANSWER_BATCH;
	     md = FAN_EVENT_NEXT(md, left), k++) {
		if (!words[k])
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", md->fd);
		judge(a, md->pid, md->mask, fdpath, now, &v);
		if (slot_release(&slots[k], words[k])) {
			respond(a, md->fd, &v, a->side);
			report(a, &v);
		}
		close(md->fd);
		n++;
	}
	return n;
}

void answer_watchdog(struct answerer *a)
{
	enum answer_side other = !a->side;
	struct answer_slot *slots = a->shm->slot[other];
	__u64 now = time_boot_ns(), word;
	struct verdict v;
	char fdpath[48];
	int k, fd, pid = a->shm->pid[other];

	if (pid <= 0)
		return;
	for (k = 0; k < ANSWER_BATCH; k++) {
		word = __atomic_load_n(&slots[k].word, __ATOMIC_ACQUIRE);
		if (!word || now - slots[k].read_ns < ANSWER_STALL_MS * 1000000ULL)
			continue;
		fd = (int)(word & 0xffffffff) - 1;
		snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d", pid, fd);
		judge(a, slots[k].pid, slots[k].mask, fdpath, slots[k].read_ns,
		      &v);
		if (!slot_release(&slots[k], word))
			continue;	/* it woke up and answered */
		/* The group matches a response by fd number: any reader may. */
		respond(a, fd, &v, other);
		__atomic_add_fetch(&a->shm->taken_over[a->side], 1,
				   __ATOMIC_RELAXED);
		report(a, &v);
	}
}
