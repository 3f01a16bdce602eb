/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MW_HOSTPORT_H
#define MW_HOSTPORT_H

#include <stddef.h>

/*
 * Split "HOST:PORT" or "[IPv6]:PORT" into @host (without brackets) and the
 * digits of the port in @port; the port must be 1..65535. 0 or -EINVAL.
 */
int hostport_split(const char *s, char *host, size_t hostlen, char *port,
		   size_t portlen);

#endif /* MW_HOSTPORT_H */
