/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's constants the programs need by name. vmlinux.h carries types,
 * not macros: errno comes from the UAPI header (only macros, so it does not
 * clash with vmlinux.h); the rest have no such header and are spelled here,
 * as the selftests' bpf_tracing_net.h does.
 */
#ifndef MW_CONSTS_BPF_H
#define MW_CONSTS_BPF_H

#include <asm-generic/errno-base.h>	/* EPERM, EACCES */

#define SIGKILL		9
#define MW_FMODE_WRITE	0x2	/* FMODE_WRITE */
#define MW_O_TRUNC	01000	/* O_TRUNC: truncates a read-only open too */
#define MW_CAP_DAC_READ_SEARCH	2
#define MW_NR_OPEN_BY_HANDLE_AT	304	/* x86-64 */
#define MW_NR_OPEN_BY_HANDLE_AT_I386	342	/* int 0x80 from a 64-bit process */
#define MW_X32_SYSCALL_BIT	0x40000000

#define AF_INET		2
#define AF_INET6	10
#define AF_PACKET	17

#define SOCK_RAW	3
#define SOCK_PACKET	10

#define IPPROTO_ICMPV6	58	/* a define of in6.h; IPPROTO_ICMP is an enum */

#define PROT_EXEC	0x4

#define S_IFMT		00170000
#define S_IFSOCK	0140000
#define S_IWGRP		00020
#define S_IWOTH		00002

/* Keep the verifier's bounds on @v: clang must not reuse an older copy. */
#define mw_barrier_var(v)	asm volatile("" : "+r"(v))

#endif /* MW_CONSTS_BPF_H */
