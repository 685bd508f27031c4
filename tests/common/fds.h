/*
 * fds.h — how many file descriptors this process has open, for tests that
 * check nothing leaks.
 */
#ifndef SL_TEST_FDS_H
#define SL_TEST_FDS_H

#include <dirent.h>

static inline int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* opendir's own */
}

#endif /* SL_TEST_FDS_H */
