/*
 * sluicectl.c — the admin CLI: command table and dispatch.
 *
 *   sluicectl check [-c] FILE
 *   sluicectl explain -c FILE [--name N] [--ip IP] [--port P] ...
 *   sluicectl profile generate VENDOR DOCUMENT
 *   sluicectl import json IN.json OUT.list
 *   sluicectl rule add|del|move|enable|disable ...
 *   sluicectl ca init|show ...
 *   sluicectl learn list|accept|forget ...
 *
 * Exit codes: 0 ok, 1 problems found, 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/diag.h"
#include "sluicectl.h"

static const struct ctl_cmd ctl_cmds[] = {
	{ "check", ctl_check, "check a configuration file and print every "
	    "diagnostic",
	    "usage: sluicectl check [-q] [-c] FILE\n"
	    "\n"
	    "Parse FILE and everything it includes, print all errors and\n"
	    "warnings as file:line:col, then a summary line.\n"
	    "  -c FILE   the file (the -c is optional)\n"
	    "  -q        print errors and the summary only\n"
	    "Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage.\n" },
	{ "explain", ctl_explain, "show how the policy decides a flow",
	    "usage: sluicectl explain -c FILE [--src IP] [--ip IP] [--name NAME]\n"
	    "           [--sni NAME] [--port N] [--udp] [--url HOST/PATH]\n"
	    "           [--user U] [--country CC] [--asn N] [--local]\n"
	    "           [--unknown FACT,...] [--json]\n"
	    "\n"
	    "Decide one flow with the policy of FILE and print the decision:\n"
	    "action, modifiers, the rule with its citation and level, the\n"
	    "facts still needed, and every earlier rule that was skipped.\n"
	    "Facts not given are known to be absent, except those named by\n"
	    "--unknown (name, ip, url, user, geo), which are not known yet.\n"
	    "  --name    destination name (CONNECT authority or Host)\n"
	    "  --sni     TLS server name; the name when --name is not given\n"
	    "  --ip      destination address (resolved or original)\n"
	    "  --port    destination port (default 443); --udp for UDP\n"
	    "  --url     request host and path (plain HTTP or inspected)\n"
	    "  --local   the destination is one of the appliance's addresses\n"
	    "  --json    machine-readable output\n" },
	{ "profile", ctl_profile, "generate a vendor profile from a "
	    "requirement document",
	    "usage: sluicectl profile generate [-o OUT] [-q] VENDOR DOCUMENT\n"
	    "\n"
	    "Turn a vendor requirement document (tab-separated IP/Domain\n"
	    "tables under must/should headings) into a profile: one rule per\n"
	    "entry with its level and a citation of the document line.\n"
	    "The profile goes to OUT (default: standard output); the report\n"
	    "of what was understood, normalised or not used goes to stderr.\n"
	    "VENDOR: flexperto or vistime.\n" },
	{ "import", ctl_import, "import a JSON IP list into a list file",
	    "usage: sluicectl import json [--name NAME] IN.json OUT.list\n"
	    "\n"
	    "Read CIDRs from a JSON document and write a list file (one CIDR\n"
	    "per line, with a header naming the source and the date).\n"
	    "Accepted shapes: an array of CIDR strings; an object with an\n"
	    "array under any key whose elements are CIDR strings or objects\n"
	    "with a \"prefix\", \"ip_prefix\", \"ipv6_prefix\", \"cidr\" or \"ip\"\n"
	    "field.  Invalid entries are reported with their JSON path and\n"
	    "skipped; exit status 1 if there were any.\n" },
	{ "rule", ctl_rule, "add, delete, move, enable or disable a rule in "
	    "a file",
	    "usage: sluicectl rule add -c FILE [--before R | --after R] 'rule ...'\n"
	    "       sluicectl rule del -c FILE NAME\n"
	    "       sluicectl rule move -c FILE NAME --before R | --after R | --end\n"
	    "       sluicectl rule enable -c FILE NAME\n"
	    "       sluicectl rule disable -c FILE NAME\n"
	    "\n"
	    "Edit the file that holds the rule, rewriting only the lines of\n"
	    "that rule; comments and every other line stay byte-identical.\n"
	    "The result is checked before it replaces the file.\n" },
	{ "nft", ctl_nft, "print the nftables rules for transparent mode",
	    "usage: sluicectl nft [-c FILE]\n"
	    "\n"
	    "Print the nftables ruleset that redirects (or TPROXYs) client TCP\n"
	    "to the transparent listener of FILE (default\n"
	    "/etc/sluice/sluice.conf), and TPROXYs client UDP to the same\n"
	    "address and port: clients from nft-interfaces and nft-clients,\n"
	    "ports from transparent-tcp-ports and transparent-udp-ports, and,\n"
	    "as comments, the policy routing TPROXY needs.  Traffic to the\n"
	    "appliance itself and sluiced's own upstream connections are never\n"
	    "redirected.  Load it with `sluicectl nft | nft -f -`.\n"
	    "Exit status: 0 printed, 1 configuration problem, 2 usage.\n" },
	{ "ca", ctl_ca, "create or check the TLS inspection CA",
	    "usage: sluicectl ca init [--dir DIR] [--cn NAME] [--days N]\n"
	    "                         [--key ec|rsa] [--owner USER] [--force]\n"
	    "       sluicectl ca show [--dir DIR]\n"
	    "\n"
	    "init creates the CA that signs the certificates sluiced shows\n"
	    "to inspected clients: DIR/ca.key (private key, mode 0600, never\n"
	    "readable by others, not even while it is written), DIR/ca.pem and\n"
	    "DIR/ca.der (the certificate, mode 0644, to deploy to clients), and\n"
	    "prints its fingerprints.  It refuses to replace an existing CA\n"
	    "without --force (clients must then be given the new one).\n"
	    "  --dir DIR     where (default /var/lib/sluice, the default\n"
	    "                state-dir; the settings ca-cert and ca-key name\n"
	    "                the files, relative to state-dir)\n"
	    "  --cn NAME     subject CN (default \"sluice inspection CA\n"
	    "                YYYY-MM-DD\"), 1..64 characters\n"
	    "  --days N      validity, 1..36500 (default 3650)\n"
	    "  --key ec|rsa  EC P-256 (default: a leaf costs ~0.1 ms to mint)\n"
	    "                or RSA 2048 (~0.4 ms) for old clients\n"
	    "  --owner USER  give the files to USER (the `user` sluiced runs\n"
	    "                as, so that a reload can read the key)\n"
	    "  --force       replace an existing CA\n"
	    "show loads DIR's CA with the checks sluiced makes at start and\n"
	    "reload (key mode, key matches, CA flags, validity) and prints its\n"
	    "subject, fingerprints, validity and key type.\n"
	    "Exit status: 0 ok, 1 refused or failed (said why), 2 usage.\n" },
	{ "learn", ctl_learn, "review destinations whose clients refuse the "
	    "minted certificate",
	    "usage: sluicectl learn list [-c FILE] [--state-dir DIR] [--all] [--json]\n"
	    "       sluicectl learn accept [-c FILE] [--state-dir DIR] NAME...\n"
	    "       sluicectl learn forget [-c FILE] [--state-dir DIR] NAME... | --all\n"
	    "\n"
	    "Learn mode (`set learn-pinned on`) records destinations whose\n"
	    "clients refused the certificate sluiced minted for them (pinning,\n"
	    "or no appliance CA): docs/design/learn.md.  The list is\n"
	    "learn-file in state-dir (default learned.json).\n"
	    "list    the proposed destinations: refused by at least\n"
	    "        learn-min-clients distinct clients, and no deny rule of\n"
	    "        FILE names them; --all adds those still learning and\n"
	    "        those denied; --json for machines\n"
	    "accept  add `rule learned-NAME splice domain NAME` (ip for an\n"
	    "        address) to FILE, after every deny rule that may apply to\n"
	    "        NAME and before the first inspect rule that may, check the\n"
	    "        configuration, and remove NAME from the list; refused for\n"
	    "        a name a deny rule names.  Reload sluiced (SIGHUP) after\n"
	    "forget  remove NAME (or everything) from the list\n"
	    "  -c FILE          the configuration (default " "/etc/sluice/sluice.conf)\n"
	    "  --state-dir DIR  where the list is (default: FILE's state-dir)\n"
	    "Exit status: 0 ok, 1 a name refused, unknown or a file problem\n"
	    "(said why; the other names are done), 2 usage.\n" },
};

static void
main_usage(FILE *fp)
{
	fprintf(fp, "usage: sluicectl COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < SL_NELEM(ctl_cmds); i++)
		fprintf(fp, "  %-9s %s\n", ctl_cmds[i].name,
		    ctl_cmds[i].summary);
	fprintf(fp, "\n`sluicectl COMMAND --help` describes one command.\n"
	    "Exit status: 0 ok, 1 problems found, 2 usage error.\n");
}

int
ctl_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

void
ctl_usage(const char *cmd, FILE *fp)
{
	for (size_t i = 0; i < SL_NELEM(ctl_cmds); i++) {
		if (strcmp(ctl_cmds[i].name, cmd) == 0) {
			fputs(ctl_cmds[i].usage, fp);
			return;
		}
	}
	main_usage(fp);
}

struct sl_config *
ctl_load(const char *path, int quiet)
{
	struct sl_diags d;
	struct sl_config *cfg;

	sl_diags_init(&d);
	cfg = sl_config_load(path, NULL, 0, &d);
	for (size_t i = 0; i < d.n; i++) {
		struct sl_diags one = d;

		if (quiet && d.v[i].sev != SL_DIAG_ERROR)
			continue;
		one.v = &d.v[i];
		one.n = 1;
		one.nerr = one.nwarn = 0;
		sl_diags_print(&one, stderr);
	}
	sl_diags_free(&d);
	return cfg;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2 && strcmp(argv[1], "help") == 0)
			ctl_usage(argv[2], stdout);
		else
			main_usage(stdout);
		return CTL_OK;
	}
	for (size_t i = 0; i < SL_NELEM(ctl_cmds); i++) {
		if (strcmp(ctl_cmds[i].name, argv[1]) == 0) {
			if (ctl_wants_help(argc - 1, argv + 1)) {
				fputs(ctl_cmds[i].usage, stdout);
				return CTL_OK;
			}
			return ctl_cmds[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "sluicectl: unknown command '%s'\n", argv[1]);
	main_usage(stderr);
	return CTL_USAGE;
}
