/*
 * ctl_util.c — small helpers shared by sluicectl subcommands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "sluicectl.h"

char *
ctl_slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (fp == NULL)
		return NULL;
	do {
		if (n == cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if ((nb = sl_realloc(buf, cap + 1)) == NULL) {
				sl_free(buf);
				fclose(fp);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
	} while (got > 0);
	if (ferror(fp)) {
		int e = errno;

		sl_free(buf);
		fclose(fp);
		errno = e;
		return NULL;
	}
	fclose(fp);
	if (buf == NULL && (buf = sl_alloc(1)) == NULL)
		return NULL;
	buf[n] = '\0';
	*len = n;
	return buf;
}

int
ctl_write_atomic(const char *path, const char *text, size_t len)
{
	struct sl_edit *e = sl_edit_load_buf(text, len);
	int rc;

	/* sl_edit_write does temp file + fsync + rename. */
	if (e == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = sl_edit_write(e, path);
	sl_edit_free(e);
	return rc;
}
