/*
 * tls_int.h — declarations shared inside tls/ (not part of its API).
 */
#ifndef SL_TLS_INT_H
#define SL_TLS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/types.h>
#include <openssl/x509.h>	/* X509_EXTENSION, STACK_OF(X509) */

#include "tls.h"

#define TLS_SHA256_LEN	32
#define TLS_NAME_MAX	SL_TLS_SNI_MAX	/* a DNS name or an IP's text */

/* --- util.c ---------------------------------------------------------- */

/*
 * Write fmt into err, then ": " and the reasons in OpenSSL's error queue
 * (if any), emptying the queue.  err may be NULL (the queue is emptied).
 */
void	tls_err(char *err, size_t cap, const char *fmt, ...) SL_PRINTF(3, 4);
/* Empty the thread's OpenSSL error queue (expected failures). */
void	tls_err_clear(void);

/* path, or dir/path when path is relative and dir is set.  0 or -1. */
int	tls_path(const char *dir, const char *path, char *buf, size_t cap)
	    SL_NONNULL(2, 3);
/* An ASN1_TIME as seconds since the epoch.  0 or -1. */
int	tls_time(const ASN1_TIME *t, time_t *out) SL_NONNULL(1, 2);
/* "2026-01-31 12:00:00 UTC" into buf (>= 32 bytes). */
void	tls_time_fmt(time_t t, char *buf, size_t cap) SL_NONNULL(2);
/* "AB:CD:..." of the certificate's DER with md; buf >= 3 * mdlen. */
void	tls_fingerprint(X509 *x, const EVP_MD *md, char *buf, size_t cap)
	    SL_NONNULL(1, 2, 3);
/* "EC P-256", "RSA 2048", "ED25519" into buf. */
const char *tls_key_desc(const EVP_PKEY *k, char *buf, size_t cap)
	    SL_NONNULL(1, 2);
/* Is the key weak by browser standards (RSA/DSA < 2048, others < 128
 * bits of security, i.e. EC < 256)? */
int	tls_key_weak(const EVP_PKEY *k) SL_NONNULL(1);
/* A 128-bit random serial number into x.  0 or -1. */
int	tls_set_serial(X509 *x) SL_NONNULL(1);
/* Is x signed with SHA-1, MD5 or anything under 112 bits? */
int	tls_sig_weak(X509 *x) SL_NONNULL(1);

/* --- ca.c: what the minter needs from the CA -------------------------- */

EVP_PKEY *tls_ca_key(const struct sl_tls_ca *ca) SL_NONNULL(1);
const EVP_MD *tls_ca_md(const struct sl_tls_ca *ca) SL_NONNULL(1);
const X509_EXTENSION *tls_ca_akid(const struct sl_tls_ca *ca)
	    SL_NONNULL(1);
time_t	tls_ca_not_before(const struct sl_tls_ca *ca) SL_NONNULL(1);
time_t	tls_ca_not_after(const struct sl_tls_ca *ca) SL_NONNULL(1);
/* Certificates after the CA in ca-cert, sent when it is not self-signed;
 * NULL when there is nothing to send. */
STACK_OF(X509) *tls_ca_chain(const struct sl_tls_ca *ca) SL_NONNULL(1);

/* --- certcache.c ------------------------------------------------------ */

/* What a cached leaf is looked up by; tls_cache_key() fills hash. */
struct tls_cache_key {
	char		name[TLS_NAME_MAX + 1];	/* lower-case SNI or IP text */
	size_t		namelen;
	unsigned char	fp[TLS_SHA256_LEN];	/* upstream cert's SHA-256 */
	uint64_t	hash;
};

void	tls_cache_key(const struct sl_tls_certcache *c,
	    struct tls_cache_key *k) SL_NONNULL(1, 2);
struct sl_tls_ca *tls_cache_ca(const struct sl_tls_certcache *c)
	    SL_NONNULL(1);
/*
 * A live entry for k: 1 with new references in *cert and *key, or 0
 * (counted as a miss: the caller mints).  Entries past their reuse time
 * (now >= stale) are dropped.
 */
int	tls_cache_get(struct sl_tls_certcache *c, const struct tls_cache_key *k,
	    time_t now, X509 **cert, EVP_PKEY **key) SL_NONNULL(1, 2, 4, 5);
/*
 * Offer a freshly minted pair (the caller keeps its references) reusable
 * until stale.  If another worker inserted k meanwhile, *cert and *key
 * are replaced by new references to that entry's pair (and the caller's
 * are freed), so every worker serves one leaf per key.
 */
void	tls_cache_put(struct sl_tls_certcache *c, const struct tls_cache_key *k,
	    time_t stale, X509 **cert, EVP_PKEY **key) SL_NONNULL(1, 2, 4, 5);

/* --- verify.c -------------------------------------------------------- */

/* Verify peers on ctx, with the strength checks of sl_tls_verify_reason. */
void	tls_verify_setup(SSL_CTX *ctx) SL_NONNULL(1);

/* --- quic.c ---------------------------------------------------------- */

/*
 * The client Initial keys of a QUIC version (SL_TLS_QUIC_V1, _V2) for a
 * Destination Connection ID (RFC 9001 5.2, RFC 9369 3.3): packet key, IV
 * and header protection key.  0, or -1 (unknown version, OpenSSL failed).
 * For the unit tests' vectors and their packet builder.
 */
int	tls_quic_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len,
	    uint8_t key[16], uint8_t iv[12], uint8_t hp[16]);

#endif /* SL_TLS_INT_H */
