// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <sys/mman.h>
#include "kernel/calls.h"

void *session_page_map(int fd, bool *args)
{
	void *p = mmap(NULL, SESSION_ARGS_BYTES, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);

	*args = p != MAP_FAILED;
	if (p == MAP_FAILED)
		p = mmap(NULL, SESSION_PAGE_BYTES, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
	return p;
}

bool session_call(const struct mw_session *page, __u32 number,
		  struct mw_call *out)
{
	const struct mw_call *c;
	__u32 seq;
	int tries;

	if (!number)
		return false;
	c = &page->log[(number - 1) % MW_CALL_LOG];
	for (tries = 0; tries < 64; tries++) {
		seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		memcpy(out, c, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&c->seq, __ATOMIC_RELAXED) != seq)
			continue;
		out->id[sizeof(out->id) - 1] = '\0';
		out->tool[sizeof(out->tool) - 1] = '\0';
		return out->number == number;
	}
	return false;
}

static struct mw_call_args *args_slot(const struct mw_session *page,
				      __u32 number)
{
	return (struct mw_call_args *)(page + 1 + (number - 1) % MW_ARGS_SLOTS);
}

bool session_args(const struct mw_session *page, __u32 number,
		  struct mw_call_args *out)
{
	const struct mw_call_args *a = args_slot(page, number);
	__u32 seq, len;
	int tries;

	if (!number)
		return false;
	for (tries = 0; tries < 64; tries++) {
		seq = __atomic_load_n(&a->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		out->number = __atomic_load_n(&a->number, __ATOMIC_RELAXED);
		out->flags = __atomic_load_n(&a->flags, __ATOMIC_RELAXED);
		len = __atomic_load_n(&a->len, __ATOMIC_RELAXED);
		out->len = len < MW_ARGS_TEXT_MAX ? len : MW_ARGS_TEXT_MAX - 1;
		memcpy(out->text, a->text, out->len);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&a->seq, __ATOMIC_RELAXED) != seq)
			continue;
		out->text[out->len] = '\0';
		return out->number == number;
	}
	return false;
}

void session_args_put(struct mw_session *page, __u32 number,
		      const char *text, size_t len, __u32 flags)
{
	struct mw_call_args *a = args_slot(page, number);
	__u32 seq = __atomic_load_n(&a->seq, __ATOMIC_RELAXED);

	if (len >= MW_ARGS_TEXT_MAX) {
		len = 0;
		flags |= MW_ARGS_OVER;
	}
	__atomic_store_n(&a->seq, seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	a->number = number;
	a->len = len;
	a->flags = flags;
	memcpy(a->text, text, len);
	__atomic_store_n(&a->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

void session_call_put(struct mw_session *page, const struct mw_call *c)
{
	struct mw_call *slot = &page->log[(c->number - 1) % MW_CALL_LOG];
	__u32 seq = __atomic_load_n(&slot->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&slot->seq, seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((char *)slot + sizeof(slot->seq), (const char *)c + sizeof(c->seq),
	       sizeof(*c) - sizeof(c->seq));
	__atomic_store_n(&slot->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

void session_inflight_set(struct mw_session *page, const __u32 *calls,
			  __u32 n)
{
	__u32 seq = __atomic_load_n(&page->seq, __ATOMIC_RELAXED), i;

	__atomic_store_n(&page->seq, seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (i = 0; i < MW_CALLS_INFLIGHT; i++)
		__atomic_store_n(&page->inflight[i], i < n ? calls[i] : 0,
				 __ATOMIC_RELAXED);
	__atomic_store_n(&page->ninflight, n, __ATOMIC_RELAXED);
	__atomic_store_n(&page->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

void session_calls_read(const struct mw_session *page, __u32 session,
			struct mw_calls *out)
{
	__u32 seq, n, i;

	memset(out, 0, sizeof(*out));
	if (__atomic_load_n(&page->gen, __ATOMIC_RELAXED) !=
	    MW_SESSION_GEN(session))
		return;
	seq = __atomic_load_n(&page->seq, __ATOMIC_ACQUIRE);
	n = __atomic_load_n(&page->ninflight, __ATOMIC_RELAXED);
	for (i = 0; i < MW_CALLS_EVENT; i++)
		out->call[i] = __atomic_load_n(&page->inflight[i], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if ((seq & 1) || __atomic_load_n(&page->seq, __ATOMIC_RELAXED) != seq)
		n |= MW_CALLS_TORN;
	out->n = n;
}
