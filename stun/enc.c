/*
 * enc.c — a small STUN encoder: a header, attributes padded with zeros
 * (RFC 8489 section 14: senders pad with 0), and MESSAGE-INTEGRITY(-SHA256)
 * and FINGERPRINT computed over what was written before them.  Enough for
 * the gateway's own small responses and for tests; it writes into the
 * caller's buffer and allocates nothing.
 */
#include <sys/socket.h>

#include <string.h>

#include "stun_int.h"

void
sl_stun_enc_init(struct sl_stun_enc *e, uint8_t *buf, size_t cap,
    uint16_t type, const uint8_t *txid)
{
	e->buf = buf;
	e->cap = cap;
	e->len = 0;
	e->err = (type & 0xc000) != 0 || cap < SL_STUN_HDR_LEN;
	if (e->err)
		return;
	stun_put16(buf, type);
	stun_put16(buf + 2, 0);
	stun_put16(buf + 4, SL_STUN_MAGIC >> 16);
	stun_put16(buf + 6, SL_STUN_MAGIC & 0xffff);
	memcpy(buf + 8, txid, SL_STUN_TXID_LEN);
	e->len = SL_STUN_HDR_LEN;
}

/*
 * Append an attribute header and zeroed padding for len value bytes and
 * update the message's length; returns where the value goes, or NULL
 * (e->err set) when it does not fit the buffer or a message.
 */
static uint8_t *
enc_room(struct sl_stun_enc *e, uint16_t type, size_t len)
{
	size_t need = 4 + STUN_PAD4(len);
	uint8_t *p;

	if (e->err || len > 0xffff || e->cap - e->len < need ||
	    e->len + need > SL_STUN_MSG_MAX) {
		e->err = 1;
		return NULL;
	}
	p = e->buf + e->len;
	stun_put16(p, type);
	stun_put16(p + 2, len);
	memset(p + 4 + len, 0, need - 4 - len);
	e->len += need;
	stun_put16(e->buf + 2, e->len - SL_STUN_HDR_LEN);
	return p + 4;
}

void
sl_stun_enc_attr(struct sl_stun_enc *e, uint16_t type, const void *val,
    size_t len)
{
	uint8_t *v = enc_room(e, type, len);

	if (v != NULL && len > 0)
		memcpy(v, val, len);
}

void
sl_stun_enc_addr(struct sl_stun_enc *e, uint16_t type, const struct sl_ip *ip,
    uint16_t port)
{
	size_t n = ip->af == AF_INET ? 4 : ip->af == AF_INET6 ? 16 : 0;
	uint8_t *v;

	if (n == 0) {
		e->err = 1;
		return;
	}
	if ((v = enc_room(e, type, 4 + n)) == NULL)
		return;
	v[0] = 0;
	v[1] = n == 4 ? 0x01 : 0x02;
	memcpy(v + 4, ip->b, n);
	stun_addr_xor(type, e->buf + 8, &port, v + 4, n);
	stun_put16(v + 2, port);
}

void
sl_stun_enc_error(struct sl_stun_enc *e, unsigned code, const char *reason)
{
	size_t n = strlen(reason);
	uint8_t *v;

	if (code < 300 || code > 699) {
		e->err = 1;
		return;
	}
	if ((v = enc_room(e, SL_STUN_A_ERROR_CODE, 4 + n)) == NULL)
		return;
	v[0] = 0;
	v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, n);
}

void
sl_stun_enc_integrity(struct sl_stun_enc *e, uint16_t type,
    const uint8_t *key, size_t keylen)
{
	uint8_t mac[32];
	uint16_t alen = type == SL_STUN_A_MESSAGE_INTEGRITY ? 20 : 32;
	size_t off = e->len;
	uint8_t *v;

	if (type != SL_STUN_A_MESSAGE_INTEGRITY &&
	    type != SL_STUN_A_MESSAGE_INTEGRITY_SHA256) {
		e->err = 1;
		return;
	}
	if ((v = enc_room(e, type, alen)) == NULL)
		return;
	if (stun_integrity_mac(e->buf, off, type, alen, key, keylen,
	    mac) == -1)
		e->err = 1;
	else
		memcpy(v, mac, alen);
}

void
sl_stun_enc_fingerprint(struct sl_stun_enc *e)
{
	size_t off = e->len;
	uint32_t fp;
	uint8_t *v;

	if ((v = enc_room(e, SL_STUN_A_FINGERPRINT, 4)) == NULL)
		return;
	fp = stun_fingerprint(e->buf, off);
	stun_put16(v, fp >> 16);
	stun_put16(v + 2, fp & 0xffff);
	e->cap = e->len;	/* nothing fits after it */
}

long
sl_stun_enc_end(const struct sl_stun_enc *e)
{
	return e->err ? -1 : (long)e->len;
}
