/*
 * clock.h — monotonic milliseconds and RFC 3339 timestamps.
 */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline uint64_t
sl_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t
sl_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * "2026-11-21T17:18:00.123Z": ts (CLOCK_REALTIME) in UTC, milliseconds
 * truncated; buf >= 25 bytes.  Returns buf, or "" if it does not fit.
 */
static inline const char *
sl_rfc3339_fmt(const struct timespec *ts, char *buf, size_t cap)
{
	struct tm tm;
	size_t n;

	gmtime_r(&ts->tv_sec, &tm);
	n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0 || n >= cap)
		return "";
	snprintf(buf + n, cap - n, ".%03dZ", (int)(ts->tv_nsec / 1000000));
	return buf;
}

/* The current UTC time, as sl_rfc3339_fmt() writes it. */
static inline const char *
sl_rfc3339_now(char *buf, size_t cap)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return sl_rfc3339_fmt(&ts, buf, cap);
}

#endif /* SL_CLOCK_H */
