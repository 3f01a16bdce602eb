/* SPDX-License-Identifier: GPL-2.0-only */
/* What this kernel supports, probed per hook, and the backend chosen. */
#ifndef MW_FEATURES_H
#define MW_FEATURES_H

#include <stdbool.h>
#include <json-c/json.h>

enum backend_req {
	BACKEND_AUTO = 0,
	BACKEND_LSM,
	BACKEND_FALLBACK,
};

struct probe {
	bool ok;
	int err;		/* -errno of the failed probe */
};

struct features {
	char kernel[65];
	bool btf;
	char lsms[256];		/* /sys/kernel/security/lsm */
	struct probe raw_tp;
	struct probe cgroup_sock_addr;
	struct probe cgroup_sock_create;
	struct probe cgroup_connect_unix;	/* Linux 6.7+ */
	struct probe lsm;			/* BPF-LSM program load */
	struct probe ringbuf;
	struct probe bpf_loop;
	struct probe fanotify_perm;
	int landlock_abi;			/* 0: none */
	bool seccomp;
};

void features_probe(struct features *f);
int backend_parse(const char *s, enum backend_req *out);
/*
 * Check @req against @f. For "lsm" where BPF-LSM cannot load: -ENOTSUP and
 * a message in @err naming the kernel option and boot flag.
 */
int backend_check(const struct features *f, enum backend_req req, char *err,
		  size_t errlen);
/* Does the exec fence use BPF-LSM under @req? */
bool backend_exec_lsm(const struct features *f, enum backend_req req);
/* Per hook: what guards it under @req, and what is not covered. */
json_object *features_backend_json(const struct features *f,
				   enum backend_req req);
json_object *features_json(const struct features *f);

#endif /* MW_FEATURES_H */
