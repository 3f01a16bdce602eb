/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A validated policy: what policy/ makes of a JSON document. Knows nothing
 * of libbpf and reads no host file but the policy; kernel/compile.c
 * compiles it into map entries.
 */
#ifndef MW_POLICY_H
#define MW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "mcpwarden.h"

#define POLICY_VERSION		1
#define POLICY_ERR_MAX		512
#define POLICY_LAUNCHERS_MAX	64	/* entries of "launchers" */

/* One network rule after set expansion: a prefix, ports, protocol, action. */
struct net_rule {
	__u8 addr[16];		/* IPv6; IPv4 as ::ffff:a.b.c.d, host bits 0 */
	__u8 plen;		/* 0..128, in IPv6 bits (IPv4 /n is 96 + n) */
	__u8 action;		/* enum mw_action */
	__u8 protocol;		/* 0 any, 6 tcp, 17 udp */
	__u8 pad;
	__u16 port_lo;		/* 0 and 65535 for any port */
	__u16 port_hi;
	__u32 id;		/* index into policy.rule_names */
};

/*
 * An exec, file or unix rule: a file, a directory and everything beneath
 * it, or a unix socket's path. Absolute; "~/" of files and unix rules is
 * expanded for every user.
 */
/* deny > readonly (a deny of writes) > audit > allow. */
static inline int path_rule_strictness(__u8 action, bool readonly)
{
	return 2 * action - (readonly ? 1 : 0);
}

struct path_rule {
	char *path;
	__u8 action;		/* enum mw_action */
	bool readonly;		/* files.readonly: a deny of writes only */
	bool in_home;		/* "~/name": directly in a home directory */
	__u32 id;		/* index into policy.rule_names */
};

/*
 * A tool fence: "tools.PATTERN" (an exact tool name, or a prefix and '*')
 * or "idle" (pattern NULL): network rules that narrow the profile's while
 * that tool runs, or while none runs (mcpwarden.h, mw_tool_rules).
 */
struct tool_fence {
	char *pattern;
	__u8 net_default;	/* MW_ACTION_ALLOW when not given */
	__u32 default_id;	/* the rule id of its network.default, or ~0 */
	struct net_rule *net;
	size_t nnet;
};

struct profile {
	char *name;
	__u8 mode;		/* enum mw_mode */
	__u8 net_default;	/* enum mw_action */
	bool deny_raw;		/* raw and packet sockets */
	char **detect;		/* patterns: "exact", "prefix*", "*suffix" */
	size_t ndetect;
	char **cgroups;		/* cgroup v2 paths, absolute */
	size_t ncgroups;
	/* select.k8s: shell patterns; NULL matches anything. */
	bool has_k8s;
	char *k8s_namespace, *k8s_pod, *k8s_container;
	struct net_rule *net;
	size_t nnet;
	struct path_rule *exec;	/* deny, audit and allow entries */
	size_t nexec;
	bool exec_allowlist;	/* "allow" given: nothing else may run */
	__u8 fileless;		/* enum mw_action for memfd / deleted files */
	__u8 writable;		/* enum mw_action for binaries the user may write */
	struct path_rule *files;	/* deny, audit and allow */
	size_t nfiles;
	bool files_allowlist;	/* "allow" given: confinement */
	char **syscalls;	/* denied system calls, by name */
	size_t nsyscalls;
	__u32 syscalls_id;	/* the rule id of profiles.P.syscalls.deny */
	struct path_rule *unix_rules;	/* unix socket paths, deny or audit */
	size_t nunix;
	struct tool_fence *tools;	/* "tools", in the document's order */
	size_t ntools;
	struct tool_fence *idle;	/* "idle", or NULL */
	bool serialize_calls;	/* mcp.serialize_calls: one tool call at a time */
	bool arguments_full;	/* mcp.arguments "full": in the start events */
	char **redact;		/* mcp.redact, or the default list if not given */
	size_t nredact;
};

struct policy {
	int version;
	struct profile *profiles;
	size_t nprofiles;
	char **rule_names;	/* "profiles.P.network.deny[2] (metadata)" */
	size_t nrule_names;
	char digest[65];	/* sha256 of the document, hex */
	char *source;		/* file name, or "built-in" */
	char *cgroup_root;	/* where select.k8s finds containers' cgroups */
	char **launchers;	/* "launchers", if has_launchers; else the */
	size_t nlaunchers;	/* built-in list (kernel/compile.c) */
	bool has_launchers;
};

struct cidr;
struct hostenv;

/*
 * What the policy means on this host, read by the caller (lib/hostenv.h):
 * parsing does no I/O of its own. A NULL env, or a zeroed one: cgroups
 * under /sys/fs/cgroup, no nameservers, no homes.
 */
struct policy_env {
	/* Relative cgroup paths are joined to it, never looked up. */
	const char *cgroup_root;	/* NULL: /sys/fs/cgroup */
	/* The "nameservers" set: the nameserver lines of resolv_conf. */
	const struct cidr *nameservers;
	size_t nnameservers;
	const char *resolv_conf;	/* for warnings; NULL: none read */
	int resolv_err;			/* errno of reading it, or 0 */
	char *const *homes;		/* what "~/" means: every user's home */
	size_t nhomes;
	const unsigned int *uids;	/* what "{uid}" means: their uids */
	size_t nuids;
};

/* @env with the data of @h (NULL: none) and @cgroup_root; @env borrows. */
void policy_env_init(struct policy_env *env, const struct hostenv *h,
		     const char *cgroup_root);

/*
 * Parse and validate @len bytes of JSON named @source. On error returns a
 * negative errno and writes one line to @err: "source:line: json.path: why".
 * Warnings (rules that can never match) go to @warn_cb, if set.
 */
int policy_parse(const char *text, size_t len, const char *source,
		 const struct policy_env *env, char *err, size_t errlen,
		 void (*warn_cb)(const char *msg, void *arg), void *warn_arg,
		 struct policy **ret_policy);
/* The same for the file @path: the one read of the parse stage. */
int policy_load_file(const char *path, const struct policy_env *env,
		     char *err, size_t errlen,
		     void (*warn_cb)(const char *msg, void *arg), void *warn_arg,
		     struct policy **ret_policy);
/* The policy compiled into the binary (policy/default.json). */
int policy_load_default(const struct policy_env *env, char *err,
			size_t errlen, struct policy **ret_policy);
const char *policy_default_text(size_t *len);
const struct profile *policy_profile(const struct policy *p, const char *name);
void policy_free(struct policy *p);

#endif /* MW_POLICY_H */
