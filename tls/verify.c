/*
 * verify.c — upstream certificate verification: browser-grade strength
 * checks on top of OpenSSL's chain verification, and the reason logged
 * when a certificate is refused.
 *
 * OpenSSL verifies the chain, the name (X509_VERIFY_PARAM set by
 * sl_tls_upstream_prepare()), the times and, at security level 2, keys
 * and signature digests under 112 bits.  Browsers are stricter: no EC key
 * under 256 bits, no SHA-1 or MD5 signature at any security level.  Once
 * OpenSSL has accepted the whole chain (the callback's last call, for the
 * leaf), verify_cb() applies those rules itself and reports a failure
 * with OpenSSL's own codes, so one mapping names every refusal:
 *
 *   X509_V_ERR_...                               reason
 *   CERT_HAS_EXPIRED                             expired
 *   CERT_NOT_YET_VALID                           not_yet_valid
 *   DEPTH_ZERO_SELF_SIGNED_CERT                  self_signed
 *   HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH       wrong_name
 *   EE_KEY_TOO_SMALL, CA_KEY_TOO_SMALL           weak_key
 *   CA_MD_TOO_WEAK                               weak_signature
 *   anything else (UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
 *   SELF_SIGNED_CERT_IN_CHAIN, CERT_SIGNATURE_FAILURE, INVALID_CA,
 *   INVALID_PURPOSE, ...)                        untrusted_chain
 *   X509_V_OK without a peer certificate         handshake_failed
 *
 * When a certificate has several faults, the first OpenSSL checks wins:
 * the chain to a root, then key and digest strength, then the name, then
 * the times.
 */
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_int.h"

/* After OpenSSL accepted the chain: what browsers refuse besides. */
static int
verify_strength(X509_STORE_CTX *sctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sctx);
	int n = sk_X509_num(chain);

	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(chain, i);
		EVP_PKEY *pk = X509_get0_pubkey(x);
		/* A trust anchor's self-signature is never relied upon. */
		int anchor = i == n - 1 &&
		    (X509_get_extension_flags(x) & EXFLAG_SS);
		int err = X509_V_OK;

		if (pk == NULL || tls_key_weak(pk))
			err = i == 0 ? X509_V_ERR_EE_KEY_TOO_SMALL :
			    X509_V_ERR_CA_KEY_TOO_SMALL;
		else if (!anchor && tls_sig_weak(x))
			err = X509_V_ERR_CA_MD_TOO_WEAK;
		if (err != X509_V_OK) {
			X509_STORE_CTX_set_error_depth(sctx, i);
			X509_STORE_CTX_set_current_cert(sctx, x);
			X509_STORE_CTX_set_error(sctx, err);
			return 0;
		}
	}
	return 1;
}

static int
verify_cb(int ok, X509_STORE_CTX *sctx)
{
	/* Called per certificate, root first; depth 0 with ok set is the
	 * leaf passing, after everything above it passed. */
	if (!ok || X509_STORE_CTX_get_error_depth(sctx) != 0)
		return ok;
	return verify_strength(sctx);
}

void
tls_verify_setup(SSL_CTX *ctx)
{
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
}

const char *
sl_tls_verify_reason(const SSL *ssl)
{
	switch (SSL_get_verify_result(ssl)) {
	case X509_V_OK:
		return SSL_get0_peer_certificate(ssl) != NULL ? NULL :
		    "handshake_failed";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not_yet_valid";
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "self_signed";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "wrong_name";
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
		return "weak_key";
	case X509_V_ERR_CA_MD_TOO_WEAK:
		return "weak_signature";
	default:
		return "untrusted_chain";
	}
}
