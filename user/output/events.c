// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "mcpwarden.h"
#include "mw_ident.h"
#include "lib/cidr.h"
#include "lib/time.h"
#include "output/events.h"
#include "kernel/calls.h"
#include "lib/k8s.h"

static json_object *json_time(const struct events *e, __u64 boot_ns)
{
	char buf[48];

	time_format((__s64)boot_ns + e->boot_to_real, buf, sizeof(buf));
	return json_object_new_string(buf);
}

json_object *event_new(const struct events *e, const char *type, __u64 boot_ns)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "time",
			       json_time(e, boot_ns ? boot_ns : time_boot_ns()));
	json_object_object_add(o, "type", json_object_new_string(type));
	return o;
}

const char *event_action_str(__u8 action)
{
	switch (action) {
	case MW_ACTION_ALLOW:
		return "allow";
	case MW_ACTION_AUDIT:
		return "audit";
	case MW_ACTION_DENY:
		return "deny";
	case MW_ACTION_KILL:
		return "kill";
	default:
		return NULL;
	}
}

const char *event_source_str(__u32 source)
{
	switch (source) {
	case MW_SOURCE_WRAPPER:
		return "wrapper";
	case MW_SOURCE_DETECT:
		return "detect";
	case MW_SOURCE_CGROUP:
		return "cgroup";
	case MW_SOURCE_SCAN:
		return "scan";
	default:
		return "unknown";
	}
}


/* The image and argv of process @ppid, from the cache or /proc. */
static const struct proc_entry *parent_image(struct events *e, __u32 ppid)
{
	const struct proc_entry *ci = proc_cache_get_pid(e->cache, ppid);
	struct proc_info pi;

	if (ci || !ppid)
		return ci;
	/* Unreadable: remembered so, not read again for every event. */
	if (proc_read(e->proc_root, ppid, &pi))
		pi = (struct proc_info){};
	if (proc_cache_put_info(e->cache, ppid, pi.start_time, &pi))
		return NULL;
	return proc_cache_get_pid(e->cache, ppid);
}

/* The cache's entry for @p, read from /proc once if it has none. */
static const struct proc_entry *proc_of(struct events *e,
					const struct mw_process *p)
{
	const struct proc_entry *ci = proc_cache_get(e->cache, p->pid,
						     p->start_time);
	struct proc_info pi;

	if (ci)
		return ci;
	/* Gone, or the pid is another's: remembered as unknown. */
	if (proc_read(e->proc_root, p->pid, &pi)) {
		pi = (struct proc_info){};
	} else if (!mw_same_start(pi.start_time, p->start_time)) {
		proc_info_clear(&pi);
		pi = (struct proc_info){};
	}
	if (proc_cache_put_info(e->cache, p->pid, p->start_time, &pi))
		return NULL;
	return proc_cache_get(e->cache, p->pid, p->start_time);
}

/* "process": kernel facts, then exe and args from the cache or /proc. */
static void process_write(struct events *e, struct jw *w,
			  const struct mw_process *p, bool args_truncated,
			  struct event_meta *m)
{
	const struct proc_entry *ci = proc_of(e, p), *pi_parent;
	const char *exe, *args;
	size_t args_len, obj;
	char buf[48];

	/* Written once per process and thread: the same object, copied. */
	if (ci && ci->exe && ci->args && ci->memo &&
	    ci->memo_truncated == args_truncated &&
	    !memcmp(&ci->memo_of, p, sizeof(*p))) {
		jw_raw(w, "process", ci->memo, ci->memo_len);
		m->exe = ci->exe;
		return;
	}
	jw_open(w, "process", '{');
	obj = w->len - 1;
	jw_int(w, "pid", p->pid);
	jw_int(w, "tid", p->tid);
	jw_int(w, "ppid", p->ppid);
	jw_int(w, "uid", p->uid);
	jw_int(w, "gid", p->gid);
	jw_strn(w, "comm", p->comm, strnlen(p->comm, sizeof(p->comm)));
	time_format((__s64)p->start_time + e->boot_to_real, buf, sizeof(buf));
	jw_safe(w, "start_time", buf);
	jw_int(w, "cgroup_id", (__s64)p->cgroup_id);
	/*
	 * Gone before its event was written, and never exec'd (every exec of
	 * a tracked process is in the cache): a fork of its parent (a
	 * spawn() whose exec was refused), which runs the parent's image
	 * with the parent's argv.
	 */
	pi_parent = !ci || !ci->exe || !ci->args ? parent_image(e, p->ppid) : NULL;
	exe = ci && ci->exe ? ci->exe : pi_parent ? pi_parent->exe : NULL;
	if (ci && ci->args) {
		args = ci->args;
		args_len = ci->args_len;
	} else {
		args = pi_parent ? pi_parent->args : NULL;
		args_len = pi_parent ? pi_parent->args_len : 0;
	}
	jw_str(w, "exe", exe);
	if (args)
		jw_raw(w, "args", args, args_len);
	if (args_truncated)
		jw_bool(w, "args_truncated", true);
	jw_close(w, '}');
	m->exe = exe;
	/* Only what is the process's own: a parent's image may change. */
	if (ci && ci->exe && ci->args && !w->oom)
		proc_cache_memo(ci, p, args_truncated, w->buf + obj,
				w->len - obj);
}

static void server_write(struct events *e, struct jw *w,
			 const struct mw_server *s)
{
	static struct {
		struct mw_server of;
		char name[MW_PROFILE_NAME_MAX + 1];
		char json[MW_PROFILE_NAME_MAX * 6 + 160];
		size_t len;
	} memo;
	const char *name = e->profile_name ? e->profile_name(e->arg, s->profile) : NULL;
	char buf[48];
	size_t obj;

	/* Events come in runs of one server: its object, copied. */
	if (memo.len && !memcmp(&memo.of, s, offsetof(struct mw_server, calls)) &&
	    !strcmp(memo.name, name ? name : "")) {
		jw_raw(w, "mcp_server", memo.json, memo.len);
		return;
	}
	jw_open(w, "mcp_server", '{');
	obj = w->len - 1;
	jw_str(w, "profile", name ? name : "(removed)");
	jw_int(w, "pid", s->pid);
	time_format((__s64)s->start_time + e->boot_to_real, buf, sizeof(buf));
	jw_safe(w, "start_time", buf);
	jw_safe(w, "source", event_source_str(s->source));
	jw_close(w, '}');
	memo.len = 0;
	if (!w->oom && w->len - obj <= sizeof(memo.json) &&
	    strlen(name ? name : "") < sizeof(memo.name)) {
		memo.of = *s;
		memset(&memo.of.calls, 0, sizeof(memo.of.calls));
		snprintf(memo.name, sizeof(memo.name), "%s", name ? name : "");
		memcpy(memo.json, w->buf + obj, w->len - obj);
		memo.len = w->len - obj;
	}
}

/*
 * The container and pod of a cgroup, cached by cgroup id (0: look the
 * process up each time). A cgroup that is no container is cached too.
 */
#define K8S_CACHE	256

static struct {
	__u64 cgroup_id;
	bool valid, found;
	struct k8s_info info;
} k8s_cache[K8S_CACHE];

static const struct k8s_info *k8s_lookup(struct events *e,
					  const struct mw_process *p)
{
	static struct k8s_info tmp;
	unsigned int slot = p->cgroup_id % K8S_CACHE;

	if (p->cgroup_id && k8s_cache[slot].valid &&
	    k8s_cache[slot].cgroup_id == p->cgroup_id)
		return k8s_cache[slot].found ? &k8s_cache[slot].info : NULL;
	if (!(p->cgroup_id && e->cgroup_root &&
	      k8s_of_cgroup_id(e->cgroup_root, p->cgroup_id, &tmp)) &&
	    !k8s_of_pid(p->pid, &tmp)) {
		if (p->cgroup_id) {
			k8s_cache[slot].cgroup_id = p->cgroup_id;
			k8s_cache[slot].valid = true;
			k8s_cache[slot].found = false;
		}
		return NULL;
	}
	/* Names the node has not written yet: ask again next time. */
	if (p->cgroup_id && tmp.namespace[0]) {
		k8s_cache[slot].cgroup_id = p->cgroup_id;
		k8s_cache[slot].valid = true;
		k8s_cache[slot].found = true;
		k8s_cache[slot].info = tmp;
	}
	return &tmp;
}

static void k8s_write(struct events *e, struct jw *w,
		      const struct mw_process *p)
{
	const struct k8s_info *k = k8s_lookup(e, p);

	if (!k)
		return;
	jw_open(w, "container", '{');
	jw_str(w, "id", k->container_id);
	jw_close(w, '}');
	if (!k->namespace[0] && !k->pod_uid[0])
		return;
	jw_open(w, "k8s", '{');
	if (k->namespace[0]) {
		jw_str(w, "namespace", k->namespace);
		jw_str(w, "pod", k->pod);
		jw_str(w, "container", k->container);
	}
	if (k->pod_uid[0])
		jw_str(w, "pod_uid", k->pod_uid);
	jw_close(w, '}');
}

/* A JSON number as JSON-RPC allows it: else the id is written as a string. */
static bool json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		if (*++s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return !*s;
}

/* "arguments" and what it says of them (@a NULL: the digest only). */
static void args_write(struct jw *w, const struct call_args *a)
{
	if (!a)
		return;
	if (a->json)
		jw_raw(w, "arguments", a->json, a->len);
	else
		jw_safe(w, "arguments_omitted", a->omitted);
	if (a->truncated)
		jw_bool(w, "arguments_truncated", true);
	if (a->redacted)
		jw_int(w, "arguments_redacted", a->redacted);
}

/* One tool call's object: what the client sent, as the interposer saw it. */
static void call_obj(struct jw *w, const char *key,
		     const struct mw_session *page, const struct mw_call *c,
		     bool version, const struct call_args *a)
{
	char hex[2 * sizeof(c->args_sha256) + 1];
	size_t i;

	jw_open(w, key, '{');
	if (!(c->flags & MW_CALL_ID_STR) && json_number(c->id))
		jw_raw(w, "id", c->id, strlen(c->id));
	else
		jw_str(w, "id", c->id);
	if (c->flags & MW_CALL_ID_CUT)
		jw_bool(w, "id_truncated", true);
	jw_str(w, "tool", c->tool);
	if ((c->flags & MW_CALL_TOOL_CUT) && c->tool[0])
		jw_bool(w, "tool_truncated", true);
	jw_strn(w, "client", page->client,
		strnlen(page->client, sizeof(page->client)));
	if (version)
		jw_strn(w, "client_version", page->client_version,
			strnlen(page->client_version,
				sizeof(page->client_version)));
	if (c->flags & MW_CALL_ARGS) {
		for (i = 0; i < sizeof(c->args_sha256); i++) {
			hex[2 * i] = "0123456789abcdef"[c->args_sha256[i] >> 4];
			hex[2 * i + 1] = "0123456789abcdef"[c->args_sha256[i] & 15];
		}
		hex[sizeof(hex) - 1] = '\0';
		jw_safe(w, "arguments_sha256", hex);
	}
	args_write(w, a);
	jw_int(w, "number", c->number);
	jw_close(w, '}');
}

/* Call @number of @page, if its log still holds it; else its number. */
static void call_write(struct jw *w, const char *key,
		       const struct mw_session *page, __u32 number)
{
	struct mw_call c;

	if (session_call(page, number, &c)) {
		call_obj(w, key, page, &c, false, NULL);
		return;
	}
	jw_open(w, key, '{');
	jw_int(w, "number", number);
	jw_close(w, '}');
}

/*
 * "mcp": the tool call the decision happened in, as the hook read the
 * server's session page (docs/events.md). Only for servers that have one.
 */
static void mcp_write(struct events *e, struct jw *w, struct event_meta *m,
		      const struct mw_server *s)
{
	const struct mw_session *page = e->session_page ?
		e->session_page(e->arg, s->session) : NULL;
	__u32 n = s->calls.n & ~MW_CALLS_TORN, i;
	bool torn = s->calls.n & MW_CALLS_TORN;

	m->ncalls = 0;
	if (!page)
		return;
	for (i = 0; i < n && i < MW_CALLS_EVENT; i++)
		m->calls[m->ncalls++] = s->calls.call[i];
	jw_open(w, "mcp", '{');
	if (!n && !torn) {
		jw_bool(w, "idle", true);
	} else if (n == 1 && !torn) {
		call_write(w, "call", page, s->calls.call[0]);
		jw_safe(w, "attribution", "exact");
	} else {
		jw_open(w, "calls", '[');
		for (i = 0; i < n && i < MW_CALLS_EVENT; i++)
			call_write(w, NULL, page, s->calls.call[i]);
		jw_close(w, ']');
		jw_int(w, "calls_running", n);
		jw_safe(w, "attribution", "ambiguous");
	}
	jw_close(w, '}');
}

void event_tool_call(struct events *e, struct jw *w, struct event_meta *m,
		     const struct mw_server *s, const struct mw_session *page,
		     const struct mw_call *c, const struct call_args *args,
		     bool end, __u64 denies, bool unfinished)
{
	memset(m, 0, sizeof(*m));
	jw_reset(w);
	time_format((__s64)(end && c->end_ns ? c->end_ns : c->start_ns) +
		    e->boot_to_real, m->time, sizeof(m->time));
	m->type = "mcp_tool_call";
	m->pid = m->server_pid = s->pid;
	m->session = s->session;
	jw_open(w, NULL, '{');
	jw_safe(w, "time", m->time);
	jw_safe(w, "type", m->type);
	server_write(e, w, s);
	jw_open(w, "mcp", '{');
	call_obj(w, "call", page, c, true, end ? NULL : args);
	jw_close(w, '}');
	jw_safe(w, "phase", end ? "end" : "start");
	if (end) {
		jw_safe(w, "outcome", unfinished ? "unfinished" :
			c->flags & MW_CALL_CANCELLED ? "cancelled" :
			c->flags & MW_CALL_ERROR ? "error" :
			c->flags & MW_CALL_IS_ERROR ? "tool_error" : "ok");
		if (!unfinished)
			jw_int(w, "duration_ns", (__s64)(c->end_ns - c->start_ns));
		jw_int(w, "denies", (__s64)denies);
	}
	jw_close(w, '}');
}

/* "time", "type", "process", "mcp_server", "mcp", container and pod. */
static void common(struct events *e, struct jw *w, struct event_meta *m,
		   const char *type, const struct mw_event_hdr *h,
		   const struct mw_process *p, const struct mw_server *s,
		   bool args_truncated)
{
	time_format((__s64)h->time + e->boot_to_real, m->time, sizeof(m->time));
	m->type = type;
	m->pid = p->pid;
	m->server_pid = s->pid;
	m->session = s->session;
	jw_open(w, NULL, '{');
	jw_safe(w, "time", m->time);
	jw_safe(w, "type", type);
	process_write(e, w, p, args_truncated, m);
	server_write(e, w, s);
	mcp_write(e, w, m, s);
	k8s_write(e, w, p);
}

const char *event_rule_name(const struct events *e, __u32 rule_id,
			    __u32 profile, const char *section, __u8 action,
			    char *buf, size_t len)
{
	const char *name, *pname;

	pname = e->profile_name ? e->profile_name(e->arg, profile) : NULL;
	if (!pname)
		pname = "?";
	if (rule_id == MW_RULE_UNJUDGED) {
		/* The fanotify fence could not tell which rule: fail closed. */
		snprintf(buf, len, "profiles.%s.%s.unjudged", pname, section);
	} else if (rule_id == MW_RULE_CALLS_TORN) {
		/* Tool fences: the calls running could not be read. */
		snprintf(buf, len, "profiles.%s.tools (calls unreadable)", pname);
	} else if (rule_id == MW_RULE_FILELESS) {
		snprintf(buf, len, "profiles.%s.%s.fileless", pname, section);
	} else if (rule_id == MW_RULE_WRITABLE) {
		snprintf(buf, len, "profiles.%s.%s.writable", pname, section);
	} else if (rule_id == MW_RULE_DEFAULT) {
		/* An exec denied by default: the profile has an allow-list. */
		if (!strcmp(section, "exec") && action >= MW_ACTION_AUDIT)
			snprintf(buf, len, "profiles.%s.exec.allow (not listed)",
				 pname);
		else
			snprintf(buf, len, "profiles.%s.%s.default", pname,
				 section);
	} else {
		name = e->rule_name ? e->rule_name(e->arg, rule_id) : NULL;
		if (name)
			return name;
		snprintf(buf, len, "rule #%u", rule_id);
	}
	return buf;
}


/* "action" and "rule": the verdict and the policy rule behind it. */
/* "rule", and the verdict for the stages after the line (@m). */
static void rule_write(struct jw *w, struct event_meta *m, __u8 action,
		       const char *rule)
{
	m->action = action;
	m->rule = rule;
	jw_str(w, "rule", rule);
}

static void verdict(struct events *e, struct jw *w, struct event_meta *m,
		    __u8 action, __u32 rule_id, __u32 profile,
		    const char *section)
{
	jw_safe(w, "action", event_action_str(action));
	rule_write(w, m, action, event_rule_name(e, rule_id, profile, section,
						 action, m->rule_buf,
						 sizeof(m->rule_buf)));
}

/* A profile's fixed rule name, in @m's buffer. */
static const char *profile_rule(struct events *e, struct event_meta *m,
				__u32 profile, const char *what)
{
	const char *pname = e->profile_name ?
			    e->profile_name(e->arg, profile) : NULL;

	snprintf(m->rule_buf, sizeof(m->rule_buf), "profiles.%s.%s",
		 pname ? pname : "?", what);
	return m->rule_buf;
}

/*
 * How many identical decisions the event stands for (docs/events.md): 1
 * when written at the decision; a window's summary (MW_EVENT_AGG) has
 * its repeats and when the first and the last of them were made.
 */
struct agg_info {
	__u64 count, first_time, last_time;
};

static void count_write(struct events *e, struct jw *w,
			const struct agg_info *ai)
{
	char buf[48];

	jw_int(w, "count", ai ? (__s64)ai->count : 1);
	if (!ai)
		return;
	time_format((__s64)ai->first_time + e->boot_to_real, buf, sizeof(buf));
	jw_safe(w, "first_time", buf);
	time_format((__s64)ai->last_time + e->boot_to_real, buf, sizeof(buf));
	jw_safe(w, "last_time", buf);
}

/*
 * The path of an inode a server's decision was about, kept from its first
 * event for the summaries of its repeats (the kernel counts by inode).
 */
#define PATH_MEMO	256

static struct {
	__u64 ino;
	__u32 dev, server_pid;
	char *path;
} path_memo[PATH_MEMO];

static unsigned int memo_slot(__u64 ino, __u32 dev, __u32 server_pid)
{
	return (ino * 0x9e3779b97f4a7c15ULL ^ dev ^ server_pid) % PATH_MEMO;
}

static void memo_put(__u64 ino, __u32 dev, __u32 server_pid,
		     const char *path)
{
	unsigned int i = memo_slot(ino, dev, server_pid);

	if (path_memo[i].path && path_memo[i].ino == ino &&
	    path_memo[i].dev == dev && path_memo[i].server_pid == server_pid &&
	    !strcmp(path_memo[i].path, path))
		return;
	free(path_memo[i].path);
	path_memo[i].path = strdup(path);
	path_memo[i].ino = ino;
	path_memo[i].dev = dev;
	path_memo[i].server_pid = server_pid;
}

static const char *memo_get(__u64 ino, __u32 dev, __u32 server_pid)
{
	unsigned int i = memo_slot(ino, dev, server_pid);

	return path_memo[i].path && path_memo[i].ino == ino &&
	       path_memo[i].dev == dev &&
	       path_memo[i].server_pid == server_pid ? path_memo[i].path : NULL;
}

static const char *hook_str(__u8 hook)
{
	switch (hook) {
	case MW_HOOK_BPRM_CHECK:
		return "lsm/bprm_check_security";
	case MW_HOOK_MMAP_FILE:
		return "lsm/mmap_file";
	default:
		return "raw_tp/sched_process_exec";
	}
}

/* The members of "exec" or "file" up to the hook; the caller closes it. */
static void file_write(struct jw *w, const char *key, const char *path,
		       size_t path_len, __u32 kdev, __u64 ino, const char *hook)
{
	jw_open(w, key, '{');
	if (path)
		jw_strn(w, "path", path, path_len);
	jw_int(w, "dev_major", mw_kdev_major(kdev));
	jw_int(w, "dev_minor", mw_kdev_minor(kdev));
	jw_int(w, "inode", (__s64)ino);
	jw_safe(w, "hook", hook);
}

/* A path of @len bytes that ends in its NUL: a C string, or NULL. */
static const char *cstr(const char *s, size_t len)
{
	return len && !s[len - 1] ? s : NULL;
}

static int exec_write(struct events *e, struct jw *w, struct event_meta *m,
		      const struct mw_event_exec *ev, size_t size)
{
	size_t fixed = offsetof(struct mw_event_exec, data);
	const char *args = ev->data + ev->exe_len;
	size_t exe_n;

	if (size < fixed || ev->exe_len > MW_PATH_MAX ||
	    ev->args_len > MW_ARGS_MAX ||
	    size < fixed + ev->exe_len + ev->args_len)
		return -EINVAL;
	exe_n = strnlen(ev->data, ev->exe_len);
	if (ev->hook != MW_HOOK_EXEC_TP) {
		/* Refused before the exec: the process keeps its old image. */
		common(e, w, m, ev->hook == MW_HOOK_MMAP_FILE ? "file_mmap" :
		       "process_exec", &ev->hdr, &ev->proc, &ev->server, false);
		file_write(w, "exec", ev->exe_len ? ev->data : NULL, exe_n,
			   ev->exe_dev, ev->exe_ino, hook_str(ev->hook));
		m->path = ev->exe_len ? cstr(ev->data, ev->exe_len) : NULL;
		/* The argv the refused execve() was given (bprm_check). */
		if (ev->args_len) {
			jw_args(w, "args", args, ev->args_len);
			if (ev->args_truncated)
				jw_bool(w, "args_truncated", true);
		}
	} else {
		/* The exec replaced the image: what the cache knew is stale. */
		proc_cache_put(e->cache, ev->proc.pid, ev->proc.start_time,
			       ev->exe_len ? ev->data : NULL, exe_n, args,
			       ev->args_len);
		common(e, w, m, "process_exec", &ev->hdr, &ev->proc,
		       &ev->server, ev->args_truncated);
		file_write(w, "exec", NULL, 0, ev->exe_dev, ev->exe_ino,
			   hook_str(ev->hook));
	}
	if (ev->fileless)
		jw_bool(w, "fileless", true);
	jw_close(w, '}');
	if (ev->action != MW_ACTION_NONE)
		verdict(e, w, m, ev->action, ev->rule_id, ev->server.profile,
			"exec");
	return 0;
}

/*
 * A verdict of the fanotify fence (kernels without BPF-LSM): an exec
 * refused before it starts, or an open, by a file rule or of a denied
 * binary. Its process was read by the answerer before it answered.
 */
static int fanotify_write(struct events *e, struct jw *w,
			  struct event_meta *m,
			  const struct mw_event_fanotify *ev, size_t size,
			  const struct agg_info *ai)
{
	size_t fixed = offsetof(struct mw_event_fanotify, path);
	bool exec = ev->kind == MW_FAN_EXEC;
	const char *exe = ev->path + ev->path_len;
	const struct proc_entry *ci;

	if (size < fixed || ev->path_len > MW_PATH_MAX ||
	    ev->exe_len > MW_PATH_MAX || ev->args_len > MW_ARGS_MAX ||
	    size < fixed + ev->path_len + ev->exe_len + ev->args_len ||
	    (ev->path_len && ev->path[ev->path_len - 1]) ||
	    (ev->exe_len && exe[ev->exe_len - 1]))
		return -EINVAL;
	/*
	 * What the answerer read of the requester while it waited, for a
	 * process the cache does not know: what an exec event captured is
	 * the kernel's, a later read of /proc the process's own to rewrite.
	 */
	ci = proc_cache_get(e->cache, ev->proc.pid, ev->proc.start_time);
	if ((ev->exe_len || ev->args_len) && (!ci || (!ci->exe && !ci->args)))
		proc_cache_put(e->cache, ev->proc.pid, ev->proc.start_time,
			       ev->exe_len ? exe : NULL,
			       ev->exe_len ? ev->exe_len - 1 : 0,
			       ev->args_len ? exe + ev->exe_len : NULL,
			       ev->args_len);
	common(e, w, m, exec ? "process_exec" : "file_open", &ev->hdr,
	       &ev->proc, &ev->server, false);
	file_write(w, exec ? "exec" : "file", ev->path_len ? ev->path : NULL,
		   ev->path_len ? ev->path_len - 1 : 0, ev->dev, ev->ino,
		   exec ? "fanotify/FAN_OPEN_EXEC_PERM" : "fanotify/FAN_OPEN_PERM");
	jw_close(w, '}');
	m->path = ev->path_len ? ev->path : NULL;
	verdict(e, w, m, ev->action, ev->rule_id, ev->server.profile,
		ev->kind == MW_FAN_OPEN ? "files" : "exec");
	count_write(e, w, ai);
	if (m->path && !ai)
		memo_put(ev->ino, ev->dev, ev->server.pid, m->path);
	return 0;
}

static int exit_write(struct events *e, struct jw *w, struct event_meta *m,
		      const struct mw_event_exit *ev)
{
	__u32 st = ev->exit_code;

	common(e, w, m, "process_exit", &ev->hdr, &ev->proc, &ev->server,
	       false);
	jw_open(w, "exit", '{');
	if (st & 0x7f) {
		jw_int(w, "signal", st & 0x7f);
		jw_bool(w, "core_dumped", st & 0x80);
	} else {
		jw_int(w, "code", (st >> 8) & 0xff);
	}
	jw_close(w, '}');
	proc_cache_exit(e->cache, ev->proc.pid, ev->proc.start_time);
	return 0;
}

static const char *form_str(__u8 form)
{
	switch (form) {
	case MW_FORM_MAPPED:
		return "ipv4-mapped";
	case MW_FORM_NAT64:
		return "nat64";
	case MW_FORM_6TO4:
		return "6to4";
	case MW_FORM_UNSPEC:
		return "unspecified";
	case MW_FORM_COMPAT:
		return "ipv4-compatible";
	case MW_FORM_SIIT:
		return "siit";
	default:
		return "native";
	}
}

static const char *proto_str(__u8 proto)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	default:
		return NULL;
	}
}

static int net_write(struct events *e, struct jw *w, struct event_meta *m,
		     const struct mw_event_net *ev, const struct agg_info *ai)
{
	char addr[INET6_ADDRSTRLEN];

	common(e, w, m, ev->op == MW_NET_SENDMSG ? "network_send" :
	       "network_connect", &ev->hdr, &ev->proc, &ev->server, false);
	jw_safe(w, "action", event_action_str(ev->action));
	jw_open(w, "network", '{');
	addr_format(ev->daddr, addr, sizeof(addr));
	jw_safe(w, "daddr", addr);
	jw_int(w, "dport", ev->dport);
	jw_safe(w, "protocol", proto_str(ev->protocol));
	jw_safe(w, "family", ev->family == AF_INET6 ? "ipv6" : "ipv4");
	if (ev->form != MW_FORM_NATIVE) {
		addr_format(ev->checked, addr, sizeof(addr));
		jw_safe(w, "checked", addr);
		jw_safe(w, "form", form_str(ev->form));
	}
	jw_close(w, '}');
	rule_write(w, m, ev->action,
		   event_rule_name(e, ev->rule_id, ev->server.profile, "network",
				   ev->action, m->rule_buf, sizeof(m->rule_buf)));
	count_write(e, w, ai);
	return 0;
}

static int socket_write(struct events *e, struct jw *w, struct event_meta *m,
			const struct mw_event_socket *ev)
{
	common(e, w, m, "network_socket", &ev->hdr, &ev->proc, &ev->server,
	       false);
	jw_safe(w, "action", event_action_str(ev->action));
	jw_open(w, "network", '{');
	jw_str(w, "family", ev->family == AF_PACKET ? "packet" :
			    ev->family == AF_INET6 ? "ipv6" :
			    ev->family == AF_INET ? "ipv4" : "other");
	jw_str(w, "socket_type", ev->type == SOCK_RAW ? "raw" :
				 ev->type == SOCK_PACKET ? "packet" :
				 ev->type == SOCK_DGRAM ? "dgram" : "other");
	jw_int(w, "protocol", ev->protocol);
	jw_close(w, '}');
	rule_write(w, m, ev->action,
		   profile_rule(e, m, ev->server.profile, "network.raw_sockets"));
	return 0;
}

static int file_open_write(struct events *e, struct jw *w,
			   struct event_meta *m,
			   const struct mw_event_file *ev, size_t size,
			   const struct agg_info *ai)
{
	static const char *const hooks[] = {
		[MW_FILE_OP_OPEN] = "lsm/file_open",
		[MW_FILE_OP_RENAME] = "lsm/inode_rename",
		[MW_FILE_OP_LINK] = "lsm/inode_link",
		[MW_FILE_OP_UNLINK] = "lsm/inode_unlink",
		[MW_FILE_OP_CREATE] = "lsm/inode_create",
		[MW_FILE_OP_TRUNCATE] = "lsm/path_truncate",
		[MW_FILE_OP_CHMOD] = "lsm/path_chmod",
		[MW_FILE_OP_CHOWN] = "lsm/path_chown",
	};
	static const char *const ops[] = {
		[MW_FILE_OP_RENAME] = "rename", [MW_FILE_OP_LINK] = "link",
		[MW_FILE_OP_UNLINK] = "unlink", [MW_FILE_OP_CREATE] = "create",
		[MW_FILE_OP_TRUNCATE] = "truncate", [MW_FILE_OP_CHMOD] = "chmod",
		[MW_FILE_OP_CHOWN] = "chown",
	};
	size_t fixed = offsetof(struct mw_event_file, path);
	__u8 op = ev->op <= MW_FILE_OP_CHOWN ? ev->op : MW_FILE_OP_OPEN;

	if (size < fixed || ev->path_len > MW_PATH_MAX ||
	    size < fixed + ev->path_len)
		return -EINVAL;
	common(e, w, m, op == MW_FILE_OP_OPEN ? "file_open" : "file_change",
	       &ev->hdr, &ev->proc, &ev->server, false);
	file_write(w, "file", ev->path_len ? ev->path : NULL,
		   ev->path_len ? strnlen(ev->path, ev->path_len) : 0, ev->dev,
		   ev->ino, hooks[op]);
	if (op != MW_FILE_OP_OPEN)
		jw_str(w, "op", ops[op]);
	jw_close(w, '}');
	m->path = ev->path_len ? cstr(ev->path, ev->path_len) : NULL;
	verdict(e, w, m, ev->action, ev->rule_id, ev->server.profile, "files");
	if (op == MW_FILE_OP_OPEN)
		count_write(e, w, ai);
	if (m->path && !ai && op == MW_FILE_OP_OPEN)
		memo_put(ev->ino, ev->dev, ev->server.pid, m->path);
	return 0;
}

static int unix_write(struct events *e, struct jw *w, struct event_meta *m,
		      const struct mw_event_unix *ev)
{
	common(e, w, m, "network_connect", &ev->hdr, &ev->proc, &ev->server,
	       false);
	jw_safe(w, "action", event_action_str(ev->action));
	jw_open(w, "network", '{');
	jw_str(w, "family", "unix");
	jw_strn(w, "path", ev->path, strnlen(ev->path, sizeof(ev->path)));
	if (ev->ino) {
		jw_int(w, "dev_major", mw_kdev_major(ev->dev));
		jw_int(w, "dev_minor", mw_kdev_minor(ev->dev));
		jw_int(w, "inode", (__s64)ev->ino);
	}
	jw_str(w, "hook", ev->hook ? "lsm/unix_stream_connect" :
			  "cgroup/connect_unix");
	jw_close(w, '}');
	rule_write(w, m, ev->action,
		   event_rule_name(e, ev->rule_id, ev->server.profile, "unix",
				   ev->action, m->rule_buf, sizeof(m->rule_buf)));
	return 0;
}

/* The hook sees the class, not the system call (docs/events.md). */
static const char *const escape_names[MW_ESC_MAX] = {
	[MW_ESC_PTRACE] = "ptrace", [MW_ESC_BPF] = "bpf",
	[MW_ESC_PERF_EVENT] = "perf_event", [MW_ESC_MOUNT] = "mount",
	[MW_ESC_UMOUNT] = "umount", [MW_ESC_MODULE] = "module",
	[MW_ESC_KEXEC] = "kexec", [MW_ESC_KEYS] = "keys",
	[MW_ESC_USERNS] = "userns",
	[MW_ESC_HANDLE] = "handle",
};

static int syscall_write(struct events *e, struct jw *w, struct event_meta *m,
			 const struct mw_event_escape *ev)
{
	common(e, w, m, "process_syscall", &ev->hdr, &ev->proc, &ev->server,
	       false);
	jw_safe(w, "action", event_action_str(ev->action));
	jw_open(w, "syscall", '{');
	jw_str(w, "class", ev->escape < MW_ESC_MAX ? escape_names[ev->escape] :
			   "?");
	jw_close(w, '}');
	rule_write(w, m, ev->action,
		   profile_rule(e, m, ev->server.profile, "syscalls.deny"));
	return 0;
}

/* A tracked process signalled the agent or its guard (bpf/self.bpf.h). */
static int signal_write(struct events *e, struct jw *w, struct event_meta *m,
			const struct mw_event_signal *ev)
{
	const char *abbrev = sigabbrev_np(ev->sig);
	char name[32];

	common(e, w, m, "process_signal", &ev->hdr, &ev->proc, &ev->server,
	       false);
	jw_safe(w, "action", event_action_str(ev->action));
	jw_open(w, "signal", '{');
	jw_int(w, "number", ev->sig);
	snprintf(name, sizeof(name), "SIG%s", abbrev ? abbrev : "?");
	jw_str(w, "name", name);
	jw_int(w, "target_pid", ev->target);
	jw_str(w, "target", ev->who == MW_GUARDED_AGENT ? "agent" : "guard");
	jw_str(w, "hook", ev->hook ? "raw_tp/signal_generate" : "lsm/task_kill");
	jw_close(w, '}');
	rule_write(w, m, ev->action, "self_defense");
	return 0;
}

/*
 * A window's summary: the decision its key names, made count times, as
 * the event the first of them was, with "count", "first_time" and
 * "last_time" (docs/events.md).
 */
static int agg_write(struct events *e, struct jw *w, struct event_meta *m,
		     const struct mw_event_agg *a)
{
	static union {
		struct mw_event_net net;
		struct mw_event_file file;
		struct mw_event_fanotify fan;
	} r;
	const struct mw_agg_key *k = &a->key;
	struct agg_info ai = { a->count, a->first_time, a->last_time };
	struct mw_event_hdr hdr = { .type = k->type, .time = a->last_time };
	const char *path = memo_get(k->ino, k->dev, k->server.pid);
	size_t n = path ? strlen(path) + 1 : 0;

	switch (k->type) {
	case MW_EVENT_NET:
		memset(&r.net, 0, sizeof(r.net));
		r.net.hdr = hdr;
		r.net.proc = a->proc;
		r.net.server = k->server;
		memcpy(r.net.daddr, k->addr, sizeof(r.net.daddr));
		memcpy(r.net.checked, a->checked, sizeof(r.net.checked));
		r.net.dport = k->port;
		r.net.family = k->family;
		r.net.protocol = k->protocol;
		r.net.op = k->op;
		r.net.action = k->action;
		r.net.form = a->form;
		r.net.rule_id = k->rule_id;
		return net_write(e, w, m, &r.net, &ai);
	case MW_EVENT_FILE:
		if (n > sizeof(r.file.path))
			n = 0;
		memset(&r.file, 0, offsetof(struct mw_event_file, path));
		r.file.hdr = hdr;
		r.file.proc = a->proc;
		r.file.server = k->server;
		r.file.ino = k->ino;
		r.file.dev = k->dev;
		r.file.rule_id = k->rule_id;
		r.file.action = k->action;
		r.file.op = k->op;
		r.file.path_len = n;
		if (n)
			memcpy(r.file.path, path, n);
		return file_open_write(e, w, m, &r.file, sizeof(r.file), &ai);
	case MW_EVENT_FANOTIFY:
		if (n > MW_PATH_MAX)
			n = 0;
		memset(&r.fan, 0, offsetof(struct mw_event_fanotify, path));
		r.fan.hdr = hdr;
		r.fan.proc = a->proc;
		r.fan.server = k->server;
		r.fan.ino = k->ino;
		r.fan.dev = k->dev;
		r.fan.rule_id = k->rule_id;
		r.fan.action = k->action;
		r.fan.kind = k->op;
		r.fan.path_len = n;
		if (n)
			memcpy(r.fan.path, path, n);
		return fanotify_write(e, w, m, &r.fan, sizeof(r.fan), &ai);
	default:
		return -EINVAL;
	}
}

int event_write(struct events *e, const void *data, size_t size,
		struct jw *w, struct event_meta *m)
{
	const struct mw_event_hdr *h = data;
	int ret = -EINVAL;

	jw_reset(w);
	*m = (struct event_meta){ .action = MW_ACTION_NONE, .count = 1 };
	if (size < sizeof(*h) || h->size > size)
		return -EINVAL;
	switch (h->type) {
	case MW_EVENT_EXEC:
		ret = exec_write(e, w, m, data, size);
		break;
	case MW_EVENT_EXIT:
		if (size >= sizeof(struct mw_event_exit))
			ret = exit_write(e, w, m, data);
		break;
	case MW_EVENT_NET:
		if (size >= sizeof(struct mw_event_net))
			ret = net_write(e, w, m, data, NULL);
		break;
	case MW_EVENT_SOCKET:
		if (size >= sizeof(struct mw_event_socket))
			ret = socket_write(e, w, m, data);
		break;
	case MW_EVENT_FILE:
		ret = file_open_write(e, w, m, data, size, NULL);
		break;
	case MW_EVENT_FANOTIFY:
		ret = fanotify_write(e, w, m, data, size, NULL);
		break;
	case MW_EVENT_UNIX:
		if (size >= sizeof(struct mw_event_unix))
			ret = unix_write(e, w, m, data);
		break;
	case MW_EVENT_ESCAPE:
		if (size >= sizeof(struct mw_event_escape))
			ret = syscall_write(e, w, m, data);
		break;
	case MW_EVENT_SIGNAL:
		if (size >= sizeof(struct mw_event_signal))
			ret = signal_write(e, w, m, data);
		break;
	case MW_EVENT_AGG:
		if (size < sizeof(struct mw_event_agg))
			break;
		ret = agg_write(e, w, m, data);
		m->summary = true;
		m->count = ((const struct mw_event_agg *)data)->count;
		break;
	default:
		break;
	}
	if (ret)
		return ret;
	jw_close(w, '}');
	return w->oom ? -ENOMEM : 0;
}

json_object *event_from_record(struct events *e, const void *data,
			       size_t size, int *err)
{
	struct event_meta m;
	struct jw w = {};
	json_object *o = NULL;

	*err = event_write(e, data, size, &w, &m);
	if (!*err && !(o = jw_parse(&w)))
		*err = -EINVAL;
	jw_free(&w);
	return o;
}
