/*
 * ctl_import.c — `sluicectl import json IN.json OUT.list`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../lib/alloc.h"
#include "../lib/diag.h"
#include "sluicectl.h"

int
ctl_import(int argc, char **argv)
{
	struct sl_diags d;
	char date[32];
	struct tm tm;
	time_t now = time(NULL);
	size_t len, count = 0;
	char *json, *list;
	int rc = CTL_OK;

	if (argc != 4 || strcmp(argv[1], "json") != 0) {
		ctl_usage("import", stderr);
		return CTL_USAGE;
	}
	if ((json = ctl_slurp(argv[2], &len)) == NULL) {
		fprintf(stderr, "sluicectl import: cannot read %s: %s\n",
		    argv[2], strerror(errno));
		return CTL_PROBLEM;
	}
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	sl_diags_init(&d);
	list = sl_import_json(json, len, argv[2], date, &count, &d);
	sl_diags_print(&d, stderr);
	if (list == NULL) {
		rc = CTL_PROBLEM;
	} else if (ctl_write_atomic(argv[3], list, strlen(list)) == -1) {
		fprintf(stderr, "sluicectl import: cannot write %s: %s\n",
		    argv[3], strerror(errno));
		rc = CTL_PROBLEM;
	} else {
		printf("%s: %zu CIDRs written, %u invalid entries skipped\n",
		    argv[3], count, d.nerr);
		if (d.nerr > 0)
			rc = CTL_PROBLEM;
	}
	sl_free(list);
	sl_free(json);
	sl_diags_free(&d);
	return rc;
}
