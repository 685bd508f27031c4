/*
 * pki.h — certificates, keys and in-memory handshakes made by the TLS
 * unit tests themselves (nothing on disk but what a test writes into its
 * own temporary directory).  Header-only: each test binary links only its
 * own file and t.o.
 */
#ifndef SL_TEST_PKI_H
#define SL_TEST_PKI_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/attr.h"

#define PKI_DAY		86400L

/* What a test certificate looks like; zero fields take defaults. */
struct pki_spec {
	const char	*cn;		/* subject CN (NULL: none) */
	const char	*san;		/* "DNS:a.test,IP:10.0.0.1" or NULL */
	EVP_PKEY	*key;		/* subject key */
	X509		*issuer;	/* NULL: self-signed */
	EVP_PKEY	*issuer_key;
	long		 nb, na;	/* seconds from now; 0,0: -1d, +30d */
	int		 ca;		/* CA:TRUE + keyCertSign */
	const char	*ku;		/* keyUsage override ("" = none) */
	const char	*eku;		/* extendedKeyUsage, NULL: none */
	const EVP_MD	*md;		/* NULL: SHA-256 */
};

static SL_UNUSED EVP_PKEY *
pki_ec(const char *curve)
{
	return EVP_EC_gen(curve);
}

static SL_UNUSED EVP_PKEY *
pki_rsa(unsigned bits)
{
	return EVP_RSA_gen(bits);
}

static SL_UNUSED int
pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static SL_UNUSED X509 *
pki_cert(const struct pki_spec *s)
{
	static unsigned long serial = 1000;
	X509 *x = X509_new(), *iss;
	EVP_PKEY *ikey = s->issuer_key ? s->issuer_key : s->key;
	time_t now = time(NULL);
	long nb = s->nb, na = s->na;

	if (nb == 0 && na == 0) {
		nb = -PKI_DAY;
		na = 30 * PKI_DAY;
	}
	if (x == NULL)
		return NULL;
	iss = s->issuer ? s->issuer : x;
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)__atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED));
	if (s->cn != NULL)
		X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
		    MBSTRING_UTF8, (const unsigned char *)s->cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(iss));
	X509_time_adj_ex(X509_getm_notBefore(x), 0, nb, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, na, &now);
	X509_set_pubkey(x, s->key);
	if (pki_ext(x, iss, NID_subject_key_identifier, "hash") == -1 ||
	    (s->issuer != NULL && pki_ext(x, iss,
	    NID_authority_key_identifier, "keyid:always") == -1) ||
	    pki_ext(x, iss, NID_basic_constraints, s->ca ? "critical,CA:TRUE" :
	    "critical,CA:FALSE") == -1 ||
	    (s->ku == NULL ? pki_ext(x, iss, NID_key_usage, s->ca ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature") :
	    s->ku[0] != '\0' ? pki_ext(x, iss, NID_key_usage, s->ku) : 0) ==
	    -1 ||
	    (s->eku != NULL && pki_ext(x, iss, NID_ext_key_usage, s->eku)
	    == -1) ||
	    (s->san != NULL && pki_ext(x, iss, NID_subject_alt_name, s->san)
	    == -1) ||
	    X509_sign(x, ikey, s->md ? s->md : EVP_PKEY_get_base_id(ikey) ==
	    EVP_PKEY_ED25519 ? NULL : EVP_sha256()) <= 0) {
		ERR_print_errors_fp(stdout);
		X509_free(x);
		return NULL;
	}
	return x;
}

/* A self-signed root CA with this key. */
static SL_UNUSED X509 *
pki_root(const char *cn, EVP_PKEY *key)
{
	struct pki_spec s = { .cn = cn, .key = key, .ca = 1,
		.nb = -PKI_DAY, .na = 3650 * PKI_DAY };

	return pki_cert(&s);
}

/* A server leaf for san, issued by (issuer, ikey). */
static SL_UNUSED X509 *
pki_leaf(const char *cn, const char *san, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *ikey)
{
	struct pki_spec s = { .cn = cn, .san = san, .key = key,
		.issuer = issuer, .issuer_key = ikey, .eku = "serverAuth" };

	return pki_cert(&s);
}

/* --- files ---------------------------------------------------------- */

static void pki_rmdir(const char *dir);

/* Every directory made, removed at exit too: a test that stops at a
 * failed check (make test-oom: most of them) leaves none behind. */
static char	pki_dirs[1024][64];
static size_t	pki_ndirs;

static void
pki_rmdirs(void)
{
	for (size_t i = 0; i < pki_ndirs; i++)
		pki_rmdir(pki_dirs[i]);
}

static SL_UNUSED int
pki_mkdtemp(char *buf, size_t cap)
{
	snprintf(buf, cap, "/tmp/sl-tls-test.XXXXXX");
	if (mkdtemp(buf) == NULL)
		return -1;
	if (pki_ndirs == 0)
		atexit(pki_rmdirs);
	if (pki_ndirs == SL_NELEM(pki_dirs)) {	/* forget those gone */
		size_t n = 0;

		for (size_t i = 0; i < pki_ndirs; i++)
			if (access(pki_dirs[i], F_OK) == 0)
				memmove(pki_dirs[n++], pki_dirs[i],
				    sizeof(pki_dirs[0]));
		pki_ndirs = n;
	}
	if (pki_ndirs < SL_NELEM(pki_dirs))
		snprintf(pki_dirs[pki_ndirs++], sizeof(pki_dirs[0]), "%s", buf);
	return 0;
}

/* Remove dir and the plain files in it (and a sub-directory's). */
static void
pki_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == -1)
			pki_rmdir(path);		/* a directory */
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

static SL_UNUSED int
pki_write_certs(const char *path, X509 *a, X509 *b)
{
	FILE *fp = fopen(path, "w");
	int ok;

	if (fp == NULL)
		return -1;
	ok = PEM_write_X509(fp, a) == 1 && (b == NULL ||
	    PEM_write_X509(fp, b) == 1);
	return fclose(fp) == 0 && ok ? 0 : -1;
}

static SL_UNUSED int
pki_write_key(const char *path, EVP_PKEY *k, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *fp;
	int ok;

	if (fd == -1 || fchmod(fd, mode) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	ok = PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) == 1;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/* --- in-memory handshakes ------------------------------------------- */

/*
 * A test origin: serves cert (with chain cert extra, if any) at security
 * level 0 so that weak certificates and old versions can be offered.
 * maxv: highest version (0: any).
 */
static SL_UNUSED SSL_CTX *
pki_origin_ctx(X509 *cert, EVP_PKEY *key, X509 *extra, int minv, int maxv)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, minv);
	SSL_CTX_set_max_proto_version(ctx, maxv);
	if (maxv != 0 && maxv < TLS1_2_VERSION)
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    (extra != NULL && SSL_CTX_add1_chain_cert(ctx, extra) != 1)) {
		ERR_print_errors_fp(stdout);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * Run a handshake between cli and srv over a BIO pair (both take it).
 * Returns 0 when both finished, -1 when either failed.
 */
static SL_UNUSED int
pki_handshake(SSL *cli, SSL *srv)
{
	BIO *a, *b;

	if (BIO_new_bio_pair(&a, 0, &b, 0) != 1)
		return -1;
	SSL_set_bio(cli, a, a);
	SSL_set_bio(srv, b, b);
	SSL_set_connect_state(cli);
	SSL_set_accept_state(srv);
	for (int i = 0; i < 100; i++) {
		int rc = SSL_do_handshake(cli), rs = SSL_do_handshake(srv);
		int ec = SSL_get_error(cli, rc), es = SSL_get_error(srv, rs);

		if (rc == 1 && rs == 1)
			return 0;
		if ((rc != 1 && ec != SSL_ERROR_WANT_READ &&
		    ec != SSL_ERROR_WANT_WRITE) || (rs != 1 &&
		    es != SSL_ERROR_WANT_READ && es != SSL_ERROR_WANT_WRITE)) {
			ERR_clear_error();
			return -1;
		}
	}
	return -1;
}

#endif /* SL_TEST_PKI_H */
