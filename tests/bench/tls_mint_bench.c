/*
 * tls_mint_bench.c — what a minted leaf costs (issue 13: "well under 1 ms
 * of CPU and never stall other flows noticeably").
 *
 *   build/tools/tls_mint_bench [--names N] [--threads T]
 *
 * For an EC P-256 CA and an RSA 2048 CA: thread CPU time per cold mint
 * (a new name each time: leaf built and signed, then cached) and per
 * cached mint (the same names again: lookup only); then T threads, each
 * with its own minter on one shared cache, minting and looking up at
 * once, to show the cache's lock does not serialise workers (mints per
 * second overall: it should grow with the cores), and the memory a cache
 * entry takes.  Exit status 1 if a cold EC mint takes
 * 1 ms or more.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/common/rss.h"
#include "tests/unit/tls/pki.h"
#include "tls/tls.h"

struct bench {
	struct sl_tls_ca	*ca;
	struct sl_tls_certcache	*cache;
	X509			*up;
	int			 names;
};

struct worker {
	pthread_t	 t;
	struct bench	*b;
	int		 id;
	int		 fails;
	double		 cpu_cold, cpu_hot;	/* us per op */
};

static double
clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Mint names [0, n) for worker id: fresh the first time, cached after. */
static int
bench_pass(struct sl_tls_minter *m, X509 *up, int id, int n)
{
	char name[64];
	int fails = 0;

	for (int i = 0; i < n; i++) {
		EVP_PKEY *key;
		X509 *leaf;

		snprintf(name, sizeof(name), "w%d-n%d.bench.test", id, i);
		if (sl_tls_mint(m, up, name, NULL, &leaf, &key) == -1) {
			fails++;
			continue;
		}
		X509_free(leaf);
		EVP_PKEY_free(key);
	}
	return fails;
}

static void *
bench_worker(void *arg)
{
	struct worker *w = arg;
	struct sl_tls_minter *m = sl_tls_minter_new(w->b->cache);
	double t0, t1, t2;

	if (m == NULL) {
		w->fails = w->b->names;
		return NULL;
	}
	t0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
	w->fails += bench_pass(m, w->b->up, w->id, w->b->names);
	t1 = clock_us(CLOCK_THREAD_CPUTIME_ID);
	w->fails += bench_pass(m, w->b->up, w->id, w->b->names);
	t2 = clock_us(CLOCK_THREAD_CPUTIME_ID);
	w->cpu_cold = (t1 - t0) / w->b->names;
	w->cpu_hot = (t2 - t1) / w->b->names;
	sl_tls_minter_free(m);
	return NULL;
}

/* T threads at once; prints per-thread CPU and overall wall time. */
static int
bench_run(struct bench *b, int threads, double *cold)
{
	struct worker w[64];
	double t0, wall, cold_sum = 0, hot_sum = 0;
	int fails = 0;

	memset(w, 0, sizeof(w));
	t0 = clock_us(CLOCK_MONOTONIC);
	for (int i = 0; i < threads; i++) {
		w[i].b = b;
		w[i].id = i;
		if (pthread_create(&w[i].t, NULL, bench_worker, &w[i]) != 0)
			return -1;
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].t, NULL);
		fails += w[i].fails;
		cold_sum += w[i].cpu_cold;
		hot_sum += w[i].cpu_hot;
	}
	wall = clock_us(CLOCK_MONOTONIC) - t0;
	*cold = cold_sum / threads;
	printf("  %d thread%s: cold %.1f us CPU, cached %.1f us CPU per mint; "
	    "%.0f mints/s overall%s\n", threads, threads > 1 ? "s" : " ",
	    cold_sum / threads, hot_sum / threads,
	    2.0 * b->names * threads / (wall / 1e6),
	    fails ? " (FAILURES)" : "");
	return fails ? -1 : 0;
}

/* A CA of the given key type, through sluicectl ca init's code. */
static struct sl_tls_ca *
bench_ca(enum sl_tls_keytype kt)
{
	struct sl_tls_ca_params p = { .days = 365, .key = kt };
	struct sl_tls_ca *ca = NULL;
	char dir[64], err[512];

	if (pki_mkdtemp(dir, sizeof(dir)) == -1)
		return NULL;
	if (sl_tls_ca_create(dir, &p, err, sizeof(err)) == -1 ||
	    (ca = sl_tls_ca_load(dir, SL_TLS_CA_CERT, SL_TLS_CA_KEY, err,
	    sizeof(err))) == NULL)
		fprintf(stderr, "tls_mint_bench: %s\n", err);
	pki_rmdir(dir);
	return ca;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char		*name;
		enum sl_tls_keytype	 kt;
	} cas[] = { { "EC P-256", SL_TLS_KEY_EC }, { "RSA 2048", SL_TLS_KEY_RSA } };
	int names = 2000, threads = 4, rc = 0;
	EVP_PKEY *rk = pki_ec("P-256"), *k = pki_ec("P-256");
	X509 *root = rk ? pki_root("bench root", rk) : NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--names") == 0)
			names = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[i + 1]);
	}
	if (names < 1 || threads < 1 || threads > 64 || k == NULL ||
	    root == NULL) {
		fprintf(stderr, "usage: tls_mint_bench [--names N] "
		    "[--threads 1..64]\n");
		return 2;
	}
	for (size_t i = 0; i < SL_NELEM(cas); i++) {
		struct bench b = { .names = names };
		double cold = 0;
		long rss;

		b.ca = bench_ca(cas[i].kt);
		b.up = pki_leaf("bench.test", "DNS:*.bench.test,DNS:bench.test",
		    k, root, rk);
		b.cache = b.ca ? sl_tls_certcache_new(b.ca,
		    (size_t)names * (size_t)threads) : NULL;
		if (b.cache == NULL || b.up == NULL)
			return 1;
		printf("%s CA, %d names per thread, one shared cache:\n",
		    cas[i].name, names);
		rss = rss_kib();
		if (bench_run(&b, 1, &cold) == -1)
			rc = 1;
		/* The first run only: later ones reuse the freed heap. */
		if (i == 0)
			printf("  cache memory: ~%.1f KiB per entry (RSS growth "
			    "over %d entries)\n", (double)(rss_kib() - rss) /
			    names, names);
		if (cas[i].kt == SL_TLS_KEY_EC && cold >= 1000) {
			printf("  FAIL: a cold mint takes %.1f us >= 1 ms\n", cold);
			rc = 1;
		}
		sl_tls_certcache_unref(b.cache);
		b.cache = sl_tls_certcache_new(b.ca,
		    (size_t)names * (size_t)threads);
		if (b.cache == NULL || (threads > 1 &&
		    bench_run(&b, threads, &cold) == -1))
			rc = 1;
		sl_tls_certcache_unref(b.cache);
		sl_tls_ca_unref(b.ca);
		X509_free(b.up);
	}
	X509_free(root);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(k);
	return rc;
}
