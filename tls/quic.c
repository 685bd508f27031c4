/*
 * quic.c — the ClientHello in a QUIC client's first flight (RFC 9000
 * sections 12, 17.2 and 19; RFC 9001 section 5; RFC 9369), so that a
 * UDP 443 session can be decided by SNI like a TCP one.
 *
 * Every client Initial is protected with keys anyone can derive from the
 * Destination Connection ID it carries (RFC 9001 5.2); the ClientHello
 * travels in CRYPTO frames, possibly split over several Initial packets
 * (Chrome's post-quantum hello takes two datagrams), coalesced in one
 * datagram (RFC 9000 12.2) or not, arriving in any order:
 *
 *   datagram: [Initial pn 0 |Initial pn 1 |0-RTT ...]   [Initial pn 2 ...]
 *                 |              |                           |
 *   CRYPTO:   [off 0 .. 1100)  [1100 .. 1200)            [1200 .. 1811)
 *             \___________ struct sl_tls_quic: crypto[], seen[] ________/
 *                               -> sl_tls_peek_hello()
 *
 * Per packet: header protection off (AES-128-ECB on a sample of the
 * ciphertext, RFC 9001 5.4), then the payload decrypted (AES-128-GCM)
 * through a small window on the stack and its frames walked as they come
 * out (struct pt_rd), so no packet size needs a buffer of its size.  The
 * frames are acted on before the tag is checked at the end of the packet;
 * that is safe because any failure is final (BAD) for the whole flight,
 * and a frame error in a packet whose tag fails is reported as the
 * decryption failure it really is.
 *
 * Packet numbers are taken as sent (RFC 9000 A.3 with no packet received
 * yet): a first flight numbers its packets from 0, and the result does not
 * depend on the order datagrams arrive in.
 *
 * Reasons (q->err):
 *   NOT_MINE   empty short_header not_quic version_negotiation
 *              unknown_version not_initial
 *   BAD        short_datagram cid_length packet_length crypto_failed
 *              decrypt_failed reserved_bits no_frames frame_type
 *              frame_truncated too_large crypto_conflict not_client_hello
 *              trailing_data too_many_datagrams, and the hello's own
 *              (tls/peek.c)
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "../lib/attr.h"
#include "../lib/rd.h"
#include "tls_int.h"

#define QUIC_FORM_LONG		0x80
#define QUIC_SAMPLE		16	/* RFC 9001 5.4.2 */
#define QUIC_TAG		16	/* AEAD_AES_128_GCM */
#define QUIC_PN_MAX		4
#define QUIC_HS_HDR		4	/* handshake type + 24-bit length */
#define QUIC_HS_CLIENT_HELLO	1

/* Frame types allowed in a client Initial (RFC 9000 12.4, table 3). */
#define QUIC_FT_PADDING		0x00
#define QUIC_FT_PING		0x01
#define QUIC_FT_ACK		0x02
#define QUIC_FT_ACK_ECN		0x03
#define QUIC_FT_CRYPTO		0x06

/* What differs between the versions read (RFC 9369 section 3). */
struct quic_version {
	uint32_t	 version;
	uint8_t		 initial;	/* long header type bits of Initial */
	uint8_t		 salt[20];	/* RFC 9001 5.2, RFC 9369 3.3.1 */
	const char	*key, *iv, *hp;	/* HKDF labels, RFC 9369 3.3.2 */
};

static const struct quic_version quic_versions[] = {
	{ SL_TLS_QUIC_V1, 0, { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
	    0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb,
	    0x7f, 0x0a }, "quic key", "quic iv", "quic hp" },
	{ SL_TLS_QUIC_V2, 1, { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6,
	    0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd,
	    0x2e, 0xd9 }, "quicv2 key", "quicv2 iv", "quicv2 hp" },
};

/* The version-independent fields of a long header (RFC 8999 5.1). */
struct quic_pkt {
	const uint8_t	*start;
	uint32_t	 version;
	uint8_t		 type;		/* (byte 0 >> 4) & 3 */
	const uint8_t	*dcid;
	uint8_t		 dcid_len;
	uint8_t		 scid_len;
};

/*
 * A decrypting reader over one packet's payload: ciphertext goes through
 * EVP in window-sized steps and is read a byte or a run at a time.
 */
struct pt_rd {
	EVP_CIPHER_CTX	*ctx;
	const uint8_t	*ct;		/* not decrypted yet */
	size_t		 ctlen;
	size_t		 at, n;		/* win[at..n) is unread plaintext */
	int		 failed;	/* EVP said no */
	uint8_t		 win[256];
};

static enum sl_parse_rc
quic_verdict(struct sl_tls_quic *q, enum sl_parse_rc rc, const char *why)
{
	q->err = why;
	return rc;
}

static const struct quic_version *
quic_version_find(uint32_t v)
{
	for (size_t i = 0; i < SL_NELEM(quic_versions); i++)
		if (quic_versions[i].version == v)
			return &quic_versions[i];
	return NULL;
}

/* Variable-length integers (RFC 9000 16): the length is in the first
   byte's top two bits. */
#define QUIC_VARINT_LEN(b)	((size_t)1 << ((b) >> 6))

static uint64_t
quic_varint_value(const uint8_t *p)
{
	uint64_t v = p[0] & 0x3f;

	for (size_t i = 1; i < QUIC_VARINT_LEN(p[0]); i++)
		v = v << 8 | p[i];
	return v;
}

static int
quic_varint(struct sl_rd *r, uint64_t *v)
{
	const uint8_t *p;

	if (sl_rd_left(r) == 0 ||
	    sl_rd_bytes(r, QUIC_VARINT_LEN(r->p[0]), &p) == -1)
		return -1;
	*v = quic_varint_value(p);
	return 0;
}

/* HKDF-Expand-Label with an empty context (RFC 8446 7.1). */
static int
quic_expand(EVP_KDF_CTX *kctx, const uint8_t *secret, const char *label,
    uint8_t *out, size_t len)
{
	static const char prefix[] = "tls13 ";
	uint8_t info[2 + 1 + 255 + 1];
	size_t ll = strlen(label), n = 0;
	OSSL_PARAM p[5];
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;

	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)(sizeof(prefix) - 1 + ll);
	memcpy(info + n, prefix, sizeof(prefix) - 1);
	n += sizeof(prefix) - 1;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0;
	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)secret, 32);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	p[4] = OSSL_PARAM_construct_end();
	EVP_KDF_CTX_reset(kctx);
	return EVP_KDF_derive(kctx, out, len, p) == 1 ? 0 : -1;
}

/*
 * The client's Initial keys for v (RFC 9001 5.1 and 5.2): initial_secret
 * = HKDF-Extract(salt, dcid), client_initial_secret = Expand-Label(it,
 * "client in"), then key, iv and hp with the version's labels.
 */
static int
quic_keys(const struct quic_version *v, const uint8_t *dcid, size_t dcid_len,
    uint8_t key[16], uint8_t iv[12], uint8_t hp[16])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	uint8_t initial[32], client[32];
	OSSL_PARAM p[5];
	int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY, rc = -1;
	/* A zero-length IKM is legal (an Initial after a Retry may carry an
	   empty DCID) but OpenSSL wants a key: HMAC pads it with zeros
	   anyway (RFC 2104 section 2), so one zero byte is the same key. */
	static const uint8_t zero[1];

	if (kctx == NULL)
		goto out;
	p[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)(uintptr_t)"SHA256", 0);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)(uintptr_t)(dcid_len > 0 ? dcid : zero),
	    dcid_len > 0 ? dcid_len : 1);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)v->salt, sizeof(v->salt));
	p[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, initial, sizeof(initial), p) != 1 ||
	    quic_expand(kctx, initial, "client in", client, 32) == -1 ||
	    quic_expand(kctx, client, v->key, key, 16) == -1 ||
	    quic_expand(kctx, client, v->iv, iv, 12) == -1 ||
	    quic_expand(kctx, client, v->hp, hp, 16) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(initial, sizeof(initial));
	OPENSSL_cleanse(client, sizeof(client));
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	return rc;
}

int
tls_quic_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len,
    uint8_t key[16], uint8_t iv[12], uint8_t hp[16])
{
	const struct quic_version *v = quic_version_find(version);

	if (v == NULL || quic_keys(v, dcid, dcid_len, key, iv, hp) == -1) {
		tls_err_clear();
		return -1;
	}
	return 0;
}

/* --- the decrypting reader ---------------------------------------------- */

static int
pt_more(struct pt_rd *r)
{
	size_t k = SL_MIN(r->ctlen, sizeof(r->win));
	int outl;

	if (k == 0 || r->failed)
		return -1;
	/* GCM is a stream mode: OpenSSL returns every byte it is given. */
	if (EVP_DecryptUpdate(r->ctx, r->win, &outl, r->ct, (int)k) != 1 ||
	    (size_t)outl != k) {
		r->failed = 1;
		return -1;
	}
	r->ct += k;
	r->ctlen -= k;
	r->at = 0;
	r->n = k;
	return 0;
}

static int
pt_u8(struct pt_rd *r, uint8_t *v)
{
	if (r->at == r->n && pt_more(r) == -1)
		return -1;
	*v = r->win[r->at++];
	return 0;
}

static int
pt_varint(struct pt_rd *r, uint64_t *v)
{
	uint8_t b[8];

	if (pt_u8(r, &b[0]) == -1)
		return -1;
	for (size_t i = 1; i < QUIC_VARINT_LEN(b[0]); i++)
		if (pt_u8(r, &b[i]) == -1)
			return -1;
	*v = quic_varint_value(b);
	return 0;
}

/* The plaintext not yet read, decrypted and dropped (the tag needs it). */
static void
pt_drain(struct pt_rd *r)
{
	while (pt_more(r) == 0)
		;
	r->at = r->n;
}

/* --- CRYPTO stream reassembly ------------------------------------------ */

/*
 * Place n bytes at stream offset off (off + n <= the cap, checked).  A
 * byte received twice must be the same byte (RFC 9000 19.6: data at a
 * given offset MUST NOT change); otherwise a hello could read one way
 * here and another at the server.
 */
static const char *
crypto_put(struct sl_tls_quic *q, size_t off, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t at = off + i;
		uint8_t bit = (uint8_t)(1u << (at & 7));

		if (q->seen[at >> 3] & bit) {
			if (q->crypto[at] != p[i])
				return "crypto_conflict";
			continue;
		}
		q->crypto[at] = p[i];
		q->seen[at >> 3] |= bit;
	}
	if (off + n > q->end)
		q->end = off + n;
	return NULL;
}

/* CRYPTO frame (RFC 9000 19.6), its type read. */
static const char *
frame_crypto(struct sl_tls_quic *q, struct pt_rd *r)
{
	uint64_t off, len;
	const char *err;

	if (pt_varint(r, &off) == -1 || pt_varint(r, &len) == -1)
		return "frame_truncated";
	/* Both are below 2^62: the sum cannot wrap. */
	if (off + len > SL_TLS_QUIC_CRYPTO_MAX)
		return "too_large";
	while (len > 0) {
		size_t k;

		if (r->at == r->n && pt_more(r) == -1)
			return "frame_truncated";
		k = SL_MIN((size_t)len, r->n - r->at);
		err = crypto_put(q, (size_t)off, r->win + r->at, k);
		if (err != NULL)
			return err;
		r->at += k;
		off += k;
		len -= k;
	}
	return NULL;
}

/* ACK frame (RFC 9000 19.3), its type read: checked and skipped. */
static const char *
frame_ack(struct pt_rd *r, int ecn)
{
	uint64_t v, ranges;

	/* Largest Acknowledged, ACK Delay, ACK Range Count. */
	if (pt_varint(r, &v) == -1 || pt_varint(r, &v) == -1 ||
	    pt_varint(r, &ranges) == -1)
		return "frame_truncated";
	/* First ACK Range, then (Gap, ACK Range Length) per range: each
	   takes bytes, so a huge count runs out of payload soon. */
	if (pt_varint(r, &v) == -1)
		return "frame_truncated";
	for (uint64_t i = 0; i < ranges; i++)
		if (pt_varint(r, &v) == -1 || pt_varint(r, &v) == -1)
			return "frame_truncated";
	for (int i = 0; ecn && i < 3; i++)	/* ECT0, ECT1, ECN-CE */
		if (pt_varint(r, &v) == -1)
			return "frame_truncated";
	return NULL;
}

/*
 * The frames of one Initial payload.  Only those a client may send in an
 * Initial before it has heard from the server count; CONNECTION_CLOSE is
 * refused too (a client giving up has nothing to decide).  Frame types
 * are varints sent in their shortest form (RFC 9000 12.4), so a first
 * byte of 0x40 or more is never one of these.
 */
static const char *
quic_frames(struct sl_tls_quic *q, struct pt_rd *r)
{
	const char *err = NULL;
	unsigned nframes = 0;
	uint8_t type;

	while (err == NULL && pt_u8(r, &type) == 0) {
		nframes++;
		switch (type) {
		case QUIC_FT_PADDING:
		case QUIC_FT_PING:
			break;
		case QUIC_FT_ACK:
		case QUIC_FT_ACK_ECN:
			err = frame_ack(r, type == QUIC_FT_ACK_ECN);
			break;
		case QUIC_FT_CRYPTO:
			err = frame_crypto(q, r);
			break;
		default:
			err = "frame_type";
			break;
		}
	}
	if (err == NULL && nframes == 0)
		err = "no_frames";		/* RFC 9000 12.4 */
	return err;
}

/* --- packets ------------------------------------------------------------ */

/*
 * Remove header protection (RFC 9001 5.4.1, 5.4.3) and the packet
 * protection (5.3) of the Initial at pkt, plen bytes long, whose packet
 * number starts at pn_off (pn_off + 4 + 16 <= plen, checked), and read
 * its frames.  NULL, or the reason.
 */
static const char *
quic_open(struct sl_tls_quic *q, EVP_CIPHER_CTX *ctx, const uint8_t *pkt,
    size_t pn_off, size_t plen)
{
	uint8_t mask[QUIC_SAMPLE + 16], first, pn[QUIC_PN_MAX], nonce[12];
	uint8_t tag[QUIC_TAG];
	struct pt_rd r;
	const char *err;
	size_t pn_len;
	uint64_t num = 0;
	int outl;

	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, q->hp,
	    NULL) != 1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, mask, &outl, pkt + pn_off + QUIC_PN_MAX,
	    QUIC_SAMPLE) != 1 || outl != QUIC_SAMPLE)
		return "crypto_failed";
	first = (uint8_t)(pkt[0] ^ (mask[0] & 0x0f));
	pn_len = (size_t)(first & 3) + 1;
	for (size_t i = 0; i < pn_len; i++) {
		pn[i] = pkt[pn_off + i] ^ mask[1 + i];
		num = num << 8 | pn[i];
	}
	memcpy(nonce, q->iv, sizeof(nonce));
	for (size_t i = 0; i < 8; i++)
		nonce[sizeof(nonce) - 1 - i] ^= (uint8_t)(num >> (8 * i));
	memcpy(tag, pkt + plen - QUIC_TAG, QUIC_TAG);
	/* The header as unprotected is the associated data (5.3). */
	if (EVP_DecryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, q->key,
	    nonce) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, &first, 1) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, pkt + 1,
	    (int)pn_off - 1) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &outl, pn, (int)pn_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, QUIC_TAG, tag) != 1)
		return "crypto_failed";
	r.ctx = ctx;
	r.ct = pkt + pn_off + pn_len;
	r.ctlen = plen - pn_off - pn_len - QUIC_TAG;
	r.at = r.n = 0;
	r.failed = 0;
	err = quic_frames(q, &r);
	pt_drain(&r);
	if (r.failed)
		return "crypto_failed";
	if (EVP_DecryptFinal_ex(ctx, r.win, &outl) != 1)
		return "decrypt_failed";
	if (err != NULL)
		return err;
	/* Reserved bits, now authenticated (RFC 9000 17.2). */
	if (first & 0x0c)
		return "reserved_bits";
	return NULL;
}

/* The invariant fields of a long header (RFC 8999 5.1).  0 or -1. */
static int
quic_long(struct sl_rd *r, struct quic_pkt *p)
{
	uint8_t b;

	p->start = r->p;
	if (sl_rd_u8(r, &b) == -1 || !(b & QUIC_FORM_LONG) ||
	    sl_rd_be32(r, &p->version) == -1 ||
	    sl_rd_u8(r, &p->dcid_len) == -1 ||
	    sl_rd_bytes(r, p->dcid_len, &p->dcid) == -1 ||
	    sl_rd_u8(r, &p->scid_len) == -1 || sl_rd_skip(r, p->scid_len) == -1)
		return -1;
	/* The fixed bit (0x40) may be 0 (RFC 9287 3.1): not checked. */
	p->type = (b >> 4) & 3;
	return 0;
}

/*
 * The rest of an Initial after its connection IDs (RFC 9000 17.2.2):
 * token, Length, then the protected packet.  r is left after it.
 */
static const char *
quic_initial(struct sl_tls_quic *q, EVP_CIPHER_CTX *ctx, struct sl_rd *r,
    const struct quic_pkt *p)
{
	uint64_t tlen, len;
	size_t pn_off;

	if (p->scid_len > SL_TLS_QUIC_CID_MAX)
		return "cid_length";
	if (quic_varint(r, &tlen) == -1 || sl_rd_skip(r, tlen) == -1 ||
	    quic_varint(r, &len) == -1 || len > sl_rd_left(r) ||
	    len < QUIC_PN_MAX + QUIC_SAMPLE)
		return "packet_length";
	pn_off = (size_t)(r->p - p->start);
	(void)sl_rd_skip(r, len);
	return quic_open(q, ctx, p->start, pn_off, pn_off + (size_t)len);
}

/*
 * The first packet of the first datagram: is this a client starting a
 * QUIC v1/v2 connection?  MORE if it is (keys derived), else the verdict.
 */
static enum sl_parse_rc
quic_first(struct sl_tls_quic *q, const struct quic_pkt *p, size_t dlen)
{
	const struct quic_version *v;

	q->version = p->version;
	if (p->version == 0)
		return quic_verdict(q, SL_PARSE_NOT_MINE,
		    "version_negotiation");
	if ((v = quic_version_find(p->version)) == NULL) {
		/* RFC 9000 6.1 and 14.1: a server answers an unknown version
		   with Version Negotiation only in a datagram this large. */
		q->vn = dlen >= SL_TLS_QUIC_DGRAM_MIN;
		return quic_verdict(q, SL_PARSE_NOT_MINE, "unknown_version");
	}
	if (p->type != v->initial)
		return quic_verdict(q, SL_PARSE_NOT_MINE, "not_initial");
	if (p->dcid_len > SL_TLS_QUIC_CID_MAX)
		return quic_verdict(q, SL_PARSE_BAD, "cid_length");
	/* Before the keys: refusing a small datagram costs nothing. */
	if (dlen < SL_TLS_QUIC_DGRAM_MIN)
		return quic_verdict(q, SL_PARSE_BAD, "short_datagram");
	memcpy(q->dcid, p->dcid, p->dcid_len);
	q->dcid_len = p->dcid_len;
	if (quic_keys(v, q->dcid, q->dcid_len, q->key, q->iv, q->hp) == -1) {
		tls_err_clear();
		return quic_verdict(q, SL_PARSE_BAD, "crypto_failed");
	}
	q->have_keys = 1;
	return SL_PARSE_MORE;
}

/* Is p an Initial of this client's connection (version and DCID)? */
static int
quic_ours(const struct sl_tls_quic *q, const struct quic_pkt *p)
{
	const struct quic_version *v = quic_version_find(q->version);

	return p->version == q->version && p->type == v->initial &&
	    p->dcid_len == q->dcid_len &&
	    memcmp(p->dcid, q->dcid, q->dcid_len) == 0;
}

/*
 * The packets of one datagram.  In the first one the first packet says
 * whether this is QUIC at all; after that, packets that are not Initials
 * of this connection are passed over (RFC 9000 12.2: a receiver SHOULD
 * ignore coalesced packets with another DCID; 0-RTT and Handshake packets
 * follow the Initials and carry nothing for us), and a datagram that
 * starts with one is ignored.
 */
static enum sl_parse_rc
quic_datagram(struct sl_tls_quic *q, const uint8_t *dgram, size_t len)
{
	EVP_CIPHER_CTX *ctx = NULL;
	struct quic_pkt p;
	struct sl_rd r;
	enum sl_parse_rc rc = SL_PARSE_MORE;
	const char *err;

	sl_rd_init(&r, dgram, len);
	for (unsigned i = 0; rc == SL_PARSE_MORE && sl_rd_left(&r) > 0; i++) {
		if (quic_long(&r, &p) == -1) {
			if (i > 0 || q->have_keys)
				break;		/* short header, junk: done */
			rc = quic_verdict(q, SL_PARSE_NOT_MINE,
			    (dgram[0] & QUIC_FORM_LONG) ? "not_quic" :
			    "short_header");
			break;
		}
		if (!q->have_keys &&
		    (rc = quic_first(q, &p, len)) != SL_PARSE_MORE)
			break;
		if (!quic_ours(q, &p))
			break;
		if (len < SL_TLS_QUIC_DGRAM_MIN) {
			rc = quic_verdict(q, SL_PARSE_BAD, "short_datagram");
			break;
		}
		if (ctx == NULL && (ctx = EVP_CIPHER_CTX_new()) == NULL) {
			rc = quic_verdict(q, SL_PARSE_BAD, "crypto_failed");
			break;
		}
		if ((err = quic_initial(q, ctx, &r, &p)) != NULL)
			rc = quic_verdict(q, SL_PARSE_BAD, err);
	}
	EVP_CIPHER_CTX_free(ctx);
	tls_err_clear();
	return rc;
}

/* After a datagram: is the hello whole, and does it hold together? */
static enum sl_parse_rc
quic_hello(struct sl_tls_quic *q)
{
	enum sl_parse_rc rc;

	while (q->contig < SL_TLS_QUIC_CRYPTO_MAX &&
	    (q->seen[q->contig >> 3] & (1u << (q->contig & 7))))
		q->contig++;
	if ((q->seen[0] & 1) && q->crypto[0] != QUIC_HS_CLIENT_HELLO)
		return quic_verdict(q, SL_PARSE_BAD, "not_client_hello");
	if (q->need == 0 && q->contig >= QUIC_HS_HDR) {
		q->need = QUIC_HS_HDR + ((size_t)q->crypto[1] << 16 |
		    (size_t)q->crypto[2] << 8 | q->crypto[3]);
		if (q->need > SL_TLS_QUIC_CRYPTO_MAX)
			return quic_verdict(q, SL_PARSE_BAD, "too_large");
	}
	/* In its Initials a client sends its ClientHello and nothing after
	   it until the server answers (RFC 9001 4.1.3). */
	if (q->need > 0 && q->end > q->need)
		return quic_verdict(q, SL_PARSE_BAD, "trailing_data");
	if (q->need == 0 || q->contig < q->need)
		return SL_PARSE_MORE;
	rc = sl_tls_peek_hello(q->crypto, q->need, &q->hello);
	return quic_verdict(q, rc, q->hello.err);
}

void
sl_tls_quic_init(struct sl_tls_quic *q)
{
	/* The bitmap must start clear; crypto[] is written before read. */
	memset(q, 0, offsetof(struct sl_tls_quic, crypto));
	q->rc = SL_PARSE_MORE;
}

enum sl_parse_rc
sl_tls_quic_parse(struct sl_tls_quic *q, const uint8_t *dgram, size_t len)
{
	enum sl_parse_rc rc;

	if (q->rc != SL_PARSE_MORE)
		return q->rc;
	if (len == 0 && q->ndgrams == 0)
		rc = quic_verdict(q, SL_PARSE_NOT_MINE, "empty");
	else if (++q->ndgrams > SL_TLS_QUIC_DGRAMS_MAX)
		rc = quic_verdict(q, SL_PARSE_BAD, "too_many_datagrams");
	else if ((rc = quic_datagram(q, dgram, len)) == SL_PARSE_MORE)
		rc = quic_hello(q);
	q->rc = rc;
	return rc;
}
