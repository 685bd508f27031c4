/*
 * edit.h — the policy module's tools for the admin CLI: editing a
 * configuration file by lines, generating vendor profiles from requirement
 * documents, importing IP lists.  sluicectl only; the daemon never edits.
 */
#ifndef SL_EDIT_H
#define SL_EDIT_H

#include <stddef.h>

#include "../lib/attr.h"
#include "../lib/diag.h"

/* ---------------------------------------------------------------------
 * Editing a configuration file by lines (policy/edit.c), for the admin
 * CLI: every change rewrites only the lines of the rule concerned; all
 * other lines, comments and blank lines stay byte-identical.  Additive to
 * the original contract.
 */
struct sl_edit;

/* Load a file (or a buffer) as lines.  NULL on error (*err, static). */
struct sl_edit *sl_edit_load(const char *path, const char **err)
	    SL_NONNULL(1, 2);
struct sl_edit *sl_edit_load_buf(const char *buf, size_t len)
	    SL_NONNULL(1);
void	sl_edit_free(struct sl_edit *e);

/* Lines first..last (1-based) of rule NAME's statement; 0 or -1. */
int	sl_edit_find(const struct sl_edit *e, const char *name,
	    unsigned *first, unsigned *last) SL_NONNULL(1, 2, 3, 4);
/*
 * Insert one rule statement (text without a newline, e.g. "rule web
 * splice domain a.test") before or after rule `anchor`, or, with anchor
 * NULL, after the last rule (before a `default` if the file has one).
 */
int	sl_edit_insert(struct sl_edit *e, const char *rule_text,
	    const char *anchor, int after) SL_NONNULL(1, 2);
int	sl_edit_delete(struct sl_edit *e, const char *name) SL_NONNULL(1, 2);
/* Move rule `name` before/after `anchor` (NULL: to the end). */
int	sl_edit_move(struct sl_edit *e, const char *name, const char *anchor,
	    int after) SL_NONNULL(1, 2);
/* Remove / add the `disabled` modifier.  Already so: no change, 0. */
int	sl_edit_enable(struct sl_edit *e, const char *name) SL_NONNULL(1, 2);
int	sl_edit_disable(struct sl_edit *e, const char *name) SL_NONNULL(1, 2);
/* Why the last call failed (static or owned by e). */
const char *sl_edit_error(const struct sl_edit *e) SL_NONNULL(1);
size_t	sl_edit_nlines(const struct sl_edit *e) SL_NONNULL(1);
/* Line i (0-based) with its line terminator, exactly as stored. */
const char *sl_edit_line(const struct sl_edit *e, size_t i, size_t *len)
	    SL_NONNULL(1, 3);
/* The whole text (allocated; caller frees). */
char	*sl_edit_text(const struct sl_edit *e, size_t *len) SL_NONNULL(1, 2);
/*
 * Write atomically: a temporary file in the same directory, fsync, the
 * original's permissions, rename over path.  0 or -1 (errno set).
 */
int	sl_edit_write(const struct sl_edit *e, const char *path)
	    SL_NONNULL(1, 2);

/* ---------------------------------------------------------------------
 * Vendor profiles (policy/profile.c) and IP-list import (policy/import.c).
 * Additive to the original contract.
 */
struct sl_profile_out {
	char	*profile;	/* the profile (.conf) text */
	char	*report;	/* understood / normalised / duplicates /
				   not used, for a human */
	char	*list_name;	/* an external list the profile loads from
				   "<list_name>.list", or NULL */
	char	*list_text;	/* that file's initial (empty) content */
};

/*
 * Generate a profile for `vendor` (lower-case letters and digits: rule
 * and list names start with it) from a requirement document's text;
 * `doc` is the document's file name, cited by every rule.  0 or -1.
 */
int	sl_profile_generate(const char *vendor, const char *doc,
	    const char *text, size_t len, struct sl_profile_out *out)
	    SL_NONNULL(1, 2, 3, 5);
void	sl_profile_out_free(struct sl_profile_out *out);

/*
 * Read CIDRs from a JSON document (see docs/policy.md for the shapes)
 * and produce a list file: a header naming `source` and `date`, then one
 * CIDR per line.  Invalid entries go to diags with their JSON path, as
 * errors; valid ones are kept.  Returns the text (caller frees) or NULL
 * if the document is not usable at all; *count gets the CIDRs written.
 */
char	*sl_import_json(const char *json, size_t len, const char *source,
	    const char *date, size_t *count, struct sl_diags *diags)
	    SL_NONNULL(1, 3, 4, 5, 6);

#endif /* SL_EDIT_H */
