/*
 * golden_cases.h — the events whose schema v1 JSON lines are pinned in
 * tests/data/sink/json1.jsonl, one line per case in this order.  Each
 * case is what flow_event() (proxy/flow.c) puts for a flow in that situation;
 * together they cover every field present and absent as today's producer
 * leaves it, and hostile strings.  Appending a case means appending its
 * line; changing a line means a new schema version (docs/logs.md).
 */
#ifndef SL_GOLDEN_CASES_H
#define SL_GOLDEN_CASES_H

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy/sink/sink.h"

/* 2026-11-21T17:18:00.123Z */
#define G_TS		{ 1795281480, 123456789 }
#define G_V4(a, b, c, d) { AF_INET, { a, b, c, d } }
#define G_V6_DB8(last)	{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = last } }

struct golden_case {
	const char	*name;
	struct sl_event	 ev;
};

/* Long strings are built at run time (golden_fill). */
static char g_long_host[5001];		/* 5000 x 'a': cut, trunc */
static char g_long_sni[1 + 2 * 3000 + 1]; /* 'x' + 3000 x U+00E9 */

static void
golden_fill(void)
{
	memset(g_long_host, 'a', sizeof(g_long_host) - 1);
	g_long_sni[0] = 'x';
	for (size_t i = 0; i < 3000; i++) {
		g_long_sni[1 + 2 * i] = (char)0xc3;
		g_long_sni[2 + 2 * i] = (char)0xa9;
	}
}

static const struct golden_case golden_cases[] = {
	{ "blocked_connect_by_rule", {
		.kind = SL_EV_FLOW_BLOCKED, .ts = G_TS, .flow = 812,
		.mode = SL_EV_MODE_EXPLICIT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 51514, .method = "CONNECT",
		.host = "ads.example.test", .dst_port = 443,
		.action = SL_EV_ACT_DENY, .rule = "no-ads", .reason = "policy",
		.status = 403, .ms = 1, .term = "PP" } },
	{ "end_transparent_tls_with_level", {
		.kind = SL_EV_FLOW_END, .ts = G_TS, .flow = 813,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 51516, .host = "www.example.test",
		.dst_ip = G_V4(10, 2, 0, 2), .dst_port = 443,
		.sni = "www.example.test", .proto = SL_EV_PROTO_TLS,
		.action = SL_EV_ACT_SPLICE, .rule = "web", .level = "must",
		.up = 1234, .down = 56789, .ms = 812, .term = "CR" } },
	{ "error_before_any_decision", {
		.kind = SL_EV_FLOW_ERROR, .ts = G_TS, .flow = 7,
		.mode = SL_EV_MODE_EXPLICIT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 40000, .reason = "client_silent", .ms = 15001,
		.term = "CH" } },
	{ "ipv6_client_and_literal_host", {
		.kind = SL_EV_FLOW_END, .ts = G_TS, .flow = 9,
		.mode = SL_EV_MODE_EXPLICIT, .cli_ip = G_V6_DB8(2),
		.cli_port = 1, .method = "CONNECT", .host = "2001:db8::1",
		.dst_ip = G_V6_DB8(1), .dst_port = 65535,
		.sni = "v6.example.test", .proto = SL_EV_PROTO_TLS,
		.action = SL_EV_ACT_INSPECT, .rule = "v6", .level = "should",
		.status = 200, .up = 1, .down = 2, .ms = 3, .term = "SR" } },
	{ "only_the_fields_always_there", {
		.kind = SL_EV_FLOW_END, .ts = G_TS, .flow = 1,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(192, 0, 2, 1),
		.cli_port = 2 } },
	{ "empty_strings_are_present", {
		.kind = SL_EV_FLOW_END, .ts = G_TS, .flow = 2,
		.mode = SL_EV_MODE_EXPLICIT, .cli_ip = G_V4(192, 0, 2, 1),
		.cli_port = 2, .method = "", .host = "", .sni = "", .rule = "",
		.level = "", .reason = "" } },
	{ "dst_port_when_no_address", {
		.kind = SL_EV_FLOW_ERROR, .ts = G_TS, .flow = 3,
		.mode = SL_EV_MODE_EXPLICIT, .cli_ip = G_V4(192, 0, 2, 1),
		.cli_port = 2, .method = "CONNECT",
		.host = "nothing.invalid", .dst_port = 443,
		.action = SL_EV_ACT_SPLICE, .rule = "all",
		.reason = "dns_nxdomain", .status = 502, .term = "SN" } },
	{ "dst_address_with_port_0", {
		.kind = SL_EV_FLOW_BLOCKED, .ts = G_TS, .flow = 4,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(192, 0, 2, 1),
		.cli_port = 2, .dst_ip = G_V4(10, 1, 0, 1),
		.reason = "loop", .term = "PA" } },
	{ "http_methods_protos_and_status", {
		.kind = SL_EV_FLOW_ERROR, .ts = G_TS, .flow = 5,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 3, .method = "OTHER", .host = "h.example.test",
		.dst_ip = G_V4(10, 2, 0, 5), .dst_port = 80,
		.proto = SL_EV_PROTO_HTTP, .action = SL_EV_ACT_SPLICE,
		.rule = "web", .reason = "request_head_timeout",
		.status = 408, .up = 10, .ms = 30000, .term = "TH" } },
	{ "proto_stun", {
		.kind = SL_EV_FLOW_END, .ts = G_TS, .flow = 6,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 4, .dst_ip = G_V4(10, 2, 0, 4), .dst_port = 3478,
		.proto = SL_EV_PROTO_STUN, .action = SL_EV_ACT_SPLICE,
		.rule = "turn", .term = "CR" } },
	{ "proto_opaque_and_none", {
		.kind = SL_EV_FLOW_END, .ts = G_TS, .flow = 8,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 5, .dst_ip = G_V4(10, 2, 0, 4), .dst_port = 7000,
		.proto = SL_EV_PROTO_NONE, .action = SL_EV_ACT_SPLICE,
		.rule = "lab", .reason = "idle_timeout", .term = "TR" } },
	{ "numbers_at_their_limits", {
		.kind = SL_EV_FLOW_END, .ts = { 0, 999999999 },
		.flow = UINT64_MAX, .mode = SL_EV_MODE_EXPLICIT,
		.cli_ip = G_V4(255, 255, 255, 255), .cli_port = 65535,
		.proto = SL_EV_PROTO_OPAQUE, .status = 599,
		.up = UINT64_MAX, .down = UINT64_MAX, .ms = UINT64_MAX,
		.term = "I-" } },
	{ "hostile_host_and_sni", {
		.kind = SL_EV_FLOW_BLOCKED, .ts = G_TS, .flow = 10,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 6,
		.host = "a\"b\\c\r\n{\"event\":\"forged\"}\t\x01\x1f\x7f",
		.dst_ip = G_V4(10, 2, 0, 2), .dst_port = 443,
		.sni = "\"},{\"v\":1\n\r\\u0000\\", .proto = SL_EV_PROTO_TLS,
		.action = SL_EV_ACT_DENY, .rule = "r\"ule",
		.reason = "sni_mismatch", .term = "PP" } },
	{ "invalid_utf8_and_line_separators", {
		.kind = SL_EV_FLOW_BLOCKED, .ts = G_TS, .flow = 11,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 7,
		/* lone continuation, 0xff, overlong '/', surrogate,
		 * truncated 3-byte sequence, then valid: é, U+1F600 */
		.host = "\x80|\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82|"
		    "\xc3\xa9|\xf0\x9f\x98\x80",
		.sni = "l\xe2\x80\xa8p\xe2\x80\xa9s\xf4\x90\x80\x80",
		.proto = SL_EV_PROTO_TLS, .action = SL_EV_ACT_DENY,
		.rule = "utf", .term = "PP" } },
	{ "host_too_long_for_a_line", {
		.kind = SL_EV_FLOW_END, .ts = G_TS, .flow = 12,
		.mode = SL_EV_MODE_EXPLICIT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 8, .method = "GET", .host = g_long_host,
		.dst_ip = G_V4(10, 2, 0, 2), .dst_port = 80,
		.proto = SL_EV_PROTO_HTTP, .action = SL_EV_ACT_INSPECT,
		.rule = "web", .status = 200, .up = 1, .down = 2, .ms = 3,
		.term = "CR" } },
	{ "sni_too_long_cut_inside_a_character", {
		.kind = SL_EV_FLOW_BLOCKED, .ts = G_TS, .flow = 13,
		.mode = SL_EV_MODE_TRANSPARENT, .cli_ip = G_V4(10, 1, 0, 2),
		.cli_port = 9, .host = "h.example.test",
		.dst_ip = G_V4(10, 2, 0, 2), .dst_port = 443, .sni = g_long_sni,
		.proto = SL_EV_PROTO_TLS, .action = SL_EV_ACT_DENY,
		.rule = "long", .reason = "policy", .term = "PP" } },
	{ "cli_without_an_address", {
		.kind = SL_EV_FLOW_ERROR, .ts = G_TS, .flow = 14,
		.mode = SL_EV_MODE_EXPLICIT, .reason = "oom", .term = "RA" } },
	{ "log_dropped", {
		.kind = SL_EV_LOG_DROPPED, .ts = G_TS, .dropped = 17,
		.dropped_total = 4242 } },
	{ "log_dropped_after_a_write_failure", {
		.kind = SL_EV_LOG_DROPPED, .ts = G_TS, .dropped = 60,
		.dropped_total = 4302, .reason = "no_space",
		.since = { 1795281470, 5000000 } } },
};

#endif /* SL_GOLDEN_CASES_H */
