/*
 * ca_make.c — a new appliance CA on disk (`sluicectl ca init`).
 *
 * The key never exists on disk with a mode other than 0600: each file is
 * first written to a temporary name in the target directory, created by
 * mkstemp(3) (O_CREAT | O_EXCL, mode 0600, whatever the umask), and the
 * key is written straight from OpenSSL to that descriptor.  The
 * certificates then get mode 0644, everything is fsync'ed, and the three
 * names are put in place: with link(2), which refuses an existing name,
 * unless forced (rename(2)).  A failure before that leaves the old files
 * as they were.
 *
 * The certificate: subject and issuer CN (default "sluice inspection CA
 * YYYY-MM-DD") and O=sluice, a 128-bit random serial, valid from an hour
 * ago (clients whose clock is a little behind) for the days asked,
 * basicConstraints critical CA:TRUE pathlen:0 (it signs leaves, never
 * another CA), keyUsage critical keyCertSign cRLSign, subject and
 * authority key identifiers, SHA-256.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls_int.h"

#define MAKE_BACKDATE	3600		/* seconds */
#define MAKE_DAYS_MAX	36500

enum { MK_KEY = 0, MK_PEM, MK_DER, MK_N };

static const char *const mk_names[MK_N] = {
	SL_TLS_CA_KEY, SL_TLS_CA_CERT, SL_TLS_CA_DER
};

/* The three files: final and temporary names, descriptors. */
struct mk_files {
	char	final[MK_N][4096];
	char	tmp[MK_N][4096];
	int	fd[MK_N];
	int	placed[MK_N];
	int	made_dir;	/* dir created here */
};

static int
mk_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *
mk_cert(EVP_PKEY *key, const struct sl_tls_ca_params *p)
{
	char cn[64], day[16];
	time_t now = time(NULL);
	X509_NAME *name;
	struct tm tm;
	X509 *x;

	if (p->cn == NULL) {
		strftime(day, sizeof(day), "%Y-%m-%d", gmtime_r(&now, &tm));
		snprintf(cn, sizeof(cn), "sluice inspection CA %s", day);
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, X509_VERSION_3)
	    != 1 || tls_set_serial(x) == -1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)(p->cn ? p->cn : cn), -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"sluice", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now - MAKE_BACKDATE) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), now + (time_t)p->days * 86400)
	    == NULL || X509_set_pubkey(x, key) != 1)
		goto fail;
	/* The subject key identifier first: the authority one copies it. */
	if (mk_ext(x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
	    == -1 || mk_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign")
	    == -1 || mk_ext(x, NID_subject_key_identifier, "hash") == -1 ||
	    mk_ext(x, NID_authority_key_identifier, "keyid:always") == -1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* Write one file's content to its temporary descriptor. */
static int
mk_write(struct mk_files *f, int which, EVP_PKEY *key, X509 *cert)
{
	BIO *b = BIO_new_fd(f->fd[which], BIO_NOCLOSE);
	int ok;

	if (b == NULL)
		return -1;
	if (which == MK_KEY)
		ok = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	else if (which == MK_PEM)
		ok = PEM_write_bio_X509(b, cert);
	else
		ok = i2d_X509_bio(b, cert);
	ok = ok == 1 && BIO_flush(b) == 1;
	BIO_free(b);
	if (!ok)
		return -1;
	if ((which != MK_KEY && fchmod(f->fd[which], 0644) == -1) ||
	    fsync(f->fd[which]) == -1)
		return -1;
	return 0;
}

/*
 * The daemon's user must read the key at a reload, after dropping root:
 * the files, and the directory if it is new, become the owner's.
 */
static int
mk_chown(struct mk_files *f, const char *dir,
    const struct sl_tls_ca_params *p, char *err, size_t cap)
{
	if (p->chown && f->made_dir && chown(dir, p->uid, p->gid) == -1) {
		snprintf(err, cap, "cannot give %s to %ld:%ld: %s", dir,
		    (long)p->uid, (long)p->gid, strerror(errno));
		return -1;
	}
	for (int i = 0; p->chown && i < MK_N; i++) {
		if (fchown(f->fd[i], p->uid, p->gid) == -1) {
			snprintf(err, cap, "cannot give %s to %ld:%ld: %s",
			    f->final[i], (long)p->uid, (long)p->gid,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
mk_prepare(struct mk_files *f, const char *dir, int force, char *err,
    size_t cap)
{
	struct stat st;

	if (mkdir(dir, 0750) == 0) {
		f->made_dir = 1;
	} else if (errno != EEXIST) {
		snprintf(err, cap, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < MK_N; i++) {
		if (tls_path(dir, mk_names[i], f->final[i],
		    sizeof(f->final[i])) == -1 || snprintf(f->tmp[i],
		    sizeof(f->tmp[i]), "%s/.%s.XXXXXX", dir, mk_names[i]) >=
		    (int)sizeof(f->tmp[i])) {
			snprintf(err, cap, "directory name too long");
			return -1;
		}
		if (!force && lstat(f->final[i], &st) == 0) {
			snprintf(err, cap, "%s exists (--force replaces the CA; "
			    "clients must then be given the new one)",
			    f->final[i]);
			return -1;
		}
	}
	for (int i = 0; i < MK_N; i++) {
		/* O_CREAT | O_EXCL, mode 0600 before a byte is written. */
		if ((f->fd[i] = mkstemp(f->tmp[i])) == -1) {
			snprintf(err, cap, "cannot create a file in %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Put the temporary files in place: link (no replacing) or rename. */
static int
mk_place(struct mk_files *f, const char *dir, int force, char *err,
    size_t cap)
{
	int dfd;

	for (int i = 0; i < MK_N; i++) {
		if ((force ? rename(f->tmp[i], f->final[i]) :
		    link(f->tmp[i], f->final[i])) == -1) {
			snprintf(err, cap, "cannot create %s: %s", f->final[i],
			    strerror(errno));
			return -1;
		}
		f->placed[i] = 1;
		if (force)
			f->tmp[i][0] = '\0';	/* renamed: nothing to remove */
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* Remove the temporary names, and on failure what link() placed. */
static void
mk_cleanup(struct mk_files *f, int failed, int force)
{
	for (int i = 0; i < MK_N; i++) {
		if (f->fd[i] != -1)
			close(f->fd[i]);
		if (f->tmp[i][0] != '\0' && f->fd[i] != -1)
			unlink(f->tmp[i]);
		if (failed && !force && f->placed[i])
			unlink(f->final[i]);
	}
}

int
sl_tls_ca_create(const char *dir, const struct sl_tls_ca_params *p,
    char *err, size_t cap)
{
	struct mk_files f;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	for (int i = 0; i < MK_N; i++)
		f.fd[i] = -1;
	if (p->days < 1 || p->days > MAKE_DAYS_MAX ||
	    (p->cn != NULL && (p->cn[0] == '\0' || strlen(p->cn) > 64))) {
		snprintf(err, cap, "invalid parameters (days 1..%d, CN 1..64 "
		    "characters)", MAKE_DAYS_MAX);
		return -1;
	}
	if (mk_prepare(&f, dir, p->force, err, cap) == -1)
		goto out;
	key = p->key == SL_TLS_KEY_RSA ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	if (key == NULL || (cert = mk_cert(key, p)) == NULL) {
		tls_err(err, cap, "cannot make the CA");
		goto out;
	}
	for (int i = 0; i < MK_N; i++) {
		if (mk_write(&f, i, key, cert) == -1) {
			tls_err(err, cap, "cannot write %s: %s", f.tmp[i],
			    strerror(errno));
			goto out;
		}
	}
	if (mk_chown(&f, dir, p, err, cap) == 0)
		rc = mk_place(&f, dir, p->force, err, cap);
out:
	mk_cleanup(&f, rc == -1, p->force);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rc;
}
