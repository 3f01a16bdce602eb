// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/landlock.h>
#include "wrapper/confine.h"

#define FS_READ		(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE	(LANDLOCK_ACCESS_FS_WRITE_FILE | \
			 LANDLOCK_ACCESS_FS_REMOVE_DIR | \
			 LANDLOCK_ACCESS_FS_REMOVE_FILE | \
			 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
			 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
			 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
			 LANDLOCK_ACCESS_FS_MAKE_SYM)
#define FS_FILE_RIGHTS	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
			 LANDLOCK_ACCESS_FS_WRITE_FILE)

/* The ELF interpreter is opened for execution too: it must be allowed. */
static const char *const loaders[] = {
	"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1", NULL,
};

/* What a confined server may read anyway: the system, as in maps.c. */
static const char *const system_ro[] = {
	"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/sys", NULL,
};
static const char *const system_rw[] = { "/proc", "/dev", NULL };

/*
 * The other calls of the ptrace class (docs/policy.md): reading or writing
 * another process's memory, taking its descriptors.
 */
static const char *const ptrace_class[] = {
	"process_vm_readv", "process_vm_writev", "pidfd_getfd", NULL,
};

/* Rights the rule set handles; a rule may grant no others (EINVAL). */
static __u64 handled;

static int add_path(int ruleset, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr pb = {
		.allowed_access = access & handled,
	};
	struct stat st;
	int ret;

	pb.parent_fd = open(path, O_PATH | O_CLOEXEC);
	if (pb.parent_fd < 0)
		return -errno;
	/* A file takes only the rights a file can have. */
	if (!fstat(pb.parent_fd, &st) && !S_ISDIR(st.st_mode))
		pb.allowed_access &= FS_FILE_RIGHTS;
	ret = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
		      &pb, 0) ? -errno : 0;
	close(pb.parent_fd);
	return ret;
}

static int add_list(int ruleset, json_object *list, __u64 access, char *err,
		    size_t errlen)
{
	size_t i, n = list ? json_object_array_length(list) : 0;
	const char *path;
	int ret;

	for (i = 0; i < n; i++) {
		path = json_object_get_string(json_object_array_get_idx(list, i));
		/* A path missing here cannot be used anyway. */
		if (path && (ret = add_path(ruleset, path, access)) &&
		    ret != -ENOENT) {
			snprintf(err, errlen, "Landlock rule for \"%s\": %s", path,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static json_object *get_array(json_object *resp, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(resp, key, &v) &&
	    json_object_is_type(v, json_type_array))
		return v;
	return NULL;
}

static int landlock_apply(json_object *exec_allow, json_object *files_allow,
			  char *err, size_t errlen)
{
	struct landlock_ruleset_attr attr = {};
	size_t i;
	int rs, ret;

	if (exec_allow)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_EXECUTE;
	if (files_allow)
		attr.handled_access_fs |= FS_READ | FS_WRITE;
	/*
	 * Neither: a domain for its own sake. Landlock lets no process in a
	 * domain ptrace one outside it, which covers /proc/PID/mem,
	 * process_vm_*() and pidfd_getfd() of every process not the server's
	 * (ptrace_may_access()). Handling the making of block devices, with
	 * no rule, costs a server nothing.
	 */
	if (!attr.handled_access_fs)
		attr.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_BLOCK;
	handled = attr.handled_access_fs;
	rs = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0) {
		ret = -errno;
		snprintf(err, errlen, "Landlock is not available (%s)",
			 strerror(-ret));
		return ret;
	}
	ret = add_list(rs, exec_allow, LANDLOCK_ACCESS_FS_EXECUTE, err, errlen);
	if (!ret)
		ret = add_list(rs, files_allow, FS_READ | FS_WRITE |
			       LANDLOCK_ACCESS_FS_EXECUTE, err, errlen);
	if (ret)
		goto out;
	for (i = 0; exec_allow && loaders[i]; i++)
		add_path(rs, loaders[i], LANDLOCK_ACCESS_FS_EXECUTE | FS_READ);
	for (i = 0; files_allow && system_ro[i]; i++)
		add_path(rs, system_ro[i], FS_READ | LANDLOCK_ACCESS_FS_EXECUTE);
	for (i = 0; files_allow && system_rw[i]; i++)
		add_path(rs, system_rw[i], FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_landlock_restrict_self, rs, 0)) {
		ret = -errno;
		snprintf(err, errlen, "applying the Landlock rule set: %s",
			 strerror(-ret));
	}
out:
	close(rs);
	return ret;
}

/*
 * EPERM for each named system call. A denied unshare or setns also refuses
 * clone() with a namespace flag, and clone3() (whose flags seccomp cannot
 * read) gets ENOSYS, so that libc falls back to clone().
 */
static int deny_call(scmp_filter_ctx ctx, const char *name)
{
	int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not on this architecture */
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
}

static int seccomp_apply(json_object *deny, bool ptrace, char *err,
			 size_t errlen)
{
	static const unsigned long ns_flags[] = {
		CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
		CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
	};
	size_t i, n = json_object_array_length(deny);
	bool ns = false;
	scmp_filter_ctx ctx;
	const char *name;
	int ret = 0;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, errlen, "seccomp: cannot create a filter");
		return -ENOMEM;
	}
	for (i = 0; i < n && !ret; i++) {
		name = json_object_get_string(json_object_array_get_idx(deny, i));
		ret = deny_call(ctx, name);
		ns |= name && (!strcmp(name, "unshare") || !strcmp(name, "setns"));
	}
	for (i = 0; ptrace && !ret && ptrace_class[i]; i++)
		ret = deny_call(ctx, ptrace_class[i]);
	for (i = 0; ns && !ret && i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
				       1, SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i],
						  ns_flags[i]));
	if (ns && !ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	if (!ret)
		ret = seccomp_load(ctx);
	if (ret)
		snprintf(err, errlen, "seccomp filter: %s", strerror(-ret));
	seccomp_release(ctx);
	return ret;
}

static bool listed(json_object *list, const char *name)
{
	size_t i, n = list ? json_object_array_length(list) : 0;
	const char *s;

	for (i = 0; i < n; i++) {
		s = json_object_get_string(json_object_array_get_idx(list, i));
		if (s && !strcmp(s, name))
			return true;
	}
	return false;
}

int confine_apply(json_object *resp, char *err, size_t errlen)
{
	json_object *exec_allow = get_array(resp, "exec_allow");
	json_object *files_allow = get_array(resp, "files_allow");
	json_object *deny = get_array(resp, "syscalls_deny");
	bool ptrace = listed(deny, "ptrace");
	int ret = 0;

	if (exec_allow || files_allow) {
		ret = landlock_apply(exec_allow, files_allow, err, errlen);
	} else if (ptrace && landlock_apply(NULL, NULL, err, errlen)) {
		/* No Landlock here: the filter below still refuses the calls. */
		fprintf(stderr, "mcpwarden exec: %s: /proc/PID/mem of other processes stays open to the server\n",
			err);
		err[0] = '\0';
	}
	if (deny && json_object_array_length(deny)) {
		char serr[256];
		int sret = seccomp_apply(deny, ptrace, serr, sizeof(serr));

		if (sret && !ret) {
			snprintf(err, errlen, "%s", serr);
			ret = sret;
		}
	}
	return ret;
}
