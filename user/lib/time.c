// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <time.h>
#include "lib/time.h"

__u64 time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__u64 time_boot_ns(void)
{
	struct timespec bt;

	clock_gettime(CLOCK_BOOTTIME, &bt);
	return (__u64)bt.tv_sec * 1000000000ULL + bt.tv_nsec;
}

__s64 time_boot_to_real(void)
{
	struct timespec rt, bt;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	return ((__s64)rt.tv_sec - bt.tv_sec) * 1000000000LL +
	       (rt.tv_nsec - bt.tv_nsec);
}

void time_format(__s64 real_ns, char *buf, size_t len)
{
	time_t sec = real_ns / 1000000000LL;
	long nsec = real_ns % 1000000000LL;
	struct tm tm;
	char date[32];

	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", date, nsec);
}
