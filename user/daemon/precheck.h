/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_PRECHECK_H
#define MW_PRECHECK_H

#include <json-c/json.h>
#include "kernel/compile.h"

#define PRECHECK_FILES	2	/* the command, its script's interpreter */
#define PRECHECK_DEPTH	512	/* objects in a chain: the file, its dirs */

struct precheck {
	__u8 action;		/* enum mw_action the exec fence will take */
	__u32 rule_id;
	const char *path;	/* the file it is taken on, in @files */
};

/*
 * Will the exec fence refuse profile @profile the exec the wrapper is
 * about to make? @files is the wrapper's "exec": for the command and the
 * interpreter it names, {"path", "chain": [[st_dev, ino], ...]}, the file
 * then each directory above it up to "/", as the wrapper stat()ed them
 * with its own rights: the agent looks them up in the compiled rules and
 * touches no file. 1 and @out if refused; 0 if not, or if @files is
 * malformed (the kernel judges anyway: this is only for the message).
 */
int precheck_exec(const struct compiled *c, __u32 profile, json_object *files,
		  struct precheck *out);

#endif /* MW_PRECHECK_H */
