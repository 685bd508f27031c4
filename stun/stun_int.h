/*
 * stun_int.h — declarations shared inside stun/ (not part of its API).
 */
#ifndef SL_STUN_INT_H
#define SL_STUN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "stun.h"

#define STUN_PAD4(n)		(((size_t)(n) + 3) & ~(size_t)3)
#define STUN_FP_XOR		0x5354554eu	/* "STUN" (RFC 8489 14.7) */

static inline uint16_t
stun_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void
stun_put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Set *err and say BAD: every parser here reports that way. */
static inline enum sl_parse_rc
stun_bad(const char **err, const char *why)
{
	*err = why;
	return SL_PARSE_BAD;
}

/* --- attr.c ---------------------------------------------------------- */

/*
 * XOR a port and an address (4 or 16 bytes), in place, with the magic
 * cookie and txid when type is an XOR-...-ADDRESS (RFC 8489 14.2); leave
 * them as they are for other types.  Its own inverse.
 */
void	stun_addr_xor(uint16_t type, const uint8_t *txid, uint16_t *port,
	    uint8_t *addr, size_t n) SL_NONNULL(2, 3, 4);

/* --- integrity.c ----------------------------------------------------- */

/*
 * The HMAC an integrity attribute of type and value length alen at off
 * must hold: over msg[0, off) with the header's length field as if the
 * attribute ended the message.  out holds 32 bytes.  0 or -1 (OpenSSL).
 */
int	stun_integrity_mac(const uint8_t *msg, size_t off, uint16_t type,
	    uint16_t alen, const uint8_t *key, size_t keylen, uint8_t *out)
	    SL_NONNULL(1, 5, 7);

/* The FINGERPRINT value for one at off (CRC-32 XOR 0x5354554e). */
uint32_t stun_fingerprint(const uint8_t *msg, size_t off) SL_NONNULL(1);

/* CRC-32 (ISO-HDLC, zlib's) of p, continuing from crc (start with 0). */
uint32_t stun_crc32(uint32_t crc, const uint8_t *p, size_t n);

#endif /* SL_STUN_INT_H */
