/*
 * rss.h — the resident set size of this process, for benchmarks that
 * report what a structure costs in memory (RSS growth around building it).
 */
#ifndef SL_TEST_RSS_H
#define SL_TEST_RSS_H

#include <stdio.h>
#include <unistd.h>

/* KiB resident now; 0 if /proc cannot say. */
static inline long
rss_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(fp);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif /* SL_TEST_RSS_H */
