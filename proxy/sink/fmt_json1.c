/*
 * fmt_json1.c — the flow log's JSON lines, schema v1 (docs/logs.md).
 *
 * Byte for byte what sluiced wrote before events were typed (the golden
 * lines in tests/data/sink/ pin it): the same fields in the same order,
 * each absent under the same condition, escaped and cut by lib/jw.c, 4 KiB
 * a line ("trunc":true when it does not fit).
 */
#include <string.h>

#include "../../lib/clock.h"
#include "../../lib/jw.h"
#include "sink.h"

#define JSON1_LINE_MAX	4096

static void
json1_flow(struct sl_jw *w, const struct sl_event *ev)
{
	char a[SL_ADDR_STRLEN];

	sl_jw_u64(w, "flow", ev->flow);
	if (ev->req != 0)
		sl_jw_u64(w, "req", ev->req);
	sl_jw_str(w, "mode", sl_ev_mode_name(ev->mode));
	sl_jw_str(w, "cli", sl_ipport_fmt(&ev->cli_ip, ev->cli_port, a,
	    sizeof(a)));
	sl_jw_str(w, "method", ev->method);
	sl_jw_str(w, "host", ev->host);
	sl_jw_str(w, "path", ev->path);
	if (ev->dst_ip.af != 0)
		sl_jw_str(w, "dst", sl_ipport_fmt(&ev->dst_ip, ev->dst_port, a,
		    sizeof(a)));
	else if (ev->dst_port != 0)
		sl_jw_u64(w, "dst_port", ev->dst_port);
	sl_jw_str(w, "sni", ev->sni);
	sl_jw_str(w, "proto", sl_ev_proto_name(ev->proto));
	sl_jw_str(w, "action", sl_ev_action_name(ev->action));
	sl_jw_str(w, "rule", ev->rule);
	sl_jw_str(w, "level", ev->level);
	sl_jw_str(w, "reason", ev->reason);
	sl_jw_str(w, "detail", ev->detail);
	if (ev->status != 0)
		sl_jw_u64(w, "status", ev->status);
	sl_jw_u64(w, "up", ev->up);
	sl_jw_u64(w, "down", ev->down);
	sl_jw_u64(w, "ms", ev->ms);
	/* UDP only: absent (0) on every TCP line, as before. */
	if (ev->pkts_up != 0 || ev->pkts_down != 0) {
		sl_jw_u64(w, "pkts_up", ev->pkts_up);
		sl_jw_u64(w, "pkts_down", ev->pkts_down);
	}
	if (ev->count != 0)
		sl_jw_u64(w, "count", ev->count);
	if (ev->requests != 0)
		sl_jw_u64(w, "requests", ev->requests);
	if (ev->term[0] != '\0')
		sl_jw_strn(w, "term", ev->term, strnlen(ev->term,
		    sizeof(ev->term)));
}

static size_t
json1_format(const struct sl_event *ev, char *buf, size_t cap)
{
	char ts[32];
	struct sl_jw w;

	sl_jw_begin(&w, buf, cap);
	sl_jw_u64(&w, "v", 1);
	sl_jw_str(&w, "ts", sl_rfc3339_fmt(&ev->ts, ts, sizeof(ts)));
	sl_jw_str(&w, "event", sl_event_kind_name(ev->kind));
	if (ev->kind == SL_EV_LOG_DROPPED) {
		sl_jw_u64(&w, "dropped", ev->dropped);
		sl_jw_u64(&w, "dropped_total", ev->dropped_total);
		/* Added in v1 for write failures; a full queue's line is
		 * as it always was. */
		sl_jw_str(&w, "reason", ev->reason);
		if (ev->since.tv_sec != 0)
			sl_jw_str(&w, "since", sl_rfc3339_fmt(&ev->since, ts,
			    sizeof(ts)));
	} else {
		json1_flow(&w, ev);
	}
	return sl_jw_end(&w);
}

const struct sl_evfmt sl_evfmt_json1 = {
	.name = "json1",
	.line_max = JSON1_LINE_MAX,
	.fn = json1_format,
};
