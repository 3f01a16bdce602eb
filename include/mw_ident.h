/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How both worlds compare what the ABI carries: a process's start time (the
 * key that tells a process from a reused pid) and a device number (the half
 * of a file's identity that the kernel and stat() spell differently).
 * Plain C: it compiles for -target bpf and for the host.
 */
#ifndef MW_IDENT_H
#define MW_IDENT_H

#include "mcpwarden.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * Same process, not a reused pid: start times agree to the /proc tick
 * (/proc/PID/stat gives start times in USER_HZ ticks, the kernel in ns).
 */
static __always_inline int mw_same_start(__u64 a, __u64 b)
{
	return a / MW_TICK_NS == b / MW_TICK_NS;
}

/* The kernel's s_dev encoding: major << 20 | minor (MINORBITS 20). */
#define MW_MINORBITS	20

static __always_inline __u32 mw_kdev(__u32 major, __u32 minor)
{
	return major << MW_MINORBITS | (minor & ((1u << MW_MINORBITS) - 1));
}

static __always_inline __u32 mw_kdev_major(__u32 kdev)
{
	return kdev >> MW_MINORBITS;
}

static __always_inline __u32 mw_kdev_minor(__u32 kdev)
{
	return kdev & ((1u << MW_MINORBITS) - 1);
}

#endif /* MW_IDENT_H */
