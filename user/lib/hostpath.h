/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the paths of a policy live. An agent in a pod sees the image's
 * files; with --host-root /proc/1/root (hostPID) it resolves the node's.
 * Policies and events keep the host's own paths; only the lookups change.
 */
#ifndef MW_HOSTPATH_H
#define MW_HOSTPATH_H

#include <limits.h>

/* NULL or "/": this mount namespace is the host's. */
extern const char *host_root;

/* @path (absolute, the host's view) as this process must open it. */
const char *host_path(const char *path, char buf[PATH_MAX]);
/* The host's view of @path, a result of host_path() or realpath() of one. */
const char *host_unpath(const char *path);

#endif /* MW_HOSTPATH_H */
