/*
 * integrity.c — MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT (RFC 8489 sections 14.5-14.7), and the long-term
 * credential key (9.2.2).
 *
 * Each value covers the message up to its own attribute, with the
 * header's length field set as if that attribute ended the message (the
 * attributes allowed after it were added later).  The buffer is const, so
 * the adjusted length is fed to the hash between the type and the cookie
 * instead of being written:
 *
 *   type(2) | adjusted length(2) | cookie, txid, attributes ... up to off
 *
 * HMACs go through OpenSSL's EVP_MAC (tls/ links the same libcrypto) and
 * are compared in constant time.  CRC-32 is computed here: zlib is not a
 * dependency, and sixteen table entries do it (a nibble at a time).
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "stun_int.h"

int
stun_integrity_mac(const uint8_t *msg, size_t off, uint16_t type,
    uint16_t alen, const uint8_t *key, size_t keylen, uint8_t *out)
{
	/* Not const: OSSL_PARAM takes char *. */
	char sha1[] = "SHA1", sha256[] = "SHA256";
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	uint8_t lenf[2];
	size_t outlen;
	int ok = 0;

	stun_put16(lenf, off - SL_STUN_HDR_LEN + 4 + alen);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    type == SL_STUN_A_MESSAGE_INTEGRITY ? sha1 : sha256, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
	    (ctx = EVP_MAC_CTX_new(mac)) != NULL &&
	    EVP_MAC_init(ctx, key, keylen, params) == 1 &&
	    EVP_MAC_update(ctx, msg, 2) == 1 &&
	    EVP_MAC_update(ctx, lenf, 2) == 1 &&
	    EVP_MAC_update(ctx, msg + 4, off - 4) == 1 &&
	    EVP_MAC_final(ctx, out, &outlen, 32) == 1)
		ok = 1;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -1;
}

enum sl_stun_check
sl_stun_msg_integrity(const struct sl_stun_msg *m, uint16_t type,
    const uint8_t *key, size_t keylen)
{
	uint8_t mac[32];
	size_t off;
	uint16_t alen;

	if (type == SL_STUN_A_MESSAGE_INTEGRITY)
		off = m->mi_off;
	else if (type == SL_STUN_A_MESSAGE_INTEGRITY_SHA256)
		off = m->mi256_off;
	else
		off = 0;
	if (off == 0)
		return SL_STUN_CHECK_ABSENT;
	/* The parse checked alen: 20, or 16 to 32 (a truncated SHA-256). */
	alen = stun_be16(m->buf + off + 2);
	if (stun_integrity_mac(m->buf, off, type, alen, key, keylen,
	    mac) == -1)
		return SL_STUN_CHECK_FAIL;
	return CRYPTO_memcmp(mac, m->buf + off + 4, alen) == 0 ?
	    SL_STUN_CHECK_OK : SL_STUN_CHECK_FAIL;
}

uint32_t
stun_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
	/* The reflected polynomial 0xedb88320, a nibble at a time. */
	static const uint32_t tab[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};

	crc = ~crc;
	while (n-- > 0) {
		crc ^= *p++;
		crc = crc >> 4 ^ tab[crc & 15];
		crc = crc >> 4 ^ tab[crc & 15];
	}
	return ~crc;
}

uint32_t
stun_fingerprint(const uint8_t *msg, size_t off)
{
	uint8_t lenf[2];
	uint32_t crc;

	stun_put16(lenf, off - SL_STUN_HDR_LEN + 8);
	crc = stun_crc32(0, msg, 2);
	crc = stun_crc32(crc, lenf, 2);
	crc = stun_crc32(crc, msg + 4, off - 4);
	return crc ^ STUN_FP_XOR;
}

enum sl_stun_check
sl_stun_msg_fingerprint(const struct sl_stun_msg *m)
{
	const uint8_t *v;
	uint32_t want;

	if (m->fp_off == 0)
		return SL_STUN_CHECK_ABSENT;
	v = m->buf + m->fp_off + 4;
	want = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
	    (uint32_t)v[2] << 8 | v[3];
	return stun_fingerprint(m->buf, m->fp_off) == want ?
	    SL_STUN_CHECK_OK : SL_STUN_CHECK_FAIL;
}

int
sl_stun_key_long_term(enum sl_stun_pwalg alg, const char *user, size_t ulen,
    const char *realm, size_t rlen, const char *pass, size_t plen,
    uint8_t *key)
{
	const EVP_MD *md;
	EVP_MD_CTX *ctx;
	unsigned int n = 0;
	int ok;

	if (alg == SL_STUN_PWALG_MD5)
		md = EVP_md5();
	else if (alg == SL_STUN_PWALG_SHA256)
		md = EVP_sha256();
	else
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, user, ulen) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	    EVP_DigestUpdate(ctx, realm, rlen) == 1 &&
	    EVP_DigestUpdate(ctx, ":", 1) == 1 &&
	    EVP_DigestUpdate(ctx, pass, plen) == 1 &&
	    EVP_DigestFinal_ex(ctx, key, &n) == 1;
	EVP_MD_CTX_free(ctx);
	return ok && n <= SL_STUN_KEY_MAX ? (int)n : -1;
}
