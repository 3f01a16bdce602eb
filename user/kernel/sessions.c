// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "kernel/sessions.h"
#include "kernel/calls.h"
#include "lib/proc.h"
#include "mw_ident.h"

/*
 * An end is told once the ring is read this far past it: a verdict of the
 * fanotify fence is handed to the ring after its answer, so after the
 * server may have answered the call.
 */
#define SESSION_END_SLACK_NS	(50 * 1000 * 1000ULL)

/* Ours no more: the mapping and the fd go, the slot is free here. */
static void slot_unmap(struct session *s)
{
	munmap(s->page, SESSION_MAP_BYTES(s->args));
	close(s->fd);
	free(s->open);
	memset(s, 0, sizeof(*s));
}

/* And out of mw_sessions: the page goes once its interposer lets go. */
static void slot_free(struct sessions *ss, __u32 i)
{
	if (!ss->slot[i].page)
		return;
	bpf_map_delete_elem(ss->outer, &i);
	slot_unmap(&ss->slot[i]);
	ss->used--;
}

static int slot_map(struct session *s, int fd)
{
	bool args;
	void *p = session_page_map(fd, &args);

	if (p == MAP_FAILED)
		return -errno;
	s->open = calloc(SESSION_TRACK_MAX, sizeof(*s->open));
	if (!s->open) {
		munmap(p, SESSION_MAP_BYTES(args));
		return -ENOMEM;
	}
	s->args = args;
	s->fd = fd;
	s->page = p;
	s->gen = __atomic_load_n(&s->page->gen, __ATOMIC_RELAXED);
	return 0;
}

int sessions_init(struct sessions *ss, int outer)
{
	struct timespec ts;

	memset(ss, 0, sizeof(*ss));
	ss->outer = outer;
	/* Generations of a new agent start elsewhere than the last one's. */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	ss->next_gen = (__u32)(ts.tv_nsec ^ ts.tv_sec) & 0xffff;
	return 0;
}

/*
 * Not by a walk of mw_sessions: a lookup in a map of maps from userspace
 * is slow on some kernels (6.1 waits some milliseconds each), and the
 * slots in use are the ones tracked servers name.
 */
int sessions_adopt(struct sessions *ss, const struct mw_server *server)
{
	__u32 i = MW_SESSION_SLOT(server->session), id, k;
	struct session *s;
	int fd, ret;

	if (!server->session || i >= MW_SESSIONS_MAX)
		return -EINVAL;
	s = &ss->slot[i];
	if (s->page)
		return s->gen == MW_SESSION_GEN(server->session) ? 0 : -EEXIST;
	if (bpf_map_lookup_elem(ss->outer, &i, &id))
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	ret = slot_map(s, fd);
	if (ret) {
		close(fd);
		return ret;
	}
	if (s->gen != MW_SESSION_GEN(server->session)) {
		slot_unmap(s);
		return -ESTALE;
	}
	ss->used++;
	s->server = *server;
	memset(&s->server.calls, 0, sizeof(s->server.calls));
	/*
	 * What the last agent reported is unknown: the calls that run are
	 * followed to their end, the earlier ones are not told.
	 */
	s->reported = __atomic_load_n(&s->page->started, __ATOMIC_ACQUIRE);
	for (k = 0; k < MW_CALLS_INFLIGHT &&
	     k < __atomic_load_n(&s->page->ninflight, __ATOMIC_RELAXED); k++)
		s->open[s->nopen++] = (struct session_open){
			.number = s->page->inflight[k] };
	return 0;
}

/* One page of map @entries with @flags into a free slot; see sessions_new(). */
static int page_new(struct sessions *ss, const struct mw_server *server,
		    __u32 entries, __u32 flags, __u32 *session, int *fd)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	struct session *s;
	__u32 i, zero = 0;
	int mfd, ret;

	for (i = 0; i < MW_SESSIONS_MAX && ss->slot[i].page; i++)
		;
	if (i == MW_SESSIONS_MAX)
		return -ENOSPC;
	s = &ss->slot[i];
	mfd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mw_session", sizeof(zero),
			     sizeof(struct mw_session), entries, &opts);
	if (mfd < 0)
		return -errno;
	ret = slot_map(s, mfd);
	if (ret) {
		close(mfd);
		return ret;
	}
	ss->next_gen = (ss->next_gen + 1) & 0xffff;
	if (!ss->next_gen)
		ss->next_gen = 1;
	s->gen = ss->next_gen;
	s->page->gen = s->gen;
	s->page->server_pid = server->pid;
	s->page->server_start = server->start_time;
	s->server = *server;
	ss->used++;
	if (bpf_map_update_elem(ss->outer, &i, &mfd, BPF_ANY)) {
		ret = -errno;
		slot_free(ss, i);
		return ret;
	}
	*fd = fcntl(mfd, F_DUPFD_CLOEXEC, 0);
	if (*fd < 0) {
		ret = -errno;
		slot_free(ss, i);
		return ret;
	}
	*session = s->gen << 16 | (i + 1);
	s->server.session = *session;
	return 0;
}

int sessions_new(struct sessions *ss, const struct mw_server *server,
		 bool args, __u32 *session, int *fd)
{
	/* Each a fallback of the one before: a page is worth more than its arguments. */
	static const struct { __u32 entries, flags; } kinds[] = {
		{ 1 + MW_ARGS_SLOTS, BPF_F_MMAPABLE | BPF_F_INNER_MAP },
		{ 1, BPF_F_MMAPABLE | BPF_F_INNER_MAP },
		/* Pins of an older build: the inner maps are its template's. */
		{ 1, BPF_F_MMAPABLE },
	};
	size_t k;
	int ret = -EINVAL;

	for (k = args ? 0 : 1; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		ret = page_new(ss, server, kinds[k].entries, kinds[k].flags,
			       session, fd);
		if (!ret || ret == -ENOSPC)
			break;
	}
	return ret;
}

static struct session *slot_of(struct sessions *ss, __u32 session)
{
	__u32 i = MW_SESSION_SLOT(session);

	if (!session || i >= MW_SESSIONS_MAX || !ss->slot[i].page ||
	    ss->slot[i].gen != MW_SESSION_GEN(session))
		return NULL;
	return &ss->slot[i];
}

const struct mw_session *sessions_page(const struct sessions *ss,
				       __u32 session)
{
	const struct session *s = slot_of((struct sessions *)ss, session);

	return s ? s->page : NULL;
}

/* One session: new calls' starts, then the ends of those open. */
static void scan_one(struct session *s, __u64 horizon, session_call_fn fn,
		     void *arg, __u64 *lost, bool closing)
{
	__u32 started = __atomic_load_n(&s->page->started, __ATOMIC_ACQUIRE);
	struct mw_call c;
	__u32 n, i, k;

	/* A page that says more began than its log holds: the rest is lost. */
	if (started - s->reported > MW_CALL_LOG) {
		*lost += started - s->reported - MW_CALL_LOG;
		s->reported = started - MW_CALL_LOG;
	}
	for (n = s->reported + 1; (__s32)(started - n) >= 0; n++) {
		s->reported = n;
		if (started - n >= MW_CALL_LOG || !session_call(s->page, n, &c)) {
			(*lost)++;	/* the log moved on before we read it */
			continue;
		}
		if (fn)
			fn(arg, s, &c, false, 0, false);
		if (s->nopen < SESSION_TRACK_MAX)
			s->open[s->nopen++] = (struct session_open){ .number = n };
	}
	for (i = 0; i < s->nopen; ) {
		struct session_open *o = &s->open[i];
		bool have = session_call(s->page, o->number, &c);

		/* Ended after what the ring was read to: denies may follow. */
		if (have && !closing &&
		    (!(c.flags & MW_CALL_ENDED) ||
		     c.end_ns + SESSION_END_SLACK_NS > horizon)) {
			i++;
			continue;
		}
		if (have && fn)
			fn(arg, s, &c, true, o->denies, !(c.flags & MW_CALL_ENDED));
		else if (!have)
			(*lost)++;
		for (k = i; k + 1 < s->nopen; k++)
			s->open[k] = s->open[k + 1];
		s->nopen--;
	}
}

void sessions_scan(struct sessions *ss, __u32 session, __u64 horizon,
		   session_call_fn fn, void *arg, __u64 *lost)
{
	struct session *s;
	__u32 i;

	if (session) {
		if ((s = slot_of(ss, session)))
			scan_one(s, horizon, fn, arg, lost, false);
		return;
	}
	for (i = 0; i < MW_SESSIONS_MAX && ss->used; i++)
		if (ss->slot[i].page)
			scan_one(&ss->slot[i], horizon, fn, arg, lost, false);
}

void sessions_count_deny(struct sessions *ss, __u32 session, __u32 number,
			 __u64 count)
{
	struct session *s = slot_of(ss, session);
	__u32 i;

	for (i = 0; s && i < s->nopen; i++)
		if (s->open[i].number == number)
			s->open[i].denies += count;
}

void sessions_end(struct sessions *ss, __u32 session, session_call_fn fn,
		  void *arg, __u64 *lost)
{
	struct session *s = slot_of(ss, session);
	__u64 none = 0;

	if (!s)
		return;
	scan_one(s, 0, fn, arg, lost ? lost : &none, true);
	slot_free(ss, MW_SESSION_SLOT(session));
}

void sessions_flags(struct sessions *ss,
		    __u32 (*fn)(void *arg, const struct session *s),
		    void *arg)
{
	__u32 i;

	for (i = 0; i < MW_SESSIONS_MAX; i++)
		if (ss->slot[i].page)
			__atomic_store_n(&ss->slot[i].page->flags,
					 fn(arg, &ss->slot[i]),
					 __ATOMIC_RELAXED);
}

void sessions_close(struct sessions *ss)
{
	__u32 i;

	/* The pages stay in the pinned map: the next agent adopts them. */
	for (i = 0; i < MW_SESSIONS_MAX; i++)
		if (ss->slot[i].page)
			slot_unmap(&ss->slot[i]);
	ss->used = 0;
}
