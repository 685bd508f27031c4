/*
 * attr.c — typed STUN/TURN attribute values (RFC 8489 section 14, RFC 8656
 * section 18).  Each decoder takes an attribute sl_stun_msg_parse walked
 * (so its value lies inside the message) and checks what its RFC says a
 * receiver must: lengths, families, ranges.  Reserved bits and RFFU
 * fields are ignored, as the RFCs ask of receivers.
 */
#include <sys/socket.h>

#include <string.h>

#include "stun_int.h"

#define STUN_FAMILY_IPV4	0x01
#define STUN_FAMILY_IPV6	0x02
/* Decoding limits: 128 characters, up to 763 bytes (RFC 8489 14.9). */
#define STUN_TEXT_MAX		763
#define STUN_USERNAME_MAX	512	/* "less than 513 bytes" (RFC 5389) */

static int
stun_addr_is_xor(uint16_t type)
{
	return type == SL_STUN_A_XOR_MAPPED_ADDRESS ||
	    type == SL_STUN_A_XOR_PEER_ADDRESS ||
	    type == SL_STUN_A_XOR_RELAYED_ADDRESS;
}

void
stun_addr_xor(uint16_t type, const uint8_t *txid, uint16_t *port,
    uint8_t *addr, size_t n)
{
	/* The cookie, then the transaction id: 16 bytes for IPv6. */
	static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };

	if (!stun_addr_is_xor(type))
		return;
	*port ^= (uint16_t)(SL_STUN_MAGIC >> 16);
	for (size_t i = 0; i < n && i < 16; i++)
		addr[i] ^= i < 4 ? cookie[i] : txid[i - 4];
}

int
sl_stun_attr_addr(const struct sl_stun_msg *m, const struct sl_stun_attr *a,
    struct sl_ip *ip, uint16_t *port)
{
	size_t n;

	memset(ip, 0, sizeof(*ip));
	*port = 0;
	/* The first byte is reserved: ignored (RFC 8489 14.1). */
	if (a->len < 4)
		return -1;
	if (a->val[1] == STUN_FAMILY_IPV4)
		n = 4;
	else if (a->val[1] == STUN_FAMILY_IPV6)
		n = 16;
	else
		return -1;
	if (a->len != 4 + n)
		return -1;
	*port = stun_be16(a->val + 2);
	memcpy(ip->b, a->val + 4, n);
	stun_addr_xor(a->type, m->txid, port, ip->b, n);
	ip->af = n == 4 ? AF_INET : AF_INET6;
	sl_ip_canon(ip);
	return 0;
}

int
sl_stun_attr_text(const struct sl_stun_attr *a, const char **s, size_t *len)
{
	size_t max = 0xffff;

	if (a->type == SL_STUN_A_USERNAME)
		max = STUN_USERNAME_MAX;
	else if (a->type == SL_STUN_A_REALM || a->type == SL_STUN_A_NONCE ||
	    a->type == SL_STUN_A_SOFTWARE)
		max = STUN_TEXT_MAX;
	*s = (const char *)a->val;
	*len = a->len;
	return a->len <= max ? 0 : -1;
}

int
sl_stun_attr_u32(const struct sl_stun_attr *a, uint32_t *v)
{
	if (a->len != 4)
		return -1;
	*v = (uint32_t)stun_be16(a->val) << 16 | stun_be16(a->val + 2);
	return 0;
}

int
sl_stun_attr_channel(const struct sl_stun_attr *a, uint16_t *ch)
{
	uint32_t v;

	if (sl_stun_attr_u32(a, &v) == -1)
		return -1;
	*ch = (uint16_t)(v >> 16);	/* then 16 bits RFFU */
	return *ch >= SL_STUN_CHAN_MIN && *ch <= SL_STUN_CHAN_MAX ? 0 : -1;
}

int
sl_stun_attr_transport(const struct sl_stun_attr *a, uint8_t *proto)
{
	uint32_t v;

	if (sl_stun_attr_u32(a, &v) == -1)
		return -1;
	*proto = (uint8_t)(v >> 24);	/* then 24 bits RFFU */
	return 0;
}

int
sl_stun_attr_error(const struct sl_stun_attr *a, unsigned *code,
    const char **reason, size_t *len)
{
	unsigned cls, num;

	*code = 0;
	*reason = NULL;
	*len = 0;
	if (a->len < 4 || a->len - 4 > STUN_TEXT_MAX)
		return -1;
	/* 21 reserved bits, the class (hundreds) in 3, the number in 8. */
	cls = a->val[2] & 7;
	num = a->val[3];
	if (cls < 3 || cls > 6 || num > 99)
		return -1;
	*code = cls * 100 + num;
	*reason = (const char *)a->val + 4;
	*len = a->len - 4u;
	return 0;
}
