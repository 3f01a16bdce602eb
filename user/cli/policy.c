// SPDX-License-Identifier: GPL-2.0-only
/* `mcpwarden policy check|default`: validation only, nothing changes. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "kernel/mounts.h"
#include "lib/hostenv.h"
#include "policy/policy.h"

static void print_policy_warning(const char *msg, void *arg)
{
	fprintf(stderr, "warning: %s\n", msg);
	(*(int *)arg)++;
}

int cmd_policy(int argc, char **argv)
{
	char err[POLICY_ERR_MAX], root[256];
	struct policy *p = NULL;
	struct policy_env env;
	struct hostenv h;
	int warnings = 0, ret;
	size_t len = 0;

	if (argc < 2)
		return bad_usage("policy", "missing subcommand: check FILE or default");
	if (!strcmp(argv[1], "default")) {
		if (argc != 2)
			return bad_usage("policy default", "unexpected argument \"%s\"",
					 argv[2]);
		const char *text = policy_default_text(&len);

		fwrite(text, 1, len, stdout);
		return 0;
	}
	if (strcmp(argv[1], "check"))
		return bad_usage("policy", "unknown subcommand \"%s\"", argv[1]);
	if (argc != 3)
		return bad_usage("policy check", argc < 3 ? "missing FILE%s" :
				 "unexpected argument \"%s\"",
				 argc < 3 ? "" : argv[3]);
	/* What the agent would read of this host; cgroup2 found, not mounted. */
	ret = hostenv_read(&h, "/etc/resolv.conf", "/etc/passwd");
	if (ret) {
		fprintf(stderr, "policy check: reading /etc/resolv.conf and /etc/passwd: %s\n",
			strerror(-ret));
		return 1;
	}
	policy_env_init(&env, &h,
			cgroup2_find(root, sizeof(root)) ? NULL : root);
	ret = policy_load_file(argv[2], &env, err, sizeof(err),
			       print_policy_warning, &warnings, &p);
	hostenv_free(&h);
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%s: ok: %zu profile%s, %zu rule%s, %d warning%s, sha256 %s\n",
	       argv[2], p->nprofiles, p->nprofiles == 1 ? "" : "s",
	       p->nrule_names, p->nrule_names == 1 ? "" : "s", warnings,
	       warnings == 1 ? "" : "s", p->digest);
	policy_free(p);
	return 0;
}
