/*
 * parse.h — the parser state shared by parse.c (statements), load.c
 * (files, includes) and config.c (finishing a configuration).  Internal.
 */
#ifndef SL_POLICY_PARSE_H
#define SL_POLICY_PARSE_H

#include <sys/types.h>

#include "lex.h"
#include "policy_int.h"
#include "settings.h"

#define POL_INCLUDE_DEPTH	16
#define POL_FILE_MAX		(64u * 1024 * 1024)
#define POL_NAME_MAX		128

/* One file being read: the top file, an include, or a list file. */
struct pframe {
	const char	*path;		/* arena; loc.file of its diagnostics */
	const char	*dir;		/* arena; base of relative paths */
	const char	*chain;		/* arena; "  in file included from"
					   lines, NULL for the top file */
	struct pframe	*parent;
	struct pframe	*next_all;	/* every frame, newest first */
	unsigned	 depth;
	int		 must_only;	/* drop rules of level should */
	dev_t		 dev;
	ino_t		 ino;
	int		 has_id;
};

struct pdiag {
	enum sl_diag_sev sev;
	struct sl_loc	 loc;
	const char	*chain;
	const char	*msg;
	unsigned	 seq;		/* statement order; sorts diagnostics */
	size_t		 order;		/* emission order within a seq */
};

struct pend_sink {
	struct sl_sink	 s;
	struct sl_loc	 loc;
	unsigned	 seq;
};

struct pend_listen {
	struct sl_listen l;
	struct pol_match allow;		/* allow-from values and lists */
	int		 has_allow;
	unsigned	 seq;
};

#define SEQ_OVERRIDE	(UINT_MAX - 1)
#define SEQ_END		UINT_MAX

struct parser {
	struct sl_config *cfg;
	struct pol_arena *a;
	struct sl_policy *pol;
	struct sl_settings *set;
	struct pframe	*fr;		/* current frame */
	struct pframe	*frames;	/* all frames */
	unsigned	 seq;		/* current statement */

	struct pdiag	*dv;
	size_t		 nd, capd;

	size_t		 caprules, caplists;
	struct sl_loc	 setloc[POL_SETTINGS_MAX]; /* where each setting was
						     last set */
	unsigned	 setseq[POL_SETTINGS_MAX];

	struct pend_listen *ls;
	size_t		 nls, capls;
	struct sl_resolver *rs;
	size_t		 nrs, caprs;
	struct pend_sink *sinks;
	size_t		 nsinks, capsinks;
	int		 oom;
};

/* Record a diagnostic for statement seq; returns -1 for errors. */
int	pdiag(struct parser *p, enum sl_diag_sev sev, unsigned seq,
	    const struct sl_loc *loc, const char *fmt, ...) SL_PRINTF(5, 6);
#define perr(p, loc, ...)	pdiag((p), SL_DIAG_ERROR, (p)->seq, (loc), \
				    __VA_ARGS__)
#define pwarn(p, loc, ...)	pdiag((p), SL_DIAG_WARNING, (p)->seq, (loc), \
				    __VA_ARGS__)

/* parse.c: one statement of the current frame. */
void	parse_stmt(struct parser *p, const struct lex_stmt *st);
/* parse.c: the values of a list file (one statement per line). */
void	parse_list_stmt(struct parser *p, struct pol_list *l,
	    const struct lex_stmt *st);

/* check.c: warnings about a policy that loaded without errors. */
void	pol_check(struct parser *p);

/* load.c: read and parse a file or buffer as a new frame. */
int	load_file(struct parser *p, const char *path, const struct sl_loc *inc,
	    int must_only);
int	load_buf(struct parser *p, const char *path, const char *buf,
	    size_t len, const struct sl_loc *inc, int must_only, int listfile,
	    struct pol_list *list);
/* Resolve a path relative to the current frame's directory (arena). */
char	*load_relpath(struct parser *p, const char *path);

/* Add a value (with its location) to a value vector; 0 or -1 (OOM). */
int	vals_push(struct pol_arena *a, struct pol_vals *vv,
	    const union pol_val *v, const struct sl_loc *loc);

#endif /* SL_POLICY_PARSE_H */
