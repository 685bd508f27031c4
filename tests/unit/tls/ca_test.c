/*
 * ca_test.c — the appliance CA: sl_tls_ca_create() writes it safely,
 * sl_tls_ca_load() accepts it and refuses, with a clear message, every
 * file a daemon must not start with.
 */
#include <errno.h>
#include <sys/stat.h>

#include "tests/unit/tls/pki.h"
#include "tls/tls.h"
#include "lib/alloc.h"
#include "tests/unit/t.h"

/* A directory with a CA written by the test; removed by fix_done. */
struct fix {
	char		 dir[64];
	char		 cert[128], key[128];
	EVP_PKEY	*k;
	X509		*x;
};

static int
fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	if (pki_mkdtemp(f->dir, sizeof(f->dir)) == -1)
		return -1;
	snprintf(f->cert, sizeof(f->cert), "%s/ca.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/ca.key", f->dir);
	return 0;
}

/* Write spec's certificate (self-signed unless issuer) and its key. */
static int
fix_write(struct fix *f, struct pki_spec *s, mode_t mode)
{
	if (s->key == NULL && (s->key = pki_ec("P-256")) == NULL)
		return -1;
	f->k = s->key;
	if ((f->x = pki_cert(s)) == NULL)
		return -1;
	return pki_write_certs(f->cert, f->x, NULL) == 0 &&
	    pki_write_key(f->key, f->k, mode) == 0 ? 0 : -1;
}

static void
fix_done(struct fix *f)
{
	EVP_PKEY_free(f->k);
	X509_free(f->x);
	pki_rmdir(f->dir);
}

/* Load f's files; NULL with the message in err. */
static struct sl_tls_ca *
fix_load(struct fix *f, char *err, size_t cap)
{
	err[0] = '\0';
	return sl_tls_ca_load(NULL, f->cert, f->key, err, cap);
}

static int
has(const char *s, const char *sub)
{
	if (strstr(s, sub) != NULL)
		return 1;
	printf("# message: %s\n", s);
	return 0;
}

/*
 * Is the CA made from s refused, with a message saying want?  Takes
 * s->key (and sets it NULL: the next call makes another).
 */
static int
refused(struct pki_spec *s, const char *want)
{
	struct sl_tls_ca *ca = NULL;
	char err[512] = "";
	struct fix f;
	int setup;

	setup = fix_init(&f) == 0 && fix_write(&f, s, 0600) == 0;
	if (setup)
		ca = fix_load(&f, err, sizeof(err));
	if (f.k == NULL)
		EVP_PKEY_free(s->key);	/* fix_write did not take it */
	s->key = NULL;
	fix_done(&f);
	if (ca != NULL)
		printf("# accepted, expected a refusal\n");
	sl_tls_ca_unref(ca);
	return setup && ca == NULL && has(err, want);
}

/* --- sl_tls_ca_create ------------------------------------------------- */

T_TEST(ca_create_writes_key_0600_and_certs_0644)
{
	struct sl_tls_ca_params p = { .days = 365, .key = SL_TLS_KEY_EC };
	char dir[64], path[128], err[512];
	struct stat st;
	mode_t old = umask(0);		/* a careless umask changes nothing */

	T_ASSERT(pki_mkdtemp(dir, sizeof(dir)) == 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	T_EQ(sl_tls_ca_create(path, &p, err, sizeof(err)), 0);
	umask(old);
	snprintf(path, sizeof(path), "%s/sub/ca.key", dir);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 07777, 0600);
	snprintf(path, sizeof(path), "%s/sub/ca.pem", dir);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/sub/ca.der", dir);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 07777, 0644);
	snprintf(path, sizeof(path), "%s/sub", dir);
	T_EQ(stat(path, &st), 0);
	T_EQ(st.st_mode & 07777, 0750);
	pki_rmdir(path);
	pki_rmdir(dir);
}

T_TEST(ca_create_then_load_and_describe)
{
	struct sl_tls_ca_params p = { .cn = "Test Corp inspection", .days = 60,
		.key = SL_TLS_KEY_EC };
	struct sl_tls_ca_info info;
	struct sl_tls_ca *ca;
	char dir[64], err[512];

	T_ASSERT(pki_mkdtemp(dir, sizeof(dir)) == 0);
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), 0);
	/* Relative names resolve against the directory given. */
	ca = sl_tls_ca_load(dir, SL_TLS_CA_CERT, SL_TLS_CA_KEY, err,
	    sizeof(err));
	pki_rmdir(dir);
	T_CHECK(ca != NULL, "load: %s", err);
	sl_tls_ca_info(ca, &info);
	sl_tls_ca_unref(ca);
	T_STREQ(info.subject, "O=sluice,CN=Test Corp inspection");
	T_STREQ(info.key, "EC P-256");
	T_EQ(strlen(info.sha256), 32 * 3 - 1);
	T_EQ(strlen(info.sha1), 20 * 3 - 1);
	T_ASSERT(info.not_after_t > time(NULL) + 59 * PKI_DAY);
	T_ASSERT(info.not_after_t <= time(NULL) + 60 * PKI_DAY);
}

T_TEST(ca_create_der_is_the_pem_certificate)
{
	struct sl_tls_ca_params p = { .days = 365, .key = SL_TLS_KEY_RSA };
	unsigned char *der1 = NULL;
	char dir[64], path[128], err[512];
	size_t n2 = 0;
	char *der2;
	X509 *x;
	FILE *fp;
	int n1;

	T_ASSERT(pki_mkdtemp(dir, sizeof(dir)) == 0);
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	T_ASSERT((fp = fopen(path, "r")) != NULL);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/ca.der", dir);
	der2 = t_slurp(path, &n2);
	pki_rmdir(dir);
	T_ASSERT(x != NULL && der2 != NULL);
	n1 = i2d_X509(x, &der1);
	T_EQ(n1, n2);
	T_ASSERT(memcmp(der1, der2, n2) == 0);
	/* An RSA CA: 2048 bits, CA:TRUE, pathlen 0, keyCertSign. */
	T_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 2048);
	T_ASSERT(X509_get_extension_flags(x) & EXFLAG_CA);
	T_EQ(X509_get_pathlen(x), 0);
	T_ASSERT(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	OPENSSL_free(der1);
	free(der2);
	X509_free(x);
}

T_TEST(ca_create_refuses_to_overwrite_without_force)
{
	struct sl_tls_ca_params p = { .days = 365 };
	struct sl_tls_ca_info a, b;
	struct sl_tls_ca *ca;
	char dir[64], err[512];

	T_ASSERT(pki_mkdtemp(dir, sizeof(dir)) == 0);
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), 0);
	T_ASSERT((ca = sl_tls_ca_load(dir, "ca.pem", "ca.key", err,
	    sizeof(err))) != NULL);
	sl_tls_ca_info(ca, &a);
	sl_tls_ca_unref(ca);
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), -1);
	T_ASSERT(has(err, "exists") && has(err, "--force"));
	p.force = 1;
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), 0);
	ca = sl_tls_ca_load(dir, "ca.pem", "ca.key", err, sizeof(err));
	pki_rmdir(dir);
	T_CHECK(ca != NULL, "load: %s", err);
	sl_tls_ca_info(ca, &b);
	sl_tls_ca_unref(ca);
	T_ASSERT(strcmp(a.sha256, b.sha256) != 0);
}

T_TEST(ca_create_leaves_no_temporary_files)
{
	struct sl_tls_ca_params p = { .days = 365 };
	char dir[64], err[512];
	struct dirent *e;
	int n = 0;
	DIR *d;

	T_ASSERT(pki_mkdtemp(dir, sizeof(dir)) == 0);
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), 0);
	p.force = 1;
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), 0);
	p.force = 0;
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), -1);
	T_ASSERT((d = opendir(dir)) != NULL);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	pki_rmdir(dir);
	T_EQ(n, 3);
}

T_TEST(ca_create_rejects_bad_parameters)
{
	struct sl_tls_ca_params p = { .days = 0 };
	char err[512];

	T_EQ(sl_tls_ca_create("/nonexistent-dir-for-test", &p, err,
	    sizeof(err)), -1);
	p.days = 365;
	p.cn = "";
	T_EQ(sl_tls_ca_create("/nonexistent-dir-for-test", &p, err,
	    sizeof(err)), -1);
}

/* --- sl_tls_ca_load: what is refused ---------------------------------- */

T_TEST(ca_load_accepts_ec_p384_and_shares_references)
{
	struct pki_spec s = { .cn = "p384", .ca = 1 };
	struct sl_tls_ca *ca, *again;
	struct fix f;
	char err[512];

	T_ASSERT(fix_init(&f) == 0);
	s.key = pki_ec("P-384");
	T_ASSERT(fix_write(&f, &s, 0600) == 0);
	ca = fix_load(&f, err, sizeof(err));
	again = fix_load(&f, err, sizeof(err));
	fix_done(&f);
	T_CHECK(ca != NULL && again != NULL, "load: %s", err);
	T_ASSERT(sl_tls_ca_same(ca, again));
	T_ASSERT(sl_tls_ca_ref(ca) == ca);
	sl_tls_ca_unref(ca);
	sl_tls_ca_unref(ca);
	sl_tls_ca_unref(again);
	sl_tls_ca_unref(NULL);
}

T_TEST(ca_load_missing_files_say_which)
{
	struct sl_tls_ca_params p = { .days = 365 };
	char dir[64], err[512];

	T_ASSERT(pki_mkdtemp(dir, sizeof(dir)) == 0);
	T_ASSERT(sl_tls_ca_load(dir, "ca.pem", "ca.key", err, sizeof(err))
	    == NULL);
	T_ASSERT(has(err, "ca-key") && has(err, "No such file") &&
	    has(err, "sluicectl ca init"));
	T_EQ(sl_tls_ca_create(dir, &p, err, sizeof(err)), 0);
	T_ASSERT(sl_tls_ca_load(dir, "missing.pem", "ca.key", err,
	    sizeof(err)) == NULL);
	pki_rmdir(dir);
	T_ASSERT(has(err, "cannot open ca-cert") && has(err, "missing.pem"));
}

T_TEST(ca_load_refuses_group_or_world_readable_key)
{
	static const mode_t modes[] = { 0640, 0604, 0644, 0660, 0700 };
	struct pki_spec s = { .cn = "ca", .ca = 1 };
	struct sl_tls_ca *ca;
	char err[512], want[32];
	struct fix f;

	T_ASSERT(fix_init(&f) == 0);
	T_ASSERT(fix_write(&f, &s, 0600) == 0);
	for (size_t i = 0; i < SL_NELEM(modes); i++) {
		T_EQ(chmod(f.key, modes[i]), 0);
		ca = fix_load(&f, err, sizeof(err));
		if (modes[i] == 0700) {		/* owner only: fine */
			T_ASSERT(ca != NULL);
			sl_tls_ca_unref(ca);
			continue;
		}
		snprintf(want, sizeof(want), "mode %04o", (unsigned)modes[i]);
		T_ASSERT(ca == NULL);
		T_ASSERT(has(err, want) && has(err, "group or others"));
	}
	fix_done(&f);
}

T_TEST(ca_load_refuses_mismatched_key)
{
	struct pki_spec s = { .cn = "ca", .ca = 1 };
	EVP_PKEY *other = pki_ec("P-256");
	struct fix f;
	char err[512];

	T_ASSERT(fix_init(&f) == 0 && other != NULL);
	T_ASSERT(fix_write(&f, &s, 0600) == 0);
	T_ASSERT(pki_write_key(f.key, other, 0600) == 0);
	EVP_PKEY_free(other);
	T_ASSERT(fix_load(&f, err, sizeof(err)) == NULL);
	fix_done(&f);
	T_ASSERT(has(err, "does not belong to ca-cert"));
}

T_TEST(ca_load_refuses_a_certificate_that_is_not_a_ca)
{
	struct pki_spec s = { .cn = "leaf", .san = "DNS:leaf.test" };

	T_ASSERT(refused(&s, "not a CA certificate"));
}

T_TEST(ca_load_refuses_a_ca_without_keycertsign)
{
	struct pki_spec s = { .cn = "ca", .ca = 1,
		.ku = "critical,digitalSignature,cRLSign" };
	struct pki_spec none = { .cn = "ca", .ca = 1, .ku = "" };

	T_ASSERT(refused(&s, "keyCertSign"));
	T_ASSERT(refused(&none, "keyCertSign"));
}

T_TEST(ca_load_refuses_eku_without_server_auth)
{
	struct pki_spec s = { .cn = "ca", .ca = 1, .eku = "clientAuth" };

	T_ASSERT(refused(&s, "serverAuth"));
}

T_TEST(ca_load_refuses_rsa_under_2048_and_other_curves)
{
	struct pki_spec s = { .cn = "ca", .ca = 1 };

	s.key = pki_rsa(1024);
	T_ASSERT(refused(&s, "RSA 1024: RSA keys need at least 2048 bits"));
	s.key = pki_ec("P-521");
	T_ASSERT(refused(&s, "EC P-521: EC keys must be P-256 or P-384"));
	s.key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	T_ASSERT(refused(&s, "ED25519"));
}

T_TEST(ca_load_refuses_expired_and_not_yet_valid)
{
	struct pki_spec old = { .cn = "ca", .ca = 1, .nb = -10 * PKI_DAY,
		.na = -PKI_DAY };
	struct pki_spec young = { .cn = "ca", .ca = 1, .nb = PKI_DAY,
		.na = 10 * PKI_DAY };

	T_ASSERT(refused(&old, "expired on"));
	T_ASSERT(refused(&young, "not valid before"));
}

/* Replace (mode "w") or extend ("a") path with text; 0 or -1. */
static int
put(const char *path, const char *mode, const char *text)
{
	FILE *fp = fopen(path, mode);

	if (fp == NULL)
		return -1;
	fputs(text, fp);
	return fclose(fp) == 0 ? 0 : -1;
}

/* Does loading f now fail, saying want? */
static int
fails(struct fix *f, const char *want)
{
	char err[512];
	struct sl_tls_ca *ca = fix_load(f, err, sizeof(err));

	sl_tls_ca_unref(ca);
	return ca == NULL && has(err, want);
}

T_TEST(ca_load_refuses_encrypted_and_garbage_keys)
{
	struct pki_spec s = { .cn = "ca", .ca = 1 };
	struct fix f;
	FILE *fp;

	T_ASSERT(fix_init(&f) == 0);
	T_ASSERT(fix_write(&f, &s, 0600) == 0);
	T_ASSERT((fp = fopen(f.key, "w")) != NULL);
	T_ASSERT(PEM_write_PrivateKey(fp, f.k, EVP_aes_128_cbc(),
	    (const unsigned char *)"secret", 6, NULL, NULL) == 1);
	fclose(fp);
	T_ASSERT(fails(&f, "encrypted"));
	T_ASSERT(put(f.key, "w", "not a key\n") == 0);
	T_ASSERT(fails(&f, "no PEM private key"));
	T_ASSERT(put(f.key, "w", "") == 0);
	T_ASSERT(fails(&f, "empty"));
	fix_done(&f);
	T_EQ(ERR_peek_error(), 0);		/* the queue was drained */
}

T_TEST(ca_load_refuses_garbage_certificate)
{
	struct pki_spec s = { .cn = "ca", .ca = 1 };
	struct fix f;

	T_ASSERT(fix_init(&f) == 0);
	T_ASSERT(fix_write(&f, &s, 0600) == 0);
	T_ASSERT(put(f.cert, "a", "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n") == 0);
	T_ASSERT(fails(&f, "malformed certificate after the first"));
	T_ASSERT(put(f.cert, "w", "hello\n") == 0);
	T_ASSERT(fails(&f, "no PEM certificate"));
	fix_done(&f);
}

T_TEST(ca_load_intermediate_ca_keeps_its_chain)
{
	EVP_PKEY *rk = pki_ec("P-256");
	X509 *root = pki_root("root", rk);
	struct pki_spec s = { .cn = "sub", .ca = 1, .issuer = root,
		.issuer_key = rk };
	struct sl_tls_ca *ca;
	struct fix f;
	char err[512];

	T_ASSERT(rk != NULL && root != NULL && fix_init(&f) == 0);
	T_ASSERT(fix_write(&f, &s, 0600) == 0);
	T_ASSERT(pki_write_certs(f.cert, f.x, root) == 0);
	ca = fix_load(&f, err, sizeof(err));
	fix_done(&f);
	EVP_PKEY_free(rk);
	X509_free(root);
	T_CHECK(ca != NULL, "load: %s", err);
	sl_tls_ca_unref(ca);
}

T_TEST(ca_load_refuses_sha1_signed_intermediate)
{
	EVP_PKEY *rk = pki_ec("P-256");
	X509 *root = pki_root("root", rk);
	struct pki_spec s = { .cn = "sub", .ca = 1, .issuer = root,
		.issuer_key = rk, .md = EVP_sha1() };
	int ok;

	T_ASSERT(rk != NULL && root != NULL);
	ok = refused(&s, "SHA-1");
	EVP_PKEY_free(rk);
	X509_free(root);
	T_ASSERT(ok);
}

T_TEST(ca_load_survives_failed_allocations)
{
	struct sl_tls_ca_params p = { .days = 365 };
	struct sl_tls_ca *ca;
	char dir[64], err[512];

	/* make test-oom fails each sl_alloc in turn: load must say so and
	 * leave nothing behind (the harness runs this under ASan). */
	T_ASSERT(pki_mkdtemp(dir, sizeof(dir)) == 0);
	if (sl_tls_ca_create(dir, &p, err, sizeof(err)) == 0 &&
	    (ca = sl_tls_ca_load(dir, "ca.pem", "ca.key", err, sizeof(err)))
	    != NULL)
		sl_tls_ca_unref(ca);
	pki_rmdir(dir);
}
