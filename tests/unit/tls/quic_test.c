/*
 * quic_test.c — the QUIC Initial reader (tls/quic.c): the sample packets
 * of RFC 9001 and RFC 9369 appendix A, and first flights protected by
 * tests/common/quic_enc.h (RFC 9001 5.3 and 5.4, keys from
 * tls_quic_keys(), which the appendices' A.1 keys check).  Every datagram
 * is parsed from an exactly-sized heap copy so that an over-read is an
 * ASan error in `make test-san`.
 *
 * SL_QUIC_SEEDS=DIR writes the synthesised flights as fuzz seeds (mode 0
 * of tests/fuzz/fuzz_quic.c) into DIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/attr.h"
#include "lib/hex.h"
#include "tls/tls.h"
#include "tls/tls_int.h"
#include "tests/common/exact.h"
#include "tests/common/quic_enc.h"
#include "tests/unit/t.h"

/*
 * RFC 9001 appendix A.2: the client Initial, protected (DCID
 * 0x8394c8f03e515708, packet number 2, a CRYPTO frame with a ClientHello
 * for example.com and ALPN "alpn", PADDING to 1162 bytes of frames).
 */
static const char rfc9001_a2[] =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
    "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
    "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
    "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
    "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
    "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
    "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
    "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
    "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
    "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
    "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
    "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
    "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
    "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
    "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
    "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
    "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
    "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
    "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
    "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
    "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
    "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
    "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
    "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
    "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
    "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
    "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
    "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
    "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
    "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
    "e221af44860018ab0856972e194cd934";

/* RFC 9369 appendix A.2: the same Initial as QUIC version 2. */
static const char rfc9369_a2[] =
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485"
    "dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04"
    "9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d"
    "250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a"
    "12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68"
    "18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33"
    "12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3"
    "d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd"
    "6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045"
    "636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f"
    "ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12"
    "16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5"
    "4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b"
    "8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7"
    "14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9"
    "9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91"
    "abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db"
    "848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18"
    "d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15"
    "c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc"
    "7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710"
    "10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b"
    "3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e"
    "06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce"
    "8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1"
    "e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd"
    "5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3"
    "8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89"
    "d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19"
    "9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b"
    "a18b2faa745b6fe189cf772a9f84cbfc";

static char why[512];		/* what a helper found wrong */

/* --- bytes -------------------------------------------------------------- */

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; s[0] != '\0' && s[1] != '\0'; s += 2) {
		if (n == cap || sl_hex_val((unsigned char)s[0]) < 0)
			abort();
		out[n++] = (uint8_t)(sl_hex_val((unsigned char)s[0]) << 4 |
		    sl_hex_val((unsigned char)s[1]));
	}
	return n;
}

/* --- flights ------------------------------------------------------------ */

/* One Initial in a datagram of its own (1200 bytes unless p says) with
   one CRYPTO frame: hello bytes [from, to). */
static void
dgram_hello(struct qe_buf *d, const struct qe_pkt *p, const struct qe_buf *h,
    size_t from, size_t to)
{
	static struct qe_buf f;
	struct qe_pkt q = *p;

	f.n = 0;
	qe_crypto_frame(&f, from, h->b + from, to - from);
	if (q.pad_to == 0)
		q.pad_to = 1200;
	d->n = 0;
	qe_initial(d, &q, &f);
}

/* --- running the reader ------------------------------------------------- */

/* Parse a copy in a block of exactly n bytes (ASan: no over-read). */
static enum sl_parse_rc
feed(struct sl_tls_quic *q, const uint8_t *b, size_t n)
{
	uint8_t *copy = exact_copy(b, n);
	enum sl_parse_rc rc = sl_tls_quic_parse(q, copy, n);

	free(copy);
	return rc;
}

/*
 * A fresh reader fed datagrams d[0..n): each but the last must say MORE,
 * the last want.  Returns -1 and fills why.  Seeds for the fuzzer are
 * written as a side effect when SL_QUIC_SEEDS names a directory.
 */
static int
flight(struct sl_tls_quic *q, const char *seed, struct qe_buf *const *d,
    size_t n, enum sl_parse_rc want)
{
	const char *dir = getenv("SL_QUIC_SEEDS");
	enum sl_parse_rc rc;

	if (dir != NULL && seed != NULL) {
		char path[1024];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", dir, seed);
		if ((fp = fopen(path, "wb")) == NULL)
			abort();
		fputc(0, fp);			/* mode 0: datagrams */
		for (size_t i = 0; i < n; i++) {
			fputc((int)(d[i]->n >> 8), fp);
			fputc((int)(d[i]->n & 0xff), fp);
			fwrite(d[i]->b, 1, d[i]->n, fp);
		}
		fclose(fp);
	}
	sl_tls_quic_init(q);
	for (size_t i = 0; i < n; i++) {
		rc = feed(q, d[i]->b, d[i]->n);
		if (rc != (i + 1 < n ? SL_PARSE_MORE : want)) {
			snprintf(why, sizeof(why), "datagram %zu/%zu: rc %d "
			    "(%s)", i + 1, n, rc, q->err ? q->err : "-");
			return -1;
		}
	}
	return 0;
}

/* A verdict of the reader with its reason. */
#define T_VERDICT(q, rc, want, reason) do {				\
	T_EQ((rc), (want));						\
	T_STREQ((q)->err, (reason));					\
} while (0)

static struct sl_tls_quic qs;	/* 18 KiB: not on the stack */
static struct qe_buf d1, d2, d3, hl, fr;

/* --- RFC vectors -------------------------------------------------------- */

static int
keys_are(uint32_t version, const char *key, const char *iv, const char *hp)
{
	uint8_t k[16], i[12], h[16], wk[16], wi[12], wh[16];

	if (tls_quic_keys(version, qe_rfc_dcid, sizeof(qe_rfc_dcid), k, i,
	    h) == -1)
		return 0;
	unhex(key, wk, sizeof(wk));
	unhex(iv, wi, sizeof(wi));
	unhex(hp, wh, sizeof(wh));
	return memcmp(k, wk, 16) == 0 && memcmp(i, wi, 12) == 0 &&
	    memcmp(h, wh, 16) == 0;
}

/* RFC 9001 appendix A.1, client keys. */
T_TEST(quic_keys_v1_rfc9001_a1)
{
	T_ASSERT(keys_are(SL_TLS_QUIC_V1, "1f369613dd76d5467730efcbe3b1a22d",
	    "fa044b2f42a3fd3b46fb255c", "9f50449e04a0e810283a1e9933adedd2"));
}

/* RFC 9369 appendix A.1, client keys ("quicv2" labels, v2 salt). */
T_TEST(quic_keys_v2_rfc9369_a1)
{
	T_ASSERT(keys_are(SL_TLS_QUIC_V2, "8b1a0bc121284290a29e0971b5cd045d",
	    "91f73e2351d8fa91660e909f", "45b95e15235d6f45a6b19cbcb0294ba9"));
}

T_TEST(quic_keys_unknown_version_refused)
{
	uint8_t k[16], i[12], h[16];

	T_EQ(tls_quic_keys(0xff00001d, qe_rfc_dcid, sizeof(qe_rfc_dcid), k,
	    i, h), -1);
}

/* The appendix A.2 packets: one Initial, a hello for example.com. */
T_TEST(quic_rfc9001_and_rfc9369_a2_client_initials)
{
	static const struct {
		const char	*hex;
		uint32_t	 version;
	} vec[] = {
		{ rfc9001_a2, SL_TLS_QUIC_V1 },
		{ rfc9369_a2, SL_TLS_QUIC_V2 },
	};

	for (size_t v = 0; v < SL_NELEM(vec); v++) {
		d1.n = unhex(vec[v].hex, d1.b, sizeof(d1.b));
		T_EQ(d1.n, 1200);
		sl_tls_quic_init(&qs);
		T_EQ(feed(&qs, d1.b, d1.n), SL_PARSE_OK);
		T_EQ(qs.version, vec[v].version);
		T_ASSERT(qs.err == NULL && qs.hello.has_sni);
		T_STREQ(qs.hello.sni, "example.com");
		T_EQ(qs.hello.nalpn, 1);
		T_STREQ(qs.hello.alpn[0], "alpn");
		T_EQ(qs.hello.max_version, 0x0304);
		T_EQ(qs.hello.consumed, 241);	/* 0x0000ed + 4 */
		T_EQ(qs.hello.record_version, 0);
	}
}

/* A datagram is whole or nothing: a cut one is never a hello. */
T_TEST(quic_rfc_a2_every_truncation_refused)
{
	const char *vec[] = { rfc9001_a2, rfc9369_a2 };

	for (size_t v = 0; v < SL_NELEM(vec); v++) {
		d1.n = unhex(vec[v], d1.b, sizeof(d1.b));
		for (size_t k = 0; k < d1.n; k++) {
			enum sl_parse_rc rc;

			sl_tls_quic_init(&qs);
			rc = feed(&qs, d1.b, k);
			T_CHECK(rc == SL_PARSE_BAD || rc == SL_PARSE_NOT_MINE,
			    "vector %zu cut at %zu: rc %d", v, k, rc);
			T_CHECK(qs.err != NULL && !qs.hello.has_sni,
			    "cut at %zu: no reason or a hello", k);
		}
	}
}

/* The appendix packet with each byte changed: never a hello, and a
   change in the protected part is a decryption failure. */
T_TEST(quic_rfc9001_a2_every_byte_tampered)
{
	d2.n = unhex(rfc9001_a2, d2.b, sizeof(d2.b));
	for (size_t k = 0; k < d2.n; k++) {
		enum sl_parse_rc rc;

		d1 = d2;
		d1.b[k] ^= 0x20;
		sl_tls_quic_init(&qs);
		rc = feed(&qs, d1.b, d1.n);
		T_CHECK(rc == SL_PARSE_BAD || rc == SL_PARSE_NOT_MINE,
		    "byte %zu: rc %d", k, rc);
		/* Byte 0's low bits, the Length and what follows are under
		   the AEAD; 18 is where the packet number starts. */
		if (k >= 18)
			T_CHECK(rc == SL_PARSE_BAD && strcmp(qs.err,
			    "decrypt_failed") == 0, "byte %zu: %s", k, qs.err);
	}
}

/* --- synthesised flights ------------------------------------------------ */

/* Chrome's post-quantum hello over two datagrams, in both orders. */
T_TEST(quic_pq_hello_two_datagrams_either_order)
{
	struct qe_buf *inorder[] = { &d1, &d2 }, *reversed[] = { &d2, &d1 };
	struct qe_pkt p = { .pn = 0 };

	qe_hello(&hl, "pq.example.test", "h3", 1);
	T_ASSERT(hl.n > 1300);
	dgram_hello(&d1, &p, &hl, 0, 1000);
	p.pn = 1;
	dgram_hello(&d2, &p, &hl, 1000, hl.n);
	T_CHECK(flight(&qs, "pq-two-datagrams", inorder, 2, SL_PARSE_OK) == 0,
	    "%s", why);
	T_STREQ(qs.hello.sni, "pq.example.test");
	T_STREQ(qs.hello.alpn[0], "h3");
	T_EQ(qs.hello.consumed, hl.n);
	T_CHECK(flight(&qs, "pq-two-datagrams-reversed", reversed, 2,
	    SL_PARSE_OK) == 0, "%s", why);
	T_STREQ(qs.hello.sni, "pq.example.test");
	T_EQ(qs.ndgrams, 2);
}

/* Two Initials coalesced in one datagram, the second first in the
   stream; and CRYPTO frames out of order inside one packet. */
T_TEST(quic_coalesced_initials_and_frames_out_of_order)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { .pn = 1 };

	qe_hello(&hl, "coalesced.example.test", "h3", 1);
	fr.n = 0;
	qe_crypto_frame(&fr, 700, hl.b + 700, hl.n - 700);
	d1.n = 0;
	qe_initial(&d1, &p, &fr);
	fr.n = 0;
	qe_crypto_frame(&fr, 300, hl.b + 300, 400);	/* [300, 700) */
	qe_crypto_frame(&fr, 0, hl.b, 300);
	p.pn = 0;
	p.pad_to = 1250;
	qe_initial(&d1, &p, &fr);
	T_CHECK(flight(&qs, "coalesced", one, 1, SL_PARSE_OK) == 0, "%s", why);
	T_STREQ(qs.hello.sni, "coalesced.example.test");
}

/* After the Initial: a 0-RTT packet, then zeros (a short header's
   first bit): passed over.  A datagram of another connection between
   the halves, or starting with 0-RTT, is ignored. */
T_TEST(quic_other_packets_and_datagrams_passed_over)
{
	struct qe_buf *three[] = { &d1, &d3, &d2 };
	struct qe_pkt p = { .pn = 0 }, other = { .dcid = (const uint8_t *)
	    "otherdcid", .dcid_len = 9, .pad_to = 1200 };
	static const uint8_t zrtt[] = { 0xd0, 0, 0, 0, 1, 8, 0x83, 0x94,
	    0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0, 0x14, 1, 2, 3, 4, 5, 6, 7,
	    8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };

	qe_hello(&hl, "passed.example.test", NULL, 1);
	fr.n = 0;
	qe_crypto_frame(&fr, 0, hl.b, 900);
	d1.n = 0;
	qe_initial(&d1, &p, &fr);
	qe_put(&d1, zrtt, sizeof(zrtt));
	while (d1.n < 1300)
		qe_be(&d1, 0, 1);
	p.pn = 1;
	dgram_hello(&d2, &p, &hl, 900, hl.n);
	fr.n = 0;
	qe_crypto_frame(&fr, 900, (const uint8_t *)"garbage", 7);
	d3.n = 0;
	qe_initial(&d3, &other, &fr);
	T_CHECK(flight(&qs, "passed-over", three, 3, SL_PARSE_OK) == 0, "%s",
	    why);
	T_STREQ(qs.hello.sni, "passed.example.test");
	T_ASSERT(!qs.hello.has_alpn);
	/* A later datagram that opens with 0-RTT: nothing read from it. */
	d3.n = 0;
	qe_put(&d3, zrtt, sizeof(zrtt));
	while (d3.n < 1200)
		qe_be(&d3, 0, 1);
	T_CHECK(flight(&qs, NULL, three, 3, SL_PARSE_OK) == 0, "%s", why);
}

T_TEST(quic_v2_hello_split_over_two_datagrams)
{
	struct qe_buf *two[] = { &d2, &d1 };
	struct qe_pkt p = { .version = SL_TLS_QUIC_V2 };

	qe_hello(&hl, "v2.example.test", "h3", 1);
	dgram_hello(&d1, &p, &hl, 0, 600);
	p.pn = 1;
	dgram_hello(&d2, &p, &hl, 600, hl.n);
	T_CHECK(flight(&qs, "v2-two-datagrams", two, 2, SL_PARSE_OK) == 0,
	    "%s", why);
	T_EQ(qs.version, SL_TLS_QUIC_V2);
	T_STREQ(qs.hello.sni, "v2.example.test");
}

/* A token (a NEW_TOKEN or Retry token) and a 20-byte SCID. */
T_TEST(quic_token_and_long_cids)
{
	struct qe_buf *one[] = { &d1 };
	static const uint8_t dcid20[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	    11, 12, 13, 14, 15, 16, 17, 18, 19, 20 };
	struct qe_pkt p = { .dcid = dcid20, .dcid_len = 20, .scid_len = 20,
	    .token_len = 100 };

	qe_hello(&hl, "token.example.test", "h3", 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	T_CHECK(flight(&qs, "token", one, 1, SL_PARSE_OK) == 0, "%s", why);
	T_STREQ(qs.hello.sni, "token.example.test");
}

/*
 * RFC 9287 3.1: a client that has a NEW_TOKEN token of a server that sent
 * grease_quic_bit may clear the fixed bit of its Initials (the proxy's
 * classification of a first datagram must not require it either).
 */
T_TEST(quic_greased_fixed_bit_read)
{
	struct qe_buf *two[] = { &d1, &d2 };
	struct qe_pkt p = { .token_len = 60, .fixed_clear = 1 };

	qe_hello(&hl, "grease.example.test", "h3", 1);
	dgram_hello(&d1, &p, &hl, 0, 1000);
	T_EQ(d1.b[0] & 0xc0, 0x80);
	p.pn = 1;
	dgram_hello(&d2, &p, &hl, 1000, hl.n);
	T_CHECK(flight(&qs, "grease", two, 2, SL_PARSE_OK) == 0, "%s", why);
	T_STREQ(qs.hello.sni, "grease.example.test");
}

/* After a Retry the server may have picked an empty connection ID. */
T_TEST(quic_empty_dcid_after_retry)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { .dcid = (const uint8_t *)"", .dcid_len = 0,
	    .token_len = 40, .pn_len = 1, .pn = 1 };

	qe_hello(&hl, "retry.example.test", "h3", 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	T_CHECK(flight(&qs, "empty-dcid", one, 1, SL_PARSE_OK) == 0, "%s",
	    why);
	T_STREQ(qs.hello.sni, "retry.example.test");
}

/* No SNI: OK, the caller decides by address. */
T_TEST(quic_hello_without_sni)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { .pn_len = 1 };

	qe_hello(&hl, NULL, "h3", 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	T_CHECK(flight(&qs, "no-sni", one, 1, SL_PARSE_OK) == 0, "%s", why);
	T_ASSERT(!qs.hello.has_sni);
	T_STREQ(qs.hello.sni, "");
	T_STREQ(qs.hello.alpn[0], "h3");
}

/* openssl s_client's hello (tests/data/tls/), carried by QUIC. */
T_TEST(quic_openssl_hello)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { .pn_len = 2 };
	size_t n;
	uint8_t *rec = (uint8_t *)t_slurp(
	    "tests/data/tls/openssl-tls13-sni-alpn.bin", &n);

	T_ASSERT(rec != NULL && n > 5 && (size_t)(rec[3] << 8 | rec[4]) ==
	    n - 5);
	hl.n = 0;
	qe_put(&hl, rec + 5, n - 5);
	free(rec);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	T_CHECK(flight(&qs, "openssl", one, 1, SL_PARSE_OK) == 0, "%s", why);
	T_STREQ(qs.hello.sni, "peek.example.test");
	T_STREQ(qs.hello.alpn[0], "h2");
}

T_TEST(quic_ack_ping_padding_frames_allowed)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { 0 };
	/* PING; ACK largest 10, delay 0, 2 ranges (first 1, then gap 1
	   length 1, gap 0 length 2); ACK_ECN largest 5, delay 300, no
	   range, first 0, ECT0 1, ECT1 2, CE 70000. */
	static const uint64_t v[] = { 1, 2, 10, 0, 2, 1, 1, 1, 0, 2, 3, 5,
	    300, 0, 0, 1, 2, 70000 };

	qe_hello(&hl, "frames.example.test", "h3", 0);
	fr.n = 0;
	for (size_t i = 0; i < SL_NELEM(v); i++)
		qe_var(&fr, v[i]);
	qe_crypto_frame(&fr, 0, hl.b, hl.n);
	qe_var(&fr, 0);				/* PADDING */
	p.pad_to = 1200;
	d1.n = 0;
	qe_initial(&d1, &p, &fr);
	T_CHECK(flight(&qs, "ack-ping", one, 1, SL_PARSE_OK) == 0, "%s", why);
}

/* The same bytes twice (a retransmission) are fine. */
T_TEST(quic_duplicate_datagram_and_equal_overlap_fine)
{
	struct qe_buf *three[] = { &d1, &d1, &d2 };
	struct qe_pkt p = { 0 };

	qe_hello(&hl, "dup.example.test", "h3", 1);
	dgram_hello(&d1, &p, &hl, 0, 1000);
	p.pn = 1;
	dgram_hello(&d2, &p, &hl, 500, hl.n);
	T_CHECK(flight(&qs, "duplicate", three, 3, SL_PARSE_OK) == 0, "%s",
	    why);
}

/* --- refusals ----------------------------------------------------------- */

T_TEST(quic_not_mine_kinds)
{
	static const uint8_t shorthdr[] = { 0x40, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t vneg[] = { 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t tiny[] = { 0xc0, 0, 0, 0, 1, 8, 1, 2 };
	struct qe_pkt p = { .type = 1 + 2 };		/* v1 Handshake */

	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, NULL, 0), SL_PARSE_NOT_MINE, "empty");
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, shorthdr, sizeof(shorthdr)),
	    SL_PARSE_NOT_MINE, "short_header");
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, vneg, sizeof(vneg)), SL_PARSE_NOT_MINE,
	    "version_negotiation");
	T_ASSERT(!qs.vn);
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, tiny, sizeof(tiny)), SL_PARSE_NOT_MINE,
	    "not_quic");
	qe_hello(&hl, "hs.example.test", NULL, 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_NOT_MINE,
	    "not_initial");
	T_EQ(qs.version, SL_TLS_QUIC_V1);
}

/* An unknown version: NOT_MINE, and vn when a server would answer. */
T_TEST(quic_unknown_version_reported_for_version_negotiation)
{
	d1.n = unhex(rfc9001_a2, d1.b, sizeof(d1.b));
	memcpy(d1.b + 1, "\xfa\xfa\xfa\xfa", 4);	/* RFC 9000 15 */
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_NOT_MINE,
	    "unknown_version");
	T_EQ(qs.version, 0xfafafafa);
	T_ASSERT(qs.vn);
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, 1199), SL_PARSE_NOT_MINE,
	    "unknown_version");
	T_ASSERT(!qs.vn);
}

/* A tampered ciphertext byte and a tampered tag: the AEAD refuses. */
T_TEST(quic_tampered_payload_and_tag_fail_decryption)
{
	struct qe_pkt p = { 0 };

	qe_hello(&hl, "tamper.example.test", "h3", 0);
	dgram_hello(&d2, &p, &hl, 0, hl.n);
	d1 = d2;
	d1.b[100] ^= 1;
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD, "decrypt_failed");
	T_ASSERT(!qs.hello.has_sni);
	d1 = d2;
	d1.b[d1.n - 1] ^= 0x80;
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD, "decrypt_failed");
}

/* Initial datagrams under 1200 bytes are dropped by servers (RFC 9000
   14.1): refused, so a client cannot have them forwarded either. */
T_TEST(quic_short_datagram_refused)
{
	struct qe_pkt p = { .pad_to = 1199 };

	qe_hello(&hl, "short.example.test", "h3", 0);
	fr.n = 0;
	qe_crypto_frame(&fr, 0, hl.b, hl.n);
	d1.n = 0;
	qe_initial(&d1, &p, &fr);
	T_EQ(d1.n, 1199);
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD, "short_datagram");
}

/* A packet longer than the 1200 needed, cut at every length past 1200. */
T_TEST(quic_truncated_packet_at_every_length)
{
	struct qe_pkt p = { .pad_to = 1400 };

	qe_hello(&hl, "cut.example.test", "h3", 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	T_EQ(d1.n, 1400);
	for (size_t k = 0; k < d1.n; k++) {
		enum sl_parse_rc rc;

		sl_tls_quic_init(&qs);
		rc = feed(&qs, d1.b, k);
		T_CHECK(rc == SL_PARSE_BAD || rc == SL_PARSE_NOT_MINE,
		    "cut at %zu: rc %d", k, rc);
		if (k >= 1200)
			T_CHECK(strcmp(qs.err, "packet_length") == 0,
			    "cut at %zu: %s", k, qs.err);
	}
	sl_tls_quic_init(&qs);
	T_EQ(feed(&qs, d1.b, d1.n), SL_PARSE_OK);
}

/* Frames a client does not send in an Initial. */
T_TEST(quic_frame_refusals)
{
	static const struct {
		const char	*frames;	/* hex */
		const char	*err;
	} cases[] = {
		{ "08000568656c6c6f", "frame_type" },	/* STREAM */
		{ "1c0000000000", "frame_type" },	/* CONNECTION_CLOSE */
		{ "1e", "frame_type" },			/* HANDSHAKE_DONE */
		{ "4006000100", "frame_type" },		/* CRYPTO, long type */
		{ "0600", "frame_truncated" },		/* CRYPTO, no length */
		{ "060005616263", "frame_truncated" },	/* 5 bytes, 3 there */
		{ "0205000a", "frame_truncated" },	/* ACK, no range */
		{ "02000002000101", "frame_truncated" },	/* 1 of 2 */
		{ "06bfff00", "frame_truncated" },	/* offset varint cut */
		{ "0680003ffc0a", "too_large" },	/* 16380 + 10 */
	};
	struct qe_pkt p = { .pad_to = 1200 };

	for (size_t i = 0; i < SL_NELEM(cases); i++) {
		uint8_t raw[64];
		size_t n = unhex(cases[i].frames, raw, sizeof(raw));

		fr.n = 0;
		qe_put(&fr, raw, n);
		p.pad_to = 0;			/* PADDING would be read */
		p.token_len = 1200 - 39 - n;	/* 1200 bytes by a token */
		d1.n = 0;
		qe_initial(&d1, &p, &fr);
		T_CHECK(d1.n == 1200, "case %zu: %zu bytes", i, d1.n);
		sl_tls_quic_init(&qs);
		T_CHECK(feed(&qs, d1.b, d1.n) == SL_PARSE_BAD &&
		    strcmp(qs.err, cases[i].err) == 0, "case %zu: %s", i,
		    qs.err ? qs.err : "-");
	}
}

T_TEST(quic_reserved_bits_refused)
{
	struct qe_pkt p = { .reserved = 0x04 };

	qe_hello(&hl, "reserved.example.test", "h3", 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD, "reserved_bits");
}

/* The same offset with other bytes: the server could read another
   hello than the one decided on. */
T_TEST(quic_conflicting_overlap_refused)
{
	struct qe_buf *two[] = { &d1, &d2 };
	struct qe_pkt p = { 0 };

	qe_hello(&hl, "overlap.example.test", "h3", 1);
	dgram_hello(&d1, &p, &hl, 0, 1000);
	hl.b[900] ^= 1;
	p.pn = 1;
	dgram_hello(&d2, &p, &hl, 800, hl.n);
	T_CHECK(flight(&qs, "overlap-conflict", two, 2, SL_PARSE_BAD) == 0,
	    "%s", why);
	T_STREQ(qs.err, "crypto_conflict");
}

/* Over the 16 KiB cap: by a frame, and by the hello's own length. */
T_TEST(quic_over_cap_refused)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { 0 };
	uint8_t big[4] = { 1, 0, 0x40, 0 };	/* claims 16 KiB + 4 */

	qe_hello(&hl, "cap.example.test", "h3", 0);
	fr.n = 0;
	qe_crypto_frame(&fr, SL_TLS_QUIC_CRYPTO_MAX - 10, hl.b, 11);
	p.pad_to = 1200;
	d1.n = 0;
	qe_initial(&d1, &p, &fr);
	T_CHECK(flight(&qs, "over-cap-frame", one, 1, SL_PARSE_BAD) == 0,
	    "%s", why);
	T_STREQ(qs.err, "too_large");
	fr.n = 0;
	qe_crypto_frame(&fr, 0, big, sizeof(big));
	d1.n = 0;
	qe_initial(&d1, &p, &fr);
	T_CHECK(flight(&qs, "over-cap-length", one, 1, SL_PARSE_BAD) == 0,
	    "%s", why);
	T_STREQ(qs.err, "too_large");
}

/* CRYPTO data after the hello, even when it arrives first. */
T_TEST(quic_crypto_after_hello_refused)
{
	struct qe_buf *two[] = { &d2, &d1 };
	struct qe_pkt p = { 0 };

	qe_hello(&hl, "trailing.example.test", "h3", 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	p.pn = 1;
	dgram_hello(&d2, &p, &hl, hl.n - 10, hl.n);
	d2.n = 0;
	fr.n = 0;
	qe_crypto_frame(&fr, hl.n, (const uint8_t *)"\x02more", 5);
	p.pad_to = 1200;
	qe_initial(&d2, &p, &fr);
	T_CHECK(flight(&qs, "trailing", two, 2, SL_PARSE_BAD) == 0, "%s", why);
	T_STREQ(qs.err, "trailing_data");
}

T_TEST(quic_not_a_client_hello_refused)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { 0 };

	qe_hello(&hl, "type.example.test", "h3", 0);
	hl.b[0] = 2;				/* ServerHello */
	dgram_hello(&d1, &p, &hl, 0, 1);
	T_CHECK(flight(&qs, NULL, one, 1, SL_PARSE_BAD) == 0, "%s", why);
	T_STREQ(qs.err, "not_client_hello");
}

/* A malformed hello inside good packets: the hello parser's reason. */
T_TEST(quic_malformed_hello_reason_from_peek)
{
	struct qe_buf *one[] = { &d1 };
	struct qe_pkt p = { 0 };

	qe_hello(&hl, "bad.example.test", "h3", 0);
	hl.b[4] = 2;				/* legacy_version 0x0203 */
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	T_CHECK(flight(&qs, NULL, one, 1, SL_PARSE_BAD) == 0, "%s", why);
	T_STREQ(qs.err, "hello_version");
	T_ASSERT(!qs.hello.has_sni);
}

T_TEST(quic_cid_over_20_refused)
{
	static const uint8_t dcid21[21] = { 0 };
	struct qe_pkt p = { .dcid = dcid21, .dcid_len = 21 };

	qe_hello(&hl, "cid.example.test", "h3", 0);
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD, "cid_length");
	p.dcid = NULL;
	p.scid_len = 21;
	dgram_hello(&d1, &p, &hl, 0, hl.n);
	sl_tls_quic_init(&qs);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD, "cid_length");
}

/* A flight that never completes stops after SL_TLS_QUIC_DGRAMS_MAX. */
T_TEST(quic_too_many_datagrams)
{
	struct qe_pkt p = { .pad_to = 1200 };

	fr.n = 0;
	qe_var(&fr, 1);				/* PING only */
	d1.n = 0;
	qe_initial(&d1, &p, &fr);
	sl_tls_quic_init(&qs);
	for (unsigned i = 0; i < SL_TLS_QUIC_DGRAMS_MAX; i++)
		T_EQ(feed(&qs, d1.b, d1.n), SL_PARSE_MORE);
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD,
	    "too_many_datagrams");
}

/* Verdicts are final: more datagrams change nothing. */
T_TEST(quic_verdict_is_final)
{
	struct sl_tls_hello h;

	d1.n = unhex(rfc9001_a2, d1.b, sizeof(d1.b));
	sl_tls_quic_init(&qs);
	T_EQ(feed(&qs, d1.b, d1.n), SL_PARSE_OK);
	h = qs.hello;
	d1.b[50] ^= 1;
	T_EQ(feed(&qs, d1.b, d1.n), SL_PARSE_OK);
	T_ASSERT(memcmp(&h, &qs.hello, sizeof(h)) == 0 && qs.err == NULL);
	sl_tls_quic_init(&qs);
	T_EQ(feed(&qs, d1.b, d1.n), SL_PARSE_BAD);
	d1.b[50] ^= 1;
	T_VERDICT(&qs, feed(&qs, d1.b, d1.n), SL_PARSE_BAD, "decrypt_failed");
}
