// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's event path without the kernel: ring-buffer records, as the
 * BPF programs write them, through decoding, formatting and the output
 * queue to /dev/null. Run under valgrind --tool=callgrind, it counts the
 * instructions one event costs, repeatably on a noisy machine
 * (bench/run's events mode prints them; docs/performance.md).
 *
 *   pipeline MODE N       MODE: net (distinct destinations), exec (distinct
 *                         argv, each a new process: exec and exit records)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "mcpwarden.h"
#include "output/events.h"
#include "output/output.h"

static const char *prof(void *arg, __u32 id)
{
	(void)arg;
	return id == 1 ? "default" : NULL;
}

static const char *rule(void *arg, __u32 id)
{
	(void)arg;
	return id == 7 ? "profiles.default.network.deny[0] (metadata)" : NULL;
}

static void fill(struct mw_process *p, struct mw_server *s, __u32 pid)
{
	p->pid = pid;
	p->tid = pid;
	p->ppid = 1000;
	p->uid = 1000;
	p->gid = 1000;
	p->start_time = 5000000000ULL + pid;
	p->cgroup_id = 1;
	memcpy(p->comm, "node", 5);
	s->pid = 1000;
	s->profile = 1;
	s->start_time = 4000000000ULL;
	s->source = MW_SOURCE_WRAPPER;
}

int main(int argc, char **argv)
{
	static struct output out;
	struct output_opts oo = { .queue_size = 1 << 20 };
	struct events e = {
		.proc_root = "/nonexistent",
		.boot_to_real = 1000000000LL * 1764151200,
		.profile_name = prof,
		.rule_name = rule,
	};
	long n = argc > 2 ? atol(argv[2]) : 100000, i;
	const char *mode = argc > 1 ? argv[1] : "net";
	int epfd = epoll_create1(EPOLL_CLOEXEC), fd;
	struct event_meta m;
	struct jw w = {};

	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || dup2(fd, 1) < 0)
		return 1;
	e.cache = proc_cache_new();
	/* The server's process, known from its exec event as in the agent. */
	proc_cache_put(e.cache, 2000, 5000000000ULL + 2000,
		       "/usr/bin/node", 13, "node\0server.js", 15);
	if (output_open(&out, &oo, epfd, NULL, NULL))
		return 1;
	for (i = 0; i < n; i++) {
		if (!strcmp(mode, "net")) {
			struct mw_event_net ev = {};

			fill(&ev.proc, &ev.server, 2000);
			ev.hdr.type = MW_EVENT_NET;
			ev.hdr.size = sizeof(ev);
			ev.hdr.time = 6000000000ULL + i * 1000;
			ev.daddr[10] = ev.daddr[11] = 0xff;
			ev.daddr[12] = 10;
			ev.daddr[13] = i >> 16;
			ev.daddr[14] = i >> 8;
			ev.daddr[15] = i;
			memcpy(ev.checked, ev.daddr, 16);
			ev.dport = 80;
			ev.family = AF_INET;
			ev.protocol = 6;
			ev.action = MW_ACTION_DENY;
			ev.rule_id = 7;
			if (!event_write(&e, &ev, sizeof(ev), &w, &m))
				output_emit_record(&out, &w, &m);
		} else {
			static struct mw_event_exec x;
			struct mw_event_exit ex = {};
			int len = snprintf(x.data, sizeof(x.data), "/usr/bin/true");
			int al;

			memset(&x, 0, sizeof(x));
			len = snprintf(x.data, sizeof(x.data), "/usr/bin/true") + 1;
			al = snprintf(x.data + len, sizeof(x.data) - len,
				      "true%c--run%c%ld", 0, 0, i) + 1;
			fill(&x.proc, &x.server, 3000 + i);
			x.hdr.type = MW_EVENT_EXEC;
			x.hdr.time = 6000000000ULL + i * 1000;
			x.exe_len = len;
			x.args_len = al;
			x.exe_ino = 1234;
			x.exe_dev = 0x800001;
			x.action = MW_ACTION_NONE;
			x.hdr.size = offsetof(struct mw_event_exec, data) + len + al;
			if (!event_write(&e, &x, x.hdr.size, &w, &m))
				output_emit_record(&out, &w, &m);
			fill(&ex.proc, &ex.server, 3000 + i);
			ex.hdr.type = MW_EVENT_EXIT;
			ex.hdr.size = sizeof(ex);
			ex.hdr.time = x.hdr.time + 500;
			if (!event_write(&e, &ex, sizeof(ex), &w, &m))
				output_emit_record(&out, &w, &m);
		}
		if (!(i % 256))
			output_tick(&out);
	}
	output_close(&out);
	jw_free(&w);
	proc_cache_free(e.cache);
	return 0;
}
