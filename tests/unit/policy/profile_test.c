/*
 * profile_test.c — the vendor profiles: regenerating them from the
 * requirement documents gives the committed files byte for byte, and for
 * every entry of both documents a representative flow gets the expected
 * decision (rule, action, noauth); everything else gets the default.
 * Decisions only: no traffic goes anywhere.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "policy/edit.h"
#include "tests/unit/t.h"

#define FX_DOC	"policy/requirements/000_75c6ec10c2d525c2.txt"
#define VT_DOC	"policy/requirements/004_373a67736ee8faf4.txt"

static int
regen_equal(const char *vendor, const char *docpath, const char *conf,
    const char *listpath)
{
	struct sl_profile_out p;
	const char *doc = strrchr(docpath, '/') + 1;
	size_t len;
	char *text = t_slurp(docpath, &len), *want, *wlist = NULL;
	int ok;

	if (text == NULL || sl_profile_generate(vendor, doc, text, len, &p))
		return 0;
	want = t_slurp(conf, NULL);
	if (listpath != NULL)
		wlist = t_slurp(listpath, NULL);
	ok = want != NULL && strcmp(want, p.profile) == 0 &&
	    (listpath == NULL ? p.list_name == NULL :
	    wlist != NULL && p.list_text != NULL &&
	    strcmp(wlist, p.list_text) == 0);
	if (!ok)
		printf("# %s differs from a fresh generation: run\n#   "
		    "sluicectl profile generate -o %s %s %s\n", conf, conf,
		    vendor, docpath);
	free(text);
	free(want);
	free(wlist);
	sl_profile_out_free(&p);
	return ok;
}

T_TEST(profile_regeneration_is_byte_identical)
{
	T_ASSERT(regen_equal("flexperto", FX_DOC,
	    "policy/profiles/flexperto.conf",
	    "policy/profiles/flexperto-tokbox-whitelist.list"));
	T_ASSERT(regen_equal("vistime", VT_DOC, "policy/profiles/vistime.conf",
	    NULL));
}

T_TEST(profile_report_says_what_it_did)
{
	struct sl_profile_out p;
	size_t len;
	char *text = t_slurp(FX_DOC, &len);

	T_ASSERT(text != NULL);
	T_EQ(sl_profile_generate("flexperto", "000_75c6ec10c2d525c2.txt",
	    text, len, &p), 0);
	/* Duplicates kept once, mangled wildcards, the calendar IPs. */
	T_ASSERT(strstr(p.report, "line 81: 'fast.appcues.com' repeats line "
	    "80: kept once") != NULL);
	T_ASSERT(strstr(p.report, "line 48: '..flexperto.com' -> "
	    "'*.flexperto.com'") != NULL);
	T_ASSERT(strstr(p.report, "line 49: '..*.flexperto.com' -> "
	    "'*.flexperto.com'") != NULL);
	T_ASSERT(strstr(p.report, "line 92: 54.93.34.174: a source the "
	    "vendor's calendar partner") != NULL);
	T_ASSERT(strstr(p.report, "line 94: 3.122.2.191") != NULL);
	T_ASSERT(strstr(p.report, "line 30: ports tcp+udp 5349") != NULL);
	T_STREQ(p.list_name, "flexperto-tokbox-whitelist");
	/* One rule per distinct entry: 5 IPs + 1 list + 24 domains + 3
	 * paths, minus the three duplicates. */
	{
		size_t rules = 0;

		for (const char *s = p.profile; (s = strstr(s, "\nrule ")) !=
		    NULL; s++)
			rules++;
		T_EQ(rules, 33);
	}
	sl_profile_out_free(&p);
	free(text);
}

/* ------------------------------------------------------------------ */

static struct sl_config *
load_profiles(int must_only)
{
	char text[256];
	struct sl_diags d;
	struct sl_config *cfg;

	snprintf(text, sizeof(text),
	    "include \"profiles/flexperto.conf\"%s\n"
	    "include \"profiles/vistime.conf\"%s\n"
	    "default inspect\n", must_only ? " level must" : "",
	    must_only ? " level must" : "");
	sl_diags_init(&d);
	/* Named as if in policy/, so the includes resolve to the profiles. */
	cfg = sl_config_load_buf("policy/main.conf", text, strlen(text), NULL,
	    0, &d);
	if (cfg == NULL)
		sl_diags_print(&d, stdout);
	sl_diags_free(&d);
	return cfg;
}

struct flow {
	const char	*name;	/* or NULL */
	const char	*ip;	/* or NULL */
	unsigned	 port;
	int		 udp;
	const char	*url;	/* "host/path", or NULL: unknown */
	const char	*rule;	/* expected rule name ("default") */
	enum sl_action	 action;
	int		 noauth;
};

static int
decide(const struct sl_policy *pol, const struct flow *fl,
    struct sl_decision *d)
{
	struct sl_facts f;
	char host[256];

	memset(&f, 0, sizeof(f));
	f.known = SL_FACT_ALL;
	f.proto = fl->udp ? IPPROTO_UDP : IPPROTO_TCP;
	f.port = (uint16_t)fl->port;
	sl_ip_parse(&f.src, "10.1.2.3");
	f.name = fl->name;
	if (fl->ip != NULL && sl_ip_parse(&f.dst, fl->ip) == -1)
		return -1;
	if (fl->url != NULL) {
		const char *slash = strchr(fl->url, '/');

		snprintf(host, sizeof(host), "%.*s", (int)(slash - fl->url),
		    fl->url);
		f.url_host = host;
		f.url_path = slash;
	}
	sl_policy_decide(pol, &f, d);
	return 0;
}

static int
check_flows(const struct sl_policy *pol, const struct flow *fl, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		struct sl_decision d;

		if (decide(pol, &fl[i], &d) == -1 ||
		    strcmp(d.rule_name, fl[i].rule) != 0 ||
		    d.action != fl[i].action ||
		    ((d.mods & SL_MOD_NOAUTH) != 0) != fl[i].noauth ||
		    d.need != 0) {
			printf("# flow %zu (%s %s %s%u %s): got %s %s%s need "
			    "0x%x, want %s %s%s\n", i, fl[i].name ? fl[i].name :
			    "-", fl[i].ip ? fl[i].ip : "-", fl[i].udp ? "udp/" :
			    "", fl[i].port, fl[i].url ? fl[i].url : "",
			    d.rule_name, sl_action_name(d.action),
			    (d.mods & SL_MOD_NOAUTH) ? " noauth" : "", d.need,
			    fl[i].rule, sl_action_name(fl[i].action),
			    fl[i].noauth ? " noauth" : "");
			bad++;
		}
	}
	return bad;
}

#define SP	SL_ACT_SPLICE
#define IN	SL_ACT_INSPECT

/* Every IP entry: inside at both ends, just outside both ends, UDP to
 * streaming, a port the document does not list. */
static const struct flow ip_flows[] = {
	{ NULL, "37.61.222.224", 443, 0, NULL,
	    "flexperto-ip-37.61.222.224_27", SP, 1 },
	{ NULL, "37.61.222.255", 80, 0, NULL,
	    "flexperto-ip-37.61.222.224_27", SP, 1 },
	{ NULL, "37.61.222.223", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "37.61.223.0", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "146.0.229.160", 5349, 0, NULL,
	    "flexperto-ip-146.0.229.160_27", SP, 1 },
	{ NULL, "146.0.229.191", 443, 0, NULL,
	    "flexperto-ip-146.0.229.160_27", SP, 1 },
	{ NULL, "146.0.229.192", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "146.0.229.159", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "95.172.85.0", 3478, 1, NULL, "flexperto-ip-95.172.85.0_25",
	    SP, 1 },
	{ NULL, "95.172.85.127", 5349, 1, NULL, "flexperto-ip-95.172.85.0_25",
	    SP, 1 },
	{ NULL, "95.172.85.128", 3478, 1, NULL, "default", IN, 0 },
	{ NULL, "95.172.84.255", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "64.95.96.0", 3478, 1, NULL, "flexperto-ip-64.95.96.0_25",
	    SP, 1 },
	{ NULL, "64.95.96.127", 443, 0, NULL, "flexperto-ip-64.95.96.0_25",
	    SP, 1 },
	{ NULL, "64.95.96.128", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "64.95.95.255", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "35.158.127.224", 3478, 0, NULL,
	    "flexperto-ip-35.158.127.224_28", SP, 1 },
	{ NULL, "35.158.127.239", 443, 0, NULL,
	    "flexperto-ip-35.158.127.224_28", SP, 1 },
	{ NULL, "35.158.127.240", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "35.158.127.223", 443, 0, NULL, "default", IN, 0 },
	/* Listed address, port not in the document. */
	{ NULL, "95.172.85.10", 22, 0, NULL, "default", IN, 0 },
	{ NULL, "95.172.85.10", 80, 1, NULL, "default", IN, 0 },
	/* Calendar integration sources: not destinations. */
	{ NULL, "54.93.34.174", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "3.121.21.226", 443, 0, NULL, "default", IN, 0 },
	{ NULL, "3.122.2.191", 443, 0, NULL, "default", IN, 0 },
};

/* Every domain entry: the name itself, or three labels under a
 * wildcard; apexes of wildcard-only entries are not listed. */
static const struct flow dom_flows[] = {
	{ "flexperto.com", NULL, 443, 0, NULL, "flexperto-flexperto.com", SP,
	    1 },
	{ "a.b.c.flexperto.com", NULL, 443, 0, NULL,
	    "flexperto-any.flexperto.com", SP, 1 },
	{ "www.flexperto.com", NULL, 3478, 1, NULL,
	    "flexperto-any.flexperto.com", SP, 1 },
	{ "notflexperto.com", NULL, 443, 0, NULL, "default", IN, 0 },
	{ "fonts.googleapis.com", NULL, 443, 0, NULL,
	    "flexperto-fonts.googleapis.com", SP, 1 },
	{ "fonts.gstatic.com", NULL, 443, 0, NULL,
	    "flexperto-fonts.gstatic.com", SP, 1 },
	{ "a.b.c.opentok.com", NULL, 443, 0, NULL, "flexperto-any.opentok.com",
	    SP, 1 },
	{ "opentok.com", NULL, 443, 0, NULL, "default", IN, 0 },
	{ "a.b.c.tokbox.com", NULL, 5349, 0, NULL, "flexperto-any.tokbox.com",
	    SP, 1 },
	{ "a.b.c.hotjar.com", NULL, 443, 0, NULL, "flexperto-any.hotjar.com",
	    SP, 1 },
	{ "api.mixpanel.com", NULL, 443, 0, NULL, "flexperto-api.mixpanel.com",
	    SP, 1 },
	{ "cdn.mixpanel.com", NULL, 443, 0, NULL, "flexperto-cdn.mixpanel.com",
	    SP, 1 },
	{ "mixpanel.com", NULL, 443, 0, NULL, "default", IN, 0 },
	{ "a.b.c.gstatic.com", NULL, 443, 0, NULL, "flexperto-any.gstatic.com",
	    SP, 1 },
	{ "a.b.c.ggpht.com", NULL, 443, 0, NULL, "flexperto-any.ggpht.com",
	    SP, 1 },
	{ "a.b.c.googleapis.com", NULL, 443, 0, NULL,
	    "flexperto-any.googleapis.com", SP, 1 },
	{ "www.google.com", NULL, 443, 0, NULL, "flexperto-www.google.com", SP,
	    1 },
	{ "google.com", NULL, 443, 0, NULL, "default", IN, 0 },
	{ "player.vimeo.com", NULL, 443, 0, NULL, "flexperto-player.vimeo.com",
	    SP, 1 },
	{ "www.youtube-nocookie.com", NULL, 443, 0, NULL,
	    "flexperto-www.youtube-nocookie.com", SP, 1 },
	{ "a.b.c.zopim.com", NULL, 443, 0, NULL, "flexperto-any.zopim.com",
	    SP, 1 },
	{ "assets.zendesk.com", NULL, 443, 0, NULL,
	    "flexperto-assets.zendesk.com", SP, 1 },
	{ "ekr.zdassets.com", NULL, 443, 0, NULL, "flexperto-ekr.zdassets.com",
	    SP, 1 },
	{ "flexperto.zendesk.com", NULL, 443, 0, NULL,
	    "flexperto-flexperto.zendesk.com", SP, 1 },
	{ "static.zdassets.com", NULL, 443, 0, NULL,
	    "flexperto-static.zdassets.com", SP, 1 },
	{ "fast.appcues.com", NULL, 443, 0, NULL, "flexperto-fast.appcues.com",
	    SP, 1 },
	{ "my.appcues.com", NULL, 443, 0, NULL, "flexperto-my.appcues.com", SP,
	    1 },
	{ "notify.bugsnag.com", NULL, 443, 0, NULL,
	    "flexperto-notify.bugsnag.com", SP, 1 },
	{ "sentry.io", NULL, 443, 0, NULL, "flexperto-sentry.io", SP, 1 },
	{ "api.sentry.io", NULL, 443, 0, NULL, "default", IN, 0 },
	/* Domain listed, port not. */
	{ "sentry.io", NULL, 8443, 0, NULL, "default", IN, 0 },
	/* vistime: the domain and its subdomains, its ports. */
	{ "vistime.com", NULL, 80, 0, NULL, "vistime-vistime.com", SP, 1 },
	{ "vistime.com", NULL, 443, 0, NULL, "vistime-vistime.com", SP, 1 },
	{ "a.b.c.vistime.com", NULL, 12001, 0, NULL, "vistime-any.vistime.com",
	    SP, 1 },
	{ "master.vistime.com", NULL, 12000, 0, NULL,
	    "vistime-any.vistime.com", SP, 1 },
	{ "files.vistime.com", NULL, 12002, 0, NULL, "vistime-any.vistime.com",
	    SP, 1 },
	{ "vistime.com", NULL, 12003, 0, NULL, "default", IN, 0 },
	{ "vistime.com", NULL, 12001, 1, NULL, "default", IN, 0 },
	/* Everything else. */
	{ "example.test", NULL, 443, 0, NULL, "default", IN, 0 },
	{ "whitelist.tokbox.com", NULL, 443, 0, NULL,
	    "flexperto-any.tokbox.com", SP, 1 },
};

/* Path entries, with the url known (plain HTTP, or inspected). */
static const struct flow path_flows_all[] = {
	/* All levels: the should *.googleapis.com splices the host first. */
	{ "ajax.googleapis.com", NULL, 443, 0,
	    "ajax.googleapis.com/ajax/libs/jquery/3.7.1/jquery.min.js",
	    "flexperto-any.googleapis.com", SP, 1 },
	{ "www.google.com", NULL, 443, 0, "www.google.com/recaptcha/api.js",
	    "flexperto-www.google.com", SP, 1 },
	{ "www.gstatic.com", NULL, 443, 0,
	    "www.gstatic.com/recaptcha/releases/x/recaptcha__en.js",
	    "flexperto-any.gstatic.com", SP, 1 },
};

static const struct flow path_flows_must[] = {
	{ "ajax.googleapis.com", NULL, 443, 0,
	    "ajax.googleapis.com/ajax/libs/jquery/3.7.1/jquery.min.js",
	    "flexperto-url-ajax.googleapis.com_ajax_libs_jquery", IN, 1 },
	{ "ajax.googleapis.com", NULL, 443, 0,
	    "ajax.googleapis.com/ajax/libs/angularjs/1.8.2/angular.js",
	    "default", IN, 0 },
	{ "www.google.com", NULL, 443, 0, "www.google.com/recaptcha/api.js",
	    "flexperto-url-www.google.com_recaptcha", IN, 1 },
	{ "www.google.com", NULL, 443, 0, "www.google.com/search?q=x",
	    "default", IN, 0 },
	{ "www.gstatic.com", NULL, 443, 0,
	    "www.gstatic.com/recaptcha/releases/x/recaptcha__en.js",
	    "flexperto-url-www.gstatic.com_recaptcha", IN, 1 },
	/* must entries stay. */
	{ "a.b.c.flexperto.com", NULL, 443, 0, NULL,
	    "flexperto-any.flexperto.com", SP, 1 },
	{ NULL, "95.172.85.1", 3478, 1, NULL, "flexperto-ip-95.172.85.0_25",
	    SP, 1 },
	/* should entries are gone. */
	{ "a.b.c.googleapis.com", NULL, 443, 0, NULL, "default", IN, 0 },
	{ "fast.appcues.com", NULL, 443, 0, NULL, "default", IN, 0 },
	{ "vistime.com", NULL, 443, 0, NULL, "default", IN, 0 },
};

T_TEST(profile_every_ip_entry)
{
	struct sl_config *cfg = load_profiles(0);

	T_ASSERT(cfg != NULL);
	T_EQ(check_flows(sl_config_policy(cfg), ip_flows,
	    sizeof(ip_flows) / sizeof(ip_flows[0])), 0);
	sl_config_unref(cfg);
}

T_TEST(profile_every_domain_entry)
{
	struct sl_config *cfg = load_profiles(0);

	T_ASSERT(cfg != NULL);
	T_EQ(check_flows(sl_config_policy(cfg), dom_flows,
	    sizeof(dom_flows) / sizeof(dom_flows[0])), 0);
	sl_config_unref(cfg);
}

T_TEST(profile_path_entries_all_levels)
{
	struct sl_config *cfg = load_profiles(0);

	T_ASSERT(cfg != NULL);
	T_EQ(check_flows(sl_config_policy(cfg), path_flows_all,
	    sizeof(path_flows_all) / sizeof(path_flows_all[0])), 0);
	sl_config_unref(cfg);
}

T_TEST(profile_level_must_only)
{
	struct sl_config *cfg = load_profiles(1);

	T_ASSERT(cfg != NULL);
	T_EQ(check_flows(sl_config_policy(cfg), path_flows_must,
	    sizeof(path_flows_must) / sizeof(path_flows_must[0])), 0);
	sl_config_unref(cfg);
}

T_TEST(profile_path_entry_needs_url_on_connect)
{
	/* CONNECT ajax.googleapis.com:443 with level must: the path rule
	 * cannot be decided before inspection. */
	struct sl_config *cfg = load_profiles(1);
	struct sl_decision d;
	struct sl_facts f;

	T_ASSERT(cfg != NULL);
	memset(&f, 0, sizeof(f));
	f.known = SL_FACT_ALL & ~(unsigned)SL_FACT_URL;
	f.proto = IPPROTO_TCP;
	f.port = 443;
	f.name = "ajax.googleapis.com";
	sl_policy_decide(sl_config_policy(cfg), &f, &d);
	T_STREQ(d.rule_name, "default");
	T_EQ(d.need, SL_FACT_URL);
	sl_config_unref(cfg);
}

T_TEST(profile_cites_document_lines)
{
	struct sl_config *cfg = load_profiles(0);
	const struct sl_policy *pol;
	int found = 0;

	T_ASSERT(cfg != NULL);
	pol = sl_config_policy(cfg);
	for (size_t i = 0; i < sl_policy_nrules(pol); i++) {
		const struct sl_rule *r = sl_policy_rule(pol, i);

		T_ASSERT(sl_rule_cite(r) != NULL && sl_rule_level(r) != NULL);
		if (strcmp(sl_rule_name(r), "flexperto-fast.appcues.com") == 0) {
			T_STREQ(sl_rule_cite(r), "000_75c6ec10c2d525c2.txt:80 "
			    "(also line 81) User Onboarding (Appcues)");
			T_STREQ(sl_rule_level(r), "should");
			found++;
		}
		if (strcmp(sl_rule_name(r), "flexperto-ip-37.61.222.224_27")
		    == 0) {
			T_STREQ(sl_rule_cite(r), "000_75c6ec10c2d525c2.txt:37 "
			    "Network Connectivity - FX DC Main");
			T_STREQ(sl_rule_level(r), "must");
			found++;
		}
	}
	T_EQ(found, 2);
	sl_config_unref(cfg);
}
