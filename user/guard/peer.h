/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Who is at the other end of guard.sock. The group it hands out lets its
 * holder remove every mark, read the files of pending requests and answer
 * them: only an administrator of this host may have it, in either
 * direction (a guard checks its clients, an agent its guard). Root is not
 * enough: root in a container without CAP_SYS_ADMIN, or in another user
 * namespace, is no administrator of the node.
 */
#ifndef MW_GUARD_PEER_H
#define MW_GUARD_PEER_H

#include <sys/types.h>

/*
 * The peer of the connected unix socket @sock: a pidfd on it if it is a
 * live process of uid 0 with CAP_SYS_ADMIN in our user namespace, its pid
 * in *@pid; -EPERM if it is not, -errno on failure.
 */
int peer_admin(int sock, pid_t *pid);
/* True if the process of @pidfd has exited. */
int pidfd_exited(int pidfd);

#endif /* MW_GUARD_PEER_H */
