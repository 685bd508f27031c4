/*
 * t.c — runner for t.h tests: TAP output, optional name filter.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"

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

int
main(int argc, char **argv)
{
	unsigned run = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
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
