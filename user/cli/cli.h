/* SPDX-License-Identifier: GPL-2.0-only */
/* What every command shares: option parsing with our own messages. */
#ifndef MW_CLI_H
#define MW_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <linux/types.h>

#define EXIT_WRAPPER	125	/* like env(1): wrapper/wrapper.c */

void cli_usage(FILE *f);
/* One line naming the bad flag, then the exit status 2, as for every bad flag. */
int bad_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* getopt_long with our own messages instead of getopt's; *bad on error. */
int next_opt(const char *cmd, int argc, char **argv, const char *shorts,
	     const struct option *longs, int *bad);
/* A byte count with an optional K, M or G suffix, at most @max. */
int parse_bytes(const char *s, __u64 max, __u64 *out);
/* A duration: a number with ms, s or m, or 0; at most @max_ns. */
int parse_duration(const char *s, __u64 max_ns, __u64 *ns);

int cmd_run(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_guard(int argc, char **argv);

#endif /* MW_CLI_H */
