/*
 * diag.h — configuration diagnostics, collected like a compiler does.
 *
 *   /etc/sluice/policy.conf:12:9: error: unknown action 'splcie' (expected splice, inspect, deny)
 *   /etc/sluice/lists/ads.conf:3:1: warning: duplicate host 'ads.example' (first at line 1)
 *     in file included from /etc/sluice/policy.conf:4
 *
 * A parser adds every problem it finds and keeps going; the caller decides
 * at the end (sl_diags_errors() > 0 means the configuration is rejected).
 */
#ifndef SL_DIAG_H
#define SL_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "attr.h"

enum sl_diag_sev {
	SL_DIAG_ERROR = 0,
	SL_DIAG_WARNING,
	SL_DIAG_NOTE,
};

/* A position in a configuration file; file is borrowed from its owner. */
struct sl_loc {
	const char	*file;
	unsigned	 line;	/* 1-based; 0 = whole file */
	unsigned	 col;	/* 1-based; 0 = whole line */
};

struct sl_diag {
	enum sl_diag_sev sev;
	char		*file;	/* owned copy */
	unsigned	 line, col;
	char		*msg;	/* owned */
	char		*chain;	/* owned; "in file included from F:L" lines, or NULL */
};

struct sl_diags {
	struct sl_diag	*v;
	size_t		 n, cap;
	unsigned	 nerr, nwarn;
	unsigned	 max;	/* stop storing past this many (0 = 1000) */
};

void	sl_diags_init(struct sl_diags *d) SL_NONNULL(1);
void	sl_diags_free(struct sl_diags *d);	/* frees contents, not d */

/*
 * Add one diagnostic.  chain may be NULL.  Returns -1 only for an error
 * diagnostic (so grammar functions can `return sl_diag_error(...)`), else 0.
 */
int	sl_diag_add(struct sl_diags *d, enum sl_diag_sev sev,
	    const struct sl_loc *loc, const char *chain, const char *fmt, ...)
	    SL_PRINTF(5, 6) SL_NONNULL(1, 5);
#define sl_diag_error(d, loc, ...) \
	sl_diag_add((d), SL_DIAG_ERROR, (loc), NULL, __VA_ARGS__)
#define sl_diag_warn(d, loc, ...) \
	sl_diag_add((d), SL_DIAG_WARNING, (loc), NULL, __VA_ARGS__)

static inline unsigned
sl_diags_errors(const struct sl_diags *d)
{
	return d->nerr;
}

/* Print all, one per line (plus chain lines), in the order added. */
void	sl_diags_print(const struct sl_diags *d, FILE *fp) SL_NONNULL(1, 2);

/* The same text in one allocated string (caller frees); NULL on OOM. */
char	*sl_diags_text(const struct sl_diags *d) SL_NONNULL(1);

#endif /* SL_DIAG_H */
