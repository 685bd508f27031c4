/*
 * ctl_learn.c — `sluicectl learn list|accept|forget`: review the
 * destinations learn mode recorded (docs/design/learn.md), turn them into
 * splice rules, or drop them.
 *
 * Offline, on the files: the learned list (state-dir/learned.json) and
 * the configuration.  The daemon reads the list back at SIGHUP and before
 * each save, so what accept or forget removed leaves its table too.  The
 * list's flock ("<list>.lock") is held across our read-modify-write.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/alloc.h"
#include "../policy/learn.h"
#include "sluicectl.h"

#define LEARN_DEFAULT_CONF	"/etc/sluice/sluice.conf"

struct lopts {
	const char	*config;
	const char	*state_dir;	/* overrides the config's */
	int		 all, json;
	char		 path[PATH_MAX];
	unsigned	 min_clients;
	struct sl_config *cfg;
};

static int
learn_parse(int argc, char **argv, struct lopts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->config = LEARN_DEFAULT_CONF;
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->state_dir = optarg;
			break;
		case 'a':
			o->all = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* Load the configuration and find the list; CTL_OK or CTL_PROBLEM. */
static int
learn_setup(struct lopts *o)
{
	const struct sl_settings *set;

	if ((o->cfg = ctl_load(o->config, 1)) == NULL) {
		fprintf(stderr, "sluicectl learn: %s has errors\n", o->config);
		return CTL_PROBLEM;
	}
	set = sl_config_settings(o->cfg);
	o->min_clients = set->learn_min_clients;
	if (sl_learn_path(o->state_dir ? o->state_dir : set->state_dir,
	    set->learn_file, o->path, sizeof(o->path)) == -1) {
		fprintf(stderr, "sluicectl learn: learn-file path too long\n");
		return CTL_PROBLEM;
	}
	return CTL_OK;
}

static int
learn_load(const struct lopts *o, struct sl_learn_entry **v, size_t *n)
{
	char err[256];
	size_t skipped;

	if (sl_learn_read(o->path, v, n, &skipped, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluicectl learn: %s: %s\n", o->path, err);
		return -1;
	}
	if (skipped > 0)
		fprintf(stderr, "sluicectl learn: %s: %zu invalid entr%s "
		    "ignored\n", o->path, skipped, skipped == 1 ? "y" : "ies");
	return 0;
}

/* "proposed", "learning", or "denied"; *rule: the deny rule. */
static const char *
learn_status(const struct lopts *o, const struct sl_learn_entry *e,
    const char **rule)
{
	struct sl_learn_place pl;

	sl_learn_place(sl_config_policy(o->cfg), e->name, &pl);
	*rule = pl.deny;
	if (pl.deny != NULL)
		return "denied";
	return sl_learn_proposed(e, o->min_clients) ? "proposed" : "learning";
}

static const char *
learn_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%lld", (long long)t);
	return buf;
}

static json_t *
learn_json(const struct lopts *o, const struct sl_learn_entry *e)
{
	const char *rule, *st = learn_status(o, e, &rule);
	char t1[32], t2[32], ip[SL_IP_STRLEN];
	json_t *cl = json_array();

	for (unsigned i = 0; cl != NULL && i < e->nclients; i++)
		json_array_append_new(cl, json_string(sl_ip_fmt(&e->clients[i],
		    ip, sizeof(ip))));
	return json_pack("{s:s, s:s, s:s*, s:I, s:i, s:o, s:s, s:s, s:s}",
	    "name", e->name, "status", st, "deny_rule", rule,
	    "count", (json_int_t)e->count, "clients", (int)e->nclients,
	    "client_addresses", cl ? cl : json_array(),
	    "first", learn_time(e->first, t1, sizeof(t1)),
	    "last", learn_time(e->last, t2, sizeof(t2)), "alert", e->alert);
}

static int
learn_list(struct lopts *o)
{
	struct sl_learn_entry *v;
	json_t *arr = o->json ? json_array() : NULL;
	char t1[32], t2[32];
	size_t n;

	if (learn_load(o, &v, &n) == -1)
		return CTL_PROBLEM;
	if (!o->json)
		printf("%-40s %-9s %7s %8s  %-20s  %s\n", "NAME", "STATUS",
		    "CLIENTS", "COUNT", "LAST SEEN", "LAST ALERT");
	for (size_t i = 0; i < n; i++) {
		const char *rule, *st = learn_status(o, &v[i], &rule);

		if (!o->all && strcmp(st, "proposed") != 0)
			continue;
		if (o->json) {
			json_array_append_new(arr, learn_json(o, &v[i]));
			continue;
		}
		(void)learn_time(v[i].first, t1, sizeof(t1));
		printf("%-40s %-9s %3u/%-3u %8llu  %-20s  %s\n", v[i].name, st,
		    v[i].nclients, o->min_clients,
		    (unsigned long long)v[i].count,
		    learn_time(v[i].last, t2, sizeof(t2)), v[i].alert);
	}
	if (o->json) {
		char *txt = json_dumps(arr, JSON_INDENT(2) |
		    JSON_ENSURE_ASCII);

		if (txt != NULL)
			printf("%s\n", txt);
		free(txt);
		json_decref(arr);
	}
	sl_free(v);
	return CTL_OK;
}

/* Remove the names marked in drop[] from the list file; CTL_*. */
static int
learn_remove(const struct lopts *o, struct sl_learn_entry *v, size_t n,
    const unsigned char *drop)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!drop[i])
			v[k++] = v[i];
	if (sl_learn_write(o->path, v, k) == -1) {
		fprintf(stderr, "sluicectl learn: cannot write %s: %s\n",
		    o->path, strerror(errno));
		return CTL_PROBLEM;
	}
	return CTL_OK;
}

static long
learn_find(const struct sl_learn_entry *v, size_t n, const char *arg)
{
	char norm[256];

	return sl_learn_name(arg, norm) == -1 ? -1 :
	    sl_learn_find(v, n, norm);
}

/* Insert the splice rule for name; CTL_OK or CTL_PROBLEM (said). */
static int
learn_accept_one(const struct lopts *o, const char *name)
{
	struct sl_config *cfg = ctl_load(o->config, 1);
	struct sl_learn_place pl;
	struct sl_ip ip;
	struct sl_edit *e = NULL;
	char rule[600], *target = NULL, *old = NULL;
	const char *err = NULL;
	size_t oldlen;
	int rc = CTL_PROBLEM;

	if (cfg == NULL)
		return CTL_PROBLEM;
	sl_learn_place(sl_config_policy(cfg), name, &pl);
	if (pl.deny != NULL) {
		fprintf(stderr, "sluicectl learn: '%s': rule '%s' denies it: a "
		    "deny is never turned into a splice\n", name, pl.deny);
		goto out;
	}
	if (pl.conflict != NULL) {
		fprintf(stderr, "sluicectl learn: '%s': inspect rule '%s' comes "
		    "before deny rule '%s', which may apply too: no place for a "
		    "splice rule that jumps neither; add one by hand (sluicectl "
		    "rule add)\n", name, pl.conflict, pl.conflict_deny);
		goto out;
	}
	snprintf(rule, sizeof(rule), "rule learned-%s splice %s %s", name,
	    sl_ip_parse(&ip, name) == 0 ? "ip" : "domain", name);
	target = sl_strdup(pl.anchor != NULL ? ctl_rule_file(cfg, pl.anchor) :
	    o->config);
	if (target == NULL || (old = ctl_slurp(target, &oldlen)) == NULL ||
	    (e = sl_edit_load(target, &err)) == NULL) {
		fprintf(stderr, "sluicectl learn: cannot read %s: %s\n",
		    target ? target : o->config, err ? err : strerror(errno));
		goto out;
	}
	if (sl_edit_insert(e, rule, pl.anchor, 0) == -1) {
		fprintf(stderr, "sluicectl learn: %s: %s\n", target,
		    sl_edit_error(e));
		goto out;
	}
	rc = ctl_edit_commit("learn", target, e, o->config, old, oldlen);
	if (rc == CTL_OK)
		printf("%s: added '%s'%s%s\n", target, rule,
		    pl.anchor ? " before rule " : "", pl.anchor ? pl.anchor : "");
out:
	sl_edit_free(e);
	sl_free(old);
	sl_free(target);
	sl_config_unref(cfg);
	return rc;
}

/* accept (accept = 1) or forget NAME... | --all, under the list's lock. */
static int
learn_edit(struct lopts *o, int accept, int argc, char **argv)
{
	struct sl_learn_entry *v = NULL;
	unsigned char *drop = NULL;
	char err[PATH_MAX + 64];
	size_t n;
	int lk, rc = CTL_OK, changed = 0;

	if ((lk = sl_learn_lock(o->path, err, sizeof(err))) == -1) {
		fprintf(stderr, "sluicectl learn: %s\n", err);
		return CTL_PROBLEM;
	}
	if (learn_load(o, &v, &n) == -1 ||
	    (drop = sl_calloc(n ? n : 1, 1)) == NULL) {
		rc = CTL_PROBLEM;
		goto out;
	}
	for (size_t i = 0; o->all && i < n; i++)
		drop[i] = changed = 1;
	for (int a = 0; a < argc; a++) {
		long i = learn_find(v, n, argv[a]);

		if (i == -1) {
			fprintf(stderr, "sluicectl learn: '%s' is not in the "
			    "learned list %s\n", argv[a], o->path);
			rc = CTL_PROBLEM;
			continue;
		}
		if (accept && learn_accept_one(o, v[i].name) != CTL_OK) {
			rc = CTL_PROBLEM;
			continue;
		}
		if (!accept)
			printf("forgot '%s'\n", v[i].name);
		drop[i] = changed = 1;
	}
	if (changed && learn_remove(o, v, n, drop) != CTL_OK)
		rc = CTL_PROBLEM;
	if (changed && accept)
		printf("reload sluiced (SIGHUP) to apply the rule(s)\n");
out:
	sl_free(drop);
	sl_free(v);
	close(lk);
	return rc;
}

int
ctl_learn(int argc, char **argv)
{
	struct lopts o;
	const char *op;
	int rc, nargs;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || learn_parse(argc, argv, &o) == -1)
		goto usage;
	op = argv[1];
	nargs = argc - optind;
	if (strcmp(op, "list") == 0) {
		if (nargs != 0)
			goto usage;
	} else if (strcmp(op, "accept") == 0) {
		if (nargs == 0 || o.all || o.json)
			goto usage;
	} else if (strcmp(op, "forget") == 0) {
		if ((nargs == 0) == !o.all || o.json)
			goto usage;	/* names, or --all */
	} else {
		goto usage;
	}
	if ((rc = learn_setup(&o)) == CTL_OK) {
		if (strcmp(op, "list") == 0)
			rc = learn_list(&o);
		else
			rc = learn_edit(&o, strcmp(op, "accept") == 0, nargs,
			    argv + optind);
	}
	sl_config_unref(o.cfg);
	return rc;
usage:
	ctl_usage("learn", stderr);
	return CTL_USAGE;
}
