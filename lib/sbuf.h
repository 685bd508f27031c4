/*
 * sbuf.h — a growable string built with printf, for reports and
 * explanations (not for the data path).  An allocation failure is sticky:
 * later appends do nothing and `oom` stays set, so a caller checks once.
 */
#ifndef SL_SBUF_H
#define SL_SBUF_H

#include <stddef.h>

#include "attr.h"

struct sl_sbuf {
	char	*s;		/* NUL-terminated once anything was appended */
	size_t	 len, cap;
	int	 oom;
};

#define SL_SBUF_INIT	{ NULL, 0, 0, 0 }

void	sl_sbuf_printf(struct sl_sbuf *b, const char *fmt, ...)
	    SL_PRINTF(2, 3) SL_NONNULL(1, 2);
/* Free the text and reset b.  NULL-safe. */
void	sl_sbuf_free(struct sl_sbuf *b);

#endif /* SL_SBUF_H */
