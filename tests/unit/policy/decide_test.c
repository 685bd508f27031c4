/*
 * decide_test.c — the decision semantics: first match, staged facts and
 * `need`, guard rails, flags and modifiers, hit counters and reload.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "tests/unit/t.h"

/* text as if read from file (includes resolve next to it). */
static struct sl_config *
load_as(const char *file, const char *text)
{
	struct sl_diags d;
	struct sl_config *cfg;

	sl_diags_init(&d);
	cfg = sl_config_load_buf(file, text, strlen(text), NULL, 0, &d);
	if (cfg == NULL)
		sl_diags_print(&d, stdout);
	sl_diags_free(&d);
	return cfg;
}

static struct sl_config *
load(const char *text)
{
	return load_as("t.conf", text);
}

/* Facts with everything known and absent; port 443/tcp. */
static void
facts(struct sl_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->known = SL_FACT_ALL;
	f->proto = IPPROTO_TCP;
	f->port = 443;
	sl_ip_parse(&f->src, "10.0.0.5");
}

static void
dst(struct sl_facts *f, const char *ip)
{
	sl_ip_parse(&f->dst, ip);
}

static const char *const staged =
    "rule ipr splice ip 192.0.2.0/24\n"
    "rule dom inspect domain *.example.test\n"
    "rule web splice noauth url www.example.test/app/\n"
    "default deny\n";

T_TEST(decide_first_match_wins_in_file_order)
{
	struct sl_config *cfg = load(
	    "rule a deny domain x.test\n"
	    "rule b splice domain x.test,y.test\n"
	    "rule c inspect\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.name = "y.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "b");
	T_EQ(d.action, SL_ACT_SPLICE);
	T_EQ(d.rule_index, 1);
	T_EQ(d.need, 0);
	f.name = "x.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "a");
	f.name = "z.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "c");
	sl_config_unref(cfg);
}

T_TEST(decide_no_default_statement_denies)
{
	struct sl_config *cfg = load("rule a splice domain a.test\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.name = "b.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.action, SL_ACT_DENY);
	T_EQ(d.flags, SL_DEC_DEFAULT);
	T_STREQ(d.rule_name, "default");
	T_ASSERT(d.rule == NULL);
	T_EQ(d.rule_index, UINT32_MAX);
	sl_config_unref(cfg);
}

T_TEST(decide_wildcard_any_depth_not_apex)
{
	struct sl_config *cfg = load("rule w splice domain *.example.test\n"
	    "default inspect\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.name = "a.b.c.example.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "w");
	f.name = "example.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	f.name = "badexample.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	/* Case and one trailing dot do not matter. */
	f.name = "WWW.Example.TEST.";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "w");
	sl_config_unref(cfg);
}

T_TEST(decide_unknown_ip_before_domain_rule_is_tentative)
{
	struct sl_config *cfg = load(staged);
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_NAME;		/* CONNECT by name, nothing else */
	f.name = "www.example.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "dom");
	T_EQ(d.action, SL_ACT_INSPECT);
	T_EQ(d.need, SL_FACT_DST_IP);
	/* Resolved outside the CIDR: now final. */
	f.known |= SL_FACT_DST_IP;
	dst(&f, "198.51.100.1");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "dom");
	T_EQ(d.need, 0);
	/* Resolved into the whitelisted CIDR: the ip rule wins. */
	dst(&f, "192.0.2.9");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "ipr");
	T_EQ(d.action, SL_ACT_SPLICE);
	T_EQ(d.need, 0);
	sl_config_unref(cfg);
}

T_TEST(decide_url_rule_after_winner_needs_nothing)
{
	struct sl_config *cfg = load(staged);
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_NAME | SL_FACT_DST_IP;
	f.name = "other.test";
	dst(&f, "198.51.100.1");
	/* Nothing matched, and the url rule's host cannot be other.test's
	 * url: default, final (issue 13). */
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	T_EQ(d.need, 0);
	/* www.example.test matches `dom` first: the url rule is later. */
	f.name = "www.example.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "dom");
	T_EQ(d.need, 0);
	sl_config_unref(cfg);
}

T_TEST(decide_known_absent_fact_does_not_match)
{
	struct sl_config *cfg = load(staged);
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);		/* everything known, nothing present */
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	T_EQ(d.need, 0);
	/* url known: plain HTTP request to the path. */
	f.url_host = "www.example.test";
	f.url_path = "/app/x?y=1";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "web");
	T_EQ(d.mods, SL_MOD_NOAUTH);
	f.url_path = "/App/x";		/* paths are case-sensitive */
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	sl_config_unref(cfg);
}

T_TEST(decide_known_mismatch_beats_unknown_in_same_rule)
{
	struct sl_config *cfg = load(
	    "rule both splice domain a.test ip 192.0.2.0/24\n"
	    "rule rest inspect\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_NAME;
	f.name = "b.test";	/* domain fails: ip no longer matters */
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "rest");
	T_EQ(d.need, 0);
	f.name = "a.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "rest");
	T_EQ(d.need, SL_FACT_DST_IP);
	sl_config_unref(cfg);
}

T_TEST(decide_need_is_union_of_earlier_undetermined)
{
	struct sl_config *cfg = load(
	    "rule u deny user alice\n"
	    "rule g deny country XX\n"
	    "rule p splice port 443\n"
	    "rule n deny domain late.test\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_NAME | SL_FACT_DST_IP;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "p");
	T_EQ(d.need, SL_FACT_USER | SL_FACT_GEO);
	f.known |= SL_FACT_USER;
	f.user = "alice";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "u");
	T_EQ(d.need, 0);
	sl_config_unref(cfg);
}

T_TEST(decide_ports_and_protocols)
{
	struct sl_config *cfg = load(
	    "rule t splice port 80,12000-12002\n"
	    "rule u splice port udp/3478,udp/5349-5350\n"
	    "default deny\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.port = 12001;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "t");
	T_EQ(d.flags, SL_DEC_PORT_EXPLICIT);
	f.port = 12003;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	f.port = 3478;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");	/* tcp/3478 not listed */
	f.proto = IPPROTO_UDP;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "u");
	f.port = 5350;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "u");
	f.port = 80;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");	/* udp/80 is not tcp/80 */
	sl_config_unref(cfg);
}

T_TEST(decide_src_and_ipv6)
{
	struct sl_config *cfg = load(
	    "rule lab deny src 10.9.0.0/16\n"
	    "rule v6 splice ip 2001:db8:1::/48\n"
	    "default inspect\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	dst(&f, "2001:db8:1:ffff::1");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "v6");
	dst(&f, "2001:db8:2::1");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	sl_ip_parse(&f.src, "10.9.3.3");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "lab");
	sl_config_unref(cfg);
}

T_TEST(decide_disabled_rule_never_matches)
{
	struct sl_config *cfg = load("rule off splice disabled port 443\n"
	    "rule on inspect port 443\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "on");
	T_EQ(d.rule_index, 1);
	T_ASSERT(sl_rule_disabled(sl_policy_rule(sl_config_policy(cfg), 0)));
	sl_config_unref(cfg);
}

T_TEST(decide_sni_check_follows_setting_and_modifiers)
{
	struct sl_config *cfg = load(
	    "rule a splice domain a.test\n"
	    "rule b splice no-sni-check domain b.test\n"
	    "rule c splice ip 192.0.2.1\n");
	struct sl_config *off = load("set sni-check off\n"
	    "rule a splice domain a.test\n"
	    "rule s splice sni-check domain s.test\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL && off != NULL);
	facts(&f);
	f.name = "a.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.mods, SL_MOD_SNI_CHECK);
	T_EQ(d.flags, SL_DEC_BY_NAME);
	f.name = "b.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.mods, 0);
	f.name = NULL;
	dst(&f, "192.0.2.1");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "c");
	T_EQ(d.mods, 0);	/* not a domain rule */
	T_EQ(d.flags, 0);
	memset(&f.dst, 0, sizeof(f.dst));
	f.name = "a.test";
	sl_policy_decide(sl_config_policy(off), &f, &d);
	T_EQ(d.mods, 0);
	f.name = "s.test";
	sl_policy_decide(sl_config_policy(off), &f, &d);
	T_EQ(d.mods, SL_MOD_SNI_CHECK);
	sl_config_unref(cfg);
	sl_config_unref(off);
}

T_TEST(decide_guard_loopback_unless_named)
{
	struct sl_config *cfg = load(
	    "rule any splice ip 0.0.0.0/0\n");
	struct sl_config *named = load(
	    "rule lo splice ip 127.0.0.0/8 port 8080\n"
	    "rule any splice ip 0.0.0.0/0\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL && named != NULL);
	facts(&f);
	dst(&f, "127.0.0.1");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.action, SL_ACT_DENY);
	T_EQ(d.flags, SL_DEC_GUARD);
	T_STREQ(d.rule_name, "guard:loopback");
	T_STREQ(d.reason, "loopback");
	T_ASSERT(d.rule == NULL);
	f.port = 8080;
	sl_policy_decide(sl_config_policy(named), &f, &d);
	T_EQ(d.action, SL_ACT_SPLICE);
	T_STREQ(d.rule_name, "lo");
	f.port = 443;	/* `any` matches first but does not name it */
	sl_policy_decide(sl_config_policy(named), &f, &d);
	T_STREQ(d.rule_name, "guard:loopback");
	sl_config_unref(cfg);
	sl_config_unref(named);
}

T_TEST(decide_guard_every_range)
{
	static const struct {
		const char *ip, *rule;
	} cases[] = {
		{ "169.254.169.254", "guard:link-local" },
		{ "0.0.0.0", "guard:unspecified" },
		{ "0.1.2.3", "guard:unspecified" },
		{ "224.0.0.1", "guard:multicast" },
		{ "239.255.255.250", "guard:multicast" },
		{ "255.255.255.255", "guard:broadcast" },
		{ "::1", "guard:loopback" },
		{ "::", "guard:unspecified" },
		{ "fe80::1", "guard:link-local" },
		{ "ff02::1", "guard:multicast" },
		{ "::ffff:127.0.0.2", "guard:loopback" },
	};
	struct sl_config *cfg = load("rule any splice\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		facts(&f);
		dst(&f, cases[i].ip);
		sl_policy_decide(sl_config_policy(cfg), &f, &d);
		T_CHECK(strcmp(d.rule_name, cases[i].rule) == 0,
		    "%s: got %s", cases[i].ip, d.rule_name);
		T_EQ(d.action, SL_ACT_DENY);
	}
	facts(&f);
	dst(&f, "192.0.2.1");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "any");
	/* Not applied while dst is unknown. */
	facts(&f);
	f.known &= ~(unsigned)SL_FACT_DST_IP;
	dst(&f, "127.0.0.1");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "any");
	sl_config_unref(cfg);
}

/*
 * A decision made by name alone, that did not need the address, meets
 * only the guard rails when the address arrives: sl_policy_guard gives
 * what deciding again would, for any address, without a second hit.
 */
T_TEST(decide_guard_on_a_name_decision_equals_deciding_again)
{
	static const char *const addrs[] = {
	    "192.0.2.7", "127.0.0.1", "169.254.169.254", "::1", "fe80::1",
	    "2001:db8::1", "0.0.0.0", "10.0.0.8",
	};
	struct sl_config *cfg = load(
	    "rule name splice domain a.test\n"
	    "rule lo inspect domain lo.test ip 127.0.0.0/8\n"
	    "default deny\n");
	struct sl_decision byname, guarded, again;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		facts(&f);
		f.known &= ~(unsigned)SL_FACT_DST_IP;
		f.name = "a.test";
		sl_policy_decide(sl_config_policy(cfg), &f, &byname);
		T_STREQ(byname.rule_name, "name");
		T_EQ(byname.need & SL_FACT_DST_IP, 0);
		f.known |= SL_FACT_DST_IP;
		dst(&f, addrs[i]);
		f.dst_local = strcmp(addrs[i], "10.0.0.8") == 0;
		guarded = byname;
		sl_policy_guard(sl_config_policy(cfg), &f, &guarded);
		sl_policy_decide(sl_config_policy(cfg), &f, &again);
		T_CHECK(strcmp(guarded.rule_name, again.rule_name) == 0 &&
		    guarded.action == again.action &&
		    guarded.flags == again.flags, "%s: guard %s, decide %s",
		    addrs[i], guarded.rule_name, again.rule_name);
	}
	/* A rule that names the guarded range keeps its decision. */
	facts(&f);
	f.name = "lo.test";
	dst(&f, "127.0.0.1");
	sl_policy_decide(sl_config_policy(cfg), &f, &again);
	T_STREQ(again.rule_name, "lo");
	guarded = again;
	sl_policy_guard(sl_config_policy(cfg), &f, &guarded);
	T_STREQ(guarded.rule_name, "lo");
	T_EQ(guarded.action, SL_ACT_INSPECT);
	/* Counted once: the guard is no second decision. */
	{
		const struct sl_rule *r = sl_policy_rule(sl_config_policy(cfg),
		    0);
		uint64_t hits = sl_rule_hits(r);

		facts(&f);
		f.known &= ~(unsigned)SL_FACT_DST_IP;
		f.name = "a.test";
		sl_policy_decide(sl_config_policy(cfg), &f, &byname);
		f.known |= SL_FACT_DST_IP;
		dst(&f, "192.0.2.7");
		sl_policy_guard(sl_config_policy(cfg), &f, &byname);
		T_EQ(sl_rule_hits(r), hits + 1);
	}
	sl_config_unref(cfg);
}

T_TEST(decide_guard_local_needs_exact_address)
{
	struct sl_config *cfg = load(
	    "rule net splice ip 192.0.2.0/24 port 80\n"
	    "rule host splice ip 192.0.2.10 port 81\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	dst(&f, "192.0.2.10");
	f.dst_local = 1;
	f.port = 80;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "guard:local");
	T_STREQ(d.reason, "local");
	f.port = 81;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "host");
	f.dst_local = 0;
	f.port = 80;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "net");
	sl_config_unref(cfg);
}

T_TEST(decide_hits_only_on_final_and_inherit_by_name)
{
	struct sl_config *a = load(staged), *b;
	const struct sl_policy *pa;
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(a != NULL);
	pa = sl_config_policy(a);
	facts(&f);
	f.known = SL_FACT_NAME;
	f.name = "www.example.test";
	sl_policy_decide(pa, &f, &d);		/* tentative: no hit */
	T_EQ(sl_rule_hits(sl_policy_rule(pa, 1)), 0);
	f.known = SL_FACT_ALL;
	sl_policy_decide(pa, &f, &d);
	sl_policy_decide(pa, &f, &d);
	T_EQ(sl_rule_hits(sl_policy_rule(pa, 1)), 2);
	dst(&f, "127.0.0.1");			/* guard: no rule hit */
	sl_policy_decide(pa, &f, &d);
	T_EQ(sl_rule_hits(sl_policy_rule(pa, 1)), 2);
	/* New policy: `dom` moved to index 0; counts follow the name. */
	b = load("rule dom inspect domain *.example.test\n"
	    "rule ipr splice ip 192.0.2.0/24\n"
	    "rule fresh deny\n");
	T_ASSERT(b != NULL);
	sl_policy_inherit_hits(sl_config_policy(b), pa);
	T_EQ(sl_rule_hits(sl_policy_rule(sl_config_policy(b), 0)), 2);
	T_EQ(sl_rule_hits(sl_policy_rule(sl_config_policy(b), 2)), 0);
	sl_config_unref(a);
	sl_config_unref(b);
}

T_TEST(decide_explain_names_rule_and_skips)
{
	struct sl_config *cfg = load(staged);
	struct sl_facts f;
	char *s;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_NAME;
	f.name = "www.example.test";
	s = sl_policy_explain(sl_config_policy(cfg), &f);
	T_ASSERT(s != NULL);
	T_STREQ(s, "decision: inspect (sni-check)\n"
	    "rule: dom at t.conf:2\n"
	    "final: no, still needed: ip (an earlier rule depends on it)\n"
	    "skipped:\n"
	    "  ipr at t.conf:1: undetermined, needs ip\n");
	sl_free(s);
	sl_config_unref(cfg);
}

/* Issue 12 item 9: the path has a second reading, ';' parameters removed
 * (Tomcat: "/x/..;/secret" is "/secret"). */
static const char *const readings =
    "rule pub splice noauth url www.example.test/x/\n"
    "rule no-secret deny url www.example.test/secret\n"
    "rule no-semi deny url www.example.test/a;b\n"
    "default inspect\n";

static const char *
decide_url(const struct sl_config *cfg, const char *path, const char *np)
{
	static struct sl_decision d;
	struct sl_facts f;

	facts(&f);
	f.url_host = "www.example.test";
	f.url_path = path;
	f.url_path_noparam = np;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	return d.rule_name;
}

T_TEST(decide_url_deny_holds_under_either_reading)
{
	struct sl_config *cfg = load(readings);

	T_ASSERT(cfg != NULL);
	/* Only the reading without parameters is /secret. */
	T_STREQ(decide_url(cfg, "/x/..;/secret", "/secret"), "no-secret");
	T_STREQ(decide_url(cfg, "/;/secret", "/secret"), "no-secret");
	T_STREQ(decide_url(cfg, "/.;/secret", "/secret"), "no-secret");
	/* Only the first reading has the ';' the rule names. */
	T_STREQ(decide_url(cfg, "/a;b/c", "/a/c"), "no-semi");
	T_STREQ(decide_url(cfg, "/elsewhere", "/elsewhere"), "default");
	sl_config_unref(cfg);
}

T_TEST(decide_url_allow_needs_both_readings)
{
	struct sl_config *cfg = load(readings);

	T_ASSERT(cfg != NULL);
	T_STREQ(decide_url(cfg, "/x/a;v=1/b", "/x/a/b"), "pub");
	T_STREQ(decide_url(cfg, "/x/page;jsessionid=1", "/x/page"), "pub");
	/* Under /x/ for nginx, not for Tomcat: the splice rule does not
	 * match, and the flow meets the rules after it. */
	T_STREQ(decide_url(cfg, "/x/..;/secret", "/secret"), "no-secret");
	T_STREQ(decide_url(cfg, "/x/..;/y", "/y"), "default");
	/* Under /x/ for Tomcat only. */
	T_STREQ(decide_url(cfg, "/x;v=1/y", "/x/y"), "default");
	sl_config_unref(cfg);
}

T_TEST(decide_url_without_second_reading_is_the_first)
{
	struct sl_config *cfg = load(readings);

	T_ASSERT(cfg != NULL);
	T_STREQ(decide_url(cfg, "/x/..;/secret", NULL), "pub");
	T_STREQ(decide_url(cfg, "/;/secret", NULL), "default");
	sl_config_unref(cfg);
}

T_TEST(decide_url_explain_names_both_readings)
{
	struct sl_config *cfg = load(readings);
	struct sl_facts f;
	char *s;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.url_host = "www.example.test";
	f.url_path = "/x;v=1/y";
	f.url_path_noparam = "/x/y";
	s = sl_policy_explain(sl_config_policy(cfg), &f);
	T_ASSERT(s != NULL);
	T_CHECK(strstr(s, "pub at t.conf:1: url: 'www.example.test/x;v=1/y' "
	    "and '/x/y' (';' parameters removed) are not both listed") != NULL,
	    "%s", s);
	T_CHECK(strstr(s, "no-secret at t.conf:2: url: neither "
	    "'www.example.test/x;v=1/y' nor '/x/y'") != NULL, "%s", s);
	sl_free(s);
	sl_config_unref(cfg);
}

/*
 * Issue 13: a url rule whose host cannot be the url's host (for plain
 * HTTP the authority, which is the flow's name; inspected, a Host that
 * must be the SNI or is decided as a claimed name) drops out at the name
 * step: it keeps no decision waiting for the url.
 */
static const char *const issue13 =
    "rule x deny url other.example/secret/\n"
    "rule wl splice noauth domain *.vistime.example\n"
    "default inspect\n";

T_TEST(decide_url_rule_for_another_host_needs_no_url_issue13)
{
	struct sl_config *cfg = load(issue13);
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_ALL & ~(unsigned)SL_FACT_URL;	/* a CONNECT */
	f.name = "www.vistime.example";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "wl");
	T_EQ(d.action, SL_ACT_SPLICE);
	T_EQ(d.mods, SL_MOD_NOAUTH | SL_MOD_SNI_CHECK);
	T_EQ(d.need, 0);
	/* Before DNS too: no rule waits for the address either. */
	f.known = SL_FACT_NAME;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "wl");
	T_EQ(d.need, 0);
	/* The url rule's own host still waits for the url ... */
	f.name = "other.example";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	T_EQ(d.need, SL_FACT_URL);
	/* ... and decides once it is known. */
	facts(&f);
	f.name = "other.example";
	f.url_host = "other.example";
	f.url_path = "/secret/x";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "x");
	T_EQ(d.action, SL_ACT_DENY);
	/* Plain HTTP to the vendor: the url is known, the rule is out. */
	f.name = "www.vistime.example";
	f.url_host = "www.vistime.example";
	f.url_path = "/secret/x";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "wl");
	T_EQ(d.need, 0);
	sl_config_unref(cfg);
}

T_TEST(decide_url_rule_out_at_name_step_in_explain_issue13)
{
	struct sl_config *cfg = load(issue13);
	struct sl_trace_step st[4];
	struct sl_decision d;
	struct sl_facts f;
	size_t n, total;
	char *s;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_NAME;
	f.name = "www.vistime.example";
	n = sl_policy_trace(sl_config_policy(cfg), &f, &d, st, 4, &total);
	T_EQ(n, 2);
	T_EQ(st[0].state, SL_TRACE_NOMATCH);
	T_EQ(st[0].need, 0);
	T_STREQ(st[0].why, "url: host 'www.vistime.example' (the name) is "
	    "not listed");
	T_EQ(st[1].state, SL_TRACE_MATCH);
	T_EQ(d.need, 0);
	s = sl_policy_explain(sl_config_policy(cfg), &f);
	T_ASSERT(s != NULL);
	T_STREQ(s, "decision: splice (noauth sni-check)\n"
	    "rule: wl at t.conf:2\n"
	    "final: yes\n"
	    "skipped:\n"
	    "  x at t.conf:1: url: host 'www.vistime.example' (the name) is "
	    "not listed\n");
	sl_free(s);
	sl_config_unref(cfg);
}

/* How the host part meets the name: wildcards, and a domain matcher in
 * the same rule (the url's host is the name, so both must hold). */
T_TEST(decide_url_host_at_name_step_wildcard_and_domain)
{
	static const struct {
		const char *name;
		unsigned need;
	} cases[] = {
		{ "x.a.test", SL_FACT_URL },	/* *.a.test */
		{ "y.x.a.test", SL_FACT_URL },	/* any depth */
		{ "a.test", 0 },		/* not the apex */
		{ "xa.test", 0 },
		{ "b.test", SL_FACT_URL },	/* domain and url agree */
		{ "c.test", 0 },		/* url host d.test never c.test */
		{ "d.test", 0 },		/* domain c.test fails */
		{ "B.TEST.", SL_FACT_URL },	/* case, trailing dot */
		{ "a..test", 0 },		/* no host name: no url host */
	};
	struct sl_config *cfg = load(
	    "rule w deny url *.a.test/p/\n"
	    "rule both deny domain b.test url b.test/p/\n"
	    "rule never deny domain c.test url d.test/p/\n"
	    "default splice\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		facts(&f);
		f.known = SL_FACT_ALL & ~(unsigned)SL_FACT_URL;
		f.name = cases[i].name;
		sl_policy_decide(sl_config_policy(cfg), &f, &d);
		T_CHECK(d.need == cases[i].need && d.rule_index == UINT32_MAX,
		    "%s: need %#x rule %s", cases[i].name, d.need,
		    d.rule_name);
	}
	/* The name not known yet: every url rule waits. */
	facts(&f);
	f.known = SL_FACT_DST_IP;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.need, SL_FACT_NAME | SL_FACT_URL);
	sl_config_unref(cfg);
}

/*
 * A flow without a name (a CONNECT to an address): a plain HTTP request
 * to an address has that address as its url host, so only a url rule
 * written with that address waits for the url.
 */
T_TEST(decide_url_host_at_name_step_address_only_flow)
{
	struct sl_config *cfg = load(
	    "rule lit deny url 192.0.2.7/admin/\n"
	    "rule named deny url www.example.test/admin/\n"
	    "default splice\n");
	struct sl_decision d;
	struct sl_facts f;
	char *s;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_ALL & ~(unsigned)SL_FACT_URL;
	dst(&f, "192.0.2.7");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	T_EQ(d.need, SL_FACT_URL);
	dst(&f, "192.0.2.8");
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.need, 0);
	s = sl_policy_explain(sl_config_policy(cfg), &f);
	T_ASSERT(s != NULL);
	T_CHECK(strstr(s, "lit at t.conf:1: url: host '192.0.2.8' (the "
	    "address) is not listed\n") != NULL, "%s", s);
	sl_free(s);
	/* No name and no address: no url host at all. */
	memset(&f.dst, 0, sizeof(f.dst));
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.need, 0);
	/* No name, the address not known yet: the url rules wait. */
	f.known &= ~(unsigned)SL_FACT_DST_IP;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.need, SL_FACT_URL);
	/* A name: only the rule for that name waits. */
	f.known |= SL_FACT_DST_IP;
	dst(&f, "192.0.2.7");
	f.name = "www.example.test";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.need, SL_FACT_URL);
	f.name = "www.example.org";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_EQ(d.need, 0);
	sl_config_unref(cfg);
}

/*
 * Issue 13 as found: the shipped profiles, flexperto at `should` level and
 * vistime.  A CONNECT to vistime.com waited for the url on flexperto's
 * path rules (ajax.googleapis.com, www.google.com, www.gstatic.com):
 * inspected (inspect_unavailable today) instead of spliced.  Policy only:
 * no flow goes anywhere.
 */
static struct sl_config *
load_vendors(void)
{
	static const char text[] =
	    "include \"profiles/flexperto.conf\" level should\n"
	    "include \"profiles/vistime.conf\"\n"
	    "default inspect\n";

	/* Named as if in policy/: the includes are the shipped files. */
	return load_as("policy/main.conf", text);
}

T_TEST(decide_shipped_profiles_vistime_needs_no_url_issue13)
{
	static const char *const names[] = {
	    "vistime.com", "www.vistime.com", "a.b.vistime.com",
	};
	struct sl_config *cfg = load_vendors();
	const struct sl_policy *pol;
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	pol = sl_config_policy(cfg);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* CONNECT by name, before DNS: flexperto's ip rules wait
		 * for the address, its path rules no longer for the url. */
		facts(&f);
		f.known = SL_FACT_ALL & ~(unsigned)(SL_FACT_URL |
		    SL_FACT_DST_IP);
		f.name = names[i];
		sl_policy_decide(pol, &f, &d);
		T_CHECK(d.action == SL_ACT_SPLICE && d.need == SL_FACT_DST_IP &&
		    strncmp(d.rule_name, "vistime-", 8) == 0,
		    "%s: %s by %s need %#x", names[i],
		    sl_action_name(d.action), d.rule_name, d.need);
		/* Resolved outside flexperto's ranges: final. */
		f.known |= SL_FACT_DST_IP;
		dst(&f, "198.51.100.20");
		sl_policy_decide(pol, &f, &d);
		T_CHECK(d.action == SL_ACT_SPLICE && d.need == 0 &&
		    (d.mods & SL_MOD_NOAUTH), "%s: %s by %s need %#x",
		    names[i], sl_action_name(d.action), d.rule_name, d.need);
	}
	sl_config_unref(cfg);
}

T_TEST(decide_shipped_profiles_vistime_explain_issue13)
{
	struct sl_config *cfg = load_vendors();
	struct sl_facts f;
	char *s;

	T_ASSERT(cfg != NULL);
	facts(&f);
	f.known = SL_FACT_ALL & ~(unsigned)(SL_FACT_URL | SL_FACT_DST_IP);
	f.name = "vistime.com";
	s = sl_policy_explain(sl_config_policy(cfg), &f);
	T_ASSERT(s != NULL);
	T_CHECK(strstr(s, "decision: splice (noauth sni-check)\n"
	    "rule: vistime-vistime.com at policy/profiles/vistime.conf:15\n")
	    == s, "%s", s);
	T_CHECK(strstr(s, "final: no, still needed: ip (an earlier rule "
	    "depends on it)\n") != NULL, "%s", s);
	T_CHECK(strstr(s, "needs url") == NULL, "%s", s);
	T_CHECK(strstr(s, "flexperto-url-ajax.googleapis.com_ajax_libs_jquery "
	    "at policy/profiles/flexperto.conf:61: url: host 'vistime.com' "
	    "(the name) is not listed\n") != NULL, "%s", s);
	sl_free(s);
	sl_config_unref(cfg);
}

/*
 * UDP (issue 14): a `port udp/N` matcher matches only UDP, a bare port
 * only TCP, and `stun-only` is carried in the decision for the forwarder.
 */
T_TEST(decide_udp_port_and_stun_only)
{
	struct sl_config *cfg = load(
	    "rule turn splice stun-only ip 192.0.2.10 port udp/3478\n"
	    "rule tcp3478 deny ip 192.0.2.10 port 3478\n"
	    "default inspect\n");
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	facts(&f);
	dst(&f, "192.0.2.10");
	f.port = 3478;
	f.proto = IPPROTO_UDP;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "turn");
	T_EQ(d.action, SL_ACT_SPLICE);
	T_EQ(d.mods, SL_MOD_STUN_ONLY);
	f.proto = IPPROTO_TCP;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "tcp3478");
	f.proto = IPPROTO_UDP;
	f.port = 3479;
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	T_EQ(d.action, SL_ACT_INSPECT);
	sl_config_unref(cfg);
}
