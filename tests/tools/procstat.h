/*
 * procstat.h — the process under test and its core, from /proc: CPU
 * (utime + stime of a process and its descendants), memory, open
 * descriptors, and a core's busy time.  Shared by the load generators
 * (loadgen.c, tests/bench/tls_load.c); header-only like tools.h.
 */
#ifndef SL_TOOLS_PROCSTAT_H
#define SL_TOOLS_PROCSTAT_H

#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/alloc.h"

#define PROC_MAX	8192		/* processes looked at in /proc */

static inline int
proc_stat(pid_t pid, pid_t *ppid, uint64_t *ticks)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	int pp, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	if (sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &pp, &ut, &st) != 3)
		return -1;
	*ppid = (pid_t)pp;
	*ticks = ut + st;
	return 0;
}

/* root and its descendants into out[]; returns how many (0 on failure). */
static inline size_t
proc_tree(pid_t root, pid_t *out, size_t max)
{
	struct dirent *de;
	size_t n = 0, k = 0, i, j;
	pid_t *pid, *ppid;
	uint64_t t;
	DIR *d;

	pid = sl_calloc(PROC_MAX, sizeof(*pid));
	ppid = sl_calloc(PROC_MAX, sizeof(*ppid));
	if (pid == NULL || ppid == NULL || (d = opendir("/proc")) == NULL)
		goto done;
	while ((de = readdir(d)) != NULL && n < PROC_MAX) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid[n] = (pid_t)atoi(de->d_name);
		if (proc_stat(pid[n], &ppid[n], &t) == 0)
			n++;
	}
	closedir(d);
	out[k++] = root;
	/* Breadth first: append children of every pid already in out[]. */
	for (i = 0; i < k; i++)
		for (j = 0; j < n && k < max; j++)
			if (ppid[j] == out[i] && pid[j] != root)
				out[k++] = pid[j];
done:
	sl_free(pid);
	sl_free(ppid);
	return k;
}

static inline uint64_t
proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	unsigned long long v = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return v;
}

static inline uint64_t
proc_nfds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	uint64_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Busy time of one core from /proc/stat (user, nice, system, irq, softirq):
 * unlike the process's utime+stime it includes the softirq work of the
 * network stack done on that core, and anything else running there.
 */
static inline uint64_t
proc_core_ticks(int core)
{
	unsigned long long v[7];
	char line[512], key[16];
	uint64_t busy = 0;
	FILE *fp;

	if (core < 0 || (fp = fopen("/proc/stat", "re")) == NULL)
		return 0;
	snprintf(key, sizeof(key), "cpu%d ", core);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, key, strlen(key)) != 0)
			continue;
		if (sscanf(line + strlen(key), "%llu %llu %llu %llu %llu %llu "
		    "%llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		    &v[6]) == 7)
			busy = v[0] + v[1] + v[2] + v[5] + v[6];
		break;
	}
	fclose(fp);
	return busy;
}

#endif /* SL_TOOLS_PROCSTAT_H */
