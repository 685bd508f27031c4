/*
 * mint.c — leaf certificates for inspected flows, signed by the CA.
 *
 * One minter per worker.  It generates its leaf key (EC P-256) once and
 * reuses it for every leaf, as mature interceptors do: a key pair costs
 * more than the signature, and a leaf's key protects nothing the process
 * does not hold anyway.  Everything that does not depend on the origin
 * (basicConstraints, keyUsage, extendedKeyUsage, both key identifiers) is
 * encoded once; a leaf then costs a SAN copy, one CA signature (ECDSA
 * P-256: tens of microseconds) and the cache's lock twice.
 *
 *   sl_tls_mint(upstream, sni | ip)
 *     name checked against upstream (the caller verified it: safeguard)
 *     key = (name, SHA-256(upstream DER)) --> cache hit: that pair
 *     miss: build leaf                     --> sign --> cache --> pair
 *
 * Leaf: subject CN = the name (if it fits in 64 characters; otherwise an
 * empty subject and a critical SAN, RFC 5280 section 4.2.1.6), issuer =
 * the CA's subject, serial 128 random bits, SAN = upstream's DNS and IP
 * entries (not guessed; an upstream without a DNS name there gives its
 * CN as one when that is a host name, as OpenSSL's host check reads it),
 * validity = upstream's and the CA's
 * intersected with [now - 1 h, now + 7 days] (the hour for clients whose
 * clock is behind; the week bounds what a leaked leaf is worth), served
 * from the cache for at most 6 days so a client always gets one with a
 * day left.  Signature: SHA-256 (ECDSA or sha256WithRSAEncryption after
 * the CA's key), SHA-384 with a P-384 CA.
 *
 * The leaf key is made through the EC_KEY API, deprecated in OpenSSL 3.0,
 * on purpose: X509_set_pubkey() with a provider-native key runs the
 * encoder and decoder machinery on every call (~170 us, measured), with a
 * legacy key it is a direct encoding (~5 us).  That is most of a mint.
 * Nothing else here uses deprecated calls; when OpenSSL drops EC_KEY, a
 * pre-encoded SubjectPublicKeyInfo will have to take its place.
 */
#define OPENSSL_SUPPRESS_DEPRECATED	/* EC_KEY: see above */

#include <ctype.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "../lib/alloc.h"
#include "tls_int.h"

#define MINT_BACKDATE	3600			/* seconds before now */
#define MINT_LIFETIME	(7 * 86400)		/* at most, after now */
#define MINT_REUSE	(6 * 86400)		/* cached at most */
#define MINT_CN_MAX	64			/* ub-common-name */
#define MINT_PAGE_LIFETIME 3600			/* an error page's leaf */

enum { MX_BC = 0, MX_KU, MX_EKU, MX_SKID, MX_N };

struct sl_tls_minter {
	struct sl_tls_certcache	*cache;		/* ref held */
	struct sl_tls_ca	*ca;		/* the cache's */
	EVP_PKEY		*key;		/* this worker's leaf key */
	EVP_MD			*sha256;	/* cache keys */
	X509_EXTENSION		*ext[MX_N];	/* the same in every leaf */
};

/* subjectKeyIdentifier: SHA-1 of the public key (RFC 5280 4.2.1.2 (1)). */
static X509_EXTENSION *
mint_skid(EVP_PKEY *key)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	X509_PUBKEY *xpk = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	const unsigned char *pk;
	unsigned int mdlen;
	int pklen;

	if (X509_PUBKEY_set(&xpk, key) == 1 &&
	    X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk) == 1 &&
	    EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL) == 1 &&
	    (os = ASN1_OCTET_STRING_new()) != NULL &&
	    ASN1_OCTET_STRING_set(os, md, (int)mdlen) == 1)
		ext = X509V3_EXT_i2d(NID_subject_key_identifier, 0, os);
	ASN1_OCTET_STRING_free(os);
	X509_PUBKEY_free(xpk);
	return ext;
}

/* An EC P-256 key in the legacy form that X509_set_pubkey() encodes fast. */
static EVP_PKEY *
mint_leaf_key(void)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *key = EVP_PKEY_new();

	if (ec == NULL || key == NULL || EC_KEY_generate_key(ec) != 1 ||
	    EVP_PKEY_assign_EC_KEY(key, ec) != 1) {
		EC_KEY_free(ec);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;			/* owns ec */
}

struct sl_tls_minter *
sl_tls_minter_new(struct sl_tls_certcache *cache)
{
	struct sl_tls_minter *m;

	if ((m = sl_calloc(1, sizeof(*m))) == NULL) {
		sl_log(SL_LOG_ERR, "tls: out of memory for a minter");
		return NULL;
	}
	m->cache = sl_tls_certcache_ref(cache);
	m->ca = tls_cache_ca(cache);
	if ((m->key = mint_leaf_key()) == NULL ||
	    (m->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL)) == NULL ||
	    (m->ext[MX_BC] = X509V3_EXT_nconf_nid(NULL, NULL,
	    NID_basic_constraints, "critical,CA:FALSE")) == NULL ||
	    /* keyEncipherment is for RSA leaves only (RFC 5246 7.4.7.1):
	     * this key is EC. */
	    (m->ext[MX_KU] = X509V3_EXT_nconf_nid(NULL, NULL, NID_key_usage,
	    "critical,digitalSignature")) == NULL ||
	    (m->ext[MX_EKU] = X509V3_EXT_nconf_nid(NULL, NULL,
	    NID_ext_key_usage, "serverAuth")) == NULL ||
	    (m->ext[MX_SKID] = mint_skid(m->key)) == NULL) {
		sl_tls_log_ossl(SL_LOG_ERR, "tls: cannot make a minter");
		sl_tls_minter_free(m);
		return NULL;
	}
	return m;
}

void
sl_tls_minter_free(struct sl_tls_minter *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < MX_N; i++)
		X509_EXTENSION_free(m->ext[i]);
	EVP_MD_free(m->sha256);
	EVP_PKEY_free(m->key);
	sl_tls_certcache_unref(m->cache);
	sl_free(m);
}

/* A DNS name a client could match: LDH labels, "*." first at most. */
static int
mint_hostname_ok(const unsigned char *s, size_t len)
{
	size_t label = 0;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum(s[i]) || (s[i] == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return label > 0 && s[len - 1] != '-';
}

/* Upstream without SAN: its CNs that are host names, as DNS names. */
static int
mint_cn_names(X509 *up, GENERAL_NAMES *dst, GENERAL_NAMES **own)
{
	const X509_NAME *subj = X509_get_subject_name(up);
	int i = -1;

	while ((i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0) {
		ASN1_STRING *cn = X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(subj, i));
		GENERAL_NAME *gn;
		ASN1_IA5STRING *ia5;

		if (!mint_hostname_ok(ASN1_STRING_get0_data(cn),
		    (size_t)ASN1_STRING_length(cn)))
			continue;
		if ((*own == NULL && (*own = GENERAL_NAMES_new()) == NULL) ||
		    (ia5 = ASN1_IA5STRING_new()) == NULL)
			return -1;
		if (ASN1_STRING_set(ia5, ASN1_STRING_get0_data(cn),
		    ASN1_STRING_length(cn)) != 1 ||
		    (gn = GENERAL_NAME_new()) == NULL) {
			ASN1_IA5STRING_free(ia5);
			return -1;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
		if (sk_GENERAL_NAME_push(*own, gn) == 0) {
			GENERAL_NAME_free(gn);
			return -1;
		}
		if (sk_GENERAL_NAME_push(dst, gn) == 0)
			return -1;
	}
	return 0;
}

/*
 * The leaf's subjectAltName: upstream's DNS and IP entries, copied (dst
 * borrows them from src).  Without a DNS entry, the CN names as DNS
 * entries: the rule by which X509_check_host() verified the upstream.
 * Critical when the subject is empty.
 */
static int
mint_san(X509 *x, X509 *up, int critical)
{
	GENERAL_NAMES *src, *dst, *own = NULL;
	int rc = -1, ndns = 0;

	src = X509_get_ext_d2i(up, NID_subject_alt_name, NULL, NULL);
	if ((dst = sk_GENERAL_NAME_new_null()) == NULL)
		goto out;
	for (int i = 0; i < sk_GENERAL_NAME_num(src); i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(src, i);

		if (gn->type != GEN_DNS && gn->type != GEN_IPADD)
			continue;
		ndns += gn->type == GEN_DNS;
		if (sk_GENERAL_NAME_push(dst, gn) == 0)
			goto out;
	}
	if (ndns == 0 && mint_cn_names(up, dst, &own) == -1)
		goto out;
	if (sk_GENERAL_NAME_num(dst) == 0) {
		sl_debug(SL_CAT_TLS, "tls: upstream certificate names no host "
		    "or address: nothing to mint");
		goto out;
	}
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, dst, critical,
	    X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
out:
	sk_GENERAL_NAME_free(dst);		/* borrowed entries */
	GENERAL_NAMES_free(own);
	GENERAL_NAMES_free(src);
	return rc;
}

/*
 * An error page's subjectAltName: the name asked for, alone (a DNS name,
 * or the address for an IP literal).  Nothing of an upstream.
 */
static int
mint_san_name(X509 *x, const char *name, int critical)
{
	GENERAL_NAMES *gns = NULL;
	GENERAL_NAME *gn = NULL;
	struct sl_ip ip;
	int rc = -1;

	if (sl_ip_parse(&ip, name) == 0) {
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();

		if (os == NULL || ASN1_OCTET_STRING_set(os, ip.b,
		    ip.af == AF_INET ? 4 : 16) != 1 ||
		    (gn = GENERAL_NAME_new()) == NULL) {
			ASN1_OCTET_STRING_free(os);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
	} else {
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

		if (!mint_hostname_ok((const unsigned char *)name,
		    strlen(name)) || ia5 == NULL ||
		    ASN1_STRING_set(ia5, name, (int)strlen(name)) != 1 ||
		    (gn = GENERAL_NAME_new()) == NULL) {
			ASN1_IA5STRING_free(ia5);
			goto out;
		}
		GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	}
	if ((gns = GENERAL_NAMES_new()) == NULL ||
	    sk_GENERAL_NAME_push(gns, gn) == 0)
		goto out;
	gn = NULL;
	rc = X509_add1_ext_i2d(x, NID_subject_alt_name, gns, critical,
	    X509V3_ADD_DEFAULT) == 1 ? 0 : -1;
out:
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gns);
	return rc;
}

/*
 * [notBefore, notAfter) of the leaf; -1 if upstream and CA leave none.
 * Without an upstream (an error page): an hour either side of now.
 */
static int
mint_validity(const struct sl_tls_minter *m, X509 *up, time_t now,
    time_t *nb, time_t *na)
{
	time_t unb = now - MINT_BACKDATE, una = now + MINT_PAGE_LIFETIME;

	if (up != NULL && (tls_time(X509_get0_notBefore(up), &unb) == -1 ||
	    tls_time(X509_get0_notAfter(up), &una) == -1))
		return -1;
	*nb = SL_MAX(SL_MAX(unb, tls_ca_not_before(m->ca)), now - MINT_BACKDATE);
	*na = SL_MIN(SL_MIN(una, tls_ca_not_after(m->ca)), now + MINT_LIFETIME);
	return *nb < *na ? 0 : -1;
}

static int
mint_exts(const struct sl_tls_minter *m, X509 *x)
{
	for (int i = 0; i < MX_N; i++)
		if (X509_add_ext(x, m->ext[i], -1) != 1)
			return -1;
	/* X509_add_ext copies: const in all but its prototype. */
	return X509_add_ext(x, (X509_EXTENSION *)(uintptr_t)tls_ca_akid(m->ca),
	    -1) == 1 ? 0 : -1;
}

/* A new leaf for name (checked against up; NULL up: an error page's, for
 * the name alone), signed; NULL if not. */
static X509 *
mint_leaf(struct sl_tls_minter *m, X509 *up, const char *name, time_t now,
    time_t *stale)
{
	size_t len = strlen(name);
	time_t nb, na;
	X509 *x;

	if (mint_validity(m, up, now, &nb, &na) == -1) {
		sl_log(SL_LOG_WARN, "tls: no validity left for a leaf for "
		    "'%s' (upstream or CA expired)", name);
		return NULL;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3)
	    != 1 || tls_set_serial(x) == -1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(
	    sl_tls_ca_cert(m->ca))) != 1 ||
	    (len <= MINT_CN_MAX && X509_NAME_add_entry_by_NID(
	    X509_get_subject_name(x), NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)name, (int)len, -1, 0) != 1) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), na) == NULL ||
	    X509_set_pubkey(x, m->key) != 1 || mint_exts(m, x) == -1 ||
	    (up != NULL ? mint_san(x, up, len > MINT_CN_MAX) :
	    mint_san_name(x, name, len > MINT_CN_MAX)) == -1 ||
	    X509_sign(x, tls_ca_key(m->ca), tls_ca_md(m->ca)) <= 0) {
		sl_tls_log_ossl(SL_LOG_WARN, "tls: cannot mint a leaf for '%s'",
		    name);
		X509_free(x);
		return NULL;
	}
	/* Fill x's lazily computed extension cache now, while it is ours
	 * alone: other workers will read it. */
	X509_check_purpose(x, -1, 0);
	*stale = SL_MIN(na, now + MINT_REUSE);
	return x;
}

/*
 * The cache key: the lower-cased name (or the IP's text), after checking
 * that upstream covers it, and the upstream certificate's SHA-256.
 */
static int
mint_key(struct sl_tls_minter *m, X509 *up, const char *sni,
    const struct sl_ip *ip, struct tls_cache_key *k)
{
	struct sl_ip lit;
	unsigned int fplen;
	int ok;

	/* An IP literal given as the name is an address (no SNI for it:
	 * RFC 6066 section 3), as in sl_tls_upstream_prepare(). */
	if (sni != NULL && sl_ip_parse(&lit, sni) == 0) {
		ip = &lit;
		sni = NULL;
	}
	if (sni != NULL) {
		if ((k->namelen = strlen(sni)) == 0 || k->namelen > TLS_NAME_MAX)
			return -1;
		for (size_t i = 0; i <= k->namelen; i++)
			k->name[i] = (char)tolower((unsigned char)sni[i]);
		ok = X509_check_host(up, k->name, k->namelen,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL);
	} else if (ip != NULL && (ip->af == AF_INET || ip->af == AF_INET6)) {
		sl_ip_fmt(ip, k->name, sizeof(k->name));
		k->namelen = strlen(k->name);
		ok = X509_check_ip(up, ip->b, ip->af == AF_INET ? 4 : 16, 0);
	} else {
		sl_log(SL_LOG_WARN, "tls: mint called without a name or address");
		return -1;
	}
	if (ok != 1) {
		tls_err_clear();
		sl_debug(SL_CAT_TLS, "tls: upstream certificate is not valid for "
		    "'%s': not minting", k->name);
		return -1;
	}
	if (X509_digest(up, m->sha256, k->fp, &fplen) != 1) {
		sl_tls_log_ossl(SL_LOG_WARN, "tls: cannot hash a certificate");
		return -1;
	}
	tls_cache_key(m->cache, k);
	return 0;
}

int
sl_tls_mint(struct sl_tls_minter *m, X509 *upstream, const char *sni,
    const struct sl_ip *ip, X509 **cert, EVP_PKEY **key)
{
	struct tls_cache_key k;
	time_t now = time(NULL), stale;
	X509 *x;

	*cert = NULL;
	*key = NULL;
	if (mint_key(m, upstream, sni, ip, &k) == -1)
		return -1;
	if (tls_cache_get(m->cache, &k, now, cert, key))
		return 0;
	if ((x = mint_leaf(m, upstream, k.name, now, &stale)) == NULL)
		return -1;
	EVP_PKEY_up_ref(m->key);
	*cert = x;
	*key = m->key;
	tls_cache_put(m->cache, &k, stale, cert, key);
	return 0;
}

int
sl_tls_mint_page(struct sl_tls_minter *m, const char *name, X509 **cert,
    EVP_PKEY **key)
{
	time_t stale;

	*cert = NULL;
	*key = NULL;
	if ((*cert = mint_leaf(m, NULL, name, time(NULL), &stale)) == NULL)
		return -1;
	EVP_PKEY_up_ref(m->key);
	*key = m->key;
	return 0;
}
