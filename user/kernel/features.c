// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/landlock.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "kernel/features.h"

#define MW_BPF_CGROUP_UNIX_CONNECT	49	/* Linux 6.7 */

static const struct bpf_insn ret1[] = {
	{ .code = 0xb7, .dst_reg = 0, .imm = 1 },	/* r0 = 1 */
	{ .code = 0x95 },				/* exit */
};

static struct probe prog_probe(enum bpf_prog_type type,
			       enum bpf_attach_type attach, __u32 btf_id)
{
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = attach,
		    .attach_btf_id = btf_id);
	struct probe p = {};
	int fd;

	fd = bpf_prog_load(type, NULL, "GPL", ret1, 2, &o);
	if (fd < 0) {
		p.err = -errno;
		return p;
	}
	close(fd);
	p.ok = true;
	return p;
}

static struct probe lsm_probe(void)
{
	struct probe p = { .err = -ENOENT };
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		return p;
	id = btf__find_by_name_kind(btf, "bpf_lsm_bprm_check_security",
				    BTF_KIND_FUNC);
	btf__free(btf);
	if (id <= 0)
		return p;	/* kernel built without CONFIG_BPF_LSM */
	return prog_probe(BPF_PROG_TYPE_LSM, BPF_LSM_MAC, id);
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, len, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

void features_probe(struct features *f)
{
	struct utsname u;
	struct stat st;
	int fd;

	memset(f, 0, sizeof(*f));
	if (!uname(&u))
		snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
	f->btf = !stat("/sys/kernel/btf/vmlinux", &st);
	read_line("/sys/kernel/security/lsm", f->lsms, sizeof(f->lsms));
	f->raw_tp = prog_probe(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, 0);
	f->cgroup_sock_addr = prog_probe(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
					 BPF_CGROUP_INET4_CONNECT, 0);
	f->cgroup_sock_create = prog_probe(BPF_PROG_TYPE_CGROUP_SOCK,
					   BPF_CGROUP_INET_SOCK_CREATE, 0);
	f->cgroup_connect_unix = prog_probe(BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
					    MW_BPF_CGROUP_UNIX_CONNECT, 0);
	f->lsm = lsm_probe();
	/* Loadable is not enough: "bpf" must be among the active LSMs. */
	if (f->lsm.ok && f->lsms[0] && !strstr(f->lsms, "bpf")) {
		f->lsm.ok = false;
		f->lsm.err = -ENOTSUP;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);
	f->ringbuf.ok = fd >= 0;
	f->ringbuf.err = fd >= 0 ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	f->bpf_loop.ok = libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
						 BPF_FUNC_loop, NULL) > 0;
	fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
	f->fanotify_perm.ok = fd >= 0;
	f->fanotify_perm.err = fd >= 0 ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	f->landlock_abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
				  LANDLOCK_CREATE_RULESET_VERSION);
	if (f->landlock_abi < 0)
		f->landlock_abi = 0;
	f->seccomp = prctl(PR_GET_SECCOMP) >= 0;
}

int backend_parse(const char *s, enum backend_req *out)
{
	if (!strcmp(s, "auto"))
		*out = BACKEND_AUTO;
	else if (!strcmp(s, "lsm"))
		*out = BACKEND_LSM;
	else if (!strcmp(s, "fallback"))
		*out = BACKEND_FALLBACK;
	else
		return -EINVAL;
	return 0;
}

int backend_check(const struct features *f, enum backend_req req, char *err,
		  size_t errlen)
{
	if (!f->raw_tp.ok || !f->cgroup_sock_addr.ok || !f->ringbuf.ok ||
	    !f->bpf_loop.ok) {
		snprintf(err, errlen, "this kernel cannot run mcpwarden: raw tracepoint %s, cgroup sock_addr %s, ring buffer %s, bpf_loop %s (Linux 5.17+ with BTF needed)",
			 f->raw_tp.ok ? "ok" : strerror(-f->raw_tp.err),
			 f->cgroup_sock_addr.ok ? "ok" : strerror(-f->cgroup_sock_addr.err),
			 f->ringbuf.ok ? "ok" : strerror(-f->ringbuf.err),
			 f->bpf_loop.ok ? "ok" : "missing");
		return -ENOTSUP;
	}
	if (req == BACKEND_LSM && !f->lsm.ok) {
		snprintf(err, errlen, "--backend lsm: BPF-LSM programs cannot load here (%s): the kernel needs CONFIG_BPF_LSM=y and \"bpf\" in the lsm= boot parameter (active: %s)",
			 strerror(-f->lsm.err), f->lsms[0] ? f->lsms : "unknown");
		return -ENOTSUP;
	}
	return 0;
}

static json_object *probe_json(struct probe p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "available", json_object_new_boolean(p.ok));
	if (!p.ok && p.err)
		json_object_object_add(o, "error",
				       json_object_new_string(strerror(-p.err)));
	return o;
}

static void hook(json_object *o, const char *name, const char *mech,
		 const char *note)
{
	json_object *h = json_object_new_object();

	json_object_object_add(h, "mechanism",
			       mech ? json_object_new_string(mech) : NULL);
	json_object_object_add(h, "covered", json_object_new_boolean(!!mech));
	if (note)
		json_object_object_add(h, "note", json_object_new_string(note));
	json_object_object_add(o, name, h);
}

bool backend_exec_lsm(const struct features *f, enum backend_req req)
{
	return req == BACKEND_LSM || (req == BACKEND_AUTO && f->lsm.ok);
}

json_object *features_backend_json(const struct features *f,
				   enum backend_req req)
{
	json_object *o = json_object_new_object();
	bool lsm = backend_exec_lsm(f, req);

	hook(o, "tracking", "raw_tp/sched_process_fork+exec+exit", NULL);
	hook(o, "network_connect", "cgroup/connect4+connect6", NULL);
	hook(o, "network_send", "cgroup/sendmsg4+sendmsg6", NULL);
	hook(o, "raw_socket", f->cgroup_sock_create.ok ? "cgroup/sock_create" : NULL,
	     NULL);
	if (lsm)
		hook(o, "unix_connect", "lsm/unix_stream_connect (by socket inode)",
		     NULL);
	else if (f->cgroup_connect_unix.ok)
		hook(o, "unix_connect", "cgroup/connect_unix (by the path the caller gives)",
		     "a connect through another name (a symlink, /proc/self/root) is not recognised without BPF-LSM");
	else
		hook(o, "unix_connect", NULL,
		     "needs Linux 6.7+ (cgroup/connect_unix) or BPF-LSM");
	if (lsm)
		hook(o, "exec", "lsm/bprm_check_security+mmap_file; raw_tp/sched_process_exec+SIGKILL for busybox applets",
		     NULL);
	else
		hook(o, "exec", f->fanotify_perm.ok ?
		     "fanotify FAN_OPEN_EXEC_PERM+FAN_OPEN_PERM on denied binaries and directories; raw_tp/sched_process_exec+SIGKILL for fileless, new directories, allow-lists and busybox applets" :
		     "raw_tp/sched_process_exec+SIGKILL",
		     "allow-lists: the wrapper also applies a Landlock execute rule set; auto-detected servers get the SIGKILL backstop only");
	if (lsm)
		hook(o, "file_open", "lsm/file_open", NULL);
	else
		hook(o, "file_open", f->fanotify_perm.ok ?
		     "fanotify FAN_OPEN_PERM on protected files and directory trees" : NULL,
		     "confinement (files.allow): the wrapper's Landlock rule set only; auto-detected servers are not confined without BPF-LSM");
	hook(o, "file_change", lsm ?
	     "lsm/inode_rename, inode_link, inode_unlink, inode_rmdir, inode_create, inode_mkdir, inode_symlink, inode_mknod; lsm/file_open for files.readonly" :
	     NULL,
	     lsm ? NULL :
	     "renames, links, removals and writes (files.readonly) of protected files need BPF-LSM; a renamed-away object keeps its rule");
	hook(o, "syscalls", lsm ?
	     "lsm/ptrace_access_check, bpf, perf_event_open, sb_mount, sb_umount, kernel_load_data, kernel_read_file, key_alloc, userns_create, capable (open_by_handle_at), inode_unlink/rmdir/rename on bpffs; seccomp from the wrapper" :
	     "seccomp filter installed by the wrapper",
	     lsm ? "setns is refused by the wrapper's seccomp filter only" :
	     "auto-detected servers (no wrapper) are not covered without BPF-LSM");
	hook(o, "self_defense", lsm ? "lsm/task_kill (signals to the agent and its guard refused)" :
	     "raw_tp/signal_generate (the sender of a signal to the agent or its guard is killed)",
	     lsm ? NULL : "the signal itself is delivered: a stop leaves the fence in force, a stopped answerer is answered for, a killed guard is replaced");
	json_object_object_add(o, "requested",
			       json_object_new_string(req == BACKEND_LSM ? "lsm" :
						      req == BACKEND_FALLBACK ? "fallback" :
						      "auto"));
	json_object_object_add(o, "lsm_available",
			       json_object_new_boolean(f->lsm.ok));
	return o;
}

json_object *features_json(const struct features *f)
{
	json_object *o = json_object_new_object(), *p = json_object_new_object();

	json_object_object_add(o, "kernel", json_object_new_string(f->kernel));
	json_object_object_add(o, "btf", json_object_new_boolean(f->btf));
	json_object_object_add(o, "lsm_list", json_object_new_string(f->lsms));
	json_object_object_add(p, "raw_tracepoint", probe_json(f->raw_tp));
	json_object_object_add(p, "cgroup_sock_addr",
			       probe_json(f->cgroup_sock_addr));
	json_object_object_add(p, "cgroup_sock_create",
			       probe_json(f->cgroup_sock_create));
	json_object_object_add(p, "cgroup_connect_unix",
			       probe_json(f->cgroup_connect_unix));
	json_object_object_add(p, "bpf_lsm", probe_json(f->lsm));
	json_object_object_add(p, "ringbuf", probe_json(f->ringbuf));
	json_object_object_add(p, "bpf_loop", probe_json(f->bpf_loop));
	json_object_object_add(p, "fanotify_permission",
			       probe_json(f->fanotify_perm));
	json_object_object_add(p, "landlock_abi",
			       json_object_new_int(f->landlock_abi));
	json_object_object_add(p, "seccomp", json_object_new_boolean(f->seccomp));
	json_object_object_add(o, "probes", p);
	json_object_object_add(o, "hooks", features_backend_json(f, BACKEND_AUTO));
	return o;
}
