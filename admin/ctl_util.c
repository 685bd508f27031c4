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

const char *
ctl_rule_file(const struct sl_config *cfg, const char *name)
{
	const struct sl_policy *pol = sl_config_policy(cfg);

	for (size_t i = 0; i < sl_policy_nrules(pol); i++) {
		const struct sl_rule *r = sl_policy_rule(pol, i);

		if (strcmp(sl_rule_name(r), name) == 0)
			return sl_rule_loc(r)->file;
	}
	return NULL;
}

int
ctl_edit_commit(const char *who, const char *path, struct sl_edit *e,
    const char *config, const char *old, size_t oldlen)
{
	struct sl_diags d;
	struct sl_config *cfg;

	if (sl_edit_write(e, path) == -1) {
		fprintf(stderr, "sluicectl %s: cannot write %s: %s\n", who,
		    path, strerror(errno));
		return CTL_PROBLEM;
	}
	sl_diags_init(&d);
	cfg = sl_config_load(config, NULL, 0, &d);
	if (cfg == NULL) {
		sl_diags_print(&d, stderr);
		if (ctl_write_atomic(path, old, oldlen) == -1)
			fprintf(stderr, "sluicectl %s: cannot restore %s: "
			    "%s\n", who, path, strerror(errno));
		else
			fprintf(stderr, "sluicectl %s: the change breaks the "
			    "configuration; %s left as it was\n", who, path);
		sl_diags_free(&d);
		return CTL_PROBLEM;
	}
	sl_config_unref(cfg);
	sl_diags_free(&d);
	return CTL_OK;
}
