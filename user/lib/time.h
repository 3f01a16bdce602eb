/* SPDX-License-Identifier: GPL-2.0-only */
/* The clocks the agent reads, and the one time format of its events. */
#ifndef MW_TIME_H
#define MW_TIME_H

#include <stddef.h>
#include <linux/types.h>

/* CLOCK_MONOTONIC in milliseconds: timeouts, backoffs, health. */
__u64 time_mono_ms(void);
/* CLOCK_BOOTTIME in ns: the clock of bpf_ktime_get_boot_ns(). */
__u64 time_boot_ns(void);
/* CLOCK_REALTIME - CLOCK_BOOTTIME, ns: boot times to wall-clock times. */
__s64 time_boot_to_real(void);
/* RFC 3339 UTC with nanoseconds: 2026-11-26T10:00:00.123456789Z */
void time_format(__s64 real_ns, char *buf, size_t len);

#endif /* MW_TIME_H */
