/*
 * http_int.h — what the HTTP parser's files share (lib/http/http.c,
 * lib/http/http_chunk.c): octet classes of RFC 9110 and small helpers.
 * Internal to them; the module's API is http.h.
 */
#ifndef SL_HTTP_INT_H
#define SL_HTTP_INT_H

#include <stdint.h>

/*
 * Octet classes: C_TCHAR is RFC 9110 section 5.6.2 tchar, C_VALUE what a
 * field value may hold (HTAB, SP, VCHAR, obs-text; section 5.5).
 */
#define C_TCHAR		1
#define C_VALUE		2
extern const uint8_t sl_http_octet_class[256];

static inline int
is_tchar(unsigned char c)
{
	return sl_http_octet_class[c] & C_TCHAR;
}

/* HTAB, SP, VCHAR, obs-text: what a field value may hold. */
static inline int
is_value_char(unsigned char c)
{
	return sl_http_octet_class[c] & C_VALUE;
}

static inline int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

#endif /* SL_HTTP_INT_H */
