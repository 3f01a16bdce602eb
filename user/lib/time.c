// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "lib/digits.h"
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

/*
 * RFC 3339 with nanoseconds, UTC. The dates of the last few seconds are
 * kept (per thread): an event writes three times (the event, its process's
 * and its server's start), thousands of events within one second.
 */
#define TIME_CACHE	4

void time_format(__s64 real_ns, char *buf, size_t len)
{
	static __thread struct {
		time_t sec;
		size_t len;
		char date[24];
	} cache[TIME_CACHE];
	static __thread unsigned int next, last;
	time_t sec = real_ns / 1000000000LL;
	long nsec = real_ns % 1000000000LL;
	unsigned int i;
	struct tm tm;
	size_t dlen;
	char *date;

	if (real_ns < 0) {
		snprintf(buf, len, "%s", "1970-01-01T00:00:00.000000000Z");
		return;
	}
	/* Most often the second of the last call. */
	if (cache[last].len && cache[last].sec == sec)
		i = last;
	else
		for (i = 0; i < TIME_CACHE; i++)
			if (cache[i].len && cache[i].sec == sec)
				break;
	if (i == TIME_CACHE) {
		if (!gmtime_r(&sec, &tm)) {
			snprintf(buf, len, "%s", "1970-01-01T00:00:00.000000000Z");
			return;
		}
		i = next++ % TIME_CACHE;
		cache[i].sec = sec;
		cache[i].len = strftime(cache[i].date, sizeof(cache[i].date),
					"%Y-%m-%dT%H:%M:%S", &tm);
	}
	last = i;
	date = cache[i].date;
	dlen = cache[i].len;
	if (!dlen || len < dlen + 12) {
		snprintf(buf, len, "%s.%09ldZ", date, nsec);
		return;
	}
	if (dlen == 19)		/* years 1000 to 9999: a fixed copy */
		memcpy(buf, date, 19);
	else
		memcpy(buf, date, dlen);
	buf[dlen] = '.';
	for (i = 8; i >= 2; i -= 2, nsec /= 100)
		memcpy(buf + dlen + i, mw_digits2 + 2 * (nsec % 100), 2);
	buf[dlen + 1] = '0' + nsec;
	buf[dlen + 10] = 'Z';
	buf[dlen + 11] = 0;
}
