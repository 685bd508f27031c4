/*
 * jw.h — a JSON object writer into a caller's fixed buffer.
 *
 * Built for log lines: every string is escaped (quotes, backslash, control
 * characters, DEL, U+2028/U+2029) and invalid UTF-8 bytes become U+FFFD, so
 * no hostname, header or SNI can break out of its field or inject a line.
 * Output is always one valid JSON object: a string that does not fit is cut
 * at a character boundary (a number that does not fit is dropped) and the
 * object ends with "trunc":true.
 */
#ifndef SL_JW_H
#define SL_JW_H

#include <stddef.h>
#include <stdint.h>

#include "attr.h"

struct sl_jw {
	char	*buf;
	size_t	 cap;
	size_t	 len;
	unsigned nfields;
	unsigned trunc:1;
};

/* Starts "{".  cap must be at least 32. */
void	sl_jw_begin(struct sl_jw *w, char *buf, size_t cap) SL_NONNULL(1, 2);
/* String field; val NULL writes nothing. */
void	sl_jw_str(struct sl_jw *w, const char *key, const char *val)
	    SL_NONNULL(1, 2);
void	sl_jw_strn(struct sl_jw *w, const char *key, const char *val,
	    size_t len) SL_NONNULL(1, 2);
void	sl_jw_u64(struct sl_jw *w, const char *key, uint64_t v) SL_NONNULL(1, 2);
void	sl_jw_i64(struct sl_jw *w, const char *key, int64_t v) SL_NONNULL(1, 2);
void	sl_jw_bool(struct sl_jw *w, const char *key, int v) SL_NONNULL(1, 2);
/* Ends with "}\n" and NUL-terminates; returns the length without NUL. */
size_t	sl_jw_end(struct sl_jw *w) SL_NONNULL(1);

/*
 * Escape raw bytes for a JSON string body (no quotes) into out; returns the
 * bytes written, stopping before a sequence that would not fit.  *consumed
 * (may be NULL) gets how many input bytes were escaped.
 */
size_t	sl_json_escape(char *out, size_t cap, const char *in, size_t len,
	    size_t *consumed);

/*
 * Escape for a key=value text log: printable ASCII except '"' and '\\'
 * passes; anything else becomes \xHH.  Returns bytes written (NUL added).
 */
size_t	sl_kv_escape(char *out, size_t cap, const char *in, size_t len);

#endif /* SL_JW_H */
