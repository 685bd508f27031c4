/*
 * rd.h — bounded big-endian reader for wire parsers (ClientHello, STUN).
 *
 * Every accessor checks the remaining length first and returns -1 when the
 * bytes are not there, so a parser never reads past a length it has not
 * checked.  A sub-reader (sl_rd_sub) confines a nested length-prefixed
 * structure to its declared length.
 */
#ifndef SL_RD_H
#define SL_RD_H

#include <stddef.h>
#include <stdint.h>

struct sl_rd {
	const uint8_t	*p;
	size_t		 len;	/* bytes left */
};

static inline void
sl_rd_init(struct sl_rd *r, const void *buf, size_t len)
{
	r->p = buf;
	r->len = len;
}

static inline size_t
sl_rd_left(const struct sl_rd *r)
{
	return r->len;
}

static inline int
sl_rd_skip(struct sl_rd *r, size_t n)
{
	if (r->len < n)
		return -1;
	r->p += n;
	r->len -= n;
	return 0;
}

static inline int
sl_rd_u8(struct sl_rd *r, uint8_t *v)
{
	if (r->len < 1)
		return -1;
	*v = r->p[0];
	r->p += 1;
	r->len -= 1;
	return 0;
}

static inline int
sl_rd_be16(struct sl_rd *r, uint16_t *v)
{
	if (r->len < 2)
		return -1;
	*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->len -= 2;
	return 0;
}

static inline int
sl_rd_be24(struct sl_rd *r, uint32_t *v)
{
	if (r->len < 3)
		return -1;
	*v = (uint32_t)r->p[0] << 16 | (uint32_t)r->p[1] << 8 | r->p[2];
	r->p += 3;
	r->len -= 3;
	return 0;
}

static inline int
sl_rd_be32(struct sl_rd *r, uint32_t *v)
{
	if (r->len < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->len -= 4;
	return 0;
}

/* Borrow the next n bytes: *out points into the buffer. */
static inline int
sl_rd_bytes(struct sl_rd *r, size_t n, const uint8_t **out)
{
	if (r->len < n)
		return -1;
	*out = r->p;
	r->p += n;
	r->len -= n;
	return 0;
}

/* Split off the next n bytes as their own reader and advance past them. */
static inline int
sl_rd_sub(struct sl_rd *r, size_t n, struct sl_rd *sub)
{
	if (r->len < n)
		return -1;
	sub->p = r->p;
	sub->len = n;
	r->p += n;
	r->len -= n;
	return 0;
}

#endif /* SL_RD_H */
