// SPDX-License-Identifier: GPL-2.0-only
/* mcpwarden: arguments and dispatch. The work is in the other files. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "kernel/features.h"
#include "wrapper/confine.h"
#include "lib/hostpath.h"
#include "lib/log.h"
#include "output/metrics.h"
#include "policy/policy.h"
#include "output/sink.h"

#define EXIT_WRAPPER	125	/* like env(1): the wrapper itself failed */

static void usage(FILE *f)
{
	fprintf(f,
"usage: mcpwarden COMMAND [OPTIONS]\n"
"\n"
"  run [--policy FILE] [--output SPEC]... [--socket PATH] [--cgroup PATH]\n"
"      [--backend auto|lsm|fallback] [--pin-dir DIR] [--resolv-conf FILE]\n"
"      [--ring-buffer SIZE] [--format native|ocsf] [--output-rotate-size BYTES]\n"
"      [--output-queue BYTES] [--metrics ADDR:PORT] [--host-root DIR] [-v]\n"
"                       load the BPF programs and stream events as JSON lines;\n"
"                       SPEC: - (stdout), FILE, file:FILE, unix:PATH,\n"
"                       tcp:HOST:PORT, syslog+tcp:HOST:PORT (docs/outputs.md)\n"
"  exec [--profile NAME] [--socket PATH] -- CMD [ARGS...]\n"
"                       run CMD as a tracked MCP server (no root needed)\n"
"  policy check FILE    validate a policy; non-zero exit on errors\n"
"  policy default       print the built-in policy\n"
"  status [--socket PATH]\n"
"                       the running agent's state and counters\n"
"  features             what this kernel supports, per hook\n"
"  version\n"
"\n"
"Defaults: --socket %s, --pin-dir %s.\n"
"Documentation: docs/ in the source tree.\n",
		CONTROL_SOCKET_DEFAULT, PIN_DIR_DEFAULT);
}

/* One line naming the bad flag, then exit 2, as for every bad flag. */
static int bad_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int bad_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mcpwarden %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'mcpwarden --help')\n");
	return 2;
}

/* getopt_long with our own messages instead of getopt's. */
static int next_opt(const char *cmd, int argc, char **argv, const char *shorts,
		    const struct option *longs, int *bad)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shorts, longs, NULL);
	if (c == ':') {
		*bad = bad_usage(cmd, "option '%s' needs a value",
				 argv[optind - 1]);
		return -1;
	}
	if (c == '?') {
		if (optopt)
			*bad = bad_usage(cmd, "unknown option '-%c'", optopt);
		else
			*bad = bad_usage(cmd, "unknown option '%s'",
					 argv[optind - 1]);
		return -1;
	}
	return c;
}

/* A byte count with an optional K, M or G suffix, at most @max. */
static int parse_bytes(const char *s, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if ((*end == 'K' || *end == 'k') && end++)
		v <<= 10;
	else if ((*end == 'M' || *end == 'm') && end++)
		v <<= 20;
	else if ((*end == 'G' || *end == 'g') && end++)
		v <<= 30;
	if (*end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* A power of two between a page and 1 GiB, with an optional K or M. */
static int parse_size(const char *s, __u32 *out)
{
	__u64 v;

	if (parse_bytes(s, 1ULL << 30, &v) || v < 4096 || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

enum { OPT_FORMAT = 256, OPT_ROTATE, OPT_QUEUE, OPT_METRICS, OPT_HOST_ROOT };

static int cmd_run(int argc, char **argv)
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
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct run_opts o = {
		.socket_path = CONTROL_SOCKET_DEFAULT,
		.pin_dir = PIN_DIR_DEFAULT,
		.stats_interval_ms = 1000,
		.rotate_size = SINK_ROTATE_DEFAULT,
		.queue_size = SINK_QUEUE_DEFAULT,
	};
	struct sockaddr_storage ss;
	socklen_t sl;
	__u64 v;
	int c, bad = 0;

	while ((c = next_opt("run", argc, argv, ":p:o:s:c:b:P:r:R:vh", longs,
			     &bad)) != -1) {
		switch (c) {
		case 'p':
			o.policy_path = optarg;
			break;
		case 'o':
			if (o.noutputs >= RUN_OUTPUTS_MAX)
				return bad_usage("run", "--output: at most %d outputs",
						 RUN_OUTPUTS_MAX);
			o.outputs[o.noutputs++] = optarg;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "native") && strcmp(optarg, "ocsf"))
				return bad_usage("run", "--format \"%s\": not one of native, ocsf",
						 optarg);
			o.ocsf = !strcmp(optarg, "ocsf");
			break;
		case OPT_ROTATE:
			if (parse_bytes(optarg, 1ULL << 40, &o.rotate_size))
				return bad_usage("run", "--output-rotate-size \"%s\": not a byte count (suffixes K, M, G; 0: never rotate)",
						 optarg);
			break;
		case OPT_QUEUE:
			if (parse_bytes(optarg, 1ULL << 30, &v) || v < 4096)
				return bad_usage("run", "--output-queue \"%s\": not a byte count from 4096 to 1G (suffixes K, M, G)",
						 optarg);
			o.queue_size = v;
			break;
		case OPT_METRICS:
			if (metrics_parse_addr(optarg, &ss, &sl))
				return bad_usage("run", "--metrics \"%s\": not ADDR:PORT (a numeric address, [IPv6] in brackets, port 1-65535)",
						 optarg);
			o.metrics_addr = optarg;
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
		case 'v':
			log_verbose = true;
			break;
		case 'h':
			usage(stdout);
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

static int cmd_exec(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *profile = "default", *sock = CONTROL_SOCKET_DEFAULT;
	json_object *req, *resp = NULL, *v;
	int c, bad = 0, ret;

	/* '+': stop at the first non-option, the server's own flags are its. */
	while ((c = next_opt("exec", argc, argv, "+:p:s:h", longs, &bad)) != -1) {
		switch (c) {
		case 'p':
			profile = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		}
	}
	if (bad)
		return EXIT_WRAPPER;
	if (optind >= argc) {
		bad_usage("exec", "no command given: mcpwarden exec [--profile NAME] -- CMD [ARGS...]");
		return EXIT_WRAPPER;
	}
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("track"));
	json_object_object_add(req, "profile", json_object_new_string(profile));
	ret = control_request(sock, req, &resp, 5000);
	json_object_put(req);
	if (ret) {
		fprintf(stderr, "mcpwarden exec: cannot reach the agent at \"%s\": %s; not starting \"%s\" untracked\n",
			sock, strerror(-ret), argv[optind]);
		return EXIT_WRAPPER;
	}
	if (!json_object_object_get_ex(resp, "ok", &v) ||
	    !json_object_get_boolean(v)) {
		fprintf(stderr, "mcpwarden exec: the agent refused: %s\n",
			json_object_object_get_ex(resp, "error", &v) ?
			json_object_get_string(v) : "no reason given");
		json_object_put(resp);
		return EXIT_WRAPPER;
	}
	/* Confine the server before its first instruction. */
	{
		char err[512];

		if (confine_apply(resp, err, sizeof(err)))
			fprintf(stderr, "mcpwarden exec: %s; the agent's kernel hooks still apply\n",
				err);
	}
	json_object_put(resp);
	execvp(argv[optind], &argv[optind]);
	ret = errno;
	fprintf(stderr, "mcpwarden exec: \"%s\": %s\n", argv[optind],
		strerror(ret));
	return ret == ENOENT ? 127 : 126;
}

static void print_policy_warning(const char *msg, void *arg)
{
	fprintf(stderr, "warning: %s\n", msg);
	(*(int *)arg)++;
}

static int cmd_policy(int argc, char **argv)
{
	struct policy_opts po = {};
	char err[POLICY_ERR_MAX], root[256];
	struct policy *p = NULL;
	int warnings = 0;
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
	if (!cgroup2_root(root, sizeof(root)))
		po.cgroup_root = root;
	if (policy_load_file(argv[2], &po, &p, err, sizeof(err),
			     print_policy_warning, &warnings)) {
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

static int cmd_status(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{}
	};
	const char *sock = CONTROL_SOCKET_DEFAULT;
	json_object *req, *resp;
	int c, bad = 0, ret;

	while ((c = next_opt("status", argc, argv, ":s:", longs, &bad)) != -1)
		if (c == 's')
			sock = optarg;
	if (bad)
		return bad;
	if (optind < argc)
		return bad_usage("status", "unexpected argument \"%s\"", argv[optind]);
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("status"));
	ret = control_request(sock, req, &resp, 5000);
	json_object_put(req);
	if (ret) {
		fprintf(stderr, "mcpwarden status: cannot reach the agent at \"%s\": %s\n",
			sock, strerror(-ret));
		return 1;
	}
	puts(json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(resp);
	return 0;
}

static int cmd_features(int argc, char **argv)
{
	struct features f;
	json_object *o;

	if (argc > 1)
		return bad_usage("features", "unexpected argument \"%s\"", argv[1]);
	if (geteuid() == 0)
		daemon_mount_fs();
	features_probe(&f);
	o = features_json(&f);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("mcpwarden %s\n", MW_VERSION);
		return 0;
	}
	argc--;
	argv++;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "exec"))
		return cmd_exec(argc, argv);
	if (!strcmp(cmd, "policy"))
		return cmd_policy(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "features"))
		return cmd_features(argc, argv);
	fprintf(stderr, "mcpwarden: unknown command \"%s\" (see 'mcpwarden --help')\n",
		cmd);
	return 2;
}
