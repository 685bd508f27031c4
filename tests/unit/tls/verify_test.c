/*
 * verify_test.c — the TLS contexts, in-memory handshakes (BIO pairs, no
 * sockets): an upstream SSL from sl_tls_upstream_ctx_new() against test
 * origins with good and bad certificates, each refusal named by
 * sl_tls_verify_reason(); the client-facing context serving a minted
 * leaf; versions below TLS 1.2 refused on both sides.
 */
#include <unistd.h>

#include "tests/unit/tls/pki.h"
#include "tls/tls.h"
#include "tests/unit/t.h"

/* A test PKI: a trusted root (in the bundle), an untrusted one. */
struct vfix {
	char		 dir[64], bundle[128];
	EVP_PKEY	*rk, *ok, *k;	/* root, other root, leaf keys */
	X509		*root, *other;
	SSL_CTX		*up;		/* sl_tls_upstream_ctx_new */
	struct sl_tls_vcache *vc;	/* vcache tests: attached to up */
};

static int
vfix_init(struct vfix *f)
{
	char err[512];

	memset(f, 0, sizeof(*f));
	if (pki_mkdtemp(f->dir, sizeof(f->dir)) == -1 ||
	    (f->rk = pki_ec("P-256")) == NULL ||
	    (f->ok = pki_ec("P-256")) == NULL ||
	    (f->k = pki_ec("P-256")) == NULL ||
	    (f->root = pki_root("test root", f->rk)) == NULL ||
	    (f->other = pki_root("other root", f->ok)) == NULL)
		return -1;
	snprintf(f->bundle, sizeof(f->bundle), "%s/bundle.pem", f->dir);
	if (pki_write_certs(f->bundle, f->root, NULL) == -1)
		return -1;
	if ((f->up = sl_tls_upstream_ctx_new(NULL, f->bundle, NULL, err,
	    sizeof(err))) == NULL) {
		printf("# upstream ctx: %s\n", err);
		return -1;
	}
	return 0;
}

static void
vfix_done(struct vfix *f)
{
	SSL_CTX_free(f->up);
	sl_tls_vcache_free(f->vc);
	EVP_PKEY_free(f->rk);
	EVP_PKEY_free(f->ok);
	EVP_PKEY_free(f->k);
	X509_free(f->root);
	X509_free(f->other);
	pki_rmdir(f->dir);
}

/*
 * Connect an upstream SSL for name (or IP literal) to an origin serving
 * cert (+ extra chain cert); returns the verify reason ("ok" when it
 * verified) or "setup" when the test could not run.
 */
static const char *
connect_origin(struct vfix *f, X509 *cert, EVP_PKEY *key, X509 *extra,
    const char *name, int maxv)
{
	SSL_CTX *octx = pki_origin_ctx(cert, key, extra, 0, maxv);
	SSL *cli = SSL_new(f->up), *srv = octx ? SSL_new(octx) : NULL;
	const char *why = "setup";
	int hs;

	if (cli == NULL || srv == NULL ||
	    sl_tls_upstream_prepare(cli, name, NULL, NULL, 0) == -1)
		goto out;
	hs = pki_handshake(cli, srv);
	why = sl_tls_verify_reason(cli);
	if (why == NULL)
		why = hs == 0 ? "ok" : "verified but the handshake failed";
	else if (hs == 0)
		why = "handshake succeeded despite a refusal";
out:
	SSL_free(cli);
	SSL_free(srv);
	SSL_CTX_free(octx);
	return why;
}

/* A leaf from spec, issued by the trusted root unless spec says. */
static X509 *
leaf(struct vfix *f, struct pki_spec *s)
{
	if (s->key == NULL)
		s->key = f->k;
	if (s->issuer == NULL && s->issuer_key == NULL) {
		s->issuer = f->root;
		s->issuer_key = f->rk;
	}
	if (s->eku == NULL)
		s->eku = "serverAuth";
	return pki_cert(s);
}

/* Run one origin case: reason for name. */
static const char *
origin_case(struct vfix *f, struct pki_spec *s, const char *name)
{
	X509 *x = leaf(f, s);
	const char *why = x ? connect_origin(f, x, s->key, NULL, name, 0) :
	    "setup";

	X509_free(x);
	return why;
}

/* --- upstream verification ---------------------------------------------- */

T_TEST(upstream_valid_chain_verifies)
{
	struct pki_spec s = { .cn = "a.test", .san = "DNS:a.test" };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(origin_case(&f, &s, "a.test"), "ok");
	vfix_done(&f);
}

T_TEST(upstream_expired_is_expired)
{
	struct pki_spec s = { .san = "DNS:a.test", .nb = -10 * PKI_DAY,
		.na = -PKI_DAY };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(origin_case(&f, &s, "a.test"), "expired");
	vfix_done(&f);
}

T_TEST(upstream_not_yet_valid_is_not_yet_valid)
{
	struct pki_spec s = { .san = "DNS:a.test", .nb = PKI_DAY,
		.na = 10 * PKI_DAY };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(origin_case(&f, &s, "a.test"), "not_yet_valid");
	vfix_done(&f);
}

T_TEST(upstream_self_signed_is_self_signed)
{
	struct pki_spec s = { .cn = "a.test", .san = "DNS:a.test" };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	s.key = f.k;
	s.issuer_key = f.k;		/* issuer NULL: self-signed */
	T_STREQ(origin_case(&f, &s, "a.test"), "self_signed");
	vfix_done(&f);
}

T_TEST(upstream_wrong_name_is_wrong_name)
{
	struct pki_spec s = { .san = "DNS:b.test,DNS:*.w.test" };
	struct pki_spec p = { .san = "DNS:f*.p.test" };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(origin_case(&f, &s, "a.test"), "wrong_name");
	T_STREQ(origin_case(&f, &s, "x.y.w.test"), "wrong_name");
	T_STREQ(origin_case(&f, &s, "x.w.test"), "ok");
	/* No partial wildcards (browsers refuse them too). */
	T_STREQ(origin_case(&f, &p, "foo.p.test"), "wrong_name");
	vfix_done(&f);
}

T_TEST(upstream_ip_literal_is_checked_against_ip_sans)
{
	struct pki_spec s = { .san = "IP:192.0.2.7,DNS:ip.test" };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(origin_case(&f, &s, "192.0.2.7"), "ok");
	T_STREQ(origin_case(&f, &s, "192.0.2.8"), "wrong_name");
	vfix_done(&f);
}

T_TEST(upstream_ip_given_as_address_verifies_and_sends_no_sni)
{
	struct pki_spec s = { .san = "IP:192.0.2.7" };
	SSL_CTX *octx;
	SSL *cli, *srv;
	struct sl_ip ip;
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_init(&f) == 0 && (x = leaf(&f, &s)) != NULL);
	T_ASSERT((octx = pki_origin_ctx(x, f.k, NULL, 0, 0)) != NULL);
	cli = SSL_new(f.up);
	srv = SSL_new(octx);
	T_EQ(sl_ip_parse(&ip, "192.0.2.7"), 0);
	T_EQ(sl_tls_upstream_prepare(cli, NULL, &ip, NULL, 0), 0);
	T_EQ(pki_handshake(cli, srv), 0);
	T_ASSERT(sl_tls_verify_reason(cli) == NULL);
	T_ASSERT(SSL_get_servername(srv, TLSEXT_NAMETYPE_host_name) == NULL);
	/* Neither a name nor an address: nothing to verify, refused. */
	SSL_free(cli);
	cli = SSL_new(f.up);
	T_EQ(sl_tls_upstream_prepare(cli, NULL, NULL, NULL, 0), -1);
	SSL_free(cli);
	SSL_free(srv);
	SSL_CTX_free(octx);
	X509_free(x);
	vfix_done(&f);
}

T_TEST(upstream_untrusted_root_is_untrusted_chain)
{
	struct pki_spec s = { .san = "DNS:a.test" };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	s.issuer = f.other;
	s.issuer_key = f.ok;
	T_STREQ(origin_case(&f, &s, "a.test"), "untrusted_chain");
	vfix_done(&f);
}

T_TEST(upstream_untrusted_root_sent_along_is_untrusted_chain)
{
	struct pki_spec s = { .san = "DNS:a.test" };
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_init(&f) == 0);
	s.issuer = f.other;
	s.issuer_key = f.ok;
	T_ASSERT((x = leaf(&f, &s)) != NULL);
	T_STREQ(connect_origin(&f, x, f.k, f.other, "a.test", 0),
	    "untrusted_chain");
	X509_free(x);
	vfix_done(&f);
}

T_TEST(upstream_rsa_1024_leaf_is_weak_key)
{
	struct pki_spec s = { .san = "DNS:a.test" };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	s.key = pki_rsa(1024);
	T_STREQ(origin_case(&f, &s, "a.test"), "weak_key");
	EVP_PKEY_free(s.key);
	vfix_done(&f);
}

T_TEST(upstream_sha1_signed_leaf_is_weak_signature)
{
	struct pki_spec s = { .san = "DNS:a.test", .md = EVP_sha1() };
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(origin_case(&f, &s, "a.test"), "weak_signature");
	vfix_done(&f);
}

/* root -> intermediate (key on curve) -> leaf for a.test: the reason. */
static const char *
intermediate_case(struct vfix *f, const char *curve)
{
	EVP_PKEY *ik = pki_ec(curve);
	struct pki_spec is = { .cn = "intermediate", .ca = 1, .key = ik,
		.issuer = f->root, .issuer_key = f->rk };
	struct pki_spec s = { .san = "DNS:a.test", .issuer_key = ik };
	const char *why = "setup";
	X509 *inter = ik ? pki_cert(&is) : NULL, *x = NULL;

	s.issuer = inter;
	if (inter != NULL && (x = leaf(f, &s)) != NULL)
		why = connect_origin(f, x, f->k, inter, "a.test", 0);
	X509_free(x);
	X509_free(inter);
	EVP_PKEY_free(ik);
	return why;
}

T_TEST(upstream_p224_intermediate_is_weak_key_by_our_own_check)
{
	struct vfix f;

	/* P-224 (112 bits) passes OpenSSL's level 2; browsers refuse EC
	 * keys under 256 bits, and so does verify.c. */
	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(intermediate_case(&f, "P-224"), "weak_key");
	vfix_done(&f);
}

T_TEST(upstream_good_intermediate_verifies)
{
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_STREQ(intermediate_case(&f, "P-384"), "ok");
	vfix_done(&f);
}

T_TEST(upstream_tls11_origin_is_refused)
{
	struct pki_spec s = { .san = "DNS:a.test" };
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_init(&f) == 0 && (x = leaf(&f, &s)) != NULL);
	T_STREQ(connect_origin(&f, x, f.k, NULL, "a.test", TLS1_1_VERSION),
	    "handshake_failed");
	T_STREQ(connect_origin(&f, x, f.k, NULL, "a.test", TLS1_VERSION),
	    "handshake_failed");
	T_STREQ(connect_origin(&f, x, f.k, NULL, "a.test", TLS1_2_VERSION),
	    "ok");
	X509_free(x);
	vfix_done(&f);
}

/* The origin picks h2 when offered. */
static int
alpn_h2_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char mine[] = "\x02h2";
	unsigned char *o;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&o, outlen, mine, sizeof(mine) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

T_TEST(upstream_offers_the_clients_alpn)
{
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	struct pki_spec s = { .san = "DNS:a.test" };
	struct sl_tls_hello h;
	unsigned char wire[64];
	const unsigned char *sel = NULL;
	unsigned int sel_len = 0;
	SSL_CTX *octx;
	SSL *cli, *srv;
	struct vfix f;
	X509 *x;

	memset(&h, 0, sizeof(h));
	h.nalpn = 2;
	strcpy(h.alpn[0], "h2");
	strcpy(h.alpn[1], "http/1.1");
	T_EQ(sl_tls_alpn_wire(&h, wire, sizeof(wire)), sizeof(alpn) - 1);
	T_ASSERT(memcmp(wire, alpn, sizeof(alpn) - 1) == 0);
	T_EQ(sl_tls_alpn_wire(&h, wire, 5), 0);		/* too small */
	T_ASSERT(vfix_init(&f) == 0 && (x = leaf(&f, &s)) != NULL);
	T_ASSERT((octx = pki_origin_ctx(x, f.k, NULL, 0, 0)) != NULL);
	SSL_CTX_set_alpn_select_cb(octx, alpn_h2_cb, NULL);
	cli = SSL_new(f.up);
	srv = SSL_new(octx);
	T_EQ(sl_tls_upstream_prepare(cli, "a.test", NULL, wire,
	    sizeof(alpn) - 1), 0);
	T_EQ(pki_handshake(cli, srv), 0);
	SSL_get0_alpn_selected(cli, &sel, &sel_len);
	T_EQ(sel_len, 2);
	T_ASSERT(memcmp(sel, "h2", 2) == 0);
	T_STREQ(SSL_get_servername(srv, TLSEXT_NAMETYPE_host_name), "a.test");
	SSL_free(cli);
	SSL_free(srv);
	SSL_CTX_free(octx);
	X509_free(x);
	vfix_done(&f);
}

/* --- the verification cache (vcache.c) ---------------------------------- */

/* vfix_init with a verification cache of size entries, ttl seconds. */
static int
vfix_cached(struct vfix *f, size_t size, unsigned ttl)
{
	if (vfix_init(f) == -1 || (f->vc = sl_tls_vcache_new(size, ttl)) == NULL)
		return -1;
	sl_tls_vcache_attach(f->vc, f->up);
	return 0;
}

static struct sl_tls_vcache_stats
vstats(struct vfix *f)
{
	struct sl_tls_vcache_stats st;

	sl_tls_vcache_stats(f->vc, &st);
	return st;
}

T_TEST(vcache_a_verified_chain_is_not_verified_again_for_its_name)
{
	struct pki_spec s = { .cn = "a.test", .san = "DNS:a.test,DNS:b.test" };
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_cached(&f, 16, 300) == 0);
	T_ASSERT((x = leaf(&f, &s)) != NULL);
	T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0), "ok");
	T_EQ(vstats(&f).misses, 1);
	T_EQ(vstats(&f).entries, 1);
	T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0), "ok");
	T_EQ(vstats(&f).hits, 1);
	/* Another name on the same chain is another key: verified anew. */
	T_STREQ(connect_origin(&f, x, s.key, NULL, "b.test", 0), "ok");
	T_EQ(vstats(&f).hits, 1);
	T_EQ(vstats(&f).entries, 2);
	X509_free(x);
	vfix_done(&f);
}

T_TEST(vcache_a_cached_chain_gives_nothing_to_a_name_it_does_not_cover)
{
	struct pki_spec s = { .cn = "a.test", .san = "DNS:a.test" };
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_cached(&f, 16, 300) == 0);
	T_ASSERT((x = leaf(&f, &s)) != NULL);
	T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0), "ok");
	T_STREQ(connect_origin(&f, x, s.key, NULL, "evil.test", 0),
	    "wrong_name");
	T_STREQ(connect_origin(&f, x, s.key, NULL, "10.0.0.1", 0),
	    "wrong_name");
	T_EQ(vstats(&f).hits, 0);
	T_EQ(vstats(&f).entries, 1);
	X509_free(x);
	vfix_done(&f);
}

T_TEST(vcache_a_failure_is_never_kept)
{
	struct pki_spec s = { .san = "DNS:a.test" };
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_cached(&f, 16, 300) == 0);
	s.issuer = f.other;
	s.issuer_key = f.ok;
	T_ASSERT((x = leaf(&f, &s)) != NULL);
	for (int i = 0; i < 3; i++)
		T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0),
		    "untrusted_chain");
	T_EQ(vstats(&f).hits, 0);
	T_EQ(vstats(&f).entries, 0);
	X509_free(x);
	vfix_done(&f);
}

T_TEST(vcache_a_new_certificate_is_verified)
{
	struct pki_spec s = { .cn = "a.test", .san = "DNS:a.test" };
	struct pki_spec bad = { .san = "DNS:a.test" };
	struct vfix f;
	X509 *x, *y;

	T_ASSERT(vfix_cached(&f, 16, 300) == 0);
	T_ASSERT((x = leaf(&f, &s)) != NULL);
	bad.issuer = f.other;
	bad.issuer_key = f.ok;
	T_ASSERT((y = leaf(&f, &bad)) != NULL);
	T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0), "ok");
	/* The same name and key, another certificate: not the cached one. */
	T_STREQ(connect_origin(&f, y, bad.key, NULL, "a.test", 0),
	    "untrusted_chain");
	T_EQ(vstats(&f).hits, 0);
	X509_free(x);
	X509_free(y);
	vfix_done(&f);
}

T_TEST(vcache_an_entry_never_outlives_the_certificate)
{
	/* Valid for 1 more second; the cache's ttl is 5 minutes. */
	struct pki_spec s = { .san = "DNS:a.test", .nb = -PKI_DAY, .na = 1 };
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_cached(&f, 16, 300) == 0);
	T_ASSERT((x = leaf(&f, &s)) != NULL);
	T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0), "ok");
	T_EQ(vstats(&f).entries, 1);
	sleep(2);
	T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0), "expired");
	T_EQ(vstats(&f).hits, 0);
	T_EQ(vstats(&f).expired, 1);
	X509_free(x);
	vfix_done(&f);
}

T_TEST(vcache_keeps_size_entries_least_recently_used_first)
{
	struct pki_spec s[3] = {
		{ .san = "DNS:a.test" }, { .san = "DNS:b.test" },
		{ .san = "DNS:c.test" },
	};
	const char *names[3] = { "a.test", "b.test", "c.test" };
	struct vfix f;
	X509 *x[3];

	T_ASSERT(vfix_cached(&f, 2, 300) == 0);
	for (int i = 0; i < 3; i++) {
		T_ASSERT((x[i] = leaf(&f, &s[i])) != NULL);
		T_STREQ(connect_origin(&f, x[i], s[i].key, NULL, names[i], 0),
		    "ok");
	}
	T_EQ(vstats(&f).entries, 2);
	T_EQ(vstats(&f).evictions, 1);
	/* a.test was the least recently used: verified again. */
	T_STREQ(connect_origin(&f, x[0], s[0].key, NULL, "a.test", 0), "ok");
	T_EQ(vstats(&f).hits, 0);
	T_STREQ(connect_origin(&f, x[2], s[2].key, NULL, "c.test", 0), "ok");
	T_EQ(vstats(&f).hits, 1);
	for (int i = 0; i < 3; i++)
		X509_free(x[i]);
	vfix_done(&f);
}

T_TEST(vcache_of_size_0_is_off)
{
	struct pki_spec s = { .san = "DNS:a.test" };
	struct vfix f;
	X509 *x;

	T_ASSERT(vfix_cached(&f, 0, 300) == 0);
	T_ASSERT((x = leaf(&f, &s)) != NULL);
	for (int i = 0; i < 2; i++)
		T_STREQ(connect_origin(&f, x, s.key, NULL, "a.test", 0), "ok");
	T_EQ(vstats(&f).hits + vstats(&f).misses, 0);
	X509_free(x);
	vfix_done(&f);
}

/* --- the upstream context itself ------------------------------------- */

T_TEST(upstream_ctx_is_tls12_minimum_level_2)
{
	struct vfix f;

	T_ASSERT(vfix_init(&f) == 0);
	T_EQ(SSL_CTX_get_min_proto_version(f.up), TLS1_2_VERSION);
	T_EQ(SSL_CTX_get_security_level(f.up), 2);
	T_EQ(SSL_CTX_get_verify_mode(f.up), SSL_VERIFY_PEER);
	T_ASSERT(SSL_CTX_get_options(f.up) & SSL_OP_NO_COMPRESSION);
	T_ASSERT(SSL_CTX_get_options(f.up) & SSL_OP_NO_RENEGOTIATION);
	vfix_done(&f);
}

T_TEST(upstream_ctx_refuses_bad_bundles)
{
	char err[512], path[160];
	SSL_CTX *ctx;
	struct vfix f;
	FILE *fp;

	T_ASSERT(vfix_init(&f) == 0);
	ctx = sl_tls_upstream_ctx_new(f.dir, "missing.pem", NULL, err,
	    sizeof(err));
	T_ASSERT(ctx == NULL && strstr(err, "missing.pem") != NULL);
	snprintf(path, sizeof(path), "%s/empty.pem", f.dir);
	T_ASSERT((fp = fopen(path, "w")) != NULL);
	fclose(fp);
	ctx = sl_tls_upstream_ctx_new(f.dir, "empty.pem", NULL, err,
	    sizeof(err));
	T_CHECK(ctx == NULL, "empty bundle accepted");
	printf("# %s\n", err);
	/* Relative to the directory given: the same bundle as vfix's. */
	ctx = sl_tls_upstream_ctx_new(f.dir, "bundle.pem", NULL, err,
	    sizeof(err));
	T_ASSERT(ctx != NULL);
	SSL_CTX_free(ctx);
	vfix_done(&f);
}

T_TEST(upstream_ctx_refuses_a_store_with_the_appliance_ca)
{
	struct sl_tls_ca_params p = { .days = 365 };
	struct sl_tls_ca *ca;
	char err[512], path[160];
	SSL_CTX *ctx;
	struct vfix f;
	X509 *cax;

	T_ASSERT(vfix_init(&f) == 0);
	T_EQ(sl_tls_ca_create(f.dir, &p, err, sizeof(err)), 0);
	T_ASSERT((ca = sl_tls_ca_load(f.dir, "ca.pem", "ca.key", err,
	    sizeof(err))) != NULL);
	/* Fine: the bundle does not hold it. */
	ctx = sl_tls_upstream_ctx_new(f.dir, "bundle.pem", ca, err,
	    sizeof(err));
	T_ASSERT(ctx != NULL);
	SSL_CTX_free(ctx);
	/* A bundle with the appliance CA in it: refused. */
	cax = sl_tls_ca_cert(ca);
	snprintf(path, sizeof(path), "%s/both.pem", f.dir);
	T_EQ(pki_write_certs(path, f.root, cax), 0);
	ctx = sl_tls_upstream_ctx_new(f.dir, "both.pem", ca, err, sizeof(err));
	T_ASSERT(ctx == NULL && strstr(err, "appliance CA") != NULL);
	sl_tls_ca_unref(ca);
	vfix_done(&f);
}

T_TEST(upstream_ctx_uses_the_system_store_when_there_is_one)
{
	char err[512];
	SSL_CTX *ctx;

	if (access(X509_get_default_cert_file(), R_OK) == -1 &&
	    access(X509_get_default_cert_dir(), R_OK) == -1) {
		printf("# no system trust store here: skipped\n");
		return;
	}
	ctx = sl_tls_upstream_ctx_new(NULL, "", NULL, err, sizeof(err));
	T_CHECK(ctx != NULL, "%s", err);
	SSL_CTX_free(ctx);
}

/* --- the client-facing side ----------------------------------------- */

/* A CA, its cache and a minter, and a leaf for name from an origin. */
struct cfix {
	struct vfix		 v;
	struct sl_tls_ca	*ca;
	struct sl_tls_certcache	*cache;
	struct sl_tls_minter	*m;
	X509			*upcert, *leaf;
	EVP_PKEY		*leafkey;
	SSL_CTX			*cctx;		/* sl_tls_client_ctx_new */
	SSL_CTX			*browser;	/* trusts the appliance CA */
};

static int
cfix_init(struct cfix *f, const char *caname)
{
	struct sl_tls_ca_params p = { .days = 365 };
	struct pki_spec s = { .san = "DNS:a.test" };
	char err[512];

	memset(f, 0, sizeof(*f));
	if (vfix_init(&f->v) == -1 ||
	    sl_tls_ca_create(f->v.dir, &p, err, sizeof(err)) == -1 ||
	    (f->ca = sl_tls_ca_load(f->v.dir, caname, "ca.key", err,
	    sizeof(err))) == NULL ||
	    (f->cache = sl_tls_certcache_new(f->ca, 16)) == NULL ||
	    (f->m = sl_tls_minter_new(f->cache)) == NULL ||
	    (f->upcert = leaf(&f->v, &s)) == NULL ||
	    sl_tls_mint(f->m, f->upcert, "a.test", NULL, &f->leaf,
	    &f->leafkey) == -1 ||
	    (f->cctx = sl_tls_client_ctx_new(err, sizeof(err))) == NULL ||
	    (f->browser = SSL_CTX_new(TLS_client_method())) == NULL) {
		printf("# cfix: %s\n", err);
		return -1;
	}
	SSL_CTX_set_verify(f->browser, SSL_VERIFY_PEER, NULL);
	return 0;
}

static void
cfix_done(struct cfix *f)
{
	SSL_CTX_free(f->browser);
	SSL_CTX_free(f->cctx);
	X509_free(f->leaf);
	EVP_PKEY_free(f->leafkey);
	X509_free(f->upcert);
	sl_tls_minter_free(f->m);
	sl_tls_certcache_unref(f->cache);
	sl_tls_ca_unref(f->ca);
	vfix_done(&f->v);
}

/* A browser-like client against sluice's client-facing side. */
static int
browse(struct cfix *f, SSL **cli, SSL **srv)
{
	*cli = SSL_new(f->browser);
	*srv = SSL_new(f->cctx);
	if (*cli == NULL || *srv == NULL ||
	    sl_tls_client_use_leaf(*srv, f->ca, f->leaf, f->leafkey) == -1)
		return -1;
	SSL_set_tlsext_host_name(*cli, "a.test");
	SSL_set1_host(*cli, "a.test");
	return pki_handshake(*cli, *srv);
}

T_TEST(client_ctx_serves_a_minted_leaf_a_browser_trusts)
{
	char path[160];
	SSL *cli, *srv;
	struct cfix f;

	T_ASSERT(cfix_init(&f, "ca.pem") == 0);
	snprintf(path, sizeof(path), "%s/ca.pem", f.v.dir);
	T_EQ(SSL_CTX_load_verify_file(f.browser, path), 1);
	T_EQ(browse(&f, &cli, &srv), 0);
	T_EQ(SSL_get_verify_result(cli), X509_V_OK);
	T_EQ(SSL_version(cli), TLS1_3_VERSION);
	/* No tickets, nothing to resume. */
	T_EQ(SSL_SESSION_has_ticket(SSL_get_session(cli)), 0);
	T_EQ(SSL_CTX_get_num_tickets(f.cctx), 0);
	T_EQ(SSL_CTX_get_session_cache_mode(f.cctx), SSL_SESS_CACHE_OFF);
	T_ASSERT(SSL_CTX_get_options(f.cctx) & SSL_OP_CIPHER_SERVER_PREFERENCE);
	T_ASSERT(SSL_CTX_get_options(f.cctx) & SSL_OP_NO_COMPRESSION);
	T_ASSERT(SSL_CTX_get_options(f.cctx) & SSL_OP_NO_RENEGOTIATION);
	SSL_free(cli);
	SSL_free(srv);
	cfix_done(&f);
}

T_TEST(client_ctx_sends_the_chain_of_an_intermediate_ca)
{
	EVP_PKEY *sk = pki_ec("P-256");
	struct pki_spec sub = { .cn = "appliance sub-CA", .ca = 1, .key = sk };
	char path[160], key[160];
	SSL *cli, *srv;
	struct cfix f;
	X509 *subx;

	/* An enterprise root issues the appliance CA: ca-cert holds the
	 * sub-CA and the root; clients trust only the root. */
	T_ASSERT(cfix_init(&f, "ca.pem") == 0 && sk != NULL);
	sub.issuer = f.v.root;
	sub.issuer_key = f.v.rk;
	T_ASSERT((subx = pki_cert(&sub)) != NULL);
	snprintf(path, sizeof(path), "%s/sub.pem", f.v.dir);
	snprintf(key, sizeof(key), "%s/sub.key", f.v.dir);
	T_EQ(pki_write_certs(path, subx, f.v.root), 0);
	T_EQ(pki_write_key(key, sk, 0600), 0);
	X509_free(f.leaf);
	EVP_PKEY_free(f.leafkey);
	sl_tls_minter_free(f.m);
	sl_tls_certcache_unref(f.cache);
	sl_tls_ca_unref(f.ca);
	f.ca = sl_tls_ca_load(f.v.dir, "sub.pem", "sub.key", path, 100);
	T_ASSERT(f.ca != NULL);
	T_ASSERT((f.cache = sl_tls_certcache_new(f.ca, 4)) != NULL);
	T_ASSERT((f.m = sl_tls_minter_new(f.cache)) != NULL);
	T_EQ(sl_tls_mint(f.m, f.upcert, "a.test", NULL, &f.leaf, &f.leafkey),
	    0);
	T_EQ(SSL_CTX_load_verify_file(f.browser, f.v.bundle), 1);
	T_EQ(browse(&f, &cli, &srv), 0);
	T_EQ(SSL_get_verify_result(cli), X509_V_OK);
	SSL_free(cli);
	SSL_free(srv);
	X509_free(subx);
	EVP_PKEY_free(sk);
	cfix_done(&f);
}

T_TEST(client_ctx_refuses_tls10_and_tls11_clients)
{
	int versions[] = { TLS1_VERSION, TLS1_1_VERSION };
	char path[160];
	SSL *cli, *srv;
	struct cfix f;

	T_ASSERT(cfix_init(&f, "ca.pem") == 0);
	snprintf(path, sizeof(path), "%s/ca.pem", f.v.dir);
	T_EQ(SSL_CTX_load_verify_file(f.browser, path), 1);
	SSL_CTX_set_security_level(f.browser, 0);
	SSL_CTX_set_cipher_list(f.browser, "DEFAULT:@SECLEVEL=0");
	T_EQ(SSL_CTX_get_min_proto_version(f.cctx), TLS1_2_VERSION);
	for (size_t i = 0; i < SL_NELEM(versions); i++) {
		SSL_CTX_set_min_proto_version(f.browser, versions[i]);
		SSL_CTX_set_max_proto_version(f.browser, versions[i]);
		T_EQ(browse(&f, &cli, &srv), -1);
		SSL_free(cli);
		SSL_free(srv);
	}
	SSL_CTX_set_max_proto_version(f.browser, TLS1_2_VERSION);
	T_EQ(browse(&f, &cli, &srv), 0);
	T_EQ(SSL_version(cli), TLS1_2_VERSION);
	SSL_free(cli);
	SSL_free(srv);
	cfix_done(&f);
}

T_TEST(client_side_never_below_the_version_the_origin_negotiated)
{
	char path[160];
	SSL *cli, *srv, *up, *origin;
	SSL_CTX *octx;
	struct cfix f;

	T_ASSERT(cfix_init(&f, "ca.pem") == 0);
	snprintf(path, sizeof(path), "%s/ca.pem", f.v.dir);
	T_EQ(SSL_CTX_load_verify_file(f.browser, path), 1);
	/* sluice -> origin on TLS 1.3. */
	T_ASSERT((octx = pki_origin_ctx(f.upcert, f.v.k, NULL, 0, 0)) != NULL);
	up = SSL_new(f.v.up);
	origin = SSL_new(octx);
	T_EQ(sl_tls_upstream_prepare(up, "a.test", NULL, NULL, 0), 0);
	T_EQ(pki_handshake(up, origin), 0);
	T_EQ(SSL_version(up), TLS1_3_VERSION);
	/* A client that can do only TLS 1.2 is refused then. */
	SSL_CTX_set_max_proto_version(f.browser, TLS1_2_VERSION);
	cli = SSL_new(f.browser);
	srv = SSL_new(f.cctx);
	T_EQ(sl_tls_client_match_version(srv, up), 0);
	T_EQ(SSL_get_min_proto_version(srv), TLS1_3_VERSION);
	T_EQ(sl_tls_client_use_leaf(srv, f.ca, f.leaf, f.leafkey), 0);
	T_EQ(pki_handshake(cli, srv), -1);
	SSL_free(cli);
	SSL_free(srv);
	/* Before any handshake there is no version to match. */
	srv = SSL_new(f.cctx);
	SSL_free(origin);
	origin = SSL_new(octx);
	T_EQ(sl_tls_client_match_version(srv, origin), -1);
	SSL_free(srv);
	SSL_free(up);
	SSL_free(origin);
	SSL_CTX_free(octx);
	cfix_done(&f);
}

T_TEST(verify_reason_before_a_handshake_is_handshake_failed)
{
	struct vfix f;
	SSL *ssl;

	T_ASSERT(vfix_init(&f) == 0);
	ssl = SSL_new(f.up);
	T_STREQ(sl_tls_verify_reason(ssl), "handshake_failed");
	SSL_free(ssl);
	vfix_done(&f);
}
