/*
 * learn_test.c — the learn-mode table (policy/learn.h): distinct clients
 * and the proposal threshold, the bound and what it evicts, the file's
 * round trip and its hostile inputs, reconciling with an edited file,
 * the deny guard and where a splice rule may go, and records from many
 * threads at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "policy/learn.h"
#include "tests/unit/t.h"

static const struct sl_learn_limits lim3 = { 3, 1000 };

static struct sl_ip
ip(const char *s)
{
	struct sl_ip a;

	if (sl_ip_parse(&a, s) == -1)
		abort();
	return a;
}

static enum sl_learn_rc
rec(struct sl_learn *lt, const char *name, const char *cli, int64_t now,
    const struct sl_learn_limits *lim)
{
	struct sl_ip a = ip(cli);

	return sl_learn_record(lt, name, &a, "unknown ca", now, lim);
}

/* The entry for name in a snapshot (copied into *e); 0 or -1. */
static int
get(struct sl_learn *lt, const char *name, struct sl_learn_entry *e)
{
	struct sl_learn_entry *v;
	size_t n;
	int rc = -1;

	if (sl_learn_snapshot(lt, &v, &n, NULL) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0) {
			*e = v[i];
			rc = 0;
		}
	sl_free(v);
	return rc;
}

static size_t
count(struct sl_learn *lt)
{
	struct sl_learn_stats st;

	sl_learn_stats(lt, &st);
	return st.n;
}

T_TEST(learn_proposed_at_the_third_distinct_client)
{
	struct sl_learn *lt = sl_learn_new();
	struct sl_learn_entry e;

	T_ASSERT(lt != NULL);
	T_EQ(rec(lt, "Pinned.Example.TEST.", "10.1.0.2", 100, &lim3),
	    SL_LEARN_RECORDED);
	T_EQ(rec(lt, "pinned.example.test", "10.1.0.2", 101, &lim3),
	    SL_LEARN_RECORDED);
	T_EQ(rec(lt, "pinned.example.test", "10.1.0.3", 102, &lim3),
	    SL_LEARN_RECORDED);
	T_EQ(get(lt, "pinned.example.test", &e), 0);
	T_EQ(e.nclients, 2);
	T_ASSERT(!sl_learn_proposed(&e, 3));
	T_EQ(rec(lt, "pinned.example.test", "10.1.0.4", 103, &lim3),
	    SL_LEARN_PROPOSED);
	/* Said once: the 4th client is only counted. */
	T_EQ(rec(lt, "pinned.example.test", "10.1.0.5", 104, &lim3),
	    SL_LEARN_RECORDED);
	T_EQ(get(lt, "pinned.example.test", &e), 0);
	T_EQ(e.count, 5);
	T_EQ(e.first, 100);
	T_EQ(e.last, 104);
	T_STREQ(e.alert, "unknown ca");
	T_ASSERT(sl_learn_proposed(&e, 3));
	T_EQ(count(lt), 1);
	sl_learn_free(lt);
}

T_TEST(learn_client_set_is_bounded)
{
	struct sl_learn *lt = sl_learn_new();
	struct sl_learn_entry e;
	char a[32];

	T_ASSERT(lt != NULL);
	for (int i = 0; i < SL_LEARN_CLIENTS_MAX + 20; i++) {
		snprintf(a, sizeof(a), "10.1.%d.%d", i / 200, i % 200 + 1);
		rec(lt, "x.test", a, i, &lim3);
	}
	T_EQ(get(lt, "x.test", &e), 0);
	T_EQ(e.nclients, SL_LEARN_CLIENTS_MAX);
	T_EQ(e.count, SL_LEARN_CLIENTS_MAX + 20);
	sl_learn_free(lt);
}

T_TEST(learn_full_table_evicts_the_stalest_unproposed)
{
	struct sl_learn_limits lim = { 2, 3 };
	struct sl_learn *lt = sl_learn_new();
	struct sl_learn_entry e;
	struct sl_learn_stats st;

	T_ASSERT(lt != NULL);
	rec(lt, "a.test", "10.0.0.1", 10, &lim);
	rec(lt, "a.test", "10.0.0.2", 11, &lim);	/* proposed */
	rec(lt, "b.test", "10.0.0.1", 12, &lim);
	rec(lt, "c.test", "10.0.0.1", 13, &lim);
	T_EQ(rec(lt, "d.test", "10.0.0.1", 14, &lim), SL_LEARN_RECORDED);
	T_EQ(count(lt), 3);
	T_EQ(get(lt, "b.test", &e), -1);	/* stalest unproposed */
	T_EQ(get(lt, "a.test", &e), 0);		/* a proposal stays */
	T_EQ(get(lt, "c.test", &e), 0);
	sl_learn_stats(lt, &st);
	T_EQ(st.evicted, 1);
	sl_learn_free(lt);
}

T_TEST(learn_full_of_proposals_refuses_and_counts)
{
	struct sl_learn_limits lim = { 1, 2 };
	struct sl_learn *lt = sl_learn_new();
	struct sl_learn_stats st;

	T_ASSERT(lt != NULL);
	T_EQ(rec(lt, "a.test", "10.0.0.1", 1, &lim), SL_LEARN_PROPOSED);
	T_EQ(rec(lt, "b.test", "10.0.0.1", 2, &lim), SL_LEARN_PROPOSED);
	T_EQ(rec(lt, "c.test", "10.0.0.1", 3, &lim), SL_LEARN_FULL);
	T_EQ(rec(lt, "c.test", "10.0.0.2", 4, &lim), SL_LEARN_FULL);
	/* A known name is still counted in a full table. */
	T_EQ(rec(lt, "a.test", "10.0.0.2", 5, &lim), SL_LEARN_RECORDED);
	sl_learn_stats(lt, &st);
	T_EQ(st.n, 2);
	T_EQ(st.refused, 2);
	T_EQ(st.evicted, 0);
	sl_learn_free(lt);
}

T_TEST(learn_hostile_names_refused)
{
	static const char *const bad[] = { "", "a b.test", "a\"b.test",
		"a\\b.test", "\x01" "a.test", "a..test", ".a.test",
		"a.test\n", "<script>.test", "a;rm -rf.test",
		"exa\xc3\xa9mple.test" };
	struct sl_learn *lt = sl_learn_new();

	T_ASSERT(lt != NULL);
	for (size_t i = 0; i < SL_NELEM(bad); i++)
		T_CHECK(rec(lt, bad[i], "10.0.0.1", 1, &lim3) ==
		    SL_LEARN_BADNAME, "'%s' accepted", bad[i]);
	T_EQ(count(lt), 0);
	/* An address is a destination too, in canonical form. */
	T_EQ(rec(lt, "::ffff:10.2.0.3", "10.0.0.1", 1, &lim3),
	    SL_LEARN_RECORDED);
	T_EQ(count(lt), 1);
	{
		struct sl_learn_entry e;

		T_EQ(get(lt, "10.2.0.3", &e), 0);
	}
	sl_learn_free(lt);
}

T_TEST(learn_file_round_trip)
{
	struct sl_learn *lt = sl_learn_new();
	struct sl_learn_entry *v, *w;
	struct sl_ip a = ip("fd00:1::2");
	size_t n, m, skipped;
	char path[] = "/tmp/learn_test.XXXXXX", file[64], err[128];
	char *txt;
	int fd;

	T_ASSERT(lt != NULL);
	fd = mkstemp(path);
	T_ASSERT(fd != -1);
	close(fd);
	snprintf(file, sizeof(file), "%s", path);
	rec(lt, "b.test", "10.0.0.1", 1700000000, &lim3);
	/* An alert with quotes, a backslash and a newline: escaped. */
	sl_learn_record(lt, "a.test", &a, "bad \"cert\"\\\n", 1700000001,
	    &lim3);
	T_EQ(sl_learn_snapshot(lt, &v, &n, NULL), 0);
	T_EQ(n, 2);
	T_STREQ(v[0].name, "a.test");		/* sorted */
	T_EQ(sl_learn_write(file, v, n), 0);
	{
		struct stat sb;

		T_EQ(stat(file, &sb), 0);
		T_EQ(sb.st_mode & 0777, 0640);
	}
	T_EQ(sl_learn_read(file, &w, &m, &skipped, err, sizeof(err)), 0);
	T_EQ(m, 2);
	T_EQ(skipped, 0);
	T_STREQ(w[0].name, "a.test");
	T_STREQ(w[0].alert, "bad \"cert\"\\?");	/* control char: '?' */
	T_EQ(w[0].nclients, 1);
	T_ASSERT(sl_ip_equal(&w[0].clients[0], &a));
	T_EQ(w[1].first, 1700000000);
	T_EQ(w[1].count, 1);
	txt = sl_learn_dump(w, m);
	T_ASSERT(txt != NULL && strstr(txt, "\\\"cert\\\"") != NULL);
	sl_free(txt);
	sl_free(v);
	sl_free(w);
	unlink(file);
	/* A missing file is an empty list. */
	T_EQ(sl_learn_read(file, &w, &m, &skipped, err, sizeof(err)), 0);
	T_EQ(m, 0);
	sl_learn_free(lt);
}

T_TEST(learn_file_hostile_entries_skipped)
{
	static const char txt[] =
	    "{\"version\": 1, \"entries\": ["
	    "{\"name\": \"ok.test\", \"count\": 2, \"first\": 1, \"last\": 2,"
	    " \"alert\": \"x\\u0007y\", \"clients\": [\"10.0.0.1\", \"junk\","
	    " \"10.0.0.1\", 7]},"
	    "{\"name\": \"a\\u0000b.test\", \"count\": 1, \"first\": 1, "
	    "\"last\": 1},"
	    "{\"name\": \"rule x deny\\nrule y.test\", \"count\": 1, "
	    "\"first\": 1, \"last\": 1},"
	    "{\"name\": \"neg.test\", \"count\": -1, \"first\": 1, \"last\": 1},"
	    "{\"name\": \"ok.test\", \"count\": 9, \"first\": 1, \"last\": 1},"
	    "{\"name\": 5}, 3, \"str\"]}";
	struct sl_learn_entry *v;
	size_t n, skipped;
	char err[128];

	T_EQ(sl_learn_parse(txt, strlen(txt), &v, &n, &skipped, err,
	    sizeof(err)), 0);
	T_EQ(n, 1);
	T_EQ(skipped, 7);
	T_STREQ(v[0].name, "ok.test");
	T_STREQ(v[0].alert, "x?y");
	T_EQ(v[0].nclients, 1);		/* junk, duplicate, number dropped */
	sl_free(v);
	T_EQ(sl_learn_parse("[1,2]", 5, &v, &n, &skipped, err, sizeof(err)),
	    -1);
	T_EQ(sl_learn_parse("{\"version\": 2, \"entries\": []}", 29, &v, &n,
	    &skipped, err, sizeof(err)), -1);
	T_EQ(sl_learn_parse("{", 1, &v, &n, &skipped, err, sizeof(err)), -1);
}

T_TEST(learn_sync_drops_what_the_admin_removed)
{
	struct sl_learn *lt = sl_learn_new();
	struct sl_learn_entry *v, e;
	size_t n;
	uint64_t gen;

	T_ASSERT(lt != NULL);
	rec(lt, "gone.test", "10.0.0.1", 1, &lim3);
	rec(lt, "kept.test", "10.0.0.1", 1, &lim3);
	T_EQ(sl_learn_snapshot(lt, &v, &n, &gen), 0);
	T_EQ(n, 2);
	sl_learn_saved(lt, gen);			/* on disk */
	T_ASSERT(!sl_learn_dirty(lt));
	rec(lt, "new.test", "10.0.0.1", 2, &lim3);	/* not yet */
	T_ASSERT(sl_learn_dirty(lt));
	/* The admin forgot gone.test; the file gained file.test. */
	T_STREQ(v[0].name, "gone.test");
	memcpy(v[0].name, "file.test", sizeof("file.test"));
	v[0].clients[0] = ip("10.9.9.9");
	v[1].clients[0] = ip("10.0.0.7");
	T_EQ(sl_learn_sync(lt, v, n, 1), 0);
	T_EQ(get(lt, "gone.test", &e), -1);
	T_EQ(get(lt, "new.test", &e), 0);	/* recorded since: kept */
	T_EQ(get(lt, "file.test", &e), 0);
	T_EQ(get(lt, "kept.test", &e), 0);
	T_EQ(e.nclients, 2);			/* both sides' clients */
	T_EQ(sl_learn_forget(lt, "kept.test"), 0);
	T_EQ(sl_learn_forget(lt, "kept.test"), -1);
	T_EQ(count(lt), 2);
	sl_free(v);
	sl_learn_free(lt);
}

static struct sl_config *
conf(const char *text)
{
	struct sl_diags d;
	struct sl_config *cfg;

	sl_diags_init(&d);
	cfg = sl_config_load_buf("t.conf", text, strlen(text), NULL, 0, &d);
	sl_diags_free(&d);
	return cfg;
}

T_TEST(learn_guard_deny_and_place)
{
	struct sl_config *cfg = conf(
	    "rule d1 deny domain *.bad.test src 10.9.0.0/16\n"
	    "rule d2 deny url www.test/secret\n"
	    "rule dip deny ip 10.2.0.0/24\n"
	    "rule d3 deny port 25\n"
	    "rule off deny disabled domain off.test\n"
	    "rule sp splice domain vendor.test\n"
	    "rule in inspect domain *.corp.test\n"
	    "rule d4 deny domain late.corp.test\n"
	    "default inspect\n");
	struct sl_learn_place pl;

	T_ASSERT(cfg != NULL);
	sl_learn_place(sl_config_policy(cfg), "x.bad.test", &pl);
	T_STREQ(pl.deny, "d1");			/* for some clients: enough */
	sl_learn_place(sl_config_policy(cfg), "www.test", &pl);
	T_STREQ(pl.deny, "d2");			/* a url rule names it */
	sl_learn_place(sl_config_policy(cfg), "10.2.0.3", &pl);
	T_STREQ(pl.deny, "dip");
	sl_learn_place(sl_config_policy(cfg), "off.test", &pl);
	T_ASSERT(pl.deny == NULL);		/* disabled */
	T_ASSERT(pl.anchor == NULL);		/* at the end */
	T_ASSERT(pl.conflict == NULL);
	sl_learn_place(sl_config_policy(cfg), "a.corp.test", &pl);
	T_ASSERT(pl.deny == NULL);
	T_STREQ(pl.anchor, "in");		/* after d3 and dip */
	T_ASSERT(pl.conflict == NULL);
	sl_learn_place(sl_config_policy(cfg), "late.corp.test", &pl);
	T_STREQ(pl.deny, "d4");
	T_STREQ(pl.conflict, "in");
	T_STREQ(pl.conflict_deny, "d4");
	sl_config_unref(cfg);
}

T_TEST(learn_place_never_jumps_an_unnamed_deny)
{
	/* Inspect for one name before a port deny: the splice would have
	 * to come before "in" and so before d, which may apply. */
	struct sl_config *cfg = conf(
	    "rule in inspect domain pin.test\n"
	    "rule d deny port 8443\n"
	    "default inspect\n");
	struct sl_learn_place pl;

	T_ASSERT(cfg != NULL);
	sl_learn_place(sl_config_policy(cfg), "pin.test", &pl);
	T_ASSERT(pl.deny == NULL);
	T_STREQ(pl.conflict, "in");
	T_STREQ(pl.conflict_deny, "d");
	sl_config_unref(cfg);
}

static struct sl_learn *mt_lt;

static void *
mt_worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	char a[32], name[32];

	for (int i = 0; i < 2000; i++) {
		snprintf(a, sizeof(a), "10.%d.0.%d", id, i % 50 + 1);
		snprintf(name, sizeof(name), "n%d.test", i % 100);
		rec(mt_lt, name, a, i, &lim3);
	}
	return NULL;
}

T_TEST(learn_records_from_many_threads)
{
	pthread_t th[4];
	struct sl_learn_entry *v;
	uint64_t total = 0;
	size_t n;

	mt_lt = sl_learn_new();
	T_ASSERT(mt_lt != NULL);
	for (intptr_t i = 0; i < 4; i++)
		T_EQ(pthread_create(&th[i], NULL, mt_worker, (void *)i), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	T_EQ(sl_learn_snapshot(mt_lt, &v, &n, NULL), 0);
	T_EQ(n, 100);
	for (size_t i = 0; i < n; i++)
		total += v[i].count;
	T_EQ(total, 8000);
	sl_free(v);
	sl_learn_free(mt_lt);
}

T_TEST(learn_sync_never_brings_back_an_evicted_entry)
{
	struct sl_learn_limits lim = { 3, 2 };
	struct sl_learn *lt = sl_learn_new();
	struct sl_learn_entry *v, e;
	size_t n;
	uint64_t gen;

	T_ASSERT(lt != NULL);
	/* Same second: the older change is the staler one. */
	rec(lt, "a.test", "10.0.0.1", 5, &lim);
	rec(lt, "b.test", "10.0.0.1", 5, &lim);
	T_EQ(sl_learn_snapshot(lt, &v, &n, &gen), 0);	/* the file: a, b */
	T_EQ(n, 2);
	sl_learn_saved(lt, gen);
	T_EQ(rec(lt, "c.test", "10.0.0.1", 5, &lim), SL_LEARN_RECORDED);
	T_EQ(get(lt, "a.test", &e), -1);
	T_EQ(sl_learn_sync(lt, v, n, 0), 0);	/* the next save reads a, b */
	T_EQ(get(lt, "a.test", &e), -1);
	T_EQ(count(lt), 2);
	sl_free(v);
	sl_learn_free(lt);
}
