// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy: JSON text in, a validated struct policy out. Every rule is checked
 * before anything uses it; unknown keys are errors, so a typo cannot quietly
 * disable a rule. Errors are one line, "source:line: json.path: reason".
 * This file: the document, its top level and profiles, and the entry points;
 * a profile's parts are parsed by select.c, network.c (and netlint.c),
 * exec.c and files.c, all through the walkers of walk.c. Nothing here reads
 * the host: what the policy means on it comes in as struct policy_env.
 *
 * What policy_parse guarantees to its users (kernel/compile.c):
 *  - profile ids are the index in policy->profiles plus one (1..63);
 *  - profile->net holds live rules only (duplicates and rules that can never
 *    match are dropped, with a warning), the rules of one prefix adjacent and
 *    in the order the BPF side must try them (mw_net_value.rules: most
 *    specific first), at most MW_NET_PORTS of them per prefix;
 *  - at most MW_DETECT_MAX patterns, MW_CGROUPS_MAX / 2 cgroups and
 *    MW_NET_RULES_MAX / 2 distinct (profile, prefix) pairs in the whole policy:
 *    the maps hold two generations during a reload.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>
#include "lib/hostenv.h"
#include "policy/walk.h"

#define POLICY_FILE_MAX		(4 << 20)
#define DEFAULT_CGROUP_ROOT	"/sys/fs/cgroup"

extern const char mw_default_policy[], mw_default_policy_end[];

/* Profiles */

static int profile_mode(struct ctx *c, const char *key, struct json_object *v,
			void *arg)
{
	static const struct enum_name modes[] = {
		{ "enforce", MW_MODE_ENFORCE },
		{ "monitor", MW_MODE_MONITOR },
		{ NULL, 0 },
	};
	struct profile *prof = arg;

	return get_enum(c, v, modes, &prof->mode);
}

/* "tools" and "idle": parse_tool_fences(), once the profile is known. */
static int parse_later(struct ctx *c, const char *key, struct json_object *v,
		       void *arg)
{
	return 0;
}

static int parse_profile(struct ctx *c, struct profile *prof,
			 struct json_object *obj)
{
	static const struct key_handler keys[] = {
		{ "mode", profile_mode, false },
		{ "select", parse_select, false },
		{ "network", parse_network, false },
		{ "exec", parse_exec, false },
		{ "files", parse_files, false },
		{ "syscalls", parse_syscalls, false },
		{ "unix", parse_files, false },
		{ "tools", parse_later, false },
		{ "idle", parse_later, false },
		{ "mcp", parse_mcp, false },
		{ NULL },
	};
	int err;

	prof->mode = MW_MODE_ENFORCE;
	prof->net_default = MW_ACTION_ALLOW;
	prof->deny_raw = true;
	prof->fileless = MW_ACTION_DENY;
	prof->writable = MW_ACTION_ALLOW;
	err = walk_object(c, obj, keys, WALK_DOCUMENT, prof);
	return err ? err : parse_tool_fences(c, obj, prof);
}

/* profiles.NAME */
static int profile_member(struct ctx *c, const char *name,
			  struct json_object *obj, void *arg)
{
	struct policy *p = c->p;
	struct profile *prof;
	int err;

	err = check_name(c, name, "profile");
	if (err)
		return err;
	if (p->nprofiles == MW_PROFILES_MAX - 1)
		return ctx_fail_name(c, "more than %d profiles",
				     MW_PROFILES_MAX - 1);
	prof = &p->profiles[p->nprofiles++];
	prof->name = strdup(name);
	if (!prof->name)
		return ctx_nomem(c);
	return parse_profile(c, prof, obj);
}

static int parse_profiles(struct ctx *c, const char *key,
			  struct json_object *profiles, void *arg)
{
	int err;

	err = expect_type(c, profiles, json_type_object);
	if (err)
		return err;
	if (!json_object_object_length(profiles))
		return ctx_fail(c, -EINVAL, "at least one profile is required");
	c->p->profiles = calloc(MW_PROFILES_MAX - 1, sizeof(*c->p->profiles));
	if (!c->p->profiles)
		return ctx_nomem(c);
	return walk_members(c, profiles, profile_member, NULL);
}

/* The document */

static int parse_json(struct ctx *c, struct json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	struct json_object *root;
	size_t end, i;
	int err = 0;

	*out = NULL;
	for (i = 0; i < c->len; i++)
		if (c->text[i] == '\0')
			break;
	if (i < c->len) {
		snprintf(c->err, c->errlen, "%s:%lu: syntax error: NUL byte",
			 c->source, jsonpos_offset_line(c->text, c->len, i));
		return -EINVAL;
	}
	if (c->len > INT_MAX) {
		snprintf(c->err, c->errlen, "%s: document too large",
			 c->source);
		return -EFBIG;
	}
	tok = json_tokener_new();
	if (!tok)
		return ctx_nomem(c);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, c->text, (int)c->len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		for (i = 0; i < c->len; i++)
			if (!strchr(" \t\r\n", c->text[i]))
				break;
		snprintf(c->err, c->errlen, "%s:%lu: syntax error: %s",
			 c->source,
			 jsonpos_offset_line(c->text, c->len, c->len),
			 i == c->len ? "empty document" :
			 "unexpected end of document");
		err = -EINVAL;
		goto out;
	}
	if (jerr != json_tokener_success) {
		snprintf(c->err, c->errlen, "%s:%lu: syntax error: %s",
			 c->source, jsonpos_offset_line(c->text, c->len, end),
			 json_tokener_error_desc(jerr));
		err = -EINVAL;
		goto out;
	}
	for (i = end; i < c->len; i++)
		if (!strchr(" \t\r\n", c->text[i]))
			break;
	if (i < c->len) {
		snprintf(c->err, c->errlen,
			 "%s:%lu: syntax error: unexpected data after the document",
			 c->source, jsonpos_offset_line(c->text, c->len, i));
		err = -EINVAL;
		goto out;
	}
	*out = root;
	root = NULL;
out:
	json_object_put(root);
	json_tokener_free(tok);
	return err;
}

static int root_version(struct ctx *c, const char *key, struct json_object *v,
			void *arg)
{
	int err;

	err = expect_type(c, v, json_type_int);
	if (err)
		return err;
	if (json_object_get_int64(v) != POLICY_VERSION)
		return ctx_fail(c, -EINVAL,
				"%lld is not a supported version (expected %d)",
				(long long)json_object_get_int64(v),
				POLICY_VERSION);
	c->p->version = POLICY_VERSION;
	return 0;
}

/* Duplicate keys: json-c keeps the last, a reader of the file the first. */
static int check_duplicates(struct ctx *c)
{
	char dpath[256], dkey[128], q[QUOTE_BUF];
	unsigned long line;
	int err;

	err = jsonpos_find_dup(c->text, c->len, dpath, sizeof(dpath), dkey,
			       sizeof(dkey), &line);
	if (err == -EINVAL) {
		snprintf(c->err, c->errlen,
			 "%s:%lu: syntax error: not strict JSON", c->source,
			 line);
		return err;
	}
	if (err < 0)
		return ctx_nomem(c);
	if (err) {
		snprintf(c->err, c->errlen, "%s:%lu: %s: duplicate key %s",
			 c->source, line, dpath, quote(dkey, q, sizeof(q)));
		return -EINVAL;
	}
	return 0;
}

static int parse_root(struct ctx *c, struct json_object *root)
{
	/* The version first: a newer document is told about as such. */
	static const struct key_handler keys[] = {
		{ "version", root_version, true },
		{ "sets", parse_sets, false },
		{ "launchers", parse_launchers, false },
		{ "profiles", parse_profiles, true },
		{ NULL },
	};
	size_t i;
	int err;

	err = check_duplicates(c);
	if (!err)
		err = walk_object(c, root, keys, WALK_TABLE, NULL);
	if (err)
		return err;
	for (i = 0; i < c->nusets; i++) {
		if (c->usets[i].used)
			continue;
		jpath_push_key(&c->path, "sets");
		jpath_push_key(&c->path, c->usets[i].name);
		ctx_warn_at(c, &c->path, "set is never used");
		jpath_pop(&c->path);
		jpath_pop(&c->path);
	}
	return 0;
}

static int policy_digest(const char *text, size_t len, char hex[65])
{
	unsigned char md[SHA256_DIGEST_SIZE];
	struct sha256_ctx ctx;
	unsigned int i;

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)text);
	sha256_digest(&ctx, sizeof(md), md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

void policy_env_init(struct policy_env *env, const struct hostenv *h,
		     const char *cgroup_root)
{
	memset(env, 0, sizeof(*env));
	env->cgroup_root = cgroup_root;
	if (!h)
		return;
	env->nameservers = h->nameservers;
	env->nnameservers = h->nnameservers;
	env->resolv_conf = h->resolv_conf;
	env->resolv_err = h->resolv_err;
	env->homes = h->homes;
	env->nhomes = h->nhomes;
	env->uids = h->uids;
	env->nuids = h->nuids;
}

/* What the parse itself holds, apart from the policy it returns. */
static void ctx_free(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->nusets; i++)
		free(c->usets[i].cidrs);
	free(c->usets);
	free(c->items);
	free(c->cgroups);
}

int policy_parse(const char *text, size_t len, const char *source,
		 const struct policy_env *env, char *err, size_t errlen,
		 void (*warn_cb)(const char *msg, void *arg), void *warn_arg,
		 struct policy **ret_policy)
{
	static const struct policy_env no_env;
	char dummy[POLICY_ERR_MAX];
	struct ctx c = {
		.text = text,
		.len = len,
		.source = source ? source : "policy",
		.env = env ? env : &no_env,
		.err = err && errlen ? err : dummy,
		.errlen = err && errlen ? errlen : sizeof(dummy),
		.warn_cb = warn_cb,
		.warn_arg = warn_arg,
	};
	struct json_object *root = NULL;
	int ret;

	*ret_policy = NULL;
	c.err[0] = '\0';
	c.cgroup_root = c.env->cgroup_root ? c.env->cgroup_root :
			DEFAULT_CGROUP_ROOT;
	if (!text) {
		snprintf(c.err, c.errlen, "%s: no policy text", c.source);
		return -EINVAL;
	}
	c.p = calloc(1, sizeof(*c.p));
	c.cgroups = calloc(POLICY_CGROUPS_MAX, sizeof(*c.cgroups));
	if (!c.p || !c.cgroups) {
		ret = ctx_nomem(&c);
		goto out;
	}
	ret = parse_json(&c, &root);
	if (!ret)
		ret = parse_root(&c, root);
	if (ret)
		goto out;
	ret = policy_digest(text, len, c.p->digest);
	if (ret) {
		snprintf(c.err, c.errlen, "%s: cannot compute the digest",
			 c.source);
		goto out;
	}
	c.p->source = strdup(c.source);
	c.p->cgroup_root = strdup(c.cgroup_root);
	if (!c.p->source || !c.p->cgroup_root) {
		ret = ctx_nomem(&c);
		goto out;
	}
	*ret_policy = c.p;
	c.p = NULL;
out:
	policy_free(c.p);
	json_object_put(root);
	ctx_free(&c);
	return ret;
}

int policy_load_file(const char *path, const struct policy_env *env,
		     char *err, size_t errlen,
		     void (*warn_cb)(const char *msg, void *arg), void *warn_arg,
		     struct policy **ret_policy)
{
	char *buf = NULL;
	struct stat st;
	size_t off = 0;
	ssize_t n;
	int fd, ret;

	*ret_policy = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto fail;
	}
	if (st.st_size > POLICY_FILE_MAX) {
		ret = -EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto fail;
	}
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	fd = -1;
	buf[off] = '\0';
	ret = policy_parse(buf, off, path, env, err, errlen, warn_cb, warn_arg,
			   ret_policy);
	free(buf);
	return ret;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

const char *policy_default_text(size_t *len)
{
	if (len)
		*len = (size_t)(mw_default_policy_end - mw_default_policy);
	return mw_default_policy;
}

int policy_load_default(const struct policy_env *env, char *err,
			size_t errlen, struct policy **ret_policy)
{
	size_t len;
	const char *text = policy_default_text(&len);

	return policy_parse(text, len, "built-in", env, err, errlen, NULL, NULL,
			    ret_policy);
}

const struct profile *policy_profile(const struct policy *p, const char *name)
{
	size_t i;

	if (!p || !name)
		return NULL;
	for (i = 0; i < p->nprofiles; i++)
		if (!strcmp(p->profiles[i].name, name))
			return &p->profiles[i];
	return NULL;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void free_path_rules(struct path_rule *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}

static void free_fences(struct tool_fence *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++) {
		free(v[i].pattern);
		free(v[i].net);
	}
	free(v);
}

void policy_free(struct policy *p)
{
	struct profile *prof;
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nprofiles; i++) {
		prof = &p->profiles[i];
		free(prof->name);
		free_strv(prof->detect, prof->ndetect);
		free_strv(prof->cgroups, prof->ncgroups);
		free(prof->net);
		free_path_rules(prof->exec, prof->nexec);
		free_path_rules(prof->files, prof->nfiles);
		free_path_rules(prof->unix_rules, prof->nunix);
		free_strv(prof->syscalls, prof->nsyscalls);
		free_fences(prof->tools, prof->ntools);
		free_fences(prof->idle, prof->idle ? 1 : 0);
		free_strv(prof->redact, prof->nredact);
		free(prof->k8s_namespace);
		free(prof->k8s_pod);
		free(prof->k8s_container);
	}
	free(p->profiles);
	free_strv(p->rule_names, p->nrule_names);
	free_strv(p->launchers, p->nlaunchers);
	free(p->source);
	free(p->cgroup_root);
	free(p);
}
