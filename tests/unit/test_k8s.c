// SPDX-License-Identifier: GPL-2.0-only
/* Container ids and pods from cgroup paths and the kubelet's log links. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/hostpath.h"
#include "lib/k8s.h"
#include "unit.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "2f6e3a4b-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

UNIT_TEST(cgroup_paths)
{
	static const struct { const char *path; const char *uid; } ok[] = {
		/* systemd driver: containerd, CRI-O, docker */
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2f6e3a4b_1c2d_4e5f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-" ID ".scope", UID },
		{ "/kubepods.slice/kubepods-pod2f6e3a4b_1c2d_4e5f_8a9b_0c1d2e3f4a5b.slice/crio-" ID ".scope", UID },
		{ "/system.slice/docker-" ID ".scope", "" },
		/* cgroupfs driver */
		{ "/kubepods/besteffort/pod" UID "/" ID, UID },
	};
	static const char *const no[] = {
		"/", "/user.slice/user-1000.slice/session-3.scope",
		"/kubepods/besteffort/pod" UID,			/* the pod, no container */
		"/system.slice/docker-0123.scope",		/* short id */
		"/x/" ID "0",					/* 65 digits */
	};
	struct k8s_info k;
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK(k8s_from_cgroup(ok[i].path, &k));
		CHECK_STR(k.container_id, ID);
		CHECK_STR(k.pod_uid, ok[i].uid);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CHECK(!k8s_from_cgroup(no[i], &k));
}

static int seen, wrong;

static void count(const struct k8s_info *i, void *arg)
{
	(void)arg;
	if (strcmp(i->container_id, ID) || strcmp(i->namespace, "mcp") ||
	    strcmp(i->pod, "fetch-7d9f-x2") || strcmp(i->container, "server"))
		wrong++;
	seen++;
}

UNIT_TEST(log_links)
{
	char root[] = "/tmp/mwk8s-XXXXXX", path[512];
	static const char *const names[] = {
		"fetch-7d9f-x2_mcp_server-" ID ".log",
		"web-1_default_nginx-" ID "0.log",	/* not an id */
		"noise.log", "a_b-" ID ".log",		/* too few parts */
	};
	struct k8s_info k = { .container_id = ID };
	size_t i;

	CHECK(mkdtemp(root) != NULL);
	snprintf(path, sizeof(path), "%s/var", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/log", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/var/log/containers", root);
	mkdir(path, 0755);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/var/log/containers/%s", root,
			 names[i]);
		CHECK(!symlink("/dev/null", path));
	}
	host_root = root;
	seen = 0;
	CHECK(k8s_each(count, NULL) == 1 && seen == 1 && !wrong);
	CHECK(k8s_names(&k));
	CHECK_STR(k.pod, "fetch-7d9f-x2");
	host_root = NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/var/log/containers/%s", root,
			 names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "rm -rf %s", root);
	CHECK(system(path) == 0);
}

UNIT_MAIN("k8s")
