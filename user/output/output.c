// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <unistd.h>
#include "lib/log.h"
#include "output/output.h"

/* Worth a syslog WARNING: a refusal, a loss, a failed reload. */
static bool notable(json_object *o, const char *type)
{
	json_object *a;
	const char *s;

	if (type && (!strcmp(type, "events_lost") || !strcmp(type, "policy_error")))
		return true;
	if (!json_object_object_get_ex(o, "action", &a))
		return false;
	s = json_object_get_string(a);
	return s && (!strcmp(s, "deny") || !strcmp(s, "kill"));
}

void output_emit_record(struct output *out, const struct jw *w,
			const struct event_meta *m)
{
	bool warn = m->action == MW_ACTION_DENY || m->action == MW_ACTION_KILL;
	json_object *o = NULL, *x = NULL;
	const char *line = w->buf;
	size_t len = w->len;

	metrics_count(&out->metrics, m->type, event_action_str(m->action),
		      m->count);
	/* OCSF maps the native object: parsed back, the slow path. */
	if (out->ocsf && (o = jw_parse(w)) &&
	    (x = ocsf_from_native(o, &out->ocsf_ctx))) {
		line = json_object_to_json_string_ext(x, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
		len = strlen(line);
	}
	sinks_write(&out->sinks, line, len, m->type, m->time, warn);
	out->lines++;
	json_object_put(x);
	json_object_put(o);
}

void output_emit(struct output *out, json_object *o)
{
	json_object *v, *x = NULL;
	const char *line, *type = NULL, *time = NULL;

	if (!o)
		return;
	metrics_observe(&out->metrics, o);
	if (json_object_object_get_ex(o, "type", &v))
		type = json_object_get_string(v);
	if (json_object_object_get_ex(o, "time", &v))
		time = json_object_get_string(v);
	if (out->ocsf)
		x = ocsf_from_native(o, &out->ocsf_ctx);
	line = json_object_to_json_string_ext(x ? x : o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	sinks_write(&out->sinks, line, strlen(line), type, time,
		    notable(o, type));
	out->lines++;
	json_object_put(x);
	json_object_put(o);
}

int output_open(struct output *out, const struct output_opts *o, int epfd,
		metrics_gauges_fn gauges, void *arg)
{
	char err[512];
	size_t i;
	int ret;

	gethostname(out->hostname, sizeof(out->hostname) - 1);
	out->ocsf = o->ocsf;
	out->ocsf_ctx.hostname = out->hostname;
	out->ocsf_ctx.version = MW_VERSION;
	metrics_init(&out->metrics, gauges, arg);
	for (i = 0; i < o->nspecs || (!i && !o->nspecs); i++) {
		ret = sinks_add(&out->sinks, o->nspecs ? o->specs[i] : "-",
				o->rotate_size, o->queue_size, err, sizeof(err));
		if (ret) {
			log_msg("%s", err);
			return ret;
		}
	}
	ret = sinks_open(&out->sinks, epfd, err, sizeof(err));
	if (ret) {
		log_msg("%s", err);
		return ret;
	}
	out->open = true;
	if (o->metrics_addr)
		return metrics_start(&out->metrics, o->metrics_addr, epfd);
	return 0;
}

void output_tick(struct output *out)
{
	sinks_tick(&out->sinks);
	sinks_flush(&out->sinks);
	metrics_loop(&out->metrics);
}

void output_close(struct output *out)
{
	metrics_stop(&out->metrics);
	sinks_drain(&out->sinks);
	sinks_close(&out->sinks);
	out->open = false;
}
