/*
 * sluicectl.h — the admin CLI's command table and shared helpers.
 *
 * Adding a subcommand: write `int ctl_NAME(int argc, char **argv)` in its
 * own admin/NAME.c (argv[0] is the subcommand), declare it here, and add
 * one line to ctl_cmds[] in sluicectl.c.  Exit codes: CTL_OK, CTL_PROBLEM
 * (the command ran and found problems), CTL_USAGE.
 */
#ifndef SL_SLUICECTL_H
#define SL_SLUICECTL_H

#include <stdio.h>

#include "../lib/diag.h"
#include "../policy/config.h"
#include "../policy/edit.h"

#define CTL_OK		0
#define CTL_PROBLEM	1
#define CTL_USAGE	2

struct ctl_cmd {
	const char	*name;
	int		(*fn)(int argc, char **argv);
	const char	*summary;	/* one line for `sluicectl --help` */
	const char	*usage;		/* full text for `sluicectl CMD --help` */
};

/* Is argv asking for help (-h / --help anywhere)? */
int	ctl_wants_help(int argc, char **argv);
/* Print the usage of cmd to fp. */
void	ctl_usage(const char *cmd, FILE *fp);
/*
 * Load a configuration for a subcommand; prints diagnostics to stderr
 * (warnings too unless quiet).  NULL on errors.
 */
struct sl_config *ctl_load(const char *path, int quiet);

int	ctl_check(int argc, char **argv);
int	ctl_explain(int argc, char **argv);
int	ctl_nft(int argc, char **argv);		/* nft.c */
int	ctl_profile(int argc, char **argv);	/* ctl_profile.c */
int	ctl_import(int argc, char **argv);	/* ctl_import.c */
int	ctl_rule(int argc, char **argv);	/* ctl_rule.c */
int	ctl_ca(int argc, char **argv);		/* ctl_ca.c */
int	ctl_learn(int argc, char **argv);	/* ctl_learn.c */

/* ctl_util.c: read a whole file (NUL-terminated; caller frees) or NULL
 * with errno; write a file atomically (temp + fsync + rename). */
char	*ctl_slurp(const char *path, size_t *len);
int	 ctl_write_atomic(const char *path, const char *text, size_t len);
/* The file that holds rule `name` in cfg (borrowed), or NULL. */
const char *ctl_rule_file(const struct sl_config *cfg, const char *name);
/*
 * Write edit e to path, then load config: if it no longer loads, print
 * why and put old back.  CTL_OK or CTL_PROBLEM (said, as "sluicectl WHO").
 */
int	 ctl_edit_commit(const char *who, const char *path, struct sl_edit *e,
	    const char *config, const char *old, size_t oldlen);

#endif /* SL_SLUICECTL_H */
