/*
 * mint_test.c — minted leaves and their cache: what a leaf carries, that
 * it verifies against the CA, the cache's LRU order and sharing between
 * workers, four threads at once, and what a mint costs.
 */
#include <pthread.h>
#include <time.h>

#include "tests/common/xorshift.h"
#include "tests/unit/tls/pki.h"
#include "tls/tls.h"
#include "tests/unit/t.h"

/* A CA from spec (NULL: an EC P-256 root), through the files. */
static struct sl_tls_ca *
test_ca(struct pki_spec *spec)
{
	struct pki_spec def = { .cn = "test inspection CA", .ca = 1,
		.nb = -PKI_DAY, .na = 3650 * PKI_DAY };
	struct pki_spec *s = spec ? spec : &def;
	char dir[64], cert[128], key[128], err[512];
	struct sl_tls_ca *ca = NULL;
	X509 *x = NULL;

	if (pki_mkdtemp(dir, sizeof(dir)) == -1)
		return NULL;
	snprintf(cert, sizeof(cert), "%s/ca.pem", dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	if ((s->key != NULL || (s->key = pki_ec("P-256")) != NULL) &&
	    (x = pki_cert(s)) != NULL && pki_write_certs(cert, x, NULL) == 0 &&
	    pki_write_key(key, s->key, 0600) == 0 &&
	    (ca = sl_tls_ca_load(NULL, cert, key, err, sizeof(err))) == NULL)
		printf("# test_ca: %s\n", err);
	X509_free(x);
	EVP_PKEY_free(s->key);
	s->key = NULL;
	pki_rmdir(dir);
	return ca;
}

/* An origin's certificate, issued by some public-looking root. */
struct origin {
	EVP_PKEY	*rk, *k;
	X509		*root, *cert;
};

static int
origin_new(struct origin *o, struct pki_spec *leaf)
{
	memset(o, 0, sizeof(*o));
	if ((o->rk = pki_ec("P-256")) == NULL ||
	    (o->root = pki_root("origin root", o->rk)) == NULL ||
	    (o->k = pki_ec("P-256")) == NULL)
		return -1;
	leaf->key = o->k;
	leaf->issuer = o->root;
	leaf->issuer_key = o->rk;
	if (leaf->eku == NULL)
		leaf->eku = "serverAuth";
	return (o->cert = pki_cert(leaf)) != NULL ? 0 : -1;
}

static void
origin_free(struct origin *o)
{
	EVP_PKEY_free(o->rk);
	EVP_PKEY_free(o->k);
	X509_free(o->root);
	X509_free(o->cert);
}

/* Does leaf verify against ca as a server certificate for name/ip? */
static int
verifies(struct sl_tls_ca *ca, X509 *leaf, const char *name,
    const char *ip)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *c = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	int ok = 0;

	if (st == NULL || c == NULL ||
	    X509_STORE_add_cert(st, sl_tls_ca_cert(ca)) != 1 ||
	    X509_STORE_CTX_init(c, st, leaf, NULL) != 1)
		goto out;
	X509_STORE_CTX_set_purpose(c, X509_PURPOSE_SSL_SERVER);
	vp = X509_STORE_CTX_get0_param(c);
	X509_VERIFY_PARAM_set_auth_level(vp, 2);
	if (name != NULL)
		X509_VERIFY_PARAM_set1_host(vp, name, 0);
	if (ip != NULL)
		X509_VERIFY_PARAM_set1_ip_asc(vp, ip);
	ok = X509_verify_cert(c) == 1;
	if (!ok)
		printf("# verify: %s\n", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(c)));
out:
	X509_STORE_CTX_free(c);
	X509_STORE_free(st);
	return ok;
}

/* The DNS and IP names of x's SAN, as "DNS:a,IP:..." for comparison. */
static void
san_text(X509 *x, char *buf, size_t cap)
{
	GENERAL_NAMES *g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < sk_GENERAL_NAME_num(g); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(g, i);
		int n;

		if (gn->type == GEN_DNS) {
			n = snprintf(buf + len, cap - len, "%sDNS:%s",
			    len ? "," : "", ASN1_STRING_get0_data(gn->d.dNSName));
		} else if (gn->type == GEN_IPADD) {
			const unsigned char *p =
			    ASN1_STRING_get0_data(gn->d.iPAddress);

			n = ASN1_STRING_length(gn->d.iPAddress) == 4 ?
			    snprintf(buf + len, cap - len, "%sIP:%u.%u.%u.%u",
			    len ? "," : "", p[0], p[1], p[2], p[3]) :
			    snprintf(buf + len, cap - len, "%sIP:v6", len ? "," :
			    "");
		} else {
			n = snprintf(buf + len, cap - len, "%sother", len ? "," :
			    "");
		}
		len += (size_t)n;
	}
	GENERAL_NAMES_free(g);
}

static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	ASN1_TIME_to_tm(t, &tm);
	return timegm(&tm);
}

/* A CA, a cache and a minter, for most tests. */
struct mfix {
	struct sl_tls_ca	*ca;
	struct sl_tls_certcache	*cache;
	struct sl_tls_minter	*m;
};

static int
mfix_init(struct mfix *f, struct pki_spec *caspec, size_t size)
{
	memset(f, 0, sizeof(*f));
	if ((f->ca = test_ca(caspec)) == NULL ||
	    (f->cache = sl_tls_certcache_new(f->ca, size)) == NULL ||
	    (f->m = sl_tls_minter_new(f->cache)) == NULL)
		return -1;
	return 0;
}

static void
mfix_done(struct mfix *f)
{
	sl_tls_minter_free(f->m);
	sl_tls_certcache_unref(f->cache);
	sl_tls_ca_unref(f->ca);
}

/* An origin certificate from up and a minter (CA from cas, cache size). */
static int
mt_init(struct origin *o, struct pki_spec *up, struct mfix *f,
    struct pki_spec *cas, size_t size)
{
	return origin_new(o, up) == 0 && mfix_init(f, cas, size) == 0 ? 0 : -1;
}

static void
mt_done(struct origin *o, struct mfix *f)
{
	mfix_done(f);
	origin_free(o);
}

/* --- the leaf --------------------------------------------------------- */

T_TEST(mint_leaf_verifies_against_the_ca_for_the_sni)
{
	struct pki_spec up = { .cn = "www.example.test",
		.san = "DNS:www.example.test,DNS:example.test" };
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "www.example.test", NULL, &leaf, &key),
	    0);
	T_ASSERT(verifies(f.ca, leaf, "www.example.test", NULL));
	T_EQ(X509_check_host(leaf, "example.test", 0, 0, NULL), 1);
	T_EQ(X509_check_host(leaf, "other.test", 0, 0, NULL), 0);
	T_EQ(X509_check_private_key(leaf, key), 1);
	X509_free(leaf);
	EVP_PKEY_free(key);
	mt_done(&o, &f);
}

T_TEST(mint_leaf_copies_dns_and_ip_sans_only)
{
	struct pki_spec up = { .cn = "a.test", .san = "DNS:a.test,"
		"email:x@a.test,DNS:*.b.test,IP:192.0.2.7,URI:https://a.test/"
		",IP:2001:db8::1" };
	char want[256], got[256];
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;
	int crit = -1;
	GENERAL_NAMES *g;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "x.b.test", NULL, &leaf, &key), 0);
	san_text(leaf, got, sizeof(got));
	T_STREQ(got, "DNS:a.test,DNS:*.b.test,IP:192.0.2.7,IP:v6");
	san_text(o.cert, want, sizeof(want));
	T_STREQ(want, "DNS:a.test,other,DNS:*.b.test,IP:192.0.2.7,other,"
	    "IP:v6");
	g = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	GENERAL_NAMES_free(g);
	T_EQ(crit, 0);			/* a subject CN is there */
	X509_free(leaf);
	EVP_PKEY_free(key);
	mt_done(&o, &f);
}

T_TEST(mint_leaf_subject_is_the_lower_cased_sni_issuer_the_ca)
{
	struct pki_spec up = { .cn = "upstream cn", .san = "DNS:*.c.test" };
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;
	char cn[128];

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "Mixed.C.Test", NULL, &leaf, &key), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn));
	T_STREQ(cn, "mixed.c.test");
	T_EQ(X509_NAME_entry_count(X509_get_subject_name(leaf)), 1);
	T_EQ(X509_NAME_cmp(X509_get_issuer_name(leaf),
	    X509_get_subject_name(sl_tls_ca_cert(f.ca))), 0);
	X509_free(leaf);
	EVP_PKEY_free(key);
	mt_done(&o, &f);
}

T_TEST(mint_leaf_for_a_long_name_has_empty_subject_and_critical_san)
{
	char name[128];
	struct pki_spec up = { .san = "DNS:*.abcdefghijklmnopqrstuvwxyz"
		"0123456789abcdefghijklmnopqrstuvwxyz.test" };
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;
	int crit = -1;
	GENERAL_NAMES *g;

	snprintf(name, sizeof(name), "host.abcdefghijklmnopqrstuvwxyz"
	    "0123456789abcdefghijklmnopqrstuvwxyz.test");
	T_ASSERT(strlen(name) > 64);
	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, name, NULL, &leaf, &key), 0);
	T_EQ(X509_NAME_entry_count(X509_get_subject_name(leaf)), 0);
	g = X509_get_ext_d2i(leaf, NID_subject_alt_name, &crit, NULL);
	GENERAL_NAMES_free(g);
	T_EQ(crit, 1);
	T_ASSERT(verifies(f.ca, leaf, name, NULL));
	X509_free(leaf);
	EVP_PKEY_free(key);
	mt_done(&o, &f);
}

T_TEST(mint_leaf_extensions_and_signature)
{
	struct pki_spec up = { .cn = "e.test", .san = "DNS:e.test" };
	const ASN1_OCTET_STRING *akid, *caskid;
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;
	BASIC_CONSTRAINTS *bc;
	int crit;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "e.test", NULL, &leaf, &key), 0);
	bc = X509_get_ext_d2i(leaf, NID_basic_constraints, &crit, NULL);
	T_ASSERT(bc != NULL && !bc->ca && crit == 1);
	BASIC_CONSTRAINTS_free(bc);
	T_EQ(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE);
	T_EQ(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER);
	T_ASSERT(X509_get0_subject_key_id(leaf) != NULL);
	akid = X509_get0_authority_key_id(leaf);
	caskid = X509_get0_subject_key_id(sl_tls_ca_cert(f.ca));
	T_ASSERT(akid != NULL && caskid != NULL);
	T_EQ(ASN1_OCTET_STRING_cmp(akid, caskid), 0);
	T_EQ(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256);
	T_EQ(X509_get_version(leaf), X509_VERSION_3);
	T_EQ(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	X509_free(leaf);
	EVP_PKEY_free(key);
	mt_done(&o, &f);
}

T_TEST(mint_with_an_rsa_ca_signs_sha256_with_rsa)
{
	struct pki_spec cas = { .cn = "rsa CA", .ca = 1, .nb = -PKI_DAY,
		.na = 3650 * PKI_DAY };
	struct pki_spec up = { .cn = "r.test", .san = "DNS:r.test" };
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;

	cas.key = pki_rsa(2048);
	T_ASSERT(mt_init(&o, &up, &f, &cas, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "r.test", NULL, &leaf, &key), 0);
	T_EQ(X509_get_signature_nid(leaf), NID_sha256WithRSAEncryption);
	T_ASSERT(verifies(f.ca, leaf, "r.test", NULL));
	X509_free(leaf);
	EVP_PKEY_free(key);
	mt_done(&o, &f);
}

T_TEST(mint_for_an_ip_literal_destination_has_the_ip_san)
{
	struct pki_spec up = { .san = "IP:192.0.2.7,DNS:ip.test" };
	struct sl_ip ip;
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf, *leaf2;
	char cn[64];

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_ip_parse(&ip, "192.0.2.7"), 0);
	T_EQ(sl_tls_mint(f.m, o.cert, NULL, &ip, &leaf, &key), 0);
	T_ASSERT(verifies(f.ca, leaf, NULL, "192.0.2.7"));
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn));
	T_STREQ(cn, "192.0.2.7");
	EVP_PKEY_free(key);
	/* The address given as a name is the same destination. */
	T_EQ(sl_tls_mint(f.m, o.cert, "192.0.2.7", NULL, &leaf2, &key), 0);
	T_ASSERT(leaf2 == leaf);
	X509_free(leaf);
	X509_free(leaf2);
	EVP_PKEY_free(key);
	/* An address the certificate does not name: refused. */
	T_EQ(sl_ip_parse(&ip, "192.0.2.8"), 0);
	T_EQ(sl_tls_mint(f.m, o.cert, NULL, &ip, &leaf, &key), -1);
	T_ASSERT(leaf == NULL && key == NULL);
	mt_done(&o, &f);
}

T_TEST(mint_upstream_without_san_uses_a_host_name_cn)
{
	struct pki_spec up = { .cn = "legacy.test" };
	struct pki_spec ip = { .cn = "cn.test", .san = "IP:192.0.2.9" };
	struct pki_spec bad = { .cn = "Legacy Server" };
	struct origin o, ob, oi;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;
	char got[128];

	T_ASSERT(origin_new(&o, &up) == 0 && origin_new(&ob, &bad) == 0 &&
	    origin_new(&oi, &ip) == 0 && mfix_init(&f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "legacy.test", NULL, &leaf, &key), 0);
	san_text(leaf, got, sizeof(got));
	T_STREQ(got, "DNS:legacy.test");
	T_ASSERT(verifies(f.ca, leaf, "legacy.test", NULL));
	X509_free(leaf);
	EVP_PKEY_free(key);
	/* A SAN without a DNS name: the CN still names the host, as for
	 * OpenSSL's X509_check_host(). */
	T_EQ(sl_tls_mint(f.m, oi.cert, "cn.test", NULL, &leaf, &key), 0);
	san_text(leaf, got, sizeof(got));
	T_STREQ(got, "IP:192.0.2.9,DNS:cn.test");
	X509_free(leaf);
	EVP_PKEY_free(key);
	origin_free(&oi);
	/* A CN that is no host name gives no name: nothing is minted. */
	T_EQ(sl_tls_mint(f.m, ob.cert, "Legacy Server", NULL, &leaf, &key),
	    -1);
	mt_done(&o, &f);
	origin_free(&ob);
}

T_TEST(mint_refuses_a_name_the_upstream_does_not_cover)
{
	struct pki_spec up = { .cn = "a.test", .san = "DNS:a.test,"
		"DNS:*.w.test,DNS:f*.p.test" };
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "b.test", NULL, &leaf, &key), -1);
	T_EQ(sl_tls_mint(f.m, o.cert, "x.y.w.test", NULL, &leaf, &key), -1);
	T_EQ(sl_tls_mint(f.m, o.cert, "foo.p.test", NULL, &leaf, &key), -1);
	T_EQ(sl_tls_mint(f.m, o.cert, "", NULL, &leaf, &key), -1);
	T_EQ(sl_tls_mint(f.m, o.cert, NULL, NULL, &leaf, &key), -1);
	T_ASSERT(leaf == NULL && key == NULL);
	T_EQ(sl_tls_mint(f.m, o.cert, "x.w.test", NULL, &leaf, &key), 0);
	X509_free(leaf);
	EVP_PKEY_free(key);
	mt_done(&o, &f);
}

T_TEST(mint_validity_lies_inside_upstream_and_ca)
{
	struct pki_spec up = { .san = "DNS:v.test", .nb = -600,
		.na = 3 * PKI_DAY };
	struct pki_spec lng = { .san = "DNS:l.test", .nb = -400 * PKI_DAY,
		.na = 400 * PKI_DAY };
	struct pki_spec cas = { .cn = "short CA", .ca = 1, .nb = -PKI_DAY,
		.na = 2 * PKI_DAY };
	struct origin o, ol;
	struct mfix f, fs;
	time_t now = time(NULL);
	EVP_PKEY *key;
	X509 *leaf;

	T_ASSERT(origin_new(&o, &up) == 0 && origin_new(&ol, &lng) == 0);
	T_ASSERT(mfix_init(&f, NULL, 16) == 0 && mfix_init(&fs, &cas, 16) == 0);
	/* A young, short upstream: its own bounds. */
	T_EQ(sl_tls_mint(f.m, o.cert, "v.test", NULL, &leaf, &key), 0);
	T_EQ(asn1_time(X509_get0_notBefore(leaf)),
	    asn1_time(X509_get0_notBefore(o.cert)));
	T_EQ(asn1_time(X509_get0_notAfter(leaf)),
	    asn1_time(X509_get0_notAfter(o.cert)));
	X509_free(leaf);
	EVP_PKEY_free(key);
	/* A long one: [now - 1h, now + 7d]. */
	T_EQ(sl_tls_mint(f.m, ol.cert, "l.test", NULL, &leaf, &key), 0);
	T_ASSERT(llabs((long long)(asn1_time(X509_get0_notBefore(leaf)) -
	    (now - 3600))) <= 2);
	T_ASSERT(llabs((long long)(asn1_time(X509_get0_notAfter(leaf)) -
	    (now + 7 * PKI_DAY))) <= 2);
	X509_free(leaf);
	EVP_PKEY_free(key);
	/* A CA that ends sooner: the CA's end. */
	T_EQ(sl_tls_mint(fs.m, ol.cert, "l.test", NULL, &leaf, &key), 0);
	T_EQ(asn1_time(X509_get0_notAfter(leaf)),
	    asn1_time(X509_get0_notAfter(sl_tls_ca_cert(fs.ca))));
	X509_free(leaf);
	EVP_PKEY_free(key);
	mfix_done(&f);
	mt_done(&o, &fs);
	origin_free(&ol);
}

T_TEST(mint_serials_are_random_128_bit_and_distinct)
{
	struct pki_spec up = { .san = "DNS:*.s.test" };
	BIGNUM *seen[64] = { NULL };
	struct origin o;
	struct mfix f;
	EVP_PKEY *key;
	X509 *leaf;
	char name[64];
	int bits_total = 0;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 0) == 0);
	for (size_t i = 0; i < SL_NELEM(seen); i++) {
		snprintf(name, sizeof(name), "h%zu.s.test", i);
		T_EQ(sl_tls_mint(f.m, o.cert, name, NULL, &leaf, &key), 0);
		seen[i] = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
		T_ASSERT(seen[i] != NULL && !BN_is_negative(seen[i]));
		T_ASSERT(BN_num_bits(seen[i]) <= 128);
		bits_total += BN_num_bits(seen[i]);
		for (size_t j = 0; j < i; j++)
			T_ASSERT(BN_cmp(seen[i], seen[j]) != 0);
		X509_free(leaf);
		EVP_PKEY_free(key);
	}
	/* 64 random 128-bit numbers average ~127 bits. */
	T_ASSERT(bits_total > 64 * 120);
	for (size_t i = 0; i < SL_NELEM(seen); i++)
		BN_free(seen[i]);
	mt_done(&o, &f);
}

/* --- the cache ---------------------------------------------------------- */

/* Mint name from up; returns the leaf pointer (freed: identity only). */
static X509 *
mint_ptr(struct sl_tls_minter *m, X509 *up, const char *name)
{
	EVP_PKEY *key;
	X509 *leaf;

	if (sl_tls_mint(m, up, name, NULL, &leaf, &key) == -1)
		return NULL;
	X509_free(leaf);
	EVP_PKEY_free(key);
	return leaf;
}

T_TEST(cache_hit_returns_the_same_pair_and_is_case_blind)
{
	struct pki_spec up = { .san = "DNS:*.h.test" };
	struct sl_tls_certcache_stats st;
	struct origin o;
	struct mfix f;
	EVP_PKEY *k1, *k2;
	X509 *l1, *l2;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "a.h.test", NULL, &l1, &k1), 0);
	T_EQ(sl_tls_mint(f.m, o.cert, "A.H.TEST", NULL, &l2, &k2), 0);
	T_ASSERT(l1 == l2 && k1 == k2);
	sl_tls_certcache_stats(f.cache, &st);
	T_EQ(st.hits, 1);
	T_EQ(st.misses, 1);
	T_EQ(st.entries, 1);
	X509_free(l1);
	X509_free(l2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	mt_done(&o, &f);
}

T_TEST(cache_evicts_the_least_recently_used)
{
	struct pki_spec up = { .san = "DNS:*.lru.test" };
	struct sl_tls_certcache_stats st;
	X509 *a, *b, *c;
	struct origin o;
	struct mfix f;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 2) == 0);
	/* The pointers stay valid: the cache holds a reference. */
	a = mint_ptr(f.m, o.cert, "a.lru.test");
	b = mint_ptr(f.m, o.cert, "b.lru.test");
	T_ASSERT(mint_ptr(f.m, o.cert, "a.lru.test") == a);   /* a newest */
	c = mint_ptr(f.m, o.cert, "c.lru.test");	/* evicts b */
	T_ASSERT(a != NULL && b != NULL && c != NULL);
	sl_tls_certcache_stats(f.cache, &st);
	T_EQ(st.evictions, 1);
	T_EQ(st.entries, 2);
	T_ASSERT(mint_ptr(f.m, o.cert, "a.lru.test") == a);
	T_ASSERT(mint_ptr(f.m, o.cert, "c.lru.test") == c);
	/* b was evicted: minted again (it evicts a, the oldest now). */
	T_ASSERT(mint_ptr(f.m, o.cert, "b.lru.test") != NULL);
	sl_tls_certcache_stats(f.cache, &st);
	T_EQ(st.hits, 3);
	T_EQ(st.misses, 4);
	T_EQ(st.evictions, 2);
	T_ASSERT(mint_ptr(f.m, o.cert, "c.lru.test") == c);
	mt_done(&o, &f);
}

T_TEST(cache_keys_on_the_upstream_certificate_too)
{
	struct pki_spec up1 = { .san = "DNS:k.test" };
	struct pki_spec up2 = { .san = "DNS:k.test" };
	struct origin o1, o2;
	struct mfix f;
	X509 *a, *b;

	T_ASSERT(origin_new(&o1, &up1) == 0 && origin_new(&o2, &up2) == 0 &&
	    mfix_init(&f, NULL, 16) == 0);
	a = mint_ptr(f.m, o1.cert, "k.test");
	b = mint_ptr(f.m, o2.cert, "k.test");	/* renewed certificate */
	T_ASSERT(a != NULL && b != NULL && a != b);
	T_ASSERT(mint_ptr(f.m, o1.cert, "k.test") == a);
	mt_done(&o1, &f);
	origin_free(&o2);
}

T_TEST(cache_size_zero_caches_nothing)
{
	struct pki_spec up = { .san = "DNS:z.test" };
	struct sl_tls_certcache_stats st;
	struct origin o;
	struct mfix f;
	X509 *a;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 0) == 0);
	a = mint_ptr(f.m, o.cert, "z.test");
	T_ASSERT(a != NULL);
	T_ASSERT(mint_ptr(f.m, o.cert, "z.test") != NULL);
	sl_tls_certcache_stats(f.cache, &st);
	T_EQ(st.hits, 0);
	T_EQ(st.misses, 2);
	T_EQ(st.entries, 0);
	mt_done(&o, &f);
}

T_TEST(cache_is_shared_by_two_workers_with_the_pair_together)
{
	struct pki_spec up = { .san = "DNS:two.test,DNS:three.test" };
	struct sl_tls_minter *m2;
	EVP_PKEY *k1, *k2, *k3;
	X509 *l1, *l2, *l3;
	struct origin o;
	struct mfix f;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 16) == 0);
	T_ASSERT((m2 = sl_tls_minter_new(f.cache)) != NULL);
	T_EQ(sl_tls_mint(f.m, o.cert, "two.test", NULL, &l1, &k1), 0);
	T_EQ(sl_tls_mint(m2, o.cert, "two.test", NULL, &l2, &k2), 0);
	/* Worker 2 serves worker 1's leaf with worker 1's key. */
	T_ASSERT(l1 == l2 && k1 == k2);
	T_EQ(X509_check_private_key(l2, k2), 1);
	/* What worker 2 mints itself carries its own key. */
	T_EQ(sl_tls_mint(m2, o.cert, "three.test", NULL, &l3, &k3), 0);
	T_ASSERT(k3 != k1 && EVP_PKEY_eq(k3, k1) != 1);
	T_EQ(X509_check_private_key(l3, k3), 1);
	X509_free(l3);
	EVP_PKEY_free(k3);
	X509_free(l1);
	X509_free(l2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	sl_tls_minter_free(m2);
	sl_tls_minter_free(NULL);
	mt_done(&o, &f);
}

T_TEST(cache_outlives_its_owner_while_minters_hold_it)
{
	struct pki_spec up = { .san = "DNS:own.test" };
	struct sl_tls_ca *ca;
	struct sl_tls_certcache *c;
	struct sl_tls_minter *m;
	struct origin o;

	T_ASSERT(origin_new(&o, &up) == 0 && (ca = test_ca(NULL)) != NULL);
	T_ASSERT((c = sl_tls_certcache_new(ca, 4)) != NULL);
	m = sl_tls_minter_new(c);
	/* The owner lets go of both at once (a reload): the worker's
	 * minter keeps the cache and the CA alive. */
	sl_tls_certcache_unref(c);
	sl_tls_ca_unref(ca);
	T_ASSERT(m != NULL);
	T_ASSERT(mint_ptr(m, o.cert, "own.test") != NULL);
	sl_tls_minter_free(m);
	origin_free(&o);
}

/* --- four workers at once -------------------------------------------- */

#define RACE_THREADS	4
#define RACE_MINTS	300
#define RACE_NAMES	200

struct racer {
	pthread_t		 t;
	struct sl_tls_minter	*m;
	X509			*up;
	uint64_t		 seed;
	int			 bad;
};

static void *
race_main(void *arg)
{
	struct racer *r = arg;
	struct rng rng = { r->seed };
	char name[64];

	for (int i = 0; i < RACE_MINTS; i++) {
		EVP_PKEY *key;
		X509 *leaf;

		snprintf(name, sizeof(name), "n%u.race.test",
		    rn(&rng, RACE_NAMES));
		if (sl_tls_mint(r->m, r->up, name, NULL, &leaf, &key) == -1) {
			r->bad++;
			continue;
		}
		if (X509_check_host(leaf, name, 0, 0, NULL) != 1 ||
		    X509_check_private_key(leaf, key) != 1)
			r->bad++;
		X509_free(leaf);
		EVP_PKEY_free(key);
	}
	return NULL;
}

T_TEST(cache_four_threads_mint_and_share_consistently)
{
	struct pki_spec up = { .san = "DNS:*.race.test" };
	struct sl_tls_certcache_stats st;
	struct racer r[RACE_THREADS];
	struct origin o;
	struct mfix f;
	int started = 0, bad = 0;

	T_ASSERT(mt_init(&o, &up, &f, NULL, 64) == 0);
	memset(r, 0, sizeof(r));
	for (int i = 0; i < RACE_THREADS; i++) {
		r[i].up = o.cert;
		r[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		r[i].m = i == 0 ? f.m : sl_tls_minter_new(f.cache);
		if (r[i].m == NULL || pthread_create(&r[i].t, NULL, race_main,
		    &r[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(r[i].t, NULL);
		bad += r[i].bad;
		if (i > 0)
			sl_tls_minter_free(r[i].m);
	}
	T_EQ(started, RACE_THREADS);
	T_EQ(bad, 0);
	sl_tls_certcache_stats(f.cache, &st);
	T_EQ(st.hits + st.misses, RACE_THREADS * RACE_MINTS);
	T_ASSERT(st.entries <= 64);
	T_ASSERT(st.hits > 0 && st.evictions > 0);
	printf("# 4 threads: %llu hits, %llu misses, %llu evictions, "
	    "%llu raced\n", (unsigned long long)st.hits,
	    (unsigned long long)st.misses, (unsigned long long)st.evictions,
	    (unsigned long long)st.raced);
	mt_done(&o, &f);
}

/* --- cost ------------------------------------------------------------- */

static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Per-mint thread CPU time in µs: n new names, then the same n again. */
static void
mint_cost(struct sl_tls_minter *m, X509 *up, int n, double *cold,
    double *hot)
{
	char name[64];
	double t0, t1, t2;

	t0 = cpu_us();
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%d.cost.test", i);
		(void)mint_ptr(m, up, name);
	}
	t1 = cpu_us();
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "c%d.cost.test", i);
		(void)mint_ptr(m, up, name);
	}
	t2 = cpu_us();
	*cold = (t1 - t0) / n;
	*hot = (t2 - t1) / n;
}

T_TEST(mint_costs_well_under_a_millisecond)
{
	struct pki_spec up = { .cn = "cost.test", .san = "DNS:*.cost.test,"
		"DNS:cost.test,DNS:www.cost.test,DNS:api.cost.test" };
	struct pki_spec rsa = { .cn = "rsa CA", .ca = 1, .nb = -PKI_DAY,
		.na = 3650 * PKI_DAY };
	double cold, hot, rcold, rhot;
	struct origin o;
	struct mfix f, fr;

	rsa.key = pki_rsa(2048);
	T_ASSERT(mt_init(&o, &up, &f, NULL, 1000) == 0 &&
	    mfix_init(&fr, &rsa, 1000) == 0);
	mint_cost(f.m, o.cert, 400, &cold, &hot);
	mint_cost(fr.m, o.cert, 100, &rcold, &rhot);
	printf("# mint CPU per leaf: EC P-256 CA cold %.1f us, cached %.1f "
	    "us; RSA 2048 CA cold %.1f us, cached %.1f us\n", cold, hot,
	    rcold, rhot);
	T_CHECK(cold < 1000, "cold mint %.1f us", cold);
	T_CHECK(hot < cold, "cached %.1f us, cold %.1f us", hot, cold);
	mfix_done(&f);
	mt_done(&o, &fr);
}

T_TEST(mint_constructors_survive_failed_allocations)
{
	struct sl_tls_ca *ca = test_ca(NULL);
	struct sl_tls_certcache *c;
	struct sl_tls_minter *m = NULL;

	/* Under make test-oom each sl_alloc fails in turn: every
	 * constructor returns NULL and the rest is freed (ASan). */
	if (ca == NULL)
		return;
	if ((c = sl_tls_certcache_new(ca, 8)) != NULL)
		m = sl_tls_minter_new(c);
	sl_tls_minter_free(m);
	sl_tls_certcache_unref(c);
	sl_tls_ca_unref(ca);
}
