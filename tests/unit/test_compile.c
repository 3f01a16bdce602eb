// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy to map entries (compile_policy) and the detection matcher that the
 * BPF exec hook shares (include/mw_match.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kernel/maps.h"
#include "mw_match.h"
#include "policy/policy.h"
#include "unit.h"

static struct policy *parse(const char *text)
{
	struct policy_env env = { .resolv_conf = "/nonexistent",
				  .resolv_err = ENOENT };
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX];

	if (policy_parse(text, strlen(text), "t.json", &env, err, sizeof(err),
			 NULL, NULL, &p)) {
		printf("    parse: %s\n", err);
		return NULL;
	}
	return p;
}

static int rule(const char *pat, const char *name)
{
	struct mw_detect_rule r = {};
	char buf[MW_NAME_BUF] = {};
	size_t len = strlen(pat);

	r.kind = MW_MATCH_EXACT;
	if (pat[len - 1] == '*') {
		r.kind = MW_MATCH_PREFIX;
		len--;
	} else if (pat[0] == '*') {
		r.kind = MW_MATCH_SUFFIX;
		pat++;
		len--;
	}
	memcpy(r.pattern, pat, len);
	r.len = len;
	snprintf(buf, sizeof(buf), "%s", name);
	return mw_rule_match(&r, buf, strlen(name));
}

UNIT_TEST(match)
{
	CHECK(rule("mcp-server-*", "mcp-server-fetch"));
	CHECK(rule("mcp-server-*", "mcp-server-"));
	CHECK(!rule("mcp-server-*", "mcp-serve"));
	CHECK(!rule("mcp-server-*", "xmcp-server-a"));
	CHECK(rule("*-mcp-server", "github-mcp-server"));
	CHECK(!rule("*-mcp-server", "github-mcp-server2"));
	CHECK(!rule("*-mcp-server", "mcp-server"));
	CHECK(rule("fastmcp", "fastmcp"));
	CHECK(!rule("fastmcp", "fastmcp2"));
	CHECK(!rule("fastmcp", "fastmc"));
	CHECK(rule("@modelcontextprotocol/server-*",
		   "@modelcontextprotocol/server-filesystem@1.2"));
	/* Names that do not fit the buffer never match. */
	CHECK(!rule("a*", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	CHECK(mw_basename_off("/usr/bin/node", 13) == 9);
	CHECK(mw_basename_off("node", 4) == 0);
}

UNIT_TEST(compile_network)
{
	struct policy *p = parse(
		"{\"version\": 1, \"profiles\": {\"a\": {\"network\": {"
		"\"deny\": [\"10.0.0.0/8\", {\"to\": \"10.20.0.5\", \"ports\": [22]}],"
		"\"allow\": [{\"to\": \"10.20.0.5/32\", \"ports\": [5432], \"protocol\": \"tcp\"},"
		"            {\"to\": \"10.20.0.5/32\", \"ports\": [\"5000-6000\"]}],"
		"\"audit\": [\"10.20.0.5/32\"]}}}}");
	struct profile_ids ids = {};
	struct rule_ids rules = {};
	struct compiled c;
	char err[256] = "";
	size_t i, host = 99;

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(compile_policy(p, 1, &ids, &rules, err, sizeof(err), NULL, NULL, &c) == 0);
	CHECK(c.nnet == 2);			/* two prefixes */
	for (i = 0; i < c.nnet; i++) {
		CHECK(c.net_keys[i].gen == 1);
		CHECK(c.net_keys[i].profile == 1);
		if (c.net_vals[i].plen == 128)
			host = i;
	}
	CHECK(host < c.nnet);
	if (host < c.nnet) {
		const struct mw_net_value *v = &c.net_vals[host];

		CHECK(c.net_keys[host].prefixlen == MW_NET_KEY_FIXED_BITS + 128);
		CHECK(v->nrules == 4);
		/* Most specific first: single ports, then the range, then any. */
		CHECK(v->rules[0].port_lo == v->rules[0].port_hi);
		CHECK(v->rules[1].port_lo == v->rules[1].port_hi);
		CHECK(v->rules[0].port_lo == 5432 && v->rules[0].protocol == 6);
		CHECK(v->rules[1].port_lo == 22 && v->rules[1].action == MW_ACTION_DENY);
		CHECK(v->rules[2].port_lo == 5000 && v->rules[2].port_hi == 6000);
		CHECK(v->rules[3].port_lo == 0 && v->rules[3].port_hi == 65535 &&
		      v->rules[3].action == MW_ACTION_AUDIT);
	}
	compiled_free(&c);
	profile_ids_free(&ids);
	rule_ids_free(&rules);
	policy_free(p);
}

/*
 * Exec rules on busybox applets (Debian's busybox-static at /bin/busybox):
 * a symlink or a hard link by another name is a rule on the applet, with
 * the binary's empty-name entry once; busybox by its own name, an allow
 * rule and an ordinary binary stay rules on the inode.
 */
UNIT_TEST(compile_busybox_applets)
{
	char dir[] = "/tmp/mw-applets-XXXXXX", text[1024], path[PATH_MAX];
	static const char *const names[] = { "nc", "wget", "busybox", "sh",
					     "alt/nc" };
	struct profile_ids ids = {};
	struct rule_ids rules = {};
	struct compiled c = {};
	struct policy *p = NULL;
	struct stat bb;
	char err[256] = "";
	size_t i, marker = 0, nc = 0;

	CHECK(stat("/bin/busybox", &bb) == 0 && mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/alt", dir);
	CHECK(mkdir(path, 0755) == 0);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		CHECK(symlink("/bin/busybox", path) == 0);
	}
	snprintf(path, sizeof(path), "%s/hardnc", dir);
	if (link("/bin/busybox", path))	/* another file system: a symlink */
		CHECK(symlink("/bin/busybox", path) == 0);
	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"profiles\": {\"a\": {\"exec\": {"
		 "\"deny\": [\"%s/nc\", \"%s/wget\", \"%s/busybox\", \"%s/hardnc\", \"/usr/bin/env\"],"
		 "\"audit\": [\"%s/alt/nc\"], \"allow\": [\"%s/sh\"]}}}}",
		 dir, dir, dir, dir, dir, dir);
	p = parse(text);
	CHECK(p != NULL);
	if (p)
		CHECK(compile_policy(p, 1, &ids, &rules, err, sizeof(err),
				     NULL, NULL, &c) == 0);
	/* "", nc (deny beats the audit), wget, hardnc */
	CHECK(c.napplets == 4);
	for (i = 0; i < c.napplets; i++) {
		CHECK(c.applet_keys[i].ino == bb.st_ino &&
		      c.applet_keys[i].gen == 1);
		if (!c.applet_keys[i].name[0]) {
			marker++;
			CHECK(c.applet_vals[i].action == MW_ACTION_NONE);
		}
		if (!strcmp(c.applet_keys[i].name, "nc")) {
			nc++;
			CHECK(c.applet_vals[i].action == MW_ACTION_DENY);
		}
	}
	CHECK(marker == 1 && nc == 1);
	CHECK(c.napplets && c.profiles[c.applet_keys[0].profile].has_applets);
	/* busybox by its name, the allow rule on sh, env: on the inode */
	CHECK(c.nexec == 3);
	for (i = 0; i < c.nexec; i++)
		CHECK(c.exec[i].ino != bb.st_ino ||
		      c.exec[i].action == MW_ACTION_ALLOW ||
		      strstr(c.exec[i].path, "/busybox"));
	compiled_free(&c);
	profile_ids_free(&ids);
	rule_ids_free(&rules);
	policy_free(p);
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/hardnc", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/alt", dir);
	rmdir(path);
	rmdir(dir);
}

UNIT_TEST(profile_ids_stable)
{
	struct policy *p1 = parse("{\"version\": 1, \"profiles\": {\"a\": {}, \"b\": {}}}");
	struct policy *p2 = parse("{\"version\": 1, \"profiles\": {\"c\": {}, \"b\": {}}}");
	struct profile_ids ids = {};
	struct rule_ids rules = {};
	struct compiled c;
	char err[256];
	__u32 b;

	CHECK(p1 && p2);
	if (!p1 || !p2)
		return;
	CHECK(compile_policy(p1, 0, &ids, &rules, err, sizeof(err), NULL, NULL, &c) == 0);
	b = profile_ids_get(&ids, "b");
	CHECK(b && c.profiles[b].present);
	compiled_free(&c);
	CHECK(compile_policy(p2, 1, &ids, &rules, err, sizeof(err), NULL, NULL, &c) == 0);
	/* "b" keeps its id; "a" is gone from the generation, not reused. */
	CHECK(profile_ids_get(&ids, "b") == b);
	CHECK(c.profiles[profile_ids_get(&ids, "a")].present == 0);
	CHECK(profile_ids_get(&ids, "c") != profile_ids_get(&ids, "a"));
	compiled_free(&c);
	profile_ids_free(&ids);
	rule_ids_free(&rules);
	policy_free(p1);
	policy_free(p2);
}

UNIT_TEST(compile_detect_and_cgroups)
{
	struct policy *p = parse(
		"{\"version\": 1, \"profiles\": {\"s\": {\"mode\": \"monitor\", \"select\": {"
		"\"detect\": [\"@modelcontextprotocol/server-*\", \"*-mcp-server\", \"fastmcp\"],"
		"\"cgroups\": [\"/nonexistent/cg\", \"/proc\"]}}}}");
	struct profile_ids ids = {};
	struct rule_ids rules = {};
	struct compiled c;
	char err[256];
	int warned = 0;

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(compile_policy(p, 0, &ids, &rules, err, sizeof(err), NULL, NULL,
			     &c) == 0);
	CHECK(c.ndetect == 3);
	CHECK(c.detect[0].kind == MW_MATCH_PREFIX && c.detect[0].depth == 2);
	CHECK(c.detect[1].kind == MW_MATCH_SUFFIX && c.detect[1].depth == 1 &&
	      c.detect[1].len == 11);
	CHECK(c.detect[2].kind == MW_MATCH_EXACT);
	/* A missing cgroup is left out; /proc is a directory, so it counts. */
	CHECK(c.ncgroups == 1);
	CHECK(c.profiles[1].mode == MW_MODE_MONITOR);
	compiled_free(&c);
	(void)warned;
	profile_ids_free(&ids);
	rule_ids_free(&rules);
	policy_free(p);
}

UNIT_MAIN("maps")
