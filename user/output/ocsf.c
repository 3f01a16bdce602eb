// SPDX-License-Identifier: GPL-2.0-only
/*
 * OCSF 1.1 mapping. Process events become Process Activity (1007), file
 * events File System Activity (1001), network events Network Activity
 * (4001), the agent's start, stop and reloads Application Lifecycle (6002),
 * MCP tool calls API Activity (6003); what has no class (events_lost,
 * policy_error, policy_warning) is a Base Event (0) with a message. What
 * OCSF has no attribute for, the MCP server and the tool call an event
 * happened in first, goes to "unmapped" under its native name.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/fs.h"
#include "output/ocsf.h"

enum {
	SEV_INFO = 1, SEV_LOW = 2, SEV_MEDIUM = 3, SEV_HIGH = 4,
};

static const char *const severity_names[] = {
	"Unknown", "Informational", "Low", "Medium", "High", "Critical", "Fatal",
};

struct klass {
	int class_uid;
	const char *class_name;
	int category_uid;
	const char *category_name;
};

static const struct klass K_PROCESS = { 1007, "Process Activity", 1,
					"System Activity" };
static const struct klass K_FILE = { 1001, "File System Activity", 1,
				     "System Activity" };
static const struct klass K_NETWORK = { 4001, "Network Activity", 4,
					"Network Activity" };
static const struct klass K_APP = { 6002, "Application Lifecycle", 6,
				    "Application Activity" };
static const struct klass K_API = { 6003, "API Activity", 6,
				    "Application Activity" };
static const struct klass K_BASE = { 0, "Base Event", 0, "Uncategorized" };

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ?
	       json_object_get_string(v) : NULL;
}

static bool get_int(json_object *o, const char *key, __s64 *out)
{
	json_object *v = get(o, key);

	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static void add_str(json_object *o, const char *key, const char *s)
{
	if (s)
		json_object_object_add(o, key, json_object_new_string(s));
}

static void add_int(json_object *o, const char *key, __s64 v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

/* A borrowed child, copied by reference into @o if present. */
static void add_ref(json_object *o, const char *key, json_object *v)
{
	if (v)
		json_object_object_add(o, key, json_object_get(v));
}

int ocsf_time_ms(const char *s, __s64 *ms)
{
	struct tm tm = {};
	int n = 0, i;
	long frac = 0;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
			 &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &n) != 6 || n != 19)
		return -EINVAL;
	s += n;
	if (*s == '.') {
		for (i = 0, s++; *s >= '0' && *s <= '9'; s++, i++)
			if (i < 3)
				frac = frac * 10 + (*s - '0');
		for (; i < 3; i++)
			frac *= 10;
	}
	if (strcmp(s, "Z"))
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ms = (__s64)t * 1000 + frac;
	return 0;
}

static json_object *file_obj(const char *path)
{
	json_object *f = json_object_new_object();

	add_str(f, "name", base_name(path));
	add_str(f, "path", path);
	add_int(f, "type_id", 1);
	add_str(f, "type", "Regular File");
	return f;
}

/* OCSF process object from the native "process". */
static json_object *process_obj(json_object *np)
{
	json_object *p = json_object_new_object(), *args, *u, *parent;
	const char *exe = get_str(np, "exe"), *st = get_str(np, "start_time");
	char *cmd = NULL;
	size_t len = 0, i, n;
	FILE *f;
	__s64 v;

	if (get_int(np, "pid", &v))
		add_int(p, "pid", v);
	if (get_int(np, "tid", &v))
		add_int(p, "tid", v);
	add_str(p, "name", get_str(np, "comm"));
	args = get(np, "args");
	if (args && json_object_is_type(args, json_type_array) &&
	    (f = open_memstream(&cmd, &len))) {
		n = json_object_array_length(args);
		for (i = 0; i < n; i++)
			fprintf(f, "%s%s", i ? " " : "", json_object_get_string(
					json_object_array_get_idx(args, i)));
		fclose(f);
		add_str(p, "cmd_line", cmd);
		free(cmd);
	}
	if (exe)
		json_object_object_add(p, "file", file_obj(exe));
	if (get_int(np, "uid", &v)) {
		char buf[24];

		u = json_object_new_object();
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
		add_str(u, "uid", buf);
		json_object_object_add(p, "user", u);
	}
	if (st && !ocsf_time_ms(st, &v))
		add_int(p, "created_time", v);
	if (get_int(np, "ppid", &v)) {
		parent = json_object_new_object();
		add_int(parent, "pid", v);
		json_object_object_add(p, "parent_process", parent);
	}
	return p;
}

/* action_id, disposition_id and status_id of the security_control profile. */
static int add_disposition(json_object *o, const char *action)
{
	int act, disp, status, sev;
	const char *an, *dn;

	if (!action)
		return SEV_INFO;
	if (!strcmp(action, "deny") || !strcmp(action, "kill")) {
		act = 2, an = "Denied", disp = 2, dn = "Blocked";
		status = 2, sev = SEV_MEDIUM;
	} else if (!strcmp(action, "audit")) {
		act = 1, an = "Allowed", disp = 15, dn = "Detected";
		status = 1, sev = SEV_LOW;
	} else {
		act = 1, an = "Allowed", disp = 1, dn = "Allowed";
		status = 1, sev = SEV_INFO;
	}
	add_int(o, "action_id", act);
	add_str(o, "action", an);
	add_int(o, "disposition_id", disp);
	add_str(o, "disposition", dn);
	add_int(o, "status_id", status);
	add_str(o, "status", status == 1 ? "Success" : "Failure");
	return sev;
}

static json_object *header(const struct klass *k, int activity_id,
			   const char *activity_name, json_object *native,
			   const struct ocsf_ctx *c, bool security_control)
{
	json_object *o = json_object_new_object(), *m, *prod, *profs, *cnt;
	const char *t = get_str(native, "time");
	char buf[128];
	__s64 ms = 0;

	add_int(o, "class_uid", k->class_uid);
	add_str(o, "class_name", k->class_name);
	add_int(o, "category_uid", k->category_uid);
	add_str(o, "category_name", k->category_name);
	add_int(o, "activity_id", activity_id);
	add_str(o, "activity_name", activity_name);
	add_int(o, "type_uid", (__s64)k->class_uid * 100 + activity_id);
	snprintf(buf, sizeof(buf), "%s: %s", k->class_name, activity_name);
	add_str(o, "type_name", buf);
	if (t)
		ocsf_time_ms(t, &ms);
	add_int(o, "time", ms);
	/* Identical decisions aggregated: OCSF's own count and period. */
	if (json_object_object_get_ex(native, "count", &cnt)) {
		add_int(o, "count", json_object_get_int64(cnt));
		if (get_str(native, "first_time") &&
		    !ocsf_time_ms(get_str(native, "first_time"), &ms))
			add_int(o, "start_time", ms);
		if (get_str(native, "last_time") &&
		    !ocsf_time_ms(get_str(native, "last_time"), &ms))
			add_int(o, "end_time", ms);
	}
	m = json_object_new_object();
	add_str(m, "version", OCSF_SCHEMA_VERSION);
	prod = json_object_new_object();
	add_str(prod, "name", "mcpwarden");
	add_str(prod, "vendor_name", "mcpwarden");
	add_str(prod, "version", c->version);
	json_object_object_add(m, "product", prod);
	add_str(m, "original_time", t);
	add_str(m, "log_name", get_str(native, "type"));
	if (security_control) {
		profs = json_object_new_array();
		json_object_array_add(profs,
				      json_object_new_string("security_control"));
		json_object_object_add(m, "profiles", profs);
	}
	json_object_object_add(o, "metadata", m);
	return o;
}

static void set_severity(json_object *o, int sev)
{
	add_int(o, "severity_id", sev);
	add_str(o, "severity", severity_names[sev]);
}

static void add_device(json_object *o, const struct ocsf_ctx *c)
{
	json_object *d = json_object_new_object(), *os = json_object_new_object();

	add_str(d, "hostname", c->hostname);
	add_int(d, "type_id", 0);
	add_str(d, "type", "Unknown");
	add_str(os, "name", "Linux");
	add_int(os, "type_id", 200);
	add_str(os, "type", "Linux");
	json_object_object_add(d, "os", os);
	json_object_object_add(o, "device", d);
}

static void add_actor(json_object *o, json_object *np)
{
	json_object *a = json_object_new_object();

	json_object_object_add(a, "process", process_obj(np));
	json_object_object_add(o, "actor", a);
}

/* What OCSF has no attribute for, under its native name. */
static json_object *unmapped(json_object *native)
{
	json_object *u = json_object_new_object(), *np, *p;
	__s64 v;

	add_str(u, "type", get_str(native, "type"));
	add_ref(u, "mcp_server", get(native, "mcp_server"));
	add_ref(u, "mcp", get(native, "mcp"));
	add_str(u, "action", get_str(native, "action"));
	add_str(u, "rule", get_str(native, "rule"));
	np = get(native, "process");
	if (np) {
		p = json_object_new_object();
		if (get_int(np, "gid", &v))
			add_int(p, "gid", v);
		if (get_int(np, "cgroup_id", &v))
			add_int(p, "cgroup_id", v);
		add_ref(p, "args_truncated", get(np, "args_truncated"));
		json_object_object_add(u, "process", p);
	}
	return u;
}

static void add_message(json_object *o, json_object *native, const char *what)
{
	const char *type = get_str(native, "type"), *action;
	char buf[600];

	action = get_str(native, "action");
	snprintf(buf, sizeof(buf), "%s%s%s%s%s", type ? type : "event",
		 action ? " " : "", action ? action : "", what ? ": " : "",
		 what ? what : "");
	add_str(o, "message", buf);
}

static json_object *process_event(json_object *native, const struct ocsf_ctx *c,
				  bool exec)
{
	const char *action = get_str(native, "action");
	json_object *np = get(native, "process"), *o, *p, *u, *x, *ex;
	const char *path;
	__s64 v;
	int sev;

	o = header(&K_PROCESS, exec ? 1 : 2, exec ? "Launch" : "Terminate",
		   native, c, action != NULL);
	sev = add_disposition(o, action);
	set_severity(o, sev);
	p = process_obj(np);
	x = get(native, "exec");
	path = get_str(x, "path");
	if (path)	/* the file launched or refused */
		json_object_object_add(p, "file", file_obj(path));
	json_object_object_add(o, "process", p);
	add_actor(o, np);
	add_device(o, c);
	u = unmapped(native);
	add_ref(u, "exec", x);
	ex = get(native, "exit");
	if (ex) {
		if (get_int(ex, "code", &v))
			add_int(o, "exit_code", v);
		add_ref(u, "exit", ex);
	}
	add_message(o, native, path ? path : get_str(np, "exe"));
	json_object_object_add(o, "unmapped", u);
	return o;
}

/* OCSF File System Activity ids of a file_change's file.op. */
static int change_activity(const char *op, const char **name)
{
	if (op && !strcmp(op, "rename")) {
		*name = "Rename";
		return 5;
	}
	if (op && !strcmp(op, "unlink")) {
		*name = "Delete";
		return 4;
	}
	if (op && !strcmp(op, "create")) {
		*name = "Create";
		return 1;
	}
	if (op && !strcmp(op, "truncate")) {
		*name = "Update";
		return 3;
	}
	if (op && (!strcmp(op, "chmod") || !strcmp(op, "chown"))) {
		*name = "Set Security";
		return 7;
	}
	*name = "Other";	/* a hard link: no activity of its own */
	return 99;
}

static json_object *file_event(json_object *native, const struct ocsf_ctx *c,
			       const char *type)
{
	bool mmap = !strcmp(type, "file_mmap");
	const char *action = get_str(native, "action"), *aname = "Open";
	json_object *x = get(native, mmap ? "exec" : "file"), *o, *u;
	const char *path = get_str(x, "path");
	int activity = 14;

	if (mmap) {
		activity = 99;
		aname = "Other";
	} else if (!strcmp(type, "file_change")) {
		activity = change_activity(get_str(x, "op"), &aname);
	}
	o = header(&K_FILE, activity, aname, native, c, action != NULL);
	set_severity(o, add_disposition(o, action));
	json_object_object_add(o, "file", file_obj(path ? path : ""));
	add_actor(o, get(native, "process"));
	add_device(o, c);
	u = unmapped(native);
	add_ref(u, mmap ? "exec" : "file", x);
	add_message(o, native, path);
	json_object_object_add(o, "unmapped", u);
	return o;
}

static int proto_num(const char *p)
{
	if (!p)
		return -1;
	if (!strcmp(p, "tcp"))
		return 6;
	if (!strcmp(p, "udp"))
		return 17;
	if (!strcmp(p, "icmp"))
		return 1;
	if (!strcmp(p, "icmpv6"))
		return 58;
	return -1;
}

static json_object *network_event(json_object *native, const struct ocsf_ctx *c,
				  const char *type)
{
	const char *action = get_str(native, "action"), *proto, *fam, *daddr;
	json_object *n = get(native, "network"), *o, *u, *ci, *dst, *src;
	bool deny = action && !strcmp(action, "deny");
	bool raw = !strcmp(type, "network_socket");
	int activity;
	const char *aname;
	char what[128];
	__s64 v;

	if (raw)
		activity = 99, aname = "Other";
	else if (deny)
		activity = 5, aname = "Refuse";
	else if (!strcmp(type, "network_send"))
		activity = 6, aname = "Traffic";
	else
		activity = 1, aname = "Open";
	o = header(&K_NETWORK, activity, aname, native, c, action != NULL);
	set_severity(o, add_disposition(o, action));
	src = json_object_new_object();
	add_str(src, "hostname", c->hostname ? c->hostname : "localhost");
	json_object_object_add(o, "src_endpoint", src);
	daddr = get_str(n, "daddr");
	if (!raw) {
		dst = json_object_new_object();
		add_str(dst, "ip", daddr);
		if (get_int(n, "dport", &v))
			add_int(dst, "port", v);
		json_object_object_add(o, "dst_endpoint", dst);
	}
	ci = json_object_new_object();
	proto = get_str(n, "protocol");
	if (proto) {
		add_str(ci, "protocol_name", proto);
		if (proto_num(proto) >= 0)
			add_int(ci, "protocol_num", proto_num(proto));
	} else if (get_int(n, "protocol", &v)) {
		add_int(ci, "protocol_num", v);
	}
	fam = get_str(n, "family");
	add_int(ci, "protocol_ver_id", !fam ? 0 : !strcmp(fam, "ipv4") ? 4 :
		!strcmp(fam, "ipv6") ? 6 : 99);
	add_int(ci, "direction_id", 2);
	add_str(ci, "direction", "Outbound");
	json_object_object_add(o, "connection_info", ci);
	add_actor(o, get(native, "process"));
	add_device(o, c);
	u = unmapped(native);
	add_ref(u, "network", n);
	if (raw)
		snprintf(what, sizeof(what), "%s socket (%s)",
			 get_str(n, "socket_type") ?: "?", fam ? fam : "?");
	else
		snprintf(what, sizeof(what), "%s:%lld", daddr ? daddr : "?",
			 get_int(n, "dport", &v) ? (long long)v : 0LL);
	add_message(o, native, what);
	json_object_object_add(o, "unmapped", u);
	return o;
}

static json_object *agent_event(json_object *native, const struct ocsf_ctx *c,
				const char *type)
{
	json_object *o, *app, *u;
	int activity = 3;
	const char *aname = "Start";

	if (!strcmp(type, "agent_stop"))
		activity = 4, aname = "Stop";
	else if (!strcmp(type, "policy_load"))
		activity = 8, aname = "Update";
	o = header(&K_APP, activity, aname, native, c, false);
	set_severity(o, SEV_INFO);
	app = json_object_new_object();
	add_str(app, "name", "mcpwarden");
	add_str(app, "vendor_name", "mcpwarden");
	add_str(app, "version", c->version);
	json_object_object_add(o, "app", app);
	add_device(o, c);
	add_int(o, "status_id", 1);
	add_str(o, "status", "Success");
	add_message(o, native, NULL);
	u = unmapped(native);
	add_ref(u, "agent", get(native, "agent"));
	add_ref(u, "policy", get(native, "policy"));
	add_ref(u, "generation", get(native, "generation"));
	json_object_object_add(o, "unmapped", u);
	return o;
}

/*
 * A tool call's start or end: the client (actor.app_name) called
 * tools/call (api.operation) of the server (api.service.name, its
 * profile) on the tool (resources[0]); the outcome at the end is the
 * response and the status.
 */
static json_object *tool_call_event(json_object *native,
				    const struct ocsf_ctx *c)
{
	json_object *call = get(get(native, "mcp"), "call"), *id;
	const char *phase = get_str(native, "phase");
	const char *outcome = get_str(native, "outcome");
	const char *tool = get_str(call, "tool");
	json_object *o, *a, *api, *x, *res, *u;
	bool end = phase && !strcmp(phase, "end");
	__s64 v, denies = 0;
	char buf[300];
	int status = 0;

	o = header(&K_API, 99, "Other", native, c, false);
	get_int(native, "denies", &denies);
	set_severity(o, denies ? SEV_LOW : SEV_INFO);
	a = json_object_new_object();
	add_str(a, "app_name", get_str(call, "client"));
	json_object_object_add(o, "actor", a);
	api = json_object_new_object();
	add_str(api, "operation", "tools/call");
	x = json_object_new_object();
	id = get(call, "id");
	if (id)
		add_str(x, "uid", json_object_get_string(id));
	add_ref(x, "data", get(call, "arguments"));	/* mcp.arguments "full" */
	json_object_object_add(api, "request", x);
	x = json_object_new_object();
	add_str(x, "name", get_str(get(native, "mcp_server"), "profile"));
	json_object_object_add(api, "service", x);
	if (end) {
		x = json_object_new_object();
		add_str(x, "message", outcome);
		if (outcome && (!strcmp(outcome, "error") ||
				!strcmp(outcome, "tool_error")))
			add_str(x, "error", outcome);
		json_object_object_add(api, "response", x);
		status = !outcome ? 0 : !strcmp(outcome, "ok") ? 1 :
			 !strcmp(outcome, "error") ||
			 !strcmp(outcome, "tool_error") ? 2 : 99;
	}
	json_object_object_add(o, "api", api);
	if (end) {
		add_int(o, "status_id", status);
		add_str(o, "status", status == 1 ? "Success" :
			status == 2 ? "Failure" : status == 99 ? "Other" :
			"Unknown");
		if (get_int(native, "duration_ns", &v))
			add_int(o, "duration", v / 1000000);
	}
	res = json_object_new_array();
	x = json_object_new_object();
	add_str(x, "name", tool);
	add_str(x, "type", "MCP tool");
	json_object_array_add(res, x);
	json_object_object_add(o, "resources", res);
	x = json_object_new_object();
	add_str(x, "hostname", c->hostname ? c->hostname : "localhost");
	json_object_object_add(o, "src_endpoint", x);
	add_device(o, c);
	if (end)
		snprintf(buf, sizeof(buf), "%s (id %s) ended: %s, %lld denies",
			 tool ?: "?", id ? json_object_get_string(id) : "?",
			 outcome ?: "?", (long long)denies);
	else
		snprintf(buf, sizeof(buf), "%s (id %s) began",
			 tool ?: "?", id ? json_object_get_string(id) : "?");
	add_message(o, native, buf);
	u = unmapped(native);
	add_str(u, "phase", phase);
	add_str(u, "outcome", outcome);
	add_ref(u, "duration_ns", get(native, "duration_ns"));
	add_ref(u, "denies", get(native, "denies"));
	json_object_object_add(o, "unmapped", u);
	return o;
}

/*
 * events_lost, policy_error, policy_warning, agent_tamper, and any type
 * added later.
 */
static json_object *base_event(json_object *native, const struct ocsf_ctx *c,
			       const char *type)
{
	json_object *o, *u, *l = get(native, "lost");
	const char *what = get_str(native, "error") ?: get_str(native, "message");
	char buf[200];
	__s64 n = 0, t = 0;
	int sev = SEV_LOW;

	o = header(&K_BASE, 99, "Other", native, c, false);
	if (!strcmp(type, "events_lost")) {
		get_int(l, "count", &n);
		get_int(l, "total", &t);
		snprintf(buf, sizeof(buf), "%lld events lost (%s%s%s), %lld since start",
			 (long long)n, get_str(l, "reason") ?: "?",
			 get_str(l, "sink") ? ", sink " : "",
			 get_str(l, "sink") ?: "", (long long)t);
		what = buf;
		sev = SEV_MEDIUM;
	} else if (!strcmp(type, "policy_error")) {
		sev = SEV_MEDIUM;
	} else if (!strcmp(type, "agent_tamper")) {
		json_object *tp = get(native, "tamper");
		bool fixed = json_object_get_boolean(
			json_object_object_get(tp, "repaired"));

		snprintf(buf, sizeof(buf), "pinned %s removed while the agent ran; %s",
			 get_str(tp, "object") ?: "?",
			 fixed ? "pinned again" : "not pinned again");
		what = buf;
		sev = SEV_HIGH;
	}
	set_severity(o, sev);
	add_device(o, c);
	add_message(o, native, what);
	u = unmapped(native);
	json_object_object_foreach(native, key, val) {
		if (strcmp(key, "time") && strcmp(key, "type"))
			add_ref(u, key, val);
	}
	json_object_object_add(o, "unmapped", u);
	return o;
}

json_object *ocsf_from_native(json_object *native, const struct ocsf_ctx *c)
{
	const char *type = get_str(native, "type");

	if (!type)
		return NULL;
	if (!strcmp(type, "process_exec") || !strcmp(type, "process_exit"))
		return process_event(native, c, !strcmp(type, "process_exec"));
	if (!strcmp(type, "file_open") || !strcmp(type, "file_mmap") ||
	    !strcmp(type, "file_change"))
		return file_event(native, c, type);
	if (!strncmp(type, "network_", 8))
		return network_event(native, c, type);
	if (!strcmp(type, "agent_start") || !strcmp(type, "agent_stop") ||
	    !strcmp(type, "policy_load"))
		return agent_event(native, c, type);
	if (!strcmp(type, "mcp_tool_call"))
		return tool_call_event(native, c);
	return base_event(native, c, type);
}
