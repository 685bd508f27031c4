/*
 * stun.h — STUN/TURN message codec (RFC 8489, RFC 8656).  For now: the
 * header check that classification needs to recognise STUN/TURN over TCP;
 * UDP forwarding and TURN rules join this header later.
 */
#ifndef SL_STUN_H
#define SL_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/attr.h"
#include "../lib/parse.h"

#define SL_STUN_MAGIC		0x2112a442u
#define SL_STUN_HDR_LEN		20

struct sl_stun_hdr {
	uint16_t	type;		/* method and class bits */
	uint16_t	length;		/* attribute bytes after the header */
	uint8_t		txid[12];
	const char	*err;		/* SL_PARSE_BAD: static reason */
};

/*
 * Recognise a STUN message header (RFC 8489 section 5): top two bits zero,
 * magic cookie, length a multiple of 4.  SL_PARSE_MORE under 20 bytes if
 * what is there is consistent, SL_PARSE_NOT_MINE if not STUN.  Only the
 * header is checked; attributes are the codec's job.
 */
enum sl_parse_rc sl_stun_peek(const uint8_t *buf, size_t len,
	    struct sl_stun_hdr *out) SL_NONNULL(1, 3);

#endif /* SL_STUN_H */
