// SPDX-License-Identifier: GPL-2.0-only
/* The host's resolv.conf and passwd, as the policy needs them. */
#include <errno.h>
#include <limits.h>
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

/* The home field of passwd line @line if it is one to expand "~/" to. */
static const char *passwd_home(char *line)
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
	return f[5];
}

int hostenv_homes(const char *passwd, char ***ret, size_t *ret_n)
{
	char line[1024], **v = NULL, **tmp;
	const char *home;
	size_t n = 0, k;
	FILE *fp;

	*ret = NULL;
	*ret_n = 0;
	fp = fopen(passwd, "re");
	if (!fp)
		return -errno;
	while (fgets(line, sizeof(line), fp)) {
		home = passwd_home(line);
		if (!home)
			continue;
		for (k = 0; k < n && strcmp(v[k], home); k++)
			;
		if (k < n)
			continue;
		tmp = realloc(v, (n + 1) * sizeof(*v));
		if (tmp)
			v = tmp;
		if (!tmp || !(v[n] = strdup(home))) {
			free_strv(v, n);
			fclose(fp);
			return -ENOMEM;
		}
		n++;
	}
	fclose(fp);
	*ret = v;
	*ret_n = n;
	return 0;
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
	if (!err && passwd &&
	    hostenv_homes(passwd, &h->homes, &h->nhomes) == -ENOMEM)
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
	memset(h, 0, sizeof(*h));
}
