// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/hostport.h"

int hostport_split(const char *s, char *host, size_t hostlen, char *port,
		   size_t portlen)
{
	const char *colon, *p;
	unsigned long n;
	size_t hl;
	char *end;

	if (s[0] == '[') {
		colon = strchr(s, ']');
		if (!colon || colon[1] != ':')
			return -EINVAL;
		hl = colon - s - 1;
		s++;
		p = colon + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - s;
		p = colon + 1;
	}
	if (!hl || hl >= hostlen)
		return -EINVAL;
	errno = 0;
	n = strtoul(p, &end, 10);
	if (*p < '0' || *p > '9' || *end || errno || !n || n > 65535 ||
	    strlen(p) >= portlen)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%s", p);
	return 0;
}
