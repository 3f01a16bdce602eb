// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "daemon/statefile.h"

#define STATE_FILE	"state.json"

static void state_path(const char *dir, const char *name, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static __u64 get_u64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	return (__u64)json_object_get_int64(v);
}

int state_dir_prepare(const char *dir)
{
	struct stat st;
	int fd, ret = 0;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(fd, &st))
		ret = -errno;
	else if (st.st_uid != geteuid())
		ret = -EPERM;
	else if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700))
		ret = -errno;
	close(fd);
	return ret;
}

int state_load(const char *dir, struct rule_ids *rules, struct state_seen *seen)
{
	char path[PATH_MAX];
	json_object *o, *names, *s;
	size_t i, n;
	int ret = 0;

	memset(seen, 0, sizeof(*seen));
	state_path(dir, STATE_FILE, path, sizeof(path));
	if (access(path, F_OK))
		return -errno;
	o = json_object_from_file(path);
	if (!o)
		return -EINVAL;
	/* Ids are positions: the names go back in order, each to its id. */
	if (json_object_object_get_ex(o, "rules", &names) &&
	    json_object_is_type(names, json_type_array)) {
		n = json_object_array_length(names);
		for (i = 0; i < n && !ret; i++) {
			const char *name = json_object_get_string(
				json_object_array_get_idx(names, i));

			if (!name || rule_ids_get(rules, name) != i)
				ret = -EINVAL;
		}
	}
	if (json_object_object_get_ex(o, "seen", &s)) {
		seen->ringbuf_full = get_u64(s, "ring_buffer_full");
		seen->tracked_full = get_u64(s, "tracked_map_full");
	}
	json_object_put(o);
	return ret;
}

int state_save(const char *dir, const struct rule_ids *rules,
	       const struct state_seen *seen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	json_object *o = json_object_new_object();
	json_object *names = json_object_new_array(), *s = json_object_new_object();
	int ret = 0;
	size_t i;

	for (i = 0; i < rules->n; i++)
		json_object_array_add(names, json_object_new_string(rules->names[i]));
	json_object_object_add(o, "rules", names);
	json_object_object_add(s, "ring_buffer_full",
			       json_object_new_int64(seen->ringbuf_full));
	json_object_object_add(s, "tracked_map_full",
			       json_object_new_int64(seen->tracked_full));
	json_object_object_add(o, "seen", s);
	state_path(dir, STATE_FILE, path, sizeof(path));
	state_path(dir, STATE_FILE ".tmp", tmp, sizeof(tmp));
	if (json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PLAIN))
		ret = -EIO;
	else if (rename(tmp, path))
		ret = -errno;
	json_object_put(o);
	return ret;
}

void state_remove(const char *dir)
{
	char path[PATH_MAX];

	state_path(dir, STATE_FILE, path, sizeof(path));
	unlink(path);
}
