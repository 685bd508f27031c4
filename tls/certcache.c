/*
 * certcache.c — the minted-leaf cache every worker shares.
 *
 * DESIGN.md: "the one shared mutable structure; keep its lock out of the
 * per-byte path".  It is consulted once per inspected handshake, never
 * per byte, and its mutex covers a hash lookup, a few pointer moves and
 * two reference increments: no signing, no allocation and no free happen
 * under it (entries are allocated before locking and dropped after).
 *
 *   buckets[hash & mask] -> entry -> entry          (chains, hnext)
 *   head <-> entry <-> ... <-> tail                 (LRU: head is newest)
 *
 * The hash is SHA-256 over a per-cache random seed, the name and the
 * upstream fingerprint: the name comes from clients (any label under a
 * wildcard certificate), so the table must not be floodable into one
 * chain.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "../lib/alloc.h"
#include "../lib/lru.h"
#include "tls_int.h"

#define CC_BUCKETS_MIN	16

struct cc_entry {
	struct cc_entry		*hnext;		/* bucket chain; victim list */
	struct sl_lru_node	 lru;		/* newest first */
	struct tls_cache_key	 key;
	X509			*cert;
	EVP_PKEY		*pkey;
	time_t			 stale;		/* reuse until then */
};

struct sl_tls_certcache {
	atomic_int		 refs;
	struct sl_tls_ca	*ca;		/* ref held */
	EVP_MD			*sha256;
	unsigned char		 seed[16];
	size_t			 size;		/* max entries; 0: no caching */
	size_t			 mask;		/* buckets - 1 */
	struct cc_entry		**buckets;

	pthread_mutex_t		 lock;		/* everything below */
	struct sl_lru		 lru;
	size_t			 n;
	struct sl_tls_certcache_stats st;
};

struct sl_tls_certcache *
sl_tls_certcache_new(struct sl_tls_ca *ca, size_t size)
{
	struct sl_tls_certcache *c;
	size_t nb = CC_BUCKETS_MIN;

	if ((c = sl_calloc(1, sizeof(*c))) == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->size = size;
	while (nb < size && nb < ((size_t)1 << 30))
		nb <<= 1;
	c->mask = nb - 1;
	if ((c->buckets = sl_calloc(nb, sizeof(*c->buckets))) == NULL)
		goto fail;
	if ((c->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL)) == NULL ||
	    RAND_bytes(c->seed, sizeof(c->seed)) != 1) {
		sl_tls_log_ossl(SL_LOG_ERR, "tls: cannot make the certificate "
		    "cache");
		goto fail;
	}
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		goto fail;
	c->ca = sl_tls_ca_ref(ca);
	return c;
fail:
	EVP_MD_free(c->sha256);
	sl_free(c->buckets);
	sl_free(c);
	return NULL;
}

struct sl_tls_certcache *
sl_tls_certcache_ref(struct sl_tls_certcache *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

static void
cc_entry_free(struct cc_entry *e)
{
	X509_free(e->cert);
	EVP_PKEY_free(e->pkey);
	sl_free(e);
}

/* Free a list of entries linked through hnext (after unlocking). */
static void
cc_free_list(struct cc_entry *e)
{
	while (e != NULL) {
		struct cc_entry *next = e->hnext;

		cc_entry_free(e);
		e = next;
	}
}

void
sl_tls_certcache_unref(struct sl_tls_certcache *c)
{
	struct sl_lru_node *n, *next;

	if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1,
	    memory_order_acq_rel) != 1)
		return;
	for (n = c->lru.head; n != NULL; n = next) {
		next = n->next;
		cc_entry_free(SL_LRU_ENTRY(n, struct cc_entry, lru));
	}
	pthread_mutex_destroy(&c->lock);
	sl_tls_ca_unref(c->ca);
	EVP_MD_free(c->sha256);
	sl_free(c->buckets);
	sl_free(c);
}

struct sl_tls_ca *
tls_cache_ca(const struct sl_tls_certcache *c)
{
	return c->ca;
}

void
tls_cache_key(const struct sl_tls_certcache *c, struct tls_cache_key *k)
{
	unsigned char buf[sizeof(c->seed) + TLS_NAME_MAX + TLS_SHA256_LEN];
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t len = 0;

	memcpy(buf, c->seed, sizeof(c->seed));
	len += sizeof(c->seed);
	memcpy(buf + len, k->name, k->namelen);
	len += k->namelen;
	memcpy(buf + len, k->fp, sizeof(k->fp));
	len += sizeof(k->fp);
	if (EVP_Digest(buf, len, md, NULL, c->sha256, NULL) != 1) {
		/* Cannot happen short of memory; a constant hash still
		 * finds every entry, only slower. */
		tls_err_clear();
		memset(md, 0, sizeof(md));
	}
	memcpy(&k->hash, md, sizeof(k->hash));
}

static int
cc_key_eq(const struct tls_cache_key *a, const struct tls_cache_key *b)
{
	return a->hash == b->hash && a->namelen == b->namelen &&
	    memcmp(a->fp, b->fp, sizeof(a->fp)) == 0 &&
	    memcmp(a->name, b->name, a->namelen) == 0;
}

/* Under the lock: the entry for k and the link pointing to it. */
static struct cc_entry **
cc_find(struct sl_tls_certcache *c, const struct tls_cache_key *k)
{
	struct cc_entry **pp = &c->buckets[k->hash & c->mask];

	while (*pp != NULL && !cc_key_eq(&(*pp)->key, k))
		pp = &(*pp)->hnext;
	return pp;
}

/* Under the lock: take *pp out of the table; returns it. */
static struct cc_entry *
cc_remove(struct sl_tls_certcache *c, struct cc_entry **pp)
{
	struct cc_entry *e = *pp;

	*pp = e->hnext;
	e->hnext = NULL;
	sl_lru_unlink(&c->lru, &e->lru);
	c->n--;
	return e;
}

int
tls_cache_get(struct sl_tls_certcache *c, const struct tls_cache_key *k,
    time_t now, X509 **cert, EVP_PKEY **key)
{
	struct cc_entry **pp, *e, *old = NULL;
	int hit = 0;

	if (c->size == 0) {
		pthread_mutex_lock(&c->lock);
		c->st.misses++;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	pthread_mutex_lock(&c->lock);
	pp = cc_find(c, k);
	if ((e = *pp) != NULL && now >= e->stale) {
		old = cc_remove(c, pp);
		c->st.expired++;
	} else if (e != NULL) {
		sl_lru_unlink(&c->lru, &e->lru);
		sl_lru_push(&c->lru, &e->lru);
		X509_up_ref(e->cert);
		EVP_PKEY_up_ref(e->pkey);
		*cert = e->cert;
		*key = e->pkey;
		hit = 1;
	}
	if (hit)
		c->st.hits++;
	else
		c->st.misses++;
	pthread_mutex_unlock(&c->lock);
	cc_free_list(old);
	return hit;
}

/* Under the lock: drop LRU entries beyond size onto *victims. */
static void
cc_evict(struct sl_tls_certcache *c, struct cc_entry **victims)
{
	while (c->n > c->size && c->lru.tail != NULL) {
		struct cc_entry *e = SL_LRU_ENTRY(c->lru.tail, struct cc_entry,
		    lru);
		struct cc_entry *v = cc_remove(c, cc_find(c, &e->key));

		v->hnext = *victims;
		*victims = v;
		c->st.evictions++;
	}
}

void
tls_cache_put(struct sl_tls_certcache *c, const struct tls_cache_key *k,
    time_t stale, X509 **cert, EVP_PKEY **key)
{
	struct cc_entry **pp, *e, *victims = NULL;
	time_t now = time(NULL);

	if (c->size == 0 || (e = sl_calloc(1, sizeof(*e))) == NULL)
		return;			/* served uncached */
	e->key = *k;
	e->stale = stale;
	X509_up_ref(*cert);
	EVP_PKEY_up_ref(*key);
	e->cert = *cert;
	e->pkey = *key;
	pthread_mutex_lock(&c->lock);
	pp = cc_find(c, k);
	if (*pp != NULL && now < (*pp)->stale) {
		/* Another worker minted the same leaf meanwhile: serve its
		 * pair so that one key has one leaf; ours is dropped.  The
		 * frees only count down: e still holds our pair. */
		struct cc_entry *have = *pp;

		X509_up_ref(have->cert);
		EVP_PKEY_up_ref(have->pkey);
		X509_free(*cert);
		EVP_PKEY_free(*key);
		*cert = have->cert;
		*key = have->pkey;
		c->st.raced++;
		victims = e;
	} else {
		if (*pp != NULL) {
			victims = cc_remove(c, pp);
			c->st.expired++;
		}
		pp = &c->buckets[k->hash & c->mask];
		e->hnext = *pp;
		*pp = e;
		sl_lru_push(&c->lru, &e->lru);
		c->n++;
		cc_evict(c, &victims);
	}
	pthread_mutex_unlock(&c->lock);
	cc_free_list(victims);
}

void
sl_tls_certcache_stats(struct sl_tls_certcache *c,
    struct sl_tls_certcache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	out->entries = c->n;
	out->size = c->size;
	pthread_mutex_unlock(&c->lock);
}
