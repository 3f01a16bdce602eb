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

static void add_int(json_object *o, const char *k, __s64 v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

/* The image and argv of process @ppid, from the cache or /proc. */
static const struct proc_info *parent_image(struct events *e, __u32 ppid)
{
	const struct proc_info *ci = proc_cache_get_pid(e->cache, ppid);
	struct proc_info pi;

	if (ci || !ppid || proc_read(e->proc_root, ppid, &pi))
		return ci;
	if (proc_cache_put(e->cache, ppid, pi.start_time, pi.exe, pi.args))
		return NULL;
	return proc_cache_get_pid(e->cache, ppid);
}

/* "process": kernel facts, then exe and args from the cache or /proc. */
static json_object *process_json(struct events *e, const struct mw_process *p)
{
	json_object *o = json_object_new_object(), *args;
	const struct proc_info *ci, *pi_parent;
	const char *exe;
	struct proc_info pi;
	char buf[48];

	add_int(o, "pid", p->pid);
	add_int(o, "tid", p->tid);
	add_int(o, "ppid", p->ppid);
	add_int(o, "uid", p->uid);
	add_int(o, "gid", p->gid);
	json_object_object_add(o, "comm",
			       json_string_bytes(p->comm,
						 strnlen(p->comm, sizeof(p->comm))));
	time_format((__s64)p->start_time + e->boot_to_real, buf,
			   sizeof(buf));
	add_str(o, "start_time", buf);
	add_int(o, "cgroup_id", (__s64)p->cgroup_id);

	ci = proc_cache_get(e->cache, p->pid, p->start_time);
	if (!ci && proc_read(e->proc_root, p->pid, &pi) == 0) {
		if (mw_same_start(pi.start_time, p->start_time)) {
			proc_cache_put(e->cache, p->pid, p->start_time,
				       pi.exe, pi.args);
			ci = proc_cache_get(e->cache, p->pid, p->start_time);
		} else {
			proc_info_clear(&pi);
		}
	}
	/*
	 * Gone before its event was written, and never exec'd (every exec of
	 * a tracked process is in the cache): a fork of its parent (a
	 * spawn() whose exec was refused), which runs the parent's image
	 * with the parent's argv.
	 */
	pi_parent = !ci || !ci->exe || !ci->args ? parent_image(e, p->ppid) : NULL;
	exe = ci && ci->exe ? ci->exe : pi_parent ? pi_parent->exe : NULL;
	args = ci && ci->args ? ci->args : pi_parent ? pi_parent->args : NULL;
	if (exe)
		add_str(o, "exe", exe);
	if (args)
		json_object_object_add(o, "args", json_object_get(args));
	return o;
}

static json_object *server_json(struct events *e, const struct mw_server *s)
{
	json_object *o = json_object_new_object();
	const char *name = e->profile_name ? e->profile_name(e->arg, s->profile) : NULL;
	char buf[48];

	add_str(o, "profile", name ? name : "(removed)");
	add_int(o, "pid", s->pid);
	time_format((__s64)s->start_time + e->boot_to_real, buf,
			   sizeof(buf));
	add_str(o, "start_time", buf);
	add_str(o, "source", event_source_str(s->source));
	return o;
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

static void k8s_json(struct events *e, json_object *o,
		     const struct mw_process *p)
{
	const struct k8s_info *k = k8s_lookup(e, p);
	json_object *c, *kk;

	if (!k)
		return;
	c = json_object_new_object();
	add_str(c, "id", k->container_id);
	json_object_object_add(o, "container", c);
	if (!k->namespace[0] && !k->pod_uid[0])
		return;
	kk = json_object_new_object();
	if (k->namespace[0]) {
		add_str(kk, "namespace", k->namespace);
		add_str(kk, "pod", k->pod);
		add_str(kk, "container", k->container);
	}
	if (k->pod_uid[0])
		add_str(kk, "pod_uid", k->pod_uid);
	json_object_object_add(o, "k8s", kk);
}

static json_object *common(struct events *e, const char *type,
			   const struct mw_event_hdr *h,
			   const struct mw_process *p, const struct mw_server *s)
{
	json_object *o = event_new(e, type, h->time);

	json_object_object_add(o, "process", process_json(e, p));
	json_object_object_add(o, "mcp_server", server_json(e, s));
	k8s_json(e, o, p);
	return o;
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

/* "rule": the policy rule by its path, or the profile's default. */
static void add_rule(struct events *e, json_object *o, __u32 rule_id,
		     __u32 profile, const char *section, __u8 action)
{
	char buf[160];

	add_str(o, "rule", event_rule_name(e, rule_id, profile, section, action,
					   buf, sizeof(buf)));
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

static json_object *exec_file_json(const char *path, __u32 dev_major,
				   __u32 dev_minor, __u64 ino, const char *hook)
{
	json_object *x = json_object_new_object();

	if (path)
		json_object_object_add(x, "path", json_string_bytes(path,
								    strlen(path)));
	add_int(x, "dev_major", dev_major);
	add_int(x, "dev_minor", dev_minor);
	add_int(x, "inode", (__s64)ino);
	add_str(x, "hook", hook);
	return x;
}

static json_object *exec_json(struct events *e, const struct mw_event_exec *ev,
			      size_t size)
{
	size_t fixed = offsetof(struct mw_event_exec, data);
	json_object *o, *proc, *args = NULL, *x;
	char *exe = NULL;

	if (size < fixed || ev->exe_len > MW_PATH_MAX ||
	    ev->args_len > MW_ARGS_MAX ||
	    size < fixed + ev->exe_len + ev->args_len)
		return NULL;
	if (ev->exe_len)
		exe = strndup(ev->data, ev->exe_len);
	if (ev->hook != MW_HOOK_EXEC_TP) {
		/* Refused before the exec: the process keeps its old image. */
		o = common(e, ev->hook == MW_HOOK_MMAP_FILE ? "file_mmap" :
			   "process_exec", &ev->hdr, &ev->proc, &ev->server);
		x = exec_file_json(exe, mw_kdev_major(ev->exe_dev), mw_kdev_minor(ev->exe_dev),
				   ev->exe_ino, hook_str(ev->hook));
		free(exe);
		/* The argv the refused execve() was given (bprm_check). */
		if (ev->args_len)
			args = proc_args_json(ev->data + ev->exe_len,
					      ev->args_len);
		if (args) {
			json_object_object_add(x, "args", json_object_get(args));
			if (ev->args_truncated)
				json_object_object_add(x, "args_truncated",
						       json_object_new_boolean(1));
		}
	} else {
		args = proc_args_json(ev->data + ev->exe_len, ev->args_len);
		/* The exec replaced the image: what the cache knew is stale. */
		proc_cache_put(e->cache, ev->proc.pid, ev->proc.start_time, exe,
			       args ? json_object_get(args) : NULL);
		o = common(e, "process_exec", &ev->hdr, &ev->proc, &ev->server);
		if (json_object_object_get_ex(o, "process", &proc) &&
		    ev->args_truncated)
			json_object_object_add(proc, "args_truncated",
					       json_object_new_boolean(1));
		x = exec_file_json(NULL, mw_kdev_major(ev->exe_dev), mw_kdev_minor(ev->exe_dev),
				   ev->exe_ino, hook_str(ev->hook));
	}
	if (ev->fileless)
		json_object_object_add(x, "fileless", json_object_new_boolean(1));
	json_object_object_add(o, "exec", x);
	if (ev->action != MW_ACTION_NONE) {
		add_str(o, "action", event_action_str(ev->action));
		add_rule(e, o, ev->rule_id, ev->server.profile, "exec",
			 ev->action);
	}
	if (args)
		json_object_put(args);
	return o;
}

/*
 * A verdict of the fanotify fence (kernels without BPF-LSM): an exec
 * refused before it starts, or an open, by a file rule or of a denied
 * binary. Its process was read by the answerer before it answered.
 */
static json_object *fanotify_json(struct events *e,
				  const struct mw_event_fanotify *ev,
				  size_t size)
{
	size_t fixed = offsetof(struct mw_event_fanotify, path);
	bool exec = ev->kind == MW_FAN_EXEC;
	const char *exe = ev->path + ev->path_len;
	json_object *o;

	if (size < fixed || ev->path_len > MW_PATH_MAX ||
	    ev->exe_len > MW_PATH_MAX || ev->args_len > MW_ARGS_MAX ||
	    size < fixed + ev->path_len + ev->exe_len + ev->args_len ||
	    (ev->path_len && ev->path[ev->path_len - 1]) ||
	    (ev->exe_len && exe[ev->exe_len - 1]))
		return NULL;
	/*
	 * What the answerer read of the requester while it waited, for a
	 * process the cache does not know: what an exec event captured is
	 * the kernel's, a later read of /proc the process's own to rewrite.
	 */
	if ((ev->exe_len || ev->args_len) &&
	    !proc_cache_get(e->cache, ev->proc.pid, ev->proc.start_time))
		proc_cache_put(e->cache, ev->proc.pid, ev->proc.start_time,
			       ev->exe_len ? strdup(exe) : NULL,
			       ev->args_len ? proc_args_json(exe + ev->exe_len,
							     ev->args_len) : NULL);
	o = common(e, exec ? "process_exec" : "file_open", &ev->hdr, &ev->proc,
		   &ev->server);
	json_object_object_add(o, exec ? "exec" : "file", exec_file_json(
		ev->path_len ? ev->path : NULL, mw_kdev_major(ev->dev),
		mw_kdev_minor(ev->dev), ev->ino,
		exec ? "fanotify/FAN_OPEN_EXEC_PERM" : "fanotify/FAN_OPEN_PERM"));
	add_str(o, "action", event_action_str(ev->action));
	add_rule(e, o, ev->rule_id, ev->server.profile,
		 ev->kind == MW_FAN_OPEN ? "files" : "exec", ev->action);
	return o;
}

static json_object *exit_json(struct events *e, const struct mw_event_exit *ev)
{
	json_object *o = common(e, "process_exit", &ev->hdr, &ev->proc,
				&ev->server);
	json_object *x = json_object_new_object();
	__u32 st = ev->exit_code;

	if (st & 0x7f) {
		add_int(x, "signal", st & 0x7f);
		json_object_object_add(x, "core_dumped",
				       json_object_new_boolean(!!(st & 0x80)));
	} else {
		add_int(x, "code", (st >> 8) & 0xff);
	}
	json_object_object_add(o, "exit", x);
	proc_cache_del(e->cache, ev->proc.pid);
	return o;
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

static json_object *net_json(struct events *e, const struct mw_event_net *ev)
{
	const char *type = ev->op == MW_NET_SENDMSG ? "network_send" :
						      "network_connect";
	json_object *o = common(e, type, &ev->hdr, &ev->proc, &ev->server);
	json_object *n = json_object_new_object();
	char addr[INET6_ADDRSTRLEN];

	add_str(o, "action", event_action_str(ev->action));
	addr_format(ev->daddr, addr, sizeof(addr));
	add_str(n, "daddr", addr);
	add_int(n, "dport", ev->dport);
	add_str(n, "protocol", proto_str(ev->protocol));
	add_str(n, "family", ev->family == AF_INET6 ? "ipv6" : "ipv4");
	if (ev->form != MW_FORM_NATIVE) {
		addr_format(ev->checked, addr, sizeof(addr));
		add_str(n, "checked", addr);
		add_str(n, "form", form_str(ev->form));
	}
	json_object_object_add(o, "network", n);
	add_rule(e, o, ev->rule_id, ev->server.profile, "network", ev->action);
	return o;
}

static json_object *socket_json(struct events *e,
				const struct mw_event_socket *ev)
{
	json_object *o = common(e, "network_socket", &ev->hdr, &ev->proc,
				&ev->server);
	json_object *n = json_object_new_object();
	char buf[96];

	add_str(o, "action", event_action_str(ev->action));
	add_str(n, "family", ev->family == AF_PACKET ? "packet" :
			     ev->family == AF_INET6 ? "ipv6" :
			     ev->family == AF_INET ? "ipv4" : "other");
	add_str(n, "socket_type", ev->type == SOCK_RAW ? "raw" :
				  ev->type == SOCK_PACKET ? "packet" :
				  ev->type == SOCK_DGRAM ? "dgram" : "other");
	add_int(n, "protocol", ev->protocol);
	json_object_object_add(o, "network", n);
	snprintf(buf, sizeof(buf), "profiles.%s.network.raw_sockets",
		 e->profile_name ? (e->profile_name(e->arg, ev->server.profile) ?: "?") : "?");
	add_str(o, "rule", buf);
	return o;
}

static json_object *file_json(struct events *e, const struct mw_event_file *ev,
			      size_t size)
{
	size_t fixed = offsetof(struct mw_event_file, path);
	json_object *o;

	if (size < fixed || ev->path_len > MW_PATH_MAX ||
	    size < fixed + ev->path_len)
		return NULL;
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
	json_object *f;
	__u8 op = ev->op <= MW_FILE_OP_CHOWN ? ev->op : MW_FILE_OP_OPEN;

	o = common(e, op == MW_FILE_OP_OPEN ? "file_open" : "file_change",
		   &ev->hdr, &ev->proc, &ev->server);
	f = exec_file_json(ev->path_len ? ev->path : NULL,
			   mw_kdev_major(ev->dev), mw_kdev_minor(ev->dev),
			   ev->ino, hooks[op]);
	if (op != MW_FILE_OP_OPEN)
		add_str(f, "op", ops[op]);
	json_object_object_add(o, "file", f);
	add_str(o, "action", event_action_str(ev->action));
	add_rule(e, o, ev->rule_id, ev->server.profile, "files", ev->action);
	return o;
}

static json_object *unix_json(struct events *e, const struct mw_event_unix *ev)
{
	json_object *o = common(e, "network_connect", &ev->hdr, &ev->proc,
				&ev->server);
	json_object *n = json_object_new_object();

	add_str(o, "action", event_action_str(ev->action));
	add_str(n, "family", "unix");
	json_object_object_add(n, "path", json_string_bytes(ev->path,
		strnlen(ev->path, sizeof(ev->path))));
	if (ev->ino) {
		add_int(n, "dev_major", mw_kdev_major(ev->dev));
		add_int(n, "dev_minor", mw_kdev_minor(ev->dev));
		add_int(n, "inode", (__s64)ev->ino);
	}
	add_str(n, "hook", ev->hook ? "lsm/unix_stream_connect" :
			   "cgroup/connect_unix");
	json_object_object_add(o, "network", n);
	add_rule(e, o, ev->rule_id, ev->server.profile, "unix", ev->action);
	return o;
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

static json_object *syscall_json(struct events *e,
				 const struct mw_event_escape *ev)
{
	json_object *o = common(e, "process_syscall", &ev->hdr, &ev->proc,
				&ev->server);
	json_object *x = json_object_new_object();
	const char *pname = e->profile_name ?
			    e->profile_name(e->arg, ev->server.profile) : NULL;
	char buf[128];

	add_str(o, "action", event_action_str(ev->action));
	add_str(x, "class", ev->escape < MW_ESC_MAX ? escape_names[ev->escape] :
			    "?");
	json_object_object_add(o, "syscall", x);
	snprintf(buf, sizeof(buf), "profiles.%s.syscalls.deny",
		 pname ? pname : "?");
	add_str(o, "rule", buf);
	return o;
}

/* A tracked process signalled the agent or its guard (bpf/self.bpf.h). */
static json_object *signal_json(struct events *e,
				const struct mw_event_signal *ev)
{
	json_object *o = common(e, "process_signal", &ev->hdr, &ev->proc,
				&ev->server);
	json_object *x = json_object_new_object();
	const char *abbrev = sigabbrev_np(ev->sig);
	char name[32];

	add_str(o, "action", event_action_str(ev->action));
	add_int(x, "number", ev->sig);
	snprintf(name, sizeof(name), "SIG%s", abbrev ? abbrev : "?");
	add_str(x, "name", name);
	add_int(x, "target_pid", ev->target);
	add_str(x, "target", ev->who == MW_GUARDED_AGENT ? "agent" : "guard");
	add_str(x, "hook", ev->hook ? "raw_tp/signal_generate" : "lsm/task_kill");
	json_object_object_add(o, "signal", x);
	add_str(o, "rule", "self_defense");
	return o;
}

json_object *event_from_record(struct events *e, const void *data,
			       size_t size, int *err)
{
	const struct mw_event_hdr *h = data;
	json_object *o = NULL;

	*err = -EINVAL;
	if (size < sizeof(*h) || h->size > size)
		return NULL;
	switch (h->type) {
	case MW_EVENT_EXEC:
		o = exec_json(e, data, size);
		break;
	case MW_EVENT_EXIT:
		if (size >= sizeof(struct mw_event_exit))
			o = exit_json(e, data);
		break;
	case MW_EVENT_NET:
		if (size >= sizeof(struct mw_event_net))
			o = net_json(e, data);
		break;
	case MW_EVENT_SOCKET:
		if (size >= sizeof(struct mw_event_socket))
			o = socket_json(e, data);
		break;
	case MW_EVENT_FILE:
		o = file_json(e, data, size);
		break;
	case MW_EVENT_FANOTIFY:
		o = fanotify_json(e, data, size);
		break;
	case MW_EVENT_UNIX:
		if (size >= sizeof(struct mw_event_unix))
			o = unix_json(e, data);
		break;
	case MW_EVENT_ESCAPE:
		if (size >= sizeof(struct mw_event_escape))
			o = syscall_json(e, data);
		break;
	case MW_EVENT_SIGNAL:
		if (size >= sizeof(struct mw_event_signal))
			o = signal_json(e, data);
		break;
	default:
		break;
	}
	if (o)
		*err = 0;
	return o;
}
