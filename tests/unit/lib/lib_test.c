/*
 * lib_test.c — shared helpers: addresses, JSON escaping, diagnostics,
 * the LRU list.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/alloc.h"
#include "lib/diag.h"
#include "lib/jw.h"
#include "lib/log.h"
#include "lib/lru.h"
#include "lib/rd.h"
#include "tests/unit/t.h"

T_TEST(addr_v4_mapped_is_canonicalised)
{
	struct sl_ip ip;
	char buf[SL_IP_STRLEN];

	T_EQ(sl_ip_parse(&ip, "::ffff:10.1.2.3"), 0);
	T_EQ(ip.af, AF_INET);
	T_STREQ(sl_ip_fmt(&ip, buf, sizeof(buf)), "10.1.2.3");
}

T_TEST(addr_odd_ipv4_spellings_in_hosts)
{
	struct sl_ip ip;
	char buf[SL_IP_STRLEN];

	T_EQ(sl_ip_parse_host(&ip, "127.1", 5), 1);
	T_STREQ(sl_ip_fmt(&ip, buf, sizeof(buf)), "127.0.0.1");
	T_EQ(sl_ip_parse_host(&ip, "0x7f000001", 10), 1);
	T_STREQ(sl_ip_fmt(&ip, buf, sizeof(buf)), "127.0.0.1");
	T_EQ(sl_ip_parse_host(&ip, "2130706433", 10), 1);
	T_STREQ(sl_ip_fmt(&ip, buf, sizeof(buf)), "127.0.0.1");
	T_EQ(sl_ip_parse_host(&ip, "[::ffff:127.0.0.1]", 18), 1);
	T_EQ(ip.af, AF_INET);
	T_EQ(sl_ip_parse_host(&ip, "example.test", 12), 0);
	T_EQ(sl_ip_parse_host(&ip, "[::1", 4), -1);
	T_EQ(sl_ip_parse_host(&ip, "[fe80::1%eth0]", 14), -1);
}

T_TEST(addr_strict_parse_rejects_legacy_forms)
{
	struct sl_ip ip;

	T_EQ(sl_ip_parse(&ip, "127.1"), -1);
	T_EQ(sl_ip_parse(&ip, "010.0.0.1"), -1);
	T_EQ(sl_ip_parse(&ip, "2001:db8::1"), 0);
	T_EQ(ip.af, AF_INET6);
}

T_TEST(addr_prefix_membership)
{
	struct sl_ip net, ip;
	unsigned plen;

	T_EQ(sl_cidr_parse("37.61.222.224/27", &net, &plen), 0);
	T_EQ(plen, 27);
	T_EQ(sl_ip_parse(&ip, "37.61.222.255"), 0);
	T_ASSERT(sl_ip_in_prefix(&ip, &net, plen));
	T_EQ(sl_ip_parse(&ip, "37.61.223.0"), 0);
	T_ASSERT(!sl_ip_in_prefix(&ip, &net, plen));
	T_EQ(sl_cidr_parse("2001:db8::/33", &net, &plen), 0);
	T_EQ(sl_ip_parse(&ip, "2001:db8:7fff::1"), 0);
	T_ASSERT(sl_ip_in_prefix(&ip, &net, plen));
	T_EQ(sl_ip_parse(&ip, "2001:db8:8000::1"), 0);
	T_ASSERT(!sl_ip_in_prefix(&ip, &net, plen));
	T_EQ(sl_cidr_parse("::ffff:10.0.0.0/104", &net, &plen), 0);
	T_EQ(net.af, AF_INET);
	T_EQ(plen, 8);
	T_EQ(sl_cidr_parse("10.0.0.0/33", &net, &plen), -1);
	T_EQ(sl_cidr_parse("10.0.0.0/08", &net, &plen), -1);
	T_EQ(sl_cidr_parse("10.0.0.0/", &net, &plen), -1);
}

T_TEST(addr_loopback_is_127_8_and_v6_one)
{
	const char *yes[] = { "127.0.0.1", "127.255.0.9", "::1",
		"::ffff:127.0.0.1" };
	const char *no[] = { "128.0.0.1", "10.0.0.1", "::2", "::",
		"1::1", "fe80::1" };
	struct sl_ip ip;

	for (size_t i = 0; i < SL_NELEM(yes); i++) {
		T_EQ(sl_ip_parse(&ip, yes[i]), 0);
		T_EQ(sl_ip_is_loopback(&ip), 1);
	}
	for (size_t i = 0; i < SL_NELEM(no); i++) {
		T_EQ(sl_ip_parse(&ip, no[i]), 0);
		T_EQ(sl_ip_is_loopback(&ip), 0);
	}
}

T_TEST(addr_endpoints)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[SL_ADDR_STRLEN];

	T_EQ(sl_endpoint_parse("127.0.0.1:3128", &ss, &len), 0);
	T_STREQ(sl_sa_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "127.0.0.1:3128");
	T_EQ(sl_endpoint_parse("[::1]:3128", &ss, &len), 0);
	T_STREQ(sl_sa_fmt((struct sockaddr *)&ss, buf, sizeof(buf)),
	    "[::1]:3128");
	T_EQ(sl_endpoint_parse("*:80", &ss, &len), 0);
	T_EQ(ss.ss_family, AF_INET6);
	T_EQ(sl_endpoint_parse("::1:3128", &ss, &len), -1);
	T_EQ(sl_endpoint_parse("127.0.0.1:99999", &ss, &len), -1);
	T_EQ(sl_endpoint_parse("127.0.0.1:0", &ss, &len), -1);
	T_EQ(sl_endpoint_parse("[::1]:0", &ss, &len), -1);
	T_EQ(sl_endpoint_parse("127.0.0.1", &ss, &len), -1);
}

T_TEST(jw_escapes_injection_attempts)
{
	char buf[256];
	struct sl_jw w;

	sl_jw_begin(&w, buf, sizeof(buf));
	sl_jw_str(&w, "host", "evil\"}\n{\"x\":1");
	sl_jw_strn(&w, "raw", "a\0b\x7f\xff\xe2\x80\xa8", 8);
	sl_jw_u64(&w, "n", 42);
	sl_jw_end(&w);
	T_STREQ(buf, "{\"host\":\"evil\\\"}\\u000a{\\\"x\\\":1\","
	    "\"raw\":\"a\\u0000b\\u007f\\ufffd\\u2028\",\"n\":42}\n");
}

T_TEST(jw_truncates_but_stays_valid)
{
	char buf[64], big[200];
	struct sl_jw w;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sl_jw_begin(&w, buf, sizeof(buf));
	sl_jw_u64(&w, "id", 7);
	sl_jw_str(&w, "big", big);
	sl_jw_u64(&w, "after", 1);
	sl_jw_end(&w);
	T_ASSERT(strlen(buf) < sizeof(buf));
	T_ASSERT(strstr(buf, "\"trunc\":true}\n") != NULL);
	T_ASSERT(strncmp(buf, "{\"id\":7,\"big\":\"aaa", 18) == 0);
}

T_TEST(kv_escape_hides_separators)
{
	char out[64];

	sl_kv_escape(out, sizeof(out), "a b=\"c\n", 7);
	T_STREQ(out, "a\\x20b\\x3d\\x22c\\x0a");
}

T_TEST(diag_formats_like_a_compiler)
{
	struct sl_diags d;
	struct sl_loc loc = { "p.conf", 12, 9 };
	char *txt;

	sl_diags_init(&d);
	T_EQ(sl_diag_error(&d, &loc, "unknown action '%s'", "splcie"), -1);
	T_EQ(sl_diag_add(&d, SL_DIAG_WARNING, &loc,
	    "  in file included from main.conf:4", "dup"), 0);
	T_EQ(sl_diags_errors(&d), 1);
	txt = sl_diags_text(&d);
	T_STREQ(txt, "p.conf:12:9: error: unknown action 'splcie'\n"
	    "p.conf:12:9: warning: dup\n  in file included from main.conf:4\n");
	sl_free(txt);
	sl_diags_free(&d);
}

T_TEST(rd_never_reads_past_the_end)
{
	static const uint8_t b[] = { 0x01, 0x02, 0x03 };
	struct sl_rd r, sub;
	uint16_t v16;
	uint32_t v32;
	uint8_t v8;

	sl_rd_init(&r, b, sizeof(b));
	T_EQ(sl_rd_be16(&r, &v16), 0);
	T_EQ(v16, 0x0102);
	T_EQ(sl_rd_be16(&r, &v16), -1);
	T_EQ(sl_rd_be32(&r, &v32), -1);
	T_EQ(sl_rd_sub(&r, 2, &sub), -1);
	T_EQ(sl_rd_u8(&r, &v8), 0);
	T_EQ(v8, 3);
	T_EQ(sl_rd_left(&r), 0);
}

/*
 * The daemon's log cannot be forged through a hostile string (issue 12):
 * a name with CR LF and a fake log line stays inside one line, escaped;
 * so do a NUL-free control byte, DEL, non-ASCII and the backslash.
 */
T_TEST(log_line_cannot_be_split_by_hostile_strings)
{
	const char *evil = "x.test\r\n2026-01-01T00:00:00.000Z sluiced[1] err: "
	    "forged\t\x7f\xe2\x80\xa8\\end";
	char buf[4096];
	int p[2], saved;
	ssize_t n;

	T_EQ(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	T_ASSERT(saved != -1);
	T_EQ(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	sl_log(SL_LOG_ERR, "sni '%s' does not match", evil);
	T_EQ(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	T_ASSERT(n > 0);
	buf[n] = '\0';
	/* One line: the only LF is the last byte. */
	T_ASSERT(strchr(buf, '\n') == buf + n - 1);
	T_ASSERT(strchr(buf, '\r') == NULL);
	T_ASSERT(strstr(buf, "sni 'x.test\\x0d\\x0a2026-01-01T00:00:00.000Z "
	    "sluiced[1] err: forged\\x09\\x7f\\xe2\\x80\\xa8\\x5cend' "
	    "does not match\n") != NULL);
}

struct lru_item {
	int			 v;
	struct sl_lru_node	 node;
};

/* The list from newest to oldest as digits, e.g. "321". */
static const char *
lru_order(struct sl_lru *l, char *buf)
{
	char *p = buf;

	for (struct sl_lru_node *n = l->head; n != NULL; n = n->next)
		*p++ = (char)('0' + SL_LRU_ENTRY(n, struct lru_item, node)->v);
	*p = '\0';
	return buf;
}

T_TEST(lru_newest_first_oldest_last_unlink_anywhere)
{
	struct lru_item it[4] = { { 0 }, { 1 }, { 2 }, { 3 } };
	struct sl_lru l = { NULL, NULL };
	char buf[8];

	for (int i = 1; i <= 3; i++)
		sl_lru_push(&l, &it[i].node);
	T_STREQ(lru_order(&l, buf), "321");
	T_ASSERT(l.tail == &it[1].node);
	sl_lru_unlink(&l, &it[2].node);		/* the middle */
	T_STREQ(lru_order(&l, buf), "31");
	sl_lru_push(&l, &it[2].node);
	sl_lru_unlink(&l, &it[1].node);		/* the tail */
	T_STREQ(lru_order(&l, buf), "23");
	T_ASSERT(l.tail == &it[3].node && it[3].node.next == NULL);
	sl_lru_unlink(&l, &it[2].node);		/* the head */
	sl_lru_unlink(&l, &it[3].node);
	T_ASSERT(l.head == NULL && l.tail == NULL);
	T_STREQ(lru_order(&l, buf), "");
}
