/*
 * hex.h — one hexadecimal digit's value, for the parsers that decode
 * chunk sizes (lib/http/http_chunk.c) and percent-escapes (lib/urlpath.c).
 */
#ifndef SL_HEX_H
#define SL_HEX_H

/* 0..15, or -1 if c is not a hexadecimal digit. */
static inline int
sl_hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* SL_HEX_H */
