/*
 * msg.c — STUN message codec (RFC 8489).  For now the header check that
 * classification uses to recognise STUN/TURN over TCP.
 *
 * What makes bytes STUN is exactly what RFC 8489 section 5 and RFC 7983
 * use to tell STUN apart from other protocols sharing a port: the top two
 * bits of the type are zero, the length is a multiple of 4 (attributes are
 * padded to 4 bytes) and the magic cookie follows.  A header that fails
 * any of these is therefore NOT_MINE, not BAD: it is some other protocol,
 * and the flow is classified further (opaque) rather than refused.  The
 * length's low bits sit in byte 3, so most non-STUN input is rejected
 * from its first byte and the rest by its eighth.  Attribute checks, where
 * BAD belongs, are the codec's job once it grows beyond the header.
 */
#include <string.h>

#include "../lib/rd.h"
#include "stun.h"

enum sl_parse_rc
sl_stun_peek(const uint8_t *buf, size_t len, struct sl_stun_hdr *out)
{
	static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };
	struct sl_rd r;
	uint32_t magic;
	const uint8_t *txid;

	memset(out, 0, sizeof(*out));
	if (len >= 1 && (buf[0] & 0xc0) != 0)
		return SL_PARSE_NOT_MINE;
	if (len >= 4 && (buf[3] & 3) != 0)
		return SL_PARSE_NOT_MINE;
	for (size_t i = 4; i < 8 && i < len; i++)
		if (buf[i] != cookie[i - 4])
			return SL_PARSE_NOT_MINE;
	if (len < SL_STUN_HDR_LEN)
		return SL_PARSE_MORE;
	sl_rd_init(&r, buf, len);
	if (sl_rd_be16(&r, &out->type) == -1 ||
	    sl_rd_be16(&r, &out->length) == -1 ||
	    sl_rd_be32(&r, &magic) == -1 || magic != SL_STUN_MAGIC ||
	    sl_rd_bytes(&r, sizeof(out->txid), &txid) == -1)
		return SL_PARSE_NOT_MINE;	/* not reached: checked above */
	memcpy(out->txid, txid, sizeof(out->txid));
	return SL_PARSE_OK;
}
