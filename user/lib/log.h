/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_LOG_H
#define MW_LOG_H

#include <stdbool.h>

extern bool log_verbose;

/* Diagnostics to stderr, prefixed "mcpwarden: "; stdout carries JSON only. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Route libbpf's messages through log_msg; debug ones only with -v. */
void log_setup_libbpf(void);

#endif /* MW_LOG_H */
