/*
 * ctl_profile.c — `sluicectl profile generate [-o OUT] [-q] VENDOR DOC`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "sluicectl.h"

/* The list file next to the profile, written only if it is not there:
 * regenerating must never wipe imported addresses. */
static int
profile_list(const char *out, const struct sl_profile_out *p)
{
	const char *slash = strrchr(out, '/');
	char path[4096];

	snprintf(path, sizeof(path), "%.*s%s%s.list",
	    slash ? (int)(slash - out) : 0, out, slash ? "/" : "",
	    p->list_name);
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "list file %s exists: kept\n", path);
		return 0;
	}
	if (ctl_write_atomic(path, p->list_text, strlen(p->list_text)) == -1) {
		fprintf(stderr, "sluicectl profile: cannot write %s: %s\n",
		    path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "wrote %s (empty: fill it with sluicectl import "
	    "json)\n", path);
	return 0;
}

int
ctl_profile(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct sl_profile_out p;
	const char *out = NULL, *vendor, *docpath, *doc;
	int quiet = 0, c, rc = CTL_OK;
	size_t len;
	char *text;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:q", opts, NULL)) != -1) {
		if (c == 'o')
			out = optarg;
		else if (c == 'q')
			quiet = 1;
		else
			goto usage;
	}
	if (argc - optind != 3 || strcmp(argv[optind], "generate") != 0)
		goto usage;
	vendor = argv[optind + 1];
	docpath = argv[optind + 2];
	doc = strrchr(docpath, '/') ? strrchr(docpath, '/') + 1 : docpath;
	if ((text = ctl_slurp(docpath, &len)) == NULL) {
		fprintf(stderr, "sluicectl profile: cannot read %s: %s\n",
		    docpath, strerror(errno));
		return CTL_PROBLEM;
	}
	if (sl_profile_generate(vendor, doc, text, len, &p) == -1) {
		fprintf(stderr, "sluicectl profile: cannot generate a profile "
		    "for '%s' (vendor: lower-case letters and digits)\n",
		    vendor);
		sl_free(text);
		return CTL_PROBLEM;
	}
	sl_free(text);
	if (!quiet)
		fputs(p.report, stderr);
	if (out == NULL) {
		fputs(p.profile, stdout);
		if (p.list_name != NULL)
			fprintf(stderr, "note: the profile loads %s.list; with "
			    "-o it is created next to the profile\n",
			    p.list_name);
	} else if (ctl_write_atomic(out, p.profile, strlen(p.profile))
	    == -1) {
		fprintf(stderr, "sluicectl profile: cannot write %s: %s\n",
		    out, strerror(errno));
		rc = CTL_PROBLEM;
	} else if (p.list_name != NULL && profile_list(out, &p) == -1) {
		rc = CTL_PROBLEM;
	}
	sl_profile_out_free(&p);
	return rc;
usage:
	ctl_usage("profile", stderr);
	return CTL_USAGE;
}
