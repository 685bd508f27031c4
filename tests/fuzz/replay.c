/*
 * replay.c — corpus replay for fuzz targets built without libFuzzer, so
 * `make test` runs every seed (and every input a fuzzing run kept) through
 * the target under the normal and the sanitizer builds.
 *
 *   build/fuzz/fuzz_NAME [DIR|FILE ...]
 *
 * Without arguments the corpus is tests/fuzz/corpus/NAME, NAME being the
 * binary's name minus "fuzz_"; run it from the repo top (tests/run.sh
 * does).  Files are replayed in name order.  Output is TAP:
 * "ok 1 - replayed N inputs from DIR", or "not ok" when a directory is
 * missing or holds no input; a crash or a failed invariant in the target
 * aborts, which the runner counts as a failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as with libFuzzer. */
int	LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Run one file; the copy is exactly sized so ASan sees any over-read. */
static int
replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (fp == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (n == cap) {
			uint8_t *nb;

			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL)
				abort();
			buf = nb;
		}
		if ((r = fread(buf + n, 1, cap - n, fp)) == 0)
			break;
		n += r;
	}
	fclose(fp);
	{
		uint8_t *exact = malloc(n > 0 ? n : 1);

		if (exact == NULL)
			abort();
		memcpy(exact, buf, n);
		free(buf);
		(void)LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file in dir; returns how many, -1 on error. */
static long
replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	long done = 0;

	if (d == NULL) {
		printf("# %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 64;
			if ((nn = realloc(names, cap * sizeof(*names))) == NULL)
				abort();
			names = nn;
		}
		if ((names[n++] = strdup(de->d_name)) == NULL)
			abort();
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (replay_file(path) == 0)
			done++;
		free(names[i]);
	}
	free(names);
	return done;
}

int
main(int argc, char **argv)
{
	char dflt[1024];
	const char *base = strrchr(argv[0], '/');
	int failed = 0, t = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (LLVMFuzzerInitialize != NULL)
		(void)LLVMFuzzerInitialize(&argc, &argv);
	base = base != NULL ? base + 1 : argv[0];
	if (strncmp(base, "fuzz_", 5) == 0)
		base += 5;
	snprintf(dflt, sizeof(dflt), "tests/fuzz/corpus/%s", base);
	for (int i = argc > 1 ? 1 : 0; i < argc; i++) {
		const char *arg = argc > 1 ? argv[i] : dflt;
		struct stat st;
		long n;

		t++;
		if (stat(arg, &st) == 0 && S_ISREG(st.st_mode))
			n = replay_file(arg) == 0 ? 1 : -1;
		else
			n = replay_dir(arg);
		if (n > 0) {
			printf("ok %d - replayed %ld inputs from %s\n", t, n,
			    arg);
		} else {
			printf("not ok %d - %s from %s\n", t,
			    n == 0 ? "no inputs" : "cannot replay", arg);
			failed = 1;
		}
	}
	printf("1..%d\n", t);
	return failed;
}
