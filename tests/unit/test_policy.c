// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy parsing and validation.
 *
 * The bad-policy corpus: tests/unit/bad_policies/NN-name.json, each with
 * NN-name.err holding the exact error line policy_load_file must write
 * (trailing newline ignored). The test runs the corpus from tests/unit (it
 * changes there if started elsewhere) and passes the relative path
 * "bad_policies/NN-name.json", so every expected line starts with that
 * path: "bad_policies/42-cidr-v4-33.json:10: profiles.fetch....".
 * To add a case, write the .json, run the test, check the line it prints as
 * "got", and put that line in the .err file only if it is right.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cidr.h"
#include "lib/hostenv.h"
#include "policy/jsonpos.h"
#include "policy/policy.h"
#include "unit.h"

#define CORPUS_DIR	"bad_policies"
#define CORPUS_MIN	40

struct warnings {
	int n;
	char all[8192];
};

static void collect(const char *msg, void *arg)
{
	struct warnings *w = arg;
	size_t off = strlen(w->all);

	w->n++;
	snprintf(w->all + off, sizeof(w->all) - off, "%s\n", msg);
}

static char resolv_path[64];

/* A resolv.conf for the "nameservers" set; removed at exit. */
static const char *resolv_conf(void)
{
	static const char text[] =
		"# written by test_policy\n"
		"search example.com\n"
		"nameserver 127.0.0.53\n"
		"nameserver 10.0.0.2   # the VPC resolver\n"
		"nameserver fe80::1%eth0\n"
		"nameserver 127.0.0.53\n"
		"nameserver not-an-address\n"
		"options edns0\n";
	FILE *f;
	int fd;

	if (resolv_path[0])
		return resolv_path;
	snprintf(resolv_path, sizeof(resolv_path), "/tmp/mw-resolv-XXXXXX");
	fd = mkstemp(resolv_path);
	if (fd < 0)
		return "/nonexistent";
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return "/nonexistent";
	}
	fputs(text, f);
	fclose(f);
	return resolv_path;
}

__attribute__((destructor)) static void resolv_cleanup(void)
{
	if (resolv_path[0])
		unlink(resolv_path);
}

/* What the agent reads of the host, with @resolv for resolv.conf. */
static void host_env(const char *resolv, struct hostenv *h,
		     struct policy_env *env)
{
	if (hostenv_read(h, resolv, "/etc/passwd"))
		memset(h, 0, sizeof(*h));
	policy_env_init(env, h, NULL);
}

static int parse(const char *text, const struct policy_env *env,
		 struct policy **p, char *err, struct warnings *w)
{
	return policy_parse(text, strlen(text), "test.json", env, err,
			    POLICY_ERR_MAX, w ? collect : NULL, w, p);
}

/* The rule of @prof on @cidr with exactly these ports, protocol, action. */
static const struct net_rule *find_rule(const struct profile *prof,
					const char *cidr, __u16 lo, __u16 hi,
					__u8 proto, __u8 action)
{
	__u8 addr[16], plen;
	size_t i;

	if (!prof || cidr_parse(cidr, addr, &plen))
		return NULL;
	for (i = 0; i < prof->nnet; i++) {
		const struct net_rule *r = &prof->net[i];

		if (!memcmp(r->addr, addr, 16) && r->plen == plen &&
		    r->port_lo == lo && r->port_hi == hi &&
		    r->protocol == proto && r->action == action)
			return r;
	}
	return NULL;
}

static size_t count_prefix(const struct profile *prof, const char *cidr)
{
	__u8 addr[16], plen;
	size_t i, n = 0;

	if (cidr_parse(cidr, addr, &plen))
		return 0;
	for (i = 0; i < prof->nnet; i++)
		if (!memcmp(prof->net[i].addr, addr, 16) &&
		    prof->net[i].plen == plen)
			n++;
	return n;
}

UNIT_TEST(default_policy)
{
	struct policy_env env;
	struct hostenv h;
	const struct profile *prof;
	const struct net_rule *r;
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX] = "";
	size_t i;

	host_env(resolv_conf(), &h, &env);
	CHECK(policy_load_default(&env, err, sizeof(err), &p) == 0);
	CHECK_STR(err, "");
	if (!p)
		goto out;
	CHECK_STR(p->source, "built-in");
	CHECK(p->version == 1);
	CHECK(strlen(p->digest) == 64);
	CHECK(p->nprofiles == 1);
	prof = policy_profile(p, "default");
	CHECK(prof == &p->profiles[0]);
	if (!prof)
		goto out;
	CHECK(prof->mode == MW_MODE_ENFORCE);
	CHECK(prof->net_default == MW_ACTION_ALLOW);
	CHECK(prof->deny_raw);
	CHECK(prof->ndetect == 5);
	if (prof->ndetect == 5) {
		CHECK_STR(prof->detect[0], "@modelcontextprotocol/server-*");
		CHECK_STR(prof->detect[1], "mcp-server-*");
		CHECK_STR(prof->detect[2], "mcp_server_*");
		CHECK_STR(prof->detect[3], "*-mcp-server");
		CHECK_STR(prof->detect[4], "fastmcp");
	}
	CHECK(prof->ncgroups == 0);

	/* metadata, IPv4 and IPv6, as /128-form host prefixes */
	r = find_rule(prof, "169.254.169.254", 0, 65535, 0, MW_ACTION_DENY);
	CHECK(r && r->plen == 128);
	CHECK(r && !strcmp(p->rule_names[r->id],
			   "profiles.default.network.deny[0] (metadata)"));
	CHECK(find_rule(prof, "fd00:ec2::254", 0, 65535, 0, MW_ACTION_DENY));
	CHECK(find_rule(prof, "168.63.129.16", 0, 65535, 0, MW_ACTION_DENY));
	CHECK(find_rule(prof, "169.254.170.2", 0, 65535, 0, MW_ACTION_DENY));
	CHECK(find_rule(prof, "fd00:a9fe:a9fe::1", 0, 65535, 0,
			MW_ACTION_DENY));
	CHECK(!find_rule(prof, "169.254.169.253", 0, 65535, 0,
			 MW_ACTION_DENY));	/* AWS DNS: not metadata */
	/* private */
	r = find_rule(prof, "10.0.0.0/8", 0, 65535, 0, MW_ACTION_DENY);
	CHECK(r && r->plen == 104);
	CHECK(r && !strcmp(p->rule_names[r->id],
			   "profiles.default.network.deny[1] (private)"));
	CHECK(find_rule(prof, "fc00::/7", 0, 65535, 0, MW_ACTION_DENY));
	CHECK(find_rule(prof, "240.0.0.0/4", 0, 65535, 0, MW_ACTION_DENY));
	CHECK(!count_prefix(prof, "::ffff:0:0/96"));	/* unwrapped, not denied */
	CHECK(!count_prefix(prof, "64:ff9b::/96"));
	CHECK(!count_prefix(prof, "2002::/16"));
	/* loopback: its own set, not part of private */
	r = find_rule(prof, "127.0.0.0/8", 0, 65535, 0, MW_ACTION_DENY);
	CHECK(r && r->plen == 104);
	CHECK(r && !strcmp(p->rule_names[r->id],
			   "profiles.default.network.deny[2] (loopback)"));
	CHECK(find_rule(prof, "::1", 0, 65535, 0, MW_ACTION_DENY));
	/* nameservers from the test's resolv.conf, port 53, tcp and udp */
	r = find_rule(prof, "127.0.0.53", 53, 53, 0, MW_ACTION_ALLOW);
	CHECK(r && r->plen == 128);
	CHECK(r && !strcmp(p->rule_names[r->id],
			   "profiles.default.network.allow[0] (nameservers)"));
	CHECK(find_rule(prof, "10.0.0.2", 53, 53, 0, MW_ACTION_ALLOW));
	CHECK(find_rule(prof, "fe80::1", 53, 53, 0, MW_ACTION_ALLOW));
	CHECK(count_prefix(prof, "127.0.0.53") == 1);	/* listed twice */
	/* 15 metadata + 25 private + 2 loopback + 3 nameservers */
	CHECK(prof->nnet == 45);
	/*
	 * 4 network rules, 14 exec paths, secrets, persistence, runtimes,
	 * command runners, syscalls
	 */
	CHECK(p->nrule_names == 4 + 14 + 5);
	CHECK(prof->nfiles > 30 && !prof->files_allowlist);
	/* runtimes: 7 paths and 2 a user; command runners: 3 and 9 a user */
	CHECK(h.nuids > 0 && prof->nunix == 10 + 11 * h.nuids);
	CHECK(prof->nsyscalls == 13);
	CHECK_STR(p->rule_names[prof->files[0].id],
		  "profiles.default.files.deny[0] (secrets)");
	CHECK(!strncmp(p->rule_names[prof->syscalls_id],
		       "profiles.default.syscalls.deny (ptrace, bpf, ", 44));
	for (i = 0; i < prof->nnet; i++)
		CHECK(prof->net[i].id < p->nrule_names);
	CHECK(prof->nexec == 14 && !prof->exec_allowlist);
	CHECK(prof->fileless == MW_ACTION_DENY);
	for (i = 0; i < prof->nexec; i++)
		CHECK(prof->exec[i].action == MW_ACTION_DENY);
	CHECK(prof->nexec >= 4 && !strcmp(prof->exec[0].path, "/tmp") &&
	      !strcmp(prof->exec[3].path, "/usr/bin/curl"));
	CHECK_STR(p->rule_names[prof->exec[3].id],
		  "profiles.default.exec.deny[3] (/usr/bin/curl)");
out:
	policy_free(p);
	hostenv_free(&h);
}

UNIT_TEST(default_text)
{
	struct policy_env env;
	struct hostenv h;
	char err[POLICY_ERR_MAX] = "", buf[8192];
	struct warnings w = { 0 };
	struct policy *p = NULL;
	const char *text;
	size_t len, n;
	FILE *f;

	text = policy_default_text(&len);
	CHECK(text && len > 100);
	/* the same bytes as policy/default.json */
	f = fopen("../../policy/default.json", "r");
	if (!f)
		f = fopen("policy/default.json", "r");
	CHECK(f != NULL);
	if (f) {
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		CHECK(n == len && !memcmp(buf, text, len));
	}
	/* parses without warnings when resolv.conf has nameservers */
	host_env(resolv_conf(), &h, &env);
	CHECK(policy_parse(text, len, "built-in", &env, err, sizeof(err),
			   collect, &w, &p) == 0);
	CHECK(w.n == 0);
	if (w.n)
		printf("    %s", w.all);
	policy_free(p);
	hostenv_free(&h);
}

UNIT_TEST(default_no_resolv_conf)
{
	char err[POLICY_ERR_MAX] = "";
	struct warnings w = { 0 };
	struct policy *p = NULL;
	struct policy_env env;
	struct hostenv h;
	const char *text;
	size_t len;

	text = policy_default_text(&len);
	host_env("/nonexistent/resolv.conf", &h, &env);
	CHECK(policy_parse(text, len, "built-in", &env, err, sizeof(err),
			   collect, &w, &p) == 0);
	CHECK(w.n == 1);
	CHECK(strstr(w.all, "built-in:19: profiles.default.network.allow[0].to: set \"nameservers\" is empty (cannot read /nonexistent/resolv.conf: No such file or directory)") != NULL);
	if (p)
		CHECK(p->profiles[0].nnet == 42);
	policy_free(p);
	hostenv_free(&h);
}

/* The host's files as the daemon reads them: lib/hostenv, then the policy. */
UNIT_TEST(host_env_read)
{
	static const char passwd[] =
		"a:x:1:1::/tmp:/bin/sh\n"
		"b:x:2:2:gecos, again:/tmp:/bin/sh\n"	/* twice: once */
		"c:x:3:3::/:/bin/sh\n"			/* not "/" */
		"d:x:4:4::/nonexistent-mw-home:/bin/sh\n"	/* no such dir */
		"e:x:5:5::relative:/bin/sh\n"
		"short:x:6\n"
		"f:x:7:7::/dev:/bin/sh\n";
	static const char text[] =
		"{\"version\": 1, \"profiles\": {\"h\": {"
		"\"files\": {\"deny\": [\"~/.ssh\"]},"
		"\"network\": {\"allow\": [\"nameservers\"]}}}}";
	char path[] = "/tmp/mw-passwd-XXXXXX", err[POLICY_ERR_MAX] = "";
	struct warnings w = { 0 };
	struct policy *p = NULL;
	struct policy_env env;
	struct hostenv h;
	char buf[64];
	FILE *f;
	int fd;

	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(passwd, f);
		fclose(f);
	}
	CHECK(hostenv_read(&h, resolv_conf(), path) == 0);
	CHECK_STR(h.resolv_conf, resolv_conf());
	CHECK(h.resolv_err == 0);
	CHECK(h.nnameservers == 3);	/* 127.0.0.53 once, no junk */
	if (h.nnameservers == 3) {
		addr_format(h.nameservers[2].addr, buf, sizeof(buf));
		CHECK_STR(buf, "fe80::1");	/* without its zone */
		CHECK(h.nameservers[0].plen == 128);
	}
	CHECK(h.nhomes == 2);
	if (h.nhomes == 2) {
		CHECK_STR(h.homes[0], "/tmp");
		CHECK_STR(h.homes[1], "/dev");
	}
	/* Every user of a kept home: what "{uid}" expands to. */
	CHECK(h.nuids == 3);
	if (h.nuids == 3)
		CHECK(h.uids[0] == 1 && h.uids[1] == 2 && h.uids[2] == 7);
	policy_env_init(&env, &h, NULL);
	CHECK(parse(text, &env, &p, err, &w) == 0);
	CHECK(w.n == 0);
	CHECK(p && p->profiles[0].nfiles == 2 && p->profiles[0].nnet == 3);
	if (p && p->profiles[0].nfiles == 2) {
		CHECK_STR(p->profiles[0].files[0].path, "/tmp/.ssh");
		CHECK_STR(p->profiles[0].files[1].path, "/dev/.ssh");
	}
	policy_free(p);
	/* "{uid}": once for each of those users, every occurrence. */
	p = NULL;
	CHECK(parse("{\"version\": 1, \"profiles\": {\"u\": {"
		    "\"unix\": {\"deny\": [\"/run/u/{uid}/s{uid}\"]}}}}",
		    &env, &p, err, NULL) == 0);
	CHECK(p && p->profiles[0].nunix == 3);
	if (p && p->profiles[0].nunix == 3) {
		CHECK_STR(p->profiles[0].unix_rules[0].path, "/run/u/1/s1");
		CHECK_STR(p->profiles[0].unix_rules[2].path, "/run/u/7/s7");
		CHECK(p->profiles[0].unix_rules[0].id ==
		      p->profiles[0].unix_rules[2].id);
	}
	policy_free(p);
	hostenv_free(&h);
	CHECK(h.resolv_conf == NULL && h.homes == NULL && h.uids == NULL);
	hostenv_free(&h);		/* a zeroed one: nothing */
	hostenv_free(NULL);
	unlink(path);

	/* Files that cannot be read: empty, and no error. */
	CHECK(hostenv_read(&h, "/nonexistent/resolv.conf",
			   "/nonexistent/passwd") == 0);
	CHECK(h.resolv_err == ENOENT && !h.nnameservers && !h.nhomes);
	hostenv_free(&h);
	CHECK(hostenv_read(&h, NULL, NULL) == 0);
	CHECK(!h.resolv_conf && !h.nnameservers && !h.nhomes);
	hostenv_free(&h);

	/* No env at all: nothing read, and the warning says so. */
	p = NULL;
	w.n = 0;
	w.all[0] = '\0';
	CHECK(parse(text, NULL, &p, err, &w) == 0);
	CHECK_STR(w.all, "test.json:1: profiles.h.network.allow[0]: set \"nameservers\" is empty (no resolv.conf read): this entry matches nothing\n");
	CHECK(p && p->profiles[0].nfiles == 0 && p->profiles[0].nnet == 0);
	policy_free(p);
}

/* syscalls.deny names its rule before its elements are checked. */
UNIT_TEST(syscalls_null_entry)
{
	char err[POLICY_ERR_MAX] = "";
	struct policy *p = NULL;

	CHECK(parse("{\"version\": 1, \"profiles\": {\"x\": {\"syscalls\": "
		    "{\"deny\": [null, \"bpf\"]}}}}", NULL, &p, err, NULL) ==
	      -EINVAL);
	CHECK(p == NULL);
	CHECK_STR(err, "test.json:1: profiles.x.syscalls.deny[0]: expected a string, got null");
}

UNIT_TEST(files_readonly)
{
	char err[POLICY_ERR_MAX] = "";
	struct policy *p = NULL;
	const struct profile *prof;
	size_t k, ro = 0;

	CHECK(parse("{\"version\": 1, \"profiles\": {\"x\": {\"files\": {"
		    "\"readonly\": [\"persistence\", \"/srv/a\", \"/srv/b\"],"
		    "\"deny\": [\"/srv/a\"], \"audit\": [\"/srv/b\"]}}}}",
		    NULL, &p, err, NULL) == 0);
	CHECK_STR(err, "");
	if (!p)
		return;
	prof = &p->profiles[0];
	for (k = 0; k < prof->nfiles; k++) {
		const struct path_rule *r = &prof->files[k];

		ro += r->readonly;
		/* Named twice: deny beats readonly, readonly beats audit. */
		if (!strcmp(r->path, "/srv/a"))
			CHECK(r->action == MW_ACTION_DENY && !r->readonly);
		if (!strcmp(r->path, "/srv/b"))
			CHECK(r->action == MW_ACTION_DENY && r->readonly);
		if (!strcmp(r->path, "/etc/ld.so.preload"))
			CHECK_STR(p->rule_names[r->id],
				  "profiles.x.files.readonly[0] (persistence)");
	}
	CHECK(ro > 10);
	policy_free(p);
	p = NULL;
	/* Each list takes its own set. */
	CHECK(parse("{\"version\": 1, \"profiles\": {\"x\": {\"files\": {"
		    "\"readonly\": [\"secrets\"]}}}}", NULL, &p, err, NULL) ==
	      -EINVAL);
	CHECK_STR(err, "test.json:1: profiles.x.files.readonly[0]: \"secrets\" is not an absolute path, a ~/path or the path set \"persistence\"");
}

/* "~/name" is directly in a home (no directory mark there: compile.c). */
UNIT_TEST(files_in_home)
{
	char err[POLICY_ERR_MAX] = "";
	struct policy_env env;
	struct policy *p = NULL;
	struct hostenv h;
	size_t k, in = 0, deep = 0;

	host_env(resolv_conf(), &h, &env);
	CHECK(parse("{\"version\": 1, \"profiles\": {\"x\": {\"files\": {"
		    "\"deny\": [\"~/.netrc\", \"~/.docker/config.json\", \"/etc/x\"]}}}}",
		    &env, &p, err, NULL) == 0);
	CHECK_STR(err, "");
	for (k = 0; p && k < p->profiles[0].nfiles; k++) {
		const struct path_rule *r = &p->profiles[0].files[k];

		if (strstr(r->path, "/.netrc"))
			in += r->in_home;
		else
			deep += r->in_home;
	}
	CHECK(h.nhomes > 0 && in == h.nhomes && deep == 0);
	policy_free(p);
	hostenv_free(&h);
}

/* "except" leaves a set's entry out, for every home, and only it. */
UNIT_TEST(files_except)
{
	char err[POLICY_ERR_MAX] = "";
	struct policy_env env;
	struct policy *p = NULL, *all = NULL;
	struct hostenv h;
	size_t k, npmrc = 0, netrc = 0;

	host_env(resolv_conf(), &h, &env);
	CHECK(parse("{\"version\": 1, \"profiles\": {\"x\": {\"files\": {"
		    "\"deny\": [\"secrets\"], \"except\": [\"~/.npmrc\"]}}}}",
		    &env, &p, err, NULL) == 0);
	CHECK_STR(err, "");
	CHECK(parse("{\"version\": 1, \"profiles\": {\"x\": {\"files\": {"
		    "\"deny\": [\"secrets\"]}}}}", &env, &all, err, NULL) == 0);
	for (k = 0; p && k < p->profiles[0].nfiles; k++) {
		npmrc += !!strstr(p->profiles[0].files[k].path, "/.npmrc");
		netrc += !!strstr(p->profiles[0].files[k].path, "/.netrc");
	}
	CHECK(h.nhomes > 0 && npmrc == 0 && netrc == h.nhomes);
	CHECK(p && all && p->profiles[0].nfiles + h.nhomes ==
	      all->profiles[0].nfiles);
	policy_free(p);
	policy_free(all);
	p = NULL;
	/* A typo excepts nothing: an error, not a silent no-op. */
	CHECK(parse("{\"version\": 1, \"profiles\": {\"x\": {\"files\": {"
		    "\"deny\": [\"secrets\"], \"except\": [\"~/.npmrcc\"]}}}}",
		    &env, &p, err, NULL) == -EINVAL);
	CHECK_STR(err, "test.json:1: profiles.x.files.except[0]: \"~/.npmrcc\" is not one of the paths the lists above name");
	policy_free(p);
	hostenv_free(&h);
}

UNIT_TEST(user_sets_ports_protocol)
{
	static const char text[] =
		"{\n"
		"  \"version\": 1,\n"
		"  \"sets\": { \"corp-db\": [\"10.20.0.5/32\", \"fd00:1::/64\"],\n"
		"            \"unused\": [] },\n"
		"  \"profiles\": {\n"
		"    \"db\": {\n"
		"      \"network\": {\n"
		"        \"default\": \"deny\",\n"
		"        \"audit\": [\"192.0.2.0/24\",\n"
		"          {\"to\": [\"corp-db\"], \"ports\": [\"5432\", \"8000-8080\"], \"protocol\": \"tcp\"}],\n"
		"        \"allow\": [{\"to\": \"::ffff:198.51.100.7\", \"ports\": [443], \"protocol\": \"udp\"}],\n"
		"        \"raw_sockets\": \"allow\"\n"
		"      }\n"
		"    }\n"
		"  }\n"
		"}\n";
	char err[POLICY_ERR_MAX] = "";
	struct warnings w = { 0 };
	const struct profile *prof;
	const struct net_rule *r;
	struct policy *p = NULL;

	CHECK(parse(text, NULL, &p, err, &w) == 0);
	CHECK_STR(err, "");
	CHECK(w.n == 1);
	CHECK_STR(w.all, "test.json:4: sets.unused: set is never used\n");
	prof = policy_profile(p, "db");
	CHECK(prof != NULL);
	if (!prof)
		goto out;
	CHECK(prof->net_default == MW_ACTION_DENY);
	CHECK(!prof->deny_raw);
	CHECK(prof->mode == MW_MODE_ENFORCE);
	CHECK(prof->nnet == 6);
	r = find_rule(prof, "192.0.2.0/24", 0, 65535, 0, MW_ACTION_AUDIT);
	CHECK(r && !strcmp(p->rule_names[r->id],
			   "profiles.db.network.audit[0] (192.0.2.0/24)"));
	r = find_rule(prof, "10.20.0.5", 5432, 5432, 6, MW_ACTION_AUDIT);
	CHECK(r && !strcmp(p->rule_names[r->id],
			   "profiles.db.network.audit[1] (corp-db)"));
	CHECK(find_rule(prof, "10.20.0.5", 8000, 8080, 6, MW_ACTION_AUDIT));
	CHECK(find_rule(prof, "fd00:1::/64", 5432, 5432, 6, MW_ACTION_AUDIT));
	CHECK(find_rule(prof, "fd00:1::/64", 8000, 8080, 6, MW_ACTION_AUDIT));
	/* a mapped literal is its IPv4 form */
	r = find_rule(prof, "198.51.100.7", 443, 443, 17, MW_ACTION_ALLOW);
	CHECK(r && r->plen == 128);
	CHECK(r && !strcmp(p->rule_names[r->id],
			   "profiles.db.network.allow[0] (::ffff:198.51.100.7)"));
	CHECK(!policy_profile(p, "nope"));
out:
	policy_free(p);
}

UNIT_TEST(monitor_and_defaults)
{
	static const char text[] =
		"{\"version\": 1, \"profiles\": {"
		"\"quiet\": {\"mode\": \"monitor\", \"network\": {\"deny\": [\"loopback\"]}},"
		"\"bare\": {}}}";
	char err[POLICY_ERR_MAX] = "";
	const struct profile *prof;
	struct policy *p = NULL;

	CHECK(parse(text, NULL, &p, err, NULL) == 0);
	if (!p)
		return;
	CHECK(p->nprofiles == 2);
	CHECK_STR(p->profiles[0].name, "quiet");	/* document order */
	CHECK_STR(p->profiles[1].name, "bare");
	prof = policy_profile(p, "quiet");
	CHECK(prof && prof->mode == MW_MODE_MONITOR);
	/* monitor keeps the actions: the BPF side turns deny into audit */
	CHECK(find_rule(prof, "127.0.0.0/8", 0, 65535, 0, MW_ACTION_DENY));
	CHECK(prof && prof->net_default == MW_ACTION_ALLOW && prof->deny_raw);
	prof = policy_profile(p, "bare");
	CHECK(prof && prof->mode == MW_MODE_ENFORCE && prof->nnet == 0 &&
	      prof->net_default == MW_ACTION_ALLOW && prof->deny_raw &&
	      prof->ndetect == 0 && prof->ncgroups == 0);
	policy_free(p);
}

UNIT_TEST(cgroups)
{
	static const char text[] =
		"{\"version\": 1, \"profiles\": {\"k\": {\"select\": {\"cgroups\": ["
		"\"/sys/fs/cgroup/unified/mcp.slice\", \"mcp.slice/\", "
		"\"kubepods.slice/pod-1\"]}}}}";
	struct policy_env env = { .cgroup_root = "/cg/" };
	char err[POLICY_ERR_MAX] = "";
	const struct profile *prof;
	struct policy *p = NULL;

	CHECK(parse(text, &env, &p, err, NULL) == 0);
	prof = policy_profile(p, "k");
	CHECK(prof && prof->ncgroups == 3);
	if (prof && prof->ncgroups == 3) {
		CHECK_STR(prof->cgroups[0], "/sys/fs/cgroup/unified/mcp.slice");
		CHECK_STR(prof->cgroups[1], "/cg/mcp.slice");
		CHECK_STR(prof->cgroups[2], "/cg/kubepods.slice/pod-1");
	}
	policy_free(p);
	p = NULL;
	CHECK(parse(text, NULL, &p, err, NULL) == 0);
	prof = policy_profile(p, "k");
	CHECK(prof && prof->ncgroups == 3 &&
	      !strcmp(prof->cgroups[1], "/sys/fs/cgroup/mcp.slice"));
	policy_free(p);
}

UNIT_TEST(shadowed_rules_warn)
{
	static const char text[] =
		"{\"version\": 1,\n"
		"\"profiles\": {\"s\": {\"network\": {\n"
		"\"deny\": [\"10.0.0.0/8\", {\"to\": \"10.9.9.9\", \"ports\": [22]}],\n"
		"\"allow\": [\"10.0.0.0/8\",\n"
		"  {\"to\": \"10.9.9.9\", \"ports\": [\"1-100\"], \"protocol\": \"tcp\"},\n"
		"  {\"to\": \"10.9.9.9\", \"ports\": [\"20-30\"], \"protocol\": \"udp\"},\n"
		"  {\"to\": [\"10.9.9.9\", \"10.1.1.1\"], \"ports\": [22]}],\n"
		"\"audit\": [\"10.1.2.3/8\"]\n"
		"}}}}\n";
	char err[POLICY_ERR_MAX] = "";
	struct warnings w = { 0 };
	const struct profile *prof;
	struct policy *p = NULL;

	CHECK(parse(text, NULL, &p, err, &w) == 0);
	CHECK_STR(err, "");
	CHECK_STR(w.all,
		  "test.json:8: profiles.s.network.audit[0]: \"10.1.2.3/8\" has host bits set, using 10.0.0.0/8\n"
		  "test.json:4: profiles.s.network.allow[0]: this rule can never match: profiles.s.network.deny[0] (10.0.0.0/8) decides first\n"
		  "test.json:7: profiles.s.network.allow[3]: 1 of its 2 entries can never match, e.g. 10.9.9.9/32, which profiles.s.network.deny[1] (10.9.9.9) decides first\n"
		  "test.json:8: profiles.s.network.audit[0]: this rule can never match: profiles.s.network.deny[0] (10.0.0.0/8) decides first\n");
	prof = policy_profile(p, "s");
	CHECK(prof != NULL);
	if (!prof)
		goto out;
	CHECK(count_prefix(prof, "10.0.0.0/8") == 1);
	CHECK(find_rule(prof, "10.0.0.0/8", 0, 65535, 0, MW_ACTION_DENY));
	/* 10.9.9.9: in the order the BPF side tries them */
	CHECK(count_prefix(prof, "10.9.9.9") == 3);
	CHECK(find_rule(prof, "10.1.1.1", 22, 22, 0, MW_ACTION_ALLOW));
	{
		const struct net_rule *a, *b, *c;

		a = find_rule(prof, "10.9.9.9", 22, 22, 0, MW_ACTION_DENY);
		b = find_rule(prof, "10.9.9.9", 20, 30, 17, MW_ACTION_ALLOW);
		c = find_rule(prof, "10.9.9.9", 1, 100, 6, MW_ACTION_ALLOW);
		CHECK(a && b && c && a < b && b < c && c - a == 2);
	}
out:
	policy_free(p);
}

UNIT_TEST(eight_port_rules_fit)
{
	static const char text[] =
		"{\"version\": 1, \"profiles\": {\"e\": {\"network\": {"
		"\"deny\": [\"10.1.0.0/16\"],"
		"\"allow\": [{\"to\": \"10.1.0.0/16\", \"ports\": [1, 2, 3, 4, 5, 6, 7]},"
		"            {\"to\": \"10.1.0.0/16\", \"ports\": [7]}]}}}}";
	char err[POLICY_ERR_MAX] = "";
	struct warnings w = { 0 };
	struct policy *p = NULL;

	/* 8 distinct: the duplicate port 7 does not count */
	CHECK(parse(text, NULL, &p, err, &w) == 0);
	CHECK_STR(err, "");
	CHECK(p && count_prefix(&p->profiles[0], "10.1.0.0/16") == 8);
	CHECK(w.n == 1);
	policy_free(p);
}

UNIT_TEST(load_file_errors)
{
	char err[POLICY_ERR_MAX] = "";
	struct policy *p = (struct policy *)1;

	CHECK(policy_load_file("/nonexistent/policy.json", NULL, err,
			       sizeof(err), NULL, NULL, &p) == -ENOENT);
	CHECK(p == NULL);
	CHECK_STR(err, "/nonexistent/policy.json: No such file or directory");
	CHECK(policy_load_file("/", NULL, err, sizeof(err), NULL, NULL,
			       &p) == -EISDIR);
	CHECK(policy_parse("{", 1, "x", NULL, NULL, 0, NULL, NULL, &p) ==
	      -EINVAL);
	policy_free(NULL);
}

UNIT_TEST(digest)
{
	static const char text[] = "{\"version\": 1, \"profiles\": {\"a\": {}}}";
	char err[POLICY_ERR_MAX];
	struct policy *p = NULL;

	CHECK(parse(text, NULL, &p, err, NULL) == 0);
	/* sha256 of the text, as `sha256sum` prints it */
	CHECK(p && !strcmp(p->digest,
		"83779a51feee96dcdd14f552c998ac5daf4863ba530dbbceb96c483218289c82"));
	CHECK(p && strspn(p->digest, "0123456789abcdef") == 64);
	CHECK(p && !strcmp(p->source, "test.json"));
	policy_free(p);
}

/* Every prefix of a valid document and some mutations: no crash, no leak. */
UNIT_TEST(robust_on_garbage)
{
	struct policy_env env;
	struct hostenv h;
	char err[POLICY_ERR_MAX], buf[2048], path[256], key[64];
	const char *text;
	struct jpath jp = { 0 };
	struct policy *p;
	unsigned long line;
	unsigned int seed = 1;
	size_t len, i, j;
	int ret;

	text = policy_default_text(&len);
	CHECK(len < sizeof(buf));
	if (len >= sizeof(buf))
		return;
	host_env(resolv_conf(), &h, &env);
	jpath_push_key(&jp, "profiles");
	jpath_push_key(&jp, "default");
	jpath_push_key(&jp, "network");
	jpath_push_key(&jp, "allow");
	jpath_push_index(&jp, 0);
	CHECK(jsonpos_line(text, len, &jp) == 19);
	for (i = 0; i < len; i++) {
		p = NULL;
		ret = policy_parse(text, i, "cut", &env, err, sizeof(err),
				   NULL, NULL, &p);
		/* only the text without its final newline is complete */
		if (i == len - 1)
			CHECK(ret == 0 && p);
		else
			CHECK(ret < 0 && !p && strchr(err, '\n') == NULL);
		policy_free(p);
		jsonpos_line(text, i, &jp);
		jsonpos_find_dup(text, i, path, sizeof(path), key, sizeof(key),
				 &line);
	}
	for (i = 0; i < 2000; i++) {
		memcpy(buf, text, len);
		for (j = 0; j < 4; j++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % len] = (char)(seed >> 20);
		}
		p = NULL;
		ret = policy_parse(buf, len, "mut", &env, err, sizeof(err),
				   NULL, NULL, &p);
		CHECK(ret == 0 ? p != NULL : p == NULL);
		policy_free(p);
		jsonpos_line(buf, len, &jp);
		jsonpos_find_dup(buf, len, path, sizeof(path), key, sizeof(key),
				 &line);
	}
	/* deep nesting in the locator alone */
	memset(buf, '[', sizeof(buf));
	CHECK(jsonpos_find_dup(buf, sizeof(buf), path, sizeof(path), key,
			       sizeof(key), &line) == -EINVAL);
	jsonpos_line(buf, sizeof(buf), &jp);
	CHECK(jsonpos_line(NULL, 0, &jp) == 1);
	hostenv_free(&h);
}

UNIT_TEST(jsonpos_locator)
{
	static const char text[] =
		"{\n"
		"  \"a\\\"b\": 1,\n"
		"  \"x\": [\n"
		"    \"[{\\\"\",\n"
		"    {\"y\": {}, \"\\u007a\": \"here\"}\n"
		"  ],\n"
		"  \"d\": {\"k\": 1, \"k\": 2}\n"
		"}\n";
	char path[256], key[64];
	struct jpath jp = { 0 };
	unsigned long line = 0;

	jpath_push_key(&jp, "x");
	CHECK(jsonpos_line(text, strlen(text), &jp) == 3);
	jpath_push_index(&jp, 1);
	jpath_push_key(&jp, "z");
	CHECK(jsonpos_line(text, strlen(text), &jp) == 5);
	jpath_format(&jp, path, sizeof(path));
	CHECK_STR(path, "x[1].z");
	jpath_pop(&jp);
	jpath_push_key(&jp, "missing");
	CHECK(jsonpos_line(text, strlen(text), &jp) == 5);
	jp.depth = 0;
	jpath_push_key(&jp, "a\"b");
	CHECK(jsonpos_line(text, strlen(text), &jp) == 2);
	CHECK(jsonpos_find_dup(text, strlen(text), path, sizeof(path), key,
			       sizeof(key), &line) == 1);
	CHECK_STR(path, "d");
	CHECK_STR(key, "k");
	CHECK(line == 7);
}

static int corpus_chdir(void)
{
	char dir[512], *slash;

	if (!access(CORPUS_DIR, F_OK))
		return 0;
	if (!chdir("tests/unit") && !access(CORPUS_DIR, F_OK))
		return 0;
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	slash = strrchr(dir, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	return chdir(dir) ? -errno : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

UNIT_TEST(bad_policies)
{
	struct policy_env env;
	struct hostenv h;
	char *names[256], err[POLICY_ERR_MAX], want[POLICY_ERR_MAX];
	char json[512], errf[512];
	struct dirent *de;
	struct policy *p;
	size_t n = 0, i, l;
	FILE *f;
	DIR *d;
	int ret;

	CHECK(corpus_chdir() == 0);
	d = opendir(CORPUS_DIR);
	CHECK(d != NULL);
	if (!d)
		return;
	host_env("/nonexistent", &h, &env);
	while ((de = readdir(d)) && n < 256) {
		l = strlen(de->d_name);
		if (l > 5 && !strcmp(de->d_name + l - 5, ".json"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	CHECK(n >= CORPUS_MIN);
	for (i = 0; i < n; i++) {
		snprintf(json, sizeof(json), CORPUS_DIR "/%s", names[i]);
		snprintf(errf, sizeof(errf), CORPUS_DIR "/%.*s.err",
			 (int)strlen(names[i]) - 5, names[i]);
		want[0] = '\0';
		f = fopen(errf, "r");
		if (f) {
			if (!fgets(want, sizeof(want), f))
				want[0] = '\0';
			fclose(f);
		}
		want[strcspn(want, "\n")] = '\0';
		p = NULL;
		err[0] = '\0';
		ret = policy_load_file(json, &env, err, sizeof(err), NULL, NULL,
				       &p);
		if (ret >= 0 || p || strcmp(err, want)) {
			printf("    %s: ret %d\n      want: %s\n      got:  %s\n",
			       names[i], ret, want, err);
			*unit_failed = 1;
		}
		policy_free(p);
		free(names[i]);
	}
	hostenv_free(&h);
}

UNIT_MAIN("policy")

/*
 * Tool fences: parsed after the profile whatever the key order, their
 * rules and defaults named; a fence allow of a part of what a broader
 * profile allow covers on its ports is a narrowing, not an error.
 */
UNIT_TEST(tool_fences)
{
	static const char text[] =
		"{\"version\":1,\"profiles\":{\"gh\":{"
		"\"tools\":{\"fetch\":{\"network\":{\"default\":\"deny\","
		"\"allow\":[\"140.82.112.0/20\"]}},\"sp*\":{}},"
		"\"idle\":{\"network\":{\"deny\":[\"0.0.0.0/0\"]}},"
		"\"network\":{\"default\":\"deny\",\"allow\":[{\"to\":"
		"\"0.0.0.0/0\",\"ports\":[443],\"protocol\":\"tcp\"}]}}}}";
	const struct profile *prof;
	struct policy *p = NULL;
	char err[POLICY_ERR_MAX] = "";

	CHECK(parse(text, NULL, &p, err, NULL) == 0);
	CHECK_STR(err, "");
	prof = p ? policy_profile(p, "gh") : NULL;
	CHECK(prof && prof->ntools == 2 && prof->idle);
	if (!prof || prof->ntools != 2 || !prof->idle)
		goto out;
	CHECK_STR(prof->tools[0].pattern, "fetch");
	CHECK(prof->tools[0].net_default == MW_ACTION_DENY);
	CHECK(prof->tools[0].nnet == 1);
	CHECK_STR(p->rule_names[prof->tools[0].default_id],
		  "profiles.gh.tools.fetch.network.default (deny)");
	CHECK_STR(p->rule_names[prof->tools[0].net[0].id],
		  "profiles.gh.tools.fetch.network.allow[0] (140.82.112.0/20)");
	CHECK_STR(prof->tools[1].pattern, "sp*");
	CHECK(prof->tools[1].nnet == 0 && prof->tools[1].default_id == ~0u);
	CHECK(prof->tools[1].net_default == MW_ACTION_ALLOW);
	CHECK(prof->idle->pattern == NULL && prof->idle->nnet == 1);
out:
	policy_free(p);
}
