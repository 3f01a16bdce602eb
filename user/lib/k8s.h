/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the node tells about a process's container: the container id from
 * its cgroup path (cgroupfs and systemd drivers; containerd, CRI-O,
 * Docker), and the pod, namespace and container names from the kubelet's
 * log links, /var/log/containers/POD_NAMESPACE_CONTAINER-ID.log.
 */
#ifndef MW_K8S_H
#define MW_K8S_H

#include <stdbool.h>
#include <stddef.h>

#define K8S_ID_LEN	64

struct k8s_info {
	char container_id[K8S_ID_LEN + 1];	/* "" if not a container */
	char pod_uid[40];
	char namespace[64];			/* "" where the node does not say */
	char pod[254];
	char container[64];
};

/* The container id and pod uid in a cgroup path; false if none. */
bool k8s_from_cgroup(const char *cgpath, struct k8s_info *out);
/* Fill the names of @info->container_id from the kubelet's log links. */
bool k8s_names(struct k8s_info *info);
/* The info of process @pid (its cgroup, then the names); false if none. */
bool k8s_of_pid(int pid, struct k8s_info *out);
/*
 * The same from a cgroup v2 id, which outlives the process: the cgroup is
 * opened by its kernfs handle on the mount at @cgroot.
 */
bool k8s_of_cgroup_id(const char *cgroot, unsigned long long id,
		      struct k8s_info *out);

/* Every container the node runs: calls @fn for each; returns the count. */
size_t k8s_each(void (*fn)(const struct k8s_info *info, void *arg), void *arg);
/*
 * The cgroup v2 directory of container @id beneath @cgroot (a walk), into
 * @out; false if not found.
 */
bool k8s_cgroup_dir(const char *cgroot, const char *id, char *out, size_t len);

#endif /* MW_K8S_H */
