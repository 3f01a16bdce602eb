// SPDX-License-Identifier: GPL-2.0-only
/*
 * Event records to JSON (events.c) and the process helpers behind it
 * (proc.c): field names and values as docs/events.md promises them, and
 * malformed records refused.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <errno.h>
#include <unistd.h>
#include "lib/time.h"
#include "output/events.h"
#include "mcpwarden.h"
#include "lib/jsonstr.h"
#include "lib/proc.h"
#include "output/proc_cache.h"
#include "kernel/calls.h"
#include "unit.h"

static const char *prof(void *arg, __u32 id)
{
	return id == 3 ? "fetch" : NULL;
}

static const char *rule(void *arg, __u32 id)
{
	return id == 7 ? "profiles.fetch.network.deny[0] (metadata)" : NULL;
}

static struct events ev_ctx(void)
{
	struct events e = {
		.cache = proc_cache_new(),
		.proc_root = "/nonexistent",	/* no /proc fallback */
		.boot_to_real = 1000000000LL * 1764151200,	/* 2025-11-26T10:00:00Z */
		.profile_name = prof,
		.rule_name = rule,
	};
	return e;
}

static const char *get(json_object *o, const char *path)
{
	char buf[128], *tok, *save;
	json_object *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(cur, tok, &cur))
			return NULL;
	return json_object_get_string(cur);
}

static void fill_common(struct mw_process *p, struct mw_server *s)
{
	p->pid = 100;
	p->tid = 101;
	p->ppid = 1;
	p->uid = 1000;
	p->gid = 1000;
	p->start_time = 5000000000ULL;
	p->cgroup_id = 42;
	memcpy(p->comm, "node\0", 5);
	s->pid = 90;
	s->profile = 3;
	s->start_time = 4000000000ULL;
	s->source = MW_SOURCE_DETECT;
}

UNIT_TEST(exec_record)
{
	struct events e = ev_ctx();
	struct mw_event_exec *x = calloc(1, sizeof(*x));
	static const char path[] = "/usr/bin/node";
	static const char args[] = "node\0server.js\0--port\0" "8\xff";
	size_t size;
	json_object *o, *a;
	int err;

	fill_common(&x->proc, &x->server);
	memcpy(x->data, path, sizeof(path));
	x->exe_len = sizeof(path);
	memcpy(x->data + sizeof(path), args, sizeof(args) - 1);
	x->args_len = sizeof(args) - 1;
	x->exe_ino = 77;
	x->exe_dev = (8 << 20) | 1;
	size = offsetof(struct mw_event_exec, data) + x->exe_len + x->args_len;
	x->hdr.type = MW_EVENT_EXEC;
	x->hdr.size = size;
	x->hdr.time = 1500000000ULL;
	o = event_from_record(&e, x, size, &err);
	CHECK(o && err == 0);
	CHECK_STR(get(o, "type"), "process_exec");
	CHECK_STR(get(o, "time"), "2025-11-26T10:00:01.500000000Z");
	CHECK_STR(get(o, "process.exe"), "/usr/bin/node");
	CHECK_STR(get(o, "process.pid"), "100");
	CHECK_STR(get(o, "process.tid"), "101");
	CHECK_STR(get(o, "process.comm"), "node");
	CHECK_STR(get(o, "process.start_time"), "2025-11-26T10:00:05.000000000Z");
	CHECK_STR(get(o, "mcp_server.profile"), "fetch");
	CHECK_STR(get(o, "mcp_server.pid"), "90");
	CHECK_STR(get(o, "mcp_server.source"), "detect");
	CHECK_STR(get(o, "exec.inode"), "77");
	CHECK_STR(get(o, "exec.dev_major"), "8");
	CHECK(json_object_object_get_ex(json_object_object_get(o, "process"),
					"args", &a));
	CHECK(json_object_array_length(a) == 4);
	/* The last element lacks its NUL; its bad byte becomes U+FFFD. */
	CHECK_STR(json_object_get_string(json_object_array_get_idx(a, 3)),
		  "8\xef\xbf\xbd");
	json_object_put(o);

	/* Later events of the pid find exe and args in the cache. */
	CHECK(proc_cache_get(e.cache, 100, 5000000000ULL) != NULL);
	CHECK(proc_cache_get(e.cache, 100, 9000000000ULL) == NULL);

	/* Lengths that overrun the record are refused. */
	x->args_len = MW_ARGS_MAX + 1;
	CHECK(event_from_record(&e, x, size, &err) == NULL && err == -EINVAL);
	x->args_len = sizeof(args) - 1;
	CHECK(event_from_record(&e, x, size - 1, &err) == NULL);
	CHECK(event_from_record(&e, x, 4, &err) == NULL);
	x->hdr.type = 99;
	CHECK(event_from_record(&e, x, size, &err) == NULL);
	free(x);
	proc_cache_free(e.cache);
}

UNIT_TEST(net_record)
{
	struct events e = ev_ctx();
	struct mw_event_net n = {};
	json_object *o;
	int err;

	fill_common(&n.proc, &n.server);
	n.hdr.type = MW_EVENT_NET;
	n.hdr.size = sizeof(n);
	n.daddr[0] = 0x00;
	n.daddr[1] = 0x64;
	n.daddr[2] = 0xff;
	n.daddr[3] = 0x9b;
	n.daddr[12] = 169;
	n.daddr[13] = 254;
	n.daddr[14] = 169;
	n.daddr[15] = 254;
	memcpy(n.checked, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xa9\xfe\xa9\xfe", 16);
	n.dport = 80;
	n.family = AF_INET6;
	n.protocol = 6;
	n.op = MW_NET_CONNECT;
	n.action = MW_ACTION_DENY;
	n.form = MW_FORM_NAT64;
	n.rule_id = 7;
	o = event_from_record(&e, &n, sizeof(n), &err);
	CHECK(o != NULL);
	CHECK_STR(get(o, "type"), "network_connect");
	CHECK_STR(get(o, "action"), "deny");
	CHECK_STR(get(o, "network.daddr"), "64:ff9b::a9fe:a9fe");
	CHECK_STR(get(o, "network.checked"), "169.254.169.254");
	CHECK_STR(get(o, "network.form"), "nat64");
	CHECK_STR(get(o, "network.protocol"), "tcp");
	CHECK_STR(get(o, "network.family"), "ipv6");
	CHECK_STR(get(o, "rule"), "profiles.fetch.network.deny[0] (metadata)");
	json_object_put(o);

	n.op = MW_NET_SENDMSG;
	n.form = MW_FORM_NATIVE;
	n.rule_id = MW_RULE_DEFAULT;
	n.action = MW_ACTION_AUDIT;
	o = event_from_record(&e, &n, sizeof(n), &err);
	CHECK_STR(get(o, "type"), "network_send");
	CHECK_STR(get(o, "action"), "audit");
	CHECK_STR(get(o, "rule"), "profiles.fetch.network.default");
	CHECK(get(o, "network.form") == NULL);
	json_object_put(o);
	CHECK(event_from_record(&e, &n, sizeof(n) - 1, &err) == NULL);
	proc_cache_free(e.cache);
}

/*
 * A window's summary (MW_EVENT_AGG) is the event its key names, with the
 * count and the times of its repeats; the first of a window says count 1.
 */
UNIT_TEST(aggregate_summary)
{
	struct events e = ev_ctx();
	struct mw_event_agg a = {};
	struct mw_event_fanotify *f = calloc(1, sizeof(*f));
	struct event_meta m;
	struct jw w = {};
	json_object *o;

	fill_common(&a.proc, &a.key.server);
	a.hdr.type = MW_EVENT_AGG;
	a.hdr.size = sizeof(a);
	a.key.type = MW_EVENT_NET;
	a.key.rule_id = 7;
	a.key.action = MW_ACTION_DENY;
	a.key.op = MW_NET_SENDMSG;
	a.key.protocol = 17;
	a.key.family = AF_INET;
	a.key.port = 53;
	memcpy(a.key.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xa9\xfe\xa9\xfe", 16);
	memcpy(a.checked, a.key.addr, 16);
	a.count = 49999;
	a.first_time = 2000000000ULL;
	a.last_time = 12000000000ULL;
	CHECK(event_write(&e, &a, sizeof(a), &w, &m) == 0);
	CHECK(m.summary && m.count == 49999 && m.action == MW_ACTION_DENY);
	o = jw_parse(&w);
	CHECK(o != NULL);
	CHECK_STR(get(o, "type"), "network_send");
	CHECK_STR(get(o, "network.daddr"), "169.254.169.254");
	CHECK_STR(get(o, "network.dport"), "53");
	CHECK_STR(get(o, "network.protocol"), "udp");
	CHECK_STR(get(o, "rule"), "profiles.fetch.network.deny[0] (metadata)");
	CHECK_STR(get(o, "count"), "49999");
	CHECK_STR(get(o, "first_time"), "2025-11-26T10:00:02.000000000Z");
	CHECK_STR(get(o, "last_time"), "2025-11-26T10:00:12.000000000Z");
	CHECK_STR(get(o, "time"), get(o, "last_time"));
	CHECK_STR(get(o, "mcp_server.profile"), "fetch");
	CHECK(get(o, "network.form") == NULL);
	json_object_put(o);

	/* A file decision: the path of its first event, kept by inode. */
	fill_common(&f->proc, &f->server);
	f->hdr.type = MW_EVENT_FANOTIFY;
	f->ino = 77;
	f->dev = 0x800001;
	f->rule_id = 7;
	f->action = MW_ACTION_DENY;
	f->kind = MW_FAN_OPEN;
	f->path_len = sizeof("/home/u/.ssh/id_rsa");
	memcpy(f->path, "/home/u/.ssh/id_rsa", f->path_len);
	f->hdr.size = offsetof(struct mw_event_fanotify, path) + f->path_len;
	CHECK(event_write(&e, f, f->hdr.size, &w, &m) == 0);
	CHECK(!m.summary && m.count == 1);
	o = jw_parse(&w);
	CHECK_STR(get(o, "count"), "1");
	CHECK(get(o, "first_time") == NULL);
	json_object_put(o);
	a.key.type = MW_EVENT_FANOTIFY;
	a.key.op = MW_FAN_OPEN;
	a.key.ino = 77;
	a.key.dev = 0x800001;
	a.count = 3;
	CHECK(event_write(&e, &a, sizeof(a), &w, &m) == 0);
	o = jw_parse(&w);
	CHECK_STR(get(o, "type"), "file_open");
	CHECK_STR(get(o, "file.path"), "/home/u/.ssh/id_rsa");
	CHECK_STR(get(o, "file.inode"), "77");
	CHECK_STR(get(o, "count"), "3");
	json_object_put(o);
	/* Another inode: no path known, the inode says which. */
	a.key.ino = 78;
	CHECK(event_write(&e, &a, sizeof(a), &w, &m) == 0);
	o = jw_parse(&w);
	CHECK(get(o, "file.path") == NULL);
	CHECK_STR(get(o, "file.inode"), "78");
	json_object_put(o);
	/* Malformed: too short, or a key of a type that does not aggregate. */
	CHECK(event_write(&e, &a, sizeof(a) - 1, &w, &m) == -EINVAL);
	a.hdr.size = sizeof(a) - 1;
	CHECK(event_write(&e, &a, sizeof(a) - 1, &w, &m) == -EINVAL);
	a.hdr.size = sizeof(a);
	a.key.type = MW_EVENT_EXIT;
	CHECK(event_write(&e, &a, sizeof(a), &w, &m) == -EINVAL);
	jw_free(&w);
	free(f);
	proc_cache_free(e.cache);
}

static struct mw_session *test_page;

static const struct mw_session *page_of(void *arg, __u32 session)
{
	return session == (7u << 16 | 1) ? test_page : NULL;
}

/* A net deny of a server with a session, the calls @n of @calls running. */
static json_object *net_in_calls(struct events *e, __u32 n, const __u32 *calls,
				 struct event_meta *m, struct jw *w)
{
	struct mw_event_net ev = {};
	__u32 i;

	fill_common(&ev.proc, &ev.server);
	ev.hdr.type = MW_EVENT_NET;
	ev.hdr.size = sizeof(ev);
	ev.family = AF_INET;
	ev.protocol = 6;
	ev.dport = 9;
	ev.action = MW_ACTION_DENY;
	ev.rule_id = 7;
	ev.server.session = 7u << 16 | 1;
	ev.server.calls.n = n;
	for (i = 0; i < (n & ~MW_CALLS_TORN) && i < MW_CALLS_EVENT; i++)
		ev.server.calls.call[i] = calls[i];
	if (event_write(e, &ev, sizeof(ev), w, m))
		return NULL;
	return jw_parse(w);
}

UNIT_TEST(mcp_call_of_a_decision)
{
	struct events e = ev_ctx();
	struct mw_call c = { .number = 1, .start_ns = 6000000000ULL,
			     .flags = MW_CALL_ARGS };
	struct mw_call d = { .number = 2, .start_ns = 6500000000ULL,
			     .flags = MW_CALL_ID_STR };
	__u32 both[2] = { 1, 2 };
	struct event_meta m;
	struct jw w = {};
	json_object *o;

	test_page = calloc(1, sizeof(*test_page));
	e.session_page = page_of;
	strcpy(test_page->client, "claude-code");
	strcpy(c.id, "17");
	strcpy(c.tool, "fetch");
	memset(c.args_sha256, 0xab, sizeof(c.args_sha256));
	session_call_put(test_page, &c);
	strcpy(d.id, "x\"y");
	strcpy(d.tool, "read_file");
	session_call_put(test_page, &d);
	o = net_in_calls(&e, 1, both, &m, &w);
	CHECK(o && json_object_get_type(json_object_object_get(
		json_object_object_get(json_object_object_get(o, "mcp"), "call"),
		"id")) == json_type_int);
	CHECK_STR(get(o, "mcp.call.id"), "17");
	CHECK_STR(get(o, "mcp.call.tool"), "fetch");
	CHECK_STR(get(o, "mcp.call.client"), "claude-code");
	CHECK_STR(get(o, "mcp.attribution"), "exact");
	CHECK(get(o, "mcp.call.arguments_sha256") &&
	      !strncmp(get(o, "mcp.call.arguments_sha256"), "abab", 4));
	CHECK(m.ncalls == 1 && m.calls[0] == 1 && m.session);
	json_object_put(o);
	o = net_in_calls(&e, 2, both, &m, &w);
	CHECK_STR(get(o, "mcp.attribution"), "ambiguous");
	CHECK_STR(get(o, "mcp.calls_running"), "2");
	CHECK(json_object_array_length(json_object_object_get(
		json_object_object_get(o, "mcp"), "calls")) == 2);
	json_object_put(o);
	o = net_in_calls(&e, 1 | MW_CALLS_TORN, both, &m, &w);
	CHECK_STR(get(o, "mcp.attribution"), "ambiguous");
	json_object_put(o);
	o = net_in_calls(&e, 0, both, &m, &w);
	CHECK_STR(get(o, "mcp.idle"), "true");
	json_object_put(o);
	/* A call the log lost: its number alone. */
	o = net_in_calls(&e, 1, (__u32[]){ 1 + MW_CALL_LOG }, &m, &w);
	CHECK_STR(get(o, "mcp.call.number"), "129");
	CHECK(!get(o, "mcp.call.tool"));
	json_object_put(o);
	/* The end of call 2: a string id, an outcome, the denies. */
	d.flags |= MW_CALL_ENDED | MW_CALL_IS_ERROR;
	d.end_ns = d.start_ns + 1234;
	{
		struct mw_server s = { .pid = 90, .profile = 3,
				       .session = 7u << 16 | 1 };

		event_tool_call(&e, &w, &m, &s, test_page, &d, NULL, true, 3, false);
		o = jw_parse(&w);
		CHECK_STR(get(o, "type"), "mcp_tool_call");
		CHECK_STR(get(o, "phase"), "end");
		CHECK_STR(get(o, "outcome"), "tool_error");
		CHECK_STR(get(o, "duration_ns"), "1234");
		CHECK_STR(get(o, "denies"), "3");
		CHECK_STR(get(o, "mcp.call.id"), "x\"y");
		CHECK_STR(get(o, "mcp_server.profile"), "fetch");
		json_object_put(o);
	}
	jw_free(&w);
	free(test_page);
	proc_cache_free(e.cache);
}

UNIT_TEST(exit_record)
{
	struct events e = ev_ctx();
	struct mw_event_exit x = {};
	json_object *o;
	int err;

	fill_common(&x.proc, &x.server);
	x.hdr.type = MW_EVENT_EXIT;
	x.hdr.size = sizeof(x);
	x.exit_code = 3 << 8;
	o = event_from_record(&e, &x, sizeof(x), &err);
	CHECK_STR(get(o, "exit.code"), "3");
	CHECK(get(o, "exit.signal") == NULL);
	json_object_put(o);
	x.exit_code = 9 | 0x80;
	o = event_from_record(&e, &x, sizeof(x), &err);
	CHECK_STR(get(o, "exit.signal"), "9");
	CHECK_STR(get(o, "exit.core_dumped"), "true");
	CHECK_STR(get(o, "mcp_server.profile"), "fetch");
	json_object_put(o);
	proc_cache_free(e.cache);
}

/*
 * A fanotify verdict carries what the fence read of the requester while it
 * waited; a fork gone before its exit was written, never exec'd, shows its
 * parent's image, which it ran.
 */
UNIT_TEST(fanotify_record_image_and_fork_exit)
{
	static const char exe[] = "/usr/bin/python3", args[] = "python3\0srv.py";
	static struct mw_event_fanotify f;
	struct events e = ev_ctx();
	struct mw_event_exit x = {};
	size_t size;
	json_object *o;
	int err;

	fill_common(&f.proc, &f.server);
	f.hdr.type = MW_EVENT_FANOTIFY;
	f.action = MW_ACTION_DENY;
	f.kind = MW_FAN_EXEC;
	f.rule_id = 7;
	memcpy(f.path, "/usr/bin/curl", 14);
	f.path_len = 14;
	memcpy(f.path + 14, exe, sizeof(exe));
	f.exe_len = sizeof(exe);
	memcpy(f.path + 14 + sizeof(exe), args, sizeof(args));
	f.args_len = sizeof(args);
	size = offsetof(struct mw_event_fanotify, path) + 14 + sizeof(exe) +
	       sizeof(args);
	f.hdr.size = size;
	o = event_from_record(&e, &f, size, &err);
	CHECK_STR(get(o, "process.exe"), exe);
	CHECK_STR(get(o, "exec.path"), "/usr/bin/curl");
	CHECK(o && strstr(json_object_to_json_string(o), "\"srv.py\""));
	json_object_put(o);
	/* Lengths past the record, or an image without its NUL: refused. */
	o = event_from_record(&e, &f, size - 1, &err);
	CHECK(o == NULL && err == -EINVAL);
	f.path[14 + sizeof(exe) - 1] = 'x';
	CHECK(event_from_record(&e, &f, size, &err) == NULL);

	/* Its fork (pid 101, parent 100), gone, never exec'd. */
	fill_common(&x.proc, &x.server);
	x.proc.pid = 101;
	x.proc.ppid = 100;
	x.proc.start_time += 1000000000ULL;
	x.hdr.type = MW_EVENT_EXIT;
	x.hdr.size = sizeof(x);
	o = event_from_record(&e, &x, sizeof(x), &err);
	CHECK_STR(get(o, "process.exe"), exe);
	json_object_put(o);
	proc_cache_free(e.cache);
}

UNIT_TEST(signal_record)
{
	struct events e = ev_ctx();
	struct mw_event_signal x = {};
	json_object *o;
	int err;

	fill_common(&x.proc, &x.server);
	x.hdr.type = MW_EVENT_SIGNAL;
	x.hdr.size = sizeof(x);
	x.target = 4242;
	x.sig = 15;
	x.who = MW_GUARDED_GUARD;
	x.action = MW_ACTION_KILL;
	x.hook = 1;
	o = event_from_record(&e, &x, sizeof(x), &err);
	CHECK(o && err == 0);
	CHECK_STR(get(o, "type"), "process_signal");
	CHECK_STR(get(o, "action"), "kill");
	CHECK_STR(get(o, "signal.name"), "SIGTERM");
	CHECK_STR(get(o, "signal.number"), "15");
	CHECK_STR(get(o, "signal.target_pid"), "4242");
	CHECK_STR(get(o, "signal.target"), "guard");
	CHECK_STR(get(o, "signal.hook"), "raw_tp/signal_generate");
	CHECK_STR(get(o, "rule"), "self_defense");
	json_object_put(o);
	/* Short: refused, not read past its end. */
	CHECK(event_from_record(&e, &x, sizeof(x) - 8, &err) == NULL);
	proc_cache_free(e.cache);
}

UNIT_TEST(utf8)
{
	static const struct { const char *in; size_t len; const char *out; } t[] = {
		{ "plain", 5, "plain" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
		{ "\xc3", 1, "\xef\xbf\xbd" },			/* truncated */
		{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "a\x00" "b", 3, NULL },			/* NUL kept */
		{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		json_object *j = json_string_bytes(t[i].in, t[i].len);

		if (t[i].out)
			CHECK_STR(json_object_get_string(j), t[i].out);
		else
			CHECK(json_object_get_string_len(j) == 3);
		json_object_put(j);
	}
}

UNIT_TEST(time_format)
{
	char buf[48];

	time_format(0, buf, sizeof(buf));
	CHECK_STR(buf, "1970-01-01T00:00:00.000000000Z");
	time_format(1764151200123456789LL, buf, sizeof(buf));
	CHECK_STR(buf, "2025-11-26T10:00:00.123456789Z");
}

UNIT_TEST(proc_cache)
{
	struct proc_cache *c = proc_cache_new();
	__u32 pid;

	for (pid = 1; pid <= 10000; pid++)
		CHECK(proc_cache_put(c, pid, pid * MW_TICK_NS, "xy", 1,
				     NULL, 0) == 0);
	CHECK(proc_cache_count(c) == 10000);
	CHECK(proc_cache_get(c, 4097, 4097 * MW_TICK_NS + 5) != NULL);
	CHECK(proc_cache_get(c, 4097, 4098 * MW_TICK_NS) == NULL);
	CHECK_STR(proc_cache_get(c, 4097, 4097 * MW_TICK_NS)->exe, "x");
	CHECK(proc_cache_get(c, 4097, 4097 * MW_TICK_NS)->args == NULL);
	proc_cache_put(c, 4097, 1, NULL, 0, "a\0b\\\"", 5);	/* replaced */
	CHECK(proc_cache_get(c, 4097, 1)->exe == NULL);
	CHECK_STR(proc_cache_get(c, 4097, 1)->args, "[\"a\",\"b\\\\\\\"\"]");
	CHECK(proc_cache_get(c, 4097, 1)->args_len == 13);
	CHECK(proc_cache_count(c) == 10000);
	for (pid = 1; pid <= 10000; pid += 2)
		proc_cache_del(c, pid);
	CHECK(proc_cache_count(c) == 5000);
	CHECK(proc_cache_get(c, 3, 3 * MW_TICK_NS) == NULL);
	CHECK(proc_cache_get(c, 4, 4 * MW_TICK_NS) != NULL);
	proc_cache_free(c);
}

UNIT_TEST(proc_read_self)
{
	struct proc_info pi;

	CHECK(proc_read(NULL, getpid(), &pi) == 0);
	CHECK(pi.ppid == (__u32)getppid());
	CHECK(pi.exe && strstr(pi.exe, "test_events"));
	CHECK(pi.args && json_object_array_length(pi.args) >= 1);
	CHECK(pi.start_time > 0);
	proc_info_clear(&pi);
	CHECK(proc_read(NULL, 0x7ffffffe, &pi) == -ENOENT);
}

UNIT_MAIN("events")
