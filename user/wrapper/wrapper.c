// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon/control.h"
#include "wrapper/confine.h"
#include "wrapper/interpose.h"
#include "wrapper/wrapper.h"

#define EXIT_WRAPPER	125	/* like env(1): the wrapper itself failed */

/*
 * The file execvp() will run for @cmd, symlinks resolved, into @out (for
 * the agent's look at it); false if none is found, execvp() then says so.
 */
static bool resolve(const char *cmd, char out[PATH_MAX])
{
	const char *path = getenv("PATH"), *p, *colon;
	char cand[PATH_MAX];
	size_t len;

	if (strchr(cmd, '/'))
		return realpath(cmd, out) != NULL;
	/* glibc's execvp() search, with its default PATH. */
	for (p = path ? path : "/bin:/usr/bin"; ; p = colon + 1) {
		colon = strchrnul(p, ':');
		len = colon - p;
		if (snprintf(cand, sizeof(cand), "%.*s%s%s", (int)len, p,
			     len ? "/" : "", cmd) < (int)sizeof(cand) &&
		    !access(cand, X_OK) && realpath(cand, out))
			return true;
		if (!*colon)
			return false;
	}
}

/*
 * {"path": @path, "chain": [[st_dev, ino], ...]}: the file, then each
 * directory above it up to "/", stat()ed with our own rights, for the
 * agent to look up in its rules (daemon/precheck.c). NULL if one fails.
 */
static json_object *chain_of(const char *path)
{
	json_object *file, *chain, *pair;
	char buf[PATH_MAX], *cut;
	struct stat st;

	snprintf(buf, sizeof(buf), "%s", path);
	chain = json_object_new_array();
	for (;;) {
		if (stat(buf, &st)) {
			json_object_put(chain);
			return NULL;
		}
		pair = json_object_new_array();
		json_object_array_add(pair, json_object_new_int64((int64_t)st.st_dev));
		json_object_array_add(pair, json_object_new_int64((int64_t)st.st_ino));
		json_object_array_add(chain, pair);
		if (!strcmp(buf, "/"))
			break;
		cut = strrchr(buf, '/');
		cut[cut == buf] = '\0';	/* "/a" -> "/", "/a/b" -> "/a" */
	}
	file = json_object_new_object();
	json_object_object_add(file, "path", json_object_new_string(path));
	json_object_object_add(file, "chain", chain);
	return file;
}

/* The interpreter @exe's "#!" line names, resolved, into @out. */
static bool interpreter(const char *exe, char out[PATH_MAX])
{
	char buf[256], name[256];
	ssize_t n;
	int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return false;
	buf[n] = '\0';
	return sscanf(buf + 2, " %255[^ \t\n]", name) == 1 && name[0] == '/' &&
	       realpath(name, out);
}

/* "exec": the command, and its interpreter if it is a script. */
static json_object *exec_files(const char *exe)
{
	json_object *files = json_object_new_array(), *f;
	char interp[PATH_MAX];

	if ((f = chain_of(exe)))
		json_object_array_add(files, f);
	if (interpreter(exe, interp) && (f = chain_of(interp)))
		json_object_array_add(files, f);
	return files;
}

/*
 * Tracked from here on, with the agent's answer in *resp and, asked with
 * @interpose, the session page's fd in *@page; or an exit status.
 */
static int track_self(const struct wrapper_opts *o, bool interpose,
		      json_object **resp, int *page)
{
	char exe[PATH_MAX];
	json_object *req, *v;
	int ret;

	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("track"));
	json_object_object_add(req, "profile", json_object_new_string(o->profile));
	if (interpose)
		json_object_object_add(req, "interpose", json_object_new_boolean(1));
	if (resolve(o->argv[0], exe)) {
		json_object_object_add(req, "exec", exec_files(exe));
		/* Too deep to fit a request: no message, the kernel judges. */
		if (strlen(json_object_to_json_string(req)) >= CONTROL_REQ_MAX - 1)
			json_object_object_del(req, "exec");
	}
	ret = control_request_fd(o->socket, req, resp, 5000, page);
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

/*
 * Say on stderr, which the client shows, that the agent will refuse the
 * server's exec, and by which rule: refused, the server cannot say it, and
 * one killed at its exec leaves only "connection closed". The exec still
 * happens: the kernel's verdict is the one that counts, and is reported.
 */
static bool refusal(json_object *resp)
{
	json_object *r, *path, *rule;

	if (!json_object_object_get_ex(resp, "exec_refused", &r) ||
	    !json_object_object_get_ex(r, "path", &path) ||
	    !json_object_object_get_ex(r, "rule", &rule))
		return false;
	fprintf(stderr, "mcpwarden exec: the agent's policy refuses the exec of \"%s\": %s; the server will not start (see docs/clients.md)\n",
		json_object_get_string(path), json_object_get_string(rule));
	return true;
}

int wrapper_run(const struct wrapper_opts *o)
{
	json_object *resp = NULL;
	int ret, page = -1, session = -1;
	bool refused;
	char err[512];

	/* The interposer stays, untracked; the server goes on from here. */
	if (!o->no_interpose && (ret = interpose_fork(&session))) {
		fprintf(stderr, "mcpwarden exec: starting the stdio interposer: %s\n",
			strerror(-ret));
		return EXIT_WRAPPER;
	}
	ret = track_self(o, session >= 0, &resp, &page);
	if (session >= 0)
		interpose_give(session, page);
	if (page >= 0)
		close(page);
	if (ret)
		return ret;
	/* Confine the server before its first instruction. */
	if (confine_apply(resp, err, sizeof(err)))
		fprintf(stderr, "mcpwarden exec: %s; the agent's kernel hooks still apply\n",
			err);
	refused = refusal(resp);
	json_object_put(resp);
	execvp(o->argv[0], o->argv);
	ret = errno;
	fprintf(stderr, "mcpwarden exec: \"%s\": %s%s\n", o->argv[0],
		strerror(ret), !refused && (ret == EPERM || ret == EACCES) ?
		" (if the agent refused it, its event names the rule)" : "");
	return ret == ENOENT ? 127 : 126;
}
