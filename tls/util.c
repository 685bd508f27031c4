/*
 * util.c — small helpers shared by the TLS files: OpenSSL error draining
 * (STYLE section 6), paths, times, fingerprints, key and signature
 * strength, serial numbers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "tls_int.h"

/* Append the queued OpenSSL reasons to buf (holding len bytes). */
static void
tls_err_drain(char *buf, size_t cap, size_t len)
{
	const char *data, *r;
	unsigned long e;
	char code[32];
	int flags, n = 0;

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (buf == NULL || len + 1 >= cap)
			continue;		/* keep draining */
		if ((r = ERR_reason_error_string(e)) == NULL) {
			snprintf(code, sizeof(code), "error %#lx", e);
			r = code;
		}
		if (!(flags & ERR_TXT_STRING) || data == NULL)
			data = "";
		snprintf(buf + len, cap - len, "%s%s%s%s%s", n++ ? "; " : ": ",
		    r, *data ? " (" : "", data, *data ? ")" : "");
		len += strlen(buf + len);
	}
}

void
tls_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || cap == 0) {
		tls_err_drain(NULL, 0, 0);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	tls_err_drain(err, cap, strlen(err));
}

void
tls_err_clear(void)
{
	ERR_clear_error();
}

void
sl_tls_log_ossl(enum sl_log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tls_err_drain(buf, sizeof(buf), strlen(buf));
	sl_log(lvl, "%s", buf);
}

int
tls_path(const char *dir, const char *path, char *buf, size_t cap)
{
	int n;

	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		n = snprintf(buf, cap, "%s", path);
	else
		n = snprintf(buf, cap, "%s/%s", dir, path);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
tls_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

void
tls_time_fmt(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, cap, "?");
}

void
tls_fingerprint(X509 *x, const EVP_MD *md, char *buf, size_t cap)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t len = 0;

	buf[0] = '\0';
	if (X509_digest(x, md, d, &n) != 1) {
		tls_err_clear();
		return;
	}
	for (unsigned i = 0; i < n && len + 3 < cap; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%02X",
		    i ? ":" : "", d[i]);
}

const char *
tls_key_desc(const EVP_PKEY *k, char *buf, size_t cap)
{
	static const struct {
		const char	*ossl, *nist;
	} curves[] = {
		{ "prime256v1", "P-256" }, { "secp384r1", "P-384" },
		{ "secp521r1", "P-521" }, { "secp224r1", "P-224" },
	};
	char group[64];
	size_t glen;
	int id = EVP_PKEY_get_base_id(k);

	if (id == EVP_PKEY_EC) {
		if (EVP_PKEY_get_group_name(k, group, sizeof(group), &glen)
		    != 1) {
			tls_err_clear();
			snprintf(group, sizeof(group), "?");
		}
		for (size_t i = 0; i < SL_NELEM(curves); i++)
			if (strcmp(group, curves[i].ossl) == 0)
				snprintf(group, sizeof(group), "%s",
				    curves[i].nist);
		snprintf(buf, cap, "EC %s", group);
	} else if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS ||
	    id == EVP_PKEY_DSA) {
		snprintf(buf, cap, "%s %d", id == EVP_PKEY_RSA ? "RSA" :
		    id == EVP_PKEY_DSA ? "DSA" : "RSA-PSS", EVP_PKEY_get_bits(k));
	} else {
		snprintf(buf, cap, "%s", id == NID_undef ? "?" : OBJ_nid2sn(id));
	}
	return buf;
}

int
tls_key_weak(const EVP_PKEY *k)
{
	int id = EVP_PKEY_get_base_id(k);

	if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS ||
	    id == EVP_PKEY_DSA || id == EVP_PKEY_DH)
		return EVP_PKEY_get_bits(k) < 2048;
	/* EC P-256 and Ed25519 give 128 bits, P-224 112. */
	return EVP_PKEY_get_security_bits(k) < 128;
}

int
tls_sig_weak(X509 *x)
{
	int mdnid, pknid, secbits;
	uint32_t flags;

	/* Not const: the answer is cached in x (under x's lock). */
	if (X509_get_signature_info(x, &mdnid, &pknid, &secbits, &flags)
	    != 1) {
		tls_err_clear();
		return 0;	/* unknown: verification has judged it */
	}
	return mdnid == NID_sha1 || mdnid == NID_md5 || mdnid == NID_md4 ||
	    mdnid == NID_md2 || mdnid == NID_md5_sha1 ||
	    (secbits >= 0 && secbits < 112);
}

int
tls_set_serial(X509 *x)
{
	unsigned char r[16];
	ASN1_INTEGER *ai;
	BIGNUM *bn;
	int ok;

	/* 128 random bits (CA/B Forum: at least 64); RAND_bytes uses a
	 * per-thread DRBG in OpenSSL 3, so workers do not contend. */
	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	if ((bn = BN_bin2bn(r, sizeof(r), NULL)) == NULL)
		return -1;
	ai = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	ok = ai != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}
