/*
 * ctl_check.c — `sluicectl check [-q] [-c] FILE`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../lib/diag.h"
#include "sluicectl.h"

static const char *
plural(unsigned long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int
ctl_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct sl_config *cfg;
	struct sl_diags d;
	int quiet = 0, c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:q", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			ctl_usage("check", stderr);
			return CTL_USAGE;
		}
	}
	if (path == NULL && optind < argc)
		path = argv[optind++];
	if (path == NULL || optind != argc) {
		ctl_usage("check", stderr);
		return CTL_USAGE;
	}
	sl_diags_init(&d);
	cfg = sl_config_load(path, NULL, 0, &d);
	for (size_t i = 0; i < d.n; i++) {
		struct sl_diags one;

		if (quiet && d.v[i].sev != SL_DIAG_ERROR)
			continue;
		memset(&one, 0, sizeof(one));
		one.v = &d.v[i];
		one.n = 1;
		sl_diags_print(&one, stdout);
	}
	if (cfg != NULL) {
		const struct sl_policy *pol = sl_config_policy(cfg);
		size_t nr = sl_policy_nrules(pol), nl = 0, ndis = 0;

		for (size_t i = 0; i < nr; i++)
			ndis += sl_rule_disabled(sl_policy_rule(pol, i)) != 0;
		nl = sl_policy_nlists(pol);
		char dis[48] = "";

		if (ndis > 0)
			snprintf(dis, sizeof(dis), " (%zu disabled)", ndis);
		printf("%s: %zu %s%s, %zu %s, %u %s\n", path, nr,
		    plural(nr, "rule", "rules"), dis,
		    nl, plural(nl, "list", "lists"), d.nwarn,
		    plural(d.nwarn, "warning", "warnings"));
		rc = CTL_OK;
	} else {
		printf("%s: %u %s, %u %s\n", path, d.nerr,
		    plural(d.nerr, "error", "errors"), d.nwarn,
		    plural(d.nwarn, "warning", "warnings"));
		rc = CTL_PROBLEM;
	}
	if (d.nerr + d.nwarn > d.n)
		printf("(%u more diagnostics not shown)\n",
		    (unsigned)(d.nerr + d.nwarn - d.n));
	sl_config_unref(cfg);
	sl_diags_free(&d);
	return rc;
}
