/*
 * peek_test.c — ClientHello peeking (tls/peek.c): real hellos captured
 * from openssl s_client (tests/data/tls/gen.sh) and hellos synthesised by
 * the builder below, fed whole, truncated, split across records and
 * corrupted.  Every parse runs on an exactly-sized heap copy so that an
 * over-read is an ASan error in `make test-san`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attr.h"
#include "tls/tls.h"
#include "tests/common/exact.h"
#include "tests/unit/t.h"

#define CAP	(64 * 1024)
#define MSG_MAX	(80 * 1024)
#define PEEK_REC_HDR_T	5	/* bytes in a record header */

static char why[512];		/* what a helper found wrong */

/* Parse a copy in a block of exactly n bytes (ASan: no over-read). */
static enum sl_parse_rc
parse(const uint8_t *b, size_t n, size_t cap, struct sl_tls_hello *h)
{
	uint8_t *copy = exact_copy(b, n);
	enum sl_parse_rc rc = sl_tls_peek_parse(copy, n, cap, h);

	free(copy);
	return rc;
}

/*
 * Feed every prefix: all must be MORE, the whole must give want.  The
 * result of the whole parse is left in *h.  Returns -1 and fills why.
 */
static int
prefixes_then(const uint8_t *b, size_t n, size_t cap, enum sl_parse_rc want,
    struct sl_tls_hello *h)
{
	enum sl_parse_rc rc;

	for (size_t k = 0; k < n; k++) {
		if ((rc = parse(b, k, cap, h)) != SL_PARSE_MORE) {
			snprintf(why, sizeof(why), "prefix %zu/%zu: rc %d (%s)",
			    k, n, rc, h->err ? h->err : "-");
			return -1;
		}
	}
	if ((rc = parse(b, n, cap, h)) != want) {
		snprintf(why, sizeof(why), "whole %zu: rc %d, want %d (%s)", n,
		    rc, want, h->err ? h->err : "-");
		return -1;
	}
	return 0;
}

/*
 * A verdict never changes once given: every prefix is MORE up to some
 * length, and from there on every longer prefix, the whole included,
 * gives the same verdict and reason, which must be want.
 */
static int
verdict_is_stable(const uint8_t *b, size_t n, size_t cap,
    enum sl_parse_rc want, struct sl_tls_hello *h)
{
	enum sl_parse_rc first = SL_PARSE_MORE, rc;
	const char *err = NULL;
	size_t at = 0;

	for (size_t k = 0; k <= n; k++) {
		rc = parse(b, k, cap, h);
		if (first == SL_PARSE_MORE && rc != SL_PARSE_MORE) {
			first = rc;
			err = h->err;
			at = k;
		} else if (first != SL_PARSE_MORE && (rc != first ||
		    h->err != err)) {
			snprintf(why, sizeof(why), "prefix %zu: rc %d (%s) "
			    "after rc %d (%s) at %zu", k, rc,
			    h->err ? h->err : "-", first, err ? err : "-", at);
			return -1;
		}
	}
	if (first != want) {
		snprintf(why, sizeof(why), "rc %d (%s), want %d", first,
		    err ? err : "-", want);
		return -1;
	}
	return 0;
}

/* Same hello, possibly framed differently: all but consumed must match. */
static int
same_hello(const struct sl_tls_hello *a, const struct sl_tls_hello *b)
{
	struct sl_tls_hello x = *a, y = *b;

	x.consumed = y.consumed = 0;
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* --- builder ------------------------------------------------------------ */

struct msg {
	uint8_t	b[MSG_MAX];
	size_t	n;
	size_t	hs_at;		/* 24-bit handshake length */
	size_t	ext_at;		/* 16-bit extensions length */
	size_t	sni_at;		/* server_name extension, if any */
};

static void
put(struct msg *m, const void *p, size_t n)
{
	if (m->n + n > sizeof(m->b))
		abort();
	if (n == 0)
		return;			/* p may be NULL */
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
put8(struct msg *m, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(m, &b, 1);
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v);
}

static void
fill16(struct msg *m, size_t at)
{
	size_t n = m->n - at - 2;

	m->b[at] = (uint8_t)(n >> 8);
	m->b[at + 1] = (uint8_t)n;
}

/* Handshake header, version, random, session id, suites, compression. */
static void
hello_begin(struct msg *m, int grease)
{
	static const unsigned suites[] = { 0x1301, 0x1302, 0x1303, 0xc02b,
	    0xc02f, 0x009e };

	memset(m, 0, sizeof(*m));
	m->sni_at = SIZE_MAX;
	put8(m, 1);
	m->hs_at = m->n;
	put8(m, 0);
	put16(m, 0);
	put16(m, 0x0303);
	for (unsigned i = 0; i < 32; i++)
		put8(m, 0xa0 + i);		/* random */
	put8(m, 32);
	for (unsigned i = 0; i < 32; i++)
		put8(m, 0x40 + i);		/* legacy_session_id */
	put16(m, (unsigned)(2 * (SL_NELEM(suites) + (grease ? 1 : 0))));
	if (grease)
		put16(m, 0x3a3a);
	for (size_t i = 0; i < SL_NELEM(suites); i++)
		put16(m, suites[i]);
	put8(m, 1);
	put8(m, 0);
	m->ext_at = m->n;
	put16(m, 0);
}

static void
hello_end(struct msg *m)
{
	size_t n = m->n - m->hs_at - 3;

	fill16(m, m->ext_at);
	m->b[m->hs_at] = (uint8_t)(n >> 16);
	m->b[m->hs_at + 1] = (uint8_t)(n >> 8);
	m->b[m->hs_at + 2] = (uint8_t)n;
}

static void
ext_raw(struct msg *m, unsigned type, const void *data, size_t n)
{
	put16(m, type);
	put16(m, (unsigned)n);
	put(m, data, n);
}

static void
ext_sni(struct msg *m, const char *name, size_t n)
{
	m->sni_at = m->n;
	put16(m, 0);
	put16(m, (unsigned)(n + 5));
	put16(m, (unsigned)(n + 3));
	put8(m, 0);
	put16(m, (unsigned)n);
	put(m, name, n);
}

/* ALPN from a NULL-terminated list. */
static void
ext_alpn(struct msg *m, const char *const *protos)
{
	size_t at;

	put16(m, 16);
	at = m->n;
	put16(m, 0);
	put16(m, 0);
	for (; *protos != NULL; protos++) {
		put8(m, (unsigned)strlen(*protos));
		put(m, *protos, strlen(*protos));
	}
	fill16(m, at + 2);
	fill16(m, at);
}

static void
ext_versions(struct msg *m, const unsigned *v, size_t n)
{
	put16(m, 43);
	put16(m, (unsigned)(1 + 2 * n));
	put8(m, (unsigned)(2 * n));
	for (size_t i = 0; i < n; i++)
		put16(m, v[i]);
}

/* A browser-like hello: SNI, ALPN h2 + http/1.1, TLS 1.3 and 1.2. */
static void
hello_basic(struct msg *m, const char *sni)
{
	static const char *const alpn[] = { "h2", "http/1.1", NULL };
	static const unsigned vers[] = { 0x0304, 0x0303 };
	static const uint8_t groups[] = { 0, 4, 0, 0x1d, 0, 0x17 };

	hello_begin(m, 0);
	if (sni != NULL)
		ext_sni(m, sni, strlen(sni));
	ext_raw(m, 10, groups, sizeof(groups));
	ext_alpn(m, alpn);
	ext_versions(m, vers, SL_NELEM(vers));
	hello_end(m);
}

/*
 * Frame a handshake message as records: frag[i] bytes in record i (the
 * last record takes the rest).  The first record says 0x0301 like real
 * clients, later ones 0x0303.  Returns the length written to out.
 */
static size_t
records(const struct msg *m, const size_t *frag, size_t nfrag, uint8_t *out)
{
	size_t off = 0, o = 0;

	for (size_t i = 0; off < m->n; i++) {
		size_t k = i < nfrag && frag[i] < m->n - off ? frag[i] :
		    m->n - off;

		out[o++] = 22;
		out[o++] = 3;
		out[o++] = i == 0 ? 1 : 3;
		out[o++] = (uint8_t)(k >> 8);
		out[o++] = (uint8_t)k;
		memcpy(out + o, m->b + off, k);
		o += k;
		off += k;
	}
	return o;
}

static size_t
one_record(const struct msg *m, uint8_t *out)
{
	return records(m, NULL, 0, out);
}

/* --- real hellos from openssl s_client ---------------------------------- */

static const char *const captures[] = {
	"tests/data/tls/openssl-tls13-sni-alpn.bin",
	"tests/data/tls/openssl-tls12-sni-alpn.bin",
	"tests/data/tls/openssl-default-nosni.bin",
};

T_TEST(peek_openssl_tls13_hello_sni_alpn)
{
	struct sl_tls_hello h;
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(captures[0], &n);

	T_ASSERT(b != NULL);
	T_EQ(parse(b, n, CAP, &h), SL_PARSE_OK);
	T_EQ(h.consumed, n);
	T_EQ(h.record_version, 0x0301);
	T_EQ(h.legacy_version, 0x0303);
	T_EQ(h.max_version, 0x0304);
	T_ASSERT(h.has_sni);
	/* s_client sent "Peek.Example.TEST": reported lowercased. */
	T_STREQ(h.sni, "peek.example.test");
	T_ASSERT(h.has_alpn);
	T_EQ(h.nalpn, 2);
	T_STREQ(h.alpn[0], "h2");
	T_STREQ(h.alpn[1], "http/1.1");
	T_ASSERT(!h.has_ech);
	free(b);
}

T_TEST(peek_openssl_tls12_hello_has_no_tls13)
{
	struct sl_tls_hello h;
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(captures[1], &n);

	T_ASSERT(b != NULL);
	T_EQ(parse(b, n, CAP, &h), SL_PARSE_OK);
	T_EQ(h.consumed, n);
	T_EQ(h.legacy_version, 0x0303);
	T_EQ(h.max_version, 0x0303);
	T_STREQ(h.sni, "www.example.test");
	T_EQ(h.nalpn, 2);
	T_STREQ(h.alpn[0], "h2");
	T_STREQ(h.alpn[1], "http/1.1");
	free(b);
}

T_TEST(peek_openssl_hello_without_sni_or_alpn)
{
	struct sl_tls_hello h;
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(captures[2], &n);

	T_ASSERT(b != NULL);
	T_EQ(parse(b, n, CAP, &h), SL_PARSE_OK);
	T_EQ(h.consumed, n);
	T_ASSERT(!h.has_sni);
	T_STREQ(h.sni, "");
	T_ASSERT(!h.has_alpn);
	T_EQ(h.nalpn, 0);
	T_EQ(h.max_version, 0x0304);
	free(b);
}

T_TEST(peek_openssl_hellos_every_truncation_is_more)
{
	struct sl_tls_hello h, whole;

	for (size_t f = 0; f < SL_NELEM(captures); f++) {
		size_t n;
		uint8_t *b = (uint8_t *)t_slurp(captures[f], &n);

		T_ASSERT(b != NULL);
		T_EQ(parse(b, n, CAP, &whole), SL_PARSE_OK);
		T_CHECK(prefixes_then(b, n, CAP, SL_PARSE_OK, &h) == 0,
		    "%s: %s", captures[f], why);
		T_ASSERT(memcmp(&h, &whole, sizeof(h)) == 0);
		free(b);
	}
}

/*
 * Re-frame a captured single-record hello at every split point: the
 * result must not depend on how the client cut it into records.
 */
T_TEST(peek_openssl_hellos_split_at_every_offset_equal_unsplit)
{
	static struct msg m;
	static uint8_t out[MSG_MAX + 4096];
	struct sl_tls_hello whole, h;

	for (size_t f = 0; f < SL_NELEM(captures); f++) {
		size_t n;
		uint8_t *b = (uint8_t *)t_slurp(captures[f], &n);

		T_ASSERT(b != NULL && n > 5 && n - 5 == (size_t)(b[3] << 8 |
		    b[4]));
		T_EQ(parse(b, n, CAP, &whole), SL_PARSE_OK);
		memset(&m, 0, sizeof(m));
		put(&m, b + 5, n - 5);
		for (size_t k = 1; k < m.n; k++) {
			size_t frag[1] = { k }, o = records(&m, frag, 1, out);

			T_CHECK(parse(out, o, CAP, &h) == SL_PARSE_OK,
			    "%s split at %zu: %s", captures[f], k,
			    h.err ? h.err : "not ok");
			T_EQ(h.consumed, o);
			T_ASSERT(same_hello(&h, &whole));
		}
		free(b);
	}
}

/*
 * Every byte of a real hello replaced by a few values.  The records are
 * intact except where the byte is a record or handshake length, so only
 * those bytes may turn the verdict into MORE, and only the first three
 * (content type, version) into NOT_MINE; everything else is OK or BAD,
 * and never reads out of bounds.
 */
T_TEST(peek_openssl_hello_every_byte_corruption_is_bounded)
{
	struct sl_tls_hello h;
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(captures[0], &n);

	T_ASSERT(b != NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t orig = b[i];
		const uint8_t vals[] = { 0x00, 0xff, (uint8_t)(orig ^ 1),
		    (uint8_t)(orig + 1), (uint8_t)(orig - 1),
		    (uint8_t)(orig ^ 0x80) };

		for (size_t v = 0; v < sizeof(vals); v++) {
			enum sl_parse_rc rc;

			if (vals[v] == orig)
				continue;
			b[i] = vals[v];
			rc = parse(b, n, CAP, &h);
			b[i] = orig;
			if (rc == SL_PARSE_MORE)
				T_CHECK(i == 3 || i == 4 || (i >= 6 && i <= 8),
				    "byte %zu=0x%02x: MORE", i, vals[v]);
			if (rc == SL_PARSE_NOT_MINE)
				T_CHECK(i <= 2, "byte %zu=0x%02x: NOT_MINE", i,
				    vals[v]);
			if (rc == SL_PARSE_BAD)
				T_CHECK(h.err != NULL, "byte %zu: no err", i);
			if (rc == SL_PARSE_OK) {
				T_ASSERT(h.consumed <= n);
				T_ASSERT(strlen(h.sni) <= SL_TLS_SNI_MAX);
				T_ASSERT(h.nalpn <= SL_TLS_ALPN_MAX);
			}
		}
	}
	free(b);
}

/*
 * The same corruptions fed as a growing buffer: whatever the verdict, it
 * is given once and never changes as more bytes arrive.
 */
T_TEST(peek_openssl_hello_corrupted_verdicts_are_stable)
{
	struct sl_tls_hello h;
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(captures[1], &n);

	T_ASSERT(b != NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t orig = b[i];
		const uint8_t vals[] = { 0x00, 0xff, (uint8_t)(orig + 1),
		    (uint8_t)(orig - 1) };

		for (size_t v = 0; v < sizeof(vals); v++) {
			if (vals[v] == orig)
				continue;
			b[i] = vals[v];
			T_CHECK(verdict_is_stable(b, n, CAP,
			    parse(b, n, CAP, &h), &h) == 0,
			    "byte %zu=0x%02x: %s", i, vals[v], why);
			b[i] = orig;
		}
	}
	free(b);
}

/* Record and handshake lengths off by one, in both directions. */
T_TEST(peek_outer_length_off_by_one)
{
	struct sl_tls_hello h;
	size_t n;
	uint8_t *b = (uint8_t *)t_slurp(captures[0], &n);

	T_ASSERT(b != NULL);
	b[4]++;			/* record: one byte past the hello */
	T_EQ(parse(b, n, CAP, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "trailing_data");
	b[4] -= 2;		/* last hello byte read as a record header */
	T_EQ(parse(b, n, CAP, &h), SL_PARSE_BAD);
	b[4]++;
	b[8]++;			/* hello: one byte more, wait for it */
	T_EQ(parse(b, n, CAP, &h), SL_PARSE_MORE);
	b[8] -= 2;		/* hello ends before its record does */
	T_EQ(parse(b, n, CAP, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "trailing_data");
	free(b);
}

/* --- synthesised hellos ------------------------------------------------- */

T_TEST(peek_synth_basic_hello)
{
	static struct msg m;
	static uint8_t out[MSG_MAX + 4096];
	struct sl_tls_hello h;
	size_t o;

	hello_basic(&m, "api.Example.test");
	o = one_record(&m, out);
	T_CHECK(prefixes_then(out, o, CAP, SL_PARSE_OK, &h) == 0, "%s", why);
	T_EQ(h.consumed, o);
	T_STREQ(h.sni, "api.example.test");
	T_EQ(h.nalpn, 2);
	T_EQ(h.max_version, 0x0304);
}

T_TEST(peek_sni_split_across_three_records)
{
	static struct msg m;
	static uint8_t one[MSG_MAX + 4096], three[MSG_MAX + 4096];
	struct sl_tls_hello a, b;
	size_t n1, n3;

	hello_basic(&m, "split.example.test");
	n1 = one_record(&m, one);
	T_EQ(parse(one, n1, CAP, &a), SL_PARSE_OK);
	/* Cut inside the handshake header, then inside the SNI name. */
	for (size_t k1 = 1; k1 < m.n - 1; k1 += 7) {
		for (size_t k2 = 1; k1 + k2 < m.n; k2 += 3) {
			size_t frag[2] = { k1, k2 };

			n3 = records(&m, frag, 2, three);
			T_EQ(n3, n1 + 10);
			T_CHECK(parse(three, n3, CAP, &b) == SL_PARSE_OK,
			    "split %zu+%zu: %s", k1, k2, b.err ? b.err : "?");
			T_EQ(b.consumed, n3);
			T_ASSERT(same_hello(&a, &b));
		}
	}
	/* And the classic one: fed byte by byte, MORE until complete. */
	{
		size_t frag[2] = { 2, m.sni_at + 9 };

		n3 = records(&m, frag, 2, three);
		T_CHECK(prefixes_then(three, n3, CAP, SL_PARSE_OK, &b) == 0,
		    "%s", why);
		T_STREQ(b.sni, "split.example.test");
	}
}

T_TEST(peek_one_byte_records)
{
	static struct msg m;
	static size_t frag[MSG_MAX];
	static uint8_t out[6 * MSG_MAX / 4];
	struct sl_tls_hello a, b;
	size_t n;

	hello_basic(&m, "bytes.example.test");
	n = one_record(&m, out);
	T_EQ(parse(out, n, CAP, &a), SL_PARSE_OK);
	for (size_t i = 0; i < m.n; i++)
		frag[i] = 1;
	n = records(&m, frag, m.n, out);
	T_EQ(n, 6 * m.n);
	T_CHECK(prefixes_then(out, n, CAP, SL_PARSE_OK, &b) == 0, "%s", why);
	T_EQ(b.consumed, n);
	T_ASSERT(same_hello(&a, &b));
}

T_TEST(peek_grease_everywhere)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	static const char *const alpn[] = { "\x2a\x2a", "h2", NULL };
	static const unsigned vers[] = { 0xfafa, 0x0304, 0x0303, 0x7a7a };
	struct sl_tls_hello h;
	size_t o;

	hello_begin(&m, 1);
	ext_raw(&m, 0x0a0a, NULL, 0);
	ext_sni(&m, "grease.test", 11);
	ext_alpn(&m, alpn);
	ext_versions(&m, vers, SL_NELEM(vers));
	ext_raw(&m, 0x1a1a, "\0", 1);
	hello_end(&m);
	o = one_record(&m, out);
	T_CHECK(prefixes_then(out, o, CAP, SL_PARSE_OK, &h) == 0, "%s", why);
	T_EQ(h.max_version, 0x0304);	/* not 0xfafa */
	T_EQ(h.nalpn, 1);		/* the GREASE name is not a protocol */
	T_STREQ(h.alpn[0], "h2");
	T_STREQ(h.sni, "grease.test");
}

T_TEST(peek_ech_extension_sets_has_ech)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	static const uint8_t ech[] = { 0, 0, 1, 0, 1, 7, 0, 2, 0xaa, 0xbb,
	    0, 3, 1, 2, 3 };
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	ext_sni(&m, "public.example.test", 19);
	ext_raw(&m, 0xfe0d, ech, sizeof(ech));
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_ASSERT(h.has_ech);
	T_STREQ(h.sni, "public.example.test");	/* the outer SNI */
}

T_TEST(peek_no_sni_no_extensions_at_all)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello h;

	/* TLS 1.0-era hello: the extensions block is absent. */
	hello_begin(&m, 0);
	m.n -= 2;
	m.ext_at = SIZE_MAX;
	{
		size_t n = m.n - m.hs_at - 3;

		m.b[m.hs_at + 1] = (uint8_t)(n >> 8);
		m.b[m.hs_at + 2] = (uint8_t)n;
	}
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_ASSERT(!h.has_sni && !h.has_alpn && !h.has_ech);
	T_EQ(h.max_version, 0x0303);
}

T_TEST(peek_20k_hello_over_records_up_to_cap)
{
	static struct msg m;
	static uint8_t pad[20 * 1024], out[MSG_MAX + 4096];
	struct sl_tls_hello h;
	size_t frag[2] = { 1000, 16000 }, o;

	hello_begin(&m, 0);
	ext_sni(&m, "big.example.test", 16);
	ext_raw(&m, 21, pad, sizeof(pad));	/* padding (RFC 7685) */
	hello_end(&m);
	o = records(&m, frag, 2, out);
	T_ASSERT(o > 20 * 1024 + 15);
	T_EQ(parse(out, o, CAP, &h), SL_PARSE_OK);
	T_EQ(h.consumed, o);
	T_STREQ(h.sni, "big.example.test");
	T_EQ(parse(out, o, o, &h), SL_PARSE_OK);	/* cap exactly */
	T_EQ(parse(out, o, o - 1, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "too_large");
	/* At 16 KiB it is refused from its first 9 bytes, not after 16 KiB. */
	T_EQ(parse(out, 9, 16 * 1024, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "too_large");
	T_EQ(parse(out, 8, 16 * 1024, &h), SL_PARSE_MORE);
	/* A single record this big overflows the record layer. */
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "record_overflow");
}

T_TEST(peek_more_never_returned_at_cap)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello h;
	size_t o;

	hello_basic(&m, "cap.example.test");
	o = one_record(&m, out);
	for (size_t k = 0; k < o; k++) {
		enum sl_parse_rc rc = parse(out, k, k, &h);

		T_CHECK(rc == SL_PARSE_BAD, "len=cap=%zu: rc %d", k, rc);
		T_STREQ(h.err, "too_large");
	}
	T_EQ(parse(out, o, o, &h), SL_PARSE_OK);
}

T_TEST(peek_not_mine_decided_from_first_bytes)
{
	static const struct {
		const char	*what;
		const char	*b;
		size_t		 n;
		size_t		 decided; /* bytes needed to say so */
	} cases[] = {
		{ "http", "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n", 32, 1 },
		{ "connect", "CONNECT a.test:443 HTTP/1.1\r\n\r\n", 31, 1 },
		{ "ssh", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 32, 1 },
		{ "stun", "\x00\x01\x00\x00\x21\x12\xa4\x42"
		    "abcdefghijkl", 20, 1 },
		{ "zeros", "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16, 1 },
		{ "tls app data", "\x17\x03\x03\x00\x10", 5, 1 },
		{ "tls alert", "\x15\x03\x01\x00\x02\x02\x28", 7, 1 },
		{ "handshake v2", "\x16\x02\x00\x00\x10", 5, 2 },
		{ "handshake v3.5", "\x16\x03\x05\x00\x10", 5, 3 },
		{ "high byte", "\x8a\x01\x02\x03\x04\x05", 6, 3 },
		{ "v2 bad version", "\x80\x2e\x01\x03\x07\x00", 6, 5 },
	};
	struct sl_tls_hello h;

	for (size_t i = 0; i < SL_NELEM(cases); i++) {
		const uint8_t *b = (const uint8_t *)cases[i].b;

		for (size_t k = 0; k < cases[i].decided; k++)
			T_CHECK(parse(b, k, CAP, &h) == SL_PARSE_MORE,
			    "%s: %zu bytes", cases[i].what, k);
		for (size_t k = cases[i].decided; k <= cases[i].n; k++)
			T_CHECK(parse(b, k, CAP, &h) == SL_PARSE_NOT_MINE,
			    "%s: %zu bytes", cases[i].what, k);
	}
}

T_TEST(peek_sslv2_hello_is_bad)
{
	static const uint8_t v2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00,
	    0x15, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x80 };
	struct sl_tls_hello h;

	T_EQ(parse(v2, 4, CAP, &h), SL_PARSE_MORE);
	T_EQ(parse(v2, 5, CAP, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "sslv2_hello");
	T_EQ(parse(v2, sizeof(v2), CAP, &h), SL_PARSE_BAD);
}

/* Build a hello, let fn break it, check the verdict and reason. */
static int
malformed(void (*fn)(struct msg *), const char *err)
{
	static struct msg m;
	static uint8_t out[MSG_MAX + 4096];
	struct sl_tls_hello h;
	size_t o;

	fn(&m);
	o = one_record(&m, out);
	if (verdict_is_stable(out, o, CAP, SL_PARSE_BAD, &h) == -1)
		return -1;
	if (strcmp(h.err, err) != 0) {
		snprintf(why, sizeof(why), "err \"%s\", want \"%s\"", h.err,
		    err);
		return -1;
	}
	if (h.has_sni || h.sni[0] != '\0' || h.consumed != 0) {
		snprintf(why, sizeof(why), "BAD result has fields set");
		return -1;
	}
	return 0;
}

#define T_MALFORMED(name, err, ...)					\
	static void mk_##name(struct msg *m) __VA_ARGS__		\
	T_TEST(peek_bad_##name)						\
	{								\
		T_CHECK(malformed(mk_##name, err) == 0, "%s", why);	\
	}

T_MALFORMED(session_id_over_32, "session_id", {
	hello_basic(m, "a.test");
	m->b[4 + 2 + 32] = 33;
})

T_MALFORMED(cipher_suites_odd, "cipher_suites", {
	hello_basic(m, "a.test");
	m->b[4 + 2 + 32 + 1 + 32 + 1]--;	/* 12 -> 11 */
})

T_MALFORMED(cipher_suites_empty, "cipher_suites", {
	hello_begin(m, 0);
	/* rewrite: 0 suites, then compression */
	m->n = 4 + 2 + 32 + 1 + 32;
	put16(m, 0);
	put8(m, 1);
	put8(m, 0);
	m->ext_at = m->n;
	put16(m, 0);
	hello_end(m);
})

T_MALFORMED(compression_empty, "compression_methods", {
	hello_begin(m, 0);
	m->n -= 4;
	put8(m, 0);
	m->ext_at = m->n;
	put16(m, 0);
	hello_end(m);
})

T_MALFORMED(hello_version_not_3, "hello_version", {
	hello_basic(m, "a.test");
	m->b[4] = 2;
})

T_MALFORMED(short_hello, "short_hello", {
	memset(m, 0, sizeof(*m));
	put8(m, 1);
	put8(m, 0);
	put16(m, 10);
	put16(m, 0x0303);
	put(m, "12345678", 8);
})

T_MALFORMED(not_client_hello, "not_client_hello", {
	hello_basic(m, "a.test");
	m->b[0] = 2;				/* ServerHello */
})

T_MALFORMED(extension_duplicate, "extension_duplicate", {
	hello_begin(m, 0);
	ext_raw(m, 23, NULL, 0);
	ext_sni(m, "a.test", 6);
	ext_raw(m, 23, NULL, 0);
	hello_end(m);
})

T_MALFORMED(extension_duplicate_grease, "extension_duplicate", {
	hello_begin(m, 1);
	ext_raw(m, 0x5a5a, NULL, 0);
	ext_raw(m, 0x5a5a, "x", 1);
	hello_end(m);
})

/* 40 distinct types go past the short list; a repeat of the 3rd is seen. */
T_MALFORMED(extension_duplicate_after_many, "extension_duplicate", {
	hello_begin(m, 0);
	for (unsigned t = 0; t < 40; t++)
		ext_raw(m, 1000 + t, NULL, 0);
	ext_raw(m, 1002, NULL, 0);
	hello_end(m);
})

T_MALFORMED(extension_longer_than_block, "extension_length", {
	hello_begin(m, 0);
	ext_raw(m, 23, "abcde", 5);
	hello_end(m);
	m->b[m->n - 5 - 1] = 6;			/* claims 6, has 5 */
})

T_MALFORMED(extensions_block_short, "extensions_length", {
	hello_basic(m, "a.test");
	m->b[m->ext_at + 1]--;			/* one byte left over */
})

T_MALFORMED(sni_empty_name, "sni_empty", {
	hello_begin(m, 0);
	ext_sni(m, "", 0);
	hello_end(m);
})

T_MALFORMED(sni_256_bytes, "sni_too_long", {
	char name[256];

	memset(name, 'a', sizeof(name));
	hello_begin(m, 0);
	ext_sni(m, name, sizeof(name));
	hello_end(m);
})

T_MALFORMED(sni_with_nul, "sni_nul", {
	hello_begin(m, 0);
	ext_sni(m, "evil.test\0.good.test", 20);
	hello_end(m);
})

T_MALFORMED(sni_two_host_names, "sni_duplicate", {
	static const uint8_t two[] = { 0, 14, 0, 0, 4, 'a', '.', 't', 'x',
	    0, 0, 4, 'b', '.', 't', 'x' };

	hello_begin(m, 0);
	ext_raw(m, 0, two, sizeof(two));
	hello_end(m);
})

T_MALFORMED(sni_list_length_mismatch, "sni_list", {
	hello_begin(m, 0);
	ext_sni(m, "a.test", 6);
	hello_end(m);
	m->b[m->sni_at + 5]++;
})

T_MALFORMED(sni_empty_extension, "sni_list", {
	hello_begin(m, 0);
	ext_raw(m, 0, NULL, 0);			/* the server's form */
	hello_end(m);
})

T_MALFORMED(sni_name_past_list, "sni_entry", {
	hello_begin(m, 0);
	ext_sni(m, "a.test", 6);
	hello_end(m);
	m->b[m->sni_at + 8]++;		/* name 7 bytes in a 6 list */
})

T_MALFORMED(alpn_empty_protocol, "alpn_empty", {
	static const char *const alpn[] = { "h2", "", NULL };

	hello_begin(m, 0);
	ext_alpn(m, alpn);
	hello_end(m);
})

T_MALFORMED(alpn_empty_list, "alpn_list", {
	static const uint8_t empty[] = { 0, 0 };

	hello_begin(m, 0);
	ext_raw(m, 16, empty, sizeof(empty));
	hello_end(m);
})

T_MALFORMED(supported_versions_odd, "supported_versions", {
	static const uint8_t odd[] = { 3, 3, 4, 3 };

	hello_begin(m, 0);
	ext_raw(m, 43, odd, sizeof(odd));
	hello_end(m);
})

T_MALFORMED(psk_not_last, "psk_not_last", {
	hello_begin(m, 0);
	ext_raw(m, 41, "psk", 3);
	ext_sni(m, "a.test", 6);
	hello_end(m);
})

T_TEST(peek_sni_255_bytes_is_fine_and_lowercased)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	char name[255], want[256];
	struct sl_tls_hello h;

	for (size_t i = 0; i < sizeof(name); i++) {
		name[i] = (char)("ABCdef.-"[i % 8]);
		want[i] = (char)("abcdef.-"[i % 8]);
	}
	want[255] = '\0';
	hello_begin(&m, 0);
	ext_sni(&m, name, sizeof(name));
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_EQ(strlen(h.sni), 255);
	T_STREQ(h.sni, want);
}

T_TEST(peek_sni_trailing_dot_reported_as_is)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	ext_sni(&m, "Dot.Example.Test.", 17);
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_STREQ(h.sni, "dot.example.test.");
}

T_TEST(peek_sni_unknown_name_type_skipped)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	static const uint8_t list[] = { 0, 12, 7, 0, 3, 'x', 'y', 'z',
	    0, 0, 3, 'a', '.', 't' };
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	ext_raw(&m, 0, list, sizeof(list));
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_STREQ(h.sni, "a.t");
}

T_TEST(peek_alpn_overlong_skipped_and_only_eight_kept)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	static const char *const alpn[] = {
	    "a-protocol-name-of-thirty-three-b", "p1", "p2", "p3", "p4",
	    "p5", "p6", "p7", "a-protocol-name-of-thirty-two-by", "p9",
	    "", NULL };
	struct sl_tls_hello h;

	/* Without the trailing empty name this hello is fine. */
	hello_begin(&m, 0);
	{
		const char *ok[SL_NELEM(alpn)];

		memcpy(ok, alpn, sizeof(ok));
		ok[10] = NULL;
		ext_alpn(&m, ok);
	}
	hello_end(&m);
	T_EQ(strlen(alpn[0]), SL_TLS_ALPN_LEN_MAX + 1);
	T_EQ(strlen(alpn[8]), SL_TLS_ALPN_LEN_MAX);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_ASSERT(h.has_alpn);
	T_EQ(h.nalpn, SL_TLS_ALPN_MAX);
	T_STREQ(h.alpn[0], "p1");
	T_STREQ(h.alpn[6], "p7");
	T_STREQ(h.alpn[7], alpn[8]);
	/* Names past the eighth are still checked. */
	hello_begin(&m, 0);
	ext_alpn(&m, alpn);
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "alpn_empty");
}

T_TEST(peek_supported_versions_only_grease_keeps_legacy)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	static const unsigned vers[] = { 0x2a2a };
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	ext_versions(&m, vers, 1);
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_EQ(h.max_version, 0x0303);
}

T_TEST(peek_psk_last_is_fine)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	ext_sni(&m, "psk.test", 8);
	ext_raw(&m, 41, "psk", 3);
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_STREQ(h.sni, "psk.test");
}

T_TEST(peek_many_distinct_extensions_are_fine)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	for (unsigned t = 0; t < 300; t++)
		ext_raw(&m, 60000 + t, NULL, 0);
	ext_sni(&m, "many.test", 9);
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_STREQ(h.sni, "many.test");
}

/* --- the record layer --------------------------------------------------- */

T_TEST(peek_empty_first_record_is_bad)
{
	static const uint8_t b[] = { 22, 3, 1, 0, 0, 22, 3, 1, 0, 4 };
	struct sl_tls_hello h;

	T_EQ(parse(b, 4, CAP, &h), SL_PARSE_MORE);
	T_EQ(parse(b, sizeof(b), CAP, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "empty_record");
}

/* Frame the basic hello as two records, then let fn edit the bytes. */
static enum sl_parse_rc
two_records(void (*fn)(uint8_t *, size_t *), struct sl_tls_hello *h)
{
	static struct msg m;
	static uint8_t out[MSG_MAX + 64];
	size_t frag[1] = { 50 }, o;

	struct sl_tls_hello tmp;
	enum sl_parse_rc rc;

	hello_basic(&m, "two.example.test");
	o = records(&m, frag, 1, out);
	fn(out, &o);
	rc = parse(out, o, CAP, h);
	/* Fed segment by segment, the verdict comes once and stays. */
	if (verdict_is_stable(out, o, CAP, rc, &tmp) == -1) {
		printf("# %s\n", why);
		return (enum sl_parse_rc)99;
	}
	return rc;
}

/* Second record header starts at 5 + 50. */
static void
ed_empty_second(uint8_t *b, size_t *n)
{
	memmove(b + 60, b + 55, *n - 55);
	memcpy(b + 55, "\x16\x03\x03\x00\x00", 5);
	*n += 5;
}

static void
ed_alert_between(uint8_t *b, size_t *n)
{
	memmove(b + 62, b + 55, *n - 55);
	memcpy(b + 55, "\x15\x03\x03\x00\x02\x01\x00", 7);
	*n += 7;
}

static void
ed_ccs_between(uint8_t *b, size_t *n)
{
	memmove(b + 61, b + 55, *n - 55);
	memcpy(b + 55, "\x14\x03\x03\x00\x01\x01", 6);
	*n += 6;
}

static void
ed_second_version(uint8_t *b, size_t *n)
{
	(void)n;
	b[57] = 5;
}

static void
ed_second_overflow(uint8_t *b, size_t *n)
{
	(void)n;
	b[58] = 0x49;				/* 0x49xx > 2^14 + 2048 */
}

static void
ed_early_data_after(uint8_t *b, size_t *n)
{
	memcpy(b + *n, "\x14\x03\x03\x00\x01\x01\x17\x03\x03\x00\x03xyz", 14);
	*n += 14;
}

static void
ed_trailing_in_last(uint8_t *b, size_t *n)
{
	size_t k = (size_t)b[58] << 8 | b[59];

	k++;
	b[58] = (uint8_t)(k >> 8);
	b[59] = (uint8_t)k;
	b[(*n)++] = 0x0b;			/* a Certificate? */
}

T_TEST(peek_record_layer_rules_between_records)
{
	struct sl_tls_hello h;

	T_EQ(two_records(ed_empty_second, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "empty_record");
	T_EQ(two_records(ed_alert_between, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "record_type");
	T_EQ(two_records(ed_ccs_between, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "record_type");
	T_EQ(two_records(ed_second_version, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "record_version");
	T_EQ(two_records(ed_second_overflow, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "record_overflow");
	T_EQ(two_records(ed_trailing_in_last, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "trailing_data");
}

T_TEST(peek_bytes_after_the_hello_are_not_consumed)
{
	struct sl_tls_hello h;
	size_t full;

	/* A 0-RTT client: CCS and early data right behind the hello. */
	T_EQ(two_records(ed_early_data_after, &h), SL_PARSE_OK);
	full = h.consumed;
	T_STREQ(h.sni, "two.example.test");
	T_EQ(h.record_version, 0x0301);
	{
		static struct msg m;

		hello_basic(&m, "two.example.test");
		T_EQ(full, m.n + 10);
	}
}

T_TEST(peek_handshake_length_beyond_cap_is_bad_early)
{
	static const uint8_t b[] = { 22, 3, 1, 0x40, 0x00, 1, 0x10, 0, 0 };
	struct sl_tls_hello h;

	T_EQ(parse(b, 8, CAP, &h), SL_PARSE_MORE);
	T_EQ(parse(b, 9, CAP, &h), SL_PARSE_BAD);	/* 1 MiB hello */
	T_STREQ(h.err, "too_large");
	/* A record past the cap is refused from its header. */
	T_EQ(parse(b, 5, 0x4000, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "too_large");
}

T_TEST(peek_bytes_past_cap_do_not_matter_when_hello_fits)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello a, b;
	size_t o;

	hello_basic(&m, "fits.example.test");
	o = one_record(&m, out);
	T_EQ(parse(out, o, o, &a), SL_PARSE_OK);
	memset(out + o, 0xee, 100);	/* the proxy peeked more */
	T_EQ(parse(out, o + 100, o, &b), SL_PARSE_OK);
	T_ASSERT(memcmp(&a, &b, sizeof(a)) == 0);
}

T_TEST(peek_20k_hello_split_anywhere_equals_unsplit)
{
	static struct msg m;
	static uint8_t pad[20 * 1024], out[MSG_MAX + 4096];
	struct sl_tls_hello a, b;
	size_t frag[3], o;

	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = (uint8_t)i;
	hello_begin(&m, 0);
	ext_raw(&m, 21, pad, sizeof(pad));
	ext_sni(&m, "late.example.test", 17);	/* after the padding */
	hello_end(&m);
	frag[0] = 16384;
	o = records(&m, frag, 1, out);
	T_EQ(parse(out, o, CAP, &a), SL_PARSE_OK);
	T_STREQ(a.sni, "late.example.test");
	for (size_t k = 1; k < 16384; k += 997) {
		frag[0] = k;
		frag[1] = 16384;
		frag[2] = 3;
		o = records(&m, frag, 3, out);
		T_CHECK(parse(out, o, CAP, &b) == SL_PARSE_OK, "k=%zu: %s", k,
		    b.err ? b.err : "?");
		T_EQ(b.consumed, o);
		T_ASSERT(same_hello(&a, &b));
	}
}

T_TEST(peek_sni_non_ascii_bytes_kept_as_sent)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	ext_sni(&m, "\xc3\x84Xn.Test", 9);
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_STREQ(h.sni, "\xc3\x84xn.test");
}

T_TEST(peek_alpn_name_with_nul_is_skipped)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	static const uint8_t alpn[] = { 0, 8, 3, 'a', 0, 'b', 3, 'h', '/',
	    '3' };
	struct sl_tls_hello h;

	hello_begin(&m, 0);
	ext_raw(&m, 16, alpn, sizeof(alpn));
	hello_end(&m);
	T_EQ(parse(out, one_record(&m, out), CAP, &h), SL_PARSE_OK);
	T_EQ(h.nalpn, 1);
	T_STREQ(h.alpn[0], "h/3");
	T_STREQ(h.alpn[1], "");
}

T_TEST(peek_record_versions_ssl3_to_tls13_accepted)
{
	static struct msg m;
	static uint8_t out[MSG_MAX];
	struct sl_tls_hello h;
	size_t o;

	hello_basic(&m, "v.test");
	o = one_record(&m, out);
	for (unsigned v = 0; v <= 4; v++) {
		out[2] = (uint8_t)v;
		T_EQ(parse(out, o, CAP, &h), SL_PARSE_OK);
		T_EQ(h.record_version, 0x0300 | v);
	}
	out[2] = 5;
	T_EQ(parse(out, o, CAP, &h), SL_PARSE_NOT_MINE);
}

/*
 * A proxy that stops peeking at cap bytes must hear what it would have
 * heard with more bytes in hand: for every cap, the verdict and reason on
 * the first cap bytes equal those on the whole buffer.
 */
T_TEST(peek_verdict_at_cap_equals_verdict_beyond_it)
{
	static uint8_t b[MSG_MAX + 64];
	static struct msg m;
	struct sl_tls_hello x, y;
	/* Cut inside the handshake header, and after it. */
	static const size_t cuts[] = { 2, 50 };

	hello_basic(&m, "cut.example.test");
	for (size_t c = 0; c < SL_NELEM(cuts); c++) {
		size_t frag[1] = { cuts[c] }, o = records(&m, frag, 1, b);
		size_t second = PEEK_REC_HDR_T + cuts[c];

		b[second] = 21;		/* second record: an alert */
		for (int pass = 0; pass < 2; pass++) {
			for (size_t cap = PEEK_REC_HDR_T; cap <= o; cap++) {
				enum sl_parse_rc rx = parse(b, cap, cap, &x);
				enum sl_parse_rc ry = parse(b, o, cap, &y);

				T_CHECK(rx == ry && x.err == y.err, "cut %zu "
				    "cap %zu: %d %s vs %d %s", cuts[c], cap, rx,
				    x.err ? x.err : "-", ry,
				    y.err ? y.err : "-");
			}
			b[second] = 22;	/* and then a fine hello */
		}
	}
}

/* --- bare handshake messages (sl_tls_peek_hello, for QUIC) -------------- */

/* Parse a bare message from an exactly-sized copy. */
static enum sl_parse_rc
parse_bare(const uint8_t *b, size_t n, struct sl_tls_hello *h)
{
	uint8_t *copy = exact_copy(b, n);
	enum sl_parse_rc rc = sl_tls_peek_hello(copy, n, h);

	free(copy);
	return rc;
}

/* Without its records a hello reads the same, every prefix is MORE. */
T_TEST(peek_bare_hello_equals_hello_in_records)
{
	static struct msg m;
	static uint8_t out[MSG_MAX + 4096];
	struct sl_tls_hello h, bare;

	for (size_t c = 0; c <= SL_NELEM(captures); c++) {
		size_t n;
		uint8_t *b;

		if (c < SL_NELEM(captures)) {
			b = (uint8_t *)t_slurp(captures[c], &n);
			T_ASSERT(b != NULL && n > PEEK_REC_HDR_T);
			memcpy(out, b, n);
			free(b);
		} else {
			hello_basic(&m, "bare.example.test");
			n = one_record(&m, out);
		}
		T_EQ(parse(out, n, CAP, &h), SL_PARSE_OK);
		n -= PEEK_REC_HDR_T;
		for (size_t k = 0; k < n; k++)
			T_CHECK(parse_bare(out + PEEK_REC_HDR_T, k, &bare) ==
			    SL_PARSE_MORE, "hello %zu prefix %zu", c, k);
		T_EQ(parse_bare(out + PEEK_REC_HDR_T, n, &bare), SL_PARSE_OK);
		T_EQ(bare.consumed, n);
		T_EQ(bare.record_version, 0);
		bare.consumed = h.consumed;
		bare.record_version = h.record_version;
		T_ASSERT(memcmp(&bare, &h, sizeof(h)) == 0);
	}
}

T_TEST(peek_bare_hello_refusals)
{
	static struct msg m;
	struct sl_tls_hello h;

	hello_basic(&m, "bare.example.test");
	m.b[m.n++] = 0;				/* a byte after it */
	T_EQ(parse_bare(m.b, m.n, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "trailing_data");
	m.b[0] = 2;				/* a ServerHello */
	T_EQ(parse_bare(m.b, 1, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "not_client_hello");
	m.n--;
	m.b[0] = 1;
	m.b[m.ext_at + 1] ^= 1;			/* extensions length */
	T_EQ(parse_bare(m.b, m.n, &h), SL_PARSE_BAD);
	T_STREQ(h.err, "extensions_length");
	T_ASSERT(!h.has_sni && h.consumed == 0);
}
