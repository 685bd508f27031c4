/*
 * ctx.c — the two SSL_CTX kinds of an inspected flow, and what each SSL
 * needs before its handshake.
 *
 *   client --TLS--> [client-facing ctx: minted leaf] sluice
 *                   sluice [upstream ctx: verifies] --TLS--> origin
 *
 * Both: TLS 1.2 minimum (OpenSSL 3 needs security level 0 for 1.0/1.1
 * anyway), security level 2 (112 bits: RSA >= 2048, no SHA-1 in
 * signatures), no compression, no renegotiation, and only ECDHE/DHE with
 * AEAD ciphers for TLS 1.2 (Mozilla "intermediate", 2023).  The client
 * side drops DHE (it needs parameters and is slower) and has nothing to
 * resume: no tickets, no session cache.  The upstream side verifies every
 * peer (verify.c adds browser-grade strength checks and names the
 * result).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_int.h"

#define CTX_TLS13_SUITES	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
				"TLS_CHACHA20_POLY1305_SHA256"
#define CTX_TLS12_ECDHE		"ECDHE-ECDSA-AES128-GCM-SHA256:" \
				"ECDHE-RSA-AES128-GCM-SHA256:" \
				"ECDHE-ECDSA-AES256-GCM-SHA384:" \
				"ECDHE-RSA-AES256-GCM-SHA384:" \
				"ECDHE-ECDSA-CHACHA20-POLY1305:" \
				"ECDHE-RSA-CHACHA20-POLY1305"
#define CTX_TLS12_DHE		"DHE-RSA-AES128-GCM-SHA256:" \
				"DHE-RSA-AES256-GCM-SHA384:" \
				"DHE-RSA-CHACHA20-POLY1305"
#define CTX_GROUPS		"X25519:P-256:P-384"

/* Settings both kinds share. */
static int
ctx_common(SSL_CTX *ctx, const char *ciphers)
{
	SSL_CTX_set_security_level(ctx, 2);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	/* Idle tunnels are the common case (DESIGN.md: an idle tunnel
	 * costs a few hundred bytes): give the 2 x 16 KiB record buffers
	 * back between reads. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* Read what the socket has, not a record header then its body: two
	 * reads per record become one per burst (a handshake flight, a
	 * stream of records).  Bytes OpenSSL then holds are invisible to
	 * epoll; the halves see to them (proxy/half.c, half_tls_kick). */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 65536);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, 0) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, ciphers) != 1 ||
	    SSL_CTX_set_ciphersuites(ctx, CTX_TLS13_SUITES) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, CTX_GROUPS) != 1)
		return -1;
	return 0;
}

SSL_CTX *
sl_tls_client_ctx_new(char *err, size_t cap)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    ctx_common(ctx, CTX_TLS12_ECDHE) == -1) {
		tls_err(err, cap, "cannot make the client-facing TLS context");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Our order, except that a client preferring ChaCha20 (no AES
	 * hardware) gets it. */
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_PRIORITIZE_CHACHA | SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

int
sl_tls_client_use_leaf(SSL *ssl, const struct sl_tls_ca *ca, X509 *cert,
    EVP_PKEY *key)
{
	STACK_OF(X509) *chain = tls_ca_chain(ca);

	if (SSL_use_certificate(ssl, cert) != 1 ||
	    SSL_use_PrivateKey(ssl, key) != 1) {
		sl_tls_log_ossl(SL_LOG_WARN, "tls: cannot use the minted leaf");
		return -1;
	}
	for (int i = 0; i < sk_X509_num(chain); i++) {
		if (SSL_add1_chain_cert(ssl, sk_X509_value(chain, i)) != 1) {
			sl_tls_log_ossl(SL_LOG_WARN, "tls: cannot add the CA "
			    "chain");
			return -1;
		}
	}
	return 0;
}

int
sl_tls_client_match_version(SSL *cli, const SSL *up)
{
	int v = SSL_version(up);

	/* Before its handshake an SSL reports its method's version. */
	if (!SSL_is_init_finished(up) ||
	    (v != TLS1_2_VERSION && v != TLS1_3_VERSION))
		return -1;
	return SSL_set_min_proto_version(cli, v) == 1 ? 0 : -1;
}

/*
 * The system trust store as OpenSSL finds it (SSL_CERT_FILE and
 * SSL_CERT_DIR override): refuse to start verifying against nothing.
 */
static int
ctx_system_store(SSL_CTX *ctx, char *err, size_t cap)
{
	const char *file = getenv(X509_get_default_cert_file_env());
	const char *dir = getenv(X509_get_default_cert_dir_env());

	if (file == NULL)
		file = X509_get_default_cert_file();
	if (dir == NULL)
		dir = X509_get_default_cert_dir();
	if (access(file, R_OK) == -1 && access(dir, R_OK | X_OK) == -1) {
		snprintf(err, cap, "no system trust store (neither %s nor %s "
		    "is readable; install ca-certificates or set "
		    "upstream-ca-bundle)", file, dir);
		return -1;
	}
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_err(err, cap, "cannot use the system trust store");
		return -1;
	}
	return 0;
}

static int
ctx_bundle(SSL_CTX *ctx, const char *path, char *err, size_t cap)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, cap, "cannot read upstream-ca-bundle '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode) ? SSL_CTX_load_verify_dir(ctx, path) != 1 :
	    SSL_CTX_load_verify_file(ctx, path) != 1) {
		tls_err(err, cap, "cannot load upstream-ca-bundle '%s'", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode) && sk_X509_OBJECT_num(X509_STORE_get0_objects(
	    SSL_CTX_get_cert_store(ctx))) == 0) {
		snprintf(err, cap, "upstream-ca-bundle '%s' holds no "
		    "certificate", path);
		return -1;
	}
	return 0;
}

/* Does the store trust the appliance's own CA (same subject and key)? */
static int
ctx_trusts_ca(SSL_CTX *ctx, const struct sl_tls_ca *ca)
{
	X509 *cert = sl_tls_ca_cert(ca);
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	STACK_OF(X509) *found = NULL;
	int hit = 0;

	/* A lookup by subject also reaches a hashed directory's files. */
	if (sctx != NULL && X509_STORE_CTX_init(sctx,
	    SSL_CTX_get_cert_store(ctx), NULL, NULL) == 1)
		found = X509_STORE_CTX_get1_certs(sctx,
		    X509_get_subject_name(cert));
	for (int i = 0; i < sk_X509_num(found) && !hit; i++)
		hit = EVP_PKEY_eq(X509_get0_pubkey(sk_X509_value(found, i)),
		    X509_get0_pubkey(cert)) == 1;
	sk_X509_pop_free(found, X509_free);
	X509_STORE_CTX_free(sctx);
	tls_err_clear();
	return hit;
}

SSL_CTX *
sl_tls_upstream_ctx_new(const char *dir, const char *bundle,
    const struct sl_tls_ca *ca, char *err, size_t cap)
{
	char path[4096];
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    ctx_common(ctx, CTX_TLS12_ECDHE ":" CTX_TLS12_DHE) == -1) {
		tls_err(err, cap, "cannot make the upstream TLS context");
		goto fail;
	}
	tls_verify_setup(ctx);
	if (bundle == NULL || bundle[0] == '\0') {
		if (ctx_system_store(ctx, err, cap) == -1)
			goto fail;
	} else if (tls_path(dir, bundle, path, sizeof(path)) == -1) {
		snprintf(err, cap, "upstream-ca-bundle path is too long");
		goto fail;
	} else if (ctx_bundle(ctx, path, err, cap) == -1) {
		goto fail;
	}
	if (ca != NULL && ctx_trusts_ca(ctx, ca)) {
		snprintf(err, cap, "the upstream trust store contains the "
		    "appliance CA: sluice would trust its own leaves (remove it "
		    "from %s)", bundle != NULL && bundle[0] != '\0' ? path :
		    "the system store");
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
sl_tls_upstream_prepare(SSL *ssl, const char *sni, const struct sl_ip *ip,
    const unsigned char *alpn, size_t alpn_len)
{
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	struct sl_ip lit;
	int ok;

	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (sni != NULL && sl_ip_parse(&lit, sni) == 0) {
		ip = &lit;		/* no SNI for an address */
		sni = NULL;
	}
	if (sni != NULL && sni[0] != '\0')
		ok = SSL_set_tlsext_host_name(ssl, sni) == 1 &&
		    X509_VERIFY_PARAM_set1_host(vp, sni, 0) == 1;
	else if (ip != NULL && (ip->af == AF_INET || ip->af == AF_INET6))
		ok = X509_VERIFY_PARAM_set1_ip(vp, ip->b,
		    ip->af == AF_INET ? 4 : 16) == 1;
	else {
		sl_log(SL_LOG_WARN, "tls: upstream without a name or address "
		    "to verify");
		return -1;
	}
	/* SSL_set_alpn_protos() returns 0 on success. */
	if (ok && alpn != NULL && alpn_len > 0 &&
	    SSL_set_alpn_protos(ssl, alpn, (unsigned)alpn_len) != 0)
		ok = 0;
	if (!ok) {
		sl_tls_log_ossl(SL_LOG_WARN, "tls: cannot prepare an upstream "
		    "connection");
		return -1;
	}
	return 0;
}

size_t
sl_tls_alpn_wire(const struct sl_tls_hello *h, unsigned char *buf, size_t cap)
{
	size_t len = 0;

	for (unsigned i = 0; i < h->nalpn && i < SL_TLS_ALPN_MAX; i++) {
		size_t n = strlen(h->alpn[i]);

		if (n == 0 || n > 255 || len + 1 + n > cap)
			return 0;
		buf[len++] = (unsigned char)n;
		memcpy(buf + len, h->alpn[i], n);
		len += n;
	}
	return len;
}
