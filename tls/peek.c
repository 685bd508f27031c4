/*
 * peek.c — ClientHello peeking for classification (RFC 8446 sections 4.1.2,
 * 4.2 and 5.1; RFC 6066 section 3; RFC 7301; RFC 8701).
 *
 * The proxy reads a new flow's first bytes into a buffer of its own (recv(),
 * not MSG_PEEK: proxy/setup.c) and calls sl_tls_peek_parse() with
 * everything it has so far; nothing is kept between calls.  The bytes are
 * not lost: the relay sends that buffer to the server before anything else,
 * so "peek" here means the parser consumes nothing.  Two passes over the
 * same buffer:
 *
 *   1. peek_records() walks the record headers and the handshake header
 *      (which may itself be split across records) and answers MORE until
 *      the records that carry the whole ClientHello are there.
 *   2. peek_hello() parses the ClientHello through struct hs_rd, a bounded
 *      cursor that steps over the record headers interleaved with the
 *      message, so a hello split over many records is neither copied nor
 *      allocated.  lib/rd.h cannot do this: it reads contiguous bytes.
 *
 *   buf:  [hdr|frag 1 ......][hdr|frag 2 ..][hdr|frag 3 .......][early data
 *              \____________________ one handshake message ____/
 *         \_________________________ consumed ____________________/
 *
 * sl_tls_peek_hello() runs pass 2 alone on a handshake message that came
 * without records: QUIC carries the ClientHello in CRYPTO frames (RFC
 * 9001 section 4), which tls/quic.c reassembles.
 *
 * Verdicts come as early as the bytes allow, so classification needs few
 * bytes: the first byte alone rules out HTTP, SSH, STUN and most binary
 * protocols.  Every check looks only at bytes that are there and runs in
 * wire order, so a verdict other than MORE on a prefix is the verdict on
 * any longer buffer too.  Error strings are static, short and stable: the
 * flow log prints them as the reason.
 *
 * SSLv2-compatible hellos (RFC 5246 appendix E.2) are BAD, not NOT_MINE:
 * they cannot carry SNI, and treating them as opaque would let a client
 * that still speaks them past an inspect rule untouched.
 *
 * Reasons for BAD (out->err), by layer:
 *   records    too_large record_type record_version empty_record
 *              record_overflow trailing_data not_client_hello sslv2_hello
 *   hello      short_hello hello_version session_id cipher_suites
 *              compression_methods extensions_length extension_length
 *              extension_duplicate psk_not_last
 *   SNI        sni_list sni_entry sni_duplicate sni_empty sni_too_long sni_nul
 *   others     alpn_list alpn_entry alpn_empty supported_versions
 */
#include <string.h>

#include "../lib/attr.h"
#include "tls.h"

#define PEEK_REC_HDR		5
/*
 * Largest record accepted.  RFC 8446 section 5.1 caps plaintext records
 * at 2^14; the extra 2048 (the RFC 5246 ciphertext allowance) is slack for
 * old stacks.  A server enforces the real limit; the peek only classifies.
 */
#define PEEK_REC_MAX		((1u << 14) + 2048)
#define PEEK_CT_HANDSHAKE	22
#define PEEK_HS_CLIENT_HELLO	1
#define PEEK_HS_HDR		4

/* Extension types (IANA TLS ExtensionType registry). */
#define PEEK_EXT_SNI		0
#define PEEK_EXT_ALPN		16
#define PEEK_EXT_PSK		41
#define PEEK_EXT_VERSIONS	43
#define PEEK_EXT_ECH		0xfe0d

/*
 * A cursor over one handshake structure whose bytes are spread over
 * consecutive records.  len bounds the structure; frag counts what is left
 * of the current record's fragment.  When frag runs out, the next record
 * header is at p: pass 1 checked it and that the record is complete.
 */
struct hs_rd {
	const uint8_t	*p;
	size_t		 frag;
	size_t		 len;
};

/* Seen extension types: a short list first, a full bitmap past it. */
struct ext_seen {
	uint16_t	 few[16];
	unsigned	 n;
	uint8_t		 bits[65536 / 8]; /* cleared when first needed */
};

static enum sl_parse_rc
peek_bad(struct sl_tls_hello *out, const char *why)
{
	out->err = why;
	return SL_PARSE_BAD;
}

/* RFC 8701: 0x0a0a, 0x1a1a, ... 0xfafa. */
static int
peek_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* Move n bytes (n <= r->len, checked by the caller), copying if dst. */
static void
hs_take(struct hs_rd *r, uint8_t *dst, size_t n)
{
	r->len -= n;
	if (SL_LIKELY(n <= r->frag)) {	/* the usual case: one record */
		if (dst != NULL)
			memcpy(dst, r->p, n);
		r->p += n;
		r->frag -= n;
		return;
	}
	while (n > 0) {
		size_t k;

		if (r->frag == 0) {
			r->frag = (size_t)r->p[3] << 8 | r->p[4];
			r->p += PEEK_REC_HDR;
		}
		k = SL_MIN(n, r->frag);
		if (dst != NULL) {
			memcpy(dst, r->p, k);
			dst += k;
		}
		r->p += k;
		r->frag -= k;
		n -= k;
	}
}

static int
hs_skip(struct hs_rd *r, size_t n)
{
	if (r->len < n)
		return -1;
	hs_take(r, NULL, n);
	return 0;
}

static int
hs_copy(struct hs_rd *r, void *dst, size_t n)
{
	if (r->len < n)
		return -1;
	hs_take(r, dst, n);
	return 0;
}

static int
hs_u8(struct hs_rd *r, uint8_t *v)
{
	return hs_copy(r, v, 1);
}

static int
hs_be16(struct hs_rd *r, uint16_t *v)
{
	uint8_t b[2];

	if (SL_LIKELY(r->len >= 2 && r->frag >= 2)) {
		*v = (uint16_t)(r->p[0] << 8 | r->p[1]);
		r->p += 2;
		r->frag -= 2;
		r->len -= 2;
		return 0;
	}
	if (hs_copy(r, b, 2) == -1)
		return -1;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return 0;
}

/* Split off the next n bytes as their own cursor and advance past them. */
static int
hs_sub(struct hs_rd *r, size_t n, struct hs_rd *sub)
{
	if (r->len < n)
		return -1;
	*sub = *r;
	sub->len = n;
	hs_take(r, NULL, n);
	return 0;
}

/* 0 if type is new, -1 if it was seen before (RFC 8446 section 4.2). */
static int
ext_seen_add(struct ext_seen *s, uint16_t type)
{
	unsigned i;

	if (s->n < SL_NELEM(s->few)) {
		for (i = 0; i < s->n; i++)
			if (s->few[i] == type)
				return -1;
		s->few[s->n++] = type;
		return 0;
	}
	if (s->n == SL_NELEM(s->few)) {
		/* Rare: more extensions than real clients send.  Switch
		   to the bitmap rather than scan quadratically. */
		memset(s->bits, 0, sizeof(s->bits));
		for (i = 0; i < s->n; i++)
			s->bits[s->few[i] >> 3] |=
			    (uint8_t)(1u << (s->few[i] & 7));
	}
	s->n++;
	if (s->bits[type >> 3] & (1u << (type & 7)))
		return -1;
	s->bits[type >> 3] |= (uint8_t)(1u << (type & 7));
	return 0;
}

/*
 * Check the record header bytes that are there (n <= 5).  The first
 * record decides whether this is TLS at all; a later one must continue
 * the handshake.  Returns -1 if nothing is wrong so far, else a verdict.
 */
static int
peek_rec_hdr(const uint8_t *h, size_t n, int first, struct sl_tls_hello *out)
{
	size_t rlen;

	if (n >= 1 && h[0] != PEEK_CT_HANDSHAKE)
		return first ? SL_PARSE_NOT_MINE : peek_bad(out, "record_type");
	/* Record layer versions 0x0300..0x0304 (SSL 3.0 to TLS 1.3). */
	if ((n >= 2 && h[1] != 3) || (n >= 3 && h[2] > 4))
		return first ? SL_PARSE_NOT_MINE :
		    peek_bad(out, "record_version");
	if (n < PEEK_REC_HDR)
		return -1;
	rlen = (size_t)h[3] << 8 | h[4];
	if (rlen == 0)		/* RFC 8446 5.1: no empty handshake */
		return peek_bad(out, "empty_record");
	if (rlen > PEEK_REC_MAX)
		return peek_bad(out, "record_overflow");
	return -1;
}

/*
 * SSLv2 CLIENT-HELLO framing (RFC 5246 E.2): 2-byte length with the top
 * bit set, msg_type 1, version 0x0002 or 0x0300..0x0304.  Anything else
 * starting with a high byte is some other protocol.
 */
static enum sl_parse_rc
peek_sslv2(const uint8_t *buf, size_t len, struct sl_tls_hello *out)
{
	if (len >= 3 && buf[2] != 1)
		return SL_PARSE_NOT_MINE;
	if (len >= 4 && buf[3] != 0 && buf[3] != 3)
		return SL_PARSE_NOT_MINE;
	if (len >= 5 && (buf[3] == 0 ? buf[4] != 2 : buf[4] > 4))
		return SL_PARSE_NOT_MINE;
	if (len < 5)
		return SL_PARSE_MORE;
	return peek_bad(out, "sslv2_hello");
}

/*
 * Pass 1: walk records until the handshake message is complete.  On OK,
 * *need holds its length with the header and out->consumed the bytes of
 * the records that carry it.
 */
static enum sl_parse_rc
peek_records(const uint8_t *buf, size_t len, size_t cap, size_t *need,
    struct sl_tls_hello *out)
{
	size_t off = 0, have = 0, nhdr = 0;
	uint8_t hs[PEEK_HS_HDR];
	int rc;

	*need = 0;
	if (len > 0 && (buf[0] & 0x80))
		return peek_sslv2(buf, len, out);
	for (;;) {
		const uint8_t *rec = buf + off;
		size_t avail = len - off, rlen, fav, rest;

		/*
		 * Another record is needed: check the cap before its header
		 * so that a buffer cut at the cap and a longer one give the
		 * same reason.
		 */
		rest = nhdr == PEEK_HS_HDR ? *need - have : 1;
		if (off > 0 && off + PEEK_REC_HDR + rest > cap)
			return peek_bad(out, "too_large");
		rc = peek_rec_hdr(rec, SL_MIN(avail, PEEK_REC_HDR), off == 0,
		    out);
		if (rc != -1)
			return (enum sl_parse_rc)rc;
		if (avail < PEEK_REC_HDR)
			return SL_PARSE_MORE;
		rlen = (size_t)rec[3] << 8 | rec[4];
		if (off == 0)
			out->record_version = (uint16_t)(rec[1] << 8 | rec[2]);
		/* The hello ends with this record or a later one. */
		if (off + PEEK_REC_HDR + rlen > cap)
			return peek_bad(out, "too_large");
		fav = SL_MIN(rlen, avail - PEEK_REC_HDR);
		for (size_t i = 0; nhdr < PEEK_HS_HDR && i < fav; i++)
			hs[nhdr++] = rec[PEEK_REC_HDR + i];
		if (nhdr > 0 && hs[0] != PEEK_HS_CLIENT_HELLO)
			return peek_bad(out, "not_client_hello");
		if (nhdr == PEEK_HS_HDR) {
			*need = PEEK_HS_HDR + ((size_t)hs[1] << 16 |
			    (size_t)hs[2] << 8 | hs[3]);
			/*
			 * Nothing may follow the hello in its last record: the
			 * client's next handshake message comes after a key
			 * change (RFC 8446 5.1), and servers refuse it.
			 */
			if (have + rlen > *need)
				return peek_bad(out, "trailing_data");
			/* Reject an oversized claim now, not after 16 KiB. */
			rest = *need - have;
			if (off + PEEK_REC_HDR + rest +
			    (rest > rlen ? PEEK_REC_HDR : 0) > cap)
				return peek_bad(out, "too_large");
		}
		if (fav < rlen)
			return SL_PARSE_MORE;
		have += rlen;
		off += PEEK_REC_HDR + rlen;
		if (nhdr == PEEK_HS_HDR && have == *need) {
			out->consumed = off;
			return SL_PARSE_OK;
		}
	}
}

/* server_name (RFC 6066 section 3): the host_name, lowercased. */
static enum sl_parse_rc
peek_ext_sni(struct hs_rd *ext, struct sl_tls_hello *out)
{
	struct hs_rd name;
	uint16_t n;
	uint8_t type;

	/* ServerNameList <1..2^16-1> filling the extension exactly. */
	if (hs_be16(ext, &n) == -1 || n != ext->len || n == 0)
		return peek_bad(out, "sni_list");
	while (ext->len > 0) {
		/* Every NameType so far is length-prefixed like host_name;
		   skipping unknown ones that way is what servers do. */
		if (hs_u8(ext, &type) == -1 || hs_be16(ext, &n) == -1 ||
		    hs_sub(ext, n, &name) == -1)
			return peek_bad(out, "sni_entry");
		if (type != 0)
			continue;
		/* "MUST NOT contain more than one name of the same
		   name_type": a second one could differ from what the
		   server picks. */
		if (out->has_sni)
			return peek_bad(out, "sni_duplicate");
		if (n == 0)
			return peek_bad(out, "sni_empty");
		if (n > SL_TLS_SNI_MAX)
			return peek_bad(out, "sni_too_long");
		(void)hs_copy(&name, out->sni, n);
		out->sni[n] = '\0';
		if (memchr(out->sni, '\0', n) != NULL)
			return peek_bad(out, "sni_nul");
		for (size_t i = 0; i < n; i++)
			if (out->sni[i] >= 'A' && out->sni[i] <= 'Z')
				out->sni[i] = (char)(out->sni[i] - 'A' + 'a');
		out->has_sni = 1;
	}
	return SL_PARSE_OK;
}

/*
 * ALPN (RFC 7301 section 3.1): every name is checked; the first
 * SL_TLS_ALPN_MAX that fit are kept.  Names longer than
 * SL_TLS_ALPN_LEN_MAX are skipped rather than truncated (a prefix would be
 * another protocol), as are names with a NUL (not representable) and
 * GREASE names (RFC 8701 section 3.1: meaningless by design).
 */
static enum sl_parse_rc
peek_ext_alpn(struct hs_rd *ext, struct sl_tls_hello *out)
{
	struct hs_rd name;
	uint16_t n;
	uint8_t plen;
	char *dst;

	if (hs_be16(ext, &n) == -1 || n != ext->len || n < 2)
		return peek_bad(out, "alpn_list");
	out->has_alpn = 1;
	while (ext->len > 0) {
		if (hs_u8(ext, &plen) == -1 || hs_sub(ext, plen, &name) == -1)
			return peek_bad(out, "alpn_entry");
		if (plen == 0)
			return peek_bad(out, "alpn_empty");
		if (out->nalpn == SL_TLS_ALPN_MAX || plen > SL_TLS_ALPN_LEN_MAX)
			continue;
		dst = out->alpn[out->nalpn];
		(void)hs_copy(&name, dst, plen);
		dst[plen] = '\0';
		if (memchr(dst, '\0', plen) != NULL || (plen == 2 &&
		    peek_is_grease((uint16_t)((uint8_t)dst[0] << 8 |
		    (uint8_t)dst[1])))) {
			dst[0] = '\0';
			continue;
		}
		out->nalpn++;
	}
	return SL_PARSE_OK;
}

/* supported_versions, client form (RFC 8446 section 4.2.1). */
static enum sl_parse_rc
peek_ext_versions(struct hs_rd *ext, struct sl_tls_hello *out)
{
	uint16_t v, best = 0;
	uint8_t n;

	if (hs_u8(ext, &n) == -1 || n != ext->len || n < 2 || (n & 1))
		return peek_bad(out, "supported_versions");
	while (hs_be16(ext, &v) == 0)
		if (!peek_is_grease(v) && v > best)
			best = v;
	if (best != 0)
		out->max_version = best;
	return SL_PARSE_OK;
}

/* The extensions block (RFC 8446 section 4.2), exactly filling *exts. */
static enum sl_parse_rc
peek_exts(struct hs_rd *exts, struct sl_tls_hello *out)
{
	struct ext_seen seen;
	struct hs_rd ext;
	enum sl_parse_rc rc = SL_PARSE_OK;
	uint16_t type, n;

	seen.n = 0;
	while (exts->len > 0 && rc == SL_PARSE_OK) {
		if (hs_be16(exts, &type) == -1 || hs_be16(exts, &n) == -1 ||
		    hs_sub(exts, n, &ext) == -1)
			return peek_bad(out, "extension_length");
		if (ext_seen_add(&seen, type) == -1)
			return peek_bad(out, "extension_duplicate");
		switch (type) {
		case PEEK_EXT_SNI:
			rc = peek_ext_sni(&ext, out);
			break;
		case PEEK_EXT_ALPN:
			rc = peek_ext_alpn(&ext, out);
			break;
		case PEEK_EXT_VERSIONS:
			rc = peek_ext_versions(&ext, out);
			break;
		case PEEK_EXT_ECH:
			out->has_ech = 1;
			break;
		case PEEK_EXT_PSK:
			/* RFC 8446 4.2.11: servers MUST check it is last. */
			if (exts->len != 0)
				return peek_bad(out, "psk_not_last");
			break;
		default:
			break;		/* GREASE and the rest: opaque */
		}
	}
	return rc;
}

/* Pass 2: the ClientHello body (RFC 8446 section 4.1.2). */
static enum sl_parse_rc
peek_hello(struct hs_rd *r, struct sl_tls_hello *out)
{
	struct hs_rd exts;
	uint16_t n16;
	uint8_t n8;

	if (hs_be16(r, &out->legacy_version) == -1 || hs_skip(r, 32) == -1)
		return peek_bad(out, "short_hello");
	/* 0x0300 (SSL 3.0) up to whatever a future client puts here: the
	   server negotiates down (RFC 5246 appendix E.1). */
	if (out->legacy_version >> 8 != 3)
		return peek_bad(out, "hello_version");
	out->max_version = out->legacy_version;
	if (hs_u8(r, &n8) == -1 || n8 > 32 || hs_skip(r, n8) == -1)
		return peek_bad(out, "session_id");
	if (hs_be16(r, &n16) == -1 || n16 < 2 || (n16 & 1) ||
	    hs_skip(r, n16) == -1)
		return peek_bad(out, "cipher_suites");
	if (hs_u8(r, &n8) == -1 || n8 < 1 || hs_skip(r, n8) == -1)
		return peek_bad(out, "compression_methods");
	/* Pre-TLS-1.3 clients may omit the block (RFC 5246 7.4.1.2). */
	if (r->len == 0)
		return SL_PARSE_OK;
	if (hs_be16(r, &n16) == -1 || n16 != r->len ||
	    hs_sub(r, n16, &exts) == -1)
		return peek_bad(out, "extensions_length");
	return peek_exts(&exts, out);
}

/* Pass 2 on a whole handshake message behind r (header included). */
static enum sl_parse_rc
peek_message(struct hs_rd *r, struct sl_tls_hello *out)
{
	enum sl_parse_rc rc;

	(void)hs_skip(r, PEEK_HS_HDR);
	rc = peek_hello(r, out);
	if (rc != SL_PARSE_OK) {
		/* Half-filled results must not look usable. */
		const char *err = out->err;

		memset(out, 0, sizeof(*out));
		out->err = err;
	}
	return rc;
}

enum sl_parse_rc
sl_tls_peek_parse(const uint8_t *buf, size_t len, size_t cap,
    struct sl_tls_hello *out)
{
	struct hs_rd r;
	enum sl_parse_rc rc;
	size_t need;

	memset(out, 0, sizeof(*out));
	rc = peek_records(buf, len, cap, &need, out);
	/* The caller reads at most cap bytes: MORE would wait forever.
	   (Reached only with a cap shorter than a record header.) */
	if (rc == SL_PARSE_MORE && len >= cap)
		return peek_bad(out, "too_large");
	if (rc != SL_PARSE_OK)
		return rc;
	r.p = buf + PEEK_REC_HDR;
	r.frag = (size_t)buf[3] << 8 | buf[4];
	r.len = need;
	return peek_message(&r, out);
}

enum sl_parse_rc
sl_tls_peek_hello(const uint8_t *msg, size_t len, struct sl_tls_hello *out)
{
	struct hs_rd r;
	size_t need;

	memset(out, 0, sizeof(*out));
	if (len >= 1 && msg[0] != PEEK_HS_CLIENT_HELLO)
		return peek_bad(out, "not_client_hello");
	if (len < PEEK_HS_HDR)
		return SL_PARSE_MORE;
	need = PEEK_HS_HDR + ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 |
	    msg[3]);
	if (len < need)
		return SL_PARSE_MORE;
	if (len > need)
		return peek_bad(out, "trailing_data");
	out->consumed = need;
	/* One "record" spanning the message: hs_take never looks for a
	   record header. */
	r.p = msg;
	r.frag = need;
	r.len = need;
	return peek_message(&r, out);
}
