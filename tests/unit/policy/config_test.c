/*
 * config_test.c — loading configurations: settings and their defaults,
 * overrides, listeners, resolvers, sinks, includes, reference counting.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
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
	return sl_config_load_buf("t.conf", text, strlen(text), NULL, 0, d);
}

/* The first diagnostic's text, for compact assertions. */
static char *
first_diag(const struct sl_diags *d)
{
	static char buf[1024];
	char *all = sl_diags_text(d);
	char *nl;

	snprintf(buf, sizeof(buf), "%s", all ? all : "");
	sl_free(all);
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	return buf;
}

T_TEST(config_empty_file_has_documented_defaults)
{
	struct sl_diags d;
	struct sl_config *cfg = load("", &d);
	const struct sl_settings *s;

	T_ASSERT(cfg != NULL);
	s = sl_config_settings(cfg);
	T_EQ(s->workers, 0);
	T_STREQ(s->user, "sluice");
	T_STREQ(s->group, "");
	T_STREQ(s->state_dir, "/var/lib/sluice");
	T_STREQ(s->log_dir, "/var/log/sluice");
	T_STREQ(s->pid_file, "/run/sluiced.pid");
	T_STREQ(s->log_level, "info");
	T_EQ(s->max_connections, 20000);
	T_EQ(s->drain_timeout, 30000);
	T_EQ(s->request_line_max, 8192);
	T_EQ(s->header_max, 32768);
	T_EQ(s->header_count_max, 100);
	T_EQ(s->response_header_max, 65536);
	T_EQ(s->response_header_count_max, 256);
	T_EQ(s->client_header_timeout, 10000);
	T_EQ(s->http_idle_timeout, 60000);
	T_EQ(s->via, 1);
	T_ASSERT(sl_portset_has(s->connect_ports, IPPROTO_TCP, 443));
	T_ASSERT(!sl_portset_has(s->connect_ports, IPPROTO_TCP, 80));
	T_ASSERT(sl_portset_has(s->http_ports, IPPROTO_TCP, 80));
	T_ASSERT(!sl_portset_has(s->http_ports, IPPROTO_TCP, 1024));
	T_ASSERT(sl_portset_has(s->http_ports, IPPROTO_TCP, 1025));
	T_ASSERT(sl_portset_has(s->http_ports, IPPROTO_TCP, 65535));
	T_EQ(s->connect_timeout, 10000);
	T_EQ(s->happy_eyeballs_delay, 250);
	T_EQ(s->idle_timeout, 3600000);
	T_EQ(s->relay_buffer, 65536);
	T_EQ(s->pipe_size, 1048576);
	T_EQ(s->so_mark, 0);
	T_EQ(s->dns_timeout, 2000);
	T_EQ(s->dns_tries, 2);
	T_EQ(s->dns_cache_size, 4096);
	T_EQ(s->dns_ttl_min, 5000);
	T_EQ(s->dns_ttl_max, 3600000);
	T_EQ(s->dns_negative_ttl, 30000);
	T_EQ(s->dns_prefer_ipv6, 1);
	T_EQ(s->peek_timeout, 3000);
	T_EQ(s->peek_max, 32768);
	T_EQ(s->sni_check, 1);
	T_EQ(s->inspect_fallback, SL_FALLBACK_SPLICE);
	T_STREQ(s->nft_clients, "");
	T_STREQ(s->nft_interfaces, "");
	T_ASSERT(sl_portset_has(s->transparent_tcp_ports, IPPROTO_TCP, 12001));
	T_ASSERT(!sl_portset_has(s->transparent_tcp_ports, IPPROTO_UDP, 443));
	T_ASSERT(sl_portset_has(s->transparent_udp_ports, IPPROTO_UDP, 3478));
	T_ASSERT(sl_portset_has(s->transparent_udp_ports, IPPROTO_UDP, 5349));
	T_ASSERT(!sl_portset_has(s->transparent_udp_ports, IPPROTO_TCP, 3478));
	T_STREQ(s->ca_cert, "ca.pem");
	T_STREQ(s->ca_key, "ca.key");
	T_STREQ(s->upstream_ca_bundle, "");
	T_EQ(s->cert_cache_size, 10000);
	T_EQ(s->log_allowed, 1);
	T_EQ(sl_policy_nrules(sl_config_policy(cfg)), 0);
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_settings_units_parse)
{
	struct sl_diags d;
	struct sl_config *cfg = load(
	    "set workers 4\n"
	    "set drain-timeout 250ms\n"
	    "set idle-timeout 5m\n"
	    "set connect-timeout 7\n"
	    "set header-max 1m\n"
	    "set request-line-max 512\n"
	    "set via off\n"
	    "set dns-prefer ipv4\n"
	    "set inspect-fallback deny\n"
	    "set connect-ports 443, 8443,tcp/9000-9001\n"
	    "set user \"\"\n"
	    "set nft-clients 10.0.0.0/8,192.168.0.0/16\n"
	    "set ca-key keys/ca.key\n"
	    "set upstream-ca-bundle /etc/ssl/certs/ca-certificates.crt\n"
	    "set cert-cache-size 0\n", &d);
	const struct sl_settings *s;

	T_CHECK(cfg != NULL, "%s", first_diag(&d));
	s = sl_config_settings(cfg);
	T_EQ(s->workers, 4);
	T_EQ(s->drain_timeout, 250);
	T_EQ(s->idle_timeout, 300000);
	T_EQ(s->connect_timeout, 7000);
	T_EQ(s->header_max, 1048576);
	T_EQ(s->request_line_max, 512);
	T_EQ(s->via, 0);
	T_EQ(s->dns_prefer_ipv6, 0);
	T_EQ(s->inspect_fallback, SL_FALLBACK_DENY);
	T_ASSERT(sl_portset_has(s->connect_ports, IPPROTO_TCP, 8443));
	T_ASSERT(sl_portset_has(s->connect_ports, IPPROTO_TCP, 9001));
	T_ASSERT(!sl_portset_has(s->connect_ports, IPPROTO_TCP, 9002));
	T_STREQ(s->user, "");
	T_STREQ(s->nft_clients, "10.0.0.0/8,192.168.0.0/16");
	/* TLS paths stay as written: tls/ resolves them in state-dir. */
	T_STREQ(s->ca_key, "keys/ca.key");
	T_STREQ(s->upstream_ca_bundle, "/etc/ssl/certs/ca-certificates.crt");
	T_EQ(s->cert_cache_size, 0);
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_unknown_setting_names_closest)
{
	struct sl_diags d;
	struct sl_config *cfg = load("set worker 2\n", &d);

	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:5: error: unknown setting 'worker' "
	    "(did you mean 'workers'?)");
	sl_diags_free(&d);
}

T_TEST(config_range_checks)
{
	struct sl_diags d;
	struct sl_config *cfg = load("set workers 300\n", &d);

	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:13: error: 'workers' must be at "
	    "most 256");
	sl_diags_free(&d);
	cfg = load("set connect-timeout 0\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:21: error: 'connect-timeout' must "
	    "be at least 1ms (a timeout of 0 is not allowed)");
	sl_diags_free(&d);
	cfg = load("set request-line-max 16k\nset header-max 8k\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:2:16: error: 'header-max' (8192) must "
	    "be at least 'request-line-max' (16384)");
	sl_diags_free(&d);
	/* The parser's field array holds 256: no more may be promised. */
	cfg = load("set header-count-max 257\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:22: error: 'header-count-max' must "
	    "be at most 256");
	sl_diags_free(&d);
	cfg = load("set response-header-count-max 257\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:31: error: "
	    "'response-header-count-max' must be at most 256");
	sl_diags_free(&d);
	cfg = load("set cert-cache-size 1000001\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:21: error: 'cert-cache-size' must "
	    "be at most 1000000");
	sl_diags_free(&d);
	cfg = load("set response-header-max 512\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:25: error: 'response-header-max' "
	    "must be at least 1k");
	sl_diags_free(&d);
	/* A port setting takes one protocol: a bare port is TCP. */
	cfg = load("set transparent-udp-ports udp/3478,5349\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:27: error: '5349' is a TCP port; "
	    "this setting takes UDP ports (write udp/PORT) in "
	    "'transparent-udp-ports'");
	sl_diags_free(&d);
	cfg = load("set connect-ports 443,udp/443\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:19: error: 'udp/443' is a UDP port; "
	    "this setting takes TCP ports (a bare port is TCP) in "
	    "'connect-ports'");
	sl_diags_free(&d);
}

/* A limit raised past the other's default was blamed on the whole file,
 * without a line (found by tests/fuzz/fuzz_policy.c). */
T_TEST(config_cross_check_blames_the_line_that_set_either_setting)
{
	struct sl_diags d;
	struct sl_config *cfg = load("# limits\nset request-line-max 64k\n",
	    &d);

	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:2:22: error: 'header-max' (32768) "
	    "must be at least 'request-line-max' (65536)");
	sl_diags_free(&d);
	cfg = load("set dns-ttl-min 2h\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:17: error: 'dns-ttl-max' (3600000ms) "
	    "must be at least 'dns-ttl-min' (7200000ms)");
	sl_diags_free(&d);
	/* Both set: the one that must be larger is blamed, as before. */
	cfg = load("set dns-ttl-max 1m\nset dns-ttl-min 2m\n", &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:1:17: error: 'dns-ttl-max' (60000ms) "
	    "must be at least 'dns-ttl-min' (120000ms)");
	sl_diags_free(&d);
}

T_TEST(config_overrides_apply_after_file)
{
	struct sl_diags d;
	struct sl_override ov[] = {
		{ "user", "" }, { "log-dir", "run" }, { "workers", "1" },
	};
	const char *text = "set workers 8\nset user nobody\nlog json f.json\n";
	struct sl_config *cfg;
	const struct sl_sink *sk;
	size_t n;

	sl_diags_init(&d);
	cfg = sl_config_load_buf("t.conf", text, strlen(text), ov, 3, &d);
	T_ASSERT(cfg != NULL);
	T_EQ(sl_config_settings(cfg)->workers, 1);
	T_STREQ(sl_config_settings(cfg)->user, "");
	sk = sl_config_sinks(cfg, &n);
	T_EQ(n, 1);
	/* Relative log paths resolve under the final log-dir. */
	T_STREQ(sk[0].path, "run/f.json");
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_bad_override_names_command_line)
{
	struct sl_diags d;
	struct sl_override ov[] = { { "wrokers", "1" }, { "via", "maybe" } };
	struct sl_config *cfg;
	char *txt;

	sl_diags_init(&d);
	cfg = sl_config_load_buf("t.conf", "", 0, ov, 2, &d);
	T_ASSERT(cfg == NULL);
	txt = sl_diags_text(&d);
	T_STREQ(txt, "<command line>: error: unknown setting 'wrokers' (did "
	    "you mean 'workers'?)\n<command line>: error: invalid value "
	    "'maybe' for 'via' (expected on or off)\n");
	sl_free(txt);
	sl_diags_free(&d);
}

T_TEST(config_listeners_and_allow_from)
{
	struct sl_diags d;
	struct sl_config *cfg = load(
	    "listen explicit 127.0.0.1:3128\n"
	    "listen transparent [::1]:3129 allow-from 192.0.2.0/24\n"
	    "listen tproxy *:3130\n", &d);
	const struct sl_listen *l;
	struct sl_ip ip;
	size_t n;

	T_CHECK(cfg != NULL, "%s", first_diag(&d));
	l = sl_config_listeners(cfg, &n);
	T_EQ(n, 3);
	T_EQ(l[0].kind, SL_LISTEN_EXPLICIT);
	T_EQ(l[0].addr.ss_family, AF_INET);
	T_EQ(ntohs(((const struct sockaddr_in *)&l[0].addr)->sin_port), 3128);
	T_EQ(l[1].kind, SL_LISTEN_TRANSPARENT);
	T_EQ(l[1].addr.ss_family, AF_INET6);
	T_EQ(l[2].kind, SL_LISTEN_TPROXY);
	T_EQ(l[0].loc.line, 1);
	/* Default allow-from: private ranges, not the internet. */
	sl_ip_parse(&ip, "10.1.2.3");
	T_ASSERT(sl_cidrset_has(l[0].allow_from, &ip));
	sl_ip_parse(&ip, "100.64.0.1");
	T_ASSERT(sl_cidrset_has(l[0].allow_from, &ip));
	sl_ip_parse(&ip, "fd00::1");
	T_ASSERT(sl_cidrset_has(l[0].allow_from, &ip));
	sl_ip_parse(&ip, "8.8.8.8");
	T_ASSERT(!sl_cidrset_has(l[0].allow_from, &ip));
	sl_ip_parse(&ip, "192.0.2.77");
	T_ASSERT(sl_cidrset_has(l[1].allow_from, &ip));
	sl_ip_parse(&ip, "10.1.2.3");
	T_ASSERT(!sl_cidrset_has(l[1].allow_from, &ip));
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_duplicate_listen_is_an_error)
{
	struct sl_diags d;
	struct sl_config *cfg = load("listen explicit 127.0.0.1:3128\n"
	    "listen transparent 127.0.0.1:3128\n", &d);

	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "t.conf:2:20: error: duplicate listen address "
	    "'127.0.0.1:3128' (first at t.conf:1)");
	sl_diags_free(&d);
}

T_TEST(config_resolvers_default_port_53)
{
	struct sl_diags d;
	struct sl_config *cfg = load("resolver 192.0.2.53, [2001:db8::1]:5353,"
	    "2001:db8::2\nresolver 198.51.100.1:54\n", &d);
	const struct sl_resolver *r;
	char buf[SL_ADDR_STRLEN];
	size_t n;

	T_CHECK(cfg != NULL, "%s", first_diag(&d));
	r = sl_config_resolvers(cfg, &n);
	T_EQ(n, 4);
	T_STREQ(sl_sa_fmt((const struct sockaddr *)&r[0].addr, buf,
	    sizeof(buf)), "192.0.2.53:53");
	T_STREQ(sl_sa_fmt((const struct sockaddr *)&r[1].addr, buf,
	    sizeof(buf)), "[2001:db8::1]:5353");
	T_STREQ(sl_sa_fmt((const struct sockaddr *)&r[2].addr, buf,
	    sizeof(buf)), "[2001:db8::2]:53");
	T_STREQ(sl_sa_fmt((const struct sockaddr *)&r[3].addr, buf,
	    sizeof(buf)), "198.51.100.1:54");
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_log_sinks_stdout_and_absolute)
{
	struct sl_diags d;
	struct sl_config *cfg = load("log json stdout\nlog json /tmp/x.json\n",
	    &d);
	const struct sl_sink *s;
	size_t n;

	T_ASSERT(cfg != NULL);
	s = sl_config_sinks(cfg, &n);
	T_EQ(n, 2);
	T_STREQ(s[0].path, "stdout");
	T_STREQ(s[1].path, "/tmp/x.json");
	T_EQ(s[0].kind, SL_SINK_JSON);
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_ref_unref_counts)
{
	struct sl_diags d;
	struct sl_config *cfg = load("rule a splice domain a.test\n", &d);

	T_ASSERT(cfg != NULL);
	T_ASSERT(sl_config_ref(cfg) == cfg);
	sl_config_unref(cfg);
	/* Still alive: one reference left. */
	T_STREQ(sl_rule_name(sl_policy_rule(sl_config_policy(cfg), 0)), "a");
	sl_config_unref(cfg);
	sl_config_unref(NULL);
	sl_diags_free(&d);
}

T_TEST(config_include_relative_and_level_must)
{
	struct sl_diags d;
	struct sl_config *cfg;
	const struct sl_policy *pol;

	sl_diags_init(&d);
	cfg = sl_config_load("tests/data/policy/inc-main.conf", NULL, 0, &d);
	T_CHECK(cfg != NULL, "%s", first_diag(&d));
	pol = sl_config_policy(cfg);
	/* main: first; vendor (level must): must-a, plain (should-b
	 * dropped); glob: g1, g2 in sorted order; main: last. */
	T_EQ(sl_policy_nrules(pol), 6);
	T_STREQ(sl_rule_name(sl_policy_rule(pol, 0)), "first");
	T_STREQ(sl_rule_name(sl_policy_rule(pol, 1)), "must-a");
	T_STREQ(sl_rule_name(sl_policy_rule(pol, 2)), "plain");
	T_STREQ(sl_rule_name(sl_policy_rule(pol, 3)), "g1");
	T_STREQ(sl_rule_name(sl_policy_rule(pol, 4)), "g2");
	T_STREQ(sl_rule_name(sl_policy_rule(pol, 5)), "last");
	T_STREQ(sl_rule_loc(sl_policy_rule(pol, 1))->file,
	    "tests/data/policy/inc/vendor.conf");
	T_STREQ(sl_rule_level(sl_policy_rule(pol, 1)), "must");
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_include_cycle_is_an_error_with_chain)
{
	struct sl_diags d;
	struct sl_config *cfg;
	char *txt;

	sl_diags_init(&d);
	cfg = sl_config_load("tests/data/policy/inc-cycle-a.conf", NULL, 0, &d);
	T_ASSERT(cfg == NULL);
	txt = sl_diags_text(&d);
	T_STREQ(txt, "tests/data/policy/inc-cycle-b.conf:2:1: error: include "
	    "cycle: 'tests/data/policy/inc-cycle-a.conf' is already being "
	    "read\n  in file included from "
	    "tests/data/policy/inc-cycle-a.conf:2\n");
	sl_free(txt);
	sl_diags_free(&d);
}

T_TEST(config_list_file_values_and_errors)
{
	struct sl_diags d;
	struct sl_config *cfg;
	char *txt;

	sl_diags_init(&d);
	cfg = sl_config_load("tests/data/policy/list-file.conf", NULL, 0, &d);
	T_ASSERT(cfg == NULL);
	txt = sl_diags_text(&d);
	T_STREQ(txt, "tests/data/policy/lists/nets.list:4:1: error: host bits "
	    "set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)\n"
	    "  in file included from tests/data/policy/list-file.conf:2\n");
	sl_free(txt);
	sl_diags_free(&d);
}

T_TEST(config_missing_file_is_reported)
{
	struct sl_diags d;
	struct sl_config *cfg;

	sl_diags_init(&d);
	cfg = sl_config_load("tests/data/policy/does-not-exist.conf", NULL, 0,
	    &d);
	T_ASSERT(cfg == NULL);
	T_STREQ(first_diag(&d), "tests/data/policy/does-not-exist.conf: error: "
	    "cannot open 'tests/data/policy/does-not-exist.conf': No such "
	    "file or directory");
	sl_diags_free(&d);
}

T_TEST(config_continuation_lines_join)
{
	struct sl_diags d;
	struct sl_config *cfg = load("rule a splice \\\n"
	    "   domain a.test, \\  # the first name\n"
	    "          b.test\n"
	    "rule b deny\n", &d);
	const struct sl_policy *pol;

	T_CHECK(cfg != NULL, "%s", first_diag(&d));
	pol = sl_config_policy(cfg);
	T_EQ(sl_policy_nrules(pol), 2);
	T_EQ(sl_rule_loc(sl_policy_rule(pol, 1))->line, 4);
	sl_config_unref(cfg);
	sl_diags_free(&d);
}

T_TEST(config_load_survives_every_allocation_failure)
{
	/* Fail the Nth allocation for every N: the load must fail cleanly
	 * (no crash, nothing leaked under ASan) or succeed completely. */
	const char *text =
	    "set workers 2\n"
	    "set connect-ports 443,8443\n"
	    "listen explicit 127.0.0.1:3128 allow-from 10.0.0.0/8\n"
	    "resolver 192.0.2.53\n"
	    "log json f.json\n"
	    "list l ip 192.0.2.0/24, 2001:db8::/32\n"
	    "list d domain a.test, *.b.test\n"
	    "rule a splice noauth domain @d, c.test port 443 level must "
	    "cite \"x\"\n"
	    "rule b deny ip @l src 10.0.0.0/8\n"
	    "rule c inspect url www.c.test/p/ user u country DE asn 64496\n"
	    "default deny\n";
	unsigned failed = 0, n;

	for (n = 1; n < 20000; n++) {
		struct sl_diags d;
		struct sl_config *cfg;
		unsigned long made;

		sl_diags_init(&d);
		sl_alloc_fail_at(n);
		cfg = sl_config_load_buf("o.conf", text, strlen(text), NULL, 0,
		    &d);
		made = sl_alloc_fail_at(0);
		if (cfg != NULL) {
			T_EQ(sl_policy_nrules(sl_config_policy(cfg)), 3);
			sl_config_unref(cfg);
			sl_diags_free(&d);
			/* Loaded although one allocation failed: only a
			 * warning's copy (lib/diag.c is best effort). */
			if (made < n)
				break;		/* no allocation failed */
			continue;
		}
		failed++;
		sl_diags_free(&d);
	}
	printf("# %u allocations, %u failure points\n", n, failed);
	T_ASSERT(n < 20000);
	T_ASSERT(failed > 20);
}
