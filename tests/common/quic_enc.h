/*
 * quic_enc.h — a QUIC client Initial encoder for the tests of the reader
 * (tls/quic.c): the unit tests and the fuzz target protect their own
 * flights with it.  Header protection and AEAD_AES_128_GCM as RFC 9001
 * 5.3, 5.4.1 and 5.4.3 say, keys from tls_quic_keys() (checked against
 * the RFC's appendix A.1 by the unit tests).  Header-only, aborts on
 * misuse.
 */
#ifndef SL_TEST_QUIC_ENC_H
#define SL_TEST_QUIC_ENC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tls/tls.h"
#include "tls/tls_int.h"

#define QE_BUF_MAX	(24 * 1024)

/* The Destination Connection ID of RFC 9001 and RFC 9369 appendix A. */
static const uint8_t qe_rfc_dcid[] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51,
    0x57, 0x08 };

struct qe_buf {
	uint8_t	b[QE_BUF_MAX];
	size_t	n;
};

static inline void
qe_put(struct qe_buf *w, const void *p, size_t n)
{
	if (w->n + n > sizeof(w->b))
		abort();
	if (n > 0)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

/* v as n big-endian bytes. */
static inline void
qe_be(struct qe_buf *w, uint64_t v, size_t n)
{
	while (n-- > 0) {
		uint8_t c = (uint8_t)(v >> (8 * n));

		qe_put(w, &c, 1);
	}
}

/* A QUIC varint in its shortest form (RFC 9000 16). */
static inline void
qe_var(struct qe_buf *w, uint64_t v)
{
	if (v < 0x40)
		qe_be(w, v, 1);
	else if (v < 0x4000)
		qe_be(w, v | 0x4000, 2);
	else if (v < 0x40000000)
		qe_be(w, v | 0x80000000u, 4);
	else
		qe_be(w, v | 0xc000000000000000ull, 8);
}

static inline void
qe_crypto_frame(struct qe_buf *f, size_t off, const uint8_t *data, size_t n)
{
	qe_var(f, 6);
	qe_var(f, off);
	qe_var(f, n);
	qe_put(f, data, n);
}

/* One Initial packet to protect; zero fields take defaults. */
struct qe_pkt {
	uint32_t	 version;	/* 0: SL_TLS_QUIC_V1 */
	const uint8_t	*dcid;		/* NULL: qe_rfc_dcid */
	size_t		 dcid_len;
	size_t		 scid_len;
	size_t		 token_len;	/* of bytes 0x7a */
	uint32_t	 pn;
	size_t		 pn_len;	/* 0: 4 */
	uint8_t		 reserved;	/* 0x0c bits to set */
	int		 type;		/* 0: the version's Initial, else
					   1 + the type bits */
	size_t		 pad_to;	/* PADDING up to this datagram size */
	int		 fixed_clear;	/* the fixed bit 0 (RFC 9287 3.1) */
};

/*
 * Append the Initial p carrying frames f (plaintext, < 16 KiB) to the
 * datagram d: header (a 2-byte Length), the payload sealed with the
 * header as associated data, then header protection.
 */
static inline void
qe_initial(struct qe_buf *d, const struct qe_pkt *p, const struct qe_buf *f)
{
	static struct qe_buf pt;
	const uint8_t *dcid = p->dcid != NULL ? p->dcid : qe_rfc_dcid;
	size_t dcid_len = p->dcid != NULL ? p->dcid_len : sizeof(qe_rfc_dcid);
	uint32_t version = p->version ? p->version : SL_TLS_QUIC_V1;
	size_t pn_len = p->pn_len ? p->pn_len : 4, start = d->n, pn_off, hdr;
	uint8_t key[16], iv[12], hp[16], mask[32], *pkt;
	unsigned type = version == SL_TLS_QUIC_V2 ? 1 : 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	if (p->type)
		type = (unsigned)p->type - 1;
	if (ctx == NULL || tls_quic_keys(version, dcid, dcid_len, key, iv,
	    hp) == -1)
		abort();
	pt.n = 0;
	qe_put(&pt, f->b, f->n);
	hdr = 1 + 4 + 1 + dcid_len + 1 + p->scid_len +
	    (p->token_len < 0x40 ? 1 : 2) + p->token_len + 2 + pn_len;
	/* PADDING up to pad_to, and enough for the sample (5.4.2). */
	while (pt.n + pn_len < 4 || (p->pad_to > start + hdr + pt.n + 16 &&
	    pt.n < p->pad_to - start - hdr - 16))
		qe_be(&pt, 0, 1);
	qe_be(d, (p->fixed_clear ? 0x80 : 0xc0) | type << 4 | p->reserved |
	    (pn_len - 1), 1);
	qe_be(d, version, 4);
	qe_be(d, dcid_len, 1);
	qe_put(d, dcid, dcid_len);
	qe_be(d, p->scid_len, 1);
	for (size_t i = 0; i < p->scid_len; i++)
		qe_be(d, 0x5c, 1);
	qe_var(d, p->token_len);
	for (size_t i = 0; i < p->token_len; i++)
		qe_be(d, 0x7a, 1);
	qe_be(d, 0x4000 | (pn_len + pt.n + 16), 2);
	pn_off = d->n - start;
	qe_be(d, p->pn, pn_len);
	for (size_t i = 0; i < 8; i++)
		iv[11 - i] ^= (uint8_t)((uint64_t)p->pn >> (8 * i));
	if (d->n + pt.n + 16 > sizeof(d->b))
		abort();
	pkt = d->b + start;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &outl, pkt,
	    (int)(d->n - start)) != 1 ||
	    EVP_EncryptUpdate(ctx, d->b + d->n, &outl, pt.b, (int)pt.n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, d->b + d->n + pt.n, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    d->b + d->n + pt.n) != 1)
		abort();
	d->n += pt.n + 16;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, hp, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_EncryptUpdate(ctx, mask, &outl, pkt + pn_off + 4, 16) != 1)
		abort();
	pkt[0] ^= mask[0] & 0x0f;
	for (size_t i = 0; i < pn_len; i++)
		pkt[pn_off + i] ^= mask[1 + i];
	EVP_CIPHER_CTX_free(ctx);
}

static inline void
qe_ext(struct qe_buf *h, unsigned type, const struct qe_buf *body)
{
	qe_be(h, type, 2);
	qe_be(h, body->n, 2);
	qe_put(h, body->b, body->n);
}

/*
 * A QUIC client's hello (RFC 9001 8: TLS 1.3 only, empty session id,
 * quic_transport_parameters): SNI and one ALPN name when not NULL, an
 * X25519 share and, when pq, an X25519MLKEM768 share (0x11ec, 1216 bytes)
 * like Chrome's, which makes the hello span two Initial packets.
 */
static inline void
qe_hello(struct qe_buf *h, const char *sni, const char *alpn, int pq)
{
	static struct qe_buf e, x;
	size_t at;

	h->n = 0;
	qe_be(h, 1, 1);
	at = h->n;
	qe_be(h, 0, 3);
	qe_be(h, 0x0303, 2);
	for (unsigned i = 0; i < 32; i++)
		qe_be(h, 0x10 + i, 1);			/* random */
	qe_be(h, 0, 1);					/* session id */
	qe_be(h, 0x000413011302, 6);			/* 2 suites */
	qe_be(h, 0x0100, 2);				/* null compression */
	e.n = 0;
	if (sni != NULL) {
		x.n = 0;
		qe_be(&x, strlen(sni) + 3, 2);
		qe_be(&x, 0, 1);
		qe_be(&x, strlen(sni), 2);
		qe_put(&x, sni, strlen(sni));
		qe_ext(&e, 0, &x);
	}
	if (alpn != NULL) {
		x.n = 0;
		qe_be(&x, strlen(alpn) + 1, 2);
		qe_be(&x, strlen(alpn), 1);
		qe_put(&x, alpn, strlen(alpn));
		qe_ext(&e, 16, &x);
	}
	x.n = 0;
	qe_be(&x, 0x020304, 3);		/* supported_versions: 0x0304 */
	qe_ext(&e, 43, &x);
	x.n = 0;
	qe_be(&x, pq ? 32 + 4 + 1216 + 4 : 32 + 4, 2);
	if (pq) {
		qe_be(&x, 0x11ec, 2);
		qe_be(&x, 1216, 2);
		for (unsigned i = 0; i < 1216; i++)
			qe_be(&x, i * 7, 1);
	}
	qe_be(&x, 0x001d0020, 4);
	for (unsigned i = 0; i < 32; i++)
		qe_be(&x, 0x80 + i, 1);
	qe_ext(&e, 51, &x);
	x.n = 0;
	qe_be(&x, 0x0104000f4240, 6);	/* max_idle_timeout 1000000 */
	qe_ext(&e, 57, &x);
	qe_be(h, e.n, 2);
	qe_put(h, e.b, e.n);
	h->b[at] = (uint8_t)((h->n - 4) >> 16);
	h->b[at + 1] = (uint8_t)((h->n - 4) >> 8);
	h->b[at + 2] = (uint8_t)(h->n - 4);
}

#endif /* SL_TEST_QUIC_ENC_H */
