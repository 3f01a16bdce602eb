// SPDX-License-Identifier: GPL-2.0-only
/* What every command shares: usage, option errors, byte counts. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/statefile.h"

void cli_usage(FILE *f)
{
	fprintf(f,
"usage: mcpwarden COMMAND [OPTIONS]\n"
"\n"
"  run [--policy FILE] [--output SPEC]... [--socket PATH] [--cgroup PATH]\n"
"      [--backend auto|lsm|fallback] [--pin-dir DIR] [--resolv-conf FILE]\n"
"      [--ring-buffer SIZE] [--format native|ocsf] [--output-rotate-size BYTES]\n"
"      [--output-queue BYTES] [--metrics ADDR:PORT] [--host-root DIR]\n"
"      [--state-dir DIR] [--cleanup-on-exit] [--guard-cgroup DIR]\n"
"      [--aggregate-window DURATION] [-v]\n"
"                       load the BPF programs and stream events as JSON lines;\n"
"                       SPEC: - (stdout), FILE, file:FILE, unix:PATH,\n"
"                       tcp:HOST:PORT, syslog+tcp:HOST:PORT (docs/outputs.md);\n"
"                       a stop leaves the fence pinned for the next agent\n"
"  uninstall [--pin-dir DIR] [--state-dir DIR]\n"
"                       remove what agents left in force: links, maps, guard\n"
"  exec [--profile NAME] [--socket PATH] [--no-interpose] -- CMD [ARGS...]\n"
"                       run CMD as a tracked MCP server (no root needed)\n"
"  policy check FILE    validate a policy; non-zero exit on errors\n"
"  policy default       print the built-in policy\n"
"  status [--socket PATH]\n"
"                       the running agent's state and counters\n"
"  features             what this kernel supports, per hook\n"
"  version\n"
"\n"
"Defaults: --socket %s, --pin-dir %s, --state-dir %s.\n"
"Documentation: docs/ in the source tree.\n",
		CONTROL_SOCKET_DEFAULT, PIN_DIR_DEFAULT, STATE_DIR_DEFAULT);
}

/* One line naming the bad flag, then exit 2, as for every bad flag. */
int bad_usage(const char *cmd, const char *fmt, ...)
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
int next_opt(const char *cmd, int argc, char **argv, const char *shorts,
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

/* The decimal number @s starts with; @end after it. No sign, no space. */
static int leading_number(const char *s, unsigned long long *v, char **end)
{
	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*v = strtoull(s, end, 10);
	return errno ? -EINVAL : 0;
}

/* A byte count with an optional K, M or G suffix, at most @max. */
int parse_bytes(const char *s, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (leading_number(s, &v, &end))
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

/* "10s", "500ms", "2m" or "0" (off), at most @max_ns. */
int parse_duration(const char *s, __u64 max_ns, __u64 *ns)
{
	unsigned long long v, unit = 1;
	char *end;

	if (leading_number(s, &v, &end))
		return -EINVAL;
	if (!strcmp(end, "ms"))
		unit = 1000000ULL;
	else if (!strcmp(end, "s"))
		unit = 1000000000ULL;
	else if (!strcmp(end, "m"))
		unit = 60000000000ULL;
	else if (*end || v)
		return -EINVAL;
	if (v > max_ns / unit)		/* no overflow */
		return -EINVAL;
	*ns = v * unit;
	return 0;
}
