// SPDX-License-Identifier: GPL-2.0-only
/* `mcpwarden run`: flags into struct run_opts, then the daemon. */
#include <errno.h>
#include <string.h>
#include "cli/cli.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/statefile.h"
#include "kernel/answer.h"
#include "lib/hostpath.h"
#include "lib/log.h"
#include "output/metrics.h"
#include "output/sink.h"

/* A power of two between a page and 1 GiB, with an optional K or M. */
static int parse_size(const char *s, __u32 *out)
{
	__u64 v;

	if (parse_bytes(s, 1ULL << 30, &v) || v < 4096 || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

enum {
	OPT_FORMAT = 256, OPT_ROTATE, OPT_QUEUE, OPT_METRICS, OPT_HOST_ROOT,
	OPT_STATE_DIR, OPT_CLEANUP, OPT_GUARD_CGROUP, OPT_AGG_WINDOW,
};

/* Long on purpose: one case per flag, each with its own one-line error. */
int cmd_run(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 's' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "backend", required_argument, NULL, 'b' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "resolv-conf", required_argument, NULL, 'r' },
		{ "ring-buffer", required_argument, NULL, 'R' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "output-rotate-size", required_argument, NULL, OPT_ROTATE },
		{ "output-queue", required_argument, NULL, OPT_QUEUE },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "host-root", required_argument, NULL, OPT_HOST_ROOT },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "cleanup-on-exit", no_argument, NULL, OPT_CLEANUP },
		{ "guard-cgroup", required_argument, NULL, OPT_GUARD_CGROUP },
		{ "aggregate-window", required_argument, NULL, OPT_AGG_WINDOW },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct run_opts o = {
		.socket_path = CONTROL_SOCKET_DEFAULT,
		.pin_dir = PIN_DIR_DEFAULT,
		.state_dir = STATE_DIR_DEFAULT,
		.stats_interval_ms = 1000,
		.agg_window_ns = MW_AGG_WINDOW_NS,
		.out.rotate_size = SINK_ROTATE_DEFAULT,
		.out.queue_size = SINK_QUEUE_DEFAULT,
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	__u64 v;
	int c, bad = 0;

	/* Before anything is opened: see ANSWER_FD_SPLIT. */
	if ((c = answer_reserve_fds())) {
		fprintf(stderr, "mcpwarden: reserving fds: %s\n", strerror(-c));
		return 1;
	}
	while ((c = next_opt("run", argc, argv, ":p:o:s:c:b:P:r:R:vh", longs,
			     &bad)) != -1) {
		switch (c) {
		case 'p':
			o.policy_path = optarg;
			break;
		case 'o':
			if (o.out.nspecs >= OUTPUT_SPECS_MAX)
				return bad_usage("run", "--output: at most %d outputs",
						 OUTPUT_SPECS_MAX);
			o.out.specs[o.out.nspecs++] = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "native") && strcmp(optarg, "ocsf"))
				return bad_usage("run", "--format \"%s\": not one of native, ocsf",
						 optarg);
			o.out.ocsf = !strcmp(optarg, "ocsf");
			break;
		case OPT_ROTATE:
			if (parse_bytes(optarg, 1ULL << 40, &o.out.rotate_size))
				return bad_usage("run", "--output-rotate-size \"%s\": not a byte count (suffixes K, M, G; 0: never rotate)",
						 optarg);
			break;
		case OPT_QUEUE:
			if (parse_bytes(optarg, 1ULL << 30, &v) || v < 4096)
				return bad_usage("run", "--output-queue \"%s\": not a byte count from 4096 to 1G (suffixes K, M, G)",
						 optarg);
			o.out.queue_size = v;
			break;
		case OPT_METRICS:
			if (metrics_parse_addr(optarg, &ss, &sl))
				return bad_usage("run", "--metrics \"%s\": not ADDR:PORT (a numeric address, [IPv6] in brackets, port 1-65535)",
						 optarg);
			o.out.metrics_addr = optarg;
			break;
		case 's':
			o.socket_path = optarg;
			break;
		case 'c':
			o.cgroup = optarg;
			break;
		case 'b':
			if (backend_parse(optarg, &o.backend))
				return bad_usage("run", "--backend \"%s\": not one of auto, lsm, fallback",
						 optarg);
			break;
		case 'P':
			o.pin_dir = optarg;
			break;
		case 'r':
			o.resolv_conf = optarg;
			break;
		case OPT_STATE_DIR:
			if (optarg[0] != '/')
				return bad_usage("run", "--state-dir \"%s\": not an absolute path",
						 optarg);
			o.state_dir = optarg;
			break;
		case OPT_CLEANUP:
			o.cleanup_on_exit = true;
			break;
		case OPT_GUARD_CGROUP:
			if (!optarg[0] || strstr(optarg, ".."))
				return bad_usage("run", "--guard-cgroup \"%s\": a cgroup v2 path, absolute or under the v2 root, without \"..\"",
						 optarg);
			o.guard_cgroup = optarg;
			break;
		case OPT_HOST_ROOT:
			if (optarg[0] != '/')
				return bad_usage("run", "--host-root \"%s\": not an absolute path",
						 optarg);
			host_root = optarg;
			break;
		case 'R':
			if (parse_size(optarg, &o.ringbuf_size))
				return bad_usage("run", "--ring-buffer \"%s\": not a power of two from 4096 to 1073741824 (suffixes K, M)",
						 optarg);
			break;
		case OPT_AGG_WINDOW:
			if (parse_duration(optarg, 3600000000000ULL, &o.agg_window_ns))
				return bad_usage("run", "--aggregate-window \"%s\": not a duration from 1ms to 60m (suffix ms, s or m) or 0 (off)",
						 optarg);
			break;
		case 'v':
			log_verbose = true;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		}
	}
	if (bad)
		return bad;
	if (optind < argc)
		return bad_usage("run", "unexpected argument \"%s\"", argv[optind]);
	if (o.policy_path && !*o.policy_path)
		return bad_usage("run", "--policy: empty file name");
	if (o.pin_dir[0] != '/')
		return bad_usage("run", "--pin-dir \"%s\": must be an absolute path",
				 o.pin_dir);
	return daemon_run(&o);
}
