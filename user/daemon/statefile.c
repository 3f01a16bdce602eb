// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "daemon/statefile.h"
#include "lib/jsonstr.h"

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

void state_held_free(struct state_held_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].profile);
		free(l->v[i].path);
		free(l->v[i].handle);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Entries that are not whole are left out: the next reload names them. */
static void held_load(json_object *a, struct state_held_list *l)
{
	size_t i, n = json_object_array_length(a);
	struct state_held *v, h;
	const char *pr, *pa, *hx;
	json_object *e;

	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		pr = json_get_str(e, "profile");
		pa = json_get_str(e, "path");
		hx = json_get_str(e, "handle");
		if (!pr || !pa || !hx || strlen(hx) % 2 ||
		    strlen(hx) > 2 * MAX_HANDLE_SZ ||
		    !(v = realloc(l->v, (l->n + 1) * sizeof(*v))))
			continue;
		l->v = v;
		h = (struct state_held){
			.profile = strdup(pr), .path = strdup(pa),
			.handle = strdup(hx),
			.action = (__u8)get_u64(e, "action"),
			.moved = get_u64(e, "moved") != 0,
			.readonly = get_u64(e, "readonly") != 0,
			.seq = get_u64(e, "seq"),
			.kdev = (__u32)get_u64(e, "dev"),
			.type = (unsigned int)get_u64(e, "handle_type"),
			.nbytes = strlen(hx) / 2,
		};
		if (!h.profile || !h.path || !h.handle) {
			free(h.profile);
			free(h.path);
			free(h.handle);
			continue;
		}
		l->v[l->n++] = h;
	}
}

int state_load(const char *dir, struct rule_ids *rules, struct state_seen *seen,
	       struct state_held_list *held)
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
		seen->ringbuf_routine = get_u64(s, "ring_buffer_routine");
	}
	if (json_object_object_get_ex(o, "held", &s) &&
	    json_object_is_type(s, json_type_array))
		held_load(s, held);
	json_object_put(o);
	return ret;
}

static json_object *held_json(const struct state_held_list *l)
{
	json_object *a = json_object_new_array(), *e;
	size_t i;

	for (i = 0; l && i < l->n; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "profile",
				       json_object_new_string(l->v[i].profile));
		json_object_object_add(e, "path",
				       json_object_new_string(l->v[i].path));
		json_object_object_add(e, "action",
				       json_object_new_int(l->v[i].action));
		json_object_object_add(e, "moved",
				       json_object_new_int(l->v[i].moved));
		json_object_object_add(e, "readonly",
				       json_object_new_int(l->v[i].readonly));
		json_object_object_add(e, "seq",
				       json_object_new_int64(l->v[i].seq));
		json_object_object_add(e, "dev",
				       json_object_new_int64(l->v[i].kdev));
		json_object_object_add(e, "handle_type",
				       json_object_new_int64(l->v[i].type));
		json_object_object_add(e, "handle",
				       json_object_new_string(l->v[i].handle));
		json_object_array_add(a, e);
	}
	return a;
}

int state_save(const char *dir, const struct rule_ids *rules,
	       const struct state_seen *seen,
	       const struct state_held_list *held)
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
	json_object_object_add(s, "ring_buffer_routine",
			       json_object_new_int64(seen->ringbuf_routine));
	json_object_object_add(o, "seen", s);
	json_object_object_add(o, "held", held_json(held));
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
