/*
 * ca.c — the appliance CA: load it, refuse what would fail later, share it.
 *
 * A CA is loaded at start and at every reload, checked completely (the
 * daemon must say at once what is wrong, not at the first inspected flow)
 * and then never changes: workers share it without locks, and the last
 * reference frees it.  Everything the minter needs per leaf that depends
 * only on the CA (the digest, the authorityKeyIdentifier, the validity as
 * time_t) is computed here once.
 *
 *   ca-key  --open, fstat: regular, mode & 077 == 0--> read --> PEM key
 *   ca-cert --PEM: the CA, then its chain (optional)
 *   checks:  key type and size, key matches cert, CA:TRUE, keyCertSign,
 *            EKU allows serverAuth, issuer's signature strong, valid now
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../lib/alloc.h"
#include "tls_int.h"

#define CA_KEY_FILE_MAX	(64 * 1024)	/* a PEM key is a few KiB */
#define CA_WARN_DAYS	30

struct sl_tls_ca {
	atomic_int	 refs;
	X509		*cert;
	EVP_PKEY	*key;
	STACK_OF(X509)	*chain;		/* CA + its issuers; NULL if self-signed */
	EVP_MD		*md;		/* signs leaves: SHA-256 (SHA-384: P-384) */
	X509_EXTENSION	*akid;		/* the leaves' authorityKeyIdentifier */
	time_t		 not_before;
	time_t		 not_after;
	unsigned char	 fp[TLS_SHA256_LEN];
};

/* A passphrase prompt means an encrypted key: refuse, remember why. */
static int
ca_pass_cb(char *buf, int size, int rwflag, void *arg)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)arg = 1;
	return -1;
}

/* The key file's bytes, checked to be private to its owner. */
static unsigned char *
ca_slurp_key(const char *path, size_t *len, char *err, size_t cap)
{
	unsigned char *buf = NULL;
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		int e = errno;

		snprintf(err, cap, "cannot open ca-key '%s': %s%s", path,
		    strerror(e), e == ENOENT ? " (create a CA with "
		    "`sluicectl ca init`)" : "");
		return NULL;
	}
	/* fstat on the open file: what is checked is what is read. */
	if (fstat(fd, &st) == -1) {
		snprintf(err, cap, "cannot stat ca-key '%s': %s", path,
		    strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, cap, "ca-key '%s' is not a regular file", path);
	} else if (st.st_mode & 077) {
		snprintf(err, cap, "ca-key '%s' is accessible by group or "
		    "others (mode %04o): the CA key must be private to its "
		    "owner (chmod 600)", path, (unsigned)(st.st_mode & 07777));
	} else if (st.st_size <= 0 || st.st_size > CA_KEY_FILE_MAX) {
		snprintf(err, cap, "ca-key '%s' is %s", path, st.st_size <= 0 ?
		    "empty" : "too large for a private key");
	} else if ((buf = sl_alloc((size_t)st.st_size)) == NULL) {
		snprintf(err, cap, "out of memory");
	} else {
		*len = 0;
		while (*len < (size_t)st.st_size && (n = read(fd, buf + *len,
		    (size_t)st.st_size - *len)) != 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1) {
				snprintf(err, cap, "cannot read ca-key '%s': %s",
				    path, strerror(errno));
				OPENSSL_cleanse(buf, (size_t)st.st_size);
				sl_free(buf);
				buf = NULL;
				break;
			}
			*len += (size_t)n;
		}
	}
	close(fd);
	return buf;
}

static EVP_PKEY *
ca_read_key(const char *path, char *err, size_t cap)
{
	EVP_PKEY *key = NULL;
	unsigned char *buf;
	size_t len = 0;
	int asked = 0;
	BIO *bio;

	if ((buf = ca_slurp_key(path, &len, err, cap)) == NULL)
		return NULL;
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		tls_err(err, cap, "out of memory");
	else if ((key = PEM_read_bio_PrivateKey(bio, NULL, ca_pass_cb,
	    &asked)) == NULL && asked)
		tls_err(err, cap, "ca-key '%s' is encrypted: sluiced cannot ask "
		    "for a passphrase (store it decrypted, mode 0600)", path);
	else if (key == NULL)
		tls_err(err, cap, "ca-key '%s' holds no PEM private key", path);
	BIO_free(bio);
	OPENSSL_cleanse(buf, len);
	sl_free(buf);
	return key;
}

/* The first certificate of path, and the ones after it in *chain. */
static X509 *
ca_read_cert(const char *path, STACK_OF(X509) **chain, char *err, size_t cap)
{
	FILE *fp = fopen(path, "re");
	X509 *cert = NULL, *x;
	BIO *bio;

	if (fp == NULL) {
		snprintf(err, cap, "cannot open ca-cert '%s': %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((bio = BIO_new_fp(fp, BIO_CLOSE)) == NULL) {
		fclose(fp);
		tls_err(err, cap, "out of memory");
		return NULL;
	}
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		tls_err(err, cap, "ca-cert '%s' holds no PEM certificate", path);
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if ((*chain == NULL && (*chain = sk_X509_new_null()) == NULL) ||
		    sk_X509_push(*chain, x) == 0) {
			X509_free(x);
			tls_err(err, cap, "out of memory");
			goto fail;
		}
	}
	/* The end of the file is "no start line"; anything else is a
	 * broken certificate after the first. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		tls_err(err, cap, "ca-cert '%s': malformed certificate after "
		    "the first", path);
		goto fail;
	}
	tls_err_clear();
	goto out;
fail:
	X509_free(cert);
	cert = NULL;
out:
	BIO_free(bio);
	return cert;
}

/* EC P-256/P-384 or RSA >= 2048: what every client verifies. */
static int
ca_check_key(EVP_PKEY *key, const char *path, char *err, size_t cap)
{
	char desc[64];

	tls_key_desc(key, desc, sizeof(desc));
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_EC:
		if (strcmp(desc, "EC P-256") == 0 ||
		    strcmp(desc, "EC P-384") == 0)
			return 0;
		snprintf(err, cap, "ca-key '%s' is %s: EC keys must be P-256 "
		    "or P-384", path, desc);
		return -1;
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(key) >= 2048)
			return 0;
		snprintf(err, cap, "ca-key '%s' is %s: RSA keys need at least "
		    "2048 bits", path, desc);
		return -1;
	default:
		snprintf(err, cap, "ca-key '%s' is %s: expected EC P-256, "
		    "P-384 or RSA (at least 2048 bits)", path, desc);
		return -1;
	}
}

/* May this certificate sign server certificates? */
static int
ca_check_cert(struct sl_tls_ca *ca, const char *path, char *err, size_t cap)
{
	uint32_t ef = X509_get_extension_flags(ca->cert);

	if (ef & EXFLAG_INVALID)
		snprintf(err, cap, "ca-cert '%s' has malformed extensions",
		    path);
	else if (!(ef & EXFLAG_CA))
		snprintf(err, cap, "ca-cert '%s' is not a CA certificate "
		    "(basicConstraints CA:TRUE is missing)", path);
	else if (!(ef & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(ca->cert) & KU_KEY_CERT_SIGN))
		snprintf(err, cap, "ca-cert '%s' may not sign certificates "
		    "(keyUsage keyCertSign is missing)", path);
	else if ((ef & EXFLAG_XKUSAGE) &&
	    !(X509_get_extended_key_usage(ca->cert) &
	    (XKU_SSL_SERVER | XKU_ANYEKU)))
		snprintf(err, cap, "ca-cert '%s' has an extendedKeyUsage "
		    "without serverAuth: clients would refuse its leaves", path);
	else if (!(ef & EXFLAG_SS) && tls_sig_weak(ca->cert))
		snprintf(err, cap, "ca-cert '%s' is signed by its issuer with a "
		    "weak digest (SHA-1 or MD5): clients would refuse it", path);
	else
		return 0;
	return -1;
}

/* Is it valid now?  Also keeps the validity as time_t for minting. */
static int
ca_check_time(struct sl_tls_ca *ca, const char *path, char *err, size_t cap)
{
	time_t now = time(NULL);
	char when[32];

	if (tls_time(X509_get0_notBefore(ca->cert), &ca->not_before) == -1 ||
	    tls_time(X509_get0_notAfter(ca->cert), &ca->not_after) == -1) {
		tls_err(err, cap, "ca-cert '%s' has an invalid validity", path);
		return -1;
	}
	if (now < ca->not_before) {
		tls_time_fmt(ca->not_before, when, sizeof(when));
		snprintf(err, cap, "ca-cert '%s' is not valid before %s (is the "
		    "clock right?)", path, when);
		return -1;
	}
	if (now >= ca->not_after) {
		tls_time_fmt(ca->not_after, when, sizeof(when));
		snprintf(err, cap, "ca-cert '%s' expired on %s", path, when);
		return -1;
	}
	return 0;
}

/* What minting needs from the CA, computed once. */
static int
ca_prepare(struct sl_tls_ca *ca, char *err, size_t cap)
{
	AUTHORITY_KEYID *ak = NULL;
	const ASN1_OCTET_STRING *skid;
	unsigned char id[EVP_MAX_MD_SIZE];
	unsigned int idlen = 0, fplen = 0;
	char desc[32];
	int rc = -1;

	tls_key_desc(ca->key, desc, sizeof(desc));
	if ((ca->md = EVP_MD_fetch(NULL, strcmp(desc, "EC P-384") == 0 ?
	    "SHA2-384" : "SHA2-256", NULL)) == NULL ||
	    X509_digest(ca->cert, EVP_sha256(), ca->fp, &fplen) != 1)
		goto fail;
	/* keyid = the CA's subjectKeyIdentifier, or RFC 5280 method 1. */
	if ((skid = X509_get0_subject_key_id(ca->cert)) != NULL) {
		idlen = (unsigned)ASN1_STRING_length(skid);
		memcpy(id, ASN1_STRING_get0_data(skid),
		    SL_MIN(idlen, sizeof(id)));
		idlen = SL_MIN(idlen, (unsigned)sizeof(id));
	} else if (X509_pubkey_digest(ca->cert, EVP_sha1(), id, &idlen)
	    != 1) {
		goto fail;
	}
	if ((ak = AUTHORITY_KEYID_new()) == NULL ||
	    (ak->keyid = ASN1_OCTET_STRING_new()) == NULL ||
	    ASN1_OCTET_STRING_set(ak->keyid, id, (int)idlen) != 1 ||
	    (ca->akid = X509V3_EXT_i2d(NID_authority_key_identifier, 0, ak))
	    == NULL)
		goto fail;
	rc = 0;
fail:
	if (rc == -1)
		tls_err(err, cap, "cannot prepare the CA");
	AUTHORITY_KEYID_free(ak);
	return rc;
}

/*
 * The chain sent with each leaf: the CA and the certificates after it in
 * ca-cert, only when the CA is not a root itself (a client that trusts a
 * root has it).  Consumes extra.
 */
static int
ca_set_chain(struct sl_tls_ca *ca, STACK_OF(X509) *extra, char *err,
    size_t cap)
{
	if (X509_get_extension_flags(ca->cert) & EXFLAG_SS) {
		sk_X509_pop_free(extra, X509_free);
		return 0;
	}
	if ((extra == NULL && (extra = sk_X509_new_null()) == NULL) ||
	    sk_X509_insert(extra, ca->cert, 0) == 0) {
		sk_X509_pop_free(extra, X509_free);
		tls_err(err, cap, "out of memory");
		return -1;
	}
	X509_up_ref(ca->cert);		/* the stack's reference */
	ca->chain = extra;
	return 0;
}

static void
ca_warn_expiry(const struct sl_tls_ca *ca, const char *path)
{
	time_t left = ca->not_after - time(NULL);
	char when[32];

	if (left >= (time_t)CA_WARN_DAYS * 86400)
		return;
	tls_time_fmt(ca->not_after, when, sizeof(when));
	sl_log(SL_LOG_WARN, "ca-cert '%s' expires on %s (in %ld days): create "
	    "and deploy a new CA before then", path, when, (long)(left / 86400));
}

struct sl_tls_ca *
sl_tls_ca_load(const char *dir, const char *cert, const char *key, char *err,
    size_t cap)
{
	char cpath[4096], kpath[4096];
	STACK_OF(X509) *extra = NULL;
	struct sl_tls_ca *ca;
	int rc;

	if (tls_path(dir, cert, cpath, sizeof(cpath)) == -1 ||
	    tls_path(dir, key, kpath, sizeof(kpath)) == -1) {
		snprintf(err, cap, "ca-cert or ca-key path is too long");
		return NULL;
	}
	if ((ca = sl_calloc(1, sizeof(*ca))) == NULL) {
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	atomic_init(&ca->refs, 1);
	if ((ca->key = ca_read_key(kpath, err, cap)) == NULL ||
	    (ca->cert = ca_read_cert(cpath, &extra, err, cap)) == NULL ||
	    ca_check_key(ca->key, kpath, err, cap) == -1)
		goto fail;
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		tls_err(err, cap, "ca-key '%s' does not belong to ca-cert '%s' "
		    "(their public keys differ)", kpath, cpath);
		goto fail;
	}
	if (ca_check_cert(ca, cpath, err, cap) == -1 ||
	    ca_check_time(ca, cpath, err, cap) == -1 ||
	    ca_prepare(ca, err, cap) == -1)
		goto fail;
	rc = ca_set_chain(ca, extra, err, cap);
	extra = NULL;			/* consumed */
	if (rc == -1)
		goto fail;
	ca_warn_expiry(ca, cpath);
	return ca;
fail:
	sk_X509_pop_free(extra, X509_free);
	sl_tls_ca_unref(ca);
	return NULL;
}

struct sl_tls_ca *
sl_tls_ca_ref(struct sl_tls_ca *ca)
{
	atomic_fetch_add_explicit(&ca->refs, 1, memory_order_relaxed);
	return ca;
}

void
sl_tls_ca_unref(struct sl_tls_ca *ca)
{
	if (ca == NULL || atomic_fetch_sub_explicit(&ca->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	sk_X509_pop_free(ca->chain, X509_free);
	EVP_MD_free(ca->md);
	X509_EXTENSION_free(ca->akid);
	sl_free(ca);
}

int
sl_tls_ca_same(const struct sl_tls_ca *a, const struct sl_tls_ca *b)
{
	return memcmp(a->fp, b->fp, sizeof(a->fp)) == 0 &&
	    EVP_PKEY_eq(a->key, b->key) == 1;
}

X509 *
sl_tls_ca_cert(const struct sl_tls_ca *ca)
{
	return ca->cert;
}

void
sl_tls_ca_info(const struct sl_tls_ca *ca, struct sl_tls_ca_info *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	memset(out, 0, sizeof(*out));
	if (b != NULL && X509_NAME_print_ex(b, X509_get_subject_name(ca->cert),
	    0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_read(b, out->subject, sizeof(out->subject) - 1);
	out->subject[n > 0 ? n : 0] = '\0';
	BIO_free(b);
	tls_err_clear();
	tls_fingerprint(ca->cert, EVP_sha256(), out->sha256,
	    sizeof(out->sha256));
	tls_fingerprint(ca->cert, EVP_sha1(), out->sha1, sizeof(out->sha1));
	tls_time_fmt(ca->not_before, out->not_before, sizeof(out->not_before));
	tls_time_fmt(ca->not_after, out->not_after, sizeof(out->not_after));
	tls_key_desc(ca->key, out->key, sizeof(out->key));
	out->not_after_t = ca->not_after;
}

EVP_PKEY *
tls_ca_key(const struct sl_tls_ca *ca)
{
	return ca->key;
}

const EVP_MD *
tls_ca_md(const struct sl_tls_ca *ca)
{
	return ca->md;
}

const X509_EXTENSION *
tls_ca_akid(const struct sl_tls_ca *ca)
{
	return ca->akid;
}

time_t
tls_ca_not_before(const struct sl_tls_ca *ca)
{
	return ca->not_before;
}

time_t
tls_ca_not_after(const struct sl_tls_ca *ca)
{
	return ca->not_after;
}

STACK_OF(X509) *
tls_ca_chain(const struct sl_tls_ca *ca)
{
	return ca->chain;
}
