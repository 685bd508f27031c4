/*
 * log.h — the daemon's own diagnostic log (not the flow log).
 *
 * Lines go to stderr (foreground, tests) or syslog(3) (daemon), one write
 * per line so threads never interleave.  Debug output is split into
 * categories that can be toggled at runtime.  The sink configuration is the
 * one mutable global STYLE.md allows.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdarg.h>

#include "attr.h"

enum sl_log_level {
	SL_LOG_ERR = 0,
	SL_LOG_WARN,
	SL_LOG_INFO,
	SL_LOG_DEBUG,
};

/* Debug categories: a debug line is shown only if its category is on. */
enum sl_log_cat {
	SL_CAT_NONE = 0,
	SL_CAT_FLOW = 1 << 0,
	SL_CAT_TLS = 1 << 1,
	SL_CAT_DNS = 1 << 2,
	SL_CAT_POLICY = 1 << 3,
	SL_CAT_STUN = 1 << 4,
	SL_CAT_CTL = 1 << 5,
	SL_CAT_HTTP = 1 << 6,
	SL_CAT_ALL = 0x7f,
};

enum sl_log_dest {
	SL_LOGDEST_STDERR = 0,
	SL_LOGDEST_SYSLOG,
};

void	sl_log_setup(const char *ident, enum sl_log_dest dest);
void	sl_log_set_level(enum sl_log_level lvl);
void	sl_log_set_debug(unsigned cats);	/* SL_CAT_* mask */
int	sl_log_level_parse(const char *s, enum sl_log_level *out);
int	sl_log_cats_parse(const char *s, unsigned *out); /* "flow,dns" / "all" */
int	sl_log_enabled(enum sl_log_level lvl, unsigned cat);

void	sl_log(enum sl_log_level lvl, const char *fmt, ...) SL_PRINTF(2, 3);
void	sl_logv(enum sl_log_level lvl, const char *fmt, va_list ap)
	    SL_PRINTF(2, 0);
void	sl_debug(unsigned cat, const char *fmt, ...) SL_PRINTF(2, 3);

#define sl_debug_on(cat)	sl_log_enabled(SL_LOG_DEBUG, (cat))

/*
 * SL_BUG_ON: an internal invariant is broken.  Debug/CI builds (SL_DEBUG)
 * abort with the location; release builds log it and evaluate to true so
 * the caller can close the object with termination code 'I'.
 */
void	sl_bug(const char *file, int line, const char *cond);
#define SL_BUG_ON(cond) \
	(SL_UNLIKELY(cond) ? (sl_bug(__FILE__, __LINE__, #cond), 1) : 0)

#endif /* SL_LOG_H */
