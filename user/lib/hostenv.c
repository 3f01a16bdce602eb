// SPDX-License-Identifier: GPL-2.0-only
/* The host's resolv.conf and passwd, as the policy needs them. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/hostenv.h"
#include "lib/hostpath.h"

/* Add the address in the nameserver line @s to the set, once. */
static int add_nameserver(char *s, struct cidr **v, size_t *n, size_t *cap)
{
	struct cidr c;
	char *zone;
	size_t i;

	zone = strchr(s, '%');	/* fe80::1%eth0: the scope is not ours */
	if (zone)
		*zone = '\0';
	if (strchr(s, '/') || cidr_parse(s, c.addr, &c.plen))
		return 0;	/* not an address: the resolver ignores it too */
	for (i = 0; i < *n; i++)
		if (!memcmp((*v)[i].addr, c.addr, 16))
			return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct cidr *p = realloc(*v, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = ncap;
	}
	(*v)[(*n)++] = c;
	return 0;
}

int hostenv_nameservers(const char *path, struct cidr **ret, size_t *ret_n,
			int *ret_read_err)
{
	char line[512], *save, *word, *addr;
	size_t cap = 0;
	FILE *f;
	int err = 0;

	*ret = NULL;
	*ret_n = 0;
	*ret_read_err = 0;
	f = fopen(path, "re");
	if (!f) {
		*ret_read_err = errno;
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		word = strtok_r(line, " \t\r\n", &save);
		if (!word || strcmp(word, "nameserver"))
			continue;
		addr = strtok_r(NULL, " \t\r\n", &save);
		if (!addr)
			continue;
		err = add_nameserver(addr, ret, ret_n, &cap);
		if (err)
			break;
	}
	if (!err && ferror(f))
		*ret_read_err = EIO;
	fclose(f);
	if (err) {
		free(*ret);
		*ret = NULL;
		*ret_n = 0;
	}
	return err;
}

static void free_strv(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * The home field of passwd line @line if it is one to expand "~/" to, and
 * the user's uid in *ret_uid.
 */
static const char *passwd_home(char *line, unsigned long *ret_uid)
{
	char hp[PATH_MAX], *f[7], *p;
	struct stat st;
	size_t i;

	line[strcspn(line, "\n")] = '\0';
	/* name:pw:uid:gid:gecos:home:shell; gecos may be empty */
	for (i = 0, p = line; i < 7; i++) {
		f[i] = p;
		p = p ? strchr(p, ':') : NULL;
		if (p)
			*p++ = '\0';
	}
	if (!f[5] || f[5][0] != '/' || !strcmp(f[5], "/") ||
	    stat(host_path(f[5], hp), &st) || !S_ISDIR(st.st_mode))
		return NULL;
	errno = 0;
	*ret_uid = strtoul(f[2], &p, 10);
	if (!f[2][0] || *p || errno || *ret_uid > UINT32_MAX - 1)
		return NULL;
	return f[5];
}

static int add_uid(unsigned int **v, size_t *n, unsigned long uid)
{
	unsigned int *tmp;
	size_t k;

	for (k = 0; k < *n && (*v)[k] != uid; k++)
		;
	if (k < *n)
		return 0;
	tmp = realloc(*v, (*n + 1) * sizeof(**v));
	if (!tmp)
		return -ENOMEM;
	*v = tmp;
	(*v)[(*n)++] = uid;
	return 0;
}

int hostenv_homes(const char *passwd, struct hostenv *h)
{
	char line[1024], **tmp;
	unsigned long uid;
	const char *home;
	size_t k;
	FILE *fp;
	int err = 0;

	fp = fopen(passwd, "re");
	if (!fp)
		return -errno;
	while (!err && fgets(line, sizeof(line), fp)) {
		home = passwd_home(line, &uid);
		if (!home)
			continue;
		err = add_uid(&h->uids, &h->nuids, uid);
		for (k = 0; k < h->nhomes && strcmp(h->homes[k], home); k++)
			;
		if (err || k < h->nhomes)
			continue;
		tmp = realloc(h->homes, (h->nhomes + 1) * sizeof(*tmp));
		if (tmp)
			h->homes = tmp;
		if (!tmp || !(h->homes[h->nhomes] = strdup(home)))
			err = -ENOMEM;
		else
			h->nhomes++;
	}
	fclose(fp);
	return err;
}

int hostenv_read(struct hostenv *h, const char *resolv_conf,
		 const char *passwd)
{
	int err = 0;

	memset(h, 0, sizeof(*h));
	if (resolv_conf) {
		h->resolv_conf = strdup(resolv_conf);
		err = h->resolv_conf ? 0 : -ENOMEM;
		if (!err)
			err = hostenv_nameservers(resolv_conf, &h->nameservers,
						  &h->nnameservers,
						  &h->resolv_err);
	}
	/* No passwd to read: no homes, "~/" rules match nothing. */
	if (!err && passwd && hostenv_homes(passwd, h) == -ENOMEM)
		err = -ENOMEM;
	if (err)
		hostenv_free(h);
	return err;
}

void hostenv_free(struct hostenv *h)
{
	if (!h)
		return;
	free(h->resolv_conf);
	free(h->nameservers);
	free_strv(h->homes, h->nhomes);
	free(h->uids);
	memset(h, 0, sizeof(*h));
}
