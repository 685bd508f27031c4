/*
 * t.c — runner for t.h tests: TAP output, optional name filter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "t.h"
#include "lib/alloc.h"

struct t_case {
	const char	*name;
	t_fn		 fn;
};

static struct t_case	t_cases[2048];
static size_t		t_ncases;
int			t_failed_now;

void
t_register(const char *name, t_fn fn)
{
	if (t_ncases == sizeof(t_cases) / sizeof(t_cases[0])) {
		fprintf(stderr, "t: too many tests\n");
		exit(2);
	}
	t_cases[t_ncases].name = name;
	t_cases[t_ncases].fn = fn;
	t_ncases++;
}

void
t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	t_failed_now = 1;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

char *
t_slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fclose(fp);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

/*
 * OOM mode (SL_OOM=1, `make test-oom`): run each test again failing its
 * 1st, 2nd, ... allocation through sl_alloc, until a run makes fewer
 * allocations than the one failed.  Assertions may fail then (an
 * allocation failed, after all); what must not happen is a crash or a
 * memory error, which end the binary and fail the suite (build with
 * SANITIZE to catch the silent ones).  Leaks are not judged: a test that
 * stops at a failed assertion does not clean up after itself.  A test
 * whose sweep would take more than SL_OOM_SECONDS (default 20: its
 * allocations times the length of one run) is left out, on a comment line.
 */
static int
t_oom(void)
{
	unsigned long total;
	double budget = 20, secs;
	unsigned run = 0;
	const char *e = getenv("SL_OOM_SECONDS");
	struct timespec a, b;

	if (e != NULL)
		budget = strtod(e, NULL);
	for (size_t i = 0; i < t_ncases; i++) {
		unsigned long n;

		/* Count its allocations with a failure point never reached. */
		clock_gettime(CLOCK_MONOTONIC, &a);
		sl_alloc_fail_at(~0UL);
		t_cases[i].fn();
		total = sl_alloc_fail_at(0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		secs = (double)(b.tv_sec - a.tv_sec) +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (secs * (double)total > budget) {
			printf("# %s: %lu allocations x %.3fs: over "
			    "SL_OOM_SECONDS, not swept\n", t_cases[i].name,
			    total, secs);
			continue;
		}
		for (n = 1; n <= total; n++) {
			sl_alloc_fail_at(n);
			t_cases[i].fn();
			if (sl_alloc_fail_at(0) < n)
				break;		/* the failure point was not reached */
		}
		run++;
		printf("ok %u - %s survives each of its %lu allocations "
		    "failing\n", run, t_cases[i].name, total);
	}
	printf("1..%u\n", run);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned run = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("SL_OOM") != NULL)
		return t_oom();
	for (size_t i = 0; i < t_ncases; i++) {
		if (argc > 1 && strstr(t_cases[i].name, argv[1]) == NULL)
			continue;
		t_failed_now = 0;
		t_cases[i].fn();
		run++;
		if (t_failed_now)
			failed++;
		printf("%sok %u - %s\n", t_failed_now ? "not " : "", run,
		    t_cases[i].name);
	}
	printf("1..%u\n", run);
	return failed ? 1 : 0;
}
