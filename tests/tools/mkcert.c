/*
 * mkcert.c — test certificates the openssl command cannot make in one go:
 * a validity in the past or the future, an RSA-1024 key, a SHA-1
 * signature.  For the inspection tests' table of bad upstreams; never a
 * product tool.
 *
 *   mkcert --out CRT --key-out KEY [--ca CRT --ca-key KEY] [--cn NAME]
 *          [--san DNS:a,IP:b] [--from DAYS] [--days N] [--key ec|rsa1024|
 *          rsa2048] [--md sha256|sha1] [--ca-cert]
 *
 * --from: notBefore, in days from now (negative: the past).  --days: the
 * validity.  Without --ca the certificate signs itself.  --ca-cert makes
 * a CA (basicConstraints CA:TRUE, keyCertSign), else a TLS server leaf.
 */
#include <getopt.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
die(const char *what)
{
	fprintf(stderr, "mkcert: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die(path);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *c;

	if (f == NULL)
		die(path);
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (c == NULL)
		die(path);
	return c;
}

static void
add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(crt, ext, -1))
		die(value);
	X509_EXTENSION_free(ext);
}

static EVP_PKEY *
new_key(const char *type)
{
	EVP_PKEY *k = NULL;

	if (strcmp(type, "ec") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(type, "rsa1024") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	else if (strcmp(type, "rsa2048") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (k == NULL)
		die("key type: ec, rsa1024 or rsa2048");
	return k;
}

static void
write_pem(const char *path, X509 *crt, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || (crt != NULL && !PEM_write_X509(f, crt)) ||
	    (key != NULL && !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
	    NULL)) || fclose(f) != 0)
		die(path);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", 1, NULL, 'o' }, { "key-out", 1, NULL, 'k' },
		{ "ca", 1, NULL, 'c' }, { "ca-key", 1, NULL, 'K' },
		{ "cn", 1, NULL, 'n' }, { "san", 1, NULL, 's' },
		{ "from", 1, NULL, 'f' }, { "days", 1, NULL, 'd' },
		{ "key", 1, NULL, 't' }, { "md", 1, NULL, 'm' },
		{ "ca-cert", 0, NULL, 'C' }, { NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *keyout = NULL, *ca = NULL, *cakey = NULL;
	const char *cn = "test", *san = NULL, *keytype = "ec", *md = "sha256";
	long from = 0, days = 30;
	int is_ca = 0, c;
	unsigned char serial[16];
	X509 *crt, *issuer;
	EVP_PKEY *key, *signer;
	BIGNUM *bn;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'k': keyout = optarg; break;
		case 'c': ca = optarg; break;
		case 'K': cakey = optarg; break;
		case 'n': cn = optarg; break;
		case 's': san = optarg; break;
		case 'f': from = strtol(optarg, NULL, 10); break;
		case 'd': days = strtol(optarg, NULL, 10); break;
		case 't': keytype = optarg; break;
		case 'm': md = optarg; break;
		case 'C': is_ca = 1; break;
		default: return 2;
		}
	}
	if (out == NULL || keyout == NULL || (ca == NULL) != (cakey == NULL)) {
		fprintf(stderr, "usage: see the comment at the top of "
		    "tests/tools/mkcert.c\n");
		return 2;
	}
	key = new_key(keytype);
	if ((crt = X509_new()) == NULL || !X509_set_version(crt, 2))
		die("x509");
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		die("rand");
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt)) == NULL)
		die("serial");
	BN_free(bn);
	if (X509_gmtime_adj(X509_getm_notBefore(crt), from * 86400) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(crt), (from + days) * 86400) ==
	    NULL)
		die("validity");
	if (!X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN",
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_pubkey(crt, key))
		die("subject");
	issuer = ca != NULL ? load_cert(ca) : crt;
	signer = ca != NULL ? load_key(cakey) : key;
	if (!X509_set_issuer_name(crt, X509_get_subject_name(issuer)))
		die("issuer");
	if (is_ca) {
		add_ext(crt, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(crt, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(crt, issuer, NID_basic_constraints, "CA:FALSE");
		add_ext(crt, issuer, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		add_ext(crt, issuer, NID_ext_key_usage, "serverAuth");
	}
	add_ext(crt, issuer, NID_subject_key_identifier, "hash");
	if (san != NULL)
		add_ext(crt, issuer, NID_subject_alt_name, san);
	if (!X509_sign(crt, signer, EVP_get_digestbyname(md)))
		die("sign");
	write_pem(out, crt, NULL);
	write_pem(keyout, NULL, key);
	if (issuer != crt) {
		X509_free(issuer);
		EVP_PKEY_free(signer);
	}
	X509_free(crt);
	EVP_PKEY_free(key);
	return 0;
}
