/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Confinement that the wrapper applies to itself before it execs the server:
 * a Landlock rule set that lets only the listed files (and everything under
 * the listed directories) be executed. Inherited, and no process can lift it.
 */
#ifndef MW_LANDLOCK_H
#define MW_LANDLOCK_H

#include <json-c/json.h>

/*
 * Restrict execution to the paths in @allow (a JSON array of strings) and
 * the dynamic loader. Returns 0, or -errno with @err naming what failed.
 */
int landlock_exec_allow(json_object *allow, char *err, size_t errlen);

#endif /* MW_LANDLOCK_H */
