// SPDX-License-Identifier: GPL-2.0-only
/*
 * /metrics and /healthz. Counters come from the events the agent writes
 * (so a metric and the event stream never disagree); gauges are asked of the
 * daemon at each scrape. libmicrohttpd runs in "external select" mode with
 * epoll: no thread, MHD_run from the loop when its epoll fd is ready.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#ifndef MW_NO_HTTPD
#include <microhttpd.h>
#endif
#include "lib/hostport.h"
#include "lib/jsonstr.h"
#include "lib/log.h"
#include "lib/time.h"
#include "output/metrics.h"

int metrics_parse_addr(const char *s, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN], port[8];

	memset(ss, 0, sizeof(*ss));
	if (hostport_split(s, host, sizeof(host), port, sizeof(port)))
		return -EINVAL;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(atoi(port));
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(port));
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static struct metrics_reason *reason_slot(struct metrics *m, const char *r)
{
	size_t i;

	for (i = 0; i < m->nlost; i++)
		if (!strcmp(m->lost[i].reason, r))
			return &m->lost[i];
	if (m->nlost >= METRICS_REASONS_MAX)
		return NULL;
	snprintf(m->lost[m->nlost].reason, sizeof(m->lost[0].reason), "%s", r);
	m->lost[m->nlost].n = 0;
	return &m->lost[m->nlost++];
}

void metrics_init(struct metrics *m, metrics_gauges_fn fn, void *arg)
{
	memset(m, 0, sizeof(*m));
	m->src.kind = EP_METRICS;
	m->gauges = fn;
	m->arg = arg;
	m->last_loop_ms = time_mono_ms();
	m->hit_static = true;
	/* Every reason is a series from the start, at 0. */
	reason_slot(m, "ring_buffer_full");
	reason_slot(m, "ring_buffer_routine");
	reason_slot(m, "tracked_map_full");
	reason_slot(m, "sink_full");
	reason_slot(m, "sink_error");
	reason_slot(m, "rotated");
	reason_slot(m, "fence_report");
	reason_slot(m, "call_log");
}

void metrics_count(struct metrics *m, const char *type, const char *action,
		   __u64 decisions)
{
	struct metrics_series *s = NULL;
	size_t i;

	if (!action)
		action = "none";
	/* A flood is one series: no string compared for its repeats. */
	if (m->hit && m->hit_type == type && m->hit_action == action) {
		m->hit->n++;
		m->hit->decisions += decisions;
		return;
	}
	for (i = 0; i < m->nev && !s; i++)
		if ((m->ev[i].type_ptr == type && m->ev[i].action_ptr == action) ||
		    (!strcmp(m->ev[i].type, type) &&
		     !strcmp(m->ev[i].action, action)))
			s = &m->ev[i];
	if (!s && m->nev < METRICS_SERIES_MAX) {
		s = &m->ev[m->nev++];
		snprintf(s->type, sizeof(s->type), "%s", type);
		snprintf(s->action, sizeof(s->action), "%s", action);
	}
	if (!s)
		return;
	s->n++;
	s->decisions += decisions;
	if (m->hit_static) {
		s->type_ptr = type;
		s->action_ptr = action;
	}
	m->hit = s;
	m->hit_type = type;
	m->hit_action = action;
}

void metrics_observe(struct metrics *m, json_object *native)
{
	const char *type = json_get_str(native, "type"), *reason;
	struct metrics_reason *r;
	json_object *l, *c;

	if (!type)
		return;
	m->hit_static = false;	/* its strings are the object's, soon freed */
	metrics_count(m, type, json_get_str(native, "action"), 1);
	m->hit_static = true;
	m->hit = NULL;
	if (!strcmp(type, "agent_start") || !strcmp(type, "policy_load"))
		m->policy_loads++;
	else if (!strcmp(type, "policy_error"))
		m->policy_errors++;
	else if (!strcmp(type, "events_lost") &&
		 json_object_object_get_ex(native, "lost", &l) &&
		 (reason = json_get_str(l, "reason")) &&
		 json_object_object_get_ex(l, "count", &c) &&
		 (r = reason_slot(m, reason)))
		r->n += json_object_get_int64(c);
}

/* A label value: backslash, quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one unlabelled integer sample. */
static void one(FILE *f, const char *name, const char *type,
		const char *help, unsigned long long v)
{
	head(f, name, type, help);
	fprintf(f, "%s %llu\n", name, v);
}

int metrics_render(struct metrics *m, char **buf, size_t *len)
{
	struct metrics_gauges g = {};
	FILE *f;
	size_t i;

	if (m->gauges)
		m->gauges(m->arg, &g);
	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	head(f, "mcpwarden_events_total", "counter",
	     "Events written, by type and action (\"none\" for events without one).");
	for (i = 0; i < m->nev; i++) {
		fputs("mcpwarden_events_total{type=\"", f);
		label(f, m->ev[i].type);
		fputs("\",action=\"", f);
		label(f, m->ev[i].action);
		fprintf(f, "\"} %llu\n", (unsigned long long)m->ev[i].n);
	}
	head(f, "mcpwarden_decisions_total", "counter",
	     "Decisions the events stand for (an aggregated event counts its repeats), by type and action.");
	for (i = 0; i < m->nev; i++) {
		fputs("mcpwarden_decisions_total{type=\"", f);
		label(f, m->ev[i].type);
		fputs("\",action=\"", f);
		label(f, m->ev[i].action);
		fprintf(f, "\"} %llu\n", (unsigned long long)m->ev[i].decisions);
	}
	head(f, "mcpwarden_events_lost_total", "counter",
	     "Events lost, by reason, as reported in events_lost events.");
	for (i = 0; i < m->nlost; i++) {
		fputs("mcpwarden_events_lost_total{reason=\"", f);
		label(f, m->lost[i].reason);
		fprintf(f, "\"} %llu\n", (unsigned long long)m->lost[i].n);
	}
	one(f, "mcpwarden_tracked_processes", "gauge",
	    "Processes in the tracked-process map.",
	    g.tracked);
	one(f, "mcpwarden_tracked_map_max_entries", "gauge",
	    "Capacity of the tracked-process map.",
	    g.tracked_max);
	head(f, "mcpwarden_tracked_map_fill_ratio", "gauge",
	     "Tracked-process map entries divided by its capacity.");
	fprintf(f, "mcpwarden_tracked_map_fill_ratio %.6f\n",
		g.tracked_max ? (double)g.tracked / g.tracked_max : 0.0);
	one(f, "mcpwarden_policy_generation", "gauge",
	    "Map generation of the policy in force.",
	    g.generation);
	one(f, "mcpwarden_policy_loads_total", "counter",
	    "Policies put in force (the start-up one included).",
	    m->policy_loads);
	one(f, "mcpwarden_policy_errors_total", "counter",
	    "Reloads refused (policy_error events).",
	    m->policy_errors);
	if (g.fanotify) {
		head(f, "mcpwarden_fanotify_answers_total", "counter",
		     "Permission requests answered by the fanotify exec fence.");
		fprintf(f, "mcpwarden_fanotify_answers_total{answer=\"allow\"} %llu\n",
			(unsigned long long)g.fanotify_allowed);
		fprintf(f, "mcpwarden_fanotify_answers_total{answer=\"deny\"} %llu\n",
			(unsigned long long)g.fanotify_denied);
		one(f, "mcpwarden_fanotify_taken_over_total", "counter",
		    "Requests one answerer answered for the other, stopped or gone.",
		    g.fanotify_taken_over);
		one(f, "mcpwarden_fanotify_unjudged_total", "counter",
		    "Requests of tracked processes refused because no rule could be found for them.",
		    g.fanotify_unjudged);
	}
	head(f, "mcpwarden_aggregation_window_seconds", "gauge",
	     "Identical decisions within this window are one event and a count (0: off).");
	fprintf(f, "mcpwarden_aggregation_window_seconds %.3f\n",
		g.agg_window_ms / 1000.0);
	one(f, "mcpwarden_aggregation_entries", "gauge",
	    "Decisions being counted in the aggregation map, at the last sweep.",
	    g.agg_entries);
	one(f, "mcpwarden_aggregation_max_entries", "gauge",
	    "Capacity of the aggregation map.", g.agg_max);
	one(f, "mcpwarden_aggregation_summaries_total", "counter",
	    "Summaries of repeated decisions written by the agent's sweeps.",
	    g.agg_summaries);
	one(f, "mcpwarden_aggregation_full_total", "counter",
	    "Decisions written one by one because the aggregation map was full.",
	    g.agg_full);
	head(f, "mcpwarden_sink_queue_bytes", "gauge",
	     "Bytes waiting in an output's queue.");
	for (i = 0; i < g.sinks && i < 8; i++) {
		fputs("mcpwarden_sink_queue_bytes{sink=\"", f);
		label(f, g.sink_name[i] ? g.sink_name[i] : "?");
		fprintf(f, "\"} %zu\n", g.sink_queued[i]);
	}
	head(f, "mcpwarden_bpf_attached", "gauge",
	     "1 if every BPF program of the agent is attached.");
	fprintf(f, "mcpwarden_bpf_attached %d\n", g.attached);
	head(f, "mcpwarden_build_info", "gauge", "The agent's version.");
	fprintf(f, "mcpwarden_build_info{version=\"%s\"} 1\n", MW_VERSION);
	if (fclose(f))
		return -errno;
	return 0;
}

bool metrics_healthy(struct metrics *m)
{
	struct metrics_gauges g = {};

	if (m->gauges)
		m->gauges(m->arg, &g);
	return g.attached && time_mono_ms() - m->last_loop_ms < METRICS_STALE_MS;
}

#ifdef MW_NO_HTTPD
/*
 * The static build of the VM lane: Debian's libmicrohttpd.a needs GnuTLS,
 * whose static archive chain (p11-kit) Debian does not ship.
 */
int metrics_start(struct metrics *m, const char *addr, int epfd)
{
	log_msg("--metrics \"%s\": this build has no HTTP server (static, without libmicrohttpd)",
		addr);
	return -EOPNOTSUPP;
}

void metrics_loop(struct metrics *m)
{
	m->last_loop_ms = time_mono_ms();
}

void metrics_stop(struct metrics *m)
{
}
#else
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code,
			     const char *ctype, char *body, size_t len,
			     bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, owned ?
					    MHD_RESPMEM_MUST_FREE :
					    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	static char ok[] = "ok\n", bad[] = "unhealthy\n", nf[] = "not found\n",
		    na[] = "method not allowed\n", err[] = "internal error\n";
	static const char text[] = "text/plain; charset=utf-8";
	struct metrics *m = cls;
	char *body = NULL;
	size_t len = 0;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, na,
			     strlen(na), false);
	if (!strcmp(url, "/healthz")) {
		if (metrics_healthy(m))
			return reply(conn, MHD_HTTP_OK, text, ok, strlen(ok),
				     false);
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, bad,
			     strlen(bad), false);
	}
	if (!strcmp(url, "/metrics")) {
		if (metrics_render(m, &body, &len))
			return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text,
				     err, strlen(err), false);
		return reply(conn, MHD_HTTP_OK,
			     "text/plain; version=0.0.4; charset=utf-8", body,
			     len, true);
	}
	return reply(conn, MHD_HTTP_NOT_FOUND, text, nf, strlen(nf), false);
}

int metrics_start(struct metrics *m, const char *addr, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &m->src };
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	socklen_t len;
	int err;

	err = metrics_parse_addr(addr, &ss, &len);
	if (err) {
		log_msg("--metrics \"%s\": not ADDR:PORT (a numeric address, [IPv6] in brackets)",
			addr);
		return err;
	}
	errno = 0;
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL |
				  (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				  0, NULL, NULL, on_request, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, 16U,
				  MHD_OPTION_CONNECTION_TIMEOUT, 5U,
				  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U,
				  MHD_OPTION_END);
	if (!m->mhd) {
		err = errno ? -errno : -EADDRNOTAVAIL;
		log_msg("--metrics \"%s\": cannot listen: %s", addr,
			strerror(-err));
		return err;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, info->epoll_fd, &ev)) {
		err = -(errno ?: EINVAL);
		log_msg("--metrics \"%s\": adding to the event loop: %s", addr,
			strerror(-err));
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		return err;
	}
	return 0;
}

void metrics_loop(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG t;
	int i;

	m->last_loop_ms = time_mono_ms();
	if (!m->mhd)
		return;
	/* MHD may leave ready connections for the next run: bounded reruns. */
	for (i = 0; i < 4; i++) {
		MHD_run(m->mhd);
		if (MHD_get_timeout(m->mhd, &t) != MHD_YES || t > 0)
			break;
	}
}

void metrics_stop(struct metrics *m)
{
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
}
#endif /* MW_NO_HTTPD */
