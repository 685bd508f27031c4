/*
 * msg_test.c — STUN header recognition, message parse and attribute walk
 * (stun/msg.c) against the RFC 5769 test vectors (vec.h) and messages
 * broken on purpose.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attr.h"
#include "stun/stun.h"
#include "tests/unit/stun/vec.h"
#include "tests/unit/t.h"

T_TEST(stun_rfc5769_vectors_are_read_from_the_file)
{
	struct vec v[VEC_MAX];

	T_EQ(load_vectors(v, VEC_MAX), 4);
	T_EQ(v[0].n, 108);
	T_EQ(v[3].n, 116);
	T_EQ(v[0].nattr, 6);
	T_EQ(v[1].nattr, 4);
	T_EQ(v[3].nattr, 4);
	T_EQ(v[0].keylen, 22);
	T_EQ(v[3].keylen, 16);
	T_EQ(v[3].ulen, 18);
	T_STREQ(v[0].password, "VOkJxbRl1RmTxUk/WvJxBt");
	T_STREQ(v[3].password, "TheMatrIX");
	T_STREQ(v[3].realm, "example.org");
}

T_TEST(stun_rfc5769_headers_ok)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		T_CHECK(sl_stun_peek(v[i].b, v[i].n, &h) == SL_PARSE_OK,
		    "%s", v[i].name);
		T_EQ(h.type, v[i].type);
		T_EQ(h.length, v[i].length);
		T_EQ(h.length + SL_STUN_HDR_LEN, v[i].n);
		T_ASSERT(memcmp(h.txid, v[i].txid, 12) == 0);
		/* The header alone is enough. */
		T_EQ(sl_stun_peek(v[i].b, SL_STUN_HDR_LEN, &h), SL_PARSE_OK);
		T_EQ(h.type, v[i].type);
	}
}

T_TEST(stun_truncated_header_is_more)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		for (size_t k = 0; k < SL_STUN_HDR_LEN; k++) {
			uint8_t *copy = vec_copy(v[i].b, k);

			T_ASSERT(copy != NULL);
			T_CHECK(sl_stun_peek(copy, k, &h) == SL_PARSE_MORE,
			    "%s: %zu bytes", v[i].name, k);
			free(copy);
		}
	}
}

T_TEST(stun_bad_magic_is_not_mine_as_soon_as_seen)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (size_t i = 4; i < 8; i++) {
		uint8_t b[SL_STUN_HDR_LEN];

		memcpy(b, v[0].b, sizeof(b));
		b[i] ^= 0x01;
		T_EQ(sl_stun_peek(b, i, &h), SL_PARSE_MORE);
		for (size_t k = i + 1; k <= sizeof(b); k++)
			T_CHECK(sl_stun_peek(b, k, &h) == SL_PARSE_NOT_MINE,
			    "cookie byte %zu, %zu bytes", i, k);
	}
}

/* RFC 8489 5: attributes are padded, so the length is 4-aligned. */
T_TEST(stun_length_not_multiple_of_4_is_not_mine)
{
	struct vec v[VEC_MAX];
	struct sl_stun_hdr h;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (unsigned low = 1; low < 4; low++) {
		uint8_t b[SL_STUN_HDR_LEN];

		memcpy(b, v[1].b, sizeof(b));
		b[3] = (uint8_t)((b[3] & ~3u) | low);
		T_EQ(sl_stun_peek(b, 3, &h), SL_PARSE_MORE);
		T_EQ(sl_stun_peek(b, 4, &h), SL_PARSE_NOT_MINE);
		T_EQ(sl_stun_peek(b, sizeof(b), &h), SL_PARSE_NOT_MINE);
	}
}

T_TEST(stun_top_bits_set_is_not_mine_from_first_byte)
{
	/* TURN ChannelData (RFC 8656 12.4) starts with 0b01. */
	static const uint8_t chan[] = { 0x40, 0x00, 0x00, 0x04 };
	struct sl_stun_hdr h;

	T_EQ(sl_stun_peek(chan, 1, &h), SL_PARSE_NOT_MINE);
	T_EQ(sl_stun_peek((const uint8_t *)"\x80", 1, &h), SL_PARSE_NOT_MINE);
}

T_TEST(stun_other_protocols_are_not_mine)
{
	static const struct {
		const char	*b;
		size_t		 n;
	} other[] = {
		{ "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 32 },
		{ "SSH-2.0-OpenSSH_9.2\r\n", 21 },
		{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11 },
		{ "\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03", 11 },
		{ "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20 },
	};
	struct sl_stun_hdr h;

	for (size_t i = 0; i < SL_NELEM(other); i++)
		T_CHECK(sl_stun_peek((const uint8_t *)other[i].b, other[i].n,
		    &h) == SL_PARSE_NOT_MINE, "case %zu", i);
}

T_TEST(stun_empty_message_header_only)
{
	/* A Binding request with no attributes is just a header. */
	static const uint8_t b[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4,
	    0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct sl_stun_hdr h;

	T_EQ(sl_stun_peek(b, sizeof(b), &h), SL_PARSE_OK);
	T_EQ(h.type, 0x0001);
	T_EQ(h.length, 0);
	T_EQ(h.txid[11], 12);
}

/* --- sl_stun_msg_parse and the attribute walk ------------------------ */

static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* Set the 16-bit value at p (a length or a type in a test message). */
static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

T_TEST(stun_rfc5769_walk_matches_the_file)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		size_t pos = 0, k = 0;

		T_CHECK(sl_stun_msg_parse(v[i].b, v[i].n, &m) == SL_PARSE_OK,
		    "%s: %s", v[i].name, m.err);
		T_EQ(m.len, v[i].n);
		T_EQ(m.type, v[i].type);
		T_ASSERT(memcmp(m.txid, v[i].txid, 12) == 0);
		T_EQ(m.n_unknown, 0);
		while (sl_stun_attr_next(&m, &pos, &a) == 0) {
			const struct vec_attr *w = &v[i].attr[k];

			T_CHECK(k < v[i].nattr, "%s: attribute %zu", v[i].name,
			    k);
			T_EQ(a.type, w->type);
			T_EQ(a.len, w->len);
			T_EQ(a.off, w->off);
			T_ASSERT(memcmp(a.val, w->val, a.len) == 0);
			if (a.type == SL_STUN_A_MESSAGE_INTEGRITY)
				T_EQ(m.mi_off, a.off);
			if (a.type == SL_STUN_A_FINGERPRINT)
				T_EQ(m.fp_off, a.off);
			k++;
		}
		T_EQ(k, v[i].nattr);
		T_EQ(m.mi256_off, 0);
	}
	T_EQ(m.fp_off, 0);		/* 2.4 has no FINGERPRINT */
}

T_TEST(stun_rfc5769_text_attributes)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	const char *s;
	size_t n;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	/* RFC 5769 2.1: SOFTWARE and USERNAME, padded with spaces. */
	T_EQ(sl_stun_msg_parse(v[0].b, v[0].n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_SOFTWARE, &a), 0);
	T_EQ(sl_stun_attr_text(&a, &s, &n), 0);
	T_CHECK(n == 16 && memcmp(s, "STUN test client", n) == 0, "software");
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_USERNAME, &a), 0);
	T_EQ(sl_stun_attr_text(&a, &s, &n), 0);
	T_CHECK(n == 9 && memcmp(s, "evtj:h6vY", n) == 0, "username");
	/* RFC 5769 2.4: UTF-8 USERNAME, NONCE, REALM. */
	T_EQ(sl_stun_msg_parse(v[3].b, v[3].n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_USERNAME, &a), 0);
	T_EQ(sl_stun_attr_text(&a, &s, &n), 0);
	T_CHECK(n == v[3].ulen && memcmp(s, v[3].user, n) == 0, "username");
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_NONCE, &a), 0);
	T_EQ(sl_stun_attr_text(&a, &s, &n), 0);
	T_CHECK(n == 28 && memcmp(s, "f//499k954d6OL34oL9FSTvy64sA", n) == 0,
	    "nonce");
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_REALM, &a), 0);
	T_EQ(sl_stun_attr_text(&a, &s, &n), 0);
	T_CHECK(n == 11 && memcmp(s, v[3].realm, n) == 0, "realm");
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_SOFTWARE, &a), -1);
}

T_TEST(stun_parse_every_truncation_is_bad)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		for (size_t k = 0; k < v[i].n; k++) {
			uint8_t *c = vec_copy(v[i].b, k);
			enum sl_parse_rc rc;

			T_ASSERT(c != NULL);
			rc = sl_stun_msg_parse(c, k, &m);
			free(c);
			T_CHECK(rc == SL_PARSE_BAD, "%s: %zu bytes: %d",
			    v[i].name, k, (int)rc);
			T_STREQ(m.err, k < SL_STUN_HDR_LEN ? "short_header" :
			    "truncated");
		}
	}
}

/* A BAD message keeps what a 400 needs, and offers no attribute. */
T_TEST(stun_bad_message_has_txid_and_no_attributes)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	uint8_t b[256];
	size_t pos = 0;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	memcpy(b, v[0].b, v[0].n);
	b[60 + 2] = 0x01;			/* USERNAME overruns */
	T_EQ(sl_stun_msg_parse(b, v[0].n, &m), SL_PARSE_BAD);
	T_EQ(m.type, 0x0001);
	T_ASSERT(m.txid == b + 8);
	T_EQ(sl_stun_attr_next(&m, &pos, &a), -1);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_SOFTWARE, &a), -1);
	T_EQ(sl_stun_msg_fingerprint(&m), SL_STUN_CHECK_ABSENT);
	T_EQ(sl_stun_msg_parse(b, 19, &m), SL_PARSE_BAD);
	T_ASSERT(m.txid == NULL);
	/* FINGERPRINT and MESSAGE-INTEGRITY seen before the fault. */
	memcpy(b, v[0].b, v[0].n);
	memcpy(b + v[0].n, "\x80\x22\x00\x00", 4);
	b[3] += 4;
	T_EQ(sl_stun_msg_parse(b, v[0].n + 4, &m), SL_PARSE_BAD);
	T_STREQ(m.err, "fingerprint_not_last");
	T_EQ(sl_stun_msg_fingerprint(&m), SL_STUN_CHECK_ABSENT);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY, v[0].key,
	    v[0].keylen), SL_STUN_CHECK_ABSENT);
}

T_TEST(stun_parse_trailing_bytes_are_bad)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	uint8_t b[300];

	T_EQ(load_vectors(v, VEC_MAX), 4);
	memcpy(b, v[1].b, v[1].n);
	memset(b + v[1].n, 0, 4);
	T_EQ(sl_stun_msg_parse(b, v[1].n + 4, &m), SL_PARSE_BAD);
	T_STREQ(m.err, "trailing_data");
	T_EQ(sl_stun_msg_parse(b, v[1].n + 1, &m), SL_PARSE_BAD);
}

T_TEST(stun_parse_header_only_message)
{
	uint8_t b[SL_STUN_HDR_LEN];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	size_t pos = 0;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	T_EQ(sl_stun_enc_end(&e), SL_STUN_HDR_LEN);
	T_EQ(sl_stun_msg_parse(b, sizeof(b), &m), SL_PARSE_OK);
	T_EQ(sl_stun_attr_next(&m, &pos, &a), -1);
	T_EQ(m.tail, SL_STUN_HDR_LEN);
}

T_TEST(stun_parse_largest_message)
{
	static uint8_t b[SL_STUN_MSG_MAX + 4], data[0xfffc];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	struct sl_stun_attr a;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0016, txid);
	sl_stun_enc_attr(&e, SL_STUN_A_DATA, data, 0xfffc - 4);
	T_EQ(sl_stun_enc_end(&e), SL_STUN_MSG_MAX);
	T_EQ(sl_stun_msg_parse(b, SL_STUN_MSG_MAX, &m), SL_PARSE_OK);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_DATA, &a), 0);
	T_EQ(a.len, 0xfffc - 4);
	/* One more byte does not fit a message. */
	sl_stun_enc_init(&e, b, sizeof(b), 0x0016, txid);
	sl_stun_enc_attr(&e, SL_STUN_A_DATA, data, 0xfffc - 3);
	T_EQ(sl_stun_enc_end(&e), -1);
}

/* An attribute whose length runs past the message's end. */
T_TEST(stun_attr_length_overrunning_the_message_is_bad)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	uint8_t b[256];

	T_EQ(load_vectors(v, VEC_MAX), 4);
	memcpy(b, v[0].b, v[0].n);
	put16(b + 60 + 2, 0x0100);		/* USERNAME */
	T_EQ(sl_stun_msg_parse(b, v[0].n, &m), SL_PARSE_BAD);
	T_STREQ(m.err, "attr_overrun");
	/* The last attribute: its padding would run past the end. */
	memcpy(b, v[0].b, v[0].n);
	put16(b + 100 + 2, 5);			/* FINGERPRINT */
	T_EQ(sl_stun_msg_parse(b, v[0].n, &m), SL_PARSE_BAD);
	T_STREQ(m.err, "attr_overrun");
	put16(b + 100 + 2, 0xffff);
	T_EQ(sl_stun_msg_parse(b, v[0].n, &m), SL_PARSE_BAD);
	T_STREQ(m.err, "attr_overrun");
}

/* A message whose length ends inside an attribute. */
T_TEST(stun_truncated_attribute_is_bad)
{
	static const uint8_t hdr_only[] = { 0x00, 0x01, 0x00, 0x04, 0x21, 0x12,
	    0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    0x00, 0x06, 0x00, 0x04 };
	static const uint8_t part[] = { 0x00, 0x01, 0x00, 0x08, 0x21, 0x12,
	    0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	    0x00, 0x06, 0x00, 0x05, 'a', 'b', 'c', 'd' };
	struct sl_stun_msg m;

	T_EQ(sl_stun_msg_parse(hdr_only, sizeof(hdr_only), &m), SL_PARSE_BAD);
	T_STREQ(m.err, "attr_overrun");
	T_EQ(sl_stun_msg_parse(part, sizeof(part), &m), SL_PARSE_BAD);
	T_STREQ(m.err, "attr_overrun");
}

T_TEST(stun_parse_length_not_multiple_of_4_is_not_mine)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (unsigned low = 1; low < 4; low++) {
		uint8_t b[256];

		memcpy(b, v[1].b, v[1].n);
		b[3] = (uint8_t)((b[3] & ~3u) | low);
		T_EQ(sl_stun_msg_parse(b, v[1].n, &m), SL_PARSE_NOT_MINE);
		T_EQ(sl_stun_msg_parse(b, 20 + b[3], &m), SL_PARSE_NOT_MINE);
	}
}

/* RFC 8489 14: padding "MUST be ignored by receivers" (5769 uses spaces). */
T_TEST(stun_padding_is_ignored_whatever_its_value)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	uint8_t b[256];

	T_EQ(load_vectors(v, VEC_MAX), 4);
	memcpy(b, v[0].b, v[0].n);
	memset(b + 60 + 4 + 9, 0xff, 3);	/* USERNAME's padding */
	T_EQ(sl_stun_msg_parse(b, v[0].n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_USERNAME, &a), 0);
	T_EQ(a.len, 9);
	T_EQ(a.val[8], 'Y');
}

T_TEST(stun_fingerprint_not_last_is_bad)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	uint8_t b[256];
	size_t n;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	/* RFC 5769 2.2 with a SOFTWARE after its FINGERPRINT. */
	n = v[1].n;
	memcpy(b, v[1].b, n);
	memcpy(b + n, "\x80\x22\x00\x04" "late", 8);
	put16(b + 2, (unsigned)(n + 8 - SL_STUN_HDR_LEN));
	T_EQ(sl_stun_msg_parse(b, n + 8, &m), SL_PARSE_BAD);
	T_STREQ(m.err, "fingerprint_not_last");
	/* Or a second FINGERPRINT. */
	memcpy(b + n, b + n - 8, 8);
	T_EQ(sl_stun_msg_parse(b, n + 8, &m), SL_PARSE_BAD);
	T_STREQ(m.err, "fingerprint_not_last");
}

/*
 * A test message, step by step: an attribute of len filler bytes, or
 * with len COMPUTED a MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT the
 * encoder computes.  The steps end with type 0.
 */
#define COMPUTED	(-1)
struct step {
	uint16_t	type;
	int		len;
};

static long
build(uint8_t *b, size_t cap, const struct step *s)
{
	static const uint8_t filler[64] = { 0 };
	struct sl_stun_enc e;

	sl_stun_enc_init(&e, b, cap, 0x0001, txid);
	for (; s->type != 0; s++) {
		if (s->len > (int)sizeof(filler))
			return -1;
		if (s->len != COMPUTED)
			sl_stun_enc_attr(&e, s->type, filler, (size_t)s->len);
		else if (s->type == SL_STUN_A_FINGERPRINT)
			sl_stun_enc_fingerprint(&e);
		else
			sl_stun_enc_integrity(&e, s->type, key, 22);
	}
	return sl_stun_enc_end(&e);
}

/* Do the attributes that count have these types (0-ended), in order? */
static int
walk_is(const struct sl_stun_msg *m, const uint16_t *types)
{
	struct sl_stun_attr a;
	size_t pos = 0;

	while (sl_stun_attr_next(m, &pos, &a) == 0)
		if (*types++ != a.type)
			return 0;
	return *types == 0;
}

T_TEST(stun_integrity_attribute_lengths)
{
	static const struct {
		uint16_t	 type;
		int		 len;
		const char	*err;	/* NULL: fine */
	} c[] = {
		{ SL_STUN_A_MESSAGE_INTEGRITY, 20, NULL },
		{ SL_STUN_A_MESSAGE_INTEGRITY, 16, "mi_length" },
		{ SL_STUN_A_MESSAGE_INTEGRITY, 32, "mi_length" },
		{ SL_STUN_A_MESSAGE_INTEGRITY, 0, "mi_length" },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 16, NULL },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 28, NULL },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 32, NULL },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 12, "mi256_length" },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 18, "mi256_length" },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 36, "mi256_length" },
		{ SL_STUN_A_FINGERPRINT, 4, NULL },
		{ SL_STUN_A_FINGERPRINT, 8, "fp_length" },
		{ SL_STUN_A_FINGERPRINT, 0, "fp_length" },
	};
	uint8_t b[128];
	struct sl_stun_msg m;

	for (size_t i = 0; i < SL_NELEM(c); i++) {
		const struct step s[] = { { SL_STUN_A_USERNAME, 1 },
		    { c[i].type, c[i].len }, { 0, 0 } };
		long n;

		T_ASSERT((n = build(b, sizeof(b), s)) > 0);
		if (c[i].err == NULL) {
			T_CHECK(sl_stun_msg_parse(b, (size_t)n, &m) ==
			    SL_PARSE_OK, "case %zu: %s", i, m.err);
		} else {
			T_CHECK(sl_stun_msg_parse(b, (size_t)n, &m) ==
			    SL_PARSE_BAD, "case %zu", i);
			T_STREQ(m.err, c[i].err);
		}
	}
}

/*
 * RFC 8489 14.5, 14.6: after MESSAGE-INTEGRITY only -SHA256 and
 * FINGERPRINT count; after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
 * Ignored attributes are neither checked (lengths) nor reported.
 */
T_TEST(stun_attributes_after_integrity_are_ignored)
{
	static const struct step after_mi[] = {
		{ SL_STUN_A_USERNAME, 1 },
		{ SL_STUN_A_MESSAGE_INTEGRITY, COMPUTED },
		{ SL_STUN_A_SOFTWARE, 4 }, { 0x7777, 1 },
		{ SL_STUN_A_MESSAGE_INTEGRITY, 16 },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, COMPUTED },
		{ SL_STUN_A_FINGERPRINT, COMPUTED }, { 0, 0 },
	}, after_mi256[] = {
		{ SL_STUN_A_USERNAME, 1 },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, COMPUTED },
		{ SL_STUN_A_MESSAGE_INTEGRITY, COMPUTED },
		{ SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 8 },
		{ SL_STUN_A_FINGERPRINT, COMPUTED }, { 0, 0 },
	};
	static const uint16_t want_mi[] = { SL_STUN_A_USERNAME,
	    SL_STUN_A_MESSAGE_INTEGRITY, SL_STUN_A_MESSAGE_INTEGRITY_SHA256,
	    SL_STUN_A_FINGERPRINT, 0 }, want_mi256[] = { SL_STUN_A_USERNAME,
	    SL_STUN_A_MESSAGE_INTEGRITY_SHA256, SL_STUN_A_FINGERPRINT, 0 };
	uint8_t b[256];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	long n;

	T_ASSERT((n = build(b, sizeof(b), after_mi)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(m.n_unknown, 0);
	T_EQ(m.tail, m.mi_off);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_SOFTWARE, &a), -1);
	T_ASSERT(walk_is(&m, want_mi));
	T_ASSERT((n = build(b, sizeof(b), after_mi256)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(m.mi_off, 0);
	T_EQ(m.tail, m.mi256_off);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_MESSAGE_INTEGRITY, &a), -1);
	T_ASSERT(walk_is(&m, want_mi256));
}

/* RFC 8489 14: unknown comprehension-required attributes get a 420. */
T_TEST(stun_unknown_comprehension_required_is_reported)
{
	uint8_t b[512];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	long n;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0003, txid);
	sl_stun_enc_attr(&e, 0x0031, "a", 1);
	sl_stun_enc_attr(&e, 0x8031, "b", 1);	/* optional: fine */
	sl_stun_enc_attr(&e, SL_STUN_A_REQUESTED_TRANSPORT, "\x11\0\0\0", 4);
	sl_stun_enc_attr(&e, 0x7fff, NULL, 0);
	sl_stun_enc_attr(&e, 0x0002, "c", 1);	/* RFC 3489's, gone */
	T_ASSERT((n = sl_stun_enc_end(&e)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(m.n_unknown, 3);
	T_EQ(m.unknown[0], 0x0031);
	T_EQ(m.unknown[1], 0x7fff);
	T_EQ(m.unknown[2], 0x0002);
	/* More than the message keeps: counted, the first ones kept. */
	sl_stun_enc_init(&e, b, sizeof(b), 0x0003, txid);
	for (unsigned t = 0x0100; t < 0x0100 + 2 * SL_STUN_UNKNOWN_MAX; t++)
		sl_stun_enc_attr(&e, (uint16_t)t, NULL, 0);
	T_ASSERT((n = sl_stun_enc_end(&e)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(m.n_unknown, 2 * SL_STUN_UNKNOWN_MAX);
	T_EQ(m.unknown[SL_STUN_UNKNOWN_MAX - 1],
	    0x0100 + SL_STUN_UNKNOWN_MAX - 1);
}

/* RFC 8489 14: only the first of a repeated attribute need be read. */
T_TEST(stun_find_returns_the_first)
{
	uint8_t b[128];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	long n;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	sl_stun_enc_attr(&e, SL_STUN_A_SOFTWARE, "one", 3);
	sl_stun_enc_attr(&e, SL_STUN_A_SOFTWARE, "two", 3);
	T_ASSERT((n = sl_stun_enc_end(&e)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_attr_find(&m, SL_STUN_A_SOFTWARE, &a), 0);
	T_EQ(a.off, SL_STUN_HDR_LEN);
	T_ASSERT(memcmp(a.val, "one", 3) == 0);
}

/* RFC 8489 5 (figure 3) and RFC 8656 17. */
T_TEST(stun_method_and_class_bits)
{
	T_EQ(sl_stun_method(0x0001), SL_STUN_BINDING);
	T_EQ(sl_stun_class(0x0001), SL_STUN_REQUEST);
	T_EQ(sl_stun_class(0x0011), SL_STUN_INDICATION);
	T_EQ(sl_stun_class(0x0101), SL_STUN_SUCCESS);
	T_EQ(sl_stun_class(0x0111), SL_STUN_ERROR);
	T_EQ(sl_stun_type(SL_STUN_ALLOCATE, SL_STUN_ERROR), 0x0113);
	T_EQ(sl_stun_type(SL_STUN_CHANNEL_BIND, SL_STUN_SUCCESS), 0x0109);
	T_EQ(sl_stun_type(SL_STUN_DATA, SL_STUN_INDICATION), 0x0017);
	for (unsigned meth = 0; meth < 0x1000; meth++) {
		for (int c = SL_STUN_REQUEST; c <= SL_STUN_ERROR; c++) {
			uint16_t t = sl_stun_type((uint16_t)meth,
			    (enum sl_stun_class)c);

			T_EQ(t & 0xc000, 0);
			T_EQ(sl_stun_method(t), meth);
			T_EQ(sl_stun_class(t), c);
		}
	}
}
