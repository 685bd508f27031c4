/*
 * log.c — stderr/syslog diagnostic log with levels and debug categories.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The one mutable global STYLE.md allows: the log sink configuration. */
static struct {
	const char		*ident;
	enum sl_log_dest	 dest;
	int			 level;
	unsigned		 cats;
} logcfg = { "sluice", SL_LOGDEST_STDERR, SL_LOG_INFO, 0 };

static const char *const level_names[] = { "err", "warn", "info", "debug" };

static const struct {
	const char	*name;
	unsigned	 cat;
} cat_names[] = {
	{ "flow", SL_CAT_FLOW }, { "tls", SL_CAT_TLS }, { "dns", SL_CAT_DNS },
	{ "policy", SL_CAT_POLICY }, { "stun", SL_CAT_STUN },
	{ "ctl", SL_CAT_CTL }, { "http", SL_CAT_HTTP }, { "all", SL_CAT_ALL },
};

void
sl_log_setup(const char *ident, enum sl_log_dest dest)
{
	logcfg.ident = ident;
	logcfg.dest = dest;
	if (dest == SL_LOGDEST_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
sl_log_set_level(enum sl_log_level lvl)
{
	__atomic_store_n(&logcfg.level, (int)lvl, __ATOMIC_RELAXED);
}

void
sl_log_set_debug(unsigned cats)
{
	__atomic_store_n(&logcfg.cats, cats, __ATOMIC_RELAXED);
}

int
sl_log_level_parse(const char *s, enum sl_log_level *out)
{
	for (size_t i = 0; i < SL_NELEM(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum sl_log_level)i;
			return 0;
		}
	}
	return -1;
}

int
sl_log_cats_parse(const char *s, unsigned *out)
{
	unsigned cats = 0;
	char buf[256], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < SL_NELEM(cat_names); i++)
			if (strcasecmp(tok, cat_names[i].name) == 0)
				break;
		if (i == SL_NELEM(cat_names))
			return -1;
		cats |= cat_names[i].cat;
	}
	*out = cats;
	return 0;
}

int
sl_log_enabled(enum sl_log_level lvl, unsigned cat)
{
	if ((int)lvl > __atomic_load_n(&logcfg.level, __ATOMIC_RELAXED) &&
	    lvl != SL_LOG_DEBUG)
		return 0;
	if (lvl == SL_LOG_DEBUG)
		return (__atomic_load_n(&logcfg.cats, __ATOMIC_RELAXED) & cat)
		    != 0;
	return 1;
}

/*
 * One line, whatever the message holds: SNI, Host, URLs and user names
 * reach the log in messages, and a CR or LF among them would start a
 * forged line of its own.  Control characters, DEL, bytes outside ASCII
 * and the backslash itself become \xHH (so an escape is never ambiguous);
 * printable ASCII passes.  Returns the bytes written (cap > 4).
 */
static size_t
log_escape(char *out, size_t cap, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)c;
			continue;
		}
		if (o + 4 >= cap)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return o;
}

void
sl_logv(enum sl_log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048], line[2048];
	struct timespec ts;
	struct tm tm;
	int n;

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	if (logcfg.dest == SL_LOGDEST_SYSLOG) {
		log_escape(line, sizeof(line), msg);
		syslog(prio[lvl], "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, logcfg.ident,
	    (int)getpid(), level_names[lvl]);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return;
	/* Truncated if need be, still one line. */
	n += (int)log_escape(line + n, sizeof(line) - (size_t)n - 1, msg);
	line[n++] = '\n';
	/* One write per line: lines from several threads never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) == -1)
		return;
}

void
sl_log(enum sl_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if (!sl_log_enabled(lvl, SL_CAT_ALL))
		return;
	va_start(ap, fmt);
	sl_logv(lvl, fmt, ap);
	va_end(ap);
}

void
sl_debug(unsigned cat, const char *fmt, ...)
{
	va_list ap;

	if (!sl_log_enabled(SL_LOG_DEBUG, cat))
		return;
	va_start(ap, fmt);
	sl_logv(SL_LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
sl_bug(const char *file, int line, const char *cond)
{
	sl_log(SL_LOG_ERR, "bug: %s:%d: %s", file, line, cond);
#ifdef SL_DEBUG
	abort();
#endif
}
