/*
 * attr_test.c — typed STUN/TURN attribute values (stun/attr.c) and their
 * encoding (stun/enc.c): addresses from the RFC 5769 vectors, and every
 * range and length check on made-up attributes.
 */
#include <sys/socket.h>

#include <stdint.h>
#include <string.h>

#include "lib/addr.h"
#include "stun/stun.h"
#include "tests/unit/stun/vec.h"
#include "tests/unit/t.h"

static const uint8_t txid[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
    0x86, 0xfa, 0x87, 0xdf, 0xae };

/* A message holding one attribute of type with value val[0, len). */
static int
one_attr(uint8_t *b, size_t cap, uint16_t type, const void *val, size_t len,
    struct sl_stun_msg *m, struct sl_stun_attr *a)
{
	struct sl_stun_enc e;
	long n;

	sl_stun_enc_init(&e, b, cap, 0x0101, txid);
	sl_stun_enc_attr(&e, type, val, len);
	if ((n = sl_stun_enc_end(&e)) == -1 ||
	    sl_stun_msg_parse(b, (size_t)n, m) != SL_PARSE_OK)
		return -1;
	return sl_stun_attr_find(m, type, a);
}

static int
ip_is(const struct sl_ip *ip, const char *s)
{
	struct sl_ip want;

	return sl_ip_parse(&want, s) == 0 && sl_ip_equal(ip, &want);
}

/* RFC 5769 2.2 and 2.3: XOR-MAPPED-ADDRESS, IPv4 and IPv6. */
T_TEST(stun_rfc5769_xor_mapped_address)
{
	static const char *const want[] = { "192.0.2.1",
	    "2001:db8:1234:5678:11:2233:4455:6677" };
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	struct sl_ip ip;
	uint16_t port;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (int i = 1; i <= 2; i++) {
		T_EQ(sl_stun_msg_parse(v[i].b, v[i].n, &m), SL_PARSE_OK);
		T_EQ(sl_stun_attr_find(&m, SL_STUN_A_XOR_MAPPED_ADDRESS, &a),
		    0);
		T_EQ(sl_stun_attr_addr(&m, &a, &ip, &port), 0);
		T_EQ(port, 32853);
		T_EQ(ip.af, i == 1 ? AF_INET : AF_INET6);
		T_CHECK(ip_is(&ip, want[i - 1]), "%s", v[i].name);
	}
}

/*
 * RFC 5769 2.2's XOR-MAPPED-ADDRESS value: as XOR-MAPPED- or
 * XOR-PEER-ADDRESS it is 192.0.2.1:32853, as MAPPED-ADDRESS not; the
 * plain bytes are; the reserved first byte is ignored (RFC 8489 14.1);
 * other families and lengths are malformed (ip NULL).
 */
T_TEST(stun_address_values)
{
#define XORED	{ 0, 1, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43 }
#define PLAIN	{ 0, 1, 0x80, 0x55, 192, 0, 2, 1 }
	static const struct {
		uint16_t	 type;
		uint8_t		 v[24];
		size_t		 n;
		const char	*ip;
		uint16_t	 port;
	} c[] = {
		{ SL_STUN_A_XOR_MAPPED_ADDRESS, XORED, 8, "192.0.2.1", 32853 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, XORED, 8, "192.0.2.1", 32853 },
		{ SL_STUN_A_MAPPED_ADDRESS, XORED, 8, "225.18.166.67", 41287 },
		{ SL_STUN_A_MAPPED_ADDRESS, PLAIN, 8, "192.0.2.1", 32853 },
		{ 0x8023, PLAIN, 8, "192.0.2.1", 32853 }, /* ALTERNATE-SERVER */
		{ SL_STUN_A_MAPPED_ADDRESS, { 0xff, 1, 0, 80, 192, 0, 2, 1 }, 8,
		    "192.0.2.1", 80 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, { 0, 3, 0, 1, 1, 2, 3, 4 }, 8 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, { 0, 0, 0, 1, 1, 2, 3, 4 }, 8 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, { 0, 1, 0, 1, 1, 2, 3 }, 7 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, { 0, 1, 0, 1, 1, 2, 3, 4 }, 12 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, { 0, 2, 0, 1, 1, 2, 3, 4 }, 8 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, { 0, 2, 0, 1 }, 19 },
		{ SL_STUN_A_XOR_PEER_ADDRESS, { 0, 2, 0, 1 }, 24 },
		{ SL_STUN_A_MAPPED_ADDRESS, { 0, 1, 0 }, 3 },
		{ SL_STUN_A_MAPPED_ADDRESS, { 0 }, 0 },
	};
#undef XORED
#undef PLAIN
	uint8_t b[64];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	struct sl_ip ip;
	uint16_t port;

	for (size_t i = 0; i < SL_NELEM(c); i++) {
		T_EQ(one_attr(b, sizeof(b), c[i].type, c[i].v, c[i].n, &m, &a),
		    0);
		if (c[i].ip == NULL) {
			T_CHECK(sl_stun_attr_addr(&m, &a, &ip, &port) == -1,
			    "case %zu", i);
			T_EQ(ip.af, 0);
			continue;
		}
		T_EQ(sl_stun_attr_addr(&m, &a, &ip, &port), 0);
		T_CHECK(ip_is(&ip, c[i].ip) && port == c[i].port, "case %zu",
		    i);
	}
}

/* Encode an address attribute, parse, decode it: 0 or -1.  b[0, 64). */
static int
addr_roundtrip(uint8_t *b, uint16_t type, const struct sl_ip *ip,
    uint16_t port, struct sl_ip *got, uint16_t *gport)
{
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	long n;

	sl_stun_enc_init(&e, b, 64, 0x0101, txid);
	sl_stun_enc_addr(&e, type, ip, port);
	if ((n = sl_stun_enc_end(&e)) == -1 ||
	    sl_stun_msg_parse(b, (size_t)n, &m) != SL_PARSE_OK ||
	    sl_stun_attr_find(&m, type, &a) == -1)
		return -1;
	return sl_stun_attr_addr(&m, &a, got, gport);
}

/*
 * An IPv4-mapped IPv6 peer comes out as the IPv4 address it is, so that a
 * guard against 127.0.0.1 cannot be passed with ::ffff:127.0.0.1 (the
 * shape of coturn's CVE-2020-26262).
 */
T_TEST(stun_xor_peer_v4_mapped_is_ipv4)
{
	uint8_t b[64];
	struct sl_ip ip, got;
	uint16_t port;

	memset(&ip, 0, sizeof(ip));
	ip.af = AF_INET6;
	memcpy(ip.b, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\1", 16);
	T_EQ(addr_roundtrip(b, SL_STUN_A_XOR_PEER_ADDRESS, &ip, 9, &got,
	    &port), 0);
	T_EQ(b[SL_STUN_HDR_LEN + 5], 0x02);	/* sent as IPv6 */
	T_EQ(got.af, AF_INET);
	T_ASSERT(sl_ip_is_loopback(&got));
	T_EQ(port, 9);
}

/* Every address type, both families: what is encoded decodes the same. */
T_TEST(stun_address_encode_decode)
{
	static const uint16_t types[] = { SL_STUN_A_MAPPED_ADDRESS,
	    SL_STUN_A_XOR_MAPPED_ADDRESS, SL_STUN_A_XOR_PEER_ADDRESS,
	    SL_STUN_A_XOR_RELAYED_ADDRESS };
	static const char *const addrs[] = { "198.51.100.7", "0.0.0.0",
	    "2001:db8::1", "::", "fe80::ffff:ffff:ffff:ffff" };
	uint8_t b[64];
	struct sl_ip ip, got;
	uint16_t port;

	for (size_t t = 0; t < SL_NELEM(types); t++) {
		for (size_t i = 0; i < SL_NELEM(addrs); i++) {
			T_EQ(sl_ip_parse(&ip, addrs[i]), 0);
			T_EQ(addr_roundtrip(b, types[t], &ip,
			    (uint16_t)(i * 7919), &got, &port), 0);
			T_CHECK(sl_ip_equal(&ip, &got), "%s", addrs[i]);
			T_EQ(port, i * 7919);
		}
	}
}

T_TEST(stun_text_length_limits)
{
	static const struct {
		uint16_t	type;
		size_t		ok;	/* longest accepted */
	} c[] = {
		{ SL_STUN_A_USERNAME, 512 },
		{ SL_STUN_A_REALM, 763 },
		{ SL_STUN_A_NONCE, 763 },
		{ SL_STUN_A_SOFTWARE, 763 },
	};
	static uint8_t b[1024], text[800];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	const char *s;
	size_t n;

	memset(text, 'x', sizeof(text));
	for (size_t i = 0; i < SL_NELEM(c); i++) {
		T_EQ(one_attr(b, sizeof(b), c[i].type, text, c[i].ok, &m, &a),
		    0);
		T_EQ(sl_stun_attr_text(&a, &s, &n), 0);
		T_EQ(n, c[i].ok);
		T_ASSERT(s == (const char *)a.val);
		T_EQ(one_attr(b, sizeof(b), c[i].type, text, c[i].ok + 1, &m,
		    &a), 0);
		T_CHECK(sl_stun_attr_text(&a, &s, &n) == -1, "type %04x",
		    c[i].type);
	}
	T_EQ(one_attr(b, sizeof(b), SL_STUN_A_USERNAME, text, 0, &m, &a), 0);
	T_EQ(sl_stun_attr_text(&a, &s, &n), 0);
	T_EQ(n, 0);
}

/* A number attribute through its decoder: 0 or -1. */
static int
number(const struct sl_stun_attr *a, uint32_t *v)
{
	uint16_t ch;
	uint8_t proto;
	int rc;

	switch (a->type) {
	case SL_STUN_A_CHANNEL_NUMBER:
		rc = sl_stun_attr_channel(a, &ch);
		*v = ch;
		return rc;
	case SL_STUN_A_REQUESTED_TRANSPORT:
		rc = sl_stun_attr_transport(a, &proto);
		*v = proto;
		return rc;
	default:
		return sl_stun_attr_u32(a, v);
	}
}

/*
 * LIFETIME (RFC 8656 18.2), CHANNEL-NUMBER (18.1; 0x4000-0x4fff, section
 * 12) and REQUESTED-TRANSPORT (18.7): four bytes, RFFU bits ignored.
 */
T_TEST(stun_number_values)
{
	static const struct {
		uint16_t	 type;
		const char	*v;
		size_t		 n;
		int		 rc;
		uint32_t	 want;
	} c[] = {
		{ SL_STUN_A_LIFETIME, "\0\0\x02\x58", 4, 0, 600 },
		{ SL_STUN_A_LIFETIME, "\xff\xff\xff\xff", 4, 0, 0xffffffffu },
		{ SL_STUN_A_LIFETIME, "\0\0\x02", 3, -1, 0 },
		{ SL_STUN_A_LIFETIME, "\0\0\0\0\0", 5, -1, 0 },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x40\x00\0\0", 4, 0, 0x4000 },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x4f\xff\0\0", 4, 0, 0x4fff },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x4a\xbc\xff\xff", 4, 0, 0x4abc },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x3f\xff\0\0", 4, -1, 0 },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x50\x00\0\0", 4, -1, 0 },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x00\x00\0\0", 4, -1, 0 },
		{ SL_STUN_A_CHANNEL_NUMBER, "\xff\xff\0\0", 4, -1, 0 },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x40\x00", 2, -1, 0 },
		{ SL_STUN_A_CHANNEL_NUMBER, "\x40\x00\0\0\0\0\0\0", 8, -1, 0 },
		{ SL_STUN_A_REQUESTED_TRANSPORT, "\x11\0\0\0", 4, 0, 17 },
		{ SL_STUN_A_REQUESTED_TRANSPORT, "\x06\xff\xff\xff", 4, 0, 6 },
		{ SL_STUN_A_REQUESTED_TRANSPORT, "\x11", 1, -1, 0 },
	};
	uint8_t b[64];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	uint32_t v;

	for (size_t i = 0; i < SL_NELEM(c); i++) {
		int rc;

		T_EQ(one_attr(b, sizeof(b), c[i].type, c[i].v, c[i].n, &m, &a),
		    0);
		rc = number(&a, &v);
		T_CHECK(rc == c[i].rc && (rc == -1 || v == c[i].want),
		    "case %zu: %d %u", i, rc, v);
	}
}

/* RFC 8489 14.8: class 3-6, number 0-99, a reason. */
T_TEST(stun_error_code)
{
	static const struct {
		const char	*v;
		size_t		 n;
		int		 rc;
		unsigned	 code;
	} c[] = {
		{ "\0\0\x04\x01Unauthorized", 16, 0, 401 },
		{ "\0\0\x03\x00", 4, 0, 300 },
		{ "\xff\xff\xfe\x63", 4, 0, 699 },	/* reserved bits */
		{ "\0\0\x02\x00", 4, -1, 0 },
		{ "\0\0\x07\x00", 4, -1, 0 },
		{ "\0\0\x04\x64", 4, -1, 0 },		/* number 100 */
		{ "\0\0\x04", 3, -1, 0 },
	};
	uint8_t b[64];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	const char *reason;
	size_t n;
	unsigned code;

	for (size_t i = 0; i < SL_NELEM(c); i++) {
		T_EQ(one_attr(b, sizeof(b), SL_STUN_A_ERROR_CODE, c[i].v,
		    c[i].n, &m, &a), 0);
		T_CHECK(sl_stun_attr_error(&a, &code, &reason, &n) == c[i].rc,
		    "case %zu", i);
		T_EQ(code, c[i].code);
	}
	T_EQ(one_attr(b, sizeof(b), SL_STUN_A_ERROR_CODE, c[0].v, c[0].n, &m,
	    &a), 0);
	T_EQ(sl_stun_attr_error(&a, &code, &reason, &n), 0);
	T_CHECK(n == 12 && memcmp(reason, "Unauthorized", n) == 0, "reason");
}

T_TEST(stun_encode_error_code)
{
	uint8_t b[64];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	const char *reason;
	size_t n;
	unsigned code;
	long len;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0113, txid);
	sl_stun_enc_error(&e, 438, "Stale Nonce");
	T_ASSERT((len = sl_stun_enc_end(&e)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)len, &m), SL_PARSE_OK);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_ERROR_CODE, &a), 0);
	T_EQ(sl_stun_attr_error(&a, &code, &reason, &n), 0);
	T_EQ(code, 438);
	T_CHECK(n == 11 && memcmp(reason, "Stale Nonce", n) == 0, "reason");
	sl_stun_enc_init(&e, b, sizeof(b), 0x0113, txid);
	sl_stun_enc_error(&e, 299, "");
	T_EQ(sl_stun_enc_end(&e), -1);
	sl_stun_enc_init(&e, b, sizeof(b), 0x0113, txid);
	sl_stun_enc_error(&e, 700, "");
	T_EQ(sl_stun_enc_end(&e), -1);
}

/* What does not fit sets the error once; later calls do nothing. */
T_TEST(stun_encode_refuses_what_does_not_fit)
{
	uint8_t b[32];
	struct sl_stun_enc e;
	struct sl_ip ip = { 0 };

	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	sl_stun_enc_attr(&e, SL_STUN_A_SOFTWARE, "12345678", 8);
	T_EQ(sl_stun_enc_end(&e), 32);
	sl_stun_enc_attr(&e, SL_STUN_A_SOFTWARE, NULL, 0);
	T_EQ(sl_stun_enc_end(&e), -1);
	T_EQ(e.len, 32);
	T_EQ(b[3], 12);
	sl_stun_enc_init(&e, b, 19, 0x0001, txid);
	T_EQ(sl_stun_enc_end(&e), -1);
	sl_stun_enc_init(&e, b, sizeof(b), 0xc001, txid);	/* top bits */
	T_EQ(sl_stun_enc_end(&e), -1);
	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	sl_stun_enc_addr(&e, SL_STUN_A_MAPPED_ADDRESS, &ip, 1); /* no family */
	T_EQ(sl_stun_enc_end(&e), -1);
	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	sl_stun_enc_fingerprint(&e);
	sl_stun_enc_attr(&e, SL_STUN_A_SOFTWARE, NULL, 0);	/* after FP */
	T_EQ(sl_stun_enc_end(&e), -1);
	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	sl_stun_enc_integrity(&e, SL_STUN_A_USERNAME, (const uint8_t *)"k", 1);
	T_EQ(sl_stun_enc_end(&e), -1);
}
