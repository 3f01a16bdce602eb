// SPDX-License-Identifier: GPL-2.0-only
/* Policy loads: at start, on SIGHUP, when the policy file or resolv.conf changes. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "daemon/state.h"
#include "kernel/scan.h"
#include "lib/hostenv.h"
#include "lib/hostpath.h"
#include "lib/log.h"
#include "output/agent_events.h"

static void warn_event(const char *msg, void *arg)
{
	struct daemon *d = arg;

	log_msg("policy: %s", msg);
	if (d->out.open)
		daemon_emit(d, agent_event_policy_warning(&d->ev, msg));
}

void reload_warn_stderr(const char *msg, void *arg)
{
	log_msg("policy: %s", msg);
}

int reload_load(struct daemon *d, struct policy **out, char *err,
		size_t errlen, bool quiet)
{
	char passwd[PATH_MAX];
	struct policy_env env;
	struct hostenv h;
	int ret;

	/* Read at every load: a change of resolv.conf is one reason for it. */
	*out = NULL;
	ret = hostenv_read(&h, d->resolv_conf,
			   host_path("/etc/passwd", passwd));
	if (ret) {
		snprintf(err, errlen, "reading %s and /etc/passwd: %s",
			 d->resolv_conf, strerror(-ret));
		return ret;
	}
	policy_env_init(&env, &h, d->cgroup_root);
	if (!d->o->policy_path)
		ret = policy_load_default(&env, err, errlen, out);
	else
		ret = policy_load_file(d->o->policy_path, &env, err, errlen,
				       quiet ? NULL : reload_warn_stderr, d,
				       out);
	hostenv_free(&h);
	return ret;
}

/* files.readonly needs BPF-LSM: fanotify cannot tell a write open. */
static void warn_readonly(struct daemon *d, void (*warn)(const char *, void *))
{
	char msg[256];
	size_t i, k;

	for (i = 0; !d->exec_lsm && i < d->policy->nprofiles; i++)
		for (k = 0; k < d->policy->profiles[i].nfiles; k++)
			if (d->policy->profiles[i].files[k].readonly) {
				snprintf(msg, sizeof(msg), "profiles.%s.files.readonly: not enforced on this kernel (it needs BPF-LSM: fanotify cannot tell a write from a read)",
					 d->policy->profiles[i].name);
				warn(msg, d);
				break;
			}
}

/* The exec and file fence for the policy just put in force. */
void reload_apply_exec(struct daemon *d, void (*warn)(const char *, void *))
{
	int ret;

	warn_readonly(d, warn);
	if (!d->exec_lsm && fence_active(&d->fence)) {
		ret = fence_apply(&d->fence, maps_active(&d->maps), warn, d);
		if (ret)
			log_msg("exec fence: marking the policy's files: %s; execs are stopped after the fact (SIGKILL) only",
				strerror(-ret));
	}
	watch_rule_paths(d);
}

bool policy_has_k8s(const struct policy *p)
{
	size_t i;

	for (i = 0; p && i < p->nprofiles; i++)
		if (p->profiles[i].has_k8s)
			return true;
	return false;
}

static bool policy_has_cgroups(const struct policy *p)
{
	size_t i;

	for (i = 0; p && i < p->nprofiles; i++)
		if (p->profiles[i].ncgroups)
			return true;
	return false;
}

void reload_run(struct daemon *d)
{
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX];
	int ret;

	ret = reload_load(d, &p, err, sizeof(err), true);
	if (!ret)
		ret = maps_apply(&d->maps, p, err, sizeof(err), warn_event, d);
	if (ret) {
		log_msg("policy reload failed, the running policy stays: %s", err);
		daemon_emit(d, agent_event_policy_error(&d->ev, err, d->policy));
		policy_free(p);
		return;
	}
	policy_free(d->policy);
	d->policy = p;
	reload_apply_exec(d, warn_event);
	daemon_session_flags(d);
	/* Newly selected cgroups: their running processes are tracked now. */
	if (policy_has_k8s(p) || policy_has_cgroups(p))
		scan_proc(&d->maps, NULL, d->cgroup_root);
	daemon_save_state(d);	/* new rule names */
	daemon_emit(d, agent_event_policy_load(&d->ev, p, d->maps.active_gen));
}
