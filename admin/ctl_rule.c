/*
 * ctl_rule.c — `sluicectl rule add|del|move|enable|disable`: edit the
 * file that holds a rule, touching only that rule's lines, and keep the
 * change only if the whole configuration still loads.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/diag.h"
#include "sluicectl.h"

struct ropts {
	const char	*config;
	const char	*anchor;
	int		 after, end;
	const char	*arg;		/* NAME, or the rule text for add */
};

static int
rule_apply(struct sl_edit *e, const char *op, const struct ropts *o)
{
	if (strcmp(op, "add") == 0)
		return sl_edit_insert(e, o->arg, o->anchor, o->after);
	if (strcmp(op, "del") == 0)
		return sl_edit_delete(e, o->arg);
	if (strcmp(op, "move") == 0)
		return sl_edit_move(e, o->arg, o->end ? NULL : o->anchor,
		    o->after);
	if (strcmp(op, "enable") == 0)
		return sl_edit_enable(e, o->arg);
	return sl_edit_disable(e, o->arg);
}

static int
rule_parse(int argc, char **argv, struct ropts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "before", required_argument, NULL, 'b' },
		{ "after", required_argument, NULL, 'a' },
		{ "end", no_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'b':
		case 'a':
			if (o->anchor != NULL)
				return -1;
			o->anchor = optarg;
			o->after = c == 'a';
			break;
		case 'e':
			o->end = 1;
			break;
		default:
			return -1;
		}
	}
	if (o->config == NULL || argc - optind != 1)
		return -1;
	o->arg = argv[optind];
	if (strcmp(argv[1], "move") == 0 && (o->anchor == NULL) == !o->end)
		return -1;	/* exactly one of --before/--after/--end */
	return 0;
}

int
ctl_rule(int argc, char **argv)
{
	static const char *const ops[] = { "add", "del", "move", "enable",
		"disable" };
	struct ropts o;
	struct sl_config *cfg;
	struct sl_edit *e;
	const char *op, *path, *err = NULL;
	char *old, *target = NULL;
	size_t oldlen;
	int rc, known = 0;

	memset(&o, 0, sizeof(o));
	if (argc < 2)
		goto usage;
	op = argv[1];
	for (size_t i = 0; i < SL_NELEM(ops); i++)
		known |= strcmp(op, ops[i]) == 0;
	if (!known || rule_parse(argc, argv, &o) == -1)
		goto usage;
	if ((cfg = ctl_load(o.config, 1)) == NULL)
		return CTL_PROBLEM;
	path = strcmp(op, "add") == 0 ? (o.anchor ? ctl_rule_file(cfg, o.anchor) :
	    o.config) : ctl_rule_file(cfg, o.arg);
	if (path == NULL) {
		fprintf(stderr, "sluicectl rule: no rule '%s' in %s\n",
		    strcmp(op, "add") == 0 ? o.anchor : o.arg, o.config);
		sl_config_unref(cfg);
		return CTL_PROBLEM;
	}
	if (o.anchor != NULL && strcmp(op, "move") == 0 &&
	    (ctl_rule_file(cfg, o.anchor) == NULL ||
	    strcmp(ctl_rule_file(cfg, o.anchor), path) != 0)) {
		fprintf(stderr, "sluicectl rule: '%s' is not in the same file "
		    "as '%s' (%s)\n", o.anchor, o.arg, path);
		sl_config_unref(cfg);
		return CTL_PROBLEM;
	}
	target = sl_strdup(path);
	sl_config_unref(cfg);
	if (target == NULL)
		return CTL_PROBLEM;
	if ((old = ctl_slurp(target, &oldlen)) == NULL ||
	    (e = sl_edit_load(target, &err)) == NULL) {
		fprintf(stderr, "sluicectl rule: cannot read %s: %s\n", target,
		    err ? err : strerror(errno));
		sl_free(old);
		sl_free(target);
		return CTL_PROBLEM;
	}
	if (rule_apply(e, op, &o) == -1) {
		fprintf(stderr, "sluicectl rule: %s: %s\n", target,
		    sl_edit_error(e));
		rc = CTL_PROBLEM;
	} else {
		rc = ctl_edit_commit("rule", target, e, o.config, old, oldlen);
		if (rc == CTL_OK)
			printf("%s: %s: %s\n", target, op, o.arg);
	}
	sl_edit_free(e);
	sl_free(old);
	sl_free(target);
	return rc;
usage:
	ctl_usage("rule", stderr);
	return CTL_USAGE;
}
