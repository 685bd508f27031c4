/*
 * http_chunk.c — the chunked transfer coding tracker (RFC 9112 section
 * 7.1): finds where a chunked body ends and validates its framing, so the
 * proxy can forward the bytes verbatim.  Pure, byte at a time, any split.
 */
#include <limits.h>
#include <string.h>

#include "../hex.h"
#include "http.h"
#include "http_int.h"

#define CHUNK_LINE_MAX		4096	/* size or trailer line, with CRLF */
#define CHUNK_TRAILER_MAX	16384	/* whole trailer section */

/* ---- chunked transfer coding (RFC 9112 section 7.1) -------------------- */

enum chunk_state {
	CH_SIZE0 = 0,		/* first hex digit of a chunk size */
	CH_SIZE,		/* more digits, BWS, ";" or CR */
	CH_SIZE_WS,		/* BWS after the size: only ";" may follow */
	CH_EXT_PRE,		/* BWS after ";", then an extension name */
	CH_EXT_NAME,
	CH_EXT_NAME_WS,		/* BWS after the name: "=" or ";" */
	CH_EXT_VAL_PRE,		/* BWS after "=", then token or quoted */
	CH_EXT_TOKEN,
	CH_EXT_QS,		/* inside a quoted-string */
	CH_EXT_QS_ESC,		/* after a backslash in it */
	CH_EXT_VAL_END,		/* after the closing quote */
	CH_EXT_VAL_WS,		/* BWS after a value: only ";" may follow */
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,		/* the CRLF that ends chunk data */
	CH_DATA_LF,
	CH_TR_START,		/* a trailer field line or the final CRLF */
	CH_TR_NAME,
	CH_TR_VALUE,
	CH_TR_LF,
	CH_END_LF,
	CH_DONE,
	CH_ERR,
};

void
sl_http_chunked_init(struct sl_http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE0;
}

uint64_t
sl_http_chunked_data_next(const struct sl_http_chunked *c)
{
	return c->state == CH_DATA ? c->left : 0;
}

/* After a size or an extension: ";" starts another, CR ends the line. */
static int
chunk_ext_next(struct sl_http_chunked *c, unsigned char b, int ws_state)
{
	if (is_ows(b))
		c->state = ws_state;
	else if (b == ';')
		c->state = CH_EXT_PRE;
	else if (b == '\r')
		c->state = CH_SIZE_LF;
	else
		return -1;
	return 0;
}

/* One byte of a chunk-size line: chunk-size [chunk-ext] CRLF. */
static int
chunk_ext_byte(struct sl_http_chunked *c, unsigned char b)
{
	switch (c->state) {
	case CH_SIZE_WS:
	case CH_EXT_VAL_WS:
		if (is_ows(b))
			return 0;
		return b == ';' ? (c->state = CH_EXT_PRE, 0) : -1;
	case CH_EXT_PRE:
		if (is_ows(b))
			return 0;
		return is_tchar(b) ? (c->state = CH_EXT_NAME, 0) : -1;
	case CH_EXT_NAME:
		if (is_tchar(b))
			return 0;
		if (b == '=')
			return c->state = CH_EXT_VAL_PRE, 0;
		return chunk_ext_next(c, b, CH_EXT_NAME_WS);
	case CH_EXT_NAME_WS:
		if (is_ows(b))
			return 0;
		if (b == '=')
			return c->state = CH_EXT_VAL_PRE, 0;
		return b == ';' ? (c->state = CH_EXT_PRE, 0) : -1;
	case CH_EXT_VAL_PRE:
		if (is_ows(b))
			return 0;
		if (b == '"')
			return c->state = CH_EXT_QS, 0;
		return is_tchar(b) ? (c->state = CH_EXT_TOKEN, 0) : -1;
	case CH_EXT_TOKEN:
		if (is_tchar(b))
			return 0;
		return chunk_ext_next(c, b, CH_EXT_VAL_WS);
	case CH_EXT_VAL_END:
		return chunk_ext_next(c, b, CH_EXT_VAL_WS);
	case CH_EXT_QS:
		/* qdtext: HTAB, SP, VCHAR except '"' and '\', obs-text */
		if (b == '"')
			return c->state = CH_EXT_VAL_END, 0;
		if (b == '\\')
			return c->state = CH_EXT_QS_ESC, 0;
		return is_value_char(b) ? 0 : -1;
	case CH_EXT_QS_ESC:
		if (is_value_char(b))
			return c->state = CH_EXT_QS, 0;
		return -1;
	default:
		return -1;
	}
}

static int
chunk_size_byte(struct sl_http_chunked *c, unsigned char b)
{
	int d;

	if (++c->line_len > CHUNK_LINE_MAX)
		return -1;
	if (c->state == CH_SIZE0 || c->state == CH_SIZE) {
		if ((d = sl_hex_val(b)) >= 0) {
			/* 16 digits fit in 64 bits: no overflow check needed */
			if (++c->size_digits > 16)
				return -1;
			c->left = c->left << 4 | (unsigned)d;
			c->state = CH_SIZE;
			return 0;
		}
		if (c->state == CH_SIZE0)
			return -1;
		return chunk_ext_next(c, b, CH_SIZE_WS);
	}
	if (c->state != CH_SIZE_LF)
		return chunk_ext_byte(c, b);
	if (b != '\n')
		return -1;
	c->line_len = 0;
	c->size_digits = 0;
	if (c->left > 0) {
		c->state = CH_DATA;
	} else {
		/* In the trailer section, left is its remaining budget. */
		c->state = CH_TR_START;
		c->left = CHUNK_TRAILER_MAX;
	}
	return 0;
}

/* One byte of the trailer section: field lines, then CRLF. */
static int
chunk_trailer_byte(struct sl_http_chunked *c, unsigned char b)
{
	if (c->left == 0 || ++c->line_len > CHUNK_LINE_MAX)
		return -1;
	c->left--;
	switch (c->state) {
	case CH_TR_START:
		if (b == '\r')
			return c->state = CH_END_LF, 0;
		/* no obs-fold, no empty name, no bare LF */
		return is_tchar(b) ? (c->state = CH_TR_NAME, 0) : -1;
	case CH_TR_NAME:
		if (is_tchar(b))
			return 0;
		return b == ':' ? (c->state = CH_TR_VALUE, 0) : -1;
	case CH_TR_VALUE:
		if (b == '\r')
			return c->state = CH_TR_LF, 0;
		return is_value_char(b) ? 0 : -1;
	case CH_TR_LF:
		if (b != '\n')
			return -1;
		c->line_len = 0;
		return c->state = CH_TR_START, 0;
	case CH_END_LF:
		return b == '\n' ? (c->state = CH_DONE, 0) : -1;
	default:
		return -1;
	}
}

static int
chunk_byte(struct sl_http_chunked *c, unsigned char b)
{
	switch (c->state) {
	case CH_DATA_CR:
		return b == '\r' ? (c->state = CH_DATA_LF, 0) : -1;
	case CH_DATA_LF:
		if (b != '\n')
			return -1;
		return c->state = CH_SIZE0, 0;
	case CH_TR_START:
	case CH_TR_NAME:
	case CH_TR_VALUE:
	case CH_TR_LF:
	case CH_END_LF:
		return chunk_trailer_byte(c, b);
	default:
		return chunk_size_byte(c, b);
	}
}

ssize_t
sl_http_chunked_feed(struct sl_http_chunked *c, const char *buf, size_t len,
    int *done)
{
	size_t i = 0, n;

	*done = 0;
	if (c->state == CH_ERR)
		return -1;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (i < len && c->state != CH_DONE) {
		if (c->state == CH_DATA) {
			/* the data itself is not looked at */
			n = (size_t)SL_MIN(c->left, (uint64_t)(len - i));
			i += n;
			c->left -= n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		if (chunk_byte(c, (unsigned char)buf[i]) == -1) {
			c->state = CH_ERR;
			return -1;
		}
		i++;
	}
	*done = c->state == CH_DONE;
	return (ssize_t)i;
}
