/*
 * ctl_ca.c — `sluicectl ca init|show`: the inspection CA on disk.
 *
 *   sluicectl ca init [--dir DIR] [--cn NAME] [--days N] [--key ec|rsa]
 *                     [--owner USER] [--force]
 *   sluicectl ca show [--dir DIR]
 *
 * init creates DIR/ca.key (0600), ca.pem and ca.der (tls/ca_make.c), then
 * loads them back through the daemon's own checks and prints what to give
 * clients; show runs those checks on an existing CA.  DIR defaults to the
 * default state-dir, where the default ca-cert and ca-key settings point.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tls/tls.h"
#include "sluicectl.h"

#define CA_DIR_DEFAULT	"/var/lib/sluice"

/* Load dir's CA with sluiced's checks and print it; CTL_OK or PROBLEM. */
static int
ca_print(const char *dir)
{
	struct sl_tls_ca_info info;
	struct sl_tls_ca *ca;
	char err[1024];
	long days;

	if ((ca = sl_tls_ca_load(dir, SL_TLS_CA_CERT, SL_TLS_CA_KEY, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "sluicectl ca: %s\n", err);
		return CTL_PROBLEM;
	}
	sl_tls_ca_info(ca, &info);
	sl_tls_ca_unref(ca);
	days = (long)((info.not_after_t - time(NULL)) / 86400);
	printf("certificate  %s/%s (PEM), %s/%s (DER)\n", dir, SL_TLS_CA_CERT,
	    dir, SL_TLS_CA_DER);
	printf("key          %s/%s (%s)\n", dir, SL_TLS_CA_KEY, info.key);
	printf("subject      %s\n", info.subject);
	printf("sha256       %s\n", info.sha256);
	printf("sha1         %s\n", info.sha1);
	printf("valid        %s to %s (%ld days left)\n", info.not_before,
	    info.not_after, days);
	return CTL_OK;
}

static int
ca_days(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end != '\0' || v < 1 || v > 36500)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
ca_owner(const char *user, struct sl_tls_ca_params *p)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		fprintf(stderr, "sluicectl ca: unknown user '%s'\n", user);
		return -1;
	}
	p->chown = 1;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	return 0;
}

static int
ca_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "cn", required_argument, NULL, 'n' },
		{ "days", required_argument, NULL, 'D' },
		{ "key", required_argument, NULL, 'k' },
		{ "owner", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct sl_tls_ca_params p = { .days = 3650, .key = SL_TLS_KEY_EC };
	const char *dir = CA_DIR_DEFAULT;
	char err[1024];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:n:D:k:o:f", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'n')
			p.cn = optarg;
		else if (c == 'D' && ca_days(optarg, &p.days) == 0)
			continue;
		else if (c == 'k' && strcmp(optarg, "ec") == 0)
			p.key = SL_TLS_KEY_EC;
		else if (c == 'k' && strcmp(optarg, "rsa") == 0)
			p.key = SL_TLS_KEY_RSA;
		else if (c == 'o' && ca_owner(optarg, &p) == 0)
			continue;
		else if (c == 'f')
			p.force = 1;
		else
			goto usage;
	}
	if (optind != argc || (p.cn != NULL && (p.cn[0] == '\0' ||
	    strlen(p.cn) > 64)))
		goto usage;
	if (sl_tls_ca_create(dir, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "sluicectl ca init: %s\n", err);
		return CTL_PROBLEM;
	}
	printf("created a new inspection CA in %s\n\n", dir);
	if (ca_print(dir) != CTL_OK)
		return CTL_PROBLEM;
	printf("\nDeploy %s (or %s) to the clients' trust stores; the key\n"
	    "never leaves the appliance.  sluiced loads the CA at start and on\n"
	    "reload (SIGHUP); see docs/deploy.md.\n", SL_TLS_CA_CERT,
	    SL_TLS_CA_DER);
	return CTL_OK;
usage:
	ctl_usage("ca", stderr);
	return CTL_USAGE;
}

static int
ca_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = CA_DIR_DEFAULT;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:", opts, NULL)) != -1) {
		if (c != 'd') {
			ctl_usage("ca", stderr);
			return CTL_USAGE;
		}
		dir = optarg;
	}
	if (optind != argc) {
		ctl_usage("ca", stderr);
		return CTL_USAGE;
	}
	return ca_print(dir);
}

int
ctl_ca(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return ca_init(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return ca_show(argc - 1, argv + 1);
	ctl_usage("ca", stderr);
	return CTL_USAGE;
}
