/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A validated policy: what policy.c makes of a JSON document. Knows nothing
 * of libbpf; maps.c compiles it into map entries.
 */
#ifndef MW_POLICY_H
#define MW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "mcpwarden.h"

#define POLICY_VERSION		1
#define POLICY_ERR_MAX		512

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

/* One exec rule: a binary, or a directory and everything beneath it. */
struct exec_rule {
	char *path;		/* absolute, as written */
	__u8 action;		/* enum mw_action */
	__u32 id;		/* index into policy.rule_names */
};

/* A file or directory (everything beneath), or a unix socket path. */
struct file_rule {
	char *path;		/* absolute; "~/" expanded for every user */
	__u8 action;		/* enum mw_action */
	__u32 id;		/* index into policy.rule_names */
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
	struct exec_rule *exec;	/* deny, audit and allow entries */
	size_t nexec;
	bool exec_allowlist;	/* "allow" given: nothing else may run */
	__u8 fileless;		/* enum mw_action for memfd / deleted files */
	struct file_rule *files;	/* deny, audit and allow */
	size_t nfiles;
	bool files_allowlist;	/* "allow" given: confinement */
	char **syscalls;	/* denied system calls, by name */
	size_t nsyscalls;
	__u32 syscalls_id;	/* the rule id of profiles.P.syscalls.deny */
	struct file_rule *unix_rules;	/* unix socket paths, deny or audit */
	size_t nunix;
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
};

struct policy_opts {
	const char *resolv_conf;	/* for the "nameservers" set; NULL: /etc/resolv.conf */
	const char *cgroup_root;	/* cgroup v2 mount, for relative cgroup paths */
	const char *passwd;		/* whose homes "~/" means; NULL: /etc/passwd */
};

/*
 * Parse and validate @len bytes of JSON named @source. On error returns a
 * negative errno and writes one line to @err: "source:line: json.path: why".
 * Warnings (rules that can never match) go to @warn_cb, if set.
 */
int policy_parse(const char *text, size_t len, const char *source,
		 const struct policy_opts *opts, struct policy **out,
		 char *err, size_t errlen,
		 void (*warn_cb)(const char *msg, void *arg), void *warn_arg);
int policy_load_file(const char *path, const struct policy_opts *opts,
		     struct policy **out, char *err, size_t errlen,
		     void (*warn_cb)(const char *msg, void *arg), void *warn_arg);
/* The policy compiled into the binary (policy/default.json). */
int policy_load_default(const struct policy_opts *opts, struct policy **out,
			char *err, size_t errlen);
const char *policy_default_text(size_t *len);
const struct profile *policy_profile(const struct policy *p, const char *name);
void policy_free(struct policy *p);

/* Parse "a.b.c.d[/n]" or "v6[/n]" into IPv6 form; 0 or -EINVAL. */
int cidr_parse(const char *s, __u8 addr[16], __u8 *plen);
/* Format an IPv6-form address: IPv4-mapped ones as dotted quads. */
void addr_format(const __u8 addr[16], char *buf, size_t len);

#endif /* MW_POLICY_H */
