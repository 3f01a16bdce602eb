// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "lib/hostpath.h"
#include "lib/k8s.h"

#define LOG_LINKS	"/var/log/containers"

static bool hex64(const char *s)
{
	int i;

	for (i = 0; i < K8S_ID_LEN; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * A 64-hex container id as the last component's core: "ID",
 * "cri-containerd-ID.scope", "crio-ID.scope", "docker-ID.scope".
 */
static bool find_id(const char *comp, char *id)
{
	const char *p;

	for (p = comp; *p; p++) {
		if (strlen(p) < K8S_ID_LEN)
			return false;
		if ((p == comp || p[-1] == '-') && hex64(p) &&
		    (!p[K8S_ID_LEN] || !strcmp(p + K8S_ID_LEN, ".scope"))) {
			memcpy(id, p, K8S_ID_LEN);
			id[K8S_ID_LEN] = '\0';
			return true;
		}
	}
	return false;
}

bool k8s_from_cgroup(const char *cgpath, struct k8s_info *out)
{
	char buf[PATH_MAX], *comp, *save, *pod;
	size_t i;

	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", cgpath);
	for (comp = strtok_r(buf, "/", &save); comp;
	     comp = strtok_r(NULL, "/", &save)) {
		/* "pod<uid>" (cgroupfs) or "kubepods-...-pod<uid>.slice" */
		for (pod = strstr(comp, "pod"); pod; pod = strstr(pod + 1, "pod"))
			if ((pod == comp || pod[-1] == '-') &&
			    isxdigit((unsigned char)pod[3]))
				break;
		if (pod && strlen(pod + 3) >= 36 && !out->pod_uid[0]) {
			snprintf(out->pod_uid, sizeof(out->pod_uid), "%.36s", pod + 3);
			for (i = 0; out->pod_uid[i]; i++)
				if (out->pod_uid[i] == '_')
					out->pod_uid[i] = '-';
		}
		if (find_id(comp, out->container_id))
			break;
	}
	return out->container_id[0] != '\0';
}

/* "POD_NAMESPACE_CONTAINER-ID.log": names are DNS labels, no '_'. */
static bool parse_link(const char *name, struct k8s_info *out)
{
	const char *u1 = strchr(name, '_'), *u2, *dash;
	size_t len = strlen(name);

	if (!u1 || len < K8S_ID_LEN + 5 || strcmp(name + len - 4, ".log"))
		return false;
	u2 = strchr(u1 + 1, '_');
	dash = name + len - 4 - K8S_ID_LEN - 1;
	if (!u2 || dash <= u2 || *dash != '-' || !hex64(dash + 1))
		return false;
	snprintf(out->pod, sizeof(out->pod), "%.*s", (int)(u1 - name), name);
	snprintf(out->namespace, sizeof(out->namespace), "%.*s",
		 (int)(u2 - u1 - 1), u1 + 1);
	snprintf(out->container, sizeof(out->container), "%.*s",
		 (int)(dash - u2 - 1), u2 + 1);
	memcpy(out->container_id, dash + 1, K8S_ID_LEN);
	out->container_id[K8S_ID_LEN] = '\0';
	return true;
}

size_t k8s_each(void (*fn)(const struct k8s_info *info, void *arg), void *arg)
{
	char hp[PATH_MAX];
	struct k8s_info info;
	struct dirent *de;
	size_t n = 0;
	DIR *d = opendir(host_path(LOG_LINKS, hp));

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		memset(&info, 0, sizeof(info));
		if (!parse_link(de->d_name, &info))
			continue;
		fn(&info, arg);
		n++;
	}
	closedir(d);
	return n;
}

struct names_arg {
	struct k8s_info *info;
	bool found;
};

static void names_cb(const struct k8s_info *i, void *arg)
{
	struct names_arg *a = arg;

	if (a->found || strcmp(i->container_id, a->info->container_id))
		return;
	memcpy(a->info->namespace, i->namespace, sizeof(i->namespace));
	memcpy(a->info->pod, i->pod, sizeof(i->pod));
	memcpy(a->info->container, i->container, sizeof(i->container));
	a->found = true;
}

bool k8s_names(struct k8s_info *info)
{
	struct names_arg a = { .info = info };

	k8s_each(names_cb, &a);
	return a.found;
}

bool k8s_of_pid(int pid, struct k8s_info *out)
{
	char path[64], line[PATH_MAX];
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		ok = k8s_from_cgroup(line + 3, out);
		break;
	}
	fclose(f);
	if (ok)
		k8s_names(out);
	return ok;
}

bool k8s_of_cgroup_id(const char *cgroot, unsigned long long id,
		      struct k8s_info *out)
{
	struct {
		struct file_handle fh;
		unsigned long long id;
	} h = { .fh = { .handle_bytes = sizeof(id), .handle_type = 0xfe } };
	char link[64], path[PATH_MAX];
	size_t rlen = strlen(cgroot);
	int mfd, fd;
	ssize_t n;

	h.id = id;	/* FILEID_KERNFS: the handle is the cgroup id */
	mfd = open(cgroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0)
		return false;
	fd = open_by_handle_at(mfd, &h.fh, O_PATH | O_CLOEXEC);
	close(mfd);
	if (fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	close(fd);
	if (n <= 0)
		return false;
	path[n] = '\0';
	if (strncmp(path, cgroot, rlen) ||
	    !k8s_from_cgroup(path + rlen, out))
		return false;
	k8s_names(out);
	return true;
}

static const char *walk_id;
static char *walk_out;
static size_t walk_len;

static int walk_cb(const char *path, const struct stat *st, int type,
		   struct FTW *ftw)
{
	char id[K8S_ID_LEN + 1];

	(void)st;
	if (type == FTW_D && ftw->level > 0 &&
	    find_id(path + ftw->base, id) && !strcmp(id, walk_id)) {
		snprintf(walk_out, walk_len, "%s", path);
		return 1;
	}
	return 0;
}

bool k8s_cgroup_dir(const char *cgroot, const char *id, char *out, size_t len)
{
	walk_id = id;
	walk_out = out;
	walk_len = len;
	return nftw(cgroot, walk_cb, 16, FTW_PHYS | FTW_MOUNT) == 1;
}
