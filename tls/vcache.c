/*
 * vcache.c — the upstream verification cache: a chain that verified for
 * a name is not verified again, for that name, for a few minutes.
 *
 * Every inspected handshake verifies the origin's chain (X509_verify_cert:
 * chain building, one signature check per certificate, the strength
 * checks of verify.c, the name); for a busy origin it is the same chain
 * each time.  Browsers keep such results (Chromium's CachingCertVerifier,
 * 30 minutes), and so does Squid's certificate validator cache.  What is
 * kept is only the fact "this exact chain verified for this exact target
 * with this trust store", never a failure:
 *
 *   key     SHA-256 over the verify target (host name or address, as
 *           sl_tls_upstream_prepare() set it) and the SHA-256 of every
 *           certificate the origin presented, in order; a changed byte
 *           anywhere is another key
 *   until   min(verified + ttl, the earliest notAfter in the chain that
 *           was built), so an entry never outlives a certificate
 *   store   the cache belongs to one upstream SSL_CTX, made with its trust
 *           store at load and reload: a reload starts with an empty cache
 *
 * The TLS handshake itself is not skipped: the origin still proves it
 * holds the leaf's key (CertificateVerify) on every connection; only the
 * chain's verification is.  The table is shared by the workers under one
 * mutex held for a hash lookup (certcache.c's shape, without the
 * reference counting: entries hold no OpenSSL objects).
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../lib/alloc.h"
#include "../lib/lru.h"
#include "tls_int.h"

#define VC_BUCKETS_MIN	16

struct vc_entry {
	struct vc_entry		*hnext;		/* bucket chain */
	struct sl_lru_node	 lru;		/* newest first */
	unsigned char		 key[TLS_SHA256_LEN];
	time_t			 until;
};

struct sl_tls_vcache {
	EVP_MD			*sha256;
	size_t			 size;		/* max entries; 0: off */
	time_t			 ttl;		/* seconds */
	size_t			 mask;
	struct vc_entry		**buckets;

	pthread_mutex_t		 lock;		/* everything below */
	struct sl_lru		 lru;
	size_t			 n;
	struct sl_tls_vcache_stats st;
};

struct sl_tls_vcache *
sl_tls_vcache_new(size_t size, unsigned ttl_s)
{
	struct sl_tls_vcache *c;
	size_t nb = VC_BUCKETS_MIN;

	if ((c = sl_calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->size = size;
	c->ttl = (time_t)ttl_s;
	while (nb < size && nb < ((size_t)1 << 30))
		nb <<= 1;
	c->mask = nb - 1;
	if ((c->buckets = sl_calloc(nb, sizeof(*c->buckets))) == NULL)
		goto fail;
	if ((c->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL)) == NULL) {
		sl_tls_log_ossl(SL_LOG_ERR, "tls: cannot make the verification "
		    "cache");
		goto fail;
	}
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto fail;
	return c;
fail:
	EVP_MD_free(c->sha256);
	sl_free(c->buckets);
	sl_free(c);
	return NULL;
}

void
sl_tls_vcache_free(struct sl_tls_vcache *c)
{
	struct sl_lru_node *n, *next;

	if (c == NULL)
		return;
	for (n = c->lru.head; n != NULL; n = next) {
		next = n->next;
		sl_free(SL_LRU_ENTRY(n, struct vc_entry, lru));
	}
	pthread_mutex_destroy(&c->lock);
	EVP_MD_free(c->sha256);
	sl_free(c->buckets);
	sl_free(c);
}

/*
 * The key of what sctx is about to verify: the target, then each
 * presented certificate's digest.  -1 when it cannot be computed (then
 * the chain is verified uncached).
 */
static int
vc_key(struct sl_tls_vcache *c, X509_STORE_CTX *sctx, unsigned char *key)
{
	X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(sctx);
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(sctx);
	const char *host = X509_VERIFY_PARAM_get0_host(vp, 0);
	char *ip = host == NULL ? X509_VERIFY_PARAM_get1_ip_asc(vp) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char fp[EVP_MAX_MD_SIZE];
	unsigned len;
	int ok;

	/* The kind of target is hashed too: a name is never an address. */
	ok = md != NULL && EVP_DigestInit_ex(md, c->sha256, NULL) == 1 &&
	    (host != NULL || ip != NULL) &&
	    EVP_DigestUpdate(md, host != NULL ? "h" : "i", 2) == 1 &&
	    EVP_DigestUpdate(md, host != NULL ? host : ip,
	    strlen(host != NULL ? host : ip) + 1) == 1 &&
	    sk_X509_num(chain) > 0;
	for (int i = 0; ok && i < sk_X509_num(chain); i++)
		ok = X509_digest(sk_X509_value(chain, i), c->sha256, fp,
		    &len) == 1 && EVP_DigestUpdate(md, fp, len) == 1;
	ok = ok && EVP_DigestFinal_ex(md, key, &len) == 1 &&
	    len == TLS_SHA256_LEN;
	EVP_MD_CTX_free(md);
	OPENSSL_free(ip);
	if (!ok)
		tls_err_clear();
	return ok ? 0 : -1;
}

static size_t
vc_bucket(const struct sl_tls_vcache *c, const unsigned char *key)
{
	size_t h;

	/* The key is a digest already: any of its bytes are uniform. */
	memcpy(&h, key, sizeof(h));
	return h & c->mask;
}

/* Under the lock: the link pointing at key's entry (or at NULL). */
static struct vc_entry **
vc_find(struct sl_tls_vcache *c, const unsigned char *key)
{
	struct vc_entry **pp = &c->buckets[vc_bucket(c, key)];

	while (*pp != NULL && memcmp((*pp)->key, key, TLS_SHA256_LEN) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

/* Under the lock: unlink *pp; the caller frees it after unlocking. */
static struct vc_entry *
vc_remove(struct sl_tls_vcache *c, struct vc_entry **pp)
{
	struct vc_entry *e = *pp;

	*pp = e->hnext;
	e->hnext = NULL;
	sl_lru_unlink(&c->lru, &e->lru);
	c->n--;
	return e;
}

/* 1 if key verified and is still good at now; an expired entry goes. */
static int
vc_get(struct sl_tls_vcache *c, const unsigned char *key, time_t now)
{
	struct vc_entry **pp, *old = NULL;
	int hit = 0;

	pthread_mutex_lock(&c->lock);
	pp = vc_find(c, key);
	if (*pp != NULL && now >= (*pp)->until) {
		old = vc_remove(c, pp);
		c->st.expired++;
	} else if (*pp != NULL) {
		sl_lru_unlink(&c->lru, &(*pp)->lru);
		sl_lru_push(&c->lru, &(*pp)->lru);
		hit = 1;
	}
	if (hit)
		c->st.hits++;
	else
		c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	sl_free(old);
	return hit;
}

static void
vc_put(struct sl_tls_vcache *c, const unsigned char *key, time_t until)
{
	struct vc_entry **pp, *e, *victim = NULL;

	if ((e = sl_calloc(1, sizeof(*e))) == NULL)
		return;				/* verified, not kept */
	memcpy(e->key, key, TLS_SHA256_LEN);
	e->until = until;
	pthread_mutex_lock(&c->lock);
	pp = vc_find(c, key);
	if (*pp != NULL) {
		/* Another worker verified it meanwhile: keep the newer. */
		victim = vc_remove(c, pp);
	} else if (c->n >= c->size && c->lru.tail != NULL) {
		victim = vc_remove(c, vc_find(c, SL_LRU_ENTRY(c->lru.tail,
		    struct vc_entry, lru)->key));
		c->st.evictions++;
	}
	pp = &c->buckets[vc_bucket(c, key)];
	e->hnext = *pp;
	*pp = e;
	sl_lru_push(&c->lru, &e->lru);
	c->n++;
	pthread_mutex_unlock(&c->lock);
	sl_free(victim);
}

/* The earliest notAfter of the chain OpenSSL built; -1 if unreadable. */
static int
vc_chain_until(X509_STORE_CTX *sctx, time_t *until)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sctx);

	if (sk_X509_num(chain) <= 0)
		return -1;
	for (int i = 0; i < sk_X509_num(chain); i++) {
		time_t t;

		if (tls_time(X509_get0_notAfter(sk_X509_value(chain, i)),
		    &t) == -1)
			return -1;
		if (t < *until)
			*until = t;
	}
	return 0;
}

/* SSL_CTX_set_cert_verify_callback(): instead of X509_verify_cert(). */
static int
vc_verify(X509_STORE_CTX *sctx, void *arg)
{
	struct sl_tls_vcache *c = arg;
	unsigned char key[TLS_SHA256_LEN];
	time_t now = time(NULL), until;
	int cacheable = vc_key(c, sctx, key) == 0, ok;

	if (cacheable && vc_get(c, key, now)) {
		/* What X509_verify_cert() leaves on success. */
		X509_STORE_CTX_set_error(sctx, X509_V_OK);
		return 1;
	}
	ok = X509_verify_cert(sctx);
	until = now + c->ttl;
	if (ok == 1 && cacheable && X509_STORE_CTX_get_error(sctx) ==
	    X509_V_OK && vc_chain_until(sctx, &until) == 0 && until > now)
		vc_put(c, key, until);
	return ok;
}

void
sl_tls_vcache_attach(struct sl_tls_vcache *c, SSL_CTX *ctx)
{
	if (c->size > 0 && c->ttl > 0)
		SSL_CTX_set_cert_verify_callback(ctx, vc_verify, c);
}

void
sl_tls_vcache_stats(struct sl_tls_vcache *c, struct sl_tls_vcache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	out->entries = c->n;
	out->size = c->size;
	pthread_mutex_unlock(&c->lock);
}
