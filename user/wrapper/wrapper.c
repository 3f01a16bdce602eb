// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "daemon/control.h"
#include "wrapper/confine.h"
#include "wrapper/wrapper.h"

#define EXIT_WRAPPER	125	/* like env(1): the wrapper itself failed */

/* Tracked from here on, with the agent's answer in *resp; or an exit status. */
static int track_self(const struct wrapper_opts *o, json_object **resp)
{
	json_object *req, *v;
	int ret;

	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("track"));
	json_object_object_add(req, "profile", json_object_new_string(o->profile));
	ret = control_request(o->socket, req, resp, 5000);
	json_object_put(req);
	if (ret) {
		fprintf(stderr, "mcpwarden exec: cannot reach the agent at \"%s\": %s; not starting \"%s\" untracked\n",
			o->socket, strerror(-ret), o->argv[0]);
		return EXIT_WRAPPER;
	}
	if (!json_object_object_get_ex(*resp, "ok", &v) ||
	    !json_object_get_boolean(v)) {
		fprintf(stderr, "mcpwarden exec: the agent refused: %s\n",
			json_object_object_get_ex(*resp, "error", &v) ?
			json_object_get_string(v) : "no reason given");
		json_object_put(*resp);
		*resp = NULL;
		return EXIT_WRAPPER;
	}
	return 0;
}

int wrapper_run(const struct wrapper_opts *o)
{
	json_object *resp = NULL;
	char err[512];
	int ret;

	ret = track_self(o, &resp);
	if (ret)
		return ret;
	/* Confine the server before its first instruction. */
	if (confine_apply(resp, err, sizeof(err)))
		fprintf(stderr, "mcpwarden exec: %s; the agent's kernel hooks still apply\n",
			err);
	json_object_put(resp);
	execvp(o->argv[0], o->argv);
	ret = errno;
	fprintf(stderr, "mcpwarden exec: \"%s\": %s\n", o->argv[0],
		strerror(ret));
	return ret == ENOENT ? 127 : 126;
}
