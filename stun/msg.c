/*
 * msg.c — STUN message header and attribute walk (RFC 8489 sections 5, 6,
 * 14; RFC 5389).
 *
 * What makes bytes STUN is exactly what RFC 8489 section 5 and RFC 7983
 * use to tell STUN apart from other protocols sharing a port: the top two
 * bits of the type are zero, the length is a multiple of 4 (attributes are
 * padded to 4 bytes) and the magic cookie follows.  A header that fails
 * any of these is therefore NOT_MINE, not BAD: it is some other protocol,
 * and the flow is classified further (opaque) rather than refused.  The
 * length's low bits sit in byte 3, so most non-STUN input is rejected
 * from its first byte and the rest by its eighth.
 *
 * Past the header, a message is STUN and what is wrong with it is BAD:
 *
 *   20-byte header | type len value pad | type len value pad | ...
 *                    \___ one attribute, padded to 4 ____/
 *
 * sl_stun_msg_parse walks every attribute once through a bounded reader,
 * so no later accessor can be handed an attribute that overruns the
 * message, and records where the integrity attributes are.  Reasons for
 * BAD (m->err): short_header truncated trailing_data attr_overrun
 * mi_length mi256_length fp_length fingerprint_not_last.
 */
#include <string.h>

#include "../lib/rd.h"
#include "stun_int.h"


/*
 * Comprehension-required attributes this codec knows (RFC 8489, RFC 8656,
 * RFC 8445); a message with another one in 0x0000-0x7fff is parsed, and
 * the type reported, for the caller's 420 (Unknown Attribute).
 */
static const uint16_t stun_known[] = {
	SL_STUN_A_MAPPED_ADDRESS, SL_STUN_A_USERNAME,
	SL_STUN_A_MESSAGE_INTEGRITY, SL_STUN_A_ERROR_CODE,
	SL_STUN_A_UNKNOWN_ATTRIBUTES, SL_STUN_A_CHANNEL_NUMBER,
	SL_STUN_A_LIFETIME, SL_STUN_A_XOR_PEER_ADDRESS, SL_STUN_A_DATA,
	SL_STUN_A_REALM, SL_STUN_A_NONCE, SL_STUN_A_XOR_RELAYED_ADDRESS,
	SL_STUN_A_REQ_ADDRESS_FAMILY, SL_STUN_A_EVEN_PORT,
	SL_STUN_A_REQUESTED_TRANSPORT, SL_STUN_A_DONT_FRAGMENT,
	SL_STUN_A_MESSAGE_INTEGRITY_SHA256, SL_STUN_A_PASSWORD_ALGORITHM,
	SL_STUN_A_USERHASH, SL_STUN_A_XOR_MAPPED_ADDRESS,
	SL_STUN_A_RESERVATION_TOKEN, SL_STUN_A_PRIORITY,
	SL_STUN_A_USE_CANDIDATE,
};

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

static int
stun_is_known(uint16_t type)
{
	for (size_t i = 0; i < SL_NELEM(stun_known); i++)
		if (stun_known[i] == type)
			return 1;
	return 0;
}

/*
 * Note one attribute at off.  The integrity attributes end what counts
 * (RFC 8489 14.5, 14.6): after MESSAGE-INTEGRITY only -SHA256 and
 * FINGERPRINT, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.  Only
 * attributes that count are checked and reported.  Returns NULL, or why
 * the message is BAD.
 */
static const char *
stun_walk_one(struct sl_stun_msg *m, uint16_t type, uint16_t len, size_t off)
{
	if (type == SL_STUN_A_FINGERPRINT) {
		if (len != 4)
			return "fp_length";
		m->fp_off = off;
		return NULL;
	}
	if (m->mi256_off != 0)
		return NULL;
	if (type == SL_STUN_A_MESSAGE_INTEGRITY_SHA256) {
		/* 14.6: truncated to no less than 16, in 4-byte steps. */
		if (len < 16 || len > 32 || (len & 3) != 0)
			return "mi256_length";
		m->mi256_off = off;
		return NULL;
	}
	if (m->mi_off != 0)
		return NULL;
	if (type == SL_STUN_A_MESSAGE_INTEGRITY) {
		if (len != 20)
			return "mi_length";
		m->mi_off = off;
		return NULL;
	}
	if (type < 0x8000 && !stun_is_known(type)) {
		if (m->n_unknown < SL_STUN_UNKNOWN_MAX)
			m->unknown[m->n_unknown] = type;
		m->n_unknown++;
	}
	return NULL;
}

/* Walk the attributes of a message of len bytes: NULL, or why BAD. */
static const char *
stun_walk(struct sl_stun_msg *m, const uint8_t *buf, size_t len)
{
	struct sl_rd r;

	sl_rd_init(&r, buf + SL_STUN_HDR_LEN, len - SL_STUN_HDR_LEN);
	while (sl_rd_left(&r) > 0) {
		size_t off = len - sl_rd_left(&r);
		uint16_t type, alen;
		const char *why;

		if (m->fp_off != 0)
			return "fingerprint_not_last";
		/* The length is a multiple of 4, so a header always fits. */
		if (sl_rd_be16(&r, &type) == -1 ||
		    sl_rd_be16(&r, &alen) == -1 ||
		    sl_rd_skip(&r, STUN_PAD4(alen)) == -1)
			return "attr_overrun";
		if ((why = stun_walk_one(m, type, alen, off)) != NULL)
			return why;
	}
	return NULL;
}

enum sl_parse_rc
sl_stun_msg_parse(const uint8_t *buf, size_t len, struct sl_stun_msg *m)
{
	struct sl_stun_hdr h;
	enum sl_parse_rc rc;
	const char *why;

	memset(m, 0, sizeof(*m));
	if ((rc = sl_stun_peek(buf, len, &h)) == SL_PARSE_NOT_MINE)
		return rc;
	if (rc == SL_PARSE_MORE)
		return stun_bad(&m->err, "short_header");
	/* From here on a BAD message still has these, for a 400 reply. */
	m->type = h.type;
	m->txid = buf + 8;
	if (len < SL_STUN_HDR_LEN + (size_t)h.length)
		return stun_bad(&m->err, "truncated");
	if (len > SL_STUN_HDR_LEN + (size_t)h.length)
		return stun_bad(&m->err, "trailing_data");
	if ((why = stun_walk(m, buf, len)) != NULL) {
		m->mi_off = m->mi256_off = m->fp_off = 0;
		return stun_bad(&m->err, why);
	}
	/* Only now: no attribute of a BAD message can be walked. */
	m->buf = buf;
	m->len = len;
	if (m->mi_off != 0)
		m->tail = m->mi_off;
	else if (m->mi256_off != 0)
		m->tail = m->mi256_off;
	else
		m->tail = len;
	return SL_PARSE_OK;
}

/* Read the attribute at off; the parse checked it lies inside. */
static void
stun_attr_at(const struct sl_stun_msg *m, size_t off, struct sl_stun_attr *a)
{
	const uint8_t *p = m->buf + off;

	a->type = stun_be16(p);
	a->len = stun_be16(p + 2);
	a->val = p + 4;
	a->off = off;
}

int
sl_stun_attr_next(const struct sl_stun_msg *m, size_t *pos,
    struct sl_stun_attr *a)
{
	size_t off = *pos < SL_STUN_HDR_LEN ? SL_STUN_HDR_LEN : *pos;

	while (off + 4 <= m->len) {
		stun_attr_at(m, off, a);
		off += 4 + STUN_PAD4(a->len);
		if (a->off < m->tail || a->off == m->mi_off ||
		    a->off == m->mi256_off || a->off == m->fp_off) {
			*pos = off;
			return 0;
		}
	}
	*pos = m->len;
	return -1;
}

int
sl_stun_attr_find(const struct sl_stun_msg *m, uint16_t type,
    struct sl_stun_attr *a)
{
	size_t pos = 0;

	while (sl_stun_attr_next(m, &pos, a) == 0)
		if (a->type == type)
			return 0;
	return -1;
}
