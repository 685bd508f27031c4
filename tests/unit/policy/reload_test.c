/*
 * reload_test.c — hot reload as the proxy does it: workers decide on a
 * shared configuration while the main thread loads new ones, swaps an
 * atomic pointer and drops the old reference.  A broken file leaves the
 * running configuration in place; hit counters follow rule names.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "tests/unit/t.h"

static struct sl_config *
load(const char *text, struct sl_diags *d)
{
	sl_diags_init(d);
	return sl_config_load_buf("r.conf", text, strlen(text), NULL, 0, d);
}

T_TEST(reload_broken_file_keeps_running_config)
{
	struct sl_diags d;
	struct sl_config *run = load("rule a splice domain a.test\n", &d);
	struct sl_config *next;
	char *txt;

	T_ASSERT(run != NULL);
	sl_diags_free(&d);
	next = load("rule a splice domain a.test\nrule b splcie\n", &d);
	T_ASSERT(next == NULL);
	txt = sl_diags_text(&d);
	T_STREQ(txt, "r.conf:2:8: error: unknown action 'splcie' (did you "
	    "mean 'splice'?)\n");
	sl_free(txt);
	sl_diags_free(&d);
	/* The running one is untouched. */
	T_EQ(sl_policy_nrules(sl_config_policy(run)), 1);
	sl_config_unref(run);
}

struct shared {
	_Atomic(struct sl_config *) cur;
	pthread_mutex_t	 swap;		/* taken only to ref the pointer */
	atomic_int	 stop;
	atomic_ulong	 decisions, a_hits, b_hits;
};

/* Take a reference to the current configuration (what a worker does
 * when a new flow starts). */
static struct sl_config *
grab(struct shared *s)
{
	struct sl_config *c;

	pthread_mutex_lock(&s->swap);
	c = sl_config_ref(atomic_load(&s->cur));
	pthread_mutex_unlock(&s->swap);
	return c;
}

static void *
worker(void *arg)
{
	struct shared *s = arg;
	struct sl_facts f;

	memset(&f, 0, sizeof(f));
	f.known = SL_FACT_ALL;
	f.proto = IPPROTO_TCP;
	f.port = 443;
	f.name = "x.a.test";
	while (!atomic_load(&s->stop)) {
		struct sl_config *c = grab(s);
		struct sl_decision d;

		for (int i = 0; i < 200; i++) {
			sl_policy_decide(sl_config_policy(c), &f, &d);
			if (d.rule_name[0] == 'a')
				atomic_fetch_add(&s->a_hits, 1);
			else if (d.rule_name[0] == 'b')
				atomic_fetch_add(&s->b_hits, 1);
			atomic_fetch_add(&s->decisions, 1);
		}
		sl_config_unref(c);
	}
	return NULL;
}

T_TEST(reload_100_swaps_under_concurrent_decisions)
{
	static const char *const texts[] = {
		"rule a splice domain *.a.test\n",
		"rule b inspect domain x.a.test\nrule a splice domain *.a.test\n",
	};
	struct shared s;
	struct sl_diags d;
	pthread_t th[2];
	uint64_t hits_a = 0;
	int load_failed = 0;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.swap, NULL);
	atomic_store(&s.cur, load(texts[0], &d));
	sl_diags_free(&d);
	T_ASSERT(atomic_load(&s.cur) != NULL);
	for (int i = 0; i < 2; i++)
		T_EQ(pthread_create(&th[i], NULL, worker, &s), 0);
	for (int i = 1; i <= 100; i++) {
		struct sl_config *next = load(texts[i % 2], &d), *old;

		sl_diags_free(&d);
		/* Not T_ASSERT: the workers must be stopped before leaving. */
		if (next == NULL) {
			load_failed = 1;
			break;
		}
		sl_policy_inherit_hits(sl_config_policy(next),
		    sl_config_policy(atomic_load(&s.cur)));
		pthread_mutex_lock(&s.swap);
		old = atomic_exchange(&s.cur, next);
		pthread_mutex_unlock(&s.swap);
		/* Workers still deciding on `old` keep it alive. */
		sl_config_unref(old);
	}
	atomic_store(&s.stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	if (load_failed) {
		sl_config_unref(atomic_load(&s.cur));
		pthread_mutex_destroy(&s.swap);
		T_CHECK(0, "a reload failed to load");
	}
	/* Rule a's hits were carried over every swap: the final count is
	 * every `a` decision made (counted per final decision). */
	{
		const struct sl_policy *pol = sl_config_policy(atomic_load(
		    &s.cur));

		for (size_t i = 0; i < sl_policy_nrules(pol); i++)
			if (strcmp(sl_rule_name(sl_policy_rule(pol, i)), "a")
			    == 0)
				hits_a = sl_rule_hits(sl_policy_rule(pol, i));
	}
	printf("# %lu decisions, a %lu, b %lu; a's counter %llu\n",
	    atomic_load(&s.decisions), atomic_load(&s.a_hits),
	    atomic_load(&s.b_hits), (unsigned long long)hits_a);
	T_ASSERT(atomic_load(&s.decisions) > 0);
	T_ASSERT(atomic_load(&s.b_hits) > 0 || atomic_load(&s.a_hits) > 0);
	/* Counters are copied at reload: decisions on an old config after
	 * its successor copied them are not carried, so <=. */
	T_ASSERT(hits_a <= atomic_load(&s.a_hits));
	T_ASSERT(hits_a > 0 || atomic_load(&s.a_hits) == 0);
	sl_config_unref(atomic_load(&s.cur));
	pthread_mutex_destroy(&s.swap);
}
