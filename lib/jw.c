/*
 * jw.c — escaped JSON log objects in a fixed buffer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jw.h"

/* Room always kept back for ',"trunc":true}\n' and the NUL. */
#define JW_RESERVE	20

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and > U+10FFFF are invalid. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

size_t
sl_json_escape(char *out, size_t cap, const char *in, size_t len,
    size_t *consumed)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, i = 0;

	while (i < len) {
		char tmp[8];
		const char *rep = NULL;
		size_t rlen = 0, n = utf8_seq(s + i, len - i);

		if (n == 0) {
			rep = "\\ufffd";
			rlen = 6;
			n = 1;
		} else if (n == 1) {
			unsigned c = s[i];

			if (c == '"') {
				rep = "\\\"";
				rlen = 2;
			} else if (c == '\\') {
				rep = "\\\\";
				rlen = 2;
			} else if (c < 0x20 || c == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", c);
				rep = tmp;
				rlen = 6;
			}
		} else if (n == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
			/* U+2028/9 end lines in JavaScript readers. */
			rep = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			rlen = 6;
		}
		if (rep == NULL) {
			rep = (const char *)s + i;
			rlen = n;
		}
		if (o + rlen > cap)
			break;
		memcpy(out + o, rep, rlen);
		o += rlen;
		i += n;
	}
	if (consumed != NULL)
		*consumed = i;
	return o;
}

size_t
sl_kv_escape(char *out, size_t cap, const char *in, size_t len)
{
	size_t o = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=') {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= cap)
				break;
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	out[o] = '\0';
	return o;
}

void
sl_jw_begin(struct sl_jw *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 1;
	w->nfields = 0;
	w->trunc = 0;
	buf[0] = '{';
}

/* Append raw text if it fits within the reserve; else mark truncated. */
static int
jw_put(struct sl_jw *w, const char *s, size_t n)
{
	if (w->len + n + JW_RESERVE > w->cap) {
		w->trunc = 1;
		return -1;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	return 0;
}

/* Write `,"key":` ; on failure restore the length so the field vanishes. */
static int
jw_key(struct sl_jw *w, const char *key, size_t *mark)
{
	*mark = w->len;
	if ((w->nfields > 0 && jw_put(w, ",", 1) == -1) ||
	    jw_put(w, "\"", 1) == -1 || jw_put(w, key, strlen(key)) == -1 ||
	    jw_put(w, "\":", 2) == -1) {
		w->len = *mark;
		return -1;
	}
	return 0;
}

void
sl_jw_strn(struct sl_jw *w, const char *key, const char *val, size_t len)
{
	size_t mark, room, n, used;

	if (val == NULL || jw_key(w, key, &mark) == -1)
		return;
	if (jw_put(w, "\"", 1) == -1)
		goto drop;
	/* Keep one byte for the closing quote. */
	room = w->cap - w->len - JW_RESERVE;
	n = sl_json_escape(w->buf + w->len, room > 1 ? room - 1 : 0, val, len,
	    &used);
	if (used < len)
		w->trunc = 1;	/* cut at a character boundary */
	w->len += n;
	if (jw_put(w, "\"", 1) == -1)
		goto drop;
	w->nfields++;
	return;
drop:
	w->len = mark;
	w->trunc = 1;
}

void
sl_jw_str(struct sl_jw *w, const char *key, const char *val)
{
	if (val != NULL)
		sl_jw_strn(w, key, val, strlen(val));
}

/* A bare (unquoted) value: a number or a literal. */
static void
jw_bare(struct sl_jw *w, const char *key, const char *val, size_t n)
{
	size_t mark;

	if (jw_key(w, key, &mark) == -1)
		return;
	if (jw_put(w, val, n) == -1) {
		w->len = mark;
		return;
	}
	w->nfields++;
}

void
sl_jw_u64(struct sl_jw *w, const char *key, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	jw_bare(w, key, num, (size_t)n);
}

void
sl_jw_i64(struct sl_jw *w, const char *key, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	jw_bare(w, key, num, (size_t)n);
}

void
sl_jw_bool(struct sl_jw *w, const char *key, int v)
{
	jw_bare(w, key, v ? "true" : "false", v ? 4 : 5);
}

size_t
sl_jw_end(struct sl_jw *w)
{
	/* The reserve guarantees these fit. */
	if (w->trunc) {
		const char *t = w->nfields ? ",\"trunc\":true" : "\"trunc\":true";

		memcpy(w->buf + w->len, t, strlen(t));
		w->len += strlen(t);
	}
	memcpy(w->buf + w->len, "}\n", 3);
	w->len += 2;
	return w->len;
}
