/*
 * integrity_test.c — MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256,
 * FINGERPRINT and the long-term key (stun/integrity.c) against the RFC
 * 5769 vectors, and every byte of them tampered with.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "stun/stun_int.h"
#include "tests/unit/stun/vec.h"
#include "tests/unit/t.h"

static const uint8_t txid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

/* The key a vector's MESSAGE-INTEGRITY is made with. */
static int
vec_key(const struct vec *v, uint8_t *key, size_t *keylen)
{
	int n;

	if (v->ulen == 0) {		/* short-term: the password */
		*keylen = strlen(v->password);
		memcpy(key, v->password, *keylen);
		return 0;
	}
	n = sl_stun_key_long_term(SL_STUN_PWALG_MD5, (const char *)v->user,
	    v->ulen, v->realm, strlen(v->realm), v->password,
	    strlen(v->password), key);
	if (n == -1)
		return -1;
	*keylen = (size_t)n;
	return 0;
}

/* The CRC-32 check value (ISO-HDLC: "123456789" -> 0xcbf43926). */
T_TEST(stun_crc32_check_value)
{
	T_EQ(stun_crc32(0, (const uint8_t *)"123456789", 9), 0xcbf43926u);
	T_EQ(stun_crc32(stun_crc32(0, (const uint8_t *)"1234", 4),
	    (const uint8_t *)"56789", 5), 0xcbf43926u);
	T_EQ(stun_crc32(0, NULL, 0), 0);
}

/* The file's key-hex is what the vector's credentials make. */
T_TEST(stun_rfc5769_keys)
{
	struct vec v[VEC_MAX];
	uint8_t key[SL_STUN_KEY_MAX];
	size_t keylen;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		T_EQ(vec_key(&v[i], key, &keylen), 0);
		T_EQ(keylen, v[i].keylen);
		T_CHECK(memcmp(key, v[i].key, keylen) == 0, "%s", v[i].name);
	}
	T_EQ(v[3].keylen, 16);			/* RFC 5769 2.4: MD5 */
}

T_TEST(stun_rfc5769_integrity_and_fingerprint)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		T_EQ(sl_stun_msg_parse(v[i].b, v[i].n, &m), SL_PARSE_OK);
		T_CHECK(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY,
		    v[i].key, v[i].keylen) == SL_STUN_CHECK_OK, "%s",
		    v[i].name);
		T_EQ(sl_stun_msg_integrity(&m,
		    SL_STUN_A_MESSAGE_INTEGRITY_SHA256, v[i].key, v[i].keylen),
		    SL_STUN_CHECK_ABSENT);
		T_EQ(sl_stun_msg_fingerprint(&m), i < 3 ? SL_STUN_CHECK_OK :
		    SL_STUN_CHECK_ABSENT);
	}
}

T_TEST(stun_rfc5769_wrong_password_fails)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	uint8_t key[SL_STUN_KEY_MAX];
	int n;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (int i = 0; i < 3; i++) {
		T_EQ(sl_stun_msg_parse(v[i].b, v[i].n, &m), SL_PARSE_OK);
		T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY,
		    (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBu", 22),
		    SL_STUN_CHECK_FAIL);
		T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY,
		    v[i].key, v[i].keylen - 1), SL_STUN_CHECK_FAIL);
	}
	/* 2.4 with the password before SASLprep's case is kept. */
	n = sl_stun_key_long_term(SL_STUN_PWALG_MD5, (const char *)v[3].user,
	    v[3].ulen, v[3].realm, strlen(v[3].realm), "TheMatrIx", 9, key);
	T_EQ(n, 16);
	T_EQ(sl_stun_msg_parse(v[3].b, v[3].n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY, key, 16),
	    SL_STUN_CHECK_FAIL);
	/* Nor does the short-term password work as a long-term key. */
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY,
	    (const uint8_t *)v[3].password, strlen(v[3].password)),
	    SL_STUN_CHECK_FAIL);
}

/*
 * Flip each byte.  Up to the end of MESSAGE-INTEGRITY (padding included)
 * the message no longer parses, or its integrity no longer checks (a
 * flipped attribute header may also make it absent); past it, integrity
 * still holds and the fingerprint fails.  The fingerprint covers every
 * byte before its own attribute.
 */
T_TEST(stun_rfc5769_every_tampered_byte_is_caught)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	int nv = load_vectors(v, VEC_MAX);

	T_EQ(nv, 4);
	for (int i = 0; i < nv; i++) {
		size_t mi, fp;

		T_EQ(sl_stun_msg_parse(v[i].b, v[i].n, &m), SL_PARSE_OK);
		mi = m.mi_off;
		fp = m.fp_off;
		for (size_t k = 0; k < v[i].n; k++) {
			uint8_t *c = vec_copy(v[i].b, v[i].n);
			enum sl_stun_check cmi, cfp;

			T_ASSERT(c != NULL);
			c[k] ^= 0x01;
			if (sl_stun_msg_parse(c, v[i].n, &m) != SL_PARSE_OK) {
				free(c);
				T_CHECK(k < mi + 4 || (fp != 0 && k >= fp),
				    "%s: byte %zu", v[i].name, k);
				continue;
			}
			cmi = sl_stun_msg_integrity(&m,
			    SL_STUN_A_MESSAGE_INTEGRITY, v[i].key,
			    v[i].keylen);
			cfp = sl_stun_msg_fingerprint(&m);
			free(c);
			if (k < mi + 24)
				T_CHECK(cmi != SL_STUN_CHECK_OK,
				    "%s: byte %zu: integrity", v[i].name, k);
			else
				T_EQ(cmi, SL_STUN_CHECK_OK);
			if (fp != 0)
				T_CHECK(cfp != SL_STUN_CHECK_OK,
				    "%s: byte %zu: fingerprint", v[i].name, k);
		}
	}
}

/* RFC 5769 2.4 pads with zeros, as the encoder does: byte for byte. */
T_TEST(stun_rfc5769_long_term_request_reencodes_exactly)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m;
	struct sl_stun_attr a;
	struct sl_stun_enc e;
	uint8_t b[256];
	size_t pos = 0;

	T_EQ(load_vectors(v, VEC_MAX), 4);
	T_EQ(sl_stun_msg_parse(v[3].b, v[3].n, &m), SL_PARSE_OK);
	sl_stun_enc_init(&e, b, sizeof(b), m.type, m.txid);
	while (sl_stun_attr_next(&m, &pos, &a) == 0) {
		if (a.type == SL_STUN_A_MESSAGE_INTEGRITY)
			sl_stun_enc_integrity(&e, a.type, v[3].key, 16);
		else
			sl_stun_enc_attr(&e, a.type, a.val, a.len);
	}
	T_EQ(sl_stun_enc_end(&e), (long)v[3].n);
	T_ASSERT(memcmp(b, v[3].b, v[3].n) == 0);
}

/*
 * 2.1-2.3 pad with spaces (RFC 5389 allowed any value), so a re-encoding
 * with zeros has other bytes and other values; they verify all the same.
 */
T_TEST(stun_rfc5769_short_term_reencode_verifies)
{
	struct vec v[VEC_MAX];
	struct sl_stun_msg m, r;
	struct sl_stun_attr a, ra;
	struct sl_stun_enc e;
	uint8_t b[256];

	T_EQ(load_vectors(v, VEC_MAX), 4);
	for (int i = 0; i < 3; i++) {
		size_t pos = 0, rpos = 0;

		T_EQ(sl_stun_msg_parse(v[i].b, v[i].n, &m), SL_PARSE_OK);
		sl_stun_enc_init(&e, b, sizeof(b), m.type, m.txid);
		while (sl_stun_attr_next(&m, &pos, &a) == 0) {
			if (a.type == SL_STUN_A_MESSAGE_INTEGRITY)
				sl_stun_enc_integrity(&e, a.type, v[i].key,
				    v[i].keylen);
			else if (a.type == SL_STUN_A_FINGERPRINT)
				sl_stun_enc_fingerprint(&e);
			else
				sl_stun_enc_attr(&e, a.type, a.val, a.len);
		}
		T_EQ(sl_stun_enc_end(&e), (long)v[i].n);
		T_ASSERT(memcmp(b, v[i].b, v[i].n) != 0);
		T_EQ(sl_stun_msg_parse(b, v[i].n, &r), SL_PARSE_OK);
		T_EQ(sl_stun_msg_integrity(&r, SL_STUN_A_MESSAGE_INTEGRITY,
		    v[i].key, v[i].keylen), SL_STUN_CHECK_OK);
		T_EQ(sl_stun_msg_fingerprint(&r), SL_STUN_CHECK_OK);
		pos = 0;
		while (sl_stun_attr_next(&m, &pos, &a) == 0) {
			T_EQ(sl_stun_attr_next(&r, &rpos, &ra), 0);
			T_EQ(ra.type, a.type);
			T_EQ(ra.len, a.len);
			T_EQ(ra.off, a.off);
		}
	}
}

T_TEST(stun_mi256_full_and_truncated)
{
	static const uint8_t key[] = "a long-term key, or a password";
	uint8_t b[256], mac[32];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	long n;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0003, txid);
	sl_stun_enc_attr(&e, SL_STUN_A_USERNAME, "alice", 5);
	sl_stun_enc_integrity(&e, SL_STUN_A_MESSAGE_INTEGRITY, key, 30);
	sl_stun_enc_integrity(&e, SL_STUN_A_MESSAGE_INTEGRITY_SHA256, key, 30);
	sl_stun_enc_fingerprint(&e);
	T_ASSERT((n = sl_stun_enc_end(&e)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY, key, 30),
	    SL_STUN_CHECK_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY_SHA256, key,
	    30), SL_STUN_CHECK_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY_SHA256, key,
	    29), SL_STUN_CHECK_FAIL);
	T_EQ(sl_stun_msg_fingerprint(&m), SL_STUN_CHECK_OK);
	/* Truncated to 16 (RFC 8489 14.6): the HMAC's first 16 bytes, with
	 * the header's length as if the 16-byte attribute ended it. */
	sl_stun_enc_init(&e, b, sizeof(b), 0x0003, txid);
	sl_stun_enc_attr(&e, SL_STUN_A_USERNAME, "alice", 5);
	sl_stun_enc_attr(&e, SL_STUN_A_MESSAGE_INTEGRITY_SHA256, mac, 16);
	T_ASSERT((n = sl_stun_enc_end(&e)) > 0);
	T_EQ(stun_integrity_mac(b, (size_t)n - 20,
	    SL_STUN_A_MESSAGE_INTEGRITY_SHA256, 16, key, 30, mac), 0);
	memcpy(b + n - 16, mac, 16);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY_SHA256, key,
	    30), SL_STUN_CHECK_OK);
	b[n - 1] ^= 1;
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY_SHA256, key,
	    30), SL_STUN_CHECK_FAIL);
}

/* An empty password is a key of length 0, not "no key". */
T_TEST(stun_integrity_with_empty_key)
{
	uint8_t b[64];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	long n;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	sl_stun_enc_integrity(&e, SL_STUN_A_MESSAGE_INTEGRITY,
	    (const uint8_t *)"", 0);
	T_ASSERT((n = sl_stun_enc_end(&e)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY,
	    (const uint8_t *)"", 0), SL_STUN_CHECK_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY,
	    (const uint8_t *)"x", 1), SL_STUN_CHECK_FAIL);
}

T_TEST(stun_absent_integrity_and_fingerprint)
{
	uint8_t b[64];
	struct sl_stun_enc e;
	struct sl_stun_msg m;
	long n;

	sl_stun_enc_init(&e, b, sizeof(b), 0x0001, txid);
	sl_stun_enc_attr(&e, SL_STUN_A_SOFTWARE, "x", 1);
	T_ASSERT((n = sl_stun_enc_end(&e)) > 0);
	T_EQ(sl_stun_msg_parse(b, (size_t)n, &m), SL_PARSE_OK);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_MESSAGE_INTEGRITY,
	    (const uint8_t *)"k", 1), SL_STUN_CHECK_ABSENT);
	T_EQ(sl_stun_msg_integrity(&m, SL_STUN_A_SOFTWARE,
	    (const uint8_t *)"k", 1), SL_STUN_CHECK_ABSENT);
	T_EQ(sl_stun_msg_fingerprint(&m), SL_STUN_CHECK_ABSENT);
}

/* RFC 8489 9.2.2 with PASSWORD-ALGORITHM SHA-256: a 32-byte key. */
T_TEST(stun_long_term_key_sha256)
{
	uint8_t key[SL_STUN_KEY_MAX], md5[SL_STUN_KEY_MAX];

	T_EQ(sl_stun_key_long_term(SL_STUN_PWALG_SHA256, "u", 1, "r", 1, "p",
	    1, key), 32);
	T_EQ(sl_stun_key_long_term(SL_STUN_PWALG_MD5, "u", 1, "r", 1, "p", 1,
	    md5), 16);
	T_ASSERT(memcmp(key, md5, 16) != 0);
	T_EQ(sl_stun_key_long_term((enum sl_stun_pwalg)3, "u", 1, "r", 1, "p",
	    1, key), -1);
}
