/* SPDX-License-Identifier: GPL-2.0-only */
/* An fd with a message on a unix socket (SCM_RIGHTS). */
#ifndef MW_FDPASS_H
#define MW_FDPASS_H

#include <sys/types.h>

/* send(2) of @buf with @fd attached (none if @fd < 0). */
ssize_t send_with_fd(int sock, const void *buf, size_t len, int fd, int flags);

#endif /* MW_FDPASS_H */
