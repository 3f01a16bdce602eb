/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `mcpwarden exec` applies to itself before it execs the server, from
 * the agent's answer: Landlock rule sets for exec and file allow-lists, and
 * a seccomp filter refusing escape primitives. Inherited by every child,
 * and no process can lift them.
 */
#ifndef MW_CONFINE_H
#define MW_CONFINE_H

#include <stddef.h>
#include <json-c/json.h>

/*
 * Apply what @resp ("exec_allow", "files_allow", "syscalls_deny") asks.
 * Returns 0, or -errno with @err naming what could not be applied.
 */
int confine_apply(json_object *resp, char *err, size_t errlen);

#endif /* MW_CONFINE_H */
