// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <unistd.h>
#include "output/agent_events.h"

json_object *agent_policy_json(const struct policy *p)
{
	json_object *o = json_object_new_object(), *names = json_object_new_array();
	size_t i;

	json_object_object_add(o, "source", json_object_new_string(p->source));
	json_object_object_add(o, "digest", json_object_new_string(p->digest));
	for (i = 0; i < p->nprofiles; i++)
		json_object_array_add(names,
				      json_object_new_string(p->profiles[i].name));
	json_object_object_add(o, "profiles", names);
	return o;
}

json_object *agent_event_start(const struct events *e,
			       const struct agent_start_info *i)
{
	json_object *o = event_new(e, "agent_start", 0);
	json_object *a = json_object_new_object();

	json_object_object_add(a, "version", json_object_new_string(MW_VERSION));
	json_object_object_add(a, "pid", json_object_new_int(getpid()));
	json_object_object_add(a, "kernel", json_object_new_string(i->kernel));
	json_object_object_add(a, "backend", i->backend);
	json_object_object_add(a, "cgroup", json_object_new_string(i->cgroup));
	json_object_object_add(a, "pin_dir", json_object_new_string(i->pin_dir));
	json_object_object_add(a, "socket", json_object_new_string(i->socket));
	json_object_object_add(a, "tracked_at_start",
			       json_object_new_int64(i->tracked));
	json_object_object_add(a, "tracked_capacity",
			       json_object_new_int64(i->tracked_capacity));
	json_object_object_add(a, "found_by_scan",
			       json_object_new_int(i->found_by_scan));
	json_object_object_add(a, "adopted", json_object_new_string(i->adopted));
	json_object_object_add(a, "stop_leaves_fence",
			       json_object_new_boolean(!i->cleanup_on_exit));
	json_object_object_add(o, "agent", a);
	json_object_object_add(o, "policy", agent_policy_json(i->policy));
	return o;
}

json_object *agent_event_stop(const struct events *e, int signal, __u64 lines,
			      bool left_in_force)
{
	json_object *o = event_new(e, "agent_stop", 0);
	json_object *a = json_object_new_object();

	json_object_object_add(a, "signal",
			       json_object_new_string(strsignal(signal)));
	json_object_object_add(a, "lines_written", json_object_new_int64(lines));
	json_object_object_add(a, "left_in_force",
			       json_object_new_boolean(left_in_force));
	json_object_object_add(o, "agent", a);
	return o;
}

json_object *agent_event_policy_load(const struct events *e,
				     const struct policy *p, __u32 gen)
{
	json_object *o = event_new(e, "policy_load", 0);

	json_object_object_add(o, "policy", agent_policy_json(p));
	json_object_object_add(o, "generation", json_object_new_int(gen));
	return o;
}

json_object *agent_event_policy_error(const struct events *e, const char *err,
				      const struct policy *running)
{
	json_object *o = event_new(e, "policy_error", 0);

	json_object_object_add(o, "error", json_object_new_string(err));
	json_object_object_add(o, "policy", running ?
			       agent_policy_json(running) : NULL);
	return o;
}

json_object *agent_event_policy_warning(const struct events *e,
					const char *msg)
{
	json_object *o = event_new(e, "policy_warning", 0);

	json_object_object_add(o, "message", json_object_new_string(msg));
	return o;
}

json_object *agent_event_tamper(const struct events *e, const char *object,
				int err)
{
	json_object *o = event_new(e, "agent_tamper", 0);
	json_object *t = json_object_new_object();

	json_object_object_add(t, "what", json_object_new_string("unpin"));
	json_object_object_add(t, "object", json_object_new_string(object));
	json_object_object_add(t, "repaired", json_object_new_boolean(!err));
	if (err)
		json_object_object_add(t, "error",
				       json_object_new_string(strerror(-err)));
	json_object_object_add(o, "tamper", t);
	return o;
}

json_object *agent_event_lost(const struct events *e, __u64 count,
			      __u64 total, const char *reason,
			      const char *sink)
{
	json_object *o = event_new(e, "events_lost", 0);
	json_object *l = json_object_new_object();

	json_object_object_add(l, "count", json_object_new_int64(count));
	json_object_object_add(l, "total", json_object_new_int64(total));
	json_object_object_add(l, "reason", json_object_new_string(reason));
	if (sink)
		json_object_object_add(l, "sink", json_object_new_string(sink));
	json_object_object_add(o, "lost", l);
	return o;
}
