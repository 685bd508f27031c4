/*
 * import_test.c — JSON IP lists into list files: accepted shapes, invalid
 * entries reported with their JSON path, and the output loads as a list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/alloc.h"
#include "lib/diag.h"
#include "policy/config.h"
#include "policy/edit.h"
#include "tests/unit/t.h"

static char *
import(const char *json, size_t *count, struct sl_diags *d)
{
	sl_diags_init(d);
	return sl_import_json(json, strlen(json), "in.json", "2026-01-02",
	    count, d);
}

T_TEST(import_array_of_strings)
{
	struct sl_diags d;
	size_t n;
	char *out = import("[\"192.0.2.0/24\", \"2001:db8::/32\", "
	    "\"198.51.100.7\"]", &n, &d);

	T_ASSERT(out != NULL);
	T_EQ(n, 3);
	T_EQ(d.n, 0);
	T_STREQ(out, "# Imported by `sluicectl import json` from in.json on "
	    "2026-01-02.\n# 3 CIDRs; 0 invalid entries skipped (reported at "
	    "import).\n# One CIDR per line; re-import to refresh, do not "
	    "edit.\n192.0.2.0/24\n2001:db8::/32\n198.51.100.7/32\n");
	sl_free(out);
	sl_diags_free(&d);
}

T_TEST(import_aws_and_google_shapes)
{
	struct sl_diags d;
	size_t n;
	char *out = import("{\"syncToken\": \"1\", \"prefixes\": ["
	    "{\"ip_prefix\": \"192.0.2.0/24\", \"region\": \"r\"}], "
	    "\"ipv6_prefixes\": [{\"ipv6_prefix\": \"2001:db8::/32\"}]}",
	    &n, &d);

	T_ASSERT(out != NULL);
	T_EQ(n, 2);
	T_ASSERT(strstr(out, "\n192.0.2.0/24\n2001:db8::/32\n") != NULL);
	sl_free(out);
	sl_diags_free(&d);
	out = import("{\"creationTime\": \"x\", \"prefixes\": [{\"ipv4Prefix\":"
	    " \"203.0.113.0/24\"}, {\"ipv6Prefix\": \"2001:db8:1::/48\"}]}",
	    &n, &d);
	T_ASSERT(out != NULL);
	T_EQ(n, 2);
	T_ASSERT(strstr(out, "\n203.0.113.0/24\n2001:db8:1::/48\n") != NULL);
	sl_free(out);
	sl_diags_free(&d);
	/* Nested one level, other field names. */
	out = import("{\"whitelist\": {\"v4\": [{\"cidr\": \"10.0.0.0/8\"}], "
	    "\"v6\": [{\"subnet\": \"fd00::/8\"}]}}", &n, &d);
	T_ASSERT(out != NULL);
	T_EQ(n, 2);
	sl_free(out);
	sl_diags_free(&d);
}

T_TEST(import_invalid_entries_named_by_json_path)
{
	struct sl_diags d;
	size_t n;
	char *out = import("{\"prefixes\": [{\"ip_prefix\": \"192.0.2.1/24\"}, "
	    "{\"region\": \"x\"}, {\"prefix\": 7}, \"bogus\", "
	    "\"192.0.2.0/24\", \"192.0.2.0/24\"]}", &n, &d);
	char *txt;

	T_ASSERT(out != NULL);
	T_EQ(n, 1);
	T_EQ(d.nerr, 4);
	T_EQ(d.nwarn, 1);
	txt = sl_diags_text(&d);
	T_STREQ(txt,
	    "in.json: error: $.prefixes[0].ip_prefix: host bits set in "
	    "'192.0.2.1/24' (did you mean 192.0.2.0/24?)\n"
	    "in.json: error: $.prefixes[1]: expected a CIDR string or an "
	    "object with a prefix field (prefix, ip_prefix, ipv6_prefix, "
	    "ipv4Prefix, ipv6Prefix, cidr, ip, subnet)\n"
	    "in.json: error: $.prefixes[2].prefix: expected a string\n"
	    "in.json: error: $.prefixes[3]: invalid address or CIDR 'bogus'\n"
	    "in.json: warning: $.prefixes[5]: duplicate '192.0.2.0/24' (first "
	    "at $.prefixes[4])\n");
	T_ASSERT(strstr(out, "# 1 CIDRs; 4 invalid entries skipped") != NULL);
	sl_free(txt);
	sl_free(out);
	sl_diags_free(&d);
}

T_TEST(import_unusable_documents)
{
	struct sl_diags d;
	size_t n;
	char *out = import("[1,", &n, &d);

	T_ASSERT(out == NULL);
	T_EQ(d.nerr, 1);
	T_ASSERT(d.n == 1 && strstr(d.v[0].msg, "invalid JSON") != NULL);
	sl_diags_free(&d);
	out = import("{\"token\": \"x\"}", &n, &d);
	T_ASSERT(out == NULL);
	T_ASSERT(d.n >= 1);
	T_STREQ(d.v[0].msg, "no array of CIDRs found (expected an array, or "
	    "an object with arrays such as \"prefixes\")");
	sl_diags_free(&d);
}

T_TEST(import_output_loads_as_list_file)
{
	char dir[] = "/tmp/sluice-import-XXXXXX";
	char conf[256], list[256];
	struct sl_diags d;
	struct sl_config *cfg;
	struct sl_decision dec;
	struct sl_facts f;
	size_t n;
	char *out;
	FILE *fp;

	T_ASSERT(mkdtemp(dir) != NULL);
	out = import("[\"192.0.2.0/24\", \"2001:db8::/32\"]", &n, &d);
	T_ASSERT(out != NULL);
	sl_diags_free(&d);
	snprintf(list, sizeof(list), "%s/wl.list", dir);
	snprintf(conf, sizeof(conf), "%s/p.conf", dir);
	fp = fopen(list, "w");
	fputs(out, fp);
	fclose(fp);
	fp = fopen(conf, "w");
	fputs("list wl ip file \"wl.list\"\nrule w splice ip @wl\n", fp);
	fclose(fp);
	sl_free(out);
	sl_diags_init(&d);
	cfg = sl_config_load(conf, NULL, 0, &d);
	T_ASSERT(cfg != NULL);
	memset(&f, 0, sizeof(f));
	f.known = SL_FACT_ALL;
	f.proto = 6;
	f.port = 443;
	sl_ip_parse(&f.dst, "2001:db8:5::1");
	sl_policy_decide(sl_config_policy(cfg), &f, &dec);
	T_STREQ(dec.rule_name, "w");
	sl_config_unref(cfg);
	sl_diags_free(&d);
	unlink(list);
	unlink(conf);
	rmdir(dir);
}
