/*
 * udpdecide.c — the first datagram of a 5-tuple decides its session: by
 * address, port and client, or on udp/443 by the name in the QUIC
 * Initial, held until it is read (tls/quic.c) and checked against the
 * destination like a TCP flow's claimed name.
 */
#include <netinet/in.h>
#include <string.h>

#include "../lib/alloc.h"
#include "../policy/config.h"
#include "../policy/policy.h"
#include "../stun/stun.h"
#include "../tls/tls.h"
#include "dns.h"
#include "udp_int.h"
#include "worker.h"

/* ------------------------------------------------------------------ */
/* deciding                                                             */

static void
udp_facts(const struct sl_udp *u, const struct sl_udp_key *k,
    const char *name, unsigned known, struct sl_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = IPPROTO_UDP;
	f->port = k->dport;
	f->src = k->cli;
	f->dst = k->dst;
	f->dst_local = sl_rt_is_local(u->wk->rt, &k->dst);
	f->name = name;
	/* No URL, user or GeoIP for a datagram: final and absent. */
	f->known = known | SL_FACT_DST_IP | SL_FACT_URL | SL_FACT_USER |
	    SL_FACT_GEO;
}

static int
udp_rank(const struct sl_decision *d)
{
	return d->action == SL_ACT_DENY ? 2 : d->action == SL_ACT_INSPECT;
}

/*
 * What a decision means for UDP: splice forwards; deny drops; inspect
 * cannot apply to datagrams and drops too (reason udp_not_inspectable)
 * unless the admin set udp-inspect splice.  Returns the reason to refuse
 * with, or NULL to forward.
 */
static const char *
udp_refusal(const struct sl_udp *u, const struct sl_decision *d)
{
	if (d->action == SL_ACT_DENY)
		return d->reason != NULL ? d->reason : "policy";
	if (d->action == SL_ACT_INSPECT &&
	    u->wk->rt->set->udp_inspect == SL_FALLBACK_DENY)
		return "udp_not_inspectable";
	return NULL;
}

/* What the first datagram is, for the log. */
static enum sl_ev_proto
udp_proto_of(const uint8_t *buf, size_t len, uint16_t dport)
{
	struct sl_stun_hdr h;
	uint32_t v;

	if (sl_stun_peek(buf, len, &h) == SL_PARSE_OK)
		return SL_EV_PROTO_STUN;
	/*
	 * A long header (RFC 9000 17.2) to 443: with the fixed bit, or
	 * without it and a version whose Initial we read (RFC 9287 3.1: a
	 * client with a NEW_TOKEN token of a server that sent
	 * grease_quic_bit may clear it in its Initials; decided by address,
	 * such a client would not meet a rule that names its host).
	 */
	if (dport != UDP_QUIC_PORT || len == 0 || !(buf[0] & 0x80))
		return SL_EV_PROTO_UDP;
	if (buf[0] & 0x40)
		return SL_EV_PROTO_QUIC;
	if (len < 5)
		return SL_EV_PROTO_UDP;
	v = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 |
	    (uint32_t)buf[3] << 8 | buf[4];
	return v == SL_TLS_QUIC_V1 || v == SL_TLS_QUIC_V2 ?
	    SL_EV_PROTO_QUIC : SL_EV_PROTO_UDP;
}

/*
 * s (pending) is decided as dec: refuse its held datagrams, or forward
 * them.  The session ends unless it now forwards.
 */
static void
udp_sess_decided(struct udp_sess *s, const struct sl_decision *dec,
    const char *why)
{
	struct sl_udp *u = s->u;
	const char *reason;

	udp_pending_unlink(s);
	sl_free(s->quic);
	s->quic = NULL;
	s->dec = *dec;
	/* A refusal that a failed name check led to says so. */
	if ((reason = udp_refusal(u, dec)) != NULL && why != NULL)
		reason = why;
	if (reason != NULL) {
		struct udp_why w = { s->rt, dec, s->proto, reason, s->sni };

		for (size_t i = 0; i < s->nheld; i++)
			udp_refuse(u, &s->ent.key, s->held[i].len, &w);
		udp_sess_end(s, 'P');
		return;
	}
	if (why != NULL)
		s->reason = why;
	if (udp_sess_splice(s) == -1)
		udp_sess_end(s, 'R');
}

static void
udp_dns_cb(void *arg, const struct sl_dns_result *res)
{
	struct udp_sess *s = arg;
	struct sl_decision named = s->dec;

	s->dns = NULL;
	if (sl_dns_has(res, &s->ent.key.dst)) {
		udp_sess_decided(s, &named, NULL);
		return;
	}
	/* The name granted more than the address: it must not buy it. */
	udp_sess_decided(s, &s->ipdec, "sni_mismatch");
}

/*
 * The QUIC Initial is read (name: its SNI, normalised) or will not be
 * (name NULL).  A name can restrict (a deny rule that names it holds
 * wherever it is sent); it grants more than the address alone only if it
 * resolves to the destination (docs/policy.md, "Names the client claims").
 */
static void
udp_quic_decide(struct udp_sess *s, const char *name)
{
	struct sl_udp *u = s->u;
	struct sl_decision dec;
	struct sl_facts f;
	struct sl_dns_result res;
	int done = 0;

	udp_facts(u, &s->ent.key, NULL, SL_FACT_NAME, &f);
	sl_policy_decide(s->rt->pol, &f, &s->ipdec);
	if (name == NULL) {
		udp_sess_decided(s, &s->ipdec, NULL);
		return;
	}
	if ((s->sni = sl_strdup(name)) == NULL) {
		u->st.errors++;
		udp_sess_end(s, 'R');
		return;
	}
	f.name = s->sni;
	sl_policy_decide(s->rt->pol, &f, &dec);
	if (udp_rank(&dec) >= udp_rank(&s->ipdec) ||
	    !(dec.mods & SL_MOD_SNI_CHECK)) {
		udp_sess_decided(s, &dec, NULL);
		return;
	}
	s->dec = dec;
	s->dns = sl_dns_lookup(u->wk->dns, s->sni, udp_dns_cb, s, &res, &done);
	if (done) {
		udp_dns_cb(s, &res);
		return;
	}
	if (s->dns == NULL) {
		u->st.errors++;
		udp_sess_end(s, 'R');
		return;
	}
	/* Pending until the answer; held datagrams wait with it. */
}

/*
 * The hello will not be read whole (peek-timeout, no room to hold more,
 * or the reader refused a datagram).  If part of a ClientHello came, the
 * session is refused, as an incomplete ClientHello is on TCP, and not
 * decided by address alone: a client whose hello spans two datagrams and
 * gets no answer retransmits them one PTO apart (1, 2, 4, 8 s), so the
 * first half of a denied name's hello comes alone, and the address's
 * decision (a splice of that server) would take the second half, and the
 * handshake, with it.  No hello byte at all (a hello without SNI is
 * whole): decided by address.
 */
void
udp_quic_unread(struct udp_sess *s)
{
	struct sl_decision dec;

	if (s->quic->end == 0 || s->quic->rc == SL_PARSE_OK) {
		udp_quic_decide(s, NULL);
		return;
	}
	memset(&dec, 0, sizeof(dec));
	dec.action = SL_ACT_DENY;
	dec.reason = "quic_hello_incomplete";
	udp_sess_decided(s, &dec, NULL);
}

/* Feed one datagram of a pending QUIC session; it may be decided. */
void
udp_quic_feed(struct udp_sess *s, const uint8_t *buf, size_t len)
{
	char name[256];
	enum sl_parse_rc rc;

	if (s->nheld == UDP_HELD_MAX || s->held_bytes + len > UDP_HELD_BYTES ||
	    (s->held[s->nheld].buf = sl_alloc(len ? len : 1)) == NULL) {
		s->u->st.send_drop++;
		/* No room to read further. */
		if (s->quic != NULL && s->dns == NULL)
			udp_quic_unread(s);
		return;
	}
	memcpy(s->held[s->nheld].buf, buf, len);
	s->held_bytes += len;
	s->held[s->nheld++].len = len;
	if (s->quic == NULL || s->dns != NULL)
		return;		/* read, the name being checked */
	rc = sl_tls_quic_parse(s->quic, buf, len);
	if (rc == SL_PARSE_MORE && s->nheld < UDP_HELD_MAX)
		return;
	if (rc == SL_PARSE_OK && s->quic->hello.has_sni &&
	    sl_name_normalise(s->quic->hello.sni, strlen(s->quic->hello.sni),
	    name, sizeof(name)) == 0) {
		udp_quic_decide(s, name);
		return;
	}
	sl_debug(SL_CAT_FLOW, "flow=%llu quic: no name (%s)",
	    (unsigned long long)s->id, s->quic->err ? s->quic->err : "-");
	udp_quic_unread(s);
}

/* The first datagram of a 5-tuple: decide, and forward or refuse it. */
void
udp_first(struct sl_udp *u, const struct sl_udp_key *k, const uint8_t *buf,
    size_t len, uint64_t now)
{
	struct sl_decision dec;
	struct sl_facts f;
	enum sl_ev_proto proto = udp_proto_of(buf, len, k->dport);
	const char *reason = NULL;
	struct udp_sess *s;
	int quic = proto == SL_EV_PROTO_QUIC;

	udp_facts(u, k, NULL, quic ? 0 : SL_FACT_NAME, &f);
	sl_policy_decide(u->wk->rt->pol, &f, &dec);
	if (quic && !(dec.need & SL_FACT_NAME))
		quic = 0;	/* no rule before the decision names hosts */
	if (quic && u->npending >= UDP_PENDING_MAX) {
		u->st.pending_full++;
		quic = 0;	/* decided by address, as if unreadable */
		udp_facts(u, k, NULL, SL_FACT_NAME, &f);
		sl_policy_decide(u->wk->rt->pol, &f, &dec);
	}
	if (!quic && (reason = udp_refusal(u, &dec)) == NULL &&
	    (dec.mods & SL_MOD_STUN_ONLY) && !udp_stun_ok(buf, len, 1)) {
		u->st.not_stun++;
		reason = "not_stun";
	}
	if (reason != NULL || (s = udp_sess_new(u, k, now)) == NULL) {
		struct udp_why w = { u->wk->rt, &dec, proto,
		    reason != NULL ? reason : "udp_no_session", NULL };

		udp_refuse(u, k, len, &w);
		return;
	}
	s->proto = proto;
	s->dec = dec;
	if (!quic) {
		if (udp_sess_splice(s) == -1) {
			udp_sess_end(s, 'R');
			return;
		}
		udp_send_up(s, buf, len);
		return;
	}
	if ((s->quic = sl_alloc(sizeof(*s->quic))) == NULL) {
		u->st.errors++;
		udp_sess_end(s, 'R');
		return;
	}
	sl_tls_quic_init(s->quic);
	s->deadline = now + s->rt->set->peek_timeout;
	s->pnext = u->pending;
	if (u->pending != NULL)
		u->pending->pprev = &s->pnext;
	u->pending = s;
	s->pprev = &u->pending;
	u->npending++;
	udp_quic_feed(s, buf, len);
}
