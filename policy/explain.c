/*
 * explain.c — why a decision came out as it did: the trace of rules
 * examined, and its text form for `sluicectl explain`.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../lib/alloc.h"
#include "../lib/sbuf.h"
#include "policy_int.h"

/* Why a url matcher failed, naming the readings that differ. */
static void
why_url(const struct sl_rule *r, const struct pol_q *q, char *buf,
    size_t cap)
{
	const struct sl_facts *f = q->f;
	const char *p = f->url_path ? f->url_path : "/";
	char a[SL_IP_STRLEN];
	size_t len;

	/* Before the url, its host as the name step knows it (match.c). */
	if (q->ahead == PA_NAME || q->ahead == PA_ADDR)
		snprintf(buf, cap, "url: host '%.110s' (the %s) is not listed",
		    pol_q_url_ahead(q, a, sizeof(a), &len),
		    q->ahead == PA_NAME ? "name" : "address");
	else if (!(f->known & SL_FACT_URL) && f->name != NULL)
		snprintf(buf, cap, "url: the name is no host name, so no url "
		    "host can match");
	else if (!(f->known & SL_FACT_URL))
		snprintf(buf, cap, "url: the flow has neither a name nor an "
		    "address, so no url host can match");
	else if (!q->has_url)
		snprintf(buf, cap, "url: the flow has no url");
	else if (f->url_path_noparam == NULL ||
	    strcmp(f->url_path_noparam, p) == 0)
		snprintf(buf, cap, "url: '%.90s%.40s' is not listed", q->host,
		    p);
	else if (r->action == SL_ACT_DENY)
		snprintf(buf, cap, "url: neither '%.40s%.25s' nor '%.25s' (';' "
		    "parameters removed) is listed", q->host, p,
		    f->url_path_noparam);
	else
		snprintf(buf, cap, "url: '%.40s%.25s' and '%.25s' (';' "
		    "parameters removed) are not both listed", q->host, p,
		    f->url_path_noparam);
}

static void
why_nomatch(const struct sl_rule *r, const struct pol_q *q, enum pol_key k,
    char *buf, size_t cap)
{
	const struct sl_facts *f = q->f;
	char a[SL_IP_STRLEN];

	switch (k) {
	case PK_DOMAIN:
		if (q->has_name)
			snprintf(buf, cap, "domain: '%.130s' is not listed",
			    q->name);
		else
			snprintf(buf, cap, "domain: the flow has no name");
		return;
	case PK_IP:
		if (f->dst.af != 0)
			snprintf(buf, cap, "ip: %s is not listed",
			    sl_ip_fmt(&f->dst, a, sizeof(a)));
		else
			snprintf(buf, cap, "ip: the flow has no destination "
			    "address");
		return;
	case PK_PORT:
		snprintf(buf, cap, "port: %s/%u is not listed",
		    f->proto == IPPROTO_UDP ? "udp" : "tcp", f->port);
		return;
	case PK_URL:
		why_url(r, q, buf, cap);
		return;
	case PK_SRC:
		snprintf(buf, cap, "src: client %s is not listed",
		    sl_ip_fmt(&f->src, a, sizeof(a)));
		return;
	case PK_USER:
		if (f->user != NULL)
			snprintf(buf, cap, "user: '%.130s' is not listed", f->user);
		else
			snprintf(buf, cap, "user: no authenticated user");
		return;
	case PK_COUNTRY:
		snprintf(buf, cap, "country: %.8s is not listed",
		    f->country ? f->country : "(unknown)");
		return;
	case PK_ASN:
		snprintf(buf, cap, "asn: AS%" PRIu32 " is not listed", f->asn);
		return;
	case PK_NKEYS:
		break;
	}
	snprintf(buf, cap, "no match");
}

size_t
sl_policy_trace(const struct sl_policy *pol, const struct sl_facts *f,
    struct sl_decision *out, struct sl_trace_step *steps, size_t cap,
    size_t *total)
{
	struct pol_q q;
	unsigned need = 0;
	uint32_t win = UINT32_MAX;
	size_t n = 0, t = 0;

	pol_q_init(&q, f);
	for (size_t i = 0; i < pol->nrules; i++) {
		const struct sl_rule *r = pol->rules[i];
		struct sl_trace_step st;
		unsigned rneed = 0;
		enum pol_key why;
		int m = pol_rule_eval(r, &q, &rneed, &why);

		memset(&st, 0, sizeof(st));
		st.rule = r;
		if (r->rmods & RM_DISABLED) {
			st.state = SL_TRACE_DISABLED;
		} else if (m == 1) {
			st.state = SL_TRACE_MATCH;
			win = (uint32_t)i;
		} else if (m == -1) {
			st.state = SL_TRACE_UNDETERMINED;
			st.need = rneed;
			need |= rneed;
		} else {
			st.state = SL_TRACE_NOMATCH;
			why_nomatch(r, &q, why, st.why, sizeof(st.why));
		}
		if (n < cap)
			steps[n++] = st;
		t++;
		if (win != UINT32_MAX)
			break;
	}
	pol_finish(pol, f, win, need, out);
	*total = t;
	return n;
}

#define EXPLAIN_MAX_STEPS	200

char *
sl_policy_explain(const struct sl_policy *pol, const struct sl_facts *f)
{
	struct sl_trace_step *steps;
	struct sl_decision d;
	struct sl_sbuf b = { NULL, 0, 256, 0 };
	size_t n, total, shown = 0;
	char mods[128], facts[64];

	if ((b.s = sl_alloc(b.cap)) == NULL)
		return NULL;
	if ((steps = sl_calloc(EXPLAIN_MAX_STEPS, sizeof(*steps))) == NULL) {
		sl_free(b.s);
		return NULL;
	}
	b.s[0] = '\0';
	n = sl_policy_trace(pol, f, &d, steps, EXPLAIN_MAX_STEPS, &total);
	pol_mods_fmt(d.mods, mods, sizeof(mods));
	sl_sbuf_printf(&b, "decision: %s%s%s%s\n", sl_action_name(d.action),
	    mods[0] ? " (" : "", mods, mods[0] ? ")" : "");
	if (d.flags & SL_DEC_GUARD) {
		sl_sbuf_printf(&b, "rule: %s (guard rail: the destination is %s and "
		    "the first matching rule does not name it with an ip "
		    "matcher)\n", d.rule_name, d.reason);
	} else if (d.rule != NULL) {
		sl_sbuf_printf(&b, "rule: %s at %s:%u\n", d.rule_name,
		    d.rule->loc.file, d.rule->loc.line);
		if (d.rule->level != PLV_NONE)
			sl_sbuf_printf(&b, "level: %s\n", sl_rule_level(d.rule));
		if (d.rule->cite != NULL)
			sl_sbuf_printf(&b, "cite: \"%s\"\n", d.rule->cite);
	} else if (pol->def.present) {
		sl_sbuf_printf(&b, "rule: default at %s:%u (no rule matched)\n",
		    pol->def.loc.file, pol->def.loc.line);
	} else {
		sl_sbuf_printf(&b, "rule: default (no rule matched; no default "
		    "statement, so deny)\n");
	}
	if (d.need == 0)
		sl_sbuf_printf(&b, "final: yes\n");
	else
		sl_sbuf_printf(&b, "final: no, still needed: %s (an earlier rule "
		    "depends on it)\n", pol_facts_fmt(d.need, facts,
		    sizeof(facts)));
	for (size_t i = 0; i < n; i++) {
		const struct sl_trace_step *st = &steps[i];

		if (st->state == SL_TRACE_MATCH)
			continue;
		if (shown++ == 0)
			sl_sbuf_printf(&b, "skipped:\n");
		sl_sbuf_printf(&b, "  %s at %s:%u: ", st->rule->name,
		    st->rule->loc.file, st->rule->loc.line);
		if (st->state == SL_TRACE_DISABLED)
			sl_sbuf_printf(&b, "disabled\n");
		else if (st->state == SL_TRACE_UNDETERMINED)
			sl_sbuf_printf(&b, "undetermined, needs %s\n",
			    pol_facts_fmt(st->need, facts, sizeof(facts)));
		else
			sl_sbuf_printf(&b, "%s\n", st->why);
	}
	if (total > n)
		sl_sbuf_printf(&b, "  ... and %zu more rules\n", total - n);
	sl_free(steps);
	if (b.oom) {
		sl_free(b.s);
		return NULL;
	}
	return b.s;
}

int
sl_rule_disabled(const struct sl_rule *r)
{
	return (r->rmods & RM_DISABLED) != 0;
}

enum sl_action
sl_rule_action(const struct sl_rule *r)
{
	return r->action;
}

unsigned
sl_rule_mods(const struct sl_rule *r)
{
	return r->mods;
}

const char *
sl_mods_fmt(unsigned mods, char *buf, size_t cap)
{
	return pol_mods_fmt(mods & 0xff, buf, cap);
}

const char *
sl_facts_fmt(unsigned facts, char *buf, size_t cap)
{
	return pol_facts_fmt(facts, buf, cap);
}

uint64_t
sl_policy_default_hits(const struct sl_policy *pol)
{
	return atomic_load_explicit(pol->def_hits, memory_order_relaxed);
}

size_t
sl_policy_nlists(const struct sl_policy *pol)
{
	return pol->nlists;
}
